//! The crate's one error type.
//!
//! Every front end maps [`ErrorKind`] the same way (a Python exception class,
//! a JS `code`, a C status, a CLI exit status). Failures that an attacker could
//! use as an oracle (a tag, the commitment key or a signature) are reported as
//! [`Error::AuthenticationFailed`] with only the coarse place that noticed it,
//! never which byte was wrong.

use std::fmt;

/// Every error this crate returns.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed message (bad field, bad length,
    /// truncated, trailing bytes, unknown suite, base64 instead of binary).
    MalformedMessage(String),
    /// A tag, the key commitment or the signature did not verify.
    AuthenticationFailed(AuthFailure),
    /// No keyring could unwrap any of the message's encrypted data keys.
    /// Holds one line per attempt that failed, for diagnosis.
    NoKeyUnwrapped(Vec<String>),
    /// A configured policy refused the operation: commitment policy, too many
    /// encrypted data keys, encryption-context mismatch, a missing required
    /// key, signed message in unsigned-only mode, a stream limit. (A
    /// reserved `aws-crypto-` key in a caller's context is a
    /// [`BadArgument`](Error::BadArgument).)
    PolicyViolation(String),
    /// A key-management service refused or failed a call.
    Kms {
        /// The service's error code, e.g. `AccessDeniedException`.
        code: String,
        /// The service's message.
        message: String,
    },
    /// The caller passed an invalid argument (wrong key length, bad PEM,
    /// frame length 0, ...).
    BadArgument(String),
    /// Reading or writing a stream failed.
    Io(std::io::Error),
}

/// Where an authentication failure was noticed. Deliberately coarse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The key commitment in a v2 header does not match the data key.
    Commitment,
    /// The header authentication tag does not verify.
    Header,
    /// A body frame's (or the non-framed body's) tag does not verify.
    Body,
    /// The footer's ECDSA signature does not verify.
    Signature,
    /// A custom keyring reported an authentication failure of its own (an
    /// HSM's check of a wrapped key, say). Python keyrings raising
    /// `AuthenticationError` give it (raised with the keyring's text); the
    /// C and JavaScript front ends report a keyring's authentication
    /// failure as a KMS error instead.
    Keyring,
}

/// The stable category of an [`Error`], shared by every front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::MalformedMessage`].
    MalformedMessage,
    /// See [`Error::AuthenticationFailed`].
    AuthenticationFailed,
    /// See [`Error::NoKeyUnwrapped`].
    NoKeyUnwrapped,
    /// See [`Error::PolicyViolation`].
    PolicyViolation,
    /// See [`Error::Kms`].
    Kms,
    /// See [`Error::BadArgument`].
    BadArgument,
    /// See [`Error::Io`].
    Io,
}

impl ErrorKind {
    /// A stable snake_case name, used by the CLI and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MalformedMessage => "malformed_message",
            ErrorKind::AuthenticationFailed => "authentication_failed",
            ErrorKind::NoKeyUnwrapped => "no_key_unwrapped",
            ErrorKind::PolicyViolation => "policy_violation",
            ErrorKind::Kms => "kms_error",
            ErrorKind::BadArgument => "bad_argument",
            ErrorKind::Io => "io_error",
        }
    }
}

impl Error {
    /// This error's stable category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::MalformedMessage(_) => ErrorKind::MalformedMessage,
            Error::AuthenticationFailed(_) => ErrorKind::AuthenticationFailed,
            Error::NoKeyUnwrapped(_) => ErrorKind::NoKeyUnwrapped,
            Error::PolicyViolation(_) => ErrorKind::PolicyViolation,
            Error::Kms { .. } => ErrorKind::Kms,
            Error::BadArgument(_) => ErrorKind::BadArgument,
            Error::Io(_) => ErrorKind::Io,
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Error::MalformedMessage(msg.into())
    }

    pub(crate) fn policy(msg: impl Into<String>) -> Self {
        Error::PolicyViolation(msg.into())
    }

    pub(crate) fn bad_arg(msg: impl Into<String>) -> Self {
        Error::BadArgument(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MalformedMessage(m) => write!(f, "malformed message: {m}"),
            Error::AuthenticationFailed(what) => {
                let place = match what {
                    AuthFailure::Commitment => "key commitment does not match",
                    AuthFailure::Header => "header authentication failed",
                    AuthFailure::Body => "message body authentication failed",
                    AuthFailure::Signature => "signature verification failed",
                    AuthFailure::Keyring => "a keyring's own check failed",
                };
                write!(f, "authentication failed: {place}")
            }
            Error::NoKeyUnwrapped(attempts) => {
                write!(f, "no keyring could unwrap a data key")?;
                if !attempts.is_empty() {
                    write!(f, " ({})", AttemptList(attempts))?;
                }
                Ok(())
            }
            Error::PolicyViolation(m) => write!(f, "policy violation: {m}"),
            Error::Kms { code, message } => write!(f, "KMS error {code}: {message}"),
            Error::BadArgument(m) => write!(f, "bad argument: {m}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

/// The reasons of [`Error::NoKeyUnwrapped`] for a message: equal reasons
/// once, with their count, and at most [`AttemptList::SHOWN`] different
/// ones (a hostile message can list 65,535 wrapped keys; the error stays
/// readable). The full list stays in the variant.
struct AttemptList<'a>(&'a [String]);

impl AttemptList<'_> {
    const SHOWN: usize = 10;
}

impl fmt::Display for AttemptList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut distinct: Vec<(&str, usize)> = Vec::new();
        for attempt in self.0 {
            if let Some((_, count)) = distinct
                .iter_mut()
                .find(|(text, _)| *text == attempt.as_str())
            {
                *count += 1;
            } else if distinct.len() <= Self::SHOWN {
                distinct.push((attempt, 1));
            }
        }
        let shown = distinct.len().min(Self::SHOWN);
        for (i, (text, count)) in distinct.iter().take(shown).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(text)?;
            if *count > 1 {
                write!(f, " ({count} times)")?;
            }
        }
        let listed: usize = distinct.iter().take(shown).map(|(_, n)| n).sum();
        if listed < self.0.len() {
            write!(f, "; and {} more", self.0.len() - listed)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn no_key_unwrapped_groups_and_caps_its_reasons() {
        let mut reasons = vec!["raw AES a/b: unwrap failed".to_owned(); 65_535];
        reasons.push("raw RSA c/d: unwrap failed".to_owned());
        let text = Error::NoKeyUnwrapped(reasons).to_string();
        assert_eq!(
            text,
            "no keyring could unwrap a data key (raw AES a/b: unwrap failed (65535 times); raw RSA c/d: unwrap failed)"
        );
        let many: Vec<String> = (0..40).map(|i| format!("reason {i}")).collect();
        let text = Error::NoKeyUnwrapped(many).to_string();
        assert!(text.ends_with("reason 9; and 30 more)"), "{text}");
        assert_eq!(
            Error::NoKeyUnwrapped(vec!["one".into()]).to_string(),
            "no keyring could unwrap a data key (one)"
        );
    }
}
