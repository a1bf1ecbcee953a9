//! Host AES-GCM and SHA-2: the core's `host_crypto` hooks backed by JS
//! objects with synchronous methods (pkg/src/node.js passes ones built on
//! `node:crypto`). Browsers keep the wasm code: WebCrypto is async-only, and
//! its digest is one-shot.

use std::rc::Rc;

use js_sys::Uint8Array;
use kms_envelope::host_crypto::{set_host_aead, set_host_hash, HostAead, HostDigest, HostHash};
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

struct Host(JsAead);

impl HostAead for Host {
    fn seal(&self, key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]> {
        // On a host failure the data may be half-written: redo it in wasm
        // from a copy rather than trust it.
        let copy = data.to_vec();
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
