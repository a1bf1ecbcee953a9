//! Several inputs in one run (`-i a b c --output-dir DIR`) with raw keys:
//! round trips, output names, data-key caching, the argument checks, and
//! failures that stop the run without leaving a partial output.

mod common;

use common::*;
use kms_envelope::{EncryptedDataKey, MessageHeader};

/// The encrypted data keys in the header of the message file `name`.
fn edks(env: &Env, name: &str) -> Vec<EncryptedDataKey> {
    let message = env.read(name);
    MessageHeader::parse(&message, None)
        .unwrap()
        .0
        .encrypted_data_keys
}

/// The names in `dir` (inside the test directory), sorted.
fn listing(env: &Env, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.path(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn args<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn several_inputs_round_trip() {
    let env = Env::new();
    env.keygen("a.key");
    std::fs::create_dir(env.path("in")).unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    env.write("in/big.bin", &big);
    env.write("in/empty", b"");
    env.write("in/notes.kmse", b"ends like a message");

    // One -i with several files, -i repeated, and a single input.
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "--output-dir",
        "enc",
        "-i",
        "plain.txt",
        "in/big.bin",
        "-i",
        "in/empty",
        "--input",
        "in/notes.kmse",
    ]);
    assert_eq!(
        listing(&env, "enc"),
        [
            "big.bin.kmse",
            "empty.kmse",
            "notes.kmse.kmse",
            "plain.txt.kmse"
        ]
    );
    // Each input is its own message, a fresh data key each without caching.
    assert_ne!(
        edks(&env, "enc/plain.txt.kmse"),
        edks(&env, "enc/big.bin.kmse")
    );

    let out = env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "--output-dir",
        "dec",
        "-i",
        "enc/plain.txt.kmse",
        "enc/big.bin.kmse",
        "enc/empty.kmse",
        "enc/notes.kmse.kmse",
    ]);
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(
        listing(&env, "dec"),
        ["big.bin", "empty", "notes.kmse", "plain.txt"]
    );
    assert_eq!(env.read("dec/plain.txt"), b"attack at dawn\n");
    assert_eq!(env.read("dec/big.bin"), big);
    assert_eq!(env.read("dec/empty"), b"");
    assert_eq!(env.read("dec/notes.kmse"), b"ends like a message");
    env.assert_private("dec/big.bin");

    // A name without .kmse gets .decrypted; existing outputs are replaced.
    std::fs::copy(env.path("enc/plain.txt.kmse"), env.path("msg")).unwrap();
    env.write("dec/msg.decrypted", b"old");
    env.ok(&["decrypt", "-k", "a.key", "--output-dir", "dec", "-i", "msg"]);
    assert_eq!(env.read("dec/msg.decrypted"), b"attack at dawn\n");

    // The single-input forms are unchanged.
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "-i",
        "plain.txt",
        "-o",
        "one.kmse",
    ]);
    let out = env.ok(&["decrypt", "-k", "a.key", "-i", "one.kmse"]);
    assert_eq!(out.stdout, b"attack at dawn\n");
}

#[test]
fn caching_reuses_data_keys_within_limits() {
    let env = Env::new();
    env.keygen("a.key");
    for name in ["w", "x", "y", "z"] {
        env.write(name, name.as_bytes());
    }
    let encrypt = ["encrypt", "-k", "a.key", "-i", "w", "x", "y", "z"];
    let run = |more: &[&str]| {
        let _ = std::fs::remove_dir_all(env.path("out"));
        env.ok(&args(&encrypt, &args(&["--output-dir", "out"], more)));
        ["w", "x", "y", "z"].map(|n| edks(&env, &format!("out/{n}.kmse")))
    };
    // The raw AES keyring wraps with a random IV: equal data keys mean the
    // wrapped key was reused.
    let [w, x, y, z] = run(&[]);
    assert!(w != x && x != y && y != z);
    let [w, x, y, z] = run(&["--cache-max-age", "300"]);
    assert!(w == x && x == y && y == z);
    let [w, x, y, z] = run(&["--cache-max-age", "300", "--cache-max-messages", "2"]);
    assert!(w == x && x != y && y == z);
    let [w, x, y, z] = run(&["--cache-max-age", "300", "--cache-max-bytes", "3"]);
    assert!(w == x && x == y && y != z);
    // The messages decrypt with the cache on too.
    env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "--cache-max-age",
        "300",
        "--cache-capacity",
        "1",
        "--cache-partition",
        "one",
        "--output-dir",
        "dec",
        "-i",
        "out/w.kmse",
        "out/x.kmse",
        "out/y.kmse",
        "out/z.kmse",
    ]);
    assert_eq!(env.read("dec/y"), b"y");
    assert_eq!(env.read("dec/z"), b"z");
}

#[test]
fn batch_and_cache_argument_errors() {
    let env = Env::new();
    env.keygen("a.key");
    env.write("b.txt", b"b");
    let encrypt = ["encrypt", "-k", "a.key", "-i", "plain.txt", "b.txt"];
    let with_dir = args(&encrypt, &["--output-dir", "out"]);

    // Several inputs need --output-dir, which excludes -o.
    let err = env.fails(&encrypt, BAD_ARGUMENT);
    assert!(err.contains("--output-dir"), "{err}");
    let err = env.fails(&args(&encrypt, &["-o", "x"]), BAD_ARGUMENT);
    assert!(err.contains("--output-dir"), "{err}");
    let err = env.fails(&args(&with_dir, &["-o", "x"]), USAGE);
    assert!(
        err.contains("--output-dir") && err.contains("--output"),
        "{err}"
    );
    // Standard input has no name; a directory is not an input.
    let err = env.fails(
        &["encrypt", "-k", "a.key", "-i", "-", "--output-dir", "out"],
        BAD_ARGUMENT,
    );
    assert!(err.contains("standard input"), "{err}");
    let err = env.fails(
        &["encrypt", "-k", "a.key", "--output-dir", "out"],
        BAD_ARGUMENT,
    );
    assert!(err.contains("needs input files"), "{err}");
    std::fs::create_dir(env.path("sub")).unwrap();
    env.write("sub/b.txt", b"other b");
    let err = env.fails(
        &["encrypt", "-k", "a.key", "-i", "sub", "--output-dir", "out"],
        BAD_ARGUMENT,
    );
    assert!(err.contains("'sub' is a directory"), "{err}");
    // Two inputs of the same name would write one output.
    let err = env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "-i",
            "b.txt",
            "sub/b.txt",
            "--output-dir",
            "out",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("would both be written"), "{err}");
    // An output may not replace an input.
    env.write("c", b"c");
    env.write("c.kmse", b"not really");
    let err = env.fails(
        &[
            "decrypt",
            "-k",
            "a.key",
            "-i",
            "c.kmse",
            "c",
            "--output-dir",
            ".",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("would replace the input 'c'"), "{err}");
    // A missing input fails before anything is written or created.
    let err = env.fails(&args(&with_dir, &["-i", "nothing"]), IO);
    assert!(err.contains("'nothing'"), "{err}");
    assert!(!env.exists("out"));
    // --output-dir names an existing file.
    let err = env.fails(
        &["encrypt", "-k", "a.key", "-i", "b.txt", "--output-dir", "c"],
        BAD_ARGUMENT,
    );
    assert!(err.contains("not a directory"), "{err}");

    // Cache limits need --cache-max-age.
    for flag in [
        &["--cache-max-messages", "10"][..],
        &["--cache-max-bytes", "1M"],
        &["--cache-capacity", "5"],
        &["--cache-partition", "p"],
    ] {
        let err = env.fails(&args(&with_dir, flag), USAGE);
        assert!(err.contains("--cache-max-age"), "{flag:?}: {err}");
    }
    // Bad values.
    for (flag, value) in [
        ("--cache-max-age", "0"),
        ("--cache-max-age", "0.0001"),
        ("--cache-max-age", "-5"),
        ("--cache-max-age", "soon"),
        ("--cache-max-age", "inf"),
        ("--cache-max-messages", "0"),
        ("--cache-max-messages", "18446744073709551616"),
        ("--cache-max-messages", "many"),
        ("--cache-max-bytes", "0"),
        ("--cache-max-bytes", "9000P"),
        ("--cache-max-bytes", "8388608T"),
        ("--cache-capacity", "0"),
        ("--cache-partition", ""),
    ] {
        let pair = format!("{flag}={value}");
        let err = env.fails(&args(&with_dir, &["--cache-max-age", "60", &pair]), USAGE);
        assert!(err.contains(flag), "{pair}: {err}");
    }
    // The per-key limits are about encrypting: decrypt does not take them.
    let decrypt = ["decrypt", "-k", "a.key", "-i", "x", "--cache-max-age", "60"];
    env.fails(&args(&decrypt, &["--cache-max-messages", "10"]), USAGE);
    env.fails(&args(&decrypt, &["--cache-max-bytes", "10"]), USAGE);
    assert!(!env.exists("out"));
}

#[test]
fn a_failed_input_stops_the_run_and_leaves_no_partial_output() {
    let env = Env::new();
    env.keygen("a.key");
    env.keygen("other.key");
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    env.write("big", &big);
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "--output-dir",
        "enc",
        "-i",
        "plain.txt",
        "big",
    ]);
    let msg = env.read("enc/big.kmse");

    // The second message's last byte is flipped: the first is written, the
    // second fails its signature check at the very end, the third is not
    // started; an existing output of the failing one stays as it was.
    let mut tampered = msg.clone();
    *tampered.last_mut().unwrap() ^= 1;
    env.write("enc/bad.kmse", &tampered);
    std::fs::create_dir(env.path("dec")).unwrap();
    env.write("dec/bad", b"old");
    let decrypt = [
        "decrypt",
        "-k",
        "a.key",
        "--output-dir",
        "dec",
        "-i",
        "enc/plain.txt.kmse",
        "enc/bad.kmse",
        "enc/big.kmse",
    ];
    let err = env.fails(&decrypt, AUTHENTICATION);
    assert!(err.contains("'enc/bad.kmse'"), "{err}");
    assert_eq!(listing(&env, "dec"), ["bad", "plain.txt"]);
    assert_eq!(env.read("dec/bad"), b"old");
    assert_eq!(env.read("dec/plain.txt"), b"attack at dawn\n");

    // Truncated: malformed, and nothing of it is written.
    env.write("enc/bad.kmse", &msg[..msg.len() / 2]);
    std::fs::remove_file(env.path("dec/bad")).unwrap();
    let err = env.fails(&decrypt, MALFORMED);
    assert!(err.contains("'enc/bad.kmse'"), "{err}");
    assert_eq!(listing(&env, "dec"), ["plain.txt"]);

    // A key that unwraps nothing stops at the first input.
    let err = env.fails(
        &[
            "decrypt",
            "-k",
            "other.key",
            "--output-dir",
            "dec2",
            "-i",
            "enc/plain.txt.kmse",
            "enc/big.kmse",
        ],
        NO_KEY,
    );
    assert!(err.contains("'enc/plain.txt.kmse'"), "{err}");
    // The output directory it made for nothing is removed again.
    assert!(!env.exists("dec2"));

    // An input that cannot be read (a dangling symbolic link) is refused
    // before anything is written.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("gone", env.path("link")).unwrap();
        let err = env.fails(
            &[
                "encrypt",
                "-k",
                "a.key",
                "--output-dir",
                "enc2",
                "-i",
                "plain.txt",
                "link",
            ],
            IO,
        );
        assert!(err.contains("'link'"), "{err}");
        assert!(!env.exists("enc2"));
    }
}

#[test]
fn suffix_no_overwrite_and_an_output_that_is_a_directory() {
    let env = Env::new();
    env.keygen("a.key");
    env.write("b.txt", b"bee");
    let encrypt = ["encrypt", "-k", "a.key", "-i", "b.txt"];
    let decrypt = ["decrypt", "-k", "a.key", "-i"];
    // --suffix names the outputs of encrypt, and decrypt removes it.
    let suffix = ["--suffix", ".encrypted"];
    env.ok(&args(
        &args(&encrypt, &["plain.txt", "--output-dir", "enc"]),
        &suffix,
    ));
    assert_eq!(
        listing(&env, "enc"),
        ["b.txt.encrypted", "plain.txt.encrypted"]
    );
    env.ok(&args(
        &args(&decrypt, &["enc/b.txt.encrypted", "--output-dir", "dec"]),
        &suffix,
    ));
    assert_eq!(env.read("dec/b.txt"), b"bee");
    let err = env.fails(
        &args(&encrypt, &["--output-dir", "x", "--suffix", "a/b"]),
        USAGE,
    );
    assert!(err.contains("suffix"), "{err}");
    let err = env.fails(
        &args(&encrypt, &["-o", "x", "--suffix", ".e"]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("--output-dir"), "{err}");

    // --no-overwrite refuses an existing output, before anything is written.
    env.write("taken.kmse", b"keep me");
    let err = env.fails(
        &args(&encrypt, &["-o", "taken.kmse", "--no-overwrite"]),
        BAD_ARGUMENT,
    );
    assert!(
        err.contains("taken.kmse") && err.contains("--no-overwrite"),
        "{err}"
    );
    assert_eq!(env.read("taken.kmse"), b"keep me");
    std::fs::create_dir(env.path("enc2")).unwrap();
    env.write("enc2/plain.txt.kmse", b"keep me too");
    let batch = ["plain.txt", "--output-dir", "enc2", "--no-overwrite"];
    let err = env.fails(&args(&encrypt, &batch), BAD_ARGUMENT);
    assert!(err.contains("plain.txt.kmse"), "{err}");
    assert_eq!(listing(&env, "enc2"), ["plain.txt.kmse"]);
    assert_eq!(env.read("enc2/plain.txt.kmse"), b"keep me too");
    // Without it, the output is replaced; a new output is fine with it.
    env.ok(&args(&encrypt, &["-o", "taken.kmse"]));
    env.ok(&args(&encrypt, &["-o", "fresh.kmse", "--no-overwrite"]));
    // A device is written to, not replaced: nothing to refuse.
    #[cfg(unix)]
    env.ok(&args(&encrypt, &["-o", "/dev/null", "--no-overwrite"]));

    // -o naming a directory points to --output-dir.
    std::fs::create_dir(env.path("outdir")).unwrap();
    let err = env.fails(&args(&encrypt, &["-o", "outdir"]), BAD_ARGUMENT);
    assert!(
        err.contains("is a directory") && err.contains("--output-dir"),
        "{err}"
    );
}

#[test]
fn several_context_pairs_after_one_flag() {
    let env = Env::new();
    env.keygen("a.key");
    let pairs = ["-c", "a=1", "b=2", "-c", "c=3"];
    env.ok(&args(
        &["encrypt", "-k", "a.key", "-i", "plain.txt", "-o", "m"],
        &pairs,
    ));
    let header = MessageHeader::parse(&env.read("m"), None).unwrap().0;
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        assert_eq!(header.encryption_context.get(k), Some(v));
    }
    let decrypt = ["decrypt", "-k", "a.key", "-i", "m", "-o"];
    env.ok(&args(&decrypt, &["back", "-c", "a=1", "c=3"]));
    env.fails(&args(&decrypt, &["back2", "-c", "a=1", "c=4"]), POLICY);
}

#[cfg(unix)]
#[test]
fn an_output_that_links_to_an_input_is_refused_before_anything_is_written() {
    // out/a.txt.kmse is a symbolic link to the input c.txt: writing a's
    // output would replace c before c is read (a write replaces the file a
    // link points to), so the run is refused up front.
    let env = Env::new();
    env.keygen("a.key");
    std::fs::create_dir(env.path("in")).unwrap();
    std::fs::create_dir(env.path("out")).unwrap();
    env.write("in/a.txt", b"A");
    env.write("in/c.txt", b"C");
    std::os::unix::fs::symlink("../in/c.txt", env.path("out/a.txt.kmse")).unwrap();
    let err = env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--output-dir",
            "out",
            "-i",
            "in/a.txt",
            "in/c.txt",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("would replace the input 'in/c.txt'"), "{err}");
    assert_eq!(env.read("in/c.txt"), b"C");
    assert_eq!(listing(&env, "out"), ["a.txt.kmse"]);
    // A link that leads nowhere: where it would lead once the run has
    // written other outputs is unknown, so it is refused and kept.
    std::fs::remove_file(env.path("out/a.txt.kmse")).unwrap();
    std::os::unix::fs::symlink("gone", env.path("out/a.txt.kmse")).unwrap();
    let err = env.fails(
        &[
            "encrypt",
            "-k",
            "a.key",
            "--output-dir",
            "out",
            "-i",
            "in/a.txt",
        ],
        BAD_ARGUMENT,
    );
    assert!(err.contains("leads nowhere"), "{err}");
    assert!(std::fs::symlink_metadata(env.path("out/a.txt.kmse"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!env.exists("gone") && !env.exists("out/gone"));
}

#[cfg(unix)]
#[test]
fn no_overwrite_keeps_a_file_that_appears_while_the_command_runs() {
    // The input is a FIFO, so the command waits for it after its checks; the
    // output appears meanwhile. Whenever it appears (before the checks too),
    // it is kept and the command fails with status 3.
    let env = Env::new();
    env.keygen("a.key");
    let fifo = env.path("in.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let child = std::process::Command::new(BIN)
        .args([
            "encrypt",
            "-k",
            "a.key",
            "-i",
            "in.fifo",
            "-o",
            "race.out",
            "--no-overwrite",
        ])
        .current_dir(env.path("."))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    env.write("race.out", b"the user's data");
    {
        // Opening the FIFO for writing lets the command read its input; a
        // command that already failed has no reader, so the open would wait:
        // non-blocking, that is ENXIO, and there is nothing to feed.
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(mut w) = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0o4000) // O_NONBLOCK
            .open(&fifo)
        {
            use std::io::Write;
            let _ = w.write_all(b"plaintext");
        }
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(BAD_ARGUMENT), "{stderr}");
    assert!(stderr.contains("--no-overwrite"), "{stderr}");
    assert_eq!(env.read("race.out"), b"the user's data");
    assert!(
        listing(&env, ".").iter().all(|n| !n.contains(".partial")),
        "{:?}",
        listing(&env, ".")
    );
}

/// `-r`: every file under a directory, the outputs mirroring its
/// subdirectories; links to directories not followed, special files and
/// the output directory itself skipped.
#[test]
fn recursive_inputs_mirror_their_directories() {
    let encrypt_with = |more: &[&'static str]| args(&["encrypt", "-k", "a.key"], more);
    let env = Env::new();
    env.keygen("a.key");
    for dir in ["data/sub/deeper", "other"] {
        std::fs::create_dir_all(env.path(dir)).unwrap();
    }
    env.write("data/a.txt", b"top");
    env.write("data/sub/b.txt", b"middle");
    env.write("data/sub/deeper/c.txt", b"bottom");
    env.write("other/a.txt", b"same name as data/a.txt");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("sub", env.path("data/loop")).unwrap();
        std::os::unix::fs::symlink("a.txt", env.path("data/alias")).unwrap();
        std::os::unix::fs::symlink("nowhere", env.path("data/dangling")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(env.path("data/fifo"))
            .status()
            .unwrap();
        assert!(made.success());
    }
    let enc = [
        "encrypt",
        "-k",
        "a.key",
        "-r",
        "-i",
        "data",
        "--output-dir",
        "sealed",
    ];
    env.ok(&enc);
    let mut expected = vec!["a.txt.kmse", "sub"];
    if cfg!(unix) {
        expected.insert(1, "alias.kmse");
    }
    assert_eq!(listing(&env, "sealed"), expected);
    assert_eq!(listing(&env, "sealed/sub"), ["b.txt.kmse", "deeper"]);
    assert_eq!(listing(&env, "sealed/sub/deeper"), ["c.txt.kmse"]);
    env.ok(&[
        "decrypt",
        "-k",
        "a.key",
        "-r",
        "-i",
        "sealed",
        "--output-dir",
        "opened",
    ]);
    assert_eq!(env.read("opened/a.txt"), b"top");
    assert_eq!(env.read("opened/sub/b.txt"), b"middle");
    assert_eq!(env.read("opened/sub/deeper/c.txt"), b"bottom");

    // An output directory inside the input: never read as input.
    let inside = [
        "encrypt",
        "-k",
        "a.key",
        "-r",
        "-i",
        "data",
        "--output-dir",
        "data/sealed",
    ];
    env.ok(&inside);
    env.ok(&inside);
    assert_eq!(listing(&env, "data/sealed/sub"), ["b.txt.kmse", "deeper"]);
    assert!(!env.exists("data/sealed/sealed"));

    // Refusals: two files for one output, -r without --output-dir, a
    // directory without -r.
    let err = env.fails(
        &encrypt_with(&["-r", "-i", "data", "other", "--output-dir", "x"]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("would both be written to"), "{err}");
    let err = env.fails(&encrypt_with(&["-r", "-i", "data/a.txt"]), BAD_ARGUMENT);
    assert!(err.contains("--output-dir"), "{err}");
    let err = env.fails(
        &encrypt_with(&["-i", "data", "--output-dir", "x"]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("or -r"), "{err}");
    assert!(!env.exists("x"));

    // The input as its own output directory (by name or through a link).
    let err = env.fails(
        &encrypt_with(&["-r", "-i", "data", "--output-dir", "data"]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("is the input directory"), "{err}");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("data", env.path("data-link")).unwrap();
        let err = env.fails(
            &encrypt_with(&["-r", "-i", "data", "--output-dir", "data-link"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("is the input directory"), "{err}");
    }
    // An output that is also a directory of outputs, refused before anything is written.
    std::fs::create_dir_all(env.path("clash/x.kmse")).unwrap();
    env.write("clash/x", b"file");
    env.write("clash/x.kmse/y", b"under");
    let err = env.fails(
        &encrypt_with(&["-r", "-i", "clash", "--output-dir", "clashed"]),
        BAD_ARGUMENT,
    );
    assert!(
        err.contains("both an output and a directory of outputs"),
        "{err}"
    );
    assert!(!env.exists("clashed"));
    // A file in DIR where -r needs a subdirectory.
    std::fs::create_dir_all(env.path("taken")).unwrap();
    env.write("taken/sub", b"in the way");
    let err = env.fails(
        &encrypt_with(&["-r", "-i", "data", "--output-dir", "taken"]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("is not a directory"), "{err}");
    assert_eq!(listing(&env, "taken"), ["sub"]);
    // Two outputs that a link in DIR makes one file.
    #[cfg(unix)]
    {
        for d in ["two/a", "two/b", "linked"] {
            std::fs::create_dir_all(env.path(d)).unwrap();
        }
        env.write("two/a/x", b"A");
        env.write("two/b/x", b"B");
        std::os::unix::fs::symlink("a", env.path("linked/b")).unwrap();
        let two = [
            "encrypt",
            "-k",
            "a.key",
            "-r",
            "-i",
            "two",
            "--output-dir",
            "linked",
        ];
        let err = env.fails(&two, BAD_ARGUMENT);
        assert!(err.contains("is a link that leads nowhere"), "{err}");
        std::fs::create_dir(env.path("linked/a")).unwrap();
        let err = env.fails(&two, BAD_ARGUMENT);
        assert!(err.contains("are the same file"), "{err}");
        assert_eq!(listing(&env, "linked"), ["a", "b"]);
        assert!(listing(&env, "linked/a").is_empty());
    }
    env.write("b.txt", b"b");
    #[cfg(unix)]
    {
        // A link higher up in DIR, and a link that leads nowhere yet but to
        // another output's name.
        for d in ["deep/x/b", "deep/a/b", "deepout/x"] {
            std::fs::create_dir_all(env.path(d)).unwrap();
        }
        env.write("deep/x/b/f", b"X");
        env.write("deep/a/b/f", b"A");
        std::os::unix::fs::symlink("x", env.path("deepout/a")).unwrap();
        let err = env.fails(
            &encrypt_with(&["-r", "-i", "deep", "--output-dir", "deepout"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("are the same file"), "{err}");
        assert_eq!(listing(&env, "deepout/x"), Vec::<String>::new());
        std::fs::create_dir_all(env.path("pair")).unwrap();
        std::os::unix::fs::symlink("a.txt.kmse", env.path("pair/b.txt.kmse")).unwrap();
        let err = env.fails(
            &encrypt_with(&["-i", "data/a.txt", "b.txt", "--output-dir", "pair"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("leads nowhere"), "{err}");
        // Through '..' in a subdirectory the run makes, to an input.
        for d in ["dots/sub", "dotsout"] {
            std::fs::create_dir_all(env.path(d)).unwrap();
        }
        env.write("dots/b", b"b");
        env.write("dots/sub/c", b"c");
        env.write("dotsout/a", b"PRECIOUS");
        std::os::unix::fs::symlink("sub/../a", env.path("dotsout/b.kmse")).unwrap();
        let err = env.fails(
            &encrypt_with(&["-r", "-i", "dots", "dotsout/a", "--output-dir", "dotsout"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("leads nowhere"), "{err}");
        assert_eq!(env.read("dotsout/a"), b"PRECIOUS");
        // Devices are written in place: two outputs may be /dev/null.
        std::fs::create_dir_all(env.path("null")).unwrap();
        for name in ["a.txt.kmse", "b.txt.kmse"] {
            std::os::unix::fs::symlink("/dev/null", env.path(&format!("null/{name}"))).unwrap();
        }
        env.ok(&encrypt_with(&[
            "-i",
            "data/a.txt",
            "b.txt",
            "--output-dir",
            "null",
        ]));
    }
    // A DIR still to make, through '..': refused, the input kept.
    let err = env.fails(
        &encrypt_with(&["-i", "data/a.txt", "--output-dir", "nothere/../data"]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("goes through '..'"), "{err}");
    assert!(!env.exists("nothere"));
    // Through '..' after directories that exist: an ordinary name.
    env.ok(&encrypt_with(&[
        "-i",
        "data/a.txt",
        "--output-dir",
        "data/../dotok",
    ]));
    assert_eq!(listing(&env, "dotok"), ["a.txt.kmse"]);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("not-made", env.path("dir-link")).unwrap();
        let err = env.fails(
            &encrypt_with(&["-i", "data/a.txt", "--output-dir", "dir-link"]),
            BAD_ARGUMENT,
        );
        assert!(err.contains("is a link that leads nowhere"), "{err}");
        assert!(!env.exists("not-made"));
        for under in ["dir-link/sub", "dir-link/../x"] {
            let err = env.fails(
                &encrypt_with(&["-i", "data/a.txt", "--output-dir", under]),
                BAD_ARGUMENT,
            );
            assert!(
                err.contains("not a directory") || err.contains("'..'"),
                "{under}: {err}"
            );
        }
    }
    // A directory where an output goes: refused before the first output.
    std::fs::create_dir_all(env.path("busy/b.txt.kmse")).unwrap();
    let err = env.fails(
        &encrypt_with(&["-i", "data/a.txt", "b.txt", "--output-dir", "busy"]),
        BAD_ARGUMENT,
    );
    assert!(
        err.contains("is a directory, where an output goes"),
        "{err}"
    );
    assert_eq!(listing(&env, "busy"), ["b.txt.kmse"]);
    // Refused by --metadata-output: the directories made for the run are removed.
    let err = env.fails(
        &encrypt_with(&[
            "-r",
            "-i",
            "data",
            "--output-dir",
            "unmade",
            "--metadata-output",
            "a.key",
        ]),
        BAD_ARGUMENT,
    );
    assert!(err.contains("is also a key file"), "{err}");
    assert!(!env.exists("unmade"));
    // An empty input directory: nothing to do, DIR made all the same.
    std::fs::create_dir_all(env.path("empty")).unwrap();
    env.ok(&encrypt_with(&[
        "-r",
        "-i",
        "empty",
        "--output-dir",
        "made",
    ]));
    assert!(listing(&env, "made").is_empty());
}
