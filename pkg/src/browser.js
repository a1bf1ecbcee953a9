// Browser / bundler entry point: fetches and instantiates the WebAssembly
// module (next to this package's dist/ JS, found through import.meta.url)
// before the API is used. Where a bundler does not carry the .wasm file
// along, use src/slim.js (`kms-envelope/slim`) and say where it is.
import init from '../dist/kms_envelope_wasm.js';
import { useWebCrypto, webHostCrypto } from './web.js';
import { loaded } from './ready.js';

await init({ module_or_path: new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url) });
useWebCrypto();
loaded(webHostCrypto);

export { hostCrypto } from './web.js';
export * from './api.js';
