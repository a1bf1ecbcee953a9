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
 * Seals one message from the plaintext written to it. `emit(bytes)` gets
 * the message's bytes in order, possibly after a `write` has resolved;
 * `fail(error)` is called once if a seal fails between calls.
 */
export class StreamSeal {
  #h;
  #sealing;
  #key;
  #emit;
  #fail;
  #fl;
  #signed;
  #pending = null;
  #filled = 0;
  /** Frames handed to the host, oldest first: `{ head, length, sealed?, done }`. */
  #queue = [];
  #inFlight = 0;
  #error = null;

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
    emit(sealing.header());
    return s;
  }

  constructor(h, sealing, key, emit, fail) {
    this.#h = h;
    this.#sealing = sealing;
    this.#key = key;
    this.#emit = emit;
    this.#fail = fail;
    this.#fl = sealing.frameLength;
    this.#signed = sealing.signed;
  }

  /**
   * Takes `chunk`: every frame it completes goes to the host, except a
   * last full one, which may turn out to be the final frame. Resolves once
   * the frames in flight are within bounds.
   */
  async write(chunk) {
    this.#check();
    const fl = this.#fl;
    let i = 0;
    while (i < chunk.length) {
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
      this.#pending ??= new Uint8Array(fl);
      const take = Math.min(fl - this.#filled, chunk.length - i);
      this.#pending.set(chunk.subarray(i, i + take), this.#filled);
      this.#filled += take;
      i += take;
    }
    while (this.#inFlight > IN_FLIGHT) await this.#settleOldest();
    this.#check();
  }

  /** Seals the final frame and resolves once every byte, the footer last, is emitted. */
  async end() {
    this.#check();
    this.#submit(this.#pending ? this.#pending.subarray(0, this.#filled) : new Uint8Array(0), true);
    while (this.#queue.length) await this.#settleOldest();
    this.#check();
    const footer = this.#sealing.finish();
    if (footer.length) this.#emit(footer);
    this.#close();
  }

  /** Abandons the message (wipes the plaintext held). */
  abort() {
    this.#error ??= new Error('the stream was aborted');
    this.#close();
  }

  #check() {
    if (this.#error) throw this.#error;
  }

  #close() {
    this.#pending?.fill(0);
    this.#filled = 0;
    this.#queue = [];
    if (this.#sealing) {
      this.#sealing.free();
      this.#sealing = null;
    }
  }

  #submit(plaintext, isFinal) {
    const f = frameAt(this.#sealing.nextFrame(plaintext.length, isFinal), 0);
    // The host copies `plaintext` before this returns (WebCrypto does), so
    // the pending buffer can take the next frame at once.
    const entry = { head: f.head, length: plaintext.length, sealed: null, done: null };
    entry.done = Promise.resolve(this.#h.seal(this.#key, f.iv, f.aad, plaintext)).then(
      (sealed) => {
        entry.sealed = sealed;
        this.#pump();
      },
      (e) => this.#failWith(e),
    );
    this.#queue.push(entry);
    this.#inFlight += plaintext.length;
  }

  /** Emits the sealed frames at the front of the queue, in order. */
  #pump() {
    try {
      while (!this.#error && this.#queue.length && this.#queue[0].sealed) {
        const { head, sealed, length } = this.#queue.shift();
        this.#inFlight -= length;
        const frame = new Uint8Array(head.length + sealed.length);
        frame.set(head);
        frame.set(sealed, head.length);
        if (this.#signed) this.#sealing.absorb(frame);
        this.#emit(frame);
      }
    } catch (e) {
      this.#failWith(e);
    }
  }

  async #settleOldest() {
    const oldest = this.#queue[0];
    if (!oldest) return;
    await oldest.done;
    this.#check();
  }

  #failWith(e) {
    if (this.#error) return;
    this.#error = e;
    this.#close();
    this.#fail(e);
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
  #fail;
  #key = null;
  /** Frames handed to the host, oldest first: `{ length, hold, plaintext?, done }`. */
  #queue = [];
  #inFlight = 0;
  /** Plaintext waiting for the signature. */
  #held = [];
  #error = null;

  constructor(h, opening, emit, fail) {
    this.#h = h;
    this.#opening = opening;
    this.#emit = emit;
    this.#fail = fail;
    opened++;
  }

  /** Reads `chunk`; resolves once the frames in flight are within bounds. */
  async write(chunk) {
    this.#check();
    const ready = await this.#opening.update(chunk);
    this.#check();
    if (ready) {
      this.#key ??= await importKey(this.#h, this.#opening);
      this.#check();
      const { records, sealed } = ready;
      for (let o = 0; o < records.length; o += RECORD) this.#submit(frameAt(records, o), records[o + 22] === 1, sealed);
    }
    while (this.#inFlight > IN_FLIGHT) await this.#settleOldest();
    this.#check();
  }

  /**
   * Resolves, once every frame opened and the message is complete and its
   * signature verified, to the result of the core's `finish`, after
   * emitting the plaintext held for the signature.
   */
  async end() {
    this.#check();
    while (this.#queue.length) await this.#settleOldest();
    this.#check();
    const result = this.#opening.finish();
    for (const plaintext of this.#held) this.#emit(plaintext);
    this.#held = [];
    this.#close();
    return result;
  }

  /** Abandons the message: the plaintext not released is wiped. */
  abort() {
    this.#error ??= new Error('the stream was aborted');
    this.#close();
  }

  #check() {
    if (this.#error) throw this.#error;
  }

  #close() {
    for (const plaintext of this.#held) plaintext.fill(0);
    for (const entry of this.#queue) entry.plaintext?.fill(0);
    this.#held = [];
    this.#queue = [];
    if (this.#opening) {
      this.#opening.free();
      this.#opening = null;
    }
  }

  #submit(f, hold, sealed) {
    const entry = { length: f.length, hold, plaintext: null, done: null };
    const bytes = sealed.subarray(f.ciphertext, f.ciphertext + f.length + TAG);
    entry.done = Promise.resolve(this.#h.open(this.#key, f.iv, f.aad, bytes)).then(
      (plaintext) => {
        if (this.#error) {
          plaintext?.fill(0);
          return;
        }
        if (!plaintext) {
          this.#failWith(this.#opening ? this.#opening.frameFailed() : new Error('a frame failed'));
          return;
        }
        entry.plaintext = plaintext;
        this.#pump();
      },
      (e) => this.#failWith(e),
    );
    this.#queue.push(entry);
    this.#inFlight += f.length;
  }

  /** Releases (or holds) the opened frames at the front of the queue, in order. */
  #pump() {
    while (!this.#error && this.#queue.length && this.#queue[0].plaintext) {
      const { plaintext, hold, length } = this.#queue.shift();
      this.#inFlight -= length;
      if (hold) this.#held.push(plaintext);
      else this.#emit(plaintext);
    }
  }

  async #settleOldest() {
    const oldest = this.#queue[0];
    if (!oldest) return;
    await oldest.done;
    this.#check();
  }

  #failWith(e) {
    if (this.#error) return;
    this.#error = e;
    this.#close();
    this.#fail(e);
  }
}
