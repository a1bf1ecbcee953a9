//! `kmse_encryption_context`: build and read encryption contexts.

use std::ffi::c_char;

use kms_envelope::EncryptionContext;

use crate::args::{free_handle, handle, handle_mut, into_handle, nul_terminated, out, string};
use crate::status::{guard, kmse_status, Failure};

/// A string's bytes with a NUL appended, as handed to C.
type NulTerminated = Box<[u8]>;

/// An encryption context: UTF-8 keys mapped to UTF-8 values, authenticated
/// with the message but not secret. Entries are kept in the canonical order
/// (byte-wise by key).
///
/// Made by `kmse_encryption_context_new` (owned, mutable) or handed out as
/// a borrowed `const` view (of a header, of materials in a keyring
/// callback). Not for concurrent use by two threads while one modifies it.
pub struct kmse_encryption_context {
    pub(crate) context: EncryptionContext,
    /// NUL-terminated copies of the entries, in canonical order, for readers.
    entries: Vec<(NulTerminated, NulTerminated)>,
}

impl kmse_encryption_context {
    pub(crate) fn new(context: EncryptionContext) -> Self {
        let mut this = Self {
            context,
            entries: Vec::new(),
        };
        this.refresh();
        this
    }

    fn refresh(&mut self) {
        self.entries = self
            .context
            .iter()
            .map(|(k, v)| (nul_terminated(k), nul_terminated(v)))
            .collect();
    }
}

/// One entry of an encryption context, as borrowed views. `key` and `value`
/// are NUL-terminated; `key_len` and `value_len` exclude the NUL (a context
/// read from a message may hold an embedded NUL, so prefer the lengths).
#[repr(C)]
pub struct kmse_encryption_context_entry {
    /// The key (UTF-8, NUL-terminated).
    pub key: *const c_char,
    /// Length of `key` in bytes, without the NUL.
    pub key_len: usize,
    /// The value (UTF-8, NUL-terminated).
    pub value: *const c_char,
    /// Length of `value` in bytes, without the NUL.
    pub value_len: usize,
}

/// Makes an empty encryption context.
///
/// - `context_out`: receives a new context owned by the caller; free it with
///   `kmse_encryption_context_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_new(
    context_out: *mut *mut kmse_encryption_context,
) -> kmse_status {
    guard("kmse_encryption_context_new", || {
        // SAFETY: valid out-pointer or NULL (API contract).
        let context_out = unsafe { out(context_out, "context_out")? };
        context_out.write(into_handle(kmse_encryption_context::new(
            EncryptionContext::new(),
        )));
        Ok(())
    })
}

/// Sets `key` to `value`, replacing any previous value. Both are copied.
///
/// Keys starting with `aws-crypto-` are reserved: encrypt refuses them.
/// Views of this context's entries obtained earlier become invalid.
///
/// - `context`: modified; must not be a `const` view from the library.
/// - `key`, `value`: NUL-terminated UTF-8, borrowed for the call.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_set(
    context: *mut kmse_encryption_context,
    key: *const c_char,
    value: *const c_char,
) -> kmse_status {
    guard("kmse_encryption_context_set", || {
        // SAFETY: a live context or NULL, and NUL-terminated strings or NULL
        // (API contract).
        let (context, key, value) = unsafe {
            (
                handle_mut(context, "context")?,
                string(key, "key")?,
                string(value, "value")?,
            )
        };
        context.context.insert(key, value);
        context.refresh();
        Ok(())
    })
}

/// Removes `key` if present (absent is not an error). Views of this
/// context's entries obtained earlier become invalid.
///
/// - `context`: modified. `key`: NUL-terminated UTF-8, borrowed.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_remove(
    context: *mut kmse_encryption_context,
    key: *const c_char,
) -> kmse_status {
    guard("kmse_encryption_context_remove", || {
        // SAFETY: a live context or NULL, a NUL-terminated string or NULL
        // (API contract).
        let (context, key) = unsafe { (handle_mut(context, "context")?, string(key, "key")?) };
        context.context.remove(key);
        context.refresh();
        Ok(())
    })
}

/// Looks up `key`.
///
/// - `context`: borrowed. `key`: NUL-terminated UTF-8, borrowed.
/// - `value_out`: receives a borrowed view of the value (NUL-terminated),
///   or NULL if the key is absent (still `KMSE_STATUS_OK`). Valid until the
///   context is changed or freed.
/// - `value_len_out`: may be NULL; receives the value's length without the
///   NUL (0 if absent).
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_get(
    context: *const kmse_encryption_context,
    key: *const c_char,
    value_out: *mut *const c_char,
    value_len_out: *mut usize,
) -> kmse_status {
    guard("kmse_encryption_context_get", || {
        // SAFETY: a live context or NULL, a NUL-terminated string or NULL,
        // valid out-pointers or NULL (API contract).
        let (context, key, value_out) = unsafe {
            (
                handle(context, "context")?,
                string(key, "key")?,
                out(value_out, "value_out")?,
            )
        };
        // SAFETY: valid out-pointer or NULL (API contract).
        let value_len_out = unsafe { crate::args::opt_out(value_len_out) };
        let found = context
            .context
            .iter()
            .position(|(k, _)| k == key)
            .and_then(|i| context.entries.get(i));
        let (ptr, len) = match found {
            Some((_, v)) => (v.as_ptr().cast::<c_char>(), v.len() - 1),
            None => (std::ptr::null(), 0),
        };
        value_out.write(ptr);
        if let Some(o) = value_len_out {
            o.write(len);
        }
        Ok(())
    })
}

/// The number of entries.
///
/// - `context`: borrowed. `len_out`: receives the count.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_len(
    context: *const kmse_encryption_context,
    len_out: *mut usize,
) -> kmse_status {
    guard("kmse_encryption_context_len", || {
        // SAFETY: a live context or NULL, a valid out-pointer or NULL (API contract).
        let (context, len_out) = unsafe { (handle(context, "context")?, out(len_out, "len_out")?) };
        len_out.write(context.entries.len());
        Ok(())
    })
}

/// The entry at `index` (0 to len - 1) in canonical order (byte-wise by
/// key). An index out of range gives `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `context`: borrowed.
/// - `entry_out`: receives borrowed views, valid until the context is
///   changed or freed.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_entry_at(
    context: *const kmse_encryption_context,
    index: usize,
    entry_out: *mut kmse_encryption_context_entry,
) -> kmse_status {
    guard("kmse_encryption_context_entry_at", || {
        // SAFETY: a live context or NULL, a valid out-pointer or NULL (API contract).
        let (context, entry_out) =
            unsafe { (handle(context, "context")?, out(entry_out, "entry_out")?) };
        let (k, v) = context.entries.get(index).ok_or_else(|| {
            Failure::bad_arg(format!(
                "index {index} is out of range: the context has {} entries",
                context.entries.len()
            ))
        })?;
        entry_out.write(kmse_encryption_context_entry {
            key: k.as_ptr().cast(),
            key_len: k.len() - 1,
            value: v.as_ptr().cast(),
            value_len: v.len() - 1,
        });
        Ok(())
    })
}

/// Frees a context made by `kmse_encryption_context_new` or handed out as an
/// owned object (`kmse_decrypt`'s `context_out`, ...). NULL is ignored.
/// Never pass a borrowed `const` view.
#[no_mangle]
pub unsafe extern "C" fn kmse_encryption_context_free(context: *mut kmse_encryption_context) {
    // SAFETY: the C caller passes NULL or an owned context, once.
    unsafe { free_handle(context) }
}
