// AES-GCM on node:crypto (the core's host-crypto hook) and in wasm give the
// same messages: each reads the other's, for every key size.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { encrypt, decrypt, hostCrypto, RawAesKeyring, cryptoBackend } from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith, policyFor } from './helpers.js';

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

test('host AES-GCM is much faster than wasm for large messages', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  const pt = new Uint8Array(8 << 20);
  const time = async () => { const t = performance.now(); await encrypt(pt, { keyring, algorithmSuite: 0x0478, frameLength: 65536 }); return performance.now() - t; };
  hostCrypto(false); const wasm = await time();
  hostCrypto(true); const host = await time();
  console.log(`# 8 MiB encrypt: wasm AES-GCM ${wasm.toFixed(0)} ms, node:crypto ${host.toFixed(0)} ms`);
  assert.ok(host < wasm, 'host path is faster');
});
