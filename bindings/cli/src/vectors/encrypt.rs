//! `vectors encrypt`: runs an `awses-encrypt` manifest.
//!
//! Writes into the output folder:
//! - `plaintexts/<name>`: each plaintext of the manifest, generated
//!   deterministically from its name (see [`plaintext`]);
//! - `ciphertexts/<id>`: one message per case;
//! - `keys.json`: a copy of the keys manifest;
//! - `manifest.json`: an `awses-decrypt` manifest (version 3 layout) listing,
//!   per written case, its `ciphertext`, the same `master-keys`, the
//!   `encryption-context` used, and `result.output.plaintext`.
//!
//! Non-committing suites are written under `FORBID_ENCRYPT_ALLOW_DECRYPT`,
//! committing ones under `REQUIRE_ENCRYPT_REQUIRE_DECRYPT`. Cases with
//! `frame-size` 0 (non-framed) are skipped: this SDK never writes them.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use kms_envelope::{AlgorithmSuite, Client, CommitmentPolicy, Keyring, MultiKeyring};
use serde_json::{json, Map, Value};

use super::keys_manifest::{KeyDescription, KeysManifest};
use super::{
    context_field, manifest_dir, read_json, resolve_uri, selected, str_field, Expectation, Outcome,
    Summary,
};
use crate::exit::{CliError, CliResult};

/// The largest plaintext this runner generates (1 GiB).
const MAX_PLAINTEXT: u64 = 1 << 30;

/// The decrypt-manifest version written.
const DECRYPT_MANIFEST_VERSION: u64 = 3;

/// Runs every case (whose ID contains `filter`) of the `awses-encrypt`
/// manifest at `path`, writing the results into `out`.
pub fn run_manifest(path: &Path, out: &Path, filter: Option<&str>) -> CliResult<Summary> {
    let json = read_json(path)?;
    let bad = |what: String| CliError::bad_arg(format!("'{}': {what}", path.display()));
    if json.pointer("/manifest/type").and_then(Value::as_str) != Some("awses-encrypt") {
        return Err(bad(
            "not an awses-encrypt manifest (\"manifest.type\")".into()
        ));
    }
    let base = manifest_dir(path);
    let keys_path = resolve_uri(&base, str_field(&json, "keys").map_err(bad)?).map_err(bad)?;
    let keys = KeysManifest::load(&keys_path)?;
    let sizes = json
        .get("plaintexts")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no \"plaintexts\" object".into()))?;
    let tests = json
        .get("tests")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no \"tests\" object".into()))?;

    for dir in ["plaintexts", "ciphertexts"] {
        let d = out.join(dir);
        fs::create_dir_all(&d).map_err(|e| CliError::io("create folder", &d, &e))?;
    }
    let mut plaintexts = BTreeMap::new();
    for (name, size) in sizes {
        check_file_name(name).map_err(|e| bad(format!("plaintext name: {e}")))?;
        let size = size
            .as_u64()
            .filter(|s| *s <= MAX_PLAINTEXT)
            .ok_or_else(|| {
                bad(format!(
                    "plaintext '{name}': size is not a number up to {MAX_PLAINTEXT}"
                ))
            })?;
        let data = plaintext(name, size);
        let file = out.join("plaintexts").join(name);
        fs::write(&file, &data).map_err(|e| CliError::io("write", &file, &e))?;
        plaintexts.insert(name.clone(), data);
    }
    copy_keys(&keys_path, &out.join("keys.json"))?;

    let mut summary = Summary::default();
    let mut written = Map::new();
    for (id, test) in tests.iter().filter(|(id, _)| selected(id, filter)) {
        let outcome = match encrypt_case(id, test, &keys, &plaintexts, out) {
            Ok(entry) => {
                written.insert(id.clone(), entry);
                Outcome::Pass
            }
            Err(outcome) => outcome,
        };
        summary.push(id.as_str(), Some(Expectation::Success), outcome);
    }

    let manifest = json!({
        "manifest": {"type": "awses-decrypt", "version": DECRYPT_MANIFEST_VERSION},
        "client": {"name": "kms-envelope", "version": env!("CARGO_PKG_VERSION")},
        "keys": "file://keys.json",
        "tests": written,
    });
    let file = out.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| CliError::bad_arg(format!("cannot encode the decrypt manifest: {e}")))?;
    text.push('\n');
    fs::write(&file, text).map_err(|e| CliError::io("write", &file, &e))?;
    Ok(summary)
}

/// Refuses names that would not stay one file inside the output folder.
fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        Err(format!("'{name}' cannot be used as a file name"))
    } else {
        Ok(())
    }
}

/// Copies the keys manifest, unless it already is the destination.
fn copy_keys(from: &Path, to: &Path) -> CliResult<()> {
    let same = match (fs::canonicalize(from), fs::canonicalize(to)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        fs::copy(from, to).map_err(|e| CliError::io("copy the keys manifest to", to, &e))?;
    }
    Ok(())
}

/// The deterministic plaintext called `name`: `size` bytes of a SplitMix64
/// stream seeded with the 64-bit FNV-1a hash of the name. Not random, only
/// varied: any implementation can regenerate the same bytes.
pub fn plaintext(name: &str, size: u64) -> Vec<u8> {
    let mut state = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let len = usize::try_from(size).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let word = next().to_le_bytes();
        let take = (len - out.len()).min(word.len());
        out.extend_from_slice(&word[..take]);
    }
    out
}

/// Encrypts one case and writes its message; returns its decrypt-manifest entry.
fn encrypt_case(
    id: &str,
    test: &Value,
    keys: &KeysManifest,
    plaintexts: &BTreeMap<String, Vec<u8>>,
    out: &Path,
) -> Result<Value, Outcome> {
    let fail = Outcome::Fail;
    check_file_name(id).map_err(fail)?;
    let frame_size = test
        .get("frame-size")
        .and_then(Value::as_u64)
        .ok_or_else(|| fail("missing or non-numeric \"frame-size\"".into()))?;
    if frame_size == 0 {
        return Err(Outcome::Skip(
            "non-framed (frame-size 0): this SDK never writes non-framed messages".into(),
        ));
    }
    let frame_length = u32::try_from(frame_size)
        .map_err(|_| fail(format!("frame-size {frame_size} is too large")))?;
    let suite: AlgorithmSuite = str_field(test, "algorithm")
        .map_err(fail)?
        .parse()
        .map_err(|e: kms_envelope::Error| fail(e.to_string()))?;
    let name = str_field(test, "plaintext").map_err(fail)?;
    let plaintext = plaintexts
        .get(name)
        .ok_or_else(|| fail(format!("plaintext '{name}' is not in \"plaintexts\"")))?;
    let context = context_field(test, "encryption-context").map_err(fail)?;
    let master_keys = test
        .get("master-keys")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty())
        .ok_or_else(|| fail("no \"master-keys\" (a non-empty list)".into()))?;
    let mut keyrings = master_keys
        .iter()
        .map(|d| KeyDescription::parse(d).and_then(|d| keys.encrypt_keyring(&d)))
        .collect::<Result<Vec<_>, _>>()?;
    let generator = keyrings.remove(0);
    let keyring: Arc<dyn Keyring> = if keyrings.is_empty() {
        generator
    } else {
        Arc::new(MultiKeyring::new(Some(generator), keyrings).map_err(|e| fail(e.to_string()))?)
    };
    let policy = if suite.is_committing() {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    };
    let client = Client::builder().commitment_policy(policy).build();
    let ciphertext = client
        .encrypt(plaintext)
        .keyring(&*keyring)
        .encryption_context(context)
        .algorithm_suite(suite)
        .frame_length(frame_length)
        .run()
        .map_err(|e| fail(format!("encrypt failed: {e}")))?;
    let file = out.join("ciphertexts").join(id);
    fs::write(&file, &ciphertext)
        .map_err(|e| fail(format!("cannot write '{}': {e}", file.display())))?;
    Ok(json!({
        "ciphertext": format!("file://ciphertexts/{id}"),
        "master-keys": master_keys,
        "encryption-context": test.get("encryption-context").cloned().unwrap_or_else(|| json!({})),
        "result": {"output": {"plaintext": format!("file://plaintexts/{name}")}},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintexts_are_deterministic() {
        assert_eq!(plaintext("p3", 3).len(), 3);
        assert_eq!(plaintext("p", 100), plaintext("p", 100));
        assert_ne!(plaintext("p", 100), plaintext("q", 100));
        assert_eq!(&plaintext("p", 100)[..13], &plaintext("p", 13)[..]);
        assert!(plaintext("empty", 0).is_empty());
    }

    #[test]
    fn file_names() {
        assert!(check_file_name("enc-0014-aes128").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            assert!(check_file_name(bad).is_err());
        }
    }
}
