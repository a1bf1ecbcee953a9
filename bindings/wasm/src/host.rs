//! Host AES-GCM, SHA-2 and ECDSA: the core's `host_crypto` hooks backed by
//! JS objects with synchronous methods (pkg/src/node.js passes ones built on
//! `node:crypto`). Browsers keep the wasm code: WebCrypto is async-only, and
//! its digest and signatures are one-shot.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use js_sys::Uint8Array;
use kms_envelope::host_crypto::{
    set_host_aead, set_host_ecdsa, set_host_hash, HostAead, HostDigest, HostEcdsa, HostHash,
    HostSigningKey, HostVerifier, HostVerifyingKey,
};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `{ seal(key, iv, aad, data) -> tag, open(key, iv, aad, data, tag) -> boolean }`;
    /// both work on `data` in place.
    pub type JsAead;

    #[wasm_bindgen(method, catch)]
    fn seal(
        this: &JsAead,
        key: &[u8],
        iv: &[u8],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<Uint8Array, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn open(
        this: &JsAead,
        key: &[u8],
        iv: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<bool, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// `{ start(name) -> { update(data), finish() -> Uint8Array } }`, `name`
    /// being `"sha256"`, `"sha384"` or `"sha512"`.
    pub type JsHash;

    #[wasm_bindgen(method, catch)]
    fn start(this: &JsHash, name: &str) -> Result<JsDigest, JsValue>;

    /// One running hash, as `JsHash::start` returns it.
    pub type JsDigest;

    #[wasm_bindgen(method, catch)]
    fn update(this: &JsDigest, data: &[u8]) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    fn finish(this: &JsDigest) -> Result<Uint8Array, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// `{ generate(curve) -> SigningKey, verifyingKey(curve, point) -> VerifyingKey }`,
    /// `curve` being `"P-256"` or `"P-384"` and `point` a SEC 1 compressed
    /// point; either may return `null` to leave the work to wasm.
    pub type JsEcdsa;

    #[wasm_bindgen(method, catch)]
    fn generate(this: &JsEcdsa, curve: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = verifyingKey)]
    fn verifying_key(this: &JsEcdsa, curve: &str, point: &[u8]) -> Result<JsValue, JsValue>;

    /// `{ publicKey: Uint8Array (compressed point), curve?, start() -> { update(data), finish() -> DER } }`;
    /// keys JS makes for one call on the external path (`curve` set) may
    /// instead sign whole messages only (`sign(bytes)`, called from JS).
    #[derive(Clone)]
    pub type JsSigningKey;

    #[wasm_bindgen(method, getter = publicKey)]
    fn public_key(this: &JsSigningKey) -> JsValue;

    #[wasm_bindgen(method, getter)]
    fn curve(this: &JsSigningKey) -> Option<String>;

    #[wasm_bindgen(method, catch, js_name = start)]
    fn start_signing(this: &JsSigningKey) -> Result<JsDigest, JsValue>;

    /// `{ start() -> { update(data), verify(der) -> boolean } }`.
    pub type JsVerifyingKey;

    #[wasm_bindgen(method, catch, js_name = start)]
    fn start_verifying(this: &JsVerifyingKey) -> Result<JsVerification, JsValue>;

    /// One signature check, as `JsVerifyingKey::start` returns it.
    pub type JsVerification;

    #[wasm_bindgen(method, catch)]
    fn update(this: &JsVerification, data: &[u8]) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    fn verify(this: &JsVerification, der: &[u8]) -> Result<bool, JsValue>;
}

struct Host(JsAead);

impl HostAead for Host {
    fn seal(&self, key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]> {
        // On a host failure the data may be half-written: redo it in wasm
        // from a copy rather than trust it.
        let copy = zeroize::Zeroizing::new(data.to_vec());
        match self.0.seal(key, iv, aad, data) {
            Ok(tag) if tag.length() == 16 => {
                let mut out = [0u8; 16];
                tag.copy_to(&mut out);
                Some(out)
            }
            _ => {
                data.copy_from_slice(&copy);
                None
            }
        }
    }

    fn open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool> {
        self.0.open(key, iv, aad, data, tag).ok()
    }
}

struct HostSha(JsHash);

impl HostHash for HostSha {
    fn start(&self, name: &str) -> Option<Box<dyn HostDigest>> {
        let digest = self.0.start(name).ok()?;
        Some(Box::new(Running {
            digest,
            failed: false,
        }))
    }
}

/// A host hash; once an update throws, its digest is refused (the hash
/// would be of other bytes).
struct Running {
    digest: JsDigest,
    failed: bool,
}

impl HostDigest for Running {
    fn update(&mut self, data: &[u8]) {
        if !self.failed && self.digest.update(data).is_err() {
            self.failed = true;
        }
    }

    fn finish(self: Box<Self>) -> Option<Vec<u8>> {
        if self.failed {
            return None;
        }
        self.digest.finish().ok().map(|d| d.to_vec())
    }
}

thread_local! {
    /// Set while a call that needs keys able to sign or check a digest is
    /// polled (see [`external_keys`]).
    static WASM_KEYS: Cell<bool> = const { Cell::new(false) };
    /// A signing key JS made for the call being polled, until the core
    /// asks for one (see [`external_keys`]).
    static PENDING: RefCell<Option<JsSigningKey>> = const { RefCell::new(None) };
    /// The JS object behind each live host signing key, by public key, so
    /// a key the core holds (cached materials included) can be handed back
    /// to JS to sign a whole message.
    static SIGNERS: RefCell<HashMap<Vec<u8>, JsSigningKey>> = RefCell::new(HashMap::new());
}

/// A future polled with the keys its call needs (see [`external_keys`]).
pub(crate) struct ExternalKeys<F> {
    fut: Pin<Box<F>>,
    pending: Option<JsSigningKey>,
}

impl<F: Future> Future for ExternalKeys<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let outer_flag = WASM_KEYS.replace(true);
        let outer_key = PENDING.replace(this.pending.take());
        let result = this.fut.as_mut().poll(cx);
        // A key the core did not take waits for the next poll.
        this.pending = PENDING.replace(outer_key);
        WASM_KEYS.set(outer_flag);
        result
    }
}

/// Runs `fut`, a call on the external path, whose signatures are made or
/// checked outside the core's streaming hash: a signing key comes from
/// `pending` (one JS made for this call, which signs the whole message) or
/// else is made in wasm (it signs the digest JS computes), never by the
/// installed host ECDSA (`node:crypto` keys sign only what they hash
/// themselves); verifying keys are made in wasm. Calls interleave on the
/// one JS thread, so this is set around each poll.
pub(crate) fn external_keys<F: Future>(pending: Option<JsSigningKey>, fut: F) -> ExternalKeys<F> {
    ExternalKeys {
        fut: Box::pin(fut),
        pending,
    }
}

/// The JS object of the live host signing key with this public key, if it
/// signs whole messages (`sign(bytes)`; `node:crypto` keys do not).
pub(crate) fn js_signer(public_key: &[u8]) -> Option<JsSigningKey> {
    SIGNERS
        .with(|s| s.borrow().get(public_key).cloned())
        .filter(|k| js_sys::Reflect::get(k, &"sign".into()).is_ok_and(|f| f.is_function()))
}

/// A host signing key from a JS key object, registered while it lives.
fn signing_key(key: JsSigningKey) -> Option<Box<dyn HostSigningKey>> {
    // The public key is read once: it goes into the header, and the
    // signatures must be checked against exactly that point.
    let public = key.public_key().dyn_into::<Uint8Array>().ok()?.to_vec();
    SIGNERS.with(|s| s.borrow_mut().insert(public.clone(), key.clone()));
    Some(Box::new(SigningKey { key, public }))
}

struct HostEc(JsEcdsa);

impl HostEcdsa for HostEc {
    fn generate(&self, curve: &str) -> Option<Box<dyn HostSigningKey>> {
        if let Some(key) = PENDING.with(|p| p.borrow_mut().take()) {
            // JS made it for the suite it asked for; on another curve (a
            // materials manager that chose otherwise) wasm makes one.
            if key.curve().as_deref() == Some(curve) {
                return signing_key(key);
            }
            return None;
        }
        if WASM_KEYS.get() {
            return None;
        }
        let key = self.0.generate(curve).ok()?;
        if key.is_null() || key.is_undefined() {
            return None;
        }
        signing_key(key.unchecked_into())
    }

    fn verifying_key(&self, curve: &str, point: &[u8]) -> Option<Box<dyn HostVerifyingKey>> {
        if WASM_KEYS.get() {
            return None;
        }
        let key = self.0.verifying_key(curve, point).ok()?;
        if key.is_null() || key.is_undefined() {
            return None;
        }
        Some(Box::new(VerifyingKey(key.unchecked_into())))
    }
}

struct SigningKey {
    key: JsSigningKey,
    public: Vec<u8>,
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        let _ = SIGNERS.try_with(|s| s.borrow_mut().remove(&self.public));
    }
}

impl HostSigningKey for SigningKey {
    fn public_key_compressed(&self) -> Vec<u8> {
        self.public.clone()
    }

    fn start(&self) -> Box<dyn HostDigest> {
        // A signer that failed to start gives no signature (fail closed).
        match self.key.start_signing() {
            Ok(digest) => Box::new(Running {
                digest,
                failed: false,
            }),
            Err(_) => Box::new(Failed),
        }
    }
}

/// A host operation that could not start.
struct Failed;

impl HostDigest for Failed {
    fn update(&mut self, _data: &[u8]) {}

    fn finish(self: Box<Self>) -> Option<Vec<u8>> {
        None
    }
}

impl HostVerifier for Failed {
    fn update(&mut self, _data: &[u8]) {}

    fn verify(self: Box<Self>, _der: &[u8]) -> bool {
        false
    }
}

struct VerifyingKey(JsVerifyingKey);

impl HostVerifyingKey for VerifyingKey {
    fn start(&self) -> Box<dyn HostVerifier> {
        match self.0.start_verifying() {
            Ok(check) => Box::new(Verification {
                check,
                failed: false,
            }),
            Err(_) => Box::new(Failed),
        }
    }
}

/// A host signature check; once an update throws, it fails.
struct Verification {
    check: JsVerification,
    failed: bool,
}

impl HostVerifier for Verification {
    fn update(&mut self, data: &[u8]) {
        if !self.failed && self.check.update(data).is_err() {
            self.failed = true;
        }
    }

    fn verify(self: Box<Self>, der: &[u8]) -> bool {
        !self.failed && matches!(self.check.verify(der), Ok(true))
    }
}

/// Installs `ecdsa` as the ECDSA of every later call, or removes it (`null`).
#[wasm_bindgen(js_name = setHostEcdsa)]
pub fn set_ecdsa(ecdsa: JsValue) {
    if ecdsa.is_null() || ecdsa.is_undefined() {
        set_host_ecdsa(None);
    } else {
        set_host_ecdsa(Some(Rc::new(HostEc(ecdsa.unchecked_into()))));
    }
}

/// Installs `hash` as the SHA-2 of every later call, or removes it (`null`).
#[wasm_bindgen(js_name = setHostHash)]
pub fn set_hash(hash: JsValue) {
    if hash.is_null() || hash.is_undefined() {
        set_host_hash(None);
    } else {
        set_host_hash(Some(Rc::new(HostSha(hash.unchecked_into()))));
    }
}

/// Installs `aead` as the AES-GCM of every later call, or removes it (`null`).
#[wasm_bindgen(js_name = setHostAead)]
pub fn set_host(aead: JsValue) {
    if aead.is_null() || aead.is_undefined() {
        set_host_aead(None);
    } else {
        set_host_aead(Some(Rc::new(Host(aead.unchecked_into()))));
    }
}
