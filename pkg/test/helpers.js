// Shared test helpers: keys, suites and an error assertion.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

export const SUITES = [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378, 0x0478, 0x0578];
export const COMMITTING = new Set([0x0478, 0x0578]);
export const SIGNED = new Set([0x0214, 0x0346, 0x0378, 0x0578]);

/** Options that let a suite be written and read. */
export function policyFor(suite) {
  return COMMITTING.has(suite) ? 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT' : 'FORBID_ENCRYPT_ALLOW_DECRYPT';
}

export const aesKey = (bits = 256) => new Uint8Array(randomBytes(bits / 8));

let rsa;
/** One 2048-bit RSA key pair per test process, PEM. */
export function rsaPair() {
  rsa ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return rsa;
}

/** Asserts that `promise` rejects with a KmsEnvelopeError of `code`. */
export async function rejectsWith(promise, code, KmsEnvelopeError) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    if (KmsEnvelopeError) assert.ok(e instanceof KmsEnvelopeError, 'not a KmsEnvelopeError');
    assert.equal(e.code, code, `expected code ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}

export function bytesOf(n, seed = 1) {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
  return b;
}

/**
 * `base` (Node's bulk host) plus the stream hooks browsers have on
 * WebCrypto, `seal` and `open`, here on node:crypto: each frame finishes
 * after a random delay, so frames finish out of order. `fail(n)` /
 * `failOpen(n)` make the n-th seal / open throw. Counts every seal in
 * `streamingHost.sealed`, every open in `host.opens`, and the most
 * plaintext being sealed at once in `host.peakSealing`.
 */
export function streamingHost(base, { fail = () => false, failOpen = () => false } = {}) {
  let opens = 0;
  let sealing = 0;
  const delay = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
  const host = {
    ...base,
    minBytes: 0,
    peakSealing: 0,
    opens: 0,
    async open({ key, cipher }, iv, aad, sealed) {
      host.opens++;
      const d = createDecipheriv(cipher, key, iv.slice());
      d.setAAD(aad.slice());
      const n = sealed.length - 16;
      d.setAuthTag(sealed.slice(n));
      const plaintext = d.update(sealed.subarray(0, n));
      let ok = true;
      try {
        d.final();
      } catch {
        ok = false;
      }
      await delay();
      if (failOpen(++opens)) throw new Error('the host failed');
      return ok ? new Uint8Array(plaintext) : null;
    },
    async seal({ key, cipher }, iv, aad, plaintext) {
      sealing += plaintext.length;
      host.peakSealing = Math.max(host.peakSealing, sealing);
      const c = createCipheriv(cipher, key, iv.slice());
      c.setAAD(aad.slice());
      const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
      const n = ++streamingHost.sealed;
      await delay();
      sealing -= plaintext.length;
      if (fail(n)) throw new Error('the host failed');
      return new Uint8Array(out);
    },
  };
  return host;
}
streamingHost.sealed = 0;

/**
 * A key pair as KeyObjects that share nothing with the key-generation job:
 * Node 20 can deadlock when such a job is garbage-collected while its key
 * is being exported or used (see src/node.js, keyPool).
 */
export function keyPair(type, options) {
  const { privateKey } = generateKeyPairSync(type, {
    ...options,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const key = createPrivateKey(privateKey);
  return { privateKey: key, publicKey: createPublicKey(key) };
}
