// SHA-2 on a worker thread, for the messages Node seals on the external path
// (node.js: nodeBulk.hasher). A signed message's hash sees every byte of
// it, and on the main thread it cost as much as sealing the frames: on a
// worker it runs beside them (64 MiB 0x0578: about 1.3 times faster here).
// Only sealed bytes, which are public, cross to the worker. The worker is
// made on first use and never keeps the process alive on its own.
import { MessageChannel, Worker } from 'node:worker_threads';

let worker = null;
let jobs = 0;

/** The worker, made when there is none (or the last one stopped). */
function thread() {
  if (worker) return worker;
  const w = new Worker(new URL('./hash-worker.js', import.meta.url));
  w.unref();
  // The jobs in flight on it, as the functions that fail them.
  w.live = new Set();
  const down = (cause) => {
    if (worker === w) worker = null;
    for (const fail of [...w.live]) fail(cause);
  };
  w.on('error', (e) => down(e));
  w.on('exit', () => down(new Error('the hash thread stopped')));
  worker = w;
  return w;
}

/**
 * An incremental hash (`name`: node:crypto's, e.g. "sha384") run on the
 * worker: `{ update(bytes), finish() -> Promise<Uint8Array>, close() }`.
 * `update` copies what it is given, so the caller may write on; `finish`
 * rejects if the worker fails, never hangs; `close` abandons the job.
 */
export function hashOffThread(name) {
  const w = thread();
  const { port1, port2 } = new MessageChannel();
  let resolve;
  let reject;
  const result = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A job abandoned before finish() may still fail: not an unhandled rejection.
  result.catch(() => {});
  const end = () => {
    w.live.delete(fail);
    port1.close();
  };
  const fail = (cause) => {
    end();
    reject(new Error('hashing on the worker thread failed', { cause }));
  };
  w.live.add(fail);
  port1.on('message', (m) => {
    end();
    if (m?.digest) resolve(new Uint8Array(m.digest));
    else reject(new Error(`hashing on the worker thread failed: ${m?.error}`));
  });
  // Only a job waiting for its digest keeps the process alive.
  port1.unref();
  w.postMessage({ port: port2, hash: name }, [port2]);
  jobs++;
  return {
    update(bytes) {
      const copy = bytes.slice();
      port1.postMessage(copy.buffer, [copy.buffer]);
    },
    finish() {
      port1.ref();
      port1.postMessage(null);
      return result;
    },
    close: end,
  };
}

/** Tests: how many hashes have been started on the worker. */
export function hashThreadJobs() {
  return jobs;
}

/** Tests: stops the worker (its jobs in flight fail); the next job makes another. */
export async function stopHashThread() {
  await worker?.terminate();
}
