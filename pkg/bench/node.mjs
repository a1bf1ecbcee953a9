// Node figures beside @aws-crypto/client-node: 1 KiB messages per second and
// 64 MiB throughput, suites 0x0478 and 0x0578, raw AES keyring.
import { performance } from 'node:perf_hooks';
import esdk from '@aws-crypto/client-node';
import { encrypt, decrypt, RawAesKeyring } from 'kms-envelope';

const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdk;
const peer = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const key = new Uint8Array(32).fill(7);
const ours = new RawAesKeyring({ keyNamespace: 'bench', keyName: 'k', wrappingKey: key });
const theirs = new RawAesKeyringNode({ keyNamespace: 'bench', keyName: 'k', unencryptedMasterKey: key.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const BIG = Number(process.env.BENCH_BIG_MIB ?? 64) * 2 ** 20;

const impls = {
  'kms-envelope': {
    enc: (pt, suite) => encrypt(pt, { keyring: ours, algorithmSuite: suite, frameLength: 65536 }),
    dec: async (ct) => (await decrypt(ct, { keyring: ours })).plaintext,
  },
  'client-node': {
    enc: async (pt, suite) => (await peer.encrypt(theirs, pt, { suiteId: suite, frameLength: 65536 })).result,
    dec: async (ct) => (await peer.decrypt(theirs, ct)).plaintext,
  },
};

async function rate(fn) {
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) { await fn(); n++; }
  return n / SECONDS;
}

async function throughput(fn) {
  const t = performance.now();
  await fn();
  return BIG / 2 ** 20 / ((performance.now() - t) / 1000);
}

const small = new Uint8Array(1024).fill(1);
const big = new Uint8Array(BIG).fill(2);
const rows = [];
for (const suite of [0x0478, 0x0578]) {
  for (const [name, impl] of Object.entries(impls)) {
    const ctSmall = await impl.enc(small, suite);
    const ctBig = await impl.enc(big, suite);
    rows.push({
      suite: `0x0${suite.toString(16)}`, impl: name,
      'enc 1KiB msg/s': Math.round(await rate(() => impl.enc(small, suite))),
      'dec 1KiB msg/s': Math.round(await rate(() => impl.dec(ctSmall))),
      [`enc ${BIG >> 20}MiB MiB/s`]: +(await throughput(() => impl.enc(big, suite))).toFixed(1),
      [`dec ${BIG >> 20}MiB MiB/s`]: +(await throughput(() => impl.dec(ctBig))).toFixed(1),
    });
  }
}
console.log(`== bench-js (Node ${process.version}, ${SECONDS} s per rate, frame 64 KiB, raw AES keyring)`);
console.table(rows);
