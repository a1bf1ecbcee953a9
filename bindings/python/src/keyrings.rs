//! Keyrings: the native ones, and Python objects as core keyrings.

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};

use kms_envelope::future::{ready, BoxFuture};
use kms_envelope::{
    DataKey, DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, Error as CoreError,
    Keyring, MultiKeyring as CoreMulti, RawAesKeyring as CoreAes, RawRsaKeyring as CoreRsa,
    RsaPrivateKey, RsaPublicKey,
};
use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFrozenSet, PyString, PyTuple, PyType};
use pyo3::PyTraverseError;
use zeroize::Zeroizing;

use crate::convert::{self, bytes_like, secret_bytes, type_name};
use crate::errors::{bad_arg, core_result, from_callback, interrupted, run_core};
use crate::gc::{CoreObject, Made};

// ------------------------------------------------------------------ EDKs

/// One wrapped copy of a data key, as stored in a message header.
///
/// ``provider_id`` names the keyring kind or key namespace, ``provider_info``
/// identifies the key within it (a key name, an ARN, ...), ``ciphertext`` is
/// the wrapped data key. Instances are immutable, hashable and compare by
/// value.
#[pyclass(frozen, module = "kms_envelope", name = "EncryptedDataKey")]
#[derive(Clone)]
pub(crate) struct PyEncryptedDataKey(pub(crate) EncryptedDataKey);

#[pymethods]
impl PyEncryptedDataKey {
    #[new]
    fn new(
        provider_id: &Bound<'_, PyString>,
        provider_info: &Bound<'_, PyAny>,
        ciphertext: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let info = bytes_like(provider_info, "provider_info")?;
        let ct = bytes_like(ciphertext, "ciphertext")?;
        Ok(Self(EncryptedDataKey::new(
            convert::utf8(provider_id, "provider_id")?,
            info.to_vec(),
            ct.to_vec(),
        )))
    }

    /// The provider ID (the key namespace of raw keyrings).
    #[getter]
    fn provider_id(&self) -> &str {
        &self.0.provider_id
    }

    /// Provider-specific key information (raw AES: key name + IV; RSA: key name).
    #[getter]
    fn provider_info<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.provider_info)
    }

    /// The wrapped data key.
    #[getter]
    fn ciphertext<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.ciphertext)
    }

    /// Equal to an encrypted data key with the same three fields; other
    /// objects decide for themselves (``NotImplemented``), as ``unittest.mock.ANY`` does.
    fn __eq__<'py>(&self, other: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
        let py = other.py();
        match other.cast::<Self>() {
            Ok(o) => pyo3::types::PyBool::new(py, o.get().0 == self.0)
                .to_owned()
                .into_any(),
            Err(_) => py.NotImplemented().into_bound(py),
        }
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.0.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "EncryptedDataKey(provider_id={:?}, provider_info={}, ciphertext=<{} bytes>)",
            self.0.provider_id,
            bytes_repr(&self.0.provider_info),
            self.0.ciphertext.len()
        )
    }
}

/// A short Python-like repr of bytes.
fn bytes_repr(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b.iter().take(64) {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    if b.len() > 64 {
        s.push_str("...");
    }
    s.push('\'');
    s
}

pub(crate) fn edks_to_py<'py>(
    py: Python<'py>,
    edks: &[EncryptedDataKey],
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, edks.iter().map(|e| PyEncryptedDataKey(e.clone())))
}

// ------------------------------------------------------------------ materials

const SPENT: &str = "these materials belong to a keyring call that has finished";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a keyring's ``on_encrypt`` receives and returns: the algorithm suite,
/// the encryption context, the plaintext data key (once generated) and its
/// wrapped copies.
///
/// A keyring generates the data key if there is none
/// (:meth:`generate_plaintext_data_key` or :meth:`set_plaintext_data_key`),
/// wraps it, and adds an :class:`EncryptedDataKey` with
/// :meth:`add_encrypted_data_key`. The object is only valid during the
/// keyring call it was passed to.
#[pyclass(frozen, module = "kms_envelope", name = "EncryptionMaterials")]
pub(crate) struct PyEncryptionMaterials(Mutex<Option<EncryptionMaterials>>);

impl PyEncryptionMaterials {
    pub(crate) fn new(m: EncryptionMaterials) -> Self {
        Self(Mutex::new(Some(m)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut EncryptionMaterials) -> PyResult<T>) -> PyResult<T> {
        let mut guard = lock(&self.0);
        let m = guard.as_mut().ok_or_else(|| bad_arg(SPENT))?;
        f(m)
    }

    pub(crate) fn take(&self) -> Option<EncryptionMaterials> {
        lock(&self.0).take()
    }

    pub(crate) fn snapshot(&self) -> PyResult<EncryptionMaterials> {
        self.with(|m| Ok(m.clone()))
    }
}

#[pymethods]
impl PyEncryptionMaterials {
    /// The algorithm suite of the message.
    #[getter]
    fn algorithm_suite<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let suite = self.with(|m| Ok(m.algorithm_suite()))?;
        convert::suite_to_py(py, suite)
    }

    /// The full encryption context (a new dict), including
    /// ``aws-crypto-public-key`` on signing suites. Keyrings that wrap with
    /// AAD (like the raw AES keyring) bind the wrapped key to it.
    #[getter]
    fn encryption_context<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        // Copied under the lock, made into Python objects after it: making
        // them may run the garbage collector, and a finalizer that touches
        // these materials would wait on the lock forever.
        let context = self.with(|m| Ok(m.encryption_context().clone()))?;
        convert::context_to_py(py, &context)
    }

    /// Keys of the context pairs that are authenticated but not stored in the message.
    #[getter]
    fn required_encryption_context_keys<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyFrozenSet>> {
        let keys = self.with(|m| Ok(m.required_encryption_context_keys().clone()))?;
        convert::str_set(py, &keys)
    }

    /// The plaintext data key, or ``None`` until a keyring has set one.
    #[getter]
    fn plaintext_data_key<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.with(|m| {
            Ok(m.plaintext_data_key()
                .map(|k| PyBytes::new(py, k.as_bytes())))
        })
    }

    /// The wrapped copies of the data key so far (a tuple).
    #[getter]
    fn encrypted_data_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let edks = self.with(|m| Ok(m.encrypted_data_keys().to_vec()))?;
        edks_to_py(py, &edks)
    }

    /// Sets the plaintext data key. Raises :class:`BadArgumentError` if one is
    /// already set or if its length does not match the suite.
    fn set_plaintext_data_key(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = secret_bytes(key, "key")?;
        self.with(|m| core_result(m.set_plaintext_data_key(DataKey::from_slice(&key))))
    }

    /// Generates a random data key of the suite's length, sets it and
    /// returns it. Raises :class:`BadArgumentError` if one is already set.
    fn generate_plaintext_data_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.with(|m| {
            let key = core_result(DataKey::generate(m.algorithm_suite().data_key_len()))?;
            let out = PyBytes::new(py, key.as_bytes());
            core_result(m.set_plaintext_data_key(key))?;
            Ok(out)
        })
    }

    /// Adds a wrapped copy of the data key. Raises :class:`BadArgumentError`
    /// if the data key is not set yet.
    fn add_encrypted_data_key(&self, encrypted_data_key: &Bound<'_, PyAny>) -> PyResult<()> {
        let edk = encrypted_data_key
            .cast::<PyEncryptedDataKey>()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "expected an EncryptedDataKey, not '{}'",
                    type_name(encrypted_data_key)
                ))
            })?
            .get()
            .0
            .clone();
        self.with(|m| core_result(m.add_encrypted_data_key(edk)))
    }

    fn __repr__(&self) -> String {
        match lock(&self.0).as_ref() {
            Some(m) => format!(
                "EncryptionMaterials(algorithm_suite=0x{:04X}, plaintext_data_key={}, encrypted_data_keys={})",
                m.algorithm_suite().id(),
                if m.plaintext_data_key().is_some() { "<set>" } else { "None" },
                m.encrypted_data_keys().len()
            ),
            None => "EncryptionMaterials(<spent>)".into(),
        }
    }
}

/// What a keyring's ``on_decrypt`` receives and returns: the algorithm
/// suite, the encryption context (the header's pairs plus the reproduced
/// pairs that were only authenticated) and, once unwrapped, the plaintext
/// data key. The object is only valid during the keyring call it was passed to.
#[pyclass(frozen, module = "kms_envelope", name = "DecryptionMaterials")]
pub(crate) struct PyDecryptionMaterials(Mutex<Option<DecryptionMaterials>>);

impl PyDecryptionMaterials {
    pub(crate) fn new(m: DecryptionMaterials) -> Self {
        Self(Mutex::new(Some(m)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut DecryptionMaterials) -> PyResult<T>) -> PyResult<T> {
        let mut guard = lock(&self.0);
        let m = guard.as_mut().ok_or_else(|| bad_arg(SPENT))?;
        f(m)
    }

    pub(crate) fn take(&self) -> Option<DecryptionMaterials> {
        lock(&self.0).take()
    }

    pub(crate) fn snapshot(&self) -> PyResult<DecryptionMaterials> {
        self.with(|m| Ok(m.clone()))
    }
}

#[pymethods]
impl PyDecryptionMaterials {
    /// The algorithm suite of the message.
    #[getter]
    fn algorithm_suite<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let suite = self.with(|m| Ok(m.algorithm_suite()))?;
        convert::suite_to_py(py, suite)
    }

    /// The encryption context (a new dict) the data key was wrapped with.
    #[getter]
    fn encryption_context<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        // Copied under the lock, made into Python objects after it: making
        // them may run the garbage collector, and a finalizer that touches
        // these materials would wait on the lock forever.
        let context = self.with(|m| Ok(m.encryption_context().clone()))?;
        convert::context_to_py(py, &context)
    }

    /// Keys of the context pairs that were authenticated but not stored in the message.
    #[getter]
    fn required_encryption_context_keys<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyFrozenSet>> {
        let keys = self.with(|m| Ok(m.required_encryption_context_keys().clone()))?;
        convert::str_set(py, &keys)
    }

    /// The unwrapped data key, or ``None`` until a keyring has set one.
    #[getter]
    fn plaintext_data_key<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.with(|m| {
            Ok(m.plaintext_data_key()
                .map(|k| PyBytes::new(py, k.as_bytes())))
        })
    }

    /// Sets the unwrapped data key. Raises :class:`BadArgumentError` if one is
    /// already set or if its length does not match the suite.
    fn set_plaintext_data_key(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = secret_bytes(key, "key")?;
        self.with(|m| core_result(m.set_plaintext_data_key(DataKey::from_slice(&key))))
    }

    fn __repr__(&self) -> String {
        match lock(&self.0).as_ref() {
            Some(m) => format!(
                "DecryptionMaterials(algorithm_suite=0x{:04X}, plaintext_data_key={})",
                m.algorithm_suite().id(),
                if m.plaintext_data_key().is_some() {
                    "<set>"
                } else {
                    "None"
                },
            ),
            None => "DecryptionMaterials(<spent>)".into(),
        }
    }
}

// ------------------------------------------------------------------ Python keyrings

/// Most Python callbacks (keyrings' `on_encrypt` / `on_decrypt`, KMS
/// clients' methods) nested on one thread: a callback that calls the
/// library with a keyring that uses it recurses through native frames the
/// interpreter's recursion limit does not see, and would overflow the
/// thread's stack (about 250 levels on a 1 MiB thread stack).
const MAX_CALLBACK_DEPTH: u32 = 32;

thread_local!(static CALLBACK_DEPTH: Cell<u32> = const { Cell::new(0) });

/// One level of Python callback on this thread, left when dropped.
pub(crate) struct CallbackDepth;

impl CallbackDepth {
    pub(crate) fn enter() -> PyResult<Self> {
        let depth = CALLBACK_DEPTH.with(|d| d.get());
        if depth >= MAX_CALLBACK_DEPTH {
            return Err(PyRecursionError::new_err(format!(
                "keyring or KMS client callbacks nested more than {MAX_CALLBACK_DEPTH} deep: \
                 does a callback call the library with a keyring that uses it?"
            )));
        }
        CALLBACK_DEPTH.with(|d| d.set(depth + 1));
        Ok(Self)
    }
}

impl Drop for CallbackDepth {
    fn drop(&mut self) {
        CALLBACK_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A Python object with `on_encrypt` / `on_decrypt` methods, as a core keyring.
///
/// Its methods run on the thread of the core call that needs them, with the
/// GIL re-acquired for the duration of the Python call.
pub(crate) struct PyKeyring {
    /// Also kept by the wrapper that made it (`crate::gc`).
    obj: Arc<CoreObject>,
}

impl PyKeyring {
    fn encrypt(&self, materials: EncryptionMaterials) -> Result<EncryptionMaterials, CoreError> {
        Python::attach(|py| {
            if let Some(err) = interrupted(py) {
                return Err(err);
            }
            let _depth = CallbackDepth::enter().map_err(|e| from_callback(py, e, "on_encrypt"))?;
            let keyring = self.obj.bind(py);
            let passed = Bound::new(py, PyEncryptionMaterials::new(materials))
                .map_err(|e| from_callback(py, e, "on_encrypt"))?;
            let out = (|| -> Result<Option<EncryptionMaterials>, CoreError> {
                let returned = keyring
                    .call_method1(pyo3::intern!(py, "on_encrypt"), (passed.clone(),))
                    .map_err(|e| from_callback(py, e, "on_encrypt"))?;
                if returned.is_none() {
                    return Ok(passed.get().take());
                }
                let m = returned.cast::<PyEncryptionMaterials>().map_err(|_| {
                    from_callback(
                        py,
                        bad_arg(format!(
                            "on_encrypt must return EncryptionMaterials or None, not '{}'",
                            type_name(&returned)
                        )),
                        "on_encrypt",
                    )
                })?;
                Ok(m.get().take())
            })();
            // Spent on every path, failures included: the data key never
            // outlives the call in an object the keyring kept.
            passed.get().take();
            out?.ok_or_else(|| from_callback(py, bad_arg(SPENT), "on_encrypt"))
        })
    }

    fn decrypt(
        &self,
        materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, CoreError> {
        Python::attach(|py| {
            if let Some(err) = interrupted(py) {
                return Err(err);
            }
            let _depth = CallbackDepth::enter().map_err(|e| from_callback(py, e, "on_decrypt"))?;
            let keyring = self.obj.bind(py);
            let passed = Bound::new(py, PyDecryptionMaterials::new(materials))
                .map_err(|e| from_callback(py, e, "on_decrypt"))?;
            let edks =
                pyo3::types::PyList::new(py, edks.iter().map(|e| PyEncryptedDataKey(e.clone())))
                    .map_err(|e| from_callback(py, e, "on_decrypt"))?;
            let out = (|| -> Result<Option<DecryptionMaterials>, CoreError> {
                let returned = keyring
                    .call_method1(pyo3::intern!(py, "on_decrypt"), (passed.clone(), edks))
                    .map_err(|e| from_callback(py, e, "on_decrypt"))?;
                if returned.is_none() {
                    return Ok(passed.get().take());
                }
                let m = returned.cast::<PyDecryptionMaterials>().map_err(|_| {
                    from_callback(
                        py,
                        bad_arg(format!(
                            "on_decrypt must return DecryptionMaterials or None, not '{}'",
                            type_name(&returned)
                        )),
                        "on_decrypt",
                    )
                })?;
                Ok(m.get().take())
            })();
            // Spent on every path, as in `encrypt`.
            passed.get().take();
            out?.ok_or_else(|| from_callback(py, bad_arg(SPENT), "on_decrypt"))
        })
    }
}

impl Keyring for PyKeyring {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials, CoreError>> {
        ready(self.encrypt(materials))
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials, CoreError>> {
        ready(self.decrypt(materials, encrypted_data_keys))
    }
}

// ------------------------------------------------------------------ native keyrings

/// Base class of the keyrings implemented natively. Not instantiable.
#[pyclass(frozen, subclass, module = "kms_envelope", name = "NativeKeyring")]
pub(crate) struct NativeKeyring {
    pub(crate) inner: Arc<dyn Keyring>,
}

#[pymethods]
impl NativeKeyring {
    /// Generates (if needed) and wraps the data key; returns new materials
    /// and leaves ``materials`` unchanged. Lets Python keyrings delegate to
    /// native ones.
    fn on_encrypt(
        &self,
        py: Python<'_>,
        materials: &Bound<'_, PyEncryptionMaterials>,
    ) -> PyResult<PyEncryptionMaterials> {
        let m = materials.get().snapshot()?;
        let keyring = Arc::clone(&self.inner);
        let out = run_core(py, move || {
            kms_envelope::future::block_on(keyring.on_encrypt(m))
        })?;
        Ok(PyEncryptionMaterials::new(out))
    }

    /// Unwraps one of ``encrypted_data_keys``; returns new materials holding
    /// the data key and leaves ``materials`` unchanged. Raises
    /// :class:`NoKeyUnwrappedError` if this keyring can unwrap none of them.
    fn on_decrypt(
        &self,
        py: Python<'_>,
        materials: &Bound<'_, PyDecryptionMaterials>,
        encrypted_data_keys: &Bound<'_, PyAny>,
    ) -> PyResult<PyDecryptionMaterials> {
        let m = materials.get().snapshot()?;
        let mut edks = Vec::new();
        for item in encrypted_data_keys.try_iter()? {
            let item = item?;
            let edk = item.cast::<PyEncryptedDataKey>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "encrypted_data_keys must hold EncryptedDataKey objects, not '{}'",
                    type_name(&item)
                ))
            })?;
            edks.push(edk.get().0.clone());
        }
        let keyring = Arc::clone(&self.inner);
        let out = run_core(py, move || {
            kms_envelope::future::block_on(keyring.on_decrypt(m, &edks))
        })?;
        Ok(PyDecryptionMaterials::new(out))
    }
}

/// Wraps data keys with AES-GCM under a local 128-, 192- or 256-bit key, in
/// the layout of the AWS Encryption SDK raw AES keyring.
///
/// ``key_namespace`` and ``key_name`` are written into each message (as the
/// provider ID and in the provider info); decrypting needs a keyring with
/// the same three values. The encryption context is the wrapping AAD.
///
/// ``js_legacy_order=True`` also reads data keys that the JavaScript ESDK's
/// raw AES keyrings (``@aws-crypto/client-node``, ``client-browser``) wrapped
/// without ``utf8Sorting: true``: they sort the encryption context's keys
/// with JavaScript's ``localeCompare`` instead of by UTF-8 bytes, so a key
/// starting with a capital letter or holding an underscore (beside the
/// ``aws-crypto-public-key`` of signed suites), or a non-ASCII letter, made
/// their messages unreadable. On decrypt, when the specification's order fails, the keyring
/// tries ``localeCompare``'s order (the Unicode root collation, which Node
/// uses for the ``en`` locales, ``C`` and no locale). Messages are always
/// written in the specification's order.
#[pyclass(frozen, extends = NativeKeyring, module = "kms_envelope", name = "RawAesKeyring")]
pub(crate) struct RawAesKeyring {
    namespace: String,
    name: String,
    bits: usize,
    js_legacy_order: bool,
}

#[pymethods]
impl RawAesKeyring {
    #[new]
    #[pyo3(signature = (key_namespace, key_name, wrapping_key, *, js_legacy_order = false))]
    fn new(
        key_namespace: convert::Text,
        key_name: convert::Text,
        wrapping_key: &Bound<'_, PyAny>,
        js_legacy_order: bool,
    ) -> PyResult<PyClassInitializer<Self>> {
        let (key_namespace, key_name) = (key_namespace.0.as_str(), key_name.0.as_str());
        let key = secret_bytes(wrapping_key, "wrapping_key")?;
        let mut keyring = core_result(CoreAes::new(key_namespace, key_name, &key))?;
        if js_legacy_order {
            keyring = core_result(keyring.with_js_legacy_order())?;
        }
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self {
            namespace: key_namespace.into(),
            name: key_name.into(),
            bits: key.len() * 8,
            js_legacy_order,
        }))
    }

    /// Whether data keys wrapped in JavaScript's ``localeCompare`` key order
    /// are read too.
    #[getter]
    fn js_legacy_order(&self) -> bool {
        self.js_legacy_order
    }

    /// The key namespace (provider ID).
    #[getter]
    fn key_namespace(&self) -> &str {
        &self.namespace
    }

    /// The key name.
    #[getter]
    fn key_name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "RawAesKeyring(key_namespace={:?}, key_name={:?}, <AES-{}>{})",
            self.namespace,
            self.name,
            self.bits,
            if self.js_legacy_order {
                ", js_legacy_order=True"
            } else {
                ""
            }
        )
    }
}

/// A PEM (``str`` or bytes starting with ``-----BEGIN``) or DER key, in
/// memory wiped on drop.
enum KeyText {
    Pem(Zeroizing<String>),
    Der(Zeroizing<Vec<u8>>),
}

fn key_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<KeyText> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(KeyText::Pem(Zeroizing::new(
            convert::utf8(s, what)?.into_owned(),
        )));
    }
    let bytes = secret_bytes(obj, what)?;
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad_arg(format!("{what}: PEM is not UTF-8")))?;
        Ok(KeyText::Pem(Zeroizing::new(text.to_owned())))
    } else {
        Ok(KeyText::Der(bytes))
    }
}

/// Wraps data keys with RSA (PKCS #1 v1.5 or OAEP), in the layout of the AWS
/// Encryption SDK raw RSA keyring.
///
/// Give the ``public_key`` to encrypt, the ``private_key`` to decrypt, or
/// both. Keys are PEM (``str`` or bytes: ``PUBLIC KEY``, ``RSA PUBLIC KEY``,
/// ``PRIVATE KEY``, ``RSA PRIVATE KEY``) or DER (SubjectPublicKeyInfo or
/// PKCS #1 public, PKCS #8 or PKCS #1 private), with moduli of 2048 to 8192
/// bits. ``padding`` is an :class:`RsaPadding` (default OAEP with SHA-256).
#[pyclass(frozen, extends = NativeKeyring, module = "kms_envelope", name = "RawRsaKeyring")]
pub(crate) struct RawRsaKeyring {
    namespace: String,
    name: String,
    padding: &'static str,
}

#[pymethods]
impl RawRsaKeyring {
    #[new]
    #[pyo3(signature = (key_namespace, key_name, *, public_key=None, private_key=None, padding=None))]
    fn new(
        key_namespace: convert::Text,
        key_name: convert::Text,
        public_key: Option<&Bound<'_, PyAny>>,
        private_key: Option<&Bound<'_, PyAny>>,
        padding: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let (key_namespace, key_name) = (key_namespace.0.as_str(), key_name.0.as_str());
        let padding = match padding.filter(|p| !p.is_none()) {
            Some(p) => convert::padding(p)?,
            None => kms_envelope::RsaPadding::OaepSha256,
        };
        let public = match public_key.filter(|k| !k.is_none()) {
            None => None,
            Some(k) => Some(core_result(match key_text(k, "public_key")? {
                KeyText::Pem(p) => RsaPublicKey::from_pem(&p),
                KeyText::Der(d) => RsaPublicKey::from_der(&d),
            })?),
        };
        let private = match private_key.filter(|k| !k.is_none()) {
            None => None,
            Some(k) => Some(core_result(match key_text(k, "private_key")? {
                KeyText::Pem(p) => RsaPrivateKey::from_pem(&p),
                KeyText::Der(d) => RsaPrivateKey::from_der(&d),
            })?),
        };
        let keyring = core_result(CoreRsa::new(
            key_namespace,
            key_name,
            padding,
            public,
            private,
        ))?;
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self {
            namespace: key_namespace.into(),
            name: key_name.into(),
            padding: padding.name(),
        }))
    }

    /// The key namespace (provider ID).
    #[getter]
    fn key_namespace(&self) -> &str {
        &self.namespace
    }

    /// The key name.
    #[getter]
    fn key_name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "RawRsaKeyring(key_namespace={:?}, key_name={:?}, padding={:?})",
            self.namespace, self.name, self.padding
        )
    }
}

/// Combines keyrings. On encrypt the ``generator`` makes the data key and
/// every child wraps it too, so the message opens with any of them. On
/// decrypt the generator, then each child, is tried until one unwraps a data
/// key. Members may be native keyrings or Python keyrings. Multi-keyrings
/// nest at most 64 keyrings deep (deeper raises ``BadArgumentError``).
#[pyclass(frozen, extends = NativeKeyring, module = "kms_envelope", name = "MultiKeyring")]
pub(crate) struct MultiKeyring {
    generator: Option<Py<PyAny>>,
    children: Py<PyTuple>,
    made: Made,
}

#[pymethods]
impl MultiKeyring {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.generator)?;
        visit.call(&self.children)?;
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (generator=None, children=None))]
    fn new(
        py: Python<'_>,
        generator: Option<&Bound<'_, PyAny>>,
        children: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let generator = generator.filter(|g| !g.is_none());
        let mut made = Made::default();
        let gen = generator.map(|g| keyring_arc(g, &mut made)).transpose()?;
        let mut kids = Vec::new();
        let mut kid_objs = Vec::new();
        if let Some(children) = children.filter(|c| !c.is_none()) {
            for child in children.try_iter()? {
                let child = child?;
                kids.push(keyring_arc(&child, &mut made)?);
                kid_objs.push(child);
            }
        }
        let keyring = core_result(CoreMulti::new(gen, kids))?;
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self {
            generator: generator.map(|g| g.clone().unbind()),
            children: PyTuple::new(py, kid_objs)?.unbind(),
            made,
        }))
    }

    /// The generator keyring, or ``None``.
    #[getter]
    fn generator(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.generator.as_ref().map(|g| g.clone_ref(py))
    }

    /// The child keyrings (a tuple).
    #[getter]
    fn children(&self, py: Python<'_>) -> Py<PyTuple> {
        self.children.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let generator = match &self.generator {
            Some(g) => g.bind(py).repr()?.to_string(),
            None => "None".into(),
        };
        Ok(format!(
            "MultiKeyring(generator={generator}, children={})",
            self.children.bind(py).repr()?
        ))
    }
}

/// A core keyring for a native keyring or any object with `on_encrypt` and
/// `on_decrypt` methods.
/// A Python keyring is wrapped into a [`CoreObject`] kept in `made`, for the
/// wrapper being built to keep and report (`crate::gc`).
pub(crate) fn keyring_arc(obj: &Bound<'_, PyAny>, made: &mut Made) -> PyResult<Arc<dyn Keyring>> {
    if let Ok(native) = obj.cast::<NativeKeyring>() {
        return Ok(Arc::clone(&native.get().inner));
    }
    let py = obj.py();
    if let Ok(class) = obj.cast::<PyType>() {
        // `keyring=MyKeyring`: the methods are there, unbound.
        let name = class.name().map(|n| n.to_string()).unwrap_or_default();
        return Err(PyTypeError::new_err(format!(
            "keyring must be a keyring object, not the class '{name}' (missing parentheses?)"
        )));
    }
    if obj.hasattr(pyo3::intern!(py, "on_encrypt"))?
        && obj.hasattr(pyo3::intern!(py, "on_decrypt"))?
    {
        return Ok(Arc::new(PyKeyring {
            obj: made.wrap(obj),
        }));
    }
    Err(PyTypeError::new_err(format!(
        "keyring must be a kms_envelope keyring or an object with on_encrypt and on_decrypt methods, not '{}'",
        type_name(obj)
    )))
}
