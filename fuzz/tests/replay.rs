//! Replays every committed input through its target on stable Rust: the
//! seed corpus in `fuzz/corpus/<target>/` and the regression inputs (inputs
//! that once found a bug) in `tests/fuzz-regressions/<target>/` at the
//! repository's root. Run by `make test`.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use kms_envelope_fuzz::TARGETS;

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.is_file() && !path.ends_with("README.md"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8]), dir: &Path) -> usize {
    let files = inputs(dir);
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).expect("readable input");
        if panic::catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "target {target}: {} input(s) fail: {failures:?}",
        failures.len()
    );
    files.len()
}

#[test]
fn seed_corpus_and_regressions_pass_every_target() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let regressions = fuzz_dir.join("../tests/fuzz-regressions");
    for &(target, run) in TARGETS {
        let seeds = replay(target, run, &fuzz_dir.join("corpus").join(target));
        assert!(seeds > 0, "target {target} has no seed corpus");
        let found = replay(target, run, &regressions.join(target));
        println!("{target}: {seeds} seed inputs, {found} regression inputs");
    }
}

/// The targets themselves must be able to fail: an input that breaks a
/// property is reported, not swallowed.
#[test]
fn a_broken_property_is_a_failure() {
    let broken: fn(&[u8]) = |data| assert!(data.is_empty(), "property broken");
    let dir = std::env::temp_dir().join(format!("kms-envelope-fuzz-replay-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    fs::write(dir.join("input"), b"x").expect("write input");
    let outcome = panic::catch_unwind(|| replay("broken", broken, &dir));
    fs::remove_dir_all(&dir).expect("remove temp dir");
    assert!(outcome.is_err());
}

/// The `decrypt` seeds reach the body: the vectors' keys unwrap them, so
/// mutations exercise frames and footers, not only the key lookup.
#[test]
fn decrypt_seeds_decrypt() {
    use kms_envelope::{Client, CommitmentPolicy};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decrypt");
    let client = Client::builder()
        .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build();
    let keyring = kms_envelope_fuzz::keys::vector_keyring();
    let files = inputs(&dir);
    let decrypted = files
        .iter()
        .filter(|file| {
            let data = fs::read(file).expect("readable input");
            client
                .decrypt(&data)
                .keyring(keyring.as_ref())
                .run()
                .is_ok()
        })
        .count();
    println!("{decrypted} of {} decrypt seeds decrypt", files.len());
    // The rest are the invalid vectors (net-4.0.0-invalid), RSA-wrapped ones
    // and ones that need a reproduced context: seeds for the error paths.
    assert!(
        decrypted * 2 >= files.len(),
        "{decrypted} of {}",
        files.len()
    );
}
