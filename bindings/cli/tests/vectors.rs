//! The test-vector runners: every official ESDK vector in `shared/vectors/esdk`,
//! and our own `awses-encrypt` manifest written and read back.

use std::path::{Path, PathBuf};
use std::process::Command;

use kms_envelope_cli::vectors::{decrypt, encrypt, Outcome, Summary};

/// The official vectors: `$KMS_ENVELOPE_VECTORS`, or `../shared/vectors/esdk`
/// beside the workspace.
fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("KMS_ENVELOPE_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/vectors/esdk"
            ))
        });
    assert!(
        dir.join("index.json").is_file(),
        "ESDK vectors not found in {} (set KMS_ENVELOPE_VECTORS)",
        dir.display()
    );
    dir
}

fn workspace_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn failures(summary: &Summary) -> String {
    summary.report_lines(true).join("\n")
}

/// (manifest, positive cases, negative cases)
const MANIFESTS: [(&str, usize, usize); 6] = [
    ("c-from-dafny-4.1.0/decrypt-manifest.json", 187, 0),
    ("net-4.0.1/manifest.json", 99, 0),
    ("net-4.0.0-valid/manifest.json", 5, 0),
    ("net-4.0.0-invalid/manifest.json", 0, 28),
    ("python-commitment-kat/commitment-test-vectors.json", 41, 5),
    ("python-decrypt-oracle/decrypt_vectors.json", 18, 0),
];

#[test]
fn every_official_vector_passes() {
    let dir = vectors_dir();
    let (mut positive, mut negative) = (0, 0);
    for (manifest, want_positive, want_negative) in MANIFESTS {
        let summary = decrypt::run_manifest(&dir.join(manifest), None)
            .unwrap_or_else(|e| panic!("{manifest}: {e}"));
        assert_eq!(summary.failed(), 0, "{manifest}:\n{}", failures(&summary));
        assert_eq!(summary.skipped(), 0, "{manifest}:\n{}", failures(&summary));
        assert_eq!(summary.passed_positive(), want_positive, "{manifest}");
        assert_eq!(summary.passed_negative(), want_negative, "{manifest}");
        assert_eq!(
            summary.closing_line(),
            format!("{} passed, 0 failed", want_positive + want_negative)
        );
        positive += summary.passed_positive();
        negative += summary.passed_negative();
    }
    assert_eq!((positive, negative), (350, 33));
}

#[test]
fn filter_selects_cases_by_id() {
    let dir = vectors_dir();
    let one = decrypt::run_manifest(
        &dir.join("net-4.0.1/manifest.json"),
        Some("0578-ec_len_2-cmm_RequiredEncryptionContext"),
    )
    .unwrap();
    assert!(
        one.passed() >= 1 && one.passed() < 99,
        "{}",
        one.closing_line()
    );
    let kat = decrypt::run_manifest(
        &dir.join("python-commitment-kat/commitment-test-vectors.json"),
        Some("tests[1"),
    )
    .unwrap();
    // tests[1] and tests[10] .. tests[19]
    assert_eq!(kat.cases.len(), 11);
    assert_eq!(kat.failed(), 0, "{}", failures(&kat));
}

#[cfg(unix)]
#[test]
fn files_a_manifest_names_must_be_regular_and_bounded() {
    // A manifest naming /dev/zero (endless) or a FIFO (no writer: an open
    // that never returns) fails those cases instead of filling memory or
    // hanging.
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&vectors_dir().join("net-4.0.0-valid"), tmp.path());
    let fifo = tmp.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let manifest = tmp.path().join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let tests = m["tests"].as_object_mut().unwrap();
    let mut ids: Vec<String> = tests.keys().cloned().collect();
    ids.sort();
    tests[&ids[0]]["ciphertext"] = "file:///dev/zero".into();
    tests[&ids[1]]["ciphertext"] = "file://fifo".into();
    std::fs::write(&manifest, serde_json::to_vec(&m).unwrap()).unwrap();
    let summary = decrypt::run_manifest(&manifest, None).unwrap();
    assert_eq!(summary.failed(), 2, "{}", failures(&summary));
    let text = failures(&summary);
    assert_eq!(text.matches("not a regular file").count(), 2, "{text}");
}

#[test]
fn wrong_expected_plaintext_is_reported() {
    let dir = vectors_dir();
    let tmp = tempfile::tempdir().unwrap();
    // A copy of net-4.0.0-valid whose expected plaintext is altered.
    let src = dir.join("net-4.0.0-valid");
    copy_tree(&src, tmp.path());
    let small = tmp.path().join("plaintexts/small");
    let mut bytes = std::fs::read(&small).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&small, bytes).unwrap();
    let summary = decrypt::run_manifest(&tmp.path().join("manifest.json"), None).unwrap();
    assert_eq!(summary.failed(), 5);
    assert!(summary
        .cases
        .iter()
        .all(|c| matches!(&c.outcome, Outcome::Fail(why) if why.contains("byte 100"))));
    assert_eq!(summary.closing_line(), "0 passed, 5 failed");

    // Through the binary: FAIL lines, closing line, exit status 1.
    let out = Command::new(env!("CARGO_BIN_EXE_kms-envelope"))
        .args(["vectors", "decrypt"])
        .arg(tmp.path().join("manifest.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(
        lines[..5].iter().all(|l| l.starts_with("FAIL ")),
        "{stdout}"
    );
    assert_eq!(lines[5], "0 passed, 5 failed");
}

#[test]
fn bad_manifests_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let not_json = tmp.path().join("m.json");
    std::fs::write(&not_json, "{").unwrap();
    assert!(decrypt::run_manifest(&not_json, None).is_err());
    let encrypt_manifest = workspace_dir().join("tests/interop/encrypt-manifest.json");
    let err = decrypt::run_manifest(&encrypt_manifest, None)
        .err()
        .map(|e| e.message)
        .unwrap_or_default();
    assert!(err.contains("vectors encrypt"), "{err}");
    assert!(decrypt::run_manifest(&tmp.path().join("missing.json"), None).is_err());
}

#[test]
fn encrypt_manifest_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let manifest = workspace_dir().join("tests/interop/encrypt-manifest.json");
    let written = encrypt::run_manifest(&manifest, &out, None).unwrap();
    assert_eq!(written.failed(), 0, "{}", failures(&written));
    assert_eq!(written.closing_line(), "112 passed, 0 failed, 2 skipped");
    assert!(out.join("keys.json").is_file());
    assert_eq!(
        std::fs::read(out.join("plaintexts/p70000"))
            .map(|p| p.len())
            .unwrap_or(0),
        70000
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["manifest"]["type"], "awses-decrypt");
    assert_eq!(manifest["manifest"]["version"], 3);
    assert_eq!(manifest["tests"].as_object().map(|t| t.len()), Some(112));
    let case = &manifest["tests"]["enc-0014-aes192-f2-p3-unicode"];
    assert_eq!(case["encryption-context"]["café"], "crème brûlée");
    assert_eq!(
        case["result"]["output"]["plaintext"],
        "file://plaintexts/p3"
    );

    let read = decrypt::run_manifest(&out.join("manifest.json"), None).unwrap();
    assert_eq!(read.failed(), 0, "{}", failures(&read));
    assert_eq!(read.closing_line(), "112 passed, 0 failed");

    // The binary prints the same closing lines.
    let bin = env!("CARGO_BIN_EXE_kms-envelope");
    let out2 = tmp.path().join("out2");
    let run = Command::new(bin)
        .args(["vectors", "encrypt"])
        .arg(workspace_dir().join("tests/interop/encrypt-manifest.json"))
        .arg("--out")
        .arg(&out2)
        .args(["--filter", "aes256"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let last = String::from_utf8_lossy(&run.stdout)
        .lines()
        .last()
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed, 1 skipped"), "{last}");
    let run = Command::new(bin)
        .args(["vectors", "decrypt"])
        .arg(out2.join("manifest.json"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let last = String::from_utf8_lossy(&run.stdout)
        .lines()
        .last()
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
