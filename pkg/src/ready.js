// Whether the WebAssembly module is instantiated. src/node.js and
// src/browser.js instantiate it before they export the API; src/slim.js sets
// `missing` until its initialize() resolves (unless another entry point of
// the package loaded the module first), and every entry into the wasm layer
// (src/api.js, src/web.js) refuses with it meanwhile.
export const wasmState = { loaded: false, missing: null };

/** Marks the module instantiated, by whichever entry point. */
export function loaded() {
  wasmState.loaded = true;
  wasmState.missing = null;
}
