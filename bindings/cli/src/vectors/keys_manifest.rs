//! Keys manifests (`"type": "keys"`) and the key descriptions of test cases
//! (`master-keys` entries, v5 `decryptKeyDescription`s), turned into keyrings.
//!
//! Raw keyrings are built with key namespace = the description's
//! `provider-id` and key name = the key's `key-id` in the keys manifest (a
//! description may override it with its own `key-id`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use kms_envelope::{
    Keyring, MultiKeyring, RawAesKeyring, RawRsaKeyring, RsaPadding, RsaPrivateKey, RsaPublicKey,
};
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use super::{read_json, str_field, Outcome};
use crate::exit::{CliError, CliResult};

/// A loaded keys manifest. Entries are parsed when a case uses them, so one
/// odd entry (a KMS or ECDH key) fails only the cases that name it.
pub(crate) struct KeysManifest {
    keys: BTreeMap<String, Value>,
}

/// One entry of a keys manifest, as far as raw keys need it.
#[derive(Debug, Deserialize)]
struct KeyEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default = "yes")]
    encrypt: bool,
    #[serde(default = "yes")]
    decrypt: bool,
    #[serde(default)]
    material: Option<Material>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default, rename = "key-id")]
    key_id: Option<String>,
    #[serde(default, rename = "line-separator")]
    line_separator: Option<String>,
}

fn yes() -> bool {
    true
}

/// Key material: one string, or (keys manifest v1) a list of lines.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Material {
    Text(String),
    Lines(Vec<String>),
}

/// How a raw key wraps.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RawAlgorithm {
    Aes,
    Rsa(RsaPadding),
}

/// A parsed key description.
#[derive(Debug)]
pub(crate) enum KeyDescription {
    /// A raw AES or RSA key.
    Raw {
        key: String,
        provider_id: String,
        key_id: Option<String>,
        algorithm: RawAlgorithm,
    },
    /// A multi-keyring (v5).
    Multi {
        generator: Option<Box<KeyDescription>>,
        children: Vec<KeyDescription>,
    },
    /// A required-encryption-context CMM around a keyring (v5).
    RequiredContext {
        underlying: Box<KeyDescription>,
        required_keys: Vec<String>,
    },
}

impl KeyDescription {
    /// Parses a description; unsupported kinds (AWS KMS, ECDH, ...) give
    /// `Outcome::Skip`, malformed ones `Outcome::Fail`.
    pub(crate) fn parse(v: &Value) -> Result<Self, Outcome> {
        let kind =
            str_field(v, "type").map_err(|e| Outcome::Fail(format!("key description: {e}")))?;
        match kind {
            "raw" => Self::parse_raw(v),
            "multi-keyring" => {
                let generator = match v.get("generator") {
                    None | Some(Value::Null) => None,
                    Some(g) => Some(Box::new(Self::parse(g)?)),
                };
                let children = match v.get("childKeyrings") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(list)) => {
                        list.iter().map(Self::parse).collect::<Result<_, _>>()?
                    }
                    Some(_) => return Err(Outcome::Fail("\"childKeyrings\" is not a list".into())),
                };
                Ok(Self::Multi {
                    generator,
                    children,
                })
            }
            "required-encryption-context-cmm" => {
                let underlying = v.get("underlying").ok_or_else(|| {
                    Outcome::Fail("required-encryption-context-cmm without \"underlying\"".into())
                })?;
                let required_keys = v
                    .get("requiredEncryptionContextKeys")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        Outcome::Fail("missing \"requiredEncryptionContextKeys\" list".into())
                    })?
                    .iter()
                    .map(|k| k.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        Outcome::Fail("a required encryption-context key is not a string".into())
                    })?;
                Ok(Self::RequiredContext {
                    underlying: Box::new(Self::parse(underlying)?),
                    required_keys,
                })
            }
            other => Err(Outcome::Skip(format!(
                "key type '{other}' is not supported here"
            ))),
        }
    }

    fn parse_raw(v: &Value) -> Result<Self, Outcome> {
        let field = |name: &str| {
            str_field(v, name).map_err(|e| Outcome::Fail(format!("raw key description: {e}")))
        };
        let algorithm = match field("encryption-algorithm")? {
            "aes" => RawAlgorithm::Aes,
            "rsa" => {
                let padding = match field("padding-algorithm")? {
                    "pkcs1" => RsaPadding::Pkcs1V15,
                    "oaep-mgf1" => {
                        let hash = field("padding-hash")?;
                        format!("oaep-{hash}").parse().map_err(|_| {
                            Outcome::Fail(format!("unknown OAEP padding hash '{hash}'"))
                        })?
                    }
                    other => return Err(Outcome::Fail(format!("unknown RSA padding '{other}'"))),
                };
                RawAlgorithm::Rsa(padding)
            }
            other => {
                return Err(Outcome::Skip(format!(
                    "raw '{other}' keys are not supported here"
                )))
            }
        };
        Ok(Self::Raw {
            key: field("key")?.to_owned(),
            provider_id: field("provider-id")?.to_owned(),
            key_id: v.get("key-id").and_then(Value::as_str).map(str::to_owned),
            algorithm,
        })
    }
}

impl KeysManifest {
    /// Loads a keys manifest file.
    pub(crate) fn load(path: &Path) -> CliResult<Self> {
        let json = read_json(path)?;
        let bad = |what: &str| {
            CliError::bad_arg(format!(
                "'{}' is not a keys manifest: {what}",
                path.display()
            ))
        };
        if json.pointer("/manifest/type").and_then(Value::as_str) != Some("keys") {
            return Err(bad("\"manifest.type\" is not \"keys\""));
        }
        let keys = json
            .get("keys")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"keys\" object"))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Self { keys })
    }

    fn entry(&self, name: &str) -> Result<KeyEntry, Outcome> {
        let v = self
            .keys
            .get(name)
            .ok_or_else(|| Outcome::Fail(format!("key '{name}' is not in the keys manifest")))?;
        serde_json::from_value(v.clone()).map_err(|e| Outcome::Fail(format!("key '{name}': {e}")))
    }

    /// The keyring that decrypts with `desc`, or `None` when its key can only
    /// encrypt (a public RSA key, `"decrypt": false`).
    pub(crate) fn decrypt_keyring(
        &self,
        desc: &KeyDescription,
    ) -> Result<Option<Arc<dyn Keyring>>, Outcome> {
        match desc {
            KeyDescription::Raw {
                key,
                provider_id,
                key_id,
                algorithm,
            } => {
                let entry = self.entry(key)?;
                if !entry.decrypt || entry.kind == "public" {
                    return Ok(None);
                }
                let name = key_name(key, key_id.as_deref(), &entry);
                let material = material(key, &entry)?;
                let keyring: Arc<dyn Keyring> = match algorithm {
                    RawAlgorithm::Aes => {
                        Arc::new(aes_keyring(key, provider_id, &name, &entry, &material)?)
                    }
                    RawAlgorithm::Rsa(padding) => {
                        expect_kind(key, &entry, "private")?;
                        let private =
                            RsaPrivateKey::from_pem(&material).map_err(|e| fail_key(key, e))?;
                        Arc::new(
                            RawRsaKeyring::new(
                                provider_id.as_str(),
                                name,
                                *padding,
                                None,
                                Some(private),
                            )
                            .map_err(|e| fail_key(key, e))?,
                        )
                    }
                };
                Ok(Some(keyring))
            }
            KeyDescription::Multi {
                generator,
                children,
            } => {
                let mut keyrings = Vec::new();
                for d in generator.iter().map(|g| &**g).chain(children.iter()) {
                    keyrings.extend(self.decrypt_keyring(d)?);
                }
                Ok(multi(None, keyrings)?)
            }
            KeyDescription::RequiredContext { .. } => Err(Outcome::Fail(
                "a required-encryption-context-cmm cannot be nested in a keyring".into(),
            )),
        }
    }

    /// The keyrings that decrypt with any of `descs` (a `master-keys` list),
    /// as one keyring; `None` when none of the keys can decrypt.
    pub(crate) fn decrypt_keyring_any(
        &self,
        descs: &[KeyDescription],
    ) -> Result<Option<Arc<dyn Keyring>>, Outcome> {
        let mut keyrings = Vec::new();
        for d in descs {
            keyrings.extend(self.decrypt_keyring(d)?);
        }
        multi(None, keyrings)
    }

    /// The keyring that encrypts with `desc`.
    pub(crate) fn encrypt_keyring(
        &self,
        desc: &KeyDescription,
    ) -> Result<Arc<dyn Keyring>, Outcome> {
        match desc {
            KeyDescription::Raw {
                key,
                provider_id,
                key_id,
                algorithm,
            } => {
                let entry = self.entry(key)?;
                if !entry.encrypt {
                    return Err(Outcome::Fail(format!(
                        "key '{key}' may not encrypt (\"encrypt\": false)"
                    )));
                }
                let name = key_name(key, key_id.as_deref(), &entry);
                match algorithm {
                    RawAlgorithm::Aes => {
                        let material = material(key, &entry)?;
                        Ok(Arc::new(aes_keyring(
                            key,
                            provider_id,
                            &name,
                            &entry,
                            &material,
                        )?))
                    }
                    RawAlgorithm::Rsa(padding) => {
                        let public = self.public_key_for(key, &entry)?;
                        Ok(Arc::new(
                            RawRsaKeyring::new(
                                provider_id.as_str(),
                                name,
                                *padding,
                                Some(public),
                                None,
                            )
                            .map_err(|e| fail_key(key, e))?,
                        ))
                    }
                }
            }
            KeyDescription::Multi {
                generator,
                children,
            } => {
                let generator = generator.as_ref().ok_or_else(|| {
                    Outcome::Fail("a multi-keyring without a generator cannot encrypt".into())
                })?;
                let generator = self.encrypt_keyring(generator)?;
                let children = children
                    .iter()
                    .map(|c| self.encrypt_keyring(c))
                    .collect::<Result<_, _>>()?;
                Ok(Arc::new(
                    MultiKeyring::new(Some(generator), children)
                        .map_err(|e| Outcome::Fail(e.to_string()))?,
                ))
            }
            KeyDescription::RequiredContext { .. } => Err(Outcome::Skip(
                "encrypting under a required-encryption-context-cmm is not supported here".into(),
            )),
        }
    }

    /// The RSA public key to encrypt with `key`: its own material if it is a
    /// public key, else the public key with the same `key-id` in the manifest
    /// (the core never derives a public key from a private one).
    fn public_key_for(&self, key: &str, entry: &KeyEntry) -> Result<RsaPublicKey, Outcome> {
        if entry.kind == "public" {
            return RsaPublicKey::from_pem(&material(key, entry)?).map_err(|e| fail_key(key, e));
        }
        expect_kind(key, entry, "private")?;
        let id = entry.key_id.as_deref().unwrap_or(key);
        for name in self.keys.keys() {
            let Ok(other) = self.entry(name) else {
                continue;
            };
            if other.kind == "public"
                && other.algorithm.as_deref().is_none_or(|a| a == "rsa")
                && other.key_id.as_deref().unwrap_or(name) == id
            {
                return RsaPublicKey::from_pem(&material(name, &other)?)
                    .map_err(|e| fail_key(name, e));
            }
        }
        Err(Outcome::Skip(format!(
            "no public RSA key with key-id '{id}' in the keys manifest to encrypt for '{key}'"
        )))
    }
}

/// One keyring as is, several as a multi-keyring without generator, none as `None`.
fn multi(
    generator: Option<Arc<dyn Keyring>>,
    mut keyrings: Vec<Arc<dyn Keyring>>,
) -> Result<Option<Arc<dyn Keyring>>, Outcome> {
    if generator.is_none() && keyrings.len() <= 1 {
        return Ok(keyrings.pop());
    }
    MultiKeyring::new(generator, keyrings)
        .map(|m| Some(Arc::new(m) as Arc<dyn Keyring>))
        .map_err(|e| Outcome::Fail(e.to_string()))
}

fn key_name(map_key: &str, override_id: Option<&str>, entry: &KeyEntry) -> String {
    override_id
        .or(entry.key_id.as_deref())
        .unwrap_or(map_key)
        .to_owned()
}

fn fail_key(key: &str, e: kms_envelope::Error) -> Outcome {
    Outcome::Fail(format!("key '{key}': {e}"))
}

fn expect_kind(key: &str, entry: &KeyEntry, kind: &str) -> Result<(), Outcome> {
    if entry.kind == kind {
        Ok(())
    } else {
        Err(Outcome::Fail(format!(
            "key '{key}' is of type '{}', expected '{kind}'",
            entry.kind
        )))
    }
}

/// The key material as one string (v1 line lists joined).
fn material(key: &str, entry: &KeyEntry) -> Result<Zeroizing<String>, Outcome> {
    match &entry.material {
        Some(Material::Text(s)) => Ok(Zeroizing::new(s.clone())),
        Some(Material::Lines(lines)) => Ok(Zeroizing::new(
            lines.join(entry.line_separator.as_deref().unwrap_or("\n")),
        )),
        None => Err(Outcome::Fail(format!("key '{key}' has no \"material\""))),
    }
}

fn aes_keyring(
    key: &str,
    provider_id: &str,
    name: &str,
    entry: &KeyEntry,
    material: &str,
) -> Result<RawAesKeyring, Outcome> {
    expect_kind(key, entry, "symmetric")?;
    if entry.encoding.as_deref().is_some_and(|e| e != "base64") {
        return Err(Outcome::Fail(format!(
            "key '{key}': unsupported encoding {:?}",
            entry.encoding
        )));
    }
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(material.trim())
            .map_err(|_| Outcome::Fail(format!("key '{key}': material is not valid base64")))?,
    );
    RawAesKeyring::new(provider_id, name, &bytes).map_err(|e| fail_key(key, e))
}
