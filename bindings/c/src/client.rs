//! Client options and the client.

use std::ffi::c_int;

use kms_envelope::{AlgorithmSuite, Client, CommitmentPolicy, SignedRelease};

use crate::args::{free_handle, handle_mut, into_handle, opt_handle, out};
use crate::status::{guard, kmse_status, Failure, FfiResult};

/// Which algorithm suites encrypt may write and decrypt may read.
#[repr(C)]
#[allow(clippy::enum_variant_names)] // the ESDK's names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kmse_commitment_policy {
    /// Encrypt with non-committing suites only (default suite 0x0378);
    /// decrypt anything. For messages that old SDKs must read.
    ForbidEncryptAllowDecrypt = 1,
    /// Encrypt with committing suites only; decrypt anything. For migrating.
    RequireEncryptAllowDecrypt = 2,
    /// Encrypt and decrypt committing suites only (default).
    RequireEncryptRequireDecrypt = 3,
}

/// When a streaming decryptor releases the plaintext of a signed message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kmse_signed_release {
    /// Hold all plaintext until the signature verifies (default).
    AfterSignature = 0,
    /// Release each regular frame once its tag verifies, before the signature
    /// is checked; only the final frame is held. Opt-in: the caller must
    /// discard everything released if the stream fails later.
    Frames = 1,
}

/// Settings for `kmse_client_new`. Every setting left unset keeps the core's
/// default. Mutable; not for use by two threads at once.
#[derive(Debug, Clone, Default)]
pub struct kmse_client_options {
    policy: Option<CommitmentPolicy>,
    max_encrypted_data_keys: Option<u16>,
    max_body_size: Option<u64>,
    pub(crate) algorithm_suite: Option<AlgorithmSuite>,
    pub(crate) frame_length: Option<u32>,
    pub(crate) signed_release: Option<SignedRelease>,
    pub(crate) unsigned_only: Option<bool>,
    pub(crate) max_frame_size: Option<u64>,
    pub(crate) max_buffered_plaintext: Option<u64>,
}

/// The settings every call made with it uses: commitment policy, limits,
/// and the per-message defaults of encrypt (suite, frame length) and of
/// streaming decrypt. Immutable: share one across threads freely.
pub struct kmse_client {
    pub(crate) client: Client,
    pub(crate) options: kmse_client_options,
}

/// Makes client options with every setting at its default.
///
/// - `options_out`: receives new options owned by the caller; free them
///   with `kmse_client_options_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_new(
    options_out: *mut *mut kmse_client_options,
) -> kmse_status {
    guard("kmse_client_options_new", || {
        // SAFETY: a valid out-pointer or NULL (API contract).
        let options_out = unsafe { out(options_out, "options_out")? };
        options_out.write(into_handle(kmse_client_options::default()));
        Ok(())
    })
}

/// Runs `f` on the options behind `options`.
///
/// # Safety
/// `options` is NULL or live options, unshared during the call.
unsafe fn with_options(
    function: &str,
    options: *mut kmse_client_options,
    f: impl FnOnce(&mut kmse_client_options) -> FfiResult,
) -> kmse_status {
    guard(function, || {
        // SAFETY: forwarded contract.
        f(unsafe { handle_mut(options, "options")? })
    })
}

/// Sets the commitment policy (default
/// `KMSE_COMMITMENT_POLICY_REQUIRE_ENCRYPT_REQUIRE_DECRYPT`).
///
/// - `options`: modified. `policy`: a `kmse_commitment_policy` value (an
///   `int`; other values give `KMSE_STATUS_BAD_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_commitment_policy(
    options: *mut kmse_client_options,
    policy: c_int,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_commitment_policy", options, |o| {
            o.policy = Some(match policy {
                x if x == kmse_commitment_policy::ForbidEncryptAllowDecrypt as c_int => {
                    CommitmentPolicy::ForbidEncryptAllowDecrypt
                }
                x if x == kmse_commitment_policy::RequireEncryptAllowDecrypt as c_int => {
                    CommitmentPolicy::RequireEncryptAllowDecrypt
                }
                x if x == kmse_commitment_policy::RequireEncryptRequireDecrypt as c_int => {
                    CommitmentPolicy::RequireEncryptRequireDecrypt
                }
                other => {
                    return Err(Failure::bad_arg(format!(
                        "{other} is not a kmse_commitment_policy value"
                    )))
                }
            });
            Ok(())
        })
    }
}

/// Limits the number of encrypted data keys a message may carry, on encrypt
/// and on decrypt (checked while parsing, before any unwrap). Default: no
/// limit. 0 makes every call fail with `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_max_encrypted_data_keys(
    options: *mut kmse_client_options,
    max: u16,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options(
            "kmse_client_options_set_max_encrypted_data_keys",
            options,
            |o| {
                o.max_encrypted_data_keys = Some(max);
                Ok(())
            },
        )
    }
}

/// Limits the plaintext length of a message body that decrypt accepts.
/// Default: no limit.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_max_body_size(
    options: *mut kmse_client_options,
    max: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_max_body_size", options, |o| {
            o.max_body_size = Some(max);
            Ok(())
        })
    }
}

/// Sets the algorithm suite encrypt uses, by its 2-byte id (the
/// `KMSE_ALG_*` constants). Default: the commitment policy's default
/// (0x0578, or 0x0378 under `FORBID_ENCRYPT_ALLOW_DECRYPT`). An unknown id
/// gives `KMSE_STATUS_BAD_ARGUMENT`; a suite the policy forbids fails at
/// encrypt with `KMSE_STATUS_POLICY_VIOLATION`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_algorithm_suite(
    options: *mut kmse_client_options,
    suite_id: u16,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_algorithm_suite", options, |o| {
            o.algorithm_suite = Some(crate::suite(suite_id)?);
            Ok(())
        })
    }
}

/// Sets the frame length encrypt uses, in bytes (default 4096). 0 makes
/// encrypt fail with `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_frame_length(
    options: *mut kmse_client_options,
    frame_length: u32,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_frame_length", options, |o| {
            o.frame_length = Some(frame_length);
            Ok(())
        })
    }
}

/// Sets when streaming decryptors release the plaintext of signed messages
/// (default `KMSE_SIGNED_RELEASE_AFTER_SIGNATURE`). One-shot decrypt always
/// releases all of it at the end.
///
/// - `options`: modified. `release`: a `kmse_signed_release` value (an
///   `int`; other values give `KMSE_STATUS_BAD_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_signed_release(
    options: *mut kmse_client_options,
    release: c_int,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_signed_release", options, |o| {
            o.signed_release = Some(match release {
                x if x == kmse_signed_release::AfterSignature as c_int => {
                    SignedRelease::AfterSignature
                }
                x if x == kmse_signed_release::Frames as c_int => SignedRelease::Frames,
                other => {
                    return Err(Failure::bad_arg(format!(
                        "{other} is not a kmse_signed_release value"
                    )))
                }
            });
            Ok(())
        })
    }
}

/// Makes streaming decryptors refuse signed messages as soon as the header
/// is read (`KMSE_STATUS_POLICY_VIOLATION`). Default false.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_unsigned_only(
    options: *mut kmse_client_options,
    unsigned_only: bool,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_unsigned_only", options, |o| {
            o.unsigned_only = Some(unsigned_only);
            Ok(())
        })
    }
}

/// The largest frame (or non-framed body) a streaming decryptor buffers,
/// in bytes; larger ones are refused (default 64 MiB). Headers are refused
/// past this size or 1 MiB, whichever is larger, before they are held.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_max_frame_size(
    options: *mut kmse_client_options,
    max: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_client_options_set_max_frame_size", options, |o| {
            o.max_frame_size = Some(max);
            Ok(())
        })
    }
}

/// The most plaintext a streaming decryptor holds back while a signed
/// message's signature is pending, under
/// `KMSE_SIGNED_RELEASE_AFTER_SIGNATURE` (default 64 MiB).
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_set_max_buffered_plaintext(
    options: *mut kmse_client_options,
    max: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options(
            "kmse_client_options_set_max_buffered_plaintext",
            options,
            |o| {
                o.max_buffered_plaintext = Some(max);
                Ok(())
            },
        )
    }
}

/// Frees client options. NULL is ignored. Clients made from them are not
/// affected.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_options_free(options: *mut kmse_client_options) {
    // SAFETY: the C caller passes NULL or options from this library, once.
    unsafe { free_handle(options) }
}

/// Makes a client.
///
/// - `options`: borrowed (copied); may be NULL for every default (commitment
///   required on both sides, suite 0x0578, frames of 4096 bytes, no limit on
///   encrypted data keys or message bodies; streaming decryptors still hold
///   at most 64 MiB per frame and 64 MiB of signed plaintext, as
///   `kmse_client_options_set_max_frame_size` and
///   `_set_max_buffered_plaintext` say).
/// - `client_out`: receives a new client owned by the caller; free it with
///   `kmse_client_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_new(
    options: *const kmse_client_options,
    client_out: *mut *mut kmse_client,
) -> kmse_status {
    guard("kmse_client_new", || {
        // SAFETY: NULL or live options, a valid out-pointer or NULL (API contract).
        let (options, client_out) =
            unsafe { (opt_handle(options), out(client_out, "client_out")?) };
        let options = options.cloned().unwrap_or_default();
        let mut builder = Client::builder();
        if let Some(p) = options.policy {
            builder = builder.commitment_policy(p);
        }
        if let Some(n) = options.max_encrypted_data_keys {
            builder = builder.max_encrypted_data_keys(n);
        }
        if let Some(n) = options.max_body_size {
            builder = builder.max_body_size(n);
        }
        client_out.write(into_handle(kmse_client {
            client: builder.build(),
            options,
        }));
        Ok(())
    })
}

/// Frees a client. NULL is ignored. Streams made with it keep working.
#[no_mangle]
pub unsafe extern "C" fn kmse_client_free(client: *mut kmse_client) {
    // SAFETY: the C caller passes NULL or a client from this library, once.
    unsafe { free_handle(client) }
}
