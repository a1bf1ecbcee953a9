// `kms-envelope/slim`: the browser API without the top-level await of
// src/browser.js. Nothing is fetched until initialize() is called, with the
// module's URL (e.g. what a bundler's file loader returns for
// `kms-envelope/wasm`), a fetch Response, its bytes or a compiled
// WebAssembly.Module; until it resolves, every call is refused.
import init from '../dist/kms_envelope_wasm.js';
import { EXPORTS, IMPORTS } from '../dist/kms_envelope_wasm_abi.js';
import { ErrorCode, KmsEnvelopeError } from './api.js';
import { useWebCrypto, webHostCrypto } from './web.js';
import { loaded, wasmState } from './ready.js';

let loading;

const BAD_SOURCE = 'initialize takes the WebAssembly module as a URL, a string, a Request, a Response (or a promise of one), its bytes or a WebAssembly.Module';

const badArgument = (message, cause) => new KmsEnvelopeError(`bad argument: ${message}`, ErrorCode.BAD_ARGUMENT, cause === undefined ? undefined : { cause });
const ioError = (message, cause) => new KmsEnvelopeError(`I/O error: ${message}`, ErrorCode.IO_ERROR, cause === undefined ? undefined : { cause });
const isA = (value, name) => typeof globalThis[name] === 'function' && value instanceof globalThis[name];
const describe = (value) => (value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value);

/** Checks what initialize() was given, without touching the network yet. */
function checkSource(wasm) {
  if (wasm === undefined) return new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url);
  if (typeof wasm === 'string' || isA(wasm, 'URL') || isA(wasm, 'Request') || isA(wasm, 'Response')
    || wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm) || wasm instanceof WebAssembly.Module
    || (wasm !== null && typeof wasm === 'object' && typeof wasm.then === 'function')) {
    return wasm;
  }
  throw badArgument(`${BAD_SOURCE}, got ${describe(wasm)}`);
}

/** The compiled module behind `source`: fetched, read and compiled here, so each failure gets its own error. */
async function compile(source) {
  let s;
  let from = '';
  try {
    s = await source;
    if (typeof s === 'string' || isA(s, 'URL') || isA(s, 'Request')) {
      from = ` from ${isA(s, 'Request') ? s.url : String(s)}`;
      s = await fetch(s);
    }
  } catch (e) {
    throw ioError(`could not fetch the WebAssembly module${from}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (isA(s, 'Response')) {
    if (!s.ok) throw ioError(`fetching the WebAssembly module${s.url ? ` from ${s.url}` : ''} answered ${s.status} ${s.statusText}`.trimEnd());
    // Streaming compilation needs the right MIME type; otherwise read the bytes.
    const streaming = typeof WebAssembly.compileStreaming === 'function'
      && (s.headers.get('content-type') ?? '').split(';')[0].trim() === 'application/wasm';
    if (streaming) {
      try {
        return await WebAssembly.compileStreaming(s);
      } catch (e) {
        if (e instanceof WebAssembly.CompileError) throw badArgument(`not a WebAssembly module (${e.message})`, e);
        throw ioError(`could not read the WebAssembly module: ${e instanceof Error ? e.message : String(e)}`, e);
      }
    }
    try {
      s = await s.arrayBuffer();
    } catch (e) {
      throw ioError(`could not read the WebAssembly module: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }
  if (s instanceof WebAssembly.Module) return s;
  if (!(s instanceof ArrayBuffer || ArrayBuffer.isView(s))) throw badArgument(`${BAD_SOURCE}; the promise resolved to ${describe(s)}`);
  try {
    return await WebAssembly.compile(s);
  } catch (e) {
    throw badArgument(`not a WebAssembly module (${e instanceof Error ? e.message : String(e)})`, e);
  }
}

/** The names in `have` missing from `want` and back, as a short description. */
function mismatch(have, want, what) {
  const has = new Set(have);
  const wanted = new Set(want);
  const missing = want.filter((n) => !has.has(n));
  const extra = have.filter((n) => !wanted.has(n));
  if (!missing.length && !extra.length) return null;
  const some = (list) => list.slice(0, 3).map((n) => n.split(' ').pop()).join(', ') + (list.length > 3 ? `, … (${list.length})` : '');
  return [missing.length && `no ${what} ${some(missing)}`, extra.length && `other ${what} ${some(extra)}`].filter(Boolean).join('; ');
}

/**
 * Fetches (or takes) and instantiates the WebAssembly module, then routes
 * AES-GCM and ECDSA to WebCrypto where it exists. Without an argument, the
 * module is fetched from this package's dist/ directory, relative to this
 * file. Later calls return the same promise; after a failure, a call may
 * try again, unless the module failed while starting (see slim.d.ts).
 */
export function initialize(wasm) {
  if (loading) return loading;
  // The package's main entry point, imported too, loaded it already.
  if (wasmState.loaded) return Promise.resolve();
  let source;
  try {
    source = checkSource(wasm);
  } catch (e) {
    return Promise.reject(e);
  }
  let retry = true;
  loading = (async () => {
    const module = await compile(source);
    // wasm-bindgen keeps the first module it instantiates, for good: one of
    // another build (a stale cached file after an upgrade) must be refused
    // before, by the exact names this build exports and imports.
    const wrong = mismatch(WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`), EXPORTS, 'export')
      ?? mismatch(WebAssembly.Module.imports(module).map((i) => `${i.kind} ${i.module} ${i.name}`), IMPORTS, 'import');
    if (wrong) throw badArgument(`not this package version's WebAssembly module (${wrong})`);
    if (wasmState.loaded) return; // the main entry point loaded it meanwhile
    try {
      await init({ module_or_path: module });
    } catch (e) {
      if (!(e instanceof WebAssembly.LinkError)) {
        // It failed after wasm-bindgen took it: nothing can replace it now.
        retry = false;
        wasmState.missing = `the WebAssembly module failed to start (${e instanceof Error ? e.message : String(e)}); reload to try again`;
      }
      throw badArgument(`the WebAssembly module did not start: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    if (wasmState.loaded) return;
    useWebCrypto();
    loaded(webHostCrypto);
  })();
  loading.catch(() => { if (retry) loading = undefined; });
  return loading;
}

export { hostCrypto } from './web.js';
export * from './api.js';
