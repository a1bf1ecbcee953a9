//! Streaming `encrypt` and `decrypt`: round trips of many sizes and suites
//! through files and standard streams, thread counts, and the release rules:
//! a message cut short or tampered with always ends in a non-zero status,
//! never leaves an output file, and (without `--release-unverified`) never
//! puts a signed message's plaintext on stdout.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const FRAME: usize = 4096;
/// Bytes of a regular frame on the wire: sequence number, IV, content, tag.
const FRAME_WIRE: usize = 4 + 12 + FRAME + 16;

/// `len` bytes that differ from frame to frame.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// The suites under test, with the policy flags each one needs.
const SUITES: [(&str, &[&str]); 3] = [
    ("0478", &[]),
    ("0578", &[]),
    (
        "0378",
        &["--commitment-policy", "forbid-encrypt-allow-decrypt"],
    ),
];

fn args<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

/// Length of a signed message's footer (2-byte length + DER signature).
fn footer_len(msg: &[u8]) -> usize {
    for sig in 100..=106 {
        let at = msg.len() - sig - 2;
        if usize::from(u16::from_be_bytes([msg[at], msg[at + 1]])) == sig {
            return sig + 2;
        }
    }
    panic!("no ECDSA P-384 footer found");
}

/// A message's length without its footer, whose DER signature varies in length.
fn unsigned_len(msg: &[u8], suite: &str) -> usize {
    if suite != "0478" {
        msg.len() - footer_len(msg)
    } else {
        msg.len()
    }
}

#[test]
fn round_trips_across_sizes_and_suites() {
    let env = Env::new();
    env.keygen("a.key");
    let sizes = [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * 1024 * 1024 + 17];
    for (suite, policy) in SUITES {
        for (i, &size) in sizes.iter().enumerate() {
            let plain = pattern(size);
            env.write("p.bin", &plain);
            let threads = if i % 2 == 0 { "1" } else { "2" };
            let enc = args(
                &[
                    "encrypt",
                    "-q",
                    "-k",
                    "a.key",
                    "--suite",
                    suite,
                    "--threads",
                    threads,
                ],
                policy,
            );
            let dec = args(
                &["decrypt", "-q", "-k", "a.key", "--threads", threads],
                policy,
            );
            // File to file (the size is known) and stdin to stdout (it is not).
            env.ok(&args(&enc, &["-i", "p.bin", "-o", "c1.bin"]));
            let c2 = env.ok_stdin(&enc, &plain).stdout;
            assert_eq!(
                env.inspect("c1.bin")["algorithm_suite"]["id"],
                suite,
                "{suite}"
            );
            assert_eq!(
                unsigned_len(&env.read("c1.bin"), suite),
                unsigned_len(&c2, suite),
                "{suite} {size}"
            );
            // Each decrypted the other way round.
            let out = env.ok_stdin(&dec, &env.read("c1.bin")).stdout;
            assert!(out == plain, "{suite} {size}: stdout differs");
            env.write("c2.bin", &c2);
            env.ok(&args(&dec, &["-i", "c2.bin", "-o", "d.bin"]));
            assert!(env.read("d.bin") == plain, "{suite} {size}: file differs");
            assert_eq!(
                env.files(),
                ["a.key", "c1.bin", "c2.bin", "d.bin", "p.bin", "plain.txt"]
            );
        }
    }
}

#[test]
fn thread_counts_agree() {
    let env = Env::new();
    env.keygen("a.key");
    let plain = pattern(5 * 1024 * 1024 + 123);
    env.write("p.bin", &plain);
    for suite in ["0478", "0578"] {
        for t in ["1", "2"] {
            let out = format!("c{t}.bin");
            env.ok(&[
                "encrypt",
                "-k",
                "a.key",
                "--suite",
                suite,
                "--threads",
                t,
                "-i",
                "p.bin",
                "-o",
                &out,
            ]);
        }
        let (c1, c2) = (env.read("c1.bin"), env.read("c2.bin"));
        assert_eq!(unsigned_len(&c1, suite), unsigned_len(&c2, suite));
        for (msg, t) in [
            ("c1.bin", "2"),
            ("c2.bin", "1"),
            ("c1.bin", "1"),
            ("c2.bin", "2"),
        ] {
            env.ok(&[
                "decrypt",
                "-k",
                "a.key",
                "--threads",
                t,
                "-i",
                msg,
                "-o",
                "d.bin",
            ]);
            assert!(
                env.read("d.bin") == plain,
                "{suite}: {msg} with {t} threads"
            );
        }
    }
    env.fails(
        &["encrypt", "-k", "a.key", "--threads", "0", "-i", "p.bin"],
        USAGE,
    );
}

#[test]
fn truncated_messages_fail_and_leave_no_file() {
    let env = Env::new();
    env.keygen("a.key");
    let plain = pattern(5 * FRAME + 100);
    env.write("p.bin", &plain);
    for suite in ["0478", "0578"] {
        env.ok(&[
            "encrypt", "-k", "a.key", "--suite", suite, "-i", "p.bin", "-o", "m.bin",
        ]);
        let msg = env.read("m.bin");
        let header_len = env.inspect("m.bin")["header_length"].as_u64().unwrap() as usize;
        let mut cuts = vec![
            0,
            1,
            header_len - 1,
            header_len,
            header_len + 1,
            // Right after whole regular frames: the cut most like a clean end.
            header_len + FRAME_WIRE,
            header_len + 3 * FRAME_WIRE,
            header_len + 5 * FRAME_WIRE,
            msg.len() - 1,
        ];
        if suite == "0578" {
            cuts.push(msg.len() - footer_len(&msg)); // no footer at all
        }
        for cut in cuts {
            let bad = &msg[..cut];
            env.write("bad.bin", bad);
            env.fails(
                &["decrypt", "-k", "a.key", "-i", "bad.bin", "-o", "out.bin"],
                MALFORMED,
            );
            assert_eq!(
                env.files(),
                ["a.key", "bad.bin", "m.bin", "p.bin", "plain.txt"]
            );
            let dec = ["decrypt", "-k", "a.key"];
            if suite == "0578" {
                // Signed: nothing reaches stdout before the signature.
                env.fails_stdin(&dec, bad, MALFORMED);
            } else {
                // Unsigned: authenticated frames may have been written, but
                // the status says the stream was cut.
                let out = env.run_stdin(&dec, bad);
                assert_eq!(out.status.code(), Some(MALFORMED), "{suite} cut at {cut}");
                assert!(out.stdout.len() < plain.len());
                assert!(plain.starts_with(&out.stdout));
            }
        }
    }
}

#[test]
fn tampered_signed_message_releases_no_unverified_plaintext() {
    let env = Env::new();
    env.keygen("a.key");
    let plain = pattern(12 * FRAME + 500);
    env.write("p.bin", &plain);
    env.ok(&["encrypt", "-k", "a.key", "-i", "p.bin", "-o", "m.bin"]);
    let msg = env.read("m.bin");
    let footer = footer_len(&msg);
    // The last byte of the final frame's tag, and a byte of the signature.
    for pos in [msg.len() - footer - 1, msg.len() - 5] {
        let mut bad = msg.clone();
        bad[pos] ^= 0x01;
        env.write("bad.bin", &bad);
        env.fails(
            &["decrypt", "-k", "a.key", "-i", "bad.bin", "-o", "out.bin"],
            AUTHENTICATION,
        );
        assert!(!env.exists("out.bin"));
        assert_eq!(
            env.files(),
            ["a.key", "bad.bin", "m.bin", "p.bin", "plain.txt"]
        );
        // stdout: nothing without the opt-in ...
        env.fails_stdin(&["decrypt", "-k", "a.key"], &bad, AUTHENTICATION);
        // ... and with it, the verified frames but never the final one, and
        // a failure status all the same.
        let out = env.run_stdin(&["decrypt", "-k", "a.key", "--release-unverified"], &bad);
        assert_eq!(out.status.code(), Some(AUTHENTICATION));
        assert!(plain.starts_with(&out.stdout));
        assert!(out.stdout.len() <= 12 * FRAME, "{}", out.stdout.len());
    }
    // Intact, --release-unverified gives everything.
    let out = env.ok_stdin(&["decrypt", "-k", "a.key", "--release-unverified"], &msg);
    assert!(out.stdout == plain);
}

#[test]
fn unsigned_only_and_size_limits() {
    let env = Env::new();
    env.keygen("a.key");
    let plain = pattern(50_000);
    env.write("p.bin", &plain);
    env.ok(&["encrypt", "-k", "a.key", "-i", "p.bin", "-o", "signed.bin"]);
    env.ok(&[
        "encrypt",
        "-k",
        "a.key",
        "--suite",
        "0478",
        "-i",
        "p.bin",
        "-o",
        "unsigned.bin",
    ]);
    fn decrypt<'a>(input: &'a str, more: &[&'a str]) -> Vec<&'a str> {
        args(
            &["decrypt", "-k", "a.key", "-i", input, "-o", "out.bin"],
            more,
        )
    }
    let clean = ["a.key", "p.bin", "plain.txt", "signed.bin", "unsigned.bin"];

    let err = env.fails(&decrypt("signed.bin", &["--unsigned-only"]), POLICY);
    assert!(err.contains("unsigned"), "{err}");
    assert_eq!(env.files(), clean);
    env.ok(&decrypt("unsigned.bin", &["--unsigned-only"]));
    assert!(env.read("out.bin") == plain);
    std::fs::remove_file(env.path("out.bin")).unwrap();

    // Frames larger than allowed (the message says what raises the limit),
    // bodies larger than allowed.
    let err = env.fails(
        &decrypt("unsigned.bin", &["--max-frame-size", "1K"]),
        POLICY,
    );
    assert!(err.contains("max frame size"), "{err}");
    env.fails(
        &decrypt("signed.bin", &["--max-body-size", "40000"]),
        POLICY,
    );
    assert_eq!(env.files(), clean);
    env.ok(&decrypt(
        "signed.bin",
        &["--max-body-size", "50000", "--max-frame-size", "4K"],
    ));
    std::fs::remove_file(env.path("out.bin")).unwrap();

    // A signed message larger than stdout may hold: a clear refusal and no
    // output; a file, or the opt-in, work.
    let signed = env.read("signed.bin");
    let small = ["decrypt", "-k", "a.key", "--max-buffered-plaintext", "16K"];
    let err = env.fails_stdin(&small, &signed, POLICY);
    assert!(
        err.contains("--release-unverified") && err.contains("-o FILE"),
        "{err}"
    );
    let out = env.ok_stdin(&args(&small, &["--release-unverified"]), &signed);
    assert!(out.stdout == plain);
    env.ok(&args(&small, &["-i", "signed.bin", "-o", "out.bin"]));
    assert!(env.read("out.bin") == plain);
    // The stdout limit does not apply where only the final frame is held.
    let tiny = ["decrypt", "-k", "a.key", "--max-buffered-plaintext", "1K"];
    env.ok(&args(&tiny, &["-i", "signed.bin", "-o", "out.bin"]));
    assert!(env.read("out.bin") == plain);
    let out = env.ok_stdin(&args(&tiny, &["--release-unverified"]), &signed);
    assert!(out.stdout == plain);
    // Unsigned messages are never held.
    let out = env.ok_stdin(&small, &env.read("unsigned.bin"));
    assert!(out.stdout == plain);

    env.fails(
        &args(&small[..3], &["--max-buffered-plaintext", "lots"]),
        USAGE,
    );
}

#[test]
fn quiet_runs_print_nothing_on_stderr() {
    let env = Env::new();
    env.keygen("a.key");
    env.write("p.bin", &pattern(300_000));
    for quiet in [&["--quiet"][..], &["-q"], &[]] {
        let out = env.ok(&args(
            &["encrypt", "-k", "a.key", "-i", "p.bin", "-o", "m.bin"],
            quiet,
        ));
        assert!(out.stderr.is_empty() && out.stdout.is_empty());
        let out = env.ok(&args(&["decrypt", "-k", "a.key", "-i", "m.bin"], quiet));
        assert!(out.stderr.is_empty());
        assert_eq!(out.stdout.len(), 300_000);
    }
}

/// Starts `args` with `stdin` fed but left open, waits until the staging
/// file of `out` holds data, sends `signal` and waits for the end. Returns the
/// exit status.
#[cfg(unix)]
fn interrupt(
    env: &Env,
    args: &[&str],
    stdin: &[u8],
    out: &str,
    signal: &str,
) -> std::process::ExitStatus {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    let prefix = format!(".{out}.partial-");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let partial = env.files().into_iter().find(|f| f.starts_with(&prefix));
        if let Some(p) = partial {
            if std::fs::metadata(env.path(&p)).map_or(0, |m| m.len()) > 0 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "{args:?}: no output written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    drop(input);
    status
}

#[cfg(unix)]
#[test]
fn interrupted_commands_leave_no_output_file() {
    use std::os::unix::process::ExitStatusExt;

    let env = Env::new();
    env.keygen("a.key");
    let plain = pattern(3 << 20);
    env.write("p.bin", &plain);
    env.ok(&["encrypt", "-k", "a.key", "-i", "p.bin", "-o", "m.bin"]);
    let msg = env.read("m.bin");
    let clean = ["a.key", "m.bin", "p.bin", "plain.txt"];
    // Half the input arrives, then the command is stopped mid-stream.
    let encrypt = ["encrypt", "-k", "a.key", "--threads", "1", "-o", "c.bin"];
    let decrypt = ["decrypt", "-k", "a.key", "--threads", "1", "-o", "d.bin"];
    for (args, input, out) in [
        (&encrypt, &plain[..plain.len() / 2], "c.bin"),
        (&decrypt, &msg[..msg.len() / 2], "d.bin"),
    ] {
        for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
            let status = interrupt(&env, args, input, out, signal);
            // Died of the signal, as without a handler, after cleaning up.
            assert_eq!(
                status.signal(),
                Some(number),
                "{args:?} {signal}: {status:?}"
            );
            assert_eq!(env.files(), clean, "{args:?} {signal}");
        }
        // SIGKILL cannot be caught: the hidden staging file stays, but
        // nothing partial ever appears under the output name.
        let status = interrupt(&env, args, input, out, "KILL");
        assert_eq!(status.signal(), Some(9));
        assert!(!env.exists(out));
        let left: Vec<String> = env
            .files()
            .into_iter()
            .filter(|f| !clean.contains(&f.as_str()))
            .collect();
        assert_eq!(left.len(), 1);
        assert!(left[0].starts_with(&format!(".{out}.partial-")), "{left:?}");
        std::fs::remove_file(env.path(&left[0])).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_removes_the_output_directories_it_made() {
    use std::os::unix::process::ExitStatusExt;

    let env = Env::new();
    env.keygen("a.key");
    let made = Command::new("mkfifo")
        .arg(env.path("fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = Command::new(BIN)
        .args([
            "encrypt",
            "-k",
            "a.key",
            "--threads",
            "1",
            "-i",
            "fifo",
            "--output-dir",
            "new/sub",
        ])
        .current_dir(env.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Opening the FIFO for writing waits for the command to open it.
    let mut feed = std::fs::OpenOptions::new()
        .write(true)
        .open(env.path("fifo"))
        .unwrap();
    feed.write_all(&pattern(1 << 20)).unwrap();
    let sub = env.path("new/sub");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let written = std::fs::read_dir(&sub).ok().and_then(|mut d| {
            let entry = d.next()?.ok()?;
            Some(entry.metadata().ok()?.len() > 0)
        });
        if written == Some(true) {
            break;
        }
        assert!(Instant::now() < deadline, "no output written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    drop(feed);
    assert_eq!(status.signal(), Some(2));
    // The staged file went, and with it the directories made for it.
    assert!(!env.exists("new"), "{:?}", env.files());
}
