//! Cryptographic materials managers (CMMs): turn requests into materials.
//!
//! The [`DefaultMaterialsManager`] picks the suite, makes the signing key and
//! asks a keyring for the data key. The
//! [`RequiredEncryptionContextMaterialsManager`] wraps another manager and
//! insists on context keys that are authenticated but not stored.

use crate::error::Result;
use crate::future::{BoxFuture, MaybeSendSync};
use crate::materials::{
    DecryptionMaterials, DecryptionRequest, EncryptionMaterials, EncryptionRequest,
};

pub mod caching;
pub mod default;
pub mod required;

pub use caching::{CachingMaterialsManager, Clock, LocalMaterialsCache};
pub use default::DefaultMaterialsManager;
pub use required::RequiredEncryptionContextMaterialsManager;

/// Supplies encryption and decryption materials.
pub trait MaterialsManager: MaybeSendSync {
    /// Materials to encrypt one message.
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>>;

    /// Materials to decrypt one message.
    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>>;
}

impl<M: MaterialsManager + ?Sized> MaterialsManager for std::sync::Arc<M> {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        (**self).get_encryption_materials(request)
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        (**self).decrypt_materials(request)
    }
}
