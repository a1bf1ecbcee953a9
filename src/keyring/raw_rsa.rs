//! The raw RSA keyring: wraps data keys with a local RSA key pair.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::crypto;
use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::future::{ready, BoxFuture};
use crate::keyring::{
    already_decrypted, check_namespace, generate_if_missing, no_key_for, Keyring,
};
use crate::materials::{DataKey, DecryptionMaterials, EncryptionMaterials};
use crate::pem;

/// RSA encryption padding. OAEP uses MGF1 with the same hash and an empty label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RsaPadding {
    /// RSAES-PKCS1-v1_5 (legacy; prefer OAEP).
    Pkcs1V15,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1.
    OaepSha1,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    OaepSha256,
    /// RSAES-OAEP with SHA-384 and MGF1-SHA-384.
    OaepSha384,
    /// RSAES-OAEP with SHA-512 and MGF1-SHA-512.
    OaepSha512,
}

impl RsaPadding {
    /// Every padding scheme.
    pub const ALL: [RsaPadding; 5] = [
        Self::Pkcs1V15,
        Self::OaepSha1,
        Self::OaepSha256,
        Self::OaepSha384,
        Self::OaepSha512,
    ];

    /// A short stable name: `pkcs1`, `oaep-sha1`, `oaep-sha256`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Pkcs1V15 => "pkcs1",
            Self::OaepSha1 => "oaep-sha1",
            Self::OaepSha256 => "oaep-sha256",
            Self::OaepSha384 => "oaep-sha384",
            Self::OaepSha512 => "oaep-sha512",
        }
    }
}

impl FromStr for RsaPadding {
    type Err = Error;

    /// Parses the names of [`RsaPadding::name`] (also `oaep-mgf1-sha256` style).
    fn from_str(s: &str) -> Result<Self> {
        let n = s
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '/'], "-")
            .replace("-mgf1", "");
        Self::ALL
            .into_iter()
            .find(|p| p.name() == n || (n == "pkcs1-v1.5" && *p == Self::Pkcs1V15))
            .ok_or_else(|| Error::bad_arg(format!("unknown RSA padding '{s}'")))
    }
}

/// The RSA key sizes both crypto backends accept, for error messages.
const RSA_KEY_BITS: &str = "2048 to 8192 bits";

/// An RSA public key, for wrapping.
#[derive(Clone)]
pub struct RsaPublicKey(Arc<crypto::RsaPublicKey>);

impl RsaPublicKey {
    /// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `pem_text` holds no PEM block, its first
    /// block has no matching END line, is not valid base64 or is labelled
    /// other than `PUBLIC KEY` or `RSA PUBLIC KEY`, or its key is refused
    /// by [`from_der`](Self::from_der).
    pub fn from_pem(pem_text: &str) -> Result<Self> {
        let der = pem::decode_public_key(pem_text)?;
        Self::from_der(&der)
    }

    /// Parses a DER SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`. Moduli
    /// of 2048 to 8192 bits are accepted.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `der` is neither form of an RSA public
    /// key, or its modulus is not 2048 to 8192 bits.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        crypto::RsaPublicKey::from_spki_der(der)
            .or_else(|_| crypto::RsaPublicKey::from_spki_der(&pem::spki_from_pkcs1(der)))
            .map(|k| Self(Arc::new(k)))
            .map_err(|_| {
                Error::bad_arg(format!(
                    "not a usable RSA public key: expected DER SubjectPublicKeyInfo or PKCS#1 \
                     with a modulus of {RSA_KEY_BITS}"
                ))
            })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.0.modulus_len() * 8
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.bits())
    }
}

/// An RSA private key, for unwrapping.
#[derive(Clone)]
pub struct RsaPrivateKey(Arc<crypto::RsaPrivateKey>);

impl RsaPrivateKey {
    /// Parses a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `pem_text` holds no PEM block, its first
    /// block has no matching END line, is not valid base64 or is labelled
    /// other than `PRIVATE KEY` or `RSA PRIVATE KEY` (an `ENCRYPTED PRIVATE
    /// KEY` included), or its key is refused by
    /// [`from_der`](Self::from_der).
    pub fn from_pem(pem_text: &str) -> Result<Self> {
        let der = pem::decode_private_key(pem_text)?;
        Self::from_der(&der)
    }

    /// Parses a DER PKCS#8 or PKCS#1 `RSAPrivateKey`. Moduli of 2048 to
    /// 8192 bits are accepted.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `der` is neither form of an RSA private
    /// key, or its modulus is not 2048 to 8192 bits.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        crypto::RsaPrivateKey::from_pkcs8_der(der)
            .or_else(|_| crypto::RsaPrivateKey::from_pkcs8_der(&pem::pkcs8_from_pkcs1(der)))
            .map(|k| Self(Arc::new(k)))
            .map_err(|_| {
                Error::bad_arg(format!(
                    "not a usable RSA private key: expected DER PKCS#8 or PKCS#1 with a \
                     modulus of {RSA_KEY_BITS}"
                ))
            })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.0.modulus_len() * 8
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({} bits, redacted)", self.bits())
    }
}

/// Wraps data keys with RSA, in the layout of the ESDK raw RSA keyring.
///
/// Encrypting needs the public key; decrypting needs the private key. The
/// public key is never derived from the private one. RSA does not bind the
/// encryption context; the header authentication does.
///
/// ```no_run
/// use kms_envelope::{RawRsaKeyring, RsaPadding, RsaPublicKey};
/// let public = RsaPublicKey::from_pem(&std::fs::read_to_string("public.pem")?)?;
/// let keyring = RawRsaKeyring::new("ns", "rsa-key", RsaPadding::OaepSha256, Some(public), None)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawRsaKeyring {
    namespace: String,
    name: String,
    padding: RsaPadding,
    public_key: Option<RsaPublicKey>,
    private_key: Option<RsaPrivateKey>,
}

impl RawRsaKeyring {
    /// A keyring with at least one of the two keys.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if both keys are `None`, or `namespace`
    /// starts with `aws-kms` (reserved for the AWS KMS keyrings).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        padding: RsaPadding,
        public_key: Option<RsaPublicKey>,
        private_key: Option<RsaPrivateKey>,
    ) -> Result<Self> {
        let namespace = namespace.into();
        check_namespace(&namespace)?;
        if public_key.is_none() && private_key.is_none() {
            return Err(Error::bad_arg(
                "a raw RSA keyring needs a public key, a private key or both",
            ));
        }
        Ok(Self {
            namespace,
            name: name.into(),
            padding,
            public_key,
            private_key,
        })
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
        let public = self.public_key.as_ref().ok_or_else(|| {
            Error::bad_arg(format!(
                "raw RSA keyring {}/{} has no public key, so it cannot encrypt",
                self.namespace, self.name
            ))
        })?;
        generate_if_missing(&mut materials)?;
        let key = materials
            .plaintext_data_key()
            .map(|k| k.as_bytes())
            .unwrap_or_default();
        let wrapped = public.0.encrypt(self.padding, key).map_err(|_| {
            Error::bad_arg("RSA encryption of the data key failed (key too small?)")
        })?;
        let edk = EncryptedDataKey::new(
            self.namespace.clone(),
            self.name.as_bytes().to_vec(),
            wrapped,
        );
        materials.add_encrypted_data_key(edk)?;
        Ok(materials)
    }

    fn unwrap_key(
        &self,
        mut materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials> {
        if materials.plaintext_data_key().is_some() {
            return Err(already_decrypted());
        }
        let label = format!("raw RSA {}/{}", self.namespace, self.name);
        let Some(private) = &self.private_key else {
            return Err(Error::NoKeyUnwrapped(vec![format!(
                "{label}: no private key"
            )]));
        };
        let mut reasons = Vec::new();
        let expected_len = materials.algorithm_suite().data_key_len();
        for edk in edks {
            if edk.provider_id != self.namespace || edk.provider_info != self.name.as_bytes() {
                continue;
            }
            match private.0.decrypt(self.padding, &edk.ciphertext) {
                Ok(mut key) if key.len() == expected_len => {
                    materials.set_plaintext_data_key(DataKey::new(std::mem::take(&mut *key)))?;
                    return Ok(materials);
                }
                // One reason for both: which one it was would tell a sender
                // whether the padding was valid (a padding oracle).
                _ => reasons.push(format!(
                    "{label}: RSA decryption failed (another key or padding)"
                )),
            }
        }
        if reasons.is_empty() {
            let names = edks
                .iter()
                .filter(|e| e.provider_id == self.namespace)
                .map(|e| e.provider_info.as_slice());
            reasons.push(no_key_for(&label, names));
        }
        Err(Error::NoKeyUnwrapped(reasons))
    }
}

impl Keyring for RawRsaKeyring {
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
