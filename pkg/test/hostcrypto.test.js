// AES-GCM and SHA-2 on node:crypto (the core's host-crypto hooks) and in
// wasm give the same messages: each reads the other's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { encrypt, decrypt, hostCrypto, RawAesKeyring, cryptoBackend } from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith, policyFor, keyPair } from './helpers.js';
// The package's own wasm module instance (the entry point imports this file).
import { setHostEcdsa, setHostHash } from '../dist/kms_envelope_wasm.js';
import { createSign, createVerify, createPublicKey, ECDH } from 'node:crypto';

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
    // With ECDSA in wasm, the host hash is the signature's hash.
    setHostEcdsa(null);
    for (const hook of [zeros, throwing, short]) {
      setHostHash(hook);
      await rejectsWith(decrypt(good, opts), 'authentication_failed');
      if (hook === zeros) {
        const signedWithZeros = await encrypt(pt, opts);
        hostCrypto(true);
        await rejectsWith(decrypt(signedWithZeros, opts), 'authentication_failed');
        setHostEcdsa(null);
      } else {
        await assert.rejects(encrypt(pt, opts), (e) => e.code === 'bad_argument' && /ECDSA signing failed/.test(e.message));
      }
    }
  } finally {
    hostCrypto(true);
  }
  assert.deepEqual((await decrypt(good, opts)).plaintext, pt);
});

// A P-384 host ECDSA on node:crypto, as the package's own, that counts its
// calls and can be told to misbehave.
function countingEcdsa({ signThrows = false, verifyFalse = false, verifyingKeyThrows = false } = {}) {
  const calls = { generate: 0, sign: 0, verify: 0 };
  const ecdsa = {
    generate(curve) {
      if (curve !== 'P-384') return null;
      calls.generate++;
      const { privateKey, publicKey } = keyPair('ec', { namedCurve: curve });
      const { x, y } = publicKey.export({ format: 'jwk' });
      const yb = Buffer.from(y, 'base64url');
      return {
        publicKey: new Uint8Array(Buffer.concat([Buffer.of(2 | (yb[yb.length - 1] & 1)), Buffer.from(x, 'base64url')])),
        start() {
          const s = createSign('sha384');
          return {
            update(d) { s.update(d); },
            finish() { calls.sign++; if (signThrows) throw new Error('host signing failed'); return s.sign(privateKey); },
          };
        },
      };
    },
    verifyingKey(curve, point) {
      if (verifyingKeyThrows) throw new Error('host cannot read keys');
      if (curve !== 'P-384') return null;
      const raw = ECDH.convertKey(point, 'secp384r1', undefined, undefined, 'uncompressed');
      const key = createPublicKey({
        key: { kty: 'EC', crv: curve, x: raw.subarray(1, 49).toString('base64url'), y: raw.subarray(49).toString('base64url') },
        format: 'jwk',
      });
      return {
        start() {
          const v = createVerify('sha384');
          return {
            update(d) { v.update(d); },
            verify(der) { calls.verify++; return !verifyFalse && v.verify(key, der); },
          };
        },
      };
    },
  };
  return { ecdsa, calls };
}

test('host ECDSA signs and verifies on node:crypto; wasm reads its messages and it reads wasm\'s', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  const opts = { keyring };
  try {
    for (const len of [0, 1024, 300000]) {
      const pt = bytesOf(len, 7);
      const { ecdsa, calls } = countingEcdsa();
      setHostEcdsa(ecdsa);
      const byHost = await encrypt(pt, opts);
      assert.deepEqual(calls, { generate: 1, sign: 1, verify: 0 });
      assert.deepEqual((await decrypt(byHost, opts)).plaintext, pt);
      assert.equal(calls.verify, 1);
      setHostEcdsa(null);
      assert.deepEqual((await decrypt(byHost, opts)).plaintext, pt);
      const byWasm = await encrypt(pt, opts);
      setHostEcdsa(ecdsa);
      assert.deepEqual((await decrypt(byWasm, opts)).plaintext, pt);
      assert.equal(calls.verify, 2);
      // A changed byte anywhere before the footer fails the host's check.
      const bad = byWasm.slice(); bad[bad.length - 110] ^= 1;
      await rejectsWith(decrypt(bad, opts), 'authentication_failed');
    }
    // P-256 (0x0214) is declined by this host: wasm signs it.
    const { ecdsa, calls } = countingEcdsa();
    setHostEcdsa(ecdsa);
    const p256 = await encrypt(bytesOf(100, 1), { keyring, algorithmSuite: 0x0214, commitmentPolicy: policyFor(0x0214) });
    assert.equal(calls.generate, 0);
    assert.equal((await decrypt(p256, { keyring, commitmentPolicy: policyFor(0x0214) })).plaintext.length, 100);
  } finally {
    hostCrypto(true);
  }
});

test('a failing host ECDSA fails closed; a host that cannot read a key leaves it to wasm', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });
  const opts = { keyring };
  const pt = bytesOf(5000, 9);
  const good = await encrypt(pt, opts);
  try {
    setHostEcdsa(countingEcdsa({ signThrows: true }).ecdsa);
    await assert.rejects(encrypt(pt, opts), (e) => e.code === 'bad_argument' && /ECDSA signing failed/.test(e.message));
    setHostEcdsa(countingEcdsa({ verifyFalse: true }).ecdsa);
    await rejectsWith(decrypt(good, opts), 'authentication_failed');
    const { ecdsa, calls } = countingEcdsa({ verifyingKeyThrows: true });
    setHostEcdsa(ecdsa);
    assert.deepEqual((await decrypt(good, opts)).plaintext, pt);
    assert.equal(calls.verify, 0);
  } finally {
    hostCrypto(true);
  }
});

test('signing keys made ahead on the thread pool are each used once, also under concurrency', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'pool', wrappingKey: aesKey() });
  const pt = bytesOf(100, 7);
  const messages = [];
  for (let i = 0; i < 12; i++) messages.push(await encrypt(pt, { keyring }));
  messages.push(...await Promise.all(Array.from({ length: 12 }, () => encrypt(pt, { keyring }))));
  for (const suite of [0x0214, 0x0346]) {
    messages.push(...await Promise.all(Array.from({ length: 4 }, () => encrypt(pt, { keyring, algorithmSuite: suite, commitmentPolicy: policyFor(suite) }))));
  }
  const publicKeys = new Set();
  for (const ct of messages) {
    const out = await decrypt(ct, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
    assert.deepEqual(out.plaintext, pt);
    publicKeys.add(out.encryptionContext['aws-crypto-public-key']);
  }
  assert.equal(publicKeys.size, messages.length, 'a signing key was used twice');
});

test('signing keys made on the spot never deadlock Node 20 under GC pressure', async () => {
  // api.js's encrypt, awaited in a loop, never lets the event loop turn, so
  // the key pool stays empty and every message makes its key on the spot.
  // Keys straight from generateKeyPairSync could hang the process in Node 20
  // (the job's destructor, run by the GC, waits on the key's lock held by an
  // export or a signature); src/node.js imports them as DER instead.
  const { execFile } = await import('node:child_process');
  const script = `
    import { RawAesKeyring } from 'kms-envelope';
    import { encrypt } from '${new URL('../src/api.js', import.meta.url).href}';
    const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: new Uint8Array(32).fill(1) });
    for (let i = 0; i < 8000; i++) await encrypt(new Uint8Array(16), { keyring, algorithmSuite: 0x0578 });
    console.log('done');
  `;
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script],
      { cwd: new URL('..', import.meta.url), timeout: 60_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout)));
  });
  assert.match(out, /done/);
});
