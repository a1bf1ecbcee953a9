//! Helpers shared by the CLI integration tests: run the `kms-envelope`
//! binary as a subprocess inside a temporary directory.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_kms-envelope");

// Exit statuses (README-cli.md).
pub const USAGE: i32 = 2;
pub const BAD_ARGUMENT: i32 = 3;
pub const IO: i32 = 4;
pub const MALFORMED: i32 = 5;
pub const AUTHENTICATION: i32 = 6;
pub const NO_KEY: i32 = 7;
pub const POLICY: i32 = 8;

/// Runs the binary in `dir` with `args`, feeding `stdin` from another thread
/// (the command streams, so it writes output while input is still coming).
pub fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The command may exit before reading its input; ignore the broken pipe.
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    output
}

pub struct Env {
    pub dir: TempDir,
}

impl Env {
    pub fn new() -> Self {
        let env = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        env.write("plain.txt", b"attack at dawn\n");
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, data: &[u8]) {
        std::fs::write(self.path(name), data).unwrap();
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// The names in the directory, sorted (temporary files included).
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args, b"")
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        run_in(self.dir.path(), args, stdin)
    }

    /// Runs and asserts success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs with `stdin` and asserts success.
    pub fn ok_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let out = self.run_stdin(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs and asserts the exit status and a one-line error message.
    pub fn fails(&self, args: &[&str], status: i32) -> String {
        self.fails_stdin(args, b"", status)
    }

    pub fn fails_stdin(&self, args: &[&str], stdin: &[u8], status: i32) -> String {
        let out = self.run_stdin(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
        if status != USAGE {
            assert!(stderr.starts_with("kms-envelope: error: "), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
        stderr
    }

    /// Asserts that `name` is readable and writable by its owner only (on
    /// Unix; elsewhere there is nothing to check).
    pub fn assert_private(&self, name: &str) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(self.path(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name} is not private");
        }
    }

    pub fn keygen(&self, name: &str) {
        self.ok(&["keygen", "--out", name]);
    }

    pub fn inspect(&self, name: &str) -> Value {
        let out = self.ok(&["inspect", name]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Writes the RSA-2048 test key pair from the interop keys manifest.
    pub fn rsa_keys(&self) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/interop-keys/keys.json"
        );
        let keys: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        for (entry, file) in [
            ("rsa-2048-private", "rsa.pem"),
            ("rsa-2048-public", "rsa.pub.pem"),
        ] {
            let pem = keys["keys"][entry]["material"].as_str().unwrap();
            self.write(file, pem.as_bytes());
        }
    }
}
