//! `--kms-key` and `--kms-discovery` against a local moto_server (a local
//! AWS KMS API server), running the real binary.
//!
//! moto_server comes from `KMS_ENVELOPE_MOTO`, else the venv that
//! `make setup-moto` makes (`~/.cache/kms-envelope/venv-moto`); the tests
//! fail with that hint when neither exists.

mod common;
// The moto_server helpers of the kms-envelope-aws tests.
#[path = "../../../crates/aws-kms/tests/common/mod.rs"]
mod moto;

use std::process::{Command, Output, Stdio};

use common::{Env, BIN, NO_KEY, USAGE};

const KMS: i32 = 9;

/// Runs the binary in `env`'s directory against moto, with dummy credentials.
fn kms_run(env: &Env, args: &[&str]) -> Output {
    let moto = moto::moto();
    Command::new(BIN)
        .args(args)
        .args(["--kms-endpoint", &moto.url])
        .current_dir(env.dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", moto::REGION)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_KMS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn kms_ok(env: &Env, args: &[&str]) {
    let out = kms_run(env, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs, asserts `status` and a one-line error; returns stderr.
fn kms_fails(env: &Env, args: &[&str], status: i32) -> String {
    let out = kms_run(env, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
    assert!(stderr.starts_with("kms-envelope: error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    eprintln!("{args:?} -> {stderr}");
    stderr
}

fn key() -> String {
    moto::moto().create_key()
}

fn decrypts_to_plain(env: &Env, extra: &[&str]) {
    let _ = std::fs::remove_file(env.path("out.txt"));
    let mut args = vec!["decrypt", "-i", "msg", "-o", "out.txt"];
    args.extend_from_slice(extra);
    kms_ok(env, &args);
    assert_eq!(env.read("out.txt"), b"attack at dawn\n");
}

#[test]
fn two_keys_encrypt_either_decrypts() {
    let env = Env::new();
    let (a, b) = (key(), key());
    kms_ok(
        &env,
        &[
            "encrypt",
            "-i",
            "plain.txt",
            "-o",
            "msg",
            "--kms-key",
            &a,
            "--kms-key",
            &b,
        ],
    );
    let header = env.inspect("msg");
    let edks = header["encrypted_data_keys"].as_array().unwrap();
    assert_eq!(edks.len(), 2, "{header}");
    decrypts_to_plain(&env, &["--kms-key", &a]);
    decrypts_to_plain(&env, &["--kms-key", &b]);
    // A strict keyring for another key unwraps nothing.
    let c = key();
    let err = kms_fails(&env, &["decrypt", "-i", "msg", "--kms-key", &c], NO_KEY);
    assert!(
        err.contains(&c) && err.contains("no encrypted data key"),
        "{err}"
    );
}

#[test]
fn discovery_and_filters() {
    let env = Env::new();
    let a = key();
    kms_ok(
        &env,
        &["encrypt", "-i", "plain.txt", "-o", "msg", "--kms-key", &a],
    );
    decrypts_to_plain(&env, &["--kms-discovery"]);
    decrypts_to_plain(&env, &["--kms-discovery", "--kms-account", moto::ACCOUNT]);
    decrypts_to_plain(
        &env,
        &[
            "--kms-discovery",
            "--kms-account",
            "111122223333",
            "--kms-account",
            moto::ACCOUNT,
            "--kms-partition",
            "aws",
        ],
    );
    let err = kms_fails(
        &env,
        &[
            "decrypt",
            "-i",
            "msg",
            "--kms-discovery",
            "--kms-account",
            "111122223333",
        ],
        NO_KEY,
    );
    assert!(
        err.contains(moto::ACCOUNT) || err.contains("filter"),
        "{err}"
    );
    // --kms-account needs --kms-discovery; some key source is required.
    let out = kms_run(
        &env,
        &["decrypt", "-i", "msg", "--kms-account", moto::ACCOUNT],
    );
    assert_eq!(out.status.code(), Some(USAGE));
    let out = kms_run(&env, &["decrypt", "-i", "msg"]);
    assert_eq!(out.status.code(), Some(USAGE));
    // Discovery is decrypt only.
    let out = kms_run(&env, &["encrypt", "-i", "plain.txt", "--kms-discovery"]);
    assert_eq!(out.status.code(), Some(USAGE));
}

#[test]
fn wrong_context_fails() {
    let env = Env::new();
    let a = key();
    // The required key is not stored: decrypt must give it, and KMS checks it
    // (KMS refuses; the keyring reports that nothing unwrapped, status 7,
    // with the service's code).
    kms_ok(
        &env,
        &[
            "encrypt",
            "-i",
            "plain.txt",
            "-o",
            "msg",
            "--kms-key",
            &a,
            "--context",
            "tenant=a",
            "--required-context-key",
            "tenant",
        ],
    );
    decrypts_to_plain(
        &env,
        &[
            "--kms-key",
            &a,
            "--context",
            "tenant=a",
            "--required-context-key",
            "tenant",
        ],
    );
    let err = kms_fails(
        &env,
        &[
            "decrypt",
            "-i",
            "msg",
            "--kms-key",
            &a,
            "--context",
            "tenant=b",
            "--required-context-key",
            "tenant",
        ],
        NO_KEY,
    );
    assert!(err.contains("InvalidCiphertextException"), "{err}");
}

#[test]
fn nonexistent_key_is_a_kms_error() {
    let env = Env::new();
    let missing = format!(
        "arn:aws:kms:{}:{}:key/00000000-0000-4000-8000-000000000000",
        moto::REGION,
        moto::ACCOUNT
    );
    let err = kms_fails(
        &env,
        &[
            "encrypt",
            "-i",
            "plain.txt",
            "-o",
            "msg",
            "--kms-key",
            &missing,
        ],
        KMS,
    );
    assert!(err.contains("NotFoundException"), "{err}");
    assert!(!env.exists("msg"));
}

#[test]
fn file_and_kms_keys_mix() {
    let env = Env::new();
    env.keygen("file.key");
    let a = key();
    kms_ok(
        &env,
        &[
            "encrypt",
            "-i",
            "plain.txt",
            "-o",
            "msg",
            "--key",
            "file.key",
            "--kms-key",
            &a,
        ],
    );
    let header = env.inspect("msg");
    assert_eq!(
        header["encrypted_data_keys"].as_array().unwrap().len(),
        2,
        "{header}"
    );
    decrypts_to_plain(&env, &["--key", "file.key"]);
    decrypts_to_plain(&env, &["--kms-key", &a]);
    decrypts_to_plain(&env, &["--key", "file.key", "--kms-discovery"]);
}
