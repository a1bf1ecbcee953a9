// The worker thread of hash-thread.js: SHA-2 of the messages Node seals on
// the external path, beside the main thread that seals their frames. It
// only ever sees sealed bytes (public), never a key.
//
// `workerData` is `{ ring, state, slot }`: `ring` a SharedArrayBuffer of
// `state.length` slots of `slot` bytes, `state` an Int32Array over shared
// memory, 1 for a slot the main thread filled, 0 once it is hashed here.
// Messages, in order: `{ job, hash }` starts a job; `{ job, at, len }` hashes
// `len` bytes of slot `at` into it and frees the slot (always, even for a
// job that failed or was dropped); `{ job, end }` answers `{ job, digest }`
// (or `{ job, error }`); `{ job, drop }` forgets it.
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';

const { ring, state, slot } = workerData;
const jobs = new Map();

function answer(job, f) {
  try {
    parentPort.postMessage({ job, digest: f() });
  } catch (e) {
    parentPort.postMessage({ job, error: String(e?.message ?? e) });
  }
}

parentPort.on('message', (m) => {
  if (m.at !== undefined) {
    try {
      jobs.get(m.job)?.update(new Uint8Array(ring, m.at * slot, m.len));
    } catch (e) {
      jobs.set(m.job, null);
      parentPort.postMessage({ job: m.job, error: String(e?.message ?? e) });
    } finally {
      Atomics.store(state, m.at, 0);
      Atomics.notify(state, m.at);
    }
  } else if (m.hash !== undefined) {
    try {
      jobs.set(m.job, createHash(m.hash));
    } catch (e) {
      jobs.set(m.job, null);
      parentPort.postMessage({ job: m.job, error: String(e?.message ?? e) });
    }
  } else if (m.end) {
    const h = jobs.get(m.job);
    jobs.delete(m.job);
    // A job that already failed has had its answer.
    if (h) answer(m.job, () => h.digest());
  } else if (m.drop) {
    jobs.delete(m.job);
  }
});
