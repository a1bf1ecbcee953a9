// Node entry point: loads the WebAssembly module synchronously from the
// package directory, routes AES-GCM, SHA-2 and ECDSA to node:crypto, then
// exposes the API.
import { openSync, read, readFileSync } from 'node:fs';
import {
  createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, createSecretKey,
  createSign, createVerify, generateKeyPair, generateKeyPairSync, randomFill, verify as verifySignature,
} from 'node:crypto';
import { initSync, setHostAead, setHostEcdsa, setHostHash } from '../dist/kms_envelope_wasm.js';
import { setBulk } from './external.js';
import { hashOffThread } from './hash-thread.js';
import { loaded } from './ready.js';
import { ErrorCode, KmsEnvelopeError, encrypt as encryptOnce } from './api.js';

initSync({ module: readFileSync(new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url)) });

const CIPHERS = { 16: 'aes-128-gcm', 24: 'aes-192-gcm', 32: 'aes-256-gcm' };

/** AES-GCM seal with node:crypto: `[ciphertext, tag]`. */
function sealGcm(cipher, key, iv, aad, plaintext) {
  const c = createCipheriv(cipher, key, iv);
  c.setAAD(aad);
  const ciphertext = c.update(plaintext);
  c.final();
  return [ciphertext, c.getAuthTag()];
}

/** AES-GCM open with node:crypto: the plaintext, or null (wiped) when the tag fails. */
function openGcm(cipher, key, iv, aad, ciphertext, tag) {
  const d = createDecipheriv(cipher, key, iv);
  d.setAAD(aad);
  d.setAuthTag(tag);
  const plaintext = d.update(ciphertext);
  try {
    d.final();
  } catch {
    plaintext.fill(0);
    return null;
  }
  return plaintext;
}

// Synchronous AES-GCM for the core's host-crypto hook (bindings/wasm/src/host.rs):
// the core keeps the format, keys and nonces; only the block cipher work
// moves here. `data` is a view into wasm memory, rewritten in place.
const nodeAead = {
  seal(key, iv, aad, data) {
    const [ciphertext, tag] = sealGcm(CIPHERS[key.length], key, iv, aad, data);
    data.set(ciphertext);
    return tag;
  },
  open(key, iv, aad, data, tag) {
    const plaintext = openGcm(CIPHERS[key.length], key, iv, aad, data, tag);
    if (!plaintext) return false;
    data.set(plaintext);
    plaintext.fill(0); // a data key when a raw AES keyring unwraps
    return true;
  },
};

// Large one-shot messages (src/external.js): each frame sealed or opened by
// node:crypto straight from the caller's buffer into the result, never
// through wasm memory. A signed message is checked whole by node:crypto on
// libuv's pool while its frames open. node:crypto cannot sign a digest, so
// sealed messages are signed in wasm over createHash's digest (about 10 ms
// of P-384, against about 1.5 ms here): worth it only for large messages.
// Results from this size on are warmed up (nodeBulk.warm). Smaller ones
// mostly come from memory malloc already has mapped (glibc raises its mmap
// threshold up to 32 MiB as blocks are freed), and there the pool job cost
// more than it saved (measured from 1 to 8 MiB; even at 16 MiB; 1.3 to 1.7
// times faster from 32 MiB).
const WARM_MIN_BYTES = 16 << 20;
// The most randomFill writes at once, and the most Linux reads at once.
const MAX_RANDOM_FILL = 2 ** 31 - 1;
const MAX_READ = 0x7ffff000;

/**
 * How the warm-up touches pages: reading /dev/zero into them (the kernel
 * clears them as it maps them: 13 ms for 32 MiB here), or where there is
 * none, randomFill (21 ms: it makes the bytes too). The faster toucher takes
 * more of the result (the main thread opens the first 35% while the pool
 * maps the rest: 6 to 15% faster at 64 MiB than randomFill over the second
 * half, which is the best split for randomFill).
 */
const toucher = {
  fd: undefined,
  /** Where in a result of `length` bytes the warm-up starts. */
  from(length) {
    return Math.floor(length * (this.zero() === null ? 0.5 : 0.35));
  },
  /** /dev/zero, opened once (close-on-exec, as Node opens files), or null. */
  zero() {
    if (this.fd === undefined) {
      try {
        this.fd = openSync('/dev/zero', 'r');
      } catch {
        this.fd = null;
      }
    }
    return this.fd;
  },
  /** Touches `out[at..]` on libuv's pool; `done` is called once, error or not. */
  touch(out, at, done) {
    const fd = this.zero();
    if (fd !== null) read(fd, out, at, Math.min(out.length - at, MAX_READ), null, () => done());
    else randomFill(out, at, Math.min(out.length - at, MAX_RANDOM_FILL), () => done());
  },
};

const nodeBulk = {
  minBytes: 1 << 20,
  minSignedSealBytes: 16 << 20,
  keyLengths: [16, 24, 32],
  importKey(raw) {
    return { key: createSecretKey(raw), cipher: CIPHERS[raw.length] };
  },
  sealInto({ key, cipher }, iv, aad, plaintext, out, at) {
    const [ciphertext, tag] = sealGcm(cipher, key, iv, aad, plaintext);
    out.set(ciphertext, at);
    out.set(tag, at + plaintext.length);
  },
  openInto({ key, cipher }, iv, aad, sealed, out, at) {
    const len = sealed.length - 16;
    const plaintext = openGcm(cipher, key, iv, aad, sealed.subarray(0, len), sealed.subarray(len));
    if (!plaintext) return false;
    // Not wiped: a frame of the plaintext the caller is about to get, and a
    // second pass over every byte of a large message (about 7% of its time).
    out.set(plaintext, at);
    return true;
  },
  digest(name, data) {
    return createHash(HASHES[name]).update(data).digest();
  },
  /** The signature hash of a large message, on a worker thread beside the frames (hash-thread.js). */
  hasher(name) {
    try {
      return hashOffThread(HASHES[name]);
    } catch {
      // No worker thread (yet, or here): the main thread hashes each frame
      // as it goes.
      return nodeHash.start(HASHES[name]);
    }
  },
  /**
   * A fresh result's pages are mapped by the kernel on first write, which
   * here costs about as much as the AES-GCM: libuv's pool writes throwaway
   * bytes over the tail of `out` (so maps it, on the other core; see
   * `toucher`) while the main thread seals or opens the frames before it.
   * external.js writes nothing there until `done`.
   */
  warm(out) {
    if (out.length < WARM_MIN_BYTES) return null;
    const at = toucher.from(out.length);
    return {
      at,
      // Never rejects: a warm-up that cannot run just leaves the pages cold.
      done: new Promise((resolve) => {
        try {
          toucher.touch(out, at, resolve);
        } catch {
          resolve();
        }
      }),
    };
  },
  ecdsa: {
    // crypto.verify copies what it checks: past this, the message is hashed
    // on the hash thread instead (bounded memory, same speed measured at
    // 64 MiB) and the core checks the signature over that digest.
    maxVerifyBytes: 16 << 20,
    /**
     * Checks `check` (Opening.hostCheck()) over the signed bytes on libuv's
     * pool, hash and all, while the main thread opens the frames; rejects
     * for a curve or key node:crypto does not take (the core then checks).
     */
    verify({ curve, hash, publicKey, signature }, bytes) {
      return new Promise((resolve, reject) => {
        const ec = EC[curve];
        if (!ec || !HASHES[hash]) throw new Error(`no host check for ${curve} / ${hash}`);
        const key = createPublicKey({ key: Buffer.concat([ec.spkiUncompressed, publicKey]), format: 'der', type: 'spki' });
        verifySignature(HASHES[hash], bytes, { key, dsaEncoding: 'ieee-p1363' }, signature, (err, valid) => {
          if (err) reject(err);
          else resolve(valid);
        });
      });
    },
  },
};

// The core's standard hash names (src/external/mod.rs) as node:crypto's.
const HASHES = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

// Incremental SHA-2 for the same hook: above all the signature hash of a
// signed message, which sees every byte of it.
const nodeHash = {
  start(name) {
    const h = createHash(name);
    return {
      update(data) { h.update(data); },
      finish() { return h.digest(); },
    };
  },
};

// ECDSA for the same hook. node:crypto cannot sign a digest, only a message
// it hashes itself, so the core streams every signed byte to a Sign or
// Verify object (the curve's hash: SHA-256 for P-256, SHA-384 for P-384).
const EC = {
  // `spki` / `spkiUncompressed`: the DER SubjectPublicKeyInfo up to the
  // compressed / uncompressed point, so a key is read without a JWK round
  // trip (a third of the time).
  'P-256': {
    hash: 'sha256',
    spki: Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
    spkiUncompressed: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  },
  'P-384': {
    hash: 'sha384',
    spki: Buffer.from('3046301006072a8648ce3d020106052b81040022033200', 'hex'),
    spkiUncompressed: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
  },
};

// Signing keys are ephemeral, one per message, and a P-384 key pair takes
// about as long to make as a signature: a few are made ahead on libuv's
// thread pool (another core) while messages are encrypted, so making one is
// off the critical path. Each key is handed out once; with the pool empty a
// key is made on the spot.
//
// In Node 20 a key from generateKeyPair / generateKeyPairSync shares a lock
// with the job that made it, and when that job is garbage-collected while
// the main thread holds the lock (exporting or signing with the key, which
// allocates), its destructor waits on the lock for ever (reproduced: 20,000
// generateKeyPairSync + export + sign under GC pressure hang within
// seconds). So a pooled key keeps its job alive for as long as the key is
// in use (the callback's `this`), and keys made on the spot come out of
// generateKeyPairSync as DER, imported into key objects of their own.
const POOL_SIZE = 2;

/** A key pair made on the main thread, sharing nothing with its job. */
function keyPairNow(curve) {
  const { privateKey: der } = generateKeyPairSync('ec', {
    namedCurve: curve,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return { privateKey, publicKey: createPublicKey(privateKey), job: null };
  } finally {
    der.fill(0);
  }
}

/** `value`, with `job` referenced up to here (kept alive till then). */
function keepAlive(job, value) {
  keepAlive.last = job;
  keepAlive.last = null;
  return value;
}

const keyPool = {
  ready: { 'P-256': [], 'P-384': [] },
  making: { 'P-256': 0, 'P-384': 0 },
  take(curve) {
    const key = this.ready[curve].pop() ?? keyPairNow(curve);
    this.refill(curve);
    return key;
  },
  refill(curve) {
    while (this.ready[curve].length + this.making[curve] < POOL_SIZE) {
      this.making[curve]++;
      const pool = this;
      generateKeyPair('ec', { namedCurve: curve }, function made(err, publicKey, privateKey) {
        pool.making[curve]--;
        // `this` is the job: kept with its keys (see above).
        if (!err && host) pool.ready[curve].push({ publicKey, privateKey, job: this });
      });
    }
  },
  /** Whether keys are being made: the event loop must turn to receive them. */
  get busy() {
    return this.making['P-256'] + this.making['P-384'] > 0;
  },
  clear() {
    this.ready['P-256'].length = 0;
    this.ready['P-384'].length = 0;
  },
};

const nodeEcdsa = {
  generate(curve) {
    const ec = EC[curve];
    if (!ec) return null;
    const { privateKey, publicKey, job } = keyPool.take(curve);
    const { x, y } = publicKey.export({ format: 'jwk' });
    const yBytes = Buffer.from(y, 'base64url');
    const point = Buffer.concat([Buffer.of(2 | (yBytes[yBytes.length - 1] & 1)), Buffer.from(x, 'base64url')]);
    return {
      publicKey: new Uint8Array(point),
      start() {
        const s = createSign(ec.hash);
        return {
          update(data) { s.update(data); },
          finish() { return keepAlive(job, s.sign(privateKey)); },
        };
      },
    };
  },
  verifyingKey(curve, point) {
    const ec = EC[curve];
    if (!ec) return null;
    // Throws for a point that is not on the curve; the core then refuses
    // the key with its own check.
    const key = createPublicKey({ key: Buffer.concat([ec.spki, point]), format: 'der', type: 'spki' });
    return {
      start() {
        const v = createVerify(ec.hash);
        return {
          update(data) { v.update(data); },
          verify(der) { return v.verify(key, der); },
        };
      },
    };
  },
};

let host = true;
setHostAead(nodeAead);
setHostHash(nodeHash);
setHostEcdsa(nodeEcdsa);
setBulk(nodeBulk);
// This entry's hosts are installed (over src/slim.js's, if it loaded first).
loaded(hostCrypto);

/**
 * Whether AES-GCM, SHA-2 and ECDSA run on node:crypto (default) or in wasm;
 * either reads the other's messages. Returns the setting in force.
 */
export function hostCrypto(enabled) {
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw new KmsEnvelopeError(`bad argument: hostCrypto takes true or false, got ${typeof enabled}`, ErrorCode.BAD_ARGUMENT);
  }
  if (enabled !== undefined) {
    host = enabled;
    setHostAead(host ? nodeAead : null);
    setHostHash(host ? nodeHash : null);
    setHostEcdsa(host ? nodeEcdsa : null);
    setBulk(host ? nodeBulk : null);
    if (!host) keyPool.clear();
  }
  return host;
}

export * from './api.js';

/**
 * Encrypts `plaintext` into one message (see api.js). In Node, when signing
 * keys are being made ahead (above), the event loop turns once first so they
 * arrive: a chain of awaited calls would otherwise never let them in.
 * @returns {Promise<Uint8Array>}
 */
export async function encrypt(plaintext, opts) {
  if (keyPool.busy) await new Promise((resolve) => setImmediate(resolve));
  return encryptOnce(plaintext, opts);
}
