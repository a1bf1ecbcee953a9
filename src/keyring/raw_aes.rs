//! The raw AES keyring: wraps data keys with a local AES-GCM key.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::context::EncryptionContext;
use crate::crypto::{fill_random, AesGcmKey, CryptoError, SharedAadOpener};
use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::future::{ready, BoxFuture};
use crate::keyring::{
    already_decrypted, check_namespace, generate_if_missing, no_key_for, ContextKeyOrder, Keyring,
};
use crate::materials::{DataKey, DecryptionMaterials, EncryptionMaterials};

const TAG_BITS: u32 = 128;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Provider info after the key name: u32 tag bits, u32 IV length, IV.
const INFO_SUFFIX_LEN: usize = 4 + 4 + IV_LEN;

/// Wraps data keys with AES-GCM under a 128-, 192- or 256-bit key held in
/// memory, in the layout of the ESDK raw AES keyring.
///
/// The encryption context is the wrapping AAD, so a message only unwraps with
/// the context it was written with.
///
/// ```
/// use kms_envelope::RawAesKeyring;
/// let keyring = RawAesKeyring::new("my-namespace", "my-key", &[0x42; 32])?;
/// # Ok::<(), kms_envelope::Error>(())
/// ```
pub struct RawAesKeyring {
    namespace: String,
    name: String,
    key: AesGcmKey,
    key_len: usize,
    /// The key itself, for the openers of wrapped keys ([`SharedAadOpener`]).
    key_bytes: Zeroizing<Vec<u8>>,
    /// Other key orders to try on decrypt ([`Self::with_legacy_order`]).
    legacy_orders: Vec<Arc<dyn ContextKeyOrder>>,
}

/// Opens one wrapped key with `open` (in place); `None` if it does not
/// authenticate.
fn open_key(
    ct: &[u8],
    open: impl FnOnce(&mut [u8]) -> std::result::Result<(), CryptoError>,
) -> Option<Zeroizing<Vec<u8>>> {
    // A failed open leaves garbage or the wrapped bytes (wiped on drop);
    // each attempt starts from the wrapped bytes.
    let mut key = Zeroizing::new(ct.to_vec());
    open(&mut key).ok()?;
    Some(key)
}

impl fmt::Debug for RawAesKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawAesKeyring")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("key_bits", &(self.key_len * 8))
            .field("legacy_orders", &self.legacy_orders.len())
            .finish()
    }
}

impl RawAesKeyring {
    /// A keyring for the wrapping key `key` (16, 24 or 32 bytes), written into
    /// messages as provider ID `namespace` and key name `name`.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `key` is not 16, 24 or 32 bytes long, or
    /// `namespace` starts with `aws-kms` (reserved for the AWS KMS
    /// keyrings).
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, key: &[u8]) -> Result<Self> {
        let namespace = namespace.into();
        let name = name.into();
        check_namespace(&namespace)?;
        let aes = AesGcmKey::new(key).map_err(|_| {
            Error::bad_arg(format!(
                "raw AES wrapping key must be 16, 24 or 32 bytes, not {}",
                key.len()
            ))
        })?;
        Ok(Self {
            namespace,
            name,
            key: aes,
            key_len: key.len(),
            key_bytes: Zeroizing::new(key.to_vec()),
            legacy_orders: Vec::new(),
        })
    }

    /// This keyring, which on decrypt also tries the encryption context
    /// serialized with its keys in `order` when a wrapped key does not
    /// unwrap in the specification's byte-wise order: for messages from
    /// writers that sorted the keys another way (see
    /// [`keyring::key_order`](crate::keyring::key_order)). Called again, it
    /// adds another order, tried after the ones before. It still writes the
    /// specification's order. A message whose context is ordered the same
    /// every way costs nothing more; one that is not, one more AES-GCM check
    /// of the wrapped key per distinct order, for each attempt that failed.
    pub fn with_legacy_order(mut self, order: Arc<dyn ContextKeyOrder>) -> Self {
        self.legacy_orders.push(order);
        self
    }

    /// [`Self::with_legacy_order`] with JavaScript's `localeCompare` order
    /// ([`JsLocaleCompare`](crate::keyring::JsLocaleCompare)): reads
    /// messages that the JavaScript ESDK's raw AES keyrings wrote without
    /// `utf8Sorting: true` (cargo feature `js-legacy-order`).
    ///
    /// ```
    /// use kms_envelope::RawAesKeyring;
    /// let keyring = RawAesKeyring::new("my-namespace", "my-key", &[0x42; 32])?.with_js_legacy_order()?;
    /// # Ok::<(), kms_envelope::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`JsLocaleCompare::new`](crate::keyring::JsLocaleCompare::new).
    #[cfg(feature = "js-legacy-order")]
    pub fn with_js_legacy_order(self) -> Result<Self> {
        let order = crate::keyring::JsLocaleCompare::new()?;
        Ok(self.with_legacy_order(Arc::new(order)))
    }

    /// The key namespace (provider ID).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn wrap(&self, mut materials: EncryptionMaterials) -> Result<EncryptionMaterials> {
        generate_if_missing(&mut materials)?;
        let aad = materials.encryption_context().serialize()?;
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv)
            .map_err(|_| Error::bad_arg("the system random number generator failed"))?;
        // Holds the plaintext data key until sealed: wiped if sealing fails.
        let key = materials.plaintext_data_key().map(|k| k.as_bytes());
        let mut wrapped = Zeroizing::new(Vec::with_capacity(
            key.map_or(0, <[u8]>::len).saturating_add(TAG_LEN),
        ));
        wrapped.extend_from_slice(key.unwrap_or_default());
        let tag = self
            .key
            .seal_in_place(&iv, &aad, &mut wrapped)
            .map_err(|_| Error::bad_arg("AES-GCM wrapping failed"))?;
        wrapped.extend_from_slice(&tag);
        let wrapped = std::mem::take(&mut *wrapped);
        let mut info = Vec::with_capacity(self.name.len() + INFO_SUFFIX_LEN);
        info.extend_from_slice(self.name.as_bytes());
        info.extend_from_slice(&TAG_BITS.to_be_bytes());
        info.extend_from_slice(&(IV_LEN as u32).to_be_bytes());
        info.extend_from_slice(&iv);
        materials.add_encrypted_data_key(EncryptedDataKey::new(
            self.namespace.clone(),
            info,
            wrapped,
        ))?;
        Ok(materials)
    }

    /// The IV of `edk` if it is this keyring's (namespace, name, tag and IV
    /// lengths match).
    fn matching_iv(&self, edk: &EncryptedDataKey) -> Option<[u8; IV_LEN]> {
        if edk.provider_id != self.namespace {
            return None;
        }
        let info = &edk.provider_info;
        let name_len = info.len().checked_sub(INFO_SUFFIX_LEN)?;
        let (name, rest) = info.split_at(name_len);
        if name != self.name.as_bytes() {
            return None;
        }
        let (tag_bits, rest) = rest.split_at(4);
        let (iv_len, iv) = rest.split_at(4);
        if tag_bits != TAG_BITS.to_be_bytes() || iv_len != (IV_LEN as u32).to_be_bytes() {
            return None;
        }
        iv.try_into().ok()
    }

    /// An opener of wrapped keys under this key with `aad` (the context
    /// hashed once for all the message's wrapped keys).
    fn opener(&self, aad: &[u8]) -> Result<SharedAadOpener> {
        SharedAadOpener::new(&self.key_bytes, aad)
            .map_err(|_| Error::bad_arg("raw AES wrapping key must be 16, 24 or 32 bytes"))
    }

    /// The context serialized in each legacy order, leaving out those equal
    /// to the specification's serialization `spec_aad` or to an earlier
    /// one, as openers.
    fn legacy_openers(
        &self,
        context: &EncryptionContext,
        spec_aad: &[u8],
    ) -> Result<Vec<SharedAadOpener>> {
        let mut aads: Vec<Vec<u8>> = Vec::new();
        for order in &self.legacy_orders {
            let aad = context.serialize_ordered(&|a, b| order.compare(a, b))?;
            if aad != spec_aad && !aads.contains(&aad) {
                aads.push(aad);
            }
        }
        aads.iter().map(|aad| self.opener(aad)).collect()
    }

    fn unwrap_key(
        &self,
        mut materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials> {
        if materials.plaintext_data_key().is_some() {
            return Err(already_decrypted());
        }
        let suite = materials.algorithm_suite();
        let context = materials.encryption_context();
        let spec_aad = context.serialize()?;
        // The first wrapped key that names this key opens with the
        // keyring's own expanded key (a message has one); from the second
        // on, an opener hashes the context once for all of them.
        let mut tried = false;
        let mut spec_opener: Option<SharedAadOpener> = None;
        // The legacy orders' serializations, made at the first wrapped key
        // that does not unwrap in the specification's order.
        let mut legacy_openers: Option<Vec<SharedAadOpener>> = None;
        let mut reasons = Vec::new();
        for edk in edks {
            let Some(iv) = self.matching_iv(edk) else {
                continue;
            };
            if edk.ciphertext.len() != suite.data_key_len() + TAG_LEN {
                reasons.push(format!(
                    "raw AES {}/{}: wrapped key has the wrong length",
                    self.namespace, self.name
                ));
                continue;
            }
            let (ct, tag) = edk.ciphertext.split_at(suite.data_key_len());
            let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else {
                continue;
            };
            let mut opened = if !tried {
                tried = true;
                open_key(ct, |k| self.key.open_in_place(&iv, &spec_aad, k, &tag))
            } else {
                let opener = match &spec_opener {
                    Some(opener) => opener,
                    None => spec_opener.insert(self.opener(&spec_aad)?),
                };
                open_key(ct, |k| opener.open_in_place(&iv, k, &tag))
            };
            if opened.is_none() && !self.legacy_orders.is_empty() {
                let openers = match &legacy_openers {
                    Some(openers) => openers,
                    None => legacy_openers.insert(self.legacy_openers(context, &spec_aad)?),
                };
                opened = openers
                    .iter()
                    .find_map(|opener| open_key(ct, |k| opener.open_in_place(&iv, k, &tag)));
            }
            if let Some(mut key) = opened {
                materials.set_plaintext_data_key(DataKey::new(std::mem::take(&mut *key)))?;
                return Ok(materials);
            }
            reasons.push(format!(
                "raw AES {}/{}: unwrap failed (wrong key or encryption context{})",
                self.namespace,
                self.name,
                if legacy_openers.as_ref().is_some_and(|o| !o.is_empty()) {
                    ", in the specification's key order and the legacy ones"
                } else {
                    ""
                }
            ));
        }
        if reasons.is_empty() {
            let label = format!("raw AES {}/{}", self.namespace, self.name);
            let names = edks
                .iter()
                .filter(|e| e.provider_id == self.namespace)
                .filter_map(|e| {
                    let info = e.provider_info.as_slice();
                    info.get(..info.len().checked_sub(INFO_SUFFIX_LEN)?)
                });
            reasons.push(no_key_for(&label, names));
        }
        Err(Error::NoKeyUnwrapped(reasons))
    }
}

impl Keyring for RawAesKeyring {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        ready(self.wrap(materials))
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        ready(self.unwrap_key(materials, encrypted_data_keys))
    }
}
