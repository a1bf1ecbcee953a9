//! Encrypted data keys, as stored in the message header.

use std::fmt;

/// One wrapped copy of the data key, made by one keyring.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EncryptedDataKey {
    /// Who wrote it: the raw keyrings' key namespace, `aws-kms`, ...
    pub provider_id: String,
    /// Provider-specific key information (a key name, an ARN, ...).
    pub provider_info: Vec<u8>,
    /// The wrapped data key.
    pub ciphertext: Vec<u8>,
}

impl EncryptedDataKey {
    /// Builds an encrypted data key.
    pub fn new(
        provider_id: impl Into<String>,
        provider_info: impl Into<Vec<u8>>,
        ciphertext: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            provider_id: provider_id.into(),
            provider_info: provider_info.into(),
            ciphertext: ciphertext.into(),
        }
    }
}

impl fmt::Debug for EncryptedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedDataKey")
            .field("provider_id", &self.provider_id)
            .field(
                "provider_info",
                &String::from_utf8_lossy(&self.provider_info),
            )
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}
