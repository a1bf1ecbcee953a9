//! The multi-keyring: one generator and any number of children.

use std::sync::Arc;

use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::keyring::{already_decrypted, Keyring};
use crate::materials::{DecryptionMaterials, EncryptionMaterials};

/// Combines keyrings. On encrypt the generator makes the data key and every
/// child wraps it too, so the message opens with any of them. On decrypt the
/// generator and then each child are tried until one unwraps a data key.
///
/// ```
/// use std::sync::Arc;
/// use kms_envelope::{MultiKeyring, RawAesKeyring, Keyring};
/// let a: Arc<dyn Keyring> = Arc::new(RawAesKeyring::new("ns", "a", &[1; 32])?);
/// let b: Arc<dyn Keyring> = Arc::new(RawAesKeyring::new("ns", "b", &[2; 16])?);
/// let multi = MultiKeyring::new(Some(a), vec![b])?;
/// # Ok::<(), kms_envelope::Error>(())
/// ```
#[derive(Clone)]
pub struct MultiKeyring {
    generator: Option<Arc<dyn Keyring>>,
    children: Vec<Arc<dyn Keyring>>,
    depth: usize,
}

/// The deepest multi-keyrings nest, counting the keyrings at the bottom
/// ([`Keyring::nesting_depth`]). Every level is a call (and, on drop, a
/// destructor) inside the one above: thousands of levels overflow the
/// stack. Real configurations nest two or three.
pub const MAX_NESTING: usize = 64;

impl std::fmt::Debug for MultiKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiKeyring")
            .field("has_generator", &self.generator.is_some())
            .field("children", &self.children.len())
            .finish()
    }
}

impl MultiKeyring {
    /// A multi-keyring; it needs a generator, at least one child, or both.
    /// Without a generator it can only encrypt materials that already hold a
    /// data key (as a child of another multi-keyring).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] with neither a generator nor a child, or if
    /// the result would nest more than [`MAX_NESTING`] keyrings deep (one
    /// more than the deepest [`Keyring::nesting_depth`] of its keyrings).
    pub fn new(
        generator: Option<Arc<dyn Keyring>>,
        children: Vec<Arc<dyn Keyring>>,
    ) -> Result<Self> {
        if generator.is_none() && children.is_empty() {
            return Err(Error::bad_arg(
                "a multi-keyring needs a generator or at least one child",
            ));
        }
        // Saturating: a custom keyring may report any depth.
        let depth = generator
            .iter()
            .chain(&children)
            .map(|k| k.nesting_depth())
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        if depth > MAX_NESTING {
            return Err(Error::bad_arg(format!(
                "multi-keyrings nest at most {MAX_NESTING} keyrings deep; this one would be {depth}"
            )));
        }
        Ok(Self {
            generator,
            children,
            depth,
        })
    }

    async fn encrypt(&self, mut materials: EncryptionMaterials) -> Result<EncryptionMaterials> {
        if let Some(generator) = &self.generator {
            if materials.plaintext_data_key().is_some() {
                return Err(Error::bad_arg(
                    "multi-keyring with a generator got materials that already hold a data key",
                ));
            }
            let given = materials.clone();
            materials = generator.on_encrypt(materials).await?;
            materials.check_transition_from(&given)?;
            if materials.plaintext_data_key().is_none() {
                return Err(Error::bad_arg(
                    "the generator keyring did not generate a data key",
                ));
            }
        } else if materials.plaintext_data_key().is_none() {
            return Err(Error::bad_arg(
                "multi-keyring without a generator needs materials that already hold a data key",
            ));
        }
        for child in &self.children {
            let given = materials.clone();
            materials = child.on_encrypt(materials).await?;
            materials.check_transition_from(&given)?;
        }
        Ok(materials)
    }

    async fn decrypt(
        &self,
        materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials> {
        if materials.plaintext_data_key().is_some() {
            return Err(already_decrypted());
        }
        let mut reasons = Vec::new();
        for keyring in self.generator.iter().chain(self.children.iter()) {
            match keyring.on_decrypt(materials.clone(), edks).await {
                Ok(m) if m.plaintext_data_key().is_some() => {
                    m.check_transition_from(&materials)?;
                    return Ok(m);
                }
                Ok(_) => reasons.push("a child keyring returned no data key".to_owned()),
                Err(Error::NoKeyUnwrapped(r)) => reasons.extend(r),
                Err(e) => reasons.push(e.to_string()),
            }
        }
        Err(Error::NoKeyUnwrapped(reasons))
    }
}

impl Keyring for MultiKeyring {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(self.encrypt(materials))
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(self.decrypt(materials, encrypted_data_keys))
    }

    fn nesting_depth(&self) -> usize {
        self.depth
    }
}
