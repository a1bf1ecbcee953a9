//! wasm-bindgen layer of the npm package `kms-envelope`.
//!
//! Internal: the public JavaScript API is `pkg/src/*.js`, which validates
//! arguments and calls these functions. This crate only converts values,
//! maps errors (a JS `Error` whose `code` is `kms_envelope::ErrorKind::as_str`)
//! and drives the core's futures as Promises.
//!
//! The crate is empty on other targets (its JS objects are not `Send`).

#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]
// The core takes `Arc<dyn Keyring>`; on wasm32 (one thread) keyrings holding JS
// objects are neither Send nor Sync, by design of `kms_envelope::future`.
#![allow(clippy::arc_with_non_send_sync)]

mod custom;
mod external;
mod guarded;
mod host;
mod kms;
mod stream;
mod trace;

use std::sync::Arc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use kms_envelope::format::HeaderScan;
use kms_envelope::keyring::ContextKeyOrder;
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, DecryptCall, DefaultMaterialsManager, EncryptCall,
    EncryptionContext, Error, Keyring, MaterialsManager, MessageHeader, MultiKeyring,
    RawAesKeyring, RawRsaKeyring, RequiredEncryptionContextMaterialsManager, RsaPrivateKey,
    RsaPublicKey,
};
use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

pub use external::{Opening, Sealing};
pub use kms::MaterialsCache;
pub use stream::{Decryptor, Encryptor};

/// A JS `Error` with a stable `code` (the core's [`kms_envelope::ErrorKind`]),
/// plus `kmsCode` (the service's code) on a KMS failure and `reasons` (one
/// line per attempt) when no key unwrapped.
pub(crate) fn js_error(e: &Error) -> JsValue {
    let err = coded_error(e.kind().as_str(), &e.to_string());
    match e {
        Error::Kms { code, .. } => {
            let _ = Reflect::set(&err, &"kmsCode".into(), &code.into());
        }
        Error::NoKeyUnwrapped(reasons) => {
            let list: Array = reasons.iter().map(|r| JsValue::from(r.as_str())).collect();
            let _ = Reflect::set(&err, &"reasons".into(), &list);
        }
        _ => {}
    }
    err
}

pub(crate) fn coded_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

pub(crate) fn bad_arg(message: &str) -> JsValue {
    coded_error("bad_argument", &format!("bad argument: {message}"))
}

/// Where materials come from: a keyring (used through the default materials
/// manager) or a materials manager. JS keyring and manager classes wrap one.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Source {
    inner: Src,
}

#[derive(Clone)]
pub(crate) enum Src {
    Keyring(Arc<dyn Keyring>),
    Manager(Arc<dyn MaterialsManager>),
}

fn keyring_of(s: &Source) -> Result<Arc<dyn Keyring>, JsValue> {
    match &s.inner {
        Src::Keyring(k) => Ok(k.clone()),
        Src::Manager(_) => Err(bad_arg("expected a keyring, got a materials manager")),
    }
}

pub(crate) fn keyring(k: impl Keyring + 'static) -> Source {
    Source {
        inner: Src::Keyring(Arc::new(k)),
    }
}

#[wasm_bindgen]
impl Source {
    /// Whether this is a keyring (not a materials manager).
    #[wasm_bindgen(getter, js_name = isKeyring)]
    pub fn is_keyring(&self) -> bool {
        matches!(self.inner, Src::Keyring(_))
    }
}

/// A raw AES keyring (AES-GCM wrapping with a 16, 24 or 32 byte key); with
/// `js_legacy_order` it also reads data keys wrapped in `localeCompare`
/// order by the JavaScript ESDK (see [`LocaleCompare`]).
#[wasm_bindgen(js_name = rawAesKeyring)]
pub fn raw_aes_keyring(
    namespace: String,
    name: String,
    key: Vec<u8>,
    js_legacy_order: bool,
) -> Result<Source, JsValue> {
    // Owned (not a borrow of wasm-bindgen's copy), so that it is wiped.
    let key = zeroize::Zeroizing::new(key);
    let keyring = RawAesKeyring::new(namespace, name, &key).map_err(|e| js_error(&e))?;
    Ok(self::keyring(if js_legacy_order {
        // The root collation first (what servers under `en`, `C` or no
        // locale wrote, and what the native front ends use; asked for as
        // `en`, which has no rules of its own and which every ICU build
        // has, where `und` would fall back to the default locale), then
        // this host's own locale, where that orders the keys differently.
        keyring
            .with_legacy_order(Arc::new(LocaleCompare::new(Some("en"))))
            .with_legacy_order(Arc::new(LocaleCompare::new(None)))
    } else {
        keyring
    }))
}

/// The host's `a.localeCompare(b)`: the very order the JavaScript ESDK's raw
/// AES keyrings sorted keys in, with no collation tables in the module.
/// Through the `compare` of one `Intl.Collator` with default options, which
/// ECMA-402 defines `localeCompare` to be, without making a collator per
/// call; `locale` `None` is the host's default locale, as `localeCompare`
/// takes it.
struct LocaleCompare {
    compare: js_sys::Function,
}

impl LocaleCompare {
    fn new(locale: Option<&str>) -> Self {
        let locales: Array = locale.map(JsValue::from).into_iter().collect();
        let collator = js_sys::Intl::Collator::new(&locales, &Object::new());
        Self {
            compare: collator.compare(),
        }
    }
}

impl ContextKeyOrder for LocaleCompare {
    fn compare(&self, a: &str, b: &str) -> std::cmp::Ordering {
        let order = self
            .compare
            .call2(&JsValue::UNDEFINED, &a.into(), &b.into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        // A collator that failed (it cannot, for strings) leaves the
        // byte-wise order of equal keys.
        order.partial_cmp(&0.0).unwrap_or(std::cmp::Ordering::Equal)
    }
}

fn rsa_bytes_or_pem<T>(
    value: &JsValue,
    pem: fn(&str) -> kms_envelope::Result<T>,
    der: fn(&[u8]) -> kms_envelope::Result<T>,
) -> Result<Option<T>, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else if let Some(s) = value.as_string() {
        // A private key's text: wiped once parsed.
        let s = zeroize::Zeroizing::new(s);
        pem(&s).map(Some).map_err(|e| js_error(&e))
    } else if let Some(view) = guarded::uint8_array(value) {
        let bytes = zeroize::Zeroizing::new(view.to_vec());
        // PEM read from a file arrives as bytes (a Buffer), maybe after a
        // byte-order mark or the attribute lines `openssl pkcs12` writes: as
        // a string, it is read wherever its BEGIN line is. DER never holds
        // that line (it starts with a SEQUENCE tag, 0x30).
        let is_pem = bytes.first() != Some(&0x30) && bytes.windows(10).any(|w| w == b"-----BEGIN");
        let parsed = if is_pem {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| bad_arg("an RSA key in PEM must be UTF-8 text"))?;
            pem(text)
        } else {
            der(&bytes)
        };
        parsed.map(Some).map_err(|e| js_error(&e))
    } else {
        Err(bad_arg(
            "an RSA key must be PEM (a string or its bytes), DER bytes or a KeyObject",
        ))
    }
}

/// A raw RSA keyring. Keys are PEM (text or bytes) or DER bytes (SPKI or PKCS#1
/// public, PKCS#8 or PKCS#1 private); `padding` is `pkcs1`, `oaep-sha1`,
/// `oaep-sha256`, `oaep-sha384` or `oaep-sha512`.
#[wasm_bindgen(js_name = rawRsaKeyring)]
pub fn raw_rsa_keyring(
    namespace: String,
    name: String,
    padding: String,
    public_key: JsValue,
    private_key: JsValue,
) -> Result<Source, JsValue> {
    let padding = padding.parse().map_err(|e| js_error(&e))?;
    let public = rsa_bytes_or_pem(&public_key, RsaPublicKey::from_pem, RsaPublicKey::from_der)?;
    let private = rsa_bytes_or_pem(
        &private_key,
        RsaPrivateKey::from_pem,
        RsaPrivateKey::from_der,
    )?;
    RawRsaKeyring::new(namespace, name, padding, public, private)
        .map(keyring)
        .map_err(|e| js_error(&e))
}

/// Collects the keyrings of a multi-keyring one by one (JS arrays of wasm
/// objects cannot be borrowed).
#[wasm_bindgen]
#[derive(Default)]
pub struct MultiBuilder {
    generator: Option<Arc<dyn Keyring>>,
    children: Vec<Arc<dyn Keyring>>,
}

#[wasm_bindgen]
impl MultiBuilder {
    /// An empty builder.
    #[wasm_bindgen(constructor)]
    pub fn new() -> MultiBuilder {
        MultiBuilder::default()
    }

    /// Sets the generator keyring.
    pub fn generator(&mut self, k: &Source) -> Result<(), JsValue> {
        self.generator = Some(keyring_of(k)?);
        Ok(())
    }

    /// Adds a child keyring.
    pub fn child(&mut self, k: &Source) -> Result<(), JsValue> {
        self.children.push(keyring_of(k)?);
        Ok(())
    }

    /// The multi-keyring.
    pub fn build(&mut self) -> Result<Source, JsValue> {
        MultiKeyring::new(self.generator.take(), std::mem::take(&mut self.children))
            .map(keyring)
            .map_err(|e| js_error(&e))
    }
}

/// A keyring implemented by a JS object with async `onEncrypt` / `onDecrypt`.
#[wasm_bindgen(js_name = customKeyring)]
pub fn custom_keyring(object: JsValue) -> Source {
    keyring(custom::JsKeyring::new(object))
}

/// The default materials manager over a keyring.
#[wasm_bindgen(js_name = defaultManager)]
pub fn default_manager(k: &Source) -> Result<Source, JsValue> {
    Ok(Source {
        inner: Src::Manager(Arc::new(DefaultMaterialsManager::new(keyring_of(k)?))),
    })
}

/// The required-encryption-context manager over a keyring or a manager.
#[wasm_bindgen(js_name = requiredContextManager)]
pub fn required_context_manager(under: &Source, keys: Vec<String>) -> Result<Source, JsValue> {
    let m = match &under.inner {
        Src::Keyring(k) => RequiredEncryptionContextMaterialsManager::with_keyring(k.clone(), keys),
        Src::Manager(m) => RequiredEncryptionContextMaterialsManager::new(m.clone(), keys),
    }
    .map_err(|e| js_error(&e))?;
    Ok(Source {
        inner: Src::Manager(Arc::new(m)),
    })
}

/// Encryption context from alternating keys and values.
pub(crate) fn context_from(pairs: Vec<String>) -> EncryptionContext {
    let mut ctx = EncryptionContext::new();
    let mut it = pairs.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        ctx.insert(k, v);
    }
    ctx
}

pub(crate) fn context_to_js(ctx: &EncryptionContext) -> JsValue {
    let obj = Object::new();
    for (k, v) in ctx.iter() {
        if k == "__proto__" {
            // Assigned, it would hit Object.prototype's setter and vanish.
            let field = Object::new();
            set(&field, "value", v);
            for flag in ["enumerable", "writable", "configurable"] {
                set(&field, flag, true);
            }
            Object::define_property(&obj, &k.into(), &field);
        } else {
            let _ = Reflect::set(&obj, &k.into(), &v.into());
        }
    }
    obj.into()
}

pub(crate) fn suite_from(id: Option<u16>) -> Result<Option<AlgorithmSuite>, JsValue> {
    id.map(|id| {
        AlgorithmSuite::from_id(id)
            .ok_or_else(|| bad_arg(&format!("unknown algorithm suite 0x{id:04x}")))
    })
    .transpose()
}

pub(crate) fn client(policy: Option<String>, max_edks: Option<u16>) -> Result<Client, JsValue> {
    let mut b = Client::builder().threads(1);
    if let Some(p) = policy {
        b = b.commitment_policy(p.parse::<CommitmentPolicy>().map_err(|e| js_error(&e))?);
    }
    if let Some(n) = max_edks {
        b = b.max_encrypted_data_keys(n);
    }
    Ok(b.build())
}

fn bytes(v: &[u8]) -> JsValue {
    Uint8Array::from(v).into()
}

/// Sets the property `key` (a fixed name, made into a JS string once: see
/// [`fixed_str`]).
pub(crate) fn set(obj: &Object, key: &'static str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &fixed_str(key), &value.into());
}

thread_local! {
    /// JS strings of the fixed names and values results are made of, by
    /// the address of their Rust `&'static str` (a few dozen).
    static FIXED: std::cell::RefCell<Vec<(usize, JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `s` as a JS string, decoded from wasm memory once per call site, not on
/// every call: a result object has a dozen such names, and decoding them
/// was about a tenth of a 1 KiB decrypt in Chromium.
pub(crate) fn fixed_str(s: &'static str) -> JsValue {
    let at = s.as_ptr() as usize;
    FIXED.with(|fixed| {
        let mut fixed = fixed.borrow_mut();
        if let Some((_, v)) = fixed.iter().find(|(p, _)| *p == at) {
            return v.clone();
        }
        let v = JsValue::from_str(s);
        fixed.push((at, v.clone()));
        v
    })
}

/// The settings of an encryption, as JS passes them.
struct EncryptOptions {
    source: Src,
    context: Vec<String>,
    suite: Option<u16>,
    frame_length: Option<u32>,
    client: Client,
}

impl EncryptOptions {
    fn new(
        source: &Source,
        context: Vec<String>,
        suite: Option<u16>,
        frame_length: Option<u32>,
        policy: Option<String>,
        max_edks: Option<u16>,
    ) -> Result<Self, JsValue> {
        Ok(Self {
            source: source.inner.clone(),
            context,
            suite,
            frame_length,
            client: client(policy, max_edks)?,
        })
    }

    /// `call` with these settings.
    fn apply<'a>(&'a self, mut call: EncryptCall<'a>) -> Result<EncryptCall<'a>, JsValue> {
        call = call.encryption_context(context_from(self.context.clone()));
        call = match &self.source {
            Src::Keyring(k) => call.keyring(&**k),
            Src::Manager(m) => call.materials_manager(&**m),
        };
        if let Some(s) = suite_from(self.suite)? {
            call = call.algorithm_suite(s);
        }
        if let Some(f) = self.frame_length {
            call = call.frame_length(f);
        }
        Ok(call)
    }
}

/// Encrypts `plaintext`. Resolves to the message bytes.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn encrypt(
    plaintext: Vec<u8>,
    source: &Source,
    context: Vec<String>,
    suite: Option<u16>,
    frame_length: Option<u32>,
    policy: Option<String>,
    max_edks: Option<u16>,
    signal: JsValue,
) -> js_sys::Promise {
    let opts = EncryptOptions::new(source, context, suite, frame_length, policy, max_edks);
    // This copy in wasm memory is wiped once the call ends.
    let plaintext = zeroize::Zeroizing::new(plaintext);
    trace::promise_with(signal, async move {
        let opts = opts?;
        let call = opts.apply(opts.client.encrypt(&plaintext))?;
        let out = call.await.map_err(|e| js_error(&e))?;
        Ok(bytes(&out))
    })
}

/// Gets the materials and writes the header of a message of
/// `plaintext_len` bytes whose frames JS seals (see `external.rs`).
/// `signing_key`: a key JS made for this call (`{ curve, publicKey, sign }`),
/// used if the suite signs on its curve; otherwise signing keys are made
/// in wasm and sign the digest JS computes. `key_lengths`: the AES key
/// lengths the host's AES-GCM takes (Chromium's WebCrypto has no AES-192).
/// Resolves to a `Sealing`, or to `null` when the host cannot take the
/// content key or the materials came with a host key JS cannot reach: JS
/// then uses `encrypt`.
#[wasm_bindgen(js_name = encryptExternal)]
#[allow(clippy::too_many_arguments)]
pub fn encrypt_external(
    plaintext_len: f64,
    signing_key: JsValue,
    key_lengths: Vec<u32>,
    source: &Source,
    context: Vec<String>,
    suite: Option<u16>,
    frame_length: Option<u32>,
    policy: Option<String>,
    max_edks: Option<u16>,
    signal: JsValue,
) -> js_sys::Promise {
    let opts = EncryptOptions::new(source, context, suite, frame_length, policy, max_edks);
    let pending = (!signing_key.is_undefined() && !signing_key.is_null())
        .then(|| signing_key.unchecked_into());
    trace::promise_with(
        signal,
        host::external_keys(pending, async move {
            let opts = opts?;
            // `as usize` would saturate at 2^32 - 1 here and name that length.
            // (Shown as an integer: formatting an f64 costs 10 KB of wasm.)
            let whole = plaintext_len as u64;
            let len = usize::try_from(whole).map_err(|_| {
                js_error(&kms_envelope::Error::BadArgument(format!(
                    "a plaintext of {whole} bytes is more than wasm can address"
                )))
            })?;
            let call = opts.apply(opts.client.encrypt_external(len))?;
            let prepared = call.prepare_async().await.map_err(|e| js_error(&e))?;
            let seal = prepared.into_external().map_err(|e| js_error(&e))?;
            let host_takes_key = key_lengths.contains(&(seal.content_key().len() as u32));
            let sealing = external::Sealing::new(seal);
            Ok(if host_takes_key && sealing.reachable() {
                sealing.into()
            } else {
                JsValue::NULL
            })
        }),
    )
}

/// The decrypt result object (`plaintext` set by the caller).
pub(crate) fn decrypted_to_js(context: &EncryptionContext, header: &MessageHeader) -> Object {
    let obj = Object::new();
    set(&obj, "encryptionContext", context_to_js(context));
    set(&obj, "algorithmSuite", header.algorithm_suite.id());
    set(&obj, "header", header_to_js(header));
    obj
}

/// Starts decrypting `ciphertext` with these settings.
fn decrypt_call<'a>(
    client: &'a Client,
    ciphertext: &'a [u8],
    source: &'a Src,
    context: Option<Vec<String>>,
) -> DecryptCall<'a> {
    let mut call = client.decrypt(ciphertext);
    call = match source {
        Src::Keyring(k) => call.keyring(&**k),
        Src::Manager(m) => call.materials_manager(&**m),
    };
    if let Some(c) = context {
        call = call.encryption_context(context_from(c));
    }
    call
}

/// Decrypts `ciphertext`. Resolves to `{ plaintext, encryptionContext,
/// algorithmSuite, header }`.
#[wasm_bindgen]
pub fn decrypt(
    ciphertext: Vec<u8>,
    source: &Source,
    context: Option<Vec<String>>,
    policy: Option<String>,
    max_edks: Option<u16>,
    signal: JsValue,
) -> js_sys::Promise {
    let source = source.inner.clone();
    trace::promise_with(signal, async move {
        let client = client(policy, max_edks)?;
        let mut d = decrypt_call(&client, &ciphertext, &source, context)
            .await
            .map_err(|e| js_error(&e))?;
        let obj = decrypted_to_js(&d.encryption_context, &d.header);
        set(&obj, "plaintext", bytes(&d.plaintext));
        // The Uint8Array holds the copy the caller gets; ours is wiped.
        d.plaintext.zeroize();
        Ok(obj.into())
    })
}

/// Reads and authenticates the header of `ciphertext`, unwraps its data
/// key and checks the whole layout, reading the message where it is: only
/// the header and each frame's head are copied into wasm memory, so a large
/// message does not grow it (wasm memory never shrinks). The verifying key
/// is made in wasm, so it checks the digest JS computes. Resolves to an
/// `Opening` whose frames JS opens (see `external.rs`), or to `null` when
/// this path cannot take the message: the host's AES-GCM does not take the
/// suite's key length (`key_lengths`), or the materials came with a
/// verifying key that cannot check a digest (a caching manager's, filled
/// by the core path). JS then calls `decrypt`.
#[wasm_bindgen(js_name = decryptExternal)]
pub fn decrypt_external(
    ciphertext: Uint8Array,
    key_lengths: Vec<u32>,
    source: &Source,
    context: Option<Vec<String>>,
    policy: Option<String>,
    max_edks: Option<u16>,
    signal: JsValue,
) -> js_sys::Promise {
    let source = source.inner.clone();
    let len = ciphertext.length();
    trace::promise_with(
        signal,
        host::external_keys(None, async move {
            let (message, header, header_len) =
                external::JsMessage::new(ciphertext, len, max_edks).map_err(|e| js_error(&e))?;
            if !key_lengths.contains(&(header.algorithm_suite.data_key_len() as u32)) {
                return Ok(JsValue::NULL);
            }
            let client = client(policy, max_edks)?;
            let header_bytes = message.prefix().get(..header_len).unwrap_or_default();
            let prepared = decrypt_call(&client, header_bytes, &source, context)
                .prepare_async()
                .await
                .map_err(|e| js_error(&e))?;
            if !prepared.can_open_externally() {
                return Ok(JsValue::NULL);
            }
            let open = prepared
                .into_external_from(&message)
                .map_err(|e| js_error(&e))?;
            Ok(external::Opening::new(open).into())
        }),
    )
}

pub(crate) fn header_to_js(h: &MessageHeader) -> JsValue {
    let obj = Object::new();
    set(&obj, "version", h.version);
    set(&obj, "algorithmSuite", h.algorithm_suite.id());
    set(
        &obj,
        "algorithmSuiteName",
        fixed_str(h.algorithm_suite.name()),
    );
    set(&obj, "messageId", bytes(&h.message_id));
    set(
        &obj,
        "encryptionContext",
        context_to_js(&h.encryption_context),
    );
    let edks = Array::new();
    for e in &h.encrypted_data_keys {
        edks.push(&custom::edk_to_js(e));
    }
    set(&obj, "encryptedDataKeys", edks);
    set(
        &obj,
        "contentType",
        fixed_str(match h.content_type {
            kms_envelope::ContentType::NonFramed => "non-framed",
            _ => "framed",
        }),
    );
    set(&obj, "frameLength", h.frame_length);
    set(&obj, "headerLength", h.len() as u32);
    set(&obj, "signed", h.algorithm_suite.is_signing());
    set(&obj, "committing", h.algorithm_suite.is_committing());
    obj.into()
}

/// Parses the header of the message in `ciphertext` without decrypting
/// anything (nothing is authenticated). Only the header is copied into
/// wasm memory (which never shrinks), read in growing pieces as a large
/// decrypt reads it.
#[wasm_bindgen]
pub fn inspect(ciphertext: Uint8Array) -> Result<JsValue, JsValue> {
    let len = ciphertext.length();
    let (_, header, _) =
        external::JsMessage::new(ciphertext, len, None).map_err(|e| js_error(&e))?;
    Ok(header_to_js(&header))
}

/// What decides a stream's path, from the message whose first bytes are
/// `prefix`: `{ algorithmSuite, framed, frameLength, headerLength }` once
/// its header is whole there; `undefined` while more bytes are needed.
/// Fails on bytes no continuation makes a header of.
#[wasm_bindgen(js_name = headerInfo)]
pub fn header_info(prefix: &[u8], max_edks: Option<u16>) -> Result<JsValue, JsValue> {
    let Some((h, len)) = MessageHeader::parse_prefix(prefix, max_edks).map_err(|e| js_error(&e))?
    else {
        return Ok(JsValue::UNDEFINED);
    };
    let obj = Object::new();
    set(&obj, "algorithmSuite", h.algorithm_suite.id());
    set(
        &obj,
        "framed",
        h.content_type == kms_envelope::ContentType::Framed,
    );
    set(&obj, "frameLength", h.frame_length);
    set(&obj, "headerLength", len as u32);
    Ok(obj.into())
}

/// Finds where a stream's header ends while its pieces arrive, reading each
/// byte once (the JS side keeps the pieces and joins them once, for
/// [`header_info`]). Refuses a header declared longer than `maxLength`
/// (default: the streams' frame size limit), or 1 MiB if that is larger.
#[wasm_bindgen(js_name = HeaderScan)]
pub struct JsHeaderScan(HeaderScan);

#[wasm_bindgen(js_class = HeaderScan)]
impl JsHeaderScan {
    /// A scan for a header of at most `max_edks` keys and `max_length` bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(max_edks: Option<u16>, max_length: Option<f64>) -> JsHeaderScan {
        let max = max_length.map_or(kms_envelope::stream::DEFAULT_MAX_FRAME_SIZE, |n| n as u64);
        JsHeaderScan(HeaderScan::for_stream(max_edks, max))
    }

    /// Feeds the next piece: `true` once the header should be parsed from
    /// every byte fed so far.
    pub fn feed(&mut self, piece: &[u8]) -> Result<bool, JsValue> {
        Ok(self.0.feed(piece).map_err(|e| js_error(&e))?.is_some())
    }
}

/// The id of the suite named by `name`: its hex id (`0478`, `0x0478`) or a
/// name in any SDK's spelling (`ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY`).
#[wasm_bindgen(js_name = suiteIdOf)]
pub fn suite_id_of(name: &str) -> Result<u16, JsValue> {
    name.parse::<AlgorithmSuite>()
        .map(|s| s.id())
        .map_err(|e| js_error(&e))
}

/// Whether suite `id` signs its messages (`false` for unknown ids).
#[wasm_bindgen(js_name = suiteSigns)]
pub fn suite_signs(id: u16) -> bool {
    AlgorithmSuite::from_id(id).is_some_and(|s| s.is_signing())
}

/// The AES key length of suite `id` in bytes (0 for unknown ids).
#[wasm_bindgen(js_name = suiteKeyLength)]
pub fn suite_key_length(id: u16) -> u32 {
    AlgorithmSuite::from_id(id).map_or(0, |s| s.data_key_len() as u32)
}

/// The curve suite `id` signs on (`"P-256"` / `"P-384"`), if it signs.
#[wasm_bindgen(js_name = suiteCurve)]
pub fn suite_curve(id: u16) -> Option<String> {
    AlgorithmSuite::from_id(id)?
        .signature_curve_name()
        .map(str::to_owned)
}

/// The core's crypto backend name (diagnostics).
#[wasm_bindgen(js_name = cryptoBackend)]
pub fn crypto_backend() -> String {
    kms_envelope::CRYPTO_BACKEND.to_string()
}
