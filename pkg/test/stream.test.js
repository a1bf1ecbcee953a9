// Web Streams: encryptStream / decryptStream as TransformStreams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encrypt, decrypt, encryptStream, decryptStream, RawAesKeyring, KmsEnvelopeError } from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith } from './helpers.js';

const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() });

/** A ReadableStream of `data` in chunks of pseudo-random sizes. */
function source(data, maxChunk = 5000, seed = 7) {
  let pos = 0;
  let x = seed;
  return new ReadableStream({
    pull(c) {
      if (pos >= data.length) return c.close();
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const n = 1 + (x % maxChunk);
      c.enqueue(data.slice(pos, pos + n));
      pos += n;
    },
  });
}

async function collect(readable) {
  const parts = [];
  for await (const p of readable) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

for (const suite of [0x0478, 0x0578, 0x0178, 0x0378]) {
  test(`stream round trip, suite 0x${suite.toString(16).padStart(4, '0')}, interoperates with one-shot`, async () => {
    const commitmentPolicy = suite >= 0x0478 ? 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT' : 'FORBID_ENCRYPT_ALLOW_DECRYPT';
    for (const len of [0, 1, 1024, 50000]) {
      const pt = bytesOf(len, len + 3);
      const opts = { keyring: aes, encryptionContext: { s: 'x' }, algorithmSuite: suite, frameLength: 1024, commitmentPolicy };
      const ct = await collect(source(pt).pipeThrough(encryptStream(opts)));
      assert.deepEqual((await decrypt(ct, { keyring: aes, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext, pt);
      const ct2 = await encrypt(pt, opts);
      const ds = decryptStream({ keyring: aes, encryptionContext: { s: 'x' }, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
      assert.deepEqual(await collect(source(ct2, 700).pipeThrough(ds)), pt);
      const r = await ds.result;
      assert.equal(r.encryptionContext.s, 'x');
      assert.equal(r.header.algorithmSuite, suite);
    }
  });
}

test('decryptStream: tampered, truncated, wrong key, wrong context fail the stream with a code', async () => {
  const pt = bytesOf(20000);
  const ct = await encrypt(pt, { keyring: aes, algorithmSuite: 0x0478, frameLength: 1024, encryptionContext: { a: 'b' } });
  const tampered = ct.slice(); tampered[ct.length - 100] ^= 1;
  const cases = [
    [tampered, {}, 'authentication_failed'],
    [ct.subarray(0, ct.length - 10), {}, 'malformed_message'],
    [ct, { keyring: new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: aesKey() }) }, 'no_key_unwrapped'],
    [ct, { encryptionContext: { a: 'c' } }, 'policy_violation'],
  ];
  for (const [input, extra, code] of cases) {
    const ds = decryptStream({ keyring: aes, ...extra });
    await rejectsWith(collect(source(input).pipeThrough(ds)), code, KmsEnvelopeError);
    await rejectsWith(ds.result, code, KmsEnvelopeError);
  }
  // unsignedOnly: fine for 0x0478, refused for a signed message.
  assert.deepEqual(await collect(source(ct).pipeThrough(decryptStream({ keyring: aes, unsignedOnly: true }))), pt);
  const signed = await encrypt(pt, { keyring: aes });
  await rejectsWith(collect(source(signed).pipeThrough(decryptStream({ keyring: aes, unsignedOnly: true }))), 'policy_violation', KmsEnvelopeError);
});

test('encryptStream rejects non-bytes chunks and keyring failures', async () => {
  const w = new ReadableStream({ start(c) { c.enqueue('text'); c.close(); } });
  await rejectsWith(collect(w.pipeThrough(encryptStream({ keyring: aes }))), 'bad_argument', KmsEnvelopeError);
  const failing = { async onEncrypt() { throw Object.assign(new Error('denied'), { code: 'AccessDenied' }); }, async onDecrypt() {} };
  await rejectsWith(collect(source(bytesOf(10)).pipeThrough(encryptStream({ keyring: failing }))), 'kms_error', KmsEnvelopeError);
});

test('signed messages: held until the signature verifies, or released by frame on opt-in', async () => {
  const pt = bytesOf(100000);
  const ct = await encrypt(pt, { keyring: aes, frameLength: 4096 });
  const bad = ct.slice(); bad[ct.length - 3] ^= 1;
  // Default: nothing is released before the signature fails.
  const got = [];
  const ds = decryptStream({ keyring: aes });
  await rejectsWith(source(bad).pipeThrough(ds).pipeTo(new WritableStream({ write(c) { got.push(c); } })), 'authentication_failed');
  assert.equal(got.length, 0);
  // Opt-in: frames come early, the failure still arrives.
  const got2 = [];
  await rejectsWith(source(bad).pipeThrough(decryptStream({ keyring: aes, signedRelease: 'frames' }))
    .pipeTo(new WritableStream({ write(c) { got2.push(c); } })), 'authentication_failed');
  assert.ok(got2.length > 0);
  // Limit on held plaintext.
  await rejectsWith(collect(source(ct).pipeThrough(decryptStream({ keyring: aes, maxBufferedPlaintext: 1000 }))), 'policy_violation');
});

test('256 MiB through encryptStream and decryptStream with bounded memory', { timeout: 600_000 }, async () => {
  const TOTAL = 256 * 1024 * 1024;
  const CHUNK = 1 << 20;
  const block = bytesOf(CHUNK, 42);
  const hashIn = createHash('sha256');
  const hashOut = createHash('sha256');
  let produced = 0;
  let received = 0;
  let peak = 0;
  const base = process.memoryUsage().rss;
  const input = new ReadableStream({
    pull(c) {
      if (produced >= TOTAL) return c.close();
      const chunk = block.slice();
      new DataView(chunk.buffer).setUint32(0, produced / CHUNK); // every chunk differs
      hashIn.update(chunk);
      produced += CHUNK;
      c.enqueue(chunk);
    },
  }, { highWaterMark: 2 });
  await input
    .pipeThrough(encryptStream({ keyring: aes, algorithmSuite: 0x0478, frameLength: 65536 }))
    .pipeThrough(decryptStream({ keyring: aes }))
    .pipeTo(new WritableStream({
      write(c) {
        hashOut.update(c);
        received += c.length;
        if ((received & 0xffffff) < c.length) peak = Math.max(peak, process.memoryUsage().rss - base);
      },
    }));
  assert.equal(received, TOTAL);
  assert.equal(hashOut.digest('hex'), hashIn.digest('hex'));
  peak = Math.max(peak, process.memoryUsage().rss - base);
  console.log(`# 256 MiB stream: peak RSS growth ${(peak / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(peak < 96 * 2 ** 20, `RSS grew by ${peak} bytes`);
});

test('an encryptStream cancelled while its keyring runs still frees what the keyring made', async () => {
  // The handles hold the data key (and a signing key): the cancel came
  // before they existed, and nothing freed them after.
  const wasm = await import('../dist/kms_envelope_wasm.js');
  let freed = 0;
  const originals = [wasm.Encryptor, wasm.StreamSealing].map((C) => [C, C.prototype.free]);
  for (const [C, free] of originals) C.prototype.free = function counted() { freed++; return free.call(this); };
  const slow = {
    async onEncrypt() {
      await new Promise((r) => setTimeout(r, 100));
      return { plaintextDataKey: new Uint8Array(32).fill(1), encryptedDataKeys: [{ providerId: 'p', ciphertext: new Uint8Array(1) }] };
    },
    onDecrypt: () => null,
  };
  try {
    // Frames in the core, and on the host (frames of 1 KiB and more).
    for (const frameLength of [64, 4096]) {
      freed = 0;
      const s = encryptStream({ keyring: slow, frameLength, algorithmSuite: 0x0478 });
      await new Promise((r) => setTimeout(r, 20));
      await s.readable.cancel('gone');
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(freed, 1, `frame length ${frameLength}: handles freed`);
    }
  } finally {
    for (const [C, free] of originals) C.prototype.free = free;
  }
});

test('a reader who cancels settles a write that waits on a keyring which never answers', async () => {
  // Before, the pending write (and so writer.abort(), which waits for it)
  // stayed pending for good once the reader cancelled. (An abort from the
  // writer's side waits for its own write first, as Web Streams define it,
  // so it still waits for the keyring: give keyrings timeouts.)
  const { setTransformerCancel } = await import('../src/watch.js');
  const never = { onEncrypt: () => new Promise(() => {}), onDecrypt: () => new Promise(() => {}) };
  const ct = await encrypt(bytesOf(5000), { keyring: aes });
  /** 'pending' if `p` has not settled within `ms` (a liveness check, not a timing one). */
  const state = (p, ms = 5000) => Promise.race([
    p.then(() => 'settled', () => 'settled'),
    new Promise((r) => setTimeout(() => r('pending'), ms)),
  ]);
  for (const cancelHook of [undefined, false]) {
    setTransformerCancel(cancelHook); // false: the watched pair, as in Chromium
    try {
      const cases = [
        ['decrypt', decryptStream, ct, 'result'],
        ['encrypt', encryptStream, bytesOf(100), 'header'],
      ];
      for (const [what, make, input, settles] of cases) {
        const stream = make({ keyring: never });
        const w = stream.writable.getWriter();
        const write = w.write(input);
        write.catch(() => {});
        await new Promise((r) => setTimeout(r, 20));
        await stream.readable.cancel(new Error('walk away'));
        assert.equal(await state(write), 'settled', `${what} write after a cancel (${cancelHook})`);
        assert.equal(await state(w.abort(new Error('x'))), 'settled');
        await rejectsWith(stream[settles], 'bad_argument', KmsEnvelopeError);
      }
    } finally {
      setTransformerCancel(undefined);
    }
  }
});

test('plaintext a keyring lets through after a cancel is wiped', async () => {
  // The reader cancelled while the keyring ran; when it answers, the core
  // opens the frames it already has: that plaintext is wiped, never emitted.
  const wasm = await import('../dist/kms_envelope_wasm.js');
  const seen = [];
  const update = wasm.Decryptor.prototype.update;
  wasm.Decryptor.prototype.update = function (chunk) {
    const p = update.call(this, chunk);
    p.then((out) => seen.push(out), () => {});
    return p;
  };
  try {
    const key = new Uint8Array(32).fill(9);
    const edk = { providerId: 'x', ciphertext: new Uint8Array([1]) };
    let release;
    const slow = {
      onEncrypt: () => ({ plaintextDataKey: key.slice(), encryptedDataKeys: [edk] }),
      onDecrypt: () => new Promise((r) => { release = () => r({ plaintextDataKey: key.slice() }); }),
    };
    // Frames below the host's minimum stay in the core (Decryptor.update).
    const ct = await encrypt(new Uint8Array(3000).fill(0x41), { keyring: slow, algorithmSuite: 0x0478, frameLength: 512 });
    const ds = decryptStream({ keyring: slow });
    const write = ds.writable.getWriter().write(ct);
    write.catch(() => {});
    while (!release) await new Promise((r) => setTimeout(r, 5));
    await ds.readable.cancel(new Error('walk away'));
    release();
    await rejectsWith(write, 'bad_argument', KmsEnvelopeError);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen.length > 0 && seen.some((out) => out.length > 0), 'the core opened frames late');
    for (const out of seen) assert.ok(out.every((b) => b === 0), 'wiped');
  } finally {
    wasm.Decryptor.prototype.update = update;
  }
});

test('where TransformStream never calls cancel (Chromium), streams still notice a cancel or an abort', async () => {
  // Forced here as in Chromium: the caller gets streams of ours over the
  // transform (src/watch.js), which end the wasm state and settle the
  // Promises; before, `result` and `header` stayed pending for good.
  const { setTransformerCancel } = await import('../src/watch.js');
  setTransformerCancel(false);
  try {
    // Round trips and failures behave as on the direct path.
    for (const suite of [0x0478, 0x0578]) {
      const pt = bytesOf(300_000, suite);
      const es = encryptStream({ keyring: aes, algorithmSuite: suite, frameLength: 4096 });
      assert.ok(!(es instanceof TransformStream), 'the watched pair');
      const ct = await collect(source(pt).pipeThrough(es));
      assert.equal((await es.header).algorithmSuite, suite);
      const ds = decryptStream({ keyring: aes });
      assert.deepEqual(await collect(source(ct, 7000).pipeThrough(ds)), pt);
      assert.equal((await ds.result).header.algorithmSuite, suite);
      const bad = ct.slice();
      bad[bad.length - 40] ^= 1;
      const failing = decryptStream({ keyring: aes });
      await rejectsWith(collect(source(bad).pipeThrough(failing)), 'authentication_failed', KmsEnvelopeError);
      await rejectsWith(failing.result, 'authentication_failed', KmsEnvelopeError);
    }
    const ct = await encrypt(bytesOf(200_000), { keyring: aes, algorithmSuite: 0x0478, frameLength: 4096 });

    // The reader cancels after the first plaintext: result and the wasm state end.
    const d1 = decryptStream({ keyring: aes });
    const w1 = d1.writable.getWriter();
    w1.write(ct.subarray(0, 100_000)).catch(() => {});
    const r1 = d1.readable.getReader();
    assert.ok((await r1.read()).value.length > 0);
    await r1.cancel(new Error('enough'));
    await rejectsWith(d1.result, 'bad_argument', KmsEnvelopeError);

    // The writer aborts while nobody reads.
    // (100 bytes: inside the header, so `header` is still pending too.)
    const d2 = decryptStream({ keyring: aes });
    const w2 = d2.writable.getWriter();
    await w2.write(ct.subarray(0, 100));
    await w2.abort(new Error('the user left'));
    await rejectsWith(d2.result, 'bad_argument', KmsEnvelopeError);
    await rejectsWith(d2.header, 'bad_argument', KmsEnvelopeError);

    // A cancel while the keyring has not answered: header rejects.
    const never = { onEncrypt: () => new Promise(() => {}), onDecrypt: () => new Promise(() => {}) };
    const e1 = encryptStream({ keyring: never });
    await e1.readable.cancel(new Error('gone'));
    await rejectsWith(e1.header, 'bad_argument', KmsEnvelopeError);
    const d3 = decryptStream({ keyring: never });
    d3.writable.getWriter().write(ct).catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
    await d3.readable.cancel(new Error('gone'));
    await rejectsWith(d3.header, 'bad_argument', KmsEnvelopeError);
    await rejectsWith(d3.result, 'bad_argument', KmsEnvelopeError);

    // A stop on one side reaches the other at once, as a TransformStream's does:
    // a cancel errors the writable side (writer.closed rejects, a pipe's
    // idle source is cancelled), an abort errors the readable side.
    const d4 = decryptStream({ keyring: aes });
    const w4 = d4.writable.getWriter();
    w4.write(ct.subarray(0, 1000)).catch(() => {});
    await d4.readable.cancel(new Error('bye'));
    await assert.rejects(w4.closed, /bye/);
    let cancelledWith = null;
    const idle = new ReadableStream({
      start(c) { c.enqueue(ct.subarray(0, 50_000)); },
      cancel(reason) { cancelledWith = reason; },
    });
    const r5 = idle.pipeThrough(decryptStream({ keyring: aes })).getReader();
    assert.ok((await r5.read()).value.length > 0);
    await r5.cancel(new Error('enough'));
    await new Promise((r) => setTimeout(r, 20));
    assert.match(String(cancelledWith), /enough/);
    const d6 = decryptStream({ keyring: aes });
    const r6 = d6.readable.getReader();
    await d6.writable.getWriter().abort(new Error('ab'));
    await assert.rejects(r6.closed, /ab/);

    // A cancel after the whole message was read and authenticated ends nothing
    // more, and resolves.
    const d7 = decryptStream({ keyring: aes });
    const w7 = d7.writable.getWriter();
    w7.write(ct).catch(() => {});
    w7.close().catch(() => {});
    const r7 = d7.readable.getReader();
    let got = 0;
    while (got < 200_000) got += (await r7.read()).value.length;
    await d7.result;
    await r7.cancel();
  } finally {
    setTransformerCancel(undefined);
  }
});
