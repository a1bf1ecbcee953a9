//! The `kms-envelope` command-line tool, as a library so that its tests can
//! call the commands (and the test-vector runners) directly.
//!
//! [`run`] parses arguments and runs one command; `main.rs` only calls it.
//! Every failure maps to one line on stderr and an [`exit::Status`].

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::ffi::OsString;

use clap::Parser;

pub mod base64_io;
pub mod batch;
pub mod cli;
pub mod crypt;
pub mod exit;
pub mod inspect;
pub mod interrupt;
pub mod io;
pub mod keygen;
pub mod keys;
pub mod kms;
pub mod metadata;
pub mod progress;
pub mod vectors;

use cli::{Cli, Command, VectorsCommand};
use exit::{CliError, CliResult, Status};
use vectors::Summary;

/// Parses `args` (the program name first) and runs the command. Returns the
/// process exit status.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to
            // stderr with status 2.
            let _ = e.print();
            return e.exit_code();
        }
    };
    match execute(&cli.command) {
        Ok(status) => status.code(),
        Err(e) => {
            // Not eprintln!, which panics (status 101) when stderr is a
            // closed pipe: the status still says what failed.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "kms-envelope: error: {e}");
            e.status.code()
        }
    }
}

/// Runs one parsed command.
pub fn execute(command: &Command) -> CliResult<Status> {
    match command {
        Command::Keygen(args) => keygen::run(args).map(|()| Status::Success),
        Command::Encrypt(args) => crypt::encrypt(args).map(|()| Status::Success),
        Command::Decrypt(args) => crypt::decrypt(args).map(|()| Status::Success),
        Command::Inspect(args) => inspect::run(args).map(|()| Status::Success),
        Command::Vectors(VectorsCommand::Decrypt(args)) => {
            let summary = vectors::decrypt::run_manifest(&args.manifest, args.filter.as_deref())?;
            report(&summary, args.verbose)
        }
        Command::Vectors(VectorsCommand::Encrypt(args)) => {
            let summary =
                vectors::encrypt::run_manifest(&args.manifest, &args.out, args.filter.as_deref())?;
            report(&summary, args.verbose)
        }
    }
}

/// Prints the per-case lines and the closing line; status 1 if any case failed.
fn report(summary: &Summary, verbose: bool) -> CliResult<Status> {
    let mut text = String::new();
    for line in summary.report_lines(verbose) {
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&summary.closing_line());
    print_line(&text)?;
    Ok(if summary.failed() > 0 {
        Status::Failure
    } else {
        Status::Success
    })
}

/// Writes `text` and a newline to stdout: a closed pipe or a full disk is
/// an I/O error (status 4), as for `decrypt`, not a panic (`println!`).
pub(crate) fn print_line(text: &str) -> CliResult<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("write", std::path::Path::new("<stdout>"), &e))
}
