//! The required-encryption-context materials manager.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::cmm::{DefaultMaterialsManager, MaterialsManager};
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, DecryptionRequest, EncryptionMaterials, EncryptionRequest,
};

/// Why encrypt fails for a required key the context lacks; for a reserved
/// `aws-crypto-` key, which no caller can supply, it says so.
pub(crate) fn missing_required_key(key: &str) -> String {
    if key.starts_with(crate::context::RESERVED_PREFIX) {
        format!(
            "the encryption context lacks the required key '{key}': keys with the reserved \
             prefix '{}' are set by the SDK, so a manager that requires one can only decrypt",
            crate::context::RESERVED_PREFIX
        )
    } else {
        format!("the encryption context lacks the required key '{key}'")
    }
}

/// Requires certain encryption-context keys. On encrypt they must be in the
/// context, and their pairs are authenticated but **not stored** in the
/// message. On decrypt the caller must reproduce them.
///
/// ```
/// use std::sync::Arc;
/// use kms_envelope::{Client, EncryptionContext, RawAesKeyring, RequiredEncryptionContextMaterialsManager};
/// let keyring = Arc::new(RawAesKeyring::new("ns", "k", &[9; 32])?);
/// let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(keyring, ["tenant"])?;
/// let ec = EncryptionContext::from_iter([("tenant", "acme")]);
/// let client = Client::new();
/// let ct = client.encrypt(b"data").materials_manager(&cmm).encryption_context(ec.clone()).run()?;
/// // Without the tenant, decrypt fails; with it, it succeeds.
/// assert!(client.decrypt(&ct).materials_manager(&cmm).run().is_err());
/// let out = client.decrypt(&ct).materials_manager(&cmm).encryption_context(ec).run()?;
/// assert_eq!(out.plaintext, b"data");
/// # Ok::<(), kms_envelope::Error>(())
/// ```
#[derive(Clone)]
pub struct RequiredEncryptionContextMaterialsManager {
    underlying: Arc<dyn MaterialsManager>,
    required_keys: BTreeSet<String>,
    depth: usize,
}

impl std::fmt::Debug for RequiredEncryptionContextMaterialsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequiredEncryptionContextMaterialsManager")
            .field("required_keys", &self.required_keys)
            .finish()
    }
}

impl RequiredEncryptionContextMaterialsManager {
    /// Wraps `underlying`, requiring `required_keys` (at least one).
    ///
    /// A key with the reserved prefix `aws-crypto-` (such as
    /// `aws-crypto-public-key`, to pin a signer) can only be required on
    /// decrypt: encrypt refuses such keys in the caller's context.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `required_keys` is empty, or if the result
    /// would nest more than [`MAX_NESTING`](super::MAX_NESTING) managers
    /// deep.
    pub fn new<I, S>(underlying: Arc<dyn MaterialsManager>, required_keys: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let required_keys: BTreeSet<String> = required_keys.into_iter().map(Into::into).collect();
        if required_keys.is_empty() {
            return Err(Error::bad_arg(
                "a required-encryption-context manager needs at least one key",
            ));
        }
        let depth = super::wrapping_depth(&*underlying, "required-encryption-context manager")?;
        Ok(Self {
            underlying,
            required_keys,
            depth,
        })
    }

    /// Wraps a [`DefaultMaterialsManager`] over `keyring`.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `required_keys` is empty.
    pub fn with_keyring<I, S>(keyring: Arc<dyn Keyring>, required_keys: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(
            Arc::new(DefaultMaterialsManager::new(keyring)),
            required_keys,
        )
    }

    /// The required keys.
    pub fn required_keys(&self) -> &BTreeSet<String> {
        &self.required_keys
    }

    async fn encrypt(&self, request: EncryptionRequest) -> Result<EncryptionMaterials> {
        if let Some(k) = self
            .required_keys
            .iter()
            .find(|k| !request.encryption_context.contains_key(k))
        {
            return Err(Error::policy(missing_required_key(k)));
        }
        let mut request = request;
        request
            .required_encryption_context_keys
            .extend(self.required_keys.iter().cloned());
        let materials = self.underlying.get_encryption_materials(request).await?;
        // A manager below that dropped a key would have its pair stored in
        // the message, which the caller asked never to happen.
        if let Some(k) = self
            .required_keys
            .iter()
            .find(|k| !materials.required_encryption_context_keys().contains(*k))
        {
            return Err(Error::bad_arg(format!(
                "the underlying materials manager did not keep '{k}' as a required key"
            )));
        }
        Ok(materials)
    }

    async fn decrypt(&self, request: DecryptionRequest) -> Result<DecryptionMaterials> {
        let reproduced = request.reproduced_encryption_context.as_ref();
        if let Some(k) = self
            .required_keys
            .iter()
            .find(|k| !reproduced.is_some_and(|ec| ec.contains_key(k)))
        {
            return Err(Error::policy(format!(
                "the reproduced encryption context lacks the required key '{k}'"
            )));
        }
        let materials = self.underlying.decrypt_materials(request).await?;
        if let Some(k) = self
            .required_keys
            .iter()
            .find(|k| !materials.encryption_context().contains_key(k))
        {
            return Err(Error::policy(format!(
                "decryption materials lack the required key '{k}'"
            )));
        }
        Ok(materials)
    }
}

impl MaterialsManager for RequiredEncryptionContextMaterialsManager {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(self.encrypt(request))
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(self.decrypt(request))
    }

    fn nesting_depth(&self) -> usize {
        self.depth
    }
}
