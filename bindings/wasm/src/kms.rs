//! AWS KMS keyrings over a JS KMS client, and the caching materials manager
//! on a JS clock.
//!
//! The wasm knows nothing of the AWS SDK: pkg/src/api.js hands in a function
//! `send(operation, input) -> Promise<output>` that builds the command
//! (`GenerateDataKey`, `Encrypt` or `Decrypt`) and calls the client's `send`.
//! Inputs and outputs use the AWS API's field names; blobs are Uint8Arrays.
//! A rejection becomes a `kms_error` whose code is the rejection's `code` or
//! `name` (an AWS SDK v3 service exception's `name` is the service's code).

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use kms_envelope::cmm::caching::Clock;
use kms_envelope::cmm::{CachingMaterialsManager, LocalMaterialsCache};
use kms_envelope::future::BoxFuture;
use kms_envelope::kms::{
    AwsKmsKeyring, DiscoveryFilter, GenerateDataKeyRequest, GenerateDataKeyResponse, KmsClient,
    KmsDecryptRequest, KmsDecryptResponse, KmsEncryptRequest, KmsEncryptResponse,
};
use kms_envelope::{DataKey, EncryptionContext, Error, Result};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::custom::rejected;
use crate::{context_to_js, guarded, js_error, keyring, Source, Src};

/// A KMS client reached through a JS `send(operation, input)` function.
struct JsKmsClient {
    send: Function,
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &key.into(), value);
}

fn invalid(operation: &str, what: &str) -> Error {
    Error::Kms {
        code: "InvalidResponse".into(),
        message: format!("{operation}: {what}"),
    }
}

impl JsKmsClient {
    /// The request fields every operation has.
    fn input(key_id: &str, context: &EncryptionContext, grant_tokens: &[String]) -> Object {
        let input = Object::new();
        set(&input, "KeyId", &key_id.into());
        if !context.is_empty() {
            set(&input, "EncryptionContext", &context_to_js(context));
        }
        if !grant_tokens.is_empty() {
            let tokens: Array = grant_tokens
                .iter()
                .map(|t| JsValue::from(t.as_str()))
                .collect();
            set(&input, "GrantTokens", &tokens);
        }
        input
    }

    /// Calls `send(operation, input, signal)` (`signal`: the caller's
    /// `AbortSignal`, or undefined); resolves to the response object.
    fn call(
        &self,
        operation: &'static str,
        input: Object,
    ) -> impl Future<Output = Result<JsValue>> {
        let signal = crate::trace::signal().unwrap_or(JsValue::UNDEFINED);
        let started = self
            .send
            .call3(&JsValue::NULL, &operation.into(), &input, &signal)
            .map_err(rejected);
        async move {
            let out = JsFuture::from(guarded::resolve(&started?).map_err(rejected)?)
                .await
                .map_err(rejected)?;
            if out.is_object() {
                Ok(out)
            } else {
                Err(invalid(
                    operation,
                    "the KMS client resolved to no response object",
                ))
            }
        }
    }
}

fn out_string(out: &JsValue, operation: &str, field: &str) -> Result<String> {
    let text = Reflect::get(out, &field.into())
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::JsString>().ok())
        .ok_or_else(|| {
            invalid(
                operation,
                &format!("the response's {field} is not a string"),
            )
        })?;
    if text.length() > guarded::MAX_FIELD_LEN {
        return Err(invalid(
            operation,
            &format!(
                "the response's {field} is {} characters long (at most {} here)",
                text.length(),
                guarded::MAX_FIELD_LEN
            ),
        ));
    }
    Ok(String::from(text))
}

fn out_array(out: &JsValue, operation: &str, field: &str) -> Result<Uint8Array> {
    Reflect::get(out, &field.into())
        .ok()
        .and_then(|v| crate::guarded::uint8_array(&v))
        .ok_or_else(|| {
            invalid(
                operation,
                &format!("the response's {field} is not a Uint8Array"),
            )
        })
}

/// A copy of `array`, the response's `field` (reading it may throw: a
/// transferred buffer, a Proxy).
fn copy_field(array: &Uint8Array, operation: &str, field: &str) -> Result<Vec<u8>> {
    guarded::copy_bytes(array).map_err(|e| match e {
        guarded::Unread::Thrown(_) => invalid(
            operation,
            &format!("the response's {field} could not be read (a transferred buffer?)"),
        ),
        guarded::Unread::TooLong(n) => invalid(
            operation,
            &format!(
                "the response's {field} is {n} bytes long (at most {} here)",
                guarded::MAX_FIELD_LEN
            ),
        ),
    })
}

/// A copy of the bytes of a response field.
fn out_bytes(out: &JsValue, operation: &str, field: &str) -> Result<Vec<u8>> {
    copy_field(&out_array(out, operation, field)?, operation, field)
}

/// The response's `Plaintext` as a data key. Its JS copy is zeroed whether
/// or not it was usable; read before any other field, so that no early
/// error leaves it.
fn out_key(out: &JsValue, operation: &str) -> Result<DataKey> {
    let array = out_array(out, operation, "Plaintext")?;
    let copied = copy_field(&array, operation, "Plaintext");
    guarded::wipe(&array);
    Ok(DataKey::new(copied?))
}

/// A request's `Plaintext`, zeroed when the call ends or is abandoned
/// (without throwing, should the client have detached its buffer).
struct WipedOnDrop(Uint8Array);

impl Drop for WipedOnDrop {
    fn drop(&mut self) {
        guarded::wipe(&self.0);
    }
}

impl KmsClient for JsKmsClient {
    fn generate_data_key<'a>(
        &'a self,
        request: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse>> {
        let input = Self::input(
            &request.key_id,
            &request.encryption_context,
            &request.grant_tokens,
        );
        set(
            &input,
            "NumberOfBytes",
            &(request.number_of_bytes as u32).into(),
        );
        let call = self.call("GenerateDataKey", input);
        Box::pin(async move {
            let out = call.await?;
            let op = "GenerateDataKey";
            let key = out_key(&out, op)?;
            Ok(GenerateDataKeyResponse::new(
                out_string(&out, op, "KeyId")?,
                key,
                out_bytes(&out, op, "CiphertextBlob")?,
            ))
        })
    }

    fn encrypt<'a>(
        &'a self,
        request: KmsEncryptRequest,
    ) -> BoxFuture<'a, Result<KmsEncryptResponse>> {
        let input = Self::input(
            &request.key_id,
            &request.encryption_context,
            &request.grant_tokens,
        );
        let plaintext = WipedOnDrop(Uint8Array::from(request.plaintext.as_bytes()));
        set(&input, "Plaintext", &plaintext.0);
        let call = self.call("Encrypt", input);
        Box::pin(async move {
            let out = call.await;
            drop(plaintext);
            let out = out?;
            Ok(KmsEncryptResponse::new(
                out_string(&out, "Encrypt", "KeyId")?,
                out_bytes(&out, "Encrypt", "CiphertextBlob")?,
            ))
        })
    }

    fn decrypt<'a>(
        &'a self,
        request: KmsDecryptRequest,
    ) -> BoxFuture<'a, Result<KmsDecryptResponse>> {
        let input = Self::input(
            &request.key_id,
            &request.encryption_context,
            &request.grant_tokens,
        );
        set(
            &input,
            "CiphertextBlob",
            &Uint8Array::from(&request.ciphertext_blob[..]),
        );
        let call = self.call("Decrypt", input);
        Box::pin(async move {
            let out = call.await?;
            let key = out_key(&out, "Decrypt")?;
            Ok(KmsDecryptResponse::new(
                out_string(&out, "Decrypt", "KeyId")?,
                key,
            ))
        })
    }
}

fn client(send: Function) -> Arc<dyn KmsClient> {
    Arc::new(JsKmsClient { send })
}

/// An AWS KMS keyring for one key; `send(operation, input)` reaches KMS.
#[wasm_bindgen(js_name = awsKmsKeyring)]
pub fn aws_kms_keyring(
    key_id: String,
    send: Function,
    mrk_aware: bool,
    grant_tokens: Vec<String>,
) -> Result<Source, JsValue> {
    let k = if mrk_aware {
        AwsKmsKeyring::new_mrk_aware(key_id, client(send))
    } else {
        AwsKmsKeyring::new(key_id, client(send))
    };
    k.map(|k| keyring(k.with_grant_tokens(grant_tokens)))
        .map_err(|e| js_error(&e))
}

/// A decrypt-only AWS KMS discovery keyring, limited by `partition` and
/// `accounts` (both or neither) and, multi-Region aware, by `region`.
#[wasm_bindgen(js_name = awsKmsDiscoveryKeyring)]
pub fn aws_kms_discovery_keyring(
    send: Function,
    partition: Option<String>,
    accounts: Option<Vec<String>>,
    region: Option<String>,
    grant_tokens: Vec<String>,
) -> Result<Source, JsValue> {
    let filter = match (partition, accounts) {
        (None, None) => None,
        (Some(p), Some(a)) => Some(DiscoveryFilter::new(p, a).map_err(|e| js_error(&e))?),
        _ => {
            return Err(crate::bad_arg(
                "a discovery filter needs both partition and accountIds",
            ))
        }
    };
    let k = match region {
        Some(r) => {
            AwsKmsKeyring::mrk_discovery(client(send), r, filter).map_err(|e| js_error(&e))?
        }
        None => AwsKmsKeyring::discovery(client(send), filter),
    };
    Ok(keyring(k.with_grant_tokens(grant_tokens)))
}

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: monotonic milliseconds (Node 16+, browsers, workers).
    #[wasm_bindgen(catch, js_namespace = performance, js_name = now)]
    fn performance_now() -> std::result::Result<f64, JsValue>;
}

/// The host's clock for cache entry ages (the core has none on wasm32):
/// `performance.now()`, else `Date.now()`; never goes back.
#[derive(Default)]
struct JsClock {
    last: Cell<u64>,
}

impl Clock for JsClock {
    fn now_millis(&self) -> u64 {
        let now = performance_now().unwrap_or_else(|_| js_sys::Date::now()) as u64;
        let now = now.max(self.last.get());
        self.last.set(now);
        now
    }
}

/// A capacity-bounded LRU cache of materials, shareable between caching managers.
#[wasm_bindgen]
pub struct MaterialsCache {
    inner: Arc<LocalMaterialsCache>,
}

#[wasm_bindgen]
impl MaterialsCache {
    /// A cache of at most `capacity` entries.
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: u32) -> MaterialsCache {
        MaterialsCache {
            inner: Arc::new(LocalMaterialsCache::new(capacity as usize)),
        }
    }

    /// Entries held (expired ones until they are pruned).
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.inner.clear();
    }
}

/// The caching materials manager over a keyring or a manager, as
/// `{ source, partitionId }`: without `partition_id`, the core makes a
/// random one.
#[wasm_bindgen(js_name = cachingManager)]
pub fn caching_manager(
    under: &Source,
    cache: &MaterialsCache,
    partition_id: Option<String>,
    max_age_ms: f64,
    max_messages: Option<f64>,
    max_bytes: Option<f64>,
) -> Result<JsValue, JsValue> {
    // `as` saturates (NaN -> 0, which the core refuses); pkg/src checks the range.
    let mut b = CachingMaterialsManager::builder(Duration::from_millis(max_age_ms as u64))
        .cache(cache.inner.clone())
        .clock(Arc::new(JsClock::default()));
    if let Some(p) = partition_id {
        b = b.partition_id(p);
    }
    b = match &under.inner {
        Src::Keyring(k) => b.keyring(k.clone()),
        Src::Manager(m) => b.materials_manager(m.clone()),
    };
    if let Some(n) = max_messages {
        b = b.max_messages(n as u64);
    }
    if let Some(n) = max_bytes {
        b = b.max_bytes(n as u64);
    }
    let m = b.build().map_err(|e| js_error(&e))?;
    let made = Object::new();
    set(&made, "partitionId", &m.partition_id().into());
    let source = Source {
        inner: Src::Manager(Arc::new(m)),
    };
    set(&made, "source", &source.into());
    Ok(made.into())
}
