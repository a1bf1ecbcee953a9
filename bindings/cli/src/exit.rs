//! Exit statuses and the CLI's error type.
//!
//! Every failure ends the process with one line on stderr
//! (`kms-envelope: error: ...`) and a status that tells scripts what kind of
//! failure it was. The statuses are stable: never renumber them.

use std::fmt;
use std::path::Path;

use kms_envelope::ErrorKind;

/// The process exit status, one per kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// Everything worked (for `vectors`: every case passed).
    Success = 0,
    /// Generic failure; `vectors`: at least one case failed.
    Failure = 1,
    /// Usage error reported by the argument parser (unknown flag, missing
    /// argument, a value that does not parse).
    Usage = 2,
    /// A value that parsed but was refused: key file contents, reserved
    /// encryption-context key, wrong key length, bad manifest, ...
    BadArgument = 3,
    /// Reading or writing a file or a standard stream failed.
    Io = 4,
    /// The input is not a well-formed message (truncated, garbage, base64).
    MalformedMessage = 5,
    /// A tag, the key commitment or the signature did not verify.
    AuthenticationFailed = 6,
    /// No given key could unwrap any of the message's data keys.
    NoKeyUnwrapped = 7,
    /// A policy refused the operation: commitment policy, too many
    /// encrypted data keys, encryption-context mismatch or missing key, a
    /// signed message under --unsigned-only, a frame or body above its
    /// limit, too much plaintext held before the signature.
    PolicyViolation = 8,
    /// A key-management service failed or refused.
    Kms = 9,
}

impl Status {
    /// The numeric exit status.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status for a core error kind.
    pub fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::MalformedMessage => Status::MalformedMessage,
            ErrorKind::AuthenticationFailed => Status::AuthenticationFailed,
            ErrorKind::NoKeyUnwrapped => Status::NoKeyUnwrapped,
            ErrorKind::PolicyViolation => Status::PolicyViolation,
            ErrorKind::Kms => Status::Kms,
            ErrorKind::BadArgument => Status::BadArgument,
            ErrorKind::Io => Status::Io,
            _ => Status::Failure,
        }
    }
}

/// A failure of one command: an exit status and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The exit status.
    pub status: Status,
    /// What went wrong, for humans.
    pub message: String,
}

impl CliError {
    /// An error with `status` and `message`.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A refused argument (exit status 3).
    pub fn bad_arg(message: impl Into<String>) -> Self {
        Self::new(Status::BadArgument, message)
    }

    /// An I/O failure on `path` (exit status 4).
    pub fn io(what: &str, path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            Status::Io,
            format!("cannot {what} '{}': {err}", path.display()),
        )
    }

    /// Prefixes the message with some context, keeping the status.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always one line, whatever the message holds.
        let one_line: String = self
            .message
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        f.write_str(&one_line)
    }
}

impl std::error::Error for CliError {}

impl From<kms_envelope::Error> for CliError {
    fn from(e: kms_envelope::Error) -> Self {
        Self::new(Status::from_kind(e.kind()), e.to_string())
    }
}

/// Shorthand for results of CLI commands.
pub type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_stable() {
        let table = [
            (Status::Success, 0),
            (Status::Failure, 1),
            (Status::Usage, 2),
            (Status::BadArgument, 3),
            (Status::Io, 4),
            (Status::MalformedMessage, 5),
            (Status::AuthenticationFailed, 6),
            (Status::NoKeyUnwrapped, 7),
            (Status::PolicyViolation, 8),
            (Status::Kms, 9),
        ];
        for (status, code) in table {
            assert_eq!(status.code(), code);
        }
    }

    #[test]
    fn messages_are_one_line() {
        let e = CliError::bad_arg("a\nb\r\nc");
        assert_eq!(e.to_string(), "a b  c");
    }
}
