// The caching materials manager over local keyrings: limits, sharing,
// suites that are never cached, arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encrypt, decrypt, inspect, encryptStream,
  CachingMaterialsManager, LocalMaterialsCache, RawAesKeyring, RequiredEncryptionContextMaterialsManager,
} from 'kms-envelope';
import { aesKey, bytesOf } from './helpers.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (b) => Buffer.from(b).toString('hex');

/** A custom keyring over a raw AES keyring's key that counts its calls. */
function counting() {
  const key = aesKey();
  const calls = { encrypt: 0, decrypt: 0 };
  let n = 0;
  return {
    calls,
    async onEncrypt(m) {
      calls.encrypt++;
      const dk = m.plaintextDataKey ?? new Uint8Array(32).fill(++n);
      const wrapped = dk.map((b, i) => b ^ key[i]);
      return { plaintextDataKey: dk, encryptedDataKeys: [{ providerId: 'count', providerInfo: new Uint8Array([n]), ciphertext: wrapped }] };
    },
    async onDecrypt(m, edks) {
      calls.decrypt++;
      const e = edks.find((x) => x.providerId === 'count');
      return e ? { plaintextDataKey: e.ciphertext.map((b, i) => b ^ key[i]) } : null;
    },
  };
}

const edk = async (ct) => hex((await inspect(ct)).encryptedDataKeys[0].ciphertext);

test('reuses a data key within maxMessages; per context; decrypt cached too', async () => {
  const k = counting();
  const cmm = new CachingMaterialsManager({ keyring: k, maxAge: 60000, maxMessages: 3 });
  // A random (version-4 UUID) partition ID by default: a guessable one
  // could be named by another manager on the same cache.
  assert.match(cmm.partitionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(new CachingMaterialsManager({ keyring: k, maxAge: 60000 }).partitionId, cmm.partitionId);
  assert.equal(cmm.maxAge, 60000);
  assert.equal(cmm.cache.capacity, 1000);
  const cts = [];
  for (let i = 0; i < 4; i++) cts.push(await encrypt(bytesOf(10, i + 1), { materialsManager: cmm, encryptionContext: { a: '1' } }));
  const keys = await Promise.all(cts.map(edk));
  assert.equal(keys[0], keys[1]);
  assert.equal(keys[1], keys[2]);
  assert.notEqual(keys[2], keys[3]);
  assert.equal(k.calls.encrypt, 2);
  await encrypt(bytesOf(1), { materialsManager: cmm, encryptionContext: { a: '2' } });
  assert.equal(k.calls.encrypt, 3, 'another context is another entry');
  for (let i = 0; i < 4; i++) assert.deepEqual((await decrypt(cts[i], { materialsManager: cmm })).plaintext, bytesOf(10, i + 1));
  assert.equal(k.calls.decrypt, 2, 'one per distinct data key');
  assert.ok(cmm.cache.size >= 3);
  cmm.cache.clear();
  assert.equal(cmm.cache.size, 0);
  await decrypt(cts[0], { materialsManager: cmm });
  assert.equal(k.calls.decrypt, 3);
});

test('maxBytes, maxAge, and suites that are never cached', async () => {
  const k = counting();
  const cmm = new CachingMaterialsManager({ keyring: k, maxAge: 200, maxBytes: 100 });
  const a = await encrypt(new Uint8Array(60), { materialsManager: cmm });
  const b = await encrypt(new Uint8Array(60), { materialsManager: cmm }); // 120 > 100 bytes: a new key
  assert.notEqual(await edk(a), await edk(b));
  const c = await encrypt(new Uint8Array(10), { materialsManager: cmm });
  assert.equal(await edk(c), await edk(b));
  await sleep(300);
  const d = await encrypt(new Uint8Array(10), { materialsManager: cmm });
  assert.notEqual(await edk(d), await edk(c), 'expired');
  // NO_KDF suites: the data key is the AES key itself; never reused.
  const legacy = new CachingMaterialsManager({ keyring: k, maxAge: 60000 });
  const opts = { materialsManager: legacy, algorithmSuite: 0x0078, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' };
  const e = await encrypt(bytesOf(5), opts);
  const f = await encrypt(bytesOf(5), opts);
  assert.notEqual(await edk(e), await edk(f));
  // A stream without plaintextLength is not cached (its size is unknown); with it, it is.
  const streamed = async (o) => {
    const parts = [];
    await new Blob([bytesOf(100)]).stream().pipeThrough(encryptStream(o)).pipeTo(new WritableStream({ write(x) { parts.push(x); } }));
    return edk(new Uint8Array(await new Blob(parts).arrayBuffer()));
  };
  const s = new CachingMaterialsManager({ keyring: k, maxAge: 60000 });
  assert.notEqual(await streamed({ materialsManager: s }), await streamed({ materialsManager: s }));
  const known = { materialsManager: s, plaintextLength: 100 };
  assert.equal(await streamed(known), await streamed(known));
});

test('a shared cache: entries shared only within one partition ID; over a manager', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  const cache = new LocalMaterialsCache(10);
  const one = new CachingMaterialsManager({ keyring, maxAge: 60000, cache, partitionId: 'p' });
  const two = new CachingMaterialsManager({ keyring, maxAge: 60000, cache, partitionId: 'p' });
  const other = new CachingMaterialsManager({ keyring, maxAge: 60000, cache });
  assert.equal(one.cache, cache);
  const a = await encrypt(bytesOf(1), { materialsManager: one });
  assert.equal(await edk(await encrypt(bytesOf(2), { materialsManager: two })), await edk(a));
  assert.notEqual(await edk(await encrypt(bytesOf(3), { materialsManager: other })), await edk(a));
  // Capacity bounds the entries (least recently used go first).
  for (let i = 0; i < 20; i++) await encrypt(bytesOf(1), { materialsManager: one, encryptionContext: { i: String(i) } });
  assert.ok(cache.size <= 10, `size ${cache.size}`);
  assert.equal(new CachingMaterialsManager({ keyring, maxAge: 1, capacity: 3 }).cache.capacity, 3);
  // Over another manager: the required context still applies.
  const required = new RequiredEncryptionContextMaterialsManager({ keyring, requiredEncryptionContextKeys: ['t'] });
  const cmm = new CachingMaterialsManager({ materialsManager: required, maxAge: 60000 });
  const ct = await encrypt(bytesOf(4), { materialsManager: cmm, encryptionContext: { t: 'x' } });
  assert.equal((await inspect(ct)).encryptionContext.t, undefined, 'required pair not stored');
  assert.deepEqual((await decrypt(ct, { materialsManager: cmm, encryptionContext: { t: 'x' } })).plaintext, bytesOf(4));
  await assert.rejects(decrypt(ct, { materialsManager: cmm }), (e) => e.code === 'policy_violation');
});

test('caching manager arguments', () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  const bad = (opts) => assert.throws(() => new CachingMaterialsManager(opts), (e) => e.code === 'bad_argument', JSON.stringify(opts));
  bad({ keyring });
  bad({ keyring, maxAge: 0 });
  bad({ keyring, maxAge: 1.5 });
  bad({ keyring, maxAge: -1 });
  bad({ keyring, maxAge: 10, maxMessages: 0 });
  bad({ keyring, maxAge: 10, maxMessages: 2 ** 53 }); // past exact integers
  // caching-cmm.md: a 64-bit limit, 2^32 only the default (the official
  // SDKs refuse more).
  new CachingMaterialsManager({ keyring, maxAge: 10, maxMessages: 2 ** 32 });
  new CachingMaterialsManager({ keyring, maxAge: 10, maxMessages: 2 ** 32 + 1 });
  bad({ keyring, maxAge: 10, maxBytes: -1 });
  bad({ keyring, maxAge: 10, capacity: 5, cache: new LocalMaterialsCache() });
  bad({ keyring, maxAge: 10, cache: {} });
  bad({ keyring, maxAge: 10, partitionId: 7 });
  bad({ maxAge: 10 });
  bad({ keyring, materialsManager: new CachingMaterialsManager({ keyring, maxAge: 1 }), maxAge: 10 });
  assert.throws(() => new LocalMaterialsCache(-1), (e) => e.code === 'bad_argument');
  assert.equal(new LocalMaterialsCache().capacity, 1000);
});
