//! Cleanup on SIGINT, SIGTERM and SIGHUP.
//!
//! An output file is staged in a temporary file until the command succeeds
//! (see [`crate::io::Output`]). If the process is interrupted, the staged
//! file (for `decrypt`, plaintext whose signature was not yet verified) is
//! deleted before the process dies of the signal, as it would have without
//! the handler, and so are the output directories the run made that are
//! still empty. SIGKILL cannot be caught: a killed command may still leave a
//! `.NAME.partial-*` file (mode 0600), never a partial NAME.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Staging files that exist right now.
static STAGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Output directories this run made, outermost first.
static MADE_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn staged() -> MutexGuard<'static, Vec<PathBuf>> {
    STAGED.lock().unwrap_or_else(|e| e.into_inner())
}

fn made_dirs() -> MutexGuard<'static, Vec<PathBuf>> {
    MADE_DIRS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records a directory the run made, to remove if the process is
/// interrupted while it is still empty (one that holds an output stays).
pub fn register_dir(path: &Path) {
    made_dirs().push(path.to_owned());
}

/// Records a staging file, to delete if the process is interrupted.
pub fn register(path: &Path) {
    staged().push(path.to_owned());
}

/// Forgets a staging file (renamed into place or deleted).
pub fn unregister(path: &Path) {
    staged().retain(|p| p != path);
}

/// Starts a thread that, on SIGINT, SIGTERM or SIGHUP, deletes the staging
/// files and then ends the process with that signal's default action. Only
/// the binary calls this: a library caller keeps its own signal handling.
pub fn install() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;

        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // Held to the end, so no new staging file can appear.
                    let files = staged();
                    for path in files.iter() {
                        let _ = std::fs::remove_file(path);
                    }
                    // Innermost first; `remove_dir` leaves any that is not
                    // empty.
                    for dir in made_dirs().iter().rev() {
                        let _ = std::fs::remove_dir(dir);
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    std::process::exit(128 + signal);
                }
            });
        drop(spawned);
    }
}
