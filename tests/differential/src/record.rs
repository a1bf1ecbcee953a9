//! Saved inputs: one JSON file per disagreement (or per documented deviation,
//! on request), self-contained so that `tests/differential_replay.rs` in the
//! main crate can replay it against kms-envelope alone. The format is
//! described in `tests/differential/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kms_envelope::{AlgorithmSuite, CommitmentPolicy};
use serde_json::{json, Value};

use crate::peers::{KeySpec, Outcome, RsaKeys};

/// What was run.
pub enum Operation<'a> {
    /// Decrypt `message` with the reproduced context, if any.
    Decrypt {
        /// The message.
        message: &'a [u8],
        /// The context given to decrypt.
        reproduced: Option<&'a BTreeMap<String, String>>,
    },
    /// Encrypt `plaintext` under `context`.
    Encrypt {
        /// The suite.
        suite: AlgorithmSuite,
        /// The frame length.
        frame_length: u32,
        /// The plaintext.
        plaintext: &'a [u8],
        /// The encryption context.
        context: &'a BTreeMap<String, String>,
    },
}

/// One saved input.
pub struct Record<'a> {
    /// What the case was (for people).
    pub what: String,
    /// The seed of the run.
    pub seed: u64,
    /// The case number.
    pub case: u64,
    /// The documented deviation it is, if it is one.
    pub deviation: Option<&'static str>,
    /// The commitment policy of both clients.
    pub policy: CommitmentPolicy,
    /// The keyring of the operation.
    pub keyring: &'a KeySpec,
    /// The operation.
    pub operation: Operation<'a>,
    /// kms-envelope's outcome (the replay's expectation).
    pub ours: &'a Outcome,
    /// aws-esdk's outcome (for people).
    pub esdk: &'a Outcome,
}

fn keyring_json(spec: &KeySpec, rsa: &RsaKeys) -> Value {
    match spec {
        KeySpec::Aes {
            namespace,
            name,
            key,
        } => json!({
            "type": "raw-aes",
            "namespace": namespace,
            "name": name,
            "key": hex::encode(key),
        }),
        KeySpec::Rsa {
            namespace,
            name,
            padding,
            pair,
        } => {
            let (public, private) = rsa.pems(*pair);
            json!({
                "type": "raw-rsa",
                "namespace": namespace,
                "name": name,
                "padding": padding.name(),
                "public_key_pem": public,
                "private_key_pem": private,
            })
        }
    }
}

fn outcome_json(o: &Outcome, encrypt: bool) -> Value {
    match o {
        Outcome::Ok { plaintext, .. } if encrypt => {
            json!({ "ok": true, "message_len": plaintext.len() })
        }
        Outcome::Ok { plaintext, .. } => json!({ "ok": true, "plaintext": hex::encode(plaintext) }),
        Outcome::Err { kind, message } => json!({ "ok": false, "kind": kind, "error": message }),
    }
}

/// FNV-1a, for stable file names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

impl Record<'_> {
    /// The JSON form.
    pub fn to_json(&self, rsa: &RsaKeys) -> Value {
        let mut v = json!({
            "format": "kms-envelope differential case, version 1",
            "what": self.what,
            "seed": self.seed,
            "case": self.case,
            "deviation": self.deviation,
            "commitment_policy": self.policy.name(),
            "keyring": keyring_json(self.keyring, rsa),
        });
        let encrypt = matches!(self.operation, Operation::Encrypt { .. });
        match &self.operation {
            Operation::Decrypt {
                message,
                reproduced,
            } => {
                v["operation"] = json!("decrypt");
                v["encryption_context"] = json!(reproduced);
                v["message"] = json!(hex::encode(message));
            }
            Operation::Encrypt {
                suite,
                frame_length,
                plaintext,
                context,
            } => {
                v["operation"] = json!("encrypt");
                v["algorithm_suite"] = json!(format!("0x{:04X}", suite.id()));
                v["frame_length"] = json!(frame_length);
                v["encryption_context"] = json!(context);
                v["plaintext"] = json!(hex::encode(plaintext));
            }
        }
        v["kms_envelope"] = outcome_json(self.ours, encrypt);
        v["aws_esdk"] = outcome_json(self.esdk, encrypt);
        v
    }

    /// Writes the record into `dir` as `<prefix>-<hash>.json`; returns the path.
    pub fn save(&self, dir: &Path, prefix: &str, rsa: &RsaKeys) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(&self.to_json(rsa))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let hash = match &self.operation {
            Operation::Decrypt { message, .. } => fnv(message),
            Operation::Encrypt { .. } => fnv(text.as_bytes()),
        };
        let path = dir.join(format!("{prefix}-{hash:016x}.json"));
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }
}
