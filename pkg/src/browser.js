// Browser / bundler entry point: fetches and instantiates the WebAssembly
// module (next to this package's dist/ JS) before the API is used.
import init from '../dist/kms_envelope_wasm.js';

await init({ module_or_path: new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url) });

/** Host AES-GCM is Node-only (WebCrypto is async): always false here. */
export function hostCrypto() {
  return false;
}

export * from './api.js';
