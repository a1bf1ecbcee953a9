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

    /// How many managers deep this one goes: 1 (the default) for a manager
    /// that calls no other, one more than the one it wraps for one that
    /// does. The wrapping managers refuse to nest past [`MAX_NESTING`], so
    /// that no call recurses deep enough to exhaust the stack; a manager of
    /// your own that wraps another may report its depth the same way.
    fn nesting_depth(&self) -> usize {
        1
    }
}

/// The deepest materials managers nest ([`MaterialsManager::nesting_depth`]).
/// Every level is a call (and, on drop, a destructor) inside the one
/// above: thousands of levels overflow the stack. Real configurations nest
/// two or three. Keyrings below count separately
/// ([`crate::keyring::multi::MAX_NESTING`]).
pub const MAX_NESTING: usize = 64;

/// The depth of a manager that wraps `underlying`, or
/// [`Error::BadArgument`](crate::Error::BadArgument) past [`MAX_NESTING`].
pub(crate) fn wrapping_depth(underlying: &dyn MaterialsManager, what: &str) -> Result<usize> {
    // Saturating: a manager of the caller's may report any depth.
    let depth = underlying.nesting_depth().saturating_add(1);
    if depth > MAX_NESTING {
        return Err(crate::Error::bad_arg(format!(
            "materials managers nest at most {MAX_NESTING} deep; this {what} would be {depth}"
        )));
    }
    Ok(depth)
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

    fn nesting_depth(&self) -> usize {
        (**self).nesting_depth()
    }
}
