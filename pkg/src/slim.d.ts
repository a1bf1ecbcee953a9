// Type declarations of `kms-envelope/slim`: the package's API, loaded only
// when initialize() is called.

export * from './index.js';

/**
 * Where initialize() finds the WebAssembly module: its URL (as a bundler's
 * file loader returns it for `kms-envelope/wasm`), a fetch `Request` or
 * `Response` (or a promise of one), its bytes, or a compiled module.
 */
export type WasmSource =
  | string
  | URL
  | Request
  | Response
  | PromiseLike<Response>
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module;

/**
 * Loads and instantiates the WebAssembly module, then routes AES-GCM and
 * ECDSA to WebCrypto where it exists. Every other call is refused with a
 * `bad_argument` error until this resolves. Without an argument the module
 * is fetched from the package's own `dist/` directory, as the main entry
 * point does. Later calls return the same promise; after a failure (an
 * `io_error` when the module cannot be fetched, a `bad_argument` when the
 * bytes are not this package version's module) a call may try again.
 *
 * ```js
 * import { initialize, encrypt, RawAesKeyring } from 'kms-envelope/slim';
 * import wasmUrl from 'kms-envelope/wasm'; // esbuild --loader:.wasm=file
 * await initialize(wasmUrl);
 * ```
 */
export declare function initialize(wasm?: WasmSource): Promise<void>;
