// The worker thread of hash-thread.js: SHA-2 of the messages Node seals on
// the external path, beside the main thread that seals their frames. It
// only ever sees the sealed message (public bytes), never a key.
//
// Each job arrives as `{ port, hash }`: every message on `port` is then an
// ArrayBuffer of the next bytes, and `null` asks for the digest, answered as
// `{ digest }` (or `{ error }`) before the port closes.
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';

parentPort.on('message', ({ port, hash }) => {
  let h;
  try {
    h = createHash(hash);
  } catch (e) {
    h = null;
    port.postMessage({ error: String(e?.message ?? e) });
    port.close();
    return;
  }
  port.on('message', (bytes) => {
    try {
      if (bytes !== null) {
        h.update(new Uint8Array(bytes));
        return;
      }
      port.postMessage({ digest: h.digest() });
    } catch (e) {
      port.postMessage({ error: String(e?.message ?? e) });
    }
    port.close();
  });
});
