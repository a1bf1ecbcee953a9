// Node entry point: loads the WebAssembly module synchronously from the
// package directory, routes AES-GCM and SHA-2 to node:crypto, then exposes
// the API.
import { readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { initSync, setHostAead, setHostHash } from '../dist/kms_envelope_wasm.js';

initSync({ module: readFileSync(new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url)) });

const CIPHERS = { 16: 'aes-128-gcm', 24: 'aes-192-gcm', 32: 'aes-256-gcm' };

// Synchronous AES-GCM for the core's host-crypto hook (bindings/wasm/src/host.rs):
// the core keeps the format, keys and nonces; only the block cipher work
// moves here. `data` is a view into wasm memory, rewritten in place.
const nodeAead = {
  seal(key, iv, aad, data) {
    const c = createCipheriv(CIPHERS[key.length], key, iv);
    c.setAAD(aad);
    data.set(c.update(data));
    c.final();
    return c.getAuthTag();
  },
  open(key, iv, aad, data, tag) {
    const d = createDecipheriv(CIPHERS[key.length], key, iv);
    d.setAAD(aad);
    d.setAuthTag(tag);
    const out = d.update(data);
    try {
      d.final();
    } catch {
      return false;
    }
    data.set(out);
    return true;
  },
};

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

let host = true;
setHostAead(nodeAead);
setHostHash(nodeHash);

/**
 * Whether AES-GCM and SHA-2 run on node:crypto (default) or in wasm; the
 * bytes are the same. Returns the setting in force.
 */
export function hostCrypto(enabled) {
  if (enabled !== undefined) {
    host = Boolean(enabled);
    setHostAead(host ? nodeAead : null);
    setHostHash(host ? nodeHash : null);
  }
  return host;
}

export * from './api.js';
