// `kms-envelope/slim` and the main entry point in one Node program (a
// library on one, the app on the other): whichever order they load in, the
// main entry's node:crypto hosts stay installed and both hostCrypto()
// switches drive them. Its own process: the module starts out unloaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as slim from 'kms-envelope/slim';
import { bulkHost } from '../src/external.js';
import { aesKey, bytesOf } from './helpers.js';

const wasmBytes = readFileSync(new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url));

test('slim initialize() pending while the main entry loads leaves the main entry its hosts', async () => {
  const pending = slim.initialize(wasmBytes);
  const main = await import('kms-envelope');
  assert.equal(await pending, undefined);
  // node:crypto's bulk host (AES-192 too); WebCrypto's has no 24-byte keys.
  assert.deepEqual(bulkHost().keyLengths, [16, 24, 32]);
  assert.equal(slim.hostCrypto(), true);
  assert.equal(slim.hostCrypto(false), false);
  assert.equal(main.hostCrypto(), false, "slim's switch is the main entry's");
  assert.equal(bulkHost(), null);
  assert.equal(main.hostCrypto(true), true);
  assert.equal(slim.hostCrypto(), true);
  assert.deepEqual(bulkHost().keyLengths, [16, 24, 32]);
  assert.equal(await slim.initialize(), undefined, 'nothing left to load');

  // One package either way: keyrings and messages cross.
  const keyring = new slim.RawAesKeyring({ keyNamespace: 'both', keyName: 'k', wrappingKey: aesKey(192) });
  const pt = bytesOf(3 << 20, 5);
  const ct = await main.encrypt(pt, { keyring, algorithmSuite: 0x0478 });
  assert.deepEqual((await slim.decrypt(ct, { keyring })).plaintext, pt);
});
