// Whether the WebAssembly module is instantiated, and which entry point owns
// the host crypto. Until an entry point calls loaded(), every entry into the
// wasm layer (src/api.js, src/web.js) is refused with `missing`: src/node.js
// and src/browser.js call it as they load, src/slim.js once initialize()
// resolves. Starting refused (rather than having slim.js say so) keeps the
// clear error where a bundler drops an entry point's top-level code.
export const wasmState = {
  loaded: false,
  missing: "the WebAssembly module is not loaded: with 'kms-envelope/slim', await initialize() first",
  /** hostCrypto() of the entry point that installed the host crypto. */
  hostCrypto: null,
};

/** Marks the module instantiated by an entry point whose host crypto is now installed. */
export function loaded(hostCrypto) {
  wasmState.loaded = true;
  wasmState.missing = null;
  wasmState.hostCrypto = hostCrypto;
}
