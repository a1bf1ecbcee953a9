// Shared test helpers: keys, suites and an error assertion.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

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
