//! The caching materials manager and its cache.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use kms_envelope::cmm::{CachingMaterialsManager, LocalMaterialsCache};
use kms_envelope::{DefaultMaterialsManager, MaterialsManager};

use crate::args::{free_handle, handle, handle_mut, into_handle, out, string};
use crate::keyring::{kmse_cmm, kmse_keyring};
use crate::status::{guard, kmse_status, Failure, FfiResult};

/// A capacity-bounded, least-recently-used cache of materials for caching
/// CMMs. Thread-safe: share one across threads and CMMs freely (CMMs
/// sharing a cache share entries only if their partition IDs are equal).
/// Free with `kmse_materials_cache_free`; CMMs using it keep their own
/// reference. Cached data keys are wiped when evicted or freed.
pub struct kmse_materials_cache {
    inner: Arc<LocalMaterialsCache>,
}

/// Settings for `kmse_cmm_new_caching`: the maximum age (required, given to
/// `kmse_caching_options_new`) and optional limits, partition ID and cache.
/// Mutable; not for use by two threads at once.
#[derive(Clone)]
pub struct kmse_caching_options {
    max_age: Duration,
    max_messages: Option<u64>,
    max_bytes: Option<u64>,
    partition_id: Option<String>,
    cache: Option<Arc<LocalMaterialsCache>>,
}

/// Makes a materials cache.
///
/// - `capacity`: the most entries it holds; when full, the least recently
///   used entry is evicted. 0 caches nothing. Caching CMMs made without a
///   cache get their own of 1000 entries.
/// - `cache_out`: receives a new cache owned by the caller; free it with
///   `kmse_materials_cache_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_materials_cache_new(
    capacity: usize,
    cache_out: *mut *mut kmse_materials_cache,
) -> kmse_status {
    guard("kmse_materials_cache_new", || {
        // SAFETY: a valid out-pointer or NULL (API contract).
        let cache_out = unsafe { out(cache_out, "cache_out")? };
        cache_out.write(into_handle(kmse_materials_cache {
            inner: Arc::new(LocalMaterialsCache::new(capacity)),
        }));
        Ok(())
    })
}

/// The number of entries in a cache (expired ones included until they are
/// pruned).
///
/// - `len_out`: receives the count.
#[no_mangle]
pub unsafe extern "C" fn kmse_materials_cache_len(
    cache: *const kmse_materials_cache,
    len_out: *mut usize,
) -> kmse_status {
    guard("kmse_materials_cache_len", || {
        // SAFETY: a live cache or NULL, a valid out-pointer or NULL (API contract).
        let (cache, len_out) = unsafe { (handle(cache, "cache")?, out(len_out, "len_out")?) };
        len_out.write(cache.inner.len());
        Ok(())
    })
}

/// Drops every entry of a cache (wiping their data keys), so that the next
/// messages get new data keys.
#[no_mangle]
pub unsafe extern "C" fn kmse_materials_cache_clear(
    cache: *const kmse_materials_cache,
) -> kmse_status {
    guard("kmse_materials_cache_clear", || {
        // SAFETY: a live cache or NULL (API contract).
        let cache = unsafe { handle(cache, "cache")? };
        cache.inner.clear();
        Ok(())
    })
}

/// Releases the caller's reference to a cache. NULL is ignored. CMMs and
/// options using it keep it alive.
#[no_mangle]
pub unsafe extern "C" fn kmse_materials_cache_free(cache: *mut kmse_materials_cache) {
    // SAFETY: the C caller passes NULL or a cache from this library, once.
    unsafe { free_handle(cache) }
}

/// Makes caching options.
///
/// - `max_age_ms`: how long, in milliseconds, a data key may be reused
///   after the key service made it (required; 0 gives
///   `KMSE_STATUS_BAD_ARGUMENT`). Decryption materials are kept as long.
/// - `options_out`: receives new options owned by the caller; free them
///   with `kmse_caching_options_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_caching_options_new(
    max_age_ms: u64,
    options_out: *mut *mut kmse_caching_options,
) -> kmse_status {
    guard("kmse_caching_options_new", || {
        // SAFETY: a valid out-pointer or NULL (API contract).
        let options_out = unsafe { out(options_out, "options_out")? };
        if max_age_ms == 0 {
            return Err(Failure::bad_arg("max_age_ms must be greater than 0"));
        }
        options_out.write(into_handle(kmse_caching_options {
            max_age: Duration::from_millis(max_age_ms),
            max_messages: None,
            max_bytes: None,
            partition_id: None,
            cache: None,
        }));
        Ok(())
    })
}

/// Runs `f` on the options behind `options`.
///
/// # Safety
/// `options` is NULL or live options, unshared during the call.
unsafe fn with_options(
    function: &str,
    options: *mut kmse_caching_options,
    f: impl FnOnce(&mut kmse_caching_options) -> FfiResult,
) -> kmse_status {
    guard(function, || {
        // SAFETY: forwarded contract.
        f(unsafe { handle_mut(options, "options")? })
    })
}

/// Sets the most messages one data key may encrypt: at least 1 (0 gives
/// `KMSE_STATUS_BAD_ARGUMENT`); the default is 2^32, the specification's,
/// which the official SDKs also take as their highest.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_caching_options_set_max_messages(
    options: *mut kmse_caching_options,
    max_messages: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_caching_options_set_max_messages", options, |o| {
            if max_messages == 0 {
                return Err(Failure::bad_arg("max_messages must be at least 1, not 0"));
            }
            o.max_messages = Some(max_messages);
            Ok(())
        })
    }
}

/// Sets the most plaintext bytes one data key may encrypt (default and
/// largest 2^63 - 1; larger gives `KMSE_STATUS_BAD_ARGUMENT`). A message
/// larger than this limit gets a data key of its own, never cached.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_caching_options_set_max_bytes(
    options: *mut kmse_caching_options,
    max_bytes: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_caching_options_set_max_bytes", options, |o| {
            if max_bytes > i64::MAX as u64 {
                return Err(Failure::bad_arg("max_bytes must be at most 2^63 - 1"));
            }
            o.max_bytes = Some(max_bytes);
            Ok(())
        })
    }
}

/// Sets the partition ID: caching CMMs that share a cache share entries
/// only if their partition IDs are equal (default: an ID unique to each
/// CMM).
///
/// - `options`: modified. `partition_id`: NUL-terminated UTF-8, copied.
#[no_mangle]
pub unsafe extern "C" fn kmse_caching_options_set_partition_id(
    options: *mut kmse_caching_options,
    partition_id: *const c_char,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_caching_options_set_partition_id", options, |o| {
            o.partition_id = Some(string(partition_id, "partition_id")?.to_owned());
            Ok(())
        })
    }
}

/// Sets the cache (default: a new cache of 1000 entries for each CMM).
///
/// - `options`: modified. `cache`: borrowed; the options and the CMMs made
///   from them keep their own reference.
#[no_mangle]
pub unsafe extern "C" fn kmse_caching_options_set_cache(
    options: *mut kmse_caching_options,
    cache: *const kmse_materials_cache,
) -> kmse_status {
    // SAFETY: forwarded API contract; a live cache or NULL.
    unsafe {
        with_options("kmse_caching_options_set_cache", options, |o| {
            o.cache = Some(handle(cache, "cache")?.inner.clone());
            Ok(())
        })
    }
}

/// Frees caching options. NULL is ignored. CMMs made from them are not
/// affected.
#[no_mangle]
pub unsafe extern "C" fn kmse_caching_options_free(options: *mut kmse_caching_options) {
    // SAFETY: the C caller passes NULL or options from this library, once.
    unsafe { free_handle(options) }
}

fn caching_cmm(
    underlying: Arc<dyn MaterialsManager>,
    options: &kmse_caching_options,
) -> FfiResult<*mut kmse_cmm> {
    let mut builder =
        CachingMaterialsManager::builder(options.max_age).materials_manager(underlying);
    if let Some(cache) = &options.cache {
        builder = builder.cache(cache.clone());
    }
    if let Some(n) = options.max_messages {
        builder = builder.max_messages(n);
    }
    if let Some(n) = options.max_bytes {
        builder = builder.max_bytes(n);
    }
    if let Some(p) = &options.partition_id {
        builder = builder.partition_id(p.clone());
    }
    Ok(into_handle(kmse_cmm {
        inner: Arc::new(builder.build()?),
    }))
}

/// Makes a caching materials manager over a keyring (through a default
/// CMM): it reuses data keys, so that fewer calls reach the key service.
///
/// Encryption materials are reused for at most the maximum age, number of
/// messages and number of plaintext bytes of the options, for messages of
/// the same encryption context and suite. Reuse needs the plaintext length
/// up front: one-shot `kmse_encrypt_with_cmm`, and encryptors given a
/// `plaintext_length` (with `KMSE_PLAINTEXT_LENGTH_UNKNOWN` every message
/// gets a new data key). Decryption materials are reused, for at most the
/// maximum age, for messages with the same encrypted data keys and context.
/// Materials of the three suites without key derivation (0x0014, 0x0046,
/// 0x0078) are never cached, since reusing their data key would reuse the
/// AES-GCM key itself.
///
/// - `keyring`: borrowed; the CMM keeps its own reference.
/// - `options`: borrowed (copied).
/// - `cmm_out`: receives a new CMM owned by the caller; free it with
///   `kmse_cmm_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_cmm_new_caching(
    keyring: *const kmse_keyring,
    options: *const kmse_caching_options,
    cmm_out: *mut *mut kmse_cmm,
) -> kmse_status {
    guard("kmse_cmm_new_caching", || {
        // SAFETY: a live keyring, live options, a valid out-pointer, each or
        // NULL (API contract).
        let (keyring, options, cmm_out) = unsafe {
            (
                handle(keyring, "keyring")?,
                handle(options, "options")?,
                out(cmm_out, "cmm_out")?,
            )
        };
        let underlying = Arc::new(DefaultMaterialsManager::new(keyring.inner.clone()));
        cmm_out.write(caching_cmm(underlying, options)?);
        Ok(())
    })
}

/// Makes a caching materials manager over another CMM (e.g. a
/// required-encryption-context CMM): as `kmse_cmm_new_caching`, asking
/// `underlying` for materials on a miss.
///
/// - `underlying`: borrowed; the new CMM keeps its own reference.
/// - `options`: borrowed (copied).
/// - `cmm_out`: receives a new CMM owned by the caller; free it with
///   `kmse_cmm_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_cmm_new_caching_with_cmm(
    underlying: *const kmse_cmm,
    options: *const kmse_caching_options,
    cmm_out: *mut *mut kmse_cmm,
) -> kmse_status {
    guard("kmse_cmm_new_caching_with_cmm", || {
        // SAFETY: a live CMM, live options, a valid out-pointer, each or
        // NULL (API contract).
        let (underlying, options, cmm_out) = unsafe {
            (
                handle(underlying, "underlying")?,
                handle(options, "options")?,
                out(cmm_out, "cmm_out")?,
            )
        };
        cmm_out.write(caching_cmm(underlying.inner.clone(), options)?);
        Ok(())
    })
}
