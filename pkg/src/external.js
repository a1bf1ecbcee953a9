// Large one-shot messages whose frames run on the host's AES-GCM (WebCrypto
// in browsers, node:crypto in Node) straight between JS buffers: the
// plaintext and the message never cross into wasm memory. The core still
// does everything else (materials, header, keys, each frame's IV, AAD and
// place, the layout checks, the signature over a digest the host computes):
// see bindings/wasm/src/external.rs for the frame records read here.
//
// Internal to the package: the entry points install a host with setBulk().

import * as wasm from '../dist/kms_envelope_wasm.js';

/** Bytes per frame record (bindings/wasm/src/external.rs). */
export const RECORD = 144;
/** Frames fetched from wasm, and handed to the host, at once. */
const BATCH = 1024;

/**
 * The host's bulk AES-GCM: `{ minBytes, minSignedSealBytes, keyLengths (the AES
 * key lengths in bytes it takes), importKey(raw),
 * sealInto(key, iv, aad, plaintext, out, at), openInto(key, iv, aad,
 * ciphertextAndTag, out, at) -> boolean, digest(name, bytes) }`; the last
 * three may return Promises; optionally `ecdsa: { verify(check, bytes),
 * maxVerifyBytes?, maxSignBytes, generate(curve)? }` where the host's ECDSA
 * checks whole messages (both hosts, off the main thread; up to
 * `maxVerifyBytes` when given) and signs them (browsers). A host whose calls are synchronous may add
 * `hasher(name) -> { update(bytes), finish() (may return a Promise), close()? }`:
 * each frame is then handed to it right after it is sealed or opened (on
 * the calling thread, while still in cache, or copied to another; `close`
 * abandons a hash after a failure). A host may
 * also warm up a fresh result on another thread: `warm(out) -> { at, done }`
 * or null, where nothing is written to `out` at or past `at` until the
 * Promise `done` resolves (it must not reject). It is asked only for
 * messages whose signature work does not already run on another thread
 * (there, on 2 cores, the warm-up slowed a 64 MiB signed message by a
 * fifth: the two compete for the second core).
 *
 * Signed messages this path seals are signed by keys in wasm, over the
 * host's digest, unless `ecdsa.generate` makes the key: where the host's own
 * ECDSA through the core's hooks is faster, `minSignedSealBytes` keeps small
 * signed messages to seal off this path.
 */
let host = null;
let minBytesOverride;
let opened = 0;
let hostSigned = 0;
let hostChecked = 0;

/** Installs (or, with null, removes) the host's bulk AES-GCM. */
export function setBulk(impl) {
  host = impl;
}

/** Tests: the host installed. */
export function bulkHost() {
  return host;
}

/** Tests: the smallest message that takes this path (undefined: the host's). */
export function setMinBytes(n) {
  minBytesOverride = n;
}

/** Tests: how many messages this path has opened. */
export function openedCount() {
  return opened;
}

/** Tests: how many messages this path has had signed by a host key. */
export function hostSignedCount() {
  return hostSigned;
}

/** Tests: how many signatures the host has checked on this path. */
export function hostCheckedCount() {
  return hostChecked;
}

/**
 * The host, when a message of `length` bytes should take this path. To
 * seal, `signed()` tells whether the message will be signed, asked only
 * when that decides it; to open, leave it out.
 */
export function bulkFor(length, signed = () => false) {
  if (!host) return null;
  const min = minBytesOverride ?? host.minBytes;
  const minSigned = minBytesOverride ?? host.minSignedSealBytes;
  if (length >= min && length >= minSigned) return host;
  if (length < min && length < minSigned) return null;
  return length >= (signed() ? minSigned : min) ? host : null;
}

/**
 * A key pair the host makes for one message of `length` bytes of suite
 * `suite` (undefined: the default), to sign it whole; undefined where the
 * core should make the key. Not with a materials manager: a caching one
 * could hand the key to a stream, which needs a key that signs
 * incrementally.
 */
export async function hostSigningKey(h, length, suite, opts) {
  if (!h.ecdsa?.generate || opts.materialsManager !== undefined || length >= h.ecdsa.maxSignBytes) return undefined;
  const curve = wasm.suiteCurve(suite ?? 0x0578);
  // A host without this curve leaves the key to the core.
  return curve ? h.ecdsa.generate(curve).catch(() => undefined) : undefined;
}

/** Whether `h` takes the AES key of suite id `suite` (undefined: the default, 0x0578 or 0x0378). */
export function takesSuiteKey(h, suite) {
  return h.keyLengths.includes(wasm.suiteKeyLength(suite ?? 0x0578));
}

/** Whether suite id `suite` (undefined: the default, 0x0578) signs. */
export function suiteSigns(suite) {
  return suite === undefined || wasm.suiteSigns(suite);
}

export async function importKey(h, handle) {
  const raw = handle.contentKey();
  try {
    return await h.importKey(raw);
  } finally {
    raw.fill(0);
  }
}

/**
 * The host's warm-up of a fresh result `out` (Node: its pages mapped by
 * another thread) as a gate: nothing may write at or past `at` until
 * `pass()` resolves, or the host's bytes could land over ours. `end(f)` is
 * where a frame's writes end. Null when the host does none.
 */
function warmGate(h, out, end) {
  const w = h.warm?.(out);
  if (!w) return null;
  let passed = false;
  return {
    end,
    /**
     * Before writing `out[..to]`: a Promise to await when that reaches the
     * mark before the warm-up is done, else undefined.
     */
    before(to) {
      return !passed && to > w.at ? this.pass() : undefined;
    },
    /** Waits for the warm-up. */
    async pass() {
      // A warm-up that failed has stopped writing all the same.
      if (!passed) await w.done.catch(() => {});
      passed = true;
    },
  };
}

/** The frame whose record starts at `rec[o]`. */
export function frameAt(rec, o) {
  const dv = new DataView(rec.buffer, rec.byteOffset + o, RECORD);
  return {
    ciphertext: dv.getFloat64(0, true),
    plaintext: dv.getFloat64(8, true),
    length: dv.getUint32(16, true),
    iv: rec.subarray(o + 24, o + 36),
    head: rec.subarray(o + 36, o + 36 + rec[o + 20]),
    aad: rec.subarray(o + 60, o + 60 + rec[o + 21]),
  };
}

/**
 * Calls `each(record view, offset)` for every frame, a batch at a time,
 * awaiting what it returns; with a `gate`, the first frame to write past
 * its mark waits for it.
 */
async function forEachFrame(handle, each, gate = null, signal = undefined) {
  const n = handle.frameCount;
  for (let first = 0; first < n; first += BATCH) {
    // The caller aborted (api.js has rejected already): no more frames.
    if (signal?.aborted) throw new Error('aborted');
    const rec = handle.frames(first, BATCH);
    const pending = [];
    for (let o = 0; o < rec.length; o += RECORD) {
      const f = frameAt(rec, o);
      const wait = gate?.before(gate.end(f));
      if (wait) await wait;
      const r = each(f);
      if (r !== undefined && r !== true) pending.push(r);
    }
    const results = await Promise.all(pending);
    if (results.includes(false)) return false;
    // A synchronous host (node:crypto) never let the event loop run: with a
    // signal, a timer's abort must get its turn between batches.
    if (signal && pending.length === 0) await macrotask();
  }
  return true;
}

/** Resolves after the event loop's other tasks (timers, I/O) had a turn. */
function macrotask() {
  return new Promise((resolve) => (globalThis.setImmediate ?? setTimeout)(resolve));
}

const TAG = 16;

/** A signature hash over `bytes`, fed in order up to each offset given. */
function runningHash(h, name, bytes) {
  const hasher = h.hasher(name);
  let done = 0;
  return {
    upTo(end) {
      hasher.update(bytes.subarray(done, end));
      done = end;
    },
    async digest() {
      try {
        return await hasher.finish();
      } catch {
        // A hasher on another thread that failed (its worker stopped): the
        // bytes are all here, so the host's one-shot hash takes over.
        return h.digest(name, bytes.subarray(0, done));
      }
    },
    close() {
      hasher.close?.();
    },
  };
}

/** The signature hash of `bytes[0..len]` (undefined for unsigned suites). */
async function digestOf(h, name, running, bytes, len) {
  if (!name) return undefined;
  if (!running) return h.digest(name, bytes.subarray(0, len));
  running.upTo(len);
  return running.digest();
}

/**
 * After a failure: the running hash abandoned, the warm-up waited for (it
 * must not write after the wipe), the result wiped.
 */
async function discard(out, gate, running) {
  running?.close();
  await gate?.pass();
  out?.fill(0);
}

/**
 * Seals `plaintext` as the message `sealing` (a wasm Sealing) describes;
 * stops between batches of frames once `signal` (optional) aborts.
 */
export async function sealExternal(h, sealing, plaintext, signal = undefined) {
  let out;
  let gate = null;
  let running = null;
  try {
    out = new Uint8Array(sealing.messageLength);
    const signer = sealing.hostSigner();
    const hash = signer ? undefined : sealing.signatureHash;
    // A signature hash on another thread has the other core: no warm-up there.
    gate = hash && h.hasher ? null : warmGate(h, out, (f) => f.ciphertext + f.length + TAG);
    const header = sealing.header();
    await gate?.before(header.length);
    out.set(header, 0);
    const key = await importKey(h, sealing);
    const signed = sealing.signedLength;
    running = hash && h.hasher ? runningHash(h, hash, out) : null;
    await forEachFrame(sealing, (f) => {
      out.set(f.head, f.ciphertext - f.head.length);
      const r = h.sealInto(key, f.iv, f.aad, plaintext.subarray(f.plaintext, f.plaintext + f.length), out, f.ciphertext);
      running?.upTo(f.ciphertext + f.length + TAG);
      return r;
    }, gate, signal);
    await gate?.pass();
    if (signer) {
      // The host's key signs the whole message; its DER signature may be a
      // byte or two shorter than the longest the buffer was made for.
      const sig = await signer.sign(out.subarray(0, signed));
      const footer = sealing.footerFromSignature(sig, signer.format ?? 'der');
      hostSigned++;
      out.set(footer, signed);
      const end = signed + footer.length;
      return end === out.length ? out : out.slice(0, end);
    }
    out.set(sealing.footer(await digestOf(h, hash, running, out, signed)), signed);
    return out;
  } catch (e) {
    await discard(out, gate, running);
    throw e;
  } finally {
    sealing.free();
  }
}

/**
 * Opens `ciphertext` as `opening` (a wasm Opening) describes. All or
 * nothing: the plaintext is returned only once every frame and the
 * signature verified, and wiped on any failure (an abort of `signal`
 * included, noticed between batches of frames).
 */
export async function openExternal(h, opening, ciphertext, signal = undefined) {
  let out;
  let gate = null;
  let running = null;
  try {
    if (h.open && !opening.signatureHash && opening.frameCount === 1) {
      // One unsigned frame (small messages, in browsers): the host's
      // plaintext is the result, with no buffer to fill and no batch to
      // run (about 5% of a 1 KiB decrypt in Chromium).
      const key = await importKey(h, opening);
      const f = frameAt(opening.frames(0, 1), 0);
      out = await h.open(key, f.iv, f.aad, ciphertext.subarray(f.ciphertext, f.ciphertext + f.length + TAG));
      if (!out) throw opening.frameFailed();
      opened++;
      const result = opening.finish(undefined);
      result.plaintext = out;
      return result;
    }
    out = new Uint8Array(opening.plaintextLength);
    // A signature checked or hashed on another thread has the other core:
    // no warm-up there.
    gate = opening.signatureHash ? null : warmGate(h, out, (f) => f.plaintext + f.length);
    const key = await importKey(h, opening);
    const check = h.ecdsa && ciphertext.length <= (h.ecdsa.maxVerifyBytes ?? Infinity) ? opening.hostCheck() : undefined;
    // The host checks the signature (on its own thread: WebCrypto's, or
    // libuv's pool in Node) while the frames open here; its verdict is
    // read only once every frame has opened. A host that cannot check this
    // signature (no such curve) resolves undefined and leaves it to the
    // core, over the host's digest.
    const verdict = check ? h.ecdsa.verify(check, ciphertext.subarray(0, opening.signedLength)).catch(() => undefined) : undefined;
    const hash = check ? undefined : opening.signatureHash;
    running = hash && h.hasher ? runningHash(h, hash, ciphertext) : null;
    const ok = await forEachFrame(opening, (f) => {
      const end = f.ciphertext + f.length + TAG;
      const r = h.openInto(key, f.iv, f.aad, ciphertext.subarray(f.ciphertext, end), out, f.plaintext);
      running?.upTo(end);
      return r;
    }, gate, signal);
    await gate?.pass();
    if (!ok) throw opening.frameFailed();
    opened++;
    const valid = await verdict;
    if (valid !== undefined) hostChecked++;
    const result = valid !== undefined
      ? opening.finishHostChecked(valid)
      : opening.finish(await digestOf(h, opening.signatureHash, running, ciphertext, opening.signedLength));
    result.plaintext = out;
    return result;
  } catch (e) {
    await discard(out, gate, running);
    throw e;
  } finally {
    opening.free();
  }
}
