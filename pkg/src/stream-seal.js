// encryptStream on the host's AES-GCM (browsers: WebCrypto, ~20 times the
// speed of AES-GCM in wasm): the core makes the header, each frame's IV,
// AAD and leading bytes, keeps the signature hash and signs; JS cuts the
// plaintext into frames and has the host seal several at once, then emits
// them in order. See StreamSealing in bindings/wasm/src/external.rs.
//
// Internal to the package: api.js uses it when the installed host has
// `seal(key, iv, aad, plaintext) -> Promise<ciphertext ‖ tag>`.

import { bulkHost, frameAt, importKey } from './external.js';

/** Plaintext bytes being sealed at once per stream (at least one frame). */
const IN_FLIGHT = 8 << 20;

let started = 0;

/** Tests: how many streams have had their frames sealed by the host. */
export function hostSealedStreams() {
  return started;
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
