//! The one module that knows which library computes the primitives.
//!
//! Native builds use AWS-LC (`aws-lc-rs`); `wasm32` builds, and native builds
//! with the `rustcrypto` feature, use the RustCrypto crates. Both backends
//! expose exactly the items re-exported below, with the same behaviour and the
//! same bytes, so nothing outside this module can tell them apart. The test
//! suite runs against both (`make test`).
//!
//! Interface (implemented by `awslc.rs` and `rustcrypto.rs`):
//!
//! - `AesGcmKey::new(key: &[u8]) -> Result<AesGcmKey, CryptoError>` for 16-, 24-
//!   or 32-byte keys; `seal_in_place(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8])
//!   -> Result<[u8; 16], CryptoError>` encrypts `data` in place and returns the
//!   tag; `open_in_place(&self, iv, aad, data, tag: &[u8; 16]) -> Result<(), CryptoError>`
//!   decrypts in place (on error `data` holds garbage the caller must wipe).
//! - `hkdf(hash: HashAlg, salt: &[u8], ikm: &[u8], outputs: &mut [(&[u8], &mut [u8])])
//!   -> Result<(), CryptoError>`: RFC 5869, one extract, then one expand per
//!   `(info, out)` pair; an empty salt means HashLen zero bytes.
//! - `Hasher::new(HashAlg)`, `update(&mut self, &[u8])`,
//!   `finish(self) -> Vec<u8>`: incremental SHA-2.
//! - `EcdsaSigningKey::generate(Curve) -> Result<Self, CryptoError>`,
//!   `public_key_compressed(&self) -> Vec<u8>` (SEC 1 compressed point),
//!   `hasher(&self) -> Hasher` (for the message to sign),
//!   `sign(&self, hasher: Hasher) -> Result<Vec<u8>, CryptoError>`: DER
//!   signature over the message `hasher` has seen (SHA-256 for P-256,
//!   SHA-384 for P-384); `prehash(&self, Hasher)` and
//!   `sign_digest[_randomized](&self, &[u8])` to sign one digest again and
//!   again (a host key, feature `host-crypto`, has no digest and refuses).
//! - `EcdsaVerifyingKey::from_sec1(Curve, &[u8]) -> Result<Self, CryptoError>`,
//!   `hasher(&self) -> Hasher`,
//!   `verify(&self, hasher: Hasher, der_signature: &[u8]) -> Result<(), CryptoError>`.
//! - `RsaPublicKey::from_spki_der(&[u8])`, `encrypt(&self, RsaPadding, &[u8]) -> Result<Vec<u8>, _>`;
//!   `RsaPrivateKey::from_pkcs8_der(&[u8])`, `decrypt(&self, RsaPadding, &[u8]) -> Result<Zeroizing<Vec<u8>>, _>`,
//!   `modulus_len(&self) -> usize` on both.
//! - `fill_random(&mut [u8]) -> Result<(), CryptoError>`: the OS (or browser) CSPRNG.

#[cfg(all(not(target_arch = "wasm32"), not(feature = "rustcrypto")))]
mod awslc;
#[cfg(all(not(target_arch = "wasm32"), not(feature = "rustcrypto")))]
use awslc as backend;

#[cfg(any(target_arch = "wasm32", feature = "rustcrypto"))]
mod rustcrypto;
#[cfg(any(target_arch = "wasm32", feature = "rustcrypto"))]
use rustcrypto as backend;

#[cfg(all(
    feature = "host-crypto",
    any(target_arch = "wasm32", feature = "rustcrypto")
))]
pub(crate) use backend::{der_from_p1363, p1363_from_der};
pub(crate) use backend::{
    fill_random, hkdf, AesGcmKey, EcdsaSigningKey, EcdsaVerifyingKey, Hasher, RsaPrivateKey,
    RsaPublicKey, SharedAadOpener,
};

/// Name of the backend compiled in, for diagnostics and benchmarks.
pub const BACKEND: &str = backend::NAME;

/// A primitive failed: bad key, bad tag, bad signature, bad encoding. Callers
/// turn it into the [`crate::Error`] that fits the layer; it carries no detail
/// on purpose, so that no failure becomes an oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CryptoError;

/// SHA-2 hash functions used by the message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// The name hosts use (`node:crypto`'s `createHash`, the host-crypto hook).
    #[allow(dead_code)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    /// The standard name (FIPS 180-4; WebCrypto's), e.g. `"SHA-384"`.
    #[allow(dead_code)]
    pub(crate) fn standard_name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
        }
    }

    /// Output length in bytes.
    #[allow(dead_code)]
    pub(crate) fn len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
}

/// Elliptic curves of the signing suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    /// NIST P-256 with SHA-256.
    P256,
    /// NIST P-384 with SHA-384.
    P384,
}

impl Curve {
    /// The NIST name hosts use: `"P-256"`, `"P-384"`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    /// The hash the signature is computed over.
    pub(crate) fn hash(self) -> HashAlg {
        match self {
            Curve::P256 => HashAlg::Sha256,
            Curve::P384 => HashAlg::Sha384,
        }
    }

    /// The longest DER signature: `r` and `s` both a byte longer than the
    /// field because their top bit is set.
    pub(crate) fn max_signature_len(self) -> usize {
        match self {
            Curve::P256 => 72,
            Curve::P384 => 104,
        }
    }

    /// The DER signature length that about half of all signatures have
    /// (one of `r`, `s` with its top bit set). Signing again until the
    /// length is this one makes a message's length known before it is
    /// written, as the AWS Encryption SDK for Java does.
    pub(crate) fn fixed_signature_len(self) -> usize {
        self.max_signature_len() - 1
    }
}

pub(crate) use crate::keyring::raw_rsa::RsaPadding;

/// One-shot digest.
#[allow(dead_code)]
pub(crate) fn digest(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// The shared-AAD opener (hand-assembled GCM in the RustCrypto backend)
    /// opens what the backend's AES-GCM seals, for every key length and
    /// AAD and data lengths around block edges, and refuses any change.
    #[test]
    fn shared_aad_opener_matches_aes_gcm() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut bytes = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        };
        for key_len in [16, 24, 32] {
            for aad_len in [0, 1, 15, 16, 17, 100, 4099] {
                for data_len in [0, 1, 15, 16, 17, 24, 32, 33, 64] {
                    let (key, aad, iv) = (bytes(key_len), bytes(aad_len), bytes(12));
                    let iv: [u8; 12] = iv.try_into().unwrap();
                    let plain = bytes(data_len);
                    let mut sealed = plain.clone();
                    let tag = AesGcmKey::new(&key)
                        .unwrap()
                        .seal_in_place(&iv, &aad, &mut sealed)
                        .unwrap();
                    let opener = SharedAadOpener::new(&key, &aad).unwrap();
                    for _ in 0..2 {
                        let mut data = sealed.clone();
                        opener.open_in_place(&iv, &mut data, &tag).unwrap();
                        assert_eq!(data, plain, "key {key_len} aad {aad_len} data {data_len}");
                    }
                    let mut bad_tag = tag;
                    bad_tag[15] ^= 1;
                    assert!(opener
                        .open_in_place(&iv, &mut sealed.clone(), &bad_tag)
                        .is_err());
                    let mut bad_iv = iv;
                    bad_iv[0] ^= 0x80;
                    assert!(opener
                        .open_in_place(&bad_iv, &mut sealed.clone(), &tag)
                        .is_err());
                    if data_len > 0 {
                        let mut changed = sealed.clone();
                        changed[data_len - 1] ^= 4;
                        assert!(opener.open_in_place(&iv, &mut changed, &tag).is_err());
                    }
                    let mut other_aad = aad.clone();
                    other_aad.push(0);
                    let other = SharedAadOpener::new(&key, &other_aad).unwrap();
                    assert!(other.open_in_place(&iv, &mut sealed.clone(), &tag).is_err());
                }
            }
        }
        assert!(SharedAadOpener::new(&[0u8; 20], b"").is_err());
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        let ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = unhex("000102030405060708090a0b0c");
        let info = unhex("f0f1f2f3f4f5f6f7f8f9");
        let mut okm = [0u8; 42];
        hkdf(
            HashAlg::Sha256,
            &salt,
            &ikm,
            &mut [(&info[..], &mut okm[..])],
        )
        .unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn hkdf_empty_salt_is_hashlen_zeros() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        hkdf(HashAlg::Sha384, &[], b"ikm", &mut [(b"info", &mut a[..])]).unwrap();
        hkdf(
            HashAlg::Sha384,
            &[0u8; 48],
            b"ikm",
            &mut [(b"info", &mut b[..])],
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn hkdf_one_extract_many_expands_equals_separate_calls() {
        let (mut a, mut b, mut c, mut d) = ([0u8; 32], [0u8; 32], [0u8; 32], [0u8; 32]);
        hkdf(
            HashAlg::Sha512,
            b"salt",
            b"ikm",
            &mut [(b"one", &mut a[..]), (b"two", &mut b[..])],
        )
        .unwrap();
        hkdf(
            HashAlg::Sha512,
            b"salt",
            b"ikm",
            &mut [(b"one", &mut c[..])],
        )
        .unwrap();
        hkdf(
            HashAlg::Sha512,
            b"salt",
            b"ikm",
            &mut [(b"two", &mut d[..])],
        )
        .unwrap();
        assert_eq!((a, b), (c, d));
        assert_ne!(a, b);
    }

    #[test]
    fn aes_gcm_nist_vector_and_tamper() {
        // NIST GCM test case 3 (AES-128), split into detached tag.
        let key = AesGcmKey::new(&unhex("feffe9928665731c6d6a8f9467308308")).unwrap();
        let iv: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let pt = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
        let mut data = pt.clone();
        let tag = key.seal_in_place(&iv, &[], &mut data).unwrap();
        assert_eq!(hex::encode(&data), "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985");
        assert_eq!(hex::encode(tag), "4d5c2af327cd64a62cf35abd2ba6fab4");
        key.open_in_place(&iv, &[], &mut data, &tag).unwrap();
        assert_eq!(data, pt);
        let mut bad = tag;
        bad[0] ^= 1;
        let mut data2 = pt.clone();
        let tag2 = key.seal_in_place(&iv, b"aad", &mut data2).unwrap();
        assert!(key
            .open_in_place(&iv, b"aaD", &mut data2.clone(), &tag2)
            .is_err());
        assert!(key.open_in_place(&iv, b"aad", &mut data2, &bad).is_err());
        assert!(AesGcmKey::new(&[0u8; 17]).is_err());
        assert!(AesGcmKey::new(&[0u8; 24]).is_ok());
    }

    #[test]
    fn sha2_known_answers() {
        assert_eq!(
            hex::encode(digest(HashAlg::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex::encode(digest(HashAlg::Sha384, b"abc")), "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
        assert_eq!(
            &hex::encode(digest(HashAlg::Sha512, b"abc"))[..16],
            "ddaf35a193617aba"
        );
    }

    #[test]
    fn ecdsa_sign_verify_both_curves() {
        for curve in [Curve::P256, Curve::P384] {
            let sk = EcdsaSigningKey::generate(curve).unwrap();
            let pk = sk.public_key_compressed();
            assert_eq!(pk.len(), if curve == Curve::P256 { 33 } else { 49 });
            let mut h = Hasher::new(curve.hash());
            h.update(b"message");
            let digest = h.finish();
            let sig = sk.sign_digest(&digest).unwrap();
            assert!(sig.len() <= curve.max_signature_len());
            let vk = EcdsaVerifyingKey::from_sec1(curve, &pk).unwrap();
            // Randomized signing gives new, valid signatures of either length.
            let mut lengths = std::collections::BTreeSet::new();
            for _ in 0..40 {
                let again = sk.sign_digest_randomized(&digest).unwrap();
                assert_ne!(again, sig);
                lengths.insert(again.len());
                let mut h = Hasher::new(curve.hash());
                h.update(b"message");
                vk.verify(h, &again).unwrap();
            }
            assert!(lengths.contains(&curve.fixed_signature_len()));
            assert!(sk.sign_digest(&digest[1..]).is_err());
            let mut h = Hasher::new(curve.hash());
            h.update(b"message");
            vk.verify(h, &sig).unwrap();
            let mut h = Hasher::new(curve.hash());
            h.update(b"messagE");
            assert!(vk.verify(h, &sig).is_err());
            let mut h = Hasher::new(curve.hash());
            h.update(b"message");
            assert!(vk.verify(h, &sig[..sig.len() - 1]).is_err());
            assert!(EcdsaVerifyingKey::from_sec1(curve, &pk[1..]).is_err());
        }
    }

    #[test]
    fn random_is_not_constant() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill_random(&mut a).unwrap();
        fill_random(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
