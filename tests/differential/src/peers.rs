//! The two SDKs behind one shape: kms-envelope (this repository) and aws-esdk
//! 1.2.4 (the official Rust ESDK, its raw keyrings from the bundled MPL).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_esdk::client as esdk_client;
use aws_esdk::material_providers::client as mpl_client;
use aws_esdk::material_providers::types::keyring::KeyringRef;
use aws_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_esdk::material_providers::types::{
    AesWrappingAlg, EsdkAlgorithmSuiteId, EsdkCommitmentPolicy, PaddingScheme,
};
use aws_esdk::types::aws_encryption_sdk_config::AwsEncryptionSdkConfig;
use aws_esdk::types::NetV400RetryPolicy;
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, EncryptionContext, Keyring, RawAesKeyring,
    RawRsaKeyring, RsaPadding, RsaPrivateKey, RsaPublicKey,
};

/// Which key pair of `tests/data` a raw RSA keyring holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaPair {
    /// `rsa-2048-private.pem` and `rsa-2048-public.pem`.
    Main,
    /// `rsa-2048-other-private.pem` alone (a wrong key for decrypt).
    Other,
}

/// A raw keyring, as both SDKs build it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpec {
    /// Raw AES keyring; the key is 16, 24 or 32 bytes.
    Aes {
        /// Key namespace (provider ID).
        namespace: String,
        /// Key name.
        name: String,
        /// Wrapping key.
        key: Vec<u8>,
    },
    /// Raw RSA keyring.
    Rsa {
        /// Key namespace (provider ID).
        namespace: String,
        /// Key name.
        name: String,
        /// Padding scheme.
        padding: RsaPadding,
        /// Key pair.
        pair: RsaPair,
    },
}

impl KeySpec {
    /// `aes-128`, `rsa-oaep-sha256`, ...: the coverage bucket.
    pub fn kind(&self) -> String {
        match self {
            KeySpec::Aes { key, .. } => format!("aes-{}", key.len() * 8),
            KeySpec::Rsa { padding, .. } => format!("rsa-{}", padding.name()),
        }
    }
}

/// The RSA PEM texts of `tests/data`.
pub struct RsaKeys {
    /// PKCS#8 private key of the main pair.
    pub private_pem: String,
    /// SubjectPublicKeyInfo public key of the main pair.
    pub public_pem: String,
    /// PKCS#8 private key of the other pair.
    pub other_private_pem: String,
}

impl RsaKeys {
    /// Reads them from the repository's `tests/data`.
    pub fn load() -> Result<Self, String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("cannot read tests/data/{name}: {e}"))
        };
        Ok(Self {
            private_pem: read("rsa-2048-private.pem")?,
            public_pem: read("rsa-2048-public.pem")?,
            other_private_pem: read("rsa-2048-other-private.pem")?,
        })
    }

    /// (public PEM if any, private PEM) of `pair`.
    pub fn pems(&self, pair: RsaPair) -> (Option<&str>, &str) {
        match pair {
            RsaPair::Main => (Some(&self.public_pem), &self.private_pem),
            RsaPair::Other => (None, &self.other_private_pem),
        }
    }
}

/// The result of one decrypt (or of one encrypt, with the message as "plaintext").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Ok {
        /// The plaintext (or the message, for encrypt).
        plaintext: Vec<u8>,
        /// The encryption context returned.
        context: BTreeMap<String, String>,
    },
    /// Refused.
    Err {
        /// kms-envelope's stable error kind (None for aws-esdk).
        kind: Option<String>,
        /// The error, shortened.
        message: String,
    },
}

impl Outcome {
    /// Whether it was accepted.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    /// A short form for logs.
    pub fn short(&self) -> String {
        match self {
            Outcome::Ok { plaintext, .. } => format!("ok ({} bytes)", plaintext.len()),
            Outcome::Err {
                kind: Some(k),
                message,
            } => format!("error {k}: {message}"),
            Outcome::Err {
                kind: None,
                message,
            } => format!("error: {message}"),
        }
    }
}

fn shorten(mut s: String) -> String {
    const MAX: usize = 600;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// The commitment policy the differential test uses for a suite, on both
/// sides: committing suites RequireEncryptRequireDecrypt, the others
/// ForbidEncryptAllowDecrypt.
pub fn policy_for(suite: AlgorithmSuite) -> CommitmentPolicy {
    if suite.is_committing() {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

/// kms-envelope.
pub struct Ours {
    forbid: Client,
    require: Client,
}

impl Ours {
    /// Clients for both policies.
    pub fn new() -> Self {
        Self {
            forbid: Client::builder()
                .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
                .build(),
            require: Client::builder()
                .commitment_policy(CommitmentPolicy::RequireEncryptRequireDecrypt)
                .build(),
        }
    }

    fn client(&self, policy: CommitmentPolicy) -> &Client {
        match policy {
            CommitmentPolicy::ForbidEncryptAllowDecrypt => &self.forbid,
            _ => &self.require,
        }
    }

    /// The keyring of `spec`.
    pub fn keyring(spec: &KeySpec, rsa: &RsaKeys) -> Result<Box<dyn Keyring>, String> {
        match spec {
            KeySpec::Aes {
                namespace,
                name,
                key,
            } => RawAesKeyring::new(namespace.clone(), name.clone(), key)
                .map(|k| Box::new(k) as Box<dyn Keyring>)
                .map_err(|e| e.to_string()),
            KeySpec::Rsa {
                namespace,
                name,
                padding,
                pair,
            } => {
                let (public, private) = rsa.pems(*pair);
                let public = match public {
                    Some(p) => Some(RsaPublicKey::from_pem(p).map_err(|e| e.to_string())?),
                    None => None,
                };
                let private = RsaPrivateKey::from_pem(private).map_err(|e| e.to_string())?;
                RawRsaKeyring::new(
                    namespace.clone(),
                    name.clone(),
                    *padding,
                    public,
                    Some(private),
                )
                .map(|k| Box::new(k) as Box<dyn Keyring>)
                .map_err(|e| e.to_string())
            }
        }
    }

    /// Encrypts; the message on success.
    pub fn encrypt(
        &self,
        keyring: &dyn Keyring,
        suite: AlgorithmSuite,
        frame_length: u32,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> Outcome {
        let result = self
            .client(policy_for(suite))
            .encrypt(plaintext)
            .keyring(keyring)
            .algorithm_suite(suite)
            .frame_length(frame_length)
            .encryption_context(EncryptionContext::from(context.clone()))
            .run();
        match result {
            Ok(message) => Outcome::Ok {
                plaintext: message,
                context: BTreeMap::new(),
            },
            Err(e) => Outcome::Err {
                kind: Some(e.kind().as_str().to_string()),
                message: shorten(e.to_string()),
            },
        }
    }

    /// Decrypts under `policy`, with the reproduced context if any.
    pub fn decrypt(
        &self,
        keyring: &dyn Keyring,
        policy: CommitmentPolicy,
        message: &[u8],
        reproduced: Option<&BTreeMap<String, String>>,
    ) -> Outcome {
        let mut call = self.client(policy).decrypt(message).keyring(keyring);
        if let Some(ec) = reproduced {
            call = call.encryption_context(EncryptionContext::from(ec.clone()));
        }
        match call.run() {
            Ok(d) => Outcome::Ok {
                plaintext: d.plaintext.to_vec(),
                context: d.encryption_context.as_map().clone(),
            },
            Err(e) => Outcome::Err {
                kind: Some(e.kind().as_str().to_string()),
                message: shorten(e.to_string()),
            },
        }
    }
}

/// aws-esdk 1.2.4 with its defaults (NET 4.0.0 retry allowed), and copies
/// with the retry forbidden, used only to classify disagreements.
pub struct Esdk {
    mpl: mpl_client::Client,
    forbid: esdk_client::Client,
    require: esdk_client::Client,
    forbid_no_retry: esdk_client::Client,
    require_no_retry: esdk_client::Client,
    rsa: Arc<RsaKeys>,
}

fn make_client(policy: EsdkCommitmentPolicy, retry: bool) -> Result<esdk_client::Client, String> {
    let mut config = AwsEncryptionSdkConfig::builder().commitment_policy(policy);
    if !retry {
        config = config.net_v4_0_0_retry_policy(NetV400RetryPolicy::ForbidRetry);
    }
    let config = config.build().map_err(|e| format!("{e:?}"))?;
    esdk_client::Client::from_conf(config).map_err(|e| format!("{e:?}"))
}

/// The aws-esdk id of a suite.
pub fn esdk_suite(suite: AlgorithmSuite) -> EsdkAlgorithmSuiteId {
    use EsdkAlgorithmSuiteId as E;
    match suite.id() {
        0x0014 => E::AlgAes128GcmIv12Tag16NoKdf,
        0x0046 => E::AlgAes192GcmIv12Tag16NoKdf,
        0x0078 => E::AlgAes256GcmIv12Tag16NoKdf,
        0x0114 => E::AlgAes128GcmIv12Tag16HkdfSha256,
        0x0146 => E::AlgAes192GcmIv12Tag16HkdfSha256,
        0x0178 => E::AlgAes256GcmIv12Tag16HkdfSha256,
        0x0214 => E::AlgAes128GcmIv12Tag16HkdfSha256EcdsaP256,
        0x0346 => E::AlgAes192GcmIv12Tag16HkdfSha384EcdsaP384,
        0x0378 => E::AlgAes256GcmIv12Tag16HkdfSha384EcdsaP384,
        0x0478 => E::AlgAes256GcmHkdfSha512CommitKey,
        _ => E::AlgAes256GcmHkdfSha512CommitKeyEcdsaP384,
    }
}

fn hash_map(ec: &BTreeMap<String, String>) -> HashMap<String, String> {
    ec.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Esdk {
    /// The clients and the material providers.
    pub fn new(rsa: Arc<RsaKeys>) -> Result<Self, String> {
        let mpl_config = MaterialProvidersConfig::builder()
            .build()
            .map_err(|e| format!("{e:?}"))?;
        Ok(Self {
            mpl: mpl_client::Client::from_conf(mpl_config).map_err(|e| format!("{e:?}"))?,
            forbid: make_client(EsdkCommitmentPolicy::ForbidEncryptAllowDecrypt, true)?,
            require: make_client(EsdkCommitmentPolicy::RequireEncryptRequireDecrypt, true)?,
            forbid_no_retry: make_client(EsdkCommitmentPolicy::ForbidEncryptAllowDecrypt, false)?,
            require_no_retry: make_client(
                EsdkCommitmentPolicy::RequireEncryptRequireDecrypt,
                false,
            )?,
            rsa,
        })
    }

    fn client(&self, policy: CommitmentPolicy, retry: bool) -> &esdk_client::Client {
        match (policy, retry) {
            (CommitmentPolicy::ForbidEncryptAllowDecrypt, true) => &self.forbid,
            (CommitmentPolicy::ForbidEncryptAllowDecrypt, false) => &self.forbid_no_retry,
            (_, true) => &self.require,
            (_, false) => &self.require_no_retry,
        }
    }

    /// The MPL keyring of `spec`.
    pub async fn keyring(&self, spec: &KeySpec) -> Result<KeyringRef, String> {
        match spec {
            KeySpec::Aes {
                namespace,
                name,
                key,
            } => {
                let alg = match key.len() {
                    16 => AesWrappingAlg::AlgAes128GcmIv12Tag16,
                    24 => AesWrappingAlg::AlgAes192GcmIv12Tag16,
                    _ => AesWrappingAlg::AlgAes256GcmIv12Tag16,
                };
                self.mpl
                    .create_raw_aes_keyring()
                    .key_namespace(namespace.clone())
                    .key_name(name.clone())
                    .wrapping_key(key.clone())
                    .wrapping_alg(alg)
                    .send()
                    .await
                    .map_err(|e| shorten(format!("{e:?}")))
            }
            KeySpec::Rsa {
                namespace,
                name,
                padding,
                pair,
            } => {
                let scheme = match padding {
                    RsaPadding::Pkcs1V15 => PaddingScheme::Pkcs1,
                    RsaPadding::OaepSha1 => PaddingScheme::OaepSha1Mgf1,
                    RsaPadding::OaepSha256 => PaddingScheme::OaepSha256Mgf1,
                    RsaPadding::OaepSha384 => PaddingScheme::OaepSha384Mgf1,
                    _ => PaddingScheme::OaepSha512Mgf1,
                };
                let (public, private) = self.rsa.pems(*pair);
                let mut builder = self
                    .mpl
                    .create_raw_rsa_keyring()
                    .key_namespace(namespace.clone())
                    .key_name(name.clone())
                    .padding_scheme(scheme)
                    .private_key(private.as_bytes().to_vec());
                if let Some(p) = public {
                    builder = builder.public_key(p.as_bytes().to_vec());
                }
                builder.send().await.map_err(|e| shorten(format!("{e:?}")))
            }
        }
    }

    /// Encrypts; the message on success.
    pub async fn encrypt(
        &self,
        keyring: &KeyringRef,
        suite: AlgorithmSuite,
        frame_length: u32,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> Outcome {
        let result = self
            .client(policy_for(suite), true)
            .encrypt()
            .plaintext(plaintext.to_vec())
            .keyring(keyring.clone())
            .encryption_context(hash_map(context))
            .algorithm_suite_id(esdk_suite(suite))
            .frame_length(i64::from(frame_length))
            .send()
            .await;
        match result {
            Ok(out) => match out.ciphertext {
                Some(c) => Outcome::Ok {
                    plaintext: c.into_inner(),
                    context: BTreeMap::new(),
                },
                None => Outcome::Err {
                    kind: None,
                    message: "encrypt returned no ciphertext".into(),
                },
            },
            Err(e) => Outcome::Err {
                kind: None,
                message: shorten(format!("{e:?}")),
            },
        }
    }

    /// Decrypts under `policy` (with the NET 4.0.0 retry unless `retry` is false).
    pub async fn decrypt(
        &self,
        keyring: &KeyringRef,
        policy: CommitmentPolicy,
        message: &[u8],
        reproduced: Option<&BTreeMap<String, String>>,
        retry: bool,
    ) -> Outcome {
        let mut call = self
            .client(policy, retry)
            .decrypt()
            .ciphertext(message.to_vec())
            .keyring(keyring.clone());
        if let Some(ec) = reproduced {
            call = call.encryption_context(hash_map(ec));
        }
        match call.send().await {
            Ok(out) => Outcome::Ok {
                plaintext: out.plaintext.map(|p| p.into_inner()).unwrap_or_default(),
                context: out
                    .encryption_context
                    .map(|m| m.into_iter().collect())
                    .unwrap_or_default(),
            },
            Err(e) => Outcome::Err {
                kind: None,
                message: shorten(format!("{e:?}")),
            },
        }
    }
}
