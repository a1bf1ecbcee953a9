//! AWS KMS: the built-in client (`kms_envelope.AwsKmsClient`, the native
//! `kms-envelope-aws` crate: SigV4 over HTTPS, no GIL needed) and the AWS KMS
//! keyrings over it or over a Python KMS client (a boto3 `kms` client, or any
//! object with its `generate_data_key` / `encrypt` / `decrypt` methods).

use std::sync::{Arc, Mutex, PoisonError};

use kms_envelope::future::{block_on, ready, BoxFuture};
use kms_envelope::kms::{
    AwsKmsKeyring as CoreKms, DiscoveryFilter, GenerateDataKeyRequest, GenerateDataKeyResponse,
    KmsClient, KmsDecryptRequest, KmsDecryptResponse, KmsEncryptRequest, KmsEncryptResponse,
};
use kms_envelope::{DataKey, EncryptionContext, Error as CoreError};
use kms_envelope_aws::{
    AwsKmsClient as NativeClient, AwsKmsClientBuilder, Credentials, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT,
};
use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::PyTraverseError;

use crate::convert::{self, bytes_like, context_to_py, type_name};
use crate::errors::{
    bad_arg, core_result, from_callback, interrupted, keep_interrupt, record, run_core,
};
use crate::gc::{CoreObject, Made};
use crate::keyrings::{CallbackDepth, NativeKeyring};

// ------------------------------------------------------------ the built-in client

// The defaults written in `AwsKmsClient`'s signature (and its stub) are the crate's.
const _: () = assert!(
    DEFAULT_CONNECT_TIMEOUT.as_secs() == 5
        && DEFAULT_CONNECT_TIMEOUT.subsec_nanos() == 0
        && DEFAULT_TIMEOUT.as_secs() == 30
        && DEFAULT_TIMEOUT.subsec_nanos() == 0
        && DEFAULT_MAX_ATTEMPTS == 3
);

/// The native client, re-created from its settings in a forked child process.
///
/// The client's I/O runtime runs on threads, and `fork()` copies only the
/// calling thread: in a child (`multiprocessing` with the fork start method,
/// pre-forking servers) the parent's client would queue requests that no
/// thread ever runs. So each call checks the process ID first.
struct ForkSafeClient {
    builder: AwsKmsClientBuilder,
    current: Mutex<(u32, NativeClient)>,
}

impl ForkSafeClient {
    fn new(builder: AwsKmsClientBuilder) -> Result<Self, CoreError> {
        let client = builder.clone().build()?;
        Ok(Self {
            builder,
            current: Mutex::new((std::process::id(), client)),
        })
    }

    /// The client of this process.
    fn client(&self) -> Result<NativeClient, CoreError> {
        let pid = std::process::id();
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.0 != pid {
            let fresh = self.builder.clone().build()?;
            let inherited = std::mem::replace(&mut current.1, fresh);
            current.0 = pid;
            // Its runtime's threads do not exist in this process: leave it alone
            // (dropping it would shut that runtime down from here).
            std::mem::forget(inherited);
        }
        Ok(current.1.clone())
    }
}

impl KmsClient for ForkSafeClient {
    fn generate_data_key<'a>(
        &'a self,
        request: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse, CoreError>> {
        let client = self.client();
        Box::pin(async move {
            let client = client?;
            client.generate_data_key(request).await
        })
    }

    fn encrypt<'a>(
        &'a self,
        request: KmsEncryptRequest,
    ) -> BoxFuture<'a, Result<KmsEncryptResponse, CoreError>> {
        let client = self.client();
        Box::pin(async move {
            let client = client?;
            client.encrypt(request).await
        })
    }

    fn decrypt<'a>(
        &'a self,
        request: KmsDecryptRequest,
    ) -> BoxFuture<'a, Result<KmsDecryptResponse, CoreError>> {
        let client = self.client();
        Box::pin(async move {
            let client = client?;
            client.decrypt(request).await
        })
    }
}

/// `Some(value)` unless it is empty.
fn non_empty(value: Option<convert::Text>, what: &str) -> PyResult<Option<String>> {
    match value {
        Some(convert::Text(v)) if v.is_empty() => Err(bad_arg(format!("{what} must not be empty"))),
        other => Ok(other.map(|convert::Text(v)| v)),
    }
}

/// The built-in AWS KMS client: SigV4-signed HTTPS calls made by the Rust
/// core (no boto3 needed), with the GIL released while they wait.
///
/// Settings not given here are found as the AWS SDKs find them:
///
/// - credentials: ``access_key_id`` and ``secret_access_key`` (and
///   ``session_token``), else ``AWS_ACCESS_KEY_ID`` /
///   ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, else the profile
///   (``profile``, else ``AWS_PROFILE``, else ``default``) in
///   ``~/.aws/credentials`` or ``~/.aws/config`` (``AWS_SHARED_CREDENTIALS_FILE``,
///   ``AWS_CONFIG_FILE``). Role assumption, SSO, ``credential_process`` and
///   instance credentials are not supported: export credentials into the
///   environment (``aws configure export-credentials``) or pass a boto3
///   client to the keyrings instead.
/// - region: calls about a key ARN go to the ARN's region; ``region`` (else
///   ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's) is for key IDs
///   and aliases.
/// - endpoint: ``endpoint_url`` (e.g. ``"http://127.0.0.1:4566"`` for a
///   local KMS API server such as moto or LocalStack), else
///   ``AWS_ENDPOINT_URL_KMS``, ``AWS_ENDPOINT_URL``, the profile's
///   ``endpoint_url``, else the regional AWS endpoint. Extra trusted CAs:
///   ``AWS_CA_BUNDLE``.
/// - ``connect_timeout`` and ``timeout`` (one attempt) in seconds;
///   ``max_attempts`` per call (retries throttling, HTTP 5xx and network
///   failures with exponential backoff).
///
/// Invalid settings or missing credentials raise :class:`BadArgumentError`.
/// Failed calls raise :class:`KmsError` with the service's ``code``
/// (``"RequestFailed"`` for network failures and timeouts). Share one client
/// between keyrings and threads: it keeps a connection pool and two I/O
/// threads. In a forked child process it starts afresh.
#[pyclass(frozen, module = "kms_envelope", name = "AwsKmsClient")]
pub(crate) struct PyAwsKmsClient {
    inner: Arc<ForkSafeClient>,
}

#[pymethods]
impl PyAwsKmsClient {
    #[new]
    #[pyo3(signature = (*, region=None, endpoint_url=None, profile=None, access_key_id=None,
        secret_access_key=None, session_token=None, connect_timeout=convert::Seconds(5.0),
        timeout=convert::Seconds(30.0), max_attempts=convert::Int::new(3)),
        text_signature = "(*, region=None, endpoint_url=None, profile=None, access_key_id=None, \
            secret_access_key=None, session_token=None, connect_timeout=5.0, timeout=30.0, \
            max_attempts=3)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        region: Option<convert::Text>,
        endpoint_url: Option<convert::Text>,
        profile: Option<convert::Text>,
        access_key_id: Option<convert::Text>,
        secret_access_key: Option<convert::Text>,
        session_token: Option<convert::Text>,
        connect_timeout: convert::Seconds,
        timeout: convert::Seconds,
        max_attempts: convert::Int,
    ) -> PyResult<Self> {
        let mut builder = NativeClient::builder()
            .connect_timeout(convert::seconds(connect_timeout, "connect_timeout")?)
            .timeout(convert::seconds(timeout, "timeout")?);
        builder = builder.max_attempts(max_attempts.within("max_attempts", 1, u32::MAX.into())?);
        // The builder checks it is a region name (crates/aws-kms).
        if let Some(r) = non_empty(region, "region")? {
            builder = builder.region(r);
        }
        if let Some(url) = non_empty(endpoint_url, "endpoint_url")? {
            builder = builder.endpoint(url);
        }
        if let Some(p) = non_empty(profile, "profile")? {
            builder = builder.profile(p);
        }
        let key_id = non_empty(access_key_id, "access_key_id")?;
        let secret = non_empty(secret_access_key, "secret_access_key")?;
        let token = non_empty(session_token, "session_token")?;
        match (key_id, secret) {
            (Some(id), Some(secret)) => {
                let mut credentials = Credentials::new(id, secret);
                if let Some(t) = token {
                    credentials = credentials.with_session_token(t);
                }
                builder = builder.credentials(credentials);
            }
            (None, None) if token.is_some() => {
                return Err(bad_arg(
                    "session_token needs access_key_id and secret_access_key",
                ))
            }
            (None, None) => {}
            _ => {
                return Err(bad_arg(
                    "give both access_key_id and secret_access_key, or neither",
                ))
            }
        }
        // Reads the environment and the shared files (and maybe a CA bundle).
        let client = py.detach(|| ForkSafeClient::new(builder));
        Ok(Self {
            inner: Arc::new(core_result(client)?),
        })
    }

    /// The region for key IDs and aliases (``None`` if none is configured;
    /// key ARNs always use their own region).
    #[getter]
    fn region(&self) -> PyResult<Option<String>> {
        let client = core_result(self.inner.client())?;
        Ok(client.region().map(str::to_owned))
    }

    /// Creates a symmetric encryption key (``CreateKey``) in the client's
    /// region; returns its ARN. Meant for tests and local endpoints.
    #[pyo3(signature = (description=convert::Text(String::new())))]
    fn create_key(&self, py: Python<'_>, description: convert::Text) -> PyResult<String> {
        let client = core_result(self.inner.client())?;
        let description = description.0;
        run_core(py, move || block_on(client.create_key(&description)))
    }

    /// Creates ``alias_name`` (``"alias/..."``) for a key (``CreateAlias``).
    fn create_alias(
        &self,
        py: Python<'_>,
        alias_name: convert::Text,
        target_key_id: convert::Text,
    ) -> PyResult<()> {
        let client = core_result(self.inner.client())?;
        let (alias, target) = (alias_name.0, target_key_id.0);
        run_core(py, move || block_on(client.create_alias(&alias, &target)))
    }

    /// Settings and the access key ID; never the secret key or token.
    fn __repr__(&self) -> PyResult<String> {
        let client = core_result(self.inner.client())?;
        Ok(format!("<{client:?}>"))
    }
}

// ------------------------------------------------------------ a Python client

/// A Python KMS client as the core's `KmsClient`. Calls run on the thread
/// of the core call, with the GIL re-acquired.
struct PyKmsClient {
    /// Also kept by the keyring wrapper that made it (`crate::gc`).
    obj: Arc<CoreObject>,
}

/// The service's error code and message of a botocore `ClientError`
/// (`err.response["Error"]`), if `err` is one with a code (an empty code is
/// none: the exception's class name stands in, as for other exceptions).
fn service_error(py: Python<'_>, err: &PyErr) -> Option<(String, String)> {
    let read = || -> PyResult<Option<(String, String)>> {
        let response = err.value(py).getattr("response")?;
        let error = response.get_item("Error")?;
        let code: String = error.get_item("Code")?.extract()?;
        if code.is_empty() {
            return Ok(None);
        }
        let message = match error
            .get_item("Message")
            .and_then(|m| m.extract::<String>())
        {
            Ok(m) => m,
            Err(e) => {
                keep_interrupt(py, e);
                String::new()
            }
        };
        Ok(Some((code, message)))
    };
    // Not a ClientError, or not shaped like one: no service code. An
    // interrupt raised while looking is kept, never swallowed.
    read().unwrap_or_else(|e| {
        keep_interrupt(py, e);
        None
    })
}

impl PyKmsClient {
    /// Calls `method` with boto3's keyword arguments; maps a failure to a
    /// core error (the service's code for a botocore `ClientError`).
    fn call<'py, T>(
        &self,
        py: Python<'py>,
        method: &str,
        operation: &str,
        kwargs: Bound<'py, PyDict>,
        read: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<T>,
    ) -> Result<T, CoreError> {
        if let Some(err) = interrupted(py) {
            return Err(err);
        }
        let _depth = CallbackDepth::enter().map_err(|e| from_callback(py, e, operation))?;
        let response = match self.obj.bind(py).call_method(method, (), Some(&kwargs)) {
            Ok(r) => r,
            Err(e) => {
                return Err(match service_error(py, &e) {
                    Some((code, message)) => record(
                        py,
                        e,
                        CoreError::Kms {
                            code,
                            message: format!("{operation}: {message}"),
                        },
                    ),
                    None => from_callback(py, e, operation),
                })
            }
        };
        // A response without the fields KMS always returns, or of the wrong
        // types: the code the core and the other front ends give it.
        read(&response).map_err(|e| {
            let message = format!("{operation}: the client's response is not a KMS response: {e}");
            record(
                py,
                e,
                CoreError::Kms {
                    code: "InvalidResponse".into(),
                    message,
                },
            )
        })
    }

    fn args<'py>(
        py: Python<'py>,
        key_id: &str,
        context: &EncryptionContext,
        grant_tokens: &[String],
    ) -> Result<Bound<'py, PyDict>, CoreError> {
        let build = || -> PyResult<Bound<'py, PyDict>> {
            let kw = PyDict::new(py);
            kw.set_item("KeyId", key_id)?;
            if !context.is_empty() {
                kw.set_item("EncryptionContext", context_to_py(py, context)?)?;
            }
            if !grant_tokens.is_empty() {
                kw.set_item("GrantTokens", PyList::new(py, grant_tokens)?)?;
            }
            Ok(kw)
        };
        build().map_err(|e| from_callback(py, e, "the KMS client call"))
    }
}

fn get_str(response: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    let value = response.get_item(field)?;
    let s = value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "KMS response field {field} is '{}', not str",
            type_name(&value)
        ))
    })?;
    Ok(convert::utf8(s, field)?.into_owned())
}

fn get_bytes(response: &Bound<'_, PyAny>, field: &str) -> PyResult<Vec<u8>> {
    Ok(bytes_like(&response.get_item(field)?, field)?.to_vec())
}

impl KmsClient for PyKmsClient {
    fn generate_data_key<'a>(
        &'a self,
        request: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse, CoreError>> {
        ready(Python::attach(|py| {
            let kw = Self::args(
                py,
                &request.key_id,
                &request.encryption_context,
                &request.grant_tokens,
            )?;
            kw.set_item("NumberOfBytes", request.number_of_bytes)
                .map_err(|e| from_callback(py, e, "GenerateDataKey"))?;
            self.call(py, "generate_data_key", "GenerateDataKey", kw, |r| {
                Ok(GenerateDataKeyResponse::new(
                    get_str(r, "KeyId")?,
                    DataKey::new(get_bytes(r, "Plaintext")?),
                    get_bytes(r, "CiphertextBlob")?,
                ))
            })
        }))
    }

    fn encrypt<'a>(
        &'a self,
        request: KmsEncryptRequest,
    ) -> BoxFuture<'a, Result<KmsEncryptResponse, CoreError>> {
        ready(Python::attach(|py| {
            let kw = Self::args(
                py,
                &request.key_id,
                &request.encryption_context,
                &request.grant_tokens,
            )?;
            kw.set_item(
                "Plaintext",
                pyo3::types::PyBytes::new(py, request.plaintext.as_bytes()),
            )
            .map_err(|e| from_callback(py, e, "Encrypt"))?;
            self.call(py, "encrypt", "Encrypt", kw, |r| {
                Ok(KmsEncryptResponse::new(
                    get_str(r, "KeyId")?,
                    get_bytes(r, "CiphertextBlob")?,
                ))
            })
        }))
    }

    fn decrypt<'a>(
        &'a self,
        request: KmsDecryptRequest,
    ) -> BoxFuture<'a, Result<KmsDecryptResponse, CoreError>> {
        ready(Python::attach(|py| {
            let kw = Self::args(
                py,
                &request.key_id,
                &request.encryption_context,
                &request.grant_tokens,
            )?;
            kw.set_item(
                "CiphertextBlob",
                pyo3::types::PyBytes::new(py, &request.ciphertext_blob),
            )
            .map_err(|e| from_callback(py, e, "Decrypt"))?;
            self.call(py, "decrypt", "Decrypt", kw, |r| {
                Ok(KmsDecryptResponse::new(
                    get_str(r, "KeyId")?,
                    DataKey::new(get_bytes(r, "Plaintext")?),
                ))
            })
        }))
    }
}

/// The `client=` argument as a core client: the built-in client (a new one
/// configured from the environment when `client` is `None`), or a Python
/// KMS client.
fn client_arc(
    py: Python<'_>,
    client: Option<&Bound<'_, PyAny>>,
    made: &mut Made,
) -> PyResult<Arc<dyn KmsClient>> {
    let Some(client) = client.filter(|c| !c.is_none()) else {
        let native = py.detach(|| ForkSafeClient::new(NativeClient::builder()));
        return Ok(Arc::new(core_result(native)?));
    };
    if let Ok(native) = client.cast::<PyAwsKmsClient>() {
        return Ok(Arc::clone(&native.get().inner) as Arc<dyn KmsClient>);
    }
    for method in ["generate_data_key", "encrypt", "decrypt"] {
        if !client.hasattr(method)? {
            return Err(PyTypeError::new_err(format!(
                "client must be a kms_envelope.AwsKmsClient or a KMS client (boto3.client(\"kms\")) \
                 with generate_data_key, encrypt and decrypt; '{}' has no {method}",
                type_name(client)
            )));
        }
    }
    Ok(Arc::new(PyKmsClient {
        obj: made.wrap(client),
    }))
}

fn tokens(grant_tokens: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let mut out = Vec::new();
    if let Some(t) = grant_tokens.filter(|t| !t.is_none()) {
        if t.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "grant_tokens must be an iterable of str, not a str",
            ));
        }
        for item in t.try_iter()? {
            out.push(item?.extract::<convert::Text>()?.0);
        }
    }
    Ok(out)
}

/// Wraps data keys with one AWS KMS key, in the AWS Encryption SDK
/// ``aws-kms`` layout (the provider info is the key ARN), so messages
/// interoperate with the ESDKs' KMS keyrings and master key providers.
///
/// ``client`` is an :class:`AwsKmsClient` (the built-in client; calls wait
/// with the GIL released), or a boto3 KMS client
/// (``boto3.client("kms", region_name=...)``) or any object with its
/// ``generate_data_key`` / ``encrypt`` / ``decrypt`` methods (called with
/// the GIL held). Without ``client``, the keyring makes its own
/// ``AwsKmsClient()`` configured from the environment and the shared AWS
/// files. ``key_id`` is a key ARN, an alias ARN, ``alias/...`` or a key ID
/// for encrypting; decrypting needs the key ARN (messages store it). With
/// ``mrk_aware=True``, encrypted data keys of any replica of a multi-Region
/// (``mrk-``) key also match on decrypt. A failed call surfaces as
/// :class:`KmsError` with the service's ``code`` (inside
/// :class:`NoKeyUnwrappedError` on decrypt, whose ``reasons`` name it); a
/// botocore ``ClientError`` is chained as ``__cause__``.
#[pyclass(frozen, extends = NativeKeyring, module = "kms_envelope", name = "AwsKmsKeyring")]
pub(crate) struct AwsKmsKeyring {
    key_id: String,
    /// A Python client's `CoreObject` (`crate::gc`).
    made: Made,
}

#[pymethods]
impl AwsKmsKeyring {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (key_id, *, client=None, mrk_aware=false, grant_tokens=None))]
    fn new(
        py: Python<'_>,
        key_id: convert::Text,
        client: Option<&Bound<'_, PyAny>>,
        mrk_aware: bool,
        grant_tokens: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let key_id = key_id.0.as_str();
        let grant_tokens = tokens(grant_tokens)?;
        let mut made = Made::default();
        let client = client_arc(py, client, &mut made)?;
        let keyring = if mrk_aware {
            CoreKms::new_mrk_aware(key_id, client)
        } else {
            CoreKms::new(key_id, client)
        };
        let keyring = core_result(keyring)?.with_grant_tokens(grant_tokens);
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self {
            key_id: key_id.to_owned(),
            made,
        }))
    }

    /// The KMS key identifier.
    #[getter]
    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn __repr__(&self) -> String {
        format!("AwsKmsKeyring({:?})", self.key_id)
    }
}

/// A decrypt-only AWS KMS keyring: asks KMS to decrypt each ``aws-kms``
/// encrypted data key with the key it names.
///
/// Limit it with ``partition`` and ``account_ids`` (both or neither: only
/// keys of that partition and those accounts are tried). With ``region``,
/// it is multi-Region aware: data keys of multi-Region keys are decrypted
/// with their replica in ``region``, other keys only if they are in
/// ``region`` (pass the client's region). ``client`` as for
/// :class:`AwsKmsKeyring`.
#[pyclass(frozen, extends = NativeKeyring, module = "kms_envelope", name = "AwsKmsDiscoveryKeyring")]
pub(crate) struct AwsKmsDiscoveryKeyring {
    /// A Python client's `CoreObject` (`crate::gc`).
    made: Made,
}

#[pymethods]
impl AwsKmsDiscoveryKeyring {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (*, client=None, partition=None, account_ids=None, region=None, grant_tokens=None))]
    fn new(
        py: Python<'_>,
        client: Option<&Bound<'_, PyAny>>,
        partition: Option<convert::Text>,
        account_ids: Option<Vec<convert::Text>>,
        region: Option<convert::Text>,
        grant_tokens: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let grant_tokens = tokens(grant_tokens)?;
        let partition = partition.map(|convert::Text(p)| p);
        let account_ids = account_ids.map(|ids| {
            ids.into_iter()
                .map(|convert::Text(a)| a)
                .collect::<Vec<_>>()
        });
        let region = region.map(|convert::Text(r)| r);
        let filter = match (partition, account_ids) {
            (None, None) => None,
            (Some(p), Some(a)) => Some(core_result(DiscoveryFilter::new(p, a))?),
            _ => return Err(bad_arg("give both partition and account_ids, or neither")),
        };
        let mut made = Made::default();
        let client = client_arc(py, client, &mut made)?;
        let keyring = match region {
            Some(r) => core_result(CoreKms::mrk_discovery(client, r, filter))?,
            None => CoreKms::discovery(client, filter),
        }
        .with_grant_tokens(grant_tokens);
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self { made }))
    }
}
