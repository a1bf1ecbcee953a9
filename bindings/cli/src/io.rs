//! Inputs and outputs: files or the standard streams, read in chunks and
//! written as produced.
//!
//! An output file is never written in place: [`Output`] streams into a
//! temporary file beside it and renames that over the destination only on
//! [`Output::commit`]; dropped without a commit, the temporary file is
//! deleted, as it is on SIGINT, SIGTERM and SIGHUP ([`crate::interrupt`]).
//! So a failed or interrupted command leaves no partial file (and an
//! existing destination untouched).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use kms_envelope::DataKey;

use crate::base64_io::{self, DecodingReader, Encoder};
use crate::exit::{CliError, CliResult};

/// Whether `path` names a standard stream (absent, or `-`).
pub fn is_std_stream(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// A standard stream an output may name by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdStream {
    /// Standard output (file descriptor 1).
    Out,
    /// Standard error (file descriptor 2).
    Err,
}

/// The standard stream `path` names: the file it resolves to is the one
/// that stream already is (`/dev/stdout`, `/proc/self/fd/1`, any link to
/// them, or the very file stdout was redirected to), compared by device
/// and inode, not by spelling. Reopened as a file, such a path would be
/// truncated or renamed over: `-o /dev/stdout >> log` would lose the log.
#[cfg(unix)]
pub fn std_stream_of(path: &Path) -> Option<StdStream> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let target = fs::metadata(path).ok()?;
    let same = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .ok()
            .and_then(|owned| File::from(owned).metadata().ok())
            .is_some_and(|m| (m.dev(), m.ino()) == (target.dev(), target.ino()))
    };
    if same(io::stdout().as_fd()) {
        Some(StdStream::Out)
    } else if same(io::stderr().as_fd()) {
        Some(StdStream::Err)
    } else {
        None
    }
}

#[cfg(not(unix))]
pub fn std_stream_of(_path: &Path) -> Option<StdStream> {
    None
}

/// Whether an output goes to standard output: absent, `-`, or a path that
/// names it ([`std_stream_of`]).
pub fn is_stdout(path: Option<&Path>) -> bool {
    is_std_stream(path) || path.is_some_and(|p| std_stream_of(p) == Some(StdStream::Out))
}

/// Refuses to follow `link` out of a world-writable sticky directory (such
/// as `/tmp`) when it belongs to neither the caller nor the directory's
/// owner: the rule of Linux's `fs.protected_symlinks`, which a shell's `>`
/// gets from the kernel. The output replaces the link's target by a
/// rename, which the kernel never checks, so the rule is applied here to
/// every link of the chain: another user's link in `/tmp` must not aim a
/// root job at `/etc/shadow`, directly or through a link of root's.
#[cfg(unix)]
fn check_symlink_chain(path: &Path) -> CliResult<()> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let mut link = path.to_path_buf();
    // The kernel's own limit on links followed in one lookup.
    for _ in 0..40 {
        let meta = match fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => m,
            _ => return Ok(()),
        };
        let parent = match link.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = fs::metadata(&parent).map_err(|e| CliError::io("open", &parent, &e))?;
        let sticky_world_writable = dir.mode() & 0o1002 == 0o1002;
        if sticky_world_writable && meta.uid() != me && meta.uid() != dir.uid() {
            return Err(CliError::bad_arg(format!(
                "'{}' leads through '{}', a symbolic link of another user's in a \
                 world-writable sticky directory, which is not followed (as the kernel's \
                 fs.protected_symlinks does)",
                path.display(),
                link.display()
            )));
        }
        let next = fs::read_link(&link).map_err(|e| CliError::io("resolve", &link, &e))?;
        link = parent.join(next);
    }
    Err(CliError::bad_arg(format!(
        "'{}' is a chain of too many symbolic links",
        path.display()
    )))
}

#[cfg(not(unix))]
fn check_symlink_chain(_path: &Path) -> CliResult<()> {
    Ok(())
}

/// Where the output through the symbolic link `path` lands: the file the
/// kernel opens for writing there (so it decides, as for `>`, whether this
/// caller may follow the links and write the file), named from that open
/// file rather than by resolving the links again, which could find
/// another file if a link changed meanwhile.
fn link_destination(path: &Path) -> CliResult<PathBuf> {
    check_symlink_chain(path)?;
    let opened = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CliError::io("open", path, &e))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = PathBuf::from(format!("/proc/self/fd/{}", opened.as_raw_fd()));
        if let Ok(dest) = fs::read_link(&fd) {
            if dest.is_absolute() {
                return Ok(dest);
            }
        }
    }
    drop(opened);
    fs::canonicalize(path).map_err(|e| CliError::io("resolve", path, &e))
}

/// The hidden file a write to `dest` is staged in, beside it:
/// `.NAME.<tag>-<12 hex digits>`. NAME is cut short where the whole would
/// pass the 255 bytes a file name may hold, so every name the caller may
/// write can be staged.
pub fn staging_path(dest: &Path, tag: &str) -> CliResult<PathBuf> {
    const NAME_MAX: usize = 255;
    let name = dest
        .file_name()
        .ok_or_else(|| CliError::bad_arg(format!("'{}' is not a file name", dest.display())))?;
    let suffix = format!(".{tag}-{}", random_hex(6)?);
    let room = NAME_MAX.saturating_sub(1 + suffix.len());
    let mut staged = OsString::from(".");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = name.as_bytes();
        staged.push(std::ffi::OsStr::from_bytes(
            bytes.get(..room.min(bytes.len())).unwrap_or(bytes),
        ));
    }
    #[cfg(not(unix))]
    staged.push(
        name.to_string_lossy()
            .chars()
            .take(room / 4)
            .collect::<String>(),
    );
    staged.push(suffix);
    Ok(dest.with_file_name(staged))
}

/// `len` random bytes as lowercase hex.
pub fn random_hex(len: usize) -> CliResult<String> {
    let bytes = DataKey::generate(len)?;
    Ok(bytes
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// An input read in chunks: a file or standard input.
pub struct Input {
    source: Box<dyn Read>,
    name: PathBuf,
    len: Option<u64>,
}

impl Input {
    /// Opens `path`, or standard input when it is absent or `-`.
    pub fn open(path: Option<&Path>) -> CliResult<Self> {
        match path {
            Some(p) if !is_std_stream(Some(p)) => {
                let file = File::open(p).map_err(|e| CliError::io("open", p, &e))?;
                let meta = file.metadata().map_err(|e| CliError::io("read", p, &e))?;
                // Only a regular file has a size worth trusting (/proc files
                // say 0 and are not empty).
                let len = (meta.is_file() && meta.len() > 0).then_some(meta.len());
                Ok(Self {
                    source: Box::new(file),
                    name: p.to_owned(),
                    len,
                })
            }
            _ => Ok(Self {
                source: Box::new(io::stdin().lock()),
                name: PathBuf::from("<stdin>"),
                len: None,
            }),
        }
    }

    /// The input read as base64 (`--decode`): what it yields is what the
    /// base64 encodes, whose size is not known in advance.
    pub fn decode_base64(self) -> Self {
        Self {
            source: Box::new(DecodingReader::new(self.source)),
            len: None,
            ..self
        }
    }

    /// The size of what the input yields, when it is a non-empty regular
    /// file read as it is.
    pub fn size(&self) -> Option<u64> {
        self.len
    }

    /// Checks that `read` bytes so far (all of them, at `end`) agree with
    /// [`size`](Self::size): a file that grew or shrank while it was read,
    /// or whose size is not its content (`/sys`), is an I/O error naming
    /// it, not the encryptor's complaint about a declared length.
    pub fn check_size(&self, read: u64, end: bool) -> CliResult<()> {
        match self.len {
            Some(len) if read > len || (end && read < len) => Err(CliError::new(
                crate::exit::Status::Io,
                format!(
                    "'{}' changed while it was read: it had {len} bytes when opened, {} \
                     (a file whose size is not its content, as in /sys, can be piped in)",
                    self.name.display(),
                    if end {
                        format!("{read} were read")
                    } else {
                        "more than that were read".to_owned()
                    }
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Fills `buf` from the input; returns how much was read, which is less
    /// than `buf.len()` only at the end of the input.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> CliResult<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.source.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(base64_io::read_error(&self.name, &e)),
            }
        }
        Ok(filled)
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

    /// The input read as base64 (`--decode`).
    pub fn decode_base64(self) -> Self {
        Self {
            source: Box::new(DecodingReader::new(self.source)),
            ..self
        }
    }

    /// Reads until at least `min` bytes are buffered or the input ends.
    pub fn fill_to(&mut self, min: usize) -> CliResult<&[u8]> {
        while !self.at_end && self.buf.len() < min {
            let want = (min - self.buf.len()) as u64;
            let n = (&mut self.source)
                .take(want)
                .read_to_end(&mut self.buf)
                .map_err(|e| base64_io::read_error(&self.name, &e))?;
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

/// Who may read a new output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The owner only (mode 0600): plaintext.
    Private,
    /// As the umask allows: ciphertext.
    Default,
}

enum Sink {
    /// Standard output, or an existing file that is not a regular file
    /// (a device or a FIFO), written in place.
    Stream(Box<dyn Write>),
    /// A temporary file renamed to `dest` on commit.
    Staged {
        file: File,
        tmp: PathBuf,
        dest: PathBuf,
        /// Whether an existing `dest` may be replaced (not --no-overwrite).
        replace: bool,
    },
}

/// Where a command writes its result. See [the module docs](self).
pub struct Output {
    sink: Option<Sink>,
    name: PathBuf,
    /// `--encode`: what is written goes out as base64.
    encoder: Option<Encoder>,
}

impl Output {
    /// Prepares `path`, or standard output when it is absent or `-`. With
    /// `replace` false, an existing `path` (even one made while the command
    /// runs) is never replaced: [`commit`](Self::commit) fails instead.
    pub fn create(path: Option<&Path>, access: Access, replace: bool) -> CliResult<Self> {
        let path = match path {
            Some(p) if !is_std_stream(Some(p)) => p,
            _ => {
                return Ok(Self {
                    sink: Some(Sink::Stream(Box::new(io::stdout().lock()))),
                    name: PathBuf::from("<stdout>"),
                    encoder: None,
                });
            }
        };
        match std_stream_of(path) {
            Some(StdStream::Out) => return Self::create(None, access, replace),
            Some(StdStream::Err) => {
                return Ok(Self {
                    sink: Some(Sink::Stream(Box::new(io::stderr().lock()))),
                    name: PathBuf::from("<stderr>"),
                    encoder: None,
                })
            }
            None => {}
        }
        let dest = match fs::metadata(path) {
            // /dev/null, a FIFO, a terminal: nothing to rename over.
            Ok(meta) if !meta.is_file() => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| CliError::io("open", path, &e))?;
                return Ok(Self {
                    sink: Some(Sink::Stream(Box::new(file))),
                    name: path.to_owned(),
                    encoder: None,
                });
            }
            // Replace the file a symbolic link points to, not the link. A
            // dangling link (no metadata) is replaced itself: its target is
            // never created, wherever it points.
            Ok(_) if path.is_symlink() => link_destination(path)?,
            _ => path.to_owned(),
        };
        if dest.file_name().is_none() {
            return Err(CliError::bad_arg(format!(
                "'{}' is not a file name",
                path.display()
            )));
        }
        let tmp = staging_path(&dest, "partial")?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if access == Access::Private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&tmp)
            .map_err(|e| CliError::io("create", path, &e))?;
        crate::interrupt::register(&tmp);
        Ok(Self {
            sink: Some(Sink::Staged {
                file,
                tmp,
                dest,
                replace,
            }),
            name: path.to_owned(),
            encoder: None,
        })
    }

    /// The output written as base64 (`--encode`): one line, padded, with no
    /// line break at the end.
    pub fn encode_base64(mut self) -> Self {
        self.encoder = Some(Encoder::default());
        self
    }

    /// Whether the output is a file that appears only on commit (so it may
    /// receive data that is verified only at the end).
    pub fn is_staged(&self) -> bool {
        matches!(self.sink, Some(Sink::Staged { .. }))
    }

    /// Writes `data`.
    pub fn write(&mut self, data: &[u8]) -> CliResult<()> {
        let data = match &mut self.encoder {
            Some(encoder) => encoder.update(data),
            None => data,
        };
        let result = match &mut self.sink {
            Some(Sink::Stream(w)) => w.write_all(data),
            Some(Sink::Staged { file, .. }) => file.write_all(data),
            None => Ok(()),
        };
        result.map_err(|e| CliError::io("write", &self.name, &e))
    }

    /// Flushes, and moves a staged file into place.
    pub fn commit(mut self) -> CliResult<()> {
        if let Some(mut encoder) = self.encoder.take() {
            self.write(encoder.finish())?;
        }
        match self.sink.take() {
            Some(Sink::Stream(mut w)) => {
                w.flush().map_err(|e| CliError::io("write", &self.name, &e))
            }
            Some(Sink::Staged {
                file,
                tmp,
                dest,
                replace,
            }) => {
                let result = file
                    .sync_all()
                    .map_err(|e| CliError::io("write", &self.name, &e))
                    .and_then(|()| {
                        drop(file);
                        if replace {
                            fs::rename(&tmp, &dest).map_err(|e| CliError::io("replace", &dest, &e))
                        } else {
                            place_new(&tmp, &dest)
                        }
                    });
                if result.is_err() {
                    let _ = fs::remove_file(&tmp);
                }
                crate::interrupt::unregister(&tmp);
                result
            }
            None => Ok(()),
        }
    }
}

/// Moves `tmp` to `dest` only if `dest` does not exist, atomically: a hard
/// link fails if `dest` exists by then, where a rename would replace it.
fn place_new(tmp: &Path, dest: &Path) -> CliResult<()> {
    match fs::hard_link(tmp, dest) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(CliError::bad_arg(format!(
            "'{}' exists (--no-overwrite): it appeared while the command ran, and is kept",
            dest.display()
        ))),
        // A file system without hard links (FAT, some FUSE ones): checked
        // just before the rename, the best it allows.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
            ) && fs::symlink_metadata(dest).is_err() =>
        {
            fs::rename(tmp, dest).map_err(|e| CliError::io("create", dest, &e))
        }
        Err(e) => Err(CliError::io("create", dest, &e)),
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(Sink::Staged { file, tmp, .. }) = self.sink.take() {
            drop(file);
            let _ = fs::remove_file(&tmp);
            crate::interrupt::unregister(&tmp);
        }
    }
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

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn names_up_to_the_longest_a_file_may_have_are_staged_and_written() {
        // The staged name is 22 bytes longer than the output's: an output
        // name of 234 to 255 bytes could not be staged at all.
        let dir = tempfile::tempdir().unwrap();
        for len in [233, 234, 250, 255] {
            let dest = dir.path().join("x".repeat(len));
            let staged = staging_path(&dest, "partial").unwrap();
            let staged_name = staged.file_name().unwrap().len();
            assert!(staged_name <= 255, "{len}: {staged_name}");
            let mut out = Output::create(Some(&dest), Access::Private, true).unwrap();
            out.write(b"long").unwrap();
            out.commit().unwrap();
            assert_eq!(fs::read(&dest).unwrap(), b"long");
        }
        // A name that is not UTF-8 is staged as it is (keygen --force
        // refused one).
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let dest = dir.path().join(std::ffi::OsStr::from_bytes(b"k\xff.key"));
            let staged = staging_path(&dest, "tmp").unwrap();
            let name = staged.file_name().unwrap().as_bytes();
            assert!(name.starts_with(b".k\xff.key.tmp-"), "{staged:?}");
        }
    }

    #[test]
    fn staged_output_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt");
        let mut out = Output::create(Some(&dest), Access::Private, true).unwrap();
        assert!(out.is_staged());
        out.write(b"hello").unwrap();
        let names = entries(dir.path());
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with(".out.txt.partial-"), "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = fs::metadata(dir.path().join(&names[0])).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        assert!(!dest.exists());
        out.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        assert_eq!(entries(dir.path()), ["out.txt"]);
    }

    #[test]
    fn dropped_output_leaves_nothing_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt");
        fs::write(&dest, b"old").unwrap();
        let mut out = Output::create(Some(&dest), Access::Default, true).unwrap();
        out.write(b"partial").unwrap();
        drop(out);
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert_eq!(entries(dir.path()), ["out.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut out = Output::create(Some(&link), Access::Default, true).unwrap();
        out.write(b"new").unwrap();
        out.commit().unwrap();
        assert!(link.is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");

        let nowhere = dir.path().join("nowhere.txt");
        let dangling = dir.path().join("dangling.txt");
        std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
        let mut out = Output::create(Some(&dangling), Access::Default, true).unwrap();
        out.write(b"new").unwrap();
        out.commit().unwrap();
        assert!(!dangling.is_symlink());
        assert!(!nowhere.exists());
        assert_eq!(fs::read(&dangling).unwrap(), b"new");

        let mut out = Output::create(Some(Path::new("/dev/null")), Access::Private, true).unwrap();
        assert!(!out.is_staged());
        out.write(b"gone").unwrap();
        out.commit().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn another_users_link_in_a_sticky_directory_is_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("important.conf");
        fs::write(&target, b"keep").unwrap();
        let shared = dir.path().join("tmp");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let link = shared.join("out.kmse");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // The caller's own link is followed, as a shell's `>` would.
        let mut out = Output::create(Some(&link), Access::Default, true).unwrap();
        out.write(b"mine").unwrap();
        out.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"mine");
        // Another user's is not (only root can give a link away).
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
            let err = Output::create(Some(&link), Access::Default, true)
                .err()
                .expect("another user's link must not be followed");
            assert!(err.to_string().contains("protected_symlinks"), "{err}");
            assert_eq!(fs::read(&target).unwrap(), b"mine");
            // Nor through a link of the caller's that leads to it.
            let latest = shared.join("latest");
            std::os::unix::fs::symlink("out.kmse", &latest).unwrap();
            let err = Output::create(Some(&latest), Access::Default, true)
                .err()
                .expect("a chain through another user's link must not be followed");
            assert!(err.to_string().contains("out.kmse"), "{err}");
            assert_eq!(fs::read(&target).unwrap(), b"mine");
            // Outside a sticky world-writable directory it is.
            fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
            let out = Output::create(Some(&latest), Access::Default, true).unwrap();
            out.commit().unwrap();
            assert_eq!(fs::read(&target).unwrap(), b"");
            assert!(link.is_symlink() && latest.is_symlink());
        }
    }

    #[test]
    fn a_file_that_changes_size_while_read_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        fs::write(&path, b"12345").unwrap();
        let input = Input::open(Some(&path)).unwrap();
        assert_eq!(input.size(), Some(5));
        input.check_size(3, false).unwrap();
        input.check_size(5, true).unwrap();
        for (read, end, says) in [(4, true, "4 were read"), (6, false, "more than that")] {
            let err = input.check_size(read, end).unwrap_err();
            assert_eq!(err.status, crate::exit::Status::Io);
            let text = err.to_string();
            assert!(text.contains("log.txt") && text.contains(says), "{text}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn standard_output_is_known_by_what_it_is_not_how_it_is_spelt() {
        // Whatever stdout is in this test process (a pipe, a file, a
        // terminal), every name of it is it.
        for path in [
            "/dev/stdout",
            "/dev//stdout",
            "/dev/./stdout",
            "/proc/self/fd/1",
        ] {
            assert_eq!(
                std_stream_of(Path::new(path)),
                Some(StdStream::Out),
                "{path}"
            );
            assert!(is_stdout(Some(Path::new(path))), "{path}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        fs::write(&file, b"").unwrap();
        assert_eq!(std_stream_of(&file), None);
        assert_eq!(std_stream_of(&dir.path().join("missing")), None);
        assert!(is_stdout(None) && is_stdout(Some(Path::new("-"))));
    }

    #[test]
    fn chunks_fill_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        fs::write(&path, vec![7u8; 10]).unwrap();
        let mut input = Input::open(Some(&path)).unwrap();
        assert_eq!(input.size(), Some(10));
        let mut buf = [0u8; 4];
        assert_eq!(input.read_chunk(&mut buf).unwrap(), 4);
        assert_eq!(input.read_chunk(&mut buf).unwrap(), 4);
        assert_eq!(input.read_chunk(&mut buf).unwrap(), 2);
        assert_eq!(input.read_chunk(&mut buf).unwrap(), 0);
    }
}
