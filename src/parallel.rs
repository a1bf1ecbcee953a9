//! Spreading independent frames over worker threads.
//!
//! Frames are independent once the content key is derived, so batches of
//! frames are sealed or opened on several threads. Output positions are
//! fixed in advance, so the bytes are identical to the single-threaded path.
//! The signature hash must see frames in order: the calling thread can take
//! that role ([`Order::Consume`]) while the workers run AES-GCM, so hashing
//! and encryption overlap on different cores.

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;

use crate::error::{Error, Result};

/// Bytes of frames handed to a worker at a time.
pub(crate) const GROUP_BYTES: usize = 256 * 1024;

/// The worker count to use when the caller did not choose one: the
/// available cores, asked once (the query costs more than a small message).
pub(crate) fn default_threads() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()))
}

/// What the calling thread does while workers process jobs.
pub(crate) enum Order<'f, T> {
    /// Take jobs like a worker; nothing needs to see them in order.
    Work,
    /// See each finished job in index order (e.g. to hash it), and leave
    /// the jobs to the other threads.
    Consume(&'f mut dyn FnMut(&T)),
}

/// Runs `work` on every job using `threads` threads in all (the caller's
/// included). Returns the first error by job index.
pub(crate) fn run<T, W>(
    jobs: Vec<T>,
    threads: usize,
    work: W,
    mut order: Order<'_, T>,
) -> Result<()>
where
    T: Send,
    W: Fn(&mut T) -> Result<()> + Sync,
{
    let count = jobs.len();
    let spawned = match order {
        Order::Work => threads.saturating_sub(1),
        Order::Consume(_) => threads.saturating_sub(1).max(1),
    }
    .min(count);
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let (tx, rx) = mpsc::channel::<(usize, T, Result<()>)>();
    let mut finished: Vec<Option<(T, Result<()>)>> = (0..count).map(|_| None).collect();
    thread::scope(|scope| {
        for _ in 0..spawned {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                while let Some((i, mut job)) = next() {
                    let result = work(&mut job);
                    if tx.send((i, job, result)).is_err() {
                        break;
                    }
                }
            });
        }
        if matches!(order, Order::Work) {
            while let Some((i, mut job)) = next() {
                let result = work(&mut job);
                if let Some(slot) = finished.get_mut(i) {
                    *slot = Some((job, result));
                }
            }
        }
        drop(tx);
        let mut cursor = 0;
        for (i, job, result) in rx {
            if let Some(slot) = finished.get_mut(i) {
                *slot = Some((job, result));
            }
            if let Order::Consume(consume) = &mut order {
                while let Some(Some((job, Ok(())))) = finished.get(cursor) {
                    consume(job);
                    cursor += 1;
                }
            }
        }
    });
    for entry in finished {
        match entry {
            Some((_, Err(e))) => return Err(e),
            Some((_, Ok(()))) => {}
            None => return Err(Error::bad_arg("a worker thread stopped early")),
        }
    }
    Ok(())
}
