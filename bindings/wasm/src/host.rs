//! Host AES-GCM: the core's `host_crypto` hook backed by a JS object with
//! synchronous `seal` / `open` (pkg/src/node.js passes one built on
//! `node:crypto`). Browsers keep the wasm AES-GCM: WebCrypto is async-only.

use std::rc::Rc;

use js_sys::Uint8Array;
use kms_envelope::host_crypto::{set_host_aead, HostAead};
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

/// Installs `aead` as the AES-GCM of every later call, or removes it (`null`).
#[wasm_bindgen(js_name = setHostAead)]
pub fn set_host(aead: JsValue) {
    if aead.is_null() || aead.is_undefined() {
        set_host_aead(None);
    } else {
        set_host_aead(Some(Rc::new(Host(aead.unchecked_into()))));
    }
}
