//! Incremental encryptor and decryptor handles for pkg/src's Web Streams.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use kms_envelope::{SignedRelease, StreamDecryptor, StreamEncryptor};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::{client, context_from, context_to_js, header_to_js, js_error, suite_from, Source, Src};

/// An incremental encryptor. Holds at most one frame of plaintext.
#[wasm_bindgen]
pub struct Encryptor {
    inner: StreamEncryptor,
}

/// Refuses, at once, encrypt options that fail whatever the keyring does:
/// an unknown suite, an unknown policy, a suite the policy forbids
/// (`encryptStream` checks them before its stream starts).
#[wasm_bindgen(js_name = checkEncryptOptions)]
pub fn check_encrypt_options(suite: Option<u16>, policy: Option<String>) -> Result<(), JsValue> {
    let client = client(policy, None)?;
    if let Some(suite) = suite_from(suite)? {
        client
            .commitment_policy()
            .check_encrypt(suite)
            .map_err(|e| js_error(&e))?;
    }
    Ok(())
}

/// Starts a streaming encryption; resolves to an [`Encryptor`] once the
/// keyring has produced the data key, or to a `StreamSealing` whose frames
/// JS seals (see `external.rs`) when `external` (the AES key lengths the
/// host's AES-GCM takes) holds the suite's.
#[wasm_bindgen(js_name = startEncrypt)]
#[allow(clippy::too_many_arguments)]
pub fn start_encrypt(
    source: &Source,
    context: Vec<String>,
    suite: Option<u16>,
    frame_length: Option<u32>,
    policy: Option<String>,
    max_edks: Option<u16>,
    plaintext_length: Option<f64>,
    external: Option<Vec<u32>>,
) -> Promise {
    let source = source.inner.clone();
    crate::trace::promise(async move {
        let client = client(policy, max_edks)?;
        let mut b = client
            .stream_encrypt()
            .encryption_context(context_from(context));
        b = match source {
            Src::Keyring(k) => b.keyring(k),
            Src::Manager(m) => b.materials_manager(m),
        };
        if let Some(s) = suite_from(suite)? {
            b = b.algorithm_suite(s);
        }
        if let Some(f) = frame_length {
            b = b.frame_length(f);
        }
        if let Some(n) = plaintext_length {
            b = b.plaintext_length(n as u64);
        }
        let inner = b.await.map_err(|e| js_error(&e))?;
        let key_len = inner.algorithm_suite().data_key_len() as u32;
        if external.is_some_and(|lengths| lengths.contains(&key_len)) {
            let seal = inner.into_external().map_err(|e| js_error(&e))?;
            return Ok(crate::external::StreamSealing::new(seal).into());
        }
        Ok(Encryptor { inner }.into())
    })
}

#[wasm_bindgen]
impl Encryptor {
    /// `{ encryptionContext, algorithmSuite, header }` of the message being
    /// written (the whole context, required pairs included).
    #[wasm_bindgen(js_name = headerResult)]
    pub fn header_result(&self) -> JsValue {
        crate::decrypted_to_js(self.inner.encryption_context(), self.inner.header()).into()
    }

    /// Encrypts a chunk; returns the ciphertext ready so far (maybe empty).
    pub fn update(&mut self, chunk: Vec<u8>) -> Result<Uint8Array, JsValue> {
        // Owned, so that this copy of the plaintext in wasm memory is wiped.
        let chunk = Zeroizing::new(chunk);
        let mut out = Vec::new();
        self.inner
            .update(&chunk, &mut out)
            .map_err(|e| js_error(&e))?;
        Ok(Uint8Array::from(&out[..]))
    }

    /// Ends the message; returns the last frame and the footer.
    pub fn finish(&mut self) -> Result<Uint8Array, JsValue> {
        let mut out = Vec::new();
        self.inner.finish(&mut out).map_err(|e| js_error(&e))?;
        Ok(Uint8Array::from(&out[..]))
    }
}

/// An incremental decryptor. `update` is async because the first chunks may
/// reach the keyring; later calls resolve at once.
#[wasm_bindgen]
pub struct Decryptor {
    inner: Rc<RefCell<Option<StreamDecryptor>>>,
}

#[wasm_bindgen]
impl Decryptor {
    /// A decryptor. `release` is `"after-signature"` (default) or `"frames"`.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: &Source,
        context: Option<Vec<String>>,
        policy: Option<String>,
        max_edks: Option<u16>,
        release: Option<String>,
        unsigned_only: Option<bool>,
        max_buffered_plaintext: Option<f64>,
        max_frame_size: Option<f64>,
    ) -> Result<Decryptor, JsValue> {
        let client = client(policy, max_edks)?;
        let mut b = client.stream_decrypt();
        b = match &source.inner {
            Src::Keyring(k) => b.keyring(k.clone()),
            Src::Manager(m) => b.materials_manager(m.clone()),
        };
        if let Some(c) = context {
            b = b.encryption_context(context_from(c));
        }
        match release.as_deref() {
            None | Some("after-signature") => {}
            Some("frames") => b = b.signed_release(SignedRelease::Frames),
            Some(other) => {
                return Err(crate::bad_arg(&format!(
                    "signedRelease must be 'after-signature' or 'frames', not '{other}'"
                )))
            }
        }
        if let Some(u) = unsigned_only {
            b = b.unsigned_only(u);
        }
        if let Some(n) = max_buffered_plaintext {
            b = b.max_buffered_plaintext(n as u64);
        }
        if let Some(n) = max_frame_size {
            b = b.max_frame_size(n as u64);
        }
        let d = b.start().map_err(|e| js_error(&e))?;
        Ok(Decryptor {
            inner: Rc::new(RefCell::new(Some(d))),
        })
    }

    /// This decryptor as a `StreamOpening` whose frames JS opens (see
    /// `external.rs`). Only before the first `update`.
    #[wasm_bindgen(js_name = intoExternal)]
    pub fn into_external(&self) -> Result<crate::external::StreamOpening, JsValue> {
        let d = self
            .inner
            .borrow_mut()
            .take()
            .ok_or_else(|| crate::bad_arg("decryptor busy or failed"))?;
        let open = d.into_external().map_err(|e| js_error(&e))?;
        Ok(crate::external::StreamOpening::new(open))
    }

    /// Decrypts a chunk; resolves to the plaintext released so far (maybe empty).
    pub fn update(&self, chunk: Vec<u8>) -> Promise {
        let cell = self.inner.clone();
        crate::trace::promise(async move {
            let mut d = cell
                .borrow_mut()
                .take()
                .ok_or_else(|| crate::bad_arg("decryptor busy or failed"))?;
            // Plaintext: wiped once the Uint8Array holds its copy.
            let mut out = Zeroizing::new(Vec::new());
            let r = d.update_async(&chunk, &mut out).await;
            r.map_err(|e| js_error(&e))?;
            *cell.borrow_mut() = Some(d);
            Ok(Uint8Array::from(&out[..]).into())
        })
    }

    /// `{ encryptionContext, algorithmSuite, header }` once the header has
    /// been authenticated, else `undefined`.
    #[wasm_bindgen(js_name = headerResult)]
    pub fn header_result(&self) -> JsValue {
        let slot = self.inner.borrow();
        match slot.as_ref().map(|d| (d.encryption_context(), d.header())) {
            Some((Some(c), Some(h))) => crate::decrypted_to_js(c, h).into(),
            _ => JsValue::UNDEFINED,
        }
    }

    /// Checks the message is complete; resolves to `{ encryptionContext, header }`.
    pub fn finish(&self) -> Result<JsValue, JsValue> {
        let mut slot = self.inner.borrow_mut();
        let d = slot
            .as_mut()
            .ok_or_else(|| crate::bad_arg("decryptor busy or failed"))?;
        d.finish().map_err(|e| js_error(&e))?;
        let obj = js_sys::Object::new();
        if let Some(c) = d.encryption_context() {
            crate::set(&obj, "encryptionContext", context_to_js(c));
        }
        if let Some(h) = d.header() {
            crate::set(&obj, "header", header_to_js(h));
        }
        Ok(obj.into())
    }
}
