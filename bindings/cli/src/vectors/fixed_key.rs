//! A test-only keyring that "unwraps" a data key given in the vectors.
//!
//! The commitment known-answer tests and the Python decrypt-oracle vectors
//! give the plaintext data key instead of a key that could unwrap it. This
//! keyring hands that data key to the decryptor, so everything below the
//! keyring (header, key derivation, commitment, body, signature) is tested.

use kms_envelope::future::{ready, BoxFuture};
use kms_envelope::{
    DataKey, DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, Error, Keyring, Result,
};
use zeroize::Zeroizing;

/// Which data key the keyring returns.
pub(crate) enum FixedKey {
    /// These bytes.
    Bytes(Zeroizing<Vec<u8>>),
    /// All zero bytes, as long as the suite's data key (Python's `null` key).
    Zeros,
    /// 0x01, 0x02, ... up to the suite's data key length (Python's `test_counting` key).
    Counting,
}

/// Returns a fixed data key on decrypt; cannot encrypt.
pub(crate) struct FixedKeyring(pub(crate) FixedKey);

impl FixedKeyring {
    fn unwrap_key(
        &self,
        mut materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials> {
        if materials.plaintext_data_key().is_some() {
            return Err(Error::BadArgument(
                "decryption materials already hold a data key".into(),
            ));
        }
        if edks.is_empty() {
            return Err(Error::NoKeyUnwrapped(vec![
                "fixed test key: the message has no encrypted data key".into(),
            ]));
        }
        let len = materials.algorithm_suite().data_key_len();
        let key = match &self.0 {
            FixedKey::Bytes(b) => DataKey::from_slice(b),
            FixedKey::Zeros => DataKey::new(vec![0; len]),
            FixedKey::Counting => DataKey::new((1..=len).map(|i| (i % 256) as u8).collect()),
        };
        materials.set_plaintext_data_key(key)?;
        Ok(materials)
    }
}

impl Keyring for FixedKeyring {
    fn on_encrypt<'a>(
        &'a self,
        _materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        ready(Err(Error::BadArgument(
            "the fixed test-vector keyring cannot encrypt".into(),
        )))
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        ready(self.unwrap_key(materials, encrypted_data_keys))
    }
}
