// `signal` on the one-shot calls: an abort rejects at once with the
// signal's reason, as fetch() does, and work in flight stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encrypt, decrypt, encryptStream, AwsKmsKeyring, MultiKeyring, RawAesKeyring, KmsEnvelopeError } from 'kms-envelope';
import { openedCount } from '../src/external.js';
import { aesKey, bytesOf, rejectsWith } from './helpers.js';

const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });

/** A keyring in front of `keyring` that answers only when `release` is called. */
function heldKeyring() {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const calls = { encrypt: 0, decrypt: 0 };
  return {
    calls,
    release: () => release(),
    keyring: {
      async onEncrypt() { calls.encrypt++; await gate; },
      async onDecrypt() { calls.decrypt++; await gate; },
    },
  };
}

test('an aborted signal rejects at once with its reason, before any keyring runs', async () => {
  const reason = new Error('user left the page');
  const held = heldKeyring();
  const ct = await encrypt(bytesOf(10), { keyring });
  for (const call of [
    () => encrypt(bytesOf(10), { keyring: held.keyring, signal: AbortSignal.abort(reason) }),
    () => decrypt(ct, { keyring: held.keyring, signal: AbortSignal.abort(reason) }),
  ]) {
    await assert.rejects(call(), (e) => e === reason);
  }
  assert.deepEqual(held.calls, { encrypt: 0, decrypt: 0 });
  // No reason given: an AbortError, as fetch() rejects.
  await assert.rejects(encrypt(bytesOf(1), { keyring, signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  // Any reason at all is passed on as it is, not as a KmsEnvelopeError.
  await assert.rejects(decrypt(ct, { keyring, signal: AbortSignal.abort('just a string') }), (e) => e === 'just a string');
});

test('an abort while a keyring is pending rejects without waiting for it', async () => {
  const held = heldKeyring();
  const ct = await encrypt(bytesOf(10), { keyring });
  for (const call of [
    (signal) => encrypt(bytesOf(10), { keyring: held.keyring, signal }),
    (signal) => decrypt(ct, { keyring: held.keyring, signal }),
  ]) {
    const controller = new AbortController();
    const pending = call(controller.signal);
    await new Promise((r) => setTimeout(r, 10));
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
  }
  assert.deepEqual(held.calls, { encrypt: 1, decrypt: 1 });
  // The keyring answering later changes nothing (no unhandled rejection,
  // the late result is dropped).
  held.release();
  await new Promise((r) => setTimeout(r, 10));
});

test('a large message stops before its frames once aborted; a signal that never aborts changes nothing', async () => {
  const plaintext = bytesOf(8 << 20);
  const ct = await encrypt(plaintext, { keyring, algorithmSuite: 0x0478, frameLength: 1024 });
  const before = openedCount();
  // A keyring that aborts the call as it runs, then lets the next one
  // unwrap: the frames come after, and see the abort.
  const controller = new AbortController();
  const aborter = { onEncrypt() {}, onDecrypt() { controller.abort(); return null; } };
  const both = new MultiKeyring({ children: [aborter, keyring] });
  await assert.rejects(decrypt(ct, { keyring: both, signal: controller.signal }), (e) => e.name === 'AbortError');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(openedCount(), before, 'the aborted message was not opened');
  const kept = new AbortController();
  const out = await decrypt(ct, { keyring, signal: kept.signal });
  assert.equal(openedCount(), before + 1);
  assert.deepEqual(out.plaintext, plaintext);
  const again = await encrypt(plaintext, { keyring, signal: kept.signal });
  assert.deepEqual((await decrypt(again, { keyring })).plaintext, plaintext);
});

test('in Node too, a timer or I/O abort stops a large message between batches', async () => {
  // node:crypto seals and opens frames synchronously: without a turn of the
  // event loop between batches, an abort from a timer came after the end.
  const plaintext = bytesOf(16 << 20);
  const ct = await encrypt(plaintext, { keyring, algorithmSuite: 0x0478, frameLength: 4096 });
  for (const call of [
    (signal) => encrypt(plaintext, { keyring, algorithmSuite: 0x0478, frameLength: 4096, signal }),
    (signal) => decrypt(ct, { keyring, signal }),
  ]) {
    const before = openedCount();
    const controller = new AbortController();
    const pending = call(controller.signal);
    setImmediate(() => controller.abort());
    await assert.rejects(pending, (e) => e.name === 'AbortError');
    assert.equal(openedCount(), before);
  }
});

test('many calls may share one signal: one listener, removed when they settle', async () => {
  const { getEventListeners } = await import('node:events');
  const controller = new AbortController();
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const cts = await Promise.all(Array.from({ length: 30 }, (_, i) => encrypt(bytesOf(10, i + 1), { keyring, signal: controller.signal })));
  await Promise.all(cts.map((ct) => decrypt(ct, { keyring, signal: controller.signal })));
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  // A KMS client that listens on what it is handed, as the AWS SDK does per request.
  const arn = 'arn:aws:kms:us-west-2:123456789012:key/k';
  const listening = {
    async send(command, options) {
      options.abortSignal.addEventListener('abort', () => {});
      await new Promise((r) => setTimeout(r, 5));
      return { KeyId: arn, Plaintext: new Uint8Array(32).fill(9), CiphertextBlob: new Uint8Array(8).fill(1) };
    },
  };
  const kms = new AwsKmsKeyring({ keyId: arn, client: listening });
  await Promise.all(Array.from({ length: 30 }, () => encrypt(bytesOf(1), { keyring: kms, signal: controller.signal })));
  // While they run: one listener; an abort reaches every one of them.
  const held = heldKeyring();
  const pending = Array.from({ length: 30 }, () => encrypt(bytesOf(1), { keyring: held.keyring, signal: controller.signal }));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
  controller.abort();
  const settled = await Promise.allSettled(pending);
  assert.ok(settled.every((r) => r.status === 'rejected' && r.reason.name === 'AbortError'));
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.deepEqual(warnings.map((w) => w.name), []);
});

test('a signal whose removeEventListener throws, or that aborts as a listener is added', async () => {
  // The call settles as its work did, and a plaintext is not left behind.
  const grumpy = new AbortController();
  const real = grumpy.signal;
  const proxy = new Proxy(real, {
    get(target, key) {
      if (key === 'removeEventListener') return () => { throw new Error('remove'); };
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const ct = await encrypt(bytesOf(10), { keyring });
  const out = await decrypt(ct, { keyring, signal: proxy });
  assert.deepEqual(out.plaintext, bytesOf(10));
  // Aborts while its listener is being added: the keyring is never called.
  const held = heldKeyring();
  const sneaky = {
    aborted: false,
    reason: new Error('sneaky'),
    addEventListener(type, f) { this.aborted = true; f(); },
    removeEventListener() {},
  };
  await assert.rejects(encrypt(bytesOf(1), { keyring: held.keyring, signal: sneaky }), /sneaky/);
  assert.equal(held.calls.encrypt, 0);
});

test('signal must be an AbortSignal; streams take none', async () => {
  for (const signal of [{}, 'abort', 1, { aborted: 'no', addEventListener() {}, removeEventListener() {} }]) {
    await rejectsWith(encrypt(bytesOf(1), { keyring, signal }), 'bad_argument', KmsEnvelopeError);
  }
  const hostile = new Proxy({}, { get() { throw new Error('trap'); } });
  await rejectsWith(decrypt(bytesOf(1), { keyring, signal: hostile }), 'bad_argument');
  // A reason getter that throws: the default AbortError instead.
  const odd = { aborted: true, get reason() { throw new Error('no'); }, addEventListener() {}, removeEventListener() {} };
  await assert.rejects(encrypt(bytesOf(1), { keyring, signal: odd }), (e) => e.name === 'AbortError');
  assert.throws(() => encryptStream({ keyring, signal: AbortSignal.abort() }), (e) => e.code === 'bad_argument' && /signal/.test(e.message));
});

test('keyrings and KMS clients are handed the signal, so an abort ends their calls', async () => {
  // A custom keyring sees { signal } after its arguments, only when given one.
  const seen = [];
  const recorder = {
    onEncrypt(...args) { seen.push(args); return { plaintextDataKey: new Uint8Array(32).fill(7), encryptedDataKeys: [{ providerId: 'p', providerInfo: new Uint8Array(1), ciphertext: new Uint8Array(1) }] }; },
    onDecrypt(...args) { seen.push(args); return { plaintextDataKey: new Uint8Array(32).fill(7) }; },
  };
  const controller = new AbortController();
  const ct = await encrypt(bytesOf(3), { keyring: recorder, signal: controller.signal });
  await decrypt(ct, { keyring: recorder, signal: controller.signal });
  await decrypt(ct, { keyring: recorder });
  assert.deepEqual(seen.map((a) => a.length), [2, 3, 2]);
  // The call's own signal, which aborts with the caller's while the call runs.
  assert.ok(seen[0][1].signal instanceof AbortSignal && seen[1][2].signal instanceof AbortSignal);
  const held = heldKeyring();
  let handed;
  const watching = { onEncrypt: (m, options) => { handed = options.signal; return held.keyring.onEncrypt(m); }, onDecrypt() {} };
  const waiting = new AbortController();
  const pendingCall = encrypt(bytesOf(3), { keyring: watching, signal: waiting.signal });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(handed.aborted, false);
  const why = new Error('why');
  waiting.abort(why);
  await assert.rejects(pendingCall, (e) => e === why);
  assert.equal(handed.aborted, true);
  assert.equal(handed.reason, why);

  // A KMS client whose request hangs until its abortSignal fires.
  const calls = [];
  const hanging = {
    send(command, options) {
      calls.push(options);
      return new Promise((resolve, reject) => {
        options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('request aborted'), { name: 'AbortError' })));
      });
    },
  };
  const kms = new AwsKmsKeyring({ keyId: 'arn:aws:kms:us-west-2:123456789012:key/k', client: hanging });
  const stop = new AbortController();
  const pending = encrypt(bytesOf(3), { keyring: kms, signal: stop.signal });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(calls.length, 1);
  assert.equal(calls[0].abortSignal.aborted, false);
  stop.abort(new Error('took too long'));
  await assert.rejects(pending, /took too long/);
  assert.equal(calls[0].abortSignal.aborted, true);
  // Without a signal, send gets the command alone.
  const plain = { send(...args) { calls.push(args.length); return Promise.reject(new Error('down')); } };
  await rejectsWith(encrypt(bytesOf(3), { keyring: new AwsKmsKeyring({ keyId: 'arn:aws:kms:us-west-2:123456789012:key/k', client: plain }) }), 'kms_error');
  assert.equal(calls.at(-1), 1);
});
