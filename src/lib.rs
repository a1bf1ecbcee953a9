//! # kms-envelope
//!
//! Client-side envelope encryption whose messages are byte-compatible with
//! the [AWS Encryption SDK](https://docs.aws.amazon.com/encryption-sdk/)
//! message format (versions 1 and 2). Data is encrypted locally under a fresh
//! data key; only that data key is wrapped by a keyring (a local key, a KMS,
//! an HSM, or your own code).
//!
//! ```
//! use kms_envelope::{Client, EncryptionContext, RawAesKeyring};
//!
//! let keyring = RawAesKeyring::new("my-app", "key-2026", &[7u8; 32])?;
//! let client = Client::new();
//! let context = EncryptionContext::from_iter([("purpose", "example")]);
//!
//! let ciphertext = client
//!     .encrypt(b"hello, world")
//!     .keyring(&keyring)
//!     .encryption_context(context.clone())
//!     .run()?;
//!
//! let decrypted = client.decrypt(&ciphertext).keyring(&keyring).encryption_context(context).run()?;
//! assert_eq!(decrypted.plaintext, b"hello, world");
//! assert_eq!(decrypted.encryption_context.get("purpose"), Some("example"));
//! # Ok::<(), kms_envelope::Error>(())
//! ```
//!
//! ## Async
//!
//! Every call can be awaited instead of run: `client.encrypt(data).keyring(&k).await`.
//! The core uses no async runtime; see [`future`].
//!
//! ## Choosing suites and policies
//!
//! The default suite is `0x0578` (AES-256-GCM, HKDF-SHA512, key commitment,
//! ECDSA P-384). Use [`Client::builder`] to change the
//! [`CommitmentPolicy`], e.g. to read messages of older SDKs.
//!
//! ## Cargo features
//!
//! - `rustcrypto`: the RustCrypto primitives on native targets too (wasm32
//!   always uses them; native builds default to AWS-LC).
//! - `js-legacy-order`: `keyring::JsLocaleCompare` and
//!   `RawAesKeyring::with_js_legacy_order`, to read data keys that the
//!   JavaScript ESDK's raw AES keyrings wrapped in `localeCompare` key order
//!   (see [`keyring::key_order`]). Adds ICU4X's collator and its data.
//! - `host-crypto`: internal hooks for the bindings (`host_crypto`).
//!
//! ## Security rules
//!
//! - Decrypt releases plaintext only after it is authenticated: one-shot
//!   decrypt is all or nothing.
//! - Keys are wiped from memory when dropped; tags and commitment keys are
//!   compared in constant time.
//! - Every length read from a message is bounded before use.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc, clippy::missing_panics_doc)]

mod client;
pub mod cmm;
mod context;
mod crypto;
mod decrypt;
mod derive;
mod edk;
mod encrypt;
mod error;
#[cfg(all(
    feature = "host-crypto",
    any(target_arch = "wasm32", feature = "rustcrypto")
))]
#[doc(hidden)]
pub mod external;
pub mod format;
pub mod future;
#[cfg(feature = "host-crypto")]
#[doc(hidden)]
pub mod host_crypto;
pub mod keyring;
pub mod kms;
mod materials;
mod parallel;
mod pem;
mod policy;
mod region;
pub mod stream;
mod suite;

pub use client::{
    Client, ClientBuilder, DecryptCall, EncryptCall, PreparedEncryption, DEFAULT_FRAME_LENGTH,
};
pub use cmm::{
    DefaultMaterialsManager, MaterialsManager, RequiredEncryptionContextMaterialsManager,
};
pub use context::{EncryptionContext, PUBLIC_KEY_FIELD, RESERVED_PREFIX};
pub use crypto::BACKEND as CRYPTO_BACKEND;
pub use decrypt::{Decrypted, OpenedMessage, PreparedDecryption};
pub use edk::EncryptedDataKey;
pub use error::{AuthFailure, Error, ErrorKind, Result};
pub use format::{ContentType, MessageHeader};
pub use keyring::{
    Keyring, MultiKeyring, RawAesKeyring, RawRsaKeyring, RsaPadding, RsaPrivateKey, RsaPublicKey,
};
pub use materials::{
    DataKey, DecryptionMaterials, DecryptionRequest, EncryptionMaterials, EncryptionRequest,
};
pub use policy::CommitmentPolicy;
pub use stream::{SignedRelease, StreamDecryptor, StreamEncryptor};
pub use suite::AlgorithmSuite;
