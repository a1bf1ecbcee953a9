//! Test-vector manifests of the AWS Encryption SDK (ESDK).
//!
//! - [`decrypt::run_manifest`] runs a decrypt manifest: an `awses-decrypt`
//!   manifest (versions 1 to 5), the ESDK "Message Format V2" commitment
//!   known-answer tests, or the Python decrypt-oracle vector list (detected by
//!   their shape).
//! - [`encrypt::run_manifest`] runs an `awses-encrypt` manifest and writes the
//!   messages with an `awses-decrypt` manifest describing them.
//!
//! Both return a [`Summary`]; the command prints one `FAIL <id>: <reason>`
//! line per failing case and ends with [`Summary::closing_line`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::exit::{CliError, CliResult};

pub mod decrypt;
pub mod encrypt;
mod fixed_key;
mod keys_manifest;
mod known_answer;

/// What happened to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The case behaved as expected.
    Pass,
    /// The case did not behave as expected; why.
    Fail(String),
    /// The case could not be run here (e.g. it needs AWS KMS); why.
    Skip(String),
}

/// Whether a case expects success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// The case must produce the expected output.
    Success,
    /// The case must fail.
    Error,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case ID (map key, or `tests[i]` / `[i]` in list-shaped manifests).
    pub id: String,
    /// What the case expects, when known.
    pub expect: Option<Expectation>,
    /// What happened.
    pub outcome: Outcome,
}

/// The results of a manifest run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every case run (or skipped), in manifest order.
    pub cases: Vec<CaseResult>,
}

impl Summary {
    /// Records one case.
    pub fn push(&mut self, id: impl Into<String>, expect: Option<Expectation>, outcome: Outcome) {
        self.cases.push(CaseResult {
            id: id.into(),
            expect,
            outcome,
        });
    }

    fn count(&self, f: impl Fn(&CaseResult) -> bool) -> usize {
        self.cases.iter().filter(|c| f(c)).count()
    }

    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|c| c.outcome == Outcome::Pass)
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.count(|c| matches!(c.outcome, Outcome::Fail(_)))
    }

    /// Cases that were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|c| matches!(c.outcome, Outcome::Skip(_)))
    }

    /// Passed cases that expected an error (negative cases).
    pub fn passed_negative(&self) -> usize {
        self.count(|c| c.outcome == Outcome::Pass && c.expect == Some(Expectation::Error))
    }

    /// Passed cases that expected success (positive cases).
    pub fn passed_positive(&self) -> usize {
        self.count(|c| c.outcome == Outcome::Pass && c.expect == Some(Expectation::Success))
    }

    /// `FAIL <id>: <reason>` for each failed case (and `SKIP <id>: <reason>`
    /// for each skipped one when `with_skips`).
    pub fn report_lines(&self, with_skips: bool) -> Vec<String> {
        self.cases
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Fail(why) => Some(format!("FAIL {}: {}", c.id, one_line(why))),
                Outcome::Skip(why) if with_skips => {
                    Some(format!("SKIP {}: {}", c.id, one_line(why)))
                }
                _ => None,
            })
            .collect()
    }

    /// `N passed, M failed`, plus `, K skipped` when K > 0.
    pub fn closing_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed(), self.failed())?;
        match self.skipped() {
            0 => Ok(()),
            k => write!(f, ", {k} skipped"),
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Whether `id` passes the `--filter`.
fn selected(id: &str, filter: Option<&str>) -> bool {
    filter.is_none_or(|f| id.contains(f))
}

/// The largest file a manifest, or a file it names, may be: test vectors
/// are small, and a manifest naming /dev/zero or a huge file must fail,
/// not fill memory.
const MAX_VECTOR_FILE: u64 = 256 << 20;

/// Reads `path`, a regular file of at most [`MAX_VECTOR_FILE`] bytes (a
/// FIFO or a device would block or never end).
fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_VECTOR_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_VECTOR_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            MAX_VECTOR_FILE >> 20
        )));
    }
    Ok(bytes)
}

/// Reads and parses a JSON file.
fn read_json(path: &Path) -> CliResult<Value> {
    let bytes = read_file(path).map_err(|e| CliError::io("read", path, &e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::bad_arg(format!("'{}' is not valid JSON: {e}", path.display())))
}

/// Resolves a `file://` URI against the manifest's folder.
fn resolve_uri(base: &Path, uri: &str) -> Result<PathBuf, String> {
    let rel = uri
        .strip_prefix("file://")
        .ok_or_else(|| format!("unsupported URI '{uri}' (only file:// URIs)"))?;
    if rel.is_empty() {
        return Err(format!("empty path in URI '{uri}'"));
    }
    Ok(base.join(rel))
}

/// The folder that holds `manifest`.
fn manifest_dir(manifest: &Path) -> PathBuf {
    match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Reads a file named by a `file://` URI, as a case failure if it cannot.
fn read_uri(base: &Path, uri: &str) -> Result<Vec<u8>, String> {
    let path = resolve_uri(base, uri)?;
    read_file(&path).map_err(|e| format!("cannot read '{}': {e}", path.display()))
}

/// A string member of a JSON object.
fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing or non-string \"{name}\""))
}

/// An encryption context from a JSON object of strings (absent or null: empty).
fn context_field(v: &Value, name: &str) -> Result<kms_envelope::EncryptionContext, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(kms_envelope::EncryptionContext::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_owned()))
                    .ok_or_else(|| format!("\"{name}\": value of '{k}' is not a string"))
            })
            .collect(),
        Some(_) => Err(format!("\"{name}\" is not an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_line() {
        let mut s = Summary::default();
        s.push("a", Some(Expectation::Success), Outcome::Pass);
        s.push("b", Some(Expectation::Error), Outcome::Fail("x\ny".into()));
        assert_eq!(s.closing_line(), "1 passed, 1 failed");
        s.push("c", None, Outcome::Skip("kms".into()));
        assert_eq!(s.closing_line(), "1 passed, 1 failed, 1 skipped");
        assert_eq!(s.report_lines(false), vec!["FAIL b: x y".to_owned()]);
        assert_eq!(s.report_lines(true).len(), 2);
    }

    #[test]
    fn uris() {
        assert_eq!(
            resolve_uri(Path::new("/m"), "file://k.json"),
            Ok(PathBuf::from("/m/k.json"))
        );
        assert!(resolve_uri(Path::new("/m"), "s3://b/k").is_err());
        assert!(resolve_uri(Path::new("/m"), "file://").is_err());
    }
}
