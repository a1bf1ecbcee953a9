//! AWS KMS: key ARNs, the client trait and the keyrings.
//!
//! The keyrings here hold no HTTP code: they call a [`KmsClient`], which a
//! front end supplies (the native SigV4 client, an AWS SDK client from
//! Python or JavaScript, or your own).

pub mod arn;
pub mod client;
pub mod keyring;

pub use arn::KmsArn;
pub use client::{
    GenerateDataKeyRequest, GenerateDataKeyResponse, KmsClient, KmsDecryptRequest,
    KmsDecryptResponse, KmsEncryptRequest, KmsEncryptResponse,
};
pub use keyring::{AwsKmsKeyring, DiscoveryFilter, PROVIDER_ID};

#[cfg(test)]
mod tests;
