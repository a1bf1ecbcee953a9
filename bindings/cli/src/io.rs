//! Reading inputs and writing outputs: files or the standard streams.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::exit::{CliError, CliResult};

/// Whether `path` names a standard stream (absent, or `-`).
pub fn is_std_stream(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Reads all of `path`, or of standard input when it is absent or `-`.
pub fn read_input(path: Option<&Path>) -> CliResult<Vec<u8>> {
    match path {
        Some(p) if !is_std_stream(Some(p)) => fs::read(p).map_err(|e| CliError::io("read", p, &e)),
        _ => {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(|e| CliError::io("read", Path::new("<stdin>"), &e))?;
            Ok(buf)
        }
    }
}

/// Reads an input a little at a time, so that a caller that needs only its
/// beginning (`inspect`) does not read a whole large file.
pub struct PrefixReader {
    source: Box<dyn Read>,
    name: PathBuf,
    buf: Vec<u8>,
    at_end: bool,
}

impl PrefixReader {
    /// Opens `path`, or standard input when it is `-`.
    pub fn open(path: &Path) -> CliResult<Self> {
        let source: Box<dyn Read> = if is_std_stream(Some(path)) {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(path).map_err(|e| CliError::io("open", path, &e))?)
        };
        let name = if is_std_stream(Some(path)) {
            PathBuf::from("<stdin>")
        } else {
            path.to_owned()
        };
        Ok(Self {
            source,
            name,
            buf: Vec::new(),
            at_end: false,
        })
    }

    /// Reads until at least `min` bytes are buffered or the input ends.
    pub fn fill_to(&mut self, min: usize) -> CliResult<&[u8]> {
        while !self.at_end && self.buf.len() < min {
            let want = (min - self.buf.len()) as u64;
            let n = (&mut self.source)
                .take(want)
                .read_to_end(&mut self.buf)
                .map_err(|e| CliError::io("read", &self.name, &e))?;
            if n == 0 {
                self.at_end = true;
            }
        }
        Ok(&self.buf)
    }

    /// Whether the whole input has been read.
    pub fn at_end(&self) -> bool {
        self.at_end
    }
}

/// Writes `data` to `path`, or to standard output when it is absent or `-`.
///
/// A file that was created or truncated here is removed again if writing
/// fails, so a failed command never leaves a partial output file behind.
pub fn write_output(path: Option<&Path>, data: &[u8]) -> CliResult<()> {
    match path {
        Some(p) if !is_std_stream(Some(p)) => write_file(p, data),
        _ => {
            let mut out = io::stdout().lock();
            out.write_all(data)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::io("write", Path::new("<stdout>"), &e))
        }
    }
}

/// Removes the file on drop unless [`PartialFile::keep`] was called.
struct PartialFile<'a> {
    path: &'a Path,
    keep: bool,
}

impl PartialFile<'_> {
    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for PartialFile<'_> {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(self.path);
        }
    }
}

fn write_file(path: &Path, data: &[u8]) -> CliResult<()> {
    // Only a file we managed to open is ours to remove on failure.
    let mut file = File::create(path).map_err(|e| CliError::io("create", path, &e))?;
    let guard = PartialFile { path, keep: false };
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::io("write", path, &e))?;
    guard.keep();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_is_a_stream() {
        assert!(is_std_stream(None));
        assert!(is_std_stream(Some(Path::new("-"))));
        assert!(!is_std_stream(Some(Path::new("./-"))));
        assert!(!is_std_stream(Some(Path::new("file"))));
    }
}
