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
use std::time::{Duration, Instant};

use common::{Env, BIN, NO_KEY, USAGE};
use kms_envelope::{EncryptedDataKey, MessageHeader};
use moto::CountingProxy;

const KMS: i32 = 9;

/// The binary in `env`'s directory against the KMS at `endpoint`, with
/// dummy credentials.
fn kms_command(env: &Env, endpoint: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .args(["--kms-endpoint", endpoint])
        .current_dir(env.dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", moto::REGION)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_KMS")
        .stdin(Stdio::null());
    command
}

/// Runs the binary in `env`'s directory against moto.
fn kms_run(env: &Env, args: &[&str]) -> Output {
    kms_run_at(env, &moto::moto().url, args)
}

fn kms_run_at(env: &Env, endpoint: &str, args: &[&str]) -> Output {
    kms_command(env, endpoint, args).output().unwrap()
}

fn kms_ok(env: &Env, args: &[&str]) {
    kms_ok_at(env, &moto::moto().url, args);
}

fn kms_ok_at(env: &Env, endpoint: &str, args: &[&str]) {
    let out = kms_run_at(env, endpoint, args);
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

/// The encrypted data keys in the header of the message file `name`.
fn edks(env: &Env, name: &str) -> Vec<EncryptedDataKey> {
    let message = env.read(name);
    MessageHeader::parse(&message, None)
        .unwrap()
        .0
        .encrypted_data_keys
}

#[test]
fn caching_makes_one_generate_data_key_call_per_100_messages() {
    let env = Env::new();
    let proxy = CountingProxy::start(&moto::moto().url);
    let a = key();
    std::fs::create_dir(env.path("in")).unwrap();
    let names: Vec<String> = (0..1000).map(|i| format!("in/m{i:04}")).collect();
    for (i, name) in names.iter().enumerate() {
        env.write(name, format!("message {i}\n").as_bytes());
    }
    let mut args = vec![
        "encrypt",
        "--kms-key",
        &a,
        "--cache-max-age",
        "600",
        "--cache-max-messages",
        "100",
        "--output-dir",
        "enc",
        "-i",
    ];
    args.extend(names.iter().map(String::as_str));
    kms_ok_at(&env, &proxy.url, &args);
    assert_eq!(
        proxy.count("GenerateDataKey"),
        10,
        "counted at the server side"
    );
    assert_eq!(proxy.count("Encrypt"), 0);
    // Messages 0-99 share a data key, 100 starts the next one.
    let first = edks(&env, "enc/m0000.kmse");
    assert_eq!(edks(&env, "enc/m0099.kmse"), first);
    assert_ne!(edks(&env, "enc/m0100.kmse"), first);
    assert_eq!(edks(&env, "enc/m0100.kmse"), edks(&env, "enc/m0199.kmse"));

    // Decrypting with the cache unwraps each of the 10 data keys once.
    let mut args = vec![
        "decrypt",
        "--kms-key",
        &a,
        "--cache-max-age",
        "600",
        "--output-dir",
        "dec",
        "-i",
    ];
    let encrypted: Vec<String> = (0..1000).map(|i| format!("enc/m{i:04}.kmse")).collect();
    args.extend(encrypted.iter().map(String::as_str));
    kms_ok_at(&env, &proxy.url, &args);
    assert_eq!(proxy.count("Decrypt"), 10);
    for i in [0, 1, 99, 100, 500, 999] {
        assert_eq!(
            env.read(&format!("dec/m{i:04}")),
            format!("message {i}\n").as_bytes()
        );
    }
    assert_eq!(std::fs::read_dir(env.path("dec")).unwrap().count(), 1000);

    // Without the cache, each message costs a Decrypt call.
    let mut args = vec!["decrypt", "--kms-key", &a, "--output-dir", "dec2", "-i"];
    args.extend(encrypted[..20].iter().map(String::as_str));
    kms_ok_at(&env, &proxy.url, &args);
    assert_eq!(proxy.count("Decrypt"), 10 + 20);
}

/// Encrypts `in/a`, `in/b`, the FIFO `in/pipe`, `in/c` and `in/d` in one run
/// with `--cache-max-age max_age`. The run blocks on the FIFO until this
/// writes to it, `pause` after `a` and `b` are done. Returns the number of
/// GenerateDataKey calls and the data keys of the five messages.
#[cfg(unix)]
fn encrypt_around_a_pause(
    env: &Env,
    key: &str,
    max_age: &str,
    pause: Duration,
) -> (usize, [Vec<EncryptedDataKey>; 5]) {
    let proxy = CountingProxy::start(&moto::moto().url);
    let _ = std::fs::remove_dir_all(env.path("out"));
    let mut child = kms_command(
        env,
        &proxy.url,
        &[
            "encrypt",
            "--kms-key",
            key,
            "--cache-max-age",
            max_age,
            "--output-dir",
            "out",
            "-i",
            "in/a",
            "in/b",
            "in/pipe",
            "in/c",
            "in/d",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !env.exists("out/b.kmse") {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "b was never written");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The data key of a was cached before now; c is encrypted after the
    // pause, once the FIFO has data. A thread writes it: opening a FIFO
    // blocks until the reader opens it too (if the run failed instead, the
    // thread stays blocked until the test process ends).
    std::thread::sleep(pause);
    let fifo = env.path("in/pipe");
    std::thread::spawn(move || std::fs::write(fifo, b"from a pipe"));
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = ["a", "b", "pipe", "c", "d"].map(|n| edks(env, &format!("out/{n}.kmse")));
    (proxy.count("GenerateDataKey"), keys)
}

#[cfg(unix)]
#[test]
fn expired_data_keys_are_replaced() {
    let env = Env::new();
    let a = key();
    std::fs::create_dir(env.path("in")).unwrap();
    for name in ["a", "b", "c", "d"] {
        env.write(&format!("in/{name}"), name.as_bytes());
    }
    let made = Command::new("mkfifo")
        .arg(env.path("in/pipe"))
        .status()
        .unwrap();
    assert!(made.success());

    // A pipe's length is unknown, so its message never uses the cache (one
    // call of its own); a, b, c and d share one data key.
    let (calls, [ka, kb, kp, kc, kd]) = encrypt_around_a_pause(&env, &a, "3600", Duration::ZERO);
    assert_eq!(calls, 2);
    assert_eq!((&ka, &kc, &kd), (&kb, &kb, &kb));
    assert_ne!(kp, ka);

    // With a pause longer than the maximum age, c gets a new data key, which
    // d shares.
    let (calls, [ka, kb, kp, kc, kd]) =
        encrypt_around_a_pause(&env, &a, "3", Duration::from_millis(3200));
    assert_eq!(calls, 3);
    assert_eq!(ka, kb);
    assert_eq!(kc, kd);
    assert_ne!(kc, ka);
    assert_ne!(kp, ka);
    assert_ne!(kp, kc);

    // Every message decrypts.
    kms_ok(
        &env,
        &[
            "decrypt",
            "--kms-key",
            &a,
            "--output-dir",
            "dec",
            "-i",
            "out/a.kmse",
            "out/pipe.kmse",
            "out/d.kmse",
        ],
    );
    assert_eq!(env.read("dec/pipe"), b"from a pipe");
    assert_eq!(env.read("dec/d"), b"d");
}

#[test]
fn cache_flags_with_kms_keys() {
    let env = Env::new();
    let proxy = CountingProxy::start(&moto::moto().url);
    let a = key();
    for name in ["x", "y", "z"] {
        env.write(name, name.as_bytes());
    }
    let encrypt = |extra: &[&str]| {
        let _ = std::fs::remove_dir_all(env.path("out"));
        let mut args = vec![
            "encrypt",
            "--kms-key",
            &a,
            "--output-dir",
            "out",
            "-i",
            "x",
            "y",
            "z",
        ];
        args.extend_from_slice(extra);
        kms_ok_at(&env, &proxy.url, &args);
    };
    // No caching: a call per message.
    encrypt(&[]);
    assert_eq!(proxy.count("GenerateDataKey"), 3);
    // One data key for all three.
    encrypt(&[
        "--cache-max-age",
        "60",
        "--cache-capacity",
        "1",
        "--cache-partition",
        "p",
    ]);
    assert_eq!(proxy.count("GenerateDataKey"), 3 + 1);
    // x and y fill the byte limit of 2, z needs a new key.
    encrypt(&["--cache-max-age", "60", "--cache-max-bytes", "2"]);
    assert_eq!(proxy.count("GenerateDataKey"), 4 + 2);
    assert_eq!(edks(&env, "out/x.kmse"), edks(&env, "out/y.kmse"));
    assert_ne!(edks(&env, "out/x.kmse"), edks(&env, "out/z.kmse"));
    // A suite without key derivation is never cached.
    encrypt(&[
        "--cache-max-age",
        "60",
        "--suite",
        "0078",
        "--commitment-policy",
        "forbid-encrypt-allow-decrypt",
    ]);
    assert_eq!(proxy.count("GenerateDataKey"), 6 + 3);

    // A KMS failure stops the run at the first input, naming it.
    let missing = format!(
        "arn:aws:kms:{}:{}:key/00000000-0000-4000-8000-000000000000",
        moto::REGION,
        moto::ACCOUNT
    );
    let err = kms_fails(
        &env,
        &[
            "encrypt",
            "--kms-key",
            &missing,
            "--cache-max-age",
            "60",
            "--output-dir",
            "fail",
            "-i",
            "x",
            "y",
        ],
        KMS,
    );
    assert!(
        err.contains("'x'") && err.contains("NotFoundException"),
        "{err}"
    );
    // Nothing written: the output directory made for the run is gone too.
    assert!(!env.path("fail").exists());
}
