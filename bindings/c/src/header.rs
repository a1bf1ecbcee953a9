//! Header inspection and encrypted-data-key lists.

use std::ffi::c_char;

use kms_envelope::{ContentType, EncryptedDataKey, MessageHeader};

use crate::args::{bytes, free_handle, handle, into_handle, nul_terminated, opt_out, out};
use crate::context::kmse_encryption_context;
use crate::status::{guard, kmse_status, Failure};

/// How a message body is laid out. The numbers are the format's own.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kmse_content_type {
    /// One AES-GCM block for the whole body (read only, never written).
    NonFramed = 1,
    /// A sequence of frames (always written).
    Framed = 2,
}

/// A read-only list of encrypted data keys (EDKs): a message header's, or
/// the list a custom keyring's `on_decrypt` callback receives. Always a
/// borrowed view: never freed by the caller.
pub struct kmse_encrypted_data_keys {
    edks: Vec<EncryptedDataKey>,
    provider_ids: Vec<Box<[u8]>>,
}

impl kmse_encrypted_data_keys {
    pub(crate) fn new(edks: Vec<EncryptedDataKey>) -> Self {
        let provider_ids = edks
            .iter()
            .map(|e| nul_terminated(&e.provider_id))
            .collect();
        Self { edks, provider_ids }
    }
}

/// One encrypted data key, as borrowed views valid as long as the list.
#[repr(C)]
pub struct kmse_encrypted_data_key {
    /// Who wrote it: the key namespace of raw keyrings, `aws-kms`, ...
    /// (UTF-8, NUL-terminated).
    pub provider_id: *const c_char,
    /// Length of `provider_id` in bytes, without the NUL.
    pub provider_id_len: usize,
    /// Provider-specific key information (raw AES: key name and IV; raw RSA:
    /// key name; KMS: key ARN).
    pub provider_info: *const u8,
    /// Length of `provider_info` in bytes.
    pub provider_info_len: usize,
    /// The wrapped data key.
    pub ciphertext: *const u8,
    /// Length of `ciphertext` in bytes.
    pub ciphertext_len: usize,
}

/// The number of encrypted data keys in a list.
///
/// - `list`: borrowed. `len_out`: receives the count.
#[no_mangle]
pub unsafe extern "C" fn kmse_encrypted_data_keys_len(
    list: *const kmse_encrypted_data_keys,
    len_out: *mut usize,
) -> kmse_status {
    guard("kmse_encrypted_data_keys_len", || {
        // SAFETY: a live list or NULL, a valid out-pointer or NULL (API contract).
        let (list, len_out) = unsafe { (handle(list, "list")?, out(len_out, "len_out")?) };
        len_out.write(list.edks.len());
        Ok(())
    })
}

/// The encrypted data key at `index` (0 to len - 1, in header order). An
/// index out of range gives `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `list`: borrowed.
/// - `edk_out`: receives borrowed views, valid as long as the list.
#[no_mangle]
pub unsafe extern "C" fn kmse_encrypted_data_keys_get(
    list: *const kmse_encrypted_data_keys,
    index: usize,
    edk_out: *mut kmse_encrypted_data_key,
) -> kmse_status {
    guard("kmse_encrypted_data_keys_get", || {
        // SAFETY: a live list or NULL, a valid out-pointer or NULL (API contract).
        let (list, edk_out) = unsafe { (handle(list, "list")?, out(edk_out, "edk_out")?) };
        let (edk, id) = list
            .edks
            .get(index)
            .zip(list.provider_ids.get(index))
            .ok_or_else(|| {
                Failure::bad_arg(format!(
                    "index {index} is out of range: the list has {} encrypted data keys",
                    list.edks.len()
                ))
            })?;
        edk_out.write(kmse_encrypted_data_key {
            provider_id: id.as_ptr().cast(),
            provider_id_len: id.len() - 1,
            provider_info: edk.provider_info.as_ptr(),
            provider_info_len: edk.provider_info.len(),
            ciphertext: edk.ciphertext.as_ptr(),
            ciphertext_len: edk.ciphertext.len(),
        });
        Ok(())
    })
}

/// A message header: what `kmse_header_parse` reads, or the authenticated
/// header of a decrypted message. Immutable: may be read from several
/// threads at once. Free with `kmse_header_free`.
pub struct kmse_header {
    header: MessageHeader,
    context: kmse_encryption_context,
    edks: kmse_encrypted_data_keys,
}

impl kmse_header {
    pub(crate) fn new(header: MessageHeader) -> Self {
        Self {
            context: kmse_encryption_context::new(header.encryption_context.clone()),
            edks: kmse_encrypted_data_keys::new(header.encrypted_data_keys.clone()),
            header,
        }
    }
}

/// Parses the header at the start of a message, without any key and
/// without checking its authentication tag: for inspection only (which
/// suite, which context, which keys can open it). A message that ends
/// before its header does gives `KMSE_STATUS_MALFORMED_MESSAGE`.
///
/// - `message`, `message_len`: borrowed; only the header's bytes are read.
/// - `header_out`: receives a new header owned by the caller; free it with
///   `kmse_header_free`.
/// - `header_len_out`: may be NULL; receives the header's length in bytes
///   (where the body starts).
#[no_mangle]
pub unsafe extern "C" fn kmse_header_parse(
    message: *const u8,
    message_len: usize,
    header_out: *mut *mut kmse_header,
    header_len_out: *mut usize,
) -> kmse_status {
    guard("kmse_header_parse", || {
        // SAFETY: a byte range, valid out-pointers or NULL (API contract).
        let (message, header_out, header_len_out) = unsafe {
            (
                bytes(message, message_len, "message")?,
                out(header_out, "header_out")?,
                opt_out(header_len_out),
            )
        };
        let (header, len) = MessageHeader::parse(message, None)?;
        header_out.write(into_handle(kmse_header::new(header)));
        if let Some(o) = header_len_out {
            o.write(len);
        }
        Ok(())
    })
}

/// The body of the one-value header getters.
///
/// # Safety
/// `header` is NULL or a live header; `value_out` NULL or valid for a write.
unsafe fn get<T>(
    function: &str,
    header: *const kmse_header,
    value_out: *mut T,
    what: &str,
    value: impl FnOnce(&kmse_header) -> T,
) -> kmse_status {
    guard(function, || {
        // SAFETY: forwarded contract.
        let (header, value_out) = unsafe { (handle(header, "header")?, out(value_out, what)?) };
        value_out.write(value(header));
        Ok(())
    })
}

/// The message format version: 1 (non-committing suites) or 2.
///
/// - `header`: borrowed. `version_out`: receives the version.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_version(
    header: *const kmse_header,
    version_out: *mut u8,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get(
            "kmse_header_version",
            header,
            version_out,
            "version_out",
            |h| h.header.version,
        )
    }
}

/// The algorithm suite id, e.g. 0x0578 (see the `KMSE_ALG_*` constants).
///
/// - `header`: borrowed. `suite_id_out`: receives the id.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_algorithm_suite(
    header: *const kmse_header,
    suite_id_out: *mut u16,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get(
            "kmse_header_algorithm_suite",
            header,
            suite_id_out,
            "suite_id_out",
            |h| h.header.algorithm_suite.id(),
        )
    }
}

/// How the body is laid out.
///
/// - `header`: borrowed. `content_type_out`: receives the content type.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_content_type(
    header: *const kmse_header,
    content_type_out: *mut kmse_content_type,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get(
            "kmse_header_content_type",
            header,
            content_type_out,
            "content_type_out",
            |h| match h.header.content_type {
                ContentType::NonFramed => kmse_content_type::NonFramed,
                ContentType::Framed => kmse_content_type::Framed,
            },
        )
    }
}

/// The frame length in bytes (0 for a non-framed body).
///
/// - `header`: borrowed. `frame_length_out`: receives the frame length.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_frame_length(
    header: *const kmse_header,
    frame_length_out: *mut u32,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get(
            "kmse_header_frame_length",
            header,
            frame_length_out,
            "frame_length_out",
            |h| h.header.frame_length,
        )
    }
}

/// The header's length in bytes, authentication tag included (where the
/// body starts).
///
/// - `header`: borrowed. `len_out`: receives the length.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_length(
    header: *const kmse_header,
    len_out: *mut usize,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get("kmse_header_length", header, len_out, "len_out", |h| {
            h.header.len()
        })
    }
}

/// The encryption context stored in the header. Pairs of a
/// required-encryption-context CMM are not stored; signed suites add
/// `aws-crypto-public-key`.
///
/// - `header`: borrowed.
/// - `context_out`: receives a borrowed view, valid until the header is
///   freed. Never free it.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_encryption_context(
    header: *const kmse_header,
    context_out: *mut *const kmse_encryption_context,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get(
            "kmse_header_encryption_context",
            header,
            context_out,
            "context_out",
            |h| &h.context,
        )
    }
}

/// The encrypted data keys, in header order.
///
/// - `header`: borrowed.
/// - `list_out`: receives a borrowed view, valid until the header is freed.
///   Never free it.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_encrypted_data_keys(
    header: *const kmse_header,
    list_out: *mut *const kmse_encrypted_data_keys,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        get(
            "kmse_header_encrypted_data_keys",
            header,
            list_out,
            "list_out",
            |h| &h.edks,
        )
    }
}

/// The message id (16 bytes in version 1, 32 in version 2).
///
/// - `header`: borrowed.
/// - `id_out`: receives a pointer into the header, valid until it is freed.
/// - `id_len_out`: receives the length.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_message_id(
    header: *const kmse_header,
    id_out: *mut *const u8,
    id_len_out: *mut usize,
) -> kmse_status {
    guard("kmse_header_message_id", || {
        // SAFETY: a live header or NULL, valid out-pointers or NULL (API contract).
        let (header, id_out, id_len_out) = unsafe {
            (
                handle(header, "header")?,
                out(id_out, "id_out")?,
                out(id_len_out, "id_len_out")?,
            )
        };
        id_out.write(header.header.message_id.as_ptr());
        id_len_out.write(header.header.message_id.len());
        Ok(())
    })
}

/// Frees a header. NULL is ignored. Views obtained from it become invalid.
#[no_mangle]
pub unsafe extern "C" fn kmse_header_free(header: *mut kmse_header) {
    // SAFETY: the C caller passes NULL or a header from this library, once.
    unsafe { free_handle(header) }
}
