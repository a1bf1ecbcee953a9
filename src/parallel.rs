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

#[cfg(test)]
thread_local! {
    /// Tests: the system refuses every worker thread this thread asks for.
    static REFUSE_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the next worker is refused before it is asked for (tests only).
fn refused() -> bool {
    #[cfg(test)]
    return REFUSE_THREADS.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
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
        let mut started = 0;
        for _ in 0..spawned {
            if refused() {
                break;
            }
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            let worker = thread::Builder::new().spawn_scoped(scope, move || {
                while let Some((i, mut job)) = next() {
                    let result = work(&mut job);
                    if tx.send((i, job, result)).is_err() {
                        break;
                    }
                }
            });
            // A thread the system refuses (a process or memory limit) is one
            // worker fewer, never a failure: the jobs left run here.
            if worker.is_err() {
                break;
            }
            started += 1;
        }
        if matches!(order, Order::Work) || started == 0 {
            while let Some((i, mut job)) = next() {
                let result = work(&mut job);
                if let Some(slot) = finished.get_mut(i) {
                    *slot = Some((job, result));
                }
            }
        }
        drop(tx);
        let mut cursor = 0;
        let mut consume_ready = |finished: &[Option<(T, Result<()>)>]| {
            if let Order::Consume(consume) = &mut order {
                while let Some(Some((job, Ok(())))) = finished.get(cursor) {
                    consume(job);
                    cursor += 1;
                }
            }
        };
        for (i, job, result) in rx {
            if let Some(slot) = finished.get_mut(i) {
                *slot = Some((job, result));
            }
            consume_ready(&finished);
        }
        // With no worker started, the jobs ran here: they are seen now.
        consume_ready(&finished);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs 20 jobs (squaring their index) on 4 threads under `order`.
    fn squares(consume: bool) -> (Vec<u64>, Vec<u64>) {
        let mut jobs: Vec<(u64, u64)> = (0..20).map(|i| (i, 0)).collect();
        let mut seen = Vec::new();
        let mut record = |job: &(u64, u64)| seen.push(job.1);
        let order = if consume {
            Order::Consume(&mut record)
        } else {
            Order::Work
        };
        let done = std::sync::Mutex::new(Vec::new());
        run(
            std::mem::take(&mut jobs),
            4,
            |job| {
                job.1 = job.0 * job.0;
                done.lock().unwrap().push(job.1);
                Ok(())
            },
            order,
        )
        .unwrap();
        let mut done = done.into_inner().unwrap();
        done.sort_unstable();
        (done, seen)
    }

    #[test]
    fn every_job_runs_with_workers_and_without() {
        let want: Vec<u64> = (0..20).map(|i| i * i).collect();
        for refuse in [false, true] {
            REFUSE_THREADS.with(|r| r.set(refuse));
            let (done, seen) = squares(false);
            assert_eq!(done, want, "refused: {refuse}");
            assert!(seen.is_empty());
            // Consumed in order, even when no worker could start.
            let (done, seen) = squares(true);
            assert_eq!(done, want, "refused: {refuse}");
            assert_eq!(seen, want, "refused: {refuse}");
        }
        REFUSE_THREADS.with(|r| r.set(false));
    }
}
