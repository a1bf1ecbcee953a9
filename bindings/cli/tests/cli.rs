//! The `kms-envelope` binary, run as a subprocess: round trips through files
//! and standard streams, and bad inputs with their exit statuses. Every test
//! works in its own temporary directory.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn keygen_writes_a_private_key_file() {
    let env = Env::new();
    let out = env.ok(&["keygen", "--out", "demo.key"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo.key"));
    let key: Value = serde_json::from_slice(&env.read("demo.key")).unwrap();
    assert_eq!(key["type"], "raw-aes");
    assert_eq!(key["key_namespace"], "kms-envelope");
    assert_eq!(key["key_name"], "demo");
    assert_eq!(key["key"].as_str().map(str::len), Some(44)); // base64 of 32 bytes
    env.assert_private("demo.key");

    // Never over a device or a FIFO, --force or not (a rename over
    // /dev/null would replace the device).
    #[cfg(unix)]
    {
        let made = std::process::Command::new("mkfifo")
            .arg(env.path("fifo"))
            .status()
            .unwrap();
        assert!(made.success());
        for force in [&[][..], &["--force"][..]] {
            let err = env.fails(
                &[&["keygen", "--out", "fifo"][..], force].concat(),
                BAD_ARGUMENT,
            );
            assert!(err.contains("not a regular file"), "{err}");
        }
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(env.path("fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        std::fs::remove_file(env.path("fifo")).unwrap();

        // Nor through a symbolic link: --force renamed the key over the
        // link itself (`--out /dev/stdout` with stdout in a file replaced
        // /dev/stdout by a key file).
        std::fs::write(env.path("target.key"), b"keep").unwrap();
        std::os::unix::fs::symlink(env.path("target.key"), env.path("link.key")).unwrap();
        for force in [&[][..], &["--force"][..]] {
            let err = env.fails(
                &[&["keygen", "--out", "link.key"][..], force].concat(),
                BAD_ARGUMENT,
            );
            assert!(err.contains("symbolic link"), "{err}");
        }
        assert!(env.path("link.key").is_symlink());
        assert_eq!(env.read("target.key"), b"keep");
        std::fs::remove_file(env.path("link.key")).unwrap();
        std::fs::remove_file(env.path("target.key")).unwrap();
    }

    // A name that would make a key file encrypt refuses (over 64 KiB).
    let long = "n".repeat(70_000);
    let err = env.fails(
        &["keygen", "--out", "long.key", "--name", &long],
        BAD_ARGUMENT,
    );
    assert!(err.contains("key name is too long"), "{err}");
    assert!(!env.exists("long.key"));

    // Never overwritten without --force.
    let before = env.read("demo.key");
    let err = env.fails(&["keygen", "--out", "demo.key"], BAD_ARGUMENT);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(env.read("demo.key"), before);

    env.ok(&[
        "keygen",
        "--out",
        "demo.key",
        "--force",
        "--namespace",
        "ns",
        "--name",
        "k1",
    ]);
    let key: Value = serde_json::from_slice(&env.read("demo.key")).unwrap();
    assert_ne!(env.read("demo.key"), before);
    assert_eq!(
        (key["key_namespace"].as_str(), key["key_name"].as_str()),
        (Some("ns"), Some("k1"))
    );
    env.assert_private("demo.key");
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 2);

    env.fails(
        &["keygen", "--out", "kms.key", "--namespace", "aws-kms"],
        BAD_ARGUMENT,
    );
    assert!(!env.exists("kms.key"));
    env.fails(&["keygen", "--out", "no/such/dir/k.key"], IO);
    env.fails(&["keygen"], USAGE);
}

#[cfg(target_os = "linux")]
#[test]
fn output_to_dev_stdout_writes_to_the_stream_as_it_is() {
    // `-o /dev/stdout >> log`: the path was resolved to the log file and a
    // staged file renamed over it, losing what the log held.
    let env = Env::new();
    env.keygen("a.key");
    env.ok(&["encrypt", "-k", "a.key", "-i", "plain.txt", "-o", "m.kmse"]);
    std::os::unix::fs::symlink("/dev/stdout", env.path("myout")).unwrap();
    // Decrypts m.kmse to `-o output` with stdout appending to `log`.
    let decrypt_into = |log: &str, output: &str, more: &[&str]| {
        let stdout = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.path(log))
            .unwrap();
        std::process::Command::new(BIN)
            .args(["decrypt", "-k", "a.key", "-i", "m.kmse", "-o", output])
            .args(more)
            .current_dir(env.dir.path())
            .stdout(stdout)
            .output()
            .unwrap()
    };
    for alias in [
        "/dev/stdout",
        "/dev/fd/1",
        "/proc/self/fd/1",
        "/dev//stdout",
        "/proc/thread-self/fd/1",
        "myout",
        "app.log",
    ] {
        env.write("app.log", b"earlier line\n");
        assert!(
            decrypt_into("app.log", alias, &[]).status.success(),
            "{alias}"
        );
        assert_eq!(
            env.read("app.log"),
            b"earlier line\nattack at dawn\n",
            "{alias}"
        );
    }
    // As standard output, it is checked as `-o -` is: it cannot share the
    // stream with the metadata, and --no-overwrite has nothing to keep.
    let out = decrypt_into("mixed", "/dev/stdout", &["--metadata-output", "-"]);
    assert_eq!(out.status.code(), Some(BAD_ARGUMENT));
    assert!(String::from_utf8_lossy(&out.stderr).contains("share standard output"));
    let out = decrypt_into("app.log", "/dev/stdout", &["--no-overwrite"]);
    assert!(out.status.success());
}

#[test]
fn round_trip_through_files_and_inspect() {
    let env = Env::new();
    env.keygen("a.key");
    env.ok(&[
        "encrypt",
        "--key",
        "a.key",
        "--context",
        "team=finance",
        "--context",
        "purpose=demo",
        "-i",
        "plain.txt",
        "-o",
        "msg.bin",
    ]);
    let header = env.inspect("msg.bin");
    assert_eq!(header["version"], 2);
    assert_eq!(header["algorithm_suite"]["id"], "0578");
    assert_eq!(
        header["algorithm_suite"]["name"],
        "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
    );
    assert_eq!(header["message_id"].as_str().map(str::len), Some(64));
    assert_eq!(header["encryption_context"]["team"], "finance");
    assert_eq!(header["encryption_context"]["purpose"], "demo");
    assert!(header["encryption_context"]["aws-crypto-public-key"].is_string());
    let edks = header["encrypted_data_keys"].as_array().unwrap();
    assert_eq!(edks.len(), 1);
    assert_eq!(edks[0]["provider_id"], "kms-envelope");
    assert_eq!(edks[0]["ciphertext_length"], 48);
    assert!(edks[0]["provider_info"].is_null()); // key name + binary IV
    assert!(edks[0]["provider_info_hex"]
        .as_str()
        .unwrap()
        .starts_with(&"a".bytes().map(|b| format!("{b:02x}")).collect::<String>()));
    assert_eq!(header["content_type"], "framed");
    assert_eq!(header["frame_length"], 4096);
    let header_len = header["header_length"].as_u64().unwrap();
    assert!(header_len > 100 && header_len < env.read("msg.bin").len() as u64);

    env.ok(&[
        "decrypt",
        "--key",
        "a.key",
        "--context",
        "team=finance",
        "-i",
        "msg.bin",
        "-o",
        "out.txt",
    ]);
    assert_eq!(env.read("out.txt"), env.read("plain.txt"));
    // Decrypt needs no context at all.
    env.ok(&[
        "decrypt", "--key", "a.key", "-i", "msg.bin", "-o", "out2.txt",
    ]);
    assert_eq!(env.read("out2.txt"), env.read("plain.txt"));
}

#[test]
fn round_trip_through_standard_streams() {
    let env = Env::new();
    env.keygen("a.key");
    let plaintext: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let enc = env.run_stdin(
        &["encrypt", "-k", "a.key", "--frame-length", "1000"],
        &plaintext,
    );
    assert_eq!(
        enc.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&enc.stderr)
    );
    let dec = env.run_stdin(
        &["decrypt", "-k", "a.key", "-i", "-", "-o", "-"],
        &enc.stdout,
    );
    assert_eq!(
        dec.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dec.stderr)
    );
    assert_eq!(dec.stdout, plaintext);

    let inspect = env.run_stdin(&["inspect", "-"], &enc.stdout);
    assert_eq!(inspect.status.code(), Some(0));
    let header: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(header["frame_length"], 1000);

    // Empty input.
    let enc = env.run_stdin(&["encrypt", "-k", "a.key"], b"");
    assert_eq!(enc.status.code(), Some(0));
    let dec = env.run_stdin(&["decrypt", "-k", "a.key"], &enc.stdout);
    assert_eq!(dec.status.code(), Some(0));
    assert!(dec.stdout.is_empty());
}

#[test]
fn suites_and_commitment_policies() {
    let env = Env::new();
    env.keygen("a.key");
    for (suite, id) in [
        ("0478", "0478"),
        ("0x0578", "0578"),
        ("AES_256_GCM_HKDF_SHA512_COMMIT_KEY", "0478"),
    ] {
        env.ok(&[
            "encrypt",
            "-k",
            "a.key",
            "--suite",
            suite,
            "-i",
            "plain.txt",
            "-o",
            "m.bin",
        ]);
        assert_eq!(env.inspect("m.bin")["algorithm_suite"]["id"], id);
        env.ok(&["decrypt", "-k", "a.key", "-i", "m.bin", "-o", "out.txt"]);
        assert_eq!(env.read("out.txt"), env.read("plain.txt"));
    }
    // A non-committing suite needs the forbid policy to encrypt ...
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--suite",
            "0178",
            "-i",
            "plain.txt",
            "-o",
            "v1.bin",
        ],
        POLICY,
    );
    assert!(!env.exists("v1.bin"));
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "--suite",
        "0178",
        "--commitment-policy",
        "forbid-encrypt-allow-decrypt",
        "-i",
        "plain.txt",
        "-o",
        "v1.bin",
    ]);
    assert_eq!(env.inspect("v1.bin")["version"], 1);
    // ... and an allow policy to decrypt.
    env.fails(
        &["decrypt", "-k", "a.key", "-i", "v1.bin", "-o", "v1.txt"],
        POLICY,
    );
    assert!(!env.exists("v1.txt"));
    env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "--commitment-policy",
        "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
        "-i",
        "v1.bin",
        "-o",
        "v1.txt",
    ]);
    assert_eq!(env.read("v1.txt"), env.read("plain.txt"));

    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--suite",
            "0479",
            "-i",
            "plain.txt",
        ],
        USAGE,
    );
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--suite",
            "fast",
            "-i",
            "plain.txt",
        ],
        USAGE,
    );
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--commitment-policy",
            "whatever",
            "-i",
            "plain.txt",
        ],
        USAGE,
    );
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--frame-length",
            "0",
            "-i",
            "plain.txt",
        ],
        USAGE,
    );
}

#[test]
fn rsa_and_multiple_keys() {
    let env = Env::new();
    env.keygen("a.key");
    env.rsa_keys();
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "-k",
        "rsa.pub.pem",
        "-i",
        "plain.txt",
        "-o",
        "m.bin",
    ]);
    let header = env.inspect("m.bin");
    let edks = header["encrypted_data_keys"].as_array().unwrap();
    assert_eq!(edks.len(), 2);
    assert_eq!(edks[1]["provider_id"], "kms-envelope");
    assert_eq!(edks[1]["provider_info"], "rsa"); // the key name, from rsa.pub.pem
                                                 // Either key alone decrypts (the private key's name comes from rsa.pem).
    env.ok(&["decrypt", "-k", "rsa.pem", "-i", "m.bin", "-o", "out1.txt"]);
    assert_eq!(env.read("out1.txt"), env.read("plain.txt"));
    env.ok(&["decrypt", "-k", "a.key", "-i", "m.bin", "-o", "out2.txt"]);
    assert_eq!(env.read("out2.txt"), env.read("plain.txt"));
    // A limit of one encrypted data key refuses it.
    env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "--max-encrypted-data-keys",
            "1",
            "-i",
            "m.bin",
            "-o",
            "out3.txt",
        ],
        POLICY,
    );
    assert!(!env.exists("out3.txt"));

    // Padding and names must match.
    env.ok(&[
        "encrypt",
        "-k",
        "rsa.pub.pem",
        "--key-name",
        "r",
        "--key-namespace",
        "ns",
        "--rsa-padding",
        "oaep-sha512",
        "-i",
        "plain.txt",
        "-o",
        "r.bin",
    ]);
    env.ok(&[
        "decrypt",
        "-k",
        "rsa.pem",
        "--key-name",
        "r",
        "--key-namespace",
        "ns",
        "--rsa-padding",
        "oaep-sha512",
        "-i",
        "r.bin",
        "-o",
        "r.txt",
    ]);
    assert_eq!(env.read("r.txt"), env.read("plain.txt"));
    env.fails(
        &[
            "decrypt",
            "-k",
            "rsa.pem",
            "--key-name",
            "r",
            "--key-namespace",
            "ns",
            "--rsa-padding",
            "oaep-sha256",
            "-i",
            "r.bin",
            "-o",
            "r2.txt",
        ],
        NO_KEY,
    );
    assert!(!env.exists("r2.txt"));

    // A public key cannot decrypt; a private key is not used to encrypt.
    env.fails(
        &["decrypt", "-k", "rsa.pub.pem", "-i", "m.bin", "-o", "x.txt"],
        BAD_ARGUMENT,
    );
    env.fails(
        &["encrypt", "-k", "rsa.pem", "-i", "plain.txt", "-o", "x.bin"],
        BAD_ARGUMENT,
    );
    env.fails(
        &[
            "encrypt",
            "-k",
            "rsa.pub.pem",
            "--rsa-padding",
            "oaep-md5",
            "-i",
            "plain.txt",
        ],
        USAGE,
    );
    assert!(!env.exists("x.txt") && !env.exists("x.bin"));
}

#[test]
fn required_context_keys() {
    let env = Env::new();
    env.keygen("a.key");
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "-c",
        "tenant=acme",
        "-c",
        "purpose=test",
        "--required-context-key",
        "tenant",
        "-i",
        "plain.txt",
        "-o",
        "m.bin",
    ]);
    let header = env.inspect("m.bin");
    assert!(header["encryption_context"].get("tenant").is_none());
    assert_eq!(header["encryption_context"]["purpose"], "test");
    env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "-c",
        "tenant=acme",
        "-i",
        "m.bin",
        "-o",
        "out.txt",
    ]);
    assert_eq!(env.read("out.txt"), env.read("plain.txt"));
    env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "-c",
        "tenant=acme",
        "--required-context-key",
        "tenant",
        "-i",
        "m.bin",
        "-o",
        "out2.txt",
    ]);
    // Without the pair, or with another value, nothing decrypts.
    env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "--required-context-key",
            "tenant",
            "-i",
            "m.bin",
            "-o",
            "bad.txt",
        ],
        POLICY,
    );
    let out = env.run(&["decrypt", "-k", "a.key", "-i", "m.bin", "-o", "bad.txt"]);
    assert_ne!(out.status.code(), Some(0));
    let out = env.run(&[
        "decrypt",
        "-k",
        "a.key",
        "-c",
        "tenant=other",
        "-i",
        "m.bin",
        "-o",
        "bad.txt",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!env.exists("bad.txt"));
    // The required key must be in the context on encrypt.
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--required-context-key",
            "tenant",
            "-i",
            "plain.txt",
            "-o",
            "bad.bin",
        ],
        POLICY,
    );
    assert!(!env.exists("bad.bin"));
}

#[test]
fn bad_keys_and_arguments() {
    let env = Env::new();
    env.keygen("a.key");
    env.keygen("b.key");
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "-c",
        "team=finance",
        "-i",
        "plain.txt",
        "-o",
        "m.bin",
    ]);

    // Missing key file.
    env.fails(
        &[
            "decrypt",
            "-k",
            "missing.key",
            "-i",
            "m.bin",
            "-o",
            "out.txt",
        ],
        IO,
    );
    env.fails(
        &[
            "encrypt",
            "-k",
            "missing.key",
            "-i",
            "plain.txt",
            "-o",
            "out.bin",
        ],
        IO,
    );
    // Wrong key (same name, other bytes) and wrong key name.
    let mut b: Value = serde_json::from_slice(&env.read("b.key")).unwrap();
    b["key_name"] = "a".into();
    env.write("b-as-a.key", &serde_json::to_vec(&b).unwrap());
    env.fails(
        &[
            "decrypt",
            "-k",
            "b-as-a.key",
            "-i",
            "m.bin",
            "-o",
            "out.txt",
        ],
        NO_KEY,
    );
    env.fails(
        &["decrypt", "-k", "b.key", "-i", "m.bin", "-o", "out.txt"],
        NO_KEY,
    );
    // Wrong context value.
    env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "-c",
            "team=sales",
            "-i",
            "m.bin",
            "-o",
            "out.txt",
        ],
        POLICY,
    );
    // Not key files.
    env.write("junk.key", b"hello");
    env.fails(
        &["decrypt", "-k", "junk.key", "-i", "m.bin", "-o", "out.txt"],
        BAD_ARGUMENT,
    );
    env.write(
        "bad.key",
        br#"{"type":"raw-aes","key_namespace":"n","key_name":"k","key":"!!"}"#,
    );
    env.fails(
        &["decrypt", "-k", "bad.key", "-i", "m.bin", "-o", "out.txt"],
        BAD_ARGUMENT,
    );
    env.write(
        "short.key",
        br#"{"type":"raw-aes","key_namespace":"n","key_name":"k","key":"AAEC"}"#,
    );
    env.fails(
        &["decrypt", "-k", "short.key", "-i", "m.bin", "-o", "out.txt"],
        BAD_ARGUMENT,
    );
    env.write(
        "other.key",
        br#"{"type":"raw-hmac","key_namespace":"n","key_name":"k","key":"AAEC"}"#,
    );
    env.fails(
        &["decrypt", "-k", "other.key", "-i", "m.bin", "-o", "out.txt"],
        BAD_ARGUMENT,
    );
    assert!(!env.exists("out.txt") && !env.exists("out.bin"));

    // Context syntax and reserved keys.
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "-c",
            "novalue",
            "-i",
            "plain.txt",
            "-o",
            "out.bin",
        ],
        USAGE,
    );
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "-c",
            "=v",
            "-i",
            "plain.txt",
            "-o",
            "out.bin",
        ],
        USAGE,
    );
    let err = env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "-c",
            "aws-crypto-x=1",
            "-i",
            "plain.txt",
            "-o",
            "out.bin",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("aws-crypto-"), "{err}");
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "-c",
            "a=1",
            "-c",
            "a=2",
            "-i",
            "plain.txt",
            "-o",
            "out.bin",
        ],
        BAD_ARGUMENT,
    );
    assert!(!env.exists("out.bin"));
    // Missing input file, and no --key.
    env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "-i",
            "nothing.txt",
            "-o",
            "out.bin",
        ],
        IO,
    );
    env.fails(&["encrypt", "-i", "plain.txt"], USAGE);
    assert!(!env.exists("out.bin"));
}

#[test]
fn bad_messages_leave_no_output() {
    let env = Env::new();
    env.keygen("a.key");
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "--frame-length",
        "4",
        "-i",
        "plain.txt",
        "-o",
        "m.bin",
    ]);
    let msg = env.read("m.bin");
    let decrypt = ["decrypt", "-k", "a.key", "-i", "bad.bin", "-o", "out.txt"];

    // Truncated anywhere: in the header, the body and the footer.
    for len in [0, 1, 10, 60, msg.len() / 2, msg.len() - 40, msg.len() - 1] {
        env.write("bad.bin", &msg[..len]);
        env.fails(&decrypt, MALFORMED);
        assert!(!env.exists("out.txt"), "truncated at {len}");
    }
    // One byte too many.
    let mut longer = msg.clone();
    longer.push(0);
    env.write("bad.bin", &longer);
    env.fails(&decrypt, MALFORMED);
    // Garbage, and base64 of a real message.
    env.write("bad.bin", b"this is not an encrypted message at all");
    env.fails(&decrypt, MALFORMED);
    let b64 = base64_encode(&msg);
    env.write("bad.bin", b64.as_bytes());
    let err = env.fails(&decrypt, MALFORMED);
    assert!(err.contains("base64"), "{err}");
    // A flipped bit in the last frame, and in the signature.
    for pos in [msg.len() - 110, msg.len() - 5] {
        let mut flipped = msg.clone();
        flipped[pos] ^= 0x01;
        env.write("bad.bin", &flipped);
        env.fails(&decrypt, AUTHENTICATION);
    }
    assert!(!env.exists("out.txt"));

    // A failed decrypt leaves an existing output file alone.
    env.write("out.txt", b"old");
    env.fails(&decrypt, AUTHENTICATION);
    assert_eq!(env.read("out.txt"), b"old");

    // Through stdin/stdout too: nothing on stdout.
    env.fails_stdin(
        &["decrypt", "-k", "a.key"],
        &msg[..msg.len() - 1],
        MALFORMED,
    );

    // inspect needs only a well-formed header.
    env.write("bad.bin", &msg[..msg.len() - 1]);
    env.ok(&["inspect", "bad.bin"]);
    env.write("bad.bin", &msg[..20]);
    env.fails(&["inspect", "bad.bin"], MALFORMED);
    env.write("bad.bin", b64.as_bytes());
    env.fails(&["inspect", "bad.bin"], MALFORMED);
    env.fails(&["inspect", "nothing.bin"], IO);
    env.fails_stdin(&["inspect", "-"], b"garbage", MALFORMED);
}

#[test]
fn inspect_stops_reading_at_a_bad_prefix() {
    // A header already wrong in its first bytes fails at once: inspect does
    // not read on (it used to read the whole input, /dev/zero until memory
    // ran out). Here stdin stays open after 1 MiB of zeros, so a command
    // that kept reading would wait for more; the test gives it a minute.
    let env = Env::new();
    let mut child = std::process::Command::new(BIN)
        .args(["inspect", "-"])
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        // The command exits before reading it all: the pipe breaks.
        let _ = input.write_all(&vec![0u8; 1 << 20]);
        input
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("inspect kept reading past a bad first byte");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(MALFORMED));
    drop(feeder.join().unwrap());
}

#[test]
fn oversized_key_files_are_refused_unread() {
    let env = Env::new();
    let mut big = br#"{"key_namespace":"ns","key_name":"k","key":""#.to_vec();
    big.resize(100 * 1024, b' ');
    env.write("big.key", &big);
    let err = env.fails(
        &["encrypt", "-k", "big.key", "-i", "plain.txt", "-o", "x.bin"],
        BAD_ARGUMENT,
    );
    assert!(err.contains("larger than 64 KiB"), "{err}");
    // Devices are bounded the same way.
    let err = env.fails(
        &[
            "encrypt",
            "-k",
            "/dev/zero",
            "-i",
            "plain.txt",
            "-o",
            "x.bin",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("larger than 64 KiB"), "{err}");
}

#[test]
fn help_and_version() {
    let env = Env::new();
    for args in [
        &["--help"][..],
        &["encrypt", "--help"],
        &["vectors", "decrypt", "--help"],
        &["--version"],
    ] {
        let out = env.ok(args);
        assert!(!out.stdout.is_empty());
    }
    env.fails(&[], USAGE);
    env.fails(&["frobnicate"], USAGE);
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn base64_decode(text: &[u8]) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// `--encode` and `--decode` carry messages (and plaintext) as base64, as
/// the AWS Encryption CLI's flags do; input that is not base64 fails with
/// status 5 and writes nothing.
#[test]
fn encode_and_decode_carry_messages_as_base64() {
    let env = Env::new();
    env.keygen("a.key");
    let plain: Vec<u8> = (0..200_000u32).map(|i| (i * 31 + i / 97) as u8).collect();
    env.write("plain", &plain);
    env.ok(&[
        "encrypt", "-k", "a.key", "--encode", "-i", "plain", "-o", "m.b64",
    ]);
    let text = env.read("m.b64");
    assert!(!text.ends_with(b"\n"), "one line, no line break");
    let msg = base64_decode(&text);
    assert_eq!(msg[0], 2, "a version 2 message");

    let decrypt = [
        "decrypt", "-k", "a.key", "--decode", "-i", "m.b64", "-o", "out",
    ];
    env.ok(&decrypt);
    assert_eq!(env.read("out"), plain);
    // Wrapped at 76 columns with CRLF, as mail and PEM tools wrap it.
    let wrapped: Vec<u8> = text
        .chunks(76)
        .flat_map(|line| [line, b"\r\n"].concat())
        .collect();
    env.write("m.b64", &wrapped);
    env.ok(&decrypt);
    assert_eq!(env.read("out"), plain);
    let header: serde_json::Value =
        serde_json::from_slice(&env.ok(&["inspect", "--decode", "m.b64"]).stdout).unwrap();
    assert_eq!(header, env_inspect_of(&env, &msg));

    // Read as it is, a base64 message points to --decode.
    for args in [
        &["inspect", "m.b64"][..],
        &["decrypt", "-k", "a.key", "-i", "m.b64", "-o", "o"],
    ] {
        let err = env.fails(args, MALFORMED);
        assert!(err.contains("(or pass --decode)"), "{args:?}: {err}");
    }

    // Both ways through the standard streams: base64 in, base64 out.
    let out = env.ok_stdin(
        &["decrypt", "-k", "a.key", "--decode", "--encode"],
        &wrapped,
    );
    assert_eq!(base64_decode(&out.stdout), plain);
    let out = env.ok_stdin(
        &["encrypt", "-k", "a.key", "--decode"],
        base64_encode(&plain).as_bytes(),
    );
    env.write("m2.bin", &out.stdout);
    env.ok(&["decrypt", "-k", "a.key", "-i", "m2.bin", "-o", "out2"]);
    assert_eq!(env.read("out2"), plain);

    // Not base64, a cut group, and base64 of a cut message: status 5, no output.
    let cut = &text[..text.len() - 1];
    let cut_message = base64_encode(&msg[..msg.len() - 7]);
    for (input, reason) in [
        (
            &b"QUJD\nQU-D"[..],
            "'-' at character 6 is not a base64 character",
        ),
        (cut, "not a multiple of 4"),
        (cut_message.as_bytes(), "truncated"),
    ] {
        env.write("bad.b64", input);
        for args in [
            &[
                "decrypt", "-k", "a.key", "--decode", "-i", "bad.b64", "-o", "o",
            ][..],
            &[
                "encrypt", "-k", "a.key", "--decode", "-i", "bad.b64", "-o", "o",
            ],
        ] {
            if args[0] == "encrypt" && reason == "truncated" {
                continue; // base64 of anything is a plaintext.
            }
            let err = env.fails(args, MALFORMED);
            assert!(err.contains(reason), "{args:?}: {err}");
            assert!(
                !err.contains("or pass --decode"),
                "no hint when decoding: {err}"
            );
            assert!(!env.exists("o"));
        }
    }
}

/// `--metadata-output`: a JSON line per finished message, appended (or the
/// file emptied first with `--overwrite-metadata`); none for a failure.
#[test]
fn metadata_output_records_each_finished_message() {
    let encrypt_with = |more: &[&'static str]| -> Vec<&'static str> {
        ["encrypt", "-k", "a.key"]
            .iter()
            .chain(more)
            .copied()
            .collect()
    };
    let env = Env::new();
    env.keygen("a.key");
    env.write("one.txt", b"first file");
    env.write("two.txt", &[7u8; 10_000]);
    let lines = |env: &Env| -> Vec<Value> {
        String::from_utf8(env.read("meta.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    env.ok(&encrypt_with(&[
        "-c",
        "tenant=acme",
        "-i",
        "one.txt",
        "two.txt",
        "--output-dir",
        "sealed",
        "--metadata-output",
        "meta.jsonl",
    ]));
    let records = lines(&env);
    assert_eq!(records.len(), 2);
    for (record, (name, len)) in records.iter().zip([("one.txt", 10), ("two.txt", 10_000)]) {
        assert_eq!(record["mode"], "encrypt");
        assert_eq!(record["input"], name);
        let output = format!("sealed{}{name}.kmse", std::path::MAIN_SEPARATOR);
        assert_eq!(record["output"], output.as_str());
        assert_eq!(record["plaintext_length"], len);
        // The header as inspect shows the message written.
        assert_eq!(record["header"], env.inspect(&output));
        assert_eq!(record["header"]["encryption_context"]["tenant"], "acme");
    }
    env.assert_private("meta.jsonl");

    // Decrypt appends; a failing input adds nothing.
    env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "-i",
        "sealed/two.txt.kmse",
        "-o",
        "two.out",
        "--metadata-output",
        "meta.jsonl",
    ]);
    let records = lines(&env);
    assert_eq!(records.len(), 3);
    assert_eq!(records[2]["mode"], "decrypt");
    assert_eq!(records[2]["plaintext_length"], 10_000);
    assert_eq!(records[2]["output"], "two.out");
    assert_eq!(
        records[2]["header"]["message_id"],
        records[1]["header"]["message_id"]
    );
    let mut bad = env.read("sealed/one.txt.kmse");
    let last = bad.len() - 1;
    bad[last] ^= 1;
    env.write("bad.kmse", &bad);
    env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "-i",
            "bad.kmse",
            "-o",
            "bad.out",
            "--metadata-output",
            "meta.jsonl",
        ],
        AUTHENTICATION,
    );
    assert_eq!(lines(&env).len(), 3);

    // --overwrite-metadata starts the file afresh; standard input is "-".
    env.ok_stdin(
        &encrypt_with(&[
            "-o",
            "s.kmse",
            "--metadata-output",
            "meta.jsonl",
            "--overwrite-metadata",
        ]),
        b"piped",
    );
    let records = lines(&env);
    assert_eq!(records.len(), 1);
    assert_eq!(
        (
            records[0]["input"].as_str(),
            records[0]["plaintext_length"].as_u64()
        ),
        (Some("-"), Some(5))
    );

    // "-" is standard output, unless the output goes there too.
    let out = env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "-i",
        "s.kmse",
        "-o",
        "s.out",
        "--metadata-output",
        "-",
    ]);
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["output"], "s.out");
    let err = env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "-i",
            "s.kmse",
            "--metadata-output",
            "-",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("share standard output"), "{err}");
    env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "-i",
            "s.kmse",
            "--overwrite-metadata",
        ],
        USAGE,
    );

    // Never a file the run reads or writes: refused before it is emptied.
    let key_before = env.read("a.key");
    for (meta, args) in [
        (
            "a.key",
            &encrypt_with(&["-i", "one.txt", "-o", "x.kmse"])[..],
        ),
        ("one.txt", &encrypt_with(&["-i", "one.txt", "-o", "x.kmse"])),
        ("x.kmse", &encrypt_with(&["-i", "one.txt", "-o", "x.kmse"])),
        (
            "./sealed/two.txt.kmse",
            &[
                "decrypt",
                "-k",
                "a.key",
                "-i",
                "sealed/two.txt.kmse",
                "-o",
                "y",
            ],
        ),
        (
            "out/two.txt.kmse",
            &encrypt_with(&["-i", "one.txt", "two.txt", "--output-dir", "out"]),
        ),
    ] {
        let args = [args, &["--metadata-output", meta, "--overwrite-metadata"]].concat();
        let err = env.fails(&args, BAD_ARGUMENT);
        assert!(err.contains("is also"), "{args:?}: {err}");
    }
    assert_eq!(env.read("a.key"), key_before);
    assert_eq!(env.read("one.txt"), b"first file");
    assert!(env.read("sealed/two.txt.kmse").len() > 10_000);
    assert!(!env.exists("x.kmse") && !env.exists("y"));
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"odd\xff.txt");
        std::fs::write(env.path(".").join(odd), b"x").unwrap();
        let out = std::process::Command::new(BIN)
            .current_dir(env.path("."))
            .args([
                "encrypt",
                "-k",
                "a.key",
                "-o",
                "odd.kmse",
                "--metadata-output",
                "meta.jsonl",
                "-i",
            ])
            .arg(odd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(BAD_ARGUMENT));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a UTF-8 name"));

        // The standard streams by another name, and an output that is a
        // dangling link to the metadata file.
        let err = env.fails(
            &encrypt_with(&["-i", "one.txt", "--metadata-output", "/dev/stdout"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("share standard output"), "{err}");
        let out = std::process::Command::new(BIN)
            .current_dir(env.path("."))
            .args([
                "encrypt",
                "-k",
                "a.key",
                "-o",
                "z.kmse",
                "--metadata-output",
                "/dev/stdin",
                "--overwrite-metadata",
            ])
            .stdin(std::fs::File::open(env.path("one.txt")).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(BAD_ARGUMENT));
        assert_eq!(env.read("one.txt"), b"first file");
        // An output that is a link leading nowhere is replaced itself (its
        // target is never made), so it is no clash: the record goes to the
        // file named, the message to the link's place.
        std::os::unix::fs::symlink("new-meta.jsonl", env.path("link.kmse")).unwrap();
        env.ok(&encrypt_with(&[
            "-i",
            "one.txt",
            "-o",
            "link.kmse",
            "--metadata-output",
            "new-meta.jsonl",
        ]));
        assert!(std::fs::symlink_metadata(env.path("link.kmse"))
            .unwrap()
            .is_file());
        assert_eq!(lines_of(&env.read("new-meta.jsonl")).len(), 1);
        // A metadata path that is such a link is refused, nothing made.
        std::os::unix::fs::symlink("made-by-link.jsonl", env.path("meta-link")).unwrap();
        let err = env.fails(
            &encrypt_with(&[
                "-i",
                "one.txt",
                "-o",
                "m.kmse",
                "--metadata-output",
                "meta-link",
            ]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("leads nowhere"), "{err}");
        assert!(!env.exists("made-by-link.jsonl") && !env.exists("m.kmse"));
        // A refused run neither creates nor empties the metadata file.
        env.write("audit.log", b"old line\n");
        env.fails(
            &encrypt_with(&[
                "-c",
                "aws-crypto-x=1",
                "-i",
                "one.txt",
                "-o",
                "r.kmse",
                "--metadata-output",
                "audit.log",
                "--overwrite-metadata",
            ]),
            BAD_ARGUMENT,
        );
        assert_eq!(env.read("audit.log"), b"old line\n");
        env.fails(
            &encrypt_with(&[
                "-c",
                "aws-crypto-x=1",
                "-i",
                "one.txt",
                "-o",
                "r.kmse",
                "--metadata-output",
                "never.log",
            ]),
            BAD_ARGUMENT,
        );
        assert!(!env.exists("never.log"));
        // A metadata path that cannot be opened fails before any output.
        env.write("keep.kmse", b"OLD");
        for bad in ["typo/dir/m.jsonl", "sealed"] {
            let err = env.fails(
                &encrypt_with(&["-i", "one.txt", "-o", "keep.kmse", "--metadata-output", bad]),
                BAD_ARGUMENT,
            );
            assert!(err.contains("directory"), "{bad}: {err}");
            assert_eq!(env.read("keep.kmse"), b"OLD");
        }
        // A hard link to a key is another name: an output may replace it.
        std::fs::hard_link(env.path("a.key"), env.path("hard.key")).unwrap();
        env.ok(&encrypt_with(&["-i", "one.txt", "-o", "hard.key"]));
        // An output over the key file that opens it: refused, the key kept.
        let key = env.read("a.key");
        let err = env.fails(
            &encrypt_with(&["-i", "one.txt", "-o", "a.key"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("would replace the key file"), "{err}");
        assert_eq!(env.read("a.key"), key);
    }
}

fn lines_of(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `inspect`'s JSON of the message `msg`.
fn env_inspect_of(env: &Env, msg: &[u8]) -> serde_json::Value {
    env.write("inspected.bin", msg);
    env.inspect("inspected.bin")
}

/// A stdout that cannot be written (a full device here; a closed pipe
/// alike) is an I/O error, status 4 with one line, for every command that
/// prints, never a panic (status 101).
#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_stdout_is_an_io_error() {
    let env = Env::new();
    env.ok(&["keygen", "--out", "k.key"]);
    std::fs::write(env.path("pt"), b"x").unwrap();
    env.ok(&["encrypt", "-k", "k.key", "-i", "pt", "-o", "ct"]);
    let with_stdout = |args: &[&str], stdout: std::process::Stdio| {
        std::process::Command::new(BIN)
            .args(args)
            .current_dir(env.path("."))
            .stdout(stdout)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap()
    };
    let full = || std::process::Stdio::from(std::fs::File::create("/dev/full").unwrap());
    for args in [
        &["inspect", "ct"][..],
        &["decrypt", "-k", "k.key", "-i", "ct"][..],
    ] {
        let out = with_stdout(args, full());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("kms-envelope: error: cannot write '<stdout>'"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // keygen's report is only a report: the key is written, status 0, and a
    // script's retry does not meet "already exists".
    let out = with_stdout(&["keygen", "--out", "k2.key"], full());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(env.exists("k2.key"));

    // A closed stderr (a pipe whose reader left) still gives the status of
    // the failure, not a panic's 101.
    let mut child = std::process::Command::new(BIN)
        .args(["decrypt", "-k", "k.key", "-i", "pt", "-o", "x"])
        .current_dir(env.path("."))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(MALFORMED));
}

/// Messages that @aws-crypto/client-node's raw AES keyring wrapped in
/// localeCompare key order (tests/data/js-legacy-order): `decrypt
/// --js-legacy-order` reads them, and without it they fail with status 7
/// where the orders differ.
#[test]
fn js_legacy_order_reads_client_node_messages() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/js-legacy-order/messages.json"
    );
    let fixture: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let env = Env::new();
    let key = hex_decode(fixture["key"].as_str().unwrap());
    let key_file = serde_json::json!({
        "type": "raw-aes",
        "key_namespace": fixture["keyNamespace"],
        "key_name": fixture["keyName"],
        "key": b64.encode(key),
    });
    env.write("legacy.key", key_file.to_string().as_bytes());
    let messages = fixture["messages"].as_array().unwrap();
    let mut differing = 0;
    for (i, m) in messages.iter().enumerate() {
        let name = format!("m{i}.bin");
        env.write(
            &name,
            &b64.decode(m["ciphertext"].as_str().unwrap()).unwrap(),
        );
        let policy = ["--commitment-policy", "require-encrypt-allow-decrypt"];
        let mut args = vec![
            "decrypt",
            "--key",
            "legacy.key",
            "--js-legacy-order",
            "-i",
            &name,
        ];
        args.extend(policy);
        let out = env.ok(&args);
        assert_eq!(
            out.stdout,
            m["plaintext"].as_str().unwrap().as_bytes(),
            "{}",
            m["name"]
        );
        args.retain(|a| *a != "--js-legacy-order");
        if m["orderDiffers"].as_bool().unwrap() {
            env.fails(&args, NO_KEY);
            differing += 1;
        } else {
            env.ok(&args);
        }
    }
    assert!(messages.len() >= 6 && differing >= 5);
    // Only where it can apply: decrypt, with a raw AES key file.
    env.rsa_keys();
    let only_rsa = env.fails(
        &[
            "decrypt",
            "--key",
            "rsa.pem",
            "--js-legacy-order",
            "-i",
            "m0.bin",
        ],
        BAD_ARGUMENT,
    );
    assert!(
        only_rsa.contains("--js-legacy-order applies to raw AES key files"),
        "{only_rsa}"
    );
    env.fails(
        &[
            "encrypt",
            "--key",
            "legacy.key",
            "--js-legacy-order",
            "-i",
            "plain.txt",
        ],
        USAGE,
    );
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
