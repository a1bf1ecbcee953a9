//! The KMS operations the keyrings need, as a runtime-agnostic trait.
//!
//! Implementations: the native HTTPS client (SigV4), an AWS SDK client
//! handed in from Python or JavaScript, or any service that speaks the same
//! three calls. Failures are [`Error::Kms`](crate::Error::Kms) with the
//! service's error code (a client may refuse a call it cannot make at all,
//! such as one with no region, as [`Error::BadArgument`](crate::Error::BadArgument)).

use std::fmt;

use crate::context::EncryptionContext;
use crate::error::Result;
use crate::future::{BoxFuture, MaybeSendSync};
use crate::materials::DataKey;

/// `GenerateDataKey` input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GenerateDataKeyRequest {
    /// The KMS key identifier.
    pub key_id: String,
    /// Length of the data key in bytes.
    pub number_of_bytes: usize,
    /// The encryption context (bound by KMS as AAD).
    pub encryption_context: EncryptionContext,
    /// Grant tokens.
    pub grant_tokens: Vec<String>,
}

/// `GenerateDataKey` output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GenerateDataKeyResponse {
    /// The key ARN that was used.
    pub key_id: String,
    /// The plaintext data key.
    pub plaintext: DataKey,
    /// The data key encrypted under the KMS key.
    pub ciphertext_blob: Vec<u8>,
}

impl GenerateDataKeyResponse {
    /// A response.
    pub fn new(key_id: String, plaintext: DataKey, ciphertext_blob: Vec<u8>) -> Self {
        Self {
            key_id,
            plaintext,
            ciphertext_blob,
        }
    }
}

/// `Encrypt` input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KmsEncryptRequest {
    /// The KMS key identifier.
    pub key_id: String,
    /// The data key to encrypt.
    pub plaintext: DataKey,
    /// The encryption context.
    pub encryption_context: EncryptionContext,
    /// Grant tokens.
    pub grant_tokens: Vec<String>,
}

/// `Encrypt` output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KmsEncryptResponse {
    /// The key ARN that was used.
    pub key_id: String,
    /// The encrypted data key.
    pub ciphertext_blob: Vec<u8>,
}

impl KmsEncryptResponse {
    /// A response.
    pub fn new(key_id: String, ciphertext_blob: Vec<u8>) -> Self {
        Self {
            key_id,
            ciphertext_blob,
        }
    }
}

/// `Decrypt` input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KmsDecryptRequest {
    /// The KMS key identifier to decrypt with.
    pub key_id: String,
    /// The encrypted data key.
    pub ciphertext_blob: Vec<u8>,
    /// The encryption context.
    pub encryption_context: EncryptionContext,
    /// Grant tokens.
    pub grant_tokens: Vec<String>,
}

/// `Decrypt` output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KmsDecryptResponse {
    /// The key ARN that decrypted.
    pub key_id: String,
    /// The plaintext data key.
    pub plaintext: DataKey,
}

impl KmsDecryptResponse {
    /// A response.
    pub fn new(key_id: String, plaintext: DataKey) -> Self {
        Self { key_id, plaintext }
    }
}

/// The three AWS KMS operations the keyrings call.
pub trait KmsClient: MaybeSendSync {
    /// `GenerateDataKey`.
    fn generate_data_key<'a>(
        &'a self,
        request: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse>>;

    /// `Encrypt`.
    fn encrypt<'a>(
        &'a self,
        request: KmsEncryptRequest,
    ) -> BoxFuture<'a, Result<KmsEncryptResponse>>;

    /// `Decrypt`.
    fn decrypt<'a>(
        &'a self,
        request: KmsDecryptRequest,
    ) -> BoxFuture<'a, Result<KmsDecryptResponse>>;
}

impl fmt::Debug for dyn KmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KmsClient")
    }
}
