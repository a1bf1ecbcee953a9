//! Key files: the raw AES key file format, RSA PEM files, and the keyring
//! built from the `--key` arguments.
//!
//! A raw AES key file is a small JSON object:
//!
//! ```json
//! {
//!   "type": "raw-aes",
//!   "key_namespace": "kms-envelope",
//!   "key_name": "demo",
//!   "key": "<base64 of 16, 24 or 32 key bytes>"
//! }
//! ```
//!
//! `key_namespace` and `key_name` are written into every message (as the
//! encrypted data key's provider ID and key name), so decrypting needs a key
//! file with the same namespace, name and key bytes.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use kms_envelope::{
    Keyring, MultiKeyring, RawAesKeyring, RawRsaKeyring, RsaPadding, RsaPrivateKey, RsaPublicKey,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::exit::{CliError, CliResult};

/// Namespace (provider ID) used when none is given.
pub const DEFAULT_NAMESPACE: &str = "kms-envelope";

/// The `type` of a raw AES key file.
pub const RAW_AES_TYPE: &str = "raw-aes";

/// The JSON content of a raw AES key file.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyFile {
    /// Always `raw-aes`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Key namespace (provider ID) written into messages.
    pub key_namespace: String,
    /// Key name written into messages.
    pub key_name: String,
    /// The key bytes, base64 (RFC 4648, padded).
    pub key: String,
}

/// What the keys will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Wrapping data keys.
    Encrypt,
    /// Unwrapping data keys.
    Decrypt,
}

/// How to read the key files.
#[derive(Debug, Clone, Copy)]
pub struct KeyFileOptions<'a> {
    /// RSA padding of PEM keys.
    pub padding: RsaPadding,
    /// Key name override (only with a single PEM key).
    pub key_name: Option<&'a str>,
    /// Key namespace override of PEM keys.
    pub key_namespace: Option<&'a str>,
    /// Raw AES keys also read data keys wrapped in JavaScript's
    /// `localeCompare` key order (decrypt's `--js-legacy-order`).
    pub js_legacy_order: bool,
}

/// What a key file holds.
enum KeyKind {
    RawAes,
    RsaPublic,
    RsaPrivate,
}

/// The largest key file read: an RSA-16384 private key in PEM is about
/// 13 KB. A larger file (a device, a wrong path) is refused without being
/// read whole; `keygen` writes none larger.
pub(crate) const MAX_KEY_FILE: usize = 64 * 1024;

fn read_text(path: &Path) -> CliResult<Zeroizing<String>> {
    let io = |e: std::io::Error| CliError::io("read key file", path, &e);
    // Room for one byte past the limit, allocated once: the key is never
    // left behind in a buffer that grew.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE + 1));
    fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE as u64 + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() > MAX_KEY_FILE {
        return Err(CliError::bad_arg(format!(
            "'{}' is not a key file: it is larger than {} KiB",
            path.display(),
            MAX_KEY_FILE / 1024
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(CliError::bad_arg(format!(
            "'{}' is not a key file (not text): expected a raw AES key file (JSON) or an RSA PEM key",
            path.display()
        ))),
    }
}

fn classify(path: &Path, text: &str) -> CliResult<KeyKind> {
    if text.trim_start().starts_with('{') {
        return Ok(KeyKind::RawAes);
    }
    let label = text
        .find("-----BEGIN ")
        .map(|i| &text[i + "-----BEGIN ".len()..])
        .and_then(|rest| rest.find("-----").map(|end| &rest[..end]));
    match label {
        Some("PUBLIC KEY" | "RSA PUBLIC KEY") => Ok(KeyKind::RsaPublic),
        Some("PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY") => {
            Ok(KeyKind::RsaPrivate)
        }
        Some(other) => Err(CliError::bad_arg(format!(
            "'{}' holds a PEM '{other}', not an RSA public or private key",
            path.display()
        ))),
        None => Err(CliError::bad_arg(format!(
            "'{}' is not a key file: expected a raw AES key file (JSON) or an RSA PEM key",
            path.display()
        ))),
    }
}

/// The default key name for a key file: its file name without extensions,
/// i.e. up to the first dot (`rsa.pem` and `rsa.pub.pem` both give `rsa`).
pub fn default_key_name(path: &Path) -> Option<String> {
    let name = path
        .file_name()
        .and_then(OsStr::to_str)?
        .trim_start_matches('.');
    let stem = name.split('.').next().unwrap_or_default();
    (!stem.is_empty()).then(|| stem.to_owned())
}

/// The key name for a PEM file: the override, or [`default_key_name`].
fn pem_key_name(path: &Path, opts: &KeyFileOptions<'_>) -> CliResult<String> {
    if let Some(name) = opts.key_name {
        return Ok(name.to_owned());
    }
    default_key_name(path).ok_or_else(|| {
        CliError::bad_arg(format!(
            "cannot derive a key name from '{}'; pass --key-name",
            path.display()
        ))
    })
}

/// Parses a raw AES key file.
pub fn parse_key_file(path: &Path, text: &str) -> CliResult<RawAesKeyring> {
    let file: KeyFile = serde_json::from_str(text).map_err(|e| {
        CliError::bad_arg(format!("'{}' is not a valid key file: {e}", path.display()))
    })?;
    let KeyFile {
        kind,
        key_namespace,
        key_name,
        key,
    } = file;
    let key = Zeroizing::new(key);
    if kind != RAW_AES_TYPE {
        return Err(CliError::bad_arg(format!(
            "'{}': unsupported key type '{kind}' (expected '{RAW_AES_TYPE}')",
            path.display()
        )));
    }
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| {
                CliError::bad_arg(format!("'{}': \"key\" is not valid base64", path.display()))
            })?,
    );
    RawAesKeyring::new(key_namespace, key_name, &bytes)
        .map_err(|e| CliError::from(e).context(format!("'{}'", path.display())))
}

/// A key file as read: its text and what it holds.
struct KeyFileText<'p> {
    path: &'p Path,
    text: Zeroizing<String>,
    kind: KeyKind,
}

impl<'p> KeyFileText<'p> {
    fn read(path: &'p Path) -> CliResult<Self> {
        let text = read_text(path)?;
        let kind = classify(path, &text)?;
        Ok(Self { path, text, kind })
    }
}

/// The keyring of one key file, read already, for `purpose`.
fn keyring_of(
    file: KeyFileText<'_>,
    opts: &KeyFileOptions<'_>,
    purpose: Purpose,
) -> CliResult<Arc<dyn Keyring>> {
    let KeyFileText { path, text, kind } = file;
    let ctx = |e: kms_envelope::Error| CliError::from(e).context(format!("'{}'", path.display()));
    let namespace = || opts.key_namespace.unwrap_or(DEFAULT_NAMESPACE).to_owned();
    match (kind, purpose) {
        (KeyKind::RawAes, _) => {
            let keyring = parse_key_file(path, &text)?;
            Ok(Arc::new(if opts.js_legacy_order {
                keyring.with_js_legacy_order().map_err(ctx)?
            } else {
                keyring
            }))
        }
        (KeyKind::RsaPublic, Purpose::Encrypt) => {
            let public = RsaPublicKey::from_pem(&text).map_err(ctx)?;
            let keyring = RawRsaKeyring::new(
                namespace(),
                pem_key_name(path, opts)?,
                opts.padding,
                Some(public),
                None,
            )
            .map_err(ctx)?;
            Ok(Arc::new(keyring))
        }
        (KeyKind::RsaPrivate, Purpose::Decrypt) => {
            let private = RsaPrivateKey::from_pem(&text).map_err(ctx)?;
            let keyring = RawRsaKeyring::new(
                namespace(),
                pem_key_name(path, opts)?,
                opts.padding,
                None,
                Some(private),
            )
            .map_err(ctx)?;
            Ok(Arc::new(keyring))
        }
        (KeyKind::RsaPublic, Purpose::Decrypt) => Err(CliError::bad_arg(format!(
            "'{}' holds an RSA public key, which cannot decrypt; pass the private key",
            path.display()
        ))),
        (KeyKind::RsaPrivate, Purpose::Encrypt) => Err(CliError::bad_arg(format!(
            "'{}' holds an RSA private key; encrypt with the public key \
             (for example `openssl pkey -in KEY -pubout -out KEY.pub.pem`)",
            path.display()
        ))),
    }
}

/// Loads the keyrings of the `--key` files, in order.
pub fn load_keyrings(
    paths: &[PathBuf],
    opts: &KeyFileOptions<'_>,
    purpose: Purpose,
) -> CliResult<Vec<Arc<dyn Keyring>>> {
    if opts.key_name.is_none() && !opts.js_legacy_order {
        return paths
            .iter()
            .map(|p| keyring_of(KeyFileText::read(p)?, opts, purpose))
            .collect();
    }
    // Each file is read once; the options are checked against all of them
    // before any key is parsed.
    let files = paths
        .iter()
        .map(|p| KeyFileText::read(p))
        .collect::<CliResult<Vec<_>>>()?;
    let pem_count = files
        .iter()
        .filter(|f| !matches!(f.kind, KeyKind::RawAes))
        .count();
    if opts.key_name.is_some() && pem_count != 1 {
        return Err(CliError::bad_arg(format!(
            "--key-name needs exactly one PEM key among the --key files, not {pem_count}"
        )));
    }
    if opts.js_legacy_order && pem_count == files.len() {
        return Err(CliError::bad_arg(
            "--js-legacy-order applies to raw AES key files, and no --key is one",
        ));
    }
    files
        .into_iter()
        .map(|f| keyring_of(f, opts, purpose))
        .collect()
}

/// Combines keyrings into one: the keyring itself when there is one, else a
/// multi-keyring whose generator (on encrypt) is the first.
pub fn combine(
    mut keyrings: Vec<Arc<dyn Keyring>>,
    purpose: Purpose,
) -> CliResult<Arc<dyn Keyring>> {
    if keyrings.len() == 1 {
        if let Some(only) = keyrings.pop() {
            return Ok(only);
        }
    }
    if keyrings.is_empty() {
        return Err(CliError::bad_arg("give at least one --key or --kms-key"));
    }
    let multi = match purpose {
        Purpose::Encrypt => {
            let generator = keyrings.remove(0);
            MultiKeyring::new(Some(generator), keyrings)?
        }
        Purpose::Decrypt => MultiKeyring::new(None, keyrings)?,
    };
    Ok(Arc::new(multi))
}

/// Builds the keyring for the `--key` files: one keyring, or a multi-keyring
/// whose generator (on encrypt) is the first key.
pub fn build_keyring(
    paths: &[PathBuf],
    opts: &KeyFileOptions<'_>,
    purpose: Purpose,
) -> CliResult<Arc<dyn Keyring>> {
    combine(load_keyrings(paths, opts, purpose)?, purpose)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_names() {
        let name = |p: &str| default_key_name(Path::new(p));
        assert_eq!(name("keys/rsa.pem").as_deref(), Some("rsa"));
        assert_eq!(name("rsa.pub.pem").as_deref(), Some("rsa"));
        assert_eq!(name(".hidden.key").as_deref(), Some("hidden"));
        assert_eq!(name("plain").as_deref(), Some("plain"));
        assert_eq!(name("..."), None);
        assert_eq!(name("/"), None);
    }

    #[test]
    fn classifies_files() {
        let p = Path::new("k");
        assert!(matches!(classify(p, " {\"type\":1}"), Ok(KeyKind::RawAes)));
        assert!(matches!(
            classify(p, "-----BEGIN PUBLIC KEY-----\n"),
            Ok(KeyKind::RsaPublic)
        ));
        assert!(matches!(
            classify(p, "x\n-----BEGIN RSA PRIVATE KEY-----\n"),
            Ok(KeyKind::RsaPrivate)
        ));
        assert!(classify(p, "-----BEGIN CERTIFICATE-----\n").is_err());
        assert!(classify(p, "hello").is_err());
        assert!(classify(p, "-----BEGIN ").is_err());
    }

    #[test]
    fn key_file_checks() {
        let p = Path::new("k.key");
        let good = r#"{"type":"raw-aes","key_namespace":"ns","key_name":"n","key":"AAECAwQFBgcICRAREhMUFRYXGBkgISIjJCUmJygpMDE="}"#;
        assert!(parse_key_file(p, good).is_ok());
        let bad_type = good.replace("raw-aes", "raw-rsa");
        assert!(parse_key_file(p, &bad_type).is_err());
        let short = good.replace("AAECAwQFBgcICRAREhMUFRYXGBkgISIjJCUmJygpMDE=", "AAEC");
        assert_eq!(
            parse_key_file(p, &short).err().map(|e| e.status),
            Some(crate::exit::Status::BadArgument)
        );
        assert!(parse_key_file(p, "{}").is_err());
    }
}
