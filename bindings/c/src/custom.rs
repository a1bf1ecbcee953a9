//! Custom keyrings: a keyring made of C callbacks, so a C program can wrap
//! data keys with any KMS or HSM it has.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use kms_envelope::future::{ready, BoxFuture};
use kms_envelope::{
    DataKey, DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, Error, Keyring, Result,
};

use crate::args::{bytes, handle, handle_mut, into_handle, opt_string, out, string};
use crate::context::kmse_encryption_context;
use crate::header::kmse_encrypted_data_keys;
use crate::keyring::kmse_keyring;
use crate::status::{guard, kmse_status, Failure};

/// The encryption materials a custom keyring's `on_encrypt` callback works
/// on. Valid only during the callback: never keep the pointer.
pub struct kmse_encryption_materials {
    materials: EncryptionMaterials,
    context: kmse_encryption_context,
    /// The pairs of `context` the message will not store.
    required: kmse_encryption_context,
    error: Option<CallbackError>,
}

/// The decryption materials a custom keyring's `on_decrypt` callback works
/// on. Valid only during the callback: never keep the pointer.
pub struct kmse_decryption_materials {
    materials: DecryptionMaterials,
    context: kmse_encryption_context,
    /// The pairs of `context` the caller supplied that the message does
    /// not store.
    required: kmse_encryption_context,
    error: Option<CallbackError>,
}

/// What a callback reported with `kmse_*_materials_set_error`.
struct CallbackError {
    kms_code: Option<String>,
    message: String,
}

/// A custom keyring's encrypt callback. Called with the `user_data` given
/// to `kmse_keyring_new_custom` and the materials of one message.
///
/// Contract: if the materials hold no data key
/// (`kmse_encryption_materials_data_key` gives NULL), set one of the suite's
/// length (`kmse_encryption_materials_set_data_key`, e.g. from a KMS
/// GenerateDataKey call, or `kmse_encryption_materials_generate_data_key`);
/// then wrap the data key and add at least one encrypted data key with
/// `kmse_encryption_materials_add_encrypted_data_key`. Return
/// `KMSE_STATUS_OK` (0). To fail, return another `kmse_status` value
/// (`KMSE_STATUS_KMS_ERROR` for a service failure) after
/// `kmse_encryption_materials_set_error`; the caller of the library gets
/// that status and message.
///
/// Callbacks return; they must not throw a C++ exception or `longjmp` out
/// (the library cannot unwind through them, and aborts the process if an
/// exception reaches it).
pub type kmse_on_encrypt_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        materials: *mut kmse_encryption_materials,
    ) -> c_int,
>;

/// A custom keyring's decrypt callback. Called with the `user_data` given
/// to `kmse_keyring_new_custom`, the materials of one message and its
/// encrypted data keys (a borrowed view, valid during the call).
///
/// Contract: try the encrypted data keys this keyring recognises (by
/// provider id and info), in order; set the first one it unwraps with
/// `kmse_decryption_materials_set_data_key` and return `KMSE_STATUS_OK`.
/// If it unwraps none, return `KMSE_STATUS_NO_KEY_UNWRAPPED` (or OK without
/// setting a key), with a message through
/// `kmse_decryption_materials_set_error` saying why. Other failures:
/// another `kmse_status` value, as for `kmse_on_encrypt_fn`. Never throw
/// or `longjmp` out (see `kmse_on_encrypt_fn`).
pub type kmse_on_decrypt_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        materials: *mut kmse_decryption_materials,
        encrypted_data_keys: *const kmse_encrypted_data_keys,
    ) -> c_int,
>;

/// Frees a custom keyring's `user_data` once the keyring is gone.
pub type kmse_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

struct CustomKeyring {
    on_encrypt: unsafe extern "C" fn(*mut c_void, *mut kmse_encryption_materials) -> c_int,
    on_decrypt: unsafe extern "C" fn(
        *mut c_void,
        *mut kmse_decryption_materials,
        *const kmse_encrypted_data_keys,
    ) -> c_int,
    user_data: *mut c_void,
    free_user_data: kmse_free_fn,
}

// SAFETY: `kmse_keyring_new_custom` documents that the callbacks and
// `user_data` may be called from any thread, at the same time from several
// threads when the keyring is shared; the C caller guarantees that (or does
// not share the keyring).
unsafe impl Send for CustomKeyring {}
// SAFETY: as for Send; the Rust side holds no state besides the pointers.
unsafe impl Sync for CustomKeyring {}

impl Drop for CustomKeyring {
    fn drop(&mut self) {
        if let Some(free) = self.free_user_data {
            // SAFETY: the C caller gave this function to free user_data once
            // the keyring is gone; this is the keyring's last reference.
            unsafe { free(self.user_data) }
        }
    }
}

/// Turns a callback's failure into a core error of a fitting kind.
fn callback_error(which: &str, status: c_int, reported: Option<CallbackError>) -> Error {
    let (kms_code, message) = match reported {
        Some(e) => (e.kms_code, e.message),
        None => (
            None,
            format!("the custom keyring's {which} callback failed with status {status}"),
        ),
    };
    match kmse_status::from_c_int(status) {
        Some(kmse_status::NoKeyUnwrapped) => Error::NoKeyUnwrapped(vec![message]),
        Some(kmse_status::BadArgument) => Error::BadArgument(message),
        Some(kmse_status::PolicyViolation) => Error::PolicyViolation(message),
        Some(kmse_status::MalformedMessage) => Error::MalformedMessage(message),
        Some(kmse_status::IoError) => Error::Io(std::io::Error::other(message)),
        // KMSE_STATUS_KMS_ERROR, and anything else a callback has no
        // business returning (an authentication failure is about messages,
        // not keyrings): a key service failure.
        _ => Error::Kms {
            code: kms_code.unwrap_or_else(|| "CustomKeyringError".to_owned()),
            message,
        },
    }
}

/// The pairs of `context` under `keys`.
fn required_pairs(
    context: &kms_envelope::EncryptionContext,
    keys: &std::collections::BTreeSet<String>,
) -> kms_envelope::EncryptionContext {
    context.iter().filter(|(k, _)| keys.contains(*k)).collect()
}

impl CustomKeyring {
    fn encrypt(&self, materials: EncryptionMaterials) -> Result<EncryptionMaterials> {
        let edks_before = materials.encrypted_data_keys().len();
        let mut handle = kmse_encryption_materials {
            context: kmse_encryption_context::new(materials.encryption_context().clone()),
            required: kmse_encryption_context::new(required_pairs(
                materials.encryption_context(),
                materials.required_encryption_context_keys(),
            )),
            materials,
            error: None,
        };
        // SAFETY: a valid function pointer from the C caller; the handle is
        // live and exclusively the callback's for the call.
        let status = unsafe { (self.on_encrypt)(self.user_data, &mut handle) };
        let kmse_encryption_materials {
            materials, error, ..
        } = handle;
        if status != 0 {
            return Err(callback_error("on_encrypt", status, error));
        }
        if materials.plaintext_data_key().is_none() {
            return Err(Error::BadArgument(
                "the custom keyring's on_encrypt callback set no data key".into(),
            ));
        }
        if materials.encrypted_data_keys().len() == edks_before {
            return Err(Error::BadArgument(
                "the custom keyring's on_encrypt callback added no encrypted data key".into(),
            ));
        }
        Ok(materials)
    }

    fn decrypt(
        &self,
        materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials> {
        if materials.plaintext_data_key().is_some() {
            return Err(Error::BadArgument(
                "decryption materials already hold a data key".into(),
            ));
        }
        let list = kmse_encrypted_data_keys::new(edks.to_vec());
        let mut handle = kmse_decryption_materials {
            context: kmse_encryption_context::new(materials.encryption_context().clone()),
            required: kmse_encryption_context::new(required_pairs(
                materials.encryption_context(),
                materials.required_encryption_context_keys(),
            )),
            materials,
            error: None,
        };
        // SAFETY: a valid function pointer from the C caller; the handle and
        // the list are live for the call, the handle exclusively the
        // callback's.
        let status = unsafe { (self.on_decrypt)(self.user_data, &mut handle, &list) };
        let kmse_decryption_materials {
            materials, error, ..
        } = handle;
        if status != 0 {
            return Err(callback_error("on_decrypt", status, error));
        }
        Ok(materials)
    }
}

impl Keyring for CustomKeyring {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        ready(self.encrypt(materials))
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        ready(self.decrypt(materials, encrypted_data_keys))
    }
}

/// Makes a keyring whose work is done by C callbacks, so a C program can
/// use any KMS or HSM it has. The callbacks run synchronously, on the thread
/// that called encrypt or decrypt (see `kmse_on_encrypt_fn` and
/// `kmse_on_decrypt_fn` for their contract).
///
/// - `on_encrypt`, `on_decrypt`: required.
/// - `user_data`: passed to every callback; may be NULL. Not touched by the
///   library otherwise. If the keyring is used from several threads, the
///   callbacks run concurrently and must be thread-safe with it.
/// - `free_user_data`: may be NULL. Called once with `user_data` when the
///   keyring's last reference is released (the caller's handle and every
///   multi-keyring, CMM and stream using it), on the thread that releases
///   it. Not called if this function fails: `user_data` then stays the
///   caller's.
/// - `keyring_out`: receives a new keyring owned by the caller; free it with
///   `kmse_keyring_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_custom(
    on_encrypt: kmse_on_encrypt_fn,
    on_decrypt: kmse_on_decrypt_fn,
    user_data: *mut c_void,
    free_user_data: kmse_free_fn,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_custom", || {
        let on_encrypt = on_encrypt.ok_or_else(|| Failure::null("on_encrypt"))?;
        let on_decrypt = on_decrypt.ok_or_else(|| Failure::null("on_decrypt"))?;
        // SAFETY: a valid out-pointer or NULL (API contract).
        let keyring_out = unsafe { out(keyring_out, "keyring_out")? };
        let keyring = CustomKeyring {
            on_encrypt,
            on_decrypt,
            user_data,
            free_user_data,
        };
        keyring_out.write(into_handle(kmse_keyring {
            inner: Arc::new(keyring),
        }));
        Ok(())
    })
}

fn record_error(slot: &mut Option<CallbackError>, kms_code: Option<&str>, message: &str) {
    *slot = Some(CallbackError {
        // "" is no code, as NULL is: never an empty code on a KMS error.
        kms_code: kms_code.filter(|c| !c.is_empty()).map(str::to_owned),
        message: message.to_owned(),
    });
}

/// The algorithm suite id of the message being encrypted (0x0578, ...).
///
/// - `materials`: borrowed. `suite_id_out`: receives the id.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_algorithm_suite(
    materials: *const kmse_encryption_materials,
    suite_id_out: *mut u16,
) -> kmse_status {
    guard("kmse_encryption_materials_algorithm_suite", || {
        // SAFETY: live materials or NULL, a valid out-pointer or NULL (API contract).
        let (m, o) = unsafe {
            (
                handle(materials, "materials")?,
                out(suite_id_out, "suite_id_out")?,
            )
        };
        o.write(m.materials.algorithm_suite().id());
        Ok(())
    })
}

/// The full encryption context of the message (with `aws-crypto-public-key`
/// on signed suites). Wrapping with it as associated data binds the data key
/// to the context.
///
/// - `materials`: borrowed.
/// - `context_out`: receives a borrowed view, valid during the callback.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_encryption_context(
    materials: *const kmse_encryption_materials,
    context_out: *mut *const kmse_encryption_context,
) -> kmse_status {
    guard("kmse_encryption_materials_encryption_context", || {
        // SAFETY: live materials or NULL, a valid out-pointer or NULL (API contract).
        let (m, o) = unsafe {
            (
                handle(materials, "materials")?,
                out(context_out, "context_out")?,
            )
        };
        o.write(&m.context);
        Ok(())
    })
}

/// The pairs of the encryption context that the message will not store:
/// a required-encryption-context CMM requires them, so they are
/// authenticated and the decrypting caller must supply them. Empty for
/// most messages.
///
/// - `materials`: borrowed.
/// - `context_out`: receives a borrowed view, valid during the callback.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_required_context(
    materials: *const kmse_encryption_materials,
    context_out: *mut *const kmse_encryption_context,
) -> kmse_status {
    guard("kmse_encryption_materials_required_context", || {
        // SAFETY: live materials or NULL, a valid out-pointer or NULL (API contract).
        let (m, o) = unsafe {
            (
                handle(materials, "materials")?,
                out(context_out, "context_out")?,
            )
        };
        o.write(&m.required);
        Ok(())
    })
}

/// The plaintext data key, if one is set (by an earlier keyring of a
/// multi-keyring, or by this callback).
///
/// - `materials`: borrowed.
/// - `key_out`: receives a pointer to the key (valid during the callback,
///   secret: do not copy it further than needed), or NULL if there is none
///   yet (still `KMSE_STATUS_OK`).
/// - `key_len_out`: receives its length (0 if none).
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_data_key(
    materials: *const kmse_encryption_materials,
    key_out: *mut *const u8,
    key_len_out: *mut usize,
) -> kmse_status {
    guard("kmse_encryption_materials_data_key", || {
        // SAFETY: live materials or NULL, valid out-pointers or NULL (API contract).
        let (m, key_out, len_out) = unsafe {
            (
                handle(materials, "materials")?,
                out(key_out, "key_out")?,
                out(key_len_out, "key_len_out")?,
            )
        };
        let (ptr, len) = match m.materials.plaintext_data_key() {
            Some(k) => (k.as_bytes().as_ptr(), k.len()),
            None => (std::ptr::null(), 0),
        };
        key_out.write(ptr);
        len_out.write(len);
        Ok(())
    })
}

/// Sets the plaintext data key (e.g. from a KMS GenerateDataKey call). It
/// must have the suite's length (`kmse_algorithm_suite_data_key_length`);
/// fails if a key is already set.
///
/// - `materials`: modified. `key`, `key_len`: copied.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_set_data_key(
    materials: *mut kmse_encryption_materials,
    key: *const u8,
    key_len: usize,
) -> kmse_status {
    guard("kmse_encryption_materials_set_data_key", || {
        // SAFETY: live materials or NULL, a byte range (API contract).
        let (m, key) = unsafe {
            (
                handle_mut(materials, "materials")?,
                bytes(key, key_len, "key")?,
            )
        };
        m.materials
            .set_plaintext_data_key(DataKey::from_slice(key))
            .map_err(Failure::from)
    })
}

/// Sets a fresh random plaintext data key of the suite's length, from the
/// system's secure random number generator. Fails if a key is already set.
///
/// - `materials`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_generate_data_key(
    materials: *mut kmse_encryption_materials,
) -> kmse_status {
    guard("kmse_encryption_materials_generate_data_key", || {
        // SAFETY: live materials or NULL (API contract).
        let m = unsafe { handle_mut(materials, "materials")? };
        let key = DataKey::generate(m.materials.algorithm_suite().data_key_len())?;
        m.materials
            .set_plaintext_data_key(key)
            .map_err(Failure::from)
    })
}

/// Adds an encrypted data key: the data key wrapped by this keyring. Needs
/// a data key to be set first.
///
/// - `materials`: modified.
/// - `provider_id`: NUL-terminated UTF-8 (who can unwrap it, e.g. your key
///   namespace), copied. At most 65535 bytes, as are the two others.
/// - `provider_info`, `provider_info_len`: key information for your
///   on_decrypt (a key id, an IV, ...), copied; may be NULL when 0.
/// - `ciphertext`, `ciphertext_len`: the wrapped key, copied.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_add_encrypted_data_key(
    materials: *mut kmse_encryption_materials,
    provider_id: *const c_char,
    provider_info: *const u8,
    provider_info_len: usize,
    ciphertext: *const u8,
    ciphertext_len: usize,
) -> kmse_status {
    guard("kmse_encryption_materials_add_encrypted_data_key", || {
        // SAFETY: live materials or NULL, a string and byte ranges (API contract).
        let (m, id, info, ct) = unsafe {
            (
                handle_mut(materials, "materials")?,
                string(provider_id, "provider_id")?,
                bytes(provider_info, provider_info_len, "provider_info")?,
                bytes(ciphertext, ciphertext_len, "ciphertext")?,
            )
        };
        m.materials
            .add_encrypted_data_key(EncryptedDataKey::new(id, info.to_vec(), ct.to_vec()))
            .map_err(Failure::from)
    })
}

/// Records why the callback fails; return a non-zero status right after.
/// Calling it again replaces the message.
///
/// - `materials`: modified.
/// - `kms_code`: may be NULL (or "", the same); the service's error code
///   (e.g. `AccessDeniedException`), reported with `KMSE_STATUS_KMS_ERROR`.
/// - `message`: NUL-terminated UTF-8, copied.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_materials_set_error(
    materials: *mut kmse_encryption_materials,
    kms_code: *const c_char,
    message: *const c_char,
) -> kmse_status {
    guard("kmse_encryption_materials_set_error", || {
        // SAFETY: live materials or NULL, strings or NULL (API contract).
        let (m, code, message) = unsafe {
            (
                handle_mut(materials, "materials")?,
                opt_string(kms_code, "kms_code")?,
                string(message, "message")?,
            )
        };
        record_error(&mut m.error, code, message);
        Ok(())
    })
}

/// The algorithm suite id of the message being decrypted.
///
/// - `materials`: borrowed. `suite_id_out`: receives the id.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryption_materials_algorithm_suite(
    materials: *const kmse_decryption_materials,
    suite_id_out: *mut u16,
) -> kmse_status {
    guard("kmse_decryption_materials_algorithm_suite", || {
        // SAFETY: live materials or NULL, a valid out-pointer or NULL (API contract).
        let (m, o) = unsafe {
            (
                handle(materials, "materials")?,
                out(suite_id_out, "suite_id_out")?,
            )
        };
        o.write(m.materials.algorithm_suite().id());
        Ok(())
    })
}

/// The encryption context to unwrap with: the header's pairs plus the
/// reproduced pairs that were authenticated but not stored.
///
/// - `materials`: borrowed.
/// - `context_out`: receives a borrowed view, valid during the callback.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryption_materials_encryption_context(
    materials: *const kmse_decryption_materials,
    context_out: *mut *const kmse_encryption_context,
) -> kmse_status {
    guard("kmse_decryption_materials_encryption_context", || {
        // SAFETY: live materials or NULL, a valid out-pointer or NULL (API contract).
        let (m, o) = unsafe {
            (
                handle(materials, "materials")?,
                out(context_out, "context_out")?,
            )
        };
        o.write(&m.context);
        Ok(())
    })
}

/// The pairs of the encryption context (see
/// `kmse_decryption_materials_encryption_context`) that the caller supplied
/// and the message does not store.
///
/// - `materials`: borrowed.
/// - `context_out`: receives a borrowed view, valid during the callback.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryption_materials_required_context(
    materials: *const kmse_decryption_materials,
    context_out: *mut *const kmse_encryption_context,
) -> kmse_status {
    guard("kmse_decryption_materials_required_context", || {
        // SAFETY: live materials or NULL, a valid out-pointer or NULL (API contract).
        let (m, o) = unsafe {
            (
                handle(materials, "materials")?,
                out(context_out, "context_out")?,
            )
        };
        o.write(&m.required);
        Ok(())
    })
}

/// Sets the unwrapped data key. It must have the suite's length; fails if a
/// key is already set.
///
/// - `materials`: modified. `key`, `key_len`: copied.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryption_materials_set_data_key(
    materials: *mut kmse_decryption_materials,
    key: *const u8,
    key_len: usize,
) -> kmse_status {
    guard("kmse_decryption_materials_set_data_key", || {
        // SAFETY: live materials or NULL, a byte range (API contract).
        let (m, key) = unsafe {
            (
                handle_mut(materials, "materials")?,
                bytes(key, key_len, "key")?,
            )
        };
        m.materials
            .set_plaintext_data_key(DataKey::from_slice(key))
            .map_err(Failure::from)
    })
}

/// Records why the callback fails; return a non-zero status right after
/// (`KMSE_STATUS_NO_KEY_UNWRAPPED` when no key matched). Calling it again
/// replaces the message.
///
/// - `materials`: modified.
/// - `kms_code`: may be NULL (or "", the same); the service's error code,
///   reported with `KMSE_STATUS_KMS_ERROR`.
/// - `message`: NUL-terminated UTF-8, copied.
#[no_mangle]
pub unsafe extern "C" fn kmse_decryption_materials_set_error(
    materials: *mut kmse_decryption_materials,
    kms_code: *const c_char,
    message: *const c_char,
) -> kmse_status {
    guard("kmse_decryption_materials_set_error", || {
        // SAFETY: live materials or NULL, strings or NULL (API contract).
        let (m, code, message) = unsafe {
            (
                handle_mut(materials, "materials")?,
                opt_string(kms_code, "kms_code")?,
                string(message, "message")?,
            )
        };
        record_error(&mut m.error, code, message);
        Ok(())
    })
}
