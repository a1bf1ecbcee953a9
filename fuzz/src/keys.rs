//! The raw AES keys of the official ESDK vectors in `../shared/vectors/esdk`,
//! so that the seed corpus (those vectors' messages) decrypts and mutations
//! of it reach the body and footer code, not only the key lookup.

use std::sync::{Arc, OnceLock};

use kms_envelope::{Keyring, MultiKeyring, RawAesKeyring};

/// `00 01 02 … 09 10 11 …`: the vectors' AES key material (the first 16, 24
/// or 32 bytes of this sequence).
const MATERIAL: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x30, 0x31,
];

/// (key namespace, key name, key length) as the vector manifests name them.
const VECTOR_KEYS: &[(&str, &str, usize)] = &[
    ("aws-raw-vectors-persistant", "aes-256", 32),
    ("aws-raw-vectors-persistent-aes-256", "aes-256", 32),
    ("aws-raw-vectors-persistent-aes-192", "aes-192", 24),
    ("aws-raw-vectors-persistent-aes-128", "aes-128", 16),
];

/// A multi-keyring holding every raw AES key of the vectors (built once).
pub fn vector_keyring() -> Arc<dyn Keyring> {
    static KEYRING: OnceLock<Arc<dyn Keyring>> = OnceLock::new();
    KEYRING
        .get_or_init(|| {
            let children: Vec<Arc<dyn Keyring>> = VECTOR_KEYS
                .iter()
                .map(|&(namespace, name, len)| {
                    let key = RawAesKeyring::new(namespace, name, &MATERIAL[..len])
                        .expect("valid AES key");
                    Arc::new(key) as Arc<dyn Keyring>
                })
                .collect();
            Arc::new(MultiKeyring::new(None, children).expect("children given"))
        })
        .clone()
}

/// The vectors' 256-bit AES key material.
pub fn aes_256() -> &'static [u8] {
    &MATERIAL
}
