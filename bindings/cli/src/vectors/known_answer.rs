//! Vectors that give the plaintext data key instead of a wrapping key: the
//! ESDK "Message Format V2" commitment known-answer tests and the Python
//! decrypt-oracle vector list. Their messages are base64 in the JSON.

use std::sync::Arc;

use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

use super::decrypt::{run_case, DecryptCase, Expected, Materials};
use super::fixed_key::{FixedKey, FixedKeyring};
use super::{context_field, selected, str_field, Expectation, Outcome, Summary};

fn base64_field(v: &Value, name: &str) -> Result<Vec<u8>, Outcome> {
    let text = str_field(v, name).map_err(Outcome::Fail)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| Outcome::Fail(format!("\"{name}\" is not valid base64")))
}

/// Runs the commitment known-answer tests: `{"tests": [...]}`, case IDs
/// `tests[i]`. `status` true: must decrypt to the concatenated
/// `plaintext-frames`, with the given `encryption-context`; false: must fail.
pub(crate) fn run_commitment_kat(json: &Value, filter: Option<&str>) -> Summary {
    let mut summary = Summary::default();
    let tests = json
        .get("tests")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, test) in tests.iter().enumerate() {
        let id = format!("tests[{i}]");
        if !selected(&id, filter) {
            continue;
        }
        let expect = match test.get("status").and_then(Value::as_bool) {
            Some(true) => Some(Expectation::Success),
            Some(false) => Some(Expectation::Error),
            None => None,
        };
        let outcome = match load_kat(test, expect) {
            Ok(case) => run_case(&case),
            Err(outcome) => outcome,
        };
        summary.push(id, expect, outcome);
    }
    summary
}

fn load_kat(test: &Value, expect: Option<Expectation>) -> Result<DecryptCase, Outcome> {
    let ciphertext = base64_field(test, "ciphertext")?;
    let data_key = Zeroizing::new(base64_field(test, "decrypted-dek")?);
    let keyring = Arc::new(FixedKeyring(FixedKey::Bytes(data_key)));
    let expected = match expect {
        Some(Expectation::Success) => {
            let frames = test
                .get("plaintext-frames")
                .and_then(Value::as_array)
                .ok_or_else(|| Outcome::Fail("no \"plaintext-frames\" list".into()))?;
            let mut plaintext = Vec::new();
            for frame in frames {
                let text = frame
                    .as_str()
                    .ok_or_else(|| Outcome::Fail("a plaintext frame is not a string".into()))?;
                plaintext.extend_from_slice(text.as_bytes());
            }
            Expected::Plaintext(plaintext)
        }
        Some(Expectation::Error) => Expected::Error,
        None => return Err(Outcome::Fail("missing or non-boolean \"status\"".into())),
    };
    let mut case = DecryptCase::new(ciphertext, Materials::Keyring(keyring), expected);
    if expect == Some(Expectation::Success) {
        case.expected_context =
            Some(context_field(test, "encryption-context").map_err(Outcome::Fail)?);
    }
    Ok(case)
}

/// Runs the Python decrypt-oracle list: `[{"key-type", "algorithm-suite",
/// "ciphertext", "plaintext"}]`, case IDs `[i]`; every case must decrypt.
pub(crate) fn run_decrypt_oracle(json: &Value, filter: Option<&str>) -> Summary {
    let mut summary = Summary::default();
    let list = json.as_array().map(Vec::as_slice).unwrap_or_default();
    for (i, test) in list.iter().enumerate() {
        let id = format!("[{i}]");
        if !selected(&id, filter) {
            continue;
        }
        let outcome = match load_oracle(test) {
            Ok(case) => run_case(&case),
            Err(outcome) => outcome,
        };
        summary.push(id, Some(Expectation::Success), outcome);
    }
    summary
}

fn load_oracle(test: &Value) -> Result<DecryptCase, Outcome> {
    let key = match str_field(test, "key-type").map_err(Outcome::Fail)? {
        "null" => FixedKey::Zeros,
        "test_counting" => FixedKey::Counting,
        other => {
            return Err(Outcome::Skip(format!(
                "key type '{other}' is not supported here"
            )))
        }
    };
    let ciphertext = base64_field(test, "ciphertext")?;
    let plaintext = base64_field(test, "plaintext")?;
    let keyring = Arc::new(FixedKeyring(key));
    let mut case = DecryptCase::new(
        ciphertext,
        Materials::Keyring(keyring),
        Expected::Plaintext(plaintext),
    );
    if let Some(hex) = test.get("algorithm-suite").and_then(Value::as_str) {
        let id = u16::from_str_radix(hex, 16)
            .map_err(|_| Outcome::Fail(format!("bad algorithm-suite '{hex}'")))?;
        case.expected_suite = Some(id);
    }
    Ok(case)
}
