// Streams whose frames the host seals and opens (src/host-stream.js), as
// browsers run them on WebCrypto. Here the host's `seal` and `open` are
// node:crypto's AES-GCM, finishing frames out of order on purpose: the
// frame cutting, the held-back last frame, the order of the output, the
// signature hash and the release rules must all hold.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import esdk from '@aws-crypto/client-node';
import { encrypt, decrypt, encryptStream, decryptStream, inspect, RawAesKeyring } from 'kms-envelope';
import { bulkHost, openedCount, setBulk, setMinBytes } from '../src/external.js';
import { hostOpenedStreams, streamHost } from '../src/host-stream.js';
import { SUITES, aesKey, bytesOf, policyFor, rejectsWith, streamingHost } from './helpers.js';

const nodeHost = bulkHost();
after(() => setBulk(nodeHost));

const wrappingKey = aesKey();
const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'stream', wrappingKey });

/** The host's stream hooks over node:crypto (helpers.js), frames finishing out of order. */
const sealingHost = (opts) => streamingHost(nodeHost, opts);

/** Runs `plaintext` through encryptStream in chunks of the given sizes (cycled). */
async function streamed(plaintext, opts, sizes) {
  const chunks = [];
  for (let at = 0, i = 0; at < plaintext.length || (i === 0 && sizes[0] === 0); i++) {
    const n = sizes[i % sizes.length];
    chunks.push(plaintext.subarray(at, at + n));
    at += n;
    if (n === 0 && plaintext.length === 0) break;
  }
  const out = [];
  const input = new ReadableStream({ pull(c) { if (chunks.length) c.enqueue(chunks.shift()); else c.close(); } });
  await input.pipeThrough(encryptStream(opts)).pipeTo(new WritableStream({ write(b) { out.push(b); } }));
  return Buffer.concat(out);
}

test('every suite: host-sealed streams read back, whatever the chunking', async () => {
  setBulk(sealingHost());
  try {
    const FL = 64;
    for (const suite of SUITES) {
      const opts = { keyring, algorithmSuite: suite, frameLength: FL, commitmentPolicy: policyFor(suite) };
      assert.ok(streamHost(FL), 'the stream takes the host path');
      for (const len of [0, 1, FL - 1, FL, FL + 1, 3 * FL, 5 * FL + 7]) {
        const pt = bytesOf(len, suite + len);
        for (const sizes of [[len || 1], [1], [FL], [FL + 3, 2], [0, 7, 2 * FL]]) {
          const before = streamingHost.sealed;
          const ct = await streamed(pt, opts, sizes);
          assert.ok(streamingHost.sealed > before, 'the host sealed the frames');
          const d = await decrypt(ct, { keyring, commitmentPolicy: policyFor(suite) });
          assert.deepEqual(Buffer.from(d.plaintext), Buffer.from(pt), `suite ${suite} len ${len} chunks ${sizes}`);
          // As many frames as the core's own stream writes (the last full frame is the final one).
          const frames = len === 0 ? 1 : Math.ceil(len / FL);
          assert.equal(streamingHost.sealed - before, frames, `suite ${suite} len ${len}`);
        }
      }
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('a large host-sealed stream, many frames in flight, reads back', async () => {
  setBulk(sealingHost());
  try {
    const pt = bytesOf(12 << 20, 9);
    for (const suite of [0x0478, 0x0578]) {
      const ct = await streamed(pt, { keyring, algorithmSuite: suite, frameLength: 4096 }, [1 << 20, 333_333]);
      setBulk(nodeHost);
      assert.deepEqual(Buffer.from((await decrypt(ct, { keyring })).plaintext), Buffer.from(pt));
      setBulk(sealingHost());
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('a host seal that fails errors the stream with a code', async () => {
  setBulk(sealingHost({ fail: (n) => n % 5 === 3 }));
  try {
    await rejectsWith(streamed(bytesOf(64 * 40), { keyring, frameLength: 64 }, [100]), 'bad_argument');
  } finally {
    setBulk(nodeHost);
  }
});

test('a declared plaintextLength holds on the host path', async () => {
  setBulk(sealingHost());
  try {
    const pt = bytesOf(300);
    await rejectsWith(streamed(pt, { keyring, frameLength: 64, plaintextLength: 299 }, [50]), 'bad_argument');
    await rejectsWith(streamed(pt, { keyring, frameLength: 64, plaintextLength: 301 }, [50]), 'bad_argument');
    const ct = await streamed(pt, { keyring, frameLength: 64, plaintextLength: 300 }, [50]);
    assert.deepEqual(Buffer.from((await decrypt(ct, { keyring })).plaintext), Buffer.from(pt));
  } finally {
    setBulk(nodeHost);
  }
});

test('frames shorter than the host minimum stay in wasm', () => {
  setBulk({ ...sealingHost(), minBytes: 1024 });
  try {
    assert.equal(streamHost(512), null);
    assert.ok(streamHost(1024));
    assert.ok(streamHost(undefined), 'the default frame length, 4 KiB');
    setBulk(nodeHost);
    assert.equal(streamHost(1 << 20), null, "Node's host seals no stream frames");
  } finally {
    setBulk(nodeHost);
  }
});

test('one-shot and host-sealed stream messages of the same input are the same length', async () => {
  setBulk(sealingHost());
  try {
    const pt = bytesOf(1000);
    const ct = await streamed(pt, { keyring, algorithmSuite: 0x0478, frameLength: 100 }, [64]);
    const once = await encrypt(pt, { keyring, algorithmSuite: 0x0478, frameLength: 100 });
    assert.equal(ct.length, once.length);
  } finally {
    setBulk(nodeHost);
  }
});

test('client-node reads host-sealed streams, signed and not', async () => {
  const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdk;
  const theirs = new RawAesKeyringNode({
    keyNamespace: 'ns', keyName: 'stream', unencryptedMasterKey: wrappingKey.slice(),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
  setBulk(sealingHost());
  try {
    const pt = bytesOf(50_000, 3);
    for (const suite of [0x0478, 0x0578, 0x0378]) {
      const ct = await streamed(pt, { keyring, algorithmSuite: suite, frameLength: 4096, commitmentPolicy: policyFor(suite) }, [777]);
      const { plaintext } = await client.decrypt(theirs, ct);
      assert.deepEqual(Buffer.from(plaintext), Buffer.from(pt), `suite ${suite}`);
    }
  } finally {
    setBulk(nodeHost);
  }
});

/** Runs `ct` through decryptStream in chunks of `size`; the plaintext pieces and the result. */
async function unstreamed(ct, opts, size) {
  const pieces = [];
  let i = 0;
  const input = new ReadableStream({ pull(c) { if (i < ct.length) { c.enqueue(ct.subarray(i, i + size)); i += size; } else c.close(); } });
  const d = decryptStream(opts);
  const done = input.pipeThrough(d).pipeTo(new WritableStream({ write(b) { pieces.push(Buffer.from(b)); } }));
  try {
    await done;
    return { plaintext: Buffer.concat(pieces), result: await d.result };
  } catch (e) {
    e.released = Buffer.concat(pieces);
    throw e;
  }
}

test('every suite: streams opened on the host read back, under both release rules', async () => {
  setBulk(sealingHost());
  try {
    const FL = 64;
    for (const suite of SUITES) {
      const commitmentPolicy = policyFor(suite);
      for (const len of [0, 1, FL, FL + 1, 5 * FL + 7]) {
        const pt = bytesOf(len, suite * 3 + len);
        const ct = await encrypt(pt, { keyring, algorithmSuite: suite, frameLength: FL, commitmentPolicy, encryptionContext: { a: 'b' } });
        for (const size of [1, 50, ct.length]) {
          for (const signedRelease of ['after-signature', 'frames']) {
            const before = hostOpenedStreams();
            const { plaintext, result } = await unstreamed(ct, { keyring, commitmentPolicy, signedRelease }, size);
            assert.deepEqual(plaintext, Buffer.from(pt), `suite ${suite} len ${len} size ${size}`);
            assert.equal(result.encryptionContext.a, 'b');
            // AES-192 suites too: node:crypto takes every key length.
            assert.equal(hostOpenedStreams() - before, 1, 'the host opened the frames');
          }
        }
      }
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('host-opened streams: every truncation and flipped bit fails, releasing only authenticated frames', async () => {
  setBulk(sealingHost());
  try {
    for (const suite of [0x0478, 0x0578]) {
      const pt = bytesOf(400, suite);
      const ct = await encrypt(pt, { keyring, algorithmSuite: suite, frameLength: 64 });
      const cases = [];
      for (let cut = 0; cut < ct.length; cut += 3) cases.push(ct.subarray(0, cut));
      for (let i = 0; i < ct.length; i += 2) {
        const bad = ct.slice();
        bad[i] ^= 0x10;
        cases.push(bad);
      }
      for (const bad of cases) {
        for (const signedRelease of ['after-signature', 'frames']) {
          const e = await unstreamed(bad, { keyring, signedRelease }, 37).then(() => null, (err) => err);
          assert.ok(e, `suite ${suite}: a bad message of ${bad.length} bytes opened`);
          assert.ok(['malformed_message', 'authentication_failed', 'no_key_unwrapped', 'policy_violation'].includes(e.code), e.code);
          // What was released is a prefix of the plaintext, of whole regular frames,
          // and nothing at all for a signed message held for its signature.
          assert.deepEqual(e.released, Buffer.from(pt.subarray(0, e.released.length)));
          assert.equal(e.released.length % 64, 0);
          if (suite === 0x0578 && signedRelease === 'after-signature') assert.equal(e.released.length, 0);
        }
      }
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('host-opened streams: a failing host open errors the stream; limits hold; small frames stay in the core', async () => {
  const pt = bytesOf(64 * 30);
  const ct = await encrypt(pt, { keyring, algorithmSuite: 0x0578, frameLength: 64 });
  setBulk(sealingHost({ failOpen: (n) => n === 7 }));
  try {
    await rejectsWith(unstreamed(ct, { keyring }, 100), 'bad_argument');
    setBulk(sealingHost());
    await rejectsWith(unstreamed(ct, { keyring, maxBufferedPlaintext: 1000 }, 100), 'policy_violation');
    const { plaintext } = await unstreamed(ct, { keyring, maxBufferedPlaintext: 1000, signedRelease: 'frames' }, 100);
    assert.deepEqual(plaintext, Buffer.from(pt));
    setBulk({ ...sealingHost(), minBytes: 1024 });
    const before = hostOpenedStreams();
    assert.deepEqual((await unstreamed(ct, { keyring }, 100)).plaintext, Buffer.from(pt));
    assert.equal(hostOpenedStreams(), before, '64-byte frames are opened in wasm');
  } finally {
    setBulk(nodeHost);
  }
});

test("host-opened streams read client-node's streamed messages", async () => {
  const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdk;
  const theirs = new RawAesKeyringNode({
    keyNamespace: 'ns', keyName: 'stream', unencryptedMasterKey: wrappingKey.slice(),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const pt = bytesOf(70_000, 5);
  setBulk(sealingHost());
  try {
    for (const suiteId of [0x0478, 0x0578]) {
      const { result } = await client.encrypt(theirs, pt, { suiteId, frameLength: 4096 });
      const before = hostOpenedStreams();
      assert.deepEqual((await unstreamed(new Uint8Array(result), { keyring }, 5000)).plaintext, Buffer.from(pt));
      assert.equal(hostOpenedStreams() - before, 1);
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('one large chunk keeps at most 8 MiB on the host at once', async () => {
  const host = sealingHost();
  setBulk(host);
  try {
    const pt = bytesOf(40 << 20, 11);
    const ct = await streamed(pt, { keyring, algorithmSuite: 0x0478, frameLength: 65536 }, [pt.length]);
    assert.ok(host.peakSealing <= (8 << 20) + 65536, `peak ${host.peakSealing}`);
    assert.ok(host.peakSealing >= 1 << 20, 'frames were sealed concurrently');
    assert.deepEqual(Buffer.from((await unstreamed(ct, { keyring }, ct.length)).plaintext), Buffer.from(pt));
  } finally {
    setBulk(nodeHost);
  }
});

test('an aborted or cancelled host-path stream rejects its result', async () => {
  setBulk(sealingHost());
  try {
    const ct = await encrypt(bytesOf(64 * 40), { keyring, algorithmSuite: 0x0578, frameLength: 64 });
    // Decrypt: write most of a signed message (its plaintext is held for
    // the signature), then abort.
    const d = decryptStream({ keyring });
    const reading = d.readable.pipeTo(new WritableStream());
    const writer = d.writable.getWriter();
    await writer.write(ct.subarray(0, ct.length - 200));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writer.abort(new Error('the user left'));
    await rejectsWith(d.result, 'bad_argument');
    await assert.rejects(reading);
    // Cancelled from the reading side.
    const d2 = decryptStream({ keyring });
    const w2 = d2.writable.getWriter();
    w2.write(ct.subarray(0, 500)).catch(() => {});
    await d2.readable.cancel(new Error('not interested'));
    await rejectsWith(d2.result, 'bad_argument');
    // Encrypt: aborting leaves nothing pending (a later write fails).
    const e = encryptStream({ keyring, frameLength: 64 });
    const we = e.writable.getWriter();
    e.readable.pipeTo(new WritableStream()).catch(() => {});
    await we.write(bytesOf(1000));
    await we.abort(new Error('stop'));
    await assert.rejects(we.write(bytesOf(10)));
  } finally {
    setBulk(nodeHost);
  }
});

test("one-shot messages of one unsigned frame open with the host's open, tampering included", async () => {
  const host = sealingHost();
  setBulk(host);
  setMinBytes(0);
  try {
    for (const suite of [0x0478, 0x0178, 0x0014]) {
      const commitmentPolicy = policyFor(suite);
      for (const len of [0, 1, 1000]) {
        const pt = bytesOf(len, len + 1);
        const ct = await encrypt(pt, { keyring, algorithmSuite: suite, commitmentPolicy });
        const [before, opens] = [openedCount(), host.opens];
        const d = await decrypt(ct, { keyring, commitmentPolicy, encryptionContext: {} });
        assert.deepEqual(Buffer.from(d.plaintext), Buffer.from(pt), `suite ${suite} len ${len}`);
        assert.equal(openedCount() - before, 1, 'opened on the external path');
        assert.equal(host.opens - opens, 1, "by the host's open, its plaintext the result");
        // The tag's last and first bytes, and the ciphertext's last.
        for (const at of len ? [ct.length - 1, ct.length - 16, ct.length - 17] : [ct.length - 1, ct.length - 16]) {
          const bad = ct.slice();
          bad[at] ^= 1;
          await rejectsWith(decrypt(bad, { keyring, commitmentPolicy }), 'authentication_failed');
        }
      }
    }
  } finally {
    setMinBytes(undefined);
    setBulk(nodeHost);
  }
});

test('a header declared past maxFrameSize is refused before it is buffered, on both paths', async () => {
  // 65,535 keys of three 64 KiB fields each: a 12.9 GiB header.
  const start = Uint8Array.from([2, 0x05, 0x78, ...new Uint8Array(32).fill(1), 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const filler = new Uint8Array(64 * 1024).fill(0xff);
  for (const host of [nodeHost, sealingHost()]) {
    setBulk(host);
    try {
      let fed = 0;
      let i = 0;
      const input = new ReadableStream({
        pull(c) {
          const piece = i++ === 0 ? start : filler;
          fed += piece.length;
          if (fed > 8 << 20) c.error(new Error('still reading'));
          else c.enqueue(piece);
        },
      });
      const d = decryptStream({ keyring, maxFrameSize: 1 << 20 });
      await rejectsWith(input.pipeThrough(d).pipeTo(new WritableStream()), 'policy_violation');
      await rejectsWith(d.result, 'policy_violation');
      assert.ok(fed <= (1 << 20) + 3 * filler.length, `read ${fed} bytes`);
      // A real message in 1-byte pieces still reads.
      const ct = await encrypt(bytesOf(3000), { keyring, frameLength: 1024 });
      assert.deepEqual((await unstreamed(ct, { keyring }, 1)).plaintext, Buffer.from(bytesOf(3000)));
    } finally {
      setBulk(nodeHost);
    }
  }
});

test('a writer may reuse its chunk buffer (a Node Buffer) once write() resolves', async () => {
  // Buffer.prototype.slice is a view: what the host path keeps (the header,
  // until it is whole, to see the suite) must be its own copy.
  setBulk(sealingHost());
  try {
    for (const suite of [0x0478, 0x0578]) {
      const pt = bytesOf(20000, suite);
      const ct = await encrypt(pt, { keyring, algorithmSuite: suite, frameLength: 512 });
      const ds = decryptStream({ keyring });
      const out = new Response(ds.readable).arrayBuffer();
      const writer = ds.writable.getWriter();
      const chunk = Buffer.alloc(37);
      for (let i = 0; i < ct.length; i += chunk.length) {
        const n = Math.min(chunk.length, ct.length - i);
        chunk.set(ct.subarray(i, i + n));
        await writer.write(chunk.subarray(0, n));
        chunk.fill(0xee);
      }
      await writer.close();
      assert.deepEqual(new Uint8Array(await out), pt);
    }
  } finally {
    setBulk(nodeHost);
  }
});

test('maxFrameSize bounds what each frame holds, on both paths', async () => {
  for (const host of [nodeHost, sealingHost()]) {
    setBulk(host);
    try {
      // A short message with a frame length past the limit streams: its
      // one frame holds 3000 bytes.
      const short = await encrypt(bytesOf(3000), { keyring, frameLength: 1 << 27 });
      assert.deepEqual((await unstreamed(short, { keyring, maxFrameSize: 4096 }, 1000)).plaintext, Buffer.from(bytesOf(3000)));
      // Frames that hold more are refused, regular or final.
      for (const [size, frameLength] of [[20000, 8192], [5000, 8192]]) {
        const ct = await encrypt(bytesOf(size), { keyring, frameLength });
        await rejectsWith(unstreamed(ct, { keyring, maxFrameSize: 4096 }, 1000), 'policy_violation');
      }
    } finally {
      setBulk(nodeHost);
    }
  }
});

test('decryptStream.header settles before any plaintext, on the host path and in the core', async () => {
  const pt = bytesOf(20_000, 5);
  for (const host of [true, false]) {
    setBulk(host ? sealingHost() : nodeHost);
    try {
      for (const suite of [0x0478, 0x0578]) {
        const ct = await encrypt(pt, { keyring, algorithmSuite: suite, frameLength: 1024, encryptionContext: { tenant: 'acme' } });
        const opened = hostOpenedStreams();
        const ds = decryptStream({ keyring });
        const events = [];
        ds.header.then((h) => events.push(['header', h]));
        const out = [];
        const input = new ReadableStream({ pull(c) { c.enqueue(ct.slice(0, 100)); c.enqueue(ct.slice(100)); c.close(); } });
        await input.pipeThrough(ds).pipeTo(new WritableStream({ write(b) { events.push(['plaintext']); out.push(b); } }));
        assert.deepEqual(new Uint8Array(Buffer.concat(out)), pt);
        assert.equal(events[0][0], 'header', `host ${host}, suite ${suite}: ${events.map((e) => e[0])}`);
        const { header, encryptionContext, algorithmSuite } = events[0][1];
        assert.equal(algorithmSuite, suite);
        assert.equal(header.algorithmSuite, suite);
        assert.equal(encryptionContext.tenant, 'acme');
        assert.equal(hostOpenedStreams() - opened, host ? 1 : 0, 'the path under test');
      }
      // A pipe stopped from the header's callback delivers none of the
      // plaintext, even of the chunk that completed the header.
      const otherCt = await encrypt(pt, { keyring, algorithmSuite: 0x0478, frameLength: 1024, encryptionContext: { tenant: 'other' } });
      for (const cut of [0, 200]) {
        const stop = new AbortController();
        const piped = decryptStream({ keyring });
        piped.header.then((h) => { if (h.encryptionContext.tenant !== 'acme') stop.abort(new Error('wrong tenant')); });
        const chunks = cut ? [otherCt.subarray(0, cut), otherCt.subarray(cut)] : [otherCt];
        let delivered = 0;
        const from = new ReadableStream({ pull(c) { for (const x of chunks) c.enqueue(x); c.close(); } });
        await assert.rejects(from.pipeThrough(piped).pipeTo(new WritableStream({ write(b) { delivered += b.length; } }), { signal: stop.signal }), /wrong tenant/);
        assert.equal(delivered, 0, `host ${host}, cut ${cut}`);
      }
      // A reader that awaits the header before reading, and cancels: nothing
      // of the plaintext reaches it.
      const other = await encrypt(pt, { keyring, algorithmSuite: 0x0478, frameLength: 1024, encryptionContext: { tenant: 'other' } });
      const checked = decryptStream({ keyring });
      const writing = new ReadableStream({ pull(c) { c.enqueue(other); c.close(); } }).pipeTo(checked.writable).catch(() => {});
      const reader = checked.readable.getReader();
      assert.equal((await checked.header).encryptionContext.tenant, 'other');
      await reader.cancel(new Error('wrong tenant'));
      await writing;
      await assert.rejects(checked.result, (e) => e.code === 'bad_argument');
      // A stream that fails before its header: both promises reject with its error.
      const ds = decryptStream({ keyring });
      const input = new ReadableStream({ pull(c) { c.enqueue(new Uint8Array([9, 9, 9, 9])); c.close(); } });
      await assert.rejects(input.pipeThrough(ds).pipeTo(new WritableStream()), (e) => e.code === 'malformed_message');
      await assert.rejects(ds.header, (e) => e.code === 'malformed_message');
      await assert.rejects(ds.result, (e) => e.code === 'malformed_message');
    } finally {
      setBulk(nodeHost);
    }
  }
});

test('plaintext the host opens after the reader cancelled is wiped, never left behind', async () => {
  // Records each chunk whose enqueue throws (the reader is gone).
  const Controller = Object.getPrototypeOf(await new Promise((resolve) => new TransformStream({ start: resolve })));
  const enqueue = Controller.enqueue;
  const refused = [];
  Controller.enqueue = function probe(chunk) {
    try {
      return enqueue.call(this, chunk);
    } catch (e) {
      refused.push(chunk);
      throw e;
    }
  };
  setBulk(sealingHost());
  try {
    const ct = await encrypt(new Uint8Array(64 * 1024).fill(0x41), { keyring, algorithmSuite: 0x0478, frameLength: 1024 });
    const ds = decryptStream({ keyring });
    const writer = ds.writable.getWriter();
    const writing = (async () => {
      for (let i = 0; i < ct.length; i += 997) await writer.write(ct.subarray(i, i + 997));
      await writer.close();
    })().catch(() => {});
    const reader = ds.readable.getReader();
    await reader.read();
    await reader.cancel('stop'); // resolves: no internal error escapes
    await writing;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(refused.every((chunk) => chunk.every((b) => b === 0)), 'refused plaintext is wiped');
  } finally {
    Controller.enqueue = enqueue;
    setBulk(nodeHost);
  }
});

test('encryptStream.header: the header written and the whole context, on the host path and in the core', async () => {
  const { RequiredEncryptionContextMaterialsManager } = await import('kms-envelope');
  const manager = new RequiredEncryptionContextMaterialsManager({ keyring, requiredEncryptionContextKeys: ['tenant'] });
  for (const host of [true, false]) {
    setBulk(host ? sealingHost() : nodeHost);
    try {
      for (const suite of [0x0478, 0x0578]) {
        const es = encryptStream({ materialsManager: manager, algorithmSuite: suite, frameLength: 1024, encryptionContext: { tenant: 'acme', purpose: 'p' } });
        const out = [];
        const writing = new ReadableStream({ pull(c) { c.enqueue(bytesOf(5000, 1)); c.close(); } })
          .pipeThrough(es).pipeTo(new WritableStream({ write(b) { out.push(b); } }));
        const { header, encryptionContext, algorithmSuite } = await es.header;
        await writing;
        const ct = new Uint8Array(Buffer.concat(out));
        const stored = (await inspect(ct));
        assert.equal(algorithmSuite, suite);
        assert.equal(header.algorithmSuite, suite);
        assert.equal(encryptionContext.tenant, 'acme', 'the whole context');
        assert.equal(stored.encryptionContext.tenant, undefined, 'not stored');
        assert.equal(encryptionContext.purpose, 'p');
        assert.equal(Buffer.from(header.messageId).toString('hex'), Buffer.from(stored.messageId).toString('hex'));
        assert.deepEqual((await decrypt(ct, { materialsManager: manager, encryptionContext: { tenant: 'acme' } })).plaintext, bytesOf(5000, 1));
      }
    } finally {
      setBulk(nodeHost);
    }
  }
  // A keyring that fails: header rejects with its error.
  const failing = encryptStream({ keyring: { onEncrypt: async () => { throw Object.assign(new Error('down'), { code: 'Unavailable' }); }, onDecrypt: async () => null } });
  const piping = new ReadableStream({ pull(c) { c.enqueue(bytesOf(10)); c.close(); } }).pipeThrough(failing).pipeTo(new WritableStream());
  await assert.rejects(failing.header, (e) => e.code === 'kms_error');
  await assert.rejects(piping);
});

test('a short message under the largest frame length holds its own size on the host path, not a frame', async () => {
  setBulk(sealingHost());
  try {
    const frameLength = 2 ** 32 - 1;
    assert.ok(streamHost(frameLength), 'the stream takes the host path');
    const stream = encryptStream({ keyring, algorithmSuite: 0x0478, frameLength });
    const out = [];
    const reading = stream.readable.pipeTo(new WritableStream({ write(b) { out.push(b); } }));
    const writer = stream.writable.getWriter();
    const before = process.memoryUsage().arrayBuffers;
    await writer.write(bytesOf(10, 1));
    // The pending frame grows with what was written (it was a whole frame:
    // 4 GiB, then wiped page by page on close).
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'the pending frame is not frame-sized');
    await writer.close();
    await reading;
    const d = await decrypt(Buffer.concat(out), { keyring });
    assert.deepEqual(Buffer.from(d.plaintext), Buffer.from(bytesOf(10, 1)));
  } finally {
    setBulk(nodeHost);
  }
});

test('host-opened streams release a verified signed message before close(), as the core does', async () => {
  setBulk(sealingHost());
  try {
    for (const suite of [0x0578, 0x0478]) {
      const pt = bytesOf(20_000, suite);
      const ct = await encrypt(pt, { keyring, algorithmSuite: suite, frameLength: 4096 });
      for (const host of [true, false]) {
        setBulk(host ? sealingHost() : nodeHost);
        const before = hostOpenedStreams();
        const stream = decryptStream({ keyring });
        const reader = stream.readable.getReader();
        const writer = stream.writable.getWriter();
        writer.write(ct).catch(() => {});
        // The writer stays open: the whole message, footer verified, is out.
        const got = [];
        let n = 0;
        while (n < pt.length) {
          const { value } = await reader.read();
          got.push(value);
          n += value.length;
        }
        assert.deepEqual(Buffer.concat(got), Buffer.from(pt), `suite ${suite.toString(16)} host ${host}`);
        if (host) assert.equal(hostOpenedStreams() - before, 1, 'the host opened the frames');
        // Bytes after the end still fail the stream.
        await assert.rejects(writer.write(new Uint8Array(3)), (e) => e.code === 'malformed_message');
        await assert.rejects(stream.result, (e) => e.code === 'malformed_message');
      }
    }
  } finally {
    setBulk(nodeHost);
  }
});
