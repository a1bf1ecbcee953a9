//! Streaming encryption and decryption on caller buffers.
//!
//! Protocol (the same for both directions):
//!
//! - `update` always consumes all of its input. It writes as much output as
//!   fits into the caller's buffer, reports how much it wrote
//!   (`*output_len_out`) and how much is still waiting inside the handle
//!   (`*pending_out`). To drain, call `update` again with no input
//!   (`input_len` 0) until `*pending_out` is 0. Any buffer size works,
//!   even 0; draining before feeding more input keeps memory bounded.
//! - `finish` ends the stream; call it (again) until `*pending_out` is 0.
//! - A call refused before it touches the stream (`KMSE_STATUS_NULL_ARGUMENT`,
//!   input after a successful `finish`, or a call from inside the stream's
//!   own keyring callback, which finds it busy) changes nothing. After any other
//!   failure the handle is dead: every later call fails and output still
//!   waiting is wiped.

use std::sync::{Mutex, MutexGuard, TryLockError};

use kms_envelope::stream::{StreamDecryptor, StreamEncryptor};
use zeroize::{Zeroize, Zeroizing};

use crate::args::{
    bytes, bytes_mut, free_handle, handle, handle_mut, into_handle, opt_handle, out,
};
use crate::client::kmse_client;
use crate::context::kmse_encryption_context;
use crate::header::kmse_header;
use crate::keyring::{kmse_cmm, kmse_keyring};
use crate::oneshot::Source;
use crate::status::{guard, kmse_status, Failure, FfiResult};

/// Pass as `plaintext_length` to `kmse_encryptor_new` when the length is not
/// known in advance.
pub const KMSE_PLAINTEXT_LENGTH_UNKNOWN: u64 = u64::MAX;

/// Output produced by the core but not yet copied to the caller.
#[derive(Default)]
struct Queue {
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl Queue {
    /// The vector the core appends to, with the delivered part removed.
    fn sink(&mut self) -> &mut Vec<u8> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        &mut self.buf
    }

    fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Copies as much as fits into `out`; returns the count.
    fn deliver(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.pending());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        n
    }

    fn wipe(&mut self) {
        self.buf.zeroize();
        self.pos = 0;
    }
}

/// An encryption in progress: feed plaintext in pieces, get the message in
/// pieces, with memory bounded by the frame length. One thread at a time.
/// Free with `kmse_encryptor_free`.
pub struct kmse_encryptor {
    inner: StreamEncryptor,
    queue: Queue,
    finished: bool,
    failed: bool,
}

/// A decryption in progress: feed the message in pieces, get plaintext as
/// the release rules allow (unsigned suites: each frame once its tag
/// verifies; signed suites: everything once the signature verifies, unless
/// the client opted into `KMSE_SIGNED_RELEASE_FRAMES`). One thread at a
/// time; a call from inside one of its own keyring callbacks gives
/// `KMSE_STATUS_BAD_ARGUMENT` (and `kmse_decryptor_free` there does
/// nothing). Free with `kmse_decryptor_free`.
pub struct kmse_decryptor {
    /// Held for the whole of each call. The keyring runs inside
    /// `kmse_decryptor_update`, and its callbacks are C code that can reach
    /// this handle again: the lock refuses that instead of aliasing the
    /// state.
    state: Mutex<Decrypting>,
}

struct Decrypting {
    inner: StreamDecryptor,
    queue: Queue,
    finished: bool,
    failed: bool,
}

impl kmse_decryptor {
    /// The state, or `KMSE_STATUS_BAD_ARGUMENT` while another call holds it.
    fn lock(&self) -> FfiResult<MutexGuard<'_, Decrypting>> {
        match self.state.try_lock() {
            Ok(state) => Ok(state),
            Err(TryLockError::WouldBlock) => Err(Failure::bad_arg(
                "the decryptor is busy: another call is using it (a keyring callback cannot use the decryptor it is serving)",
            )),
            // A panic inside an earlier call (turned into
            // KMSE_STATUS_INTERNAL): the stream is dead.
            Err(TryLockError::Poisoned(poisoned)) => {
                let mut state = poisoned.into_inner();
                state.failed = true;
                state.queue.wipe();
                Ok(state)
            }
        }
    }
}

const FAILED_EARLIER: &str = "the stream failed earlier; free it";

/// Copies the queue into the caller's buffer and writes the two counts.
fn deliver(
    queue: &mut Queue,
    output: &mut [u8],
    output_len_out: crate::args::Out<usize>,
    pending_out: crate::args::Out<usize>,
) {
    let n = queue.deliver(output);
    output_len_out.write(n);
    pending_out.write(queue.pending());
}

fn start_encryptor(
    client: &kmse_client,
    source: Source<'_>,
    context: Option<&kmse_encryption_context>,
    plaintext_length: u64,
) -> FfiResult<kmse_encryptor> {
    let mut builder = client.client.stream_encrypt();
    builder = match source {
        Source::Keyring(k) => builder.keyring(k.inner.clone()),
        Source::Cmm(c) => builder.materials_manager(c.inner.clone()),
    };
    if let Some(ec) = context {
        builder = builder.encryption_context(ec.context.clone());
    }
    if let Some(suite) = client.options.algorithm_suite {
        builder = builder.algorithm_suite(suite);
    }
    if let Some(frame_length) = client.options.frame_length {
        builder = builder.frame_length(frame_length);
    }
    if plaintext_length != KMSE_PLAINTEXT_LENGTH_UNKNOWN {
        builder = builder.plaintext_length(plaintext_length);
    }
    Ok(kmse_encryptor {
        inner: builder.start()?,
        queue: Queue::default(),
        finished: false,
        failed: false,
    })
}

fn start_decryptor(
    client: &kmse_client,
    source: Source<'_>,
    context: Option<&kmse_encryption_context>,
) -> FfiResult<kmse_decryptor> {
    let options = &client.options;
    let mut builder = client.client.stream_decrypt();
    builder = match source {
        Source::Keyring(k) => builder.keyring(k.inner.clone()),
        Source::Cmm(c) => builder.materials_manager(c.inner.clone()),
    };
    if let Some(ec) = context {
        builder = builder.encryption_context(ec.context.clone());
    }
    if let Some(release) = options.signed_release {
        builder = builder.signed_release(release);
    }
    if let Some(yes) = options.unsigned_only {
        builder = builder.unsigned_only(yes);
    }
    if let Some(n) = options.max_frame_size {
        builder = builder.max_frame_size(n);
    }
    if let Some(n) = options.max_buffered_plaintext {
        builder = builder.max_buffered_plaintext(n);
    }
    Ok(kmse_decryptor {
        state: Mutex::new(Decrypting {
            inner: builder.start()?,
            queue: Queue::default(),
            finished: false,
            failed: false,
        }),
    })
}

/// Starts a streaming encryption with the client's suite and frame length:
/// gets the data key from `keyring` at once (the keyring or its callbacks
/// run now) and prepares the header, which comes out with the first output.
///
/// - `client`, `keyring`: borrowed; the encryptor keeps its own references.
/// - `context`: borrowed (copied); may be NULL (empty context).
/// - `plaintext_length`: the exact total plaintext length if known (the
///   encryptor then fails at once if more arrives, or at finish if less
///   did), else `KMSE_PLAINTEXT_LENGTH_UNKNOWN`.
/// - `encryptor_out`: receives a new encryptor owned by the caller; free it
///   with `kmse_encryptor_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_new(
    client: *const kmse_client,
    keyring: *const kmse_keyring,
    context: *const kmse_encryption_context,
    plaintext_length: u64,
    encryptor_out: *mut *mut kmse_encryptor,
) -> kmse_status {
    guard("kmse_encryptor_new", || {
        // SAFETY: live handles or NULL, a valid out-pointer or NULL (API contract).
        let (client, keyring, context, encryptor_out) = unsafe {
            (
                handle(client, "client")?,
                handle(keyring, "keyring")?,
                opt_handle(context),
                out(encryptor_out, "encryptor_out")?,
            )
        };
        let encryptor =
            start_encryptor(client, Source::Keyring(keyring), context, plaintext_length)?;
        encryptor_out.write(into_handle(encryptor));
        Ok(())
    })
}

/// Like `kmse_encryptor_new`, with materials from a CMM.
///
/// - `cmm`: borrowed; the encryptor keeps its own reference. Other
///   arguments as for `kmse_encryptor_new`.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_new_with_cmm(
    client: *const kmse_client,
    cmm: *const kmse_cmm,
    context: *const kmse_encryption_context,
    plaintext_length: u64,
    encryptor_out: *mut *mut kmse_encryptor,
) -> kmse_status {
    guard("kmse_encryptor_new_with_cmm", || {
        // SAFETY: live handles or NULL, a valid out-pointer or NULL (API contract).
        let (client, cmm, context, encryptor_out) = unsafe {
            (
                handle(client, "client")?,
                handle(cmm, "cmm")?,
                opt_handle(context),
                out(encryptor_out, "encryptor_out")?,
            )
        };
        let encryptor = start_encryptor(client, Source::Cmm(cmm), context, plaintext_length)?;
        encryptor_out.write(into_handle(encryptor));
        Ok(())
    })
}

/// Encrypts a piece of plaintext. Consumes all of `input`; writes up to
/// `output_cap` bytes of the message to `output` (see the streaming
/// protocol in the README: drain with `input_len` 0 until `*pending_out` is
/// 0).
///
/// - `encryptor`: modified.
/// - `input`, `input_len`: borrowed; may be NULL when 0.
/// - `output`, `output_cap`: the caller's buffer; may be NULL when 0. Must
///   not overlap `input`.
/// - `output_len_out`: receives the number of bytes written to `output`.
/// - `pending_out`: receives the number of output bytes still waiting.
///
/// Input after `kmse_encryptor_finish` is refused with
/// `KMSE_STATUS_BAD_ARGUMENT`; the finished message stays intact.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_update(
    encryptor: *mut kmse_encryptor,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    output_len_out: *mut usize,
    pending_out: *mut usize,
) -> kmse_status {
    guard("kmse_encryptor_update", || {
        // SAFETY: a live encryptor or NULL, byte ranges and out-pointers
        // that are valid or NULL and do not overlap (API contract).
        let (e, input, output, output_len_out, pending_out) = unsafe {
            (
                handle_mut(encryptor, "encryptor")?,
                bytes(input, input_len, "input")?,
                bytes_mut(output, output_cap, "output")?,
                out(output_len_out, "output_len_out")?,
                out(pending_out, "pending_out")?,
            )
        };
        if e.failed {
            return Err(Failure::bad_arg(FAILED_EARLIER));
        }
        if e.finished && !input.is_empty() {
            // Refused without touching the stream: the finished message and
            // any of it still pending stay intact for kmse_encryptor_finish.
            return Err(Failure::bad_arg(
                "the message is already finished; input after kmse_encryptor_finish cannot join it",
            ));
        }
        if !input.is_empty() {
            // Dead until the call returns: a panic inside (reported as
            // KMSE_STATUS_INTERNAL) leaves the stream dead, as the
            // decryptor's poisoned lock does.
            e.failed = true;
            if let Err(err) = e.inner.update(input, e.queue.sink()) {
                e.queue.wipe();
                return Err(err.into());
            }
            e.failed = false;
        }
        deliver(&mut e.queue, output, output_len_out, pending_out);
        Ok(())
    })
}

/// Ends the message: writes the final frame and the footer. Call it again
/// (it is idempotent) until `*pending_out` is 0; afterwards only `free` is
/// left to do.
///
/// - `encryptor`: modified.
/// - `output`, `output_cap`, `output_len_out`, `pending_out`: as for
///   `kmse_encryptor_update`.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_finish(
    encryptor: *mut kmse_encryptor,
    output: *mut u8,
    output_cap: usize,
    output_len_out: *mut usize,
    pending_out: *mut usize,
) -> kmse_status {
    guard("kmse_encryptor_finish", || {
        // SAFETY: a live encryptor or NULL, a byte range and out-pointers
        // that are valid or NULL (API contract).
        let (e, output, output_len_out, pending_out) = unsafe {
            (
                handle_mut(encryptor, "encryptor")?,
                bytes_mut(output, output_cap, "output")?,
                out(output_len_out, "output_len_out")?,
                out(pending_out, "pending_out")?,
            )
        };
        if e.failed {
            return Err(Failure::bad_arg(FAILED_EARLIER));
        }
        if !e.finished {
            e.failed = true; // as in kmse_encryptor_update
            if let Err(err) = e.inner.finish(e.queue.sink()) {
                e.queue.wipe();
                return Err(err.into());
            }
            e.failed = false;
            e.finished = true;
        }
        deliver(&mut e.queue, output, output_len_out, pending_out);
        Ok(())
    })
}

/// The algorithm suite id of the message being written.
///
/// - `encryptor`: borrowed. `suite_id_out`: receives the id.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_algorithm_suite(
    encryptor: *const kmse_encryptor,
    suite_id_out: *mut u16,
) -> kmse_status {
    guard("kmse_encryptor_algorithm_suite", || {
        // SAFETY: a live encryptor or NULL, a valid out-pointer or NULL (API contract).
        let (e, o) = unsafe {
            (
                handle(encryptor, "encryptor")?,
                out(suite_id_out, "suite_id_out")?,
            )
        };
        o.write(e.inner.algorithm_suite().id());
        Ok(())
    })
}

/// The header of the message being written: suite, message ID, the stored
/// context, the encrypted data keys, the frame length.
///
/// - `encryptor`: borrowed.
/// - `header_out`: receives a new header owned by the caller (free it with
///   `kmse_header_free`).
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_header(
    encryptor: *const kmse_encryptor,
    header_out: *mut *mut kmse_header,
) -> kmse_status {
    guard("kmse_encryptor_header", || {
        // SAFETY: a live encryptor or NULL, a valid out-pointer or NULL (API contract).
        let (e, o) = unsafe {
            (
                handle(encryptor, "encryptor")?,
                out(header_out, "header_out")?,
            )
        };
        o.write(into_handle(kmse_header::new(e.inner.header().clone())));
        Ok(())
    })
}

/// The whole encryption context the message is bound to: the pairs its
/// header stores (`aws-crypto-public-key` on signing suites included) and
/// the required pairs, authenticated but not stored, that a reader must
/// supply.
///
/// - `encryptor`: borrowed.
/// - `context_out`: receives a new context owned by the caller (free it
///   with `kmse_encryption_context_free`).
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_encryption_context(
    encryptor: *const kmse_encryptor,
    context_out: *mut *mut kmse_encryption_context,
) -> kmse_status {
    guard("kmse_encryptor_encryption_context", || {
        // SAFETY: a live encryptor or NULL, a valid out-pointer or NULL (API contract).
        let (e, o) = unsafe {
            (
                handle(encryptor, "encryptor")?,
                out(context_out, "context_out")?,
            )
        };
        o.write(into_handle(kmse_encryption_context::new(
            e.inner.encryption_context().clone(),
        )));
        Ok(())
    })
}

/// Frees an encryptor (finished or not), wiping buffered plaintext. NULL is
/// ignored.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryptor_free(encryptor: *mut kmse_encryptor) {
    // SAFETY: the C caller passes NULL or an encryptor from this library, once.
    unsafe { free_handle(encryptor) }
}

/// Starts a streaming decryption with the client's policy, limits and
/// streaming settings. Nothing is read or unwrapped until the first update.
///
/// - `client`, `keyring`: borrowed; the decryptor keeps its own references.
/// - `context`: borrowed (copied); may be NULL. The expected context, as for
///   `kmse_decrypt`.
/// - `decryptor_out`: receives a new decryptor owned by the caller; free it
///   with `kmse_decryptor_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_new(
    client: *const kmse_client,
    keyring: *const kmse_keyring,
    context: *const kmse_encryption_context,
    decryptor_out: *mut *mut kmse_decryptor,
) -> kmse_status {
    guard("kmse_decryptor_new", || {
        // SAFETY: live handles or NULL, a valid out-pointer or NULL (API contract).
        let (client, keyring, context, decryptor_out) = unsafe {
            (
                handle(client, "client")?,
                handle(keyring, "keyring")?,
                opt_handle(context),
                out(decryptor_out, "decryptor_out")?,
            )
        };
        let decryptor = start_decryptor(client, Source::Keyring(keyring), context)?;
        decryptor_out.write(into_handle(decryptor));
        Ok(())
    })
}

/// Like `kmse_decryptor_new`, with materials from a CMM.
///
/// - `cmm`: borrowed; the decryptor keeps its own reference. Other
///   arguments as for `kmse_decryptor_new`.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_new_with_cmm(
    client: *const kmse_client,
    cmm: *const kmse_cmm,
    context: *const kmse_encryption_context,
    decryptor_out: *mut *mut kmse_decryptor,
) -> kmse_status {
    guard("kmse_decryptor_new_with_cmm", || {
        // SAFETY: live handles or NULL, a valid out-pointer or NULL (API contract).
        let (client, cmm, context, decryptor_out) = unsafe {
            (
                handle(client, "client")?,
                handle(cmm, "cmm")?,
                opt_handle(context),
                out(decryptor_out, "decryptor_out")?,
            )
        };
        let decryptor = start_decryptor(client, Source::Cmm(cmm), context)?;
        decryptor_out.write(into_handle(decryptor));
        Ok(())
    })
}

/// Decrypts a piece of the message. Consumes all of `input`; writes up to
/// `output_cap` bytes of released plaintext to `output`. The first call
/// that completes the header unwraps the data key (the keyring or its
/// callbacks run then). Draining works as for `kmse_encryptor_update`.
/// Bytes after the end of the message give `KMSE_STATUS_MALFORMED_MESSAGE`;
/// input after a successful `kmse_decryptor_finish` gives
/// `KMSE_STATUS_BAD_ARGUMENT` and leaves the pending plaintext deliverable.
///
/// - `decryptor`: modified.
/// - `input`, `input_len`: borrowed; may be NULL when 0.
/// - `output`, `output_cap`: the caller's buffer; may be NULL when 0. Must
///   not overlap `input`.
/// - `output_len_out`: receives the number of plaintext bytes written.
/// - `pending_out`: receives the number of released bytes still waiting.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_update(
    decryptor: *mut kmse_decryptor,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    output_len_out: *mut usize,
    pending_out: *mut usize,
) -> kmse_status {
    guard("kmse_decryptor_update", || {
        // SAFETY: a live decryptor or NULL, byte ranges and out-pointers
        // that are valid or NULL and do not overlap (API contract).
        let (d, input, output, output_len_out, pending_out) = unsafe {
            (
                handle(decryptor, "decryptor")?,
                bytes(input, input_len, "input")?,
                bytes_mut(output, output_cap, "output")?,
                out(output_len_out, "output_len_out")?,
                out(pending_out, "pending_out")?,
            )
        };
        let mut state = d.lock()?;
        let d = &mut *state;
        if d.failed {
            return Err(Failure::bad_arg(FAILED_EARLIER));
        }
        if d.finished && !input.is_empty() {
            // The message ended and authenticated; its pending plaintext
            // stays deliverable through kmse_decryptor_finish.
            return Err(Failure::bad_arg(
                "the message is already finished; input after kmse_decryptor_finish is not part of it",
            ));
        }
        if !input.is_empty() {
            if let Err(err) = d.inner.update(input, d.queue.sink()) {
                d.failed = true;
                d.queue.wipe();
                return Err(err.into());
            }
        }
        deliver(&mut d.queue, output, output_len_out, pending_out);
        Ok(())
    })
}

/// Checks that the whole message arrived and authenticated
/// (`KMSE_STATUS_MALFORMED_MESSAGE` if it ended early) and delivers what
/// is still waiting. Call it (again) until `*pending_out` is 0. Only then is
/// the plaintext complete.
///
/// - `decryptor`: modified.
/// - `output`, `output_cap`, `output_len_out`, `pending_out`: as for
///   `kmse_decryptor_update`.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_finish(
    decryptor: *mut kmse_decryptor,
    output: *mut u8,
    output_cap: usize,
    output_len_out: *mut usize,
    pending_out: *mut usize,
) -> kmse_status {
    guard("kmse_decryptor_finish", || {
        // SAFETY: a live decryptor or NULL, a byte range and out-pointers
        // that are valid or NULL (API contract).
        let (d, output, output_len_out, pending_out) = unsafe {
            (
                handle(decryptor, "decryptor")?,
                bytes_mut(output, output_cap, "output")?,
                out(output_len_out, "output_len_out")?,
                out(pending_out, "pending_out")?,
            )
        };
        let mut state = d.lock()?;
        let d = &mut *state;
        if d.failed {
            return Err(Failure::bad_arg(FAILED_EARLIER));
        }
        if !d.finished {
            if let Err(err) = d.inner.finish() {
                d.failed = true;
                d.queue.wipe();
                return Err(err.into());
            }
            d.finished = true;
        }
        deliver(&mut d.queue, output, output_len_out, pending_out);
        Ok(())
    })
}

/// The authenticated header, once the decryptor has read it.
///
/// - `decryptor`: borrowed.
/// - `header_out`: receives a new header owned by the caller (free it with
///   `kmse_header_free`), or NULL while the header has not been read and
///   authenticated yet (still `KMSE_STATUS_OK`). Once authenticated, the
///   header stays available after a later failure (a tampered frame or
///   signature), to say which message failed.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_header(
    decryptor: *const kmse_decryptor,
    header_out: *mut *mut kmse_header,
) -> kmse_status {
    guard("kmse_decryptor_header", || {
        // SAFETY: a live decryptor or NULL, a valid out-pointer or NULL (API contract).
        let (d, o) = unsafe {
            (
                handle(decryptor, "decryptor")?,
                out(header_out, "header_out")?,
            )
        };
        o.write(match d.lock()?.inner.header() {
            Some(h) => into_handle(kmse_header::new(h.clone())),
            None => std::ptr::null_mut(),
        });
        Ok(())
    })
}

/// The encryption context (the header's pairs plus the reproduced pairs it
/// did not store), once the header has been authenticated.
///
/// - `decryptor`: borrowed.
/// - `context_out`: receives a new context owned by the caller (free it
///   with `kmse_encryption_context_free`), or NULL while the header has not
///   been authenticated yet (still `KMSE_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_encryption_context(
    decryptor: *const kmse_decryptor,
    context_out: *mut *mut kmse_encryption_context,
) -> kmse_status {
    guard("kmse_decryptor_encryption_context", || {
        // SAFETY: a live decryptor or NULL, a valid out-pointer or NULL (API contract).
        let (d, o) = unsafe {
            (
                handle(decryptor, "decryptor")?,
                out(context_out, "context_out")?,
            )
        };
        o.write(match d.lock()?.inner.encryption_context() {
            Some(ec) => into_handle(kmse_encryption_context::new(ec.clone())),
            None => std::ptr::null_mut(),
        });
        Ok(())
    })
}

/// Whether the whole message has been read and authenticated.
///
/// - `decryptor`: borrowed. `done_out`: receives the answer.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_is_done(
    decryptor: *const kmse_decryptor,
    done_out: *mut bool,
) -> kmse_status {
    guard("kmse_decryptor_is_done", || {
        // SAFETY: a live decryptor or NULL, a valid out-pointer or NULL (API contract).
        let (d, o) = unsafe { (handle(decryptor, "decryptor")?, out(done_out, "done_out")?) };
        o.write(d.lock()?.inner.is_done());
        Ok(())
    })
}

/// Frees a decryptor (finished or not), wiping plaintext it still holds.
/// NULL is ignored, and so is a call from inside one of the decryptor's own
/// keyring callbacks (the decryptor is in use: free it after that call
/// returns).
#[no_mangle]
pub unsafe extern "C" fn kmse_decryptor_free(decryptor: *mut kmse_decryptor) {
    // SAFETY: the C caller passes NULL or a live decryptor from this library.
    if let Some(d) = unsafe { decryptor.as_ref() } {
        if matches!(d.state.try_lock(), Err(TryLockError::WouldBlock)) {
            // A call holds the state (its keyring callback is freeing the
            // decryptor): freeing now would pull it from under that call.
            return;
        }
    }
    // SAFETY: the C caller passes NULL or a decryptor from this library, once.
    unsafe { free_handle(decryptor) }
}

#[cfg(test)]
mod tests {
    use super::Queue;

    #[test]
    fn queue_delivers_in_order_with_any_buffer_size() {
        let mut q = Queue::default();
        q.sink().extend_from_slice(b"hello world");
        let mut small = [0u8; 3];
        assert_eq!(q.deliver(&mut small), 3);
        assert_eq!(&small, b"hel");
        assert_eq!(q.pending(), 8);
        q.sink().extend_from_slice(b"!");
        let mut none: [u8; 0] = [];
        assert_eq!(q.deliver(&mut none), 0);
        let mut big = [0u8; 64];
        let n = q.deliver(&mut big);
        assert_eq!(&big[..n], b"lo world!");
        assert_eq!(q.pending(), 0);
        q.sink().extend_from_slice(b"x");
        q.wipe();
        assert_eq!(q.pending(), 0);
    }
}
