// SHA-2 on a worker thread, for the messages Node seals on the external path
// (node.js: nodeBulk.hasher). A signed message's hash sees every byte of
// it, and on the main thread it cost as much as sealing the frames: on a
// worker it runs beside them. Only sealed bytes, which are public, cross to
// the worker, through a small ring of shared memory that stays mapped (a
// fresh buffer per frame, handed over, cost a fifth of the main thread in
// page faults and garbage). The worker is made on first use and never keeps
// the process alive on its own.
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
  worker.unref();
  const t = { worker, ring: new Uint8Array(ring), state, next: 0, live: new Map(), waiting: 0, down: false };
  const down = (cause) => {
    if (current === t) current = null;
    t.down = true;
    for (const job of [...t.live.values()]) job.fail(cause);
  };
  worker.on('message', ({ job, digest, error }) => {
    const j = t.live.get(job);
    if (!j) return;
    if (digest) j.done(new Uint8Array(digest));
    else j.fail(new Error(error));
  });
  worker.on('error', (e) => down(e));
  worker.on('exit', () => down(new Error('the hash thread stopped')));
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
  const t = thread();
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
    if (awaited && --t.waiting === 0) t.worker.unref();
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
  t.worker.postMessage({ job: id, hash: name });
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
        t.worker.postMessage({ job: id, at: slot, len: piece.length });
      }
    },
    finish() {
      if (!settled && !awaited) {
        awaited = true;
        // Only a job waiting for its digest keeps the process alive.
        if (t.waiting++ === 0) t.worker.ref();
        t.worker.postMessage({ job: id, end: true });
      }
      return result;
    },
    close() {
      if (settled) return;
      job.fail(new Error('abandoned'));
      if (!t.down) t.worker.postMessage({ job: id, drop: true });
    },
  };
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
