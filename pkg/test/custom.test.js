// Keyrings written in JS: async onEncrypt / onDecrypt, also rejecting ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encrypt, decrypt, inspect, DefaultMaterialsManager, MultiKeyring, RawAesKeyring, RequiredEncryptionContextMaterialsManager, KmsEnvelopeError,
} from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith } from './helpers.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wraps data keys with node:crypto AES-256-GCM after a real await. */
function remoteKeyring(secret = aesKey()) {
  const calls = { encrypt: [], decrypt: [] };
  const { createCipheriv, createDecipheriv, randomBytes } = globalThis.nodeCrypto;
  return {
    calls,
    async onEncrypt(materials) {
      calls.encrypt.push(materials);
      await sleep(5);
      const key = materials.plaintextDataKey ?? new Uint8Array(randomBytes(materials.algorithmSuite === 0x0014 ? 16 : 32));
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', secret, iv);
      const wrapped = Buffer.concat([iv, c.update(key), c.final(), c.getAuthTag()]);
      return { plaintextDataKey: key, encryptedDataKeys: [{ providerId: 'remote', providerInfo: new TextEncoder().encode('key-1'), ciphertext: new Uint8Array(wrapped) }] };
    },
    async onDecrypt(materials, edks) {
      calls.decrypt.push({ materials, edks });
      await sleep(5);
      for (const e of edks) {
        if (e.providerId !== 'remote') continue;
        const d = createDecipheriv('aes-256-gcm', secret, e.ciphertext.subarray(0, 12));
        d.setAuthTag(e.ciphertext.subarray(e.ciphertext.length - 16));
        try {
          return { plaintextDataKey: new Uint8Array(Buffer.concat([d.update(e.ciphertext.subarray(12, e.ciphertext.length - 16)), d.final()])) };
        } catch { /* try the next one */ }
      }
      return null;
    },
  };
}
globalThis.nodeCrypto = await import('node:crypto');

test('async custom keyring: round trip, materials it sees', async () => {
  const k = remoteKeyring();
  const ct = await encrypt(bytesOf(5000), { keyring: k, encryptionContext: { user: 'u1' } });
  const out = await decrypt(ct, { keyring: k });
  assert.deepEqual(out.plaintext, bytesOf(5000));
  const m = k.calls.encrypt[0];
  assert.equal(m.algorithmSuite, 0x0578);
  assert.equal(m.encryptionContext.user, 'u1');
  assert.ok(m.encryptionContext['aws-crypto-public-key']);
  assert.equal(m.plaintextDataKey, undefined);
  assert.deepEqual(m.requiredEncryptionContextKeys, []);
  assert.equal(k.calls.decrypt[0].edks[0].providerId, 'remote');
  assert.equal(new TextDecoder().decode(k.calls.decrypt[0].edks[0].providerInfo), 'key-1');
});

test('a custom keyring sees which pairs the message will not store', async () => {
  const k = remoteKeyring();
  const manager = new RequiredEncryptionContextMaterialsManager({ keyring: k, requiredEncryptionContextKeys: ['tenant'] });
  const context = { tenant: 'acme', purpose: 'test' };
  const ct = await encrypt(bytesOf(10), { materialsManager: manager, encryptionContext: context });
  assert.deepEqual(k.calls.encrypt[0].requiredEncryptionContextKeys, ['tenant']);
  assert.equal(k.calls.encrypt[0].encryptionContext.tenant, 'acme');
  const out = await decrypt(ct, { materialsManager: manager, encryptionContext: { tenant: 'acme' } });
  assert.deepEqual(out.plaintext, bytesOf(10));
  const seen = k.calls.decrypt[0].materials;
  assert.deepEqual(seen.requiredEncryptionContextKeys, ['tenant']);
  assert.equal(seen.encryptionContext.tenant, 'acme');
  assert.equal(seen.encryptionContext.purpose, 'test');
});

test('custom keyring as a multi-keyring child and generator', async () => {
  const k = remoteKeyring();
  const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'a', wrappingKey: aesKey() });
  const ct = await encrypt(bytesOf(10), { keyring: new MultiKeyring({ generator: k, children: [aes] }) });
  assert.deepEqual((await decrypt(ct, { keyring: aes })).plaintext, bytesOf(10));
  assert.deepEqual((await decrypt(ct, { keyring: k })).plaintext, bytesOf(10));
  const ct2 = await encrypt(bytesOf(10), { keyring: new MultiKeyring({ generator: aes, children: [k] }) });
  assert.ok(k.calls.encrypt.at(-1).plaintextDataKey instanceof Uint8Array, 'child sees the generated key');
  assert.deepEqual((await decrypt(ct2, { keyring: k })).plaintext, bytesOf(10));
});

test("client-node's idiom: EDKs pushed onto the materials and the materials returned", async () => {
  // Each such child handed back every EDK it was shown: under a
  // multi-keyring with two of them the message carried 7 EDKs, not 3.
  const pushing = (name) => ({
    onEncrypt(m) {
      m.encryptedDataKeys.push({ providerId: 'pushed', providerInfo: new TextEncoder().encode(name), ciphertext: new Uint8Array([1, 2, 3]) });
      // The same object twice in one answer counts once too.
      m.encryptedDataKeys.push(m.encryptedDataKeys.at(-1));
      return m;
    },
    onDecrypt() { return null; },
  });
  const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'a', wrappingKey: aesKey() });
  const ct = await encrypt(bytesOf(10), { keyring: new MultiKeyring({ generator: aes, children: [pushing('one'), pushing('two')] }) });
  const { encryptedDataKeys } = await inspect(ct);
  assert.deepEqual(encryptedDataKeys.map((e) => e.providerId), ['ns', 'pushed', 'pushed']);
  assert.deepEqual((await decrypt(ct, { keyring: aes, maxEncryptedDataKeys: 3 })).plaintext, bytesOf(10));
});

test('a keyring written as a class with static methods is taken wherever a keyring is', async () => {
  const k = remoteKeyring();
  class Static {
    static onEncrypt(m) { return k.onEncrypt(m); }
    static onDecrypt(m, edks) { return k.onDecrypt(m, edks); }
  }
  const ct = await encrypt(bytesOf(10), { keyring: Static });
  assert.deepEqual((await decrypt(ct, { keyring: Static })).plaintext, bytesOf(10));
  const cmm = new DefaultMaterialsManager(Static);
  assert.deepEqual((await decrypt(ct, { materialsManager: cmm })).plaintext, bytesOf(10));
});

test('a keyring that rejects: kms_error, original error as cause', async () => {
  const boom = Object.assign(new Error('access denied by policy'), { code: 'AccessDeniedException' });
  const failing = { async onEncrypt() { await sleep(1); throw boom; }, async onDecrypt() { throw boom; } };
  await assert.rejects(encrypt(bytesOf(1), { keyring: failing }), (e) => {
    assert.ok(e instanceof KmsEnvelopeError);
    assert.equal(e.code, 'kms_error');
    assert.match(e.message, /AccessDeniedException/);
    assert.match(e.message, /access denied by policy/);
    assert.equal(e.cause, boom);
    assert.equal(e.kmsCode, 'AccessDeniedException');
    return true;
  });
  // Through a materials manager too.
  await assert.rejects(encrypt(bytesOf(1), { materialsManager: new DefaultMaterialsManager(failing) }), (e) => e.cause === boom && e.kmsCode === 'AccessDeniedException');
  const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'a', wrappingKey: aesKey() });
  const ct = await encrypt(bytesOf(1), { keyring: aes });
  await rejectsWith(decrypt(ct, { keyring: failing }), 'kms_error', KmsEnvelopeError);
  // Rejections with a non-Error value.
  await rejectsWith(encrypt(bytesOf(1), { keyring: { onEncrypt: () => Promise.reject('nope'), onDecrypt() {} } }), 'kms_error');
  // Synchronous throw.
  await rejectsWith(encrypt(bytesOf(1), { keyring: { onEncrypt() { throw new TypeError('x'); }, onDecrypt() {} } }), 'kms_error');
  // An empty code or name is no code: never an empty kmsCode.
  const blank = Object.assign(new Error('blank code'), { code: '' });
  await assert.rejects(encrypt(bytesOf(1), { keyring: { onEncrypt() { throw blank; }, onDecrypt() {} } }), (e) => e.kmsCode === 'Error' && /KMS error Error: blank code/.test(e.message));
});

test("a keyring that throws this package's error keeps its kind, as in C and Python", async () => {
  const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'a', wrappingKey: aesKey() });
  const ct = await encrypt(bytesOf(1), { keyring: aes });
  const kept = ['no_key_unwrapped', 'bad_argument', 'policy_violation', 'malformed_message', 'io_error'];
  for (const code of [...kept, 'authentication_failed', 'kms_error']) {
    const thrown = new KmsEnvelopeError(`HSM says ${code}`, code);
    const keyring = { onEncrypt() { throw thrown; }, async onDecrypt() { throw thrown; } };
    for (const call of [() => encrypt(bytesOf(1), { keyring }), () => decrypt(ct, { keyring })]) {
      await assert.rejects(call(), (e) => {
        assert.ok(e instanceof KmsEnvelopeError);
        // An authentication failure is about a message, not a keyring.
        assert.equal(e.code, kept.includes(code) ? code : 'kms_error');
        assert.match(e.message, new RegExp(`HSM says ${code}`));
        return true;
      });
    }
  }
  // A no_key_unwrapped with reasons keeps them, one per key tried.
  const refusal = Object.assign(new KmsEnvelopeError('none of mine', 'no_key_unwrapped'), { reasons: ['key 1: revoked', 'key 2: disabled'] });
  await assert.rejects(decrypt(ct, { keyring: { onEncrypt() {}, onDecrypt() { throw refusal; } } }), (e) => {
    assert.equal(e.code, 'no_key_unwrapped');
    assert.deepEqual(e.reasons, ['key 1: revoked', 'key 2: disabled']);
    return true;
  });
  // The thrown value is the cause; a later key service's code is the kmsCode.
  const first = new KmsEnvelopeError('not mine', 'no_key_unwrapped');
  const second = Object.assign(new Error('network'), { code: 'ECONNRESET' });
  const multi = new MultiKeyring({ children: [
    { onEncrypt() {}, onDecrypt() { throw first; } },
    { onEncrypt() {}, onDecrypt() { throw second; } },
  ] });
  await assert.rejects(decrypt(ct, { keyring: multi }), (e) => e.code === 'no_key_unwrapped' && e.cause === first && e.kmsCode === 'ECONNRESET');
  // A rethrown kms_error keeps the service's code.
  const rethrown = Object.assign(new KmsEnvelopeError('KMS error NotFoundException: gone', 'kms_error'), { kmsCode: 'NotFoundException' });
  await assert.rejects(encrypt(bytesOf(1), { keyring: { onEncrypt() { throw rethrown; }, onDecrypt() {} } }), (e) => e.code === 'kms_error' && e.kmsCode === 'NotFoundException');
  // Hostile reasons: a revoked Proxy, a throwing getter, a string.
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  const getter = Object.defineProperty([], 0, { get() { throw new Error('no'); } });
  for (const reasons of [proxy, getter, 'abc']) {
    const hostile = Object.assign(new KmsEnvelopeError('hostile', 'no_key_unwrapped'), { reasons });
    await rejectsWith(decrypt(ct, { keyring: { onEncrypt() {}, onDecrypt() { throw hostile; } } }), 'no_key_unwrapped');
  }
  // Only this package's errors: another Error whose code is one of ours is a KMS failure.
  const lookalike = Object.assign(new Error('x'), { code: 'policy_violation' });
  await rejectsWith(encrypt(bytesOf(1), { keyring: { onEncrypt() { throw lookalike; }, onDecrypt() {} } }), 'kms_error');
});

test('custom keyrings that break the contract: bad_argument / no_key_unwrapped', async () => {
  const noKey = { async onEncrypt() { return { encryptedDataKeys: [] }; }, async onDecrypt() { return null; } };
  await rejectsWith(encrypt(bytesOf(1), { keyring: noKey }), 'bad_argument');
  const shortKey = { async onEncrypt() { return { plaintextDataKey: new Uint8Array(5), encryptedDataKeys: [] }; }, async onDecrypt() {} };
  await rejectsWith(encrypt(bytesOf(1), { keyring: shortKey }), 'bad_argument');
  const badEdk = { async onEncrypt() { return { plaintextDataKey: new Uint8Array(32), encryptedDataKeys: [{ providerId: 7 }] }; }, async onDecrypt() {} };
  await rejectsWith(encrypt(bytesOf(1), { keyring: badEdk }), 'bad_argument');
  const nothing = { async onEncrypt() {}, async onDecrypt() {} };
  await rejectsWith(encrypt(bytesOf(1), { keyring: nothing }), 'bad_argument');
  // Resolving to a string or a number: said so, not an engine's message.
  for (const value of ['a string', 5, true]) {
    const primitive = { onEncrypt: async () => value, onDecrypt: async () => value };
    await assert.rejects(encrypt(bytesOf(1), { keyring: primitive }), (e) => e.code === 'bad_argument' && /onEncrypt must resolve to the materials \(an object\), got a/.test(e.message));
  }
  const k = remoteKeyring();
  const ct = await encrypt(bytesOf(1), { keyring: k });
  await rejectsWith(decrypt(ct, { keyring: nothing }), 'no_key_unwrapped');
  await assert.rejects(decrypt(ct, { keyring: { onEncrypt() {}, onDecrypt: async () => 'key' } }), (e) => e.code === 'bad_argument' && /onDecrypt must resolve to the materials/.test(e.message));
  // A wrong data key fails the key commitment.
  const wrong = { onEncrypt() {}, onDecrypt() { return { plaintextDataKey: new Uint8Array(32) }; } };
  await rejectsWith(decrypt(ct, { keyring: wrong }), 'authentication_failed');
});

test('synchronous custom keyrings work too', async () => {
  const key = new Uint8Array(32).fill(3);
  const sync = {
    onEncrypt: () => ({ plaintextDataKey: key, encryptedDataKeys: [{ providerId: 'sync', providerInfo: new Uint8Array(), ciphertext: new Uint8Array([1]) }] }),
    onDecrypt: () => ({ plaintextDataKey: key }),
  };
  const ct = await encrypt(bytesOf(3), { keyring: sync, algorithmSuite: 0x0478 });
  assert.deepEqual((await decrypt(ct, { keyring: sync })).plaintext, bytesOf(3));
});

test('many concurrent calls through an async keyring', async () => {
  const k = remoteKeyring();
  const inputs = Array.from({ length: 20 }, (_, i) => bytesOf(100 * i + 1, i + 1));
  const cts = await Promise.all(inputs.map((p) => encrypt(p, { keyring: k })));
  const outs = await Promise.all(cts.map((c) => decrypt(c, { keyring: k })));
  outs.forEach((o, i) => assert.deepEqual(o.plaintext, inputs[i]));
  // Interleaved failures: each call's error carries its own cause.
  const failing = (i) => ({ async onEncrypt() { await sleep(6 - (i % 3) * 2); throw Object.assign(new Error(`e${i}`), { code: `C${i}` }); }, onDecrypt() {} });
  const errs = await Promise.all(Array.from({ length: 6 }, (_, i) => encrypt(bytesOf(1), { materialsManager: new DefaultMaterialsManager(failing(i)) }).catch((e) => e)));
  errs.forEach((e, i) => { assert.equal(e.kmsCode, `C${i}`); assert.equal(e.cause.message, `e${i}`); });
});
