//! `--metadata-output`: one JSON line per message encrypted or decrypted,
//! for audit logs and scripts, as the AWS Encryption CLI's flag of the same
//! name (whose records are shaped differently: these hold `inspect`'s
//! header description).
//!
//! A line is written only once its output is complete (and, on decrypt,
//! authenticated), so every record stands for a finished operation:
//!
//! ```json
//! {"mode":"encrypt","input":"a.csv","output":"sealed/a.csv.kmse","plaintext_length":1200,"header":{...}}
//! ```

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kms_envelope::MessageHeader;
use serde::Serialize;

use crate::batch::{dangling, same_place, Job};
use crate::cli::IoArgs;
use crate::exit::{CliError, CliResult};
use crate::inspect::HeaderInfo;
use crate::io::{is_std_stream, is_stdout};

/// Which command wrote a record.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `encrypt`.
    Encrypt,
    /// `decrypt`.
    Decrypt,
}

/// One line of the metadata output.
#[derive(Serialize)]
struct Record<'a> {
    mode: Mode,
    /// The input file, or `-` for standard input.
    input: String,
    /// The output file, or `-` for standard output.
    output: String,
    /// Plaintext bytes encrypted or decrypted.
    plaintext_length: u64,
    header: &'a HeaderInfo,
}

/// The file a job's input or output names: `-` (or none) is the standard
/// stream, whatever file that is (Unix).
fn named_file(name: Option<&Path>, stream: &'static str) -> Option<PathBuf> {
    match name {
        Some(p) if !is_std_stream(Some(p)) => Some(p.to_owned()),
        _ if cfg!(unix) => Some(PathBuf::from(stream)),
        _ => None,
    }
}

/// Fails now, before any input is read, where opening `path` at the first
/// record would (status 3, as the README says): an existing file that
/// cannot be written, a directory, a missing parent directory or one the
/// caller cannot create files in. Creates and empties nothing.
fn check_writable(path: &Path) -> CliResult<()> {
    let refuse =
        |why: String| CliError::bad_arg(format!("--metadata-output '{}': {why}", path.display()));
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(refuse("it is a directory".into())),
        Ok(_) => OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| refuse(format!("cannot open it for writing: {e}"))),
        Err(_) => {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match fs::metadata(parent) {
                Ok(m) if m.is_dir() => {
                    let access = rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK;
                    rustix::fs::access(parent, access).map_err(|e| {
                        refuse(format!(
                            "cannot create it in '{}': {}",
                            parent.display(),
                            io::Error::from(e)
                        ))
                    })
                }
                _ => Err(refuse(format!("'{}' is not a directory", parent.display()))),
            }
        }
    }
}

/// Where records go: standard output, or a file opened when the first
/// record is written (so that a run refused or failed before that creates
/// and empties nothing).
pub struct Metadata {
    sink: Option<Box<dyn Write>>,
    name: PathBuf,
    /// `--overwrite-metadata`: the file is emptied as it is opened.
    overwrite: bool,
}

impl Metadata {
    /// The `--metadata-output` of this run, if given: appended to (created
    /// private if missing), or emptied with `--overwrite-metadata`, once
    /// the first record is written. Refused first: `-` (standard output)
    /// when an output goes there too; a link that leads nowhere; a file
    /// that is also one of the `jobs`' inputs or outputs (the standard
    /// streams included) or one of the `key_files`; file names that are
    /// not UTF-8, which a JSON record cannot hold as they are.
    pub fn open(io: &IoArgs, jobs: &[Job], key_files: &[PathBuf]) -> CliResult<Option<Self>> {
        let Some(path) = io.metadata_output.as_deref() else {
            return Ok(None);
        };
        for job in jobs {
            for name in [&job.input, &job.output].into_iter().flatten() {
                if name.to_str().is_none() {
                    return Err(CliError::bad_arg(format!(
                        "'{}' is not a UTF-8 name, which --metadata-output cannot record",
                        name.display()
                    )));
                }
            }
        }
        if is_stdout(Some(path)) {
            if io.output_dir.is_none() && is_stdout(io.output.as_deref()) {
                return Err(CliError::bad_arg(
                    "--metadata-output - and the output would share standard output; \
                     write the output to a file (-o FILE or --output-dir DIR)",
                ));
            }
            return Ok(Some(Self {
                sink: Some(Box::new(io::stdout())),
                name: PathBuf::from("<stdout>"),
                overwrite: false,
            }));
        }
        if dangling(path) {
            return Err(CliError::bad_arg(format!(
                "--metadata-output '{}' is a link that leads nowhere; name the file itself",
                path.display()
            )));
        }
        let files = jobs
            .iter()
            .flat_map(|job| {
                [
                    ("an input", named_file(job.input.as_deref(), "/dev/stdin")),
                    (
                        "an output",
                        named_file(job.output.as_deref(), "/dev/stdout"),
                    ),
                ]
            })
            .filter_map(|(what, name)| Some((what, name?)))
            .chain(key_files.iter().map(|k| ("a key file", k.clone())));
        for (what, other) in files {
            if same_place(path, &other) {
                return Err(CliError::bad_arg(format!(
                    "--metadata-output '{}' is also {what} of this run; give the records a file of their own",
                    path.display()
                )));
            }
        }
        check_writable(path)?;
        Ok(Some(Self {
            sink: None,
            name: path.to_owned(),
            overwrite: io.overwrite_metadata,
        }))
    }

    /// The file, opened on first use.
    fn sink(&mut self) -> CliResult<&mut Box<dyn Write>> {
        if self.sink.is_none() {
            let mut options = OpenOptions::new();
            options.create(true);
            if self.overwrite {
                options.write(true).truncate(true);
            } else {
                options.append(true);
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let file = options
                .open(&self.name)
                .map_err(|e| CliError::io("open", &self.name, &e))?;
            self.sink = Some(Box::new(file));
        }
        self.sink
            .as_mut()
            .ok_or_else(|| CliError::bad_arg("the metadata output is not open"))
    }

    /// Writes the record of `job`, whose message has `header`, as one line.
    pub fn record(
        &mut self,
        mode: Mode,
        job: &Job,
        header: &MessageHeader,
        plaintext_length: u64,
    ) -> CliResult<()> {
        // Names were checked to be UTF-8 when the file was opened.
        let name = |p: Option<&Path>| match p {
            Some(p) if !is_std_stream(Some(p)) => p.to_string_lossy().into_owned(),
            _ => "-".to_owned(),
        };
        let record = Record {
            mode,
            input: name(job.input.as_deref()),
            output: name(job.output.as_deref()),
            plaintext_length,
            header: &HeaderInfo::new(header, header.len()),
        };
        let mut line = serde_json::to_vec(&record)
            .map_err(|e| CliError::bad_arg(format!("cannot encode the metadata as JSON: {e}")))?;
        line.push(b'\n');
        let name = self.name.clone();
        let sink = self.sink()?;
        sink.write_all(&line)
            .and_then(|()| sink.flush())
            .map_err(|e| CliError::io("write", &name, &e))
    }
}
