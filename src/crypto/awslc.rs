//! Primitives from AWS-LC through `aws-lc-rs` (native builds).

use aws_lc_rs::{aead, digest, hkdf as lc_hkdf, rand, rsa, signature};
use zeroize::Zeroizing;

use super::{CryptoError, Curve, HashAlg, RsaPadding};

pub(crate) const NAME: &str = "aws-lc-rs";

impl From<aws_lc_rs::error::Unspecified> for CryptoError {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        CryptoError
    }
}

impl From<aws_lc_rs::error::KeyRejected> for CryptoError {
    fn from(_: aws_lc_rs::error::KeyRejected) -> Self {
        CryptoError
    }
}

/// An AES-GCM key with its schedule expanded once, reused for every frame.
pub(crate) struct AesGcmKey(aead::LessSafeKey);

/// AES-GCM openings of short ciphertexts under one key and one AAD (a raw
/// AES keyring trying each wrapped data key). AWS-LC hashes the AAD on each
/// opening, at several GB/s; `rustcrypto.rs` hashes it once.
pub(crate) struct SharedAadOpener {
    key: AesGcmKey,
    aad: Vec<u8>,
}

impl SharedAadOpener {
    pub(crate) fn new(key: &[u8], aad: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self {
            key: AesGcmKey::new(key)?,
            aad: aad.to_vec(),
        })
    }

    pub(crate) fn open_in_place(
        &self,
        iv: &[u8; 12],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError> {
        self.key.open_in_place(iv, &self.aad, data, tag)
    }
}

impl AesGcmKey {
    pub(crate) fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let alg = match key.len() {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            32 => &aead::AES_256_GCM,
            _ => return Err(CryptoError),
        };
        Ok(Self(aead::LessSafeKey::new(aead::UnboundKey::new(
            alg, key,
        )?)))
    }

    pub(crate) fn seal_in_place(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        let tag = self.0.seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(*iv),
            aead::Aad::from(aad),
            data,
        )?;
        tag.as_ref().try_into().map_err(|_| CryptoError)
    }

    pub(crate) fn open_in_place(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError> {
        self.0.open_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(*iv),
            aead::Aad::from(aad),
            tag,
            data,
        )?;
        Ok(())
    }
}

struct OkmLen(usize);

impl lc_hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_alg(hash: HashAlg) -> lc_hkdf::Algorithm {
    match hash {
        HashAlg::Sha256 => lc_hkdf::HKDF_SHA256,
        HashAlg::Sha384 => lc_hkdf::HKDF_SHA384,
        HashAlg::Sha512 => lc_hkdf::HKDF_SHA512,
    }
}

pub(crate) fn hkdf(
    hash: HashAlg,
    salt: &[u8],
    ikm: &[u8],
    outputs: &mut [(&[u8], &mut [u8])],
) -> Result<(), CryptoError> {
    // One extract serves every expand.
    let prk = lc_hkdf::Salt::new(hkdf_alg(hash), salt).extract(ikm);
    for (info, out) in outputs.iter_mut() {
        prk.expand(&[*info], OkmLen(out.len()))?.fill(out)?;
    }
    Ok(())
}

fn digest_alg(hash: HashAlg) -> &'static digest::Algorithm {
    match hash {
        HashAlg::Sha256 => &digest::SHA256,
        HashAlg::Sha384 => &digest::SHA384,
        HashAlg::Sha512 => &digest::SHA512,
    }
}

/// Incremental SHA-2: AWS-LC's, or the host's when a binding installed one
/// (feature `host-crypto`; the Python package hands long hashes to
/// `hashlib`).
pub(crate) struct Hasher(Sha);

enum Sha {
    Native(digest::Context),
    #[cfg(feature = "host-crypto")]
    Host(crate::host_crypto::HostHasher),
}

impl Hasher {
    pub(crate) fn new(hash: HashAlg) -> Self {
        #[cfg(feature = "host-crypto")]
        if let Some(h) = crate::host_crypto::HostHasher::start(hash) {
            return Self(Sha::Host(h));
        }
        Self(Sha::Native(digest::Context::new(digest_alg(hash))))
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Sha::Native(c) => c.update(data),
            #[cfg(feature = "host-crypto")]
            Sha::Host(h) => h.update(data),
        }
    }

    /// The digest. A host hash that failed gives an empty digest, which
    /// every signature operation refuses (fail closed).
    pub(crate) fn finish(self) -> Vec<u8> {
        match self.0 {
            Sha::Native(c) => c.finish().as_ref().to_vec(),
            #[cfg(feature = "host-crypto")]
            Sha::Host(h) => {
                let alg = digest_alg(h.alg());
                h.finish(|held| digest::digest(alg, held).as_ref().to_vec())
            }
        }
    }

    fn alg(&self) -> &'static digest::Algorithm {
        match &self.0 {
            Sha::Native(c) => c.algorithm(),
            #[cfg(feature = "host-crypto")]
            Sha::Host(h) => digest_alg(h.alg()),
        }
    }
}

/// An ephemeral ECDSA key pair, one per signed message.
pub(crate) struct EcdsaSigningKey(signature::EcdsaKeyPair, Curve);

impl EcdsaSigningKey {
    pub(crate) fn generate(curve: Curve) -> Result<Self, CryptoError> {
        let alg = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        };
        Ok(Self(signature::EcdsaKeyPair::generate(alg)?, curve))
    }

    pub(crate) fn curve(&self) -> Curve {
        self.1
    }

    pub(crate) fn public_key_compressed(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyCompressedBin};
        use signature::KeyPair;
        match AsBigEndian::<EcPublicKeyCompressedBin>::as_be_bytes(self.0.public_key()) {
            Ok(bytes) => bytes.as_ref().to_vec(),
            // Serializing a valid in-memory point cannot fail; an empty key
            // would make every verifier reject the message, never accept it.
            Err(_) => Vec::new(),
        }
    }

    /// Signs a digest of the curve's hash (AWS-LC draws a fresh nonce
    /// every time).
    pub(crate) fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest = digest::Digest::import_less_safe(digest, digest_alg(self.1.hash()))?;
        Ok(self.0.sign_digest(&digest)?.as_ref().to_vec())
    }

    /// A hash for the message this key is to sign.
    pub(crate) fn hasher(&self) -> Hasher {
        Hasher::new(self.1.hash())
    }

    /// The DER signature over the message `hasher` has seen.
    pub(crate) fn sign(&self, hasher: Hasher) -> Result<Vec<u8>, CryptoError> {
        self.sign_digest(&hasher.finish())
    }

    /// The digest of the message `hasher` has seen, to sign again with
    /// [`Self::sign_digest_randomized`].
    pub(crate) fn prehash(&self, hasher: Hasher) -> Result<Vec<u8>, CryptoError> {
        Ok(hasher.finish())
    }

    /// As [`Self::sign_digest`]: every signature already has a fresh nonce.
    pub(crate) fn sign_digest_randomized(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign_digest(digest)
    }
}

/// A verification key parsed (once) from the message's encryption context.
pub(crate) struct EcdsaVerifyingKey(signature::ParsedPublicKey, Curve);

impl EcdsaVerifyingKey {
    pub(crate) fn from_sec1(curve: Curve, point: &[u8]) -> Result<Self, CryptoError> {
        let (alg, len): (&'static signature::EcdsaVerificationAlgorithm, usize) = match curve {
            Curve::P256 => (&signature::ECDSA_P256_SHA256_ASN1, 33),
            Curve::P384 => (&signature::ECDSA_P384_SHA384_ASN1, 49),
        };
        // The format stores the compressed point only.
        if point.len() != len || !matches!(point.first(), Some(2 | 3)) {
            return Err(CryptoError);
        }
        let key = signature::UnparsedPublicKey::new(alg, point).parse()?;
        Ok(Self(key, curve))
    }

    /// A hash for the message to verify with this key.
    pub(crate) fn hasher(&self) -> Hasher {
        Hasher::new(self.1.hash())
    }

    pub(crate) fn verify(&self, hasher: Hasher, der_signature: &[u8]) -> Result<(), CryptoError> {
        let alg = hasher.alg();
        let digest = digest::Digest::import_less_safe(&hasher.finish(), alg)?;
        self.0.verify_digest_sig(&digest, der_signature)?;
        Ok(())
    }
}

fn oaep_alg(padding: RsaPadding) -> Option<&'static rsa::OaepAlgorithm> {
    match padding {
        RsaPadding::Pkcs1V15 => None,
        RsaPadding::OaepSha1 => Some(&rsa::OAEP_SHA1_MGF1SHA1),
        RsaPadding::OaepSha256 => Some(&rsa::OAEP_SHA256_MGF1SHA256),
        RsaPadding::OaepSha384 => Some(&rsa::OAEP_SHA384_MGF1SHA384),
        RsaPadding::OaepSha512 => Some(&rsa::OAEP_SHA512_MGF1SHA512),
    }
}

/// An RSA public key (for wrapping).
#[derive(Clone)]
pub(crate) struct RsaPublicKey(rsa::PublicEncryptingKey);

impl RsaPublicKey {
    pub(crate) fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self(rsa::PublicEncryptingKey::from_der(der)?))
    }

    pub(crate) fn modulus_len(&self) -> usize {
        self.0.key_size_bytes()
    }

    pub(crate) fn encrypt(&self, padding: RsaPadding, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![0u8; self.0.key_size_bytes()];
        let n = match oaep_alg(padding) {
            Some(alg) => rsa::OaepPublicEncryptingKey::new(self.0.clone())?
                .encrypt(alg, data, &mut out, None)?
                .len(),
            None => rsa::Pkcs1PublicEncryptingKey::new(self.0.clone())?
                .encrypt(data, &mut out)?
                .len(),
        };
        out.truncate(n);
        Ok(out)
    }
}

/// An RSA private key (for unwrapping).
pub(crate) struct RsaPrivateKey(rsa::PrivateDecryptingKey);

impl RsaPrivateKey {
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self(rsa::PrivateDecryptingKey::from_pkcs8(der)?))
    }

    pub(crate) fn modulus_len(&self) -> usize {
        self.0.key_size_bytes()
    }

    pub(crate) fn decrypt(
        &self,
        padding: RsaPadding,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = Zeroizing::new(vec![0u8; self.0.key_size_bytes()]);
        let n = match oaep_alg(padding) {
            Some(alg) => {
                let key = rsa::OaepPrivateDecryptingKey::new(self.0.clone())?;
                key.decrypt(alg, ciphertext, &mut out, None)?.len()
            }
            None => {
                let key = rsa::Pkcs1PrivateDecryptingKey::new(self.0.clone())?;
                key.decrypt(ciphertext, &mut out)?.len()
            }
        };
        out.truncate(n);
        Ok(out)
    }
}

pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), CryptoError> {
    rand::fill(out)?;
    Ok(())
}
