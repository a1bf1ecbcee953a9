//! Keyrings: generate, wrap and unwrap data keys.
//!
//! A [`Keyring`] is the plug-in point for key management: the raw AES and raw
//! RSA keyrings hold keys locally, the [`MultiKeyring`] combines keyrings,
//! and anything else (a KMS, an HSM, a callback into another language)
//! implements the same trait. Methods return [`BoxFuture`]s so that keyrings
//! which wait on a network call do not block a thread; local keyrings
//! complete at once.

use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::future::{BoxFuture, MaybeSendSync};
use crate::materials::{DataKey, DecryptionMaterials, EncryptionMaterials};

pub mod key_order;
pub mod multi;
pub mod raw_aes;
pub mod raw_rsa;

pub use key_order::ContextKeyOrder;
#[cfg(feature = "js-legacy-order")]
pub use key_order::JsLocaleCompare;
pub use multi::MultiKeyring;
pub use raw_aes::RawAesKeyring;
pub use raw_rsa::{RawRsaKeyring, RsaPadding, RsaPrivateKey, RsaPublicKey};

/// Generates, wraps and unwraps data keys.
///
/// Contract (ESDK `keyring-interface.md`):
/// - `on_encrypt`: if the materials hold no data key, generate one (of the
///   suite's length) and set it; then wrap it and add one or more encrypted
///   data keys. A keyring that cannot generate must fail when asked to.
/// - `on_decrypt`: if the materials already hold a data key, fail. Otherwise
///   try the encrypted data keys this keyring recognizes, in order, and set
///   the first one it unwraps. If it unwraps none, fail with
///   [`Error::NoKeyUnwrapped`], saying why for each attempt.
/// - Never store the encryption context inside an encrypted data key.
///
/// # Example: a custom keyring
///
/// ```
/// use kms_envelope::{Keyring, EncryptionMaterials, DecryptionMaterials, EncryptedDataKey, DataKey, Result, Error};
/// use kms_envelope::future::{BoxFuture, ready};
///
/// /// Stores the data key XORed with a pad. For illustration only!
/// struct XorKeyring([u8; 32]);
///
/// impl Keyring for XorKeyring {
///     fn on_encrypt<'a>(&'a self, mut m: EncryptionMaterials) -> BoxFuture<'a, Result<EncryptionMaterials>> {
///         ready((|| {
///             if m.plaintext_data_key().is_none() {
///                 m.set_plaintext_data_key(DataKey::generate(m.algorithm_suite().data_key_len())?)?;
///             }
///             let key = m.plaintext_data_key().map(|k| k.as_bytes().to_vec()).unwrap_or_default();
///             let wrapped: Vec<u8> = key.iter().zip(self.0.iter()).map(|(a, b)| a ^ b).collect();
///             m.add_encrypted_data_key(EncryptedDataKey::new("xor", b"pad-1".to_vec(), wrapped))?;
///             Ok(m)
///         })())
///     }
///     fn on_decrypt<'a>(&'a self, mut m: DecryptionMaterials, edks: &'a [EncryptedDataKey]) -> BoxFuture<'a, Result<DecryptionMaterials>> {
///         ready((|| {
///             let edk = edks.iter().find(|e| e.provider_id == "xor")
///                 .ok_or_else(|| Error::NoKeyUnwrapped(vec!["no xor EDK".into()]))?;
///             let key: Vec<u8> = edk.ciphertext.iter().zip(self.0.iter()).map(|(a, b)| a ^ b).collect();
///             m.set_plaintext_data_key(DataKey::new(key))?;
///             Ok(m)
///         })())
///     }
/// }
///
/// let keyring = XorKeyring([7; 32]);
/// let client = kms_envelope::Client::new();
/// let ct = client.encrypt(b"hi").keyring(&keyring).run()?;
/// assert_eq!(client.decrypt(&ct).keyring(&keyring).run()?.plaintext, b"hi");
/// # Ok::<(), kms_envelope::Error>(())
/// ```
pub trait Keyring: MaybeSendSync {
    /// Generates (if needed) and wraps the data key.
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>>;

    /// Unwraps one of `encrypted_data_keys` into the materials.
    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>>;

    /// How many keyrings deep this one goes: 1 (the default) for a keyring
    /// that calls no other, one more than its deepest for one that does.
    /// [`MultiKeyring`] refuses to nest past [`multi::MAX_NESTING`], so that
    /// no call recurses deep enough to exhaust the stack; a keyring of your
    /// own that wraps others may report its depth the same way.
    fn nesting_depth(&self) -> usize {
        1
    }
}

impl<K: Keyring + ?Sized> Keyring for std::sync::Arc<K> {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        (**self).on_encrypt(materials)
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        (**self).on_decrypt(materials, encrypted_data_keys)
    }

    fn nesting_depth(&self) -> usize {
        (**self).nesting_depth()
    }
}

/// Sets a fresh data key if the materials have none yet.
pub(crate) fn generate_if_missing(materials: &mut EncryptionMaterials) -> Result<()> {
    if materials.plaintext_data_key().is_none() {
        let key = DataKey::generate(materials.algorithm_suite().data_key_len())?;
        materials.set_plaintext_data_key(key)?;
    }
    Ok(())
}

/// The error for a keyring asked to decrypt materials that already hold a key.
pub(crate) fn already_decrypted() -> Error {
    Error::bad_arg("decryption materials already hold a data key")
}

/// The reason a raw keyring gives when no encrypted data key of the message
/// is its own: the names of the message's keys in the keyring's namespace
/// (they are in the header for anyone to read), since a key named after
/// another file is the usual cause. `names` are the key names of those
/// keys, as stored; a few are listed, each cut short.
pub(crate) fn no_key_for<'a>(label: &str, names: impl Iterator<Item = &'a [u8]>) -> String {
    const LISTED: usize = 4;
    const NAME_CHARS: usize = 64;
    let mut shown = Vec::new();
    let mut more = 0usize;
    for name in names {
        if shown.len() == LISTED {
            more += 1;
            continue;
        }
        let text = String::from_utf8_lossy(name);
        let mut cut: String = text.chars().take(NAME_CHARS).collect();
        if cut.len() < text.len() {
            cut.push('…');
        }
        shown.push(format!("{cut:?}"));
    }
    if shown.is_empty() {
        return format!("{label}: no encrypted data key for this keyring");
    }
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "{label}: no encrypted data key for this keyring (the message's keys in this \
         namespace are named {}{more})",
        shown.join(", ")
    )
}

/// Rejects key namespaces reserved for AWS KMS keyrings.
pub(crate) fn check_namespace(namespace: &str) -> Result<()> {
    if namespace.starts_with("aws-kms") {
        return Err(Error::bad_arg(
            "key namespaces starting with 'aws-kms' are reserved for AWS KMS keyrings",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::no_key_for;

    #[test]
    fn the_no_key_reason_lists_a_few_names_cut_short() {
        assert_eq!(
            no_key_for("raw AES ns/k", std::iter::empty()),
            "raw AES ns/k: no encrypted data key for this keyring"
        );
        let long = vec![b'x'; 100];
        let names: Vec<&[u8]> = vec![b"a", &long, b"c\n", &[0xff], b"e", b"f"];
        let reason = no_key_for("raw AES ns/k", names.into_iter());
        let listed = format!("\"a\", \"{}…\", \"c\\n\", \"\u{fffd}\"", "x".repeat(64));
        assert!(
            reason.ends_with(&format!("named {listed} and 2 more)")),
            "{reason}"
        );
    }
}
