//! Streaming encryption and decryption with memory bounded by the frame length.
//!
//! [`StreamEncryptor`] and [`StreamDecryptor`] accept input in pieces of any
//! size and append output as soon as a frame is complete. The
//! [`io`] adapters put them behind `std::io::Read` /
//! `Write`.
//!
//! # When plaintext is released
//!
//! - Unsigned suites (`0x0478`, ...): each frame's plaintext is released as
//!   soon as its own tag verifies.
//! - Signed suites (`0x0578`, ...): by default nothing is released until the
//!   footer's signature verifies; the decryptor holds the plaintext, up to
//!   [`StreamDecryptBuilder::max_buffered_plaintext`] (default 64 MiB), and
//!   fails beyond it. With [`SignedRelease::Frames`] the caller opts into
//!   receiving each regular frame once its tag verifies, before the signature
//!   is checked; the final frame is still held until then. Such plaintext is
//!   authenticated by the data key but not yet by the signer: a caller that
//!   opts in must discard everything if the stream later fails.
//! - [`StreamDecryptBuilder::unsigned_only`] refuses signed messages right
//!   after the header.
//!
//! A stream that ends early, or has bytes after the message, fails; it never
//! looks like a short, successful read.

pub(crate) mod decryptor;
mod encryptor;
pub mod io;
pub(crate) mod sink;

use std::sync::Arc;

use crate::cmm::default::DefaultMaterialsManager;
use crate::cmm::MaterialsManager;
use crate::keyring::Keyring;

pub(crate) use decryptor::MessageDecryptor;
pub use decryptor::{SignedRelease, StreamDecryptBuilder, StreamDecryptor};
pub use encryptor::{StreamEncryptBuilder, StreamEncryptor};

/// Default limit on the size of one frame (or non-framed body) that a
/// streaming decryptor will buffer.
pub const DEFAULT_MAX_FRAME_SIZE: u64 = 64 << 20;
/// Default limit on plaintext a streaming decryptor holds back for a signed
/// message while waiting for its signature.
pub const DEFAULT_MAX_BUFFERED_PLAINTEXT: u64 = 64 << 20;

/// Where a stream gets its materials: owned, so streams are `'static`.
#[derive(Clone)]
pub(crate) enum SharedSource {
    Keyring(Arc<dyn Keyring>),
    Manager(Arc<dyn MaterialsManager>),
}

impl SharedSource {
    pub(crate) fn into_manager(self) -> Arc<dyn MaterialsManager> {
        match self {
            SharedSource::Keyring(k) => Arc::new(DefaultMaterialsManager::new(k)),
            SharedSource::Manager(m) => m,
        }
    }
}

#[cfg(test)]
mod tests;
