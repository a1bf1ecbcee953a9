//! Daemon threads at interpreter exit.
//!
//! Before Python 3.14, a thread that asks for the GIL once the interpreter
//! is finalizing is ended with `pthread_exit`, which unwinds its stack.
//! Rust frames cannot be unwound that way, so a daemon thread still inside
//! this module when the program exits would abort the whole process
//! (SIGABRT) the next time it takes the GIL: to call `hashlib`, a Python
//! keyring or a KMS client, or to return from the core.
//!
//! So every place this module takes the GIL back goes through [`attach`] or
//! [`detach`], and an `atexit` hook ([`_at_exit`]; it runs after the
//! non-daemon threads are joined and before finalization starts) marks the
//! exit and then waits, with the GIL released, until no thread is inside a
//! Python call made from here or on its way to the GIL. From then on, a
//! thread other than the exiting one that would take the GIL from here
//! parks for good instead (what Python 3.14 itself does with such threads);
//! the process exits around it. Code that runs with the GIL held all along
//! is never parked, so the exit itself (or an `atexit` function that uses
//! this module after the hook) cannot deadlock on it.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::OnceLock;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Set by the `atexit` hook.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads inside [`attach`] (waiting for the GIL or running Python) or
/// between the end of a [`detach`] closure and holding the GIL again.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// The thread that ran the hook: the one finalizing the interpreter.
static EXITING_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// The longest the hook waits for Python calls made from here (a keyring
/// or KMS client's network call) to return.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

thread_local! {
    /// Whether this thread gave the GIL up in [`detach`] and has not taken
    /// it back in [`attach`]: only then can parking it not block the exit.
    static DETACHED: Cell<bool> = const { Cell::new(false) };
    /// How many [`attach`] scopes this thread is in. A thread inside one
    /// (a Python keyring calling this module again) is never parked: the
    /// hook waits for its outer call instead.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Counts this thread in [`IN_FLIGHT`] until dropped; parks it for good
/// first if the interpreter is exiting and parking it is safe.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        IN_FLIGHT.fetch_add(1, SeqCst);
        if EXITING.load(SeqCst)
            && DETACHED.with(Cell::get)
            && DEPTH.with(Cell::get) == 0
            && EXITING_THREAD.get() != Some(&thread::current().id())
        {
            IN_FLIGHT.fetch_sub(1, SeqCst);
            loop {
                thread::park();
            }
        }
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, SeqCst);
    }
}

/// Sets [`DETACHED`] for a scope, restoring it after.
struct Detached(bool);

impl Detached {
    fn set(now: bool) -> Self {
        Detached(DETACHED.with(|d| d.replace(now)))
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        DETACHED.with(|d| d.set(self.0));
    }
}

/// `Python::attach`, for code that may run on a thread the core called
/// back on with the GIL released.
pub(crate) fn attach<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
    let _in_flight = InFlight::enter();
    let _depth = Depth::enter();
    Python::attach(|py| {
        let _held = Detached::set(false);
        f(py)
    })
}

/// Counts this thread's [`attach`] scopes in [`DEPTH`] until dropped.
struct Depth;

impl Depth {
    fn enter() -> Self {
        DEPTH.with(|d| d.set(d.get() + 1));
        Depth
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// `py.detach`: runs `f` with the GIL released.
pub(crate) fn detach<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    let (result, in_flight) = py.detach(|| {
        let result = {
            let _released = Detached::set(true);
            f()
        };
        let _released = Detached::set(true);
        (result, InFlight::enter())
    });
    drop(in_flight);
    result
}

/// Registered with `atexit` when the module loads (see the module docs).
#[pyfunction]
pub(crate) fn _at_exit(py: Python<'_>) {
    let _ = EXITING_THREAD.set(thread::current().id());
    EXITING.store(true, SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + DRAIN_LIMIT;
        while IN_FLIGHT.load(SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers [`_at_exit`].
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(_at_exit, m)?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
