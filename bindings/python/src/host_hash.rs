//! The signature hash of long messages on `hashlib`.
//!
//! CPython's `hashlib` runs OpenSSL, whose SHA-384 has an AVX2 path on every
//! x86-64 CPU that has AVX2; AWS-LC (the core's backend) takes its AVX path
//! on Intel only and runs scalar code elsewhere. On the AMD machine of
//! `make bench` that is 420-440 MB/s against 335-360 MB/s, and the SHA-384
//! of a signed (0x0578) message is what bounds it. So the core's host-hash
//! hook (`kms_envelope::host_crypto`) hands every hash of at least
//! [`MIN_LEN`] bytes to `_hashlib`, OpenSSL's constructor: the bytes are
//! identical either way. Shorter hashes (cache IDs, small messages) stay in
//! AWS-LC and never take the GIL.
//!
//! Each update takes the GIL once (the core gives the hash 256 KiB at a
//! time) and lends `_hashlib` a read-only `memoryview` of the core's buffer,
//! released before the update returns; `hashlib` drops the GIL while it
//! hashes. If `_hashlib` is missing (a CPython built without OpenSSL), the
//! hook is not installed.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use kms_envelope::host_crypto::{set_host_hash, HostDigest, HostHash};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyType};

/// Hashes shorter than this stay in AWS-LC: below it the GIL round trips
/// outweigh the faster hash.
const MIN_LEN: usize = 1 << 20;

/// `PyBUF_READ` of CPython's `object.h` (a read-only memoryview); pyo3-ffi
/// leaves it out of its abi3 build, but the value is part of the stable ABI.
const PYBUF_READ: std::ffi::c_int = 0x100;

/// `_hashlib`'s constructors and result type, looked up once.
struct Hashlib {
    sha256: Py<PyAny>,
    sha384: Py<PyAny>,
    sha512: Py<PyAny>,
    /// `_hashlib.HASH`: every object we lend a buffer to is exactly this
    /// type (it cannot be subclassed), whose `update` releases the buffer
    /// before it returns.
    hash_type: Py<PyType>,
}

static HASHLIB: PyOnceLock<Option<Hashlib>> = PyOnceLock::new();

/// Updates handed to `hashlib` so far, for the tests (`_hashlib_updates`).
static UPDATES: AtomicU64 = AtomicU64::new(0);

/// How many hash updates went to `hashlib` in this process (private: the
/// tests check that long signature hashes take this path and short ones
/// do not).
#[pyfunction]
pub(crate) fn _hashlib_updates() -> u64 {
    UPDATES.load(Ordering::Relaxed)
}

thread_local! {
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

fn hashlib(py: Python<'_>) -> Option<&'static Hashlib> {
    HASHLIB
        .get_or_init(py, || {
            let m = py.import("_hashlib").ok()?;
            let get = |name: &str| m.getattr(name).ok().map(Bound::unbind);
            Some(Hashlib {
                sha256: get("openssl_sha256")?,
                sha384: get("openssl_sha384")?,
                sha512: get("openssl_sha512")?,
                hash_type: m.getattr("HASH").ok()?.cast_into::<PyType>().ok()?.unbind(),
            })
        })
        .as_ref()
}

/// Installs the `hashlib` hook on the calling thread (once per thread);
/// called before the core runs there.
///
/// Not on daemon threads (nor threads Python did not start, which
/// `threading` counts as daemons): before Python 3.14, a thread that takes
/// the GIL while the interpreter finalizes is ended by `pthread_exit`, and
/// unwinding the core's Rust frames that way aborts the process. Each hash
/// update takes the GIL (and `hashlib` drops and retakes it), so a daemon
/// thread hashing a signed message as the program exited aborted it every
/// time. Non-daemon threads are joined before finalization.
pub(crate) fn install(py: Python<'_>) {
    if INSTALLED.with(Cell::get) {
        return;
    }
    INSTALLED.with(|i| i.set(true));
    if is_daemon(py) {
        return;
    }
    if let Some(lib) = hashlib(py) {
        set_host_hash(Some(Rc::new(Host(lib))));
    }
}

/// Whether `threading` counts the calling thread as a daemon (unknown:
/// yes, the safe side).
fn is_daemon(py: Python<'_>) -> bool {
    py.import("threading")
        .and_then(|t| t.call_method0("current_thread"))
        .and_then(|t| t.getattr("daemon"))
        .and_then(|d| d.extract::<bool>())
        .unwrap_or(true)
}

struct Host(&'static Hashlib);

impl HostHash for Host {
    fn start(&self, name: &str) -> Option<Box<dyn HostDigest>> {
        let ctor = match name {
            "sha256" => &self.0.sha256,
            "sha384" => &self.0.sha384,
            "sha512" => &self.0.sha512,
            _ => return None,
        };
        Some(Box::new(Digest {
            lib: self.0,
            ctor,
            state: State::Unstarted,
        }))
    }

    fn min_len(&self) -> usize {
        MIN_LEN
    }
}

enum State {
    /// No `hashlib` object yet: it is made on the first update, with the GIL
    /// (the core starts a hash without knowing how long it will be).
    Unstarted,
    Running(Py<PyAny>),
    /// `hashlib` raised: the digest is reported missing (fail closed).
    Failed,
}

struct Digest {
    lib: &'static Hashlib,
    ctor: &'static Py<PyAny>,
    state: State,
}

impl Digest {
    fn try_update(&self, py: Python<'_>, hash: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<()> {
        if !hash.get_type().is(self.lib.hash_type.bind(py)) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_hashlib returned an unexpected type",
            ));
        }
        let len = pyo3::ffi::Py_ssize_t::try_from(data.len())
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("update too large"))?;
        // SAFETY: the memoryview is read-only (PyBUF_READ) over `data`, which
        // outlives this function. It is handed only to `_hashlib.HASH.update`
        // (the exact type is checked above), which takes a buffer from it,
        // hashes, and releases the buffer before returning, keeping no
        // reference. `release()` below then detaches the view from `data`
        // before we return; should it fail (an export still alive), we abort
        // rather than let `data` be freed under a live view.
        let view = unsafe {
            let ptr = pyo3::ffi::PyMemoryView_FromMemory(
                data.as_ptr().cast::<std::ffi::c_char>().cast_mut(),
                len,
                PYBUF_READ,
            );
            Bound::from_owned_ptr_or_err(py, ptr)?
        };
        let result = hash.call_method1("update", (&view,));
        UPDATES.fetch_add(1, Ordering::Relaxed);
        if view.call_method0("release").is_err() {
            eprintln!("kms_envelope: a memoryview over core memory is still exported; aborting");
            std::process::abort();
        }
        result.map(drop)
    }
}

impl HostDigest for Digest {
    fn update(&mut self, data: &[u8]) {
        Python::attach(|py| {
            if matches!(self.state, State::Unstarted) {
                self.state = match self.ctor.bind(py).call0() {
                    Ok(hash) => State::Running(hash.unbind()),
                    Err(_) => State::Failed,
                };
            }
            if let State::Running(hash) = &self.state {
                if self.try_update(py, hash.bind(py), data).is_err() {
                    self.state = State::Failed;
                }
            }
        });
    }

    fn finish(self: Box<Self>) -> Option<Vec<u8>> {
        Python::attach(|py| match self.state {
            State::Running(hash) => hash
                .bind(py)
                .call_method0("digest")
                .ok()
                .and_then(|d| d.cast::<PyBytes>().ok().map(|d| d.as_bytes().to_vec())),
            State::Unstarted | State::Failed => None,
        })
    }
}
