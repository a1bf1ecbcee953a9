//! Replays the inputs saved by the differential test against aws-esdk, the
//! official Rust ESDK (`tests/differential/`, run by `make fuzz`), on
//! kms-envelope alone: each file in `tests/differential/saved/` holds a
//! message (or an encrypt input), the keyring with its key material, the
//! commitment policy and what kms-envelope did when it was saved. This SDK
//! must still do exactly that: a change of behaviour on an input where the
//! two SDKs once differed must be a decision, made by editing the file's
//! `kms_envelope` outcome, not an accident.
//!
//! The documented deviations (message-format.md section 18) that the
//! differential test can meet each have a saved example and a test here.

use std::path::{Path, PathBuf};

use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, EncryptionContext, ErrorKind, Keyring, RawAesKeyring,
    RawRsaKeyring, RsaPadding, RsaPrivateKey, RsaPublicKey,
};
use serde_json::Value;

fn saved_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/saved")
}

/// Every saved input, sorted by file name.
fn saved() -> Vec<(PathBuf, Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(saved_dir())
        .expect("tests/differential/saved exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            let v = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (p, v)
        })
        .collect()
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v[field]
        .as_str()
        .ok_or_else(|| format!("field {field:?} is missing or not a string"))
}

fn hex_field(v: &Value, field: &str) -> Result<Vec<u8>, String> {
    hex::decode(text(v, field)?).map_err(|e| format!("field {field:?}: {e}"))
}

fn context(v: &Value) -> Result<Option<EncryptionContext>, String> {
    match &v["encryption_context"] {
        Value::Null => Ok(None),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_string()))
                    .ok_or_else(|| format!("context value of {k:?} is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|pairs| Some(EncryptionContext::from_iter(pairs))),
        _ => Err("encryption_context is neither null nor an object".into()),
    }
}

fn keyring(v: &Value) -> Result<Box<dyn Keyring>, String> {
    let k = &v["keyring"];
    let namespace = text(k, "namespace")?;
    let name = text(k, "name")?;
    match text(k, "type")? {
        "raw-aes" => RawAesKeyring::new(namespace, name, &hex_field(k, "key")?)
            .map(|k| Box::new(k) as Box<dyn Keyring>)
            .map_err(|e| e.to_string()),
        "raw-rsa" => {
            let padding: RsaPadding = text(k, "padding")?.parse().map_err(|e| format!("{e}"))?;
            let public = match k["public_key_pem"].as_str() {
                Some(pem) => Some(RsaPublicKey::from_pem(pem).map_err(|e| e.to_string())?),
                None => None,
            };
            let private =
                RsaPrivateKey::from_pem(text(k, "private_key_pem")?).map_err(|e| e.to_string())?;
            RawRsaKeyring::new(namespace, name, padding, public, Some(private))
                .map(|k| Box::new(k) as Box<dyn Keyring>)
                .map_err(|e| e.to_string())
        }
        other => Err(format!("unknown keyring type {other:?}")),
    }
}

/// Checks this SDK's outcome against the recorded one.
fn check<T>(
    result: kms_envelope::Result<T>,
    expected: &Value,
    ok: impl FnOnce(T) -> Result<(), String>,
) -> Result<(), String> {
    let expect_ok = expected["ok"]
        .as_bool()
        .ok_or("kms_envelope.ok is missing")?;
    match (result, expect_ok) {
        (Ok(value), true) => ok(value),
        (Err(e), false) => {
            let kind = text(expected, "kind")?;
            if e.kind().as_str() == kind {
                Ok(())
            } else {
                Err(format!(
                    "expected a {kind} error, got {} ({e})",
                    e.kind().as_str()
                ))
            }
        }
        (Ok(_), false) => Err(format!(
            "expected an error ({}), got success",
            expected["error"].as_str().unwrap_or("?")
        )),
        (Err(e), true) => Err(format!("expected success, got {e}")),
    }
}

/// Replays one saved input; Err says how this SDK's outcome differs.
fn replay(v: &Value) -> Result<(), String> {
    let policy: CommitmentPolicy = text(v, "commitment_policy")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let client = Client::builder().commitment_policy(policy).build();
    let keyring = keyring(v)?;
    let expected = &v["kms_envelope"];
    match text(v, "operation")? {
        "decrypt" => {
            let message = hex_field(v, "message")?;
            let mut call = client.decrypt(&message).keyring(keyring.as_ref());
            if let Some(ec) = context(v)? {
                call = call.encryption_context(ec);
            }
            check(call.run(), expected, |d| {
                let want = hex_field(expected, "plaintext")?;
                if d.plaintext.to_vec() == want {
                    Ok(())
                } else {
                    Err("decrypts to a different plaintext".into())
                }
            })
        }
        "encrypt" => {
            let plaintext = hex_field(v, "plaintext")?;
            let id = text(v, "algorithm_suite")?;
            let suite: AlgorithmSuite = id.parse().map_err(|e| format!("{e}"))?;
            let frame_length = v["frame_length"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("frame_length is missing")?;
            let ec = context(v)?.unwrap_or_default();
            let result = client
                .encrypt(&plaintext)
                .keyring(keyring.as_ref())
                .algorithm_suite(suite)
                .frame_length(frame_length)
                .encryption_context(ec)
                .run();
            check(result, expected, |message| {
                let back = client
                    .decrypt(&message)
                    .keyring(keyring.as_ref())
                    .run()
                    .map_err(|e| format!("its message does not decrypt: {e}"))?;
                if back.plaintext.to_vec() == plaintext {
                    Ok(())
                } else {
                    Err("round trip gives a different plaintext".into())
                }
            })
        }
        other => Err(format!("unknown operation {other:?}")),
    }
}

#[test]
fn saved_differential_inputs_replay() {
    let all = saved();
    assert!(
        !all.is_empty(),
        "no saved inputs in {}",
        saved_dir().display()
    );
    let failures: Vec<String> = all
        .iter()
        .filter_map(|(path, v)| {
            replay(v).err().map(|e| {
                format!(
                    "{}: {e}\n    ({})",
                    path.display(),
                    v["what"].as_str().unwrap_or("")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} saved inputs no longer give the recorded outcome:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Documented deviations the differential test classifies (rather than
/// reports), by the prefix of the saved files' `deviation` field.
const DOCUMENTED: &[&str] = &["message-format.md section 18 item 6:"];

#[test]
fn every_saved_input_is_well_formed_and_classified() {
    for (path, v) in saved() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match v["deviation"].as_str() {
            Some(d) => assert!(
                DOCUMENTED.iter().any(|p| d.starts_with(p)),
                "{name}: unknown deviation {d:?}"
            ),
            None => assert!(
                v["deviation"].is_null(),
                "{name}: deviation must be a string or null"
            ),
        }
        for field in ["what", "commitment_policy", "operation"] {
            assert!(v[field].is_string(), "{name}: {field} missing");
        }
        assert!(
            v["kms_envelope"]["ok"].is_boolean(),
            "{name}: kms_envelope.ok missing"
        );
        assert!(
            v["aws_esdk"]["ok"].is_boolean(),
            "{name}: aws_esdk.ok missing"
        );
    }
}

/// message-format.md section 18 item 6: ESDK-NET 4.0.0 wrote `00 00` after the
/// header-auth AAD and, for the v1 HKDF suites, left the message ID out of the
/// HKDF info. aws-esdk 1.2.4 reads such messages by default (its
/// `NetV400RetryPolicy` defaults to ALLOW_RETRY); kms-envelope is a conforming
/// reader and refuses them at the header authentication. The saved messages
/// were crafted by the differential test in that form, and aws-esdk accepted
/// each of them.
#[test]
fn esdk_net_4_0_0_messages_are_refused_at_header_authentication() {
    let net: Vec<(PathBuf, Value)> = saved()
        .into_iter()
        .filter(|(_, v)| {
            v["deviation"]
                .as_str()
                .is_some_and(|d| d.starts_with(DOCUMENTED[0]))
        })
        .collect();
    assert!(!net.is_empty(), "no saved example of section 18 item 6");
    for (path, v) in net {
        assert_eq!(v["aws_esdk"]["ok"], Value::Bool(true), "{}", path.display());
        let policy: CommitmentPolicy = v["commitment_policy"].as_str().unwrap().parse().unwrap();
        let client = Client::builder().commitment_policy(policy).build();
        let keyring = keyring(&v).unwrap();
        let message = hex_field(&v, "message").unwrap();
        let err = client
            .decrypt(&message)
            .keyring(keyring.as_ref())
            .run()
            .expect_err("a NET 4.0.0 message must be refused");
        assert_eq!(
            err.kind(),
            ErrorKind::AuthenticationFailed,
            "{}: {err}",
            path.display()
        );
        assert!(
            err.to_string().contains("header"),
            "{}: {err}",
            path.display()
        );
    }
}

/// The replay itself: both operations, and a recorded outcome that no
/// longer holds is reported (so the replay above cannot pass vacuously).
#[test]
fn replay_checks_both_operations_and_catches_changed_outcomes() {
    let keyring = serde_json::json!({
        "type": "raw-aes", "namespace": "ns", "name": "key", "key": "00".repeat(32),
    });
    let mut encrypt = serde_json::json!({
        "operation": "encrypt",
        "commitment_policy": "FORBID_ENCRYPT_ALLOW_DECRYPT",
        "keyring": keyring,
        "algorithm_suite": "0x0114",
        "frame_length": 7,
        "encryption_context": {"a": "b"},
        "plaintext": "0102030405060708090a0b0c0d0e0f",
        "kms_envelope": {"ok": true},
    });
    replay(&encrypt).unwrap();
    encrypt["encryption_context"] = serde_json::json!({"aws-crypto-x": "y"});
    encrypt["kms_envelope"] = serde_json::json!({"ok": false, "kind": "bad_argument"});
    replay(&encrypt).unwrap();
    encrypt["kms_envelope"]["kind"] = serde_json::json!("policy_violation");
    assert!(replay(&encrypt).unwrap_err().contains("bad_argument"));

    // A message made here, replayed as a decrypt.
    let client = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    let k = RawAesKeyring::new("ns", "key", &[0u8; 32]).unwrap();
    let message = client
        .encrypt(b"differential")
        .keyring(&k)
        .algorithm_suite("0x0178".parse().unwrap())
        .run()
        .unwrap();
    let mut decrypt = serde_json::json!({
        "operation": "decrypt",
        "commitment_policy": "FORBID_ENCRYPT_ALLOW_DECRYPT",
        "keyring": keyring,
        "encryption_context": null,
        "message": hex::encode(&message),
        "kms_envelope": {"ok": true, "plaintext": hex::encode(b"differential")},
    });
    replay(&decrypt).unwrap();
    decrypt["kms_envelope"]["plaintext"] = serde_json::json!("00");
    assert!(replay(&decrypt).is_err());
    decrypt["kms_envelope"] = serde_json::json!({"ok": false, "kind": "authentication_failed"});
    assert!(replay(&decrypt).unwrap_err().contains("got success"));
    let mut truncated = decrypt.clone();
    truncated["message"] = serde_json::json!(hex::encode(&message[..message.len() - 1]));
    truncated["kms_envelope"] = serde_json::json!({"ok": false, "kind": "malformed_message"});
    replay(&truncated).unwrap();
}
