//! `vectors decrypt`: runs decrypt manifests.
//!
//! Every case is decrypted in one shot under the commitment policy
//! `REQUIRE_ENCRYPT_ALLOW_DECRYPT` (most vectors use non-committing suites),
//! with no limit on encrypted data keys. A positive case passes when the
//! plaintext matches byte for byte and the returned encryption context is
//! the header's pairs plus the reproduced pairs the header lacks; a negative
//! case passes when decrypt fails.

use std::path::Path;
use std::sync::Arc;

use kms_envelope::{
    Client, CommitmentPolicy, Decrypted, EncryptionContext, Keyring, MaterialsManager,
    MessageHeader, RequiredEncryptionContextMaterialsManager,
};
use serde_json::Value;

use super::keys_manifest::{KeyDescription, KeysManifest};
use super::{
    context_field, known_answer, manifest_dir, read_json, read_uri, resolve_uri, selected,
    str_field,
};
use super::{Expectation, Outcome, Summary};
use crate::exit::{CliError, CliResult};

/// The commitment policy every decrypt case runs under.
const POLICY: CommitmentPolicy = CommitmentPolicy::RequireEncryptAllowDecrypt;

/// Where a case's decryption materials come from.
pub(crate) enum Materials {
    /// A keyring, through the default materials manager.
    Keyring(Arc<dyn Keyring>),
    /// A materials manager (the required-encryption-context one).
    Manager(Arc<dyn MaterialsManager>),
}

/// What a case expects.
pub(crate) enum Expected {
    /// Decrypt succeeds with this plaintext.
    Plaintext(Vec<u8>),
    /// Decrypt fails.
    Error,
}

/// One loaded decrypt case.
pub(crate) struct DecryptCase {
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) materials: Materials,
    /// The reproduced encryption context passed to decrypt, if any.
    pub(crate) reproduced: Option<EncryptionContext>,
    pub(crate) expect: Expected,
    /// Emulates an "unsigned messages only" streaming decrypt: signed
    /// messages are refused after the header.
    pub(crate) unsigned_only: bool,
    /// The suite the manifest says the message uses, checked against the header.
    pub(crate) expected_suite: Option<u16>,
    /// An encryption context the manifest says decrypt returns (KAT).
    pub(crate) expected_context: Option<EncryptionContext>,
}

impl DecryptCase {
    pub(crate) fn new(ciphertext: Vec<u8>, materials: Materials, expect: Expected) -> Self {
        Self {
            ciphertext,
            materials,
            reproduced: None,
            expect,
            unsigned_only: false,
            expected_suite: None,
            expected_context: None,
        }
    }
}

/// The kinds of decrypt manifest, told apart by their shape.
enum Format {
    AwsesDecrypt(u64),
    CommitmentKat,
    DecryptOracle,
}

fn detect(json: &Value) -> Result<Format, String> {
    if let Some(kind) = json.pointer("/manifest/type").and_then(Value::as_str) {
        let version = json
            .pointer("/manifest/version")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        return match kind {
            "awses-decrypt" if (1..=5).contains(&version) => Ok(Format::AwsesDecrypt(version)),
            "awses-decrypt" => Err(format!(
                "unsupported awses-decrypt manifest version {version} (1 to 5 are)"
            )),
            "awses-encrypt" => {
                Err("this is an awses-encrypt manifest: run it with `vectors encrypt`".into())
            }
            other => Err(format!("unsupported manifest type '{other}'")),
        };
    }
    let has = |v: &Value, field: &str| v.as_object().is_some_and(|o| o.contains_key(field));
    if let Some(tests) = json.get("tests").and_then(Value::as_array) {
        if tests.first().is_some_and(|t| has(t, "decrypted-dek")) {
            return Ok(Format::CommitmentKat);
        }
    }
    if let Some(list) = json.as_array() {
        if list
            .first()
            .is_some_and(|t| has(t, "key-type") && has(t, "ciphertext"))
        {
            return Ok(Format::DecryptOracle);
        }
    }
    Err(
        "not a decrypt manifest: expected an awses-decrypt manifest, the commitment \
         known-answer tests or the decrypt-oracle vector list"
            .into(),
    )
}

/// Runs every case (whose ID contains `filter`) of the decrypt manifest at `path`.
pub fn run_manifest(path: &Path, filter: Option<&str>) -> CliResult<Summary> {
    let json = read_json(path)?;
    let format =
        detect(&json).map_err(|e| CliError::bad_arg(format!("'{}': {e}", path.display())))?;
    match format {
        Format::AwsesDecrypt(version) => run_awses(path, &json, version, filter),
        Format::CommitmentKat => Ok(known_answer::run_commitment_kat(&json, filter)),
        Format::DecryptOracle => Ok(known_answer::run_decrypt_oracle(&json, filter)),
    }
}

fn run_awses(path: &Path, json: &Value, version: u64, filter: Option<&str>) -> CliResult<Summary> {
    let base = manifest_dir(path);
    let bad = |what: String| CliError::bad_arg(format!("'{}': {what}", path.display()));
    let keys_uri = str_field(json, "keys").map_err(bad)?;
    let keys = KeysManifest::load(&resolve_uri(&base, keys_uri).map_err(bad)?)?;
    let tests = json
        .get("tests")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no \"tests\" object".into()))?;
    let mut summary = Summary::default();
    for (id, test) in tests.iter().filter(|(id, _)| selected(id, filter)) {
        let (expect, loaded) = if version >= 5 {
            (expectation_v5(test), load_v5(test, &base, &keys))
        } else {
            (expectation_v1_v4(test), load_v1_v4(test, &base, &keys))
        };
        let outcome = match loaded {
            Ok(case) => run_case(&case),
            Err(outcome) => outcome,
        };
        summary.push(id.as_str(), expect, outcome);
    }
    Ok(summary)
}

fn expectation_v1_v4(test: &Value) -> Option<Expectation> {
    match test.get("result") {
        Some(r) if r.get("output").is_some() => Some(Expectation::Success),
        Some(r) if r.get("error").is_some() => Some(Expectation::Error),
        Some(_) => None,
        None => test.get("plaintext").map(|_| Expectation::Success),
    }
}

fn expectation_v5(test: &Value) -> Option<Expectation> {
    match test
        .pointer("/decryption-scenario/type")
        .and_then(Value::as_str)
    {
        Some(t) if t.starts_with("positive") => Some(Expectation::Success),
        Some(t) if t.starts_with("negative") => Some(Expectation::Error),
        _ => None,
    }
}

fn fail(e: String) -> Outcome {
    Outcome::Fail(e)
}

/// A v1-v4 case: `ciphertext`, `master-keys`, optional `cmm`,
/// `encryption-context` (reproduced), `decryption-method`, and `result`
/// (v2+) or `plaintext` (v1).
fn load_v1_v4(test: &Value, base: &Path, keys: &KeysManifest) -> Result<DecryptCase, Outcome> {
    let expect = match (test.get("result"), test.get("plaintext")) {
        (Some(result), _) => match (result.get("output"), result.get("error")) {
            (Some(out), _) => Expected::Plaintext(
                read_uri(base, str_field(out, "plaintext").map_err(fail)?).map_err(fail)?,
            ),
            (None, Some(_)) => Expected::Error,
            (None, None) => {
                return Err(fail(
                    "\"result\" has neither \"output\" nor \"error\"".into(),
                ))
            }
        },
        (None, Some(Value::String(uri))) => Expected::Plaintext(read_uri(base, uri).map_err(fail)?),
        _ => return Err(fail("no \"result\" (or v1 \"plaintext\")".into())),
    };
    let descriptions = test
        .get("master-keys")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("no \"master-keys\" list".into()))?
        .iter()
        .map(KeyDescription::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let unsigned_only = match test.get("decryption-method").and_then(Value::as_str) {
        None => false,
        Some("streaming-unsigned-only") => true,
        Some(other) => {
            return Err(Outcome::Skip(format!(
                "decryption method '{other}' is not supported here"
            )))
        }
    };
    let ciphertext = read_uri(base, str_field(test, "ciphertext").map_err(fail)?).map_err(fail)?;
    let reproduced = context_field(test, "encryption-context").map_err(fail)?;
    let keyring = keys
        .decrypt_keyring_any(&descriptions)?
        .ok_or_else(|| Outcome::Skip("none of the master keys can decrypt".into()))?;
    let materials = match test.get("cmm").and_then(Value::as_str) {
        None | Some("Default") => Materials::Keyring(keyring),
        Some("RequiredEncryptionContext") => {
            let required = required_keys(&ciphertext, &reproduced);
            if required.is_empty() {
                return Err(fail(
                    "RequiredEncryptionContext case without an encryption context".into(),
                ));
            }
            let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(keyring, required)
                .map_err(|e| fail(e.to_string()))?;
            Materials::Manager(Arc::new(cmm))
        }
        Some(other) => {
            return Err(Outcome::Skip(format!(
                "cmm '{other}' is not supported here"
            )))
        }
    };
    let mut case = DecryptCase::new(ciphertext, materials, expect);
    case.reproduced = Some(reproduced);
    case.unsigned_only = unsigned_only;
    Ok(case)
}

/// The required keys of a v4 `RequiredEncryptionContext` case: the reproduced
/// keys the header does not hold (or all reproduced keys, if it holds them all).
fn required_keys(ciphertext: &[u8], reproduced: &EncryptionContext) -> Vec<String> {
    let header_context = MessageHeader::parse(ciphertext, None)
        .ok()
        .map(|(h, _)| h.encryption_context);
    let missing: Vec<String> = reproduced
        .iter()
        .filter(|(k, _)| header_context.as_ref().is_none_or(|ec| !ec.contains_key(k)))
        .map(|(k, _)| k.to_owned())
        .collect();
    if missing.is_empty() {
        reproduced.iter().map(|(k, _)| k.to_owned()).collect()
    } else {
        missing
    }
}

/// A v5 case: `decryption-scenario` with `type`, `ciphertext`, `result`,
/// `algorithmSuiteId`, `decryptKeyDescription`, `reproduced-encryption-context`.
fn load_v5(test: &Value, base: &Path, keys: &KeysManifest) -> Result<DecryptCase, Outcome> {
    let scenario = test
        .get("decryption-scenario")
        .ok_or_else(|| fail("no \"decryption-scenario\"".into()))?;
    let expect = match str_field(scenario, "type").map_err(fail)? {
        t if t.starts_with("positive") => Expected::Plaintext(
            read_uri(base, str_field(scenario, "result").map_err(fail)?).map_err(fail)?,
        ),
        t if t.starts_with("negative") => Expected::Error,
        other => {
            return Err(Outcome::Skip(format!(
                "scenario type '{other}' is not supported here"
            )))
        }
    };
    let description = scenario
        .get("decryptKeyDescription")
        .ok_or_else(|| fail("no \"decryptKeyDescription\"".into()))?;
    let description = KeyDescription::parse(description)?;
    let ciphertext =
        read_uri(base, str_field(scenario, "ciphertext").map_err(fail)?).map_err(fail)?;
    let reproduced = context_field(scenario, "reproduced-encryption-context").map_err(fail)?;
    let no_key = || Outcome::Skip("the key description holds no key that can decrypt".into());
    let materials = match &description {
        KeyDescription::RequiredContext {
            underlying,
            required_keys,
        } => {
            let keyring = keys.decrypt_keyring(underlying)?.ok_or_else(no_key)?;
            let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(
                keyring,
                required_keys.iter(),
            )
            .map_err(|e| fail(e.to_string()))?;
            Materials::Manager(Arc::new(cmm))
        }
        other => Materials::Keyring(keys.decrypt_keyring(other)?.ok_or_else(no_key)?),
    };
    let mut case = DecryptCase::new(ciphertext, materials, expect);
    case.reproduced = Some(reproduced);
    case.expected_suite = match scenario.get("algorithmSuiteId").and_then(Value::as_str) {
        Some(hex) => Some(
            u16::from_str_radix(hex, 16)
                .map_err(|_| fail(format!("bad algorithmSuiteId '{hex}'")))?,
        ),
        None => None,
    };
    Ok(case)
}

/// Decrypts one case and checks the result.
pub(crate) fn run_case(case: &DecryptCase) -> Outcome {
    match (&case.expect, decrypt(case)) {
        (Expected::Error, Err(_)) => Outcome::Pass,
        (Expected::Error, Ok(d)) => Outcome::Fail(format!(
            "expected an error, but decrypt returned {} bytes of plaintext",
            d.plaintext.len()
        )),
        (Expected::Plaintext(_), Err(e)) => Outcome::Fail(format!("decrypt failed: {e}")),
        (Expected::Plaintext(p), Ok(d)) => match check_output(case, p, &d) {
            Ok(()) => Outcome::Pass,
            Err(why) => Outcome::Fail(why),
        },
    }
}

/// One-shot decrypt of the case's message.
fn decrypt(case: &DecryptCase) -> Result<Decrypted, String> {
    if case.unsigned_only
        && MessageHeader::parse(&case.ciphertext, None)
            .is_ok_and(|(h, _)| h.algorithm_suite.is_signing())
    {
        return Err("a signed message is refused in unsigned-only mode".to_owned());
    }
    let client = Client::builder().commitment_policy(POLICY).build();
    let mut call = client.decrypt(&case.ciphertext);
    if let Some(reproduced) = &case.reproduced {
        call = call.encryption_context(reproduced.clone());
    }
    call = match &case.materials {
        Materials::Keyring(k) => call.keyring(&**k),
        Materials::Manager(m) => call.materials_manager(&**m),
    };
    call.run().map_err(|e| e.to_string())
}

/// Checks a successful decrypt: plaintext, returned encryption context, suite.
fn check_output(case: &DecryptCase, expected: &[u8], decrypted: &Decrypted) -> Result<(), String> {
    if let Some(why) = plaintext_difference(&decrypted.plaintext, expected) {
        return Err(why);
    }
    let mut want = decrypted.header.encryption_context.clone();
    for (k, v) in case.reproduced.iter().flat_map(|r| r.iter()) {
        if !want.contains_key(k) {
            want.insert(k, v);
        }
    }
    let got = &decrypted.encryption_context;
    if *got != want {
        return Err(format!(
            "returned encryption context {:?} is not the header's pairs plus the reproduced-only pairs {:?}",
            got.as_map(),
            want.as_map()
        ));
    }
    if let Some(given) = case.expected_context.as_ref().filter(|given| *given != got) {
        return Err(format!(
            "returned encryption context {:?} differs from the manifest's {:?}",
            got.as_map(),
            given.as_map()
        ));
    }
    let actual = decrypted.header.algorithm_suite.id();
    match case.expected_suite {
        Some(id) if id != actual => Err(format!(
            "message uses suite {actual:04X}, the manifest says {id:04X}"
        )),
        _ => Ok(()),
    }
}

fn plaintext_difference(got: &[u8], want: &[u8]) -> Option<String> {
    if got == want {
        return None;
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Some(format!(
        "plaintext differs: got {} bytes, expected {} (first difference at byte {first})",
        got.len(),
        want.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_formats() {
        let m = json!({"manifest": {"type": "awses-decrypt", "version": 4}});
        assert!(matches!(detect(&m), Ok(Format::AwsesDecrypt(4))));
        let m = json!({"manifest": {"type": "awses-decrypt", "version": 9}});
        assert!(detect(&m).is_err());
        let m = json!({"manifest": {"type": "awses-encrypt", "version": 2}});
        assert!(detect(&m).is_err());
        let m = json!({"title": "x", "tests": [{"ciphertext": "", "decrypted-dek": ""}]});
        assert!(matches!(detect(&m), Ok(Format::CommitmentKat)));
        let m = json!([{"key-type": "null", "ciphertext": ""}]);
        assert!(matches!(detect(&m), Ok(Format::DecryptOracle)));
        assert!(detect(&json!({"tests": {}})).is_err());
        assert!(detect(&json!([])).is_err());
    }

    #[test]
    fn plaintext_differences() {
        assert_eq!(plaintext_difference(b"abc", b"abc"), None);
        assert!(plaintext_difference(b"abc", b"abd").is_some_and(|m| m.contains("byte 2")));
        assert!(plaintext_difference(b"ab", b"abc").is_some_and(|m| m.contains("byte 2")));
    }
}
