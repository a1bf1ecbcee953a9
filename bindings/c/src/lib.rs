//! The C ABI of kms-envelope: `libkms_envelope.so` / `libkms_envelope.a` and
//! the header `include/kms_envelope.h`, which cbindgen generates from this
//! crate (the doc comments here become the header's documentation).
//!
//! This crate holds no cryptography and no format logic: it checks C
//! arguments, converts types, maps errors to [`status::kmse_status`] and
//! drives the core's blocking API. The conventions (naming, statuses,
//! ownership, NULL, threads, panics) are at the top of the header (see
//! `cbindgen.toml`) and in `docs/c.md`.
//!
//! Every `extern "C"` function runs its body inside [`status::guard`]: a
//! panic becomes `KMSE_STATUS_PANIC`, never an abort or an unwind into C.
//! Every pointer from C goes through the checked conversions of [`args`].
//! Every `unsafe` block says why it is sound.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]
// The C names (`kmse_client`, ...) are the API.
#![allow(non_camel_case_types)]
// The C functions mirror the core's calls, some of which take many arguments.
#![allow(clippy::too_many_arguments)]
// Every exported function is `unsafe extern "C"`: C callers must pass valid
// pointers; the `# Safety` contract is the API conventions in the header.
#![allow(clippy::missing_safety_doc)]

// The order of the modules is the order of the header's sections.
mod status;

mod client;

mod context;

mod keyring;

mod custom;

mod kms;

mod caching;

mod buffer;

mod oneshot;

mod stream;

mod header;

mod args;

use std::ffi::{c_char, CStr};

use kms_envelope::AlgorithmSuite;

use crate::args::out;
use crate::status::{guard, kmse_status, Failure, FfiResult};

/// Suite 0x0014: AES-128-GCM, no key derivation (legacy).
pub const KMSE_ALG_AES_128_GCM_IV12_TAG16_NO_KDF: u16 = 0x0014;
/// Suite 0x0046: AES-192-GCM, no key derivation (legacy).
pub const KMSE_ALG_AES_192_GCM_IV12_TAG16_NO_KDF: u16 = 0x0046;
/// Suite 0x0078: AES-256-GCM, no key derivation (legacy).
pub const KMSE_ALG_AES_256_GCM_IV12_TAG16_NO_KDF: u16 = 0x0078;
/// Suite 0x0114: AES-128-GCM, HKDF-SHA256.
pub const KMSE_ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256: u16 = 0x0114;
/// Suite 0x0146: AES-192-GCM, HKDF-SHA256.
pub const KMSE_ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA256: u16 = 0x0146;
/// Suite 0x0178: AES-256-GCM, HKDF-SHA256.
pub const KMSE_ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA256: u16 = 0x0178;
/// Suite 0x0214: AES-128-GCM, HKDF-SHA256, ECDSA P-256.
pub const KMSE_ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256: u16 = 0x0214;
/// Suite 0x0346: AES-192-GCM, HKDF-SHA384, ECDSA P-384.
pub const KMSE_ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384: u16 = 0x0346;
/// Suite 0x0378: AES-256-GCM, HKDF-SHA384, ECDSA P-384 (default under
/// `FORBID_ENCRYPT_ALLOW_DECRYPT`).
pub const KMSE_ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384: u16 = 0x0378;
/// Suite 0x0478: AES-256-GCM, HKDF-SHA512, key commitment.
pub const KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY: u16 = 0x0478;
/// Suite 0x0578: AES-256-GCM, HKDF-SHA512, key commitment, ECDSA P-384
/// (default).
pub const KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384: u16 = 0x0578;

/// The suite with this id, or a bad-argument failure.
pub(crate) fn suite(id: u16) -> FfiResult<AlgorithmSuite> {
    AlgorithmSuite::from_id(id)
        .ok_or_else(|| Failure::bad_arg(format!("0x{id:04X} is not an algorithm suite id")))
}

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// The library's version, e.g. "0.1.0".
///
/// Ownership: a static string; never NULL, never freed.
#[no_mangle]
pub extern "C" fn kmse_version() -> *const c_char {
    // Every entry point has a panic boundary, even one that cannot panic.
    std::panic::catch_unwind(|| VERSION)
        .unwrap_or(c"unknown")
        .as_ptr()
}

/// The data key length of a suite in bytes (16, 24 or 32): what a custom
/// keyring must generate or unwrap. An unknown id gives
/// `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `length_out`: receives the length.
#[no_mangle]
pub unsafe extern "C" fn kmse_algorithm_suite_data_key_length(
    suite_id: u16,
    length_out: *mut usize,
) -> kmse_status {
    guard("kmse_algorithm_suite_data_key_length", || {
        // SAFETY: a valid out-pointer or NULL (API contract).
        let length_out = unsafe { out(length_out, "length_out")? };
        length_out.write(suite(suite_id)?.data_key_len());
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_constants_are_the_core_ids() {
        let ids = [
            KMSE_ALG_AES_128_GCM_IV12_TAG16_NO_KDF,
            KMSE_ALG_AES_192_GCM_IV12_TAG16_NO_KDF,
            KMSE_ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
            KMSE_ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256,
            KMSE_ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA256,
            KMSE_ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA256,
            KMSE_ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
            KMSE_ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
            KMSE_ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
            KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
            KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
        ];
        let core: Vec<u16> = AlgorithmSuite::ALL.iter().map(|s| s.id()).collect();
        assert_eq!(ids.to_vec(), core);
        // The constant names are "KMSE_" + the ESDK names.
        assert_eq!(
            AlgorithmSuite::from_id(KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384)
                .map(|s| s.name()),
            Some("ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384")
        );
    }

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: kmse_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(kmse_version()) };
        assert_eq!(v.to_str().ok(), Some(env!("CARGO_PKG_VERSION")));
    }
}
