//! Conversions between Python values and core types.

use std::collections::BTreeSet;
use std::mem::MaybeUninit;
use std::time::Duration;

use kms_envelope::{AlgorithmSuite, CommitmentPolicy, EncryptionContext, RsaPadding};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFrozenSet, PyInt, PyMemoryView, PyString, PyType,
};

use zeroize::{Zeroize, Zeroizing};

use crate::errors::bad_arg;

/// Bytes usable while the GIL is released.
///
/// `bytes` (immutable) is borrowed without a copy; `bytearray`, `memoryview`
/// and every other buffer (mutable, or owned by someone who may change it
/// while the GIL is released) is copied first.
pub(crate) fn bytes_like(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PyBackedBytes> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(PyBackedBytes::from(b.clone()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(PyBackedBytes::from(b.clone()));
    }
    if !obj.is_instance_of::<PyString>() {
        match PyMemoryView::from(obj) {
            Ok(view) => {
                // bytes(memoryview) copies any buffer, contiguous or not.
                let copy = obj.py().get_type::<PyBytes>().call1((view,))?;
                return Ok(PyBackedBytes::from(copy.cast_into::<PyBytes>()?));
            }
            // A buffer that exists no more (a released memoryview, a closed
            // mmap) says so itself.
            Err(e) if e.is_instance_of::<PyValueError>(obj.py()) => {
                return Err(PyValueError::new_err(format!(
                    "{what}: {}",
                    e.value(obj.py())
                )));
            }
            Err(_) => {}
        }
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a bytes-like object (bytes, bytearray, memoryview), not '{}'",
        type_name(obj)
    )))
}

/// A secret (a key) from a bytes-like object, copied into memory that is
/// wiped on drop. A `memoryview` or other buffer is copied through a
/// `bytearray` of our own, which is zeroed before it is let go.
pub(crate) fn secret_bytes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Zeroizing<Vec<u8>>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Zeroizing::new(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Zeroizing::new(b.to_vec()));
    }
    let view = match PyMemoryView::from(obj) {
        Ok(view) if !obj.is_instance_of::<PyString>() => view,
        // Not a buffer: bytes_like says why, in its words.
        _ => return bytes_like(obj, what).map(|b| Zeroizing::new(b.to_vec())),
    };
    // Any buffer, contiguous or not. Through the view: bytearray(x) would
    // take an `x` that also has `__index__` (a NumPy integer) as a length.
    let copy = obj.py().get_type::<PyByteArray>().call1((view,))?;
    let copy = copy.cast_into::<PyByteArray>()?;
    let secret = Zeroizing::new(copy.to_vec());
    // SAFETY: `copy` was made just above and never handed out, so no other
    // reference to its buffer exists, and nothing runs Python code (which
    // could resize it) while the slice is alive.
    unsafe { copy.as_bytes_mut() }.zeroize();
    Ok(secret)
}

/// Outputs at least this large are copied into their `bytes` with the GIL released.
pub(crate) const DETACHED_COPY: usize = 1 << 20;

/// A new `bytes` holding `data`. Large outputs are copied with the GIL
/// released, so other threads run while megabytes move.
pub(crate) fn bytes_out<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if data.len() < DETACHED_COPY {
        return Ok(PyBytes::new(py, data));
    }
    new_bytes_with(py, data.len(), |dst| {
        py.detach(|| copy_parallel(dst, data));
        Ok(())
    })
    .map(|(bytes, ())| bytes)
}

/// A new `bytes` of `len` bytes whose buffer `init` gets uninitialized and
/// must initialize completely before returning `Ok` (on `Err` the object is
/// freed unseen). `init` may release the GIL: until this returns, the object
/// is reachable from nowhere else.
pub(crate) fn new_bytes_with<'py, T>(
    py: Python<'py>,
    len: usize,
    init: impl FnOnce(&mut [MaybeUninit<u8>]) -> PyResult<T>,
) -> PyResult<(Bound<'py, PyBytes>, T)> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("output too large"))?;
    // SAFETY: `PyBytes_FromStringAndSize(NULL, size)` returns a new,
    // uninitialized bytes object of `size` bytes (or NULL with an exception
    // set), owned by us alone: no other code can reach it until we return it,
    // so writing its buffer without the GIL races with nothing.
    // `PyBytes_AsString` on a bytes object returns its buffer, valid for
    // `len` bytes while the object lives (we hold the reference throughout).
    // The buffer is only ever seen as `MaybeUninit<u8>` here.
    unsafe {
        let obj = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        let obj = Bound::from_owned_ptr_or_err(py, obj)?.cast_into_unchecked::<PyBytes>();
        let buf = pyo3::ffi::PyBytes_AsString(obj.as_ptr()).cast::<u8>();
        if buf.is_null() {
            return Err(PyErr::fetch(py));
        }
        crate::alloc::advise_huge_pages(buf, len);
        let value = init(std::slice::from_raw_parts_mut(
            buf.cast::<MaybeUninit<u8>>(),
            len,
        ))?;
        Ok((obj, value))
    }
}

/// Pieces of a large copy are spread over the available cores: the cost is
/// mostly first-touch page faults of the new buffer, which scale with threads.
const PARALLEL_COPY: usize = 8 << 20;

/// Initializes all of `dst` (exactly as long as `src`) with `src`.
fn copy_parallel(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    fn copy(d: &mut [MaybeUninit<u8>], s: &[u8]) {
        debug_assert_eq!(d.len(), s.len());
        // SAFETY: `d` and `s` have the same length (pieces of equal-length
        // slices, split at the same offsets) and do not overlap (`d` is a
        // fresh buffer); writing bytes into `MaybeUninit<u8>` is always valid.
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), d.as_mut_ptr().cast::<u8>(), s.len()) }
    }
    let threads = crate::api::frame_threads().min(8);
    if threads < 2 || src.len() < PARALLEL_COPY {
        copy(dst, src);
        return;
    }
    let piece = src.len().div_ceil(threads);
    // Pieces are taken from one queue by the helpers and by this thread: a
    // helper the system refuses to start (a process or memory limit)
    // leaves its share to the others, never a failure.
    let pieces = std::sync::Mutex::new(dst.chunks_mut(piece).zip(src.chunks(piece)));
    let take = || pieces.lock().unwrap_or_else(|e| e.into_inner()).next();
    let drain = || {
        while let Some((d, s)) = take() {
            copy(d, s);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            if std::thread::Builder::new()
                .spawn_scoped(scope, drain)
                .is_err()
            {
                break;
            }
        }
        drain();
    });
}

/// The type name of `obj`, for error messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// An encryption context from `None` or a mapping of `str` to `str`.
pub(crate) fn context(obj: Option<&Bound<'_, PyAny>>) -> PyResult<EncryptionContext> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(EncryptionContext::new());
    };
    let dict = match obj.cast::<PyDict>() {
        Ok(d) => d.clone(),
        Err(_) => {
            if !obj.hasattr("keys")? {
                return Err(PyTypeError::new_err(format!(
                    "encryption_context must be a mapping of str to str, not '{}'",
                    type_name(obj)
                )));
            }
            obj.py()
                .get_type::<PyDict>()
                .call1((obj,))?
                .cast_into::<PyDict>()?
        }
    };
    let mut ec = EncryptionContext::new();
    for (k, v) in dict.iter() {
        let k = k.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "encryption context keys must be str, not '{}'",
                type_name(&k)
            ))
        })?;
        let v = v.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "encryption context values must be str, not '{}' (key {k:?})",
                type_name(&v)
            ))
        })?;
        ec.insert(
            utf8(k, "encryption context keys and values")?,
            utf8(v, "encryption context keys and values")?,
        );
    }
    Ok(ec)
}

/// The UTF-8 text of `s`; `BadArgumentError` if it holds lone surrogates
/// (which UTF-8 cannot encode).
pub(crate) fn utf8<'a>(
    s: &'a Bound<'_, PyString>,
    what: &str,
) -> PyResult<std::borrow::Cow<'a, str>> {
    s.to_cow()
        .map_err(|_| bad_arg(format!("{what} must be valid Unicode (no lone surrogates)")))
}

/// A new dict holding `ec`.
pub(crate) fn context_to_py<'py>(
    py: Python<'py>,
    ec: &EncryptionContext,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in ec.iter() {
        dict.set_item(k, v)?;
    }
    Ok(dict)
}

/// A frozenset of strings.
pub(crate) fn str_set<'py>(
    py: Python<'py>,
    keys: &BTreeSet<String>,
) -> PyResult<Bound<'py, PyFrozenSet>> {
    PyFrozenSet::new(py, keys.iter())
}

/// An algorithm suite from an `AlgorithmSuite` member, its integer id, or a
/// name / hex string such as `"0x0478"`.
pub(crate) fn suite(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<AlgorithmSuite>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(int) = obj.cast::<PyInt>() {
        return int
            .extract::<u16>()
            .ok()
            .and_then(AlgorithmSuite::from_id)
            .map(Some)
            .ok_or_else(|| {
                let shown = match int.extract::<u64>() {
                    Ok(id) => format!("{id:#06x}"),
                    Err(_) => int.to_string(),
                };
                bad_arg(format!("unknown algorithm suite {shown}"))
            });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return utf8(s, "algorithm_suite")?
            .parse()
            .map(Some)
            .map_err(|e: kms_envelope::Error| bad_arg(e.to_string()));
    }
    if let Some(name) = enum_member_name(obj)? {
        return name
            .parse()
            .map(Some)
            .map_err(|e: kms_envelope::Error| bad_arg(e.to_string()));
    }
    Err(PyTypeError::new_err(format!(
        "algorithm_suite must be a kms_envelope.AlgorithmSuite, its id or its name, not '{}'",
        type_name(obj)
    )))
}

static ENUM_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The name of a member of another library's `enum.Enum`, such as the
/// official SDK's `AlgorithmSuite` and `CommitmentPolicy` (whose names are
/// the ones this package parses), or `None` for anything else.
fn enum_member_name(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let enum_class = ENUM_CLASS.import(obj.py(), "enum", "Enum")?;
    if !obj.is_instance(enum_class)? {
        return Ok(None);
    }
    let name = obj.getattr("name")?;
    let name = name
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("an enum member's name must be a str"))?;
    Ok(Some(utf8(name, "enum member name")?.into_owned()))
}

static SUITE_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The `kms_envelope.AlgorithmSuite` member for `suite`.
pub(crate) fn suite_to_py(py: Python<'_>, suite: AlgorithmSuite) -> PyResult<Bound<'_, PyAny>> {
    SUITE_CLASS
        .import(py, "kms_envelope._types", "AlgorithmSuite")?
        .call1((suite.id(),))
}

/// A commitment policy from a `CommitmentPolicy` member or its name.
pub(crate) fn policy(obj: Option<&Bound<'_, PyAny>>) -> PyResult<CommitmentPolicy> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(CommitmentPolicy::default());
    };
    let name = match obj.cast::<PyString>() {
        Ok(s) => utf8(s, "commitment_policy")?.into_owned(),
        Err(_) => enum_member_name(obj)?.ok_or_else(|| {
            PyTypeError::new_err(format!(
                "commitment_policy must be a kms_envelope.CommitmentPolicy or its name, not '{}'",
                type_name(obj)
            ))
        })?,
    };
    name.parse()
        .map_err(|e: kms_envelope::Error| bad_arg(e.to_string()))
}

/// An RSA padding from an `RsaPadding` member or its name.
pub(crate) fn padding(obj: &Bound<'_, PyAny>) -> PyResult<RsaPadding> {
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "padding must be an RsaPadding, not '{}'",
            type_name(obj)
        )));
    };
    utf8(s, "padding")?
        .parse()
        .map_err(|e: kms_envelope::Error| bad_arg(e.to_string()))
}

/// An integer argument of any size. pyo3's own `i64`/`u64` arguments raise
/// an `OverflowError` that does not name the argument for a huge value (or a
/// negative one, unsigned); this keeps the value so that the range check
/// raises `BadArgumentError` naming it. Non-integers stay `TypeError`s, and
/// so does a `bool`: `frame_length=True` is a slip, not a one-byte frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Int {
    value: i64,
    /// Beyond 64 bits: `value` is saturated and not shown.
    huge: bool,
}

impl Int {
    pub(crate) const fn new(value: i64) -> Self {
        Self { value, huge: false }
    }

    /// The value within `min..=max`, else `BadArgumentError`.
    pub(crate) fn within<T: TryFrom<i64>>(self, what: &str, min: i64, max: u64) -> PyResult<T> {
        let fits = !self.huge && self.value >= min && (self.value < 0 || self.value as u64 <= max);
        fits.then(|| T::try_from(self.value).ok())
            .flatten()
            .ok_or_else(|| {
                bad_arg(format!(
                    "{what} must be between {min} and {max}, not {self}"
                ))
            })
    }
}

impl std::fmt::Display for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.huge, self.value < 0) {
            (false, _) => write!(f, "{}", self.value),
            (true, false) => f.write_str("a number above 2**63"),
            (true, true) => f.write_str("a number below -2**63"),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        refuse_bool(&obj, "int")?;
        match obj.extract::<i64>() {
            Ok(value) => Ok(Self::new(value)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                let negative = obj.lt(0)?;
                Ok(Self {
                    value: if negative { i64::MIN } else { i64::MAX },
                    huge: true,
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// An optional integer limit within `1..=max`, else `BadArgumentError`.
pub(crate) fn limit<T: TryFrom<i64>>(
    value: Option<Int>,
    what: &str,
    max: u64,
) -> PyResult<Option<T>> {
    value.map(|v| v.within(what, 1, max)).transpose()
}

/// A positive, finite number of seconds as a `Duration`.
pub(crate) fn seconds(value: Seconds, what: &str) -> PyResult<Duration> {
    let Seconds(value) = value;
    if value.is_nan() || value <= 0.0 {
        return Err(bad_arg(format!(
            "{what} must be a positive number of seconds, not {value}"
        )));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| bad_arg(format!("{what} is too large: {value} seconds")))
}

/// A `TypeError` for a `bool` where a number is expected (Python counts
/// `True` as the int 1).
fn refuse_bool(obj: &Borrowed<'_, '_, PyAny>, expected: &str) -> PyResult<()> {
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "expected {expected}, not 'bool'"
        )));
    }
    Ok(())
}

/// A number of seconds (a float or an int, not a bool). An int too large for a float
/// becomes infinity, which [`seconds`] refuses as too large with
/// `BadArgumentError`, instead of pyo3's `OverflowError`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seconds(pub(crate) f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        refuse_bool(&obj, "a number of seconds")?;
        match obj.extract::<f64>() {
            Ok(value) => Ok(Self(value)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => Ok(Self(if obj.lt(0)? {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })),
            Err(e) => Err(e),
        }
    }
}

/// A `str` argument as UTF-8. A lone surrogate (which UTF-8 cannot encode)
/// is a `BadArgumentError`, not pyo3's `UnicodeEncodeError`; the message
/// does not repeat the value, which may be a secret.
#[derive(Clone, Debug)]
pub(crate) struct Text(pub(crate) String);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let s = obj.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!("expected str, not '{}'", type_name(&obj)))
        })?;
        s.to_cow().map(|c| Self(c.into_owned())).map_err(|_| {
            bad_arg("a str argument holds a lone surrogate, which is not valid Unicode")
        })
    }
}
