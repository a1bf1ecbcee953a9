//! The default materials manager.

use std::sync::Arc;

use crate::cmm::MaterialsManager;
use crate::context::RESERVED_PREFIX;
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, DecryptionRequest, EncryptionMaterials, EncryptionRequest,
};

/// Picks the suite (the request's, or the commitment policy's default),
/// creates the per-message signing key for signing suites, and has a keyring
/// generate and wrap (or unwrap) the data key.
#[derive(Clone)]
pub struct DefaultMaterialsManager {
    keyring: Arc<dyn Keyring>,
}

impl std::fmt::Debug for DefaultMaterialsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DefaultMaterialsManager")
    }
}

impl DefaultMaterialsManager {
    /// A default manager over `keyring`.
    pub fn new(keyring: Arc<dyn Keyring>) -> Self {
        Self { keyring }
    }
}

impl MaterialsManager for DefaultMaterialsManager {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(encryption_materials(&*self.keyring, request))
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(decryption_materials(&*self.keyring, request))
    }
}

/// The default manager over a borrowed keyring, for the client's builders.
pub(crate) struct BorrowedDefault<'k>(pub(crate) &'k dyn Keyring);

impl MaterialsManager for BorrowedDefault<'_> {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(encryption_materials(self.0, request))
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(decryption_materials(self.0, request))
    }
}

async fn encryption_materials(
    keyring: &dyn Keyring,
    request: EncryptionRequest,
) -> Result<EncryptionMaterials> {
    let policy = request.commitment_policy;
    let suite = request
        .algorithm_suite
        .unwrap_or_else(|| policy.default_suite());
    policy.check_encrypt(suite)?;
    if let Some(k) = request
        .required_encryption_context_keys
        .iter()
        .find(|k| !request.encryption_context.contains_key(k))
    {
        return Err(Error::policy(super::required::missing_required_key(k)));
    }
    let mut materials = EncryptionMaterials::new(suite, request.encryption_context);
    // The keyring sees which pairs the message will leave out.
    materials.add_required_encryption_context_keys(request.required_encryption_context_keys);
    materials.generate_signing_key()?;
    let given = materials.clone();
    let materials = keyring.on_encrypt(materials).await?;
    materials.check_transition_from(&given)?;
    if materials.plaintext_data_key().is_none() {
        return Err(Error::bad_arg("the keyring did not generate a data key"));
    }
    if materials.encrypted_data_keys().is_empty() {
        return Err(Error::bad_arg("the keyring produced no encrypted data key"));
    }
    Ok(materials)
}

async fn decryption_materials(
    keyring: &dyn Keyring,
    request: DecryptionRequest,
) -> Result<DecryptionMaterials> {
    let suite = request.algorithm_suite;
    request.commitment_policy.check_decrypt(suite)?;
    let mut context = request.encryption_context;
    let mut reproduced_only = Vec::new();
    if let Some(reproduced) = &request.reproduced_encryption_context {
        for (k, v) in reproduced {
            match context.get(k) {
                Some(stored) if stored != v => {
                    return Err(Error::policy(format!(
                        "encryption context mismatch: the message has a different value for '{k}'"
                    )))
                }
                Some(_) => {}
                // Reserved keys are the SDK's own (encrypt refuses them as
                // required pairs): one the message lacks can never match,
                // and must never stand in for the message's own signing key.
                None if k.starts_with(RESERVED_PREFIX) => {
                    return Err(Error::policy(format!(
                        "encryption context mismatch: the message has no '{k}'"
                    )))
                }
                None => reproduced_only.push((k.clone(), v.clone())),
            }
        }
    }
    for (k, v) in &reproduced_only {
        context.insert(k.clone(), v.clone());
    }
    let mut materials = DecryptionMaterials::new(suite, context);
    materials.add_required_encryption_context_keys(reproduced_only.into_iter().map(|(k, _)| k));
    materials.set_verification_key_from_context()?;
    let given = materials.clone();
    let materials = keyring
        .on_decrypt(materials, &request.encrypted_data_keys)
        .await?;
    materials.check_transition_from(&given)?;
    if materials.plaintext_data_key().is_none() {
        return Err(Error::NoKeyUnwrapped(vec![
            "the keyring returned no data key".into(),
        ]));
    }
    Ok(materials)
}
