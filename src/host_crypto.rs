//! Host AES-GCM and SHA-2 (cargo feature `host-crypto`): internal hooks for
//! bindings.
//!
//! A front end whose host has faster primitives than the RustCrypto backend
//! (the wasm build in Node, where `node:crypto` runs AES-GCM about 40 times
//! and SHA-384 about 4 times faster than wasm) installs a [`HostAead`] and a
//! [`HostHash`] on the current thread. Every frame, header tag and raw-AES
//! key wrap of the RustCrypto backend then goes to the host AES-GCM, and
//! every incremental hash (the signature hash over a signed message, above
//! all) to the host SHA-2; everything else (the format, key derivation,
//! commitment, ECDSA itself, policy) stays in the core. Both primitives are
//! deterministic, so the bytes are identical either way; a host that
//! declines a call (returns `None`) falls back to the backend.
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

/// An incremental SHA-2 hash run by the host. `MaybeSendSync`: a native
/// host's hash must be `Send + Sync`, as the core's own is.
pub trait HostDigest: crate::future::MaybeSendSync {
    /// Adds `data` to the hash.
    fn update(&mut self, data: &[u8]);

    /// The digest, or `None` if the host failed (the signature that needed
    /// it then fails: signing errs, verifying rejects).
    fn finish(self: Box<Self>) -> Option<Vec<u8>>;
}

/// Starts SHA-2 hashes on the host.
pub trait HostHash {
    /// A new hash for `name` (`"sha256"`, `"sha384"` or `"sha512"`), or
    /// `None` to let the backend do it.
    fn start(&self, name: &str) -> Option<Box<dyn HostDigest>>;
}

thread_local! {
    static HOOK: RefCell<Option<Rc<dyn HostAead>>> = const { RefCell::new(None) };
    static HASH_HOOK: RefCell<Option<Rc<dyn HostHash>>> = const { RefCell::new(None) };
}

/// Installs (or with `None` removes) the host SHA-2 for the current thread.
pub fn set_host_hash(hook: Option<Rc<dyn HostHash>>) {
    HASH_HOOK.with(|h| *h.borrow_mut() = hook);
}

/// The host SHA-2 of the current thread, if any.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "rustcrypto")),
    allow(dead_code)
)]
pub(crate) fn current_hash() -> Option<Rc<dyn HostHash>> {
    HASH_HOOK.with(|h| h.borrow().clone())
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
