//! Keyrings (raw AES, raw RSA, multi) and materials managers.

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use kms_envelope::{
    DefaultMaterialsManager, Keyring, MaterialsManager, MultiKeyring, RawAesKeyring, RawRsaKeyring,
    RequiredEncryptionContextMaterialsManager, RsaPadding, RsaPrivateKey, RsaPublicKey,
};

use crate::args::{
    bytes, free_handle, handle, into_handle, opt_handle, out, slice, string, strings,
};
use crate::status::{guard, kmse_status, Failure, FfiResult};

/// A keyring: generates, wraps and unwraps data keys. Immutable once made:
/// share one across threads freely (a custom keyring's callbacks must then
/// be thread-safe). Free with `kmse_keyring_free`; objects built from it
/// (multi-keyrings, materials managers, streams) keep their own reference.
pub struct kmse_keyring {
    pub(crate) inner: Arc<dyn Keyring>,
}

/// A cryptographic materials manager (CMM): the default one over a keyring,
/// or the required-encryption-context one. Immutable and shareable like a
/// keyring. Free with `kmse_cmm_free`.
pub struct kmse_cmm {
    pub(crate) inner: Arc<dyn MaterialsManager>,
}

/// RSA encryption padding for `kmse_keyring_new_raw_rsa`. OAEP uses MGF1
/// with the same hash and an empty label.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kmse_rsa_padding {
    /// RSAES-PKCS1-v1_5 (legacy; prefer OAEP).
    Pkcs1 = 1,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1.
    OaepSha1 = 2,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    OaepSha256 = 3,
    /// RSAES-OAEP with SHA-384 and MGF1-SHA-384.
    OaepSha384 = 4,
    /// RSAES-OAEP with SHA-512 and MGF1-SHA-512.
    OaepSha512 = 5,
}

fn padding(value: c_int) -> FfiResult<RsaPadding> {
    Ok(match value {
        x if x == kmse_rsa_padding::Pkcs1 as c_int => RsaPadding::Pkcs1V15,
        x if x == kmse_rsa_padding::OaepSha1 as c_int => RsaPadding::OaepSha1,
        x if x == kmse_rsa_padding::OaepSha256 as c_int => RsaPadding::OaepSha256,
        x if x == kmse_rsa_padding::OaepSha384 as c_int => RsaPadding::OaepSha384,
        x if x == kmse_rsa_padding::OaepSha512 as c_int => RsaPadding::OaepSha512,
        other => {
            return Err(Failure::bad_arg(format!(
                "{other} is not a kmse_rsa_padding value"
            )))
        }
    })
}

/// Whether key bytes are PEM text (else DER).
fn is_pem(key: &[u8]) -> bool {
    key.iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| key[start..].starts_with(b"-----BEGIN"))
}

fn pem_text<'a>(key: &'a [u8], what: &str) -> FfiResult<&'a str> {
    std::str::from_utf8(key).map_err(|_| Failure::bad_arg(format!("{what}: PEM is not UTF-8")))
}

/// Makes a raw AES keyring: wraps data keys with AES-GCM under a 16-, 24- or
/// 32-byte key held in memory, in the layout of the ESDK raw AES keyring.
/// The encryption context is part of the wrapping, so a message unwraps only
/// with the context it was written with.
///
/// - `key_namespace`, `key_name`: NUL-terminated UTF-8, copied. Written into
///   each message (provider id and key name); decrypting needs the same
///   pair. Namespaces starting with `aws-kms` are reserved.
/// - `key`, `key_len`: the wrapping key, copied (the copy is wiped when the
///   keyring is freed). Another length gives `KMSE_STATUS_BAD_ARGUMENT`.
/// - `keyring_out`: receives a new keyring owned by the caller; free it with
///   `kmse_keyring_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_raw_aes(
    key_namespace: *const c_char,
    key_name: *const c_char,
    key: *const u8,
    key_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_raw_aes", || {
        // SAFETY: the caller's contract, as documented above.
        unsafe { new_raw_aes(key_namespace, key_name, key, key_len, keyring_out, false) }
    })
}

/// Makes a raw AES keyring as `kmse_keyring_new_raw_aes` does, which also
/// reads data keys that the JavaScript ESDK's raw AES keyrings
/// (`@aws-crypto/client-node`, `client-browser`) wrapped without
/// `utf8Sorting: true`. Those sort the encryption context's keys with
/// JavaScript's `localeCompare` instead of by UTF-8 bytes, so a key starting
/// with a capital letter or holding an underscore (beside the
/// `aws-crypto-public-key` of signed suites), or a non-ASCII letter, made
/// their messages fail with `KMSE_STATUS_NO_KEY_UNWRAPPED`. On decrypt, when the specification's order
/// fails, this keyring tries `localeCompare`'s order (the Unicode root
/// collation, which Node uses for the `en` locales, `C` and no locale). It
/// writes the specification's order, like any keyring. Arguments as for
/// `kmse_keyring_new_raw_aes`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_raw_aes_js_legacy_order(
    key_namespace: *const c_char,
    key_name: *const c_char,
    key: *const u8,
    key_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_raw_aes_js_legacy_order", || {
        // SAFETY: the caller's contract, as documented above.
        unsafe { new_raw_aes(key_namespace, key_name, key, key_len, keyring_out, true) }
    })
}

/// The two raw AES constructors.
///
/// # Safety
/// As documented on `kmse_keyring_new_raw_aes`: strings, byte range and
/// out-pointer valid or NULL.
unsafe fn new_raw_aes(
    key_namespace: *const c_char,
    key_name: *const c_char,
    key: *const u8,
    key_len: usize,
    keyring_out: *mut *mut kmse_keyring,
    js_legacy_order: bool,
) -> FfiResult<()> {
    // SAFETY: strings, byte range and out-pointer follow the API contract
    // (valid or NULL).
    let (namespace, name, key, keyring_out) = unsafe {
        (
            string(key_namespace, "key_namespace")?,
            string(key_name, "key_name")?,
            bytes(key, key_len, "key")?,
            out(keyring_out, "keyring_out")?,
        )
    };
    let mut keyring = RawAesKeyring::new(namespace, name, key)?;
    if js_legacy_order {
        keyring = keyring.with_js_legacy_order()?;
    }
    keyring_out.write(into_handle(kmse_keyring {
        inner: Arc::new(keyring),
    }));
    Ok(())
}

/// Makes a raw RSA keyring, in the layout of the ESDK raw RSA keyring.
/// Encrypting needs the public key, decrypting the private key; give either
/// or both.
///
/// - `key_namespace`, `key_name`: as for `kmse_keyring_new_raw_aes`.
/// - `padding`: a `kmse_rsa_padding` value (an `int`, so that any value is
///   safe to pass; others give `KMSE_STATUS_BAD_ARGUMENT`).
/// - `public_key`, `public_key_len`: PEM (`PUBLIC KEY` or `RSA PUBLIC
///   KEY`) or DER (SubjectPublicKeyInfo or PKCS#1) bytes, copied; NULL and 0 for none.
/// - `private_key`, `private_key_len`: PEM (`PRIVATE KEY` or `RSA PRIVATE
///   KEY`, unencrypted) or DER (PKCS#8 or PKCS#1) bytes, copied; NULL and 0 for none.
///   PEM is recognised by its `-----BEGIN` line.
/// - `keyring_out`: receives a new keyring owned by the caller; free it with
///   `kmse_keyring_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_raw_rsa(
    key_namespace: *const c_char,
    key_name: *const c_char,
    padding: c_int,
    public_key: *const u8,
    public_key_len: usize,
    private_key: *const u8,
    private_key_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_raw_rsa", || {
        // SAFETY: strings, byte ranges and out-pointer follow the API
        // contract (valid or NULL).
        let (namespace, name, public, private, keyring_out) = unsafe {
            (
                string(key_namespace, "key_namespace")?,
                string(key_name, "key_name")?,
                bytes(public_key, public_key_len, "public_key")?,
                bytes(private_key, private_key_len, "private_key")?,
                out(keyring_out, "keyring_out")?,
            )
        };
        let padding = self::padding(padding)?;
        let public = match public {
            [] => None,
            k if is_pem(k) => Some(RsaPublicKey::from_pem(pem_text(k, "public_key")?)?),
            k => Some(RsaPublicKey::from_der(k)?),
        };
        let private = match private {
            [] => None,
            k if is_pem(k) => Some(RsaPrivateKey::from_pem(pem_text(k, "private_key")?)?),
            k => Some(RsaPrivateKey::from_der(k)?),
        };
        let keyring = RawRsaKeyring::new(namespace, name, padding, public, private)?;
        keyring_out.write(into_handle(kmse_keyring {
            inner: Arc::new(keyring),
        }));
        Ok(())
    })
}

/// Makes a multi-keyring. On encrypt the generator makes the data key and
/// every child wraps it too, so any of them can decrypt the message. On
/// decrypt the generator, then each child, is tried until one unwraps a
/// data key.
///
/// - `generator`: borrowed; may be NULL (then the multi-keyring can only be
///   a child of another one, or decrypt).
/// - `children`, `children_len`: an array of keyring pointers, each
///   non-NULL, borrowed; may be NULL when `children_len` is 0. A generator,
///   at least one child, or both are needed.
/// - Multi-keyrings nest at most 64 keyrings deep, counting the keyrings at
///   the bottom; deeper gives `KMSE_STATUS_BAD_ARGUMENT`.
/// - `keyring_out`: receives a new keyring owned by the caller; free it with
///   `kmse_keyring_free`. It keeps its own references to the generator and
///   the children, so they may be freed right away.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_multi(
    generator: *const kmse_keyring,
    children: *const *const kmse_keyring,
    children_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_multi", || {
        // SAFETY: NULL or live handles, an array of children_len pointers or
        // NULL, a valid out-pointer or NULL (API contract).
        let (generator, keyring_out) =
            unsafe { (opt_handle(generator), out(keyring_out, "keyring_out")?) };
        // SAFETY: an array of children_len pointers, or NULL (API contract).
        let child_ptrs = unsafe { slice(children, children_len, "children")? };
        let mut kids = Vec::with_capacity(child_ptrs.len());
        for (i, &child) in child_ptrs.iter().enumerate() {
            // SAFETY: each element is a live keyring or NULL (API contract).
            let child = unsafe { handle(child, &format!("children[{i}]"))? };
            kids.push(child.inner.clone());
        }
        let keyring = MultiKeyring::new(generator.map(|g| g.inner.clone()), kids)?;
        keyring_out.write(into_handle(kmse_keyring {
            inner: Arc::new(keyring),
        }));
        Ok(())
    })
}

/// Releases the caller's reference to a keyring. NULL is ignored. Objects
/// that use the keyring (multi-keyrings, CMMs, streams) keep working; a
/// custom keyring's `free_user_data` runs when the last of them is gone.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_free(keyring: *mut kmse_keyring) {
    // SAFETY: the C caller passes NULL or a keyring from this library, once.
    unsafe { free_handle(keyring) }
}

/// Makes the default materials manager over a keyring (what the functions
/// taking a keyring use): it picks the suite, makes the signing key of
/// signed suites and asks the keyring for the data key.
///
/// - `keyring`: borrowed; the CMM keeps its own reference.
/// - `cmm_out`: receives a new CMM owned by the caller; free it with
///   `kmse_cmm_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_cmm_new_default(
    keyring: *const kmse_keyring,
    cmm_out: *mut *mut kmse_cmm,
) -> kmse_status {
    guard("kmse_cmm_new_default", || {
        // SAFETY: a live keyring or NULL, a valid out-pointer or NULL (API contract).
        let (keyring, cmm_out) = unsafe { (handle(keyring, "keyring")?, out(cmm_out, "cmm_out")?) };
        cmm_out.write(into_handle(kmse_cmm {
            inner: Arc::new(DefaultMaterialsManager::new(keyring.inner.clone())),
        }));
        Ok(())
    })
}

/// Makes a required-encryption-context materials manager around another
/// one. On encrypt the required keys must be in the encryption context; their
/// pairs are authenticated but NOT stored in the message. On decrypt the
/// caller must give them again in the expected context.
///
/// - `underlying`: borrowed; the new CMM keeps its own reference.
/// - `required_keys`, `required_keys_len`: an array of NUL-terminated UTF-8
///   strings, copied; at least one.
/// - `cmm_out`: receives a new CMM owned by the caller; free it with
///   `kmse_cmm_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_cmm_new_required_encryption_context(
    underlying: *const kmse_cmm,
    required_keys: *const *const c_char,
    required_keys_len: usize,
    cmm_out: *mut *mut kmse_cmm,
) -> kmse_status {
    guard("kmse_cmm_new_required_encryption_context", || {
        // SAFETY: a live CMM or NULL, a valid out-pointer or NULL (API contract).
        let (underlying, cmm_out) =
            unsafe { (handle(underlying, "underlying")?, out(cmm_out, "cmm_out")?) };
        // SAFETY: an array of required_keys_len strings, or NULL (API contract).
        let keys = unsafe { strings(required_keys, required_keys_len, "required_keys")? };
        let cmm = RequiredEncryptionContextMaterialsManager::new(underlying.inner.clone(), keys)?;
        cmm_out.write(into_handle(kmse_cmm {
            inner: Arc::new(cmm),
        }));
        Ok(())
    })
}

/// Releases the caller's reference to a CMM. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn kmse_cmm_free(cmm: *mut kmse_cmm) {
    // SAFETY: the C caller passes NULL or a CMM from this library, once.
    unsafe { free_handle(cmm) }
}
