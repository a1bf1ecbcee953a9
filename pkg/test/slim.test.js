// `kms-envelope/slim`: nothing works before initialize(), initialize() says
// what is wrong with what it was given, and once it resolves the API is the
// package's (in Node on WebCrypto, as in browsers). This file runs in its own
// process, so the module starts out not instantiated; it never imports the
// main entry point, which would instantiate it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as slim from 'kms-envelope/slim';
import binaryen from 'binaryen';
import { aesKey, bytesOf } from './helpers.js';

const wasmBytes = readFileSync(new URL('../dist/kms_envelope_wasm_bg.wasm', import.meta.url));
const keyringOptions = { keyNamespace: 'slim', keyName: 'k', wrappingKey: aesKey() };

/** Asserts `fn` throws (or rejects with) a KmsEnvelopeError of `code` whose message matches `re`. */
async function fails(fn, code, re) {
  let err;
  try { await fn(); } catch (e) { err = e; }
  assert.ok(err instanceof slim.KmsEnvelopeError, `expected a KmsEnvelopeError, got ${err}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, re);
  return err;
}

/** A server on 127.0.0.1 answering `path` with `body` as `type`, else 404. */
async function serveOnce(routes) {
  const server = createServer((req, res) => {
    const r = routes[req.url];
    if (!r) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': r.type }).end(r.body);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((ok) => server.close(ok)) };
}

test('before initialize() every entry into the package is refused, naming initialize()', async () => {
  const notYet = /not loaded: with 'kms-envelope\/slim', await initialize\(\) first/;
  await fails(() => new slim.RawAesKeyring(keyringOptions), 'bad_argument', notYet);
  await fails(() => new slim.LocalMaterialsCache(), 'bad_argument', notYet);
  await fails(() => new slim.MultiKeyring({ children: [{ onEncrypt() {}, onDecrypt() {} }] }), 'bad_argument', notYet);
  await fails(() => slim.encrypt(new Uint8Array(1), { keyring: { onEncrypt() {}, onDecrypt() {} } }), 'bad_argument', notYet);
  await fails(() => slim.decrypt(new Uint8Array(1), { keyring: { onEncrypt() {}, onDecrypt() {} } }), 'bad_argument', notYet);
  await fails(() => slim.inspect(new Uint8Array(1)), 'bad_argument', notYet);
  await fails(() => slim.encryptStream({}), 'bad_argument', notYet);
  await fails(() => slim.decryptStream({}), 'bad_argument', notYet);
  await fails(() => slim.hostCrypto(), 'bad_argument', notYet);
  await fails(() => slim.cryptoBackend(), 'bad_argument', notYet);
});

test('initialize() refuses what is not this package\'s module, and may be called again', async () => {
  await fails(() => slim.initialize(42), 'bad_argument', /initialize takes the WebAssembly module .* got number/);
  await fails(() => slim.initialize(null), 'bad_argument', /got null/);
  await fails(() => slim.initialize({ url: 'x' }), 'bad_argument', /got Object/);
  await fails(() => slim.initialize(Promise.resolve(7)), 'bad_argument', /the promise resolved to number/);
  await fails(() => slim.initialize(new Uint8Array([1, 2, 3, 4])), 'bad_argument', /not a WebAssembly module/);
  await fails(() => slim.initialize(wasmBytes.subarray(0, wasmBytes.length >> 1)), 'bad_argument', /not a WebAssembly module/);
  // A valid module that is not ours: it would instantiate, and then break
  // the package for good, so it is refused before that.
  const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  await fails(() => slim.initialize(empty), 'bad_argument', /not this package version's WebAssembly module \(no export /);
  // As would a module of another build: here this one without one export.
  const other = binaryen.readBinary(wasmBytes);
  other.removeExport('suiteKeyLength');
  await fails(() => slim.initialize(other.emitBinary()), 'bad_argument', /not this package version's WebAssembly module \(no export suiteKeyLength\)/);
  other.dispose();
  // Fetch failures are I/O errors naming the URL.
  const server = await serveOnce({
    '/text.wasm': { type: 'text/plain', body: 'hello' },
    '/ok.wasm': { type: 'application/wasm', body: wasmBytes },
  });
  try {
    await fails(() => slim.initialize(`${server.url}/missing.wasm`), 'io_error', /answered 404/);
    await fails(() => slim.initialize(fetch(`${server.url}/text.wasm`)), 'bad_argument', /not a WebAssembly module/);
    await fails(() => slim.initialize('http://127.0.0.1:1/k.wasm'), 'io_error', /could not fetch the WebAssembly module from http:\/\/127\.0\.0\.1:1\/k\.wasm/);
    // Still refused after all those failures.
    await fails(() => slim.cryptoBackend(), 'bad_argument', /not loaded/);
    // Fetched by URL (streaming compilation: served as application/wasm).
    const first = slim.initialize(new URL(`${server.url}/ok.wasm`));
    assert.equal(slim.initialize(wasmBytes), first, 'a second call while loading returns the same promise');
    assert.equal(await first, undefined);
  } finally {
    await server.close();
  }
  assert.equal(await slim.initialize(42), undefined, 'once loaded, initialize() has nothing left to do');
});

test('once initialized, the whole API works, on WebCrypto', async () => {
  assert.equal(slim.hostCrypto(), true);
  assert.equal(slim.cryptoBackend(), 'rustcrypto');
  const keyring = new slim.RawAesKeyring(keyringOptions);
  for (const algorithmSuite of [0x0478, 0x0578]) {
    const pt = bytesOf(100000, algorithmSuite);
    const ct = await slim.encrypt(pt, { keyring, algorithmSuite, encryptionContext: { a: 'b' } });
    const out = await slim.decrypt(ct, { keyring, encryptionContext: { a: 'b' } });
    assert.deepEqual(out.plaintext, pt);
    assert.equal((await slim.inspect(ct)).algorithmSuite, algorithmSuite);
    const streamed = await new Response(new Blob([ct]).stream().pipeThrough(slim.decryptStream({ keyring }))).arrayBuffer();
    assert.deepEqual(new Uint8Array(streamed), pt);
  }
});

test('on WebCrypto, views of a SharedArrayBuffer read and write (WebCrypto itself refuses them)', async () => {
  // The frames of one-shot messages from 1 KiB run on WebCrypto, which
  // refuses shared views: handed one, it used to report a forged message.
  const keyring = new slim.RawAesKeyring(keyringOptions);
  const shared = (bytes) => {
    const v = new Uint8Array(new SharedArrayBuffer(bytes.length));
    v.set(bytes);
    return v;
  };
  for (const algorithmSuite of [0x0478, 0x0578]) {
    const pt = new Uint8Array(4096).fill(3);
    const ct = await slim.encrypt(shared(pt), { keyring, algorithmSuite });
    assert.deepEqual((await slim.decrypt(shared(ct), { keyring })).plaintext, pt);
    const streamed = await new Response(new Blob([ct]).stream()
      .pipeThrough(new TransformStream({ transform: (c, out) => out.enqueue(shared(c)) }))
      .pipeThrough(slim.decryptStream({ keyring }))).arrayBuffer();
    assert.deepEqual(new Uint8Array(streamed), pt);
  }
});
