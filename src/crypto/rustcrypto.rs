//! Primitives from the RustCrypto crates (wasm32 builds, and native builds
//! with the `rustcrypto` feature). Mirrors `awslc.rs` item for item.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::aes::cipher::BlockCipherEncrypt;
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};
use ecdsa::elliptic_curve::Generate;
use ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use hkdf::Hkdf;
use rsa::pkcs8::der::asn1::{AnyRef, Null, UintRef};
use rsa::pkcs8::der::Decode;
use rsa::pkcs8::{DecodePrivateKey, SubjectPublicKeyInfoRef};
use rsa::rand_core::{TryCryptoRng, TryRng};
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Oaep, Pkcs1v15Encrypt};
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::{CryptoError, Curve, HashAlg, RsaPadding};

pub(crate) const NAME: &str = "rustcrypto";

/// `rand_core` adapter over `getrandom` that never panics (unlike `OsRng`):
/// a failure is an error, which the key generators, the signers and RSA
/// pass back (no rejection loop is left spinning on bytes that never come).
struct Rng;

/// `getrandom` failed.
#[derive(Debug)]
struct RngFailed;

impl core::fmt::Display for RngFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the system random number generator failed")
    }
}

impl core::error::Error for RngFailed {}

impl TryRng for Rng {
    type Error = RngFailed;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::getrandom(dest).map_err(|_| RngFailed)
    }
}

impl TryCryptoRng for Rng {}

enum Gcm {
    Aes128(Box<Aes128Gcm>),
    Aes192(Box<AesGcm<Aes192, U12>>),
    Aes256(Box<Aes256Gcm>),
}

/// An AES-GCM key with its schedule expanded once, reused for every frame.
pub(crate) struct AesGcmKey(Gcm, HostKey);

/// The raw key, kept for a host AES-GCM (feature `host-crypto`).
#[cfg(feature = "host-crypto")]
type HostKey = Zeroizing<Vec<u8>>;
/// Nothing to keep without a host AES-GCM.
#[cfg(not(feature = "host-crypto"))]
struct HostKey;

#[cfg(feature = "host-crypto")]
fn host_key(key: &[u8]) -> HostKey {
    Zeroizing::new(key.to_vec())
}
#[cfg(not(feature = "host-crypto"))]
fn host_key(_key: &[u8]) -> HostKey {
    HostKey
}

impl AesGcmKey {
    pub(crate) fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let bad = |_| CryptoError;
        let gcm = match key.len() {
            16 => Gcm::Aes128(Box::new(Aes128Gcm::new_from_slice(key).map_err(bad)?)),
            24 => Gcm::Aes192(Box::new(AesGcm::new_from_slice(key).map_err(bad)?)),
            32 => Gcm::Aes256(Box::new(Aes256Gcm::new_from_slice(key).map_err(bad)?)),
            _ => return Err(CryptoError),
        };
        Ok(Self(gcm, host_key(key)))
    }

    pub(crate) fn seal_in_place(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        #[cfg(feature = "host-crypto")]
        if let Some(tag) =
            crate::host_crypto::current().and_then(|h| h.seal(&self.1, iv, aad, data))
        {
            return Ok(tag);
        }
        let nonce = iv.into();
        let tag = match &self.0 {
            Gcm::Aes128(c) => c.encrypt_inout_detached(nonce, aad, data.into()),
            Gcm::Aes192(c) => c.encrypt_inout_detached(nonce, aad, data.into()),
            Gcm::Aes256(c) => c.encrypt_inout_detached(nonce, aad, data.into()),
        }
        .map_err(|_| CryptoError)?;
        Ok(tag.into())
    }

    pub(crate) fn open_in_place(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError> {
        #[cfg(feature = "host-crypto")]
        if let Some(ok) =
            crate::host_crypto::current().and_then(|h| h.open(&self.1, iv, aad, data, tag))
        {
            return if ok { Ok(()) } else { Err(CryptoError) };
        }
        let (nonce, tag) = (iv.into(), tag.into());
        match &self.0 {
            Gcm::Aes128(c) => c.decrypt_inout_detached(nonce, aad, data.into(), tag),
            Gcm::Aes192(c) => c.decrypt_inout_detached(nonce, aad, data.into(), tag),
            Gcm::Aes256(c) => c.decrypt_inout_detached(nonce, aad, data.into(), tag),
        }
        .map_err(|_| CryptoError)
    }
}

/// The AES block cipher under a key of any of the three lengths.
enum BlockCipher {
    Aes128(Box<Aes128>),
    Aes192(Box<Aes192>),
    Aes256(Box<Aes256>),
}

impl BlockCipher {
    fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let bad = |_| CryptoError;
        Ok(match key.len() {
            16 => Self::Aes128(Box::new(Aes128::new_from_slice(key).map_err(bad)?)),
            24 => Self::Aes192(Box::new(Aes192::new_from_slice(key).map_err(bad)?)),
            32 => Self::Aes256(Box::new(Aes256::new_from_slice(key).map_err(bad)?)),
            _ => return Err(CryptoError),
        })
    }

    fn encrypt(&self, block: &mut ghash::Block) {
        match self {
            Self::Aes128(c) => c.encrypt_block(block),
            Self::Aes192(c) => c.encrypt_block(block),
            Self::Aes256(c) => c.encrypt_block(block),
        }
    }
}

/// AES-GCM openings of short ciphertexts under one key and one AAD (a raw
/// AES keyring trying each wrapped data key). GCM's tag hashes the AAD
/// before the ciphertext, so the GHASH state after the AAD is computed once
/// and cloned for each opening: a message listing thousands of wrapped keys
/// beside a 64 KiB encryption context costs about its own size to try,
/// not thousands of times the context. The same steps as the `aes-gcm`
/// crate (NIST SP 800-38D with a 96-bit IV; a test compares the two).
pub(crate) struct SharedAadOpener {
    cipher: BlockCipher,
    after_aad: GHash,
    aad_bits: u64,
}

impl SharedAadOpener {
    pub(crate) fn new(key: &[u8], aad: &[u8]) -> Result<Self, CryptoError> {
        let cipher = BlockCipher::new(key)?;
        let mut hash_key = ghash::Key::default();
        cipher.encrypt(&mut hash_key);
        let mut after_aad = GHash::new(&hash_key);
        hash_key.zeroize();
        after_aad.update_padded(aad);
        let aad_bits = u64::try_from(aad.len())
            .ok()
            .and_then(|n| n.checked_mul(8))
            .ok_or(CryptoError)?;
        Ok(Self {
            cipher,
            after_aad,
            aad_bits,
        })
    }

    pub(crate) fn open_in_place(
        &self,
        iv: &[u8; 12],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError> {
        let data_bits = u64::try_from(data.len())
            .ok()
            .and_then(|n| n.checked_mul(8))
            .ok_or(CryptoError)?;
        let mut ghash = self.after_aad.clone();
        ghash.update_padded(data);
        let mut lengths = ghash::Block::default();
        lengths[..8].copy_from_slice(&self.aad_bits.to_be_bytes());
        lengths[8..].copy_from_slice(&data_bits.to_be_bytes());
        ghash.update(&[lengths]);
        let mut expected = ghash.finalize();
        // J0 = IV || 0^31 || 1; the tag is GHASH xor E(J0).
        let mut counter_block = ghash::Block::default();
        counter_block[..12].copy_from_slice(iv);
        counter_block[15] = 1;
        let mut mask = counter_block;
        self.cipher.encrypt(&mut mask);
        for (e, m) in expected.iter_mut().zip(mask.iter()) {
            *e ^= *m;
        }
        mask.zeroize();
        let matches = bool::from(expected[..].ct_eq(&tag[..]));
        expected.zeroize();
        if !matches {
            return Err(CryptoError);
        }
        // CTR from inc32(J0): counters 2, 3, ... (a wrapped data key is at
        // most two blocks; no 32-bit wrap is possible before 2^32 blocks).
        for (i, chunk) in data.chunks_mut(16).enumerate() {
            let counter = u32::try_from(i)
                .ok()
                .and_then(|i| i.checked_add(2))
                .ok_or(CryptoError)?;
            let mut stream = counter_block;
            stream[12..].copy_from_slice(&counter.to_be_bytes());
            self.cipher.encrypt(&mut stream);
            for (d, k) in chunk.iter_mut().zip(stream.iter()) {
                *d ^= *k;
            }
            stream.zeroize();
        }
        Ok(())
    }
}

pub(crate) fn hkdf(
    hash: HashAlg,
    salt: &[u8],
    ikm: &[u8],
    outputs: &mut [(&[u8], &mut [u8])],
) -> Result<(), CryptoError> {
    // HMAC pads its key with zeros, so an empty salt is HashLen zero bytes.
    // One extract serves every expand; the pseudorandom key is wiped here,
    // the HMAC states holding it by the hashes' `zeroize` feature.
    macro_rules! expand_all {
        ($h:ty) => {{
            let (mut prk, kdf) = Hkdf::<$h>::extract(Some(salt), ikm);
            prk.as_mut_slice().zeroize();
            outputs
                .iter_mut()
                .try_for_each(|(info, out)| kdf.expand(info, out))
        }};
    }
    match hash {
        HashAlg::Sha256 => expand_all!(Sha256),
        HashAlg::Sha384 => expand_all!(Sha384),
        HashAlg::Sha512 => expand_all!(Sha512),
    }
    .map_err(|_| CryptoError)
}

enum Sha {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    /// A hash run by the host (feature `host-crypto`).
    #[cfg(feature = "host-crypto")]
    Host(crate::host_crypto::HostHasher),
    /// A message being signed by a host key: its "digest" is the signature.
    #[cfg(feature = "host-crypto")]
    HostSign(Box<dyn crate::host_crypto::HostDigest>, HashAlg),
    /// A message being verified by a host key.
    #[cfg(feature = "host-crypto")]
    HostVerify(Box<dyn crate::host_crypto::HostVerifier>, HashAlg),
}

impl Sha {
    fn native(hash: HashAlg) -> Self {
        match hash {
            HashAlg::Sha256 => Sha::Sha256(Sha256::new()),
            HashAlg::Sha384 => Sha::Sha384(Sha384::new()),
            HashAlg::Sha512 => Sha::Sha512(Sha512::new()),
        }
    }
}

/// Incremental SHA-2: the host's when one is installed, else RustCrypto's.
pub(crate) struct Hasher(Sha);

impl Hasher {
    pub(crate) fn new(hash: HashAlg) -> Self {
        #[cfg(feature = "host-crypto")]
        if let Some(h) = crate::host_crypto::HostHasher::start(hash) {
            return Self(Sha::Host(h));
        }
        Self(Sha::native(hash))
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Sha::Sha256(h) => h.update(data),
            Sha::Sha384(h) => h.update(data),
            Sha::Sha512(h) => h.update(data),
            #[cfg(feature = "host-crypto")]
            Sha::Host(h) => h.update(data),
            #[cfg(feature = "host-crypto")]
            Sha::HostSign(h, _) => h.update(data),
            #[cfg(feature = "host-crypto")]
            Sha::HostVerify(h, _) => h.update(data),
        }
    }

    /// The digest. A host hash that failed gives an empty digest, which
    /// every signature operation refuses (fail closed).
    pub(crate) fn finish(self) -> Vec<u8> {
        match self.0 {
            Sha::Sha256(h) => h.finalize().to_vec(),
            Sha::Sha384(h) => h.finalize().to_vec(),
            Sha::Sha512(h) => h.finalize().to_vec(),
            #[cfg(feature = "host-crypto")]
            Sha::Host(h) => {
                let alg = h.alg();
                h.finish(|held| {
                    let mut native = Self(Sha::native(alg));
                    native.update(held);
                    native.finish()
                })
            }
            // A host signature or verification has no digest to give.
            #[cfg(feature = "host-crypto")]
            Sha::HostSign(..) | Sha::HostVerify(..) => Vec::new(),
        }
    }

    fn alg(&self) -> HashAlg {
        match &self.0 {
            Sha::Sha256(_) => HashAlg::Sha256,
            Sha::Sha384(_) => HashAlg::Sha384,
            Sha::Sha512(_) => HashAlg::Sha512,
            #[cfg(feature = "host-crypto")]
            Sha::Host(h) => h.alg(),
            #[cfg(feature = "host-crypto")]
            Sha::HostSign(_, alg) | Sha::HostVerify(_, alg) => *alg,
        }
    }
}

/// The digest a curve signs, or an error if `hasher` runs another hash (as
/// AWS-LC refuses a digest of the wrong algorithm).
fn curve_digest(curve: Curve, hasher: Hasher) -> Result<Vec<u8>, CryptoError> {
    if hasher.alg() != curve.hash() {
        return Err(CryptoError);
    }
    let digest = hasher.finish();
    if digest.len() == curve.hash().len() {
        Ok(digest)
    } else {
        Err(CryptoError)
    }
}

enum SigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    /// A key on the host (feature `host-crypto`).
    #[cfg(feature = "host-crypto")]
    Host(Box<dyn crate::host_crypto::HostSigningKey>, Curve),
}

/// An ephemeral ECDSA key pair, one per signed message.
pub(crate) struct EcdsaSigningKey(SigningKey);

impl EcdsaSigningKey {
    pub(crate) fn generate(curve: Curve) -> Result<Self, CryptoError> {
        #[cfg(feature = "host-crypto")]
        if let Some(key) =
            crate::host_crypto::current_ecdsa().and_then(|h| h.generate(curve.name()))
        {
            return Ok(Self(SigningKey::Host(key, curve)));
        }
        let bad = |_| CryptoError;
        Ok(Self(match curve {
            Curve::P256 => SigningKey::P256(
                p256::ecdsa::SigningKey::try_generate_from_rng(&mut Rng).map_err(bad)?,
            ),
            Curve::P384 => SigningKey::P384(
                p384::ecdsa::SigningKey::try_generate_from_rng(&mut Rng).map_err(bad)?,
            ),
        }))
    }

    pub(crate) fn public_key_compressed(&self) -> Vec<u8> {
        match &self.0 {
            SigningKey::P256(k) => k.verifying_key().to_sec1_point(true).as_bytes().to_vec(),
            SigningKey::P384(k) => k.verifying_key().to_sec1_point(true).as_bytes().to_vec(),
            #[cfg(feature = "host-crypto")]
            SigningKey::Host(k, _) => k.public_key_compressed(),
        }
    }

    pub(crate) fn curve(&self) -> Curve {
        match self.0 {
            SigningKey::P256(_) => Curve::P256,
            SigningKey::P384(_) => Curve::P384,
            #[cfg(feature = "host-crypto")]
            SigningKey::Host(_, curve) => curve,
        }
    }

    /// A hash for the message this key is to sign.
    pub(crate) fn hasher(&self) -> Hasher {
        match &self.0 {
            #[cfg(feature = "host-crypto")]
            SigningKey::Host(k, curve) => Hasher(Sha::HostSign(k.start(), curve.hash())),
            _ => Hasher::new(self.curve().hash()),
        }
    }

    /// The DER signature over the message `hasher` (from [`Self::hasher`])
    /// has seen.
    pub(crate) fn sign(&self, hasher: Hasher) -> Result<Vec<u8>, CryptoError> {
        match (&self.0, hasher.0) {
            #[cfg(feature = "host-crypto")]
            (SigningKey::Host(_, curve), Sha::HostSign(h, _)) => h
                .finish()
                .filter(|sig| !sig.is_empty() && sig.len() <= curve.max_signature_len())
                .ok_or(CryptoError),
            #[cfg(feature = "host-crypto")]
            (SigningKey::Host(..), _) | (_, Sha::HostSign(..)) => Err(CryptoError),
            (_, sha) => self.sign_digest(&curve_digest(self.curve(), Hasher(sha))?),
        }
    }

    /// The digest of the message `hasher` has seen, to sign again and again
    /// with [`Self::sign_digest_randomized`]; a host key has none.
    pub(crate) fn prehash(&self, hasher: Hasher) -> Result<Vec<u8>, CryptoError> {
        curve_digest(self.curve(), hasher)
    }

    /// Signs a digest of the curve's hash with a deterministic nonce (RFC
    /// 6979); the verifier cannot tell.
    pub(crate) fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.check_digest(digest)?;
        Ok(match &self.0 {
            SigningKey::P256(k) => {
                let sig: p256::ecdsa::DerSignature =
                    k.sign_prehash(digest).map_err(|_| CryptoError)?;
                sig.as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let sig: p384::ecdsa::DerSignature =
                    k.sign_prehash(digest).map_err(|_| CryptoError)?;
                sig.as_bytes().to_vec()
            }
            // A host key signs messages, not digests.
            #[cfg(feature = "host-crypto")]
            SigningKey::Host(..) => return Err(CryptoError),
        })
    }

    /// Signs a digest with RFC 6979 nonces mixed with fresh random bytes, so
    /// signing the same digest again gives another signature.
    pub(crate) fn sign_digest_randomized(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        use ecdsa::signature::hazmat::RandomizedPrehashSigner;
        self.check_digest(digest)?;
        let mut rng = Rng;
        let sig = match &self.0 {
            SigningKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash_with_rng(&mut rng, digest)
                    .map_err(|_| CryptoError)?;
                sig.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let sig: p384::ecdsa::Signature = k
                    .sign_prehash_with_rng(&mut rng, digest)
                    .map_err(|_| CryptoError)?;
                sig.to_der().as_bytes().to_vec()
            }
            #[cfg(feature = "host-crypto")]
            SigningKey::Host(..) => return Err(CryptoError),
        };
        Ok(sig)
    }

    /// Whether this key signs digests ([`Self::sign_digest`]); a host key
    /// signs only messages it hashes itself.
    #[cfg(feature = "host-crypto")]
    pub(crate) fn signs_digests(&self) -> bool {
        !matches!(self.0, SigningKey::Host(..))
    }

    /// AWS-LC refuses a digest of the wrong length; so does this backend.
    fn check_digest(&self, digest: &[u8]) -> Result<(), CryptoError> {
        if digest.len() == self.curve().hash().len() {
            Ok(())
        } else {
            Err(CryptoError)
        }
    }
}

enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    /// A key on the host (feature `host-crypto`).
    #[cfg(feature = "host-crypto")]
    Host(Box<dyn crate::host_crypto::HostVerifyingKey>, Curve),
}

/// A verification key parsed from the message's encryption context.
pub(crate) struct EcdsaVerifyingKey(VerifyingKey);

impl EcdsaVerifyingKey {
    pub(crate) fn from_sec1(curve: Curve, point: &[u8]) -> Result<Self, CryptoError> {
        let len = match curve {
            Curve::P256 => 33,
            Curve::P384 => 49,
        };
        // The format stores the compressed point only.
        if point.len() != len || !matches!(point.first(), Some(2 | 3)) {
            return Err(CryptoError);
        }
        #[cfg(feature = "host-crypto")]
        if let Some(key) =
            crate::host_crypto::current_ecdsa().and_then(|h| h.verifying_key(curve.name(), point))
        {
            return Ok(Self(VerifyingKey::Host(key, curve)));
        }
        Ok(Self(match curve {
            Curve::P256 => VerifyingKey::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| CryptoError)?,
            ),
            Curve::P384 => VerifyingKey::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| CryptoError)?,
            ),
        }))
    }

    /// A hash for the message to verify with this key.
    pub(crate) fn hasher(&self) -> Hasher {
        match &self.0 {
            VerifyingKey::P256(_) => Hasher::new(Curve::P256.hash()),
            VerifyingKey::P384(_) => Hasher::new(Curve::P384.hash()),
            #[cfg(feature = "host-crypto")]
            VerifyingKey::Host(k, curve) => Hasher(Sha::HostVerify(k.start(), curve.hash())),
        }
    }

    pub(crate) fn verify(&self, hasher: Hasher, der_signature: &[u8]) -> Result<(), CryptoError> {
        // Strict DER of any length up to the curve's maximum; r, s in [1, n).
        match &self.0 {
            #[cfg(feature = "host-crypto")]
            VerifyingKey::Host(_, curve) => {
                return match hasher.0 {
                    Sha::HostVerify(v, _) if der_signature.len() <= curve.max_signature_len() => {
                        v.verify(der_signature).then_some(()).ok_or(CryptoError)
                    }
                    _ => Err(CryptoError),
                };
            }
            VerifyingKey::P256(k) => {
                let digest = curve_digest(Curve::P256, hasher)?;
                let sig = p256::ecdsa::DerSignature::from_bytes(der_signature)
                    .map_err(|_| CryptoError)?;
                k.verify_prehash(&digest, &sig)
            }
            VerifyingKey::P384(k) => {
                let digest = curve_digest(Curve::P384, hasher)?;
                let sig = p384::ecdsa::DerSignature::from_bytes(der_signature)
                    .map_err(|_| CryptoError)?;
                k.verify_prehash(&digest, &sig)
            }
        }
        .map_err(|_| CryptoError)
    }
}

/// Converts an IEEE P1363 signature (`r ‖ s`, what WebCrypto gives) to DER.
#[cfg(feature = "host-crypto")]
pub(crate) fn der_from_p1363(curve: Curve, sig: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(match curve {
        Curve::P256 => p256::ecdsa::Signature::from_slice(sig)
            .map_err(|_| CryptoError)?
            .to_der()
            .as_bytes()
            .to_vec(),
        Curve::P384 => p384::ecdsa::Signature::from_slice(sig)
            .map_err(|_| CryptoError)?
            .to_der()
            .as_bytes()
            .to_vec(),
    })
}

/// Converts a strict DER signature to IEEE P1363 (`r ‖ s`, what WebCrypto checks).
#[cfg(feature = "host-crypto")]
pub(crate) fn p1363_from_der(curve: Curve, der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(match curve {
        Curve::P256 => p256::ecdsa::Signature::from_der(der)
            .map_err(|_| CryptoError)?
            .to_bytes()
            .to_vec(),
        Curve::P384 => p384::ecdsa::Signature::from_der(der)
            .map_err(|_| CryptoError)?
            .to_bytes()
            .to_vec(),
    })
}

#[cfg(feature = "host-crypto")]
impl EcdsaVerifyingKey {
    /// The curve.
    pub(crate) fn curve(&self) -> Curve {
        match &self.0 {
            VerifyingKey::P256(_) => Curve::P256,
            VerifyingKey::P384(_) => Curve::P384,
            VerifyingKey::Host(_, curve) => *curve,
        }
    }

    /// The curve's NIST name (`"P-256"`, `"P-384"`).
    pub(crate) fn curve_name(&self) -> &'static str {
        self.curve().name()
    }

    /// The public key as an uncompressed SEC 1 point (what WebCrypto
    /// imports); `None` for a host key.
    pub(crate) fn uncompressed_point(&self) -> Option<Vec<u8>> {
        match &self.0 {
            VerifyingKey::P256(k) => Some(k.to_sec1_point(false).as_bytes().to_vec()),
            VerifyingKey::P384(k) => Some(k.to_sec1_point(false).as_bytes().to_vec()),
            VerifyingKey::Host(..) => None,
        }
    }

    /// Whether this key checks digests ([`Self::verify_digest`]); a host
    /// key checks only messages it hashes itself.
    pub(crate) fn checks_digests(&self) -> bool {
        !matches!(self.0, VerifyingKey::Host(..))
    }

    /// Checks a DER signature over a digest of the curve's hash, computed
    /// by the caller.
    pub(crate) fn verify_digest(
        &self,
        digest: &[u8],
        der_signature: &[u8],
    ) -> Result<(), CryptoError> {
        let curve = match &self.0 {
            VerifyingKey::P256(_) => Curve::P256,
            VerifyingKey::P384(_) => Curve::P384,
            VerifyingKey::Host(..) => return Err(CryptoError),
        };
        if digest.len() != curve.hash().len() {
            return Err(CryptoError);
        }
        match &self.0 {
            VerifyingKey::P256(k) => {
                let sig = p256::ecdsa::DerSignature::from_bytes(der_signature)
                    .map_err(|_| CryptoError)?;
                k.verify_prehash(digest, &sig)
            }
            VerifyingKey::P384(k) => {
                let sig = p384::ecdsa::DerSignature::from_bytes(der_signature)
                    .map_err(|_| CryptoError)?;
                k.verify_prehash(digest, &sig)
            }
            VerifyingKey::Host(..) => return Err(CryptoError),
        }
        .map_err(|_| CryptoError)
    }

    /// The curve's hash.
    pub(crate) fn hash(&self) -> HashAlg {
        match &self.0 {
            VerifyingKey::P256(_) => Curve::P256.hash(),
            VerifyingKey::P384(_) => Curve::P384.hash(),
            VerifyingKey::Host(_, curve) => curve.hash(),
        }
    }
}

/// AWS-LC accepts RSA moduli of 2048 to 8192 bits for encryption.
const RSA_BITS: core::ops::RangeInclusive<usize> = 2048..=8192;

/// The bit length of a (public) modulus.
fn modulus_bits(n: &BoxedUint) -> usize {
    usize::try_from(n.bit_width_vartime()).unwrap_or(usize::MAX)
}

/// An RSA public key (for wrapping).
#[derive(Clone)]
pub(crate) struct RsaPublicKey(rsa::PublicKey);

impl RsaPublicKey {
    pub(crate) fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        // Parsed by hand, to hold the modulus to AWS-LC's limits (RSA_BITS).
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| CryptoError)?;
        if spki.algorithm.oid != rsa::pkcs1::ALGORITHM_OID
            || spki.algorithm.parameters != Some(AnyRef::from(Null))
        {
            return Err(CryptoError);
        }
        let bits = spki.subject_public_key.as_bytes().ok_or(CryptoError)?;
        let key =
            rsa::pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(bits).map_err(|_| CryptoError)?;
        let n = BoxedUint::from_be_slice_vartime(key.modulus.as_bytes());
        let e = BoxedUint::from_be_slice_vartime(key.public_exponent.as_bytes());
        let key = rsa::PublicKey::new_with_size_limits(n, e, RSA_BITS).map_err(|_| CryptoError)?;
        Ok(Self(key))
    }

    pub(crate) fn modulus_len(&self) -> usize {
        self.0.size()
    }

    pub(crate) fn encrypt(&self, padding: RsaPadding, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // OAEP: MGF1 with the same hash, empty label.
        let mut rng = Rng;
        let out = match padding {
            RsaPadding::Pkcs1V15 => self.0.encrypt(&mut rng, Pkcs1v15Encrypt, data),
            RsaPadding::OaepSha1 => self.0.encrypt(&mut rng, Oaep::<sha1::Sha1>::new(), data),
            RsaPadding::OaepSha256 => self.0.encrypt(&mut rng, Oaep::<Sha256>::new(), data),
            RsaPadding::OaepSha384 => self.0.encrypt(&mut rng, Oaep::<Sha384>::new(), data),
            RsaPadding::OaepSha512 => self.0.encrypt(&mut rng, Oaep::<Sha512>::new(), data),
        }
        .map_err(|_| CryptoError)?;
        Ok(out)
    }
}

/// An RSA private key (for unwrapping).
pub(crate) struct RsaPrivateKey(rsa::PrivateKey);

impl RsaPrivateKey {
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let key = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| CryptoError)?;
        if !RSA_BITS.contains(&modulus_bits(key.n())) {
            return Err(CryptoError);
        }
        Ok(Self(key))
    }

    pub(crate) fn modulus_len(&self) -> usize {
        self.0.size()
    }

    pub(crate) fn decrypt(
        &self,
        padding: RsaPadding,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        // Like AWS-LC, only a ciphertext of exactly the modulus length (`rsa`
        // checks this for OAEP but left-pads a short PKCS #1 v1.5 one).
        if ciphertext.len() != self.0.size() {
            return Err(CryptoError);
        }
        // Blinded, against timing side channels.
        let mut rng = Rng;
        let key = &self.0;
        let out = match padding {
            RsaPadding::Pkcs1V15 => return pkcs1v15_decrypt(key, &mut rng, ciphertext),
            RsaPadding::OaepSha1 => {
                key.decrypt_blinded(&mut rng, Oaep::<sha1::Sha1>::new(), ciphertext)
            }
            RsaPadding::OaepSha256 => {
                key.decrypt_blinded(&mut rng, Oaep::<Sha256>::new(), ciphertext)
            }
            RsaPadding::OaepSha384 => {
                key.decrypt_blinded(&mut rng, Oaep::<Sha384>::new(), ciphertext)
            }
            RsaPadding::OaepSha512 => {
                key.decrypt_blinded(&mut rng, Oaep::<Sha512>::new(), ciphertext)
            }
        }
        .map(Zeroizing::new)
        .map_err(|_| CryptoError)?;
        Ok(out)
    }
}

/// RSAES-PKCS1-v1_5 decryption (RFC 8017 7.2.2) that reports bad padding as
/// an error, as AWS-LC and the AWS Encryption SDKs do, so that a keyring
/// goes on to the message's next wrapped key. `rsa` 0.10 decodes with
/// implicit rejection instead: a bad padding yields a made-up message of a
/// pseudo-random length, which for about 1 key in 250 has a data key's
/// length and would be taken for the data key, ending the search (a wrong
/// key, or a same-named key wrapped under another padding, then failed the
/// message instead of letting a later key open it). The private-key
/// operation is still `rsa`'s: constant-time, blinded and checked; the
/// padding is examined in constant time, and only its verdict branches.
fn pkcs1v15_decrypt(
    key: &rsa::PrivateKey,
    rng: &mut Rng,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let c =
        BoxedUint::from_be_slice(ciphertext, key.n_bits_precision()).map_err(|_| CryptoError)?;
    let m = Zeroizing::new(
        rsa::hazmat::rsa_decrypt_and_check(key, Some(rng), &c).map_err(|_| CryptoError)?,
    );
    // The limbs' bytes, big-endian: at least the modulus length; m < n, so
    // the bytes before the last k are zero.
    let bytes = Zeroizing::new(m.to_be_bytes());
    let k = key.size();
    let em = bytes
        .len()
        .checked_sub(k)
        .and_then(|skip| bytes.get(skip..))
        .ok_or(CryptoError)?;
    eme_pkcs1_v15_decode(em).ok_or(CryptoError)
}

/// EME-PKCS1-v1_5 decoding: `EM = 0x00 || 0x02 || PS || 0x00 || M` with at
/// least 8 bytes of nonzero `PS`; `M`, or `None`. Every byte is examined
/// whatever it holds.
fn eme_pkcs1_v15_decode(em: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use subtle::{Choice, ConditionallySelectable, ConstantTimeGreater};
    let (first, second) = (em.first()?, em.get(1)?);
    let mut valid = first.ct_eq(&0) & second.ct_eq(&2);
    let mut found = Choice::from(0);
    let mut separator = 0u32;
    for (i, byte) in em.iter().enumerate().skip(2) {
        let is_zero = byte.ct_eq(&0);
        separator.conditional_assign(&u32::try_from(i).ok()?, is_zero & !found);
        found |= is_zero;
    }
    // PS is em[2..separator]: at least 8 bytes.
    valid &= found & separator.ct_gt(&9);
    if !bool::from(valid) {
        return None;
    }
    let start = usize::try_from(separator).ok()?.checked_add(1)?;
    Some(Zeroizing::new(em.get(start..)?.to_vec()))
}

/// Random bytes from the OS / browser CSPRNG.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), CryptoError> {
    #[cfg(target_arch = "wasm32")]
    if out.len() <= pool::MAX_REQUEST {
        return pool::fill(out);
    }
    getrandom::getrandom(out).map_err(|_| CryptoError)
}

/// On wasm32 every `getrandom` call crosses into JS
/// (`crypto.getRandomValues`): three small ones per message were 6% of a
/// 1 KiB encrypt in Chromium. Small requests are served from a pool filled
/// 256 bytes at a time; each byte is wiped as it is handed out.
#[cfg(target_arch = "wasm32")]
mod pool {
    use std::cell::RefCell;

    use zeroize::Zeroize;

    use super::CryptoError;

    const SIZE: usize = 256;
    /// The largest request served from the pool (keys, IVs, message IDs).
    pub(super) const MAX_REQUEST: usize = 64;

    struct Pool {
        bytes: [u8; SIZE],
        /// Bytes at the front already handed out (and wiped).
        used: usize,
    }

    thread_local! {
        static POOL: RefCell<Pool> = const {
            RefCell::new(Pool {
                bytes: [0; SIZE],
                used: SIZE,
            })
        };
    }

    pub(super) fn fill(out: &mut [u8]) -> Result<(), CryptoError> {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if SIZE - pool.used < out.len() {
                getrandom::getrandom(&mut pool.bytes).map_err(|_| CryptoError)?;
                pool.used = 0;
            }
            let (start, end) = (pool.used, pool.used + out.len());
            let fresh = pool.bytes.get_mut(start..end).ok_or(CryptoError)?;
            out.copy_from_slice(fresh);
            fresh.zeroize();
            pool.used = end;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use zeroize::ZeroizeOnDrop;

    /// Every RustCrypto type that holds a key wipes it on drop (the crates'
    /// `zeroize` support); this stops compiling if an update drops that.
    /// (`AesGcm` itself has no marker: its AES cipher is the `aes` type
    /// below, and its GHASH key and state wipe themselves in `Drop`
    /// with the `polyval` crate's `zeroize` feature.)
    #[test]
    fn key_types_wipe_themselves_on_drop() {
        fn wipes_on_drop<T: ZeroizeOnDrop>() {}
        wipes_on_drop::<aes::Aes128>();
        wipes_on_drop::<aes::Aes192>();
        wipes_on_drop::<aes::Aes256>();
        wipes_on_drop::<p256::ecdsa::SigningKey>();
        wipes_on_drop::<p384::ecdsa::SigningKey>();
        wipes_on_drop::<rsa::PrivateKey>();
        // Hash states wipe what they saw; HKDF's HMAC states (holding the
        // pseudorandom key) are pairs of these hashes' cores.
        wipes_on_drop::<sha2::Sha256>();
        wipes_on_drop::<sha2::Sha384>();
        wipes_on_drop::<sha2::Sha512>();
        wipes_on_drop::<sha1::Sha1>();
        wipes_on_drop::<sha2::block_api::Sha256VarCore>();
        wipes_on_drop::<sha2::block_api::Sha512VarCore>();
    }

    /// EME-PKCS1-v1_5 decoding (RFC 8017 7.2.2 step 3), around each of its
    /// rules.
    #[test]
    fn pkcs1_v15_decoding_takes_only_well_formed_blocks() {
        use super::eme_pkcs1_v15_decode as decode;
        let block = |first: u8, second: u8, ps: usize, message: &[u8]| {
            let mut em = vec![first, second];
            em.extend(std::iter::repeat_n(0xA5, ps));
            em.push(0);
            em.extend_from_slice(message);
            em
        };
        let key = [7u8; 32];
        let got = |em: Vec<u8>| decode(&em).map(|m| m.to_vec());
        assert_eq!(got(block(0, 2, 8, &key)), Some(key.to_vec()));
        assert_eq!(got(block(0, 2, 200, &key)), Some(key.to_vec()));
        assert_eq!(got(block(0, 2, 8, &[])), Some(vec![]));
        // The separator is the first zero after PS; zeros in M stay.
        assert_eq!(got(block(0, 2, 9, &[0, 1, 0])), Some(vec![0, 1, 0]));
        assert_eq!(got(block(0, 2, 7, &key)), None, "PS under 8 bytes");
        assert_eq!(got(block(1, 2, 8, &key)), None, "first byte not 0");
        assert_eq!(got(block(0, 1, 8, &key)), None, "block type 1");
        assert_eq!(got(block(0, 0, 8, &key)), None, "block type 0");
        let mut no_separator = vec![0, 2];
        no_separator.extend([0xA5; 40]);
        assert_eq!(got(no_separator), None, "no zero after PS");
        assert_eq!(decode(&[0]).map(|m| m.to_vec()), None);
        assert_eq!(decode(&[]).map(|m| m.to_vec()), None);
    }
}
