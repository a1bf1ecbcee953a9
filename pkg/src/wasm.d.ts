// Type declarations of `kms-envelope/wasm`: the package's WebAssembly module
// file, as a bundler's file or asset loader imports it (esbuild
// `--loader:.wasm=file`, webpack `type: 'asset/resource'`): its URL, to
// pass to initialize() of `kms-envelope/slim`.

/** The URL of the module file, relative to the bundle unless the bundler is configured otherwise. */
declare const wasmUrl: string;
export default wasmUrl;
