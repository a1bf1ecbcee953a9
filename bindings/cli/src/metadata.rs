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

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kms_envelope::MessageHeader;
use serde::Serialize;

use crate::batch::Job;
use crate::cli::IoArgs;
use crate::exit::{CliError, CliResult};
use crate::inspect::HeaderInfo;
use crate::io::is_std_stream;

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

/// Where records go: a file opened once per command, or standard output.
pub struct Metadata {
    sink: Box<dyn Write>,
    name: PathBuf,
}

impl Metadata {
    /// Opens `--metadata-output` if given: appended to (created private if
    /// missing), or emptied first with `--overwrite-metadata`. `-` (standard
    /// output) is refused when an output goes there too.
    pub fn open(io: &IoArgs) -> CliResult<Option<Self>> {
        let Some(path) = io.metadata_output.as_deref() else {
            return Ok(None);
        };
        if is_std_stream(Some(path)) {
            if io.output_dir.is_none() && is_std_stream(io.output.as_deref()) {
                return Err(CliError::bad_arg(
                    "--metadata-output - and the output would share standard output; \
                     write the output to a file (-o FILE or --output-dir DIR)",
                ));
            }
            return Ok(Some(Self {
                sink: Box::new(io::stdout()),
                name: PathBuf::from("<stdout>"),
            }));
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if io.overwrite_metadata {
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
            .open(path)
            .map_err(|e| CliError::io("open", path, &e))?;
        Ok(Some(Self {
            sink: Box::new(file),
            name: path.to_owned(),
        }))
    }

    /// Writes the record of `job`, whose message has `header`, as one line.
    pub fn record(
        &mut self,
        mode: Mode,
        job: &Job,
        header: &MessageHeader,
        plaintext_length: u64,
    ) -> CliResult<()> {
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
        self.sink
            .write_all(&line)
            .and_then(|()| self.sink.flush())
            .map_err(|e| CliError::io("write", &self.name, &e))
    }
}
