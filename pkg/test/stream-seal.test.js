// encryptStream with its frames sealed by the host (src/stream-seal.js), as
// browsers run it on WebCrypto. Here the host's `seal` is node:crypto's
// AES-GCM, finishing frames out of order on purpose: the frame cutting,
// the held-back last frame, the order of the output and the signature hash
// must all come out as a message every path reads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import esdk from '@aws-crypto/client-node';
import { encrypt, decrypt, encryptStream, RawAesKeyring } from 'kms-envelope';
import { bulkHost, setBulk } from '../src/external.js';
import { streamHost } from '../src/stream-seal.js';
import { SUITES, aesKey, bytesOf, policyFor, rejectsWith } from './helpers.js';

const nodeHost = bulkHost();
after(() => setBulk(nodeHost));

const wrappingKey = aesKey();
const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'stream', wrappingKey });

let sealedFrames = 0;
/** node:crypto's bulk host plus `seal`, each frame finished after a random delay. */
function sealingHost({ fail = () => false } = {}) {
  return {
    ...nodeHost,
    minBytes: 0,
    async seal({ key, cipher }, iv, aad, plaintext) {
      const c = createCipheriv(cipher, key, iv.slice());
      c.setAAD(aad.slice());
      const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
      const n = ++sealedFrames;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      if (fail(n)) throw new Error('the host failed');
      return new Uint8Array(out);
    },
  };
}

/** Runs `plaintext` through encryptStream in chunks of the given sizes (cycled). */
async function streamed(plaintext, opts, sizes) {
  const chunks = [];
  for (let at = 0, i = 0; at < plaintext.length || (i === 0 && sizes[0] === 0); i++) {
    const n = sizes[i % sizes.length];
    chunks.push(plaintext.subarray(at, at + n));
    at += n;
    if (n === 0 && plaintext.length === 0) break;
  }
  const out = [];
  const input = new ReadableStream({ pull(c) { if (chunks.length) c.enqueue(chunks.shift()); else c.close(); } });
  await input.pipeThrough(encryptStream(opts)).pipeTo(new WritableStream({ write(b) { out.push(b); } }));
  return Buffer.concat(out);
}

test('every suite: host-sealed streams read back, whatever the chunking', async () => {
  setBulk(sealingHost());
  try {
    const FL = 64;
    for (const suite of SUITES) {
      const opts = { keyring, algorithmSuite: suite, frameLength: FL, commitmentPolicy: policyFor(suite) };
      assert.ok(streamHost(FL), 'the stream takes the host path');
      for (const len of [0, 1, FL - 1, FL, FL + 1, 3 * FL, 5 * FL + 7]) {
        const pt = bytesOf(len, suite + len);
        for (const sizes of [[len || 1], [1], [FL], [FL + 3, 2], [0, 7, 2 * FL]]) {
          const before = sealedFrames;
          const ct = await streamed(pt, opts, sizes);
          assert.ok(sealedFrames > before, 'the host sealed the frames');
          const d = await decrypt(ct, { keyring, commitmentPolicy: policyFor(suite) });
          assert.deepEqual(Buffer.from(d.plaintext), Buffer.from(pt), `suite ${suite} len ${len} chunks ${sizes}`);
          // As many frames as the core's own stream writes (the last full frame is the final one).
          const frames = len === 0 ? 1 : Math.ceil(len / FL);
          assert.equal(sealedFrames - before, frames, `suite ${suite} len ${len}`);
        }
      }
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('a large host-sealed stream, many frames in flight, reads back', async () => {
  setBulk(sealingHost());
  try {
    const pt = bytesOf(12 << 20, 9);
    for (const suite of [0x0478, 0x0578]) {
      const ct = await streamed(pt, { keyring, algorithmSuite: suite, frameLength: 4096 }, [1 << 20, 333_333]);
      setBulk(nodeHost);
      assert.deepEqual(Buffer.from((await decrypt(ct, { keyring })).plaintext), Buffer.from(pt));
      setBulk(sealingHost());
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('a host seal that fails errors the stream with a code', async () => {
  setBulk(sealingHost({ fail: (n) => n % 5 === 3 }));
  try {
    await rejectsWith(streamed(bytesOf(64 * 40), { keyring, frameLength: 64 }, [100]), 'bad_argument');
  } finally {
    setBulk(nodeHost);
  }
});

test('a declared plaintextLength holds on the host path', async () => {
  setBulk(sealingHost());
  try {
    const pt = bytesOf(300);
    await rejectsWith(streamed(pt, { keyring, frameLength: 64, plaintextLength: 299 }, [50]), 'bad_argument');
    await rejectsWith(streamed(pt, { keyring, frameLength: 64, plaintextLength: 301 }, [50]), 'bad_argument');
    const ct = await streamed(pt, { keyring, frameLength: 64, plaintextLength: 300 }, [50]);
    assert.deepEqual(Buffer.from((await decrypt(ct, { keyring })).plaintext), Buffer.from(pt));
  } finally {
    setBulk(nodeHost);
  }
});

test('frames shorter than the host minimum stay in wasm', () => {
  setBulk({ ...sealingHost(), minBytes: 1024 });
  try {
    assert.equal(streamHost(512), null);
    assert.ok(streamHost(1024));
    assert.ok(streamHost(undefined), 'the default frame length, 4 KiB');
    setBulk(nodeHost);
    assert.equal(streamHost(1 << 20), null, "Node's host seals no stream frames");
  } finally {
    setBulk(nodeHost);
  }
});

test('one-shot and host-sealed stream messages of the same input are the same length', async () => {
  setBulk(sealingHost());
  try {
    const pt = bytesOf(1000);
    const ct = await streamed(pt, { keyring, algorithmSuite: 0x0478, frameLength: 100 }, [64]);
    const once = await encrypt(pt, { keyring, algorithmSuite: 0x0478, frameLength: 100 });
    assert.equal(ct.length, once.length);
  } finally {
    setBulk(nodeHost);
  }
});

test('client-node reads host-sealed streams, signed and not', async () => {
  const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdk;
  const theirs = new RawAesKeyringNode({
    keyNamespace: 'ns', keyName: 'stream', unencryptedMasterKey: wrappingKey.slice(),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
  setBulk(sealingHost());
  try {
    const pt = bytesOf(50_000, 3);
    for (const suite of [0x0478, 0x0578, 0x0378]) {
      const ct = await streamed(pt, { keyring, algorithmSuite: suite, frameLength: 4096, commitmentPolicy: policyFor(suite) }, [777]);
      const { plaintext } = await client.decrypt(theirs, ct);
      assert.deepEqual(Buffer.from(plaintext), Buffer.from(pt), `suite ${suite}`);
    }
  } finally {
    setBulk(nodeHost);
  }
});
