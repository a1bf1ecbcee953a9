//! AWS KMS keyrings over a Python KMS client (a boto3 `kms` client, or any
//! object with its `generate_data_key` / `encrypt` / `decrypt` methods).

use std::sync::Arc;

use kms_envelope::future::{ready, BoxFuture};
use kms_envelope::kms::{
    AwsKmsKeyring as CoreKms, DiscoveryFilter, GenerateDataKeyRequest, GenerateDataKeyResponse,
    KmsClient, KmsDecryptRequest, KmsDecryptResponse, KmsEncryptRequest, KmsEncryptResponse,
};
use kms_envelope::{DataKey, EncryptionContext, Error as CoreError};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::convert::{bytes_like, context_to_py, type_name};
use crate::errors::{core_result, from_callback, record};
use crate::keyrings::NativeKeyring;

/// A Python KMS client as the core's `KmsClient`. Calls run on the thread
/// of the core call, with the GIL re-acquired.
struct PyKmsClient {
    obj: Py<PyAny>,
}

/// The service's error code and message of a botocore `ClientError`
/// (`err.response["Error"]`), if `err` is one.
fn service_error(py: Python<'_>, err: &PyErr) -> Option<(String, String)> {
    let response = err.value(py).getattr("response").ok()?;
    let error = response.get_item("Error").ok()?;
    let code: String = error.get_item("Code").ok()?.extract().ok()?;
    let message: String = error
        .get_item("Message")
        .ok()
        .and_then(|m| m.extract().ok())
        .unwrap_or_default();
    Some((code, message))
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
        let response = match self.obj.bind(py).call_method(method, (), Some(&kwargs)) {
            Ok(r) => r,
            Err(e) => {
                return Err(match service_error(py, &e) {
                    Some((code, message)) => record(
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
        read(&response).map_err(|e| from_callback(py, e, operation))
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
    Ok(s.to_cow()?.into_owned())
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

fn client_arc(client: &Bound<'_, PyAny>) -> PyResult<Arc<dyn KmsClient>> {
    for method in ["generate_data_key", "encrypt", "decrypt"] {
        if !client.hasattr(method)? {
            return Err(PyTypeError::new_err(format!(
                "client must be a KMS client (boto3.client(\"kms\")) with generate_data_key, encrypt and decrypt; '{}' has no {method}",
                type_name(client)
            )));
        }
    }
    Ok(Arc::new(PyKmsClient {
        obj: client.clone().unbind(),
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
            out.push(item?.extract::<String>()?);
        }
    }
    Ok(out)
}

/// Wraps data keys with one AWS KMS key, in the AWS Encryption SDK
/// ``aws-kms`` layout (the provider info is the key ARN), so messages
/// interoperate with the ESDKs' KMS keyrings and master key providers.
///
/// ``client`` is a boto3 KMS client (``boto3.client("kms", region_name=...)``)
/// or any object with its ``generate_data_key`` / ``encrypt`` / ``decrypt``
/// methods; it is called with the GIL held. ``key_id`` is a key ARN, an
/// alias ARN, ``alias/...`` or a key ID for encrypting; decrypting needs the
/// key ARN (messages store it). With ``mrk_aware=True``, encrypted data keys
/// of any replica of a multi-Region (``mrk-``) key also match on decrypt.
/// A botocore ``ClientError`` surfaces as :class:`KmsError` with the
/// service's ``code`` (inside :class:`NoKeyUnwrappedError` on decrypt), the
/// original exception as ``__cause__``.
#[pyclass(frozen, extends = NativeKeyring, module = "kms_envelope", name = "AwsKmsKeyring")]
pub(crate) struct AwsKmsKeyring {
    key_id: String,
}

#[pymethods]
impl AwsKmsKeyring {
    #[new]
    #[pyo3(signature = (key_id, *, client, mrk_aware=false, grant_tokens=None))]
    fn new(
        key_id: &str,
        client: &Bound<'_, PyAny>,
        mrk_aware: bool,
        grant_tokens: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let client = client_arc(client)?;
        let keyring = if mrk_aware {
            CoreKms::new_mrk_aware(key_id, client)
        } else {
            CoreKms::new(key_id, client)
        };
        let keyring = core_result(keyring)?.with_grant_tokens(tokens(grant_tokens)?);
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self {
            key_id: key_id.to_owned(),
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
pub(crate) struct AwsKmsDiscoveryKeyring;

#[pymethods]
impl AwsKmsDiscoveryKeyring {
    #[new]
    #[pyo3(signature = (*, client, partition=None, account_ids=None, region=None, grant_tokens=None))]
    fn new(
        client: &Bound<'_, PyAny>,
        partition: Option<String>,
        account_ids: Option<Vec<String>>,
        region: Option<String>,
        grant_tokens: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let client = client_arc(client)?;
        let filter = match (partition, account_ids) {
            (None, None) => None,
            (Some(p), Some(a)) => Some(core_result(DiscoveryFilter::new(p, a))?),
            _ => {
                return Err(crate::errors::bad_arg(
                    "give both partition and account_ids, or neither",
                ))
            }
        };
        let keyring = match region {
            Some(r) => core_result(CoreKms::mrk_discovery(client, r, filter))?,
            None => CoreKms::discovery(client, filter),
        }
        .with_grant_tokens(tokens(grant_tokens)?);
        Ok(PyClassInitializer::from(NativeKeyring {
            inner: Arc::new(keyring),
        })
        .add_subclass(Self))
    }
}
