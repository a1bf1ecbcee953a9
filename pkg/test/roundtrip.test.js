// Round trips through the one-shot API: every suite, every keyring kind,
// materials managers, options and inspect().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encrypt, decrypt, inspect, encryptStream, RawAesKeyring, RawRsaKeyring, MultiKeyring, CustomKeyring,
  DefaultMaterialsManager, RequiredEncryptionContextMaterialsManager, KmsEnvelopeError,
} from 'kms-envelope';
import { SUITES, SIGNED, COMMITTING, policyFor, aesKey, rsaPair, bytesOf, rejectsWith, keyPair } from './helpers.js';

const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'aes', wrappingKey: aesKey() });
const context = { purpose: 'test', tenant: 'a' };

for (const suite of SUITES) {
  test(`round trip, suite 0x${suite.toString(16).padStart(4, '0')}`, async () => {
    const commitmentPolicy = policyFor(suite);
    for (const len of [0, 1, 4095, 4096, 4097, 20000]) {
      const pt = bytesOf(len, len + suite);
      const ct = await encrypt(pt, { keyring: aes, encryptionContext: context, algorithmSuite: suite, commitmentPolicy, frameLength: 4096 });
      assert.ok(ct instanceof Uint8Array);
      const out = await decrypt(ct, { keyring: aes, encryptionContext: context, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
      assert.deepEqual(out.plaintext, pt);
      assert.equal(out.algorithmSuite, suite);
      assert.equal(out.encryptionContext.purpose, 'test');
      assert.equal('aws-crypto-public-key' in out.encryptionContext, SIGNED.has(suite));
      const h = await inspect(ct);
      assert.equal(h.algorithmSuite, suite);
      assert.equal(h.version, COMMITTING.has(suite) ? 2 : 1);
      assert.equal(h.frameLength, 4096);
      assert.equal(h.encryptedDataKeys[0].providerId, 'ns');
    }
  });
}

test('default suite is 0x0578 and the default frame length 4096', async () => {
  const ct = await encrypt(new TextEncoder().encode('hello'), { keyring: aes });
  const h = await inspect(ct);
  assert.equal(h.algorithmSuite, 0x0578);
  assert.equal(h.algorithmSuiteName.length > 0, true);
  assert.equal(h.frameLength, 4096);
  assert.equal(h.contentType, 'framed');
  assert.equal(h.messageId.length, 32);
});

test('algorithmSuite as a hex string; frame lengths', async () => {
  for (const frameLength of [1, 128, 65536]) {
    const pt = bytesOf(1000);
    const ct = await encrypt(pt, { keyring: aes, algorithmSuite: '0x0478', frameLength });
    assert.equal((await inspect(ct)).frameLength, frameLength);
    assert.deepEqual((await decrypt(ct, { keyring: aes })).plaintext, pt);
  }
});

test('algorithmSuite by name, in any SDK\'s spelling (the migration table in the docs)', async () => {
  const names = {
    ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY: 0x0478, // client-node's AlgorithmSuiteIdentifier
    ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384: 0x0578, // the specification's
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY: 0x0478, // Python's
    alg_aes128_gcm_iv12_tag16_hkdf_sha256: 0x0114,
    '0478': 0x0478,
  };
  for (const [name, id] of Object.entries(names)) {
    const commitmentPolicy = policyFor(id);
    const ct = await encrypt(bytesOf(10), { keyring: aes, algorithmSuite: name, commitmentPolicy });
    assert.equal((await inspect(ct)).algorithmSuite, id, name);
    const sealing = encryptStream({ keyring: aes, algorithmSuite: name, commitmentPolicy });
    const writer = sealing.writable.getWriter();
    writer.write(bytesOf(10));
    writer.close();
    const sealed = new Uint8Array(await new Response(sealing.readable).arrayBuffer());
    assert.equal((await inspect(sealed)).algorithmSuite, id, name);
  }
});

test('raw AES keyrings of 128, 192, 256 bits; ArrayBuffer and Buffer inputs', async () => {
  for (const bits of [128, 192, 256]) {
    const k = new RawAesKeyring({ keyNamespace: 'ns', keyName: `k${bits}`, wrappingKey: aesKey(bits) });
    const ct = await encrypt(Buffer.from('abc'), { keyring: k });
    const out = await decrypt(ct.buffer.slice(ct.byteOffset, ct.byteOffset + ct.length), { keyring: k });
    assert.equal(new TextDecoder().decode(out.plaintext), 'abc');
  }
});

test('raw AES keyring: a node:crypto secret KeyObject as the wrapping key', async () => {
  const { createSecretKey } = await import('node:crypto');
  const key = aesKey();
  const fromObject = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'obj', wrappingKey: createSecretKey(key) });
  const fromBytes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'obj', wrappingKey: key });
  const ct = await encrypt(bytesOf(10), { keyring: fromObject });
  assert.deepEqual((await decrypt(ct, { keyring: fromBytes })).plaintext, bytesOf(10));
  assert.throws(
    () => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'obj', wrappingKey: keyPair('ec', { namedCurve: 'P-256' }).publicKey }),
    (e) => e.code === 'bad_argument' && /wrappingKey must be a secret key; the KeyObject is a public ec key/.test(e.message),
  );
  // 20 bytes: refused as any other key of that length
  assert.throws(() => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'obj', wrappingKey: createSecretKey(Buffer.alloc(20)) }), (e) => e.code === 'bad_argument');
});

test('the caller key buffer is not zeroed or kept', async () => {
  const key = aesKey();
  const copy = key.slice();
  const k = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'x', wrappingKey: key });
  assert.deepEqual(key, copy);
  key.fill(0);
  const ct = await encrypt(bytesOf(10), { keyring: k });
  assert.deepEqual((await decrypt(ct, { keyring: k })).plaintext, bytesOf(10));
});

test('raw RSA keyring: every padding, PEM and DER, public-only encrypts', async () => {
  const { publicKey, privateKey } = rsaPair();
  for (const padding of ['pkcs1', 'oaep-sha1', 'oaep-sha256', 'oaep-sha384', 'oaep-sha512']) {
    const enc = new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', padding, publicKey });
    const dec = new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', padding, privateKey });
    const ct = await encrypt(bytesOf(300), { keyring: enc, encryptionContext: context });
    assert.deepEqual((await decrypt(ct, { keyring: dec })).plaintext, bytesOf(300));
    await rejectsWith(decrypt(ct, { keyring: enc }), 'no_key_unwrapped', KmsEnvelopeError);
  }
  const { createPublicKey, createPrivateKey } = await import('node:crypto');
  const der = new RawRsaKeyring({
    keyNamespace: 'rsa', keyName: 'k', padding: 'oaep-sha256',
    publicKey: new Uint8Array(createPublicKey(publicKey).export({ type: 'spki', format: 'der' })),
    privateKey: new Uint8Array(createPrivateKey(privateKey).export({ type: 'pkcs8', format: 'der' })),
  });
  const ct = await encrypt(bytesOf(5), { keyring: der });
  assert.deepEqual((await decrypt(ct, { keyring: der })).plaintext, bytesOf(5));
  // PKCS#1 DER, as the declarations promise, opens what the SPKI/PKCS#8 keyring sealed
  const pkcs1 = new RawRsaKeyring({
    keyNamespace: 'rsa', keyName: 'k', padding: 'oaep-sha256',
    publicKey: new Uint8Array(createPublicKey(publicKey).export({ type: 'pkcs1', format: 'der' })),
    privateKey: new Uint8Array(createPrivateKey(privateKey).export({ type: 'pkcs1', format: 'der' })),
  });
  assert.deepEqual((await decrypt(ct, { keyring: pkcs1 })).plaintext, bytesOf(5));
  const back = await encrypt(bytesOf(6), { keyring: pkcs1 });
  assert.deepEqual((await decrypt(back, { keyring: der })).plaintext, bytesOf(6));
  // PEM read from a file (a Buffer), leading whitespace and all, and KeyObjects
  const fromFile = new RawRsaKeyring({
    keyNamespace: 'rsa', keyName: 'k', padding: 'oaep-sha256',
    publicKey: Buffer.from(`\n ${publicKey}`), privateKey: Buffer.from(privateKey),
  });
  assert.deepEqual((await decrypt(ct, { keyring: fromFile })).plaintext, bytesOf(5));
  // ... after a byte-order mark, or the attribute lines openssl pkcs12 writes
  const prefixed = new RawRsaKeyring({
    keyNamespace: 'rsa', keyName: 'k', padding: 'oaep-sha256',
    privateKey: Buffer.concat([Buffer.from('Bag Attributes\n    localKeyID: 01 02\nKey Attributes: <No Attributes>\n'), Buffer.from(privateKey)]),
    publicKey: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(publicKey)]),
  });
  assert.deepEqual((await decrypt(ct, { keyring: prefixed })).plaintext, bytesOf(5));
  const objects = new RawRsaKeyring({
    keyNamespace: 'rsa', keyName: 'k', padding: 'oaep-sha256',
    publicKey: createPublicKey(publicKey), privateKey: createPrivateKey(privateKey),
  });
  assert.deepEqual((await decrypt(await encrypt(bytesOf(7), { keyring: objects }), { keyring: der })).plaintext, bytesOf(7));
  assert.deepEqual((await decrypt(ct, { keyring: objects })).plaintext, bytesOf(5));
  // A KeyObject of the wrong kind names what it is
  assert.throws(
    () => new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', publicKey: createPrivateKey(privateKey) }),
    (e) => e.code === 'bad_argument' && /publicKey must be an RSA public key; the KeyObject is a private rsa key/.test(e.message),
  );
  const { createSecretKey } = await import('node:crypto');
  const ec = keyPair('ec', { namedCurve: 'P-256' });
  assert.throws(
    () => new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', privateKey: ec.privateKey }),
    (e) => e.code === 'bad_argument' && /private ec key/.test(e.message),
  );
  assert.throws(
    () => new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', privateKey: createSecretKey(Buffer.alloc(32)) }),
    (e) => e.code === 'bad_argument' && /a secret key/.test(e.message),
  );
  // PEM bytes that are not text, and a PEM that is cut short: bad_argument
  const broken = Buffer.concat([Buffer.from('-----BEGIN PRIVATE KEY-----\n'), Buffer.from([0xff, 0xfe])]);
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', privateKey: broken }), (e) => e.code === 'bad_argument');
  assert.throws(
    () => new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k', privateKey: Buffer.from(privateKey.slice(0, 200)) }),
    (e) => e.code === 'bad_argument',
  );
  // a 1024-bit key is refused with the reason
  const small = keyPair('rsa', { modulusLength: 1024 }).publicKey;
  assert.throws(
    () => new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 's', publicKey: new Uint8Array(small.export({ type: 'spki', format: 'der' })) }),
    (e) => e instanceof KmsEnvelopeError && e.code === 'bad_argument' && /2048 to 8192 bits/.test(e.message),
  );
});

test('multi-keyring: every member can decrypt', async () => {
  const { publicKey, privateKey } = rsaPair();
  const a = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'a', wrappingKey: aesKey() });
  const b = new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'b', publicKey, privateKey });
  const c = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'c', wrappingKey: aesKey(128) });
  const multi = new MultiKeyring({ generator: a, children: [b, c] });
  const ct = await encrypt(bytesOf(100), { keyring: multi });
  assert.equal((await inspect(ct)).encryptedDataKeys.length, 3);
  for (const k of [a, b, c, multi]) assert.deepEqual((await decrypt(ct, { keyring: k })).plaintext, bytesOf(100));
  // A multi-keyring without a generator decrypts with any child.
  const childrenOnly = new MultiKeyring({ children: [c] });
  assert.deepEqual((await decrypt(ct, { keyring: childrenOnly })).plaintext, bytesOf(100));
});

test('materials managers: default and required encryption context', async () => {
  const dmm = new DefaultMaterialsManager(aes);
  const ct = await encrypt(bytesOf(10), { materialsManager: dmm, encryptionContext: context });
  assert.deepEqual((await decrypt(ct, { materialsManager: dmm })).plaintext, bytesOf(10));

  const req = new RequiredEncryptionContextMaterialsManager({ keyring: aes, requiredEncryptionContextKeys: ['tenant'] });
  const ct2 = await encrypt(bytesOf(10), { materialsManager: req, encryptionContext: context });
  const h = await inspect(ct2);
  assert.equal(h.encryptionContext.tenant, undefined, 'required pairs are not stored');
  assert.equal(h.encryptionContext.purpose, 'test');
  // Without the required pair the wrapped key's AAD differs: nothing unwraps.
  await rejectsWith(decrypt(ct2, { keyring: aes }), 'no_key_unwrapped');
  const out = await decrypt(ct2, { materialsManager: req, encryptionContext: { tenant: 'a' } });
  assert.deepEqual(out.plaintext, bytesOf(10));
  assert.equal(out.encryptionContext.tenant, 'a');
  // The same through a keyring and the reproduced context.
  assert.deepEqual((await decrypt(ct2, { keyring: aes, encryptionContext: { tenant: 'a' } })).plaintext, bytesOf(10));
  await rejectsWith(encrypt(bytesOf(1), { materialsManager: req, encryptionContext: { purpose: 'x' } }), 'policy_violation');
  // Over another manager.
  const req2 = new RequiredEncryptionContextMaterialsManager({ materialsManager: dmm, requiredEncryptionContextKeys: ['purpose'] });
  const ct3 = await encrypt(bytesOf(3), { materialsManager: req2, encryptionContext: context });
  assert.deepEqual((await decrypt(ct3, { keyring: aes, encryptionContext: { purpose: 'test' } })).plaintext, bytesOf(3));
});

test('encryption context: Map input, empty, unicode', async () => {
  const ctx = new Map([['ключ', 'значение'], ['emoji', '🔑']]);
  const ct = await encrypt(bytesOf(1), { keyring: aes, encryptionContext: ctx });
  const out = await decrypt(ct, { keyring: aes, encryptionContext: { emoji: '🔑' } });
  assert.equal(out.encryptionContext['ключ'], 'значение');
});

test('maxEncryptedDataKeys allows up to the limit', async () => {
  const multi = new MultiKeyring({ generator: aes, children: [aes] });
  const ct = await encrypt(bytesOf(1), { keyring: multi, maxEncryptedDataKeys: 2 });
  assert.deepEqual((await decrypt(ct, { keyring: aes, maxEncryptedDataKeys: 2 })).plaintext, bytesOf(1));
});

test('CustomKeyring class and plain object are both accepted', async () => {
  const impl = {
    async onEncrypt(m) {
      const key = m.plaintextDataKey ?? crypto.getRandomValues(new Uint8Array(32));
      return { plaintextDataKey: key, encryptedDataKeys: [{ providerId: 'xor', providerInfo: new Uint8Array([1]), ciphertext: key.map((b) => b ^ 0x5a) }] };
    },
    async onDecrypt(m, edks) {
      const e = edks.find((x) => x.providerId === 'xor');
      return e ? { plaintextDataKey: e.ciphertext.map((b) => b ^ 0x5a) } : null;
    },
  };
  for (const keyring of [impl, new CustomKeyring(impl)]) {
    const ct = await encrypt(bytesOf(9), { keyring });
    assert.deepEqual((await decrypt(ct, { keyring })).plaintext, bytesOf(9));
  }
});

test('fresh randomness per message: message IDs, data keys and IVs never repeat', async () => {
  // The core serves small random requests from a pool on wasm32
  // (src/crypto/rustcrypto.rs); a pool that handed bytes out twice would
  // repeat message IDs or wrapped data keys here.
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'fresh', wrappingKey: aesKey() });
  const ids = new Set();
  const edks = new Set();
  for (let i = 0; i < 300; i++) {
    const ct = await encrypt(new Uint8Array(10), { keyring, algorithmSuite: i % 2 ? 0x0478 : 0x0178, commitmentPolicy: policyFor(i % 2 ? 0x0478 : 0x0178) });
    const h = await inspect(ct);
    ids.add(Buffer.from(h.messageId).toString('hex'));
    edks.add(Buffer.from(h.encryptedDataKeys[0].ciphertext).toString('hex'));
  }
  assert.equal(ids.size, 300);
  assert.equal(edks.size, 300);
});

test("a keyring copies its wrapping key and leaves the caller's as it was", async () => {
  const { randomBytes } = await import('node:crypto');
  for (const make of [() => randomBytes(32), () => new Uint8Array(randomBytes(32)), () => new Uint8Array(randomBytes(32)).buffer]) {
    const wrappingKey = make();
    const before = new Uint8Array(wrappingKey).slice();
    const first = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey });
    assert.deepEqual(new Uint8Array(wrappingKey), before, 'the key is untouched');
    // A second keyring from the same bytes is the same key.
    const second = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey });
    const ct = await encrypt(new Uint8Array([1, 2, 3]), { keyring: first });
    assert.deepEqual((await decrypt(ct, { keyring: second })).plaintext, new Uint8Array([1, 2, 3]));
  }
});
