// `kms-envelope/slim` given a module with this build's exports and imports
// whose start function fails: wasm-bindgen has kept it by then, so the
// failure is final and every later call says so. Its own process: the
// failure poisons the module for the life of the program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';
import * as slim from 'kms-envelope/slim';

const wasmBytes = readFileSync(new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url));

/** This module with `__wbindgen_start` replaced by a trap. */
function trappingStart() {
  const m = binaryen.readBinary(wasmBytes);
  // (After wasm-opt the export may be an import itself: export a new function.)
  const name = binaryen.getExportInfo(m.getExport('__wbindgen_start')).value;
  const info = binaryen.getFunctionInfo(m.getFunction(name));
  m.removeExport('__wbindgen_start');
  m.addFunction('test_trapping_start', info.params, info.results, [], m.unreachable());
  m.addFunctionExport('test_trapping_start', '__wbindgen_start');
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

test('a module whose start fails: final, and every later call says so', async () => {
  const expectCode = (re) => (e) => e instanceof slim.KmsEnvelopeError && e.code === 'bad_argument' && re.test(e.message);
  await assert.rejects(slim.initialize(trappingStart()), expectCode(/the WebAssembly module did not start: .*unreachable/));
  await assert.rejects(slim.initialize(wasmBytes), expectCode(/did not start/), 'the right bytes cannot replace it now');
  assert.throws(() => slim.cryptoBackend(), expectCode(/failed to start \(.*\); reload to try again/));
  assert.throws(() => slim.hostCrypto(), expectCode(/failed to start/));
  await assert.rejects(slim.encrypt(new Uint8Array(1), { keyring: { onEncrypt() {}, onDecrypt() {} } }), expectCode(/failed to start/));
});
