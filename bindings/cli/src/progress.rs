//! The progress bar of `encrypt` and `decrypt`.
//!
//! Drawn on stderr only when stderr is a terminal and `--quiet` is not given,
//! and only once the work has run for [`DELAY`], so quick commands print
//! nothing. It counts input bytes against the input's size when known, and
//! is cleared when the command ends (so an error line stands alone).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long the work runs before the bar appears.
pub const DELAY: Duration = Duration::from_millis(500);

const WITH_TOTAL: &str =
    "{msg} [{bar:30}] {bytes}/{total_bytes} ({percent}%) {binary_bytes_per_sec}, eta {eta}";
const WITHOUT_TOTAL: &str = "{msg} {spinner} {bytes} {binary_bytes_per_sec}, {elapsed}";

/// A progress bar that may never be shown.
pub struct Progress {
    bar: Option<ProgressBar>,
    shown: bool,
    started: Instant,
}

impl Progress {
    /// A bar labelled `label` ("encrypting") over `total` input bytes, if known.
    pub fn new(label: &'static str, total: Option<u64>, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
            let template = if total.is_some() {
                WITH_TOTAL
            } else {
                WITHOUT_TOTAL
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label);
            bar
        });
        Self {
            bar,
            shown: false,
            started: Instant::now(),
        }
    }

    /// Whether a bar may be drawn at all (stderr is a terminal, not quiet).
    pub fn is_enabled(&self) -> bool {
        self.bar.is_some()
    }

    /// Counts `bytes` more input done.
    pub fn inc(&mut self, bytes: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes as u64);
            if !self.shown && self.started.elapsed() >= DELAY {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                self.shown = true;
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
