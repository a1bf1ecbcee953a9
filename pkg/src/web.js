// WebCrypto as the host crypto of the browser entry points (src/browser.js,
// src/slim.js), switched on by useWebCrypto() once the WebAssembly module is
// instantiated.
import { setHostEcdsa } from '../dist/kms_envelope_wasm.js';
import { setBulk } from './external.js';
import { ErrorCode, KmsEnvelopeError } from './api.js';
import { wasmState } from './ready.js';

const subtle = globalThis.crypto?.subtle;

// One-shot messages (src/external.js): every frame sealed or opened by
// WebCrypto's AES-GCM, all frames of a batch at once. Unsigned messages from
// 1 KiB (measured in Chromium: at 512 bytes wasm is still 10-30% faster, at
// 1 KiB WebCrypto by 10-20%, at 2 KiB by 60-80%); signed ones at any size, as their ECDSA P-384 runs on WebCrypto:
// up to 1 MiB a key pair made here signs the whole message, and beyond that
// (where signing again to reach a fixed length would hash it twice) the core
// signs WebCrypto's digest with a key made in wasm. Signatures are checked
// here. WebCrypto exists in secure contexts only (https, localhost).
const POOL_SIZE = 2;
const pool = { 'P-256': [], 'P-384': [] };

/**
 * A P-256 / P-384 key pair and its raw public point; a failure resolves to
 * null (a key made ahead may never be used), unless `fail`.
 */
function makeKeyPair(curve, fail = false) {
  const made = (async () => {
    const { privateKey, publicKey } = await subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, false, ['sign', 'verify']);
    return { privateKey, raw: new Uint8Array(await subtle.exportKey('raw', publicKey)) };
  })();
  return fail ? made : made.catch(() => null);
}

const webBulk = subtle && {
  minBytes: 1024,
  minSignedSealBytes: 0,
  // Chromium's WebCrypto has no AES-192 (suites 0x0046, 0x0146, 0x0346).
  keyLengths: [16, 32],
  importKey(raw) {
    return subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  },
  /** Ciphertext ‖ tag (src/host-stream.js); WebCrypto copies `plaintext` before it returns. */
  async seal(key, iv, aad, plaintext) {
    return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, key, plaintext));
  },
  async sealInto(key, iv, aad, plaintext, out, at) {
    out.set(await this.seal(key, iv, aad, plaintext), at);
  },
  /** The plaintext, or null when the tag does not verify (src/host-stream.js). */
  async open(key, iv, aad, sealed) {
    try {
      return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, key, sealed));
    } catch (e) {
      // WebCrypto reports a tag that fails as an OperationError; anything
      // else (a buffer it refuses) is not evidence of tampering.
      if (e?.name === 'OperationError') return null;
      throw e;
    }
  },
  async openInto(key, iv, aad, sealed, out, at) {
    const plaintext = await this.open(key, iv, aad, sealed);
    if (!plaintext) return false;
    out.set(plaintext, at);
    return true;
  },
  async digest(name, data) {
    return new Uint8Array(await subtle.digest(name, data));
  },
  ecdsa: {
    maxSignBytes: 1 << 20,
    /** A key pair for one message, in the shape bindings/wasm/src/host.rs reads. */
    async generate(curve) {
      const hash = curve === 'P-256' ? 'SHA-256' : 'SHA-384';
      const made = pool[curve];
      const next = made.length ? made.shift() : makeKeyPair(curve);
      // Key pairs are made ahead, on WebCrypto's thread, while this message
      // is encrypted; each is handed out once.
      while (made.length < POOL_SIZE) made.push(makeKeyPair(curve));
      const { privateKey, raw } = (await next) ?? (await makeKeyPair(curve, true));
      // 0x04 ‖ x ‖ y, compressed to 0x02/0x03 (the parity of y) ‖ x for the context.
      const half = (raw.length - 1) / 2;
      const point = new Uint8Array(half + 1);
      point[0] = 2 | (raw[raw.length - 1] & 1);
      point.set(raw.subarray(1, 1 + half), 1);
      return {
        curve,
        publicKey: point,
        format: 'p1363',
        async sign(bytes) {
          return new Uint8Array(await subtle.sign({ name: 'ECDSA', hash }, privateKey, bytes));
        },
        start() {
          throw new Error('a WebCrypto key signs whole messages only');
        },
      };
    },
    /** Checks `check` (Opening.hostCheck()) over `bytes`. */
    async verify(check, bytes) {
      const key = await subtle.importKey('raw', check.publicKey, { name: 'ECDSA', namedCurve: check.curve }, false, ['verify']);
      return subtle.verify({ name: 'ECDSA', hash: check.hash }, key, check.signature, bytes);
    },
  },
};

// The core asks the host for ECDSA keys; only those JS made for a call are
// given (bindings/wasm/src/host.rs), the rest are made in wasm.
const noKeys = { generate: () => null, verifyingKey: () => null };

let host = Boolean(webBulk);

/** Routes AES-GCM and ECDSA to WebCrypto where it exists; called once the module is instantiated. */
export function useWebCrypto() {
  setBulk(host ? webBulk : null);
  setHostEcdsa(host ? noKeys : null);
}

/**
 * Whether large one-shot messages run their AES-GCM and signature hash on
 * WebCrypto (default where WebCrypto exists) or in wasm; either reads the
 * other's messages. Returns the setting in force. Where another entry point
 * of the package installed its host crypto (src/node.js, in a program that
 * imports both), the switch is that entry point's.
 */
export function hostCrypto(enabled) {
  if (wasmState.missing) throw new KmsEnvelopeError(`bad argument: ${wasmState.missing}`, ErrorCode.BAD_ARGUMENT);
  return wasmState.hostCrypto(enabled);
}

/** hostCrypto() of the browser entry points, once they installed WebCrypto. */
export function webHostCrypto(enabled) {
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw new KmsEnvelopeError(`bad argument: hostCrypto takes true or false, got ${typeof enabled}`, ErrorCode.BAD_ARGUMENT);
  }
  if (enabled !== undefined) {
    host = enabled && Boolean(webBulk);
    useWebCrypto();
    if (!host) for (const made of Object.values(pool)) made.length = 0;
  }
  return host;
}
