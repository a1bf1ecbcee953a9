//! Algorithm suites: the 11 ESDK suites and what each one implies.

use std::fmt;
use std::str::FromStr;

use crate::crypto::{Curve, HashAlg};
use crate::error::Error;

/// An ESDK algorithm suite, identified on the wire by two bytes.
///
/// The default is [`AlgorithmSuite::AesGcm256HkdfSha512CommitKeyEcdsaP384`]
/// (`0x0578`). Suites with key commitment write message format version 2; the
/// others write version 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum AlgorithmSuite {
    /// `0x0014`: AES-128-GCM, no key derivation (legacy).
    AesGcm128NoKdf,
    /// `0x0046`: AES-192-GCM, no key derivation (legacy).
    AesGcm192NoKdf,
    /// `0x0078`: AES-256-GCM, no key derivation (legacy).
    AesGcm256NoKdf,
    /// `0x0114`: AES-128-GCM, HKDF-SHA256.
    AesGcm128HkdfSha256,
    /// `0x0146`: AES-192-GCM, HKDF-SHA256.
    AesGcm192HkdfSha256,
    /// `0x0178`: AES-256-GCM, HKDF-SHA256.
    AesGcm256HkdfSha256,
    /// `0x0214`: AES-128-GCM, HKDF-SHA256, ECDSA P-256.
    AesGcm128HkdfSha256EcdsaP256,
    /// `0x0346`: AES-192-GCM, HKDF-SHA384, ECDSA P-384.
    AesGcm192HkdfSha384EcdsaP384,
    /// `0x0378`: AES-256-GCM, HKDF-SHA384, ECDSA P-384.
    AesGcm256HkdfSha384EcdsaP384,
    /// `0x0478`: AES-256-GCM, HKDF-SHA512, key commitment.
    AesGcm256HkdfSha512CommitKey,
    /// `0x0578`: AES-256-GCM, HKDF-SHA512, key commitment, ECDSA P-384 (default).
    #[default]
    AesGcm256HkdfSha512CommitKeyEcdsaP384,
}

/// How a suite turns the data key into the content key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kdf {
    Identity,
    HkdfV1(HashAlg),
    HkdfCommitting,
}

impl AlgorithmSuite {
    /// Every suite, in id order.
    pub const ALL: [AlgorithmSuite; 11] = [
        Self::AesGcm128NoKdf,
        Self::AesGcm192NoKdf,
        Self::AesGcm256NoKdf,
        Self::AesGcm128HkdfSha256,
        Self::AesGcm192HkdfSha256,
        Self::AesGcm256HkdfSha256,
        Self::AesGcm128HkdfSha256EcdsaP256,
        Self::AesGcm192HkdfSha384EcdsaP384,
        Self::AesGcm256HkdfSha384EcdsaP384,
        Self::AesGcm256HkdfSha512CommitKey,
        Self::AesGcm256HkdfSha512CommitKeyEcdsaP384,
    ];

    /// The two-byte id written in the header.
    pub fn id(self) -> u16 {
        match self {
            Self::AesGcm128NoKdf => 0x0014,
            Self::AesGcm192NoKdf => 0x0046,
            Self::AesGcm256NoKdf => 0x0078,
            Self::AesGcm128HkdfSha256 => 0x0114,
            Self::AesGcm192HkdfSha256 => 0x0146,
            Self::AesGcm256HkdfSha256 => 0x0178,
            Self::AesGcm128HkdfSha256EcdsaP256 => 0x0214,
            Self::AesGcm192HkdfSha384EcdsaP384 => 0x0346,
            Self::AesGcm256HkdfSha384EcdsaP384 => 0x0378,
            Self::AesGcm256HkdfSha512CommitKey => 0x0478,
            Self::AesGcm256HkdfSha512CommitKeyEcdsaP384 => 0x0578,
        }
    }

    /// The suite with this id, if it is an ESDK suite.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The ESDK enum name, e.g. `ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesGcm128NoKdf => "ALG_AES_128_GCM_IV12_TAG16_NO_KDF",
            Self::AesGcm192NoKdf => "ALG_AES_192_GCM_IV12_TAG16_NO_KDF",
            Self::AesGcm256NoKdf => "ALG_AES_256_GCM_IV12_TAG16_NO_KDF",
            Self::AesGcm128HkdfSha256 => "ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256",
            Self::AesGcm192HkdfSha256 => "ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA256",
            Self::AesGcm256HkdfSha256 => "ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA256",
            Self::AesGcm128HkdfSha256EcdsaP256 => {
                "ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256"
            }
            Self::AesGcm192HkdfSha384EcdsaP384 => {
                "ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"
            }
            Self::AesGcm256HkdfSha384EcdsaP384 => {
                "ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"
            }
            Self::AesGcm256HkdfSha512CommitKey => "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
            Self::AesGcm256HkdfSha512CommitKeyEcdsaP384 => {
                "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
            }
        }
    }

    /// Message format version this suite is written in: 1 or 2.
    pub fn message_format_version(self) -> u8 {
        if self.is_committing() {
            2
        } else {
            1
        }
    }

    /// Whether the suite commits to its data key (format version 2).
    pub fn is_committing(self) -> bool {
        matches!(
            self,
            Self::AesGcm256HkdfSha512CommitKey | Self::AesGcm256HkdfSha512CommitKeyEcdsaP384
        )
    }

    /// Whether the message carries an ECDSA signature footer.
    pub fn is_signing(self) -> bool {
        self.signature_curve().is_some()
    }

    /// Length in bytes of the data key and of the AES key: 16, 24 or 32.
    pub fn data_key_len(self) -> usize {
        match self {
            Self::AesGcm128NoKdf
            | Self::AesGcm128HkdfSha256
            | Self::AesGcm128HkdfSha256EcdsaP256 => 16,
            Self::AesGcm192NoKdf
            | Self::AesGcm192HkdfSha256
            | Self::AesGcm192HkdfSha384EcdsaP384 => 24,
            _ => 32,
        }
    }

    /// Whether the suite derives a per-message key (every suite but the three
    /// legacy `NO_KDF` ones). Materials for suites without one are never cached.
    pub fn has_kdf(self) -> bool {
        self.kdf() != Kdf::Identity
    }

    pub(crate) fn kdf(self) -> Kdf {
        match self {
            Self::AesGcm128NoKdf | Self::AesGcm192NoKdf | Self::AesGcm256NoKdf => Kdf::Identity,
            Self::AesGcm128HkdfSha256
            | Self::AesGcm192HkdfSha256
            | Self::AesGcm256HkdfSha256
            | Self::AesGcm128HkdfSha256EcdsaP256 => Kdf::HkdfV1(HashAlg::Sha256),
            Self::AesGcm192HkdfSha384EcdsaP384 | Self::AesGcm256HkdfSha384EcdsaP384 => {
                Kdf::HkdfV1(HashAlg::Sha384)
            }
            Self::AesGcm256HkdfSha512CommitKey | Self::AesGcm256HkdfSha512CommitKeyEcdsaP384 => {
                Kdf::HkdfCommitting
            }
        }
    }

    /// The curve of the suite's ECDSA signature, by its NIST name
    /// (`"P-256"`, `"P-384"`), or `None` for suites that do not sign.
    ///
    /// ```
    /// use kms_envelope::AlgorithmSuite;
    /// assert_eq!(AlgorithmSuite::from_id(0x0578).unwrap().signature_curve_name(), Some("P-384"));
    /// assert_eq!(AlgorithmSuite::from_id(0x0478).unwrap().signature_curve_name(), None);
    /// ```
    pub fn signature_curve_name(self) -> Option<&'static str> {
        self.signature_curve().map(Curve::name)
    }

    pub(crate) fn signature_curve(self) -> Option<Curve> {
        match self {
            Self::AesGcm128HkdfSha256EcdsaP256 => Some(Curve::P256),
            Self::AesGcm192HkdfSha384EcdsaP384
            | Self::AesGcm256HkdfSha384EcdsaP384
            | Self::AesGcm256HkdfSha512CommitKeyEcdsaP384 => Some(Curve::P384),
            _ => None,
        }
    }

    /// Message ID length: 16 bytes in v1, 32 in v2.
    pub(crate) fn message_id_len(self) -> usize {
        if self.is_committing() {
            32
        } else {
            16
        }
    }
}

impl fmt::Display for AlgorithmSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.id(), self.name())
    }
}

impl FromStr for AlgorithmSuite {
    type Err = Error;

    /// Parses `0478`, `0x0478` or an ESDK name (with or without `ALG_`, any
    /// case), as the specification spells it
    /// (`ALG_AES_128_GCM_IV12_TAG16_NO_KDF`) or as the official SDKs do:
    /// Python's `AES_128_GCM_IV12_TAG16` (no `_NO_KDF`), JavaScript's
    /// `ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY`.
    ///
    /// ```
    /// use kms_envelope::AlgorithmSuite;
    /// for name in ["0x0014", "ALG_AES_128_GCM_IV12_TAG16_NO_KDF", "AES_128_GCM_IV12_TAG16", "alg_aes128_gcm_iv12_tag16"] {
    ///     assert_eq!(name.parse::<AlgorithmSuite>()?.id(), 0x0014);
    /// }
    /// let js = "ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY";
    /// assert_eq!(js.parse::<AlgorithmSuite>()?.id(), 0x0478);
    /// # Ok::<(), kms_envelope::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let hex = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Some(suite) = u16::from_str_radix(hex, 16).ok().and_then(Self::from_id) {
                return Ok(suite);
            }
        }
        let wanted = spelling_free(t);
        Self::ALL
            .into_iter()
            .find(|s| spelling_free(s.name()) == wanted)
            .ok_or_else(|| Error::bad_arg(format!("unknown algorithm suite '{s}'")))
    }
}

/// A suite name without what the SDKs spell differently: case, the `ALG_`
/// prefix, `AES_256` against `AES256`, `_NO_KDF` (Python leaves it out),
/// and `_IV12_TAG16` in the committing suites (JavaScript puts it in).
fn spelling_free(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let name = upper.strip_prefix("ALG_").unwrap_or(&upper);
    let name = match name.strip_suffix("_NO_KDF") {
        Some(bare) if !bare.contains("HKDF") => bare,
        _ => name,
    };
    name.replacen("AES_", "AES", 1)
        .replace("_IV12_TAG16_HKDF_SHA512_COMMIT", "_HKDF_SHA512_COMMIT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_parse() {
        for s in AlgorithmSuite::ALL {
            assert_eq!(AlgorithmSuite::from_id(s.id()), Some(s));
            assert_eq!(
                format!("{:04x}", s.id()).parse::<AlgorithmSuite>().unwrap(),
                s
            );
            assert_eq!(
                format!("0x{:04X}", s.id())
                    .parse::<AlgorithmSuite>()
                    .unwrap(),
                s
            );
            assert_eq!(s.name().parse::<AlgorithmSuite>().unwrap(), s);
            assert_eq!(
                s.name()[4..]
                    .to_lowercase()
                    .parse::<AlgorithmSuite>()
                    .unwrap(),
                s
            );
        }
        assert!(AlgorithmSuite::from_id(0x0070).is_none());
        assert!(AlgorithmSuite::from_id(0).is_none());
        assert!("0479".parse::<AlgorithmSuite>().is_err());
        assert_eq!(AlgorithmSuite::default().id(), 0x0578);
    }

    #[test]
    fn the_official_sdks_spellings_parse() {
        // aws_encryption_sdk.identifiers.AlgorithmSuite (Python) and
        // AlgorithmSuiteIdentifier (@aws-crypto/client-node), as they list them.
        let official = [
            (
                "AES_128_GCM_IV12_TAG16",
                "ALG_AES128_GCM_IV12_TAG16",
                0x0014,
            ),
            (
                "AES_192_GCM_IV12_TAG16",
                "ALG_AES192_GCM_IV12_TAG16",
                0x0046,
            ),
            (
                "AES_256_GCM_IV12_TAG16",
                "ALG_AES256_GCM_IV12_TAG16",
                0x0078,
            ),
            (
                "AES_128_GCM_IV12_TAG16_HKDF_SHA256",
                "ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256",
                0x0114,
            ),
            (
                "AES_192_GCM_IV12_TAG16_HKDF_SHA256",
                "ALG_AES192_GCM_IV12_TAG16_HKDF_SHA256",
                0x0146,
            ),
            (
                "AES_256_GCM_IV12_TAG16_HKDF_SHA256",
                "ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256",
                0x0178,
            ),
            (
                "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256",
                "ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256",
                0x0214,
            ),
            (
                "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
                "ALG_AES192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
                0x0346,
            ),
            (
                "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
                "ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
                0x0378,
            ),
            (
                "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
                "ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY",
                0x0478,
            ),
            (
                "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
                "ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
                0x0578,
            ),
        ];
        for (python, js, id) in official {
            assert_eq!(
                python.parse::<AlgorithmSuite>().unwrap().id(),
                id,
                "{python}"
            );
            assert_eq!(js.parse::<AlgorithmSuite>().unwrap().id(), id, "{js}");
        }
        // No two suites look alike once the spellings are set aside.
        let forms: std::collections::BTreeSet<String> = AlgorithmSuite::ALL
            .into_iter()
            .map(|s| spelling_free(s.name()))
            .collect();
        assert_eq!(forms.len(), AlgorithmSuite::ALL.len());
        for wrong in [
            "AES_128_GCM",
            "ALG_AES_256_GCM_HKDF_SHA512",
            "AES256",
            "ALG_",
            "",
        ] {
            assert!(wrong.parse::<AlgorithmSuite>().is_err(), "{wrong}");
        }
    }
}
