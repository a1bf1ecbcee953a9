//! Host AES-GCM (cargo feature `host-crypto`): internal hook for bindings.
//!
//! A front end whose host has a faster AES-GCM than the RustCrypto backend
//! (the wasm build in Node, where `node:crypto` is about 40 times faster than
//! software AES in wasm) installs a [`HostAead`] on the current thread. Every
//! frame, header tag and raw-AES key wrap of the RustCrypto backend then goes
//! to the host; everything else (the format, key derivation, commitment,
//! signatures, policy) stays in the core. AES-GCM is deterministic, so the
//! bytes are identical either way; a host that declines a call (returns
//! `None`) falls back to the backend.
//!
//! Not part of the stable API: bindings only. Has no effect with the AWS-LC
//! backend (native builds without the `rustcrypto` feature).

use std::cell::RefCell;
use std::rc::Rc;

/// An AES-GCM implementation supplied by the host (16-byte tags, 12-byte IVs).
pub trait HostAead {
    /// Encrypts `data` in place under `key` (16, 24 or 32 bytes) and returns
    /// the tag, or `None` to let the backend do it.
    fn seal(&self, key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]>;

    /// Decrypts `data` in place: `Some(true)` if the tag verified,
    /// `Some(false)` if not (then `data` is garbage), `None` to let the
    /// backend do it (then `data` must be unchanged).
    fn open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool>;
}

thread_local! {
    static HOOK: RefCell<Option<Rc<dyn HostAead>>> = const { RefCell::new(None) };
}

/// Installs (or with `None` removes) the host AES-GCM for the current thread.
pub fn set_host_aead(hook: Option<Rc<dyn HostAead>>) {
    HOOK.with(|h| *h.borrow_mut() = hook);
}

/// The host AES-GCM of the current thread, if any.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "rustcrypto")),
    allow(dead_code)
)]
pub(crate) fn current() -> Option<Rc<dyn HostAead>> {
    HOOK.with(|h| h.borrow().clone())
}
