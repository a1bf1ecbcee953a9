// Noticing that a caller stopped a stream, where the host's TransformStream
// does not say so. encryptStream and decryptStream (src/api.js) end their
// wasm state, wipe what it holds and settle their Promises in the
// transformer's `cancel`, which a current TransformStream calls when its
// readable side is cancelled or its writable side aborted. Chromium's does
// not (checked once, below): there a cancel or an abort left `header` and
// `result` pending for good and the wasm state held until garbage
// collection. So there the caller reads the output through a readable of
// ours, whose `cancel` is called, and whose reads see the error an abort
// leaves on the transform's output.

let transformerCancel;

/** Whether this host's TransformStream calls a transformer's `cancel`. */
function hostCallsCancel() {
  if (transformerCancel === undefined) {
    let called = false;
    try {
      new TransformStream({ cancel() { called = true; } }).readable.cancel().catch(() => {});
    } catch {
      // no TransformStream cancel at all: watch
    }
    transformerCancel = called;
  }
  return transformerCancel;
}

/**
 * For tests: `false` makes every stream take the watched path, as in
 * Chromium; `undefined` checks the host again.
 */
export function setTransformerCancel(value) {
  transformerCancel = value;
}

/**
 * `stream` as the caller gets it: itself where the host calls its
 * transformer's `cancel`; elsewhere a pair of streams of ours over its two
 * sides. `stop(reason)` (which must be safe to call more than once) runs
 * when the caller aborts the writable side or cancels the readable side, or
 * when either side of the transform fails; and, as a TransformStream does,
 * a stop on one side errors the other at once (a pipe into the writable
 * then cancels its source, a reader waiting on the readable hears of an
 * abort). Neither holds anything itself: the writable hands each chunk on
 * and waits for it, the readable (high-water mark 0) reads the transform's
 * output only when the caller reads.
 */
export function watched(stream, stop) {
  if (hostCallsCancel()) return stream;
  const input = stream.writable.getWriter();
  const output = stream.readable.getReader();
  let writableSide;
  let readableSide;
  const writable = new WritableStream({
    start(controller) {
      writableSide = controller;
    },
    write(chunk) {
      return input.write(chunk);
    },
    close() {
      return input.close();
    },
    abort(reason) {
      stop(reason);
      return input.abort(reason);
    },
  }, { highWaterMark: 1 });
  const readable = new ReadableStream({
    start(controller) {
      readableSide = controller;
    },
    async pull(controller) {
      let next;
      try {
        next = await output.read();
      } catch (e) {
        stop(e);
        throw e;
      }
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      stop(reason);
      return output.cancel(reason);
    },
  }, { highWaterMark: 0 });
  // The transform's sides fail together (a cancel of its readable errors
  // its writable, an abort of its writable errors its readable, a failure
  // errors both): each failure reaches our side at once. (Erroring a side
  // that already ended does nothing.)
  input.closed.catch((e) => {
    stop(e);
    writableSide.error(e);
  });
  output.closed.catch((e) => {
    stop(e);
    readableSide.error(e);
  });
  return { readable, writable };
}
