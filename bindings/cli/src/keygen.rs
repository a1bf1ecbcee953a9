//! `keygen`: writes a new random AES-256 key file, readable by its owner only.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use base64::Engine;
use kms_envelope::{DataKey, RawAesKeyring};
use zeroize::Zeroizing;

use crate::cli::KeygenArgs;
use crate::exit::{CliError, CliResult};
use crate::io::{random_hex, staging_path};
use crate::keys::{KeyFile, RAW_AES_TYPE};

/// Length of a generated key: AES-256.
const KEY_LEN: usize = 32;

/// Runs `keygen`.
pub fn run(args: &KeygenArgs) -> CliResult<()> {
    // --force renames the key file over the path: over a link that is the
    // link itself (/dev/stdout, when stdout is a file, would become a key
    // file), never what it points to. A key goes to a plain path.
    if fs::symlink_metadata(&args.out).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(CliError::bad_arg(format!(
            "'{}' is a symbolic link: give the key file's own path",
            args.out.display()
        )));
    }
    // A device or a FIFO is no place for a key, and --force would rename
    // the key file over it (replacing /dev/null itself).
    if fs::metadata(&args.out).is_ok_and(|m| !m.is_file()) {
        return Err(CliError::bad_arg(format!(
            "'{}' exists and is not a regular file",
            args.out.display()
        )));
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&args.out)?,
    };
    let key = DataKey::generate(KEY_LEN)?;
    // The core checks the namespace (reserved prefixes) and key length.
    RawAesKeyring::new(args.namespace.as_str(), name.as_str(), key.as_bytes())?;
    let file = KeyFile {
        kind: RAW_AES_TYPE.to_owned(),
        key_namespace: args.namespace.clone(),
        key_name: name.clone(),
        key: base64::engine::general_purpose::STANDARD.encode(key.as_bytes()),
    };
    // Reserve enough (JSON escapes take at most 6 bytes per character) that
    // the buffer holding the key never reallocates and leaves a copy behind.
    let capacity = 256 + 6 * (file.key_namespace.len() + file.key_name.len());
    let mut text = Zeroizing::new(Vec::with_capacity(capacity));
    serde_json::to_writer_pretty(&mut *text, &file)
        .map_err(|e| CliError::bad_arg(format!("cannot encode the key file: {e}")))?;
    text.push(b'\n');
    drop(Zeroizing::new(file.key));
    if text.len() > crate::keys::MAX_KEY_FILE {
        return Err(CliError::bad_arg(format!(
            "the key name is too long: the key file would be larger than {} KiB, \
             which encrypt and decrypt refuse",
            crate::keys::MAX_KEY_FILE / 1024
        )));
    }
    if args.force {
        replace_file(&args.out, &text)?;
    } else {
        create_file(&args.out, &text)?;
    }
    // The key is written: a report that cannot be printed (stdout closed
    // or full) does not turn that into a failure a script would retry.
    let _ = crate::print_line(&format!(
        "wrote AES-256 key '{name}' (namespace '{}') to {}",
        args.namespace,
        args.out.display()
    ));
    Ok(())
}

/// The file name without extensions, or a random id when that is empty.
fn default_name(path: &Path) -> CliResult<String> {
    match crate::keys::default_key_name(path) {
        Some(name) => Ok(name),
        None => Ok(format!("key-{}", random_hex(8)?)),
    }
}

/// Opens a new file that only its owner may read and write; fails if it exists.
fn create_new_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn write_all_synced(mut file: File, data: &[u8]) -> std::io::Result<()> {
    file.write_all(data)?;
    file.sync_all()
}

/// Creates `path` (never replacing an existing file) and writes `data`.
fn create_file(path: &Path, data: &[u8]) -> CliResult<()> {
    let file = create_new_private(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::bad_arg(format!(
                "'{}' already exists; pass --force to replace it",
                path.display()
            ))
        } else {
            CliError::io("create", path, &e)
        }
    })?;
    write_all_synced(file, data).map_err(|e| {
        let _ = fs::remove_file(path);
        CliError::io("write", path, &e)
    })
}

/// Writes `data` to a new private file beside `path`, then renames it over
/// `path`, so `path` is always either the old file or the complete new one.
fn replace_file(path: &Path, data: &[u8]) -> CliResult<()> {
    let tmp = staging_path(path, "tmp")?;
    let file = create_new_private(&tmp).map_err(|e| CliError::io("create", &tmp, &e))?;
    let result = write_all_synced(file, data)
        .map_err(|e| CliError::io("write", &tmp, &e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| CliError::io("replace", path, &e)));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
