// AES-GCM and SHA-2 on node:crypto (the core's host-crypto hooks) and in
// wasm give the same messages: each reads the other's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { encrypt, decrypt, hostCrypto, RawAesKeyring, cryptoBackend } from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith, policyFor } from './helpers.js';
// The package's own wasm module instance (the entry point imports this file).
import { setHostHash } from '../dist/kms_envelope_wasm.js';

after(() => hostCrypto(true));

test('host AES-GCM is on by default in Node', () => {
  assert.equal(hostCrypto(), true);
  assert.equal(cryptoBackend(), 'rustcrypto');
});

test('node:crypto and wasm AES-GCM read each other, every key size and suite kind', async () => {
  for (const bits of [128, 192, 256]) {
    const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey(bits) });
    for (const suite of [0x0014, 0x0046, 0x0078, 0x0146, 0x0346, 0x0478, 0x0578]) {
      const commitmentPolicy = policyFor(suite);
      const pt = bytesOf(10000, suite + bits);
      for (const [encHost, decHost] of [[true, false], [false, true]]) {
        hostCrypto(encHost);
        const ct = await encrypt(pt, { keyring, algorithmSuite: suite, commitmentPolicy, frameLength: 1000 });
        hostCrypto(decHost);
        assert.deepEqual((await decrypt(ct, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext, pt);
        const bad = ct.slice(); bad[bad.length - (suite === 0x0578 || suite === 0x0346 ? 200 : 20)] ^= 1;
        await rejectsWith(decrypt(bad, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }), 'authentication_failed');
      }
    }
  }
  hostCrypto(true);
});

test('signed messages: node:crypto and wasm SHA-2 read each other\'s messages', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  for (const suite of [0x0214, 0x0346, 0x0378, 0x0578]) {
    const commitmentPolicy = policyFor(suite);
    // Several frame sizes, so the hash sees many updates of odd lengths.
    for (const [len, frameLength] of [[0, 4096], [1, 1], [70001, 4096], [300000, 65536]]) {
      const pt = bytesOf(len, suite + len);
      for (const [encHost, decHost] of [[true, false], [false, true]]) {
        hostCrypto(encHost);
        const ct = await encrypt(pt, { keyring, algorithmSuite: suite, commitmentPolicy, frameLength });
        hostCrypto(decHost);
        assert.deepEqual((await decrypt(ct, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext, pt);
      }
    }
  }
  hostCrypto(true);
});

test('the host hash is what signs and verifies, and a failing one fails closed', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  const pt = bytesOf(50000, 3);
  const good = await encrypt(pt, { keyring });
  const opts = { keyring };
  // A host hash of the right length but the wrong value: the message does
  // not verify, so the hook really is the one in use.
  const zeros = { start: () => ({ update() {}, finish: () => new Uint8Array(48) }) };
  // A host hash that throws on update.
  const throwing = { start: () => ({ update() { throw new Error('host hash failed'); }, finish: () => new Uint8Array(48) }) };
  // A host hash that returns a digest of the wrong length.
  const short = { start: () => ({ update() {}, finish: () => new Uint8Array(3) }) };
  try {
    for (const hook of [zeros, throwing, short]) {
      setHostHash(hook);
      await rejectsWith(decrypt(good, opts), 'authentication_failed');
      if (hook === zeros) {
        const signedWithZeros = await encrypt(pt, opts);
        hostCrypto(true);
        await rejectsWith(decrypt(signedWithZeros, opts), 'authentication_failed');
      } else {
        await assert.rejects(encrypt(pt, opts), (e) => e.code === 'bad_argument' && /ECDSA signing failed/.test(e.message));
      }
    }
  } finally {
    hostCrypto(true);
  }
  assert.deepEqual((await decrypt(good, opts)).plaintext, pt);
});
