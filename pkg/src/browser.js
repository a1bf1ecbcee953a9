// Browser / bundler entry point: fetches and instantiates the WebAssembly
// module (next to this package's dist/ JS) before the API is used.
import init from '../dist/kms_envelope_wasm.js';
import { setBulk } from './external.js';

await init({ module_or_path: new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url) });

const subtle = globalThis.crypto?.subtle;

// Large one-shot messages (src/external.js): every frame sealed or opened by
// WebCrypto's AES-GCM, all frames of a batch at once, and the signature hash
// by WebCrypto's digest; the core signs or verifies that digest. Smaller
// messages stay in wasm, where a frame costs less than a WebCrypto round trip.
// WebCrypto exists in secure contexts only (https, localhost).
const webBulk = subtle && {
  minBytes: 64 << 10,
  minSignedBytes: 64 << 10,
  importKey(raw) {
    return subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  },
  async sealInto(key, iv, aad, plaintext, out, at) {
    const sealed = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, key, plaintext);
    out.set(new Uint8Array(sealed), at);
  },
  async openInto(key, iv, aad, sealed, out, at) {
    let plaintext;
    try {
      plaintext = await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, key, sealed);
    } catch {
      return false;
    }
    out.set(new Uint8Array(plaintext), at);
    return true;
  },
  async digest(name, data) {
    return new Uint8Array(await subtle.digest(name, data));
  },
};

let host = Boolean(webBulk);
setBulk(host ? webBulk : null);

/**
 * Whether large one-shot messages run their AES-GCM and signature hash on
 * WebCrypto (default where WebCrypto exists) or in wasm; either reads the
 * other's messages. Returns the setting in force.
 */
export function hostCrypto(enabled) {
  if (enabled !== undefined) {
    host = Boolean(enabled) && Boolean(webBulk);
    setBulk(host ? webBulk : null);
  }
  return host;
}

export * from './api.js';
