//! Several inputs in one run: `-i a b c --output-dir DIR`.
//!
//! [`plan`] turns the `-i`/`-o`/`--output-dir` arguments into [`Job`]s, one
//! message each. Without `--output-dir` there is exactly one job, with the
//! single-file or standard-stream behaviour. With it, every input must be a
//! file, or with `-r` a directory standing for the files under it
//! (`files_under`), and each output is named after its input
//! ([`output_name`]), in the input's subdirectory under `-r`. All checks run
//! before any output is written or any key service is called: a missing
//! input, a directory, two inputs that would write the same output, or an
//! output that would replace one of the inputs.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::IoArgs;
use crate::exit::{CliError, CliResult};
use crate::io::{is_std_stream, is_stdout};
use crate::keys::Purpose;

/// What `encrypt --output-dir` appends to an input's file name.
pub const ENCRYPTED_SUFFIX: &str = ".kmse";
/// What `decrypt --output-dir` appends to an input's file name that does not
/// end with [`ENCRYPTED_SUFFIX`].
pub const DECRYPTED_SUFFIX: &str = ".decrypted";

/// One message to encrypt or decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The input file; `None` (or `-`) for standard input.
    pub input: Option<PathBuf>,
    /// The output file; `None` (or `-`) for standard output.
    pub output: Option<PathBuf>,
    /// Whether this is one of `--output-dir`'s jobs, whose errors name the input.
    pub in_batch: bool,
}

impl Job {
    /// Adds the input's name to an error of an `--output-dir` job (unless
    /// the message already names it), so that the failing input is known.
    pub fn blame(&self, e: CliError) -> CliError {
        match (&self.input, self.in_batch) {
            (Some(input), true) => {
                let quoted = format!("'{}'", input.display());
                if e.message.contains(&quoted) {
                    e
                } else {
                    e.context(quoted)
                }
            }
            _ => e,
        }
    }
}

/// The output file name for an input named `name`, `suffix` being the
/// encrypted files' ([`ENCRYPTED_SUFFIX`] unless `--suffix`): on encrypt
/// `name` + suffix; on decrypt `name` without its final suffix, or
/// `name.decrypted` when it has none (or nothing but a dot would remain).
pub fn output_name(name: &OsStr, purpose: Purpose, suffix: &str) -> OsString {
    if purpose == Purpose::Decrypt {
        // By bytes on Unix, so a name that is not UTF-8 loses its suffix too.
        #[cfg(unix)]
        let stripped = {
            use std::os::unix::ffi::OsStrExt;
            name.as_bytes()
                .strip_suffix(suffix.as_bytes())
                .filter(|stem| !matches!(*stem, b"" | b"." | b".."))
                .map(OsStr::from_bytes)
        };
        #[cfg(not(unix))]
        let stripped = name
            .to_str()
            .and_then(|n| n.strip_suffix(suffix))
            .filter(|stem| !matches!(*stem, "" | "." | ".."))
            .map(OsStr::new);
        if let Some(stem) = stripped {
            return stem.to_owned();
        }
    }
    let mut out = name.to_owned();
    out.push(match purpose {
        Purpose::Encrypt => suffix,
        Purpose::Decrypt => DECRYPTED_SUFFIX,
    });
    out
}

/// Refuses `output` if it exists and `--no-overwrite` was given (a device,
/// which is written to and never replaced, does not count).
fn check_overwrite(io: &IoArgs, output: &Path) -> CliResult<()> {
    // A device or a FIFO (/dev/null) is written to, never replaced.
    let device = fs::metadata(output).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if io.no_overwrite && !device && fs::symlink_metadata(output).is_ok() {
        return Err(CliError::bad_arg(format!(
            "'{}' exists (--no-overwrite)",
            output.display()
        )));
    }
    Ok(())
}

/// The jobs of one `encrypt` or `decrypt` run, after every check (nothing
/// is created: [`make_output_dirs`] does that once the run may start).
pub fn plan(io: &IoArgs, purpose: Purpose) -> CliResult<Vec<Job>> {
    let Some(dir) = &io.output_dir else {
        if io.recursive {
            return Err(CliError::bad_arg(
                "-r writes the files under a directory into --output-dir DIR",
            ));
        }
        if io.suffix.is_some() {
            return Err(CliError::bad_arg(
                "--suffix names the files of --output-dir; -o names its output itself",
            ));
        }
        if io.inputs.len() > 1 {
            return Err(CliError::bad_arg(format!(
                "{} inputs need --output-dir DIR (-o names a single output)",
                io.inputs.len()
            )));
        }
        if let Some(output) = io.output.as_deref().filter(|o| !is_stdout(Some(o))) {
            if fs::metadata(output).is_ok_and(|m| m.is_dir()) {
                return Err(CliError::bad_arg(format!(
                    "'{}' is a directory; to write into it, use --output-dir '{}'",
                    output.display(),
                    output.display()
                )));
            }
            check_overwrite(io, output)?;
        }
        return Ok(vec![Job {
            input: io.inputs.first().cloned(),
            output: io.output.clone(),
            in_batch: false,
        }]);
    };
    let suffix = io.suffix.as_deref().unwrap_or(ENCRYPTED_SUFFIX);
    if io.inputs.is_empty() {
        return Err(CliError::bad_arg(
            "--output-dir needs input files (-i FILE...); for standard input use -o",
        ));
    }
    let dir_meta = match fs::metadata(dir) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::io("read", dir, &e)),
    };
    if dir_meta.as_ref().is_some_and(|m| !m.is_dir()) {
        return Err(CliError::bad_arg(format!(
            "--output-dir '{}' exists and is not a directory",
            dir.display()
        )));
    }
    if dir_meta.is_none() {
        check_dir_to_make(dir)?;
    }
    // Where the outputs land, to compare them with the inputs' real paths.
    let real_dir = match dir_meta {
        Some(_) => Some(fs::canonicalize(dir).map_err(|e| CliError::io("resolve", dir, &e))?),
        None => None,
    };

    let mut jobs = Vec::with_capacity(io.inputs.len());
    // Each job's output relative to DIR.
    let mut placed = Vec::with_capacity(io.inputs.len());
    let mut by_name: HashMap<OsString, PathBuf> = HashMap::new();
    let mut real_inputs = HashMap::new();
    for input in &io.inputs {
        if is_std_stream(Some(input)) {
            return Err(CliError::bad_arg(
                "standard input (-) has no file name to name an output after; \
                 with --output-dir every input must be a file",
            ));
        }
        let meta = fs::metadata(input).map_err(|e| CliError::io("read", input, &e))?;
        let files = if meta.is_dir() {
            if !io.recursive {
                return Err(CliError::bad_arg(format!(
                    "'{}' is a directory; pass the files in it (e.g. '{}/*'), or -r for \
                     every file under it",
                    input.display(),
                    input.display()
                )));
            }
            if let Some(real_dir) = &real_dir {
                let real_input =
                    fs::canonicalize(input).map_err(|e| CliError::io("resolve", input, &e))?;
                if &real_input == real_dir {
                    return Err(CliError::bad_arg(format!(
                        "--output-dir '{}' is the input directory '{}'; write the outputs \
                         elsewhere",
                        dir.display(),
                        input.display()
                    )));
                }
            }
            files_under(input, real_dir.as_deref())?
        } else {
            let name = input.file_name().ok_or_else(|| {
                CliError::bad_arg(format!("'{}' is not a file name", input.display()))
            })?;
            vec![(input.clone(), PathBuf::from(name))]
        };
        for (file, rel) in files {
            let Some(name) = rel.file_name() else {
                continue;
            };
            let out_rel = rel.with_file_name(output_name(name, purpose, suffix));
            if let Some(other) = by_name.insert(out_rel.clone().into_os_string(), file.clone()) {
                return Err(CliError::bad_arg(format!(
                    "'{}' and '{}' would both be written to '{}'",
                    other.display(),
                    file.display(),
                    dir.join(&out_rel).display()
                )));
            }
            let real = fs::canonicalize(&file).map_err(|e| CliError::io("resolve", &file, &e))?;
            real_inputs.insert(real, file.clone());
            let output = dir.join(&out_rel);
            check_overwrite(io, &output)?;
            check_output_place(&output)?;
            jobs.push(Job {
                input: Some(file),
                output: Some(output),
                in_batch: true,
            });
            placed.push(out_rel);
        }
    }
    check_subdirectories(dir, &placed)?;
    if let Some(real_dir) = &real_dir {
        let mut landed = HashMap::new();
        for (job, out_rel) in jobs.iter().zip(&placed) {
            let Some(output) = job.output.as_deref() else {
                continue;
            };
            // (Links that lead nowhere were refused: an output that
            // exists resolves, and one that does not lands under its
            // deepest existing ancestor.)
            let lands = landing(&real_dir.join(out_rel));
            if let Some(input) = real_inputs.get(&lands) {
                return Err(CliError::bad_arg(format!(
                    "the output '{}' would replace the input '{}'",
                    output.display(),
                    input.display()
                )));
            }
            // Devices and FIFOs are written in place, never replaced:
            // two outputs may well be /dev/null.
            let special = fs::metadata(output).is_ok_and(|m| !m.is_file());
            if special {
                continue;
            }
            if let Some(other) = landed.insert(lands, output) {
                return Err(CliError::bad_arg(format!(
                    "the outputs '{}' and '{}' are the same file (a link in --output-dir)",
                    other.display(),
                    output.display()
                )));
            }
        }
    }
    Ok(jobs)
}

/// Refuses an `--output-dir` still to be made that would not be made where
/// its name says: one that is a link leading nowhere, one under something
/// that is not a directory, or one whose name goes through `..` after a
/// directory that does not exist (no check of DIR would then apply).
fn check_dir_to_make(dir: &Path) -> CliResult<()> {
    let problem = if dangling(dir) {
        Some("is a link that leads nowhere".to_owned())
    } else if through_missing_parent(dir) {
        Some(
            "goes through '..' after a directory that does not exist; name it without that '..'"
                .to_owned(),
        )
    } else {
        // It goes under its deepest existing ancestor, which must be a directory.
        dir.ancestors()
            .skip(1)
            .find(|a| !a.as_os_str().is_empty() && fs::symlink_metadata(a).is_ok())
            .filter(|base| !fs::metadata(base).is_ok_and(|m| m.is_dir()))
            .map(|base| {
                format!(
                    "lies under '{}', which is not a directory (or a link that leads nowhere)",
                    base.display()
                )
            })
    };
    match problem {
        Some(problem) => Err(CliError::bad_arg(format!(
            "--output-dir '{}' {problem}",
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// Whether `path` is a symbolic link that leads nowhere.
pub fn dangling(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok() && fs::metadata(path).is_err()
}

/// Whether `path` has a `..` after a component that does not exist (the
/// run would make it, and `..` would then lead somewhere no check saw).
fn through_missing_parent(path: &Path) -> bool {
    let mut so_far = PathBuf::new();
    for c in path.components() {
        if c == std::path::Component::ParentDir
            && !so_far.as_os_str().is_empty()
            && fs::metadata(&so_far).is_err()
        {
            return true;
        }
        so_far.push(c);
    }
    false
}

/// Whether `a` and `b` are one file: the same inode if both exist, else
/// the same place once resolved ([`landing`]).
pub fn same_place(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        _ => landing(a) == landing(b),
    }
}

/// Refuses a job whose output is one of the `key_files` (an output renamed
/// over the key that can open it would lose that key). Compared by where
/// the rename lands, so a hard link to a key (another name, renamed over
/// alone) is no clash.
pub fn check_keys_kept(jobs: &[Job], key_files: &[PathBuf]) -> CliResult<()> {
    let keys: Vec<_> = key_files.iter().map(|k| (k, landing(k))).collect();
    for output in jobs.iter().filter_map(|j| j.output.as_deref()) {
        if is_stdout(Some(output)) {
            continue;
        }
        let lands = landing(output);
        if let Some((key, _)) = keys.iter().find(|(_, k)| *k == lands) {
            return Err(CliError::bad_arg(format!(
                "the output '{}' would replace the key file '{}'",
                output.display(),
                key.display()
            )));
        }
    }
    Ok(())
}

/// Where a write to `path` lands: an output that is a symbolic link
/// replaces the file it points to (io::Output::create), and a path not
/// made yet lands under its deepest existing ancestor, which a link in the
/// output directory may lead elsewhere.
pub fn landing(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut here = path;
    loop {
        let existing = if here.as_os_str().is_empty() {
            Path::new(".")
        } else {
            here
        };
        if let Ok(real) = fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |p, name| p.join(name));
        }
        match (here.file_name(), here.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                here = parent;
            }
            _ => return path.to_owned(),
        }
    }
}

/// Refuses an output whose place is taken by a directory, or by a link
/// that leads nowhere: where such a link leads once the run has made
/// directories and written other outputs cannot be known in advance.
fn check_output_place(output: &Path) -> CliResult<()> {
    let problem = if dangling(output) {
        Some("is a link that leads nowhere (remove it, or point it at a file)")
    } else if fs::metadata(output).is_ok_and(|m| m.is_dir()) {
        Some("is a directory")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(CliError::bad_arg(format!(
            "'{}' {problem}, where an output goes",
            output.display()
        ))),
        None => Ok(()),
    }
}

/// Refuses an output whose path is also a subdirectory another output
/// needs (`x.kmse` from the file `x` and `x.kmse/y.kmse` from the directory
/// `x.kmse`), and a subdirectory whose name is taken in `dir` by something
/// that is not a directory or by a link that leads nowhere; `placed` are
/// the outputs, relative to `dir`.
fn check_subdirectories(dir: &Path, placed: &[PathBuf]) -> CliResult<()> {
    let needed: std::collections::BTreeSet<&Path> = placed
        .iter()
        .flat_map(|p| p.ancestors().skip(1))
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    for out_rel in placed {
        if needed.contains(out_rel.as_path()) {
            return Err(CliError::bad_arg(format!(
                "'{}' would be both an output and a directory of outputs",
                dir.join(out_rel).display()
            )));
        }
    }
    for sub in needed {
        let path = dir.join(sub);
        let problem = if dangling(&path) {
            // Where it leads cannot be compared with the other outputs'.
            Some("is a link that leads nowhere")
        } else if fs::metadata(&path).is_ok_and(|m| !m.is_dir()) {
            Some("exists and is not a directory")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(CliError::bad_arg(format!(
                "'{}' {problem}, where -r puts outputs",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Creates `--output-dir` (even for an input directory with no files in
/// it) and the subdirectories `-r` mirrors in it, once every check of
/// [`plan`] has passed.
/// Returns the directories it made, outermost first, for
/// [`remove_empty_dirs`]; if it fails, it removes them itself.
pub fn make_output_dirs(io: &IoArgs, jobs: &[Job]) -> CliResult<Vec<PathBuf>> {
    let wanted = io.output_dir.iter().map(PathBuf::as_path).chain(
        jobs.iter()
            .filter(|j| j.in_batch)
            .filter_map(|j| j.output.as_deref().and_then(Path::parent)),
    );
    let mut made = Vec::new();
    let result = make_each(wanted, &mut made);
    if result.is_err() {
        remove_empty_dirs(&made);
    }
    result.map(|()| made)
}

/// Makes each missing directory of `wanted` and its missing ancestors,
/// outermost first, recording each one made in `made`.
fn make_each<'a>(wanted: impl Iterator<Item = &'a Path>, made: &mut Vec<PathBuf>) -> CliResult<()> {
    for dir in wanted {
        // Each missing ancestor, outermost first, so that it can be undone.
        let mut missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && fs::symlink_metadata(a).is_err())
            .collect();
        missing.reverse();
        for d in missing {
            match fs::create_dir(d) {
                Ok(()) => {
                    crate::interrupt::register_dir(d);
                    made.push(d.to_owned());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(CliError::io("create", d, &e)),
            }
        }
    }
    Ok(())
}

/// Removes the directories `made` (by [`make_output_dirs`]) that are still
/// empty, innermost first: a run refused or stopped leaves none it made
/// for nothing.
pub fn remove_empty_dirs(made: &[PathBuf]) {
    for dir in made.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}

/// The files under `root` for `-r`, each with its path relative to `root`:
/// a directory's files in name order, then its subdirectories in name
/// order. Symbolic
/// links count as the file they point to; links to directories are not
/// followed (no loops), and links that lead nowhere, FIFOs, devices and
/// sockets are skipped, as is the directory `skip` (the output directory,
/// resolved), so that a run never reads its own outputs.
fn files_under(root: &Path, skip: Option<&Path>) -> CliResult<Vec<(PathBuf, PathBuf)>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let here = root.join(&rel);
        if skip.is_some_and(|s| fs::canonicalize(&here).is_ok_and(|real| real == s)) {
            continue;
        }
        let read = |e: std::io::Error| CliError::io("read", &here, &e);
        let mut entries = fs::read_dir(&here)
            .map_err(read)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read)?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type().map_err(read)?;
            if kind.is_dir() {
                subdirs.push(rel.join(entry.file_name()));
            } else if kind.is_file()
                || (kind.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()))
            {
                files.push((path, rel.join(entry.file_name())));
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, purpose: Purpose) -> String {
        output_name(OsStr::new(n), purpose, ENCRYPTED_SUFFIX)
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn output_names() {
        assert_eq!(name("a.txt", Purpose::Encrypt), "a.txt.kmse");
        assert_eq!(name("a.kmse", Purpose::Encrypt), "a.kmse.kmse");
        assert_eq!(name("a.txt.kmse", Purpose::Decrypt), "a.txt");
        assert_eq!(name("a.enc", Purpose::Decrypt), "a.enc.decrypted");
        assert_eq!(name(".kmse", Purpose::Decrypt), ".kmse.decrypted");
        assert_eq!(name("..kmse", Purpose::Decrypt), "..kmse.decrypted");
        assert_eq!(name("...kmse", Purpose::Decrypt), "...kmse.decrypted");
        assert_eq!(name("....kmse", Purpose::Decrypt), "...");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = OsStr::from_bytes(b"\xff.kmse");
            assert_eq!(
                output_name(odd, Purpose::Decrypt, ".kmse"),
                OsStr::from_bytes(b"\xff")
            );
        }
    }

    fn io(inputs: &[&Path], output_dir: Option<&Path>) -> IoArgs {
        IoArgs {
            inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
            output: None,
            output_dir: output_dir.map(Path::to_path_buf),
            suffix: None,
            no_overwrite: false,
            decode: false,
            encode: false,
            metadata_output: None,
            overwrite_metadata: false,
            recursive: false,
        }
    }

    #[test]
    fn plans_and_refusals() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir(d.join("sub")).unwrap();
        for f in ["a", "b", "sub/a", "c.kmse", "c"] {
            fs::write(d.join(f), b"x").unwrap();
        }
        let out = d.join("out");

        // One input, or none: the single job, unchanged.
        let jobs = plan(&io(&[&d.join("a")], None), Purpose::Encrypt).unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(!jobs[0].in_batch);
        assert_eq!(
            plan(&io(&[], None), Purpose::Encrypt).unwrap()[0].input,
            None
        );

        let jobs = plan(
            &io(&[&d.join("a"), &d.join("b")], Some(&out)),
            Purpose::Encrypt,
        )
        .unwrap();
        assert_eq!(jobs[1].output, Some(out.join("b.kmse")));
        assert!(!out.exists(), "planning creates nothing");
        let io_out = io(&[&d.join("a"), &d.join("b")], Some(&out));
        make_output_dirs(&io_out, &jobs).unwrap();
        assert!(out.is_dir(), "created");
        // Failing part way, it removes what it made.
        fs::write(d.join("blocker"), b"").unwrap();
        let parted = |parent: &str| Job {
            input: None,
            output: Some(d.join(parent).join("x")),
            in_batch: true,
        };
        let err = make_output_dirs(
            &io(&[], None),
            &[parted("fresh/one"), parted("blocker/two")],
        );
        assert!(err.is_err());
        assert!(!d.join("fresh").exists(), "undone");

        let refused = |inputs: &[&Path], dir: &Path, purpose| {
            plan(&io(inputs, Some(dir)), purpose).unwrap_err().message
        };
        let e = plan(&io(&[&d.join("a"), &d.join("b")], None), Purpose::Encrypt).unwrap_err();
        assert!(e.message.contains("--output-dir"), "{e}");
        let e = refused(&[], &out, Purpose::Encrypt);
        assert!(e.contains("needs input files"), "{e}");
        let e = refused(&[Path::new("-")], &out, Purpose::Encrypt);
        assert!(e.contains("standard input"), "{e}");
        let e = refused(&[&d.join("a"), &d.join("sub/a")], &out, Purpose::Encrypt);
        assert!(e.contains("would both be written"), "{e}");
        let e = refused(&[&d.join("sub")], &out, Purpose::Encrypt);
        assert!(e.contains("is a directory"), "{e}");
        let e = refused(&[&d.join("a")], &d.join("a"), Purpose::Encrypt);
        assert!(e.contains("not a directory"), "{e}");
        // Decrypting c.kmse beside c would replace the input c.
        let e = refused(&[&d.join("c.kmse"), &d.join("c")], d, Purpose::Decrypt);
        assert!(e.contains("would replace the input"), "{e}");
        let e = plan(&io(&[&d.join("nothing")], Some(&out)), Purpose::Encrypt).unwrap_err();
        assert_eq!(e.status, crate::exit::Status::Io);
    }
}
