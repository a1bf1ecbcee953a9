//! Core errors as the Python exception classes of `kms_envelope.exceptions`,
//! and Python exceptions raised inside keyring callbacks as core errors.
//!
//! The exception classes are defined in Python (`python/kms_envelope/exceptions.py`)
//! and imported here, so `except kms_envelope.Error` works for every failure.
//!
//! A Python keyring runs inside a core call on the calling thread. When its
//! method raises, the exception is kept in a thread-local slot while the core
//! unwinds with a matching core error; [`run_core`] then raises the
//! kms_envelope exception for the final core error with the original exception
//! chained as its `__cause__` (or re-raises the original when it is not an
//! `Exception`, e.g. `KeyboardInterrupt`).
//!
//! A `KeyboardInterrupt` (or any other exception that is not an
//! `Exception`) ends the whole call: no further Python callback of that call
//! runs, and the call raises it even where the core recovered (a multi-keyring
//! whose next member unwrapped the key), so Ctrl-C is never swallowed.

use std::cell::RefCell;

use kms_envelope::{AuthFailure, Error as CoreError, ErrorKind};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyString;

pub(crate) mod exc {
    //! The exception classes of `kms_envelope.exceptions`.
    #![allow(missing_docs)]
    pyo3::import_exception!(kms_envelope.exceptions, Error);
    pyo3::import_exception!(kms_envelope.exceptions, MalformedMessageError);
    pyo3::import_exception!(kms_envelope.exceptions, AuthenticationError);
    pyo3::import_exception!(kms_envelope.exceptions, NoKeyUnwrappedError);
    pyo3::import_exception!(kms_envelope.exceptions, PolicyViolationError);
    pyo3::import_exception!(kms_envelope.exceptions, KmsError);
    pyo3::import_exception!(kms_envelope.exceptions, BadArgumentError);
    pyo3::import_exception!(kms_envelope.exceptions, IoError);
}

/// The Python exception for a core error.
pub(crate) fn to_py(err: CoreError) -> PyErr {
    let message = err.to_string();
    to_py_with_message(err, message)
}

/// The Python exception of `err`'s class, with `message`.
fn to_py_with_message(err: CoreError, message: String) -> PyErr {
    match err {
        CoreError::MalformedMessage(_) => exc::MalformedMessageError::new_err(message),
        CoreError::AuthenticationFailed(_) => exc::AuthenticationError::new_err(message),
        CoreError::NoKeyUnwrapped(reasons) => exc::NoKeyUnwrappedError::new_err((message, reasons)),
        CoreError::PolicyViolation(_) => exc::PolicyViolationError::new_err(message),
        CoreError::Kms { code, .. } => exc::KmsError::new_err((message, code)),
        CoreError::BadArgument(_) => exc::BadArgumentError::new_err(message),
        CoreError::Io(_) => exc::IoError::new_err(message),
        _ => exc::Error::new_err(message),
    }
}

/// A `BadArgumentError` with this message.
pub(crate) fn bad_arg(message: impl Into<String>) -> PyErr {
    exc::BadArgumentError::new_err(message.into())
}

/// A Python exception raised by a keyring callback, kept until the core call
/// that ran the callback returns.
struct Pending {
    err: PyErr,
    kind: ErrorKind,
    /// The message to raise instead of the core's, when the core error
    /// cannot carry the callback's text (an `AuthenticationError`).
    message: Option<String>,
    /// The text the core error carried (each reason of a no-key error): the
    /// call's final error holds it if this exception led to it, and not if
    /// the core recovered (a multi-keyring went on to another keyring) and
    /// failed later for another reason.
    marks: Vec<String>,
}

impl Pending {
    /// Whether this is a `KeyboardInterrupt`, `SystemExit`, ...: not an
    /// `Exception`, so never wrapped, never swallowed.
    fn interrupts(&self, py: Python<'_>) -> bool {
        !self.err.is_instance_of::<PyException>(py)
    }
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Converts an exception raised by a Python keyring method into the core
/// error that carries it through the core, and remembers the exception (the
/// first one of the current call wins).
///
/// kms_envelope exceptions keep their kind (`KmsError` keeps its `code`);
/// any other `Exception` becomes a KMS failure whose code is the
/// exception's class name.
pub(crate) fn from_callback(py: Python<'_>, err: PyErr, method: &str) -> CoreError {
    let value = err.value(py);
    let text = match value.str() {
        Ok(s) => s.to_string(),
        Err(e) => {
            keep_interrupt(py, e);
            "<unprintable exception>".into()
        }
    };
    let class = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    // This package's own errors carry their kind's prefix, which the core
    // error adds again.
    let text = without_kind_prefix(py, &err, &text).to_owned();
    let detail = if text.is_empty() {
        format!("keyring {method} raised {class}")
    } else {
        format!("keyring {method} failed: {text}")
    };
    let core = if err.is_instance_of::<exc::KmsError>(py) {
        // A KmsError raised without a code: its class name, as for any
        // other exception (never an empty code).
        let code = value
            .getattr("code")
            .ok()
            .and_then(|c| c.cast_into::<PyString>().ok())
            .map(|c| c.to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| class.clone());
        CoreError::Kms {
            code,
            message: detail,
        }
    } else if err.is_instance_of::<exc::NoKeyUnwrappedError>(py) {
        // The keyring's own reasons, one per key it tried, when it gave any.
        let reasons: Vec<String> = value
            .getattr("reasons")
            .ok()
            .and_then(|r| r.extract::<Vec<String>>().ok())
            .unwrap_or_default()
            .into_iter()
            .map(|r| format!("keyring {method}: {r}"))
            .collect();
        CoreError::NoKeyUnwrapped(if reasons.is_empty() {
            vec![detail]
        } else {
            reasons
        })
    } else if err.is_instance_of::<exc::MalformedMessageError>(py) {
        CoreError::MalformedMessage(detail)
    } else if err.is_instance_of::<exc::AuthenticationError>(py) {
        // The core's authentication failures name a part of the message;
        // this one is the keyring's, so it is raised with the keyring's text.
        let message = format!("authentication failed: {detail}");
        return record_with(
            py,
            err,
            CoreError::AuthenticationFailed(AuthFailure::Keyring),
            Some(message),
        );
    } else if err.is_instance_of::<exc::PolicyViolationError>(py) {
        CoreError::PolicyViolation(detail)
    } else if err.is_instance_of::<exc::BadArgumentError>(py) {
        CoreError::BadArgument(detail)
    } else if err.is_instance_of::<exc::IoError>(py) {
        CoreError::Io(std::io::Error::other(detail))
    } else {
        CoreError::Kms {
            code: class,
            message: detail,
        }
    };
    record(py, err, core)
}

/// The text of `err` without the words its class's core error adds again
/// ("bad argument: ", "KMS error Code: ", "no keyring could unwrap a data
/// key (...)"); other exceptions' text as it is.
fn without_kind_prefix<'t>(py: Python<'_>, err: &PyErr, text: &'t str) -> &'t str {
    let prefix = if err.is_instance_of::<exc::MalformedMessageError>(py) {
        "malformed message: "
    } else if err.is_instance_of::<exc::AuthenticationError>(py) {
        "authentication failed: "
    } else if err.is_instance_of::<exc::PolicyViolationError>(py) {
        "policy violation: "
    } else if err.is_instance_of::<exc::BadArgumentError>(py) {
        "bad argument: "
    } else if err.is_instance_of::<exc::IoError>(py) {
        "I/O error: "
    } else if err.is_instance_of::<exc::KmsError>(py) {
        return text
            .strip_prefix("KMS error ")
            .and_then(|rest| rest.split_once(": "))
            .map_or(text, |(_, message)| message);
    } else if err.is_instance_of::<exc::NoKeyUnwrappedError>(py) {
        return text
            .strip_prefix("no keyring could unwrap a data key")
            .map_or(text, |rest| {
                let rest = rest.trim();
                rest.strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or(rest)
            });
    } else {
        return text;
    };
    text.strip_prefix(prefix).unwrap_or(text)
}

/// Remembers `err`, raised while this package's own code looked at an
/// exception or a response (a `__str__`, a property), if it is a
/// `KeyboardInterrupt` or another non-`Exception`: Ctrl-C is never
/// swallowed. Ordinary exceptions there are the caller's to ignore.
pub(crate) fn keep_interrupt(py: Python<'_>, err: PyErr) {
    if !err.is_instance_of::<PyException>(py) {
        record(
            py,
            err,
            CoreError::Kms {
                code: "Interrupted".to_owned(),
                message: "interrupted".to_owned(),
            },
        );
    }
}

/// Remembers `err` (raised by Python code the core called) as the cause of
/// `core`, the error that carries it through the core; returns `core`.
pub(crate) fn record(py: Python<'_>, err: PyErr, core: CoreError) -> CoreError {
    record_with(py, err, core, None)
}

/// [`record`], raising `message` instead of the core error's own.
fn record_with(py: Python<'_>, err: PyErr, core: CoreError, message: Option<String>) -> CoreError {
    let marks = match &core {
        CoreError::NoKeyUnwrapped(reasons) => reasons.clone(),
        // A KMS keyring words a KMS error as "<key>: <code>: <message>".
        CoreError::Kms { message, .. } if !message.is_empty() => vec![message.clone()],
        other => vec![other.to_string()],
    };
    let new = Pending {
        err,
        kind: core.kind(),
        message,
        marks,
    };
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        // The first exception wins, except that an interrupt outranks any
        // ordinary exception before it.
        let keep = p
            .as_ref()
            .is_some_and(|old| old.interrupts(py) || !new.interrupts(py));
        if !keep {
            *p = Some(new);
        }
    });
    core
}

/// The error that refuses a Python callback once an earlier callback of the
/// same call raised `KeyboardInterrupt` (or another non-`Exception`), so
/// Ctrl-C is not followed by more Python code (another keyring, another
/// KMS call); `None` otherwise. The caller never sees it: [`run_core`]
/// raises the interrupt itself.
pub(crate) fn interrupted(py: Python<'_>) -> Option<CoreError> {
    PENDING.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|pending| pending.interrupts(py))
            .map(|_| CoreError::Kms {
                code: "Interrupted".to_owned(),
                message: "interrupted".to_owned(),
            })
    })
}

/// Runs a blocking core call with the GIL released, then turns its error
/// into a kms_envelope exception, chaining the exception of a keyring
/// callback that caused it.
///
/// Nested calls (a Python keyring calling a native keyring) keep the outer
/// call's pending exception.
pub(crate) fn run_core<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: Send + FnOnce() -> Result<T, CoreError>,
    T: Send,
{
    crate::host_hash::install(py);
    let saved = PENDING.with(|p| p.borrow_mut().take());
    let result = py.detach(f);
    let pending = PENDING.with(|p| std::mem::replace(&mut *p.borrow_mut(), saved));
    match (result, pending) {
        // KeyboardInterrupt, SystemExit, ...: not ours to wrap, and raised
        // even when the core recovered from it (the result, plaintext
        // included, is dropped and wiped).
        (_, Some(pending)) if pending.interrupts(py) => Err(pending.err),
        (Ok(value), _) => Ok(value),
        (Err(err), pending) => {
            let kind = err.kind();
            let text = err.to_string();
            let Some(pending) =
                pending.filter(|p| p.marks.iter().any(|m| text.contains(m.as_str())))
            else {
                return Err(to_py(err));
            };
            let py_err = match pending.message {
                Some(message) if pending.kind == kind => to_py_with_message(err, message),
                _ => to_py(err),
            };
            if pending.kind == kind || kind == ErrorKind::NoKeyUnwrapped {
                py_err.set_cause(py, Some(pending.err));
            }
            Err(py_err)
        }
    }
}

/// Like [`run_core`] for calls that need not release the GIL: maps the error.
pub(crate) fn core_result<T>(result: Result<T, CoreError>) -> PyResult<T> {
    result.map_err(to_py)
}
