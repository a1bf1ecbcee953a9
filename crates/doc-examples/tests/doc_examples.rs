//! Runs the documentation's Rust examples that need no network, and checks
//! that none went missing.
//!
//! `local_sections_run` changes the process's current directory (the
//! examples open relative paths such as `big.bin`). Every other test in
//! this file must therefore not touch the file system through relative
//! paths; tests that do belong in another file (another process).

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::panic;
use std::path::PathBuf;

use kms_envelope_doc_examples::{given, SECTIONS};

/// How many ```rust blocks each file holds. Update this when a block is
/// added or removed on purpose; an unexpected change means a block
/// stopped being compiled (a renamed fence, a moved file).
const BLOCKS_PER_FILE: &[(&str, usize)] = &[("README.md", 6)];

/// The sections that run; all others are only compiled.
const RUN: &[&str] = &["readme_1", "readme_2_3_4"];

/// The sections only compiled, because they need AWS KMS or a KMS server.
const COMPILE_ONLY: &[&str] = &["readme_5_6"];

#[test]
fn every_block_is_covered() {
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    for section in SECTIONS {
        *found.entry(section.file).or_default() += section.blocks.len();
    }
    let expected: BTreeMap<&str, usize> = BTreeMap::from_iter(BLOCKS_PER_FILE.iter().copied());
    assert_eq!(found, expected, "```rust blocks per file");

    let run: Vec<&str> = SECTIONS
        .iter()
        .filter(|s| !s.needs_network)
        .map(|s| s.name)
        .collect();
    let compile_only: Vec<&str> = SECTIONS
        .iter()
        .filter(|s| s.needs_network)
        .map(|s| s.name)
        .collect();
    assert_eq!(run, RUN, "sections that run");
    assert_eq!(compile_only, COMPILE_ONLY, "sections only compiled");
}

/// Runs each section that needs no network in a fresh directory, one after
/// the other, and reports every failure (not only the first).
#[test]
fn local_sections_run() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("doc-examples");
    let previous = env::current_dir().expect("current directory");
    let mut failures = Vec::new();

    for section in SECTIONS.iter().filter(|s| !s.needs_network) {
        let dir = base.join(section.name);
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("remove the previous run's directory");
        }
        fs::create_dir_all(&dir).expect("create the section's directory");
        given::write_files(&dir).expect("write the input files");

        env::set_current_dir(&dir).expect("enter the section's directory");
        // A panic (a failed assert_eq! in a block) is reported like an error;
        // its message is already on stderr.
        let result = panic::catch_unwind(section.run);
        env::set_current_dir(&previous).expect("return to the previous directory");

        let lines: Vec<String> = section.blocks.iter().map(|b| b.line.to_string()).collect();
        let place = format!(
            "{} line {} ({})",
            section.file,
            lines.join(", "),
            section.name
        );
        let mut failure = match result {
            Err(_) => Some("panicked".to_string()),
            Ok(Err(e)) => Some(e.to_string()),
            Ok(Ok(())) => None,
        };
        // A section that decrypts into big.out must give back big.bin.
        let output = dir.join("big.out");
        if failure.is_none()
            && output.exists()
            && fs::read(&output).expect("read big.out") != given::plaintext()
        {
            failure = Some("big.out differs from big.bin".to_string());
        }
        match failure {
            // The directory stays, to look at what the section left.
            Some(failure) => failures.push(format!("{place}: {failure}")),
            None => {
                println!("ran {place}");
                fs::remove_dir_all(&dir).expect("remove the section's directory");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "documentation examples failed:\n{}",
        failures.join("\n")
    );
}
