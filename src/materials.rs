//! Cryptographic materials: what keyrings and materials managers fill in.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use base64::Engine;

use crate::context::{EncryptionContext, PUBLIC_KEY_FIELD};
use subtle::ConstantTimeEq;

use crate::crypto::{EcdsaSigningKey, EcdsaVerifyingKey};
use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::policy::CommitmentPolicy;
use crate::suite::AlgorithmSuite;

/// A plaintext data key, wiped from memory when dropped. `==` compares in
/// constant time (the lengths, which are public, may end it early).
#[derive(Clone)]
pub struct DataKey(Zeroizing<Vec<u8>>);

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}

impl Eq for DataKey {}

impl DataKey {
    /// Wraps key bytes (taken by value so no unwiped copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies key bytes from a slice.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// A fresh random key of `len` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the system random number generator fails.
    pub fn generate(len: usize) -> Result<Self> {
        let mut key = Zeroizing::new(vec![0u8; len]);
        crate::crypto::fill_random(&mut key)
            .map_err(|_| Error::bad_arg("the system random number generator failed"))?;
        Ok(Self(key))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Key length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty (never true for a usable key).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// The key bytes live in a `Zeroizing` buffer, wiped when the key is dropped.
impl zeroize::ZeroizeOnDrop for DataKey {}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(<{} bytes redacted>)", self.0.len())
    }
}

/// The message signing key of a signing suite (private half).
#[derive(Clone)]
pub(crate) struct SigningKey(pub(crate) Arc<EcdsaSigningKey>);

/// What encrypt needs: the suite, the full encryption context, the data key
/// and its wrapped copies, and for signing suites the signing key.
#[derive(Clone)]
pub struct EncryptionMaterials {
    algorithm_suite: AlgorithmSuite,
    encryption_context: EncryptionContext,
    required_encryption_context_keys: BTreeSet<String>,
    plaintext_data_key: Option<DataKey>,
    encrypted_data_keys: Vec<EncryptedDataKey>,
    pub(crate) signing_key: Option<SigningKey>,
}

impl fmt::Debug for EncryptionMaterials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionMaterials")
            .field("algorithm_suite", &self.algorithm_suite)
            .field("encryption_context", &self.encryption_context)
            .field(
                "required_encryption_context_keys",
                &self.required_encryption_context_keys,
            )
            .field("plaintext_data_key", &self.plaintext_data_key)
            .field("encrypted_data_keys", &self.encrypted_data_keys)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl EncryptionMaterials {
    /// Materials for `suite` and `encryption_context`, with no data key yet.
    pub fn new(algorithm_suite: AlgorithmSuite, encryption_context: EncryptionContext) -> Self {
        Self {
            algorithm_suite,
            encryption_context,
            required_encryption_context_keys: BTreeSet::new(),
            plaintext_data_key: None,
            encrypted_data_keys: Vec::new(),
            signing_key: None,
        }
    }

    /// The algorithm suite.
    pub fn algorithm_suite(&self) -> AlgorithmSuite {
        self.algorithm_suite
    }

    /// The full encryption context (including `aws-crypto-public-key` on signing suites).
    pub fn encryption_context(&self) -> &EncryptionContext {
        &self.encryption_context
    }

    /// Keys of pairs that are authenticated but not stored in the message.
    pub fn required_encryption_context_keys(&self) -> &BTreeSet<String> {
        &self.required_encryption_context_keys
    }

    /// Marks context keys as required (authenticated, not stored).
    pub fn add_required_encryption_context_keys<I, S>(&mut self, keys: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_encryption_context_keys
            .extend(keys.into_iter().map(Into::into));
    }

    /// The plaintext data key, once a keyring has generated it.
    pub fn plaintext_data_key(&self) -> Option<&DataKey> {
        self.plaintext_data_key.as_ref()
    }

    /// Sets the plaintext data key. Fails if one is already set or if its
    /// length does not match the suite.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the materials hold a data key already, or
    /// `key` is not [`data_key_len`](AlgorithmSuite::data_key_len) bytes
    /// long for the suite.
    pub fn set_plaintext_data_key(&mut self, key: DataKey) -> Result<()> {
        if self.plaintext_data_key.is_some() {
            return Err(Error::bad_arg(
                "encryption materials already hold a data key",
            ));
        }
        check_key_len(self.algorithm_suite, &key)?;
        self.plaintext_data_key = Some(key);
        Ok(())
    }

    /// The wrapped copies of the data key so far.
    pub fn encrypted_data_keys(&self) -> &[EncryptedDataKey] {
        &self.encrypted_data_keys
    }

    /// Adds a wrapped copy of the data key. Fails if there is no data key.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if no data key is set yet.
    pub fn add_encrypted_data_key(&mut self, edk: EncryptedDataKey) -> Result<()> {
        if self.plaintext_data_key.is_none() {
            return Err(Error::bad_arg(
                "cannot add an encrypted data key before the data key is set",
            ));
        }
        self.encrypted_data_keys.push(edk);
        Ok(())
    }
}

/// What decrypt needs: the suite, the encryption context (header plus
/// reproduced-only pairs), the unwrapped data key and, for signing suites,
/// the verification key.
#[derive(Clone)]
pub struct DecryptionMaterials {
    algorithm_suite: AlgorithmSuite,
    encryption_context: EncryptionContext,
    required_encryption_context_keys: BTreeSet<String>,
    plaintext_data_key: Option<DataKey>,
    pub(crate) verification_key: Option<Arc<EcdsaVerifyingKey>>,
}

impl fmt::Debug for DecryptionMaterials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionMaterials")
            .field("algorithm_suite", &self.algorithm_suite)
            .field("encryption_context", &self.encryption_context)
            .field(
                "required_encryption_context_keys",
                &self.required_encryption_context_keys,
            )
            .field("plaintext_data_key", &self.plaintext_data_key)
            .finish()
    }
}

impl DecryptionMaterials {
    /// Materials for `suite` and `encryption_context`, with no data key yet.
    pub fn new(algorithm_suite: AlgorithmSuite, encryption_context: EncryptionContext) -> Self {
        Self {
            algorithm_suite,
            encryption_context,
            required_encryption_context_keys: BTreeSet::new(),
            plaintext_data_key: None,
            verification_key: None,
        }
    }

    /// The algorithm suite.
    pub fn algorithm_suite(&self) -> AlgorithmSuite {
        self.algorithm_suite
    }

    /// The encryption context keyrings must use (header plus reproduced-only pairs).
    pub fn encryption_context(&self) -> &EncryptionContext {
        &self.encryption_context
    }

    /// Keys of pairs that were authenticated but not stored in the message.
    pub fn required_encryption_context_keys(&self) -> &BTreeSet<String> {
        &self.required_encryption_context_keys
    }

    pub(crate) fn add_required_encryption_context_keys<I, S>(&mut self, keys: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_encryption_context_keys
            .extend(keys.into_iter().map(Into::into));
    }

    /// The unwrapped data key, once a keyring has set it.
    pub fn plaintext_data_key(&self) -> Option<&DataKey> {
        self.plaintext_data_key.as_ref()
    }

    /// Sets the unwrapped data key. Fails if one is already set or if its
    /// length does not match the suite.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the materials hold a data key already, or
    /// `key` is not [`data_key_len`](AlgorithmSuite::data_key_len) bytes
    /// long for the suite.
    pub fn set_plaintext_data_key(&mut self, key: DataKey) -> Result<()> {
        if self.plaintext_data_key.is_some() {
            return Err(Error::bad_arg(
                "decryption materials already hold a data key",
            ));
        }
        check_key_len(self.algorithm_suite, &key)?;
        self.plaintext_data_key = Some(key);
        Ok(())
    }
}

/// Whether both hold the same key object (not merely an equal key), or
/// neither holds one.
fn same_key<T: ?Sized>(a: Option<&Arc<T>>, b: Option<&Arc<T>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// The keyring's output for `before` must be a valid transition of it (ESDK
/// keyring interface): the same suite, context, required keys and message
/// key pair, the data key kept once set. A keyring written by a user could
/// otherwise return materials of another request (another context or
/// signing key), and the message would be sealed under them.
fn check_same_request(
    before: (AlgorithmSuite, &EncryptionContext, &BTreeSet<String>),
    after: (AlgorithmSuite, &EncryptionContext, &BTreeSet<String>),
    keys: (Option<&DataKey>, Option<&DataKey>),
    same_key_pair: bool,
) -> Result<()> {
    let changed = if before.0 != after.0 {
        "algorithm suite"
    } else if before.1 != after.1 {
        "encryption context"
    } else if before.2 != after.2 {
        "required encryption context keys"
    } else if !same_key_pair {
        "message signing key pair"
    } else {
        match keys {
            (None, _) => return Ok(()),
            (Some(a), Some(b)) if bool::from(a.as_bytes().ct_eq(b.as_bytes())) => return Ok(()),
            _ => "data key",
        }
    };
    Err(Error::bad_arg(format!(
        "the keyring returned materials with a different {changed} than it was given; \
         a keyring may only add a data key and encrypted data keys"
    )))
}

impl EncryptionMaterials {
    /// For a signing suite, makes the message's signing key and puts its
    /// public key in the encryption context (`aws-crypto-public-key`), as
    /// the default materials manager does; nothing for other suites. A
    /// materials manager written from scratch calls it before its keyring.
    ///
    /// Fails if the context already holds `aws-crypto-public-key` (for any
    /// suite: an unsigned message carrying it is refused by every reader),
    /// or a signing key was made already.
    ///
    /// ```
    /// use kms_envelope::{AlgorithmSuite, EncryptionContext, EncryptionMaterials, PUBLIC_KEY_FIELD};
    /// let mut m = EncryptionMaterials::new(
    ///     AlgorithmSuite::AesGcm256HkdfSha512CommitKeyEcdsaP384,
    ///     EncryptionContext::new(),
    /// );
    /// m.generate_signing_key()?;
    /// assert!(m.encryption_context().contains_key(PUBLIC_KEY_FIELD));
    /// # Ok::<(), kms_envelope::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if a signing key was made already, the
    /// context holds `aws-crypto-public-key`, or the key cannot be
    /// generated (the random number generator failed).
    pub fn generate_signing_key(&mut self) -> Result<()> {
        if self.signing_key.is_some() {
            return Err(Error::bad_arg("these materials hold a signing key already"));
        }
        if self.encryption_context.contains_key(PUBLIC_KEY_FIELD) {
            return Err(Error::bad_arg(format!(
                "the encryption context already holds the reserved key '{PUBLIC_KEY_FIELD}'"
            )));
        }
        let Some(curve) = self.algorithm_suite.signature_curve() else {
            return Ok(());
        };
        let key = EcdsaSigningKey::generate(curve)
            .map_err(|_| Error::bad_arg("could not generate the message signing key"))?;
        let public = base64::engine::general_purpose::STANDARD.encode(key.public_key_compressed());
        self.encryption_context.insert(PUBLIC_KEY_FIELD, public);
        self.signing_key = Some(SigningKey(Arc::new(key)));
        Ok(())
    }

    /// Checks that `self`, returned by a keyring that was given `before`,
    /// only added to it: a data key if there was none, encrypted data keys
    /// after the existing ones.
    pub(crate) fn check_transition_from(&self, before: &EncryptionMaterials) -> Result<()> {
        check_same_request(
            before.request(),
            self.request(),
            (before.plaintext_data_key(), self.plaintext_data_key()),
            same_key(
                before.signing_key.as_ref().map(|k| &k.0),
                self.signing_key.as_ref().map(|k| &k.0),
            ),
        )?;
        if !self
            .encrypted_data_keys
            .starts_with(&before.encrypted_data_keys)
        {
            return Err(Error::bad_arg(
                "the keyring removed or changed encrypted data keys it was given; \
                 a keyring may only add encrypted data keys",
            ));
        }
        Ok(())
    }

    fn request(&self) -> (AlgorithmSuite, &EncryptionContext, &BTreeSet<String>) {
        (
            self.algorithm_suite,
            &self.encryption_context,
            &self.required_encryption_context_keys,
        )
    }
}

impl DecryptionMaterials {
    /// For a signing suite, takes the message's verification key from the
    /// encryption context (`aws-crypto-public-key`), as the default
    /// materials manager does; for other suites, checks there is none. A
    /// materials manager written from scratch calls it on the materials it
    /// returns.
    ///
    /// Fails (malformed message) if a signed message's context lacks the
    /// key or holds one that is not a point of the suite's curve, or an
    /// unsigned message's context holds one.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedMessage`] if the suite signs and the context has
    /// no `aws-crypto-public-key`, or its value is not base64 of a
    /// compressed point on the suite's curve; or the suite does not sign
    /// and the context holds the key.
    pub fn set_verification_key_from_context(&mut self) -> Result<()> {
        let suite = self.algorithm_suite;
        self.verification_key = match (
            suite.signature_curve(),
            self.encryption_context.get(PUBLIC_KEY_FIELD),
        ) {
            (Some(curve), Some(b64)) => {
                let point = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| {
                        Error::malformed("the message's verification key is not valid base64")
                    })?;
                let key = EcdsaVerifyingKey::from_sec1(curve, &point).map_err(|_| {
                    Error::malformed("the message's verification key is not a valid point")
                })?;
                Some(Arc::new(key))
            }
            (Some(_), None) => {
                return Err(Error::malformed(format!(
                    "signed message has no '{PUBLIC_KEY_FIELD}' in its encryption context"
                )))
            }
            (None, Some(_)) => {
                return Err(Error::malformed(format!(
                    "unsigned message carries '{PUBLIC_KEY_FIELD}' in its encryption context"
                )))
            }
            (None, None) => None,
        };
        Ok(())
    }

    /// Makes the context these materials carry the one a decrypt
    /// authenticates, which is what its caller gets: the message's `stored`
    /// pairs, which a materials manager must return unchanged, and the
    /// required pairs authenticated beside them. Other pairs a manager
    /// added were never authenticated and are dropped.
    pub(crate) fn keep_authenticated_context(&mut self, stored: &EncryptionContext) -> Result<()> {
        if let Some((key, _)) = stored
            .iter()
            .find(|(k, v)| self.encryption_context.get(k) != Some(*v))
        {
            return Err(Error::bad_arg(format!(
                "the materials manager's decryption materials drop or change the message's \
                 encryption context pair '{key}'"
            )));
        }
        let required = &self.required_encryption_context_keys;
        self.encryption_context
            .retain(|k| stored.contains_key(k) || required.contains(k));
        Ok(())
    }

    /// Checks that `self`, returned by a keyring that was given `before`,
    /// only added a data key to it.
    pub(crate) fn check_transition_from(&self, before: &DecryptionMaterials) -> Result<()> {
        check_same_request(
            before.request(),
            self.request(),
            (before.plaintext_data_key(), self.plaintext_data_key()),
            same_key(
                before.verification_key.as_ref(),
                self.verification_key.as_ref(),
            ),
        )
    }

    fn request(&self) -> (AlgorithmSuite, &EncryptionContext, &BTreeSet<String>) {
        (
            self.algorithm_suite,
            &self.encryption_context,
            &self.required_encryption_context_keys,
        )
    }
}

fn check_key_len(suite: AlgorithmSuite, key: &DataKey) -> Result<()> {
    if key.len() == suite.data_key_len() {
        Ok(())
    } else {
        Err(Error::bad_arg(format!(
            "data key is {} bytes; suite {suite} needs {}",
            key.len(),
            suite.data_key_len()
        )))
    }
}

/// What a materials manager is asked for on encrypt.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EncryptionRequest {
    /// The caller's encryption context.
    pub encryption_context: EncryptionContext,
    /// The client's commitment policy.
    pub commitment_policy: CommitmentPolicy,
    /// The suite the caller asked for, if any.
    pub algorithm_suite: Option<AlgorithmSuite>,
    /// The plaintext length, or a bound on it, if known.
    pub max_plaintext_length: Option<u64>,
    /// Context keys whose pairs are to be authenticated but not stored in
    /// the message (a [`RequiredEncryptionContextMaterialsManager`] above
    /// this one asks for them). Each must be in the context, and the
    /// materials returned must list at least these as required.
    ///
    /// [`RequiredEncryptionContextMaterialsManager`]: crate::RequiredEncryptionContextMaterialsManager
    pub required_encryption_context_keys: BTreeSet<String>,
}

impl EncryptionRequest {
    /// A request with no suite, no length bound and no required keys.
    pub fn new(encryption_context: EncryptionContext, commitment_policy: CommitmentPolicy) -> Self {
        Self {
            encryption_context,
            commitment_policy,
            algorithm_suite: None,
            max_plaintext_length: None,
            required_encryption_context_keys: BTreeSet::new(),
        }
    }
}

/// What a materials manager is asked for on decrypt.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecryptionRequest {
    /// The suite from the message header.
    pub algorithm_suite: AlgorithmSuite,
    /// The client's commitment policy.
    pub commitment_policy: CommitmentPolicy,
    /// The message's encrypted data keys.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// The encryption context stored in the header.
    pub encryption_context: EncryptionContext,
    /// The context the caller reproduced, if any.
    pub reproduced_encryption_context: Option<EncryptionContext>,
}

impl DecryptionRequest {
    /// A request for a parsed header's materials.
    pub fn new(
        algorithm_suite: AlgorithmSuite,
        commitment_policy: CommitmentPolicy,
        encrypted_data_keys: Vec<EncryptedDataKey>,
        encryption_context: EncryptionContext,
        reproduced_encryption_context: Option<EncryptionContext>,
    ) -> Self {
        Self {
            algorithm_suite,
            commitment_policy,
            encrypted_data_keys,
            encryption_context,
            reproduced_encryption_context,
        }
    }
}
