//! Commitment policy: which suites encrypt may write and decrypt may read.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::suite::AlgorithmSuite;

/// Whether messages must use key-committing suites.
///
/// The default, [`CommitmentPolicy::RequireEncryptRequireDecrypt`], writes and
/// reads only committing suites (`0x0478`, `0x0578`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CommitmentPolicy {
    /// Encrypt with non-committing suites only; decrypt anything. For writing
    /// messages that SDKs older than ESDK 1.7 / 2.0 can read.
    ForbidEncryptAllowDecrypt,
    /// Encrypt with committing suites only; decrypt anything. For migrating.
    RequireEncryptAllowDecrypt,
    /// Encrypt and decrypt committing suites only (default).
    #[default]
    RequireEncryptRequireDecrypt,
}

impl CommitmentPolicy {
    /// The ESDK name, e.g. `REQUIRE_ENCRYPT_REQUIRE_DECRYPT`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ForbidEncryptAllowDecrypt => "FORBID_ENCRYPT_ALLOW_DECRYPT",
            Self::RequireEncryptAllowDecrypt => "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
            Self::RequireEncryptRequireDecrypt => "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
        }
    }

    /// The suite used when encrypt is not given one.
    pub fn default_suite(self) -> AlgorithmSuite {
        match self {
            // message-format.md section 18 item 3: the deployed SDKs use 0x0378.
            Self::ForbidEncryptAllowDecrypt => AlgorithmSuite::AesGcm256HkdfSha384EcdsaP384,
            _ => AlgorithmSuite::AesGcm256HkdfSha512CommitKeyEcdsaP384,
        }
    }

    /// Whether encrypt may write `suite`.
    pub fn allows_encrypt(self, suite: AlgorithmSuite) -> bool {
        match self {
            Self::ForbidEncryptAllowDecrypt => !suite.is_committing(),
            _ => suite.is_committing(),
        }
    }

    /// Whether decrypt may read `suite`.
    pub fn allows_decrypt(self, suite: AlgorithmSuite) -> bool {
        match self {
            Self::RequireEncryptRequireDecrypt => suite.is_committing(),
            _ => true,
        }
    }

    /// [`Self::allows_encrypt`] as a result: the
    /// [`Error::PolicyViolation`] that encrypting with `suite` under this
    /// policy fails with, for front ends that check options before any
    /// keyring is called.
    ///
    /// ```
    /// use kms_envelope::{AlgorithmSuite, CommitmentPolicy, ErrorKind};
    /// let policy = CommitmentPolicy::RequireEncryptRequireDecrypt;
    /// let err = policy.check_encrypt(AlgorithmSuite::AesGcm256HkdfSha384EcdsaP384).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::PolicyViolation);
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::PolicyViolation`] if
    /// [`allows_encrypt`](Self::allows_encrypt) is false for `suite`.
    pub fn check_encrypt(self, suite: AlgorithmSuite) -> Result<()> {
        if self.allows_encrypt(suite) {
            Ok(())
        } else {
            let hint = if suite.is_committing() {
                "it encrypts only with suites without key commitment"
            } else {
                "a suite without key commitment needs FORBID_ENCRYPT_ALLOW_DECRYPT"
            };
            Err(Error::policy(format!(
                "commitment policy {} does not allow encrypting with suite {suite}: {hint}",
                self.name()
            )))
        }
    }

    pub(crate) fn check_decrypt(self, suite: AlgorithmSuite) -> Result<()> {
        if self.allows_decrypt(suite) {
            Ok(())
        } else {
            Err(Error::policy(format!(
                "commitment policy {} does not allow decrypting suite {suite}: a message \
                 without key commitment needs REQUIRE_ENCRYPT_ALLOW_DECRYPT or \
                 FORBID_ENCRYPT_ALLOW_DECRYPT",
                self.name()
            )))
        }
    }
}

impl fmt::Display for CommitmentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CommitmentPolicy {
    type Err = Error;

    /// Parses the ESDK name in any case, with `-` or `_`.
    fn from_str(s: &str) -> Result<Self> {
        let n = s.trim().to_ascii_uppercase().replace('-', "_");
        [
            Self::ForbidEncryptAllowDecrypt,
            Self::RequireEncryptAllowDecrypt,
            Self::RequireEncryptRequireDecrypt,
        ]
        .into_iter()
        .find(|p| p.name() == n)
        .ok_or_else(|| Error::bad_arg(format!("unknown commitment policy '{s}'")))
    }
}
