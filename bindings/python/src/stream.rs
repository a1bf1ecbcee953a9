//! Incremental encryption and decryption: the core stream state machines.
//! The file-like readers and writers are written in Python on top of these.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use kms_envelope::{SignedRelease, StreamDecryptor, StreamEncryptor};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use pyo3::PyTraverseError;
use zeroize::Zeroizing;

use crate::api::{client, frame_length};
use crate::cmm::source;
use crate::convert::{self, bytes_like};
use crate::errors::{bad_arg, run_core};
use crate::gc::{source_object, Made};

/// A stream state machine behind a lock that knows which thread holds it.
/// The decryptor runs keyring callbacks (Python code) while locked; a
/// callback that calls back into the same stream would wait on itself
/// forever, so that call fails with a clear error instead. Other threads
/// simply wait their turn.
struct Exclusive<T> {
    inner: Mutex<T>,
    holder: AtomicU64,
    /// A call failed after the state machine ran (see `failing`).
    broken: AtomicBool,
    /// `finish` succeeded: the message is whole.
    finished: AtomicBool,
}

/// This thread's token for `Exclusive::holder` (0 means nobody).
fn thread_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed));
    TOKEN.with(|t| *t)
}

impl<T> Exclusive<T> {
    fn new(value: T) -> Self {
        Self {
            inner: Mutex::new(value),
            holder: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        }
    }

    /// Runs `f` on the locked state (call it with the GIL released, as
    /// `lock`), unless `finish` succeeded before: then `None`, and the
    /// finished stream stays as it was. A `finish` call (`finishing`) that
    /// succeeds marks the stream finished under the same lock, so of two
    /// threads finishing at once one finishes and the other finds it done.
    fn unless_finished<R>(
        &self,
        finishing: bool,
        f: impl FnOnce(&mut T) -> Result<R, kms_envelope::Error>,
    ) -> Result<Option<R>, kms_envelope::Error> {
        let mut held = self.lock();
        if self.finished.load(Ordering::Acquire) {
            return Ok(None);
        }
        let result = f(&mut held)?;
        if finishing {
            self.finished.store(true, Ordering::Release);
        }
        Ok(Some(result))
    }

    /// One `update` of the `what` stream with `input`: `f` takes it unless
    /// the stream finished (then empty input gives `b""`, and any other
    /// is refused, as in the C API: it can never join the finished
    /// message); what `f` returns becomes `bytes`.
    fn feed<'py, O>(
        &self,
        py: Python<'py>,
        what: &str,
        input: &[u8],
        f: impl Send + FnOnce(&mut T) -> Result<O, kms_envelope::Error>,
    ) -> PyResult<Bound<'py, PyBytes>>
    where
        T: Send,
        O: Send + AsRef<[u8]>,
    {
        self.usable(what)?;
        match self.failing(run_core(py, || self.unless_finished(false, f)))? {
            Some(out) => self.failing(convert::bytes_out(py, out.as_ref())),
            None if input.is_empty() => Ok(PyBytes::new(py, b"")),
            None => Err(bad_arg(format!(
                "the {what} is already finished: input after finish() is not part of its message"
            ))),
        }
    }

    /// `not_reentered`, and fails once a call failed (`failing`).
    fn usable(&self, what: &str) -> PyResult<()> {
        self.not_reentered(what)?;
        if self.broken.load(Ordering::Acquire) {
            return Err(bad_arg(format!(
                "the {what} failed or was interrupted in an earlier call and cannot go on: \
                 start a new one"
            )));
        }
        Ok(())
    }

    /// Passes `result` on, marking the stream unusable if it failed. The core
    /// fails its own stream on its errors, but not when the call succeeded
    /// and the error came after: a KeyboardInterrupt (or other
    /// BaseException) raised in a keyring or hash callback the core
    /// recovered from, or a MemoryError copying the output. The input is
    /// taken and its output dropped then, so going on would silently leave
    /// a piece out.
    fn failing<R>(&self, result: PyResult<R>) -> PyResult<R> {
        if result.is_err() {
            self.broken.store(true, Ordering::Release);
        }
        result
    }

    fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// Fails if this thread holds the lock already: the call came from
    /// inside the stream's own callback. Call it with the GIL held, before
    /// `lock`.
    fn not_reentered(&self, what: &str) -> PyResult<()> {
        if self.holder.load(Ordering::Acquire) == thread_token() {
            return Err(bad_arg(format!(
                "the {what} is busy: it was called from inside its own keyring or \
                 materials manager callback"
            )));
        }
        Ok(())
    }

    /// Takes the lock (call it with the GIL released: the holder may need
    /// the GIL to finish), recording this thread as the holder.
    fn lock(&self) -> Held<'_, T> {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.holder.store(thread_token(), Ordering::Release);
        Held {
            guard,
            holder: &self.holder,
        }
    }
}

/// The locked state; forgets the holder when dropped.
struct Held<'a, T> {
    guard: MutexGuard<'a, T>,
    holder: &'a AtomicU64,
}

impl<T> Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        self.holder.store(0, Ordering::Release);
    }
}

/// Encrypts one message piece by piece, holding at most one frame of
/// plaintext. Gets the data key when created; :meth:`update` returns every
/// completed piece of the message (the header first), :meth:`finish` the rest.
///
/// Takes the same arguments as :func:`encrypt`, plus ``plaintext_length``:
/// the exact length, if known (the encryptor then fails as soon as more
/// arrives, or at :meth:`finish` if less did).
#[pyclass(frozen, module = "kms_envelope", name = "StreamEncryptor")]
pub(crate) struct PyStreamEncryptor {
    inner: Exclusive<StreamEncryptor>,
    /// The keyring or manager it was built from (`crate::gc`).
    source: Option<Py<PyAny>>,
    /// Kept: the core stream may drop its keyring before the stream ends.
    made: Made,
    /// The header it writes and the materials' whole context, read once:
    /// the getters need no lock.
    header: kms_envelope::MessageHeader,
    context: kms_envelope::EncryptionContext,
}

#[pymethods]
impl PyStreamEncryptor {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.source)?;
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (*, keyring=None, materials_manager=None, encryption_context=None,
        algorithm_suite=None, frame_length=convert::Int::new(4096), commitment_policy=None,
        max_encrypted_data_keys=None, plaintext_length=None),
        text_signature = "(*, keyring=None, materials_manager=None, encryption_context=None, \
            algorithm_suite=None, frame_length=4096, commitment_policy=None, \
            max_encrypted_data_keys=None, plaintext_length=None)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keyring: Option<&Bound<'_, PyAny>>,
        materials_manager: Option<&Bound<'_, PyAny>>,
        encryption_context: Option<&Bound<'_, PyAny>>,
        algorithm_suite: Option<&Bound<'_, PyAny>>,
        frame_length: convert::Int,
        commitment_policy: Option<&Bound<'_, PyAny>>,
        max_encrypted_data_keys: Option<convert::Int>,
        plaintext_length: Option<convert::Int>,
    ) -> PyResult<Self> {
        let held = source_object(keyring, materials_manager);
        let mut made = Made::default();
        let source = source(keyring, materials_manager, &mut made)?.into_manager();
        let context = convert::context(encryption_context)?;
        let suite = convert::suite(algorithm_suite)?;
        let frame_length = self::frame_length(frame_length)?;
        let client = client(commitment_policy, max_encrypted_data_keys)?;
        let plaintext_length: Option<u64> = plaintext_length
            .map(|n| n.within("plaintext_length", 0, i64::MAX as u64))
            .transpose()?;
        let encryptor = run_core(py, move || {
            let mut b = client
                .stream_encrypt()
                .materials_manager(source)
                .encryption_context(context)
                .frame_length(frame_length);
            if let Some(s) = suite {
                b = b.algorithm_suite(s);
            }
            if let Some(n) = plaintext_length {
                b = b.plaintext_length(n);
            }
            b.start()
        })?;
        Ok(Self {
            header: encryptor.header().clone(),
            context: encryptor.encryption_context().clone(),
            inner: Exclusive::new(encryptor),
            source: held,
            made,
        })
    }

    /// The message's algorithm suite.
    #[getter]
    fn algorithm_suite<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::suite_to_py(py, self.header.algorithm_suite)
    }

    /// The header this encryptor writes: suite, message ID, the stored
    /// context, the encrypted data keys, the frame length.
    #[getter]
    fn header(&self) -> crate::api::PyMessageHeader {
        crate::api::PyMessageHeader(self.header.clone())
    }

    /// The whole encryption context the message is bound to: the pairs the
    /// header stores (``aws-crypto-public-key`` on signing suites included)
    /// and the required pairs, authenticated but not stored, that a reader
    /// must supply.
    #[getter]
    fn encryption_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        convert::context_to_py(py, &self.context)
    }

    /// Encrypts ``data`` (any bytes-like object) and returns the message
    /// bytes completed so far (possibly ``b""``).
    fn update<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = bytes_like(data, "data")?;
        self.inner.feed(py, "encryptor", &data, |e| {
            let mut out = Vec::with_capacity(data.len() + 1024);
            e.update(&data, &mut out)?;
            Ok(out)
        })
    }

    /// Writes the final frame and the footer and returns them. Afterwards
    /// ``finish()`` returns ``b""`` and ``update()`` takes only empty input:
    /// the message is complete.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.inner.usable("encryptor")?;
        let out = self.inner.failing(run_core(py, || {
            self.inner.unless_finished(true, |e| {
                let mut out = Vec::new();
                e.finish(&mut out)?;
                Ok(out)
            })
        }))?;
        match out {
            Some(out) => self.inner.failing(convert::bytes_out(py, &out)),
            None => Ok(PyBytes::new(py, b"")),
        }
    }
}

/// Decrypts one message piece by piece, holding at most one frame of
/// ciphertext. :meth:`update` returns the plaintext that the release rules
/// allow (possibly ``b""``); :meth:`finish` checks that the message is
/// complete.
///
/// Release rules: unsigned suites release each frame once its tag verifies.
/// Signed suites hold everything until the signature verifies (up to
/// ``max_buffered_plaintext`` bytes, default 64 MiB; beyond it the decryptor
/// fails), unless ``signed_release="frames"``: then each regular frame is
/// released once its tag verifies, before the signature is checked, and the
/// caller must discard everything if the stream fails later.
/// ``unsigned_only=True`` refuses signed messages right after the header.
///
/// ``max_frame_size`` (default 64 MiB) is the largest frame, or non-framed
/// body, the decryptor holds to authenticate; larger ones are refused, as
/// are headers past that size or 1 MiB, whichever is larger. Raise it to
/// read messages with larger frames (one-shot :func:`decrypt` has no such
/// limit).
#[pyclass(frozen, module = "kms_envelope", name = "StreamDecryptor")]
pub(crate) struct PyStreamDecryptor {
    inner: Exclusive<StreamDecryptor>,
    /// The keyring or manager it was built from (`crate::gc`).
    source: Option<Py<PyAny>>,
    /// Kept: the core stream may drop its keyring before the stream ends.
    made: Made,
}

#[pymethods]
impl PyStreamDecryptor {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.source)?;
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (*, keyring=None, materials_manager=None, encryption_context=None,
        commitment_policy=None, max_encrypted_data_keys=None,
        signed_release=convert::Text("after-signature".into()),
        unsigned_only=false, max_buffered_plaintext=None, max_frame_size=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keyring: Option<&Bound<'_, PyAny>>,
        materials_manager: Option<&Bound<'_, PyAny>>,
        encryption_context: Option<&Bound<'_, PyAny>>,
        commitment_policy: Option<&Bound<'_, PyAny>>,
        max_encrypted_data_keys: Option<convert::Int>,
        signed_release: convert::Text,
        unsigned_only: bool,
        max_buffered_plaintext: Option<convert::Int>,
        max_frame_size: Option<convert::Int>,
    ) -> PyResult<Self> {
        let held = source_object(keyring, materials_manager);
        let mut made = Made::default();
        let source = source(keyring, materials_manager, &mut made)?.into_manager();
        let reproduced = match encryption_context.filter(|e| !e.is_none()) {
            Some(ec) => Some(convert::context(Some(ec))?),
            None => None,
        };
        let client = client(commitment_policy, max_encrypted_data_keys)?;
        let release = match signed_release.0.as_str() {
            "after-signature" => SignedRelease::AfterSignature,
            "frames" => SignedRelease::Frames,
            other => {
                return Err(bad_arg(format!(
                    "signed_release must be \"after-signature\" or \"frames\", not {other:?}"
                )))
            }
        };
        let mut b = client
            .stream_decrypt()
            .materials_manager(source)
            .signed_release(release)
            .unsigned_only(unsigned_only);
        if let Some(ec) = reproduced {
            b = b.encryption_context(ec);
        }
        if let Some(max) = max_buffered_plaintext {
            b = b.max_buffered_plaintext(max.within(
                "max_buffered_plaintext",
                0,
                i64::MAX as u64,
            )?);
        }
        if let Some(max) = max_frame_size {
            b = b.max_frame_size(max.within("max_frame_size", 0, i64::MAX as u64)?);
        }
        let decryptor = run_core(py, move || b.start())?;
        Ok(Self {
            inner: Exclusive::new(decryptor),
            source: held,
            made,
        })
    }

    /// Decrypts ``data`` (any bytes-like object, any size) and returns the
    /// plaintext released so far (possibly ``b""``). The first call that
    /// completes the header unwraps the data key.
    fn update<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = bytes_like(data, "data")?;
        self.inner.feed(py, "decryptor", &data, |d| {
            // Plaintext: wiped once `bytes` holds its copy.
            let mut out = Zeroizing::new(Vec::with_capacity(data.len()));
            d.update(&data, &mut out)?;
            Ok(out)
        })
    }

    /// Checks that the whole message was read and authenticated. Raises
    /// :class:`MalformedMessageError` if the input ended early. Once it
    /// succeeded, calling it again does nothing and ``update()`` takes only
    /// empty input.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.usable("decryptor")?;
        self.inner
            .failing(run_core(py, || {
                self.inner.unless_finished(true, |d| d.finish())
            }))
            .map(drop)
    }

    /// Whether the whole message has been read and authenticated (and all
    /// its plaintext returned: never after a failed call).
    #[getter]
    fn is_done(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(!self.inner.is_broken() && self.peek(py, |d| d.is_done())?)
    }

    /// The message header once it has been read and authenticated, else
    /// ``None``; kept after a later failure, to say which message failed.
    #[getter]
    fn header(&self, py: Python<'_>) -> PyResult<Option<crate::api::PyMessageHeader>> {
        Ok(self
            .peek(py, |d| d.header().cloned())?
            .map(crate::api::PyMessageHeader))
    }

    /// The algorithm suite once the header has been read, else ``None``.
    #[getter]
    fn algorithm_suite<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let suite = self.peek(py, |d| d.header().map(|h| h.algorithm_suite))?;
        suite.map(|s| convert::suite_to_py(py, s)).transpose()
    }

    /// The encryption context (header pairs plus reproduced-only pairs) once
    /// the header has been authenticated, else ``None``.
    #[getter]
    fn encryption_context<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let ec = self.peek(py, |d| d.encryption_context().cloned())?;
        ec.map(|ec| convert::context_to_py(py, &ec)).transpose()
    }
}

impl PyStreamDecryptor {
    /// Reads the decryptor's state. The lock is taken with the GIL released:
    /// another thread may hold it while it decrypts without the GIL.
    fn peek<R: Send>(
        &self,
        py: Python<'_>,
        f: impl Send + FnOnce(&StreamDecryptor) -> R,
    ) -> PyResult<R> {
        self.inner.not_reentered("decryptor")?;
        Ok(py.detach(|| f(&self.inner.lock())))
    }
}
