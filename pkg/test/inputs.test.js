// Inputs that are not what they seem: buffers that change or vanish during a
// call, objects of another realm, strings that are not valid Unicode, and the
// extremes of the documented ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import {
  encrypt, decrypt, hostCrypto, RawAesKeyring, RequiredEncryptionContextMaterialsManager, AwsKmsKeyring, AwsKmsDiscoveryKeyring,
  KmsEnvelopeError,
} from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith } from './helpers.js';

const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
const rejects = (p, code) => rejectsWith(p, code, KmsEnvelopeError);

test('a resizable plaintext that shrinks while the keyring runs: the message holds what was passed', async () => {
  for (const host of [true, false]) {
    hostCrypto(host);
    try {
      for (const n of [3000, 2 << 20]) {
        const expected = bytesOf(n);
        const buffer = new ArrayBuffer(n, { maxByteLength: n });
        new Uint8Array(buffer).set(expected);
        for (const plaintext of [new Uint8Array(buffer), buffer]) {
          buffer.resize(n);
          new Uint8Array(buffer).set(expected);
          const keyring = {
            async onEncrypt(materials) {
              await new Promise((r) => setTimeout(r, 1));
              buffer.resize(n >> 1); // as any other task may, while KMS answers
              const key = new Uint8Array(32).fill(7);
              return { plaintextDataKey: key, encryptedDataKeys: [{ providerId: 'p', providerInfo: new Uint8Array(1), ciphertext: key }] };
            },
            async onDecrypt(materials, edks) {
              return { plaintextDataKey: edks[0].ciphertext };
            },
          };
          const ct = await encrypt(plaintext, { keyring, algorithmSuite: 0x0478 });
          const back = await decrypt(ct, { keyring });
          assert.deepEqual(back.plaintext, expected, `host ${host}, ${n} bytes`);
        }
      }
    } finally {
      hostCrypto(true);
    }
  }
});

test('a plaintext transferred while a large encrypt waits for its keyring: a clear bad_argument', async () => {
  const plaintext = bytesOf(2 << 20);
  const keyring = {
    async onEncrypt(materials) {
      await new Promise((r) => setTimeout(r, 1));
      structuredClone(plaintext.buffer, { transfer: [plaintext.buffer] });
      const key = new Uint8Array(32).fill(7);
      return { plaintextDataKey: key, encryptedDataKeys: [{ providerId: 'p', providerInfo: new Uint8Array(1), ciphertext: key }] };
    },
    async onDecrypt() {
      return null;
    },
  };
  await assert.rejects(encrypt(plaintext, { keyring, algorithmSuite: 0x0478 }), (e) => {
    assert.equal(e.code, 'bad_argument');
    assert.match(e.message, /plaintext changed while it was being encrypted/);
    return true;
  });
});

test('a ciphertext transferred while a large decrypt waits for its keyring: a clear bad_argument', async () => {
  const expected = bytesOf(2 << 20);
  const key = new Uint8Array(32).fill(7);
  const keyring = {
    async onEncrypt() {
      return { plaintextDataKey: key, encryptedDataKeys: [{ providerId: 'p', providerInfo: new Uint8Array(1), ciphertext: key }] };
    },
    async onDecrypt() {
      await new Promise((r) => setTimeout(r, 1));
      structuredClone(ct.buffer, { transfer: [ct.buffer] });
      return { plaintextDataKey: key };
    },
  };
  const ct = await encrypt(expected, { keyring, algorithmSuite: 0x0478 });
  await assert.rejects(decrypt(ct, { keyring }), (e) => {
    assert.equal(e.code, 'bad_argument');
    assert.match(e.message, /ciphertext changed while it was being decrypted/);
    return true;
  });
});

test('byte arrays, Maps and data keys of another realm (vm, iframes) are taken', async () => {
  const other = vm.runInNewContext(`({
    bytes: new Uint8Array([104, 105]),
    context: new Map([['purpose', 'realm']]),
    key: new Uint8Array(32).fill(9),
    buffer: new Uint8Array([1, 2, 3]).buffer,
    words: new Uint16Array(2),
  })`);
  assert.ok(!(other.bytes instanceof Uint8Array), 'really another realm');
  const ct = await encrypt(other.bytes, { keyring: aes, encryptionContext: other.context });
  const back = await decrypt(ct, { keyring: aes });
  assert.equal(new TextDecoder().decode(back.plaintext), 'hi');
  assert.equal(back.encryptionContext.purpose, 'realm');
  assert.deepEqual((await decrypt(await encrypt(other.buffer, { keyring: aes }), { keyring: aes })).plaintext, new Uint8Array([1, 2, 3]));
  const keyring = {
    async onEncrypt() {
      return { plaintextDataKey: other.key, encryptedDataKeys: [{ providerId: 'p', providerInfo: other.bytes, ciphertext: other.key }] };
    },
    async onDecrypt(materials, edks) {
      return { plaintextDataKey: vm.runInNewContext('new Uint8Array(32).fill(9)') };
    },
  };
  const sealed = await encrypt(new Uint8Array([5]), { keyring, algorithmSuite: 0x0478 });
  assert.deepEqual((await decrypt(sealed, { keyring })).plaintext, new Uint8Array([5]));
  // Still only byte arrays: another realm's Uint16Array is refused.
  await rejects(encrypt(other.words, { keyring: aes }), 'bad_argument');
  await rejects(encrypt(new DataView(new ArrayBuffer(2)), { keyring: aes }), 'bad_argument');
});

test('lone surrogates are refused in every string list', () => {
  const lone = '\ud800';
  const threw = (fn) => assert.throws(fn, (e) => e instanceof KmsEnvelopeError && e.code === 'bad_argument' && /lone surrogate/.test(e.message));
  threw(() => new RequiredEncryptionContextMaterialsManager({ keyring: aes, requiredEncryptionContextKeys: [lone] }));
  const client = { send: async () => ({}) };
  threw(() => new AwsKmsKeyring({ client, keyId: 'arn:aws:kms:us-east-1:111122223333:key/k', grantTokens: [lone] }));
  threw(() => new AwsKmsDiscoveryKeyring({ client, discoveryFilter: { partition: 'aws', accountIds: [lone] } }));
});

test('string lists read through a Proxy that throws, or a revoked one: bad_argument, read once', () => {
  const threw = (fn, what) => assert.throws(fn, (e) => e instanceof KmsEnvelopeError && e.code === 'bad_argument' && e.message.includes(what));
  const throwing = () => new Proxy(['a'], { get() { throw new Error('trap'); } });
  const revoked = () => {
    const r = Proxy.revocable(['a'], {});
    r.revoke();
    return r.proxy;
  };
  const client = { send: async () => ({}) };
  const keyId = 'arn:aws:kms:us-east-1:111122223333:key/k';
  for (const list of [throwing, revoked]) {
    threw(() => new RequiredEncryptionContextMaterialsManager({ keyring: aes, requiredEncryptionContextKeys: list() }), 'requiredEncryptionContextKeys');
    threw(() => new AwsKmsKeyring({ client, keyId, grantTokens: list() }), 'grantTokens');
    threw(() => new AwsKmsDiscoveryKeyring({ client, discoveryFilter: { partition: 'aws', accountIds: list() } }), 'accountIds');
  }
  // A client whose probing throws (an instrumentation Proxy).
  const probed = { send: async () => ({}), get middlewareStack() { throw new Error('getter'); } };
  threw(() => new AwsKmsKeyring({ client: probed, keyId }), 'client');
  // Read once: a list whose getter answers differently the second time
  // keeps the first answer everywhere.
  let reads = 0;
  const shifty = new Proxy(['tenant'], { get(t, p) { if (p === '0') reads += 1; return p === '0' && reads > 1 ? 'other' : t[p]; } });
  const cmm = new RequiredEncryptionContextMaterialsManager({ keyring: aes, requiredEncryptionContextKeys: shifty });
  assert.deepEqual(cmm.requiredEncryptionContextKeys, ['tenant']);
  assert.equal(reads, 1);
});

test('one-shot encrypt takes the whole frame length range', async () => {
  // Sizes were computed in 32 bits on wasm32: past 2^32 - 33 the body
  // length overflowed (a refusal), and at 2^32 - 32 a frame's size wrapped
  // to 0 and the module trapped, ending the Node process.
  for (const algorithmSuite of [0x0478, 0x0578]) {
    for (const frameLength of [2 ** 32 - 1, 2 ** 32 - 32, 2 ** 32 - 33, 2 ** 31]) {
      for (const n of [0, 10, 2000]) {
        const ct = await encrypt(bytesOf(n), { keyring: aes, frameLength, algorithmSuite });
        assert.deepEqual((await decrypt(ct, { keyring: aes })).plaintext, bytesOf(n), `frameLength ${frameLength}, ${n} bytes`);
      }
    }
  }
});
