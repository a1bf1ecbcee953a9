// Interop both ways with the official JS ESDK, @aws-crypto/client-node:
// raw AES and raw RSA keyrings, signed and unsigned suites, one-shot and
// streaming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import esdk from '@aws-crypto/client-node';
import { encrypt, decrypt, encryptStream, decryptStream, RawAesKeyring, RawRsaKeyring } from 'kms-envelope';
import { aesKey, rsaPair, bytesOf } from './helpers.js';

const {
  buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, RawRsaKeyringNode,
} = esdk;
const node = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const nodeForbid = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);

const key = aesKey();
const WRAP = { 16: 'AES128_GCM_IV12_TAG16_NO_PADDING', 24: 'AES192_GCM_IV12_TAG16_NO_PADDING', 32: 'AES256_GCM_IV12_TAG16_NO_PADDING' };
const pair = () => {
  const { publicKey, privateKey } = rsaPair();
  return {
    ours: new RawRsaKeyring({ keyNamespace: 'interop', keyName: 'rsa', padding: 'oaep-sha256', publicKey, privateKey }),
    theirs: new RawRsaKeyringNode({ keyNamespace: 'interop', keyName: 'rsa', rsaKey: { publicKey, privateKey }, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }),
  };
};
const KEYRINGS = {
  'raw AES': () => ({
    ours: new RawAesKeyring({ keyNamespace: 'interop', keyName: 'aes', wrappingKey: key }),
    // client-node zeroes the key it is given: pass a copy.
    theirs: new RawAesKeyringNode({ keyNamespace: 'interop', keyName: 'aes', unencryptedMasterKey: key.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier[WRAP[key.length]] }),
  }),
  'raw RSA': pair,
};
const SUITES = [0x0478, 0x0578, 0x0178, 0x0378, 0x0014];
const ctx = { department: 'interop', 'user id': '42' };
const client = (suite) => (suite >= 0x0478 ? node : nodeForbid);
const policy = (suite) => (suite >= 0x0478 ? 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' : 'FORBID_ENCRYPT_ALLOW_DECRYPT');

async function drain(readable) {
  const parts = [];
  await pipeline(readable, new Writable({ write(c, _e, cb) { parts.push(c); cb(); } }));
  return new Uint8Array(Buffer.concat(parts));
}

for (const [kname, make] of Object.entries(KEYRINGS)) {
  for (const suite of SUITES) {
    const label = `${kname}, 0x${suite.toString(16).padStart(4, '0')}`;
    test(`kms-envelope -> client-node, ${label}`, async () => {
      const { ours, theirs } = make();
      for (const len of [0, 1, 5000]) {
        const pt = bytesOf(len, len + suite);
        const ct = await encrypt(pt, { keyring: ours, algorithmSuite: suite, encryptionContext: ctx, frameLength: 1024, commitmentPolicy: policy(suite) });
        const { plaintext, messageHeader } = await client(suite).decrypt(theirs, ct);
        assert.deepEqual(new Uint8Array(plaintext), pt);
        assert.equal(messageHeader.encryptionContext.department, 'interop');
        assert.equal(messageHeader.suiteId, suite);
      }
    });
    test(`client-node -> kms-envelope, ${label}`, async () => {
      const { ours, theirs } = make();
      for (const len of [0, 1, 5000]) {
        const pt = bytesOf(len, len + suite + 1);
        const { result } = await client(suite).encrypt(theirs, pt, { suiteId: suite, encryptionContext: ctx, frameLength: 1024 });
        const out = await decrypt(new Uint8Array(result), { keyring: ours, encryptionContext: ctx, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
        assert.deepEqual(out.plaintext, pt);
        assert.equal(out.algorithmSuite, suite);
      }
    });
  }
  for (const suite of [0x0478, 0x0578]) {
    const label = `${kname}, 0x${suite.toString(16).padStart(4, '0')}`;
    test(`streaming: kms-envelope encryptStream -> client-node decryptStream, ${label}`, async () => {
      const { ours, theirs } = make();
      const pt = bytesOf(300000, suite);
      const ct = encryptStream({ keyring: ours, algorithmSuite: suite, encryptionContext: ctx, frameLength: 4096 });
      const writer = ct.writable.getWriter();
      const feed = (async () => { for (let i = 0; i < pt.length; i += 7000) await writer.write(pt.subarray(i, i + 7000)); await writer.close(); })();
      const out = await drain(Readable.fromWeb(ct.readable).pipe(node.decryptStream(theirs)));
      await feed;
      assert.deepEqual(out, pt);
    });
    test(`streaming: client-node encryptStream -> kms-envelope decryptStream, ${label}`, async () => {
      const { ours, theirs } = make();
      const pt = bytesOf(300000, suite + 5);
      const enc = Readable.from([Buffer.from(pt)]).pipe(node.encryptStream(theirs, { suiteId: suite, encryptionContext: ctx, frameLength: 4096 }));
      const ds = decryptStream({ keyring: ours, encryptionContext: ctx });
      const out = await drain(Readable.fromWeb(Readable.toWeb(enc).pipeThrough(ds)));
      assert.deepEqual(out, pt);
      assert.equal((await ds.result).header.algorithmSuite, suite);
    });
  }
}
