// The worker thread of hash-thread.js: SHA-2 of the messages Node seals on
// the external path, beside the main thread that seals their frames. It
// only ever sees sealed bytes (public), never a key.
//
// `workerData` is `{ ring, state, slot }`: `ring` a SharedArrayBuffer of
// `state.length` slots of `slot` bytes, `state` an Int32Array over shared
// memory, 1 for a slot the main thread filled, 0 once it is hashed here.
// Once listening it posts `{ ready: true }`. Then, in order:
// - `{ type: 'start', job, hash }` starts a job (an error is answered at once);
// - `{ type: 'data', job, at, len }` hashes `len` bytes of slot `at` into it
//   and frees the slot, always, even for a job that failed or was dropped;
// - `{ type: 'end', job }` answers `{ job, digest }` or `{ job, error }`;
// - `{ type: 'drop', job }` forgets it.
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';

const { ring, state, slot } = workerData;
// Live jobs; a job that failed has had its answer and is gone.
const jobs = new Map();

function fail(job, e) {
  jobs.delete(job);
  parentPort.postMessage({ job, error: String(e?.message ?? e) });
}

parentPort.on('message', (m) => {
  switch (m.type) {
    case 'data':
      try {
        jobs.get(m.job)?.update(new Uint8Array(ring, m.at * slot, m.len));
      } catch (e) {
        fail(m.job, e);
      } finally {
        Atomics.store(state, m.at, 0);
        Atomics.notify(state, m.at);
      }
      break;
    case 'start':
      try {
        if (typeof m.hash !== 'string') throw new TypeError(`no hash named ${m.hash}`);
        jobs.set(m.job, createHash(m.hash));
      } catch (e) {
        fail(m.job, e);
      }
      break;
    case 'end': {
      const h = jobs.get(m.job);
      if (!h) break;
      jobs.delete(m.job);
      try {
        parentPort.postMessage({ job: m.job, digest: h.digest() });
      } catch (e) {
        fail(m.job, e);
      }
      break;
    }
    case 'drop':
      jobs.delete(m.job);
      break;
    default:
      break;
  }
});
parentPort.postMessage({ ready: true });
