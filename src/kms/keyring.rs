//! The AWS KMS keyrings: strict, multi-Region aware, discovery.

use std::sync::Arc;

use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::keyring::{already_decrypted, Keyring};
use crate::kms::arn::{mrk_match, validate_identifier, KmsArn};
use crate::kms::client::{GenerateDataKeyRequest, KmsClient, KmsDecryptRequest, KmsEncryptRequest};
use crate::materials::{DecryptionMaterials, EncryptionMaterials};

/// Provider ID of the EDKs these keyrings write and read.
pub const PROVIDER_ID: &str = "aws-kms";

/// Limits a discovery keyring to keys of one partition and some accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryFilter {
    partition: String,
    accounts: Vec<String>,
}

impl DiscoveryFilter {
    /// Keys of `partition` (e.g. `aws`) in `accounts` (at least one).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `partition` is empty, `accounts` is empty,
    /// or one of the accounts is an empty string.
    pub fn new<I, S>(partition: impl Into<String>, accounts: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let partition = partition.into();
        let accounts: Vec<String> = accounts.into_iter().map(Into::into).collect();
        if partition.is_empty() || accounts.is_empty() || accounts.iter().any(String::is_empty) {
            return Err(Error::bad_arg(
                "a discovery filter needs a partition and at least one non-empty account ID",
            ));
        }
        Ok(Self {
            partition,
            accounts,
        })
    }

    fn admits(&self, arn: &KmsArn) -> bool {
        arn.partition == self.partition && self.accounts.contains(&arn.account)
    }
}

#[derive(Debug, Clone)]
enum Mode {
    /// One key; decrypt only EDKs of that key (or, multi-Region aware, of
    /// its replicas).
    Strict { key_id: String, mrk_aware: bool },
    /// Any `aws-kms` EDK the filter admits; multi-Region aware when the
    /// client's region is known.
    Discovery {
        filter: Option<DiscoveryFilter>,
        region: Option<String>,
    },
}

/// Wraps data keys with AWS KMS, in the ESDK `aws-kms` layout (provider info =
/// the key ARN KMS reports).
///
/// - [`AwsKmsKeyring::new`]: one key; encrypt with `GenerateDataKey` (or
///   `Encrypt` when another keyring made the data key), decrypt only that
///   key's EDKs.
/// - [`AwsKmsKeyring::new_mrk_aware`]: the same, but EDKs of any replica of a
///   multi-Region (`mrk-`) key also match, and are decrypted with the
///   configured key.
/// - [`AwsKmsKeyring::discovery`]: decrypt only, with the key named in each
///   EDK, limited by an optional [`DiscoveryFilter`].
/// - [`AwsKmsKeyring::mrk_discovery`]: discovery in one region, calling the
///   local replica of multi-Region keys.
///
/// The error when nothing unwraps lists each key tried and the service's answer.
#[derive(Clone)]
pub struct AwsKmsKeyring {
    client: Arc<dyn KmsClient>,
    mode: Mode,
    grant_tokens: Vec<String>,
}

impl std::fmt::Debug for AwsKmsKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKmsKeyring")
            .field("mode", &self.mode)
            .field("grant_tokens", &self.grant_tokens.len())
            .finish()
    }
}

impl AwsKmsKeyring {
    /// A keyring for one KMS key (ARN, alias ARN, `alias/...` or key ID;
    /// decrypting needs the key ARN, since messages store the ARN).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `key_id` is not a valid identifier (see
    /// [`validate_identifier`]).
    pub fn new(key_id: impl Into<String>, client: Arc<dyn KmsClient>) -> Result<Self> {
        Self::strict(key_id.into(), client, false)
    }

    /// Like [`AwsKmsKeyring::new`], matching replicas of multi-Region keys on decrypt.
    ///
    /// # Errors
    ///
    /// As [`AwsKmsKeyring::new`].
    pub fn new_mrk_aware(key_id: impl Into<String>, client: Arc<dyn KmsClient>) -> Result<Self> {
        Self::strict(key_id.into(), client, true)
    }

    fn strict(key_id: String, client: Arc<dyn KmsClient>, mrk_aware: bool) -> Result<Self> {
        validate_identifier(&key_id)?;
        Ok(Self {
            client,
            mode: Mode::Strict { key_id, mrk_aware },
            grant_tokens: Vec::new(),
        })
    }

    /// A decrypt-only keyring that asks KMS to decrypt each `aws-kms` EDK
    /// with the key it names, if `filter` (when given) admits it.
    pub fn discovery(client: Arc<dyn KmsClient>, filter: Option<DiscoveryFilter>) -> Self {
        Self {
            client,
            mode: Mode::Discovery {
                filter,
                region: None,
            },
            grant_tokens: Vec::new(),
        }
    }

    /// A decrypt-only keyring for a client of `region`: EDKs of multi-Region
    /// keys are decrypted with their replica in `region`; other keys only if
    /// they are in `region`.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `region` is empty.
    pub fn mrk_discovery(
        client: Arc<dyn KmsClient>,
        region: impl Into<String>,
        filter: Option<DiscoveryFilter>,
    ) -> Result<Self> {
        let region = region.into();
        if region.is_empty() {
            return Err(Error::bad_arg(
                "a multi-Region discovery keyring needs a region",
            ));
        }
        Ok(Self {
            client,
            mode: Mode::Discovery {
                filter,
                region: Some(region),
            },
            grant_tokens: Vec::new(),
        })
    }

    /// Passes these grant tokens on every call.
    pub fn with_grant_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.grant_tokens = tokens.into_iter().map(Into::into).collect();
        self
    }

    async fn encrypt(&self, mut materials: EncryptionMaterials) -> Result<EncryptionMaterials> {
        let Mode::Strict { key_id, .. } = &self.mode else {
            return Err(Error::bad_arg("a discovery keyring cannot encrypt"));
        };
        let suite = materials.algorithm_suite();
        let context = materials.encryption_context().clone();
        let (arn, blob) = match materials.plaintext_data_key() {
            None => {
                let request = GenerateDataKeyRequest {
                    key_id: key_id.clone(),
                    number_of_bytes: suite.data_key_len(),
                    encryption_context: context,
                    grant_tokens: self.grant_tokens.clone(),
                };
                let response = self.client.generate_data_key(request).await?;
                if response.plaintext.len() != suite.data_key_len() {
                    return Err(kms_invalid(
                        "GenerateDataKey returned a data key of the wrong length",
                    ));
                }
                if all_zero(response.plaintext.as_bytes()) {
                    return Err(kms_invalid(
                        "GenerateDataKey returned an all-zero data key (a client that hands out \
                         the same response twice? its key bytes are wiped after use)",
                    ));
                }
                response_arn(&response.key_id, "GenerateDataKey")?;
                materials.set_plaintext_data_key(response.plaintext)?;
                (response.key_id, response.ciphertext_blob)
            }
            Some(key) => {
                let request = KmsEncryptRequest {
                    key_id: key_id.clone(),
                    plaintext: key.clone(),
                    encryption_context: context,
                    grant_tokens: self.grant_tokens.clone(),
                };
                let response = self.client.encrypt(request).await?;
                response_arn(&response.key_id, "Encrypt")?;
                (response.key_id, response.ciphertext_blob)
            }
        };
        materials.add_encrypted_data_key(EncryptedDataKey::new(
            PROVIDER_ID,
            arn.into_bytes(),
            blob,
        ))?;
        Ok(materials)
    }

    /// The key to call Decrypt with for `edk`, or `None` if this keyring
    /// does not take it. Fails on an `aws-kms` EDK whose info is no key ARN.
    fn decrypt_key_for(&self, edk: &EncryptedDataKey) -> Result<Option<String>> {
        if edk.provider_id != PROVIDER_ID {
            return Ok(None);
        }
        let info = std::str::from_utf8(&edk.provider_info).map_err(|_| {
            Error::malformed("an aws-kms encrypted data key's key ARN is not UTF-8")
        })?;
        let arn: KmsArn = info.parse().map_err(|_| {
            Error::malformed(format!(
                "an aws-kms encrypted data key names '{info}', which is not a KMS key ARN"
            ))
        })?;
        if arn.resource_type != "key" {
            return Err(Error::malformed(format!(
                "an aws-kms encrypted data key names '{info}', which is not a key"
            )));
        }
        Ok(match &self.mode {
            Mode::Strict {
                key_id,
                mrk_aware: false,
            } => (key_id == info).then(|| key_id.clone()),
            Mode::Strict {
                key_id,
                mrk_aware: true,
            } => mrk_match(key_id, info).then(|| key_id.clone()),
            Mode::Discovery { filter, region } => {
                if filter.as_ref().is_some_and(|f| !f.admits(&arn)) {
                    return Ok(None);
                }
                match region {
                    None => Some(info.to_owned()),
                    Some(r) if arn.is_multi_region_key() => Some(arn.in_region(r).to_string()),
                    Some(r) if &arn.region == r => Some(info.to_owned()),
                    Some(_) => None,
                }
            }
        })
    }

    async fn decrypt(
        &self,
        mut materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials> {
        if materials.plaintext_data_key().is_some() {
            return Err(already_decrypted());
        }
        let expected_len = materials.algorithm_suite().data_key_len();
        // Every aws-kms key is checked before any call (the specification's
        // filter comes first): one whose info is no key ARN fails the
        // keyring even after a key that would have unwrapped.
        let mut wanted = Vec::new();
        for edk in edks {
            if let Some(key_id) = self.decrypt_key_for(edk)? {
                wanted.push((key_id, edk));
            }
        }
        let mut reasons = Vec::new();
        for (key_id, edk) in wanted {
            let request = KmsDecryptRequest {
                key_id: key_id.clone(),
                ciphertext_blob: edk.ciphertext.clone(),
                encryption_context: materials.encryption_context().clone(),
                grant_tokens: self.grant_tokens.clone(),
            };
            match self.client.decrypt(request).await {
                Ok(response) if response.key_id != key_id => reasons.push(format!(
                    "{key_id}: KMS answered for a different key ({})",
                    response.key_id
                )),
                Ok(response) if response.plaintext.len() != expected_len => reasons.push(format!(
                    "{key_id}: KMS returned a data key of the wrong length"
                )),
                Ok(response) if all_zero(response.plaintext.as_bytes()) => {
                    reasons.push(format!("{key_id}: KMS returned an all-zero data key"))
                }
                Ok(response) => {
                    materials.set_plaintext_data_key(response.plaintext)?;
                    return Ok(materials);
                }
                Err(Error::Kms { code, message }) => {
                    reasons.push(format!("{key_id}: {code}: {message}"))
                }
                Err(e) => reasons.push(format!("{key_id}: {e}")),
            }
        }
        let any_kms = edks.iter().any(|e| e.provider_id == PROVIDER_ID);
        if reasons.is_empty() {
            reasons.push(match &self.mode {
                Mode::Strict { key_id, .. } if !key_id.starts_with("arn:") || key_id.contains(":alias/") => format!(
                    "AWS KMS {key_id}: no encrypted data key for this key (messages name their \
                     keys by key ARN: an alias or a bare key ID never matches; give the key ARN)"
                ),
                Mode::Strict { key_id, .. } => format!("AWS KMS {key_id}: no encrypted data key for this key"),
                Mode::Discovery { .. } if !any_kms => {
                    "AWS KMS discovery: no aws-kms encrypted data key".to_owned()
                }
                Mode::Discovery { filter: Some(_), .. } => {
                    "AWS KMS discovery: no encrypted data key of an account the discovery filter admits".to_owned()
                }
                Mode::Discovery { region: Some(r), .. } => {
                    format!("AWS KMS discovery: no encrypted data key usable in region {r}")
                }
                Mode::Discovery { .. } => "AWS KMS discovery: no aws-kms encrypted data key".to_owned(),
            });
        }
        Err(Error::NoKeyUnwrapped(reasons))
    }
}

/// Whether `key` is all zero bytes: no KMS makes such a data key (a chance
/// of 2^-128 at least), but a client that returns an answer whose key bytes
/// were already wiped would, and a message sealed under it could be read by
/// anyone. Not data-dependent in time.
fn all_zero(key: &[u8]) -> bool {
    key.iter().fold(0u8, |acc, b| acc | b) == 0
}

fn kms_invalid(message: &str) -> Error {
    Error::Kms {
        code: "InvalidResponse".into(),
        message: message.into(),
    }
}

fn response_arn(key_id: &str, call: &str) -> Result<()> {
    match key_id.parse::<KmsArn>() {
        Ok(arn) if arn.resource_type == "key" => Ok(()),
        _ => Err(kms_invalid(&format!(
            "{call} returned '{key_id}', which is not a KMS key ARN"
        ))),
    }
}

impl Keyring for AwsKmsKeyring {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(self.encrypt(materials))
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(self.decrypt(materials, encrypted_data_keys))
    }
}
