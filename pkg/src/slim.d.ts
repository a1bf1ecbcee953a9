// Type declarations of `kms-envelope/slim`: the package's API, loaded only
// when initialize() is called.

export * from './index.js';

/**
 * Where initialize() finds the WebAssembly module: its URL (as a bundler's
 * file loader returns it for `kms-envelope/wasm`), a fetch `Request` or
 * `Response`, its bytes, or a compiled module; or a promise of any of these.
 */
export type WasmModuleSource =
  | string
  | URL
  | Request
  | Response
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module;
export type WasmSource = WasmModuleSource | PromiseLike<WasmModuleSource>;

/**
 * Loads and instantiates the WebAssembly module, then routes AES-GCM and
 * ECDSA to WebCrypto where it exists. Every other call is refused with a
 * `bad_argument` error until this resolves. A module is checked against
 * the names this package version's module exports and imports before it
 * is instantiated: one of another version is refused (`bad_argument`).
 * Fetch failures are `io_error`s. After a failure a later call may try
 * again, except when the module failed while starting (the package keeps
 * it: reload). Later calls return the same promise, and resolve at once
 * when the package's main entry point, imported too, loaded the module.
 *
 * Without an argument the module is fetched from `../dist/` relative to
 * this file: right where the package's files are served as they are, not
 * after a bundler moved this file, and not in Node (whose `fetch` reads no
 * `file:` URLs: pass the bytes, or use the main entry point).
 *
 * ```js
 * import { initialize, encrypt, RawAesKeyring } from 'kms-envelope/slim';
 * import wasmUrl from 'kms-envelope/wasm'; // esbuild --loader:.wasm=file
 * await initialize(new URL(wasmUrl, import.meta.url));
 * ```
 */
export declare function initialize(wasm?: WasmSource): Promise<void>;
