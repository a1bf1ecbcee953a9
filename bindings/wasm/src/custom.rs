//! A keyring backed by a JS object with async `onEncrypt` / `onDecrypt`.
//!
//! Contract (documented in pkg/src/index.d.ts):
//! - `onEncrypt(materials)` gets `{ algorithmSuite, encryptionContext,
//!   requiredEncryptionContextKeys, plaintextDataKey?, encryptedDataKeys }`
//!   and resolves to
//!   `{ plaintextDataKey?, encryptedDataKeys? }`: a data key when the
//!   materials had none, and the EDKs to add.
//! - `onDecrypt(materials, edks)` resolves to `{ plaintextDataKey }`, or to
//!   `null` / `undefined` when it recognizes none of the EDKs.
//! - A rejection becomes a `kms_error` whose code is the rejection's `code`
//!   (or `name`); the error keeps the original as its `cause` (`trace`).

use std::future::Future;

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use kms_envelope::future::BoxFuture;
use kms_envelope::{
    DataKey, DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, Error, Keyring, Result,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{context_to_js, guarded, set};

pub(crate) struct JsKeyring {
    object: JsValue,
}

impl JsKeyring {
    pub(crate) fn new(object: JsValue) -> Self {
        Self { object }
    }

    /// Calls `method` with `args`, and `{ signal }` after them when the
    /// caller gave one.
    fn call(&self, method: &str, args: &Array) -> impl Future<Output = Result<JsValue>> {
        if let Some(signal) = crate::trace::signal() {
            let options = Object::new();
            set(&options, "signal", &signal);
            args.push(&options);
        }
        let promise = Reflect::get(&self.object, &method.into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| Error::BadArgument(format!("custom keyring has no {method} function")))
            .and_then(|f| f.apply(&self.object, args).map_err(rejected));
        async move {
            let value = promise?;
            // A plain value is accepted as if it were a resolved Promise.
            JsFuture::from(guarded::resolve(&value).map_err(rejected)?)
                .await
                .map_err(rejected)
        }
    }
}

/// A JS rejection as a core error: `kms_error` with the thrown `code` (or
/// `name`), recorded as the call's failure (see `trace`). This package's
/// own errors of the kinds a keyring may report keep their kind (see
/// [`kept_kind`]).
pub(crate) fn rejected(e: JsValue) -> Error {
    // A field's string value; "" counts as none (never an empty code).
    let field = |k: &str| {
        Reflect::get(&e, &k.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let message = field("message")
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "rejected without a message".into());
    let ours = field("name").as_deref() == Some("KmsEnvelopeError");
    if ours {
        // The thrown error's own `reasons` (one per key tried), if any.
        let reasons = Reflect::get(&e, &"reasons".into())
            .map(|list| string_items(&list))
            .unwrap_or_default();
        if let Some(kept) = field("code").and_then(|code| kept_kind(&code, &message, reasons)) {
            crate::trace::record(&e, None);
            return kept;
        }
    }
    // A `kms_error` of this package rethrown keeps the service's code.
    let code = ours
        .then(|| field("kmsCode"))
        .flatten()
        .or_else(|| field("code"))
        .or_else(|| field("name"))
        .unwrap_or_else(|| "Error".into());
    crate::trace::record(&e, Some(&code));
    Error::Kms { code, message }
}

/// The string items of the array(-like) `list`, read through `Reflect`
/// (anything else, or a throwing getter or Proxy trap, only loses items),
/// at most 65,535.
fn string_items(list: &JsValue) -> Vec<String> {
    let len = Reflect::get(list, &"length".into())
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(0.0)
        .min(65_535.0) as u32;
    (0..len)
        .filter_map(|i| Reflect::get(list, &i.into()).ok()?.as_string())
        .collect()
}

/// The core error for this package's error of `code` thrown by a keyring or
/// KMS client, for the kinds kept as they are, as the C front end keeps
/// them (and Python): `no_key_unwrapped`, `bad_argument`,
/// `policy_violation`, `malformed_message` and `io_error`.
/// `authentication_failed` is about a message, not a keyring, and becomes a
/// `kms_error` like any other throw, as in C (Python keeps it, naming the
/// keyring).
fn kept_kind(code: &str, message: &str, reasons: Vec<String>) -> Option<Error> {
    // The text without the kind's prefix, which the error adds again.
    let text = |prefix: &str| message.strip_prefix(prefix).unwrap_or(message).to_owned();
    Some(match code {
        "bad_argument" => Error::BadArgument(text("bad argument: ")),
        "no_key_unwrapped" => Error::NoKeyUnwrapped(if reasons.is_empty() {
            // This package's own text around the reasons, if it is that.
            let listed = message
                .strip_prefix("no keyring could unwrap a data key")
                .map(|r| {
                    r.trim()
                        .trim_start_matches('(')
                        .trim_end_matches(')')
                        .trim()
                })
                .unwrap_or(message);
            let listed = if listed.is_empty() {
                "a keyring unwrapped no data key"
            } else {
                listed
            };
            vec![listed.to_owned()]
        } else {
            reasons
        }),
        "policy_violation" => Error::PolicyViolation(text("policy violation: ")),
        "malformed_message" => Error::MalformedMessage(text("malformed message: ")),
        "io_error" => Error::Io(std::io::Error::other(text("I/O error: "))),
        _ => return None,
    })
}

pub(crate) fn edk_to_js(e: &EncryptedDataKey) -> JsValue {
    let obj = Object::new();
    set(&obj, "providerId", e.provider_id.as_str());
    set(&obj, "providerInfo", Uint8Array::from(&e.provider_info[..]));
    set(&obj, "ciphertext", Uint8Array::from(&e.ciphertext[..]));
    obj.into()
}

/// Refuses a callback's result that is not an object (a string, a number):
/// its fields are read next.
fn materials_result(result: &JsValue, method: &str) -> Result<()> {
    if result.is_object() || result.is_function() {
        return Ok(());
    }
    let kind = result.js_typeof().as_string().unwrap_or_default();
    Err(Error::BadArgument(format!(
        "custom keyring: {method} must resolve to the materials (an object), got a {kind}"
    )))
}

fn bytes_field(obj: &JsValue, key: &str) -> Result<Option<Vec<u8>>> {
    let v = Reflect::get(obj, &key.into()).map_err(|e| unreadable(key, &e))?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let view = guarded::uint8_array(&v)
        .ok_or_else(|| Error::BadArgument(format!("custom keyring: {key} must be a Uint8Array")))?;
    match guarded::copy_bytes(&view) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(guarded::Unread::Thrown(e)) => Err(unreadable(key, &e)),
        Err(guarded::Unread::TooLong(n)) => Err(Error::BadArgument(format!(
            "custom keyring: {key} is {n} bytes long; it holds at most {}",
            guarded::MAX_FIELD_LEN
        ))),
    }
}

/// A field of a callback's result that threw as it was read (a getter, a
/// Proxy, a transferred buffer).
fn unreadable(key: &str, thrown: &JsValue) -> Error {
    let why = js_sys::Reflect::get(thrown, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| thrown.as_string())
        .unwrap_or_else(|| "it threw".into());
    Error::BadArgument(format!("custom keyring: {key} could not be read: {why}"))
}

fn edk_from_js(v: &JsValue) -> Result<EncryptedDataKey> {
    let provider_id = Reflect::get(v, &"providerId".into())
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::JsString>().ok())
        .ok_or_else(|| Error::BadArgument("custom keyring: providerId must be a string".into()))?;
    if provider_id.length() > guarded::MAX_FIELD_LEN {
        return Err(Error::BadArgument(format!(
            "custom keyring: providerId is {} characters long; it holds at most {}",
            provider_id.length(),
            guarded::MAX_FIELD_LEN
        )));
    }
    // A lone surrogate would become U+FFFD: another provider's ID.
    if !provider_id.is_valid_utf16() {
        return Err(Error::BadArgument(
            "custom keyring: providerId is not valid Unicode (it holds a lone surrogate)".into(),
        ));
    }
    let provider_id = String::from(provider_id);
    let info = bytes_field(v, "providerInfo")?.unwrap_or_default();
    let ct = bytes_field(v, "ciphertext")?
        .ok_or_else(|| Error::BadArgument("custom keyring: EDK without ciphertext".into()))?;
    Ok(EncryptedDataKey::new(provider_id, info, ct))
}

fn materials_js(
    suite: u16,
    ctx: &kms_envelope::EncryptionContext,
    required: &std::collections::BTreeSet<String>,
    key: Option<&DataKey>,
    edks: Option<&[EncryptedDataKey]>,
) -> JsValue {
    let obj = Object::new();
    set(&obj, "algorithmSuite", suite);
    set(&obj, "encryptionContext", context_to_js(ctx));
    let required: Array = required.iter().map(|k| JsValue::from_str(k)).collect();
    set(&obj, "requiredEncryptionContextKeys", required);
    if let Some(k) = key {
        set(&obj, "plaintextDataKey", Uint8Array::from(k.as_bytes()));
    }
    if let Some(edks) = edks {
        let arr: Array = edks.iter().map(edk_to_js).collect();
        set(&obj, "encryptedDataKeys", arr);
    }
    obj.into()
}

impl Keyring for JsKeyring {
    fn on_encrypt<'a>(
        &'a self,
        mut m: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        let arg = materials_js(
            m.algorithm_suite().id(),
            m.encryption_context(),
            m.required_encryption_context_keys(),
            m.plaintext_data_key(),
            Some(m.encrypted_data_keys()),
        );
        let call = self.call("onEncrypt", &Array::of1(&arg));
        Box::pin(async move {
            let result = call.await?;
            if result.is_undefined() || result.is_null() {
                return Err(Error::BadArgument(
                    "custom keyring: onEncrypt resolved to nothing".into(),
                ));
            }
            materials_result(&result, "onEncrypt")?;
            if let Some(key) = bytes_field(&result, "plaintextDataKey")? {
                let key = DataKey::new(key);
                match m.plaintext_data_key() {
                    Some(k) if *k == key => {}
                    Some(_) => {
                        return Err(Error::BadArgument(
                            "custom keyring: onEncrypt replaced the data key".into(),
                        ))
                    }
                    None => m.set_plaintext_data_key(key)?,
                }
            }
            if m.plaintext_data_key().is_none() {
                return Err(Error::BadArgument(
                    "custom keyring: onEncrypt must return a plaintextDataKey".into(),
                ));
            }
            const EDKS: &str = "encryptedDataKeys";
            let edks = Reflect::get(&result, &EDKS.into()).map_err(|e| unreadable(EDKS, &e))?;
            if !edks.is_undefined() && !edks.is_null() {
                if !guarded::is_array(&edks).map_err(|e| unreadable(EDKS, &e))? {
                    return Err(Error::BadArgument(
                        "custom keyring: encryptedDataKeys must be an array".into(),
                    ));
                }
                let list = guarded::elements(&edks).map_err(|e| unreadable(EDKS, &e))?;
                // The materials' own EDKs handed back (client-node's idiom:
                // push onto `materials.encryptedDataKeys`, return it) are
                // not added again, nor one EDK twice: a wrapped key twice
                // in a message adds nothing, and under a multi-keyring
                // each such child doubled what came before it. (A linear
                // search: messages hold a handful of EDKs, and a HashSet
                // costs 11 KB of gzipped wasm.)
                for v in list.iter() {
                    let edk = edk_from_js(&v)?;
                    if !m.encrypted_data_keys().contains(&edk) {
                        m.add_encrypted_data_key(edk)?;
                    }
                }
            }
            Ok(m)
        })
    }

    fn on_decrypt<'a>(
        &'a self,
        mut m: DecryptionMaterials,
        edks: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        if m.plaintext_data_key().is_some() {
            return Box::pin(std::future::ready(Err(Error::BadArgument(
                "decryption materials already hold a data key".into(),
            ))));
        }
        let arg = materials_js(
            m.algorithm_suite().id(),
            m.encryption_context(),
            m.required_encryption_context_keys(),
            None,
            None,
        );
        let list: Array = edks.iter().map(edk_to_js).collect();
        let call = self.call("onDecrypt", &Array::of2(&arg, &list));
        Box::pin(async move {
            let result = call.await?;
            let key = if result.is_undefined() || result.is_null() {
                None
            } else {
                materials_result(&result, "onDecrypt")?;
                bytes_field(&result, "plaintextDataKey")?
            };
            match key {
                Some(k) => {
                    m.set_plaintext_data_key(DataKey::new(k))?;
                    Ok(m)
                }
                None => Err(Error::NoKeyUnwrapped(vec![
                    "custom keyring unwrapped no data key".into(),
                ])),
            }
        })
    }
}
