// Large one-shot messages on the host's AES-GCM (src/external.js): the same
// messages as the core's path, both ways, with the path forced for small
// messages here (setMinBytes) so every suite and frame boundary is cheap.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  encrypt, decrypt, hostCrypto, RawAesKeyring, CachingMaterialsManager, KmsEnvelopeError,
} from 'kms-envelope';
import { bulkHost, hostCheckedCount, setBulk, setMinBytes } from '../src/external.js';
import { hashOffThread, hashThreadJobs, hashThreadStarted, stopHashThread } from '../src/hash-thread.js';
import { createHash } from 'node:crypto';
import { SUITES, SIGNED, aesKey, policyFor, rejectsWith } from './helpers.js';

after(() => {
  setMinBytes(undefined);
  hostCrypto(true);
});

const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'ext', wrappingKey: aesKey() });
const FRAME = 64;
const LENGTHS = [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME + 5];
const plaintextOf = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

/** Runs `f` on one path: `external` (the host's AES-GCM), `core` (wasm with Node's hooks) or `wasm` (no host at all). */
async function on(path, f) {
  hostCrypto(path !== 'wasm');
  setMinBytes(path === 'external' ? 0 : Infinity);
  try {
    return await f();
  } finally {
    hostCrypto(true);
    setMinBytes(0);
  }
}

test('every suite and frame boundary reads across the external, core and wasm paths', async () => {
  for (const suite of SUITES) {
    const opts = { keyring, algorithmSuite: suite, frameLength: FRAME, commitmentPolicy: policyFor(suite) };
    for (const len of LENGTHS) {
      const pt = plaintextOf(len);
      for (const [from, to] of [['external', 'core'], ['core', 'external'], ['external', 'wasm'], ['wasm', 'external'], ['external', 'external']]) {
        const ct = await on(from, () => encrypt(pt, opts));
        const out = await on(to, () => decrypt(ct, { keyring, commitmentPolicy: policyFor(suite) }));
        assert.deepEqual(out.plaintext, pt, `suite ${suite.toString(16)} len ${len} ${from} -> ${to}`);
        assert.equal(out.algorithmSuite, suite);
      }
    }
  }
});

test('unsigned messages have the same length on both paths', async () => {
  for (const suite of SUITES.filter((s) => !SIGNED.has(s))) {
    const opts = { keyring, algorithmSuite: suite, frameLength: FRAME, commitmentPolicy: policyFor(suite) };
    const pt = plaintextOf(1000);
    const a = await on('external', () => encrypt(pt, opts));
    const b = await on('core', () => encrypt(pt, opts));
    assert.equal(a.length, b.length);
  }
});

test('the encryption context comes back from the external path', async () => {
  const pt = plaintextOf(300);
  const ct = await on('external', () => encrypt(pt, { keyring, encryptionContext: { purpose: 'test', a: 'b' }, frameLength: FRAME }));
  const out = await on('external', () => decrypt(ct, { keyring, encryptionContext: { purpose: 'test' } }));
  assert.deepEqual(out.encryptionContext.purpose, 'test');
  assert.deepEqual(out.encryptionContext.a, 'b');
  assert.equal(out.header.frameLength, FRAME);
  await on('external', () => rejectsWith(decrypt(ct, { keyring, encryptionContext: { purpose: 'other' } }), 'policy_violation', KmsEnvelopeError));
});

test('every truncation, a trailing byte and flipped bits fail on the external path with a code', async () => {
  for (const suite of [0x0478, 0x0578]) {
    const ct = await on('external', () => encrypt(plaintextOf(200), { keyring, algorithmSuite: suite, frameLength: FRAME }));
    const header = (await decrypt(ct, { keyring })).header.headerLength;
    for (let cut = 0; cut < ct.length; cut++) {
      await on('external', () => assert.rejects(decrypt(ct.subarray(0, cut), { keyring }), (e) =>
        e instanceof KmsEnvelopeError && ['malformed_message', 'authentication_failed'].includes(e.code)));
    }
    const longer = new Uint8Array(ct.length + 1);
    longer.set(ct);
    await on('external', () => rejectsWith(decrypt(longer, { keyring }), 'malformed_message', KmsEnvelopeError));
    // The same code on every path (§13: tags, the signature, then the end
    // of the input): a bad last byte (of the signature, or of the last
    // frame's tag) with one more after it.
    const badEnd = longer.slice();
    badEnd[ct.length - 1] ^= 1;
    for (const path of ['external', 'core', 'wasm']) {
      await on(path, () => rejectsWith(decrypt(badEnd, { keyring }), 'authentication_failed', KmsEnvelopeError));
    }
    // Every flipped, inserted or removed byte fails as on the core's path:
    // the first fault in the message's order (a shifted frame fails its
    // own tag before the next frame head is found malformed).
    const failure = (path, bytes) => on(path, () => decrypt(bytes, { keyring })).then(
      () => 'decrypted', (e) => (e instanceof KmsEnvelopeError ? `${e.code}: ${e.message}` : String(e)));
    for (let i = header; i <= ct.length; i++) {
      const faults = [Uint8Array.of(...ct.subarray(0, i), 0x5a, ...ct.subarray(i))];
      if (i < ct.length) {
        const flipped = ct.slice();
        flipped[i] ^= 0x80;
        faults.push(flipped, Uint8Array.of(...ct.subarray(0, i), ...ct.subarray(i + 1)));
      }
      for (const bad of faults) {
        const expected = await failure('core', bad);
        assert.match(expected, /^(malformed_message|authentication_failed): /);
        assert.equal(await failure('external', bad), expected, `byte ${i} of suite ${suite.toString(16)}`);
      }
    }
  }
});

test('node:crypto checks the signatures of the external path, a forged one included', async () => {
  for (const suite of [0x0214, 0x0578]) {
    const pt = plaintextOf(500);
    const ct = await on('external', () => encrypt(pt, { keyring, algorithmSuite: suite, frameLength: FRAME, commitmentPolicy: policyFor(suite) }));
    const before = hostCheckedCount();
    const out = await on('external', () => decrypt(ct, { keyring, commitmentPolicy: policyFor(suite) }));
    assert.deepEqual(out.plaintext, pt);
    assert.equal(hostCheckedCount(), before + 1, `suite ${suite.toString(16)} checked by the host`);
    // The last byte of the signature (P1363 halves s; DER ends in s too).
    const forged = ct.slice();
    forged[forged.length - 1] ^= 1;
    await on('external', () => rejectsWith(decrypt(forged, { keyring, commitmentPolicy: policyFor(suite) }), 'authentication_failed', KmsEnvelopeError));
    assert.equal(hostCheckedCount(), before + 2, 'the forged signature was checked by the host');
  }
});

test('a result being warmed up is not written past its mark until the warm-up is done', async () => {
  // A host whose warm-up overwrites the second half of the result late: had
  // any frame been written there first, its bytes would be lost.
  let warmed = 0;
  const late = {
    ...bulkHost(),
    warm(out) {
      const at = Math.floor(out.length / 2);
      warmed++;
      return { at, done: new Promise((resolve) => setTimeout(() => { out.fill(0xaa, at); resolve(); }, 20)) };
    },
  };
  const withLate = (f) => on('external', () => {
    setBulk(late);
    return f();
  });
  const counts = {};
  for (const suite of [0x0478, 0x0578]) {
    const opts = { keyring, algorithmSuite: suite, frameLength: FRAME };
    warmed = 0;
    for (const len of [1, FRAME, 9 * FRAME + 3]) {
      const pt = plaintextOf(len);
      const ct = await withLate(() => encrypt(pt, opts));
      assert.deepEqual((await on('core', () => decrypt(ct, { keyring }))).plaintext, pt, `seal ${len}`);
      assert.deepEqual((await withLate(() => decrypt(ct, { keyring }))).plaintext, pt, `open ${len}`);
      const bad = ct.slice();
      bad[bad.length >> 1] ^= 1;
      await withLate(() => assert.rejects(decrypt(bad, { keyring }), KmsEnvelopeError));
    }
    counts[suite] = warmed;
  }
  // Every unsigned seal and open is warmed (a tampered header fails before
  // any); a signed message's signature work has the other core, so it is not.
  assert.ok(counts[0x0478] >= 6, `${counts[0x0478]} unsigned results warmed`);
  assert.equal(counts[0x0578], 0);
  // A host without a hash thread still warms signed seals: the gate holds there too.
  warmed = 0;
  const pt = plaintextOf(9 * FRAME + 3);
  const ct = await on('external', () => {
    setBulk({ ...late, hasher: undefined });
    return encrypt(pt, { keyring, algorithmSuite: 0x0578, frameLength: FRAME });
  });
  assert.equal(warmed, 1);
  assert.deepEqual((await on('core', () => decrypt(ct, { keyring }))).plaintext, pt);
});

test('large messages on the warmed path read across paths, signed and not', async () => {
  setMinBytes(undefined);
  assert.equal(await hashThreadStarted(), true);
  // Above Node's warm-up threshold (16 MiB); a pattern, not a constant, so
  // a stray write anywhere shows.
  const pt = plaintextOf(40 << 20);
  for (const suite of [0x0478, 0x0578]) {
    const opts = { keyring, algorithmSuite: suite, frameLength: 65536 };
    const sealed = await encrypt(pt, opts);
    assert.ok((await on('core', () => decrypt(sealed, { keyring }))).plaintext.every((b, i) => b === pt[i]), 'core reads the warmed seal');
    const core = await on('core', () => encrypt(pt, opts));
    setMinBytes(undefined);
    const [jobs, checks] = [hashThreadJobs(), hostCheckedCount()];
    assert.ok((await decrypt(core, { keyring })).plaintext.every((b, i) => b === pt[i]), 'the warmed open reads the core');
    // Past 16 MiB a signature is checked over the hash thread's digest, not
    // by crypto.verify (which would copy the whole message).
    assert.deepEqual([hashThreadJobs() - jobs, hostCheckedCount() - checks], suite === 0x0578 ? [1, 0] : [0, 0]);
    if (suite === 0x0578) {
      const forged = core.slice();
      forged[forged.length - 1] ^= 1;
      await rejectsWith(decrypt(forged, { keyring }), 'authentication_failed', KmsEnvelopeError);
    }
  }
});

test('signed messages are hashed on the worker thread, several at once', async () => {
  assert.equal(await hashThreadStarted(), true);
  const before = hashThreadJobs();
  const pts = [1, 2, 3, 4].map((k) => plaintextOf(k * 5 * FRAME + k));
  const opts = (suite) => ({ keyring, algorithmSuite: suite, frameLength: FRAME, commitmentPolicy: policyFor(suite) });
  // Interleaved on the main thread, each on its own channel to the worker.
  const cts = await on('external', () => Promise.all(pts.map((pt, k) => encrypt(pt, opts(k % 2 ? 0x0578 : 0x0214)))));
  assert.equal(hashThreadJobs(), before + 4);
  for (const [k, ct] of cts.entries()) {
    assert.deepEqual((await on('core', () => decrypt(ct, { keyring, commitmentPolicy: policyFor(k % 2 ? 0x0578 : 0x0214) }))).plaintext, pts[k]);
  }
});

test('the hash thread: digests equal node:crypto, a stopped worker fails its jobs, the next one starts again', async () => {
  const data = plaintextOf(100_000);
  assert.equal(await hashThreadStarted(), true);
  const h = hashOffThread('sha384');
  h.update(data.subarray(0, 777));
  h.update(data.subarray(777));
  assert.deepEqual(await h.finish(), new Uint8Array(createHash('sha384').update(data).digest()));
  const cut = hashOffThread('sha512');
  cut.update(data);
  await stopHashThread();
  await assert.rejects(cut.finish(), /hashing on the worker thread failed/);
  // Until a new worker runs, nobody waits for it: the caller hashes itself.
  assert.throws(() => hashOffThread('sha256'), /still starting/);
  const pt = plaintextOf(3 * FRAME);
  const sealedMeanwhile = await on('external', () => encrypt(pt, { keyring, algorithmSuite: 0x0578, frameLength: FRAME }));
  assert.deepEqual((await on('core', () => decrypt(sealedMeanwhile, { keyring }))).plaintext, pt);
  assert.equal(await hashThreadStarted(), true);
  assert.throws(() => hashOffThread(undefined), TypeError);
  await assert.rejects(hashOffThread('no-such-hash').finish(), /hashing on the worker thread failed/);
  const again = hashOffThread('sha256');
  again.update(data);
  assert.deepEqual(await again.finish(), new Uint8Array(createHash('sha256').update(data).digest()));
});

test('a seal whose hash thread fails still makes a valid message', async () => {
  assert.equal(await hashThreadStarted(), true);
  const node = bulkHost();
  const failing = {
    ...node,
    hasher(name) {
      const inner = node.hasher(name);
      return { ...inner, async finish() { await stopHashThread(); return inner.finish(); } };
    },
  };
  const pt = plaintextOf(7 * FRAME + 1);
  const ct = await on('external', () => {
    setBulk(failing);
    return encrypt(pt, { keyring, algorithmSuite: 0x0578, frameLength: FRAME });
  });
  assert.deepEqual((await on('core', () => decrypt(ct, { keyring }))).plaintext, pt);
});

test('a custom async keyring, and one that rejects, on the external path', async () => {
  const key = aesKey();
  const custom = {
    async onEncrypt(m) {
      const dk = m.plaintextDataKey ?? aesKey();
      return { plaintextDataKey: dk, encryptedDataKeys: [{ providerId: 'x', providerInfo: new Uint8Array(1), ciphertext: dk.map((b, i) => b ^ key[i]) }] };
    },
    async onDecrypt(m, edks) {
      return { plaintextDataKey: edks[0].ciphertext.map((b, i) => b ^ key[i]) };
    },
  };
  const pt = plaintextOf(500);
  const ct = await on('external', () => encrypt(pt, { keyring: custom, frameLength: FRAME }));
  assert.deepEqual((await on('external', () => decrypt(ct, { keyring: custom }))).plaintext, pt);
  const failing = { ...custom, async onDecrypt() { throw new Error('no such key'); } };
  await on('external', () => assert.rejects(decrypt(ct, { keyring: failing }), (e) => e instanceof KmsEnvelopeError));
});

test('cached materials made on the core path (a node:crypto signing key) still encrypt', async () => {
  const cmm = new CachingMaterialsManager({ keyring, maxAge: 60_000, maxMessages: 10 });
  const pt = plaintextOf(700);
  // The first message caches materials whose signing key lives in node:crypto...
  const first = await on('core', () => encrypt(pt, { materialsManager: cmm, frameLength: FRAME }));
  // ...which cannot sign a digest: the external path hands the message back to the core.
  const second = await on('external', () => encrypt(pt, { materialsManager: cmm, frameLength: FRAME }));
  for (const ct of [first, second]) {
    assert.deepEqual((await on('external', () => decrypt(ct, { materialsManager: cmm }))).plaintext, pt);
  }
  // Decrypted on the core path, the cached materials hold a node:crypto
  // verifying key, which cannot check a digest: the external path hands
  // the message back to the core, and the cache serves it again.
  const other = new CachingMaterialsManager({ keyring, maxAge: 60_000, maxMessages: 10 });
  for (const ct of [first, second]) {
    assert.deepEqual((await on('core', () => decrypt(ct, { materialsManager: other }))).plaintext, pt);
    assert.deepEqual((await on('external', () => decrypt(ct, { materialsManager: other }))).plaintext, pt);
  }
});

test('a large message takes the external path by default and reads on the others', async () => {
  setMinBytes(undefined);
  const pt = plaintextOf(3 << 20);
  for (const suite of [0x0478, 0x0578]) {
    const ct = await encrypt(pt, { keyring, algorithmSuite: suite });
    hostCrypto(false);
    try {
      assert.deepEqual((await decrypt(ct, { keyring })).plaintext, pt);
    } finally {
      hostCrypto(true);
    }
    assert.deepEqual((await decrypt(ct, { keyring })).plaintext, pt);
  }
});
