//! Status codes, the per-thread last error message and the panic boundary.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use kms_envelope::{Error, ErrorKind};

/// The result of every fallible function: `KMSE_STATUS_OK` (0) or the kind
/// of failure. The numbers are stable: they are never changed or reused.
/// Codes 3 to 9 are the core's error kinds and equal the exit statuses of the
/// `kms-envelope` command; 100 and up are C-specific.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kmse_status {
    /// Success.
    Ok = 0,
    /// The caller passed an invalid argument: a wrong key length, a bad PEM
    /// key, an unknown suite id, a string that is not UTF-8, a call on a
    /// finished or failed stream, ...
    BadArgument = 3,
    /// Reading or writing failed.
    IoError = 4,
    /// The input is not a well-formed message (truncated, trailing bytes,
    /// unknown suite, bad field).
    MalformedMessage = 5,
    /// A tag, the key commitment or the signature did not verify.
    AuthenticationFailed = 6,
    /// No keyring could unwrap any of the message's encrypted data keys.
    NoKeyUnwrapped = 7,
    /// A policy refused the operation: commitment policy, too many encrypted
    /// data keys, encryption context mismatch or missing required key,
    /// signed message refused by `unsigned_only`.
    PolicyViolation = 8,
    /// A key-management service (or a custom keyring) failed.
    KmsError = 9,
    /// A required pointer argument was NULL.
    NullArgument = 100,
    /// An internal error (a Rust panic) was caught at the C boundary. This is
    /// a bug in the library; the message says where.
    Panic = 101,
    /// The core returned an error kind this version of the C binding does
    /// not know.
    UnknownError = 102,
}

impl kmse_status {
    /// The status a core error kind maps to.
    pub(crate) fn of_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::BadArgument => Self::BadArgument,
            ErrorKind::Io => Self::IoError,
            ErrorKind::MalformedMessage => Self::MalformedMessage,
            ErrorKind::AuthenticationFailed => Self::AuthenticationFailed,
            ErrorKind::NoKeyUnwrapped => Self::NoKeyUnwrapped,
            ErrorKind::PolicyViolation => Self::PolicyViolation,
            ErrorKind::Kms => Self::KmsError,
            _ => Self::UnknownError,
        }
    }

    /// The status with this number, if there is one.
    pub(crate) fn from_c_int(value: c_int) -> Option<Self> {
        [
            Self::Ok,
            Self::BadArgument,
            Self::IoError,
            Self::MalformedMessage,
            Self::AuthenticationFailed,
            Self::NoKeyUnwrapped,
            Self::PolicyViolation,
            Self::KmsError,
            Self::NullArgument,
            Self::Panic,
            Self::UnknownError,
        ]
        .into_iter()
        .find(|s| *s as c_int == value)
    }
}

/// A failed call: the status to return and the message to record.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: kmse_status,
    pub(crate) message: String,
    /// The key service's error code, for `KMSE_STATUS_KMS_ERROR`.
    pub(crate) kms_code: Option<String>,
}

impl Failure {
    pub(crate) fn null(what: &str) -> Self {
        Self {
            status: kmse_status::NullArgument,
            message: format!("argument `{what}` is NULL"),
            kms_code: None,
        }
    }

    pub(crate) fn bad_arg(message: impl Into<String>) -> Self {
        Self {
            status: kmse_status::BadArgument,
            message: message.into(),
            kms_code: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let kms_code = match &e {
            Error::Kms { code, .. } => Some(code.clone()),
            _ => None,
        };
        Self {
            status: kmse_status::of_kind(e.kind()),
            message: e.to_string(),
            kms_code,
        }
    }
}

/// The result of the body of an entry point.
pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

/// The last failure of a thread, as handed to C.
struct LastError {
    message: CString,
    kms_code: Option<CString>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// `s` as a C string, an embedded NUL shown as `\0`.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn set_last_error(message: Option<String>, kms_code: Option<&str>) {
    let error = message.map(|m| LastError {
        message: c_string(&m),
        kms_code: kms_code.map(c_string),
    });
    // Never panics: if the thread is exiting or the cell is busy, the
    // message is dropped.
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = error;
        }
    });
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// Takes this thread's last error out of its slot, leaving none.
fn take_last_error() -> Option<LastError> {
    LAST_ERROR
        .try_with(|cell| cell.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
        .ok()
        .flatten()
}

/// Runs the body of an entry point that returns a status: clears the
/// thread's last error, catches panics, records the message of a failure
/// prefixed with the function's name.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> FfiResult) -> kmse_status {
    // The previous error is cleared but kept alive until this call returns:
    // an argument may be the very string `kmse_last_error_message()` gave
    // (a custom keyring forwarding the library's reason), which must not be
    // freed before the body has read it.
    let _previous = take_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            // A failed call made inside this one (from a custom keyring's
            // callback) must not show through its success.
            set_last_error(None, None);
            kmse_status::Ok
        }
        Ok(Err(failure)) => {
            set_last_error(
                Some(format!("{function}: {}", failure.message)),
                failure.kms_code.as_deref(),
            );
            failure.status
        }
        Err(payload) => {
            let text = panic_text(&*payload);
            // Dropping the payload runs foreign code: keep it inside a boundary.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            set_last_error(
                Some(format!(
                    "{function}: internal error, a panic was caught at the C boundary ({text}); \
                     please report this bug"
                )),
                None,
            );
            kmse_status::Panic
        }
    }
}

/// Runs the body of an entry point that returns nothing (the `_free`
/// functions) inside a panic boundary. The last error is left alone.
pub(crate) fn guard_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    }
}

/// The error message of the last call on this thread that returned a
/// `kmse_status`: "" if it succeeded.
///
/// Ownership: the string belongs to the library. It stays valid until the
/// next call on this thread of a function that returns a `kmse_status`
/// returns (so it may be that call's argument, as when a custom keyring
/// passes it on to `kmse_encryption_materials_set_error`); copy it to keep
/// it longer. Never NULL. Each thread has its own message. (In a
/// `pthread_key_create` destructor, which runs after the library's
/// thread-local storage is gone, the message stays "" even after a
/// failure: rely on the status there.)
#[no_mangle]
pub extern "C" fn kmse_last_error_message() -> *const c_char {
    last_error_field(|e| Some(e.message.as_ptr()))
}

/// The key service's error code of the last call on this thread, when that
/// call returned `KMSE_STATUS_KMS_ERROR`: e.g. "NotFoundException",
/// "AccessDeniedException", "ThrottlingException", "RequestFailed" (the
/// service could not be reached), "InvalidResponse", or the code a custom
/// keyring reported ("CustomKeyringError" if it gave none). "" after any
/// other outcome. Decrypt failures where no key unwrapped
/// (`KMSE_STATUS_NO_KEY_UNWRAPPED`) have no code here: their message lists
/// each key tried with the service's code and message.
///
/// Ownership and lifetime: as for `kmse_last_error_message`.
#[no_mangle]
pub extern "C" fn kmse_last_error_kms_code() -> *const c_char {
    last_error_field(|e| e.kms_code.as_ref().map(|c| c.as_ptr()))
}

/// A field of this thread's last error, or "".
fn last_error_field(field: fn(&LastError) -> Option<*const c_char>) -> *const c_char {
    let found = catch_unwind(|| {
        LAST_ERROR
            .try_with(|cell| {
                cell.try_borrow()
                    .ok()
                    .and_then(|slot| slot.as_ref().and_then(field))
            })
            .ok()
            .flatten()
    });
    match found {
        Ok(Some(ptr)) => ptr,
        _ => c"".as_ptr(),
    }
}

/// The name of a status, e.g. "KMSE_STATUS_OK", or "KMSE_STATUS_(unknown)"
/// for a number that is not a status.
///
/// Takes an `int` so that any value is safe to pass. Ownership: a static
/// string; never NULL, never freed.
#[no_mangle]
pub extern "C" fn kmse_status_name(status: c_int) -> *const c_char {
    catch_unwind(|| status_name(status))
        .unwrap_or(c"KMSE_STATUS_(unknown)")
        .as_ptr()
}

fn status_name(status: c_int) -> &'static std::ffi::CStr {
    match kmse_status::from_c_int(status) {
        Some(kmse_status::Ok) => c"KMSE_STATUS_OK",
        Some(kmse_status::BadArgument) => c"KMSE_STATUS_BAD_ARGUMENT",
        Some(kmse_status::IoError) => c"KMSE_STATUS_IO_ERROR",
        Some(kmse_status::MalformedMessage) => c"KMSE_STATUS_MALFORMED_MESSAGE",
        Some(kmse_status::AuthenticationFailed) => c"KMSE_STATUS_AUTHENTICATION_FAILED",
        Some(kmse_status::NoKeyUnwrapped) => c"KMSE_STATUS_NO_KEY_UNWRAPPED",
        Some(kmse_status::PolicyViolation) => c"KMSE_STATUS_POLICY_VIOLATION",
        Some(kmse_status::KmsError) => c"KMSE_STATUS_KMS_ERROR",
        Some(kmse_status::NullArgument) => c"KMSE_STATUS_NULL_ARGUMENT",
        Some(kmse_status::Panic) => c"KMSE_STATUS_PANIC",
        Some(kmse_status::UnknownError) => c"KMSE_STATUS_UNKNOWN_ERROR",
        None => c"KMSE_STATUS_(unknown)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: kmse_last_error_message never returns NULL and the string
        // stays valid until the next status-returning call on this thread.
        unsafe { CStr::from_ptr(kmse_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard("kmse_test", || panic!("boom"));
        assert_eq!(status, kmse_status::Panic);
        assert!(last().contains("kmse_test: internal error"));
        assert!(last().contains("boom"));
        assert_eq!(guard("kmse_test", || Ok(())), kmse_status::Ok);
        assert_eq!(last(), "");
        guard_void(|| panic!("in a free function"));
    }

    #[test]
    fn core_errors_keep_their_kind() {
        let status = guard("kmse_test", || {
            Err(Error::NoKeyUnwrapped(vec!["nothing matched".into()]).into())
        });
        assert_eq!(status, kmse_status::NoKeyUnwrapped);
        assert!(last().contains("nothing matched"));
        let status = guard("kmse_test", || Err(Failure::bad_arg("with a \0 inside")));
        assert_eq!(status, kmse_status::BadArgument);
        assert!(last().ends_with("with a \\0 inside"));
    }

    fn kms_code() -> String {
        // SAFETY: never NULL, valid until the next status-returning call.
        unsafe { CStr::from_ptr(kmse_last_error_kms_code()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn kms_failures_keep_the_service_code() {
        let status = guard("kmse_test", || {
            Err(Error::Kms {
                code: "ThrottlingException".into(),
                message: "slow down".into(),
            }
            .into())
        });
        assert_eq!(status, kmse_status::KmsError);
        assert_eq!(kms_code(), "ThrottlingException");
        assert_eq!(
            last(),
            "kmse_test: KMS error ThrottlingException: slow down"
        );
        assert_eq!(
            guard("kmse_test", || Err(Failure::bad_arg("x"))),
            kmse_status::BadArgument
        );
        assert_eq!(kms_code(), "");
        guard("kmse_test", || {
            Err(Error::Kms {
                code: "A".into(),
                message: "b".into(),
            }
            .into())
        });
        assert_eq!(guard("kmse_test", || Ok(())), kmse_status::Ok);
        assert_eq!(kms_code(), "");
    }

    #[test]
    fn every_status_has_a_name_and_round_trips() {
        for n in -1..200 {
            // SAFETY: kmse_status_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(kmse_status_name(n)) };
            let name = name.to_str().unwrap_or_default();
            assert!(name.starts_with("KMSE_STATUS_"));
            if let Some(s) = kmse_status::from_c_int(n) {
                assert_eq!(s as c_int, n);
                assert!(!name.contains("unknown)"));
            }
        }
    }
}
