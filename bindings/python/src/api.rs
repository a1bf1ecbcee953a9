//! One-shot encrypt and decrypt, and header inspection.

use std::sync::OnceLock;

use kms_envelope::{Client, ContentType, Decrypted, EncryptionContext, MessageHeader};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use zeroize::Zeroize;

use crate::cmm::{source, Source};
use crate::convert::{self, bytes_like};
use crate::errors::{core_result, run_core};
use crate::gc::Made;
use crate::keyrings::edks_to_py;

/// A client for one call: commitment policy and limits.
pub(crate) fn client(
    commitment_policy: Option<&Bound<'_, PyAny>>,
    max_encrypted_data_keys: Option<convert::Int>,
) -> PyResult<Client> {
    let mut builder = Client::builder()
        .commitment_policy(convert::policy(commitment_policy)?)
        .threads(frame_threads());
    if let Some(max) = convert::limit::<u16>(
        max_encrypted_data_keys,
        "max_encrypted_data_keys",
        u16::MAX.into(),
    )? {
        builder = builder.max_encrypted_data_keys(max);
    }
    Ok(builder.build())
}

/// Threads the core may use for the frames of large messages: the available
/// cores, asked once (the query reads cgroup files, which costs more than
/// encrypting a small message).
pub(crate) fn frame_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The frame length as the core wants it.
pub(crate) fn frame_length(value: convert::Int) -> PyResult<u32> {
    value.within("frame_length", 1, u32::MAX.into())
}

/// A decrypt result whose plaintext is wiped when it is dropped.
struct WipedPlaintext(Decrypted);

impl Drop for WipedPlaintext {
    fn drop(&mut self) {
        self.0.plaintext.zeroize();
    }
}

/// Encrypts ``plaintext`` into one message and returns it.
///
/// Give exactly one of ``keyring`` (any keyring, including your own Python
/// object with ``on_encrypt`` / ``on_decrypt``) and ``materials_manager``.
/// The ``encryption_context`` (``str`` to ``str``) is authenticated and stored
/// in the message, not encrypted. ``algorithm_suite`` defaults to the
/// commitment policy's default (0x0578: AES-256-GCM, HKDF-SHA512, key
/// commitment, ECDSA P-384). ``frame_length`` is 1 to 2**32 - 1; the official
/// ``aws_encryption_sdk`` reads only up to 2**31 - 1. The GIL is released
/// while encrypting.
#[pyfunction]
#[pyo3(signature = (plaintext, *, keyring=None, materials_manager=None, encryption_context=None,
    algorithm_suite=None, frame_length=convert::Int::new(4096), commitment_policy=None, max_encrypted_data_keys=None),
    // The defaults as Python shows them (`convert::Int::new(..)` would read `...`).
    text_signature = "(plaintext, *, keyring=None, materials_manager=None, encryption_context=None, \
        algorithm_suite=None, frame_length=4096, commitment_policy=None, max_encrypted_data_keys=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn encrypt<'py>(
    py: Python<'py>,
    plaintext: &Bound<'py, PyAny>,
    keyring: Option<&Bound<'py, PyAny>>,
    materials_manager: Option<&Bound<'py, PyAny>>,
    encryption_context: Option<&Bound<'py, PyAny>>,
    algorithm_suite: Option<&Bound<'py, PyAny>>,
    frame_length: convert::Int,
    commitment_policy: Option<&Bound<'py, PyAny>>,
    max_encrypted_data_keys: Option<convert::Int>,
) -> PyResult<Bound<'py, PyBytes>> {
    let plaintext = bytes_like(plaintext, "plaintext")?;
    // Nothing to keep: the call holds the keyring until it returns.
    let source = source(keyring, materials_manager, &mut Made::default())?;
    let context = convert::context(encryption_context)?;
    let suite = convert::suite(algorithm_suite)?;
    let frame_length = self::frame_length(frame_length)?;
    let client = client(commitment_policy, max_encrypted_data_keys)?;
    let call = || {
        let mut call = client
            .encrypt(&plaintext)
            .encryption_context(context)
            .frame_length(frame_length);
        call = match &source {
            Source::Keyring(k) => call.keyring(&**k),
            Source::Manager(m) => call.materials_manager(&**m),
        };
        if let Some(suite) = suite {
            call = call.algorithm_suite(suite);
        }
        call
    };
    if plaintext.len() < convert::DETACHED_COPY {
        let ciphertext = run_core(py, || call().run())?;
        return convert::bytes_out(py, &ciphertext);
    }
    // Large messages are written straight into the returned `bytes`: the
    // length is known once the header is, and no second copy is made.
    let prepared = run_core(py, || call().prepare())?;
    let len = prepared.message_len();
    // The buffer need not be zeroed first: `seal_into_uninit` has the worker
    // threads initialize each part as they write it, and all of it when it
    // returns `Ok`.
    convert::new_bytes_with(py, len, |buf| {
        run_core(py, || prepared.seal_into_uninit(buf))
    })
    .map(|(bytes, ())| bytes)
}

/// Decrypts one message and returns a :class:`DecryptResult`. All or
/// nothing: plaintext is returned only once every tag, the key commitment
/// and the signature verified.
///
/// ``encryption_context`` is the context you expect (the "reproduced"
/// context): every pair must match the message's, and pairs that a
/// :class:`RequiredEncryptionContextMaterialsManager` authenticated without
/// storing must be given here. The GIL is released while decrypting.
#[pyfunction]
#[pyo3(signature = (ciphertext, *, keyring=None, materials_manager=None, encryption_context=None,
    commitment_policy=None, max_encrypted_data_keys=None))]
pub(crate) fn decrypt<'py>(
    py: Python<'py>,
    ciphertext: &Bound<'py, PyAny>,
    keyring: Option<&Bound<'py, PyAny>>,
    materials_manager: Option<&Bound<'py, PyAny>>,
    encryption_context: Option<&Bound<'py, PyAny>>,
    commitment_policy: Option<&Bound<'py, PyAny>>,
    max_encrypted_data_keys: Option<convert::Int>,
) -> PyResult<DecryptResult> {
    let ciphertext = bytes_like(ciphertext, "ciphertext")?;
    // Nothing to keep: the call holds the keyring until it returns.
    let source = source(keyring, materials_manager, &mut Made::default())?;
    let reproduced = match encryption_context.filter(|e| !e.is_none()) {
        Some(ec) => Some(convert::context(Some(ec))?),
        None => None,
    };
    let client = client(commitment_policy, max_encrypted_data_keys)?;
    let call = || {
        let mut call = client.decrypt(&ciphertext);
        call = match &source {
            Source::Keyring(k) => call.keyring(&**k),
            Source::Manager(m) => call.materials_manager(&**m),
        };
        if let Some(ec) = reproduced {
            call = call.encryption_context(ec);
        }
        call
    };
    if ciphertext.len() < convert::DETACHED_COPY {
        // Wiped when dropped: after `bytes` holds the caller's copy, and
        // also when run_core drops a result for a keyring's Ctrl-C.
        let decrypted = run_core(py, || call().run().map(WipedPlaintext))?;
        let plaintext = convert::bytes_out(py, &decrypted.0.plaintext)?.unbind();
        return Ok(DecryptResult {
            plaintext,
            context: decrypted.0.encryption_context.clone(),
            header: decrypted.0.header.clone(),
        });
    }
    // Large messages are decrypted straight into the returned `bytes`: the
    // length is known once the header is, and no second copy is made. On
    // failure the core zeroes the buffer and the object is freed unseen.
    let prepared = run_core(py, || call().prepare())?;
    // The buffer need not be zeroed first: `open_into_uninit` writes every
    // byte before it reads it, and all of it when it returns `Ok`.
    let (plaintext, opened) = convert::new_bytes_with(py, prepared.plaintext_len(), |buf| {
        let opened = run_core(py, || prepared.open_into_uninit(&mut *buf));
        if opened.is_err() {
            // The core wipes what it wrote when it fails; a success that
            // run_core turned into a Ctrl-C (raised in Python code the core
            // called) is wiped here.
            buf.zeroize();
        }
        opened
    })?;
    Ok(DecryptResult {
        plaintext: plaintext.unbind(),
        context: opened.encryption_context,
        header: opened.header,
    })
}

/// Parses the header at the start of ``ciphertext`` (no key needed, nothing
/// verified: the header is not authenticated until a decrypt checks it).
/// Raises :class:`MalformedMessageError` if it is not a complete header.
#[pyfunction]
pub(crate) fn inspect(ciphertext: &Bound<'_, PyAny>) -> PyResult<PyMessageHeader> {
    let bytes = bytes_like(ciphertext, "ciphertext")?;
    let (header, _) = core_result(MessageHeader::parse(&bytes, None))?;
    Ok(PyMessageHeader(header))
}

/// The result of :func:`decrypt`.
#[pyclass(frozen, module = "kms_envelope", name = "DecryptResult")]
pub(crate) struct DecryptResult {
    plaintext: Py<PyBytes>,
    context: EncryptionContext,
    header: MessageHeader,
}

#[pymethods]
impl DecryptResult {
    /// The authenticated plaintext.
    #[getter]
    fn plaintext(&self, py: Python<'_>) -> Py<PyBytes> {
        self.plaintext.clone_ref(py)
    }

    /// The encryption context (a new dict): the header's pairs plus the
    /// reproduced pairs that were authenticated but not stored.
    #[getter]
    fn encryption_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        convert::context_to_py(py, &self.context)
    }

    /// The message's algorithm suite.
    #[getter]
    fn algorithm_suite<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::suite_to_py(py, self.header.algorithm_suite)
    }

    /// The message header.
    #[getter]
    fn header(&self) -> PyMessageHeader {
        PyMessageHeader(self.header.clone())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "DecryptResult(plaintext=<{} bytes>, algorithm_suite=0x{:04X}, encryption_context={:?})",
            self.plaintext.bind(py).as_bytes().len(),
            self.header.algorithm_suite.id(),
            self.context.as_map()
        )
    }
}

/// A parsed message header (from :func:`inspect`, :attr:`DecryptResult.header`
/// or a streaming reader).
#[pyclass(frozen, module = "kms_envelope", name = "MessageHeader")]
pub(crate) struct PyMessageHeader(pub(crate) MessageHeader);

#[pymethods]
impl PyMessageHeader {
    /// Message format version: 1 (non-committing suites) or 2.
    #[getter]
    fn version(&self) -> u8 {
        self.0.version
    }

    /// The algorithm suite.
    #[getter]
    fn algorithm_suite<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::suite_to_py(py, self.0.algorithm_suite)
    }

    /// The message ID (16 bytes in version 1, 32 in version 2).
    #[getter]
    fn message_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.message_id)
    }

    /// The encryption context stored in the header (a new dict; pairs of a
    /// required-encryption-context manager are not stored).
    #[getter]
    fn encryption_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        convert::context_to_py(py, &self.0.encryption_context)
    }

    /// The wrapped copies of the data key (a tuple of :class:`EncryptedDataKey`).
    #[getter]
    fn encrypted_data_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        edks_to_py(py, &self.0.encrypted_data_keys)
    }

    /// ``"framed"`` or ``"non-framed"``.
    #[getter]
    fn content_type(&self) -> &'static str {
        match self.0.content_type {
            ContentType::Framed => "framed",
            ContentType::NonFramed => "non-framed",
        }
    }

    /// Frame length in bytes (0 for non-framed messages).
    #[getter]
    fn frame_length(&self) -> u32 {
        self.0.frame_length
    }

    /// Length of the serialized header in bytes, authentication tag included.
    #[getter]
    fn header_length(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "MessageHeader(version={}, algorithm_suite=0x{:04X}, encryption_context={:?}, encrypted_data_keys=<{}>, content_type={:?}, frame_length={})",
            self.0.version,
            self.0.algorithm_suite.id(),
            self.0.encryption_context.as_map(),
            self.0.encrypted_data_keys.len(),
            self.content_type(),
            self.0.frame_length
        )
    }
}
