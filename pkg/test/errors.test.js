// Every failure is a KmsEnvelopeError (an Error) with a stable `code`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encrypt, decrypt, inspect, encryptStream, decryptStream, RawAesKeyring, RawRsaKeyring, MultiKeyring,
  RequiredEncryptionContextMaterialsManager, KmsEnvelopeError, ErrorCode, LocalMaterialsCache, hostCrypto,
  Keyring, MaterialsManager, AwsKmsKeyring,
} from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith } from './helpers.js';

const key = aesKey();
const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: key });
const other = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
const ctx = { a: '1', b: '2' };
const rejects = (p, code) => rejectsWith(p, code, KmsEnvelopeError);

function thrownSync(fn, code) {
  assert.throws(fn, (e) => e instanceof KmsEnvelopeError && e.code === code);
}

test('ErrorCode lists the core kinds', () => {
  assert.deepEqual(Object.values(ErrorCode).sort(), [
    'authentication_failed', 'bad_argument', 'io_error', 'kms_error', 'malformed_message', 'no_key_unwrapped', 'policy_violation',
  ]);
});

test('truncated messages: malformed_message', async () => {
  for (const suite of [0x0478, 0x0578]) {
    const ct = await encrypt(bytesOf(10000), { keyring: aes, algorithmSuite: suite, frameLength: 1024 });
    for (const cut of [0, 1, 10, 60, ct.length - 200, ct.length - 1]) {
      await rejects(decrypt(ct.subarray(0, cut), { keyring: aes }), 'malformed_message');
    }
    await rejects(decrypt(new Uint8Array([...ct, 0]), { keyring: aes }), 'malformed_message');
    await rejects(inspect(ct.subarray(0, 20)), 'malformed_message');
  }
});

test('garbage and base64 input: malformed_message', async () => {
  await rejects(decrypt(new TextEncoder().encode('AgV4dGhpcyBpcyBiYXNlNjQ='), { keyring: aes }), 'malformed_message');
  await rejects(decrypt(new Uint8Array(100).fill(9), { keyring: aes }), 'malformed_message');
});

test('tampered body, header or signature: authentication_failed', async () => {
  for (const suite of [0x0478, 0x0578]) {
    const ct = await encrypt(bytesOf(3000), { keyring: aes, algorithmSuite: suite, encryptionContext: ctx, frameLength: 1024 });
    const h = await inspect(ct);
    const flip = (i) => { const c = ct.slice(); c[i] ^= 1; return c; };
    await rejects(decrypt(flip(h.headerLength + 30), { keyring: aes }), 'authentication_failed'); // first frame body
    await rejects(decrypt(flip(h.headerLength - 1), { keyring: aes }), 'authentication_failed'); // header tag
    await rejects(decrypt(flip(h.headerLength - 40), { keyring: aes }), 'authentication_failed'); // commitment
    if (suite === 0x0578) await rejects(decrypt(flip(ct.length - 5), { keyring: aes }), 'authentication_failed'); // signature
  }
});

test('wrong key: no_key_unwrapped', async () => {
  const ct = await encrypt(bytesOf(10), { keyring: aes });
  await rejects(decrypt(ct, { keyring: other }), 'no_key_unwrapped');
  const named = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'other-name', wrappingKey: key });
  await rejects(decrypt(ct, { keyring: named }), 'no_key_unwrapped');
});

test('wrong encryption context: policy_violation', async () => {
  const ct = await encrypt(bytesOf(10), { keyring: aes, encryptionContext: ctx });
  await rejects(decrypt(ct, { keyring: aes, encryptionContext: { a: '2' } }), 'policy_violation');
  // A pair the header lacks counts as a required (unstored) pair: the raw
  // AES keyring's AAD then differs and nothing unwraps.
  await rejects(decrypt(ct, { keyring: aes, encryptionContext: { c: '3' } }), 'no_key_unwrapped');
  await rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContext: { 'aws-crypto-x': 'y' } }), 'bad_argument'); // reserved prefix
});

test('too many encrypted data keys: policy_violation', async () => {
  const multi = new MultiKeyring({ generator: aes, children: [aes, aes] });
  const ct = await encrypt(bytesOf(10), { keyring: multi });
  await rejects(decrypt(ct, { keyring: aes, maxEncryptedDataKeys: 2 }), 'policy_violation');
  await rejects(encrypt(bytesOf(10), { keyring: multi, maxEncryptedDataKeys: 2 }), 'policy_violation');
});

test('commitment policy: policy_violation', async () => {
  const ct = await encrypt(bytesOf(10), { keyring: aes, algorithmSuite: 0x0178, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' });
  await rejects(decrypt(ct, { keyring: aes }), 'policy_violation');
  await rejects(encrypt(bytesOf(10), { keyring: aes, algorithmSuite: 0x0178 }), 'policy_violation');
  await rejects(encrypt(bytesOf(10), { keyring: aes, algorithmSuite: 0x0478, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' }), 'policy_violation');
  // encryptStream refuses such options when it is called, not at the first write.
  thrownSync(() => encryptStream({ keyring: aes, algorithmSuite: 0x0178 }), 'policy_violation');
  thrownSync(() => encryptStream({ keyring: aes, algorithmSuite: 0x0478, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' }), 'policy_violation');
  encryptStream({ keyring: aes, algorithmSuite: 0x0178, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' });
});

test('Keyring and MaterialsManager refuse subclasses of your own, naming what to use', () => {
  class MyKeyring extends Keyring { constructor() { super(); } }
  class MyManager extends MaterialsManager { constructor() { super({}); } }
  for (const [make, re] of [[() => new MyKeyring(), /object with onEncrypt and onDecrypt/], [() => new MyManager(), /DefaultMaterialsManager/]]) {
    assert.throws(make, (e) => e instanceof KmsEnvelopeError && e.code === 'bad_argument' && re.test(e.message));
  }
});

test('wrong argument types: bad_argument', async () => {
  await rejects(encrypt('text', { keyring: aes }), 'bad_argument');
  await rejects(encrypt([1, 2], { keyring: aes }), 'bad_argument');
  await rejects(encrypt(bytesOf(1)), 'bad_argument');
  await rejects(encrypt(bytesOf(1), {}), 'bad_argument');
  await rejects(encrypt(bytesOf(1), null), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: {} }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: 'aes' }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContext: { a: 1 } }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContext: 'a=b' }), 'bad_argument');
  // A symbol key would be skipped by Object.entries, the pair lost unnoticed.
  await assert.rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContext: { a: 'b', [Symbol('k')]: 'v' } }), /a key is a symbol/);
  await rejects(encrypt(bytesOf(1), { keyring: aes, algorithmSuite: 0x1234 }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, algorithmSuite: 'fast' }), 'bad_argument');
  await assert.rejects(encrypt(bytesOf(1), { keyring: aes, algorithmSuite: 'fast' }), /unknown algorithm suite 'fast'/);
  await assert.rejects(encrypt(bytesOf(1), { keyring: aes, algorithmSuite: 1.5 }), /algorithmSuite must be an integer/);
  await rejects(encrypt(bytesOf(1), { keyring: aes, frameLength: 0 }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, frameLength: 1.5 }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, frameLength: 2 ** 32 }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, commitmentPolicy: 'NONE' }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, maxEncryptedDataKeys: 0 }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, materialsManager: aes }), 'bad_argument');
  await rejects(decrypt(null, { keyring: aes }), 'bad_argument');
  await rejects(decrypt(bytesOf(10), { materialsManager: aes }), 'bad_argument');
  await rejects(inspect(42), 'bad_argument');
  thrownSync(() => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: new Uint8Array(7) }), 'bad_argument');
  thrownSync(() => new RawAesKeyring({ keyNamespace: 'aws-kms', keyName: 'k', wrappingKey: key }), 'bad_argument');
  thrownSync(() => new RawAesKeyring({ keyNamespace: 1, keyName: 'k', wrappingKey: key }), 'bad_argument');
  thrownSync(() => new RawAesKeyring(), 'bad_argument');
  thrownSync(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'k' }), 'bad_argument');
  thrownSync(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'k', publicKey: 'not a pem' }), 'bad_argument');
  thrownSync(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'k', padding: 'oaep-md5', publicKey: 'x' }), 'bad_argument');
  thrownSync(() => new MultiKeyring({}), 'bad_argument');
  thrownSync(() => new MultiKeyring({ children: [1] }), 'bad_argument');
  thrownSync(() => new RequiredEncryptionContextMaterialsManager({ keyring: aes, requiredEncryptionContextKeys: [] }), 'bad_argument');
  thrownSync(() => encryptStream({}), 'bad_argument');
  thrownSync(() => decryptStream({ keyring: aes, signedRelease: 'never' }), 'bad_argument');
});

test('misspelt options, non-plain contexts and loose types are refused, not ignored', async () => {
  const ct = await encrypt(bytesOf(10), { keyring: aes, encryptionContext: ctx });
  // A typo must not turn off the context check.
  await rejects(decrypt(ct, { keyring: aes, encryptionContex: { a: 'wrong' } }), 'bad_argument');
  await rejects(decrypt(ct, { keyring: aes, algorithmSuite: 0x0478 }), 'bad_argument');
  await rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContex: ctx }), 'bad_argument');
  thrownSync(() => encryptStream({ keyring: aes, framelength: 64 }), 'bad_argument');
  thrownSync(() => decryptStream({ keyring: aes, maxFrameSise: 64 }), 'bad_argument');
  thrownSync(() => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: key, padding: 'x' }), 'bad_argument');
  await assert.rejects(decrypt(ct, { keyring: aes, encryptionContex: {} }), /unknown option 'encryptionContex'/);
  // Objects without own entries are not an empty context.
  for (const encryptionContext of [new Date(), new URLSearchParams('a=1'), [['a', '1']]]) {
    await rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContext }), 'bad_argument');
  }
  assert.ok(await encrypt(bytesOf(1), { keyring: aes, encryptionContext: Object.assign(Object.create(null), { a: '1' }) }));
  // Options that wasm reads as strings or booleans are checked first.
  for (const signedRelease of [5, true, {}, Symbol('x')]) thrownSync(() => decryptStream({ keyring: aes, signedRelease }), 'bad_argument');
  thrownSync(() => decryptStream({ keyring: aes, unsignedOnly: 'false' }), 'bad_argument');
  thrownSync(() => hostCrypto('false'), 'bad_argument');
  assert.equal(hostCrypto(), true);
  await assert.rejects(encrypt(bytesOf(1), { keyring: aes, frameLength: '4096' }), /got string/);
  // A cache of default capacity, not one that caches nothing.
  assert.equal(new LocalMaterialsCache(null).capacity, 1000);
  thrownSync(() => new LocalMaterialsCache(-1), 'bad_argument');
});

test('strings must be valid Unicode; a context key __proto__ comes back', async () => {
  // Lone surrogates have no UTF-8 form: replaced, two keys would become one.
  for (const encryptionContext of [{ '\ud800': 'a', '\udc00': 'b' }, { a: '\ud800' }, new Map([['\udfff', 'x']])]) {
    await rejects(encrypt(bytesOf(1), { keyring: aes, encryptionContext }), 'bad_argument');
  }
  const ct = await encrypt(bytesOf(1), { keyring: aes, encryptionContext: { a: 'x\ud83d\ude00' } });
  await rejects(decrypt(ct, { keyring: aes, encryptionContext: { a: 'x\ud83d' } }), 'bad_argument');
  thrownSync(() => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k\udc00', wrappingKey: key }), 'bad_argument');
  const lone = {
    async onEncrypt(m) {
      return { plaintextDataKey: m.plaintextDataKey ?? new Uint8Array(32), encryptedDataKeys: [{ providerId: 'p\ud800', providerInfo: new Uint8Array(1), ciphertext: new Uint8Array(1) }] };
    },
    async onDecrypt() { return null; },
  };
  await rejects(encrypt(bytesOf(1), { keyring: lone, algorithmSuite: 0x0478 }), 'bad_argument');
  // JSON.parse makes an own property "__proto__"; it is an ordinary key.
  const encryptionContext = JSON.parse('{"__proto__": "x", "a": "b"}');
  const withProto = await encrypt(bytesOf(5), { keyring: aes, encryptionContext });
  const d = await decrypt(withProto, { keyring: aes, encryptionContext });
  assert.deepEqual(Object.keys(d.encryptionContext).sort(), ['__proto__', 'a', 'aws-crypto-public-key']);
  assert.equal(Object.getOwnPropertyDescriptor(d.encryptionContext, '__proto__').value, 'x');
  assert.equal(Object.getPrototypeOf(d.encryptionContext), Object.prototype);
  assert.deepEqual(Object.keys((await inspect(withProto)).encryptionContext).sort(), ['__proto__', 'a', 'aws-crypto-public-key']);
  await rejects(decrypt(withProto, { keyring: aes, encryptionContext: JSON.parse('{"__proto__": "y"}') }), 'policy_violation');
});

/** `buffer` transferred away (detached), as a worker's postMessage would. */
function transfer(view) {
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

test('values that throw as they are read give a coded error, never an escape through wasm', async () => {
  // A throw inside the wasm module's imports used to unwind through it: an
  // uncaught exception, a call that never settled, and after a few hundred
  // a module that no longer worked.
  const uncaught = [];
  const onUncaught = (e) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const edk = { providerId: 'p', ciphertext: new Uint8Array(1) };
    const custom = (onEncrypt) => ({ onEncrypt, onDecrypt: () => null });
    const encryptWith = (keyring) => encrypt(new Uint8Array(10), { keyring, algorithmSuite: 0x0478 });
    await rejects(encryptWith(custom(() => ({ plaintextDataKey: transfer(new Uint8Array(32)), encryptedDataKeys: [edk] }))), 'bad_argument');
    await rejects(encryptWith(custom(() => ({
      plaintextDataKey: new Uint8Array(32),
      encryptedDataKeys: [{ providerId: 'p', providerInfo: transfer(new Uint8Array(4)), ciphertext: new Uint8Array(1) }],
    }))), 'bad_argument');
    await rejects(encryptWith(custom(() => ({
      plaintextDataKey: new Uint8Array(32),
      encryptedDataKeys: new Proxy([edk], { get(t, p) { if (p === 'length') return 1; throw new Error('trap'); } }),
    }))), 'bad_argument');
    await rejects(encryptWith(custom(() => ({ get plaintextDataKey() { throw new Error('getter'); } }))), 'bad_argument');
    await rejects(encryptWith(custom(() => {
      const p = Promise.resolve({ plaintextDataKey: new Uint8Array(32), encryptedDataKeys: [edk] });
      Object.defineProperty(p, 'constructor', { get() { throw new Error('constructor getter'); } });
      return p;
    })), 'kms_error');
    await rejects(encrypt(transfer(new Uint8Array(10)), { keyring: aes }), 'bad_argument');
    // A transferred ArrayBuffer (not a view of one): coded, never an internal error.
    const detached = () => transfer(new Uint8Array(32)).buffer;
    for (const pending of [encrypt(detached(), { keyring: aes }), decrypt(detached(), { keyring: aes }), inspect(detached())]) {
      await assert.rejects(pending, (e) => e instanceof KmsEnvelopeError && e.code === 'bad_argument' && /transferred/.test(e.message) && !/internal/.test(e.message));
    }
    thrownSync(() => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: detached() }), 'bad_argument');
    thrownSync(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'k', publicKey: detached() }), 'bad_argument');
    thrownSync(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'k', privateKey: detached() }), 'bad_argument');
    // A KMS client (here a hostile one) whose response holds a transferred key.
    const keyId = 'arn:aws:kms:us-east-1:111122223333:key/abc';
    const client = { async send() { return { KeyId: keyId, Plaintext: transfer(new Uint8Array(32).fill(9)), CiphertextBlob: new Uint8Array(8) }; } };
    const kmsFailure = await encryptWith(new AwsKmsKeyring({ keyId, client })).catch((e) => e);
    assert.ok(kmsFailure instanceof KmsEnvelopeError, String(kmsFailure));
    assert.equal(kmsFailure.code, 'kms_error');
    assert.equal(kmsFailure.kmsCode, 'InvalidResponse');

    // The message of a large decrypt is read where it is, after the keyring
    // ran: its buffer transferred meanwhile, or at once.
    const big = await encrypt(new Uint8Array(2 << 20).fill(5), { keyring: aes, algorithmSuite: 0x0478 });
    const during = new Uint8Array(big);
    const detaching = { onEncrypt: () => { throw new Error('unused'); }, async onDecrypt() { transfer(during); return null; } };
    await rejects(decrypt(during, { keyring: new MultiKeyring({ generator: detaching, children: [aes] }) }), 'bad_argument');
    const atOnce = new Uint8Array(big);
    const pending = decrypt(atOnce, { keyring: aes });
    transfer(atOnce);
    await rejects(pending, 'bad_argument');
    // A subclass's species is never asked for.
    class Hostile extends Uint8Array { static get [Symbol.species]() { throw new Error('species'); } }
    const hostile = new Hostile(big.length);
    hostile.set(big);
    assert.equal((await decrypt(hostile, { keyring: aes })).plaintext.length, 2 << 20);

    // Many of them leave the module as it was.
    const detachedKey = custom(() => ({ plaintextDataKey: transfer(new Uint8Array(32)), encryptedDataKeys: [edk] }));
    for (let i = 0; i < 400; i++) await rejects(encryptWith(detachedKey), 'bad_argument');
    const ct = await encrypt(bytesOf('still working'), { keyring: aes });
    assert.deepEqual((await decrypt(ct, { keyring: aes })).plaintext, bytesOf('still working'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

test('views of a SharedArrayBuffer are taken, small and large', async () => {
  const shared = (bytes) => {
    const v = new Uint8Array(new SharedArrayBuffer(bytes.length));
    v.set(bytes);
    return v;
  };
  for (const size of [4096, 2 << 20]) {
    const pt = new Uint8Array(size).fill(9);
    const ct = await encrypt(shared(pt), { keyring: aes });
    assert.deepEqual((await decrypt(shared(ct), { keyring: aes })).plaintext, pt);
  }
});

test('synchronous entry points: options that throw as they are read are a bad_argument', () => {
  const boom = () => { throw new Error('getter boom'); };
  const hostile = new Proxy({}, { ownKeys: boom });
  thrownSync(() => new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', get wrappingKey() { return boom(); } }), 'bad_argument');
  thrownSync(() => new RawAesKeyring(hostile), 'bad_argument');
  thrownSync(() => new RawRsaKeyring({ keyNamespace: 'a', keyName: 'b', get padding() { return boom(); } }), 'bad_argument');
  thrownSync(() => new MultiKeyring({ children: new Proxy([aes], { get: (t, p) => (p === 'length' ? 1 : boom()) }) }), 'bad_argument');
  thrownSync(() => new MultiKeyring({ generator: { get onEncrypt() { return boom(); }, onDecrypt() {} } }), 'bad_argument');
  thrownSync(() => new RequiredEncryptionContextMaterialsManager({ keyring: aes, get requiredEncryptionContextKeys() { return boom(); } }), 'bad_argument');
  thrownSync(() => encryptStream({ keyring: aes, get encryptionContext() { return boom(); } }), 'bad_argument');
  thrownSync(() => encryptStream({ keyring: aes, encryptionContext: new Proxy({}, { ownKeys: boom }) }), 'bad_argument');
  thrownSync(() => decryptStream(hostile), 'bad_argument');
  // A Proxy whose every trap throws, even the one instanceof asks.
  const opaque = new Proxy({}, { get: boom, getPrototypeOf: boom });
  thrownSync(() => new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: opaque }), 'bad_argument');
  thrownSync(() => encryptStream({ keyring: opaque }), 'bad_argument');
  thrownSync(() => new MultiKeyring({ generator: opaque }), 'bad_argument');
  // Each option is read once: a getter cannot change its answer mid-call.
  let reads = 0;
  const stream = encryptStream({ get keyring() { reads++; return aes; } });
  assert.ok(stream instanceof TransformStream);
  assert.equal(reads, 1);
});

test('multi-keyrings nest 64 keyrings deep at most', async () => {
  let keyring = aes;
  for (let depth = 2; depth <= 64; depth++) keyring = new MultiKeyring({ generator: keyring });
  const ct = await encrypt(bytesOf('deep'), { keyring });
  assert.deepEqual((await decrypt(ct, { keyring })).plaintext, bytesOf('deep'));
  assert.throws(() => new MultiKeyring({ children: [keyring] }), (e) => e.code === 'bad_argument' && /nest at most 64/.test(e.message));
});
