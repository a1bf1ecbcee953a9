// SHA-2 on a worker thread, for the messages Node seals on the external path
// (node.js: nodeBulk.hasher). A signed message's hash sees every byte of
// it, and on the main thread it cost as much as sealing the frames: on a
// worker it runs beside them. Only sealed bytes, which are public, cross to
// the worker, through a small ring of shared memory that stays mapped (a
// fresh buffer per frame, handed over, cost a fifth of the main thread in
// page faults and garbage). The worker is made on first use and never keeps
// the process alive on its own. Until it has started (loading it takes
// libuv's pool, which may be busy), messages are hashed on the main thread:
// nothing ever waits for a worker that is not running yet.
import { Worker } from 'node:worker_threads';

/** Slots in the ring, and bytes per slot. */
const SLOTS = 16;
const SLOT = 128 << 10;
/** How long the main thread waits for a slot before it gives the worker up. */
const STALL_MS = 2000;

let current = null;
let nextJob = 1;
let jobs = 0;

/** The worker and its ring, made when there is none (or the last one stopped). */
function thread() {
  if (current) return current;
  const state = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  const ring = new SharedArrayBuffer(SLOTS * SLOT);
  const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: { ring, state, slot: SLOT } });
  let started;
  const t = {
    worker, ring: new Uint8Array(ring), state, next: 0, live: new Map(), holds: 0, down: false,
    ready: false, started: new Promise((resolve) => { started = resolve; }),
  };
  const down = (cause) => {
    if (current === t) current = null;
    t.down = true;
    started(false);
    for (const job of [...t.live.values()]) job.fail(cause);
  };
  worker.on('message', ({ ready, job, digest, error }) => {
    if (ready) {
      t.ready = true;
      started(true);
      return;
    }
    const j = t.live.get(job);
    if (!j) return;
    if (digest) j.done(new Uint8Array(digest));
    else j.fail(new Error(error));
  });
  worker.on('error', (e) => down(e));
  worker.on('exit', () => down(new Error('the hash thread stopped')));
  // After the listeners: adding a 'message' listener refs the worker again.
  worker.unref();
  // Only someone waiting on the worker (a job for its digest, a caller of
  // hashThreadStarted) keeps the process alive: a count of them.
  t.hold = () => {
    if (t.holds++ === 0) worker.ref();
  };
  t.release = () => {
    if (--t.holds === 0) worker.unref();
  };
  t.stop = (cause) => {
    down(cause);
    worker.terminate();
  };
  current = t;
  return t;
}

/**
 * An incremental hash (`name`: node:crypto's, e.g. "sha384") run on the
 * worker: `{ update(bytes), finish() -> Promise<Uint8Array>, close() }`.
 * `update` copies what it is given, so the caller may write on; `finish`
 * rejects if the worker failed, never hangs; `close` abandons the job.
 */
export function hashOffThread(name) {
  if (typeof name !== 'string') throw new TypeError(`no hash named ${name}`);
  const t = thread();
  if (!t.ready) throw new Error('the hash thread is still starting');
  const id = nextJob++;
  let settled = false;
  let resolve;
  let reject;
  const result = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A job abandoned before finish() may still fail: not an unhandled rejection.
  result.catch(() => {});
  let awaited = false;
  const settle = () => {
    settled = true;
    t.live.delete(id);
    if (awaited) t.release();
  };
  const job = {
    done(digest) {
      settle();
      resolve(digest);
    },
    fail(cause) {
      if (settled) return;
      settle();
      reject(new Error('hashing on the worker thread failed', { cause }));
    },
  };
  t.live.set(id, job);
  t.worker.postMessage({ type: 'start', job: id, hash: name });
  jobs++;
  return {
    update(bytes) {
      for (let at = 0; at < bytes.length && !settled; at += SLOT) {
        const piece = bytes.subarray(at, at + SLOT);
        const slot = t.next;
        // The slot is free once the worker hashed it: wait (blocking, as
        // the caller is synchronous) unless the worker seems gone.
        if (Atomics.load(t.state, slot) !== 0 && Atomics.wait(t.state, slot, 1, STALL_MS) === 'timed-out') {
          t.stop(new Error(`the hash thread did not free a slot in ${STALL_MS} ms`));
          return;
        }
        t.next = (slot + 1) % SLOTS;
        t.ring.set(piece, slot * SLOT);
        Atomics.store(t.state, slot, 1);
        t.worker.postMessage({ type: 'data', job: id, at: slot, len: piece.length });
      }
    },
    finish() {
      if (!settled && !awaited) {
        awaited = true;
        t.hold();
        t.worker.postMessage({ type: 'end', job: id });
      }
      return result;
    },
    close() {
      if (settled) return;
      job.fail(new Error('abandoned'));
      if (!t.down) t.worker.postMessage({ type: 'drop', job: id });
    },
  };
}

/** Starts the worker if there is none; resolves whether it is running. */
export function hashThreadStarted() {
  const t = thread();
  if (t.ready || t.down) return t.started;
  t.hold();
  return t.started.finally(t.release);
}

/** Tests: how many hashes have been started on the worker. */
export function hashThreadJobs() {
  return jobs;
}

/** Tests: stops the worker (its jobs in flight fail); the next job makes another. */
export async function stopHashThread() {
  const t = current;
  if (!t) return;
  current = null;
  await t.worker.terminate();
}
