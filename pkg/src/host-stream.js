// Streams on the host's AES-GCM (browsers: WebCrypto, ~15 times the speed
// of AES-GCM in wasm). encryptStream: the core makes the header, each
// frame's IV, AAD and leading bytes, keeps the signature hash and signs; JS
// cuts the plaintext into frames and has the host seal several at once,
// then emits them in order. decryptStream: the core reads the header,
// parses and checks each frame, hashes it and checks the signature; JS has
// the host open several frames at once and releases their plaintext in
// order, each only once its tag verified, and what the core marks held
// only once the signature verified too. See StreamSealing and
// StreamOpening in bindings/wasm/src/external.rs.
//
// Internal to the package: api.js uses it when the installed host has
// `seal(key, iv, aad, plaintext) -> Promise<ciphertext ‖ tag>` and
// `open(key, iv, aad, ciphertext ‖ tag) -> Promise<plaintext | null>`.

import * as wasm from '../dist/kms_envelope_wasm.js';
import { RECORD, bulkHost, frameAt, importKey } from './external.js';

/** Bytes being sealed or opened at once per stream (at least one frame). */
const IN_FLIGHT = 8 << 20;
/** AES-GCM tag bytes. */
const TAG = 16;

let started = 0;
let opened = 0;

/** Tests: how many streams have had their frames sealed by the host. */
export function hostSealedStreams() {
  return started;
}

/** Tests: how many streams have had their frames opened by the host. */
export function hostOpenedStreams() {
  return opened;
}

/**
 * The host, when a stream of frames of `frameLength` bytes (undefined: the
 * core's default, 4 KiB) should have them sealed there: frames below the
 * host's `minBytes` are faster in wasm.
 */
export function streamHost(frameLength) {
  const h = bulkHost();
  if (!h?.seal) return null;
  return frameLength === undefined || frameLength >= h.minBytes ? h : null;
}

/**
 * The host, when a stream of suite `suite` and frame length `frameLength`
 * (from its header) should have its frames opened there.
 */
export function openStreamHost(suite, frameLength) {
  const h = bulkHost();
  if (!h?.open || !h.keyLengths.includes(wasm.suiteKeyLength(suite))) return null;
  return frameLength >= h.minBytes ? h : null;
}

/**
 * Frames in flight on the host, handed on in message order as they finish.
 * The first failure ends it: what is not handed on goes to `discard`, and
 * `onFail(error)` is told once.
 */
class InOrder {
  /** `{ length, value, settled, done }`, oldest first. */
  #entries = [];
  #bytes = 0;
  #error = null;
  #deliver;
  #discard;
  #onFail;

  constructor(deliver, discard, onFail) {
    this.#deliver = deliver;
    this.#discard = discard;
    this.#onFail = onFail;
  }

  /** Adds the frame `work` (a Promise) of `length` bytes; `extra` rides along to `deliver`. */
  add(work, length, extra) {
    const entry = { length, extra, value: undefined, settled: false, done: null };
    entry.done = Promise.resolve(work).then(
      (value) => {
        if (this.#error) {
          this.#discard(value);
          return;
        }
        entry.value = value;
        entry.settled = true;
        this.#pump();
      },
      (e) => this.fail(e),
    );
    this.#entries.push(entry);
    this.#bytes += length;
  }

  #pump() {
    try {
      while (!this.#error && this.#entries[0]?.settled) {
        const { value, length, extra } = this.#entries.shift();
        this.#bytes -= length;
        this.#deliver(value, extra);
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Waits until at most `limit` bytes are in flight (0: all handed on). */
  async drain(limit) {
    while (this.#entries.length && (limit === 0 || this.#bytes > limit)) {
      await this.#entries[0].done;
      this.check();
    }
    this.check();
  }

  /** Bytes in flight. */
  get bytes() {
    return this.#bytes;
  }

  /** Throws the failure, if any. */
  check() {
    if (this.#error) throw this.#error;
  }

  /** Ends it with `e` (the first failure wins); `notify`: tell `onFail`. */
  fail(e, notify = true) {
    if (this.#error) return;
    this.#error = e;
    for (const entry of this.#entries) if (entry.settled) this.#discard(entry.value);
    this.#entries = [];
    if (notify) this.#onFail(e);
  }
}

/**
 * Seals one message from the plaintext written to it. `emit(bytes)` gets
 * the message's bytes in order, possibly after a `write` has resolved;
 * `fail(error)` is called once if a seal fails between calls.
 */
export class StreamSeal {
  #h;
  #sealing;
  #key;
  #emit;
  #fl;
  #signed;
  #pending = null;
  #filled = 0;
  #frames;

  /** Starts sealing `sealing` (a wasm StreamSealing); emits the header. */
  static async start(h, sealing, emit, fail) {
    let key;
    try {
      key = await importKey(h, sealing);
    } catch (e) {
      sealing.free();
      throw e;
    }
    const s = new StreamSeal(h, sealing, key, emit, fail);
    started++;
    try {
      emit(sealing.header());
    } catch (e) {
      // The stream was cancelled meanwhile: its controller takes nothing.
      s.abort();
      throw e;
    }
    return s;
  }

  constructor(h, sealing, key, emit, fail) {
    this.#h = h;
    this.#sealing = sealing;
    this.#key = key;
    this.#emit = emit;
    this.#fl = sealing.frameLength;
    this.#signed = sealing.signed;
    this.#frames = new InOrder((sealed, head) => this.#deliver(head, sealed), () => {}, (e) => {
      this.#close();
      fail(e);
    });
  }

  /**
   * Takes `chunk`: every frame it completes goes to the host, except a
   * last full one, which may turn out to be the final frame. Resolves once
   * the frames in flight are within bounds.
   */
  async write(chunk) {
    this.#frames.check();
    const fl = this.#fl;
    let i = 0;
    while (i < chunk.length) {
      if (this.#frames.bytes > IN_FLIGHT) await this.#frames.drain(IN_FLIGHT);
      if (this.#filled === fl) {
        this.#submit(this.#pending.subarray(0, fl), false);
        this.#filled = 0;
      }
      if (this.#filled === 0 && chunk.length - i > fl) {
        // A whole frame straight from the chunk (the host copies it).
        this.#submit(chunk.subarray(i, i + fl), false);
        i += fl;
        continue;
      }
      const take = Math.min(fl - this.#filled, chunk.length - i);
      this.#reserve(this.#filled + take);
      this.#pending.set(chunk.subarray(i, i + take), this.#filled);
      this.#filled += take;
      i += take;
    }
    await this.#frames.drain(IN_FLIGHT);
  }

  /** Seals the final frame and resolves once every byte, the footer last, is emitted. */
  async end() {
    this.#frames.check();
    this.#submit(this.#pending ? this.#pending.subarray(0, this.#filled) : new Uint8Array(0), true);
    await this.#frames.drain(0);
    const footer = this.#sealing.finish();
    if (footer.length) this.#emit(footer);
    this.#close();
  }

  /** Abandons the message (wipes the plaintext held). */
  abort() {
    this.#frames.fail(new Error('the stream was aborted'), false);
    this.#close();
  }

  /**
   * Makes the pending buffer hold at least `needed` bytes. It grows with
   * what is written, doubling up to the frame length, so a short message
   * under a large frame length (up to 2^32 - 1) costs its own size, not a
   * frame's; the buffer it leaves is wiped.
   */
  #reserve(needed) {
    const old = this.#pending;
    if (old !== null && old.length >= needed) return;
    const size = Math.min(this.#fl, Math.max(needed, 2 * (old?.length ?? 0), 64 * 1024));
    const grown = new Uint8Array(size);
    if (old !== null) {
      grown.set(old.subarray(0, this.#filled));
      old.fill(0);
    }
    this.#pending = grown;
  }

  #close() {
    this.#pending?.fill(0);
    this.#filled = 0;
    if (this.#sealing) {
      this.#sealing.free();
      this.#sealing = null;
    }
  }

  #submit(plaintext, isFinal) {
    const f = frameAt(this.#sealing.nextFrame(plaintext.length, isFinal), 0);
    // The host copies `plaintext` before this returns (WebCrypto does), so
    // the pending buffer can take the next frame at once.
    this.#frames.add(this.#h.seal(this.#key, f.iv, f.aad, plaintext), plaintext.length, f.head);
  }

  /** The frame's head and sealed bytes, to the signature hash and out. */
  #deliver(head, sealed) {
    const frame = new Uint8Array(head.length + sealed.length);
    frame.set(head);
    frame.set(sealed, head.length);
    if (this.#signed) this.#sealing.absorb(frame);
    this.#emit(frame);
  }
}

/**
 * Opens one message from the ciphertext written to it. `emit(plaintext)`
 * gets the plaintext in order, possibly after a `write` has resolved;
 * `fail(error)` is called once if an open fails between calls.
 */
export class StreamOpen {
  #h;
  #opening;
  #emit;
  #key = null;
  #frames;
  /** Plaintext waiting for the signature. */
  #held = [];

  constructor(h, opening, emit, fail) {
    this.#h = h;
    this.#opening = opening;
    this.#emit = emit;
    this.#frames = new InOrder(
      (plaintext, hold) => (hold ? this.#held.push(plaintext) : this.#emit(plaintext)),
      (plaintext) => plaintext?.fill(0),
      (e) => {
        this.#close();
        fail(e);
      },
    );
    opened++;
  }

  /** The header's result (wasm StreamOpening.headerResult), or undefined until it is authenticated. */
  headerResult() {
    return this.#opening.headerResult();
  }

  /**
   * Reads `chunk`; resolves once the frames in flight are within bounds.
   * `read` is called once the core has read the chunk, before any of its
   * frames is opened.
   */
  async write(chunk, read) {
    this.#frames.check();
    const ready = await this.#opening.update(chunk);
    read?.();
    this.#frames.check();
    if (ready) {
      this.#key ??= await importKey(this.#h, this.#opening);
      this.#frames.check();
      const { records, sealed } = ready;
      for (let o = 0; o < records.length; o += RECORD) this.#submit(frameAt(records, o), records[o + 22] === 1, sealed);
    }
    if (this.#opening.complete()) {
      // The footer verified: once every frame opened, what was held goes
      // out now, as the core's stream releases it, not at close().
      await this.#frames.drain(0);
      this.#release();
    } else {
      await this.#frames.drain(IN_FLIGHT);
    }
  }

  #release() {
    for (const plaintext of this.#held) this.#emit(plaintext);
    this.#held = [];
  }

  /**
   * Resolves, once every frame opened and the message is complete and its
   * signature verified, to the result of the core's `finish`, after
   * emitting the plaintext held for the signature.
   */
  async end() {
    await this.#frames.drain(0);
    const result = this.#opening.finish();
    this.#release();
    this.#close();
    return result;
  }

  /** Abandons the message: the plaintext not released is wiped. */
  abort() {
    this.#frames.fail(new Error('the stream was aborted'), false);
    this.#close();
  }

  #close() {
    for (const plaintext of this.#held) plaintext.fill(0);
    this.#held = [];
    if (this.#opening) {
      this.#opening.free();
      this.#opening = null;
    }
  }

  #submit(f, hold, sealed) {
    const bytes = sealed.subarray(f.ciphertext, f.ciphertext + f.length + TAG);
    const opened = Promise.resolve(this.#h.open(this.#key, f.iv, f.aad, bytes)).then((plaintext) => {
      if (plaintext) return plaintext;
      // A tag that does not verify: the core's error, which ends the opening.
      throw this.#opening ? this.#opening.frameFailed() : new Error('a frame failed to open');
    });
    this.#frames.add(opened, f.length, hold);
  }
}
