//! The largest single heap allocation a target makes, so that a target can
//! assert that hostile lengths never make the SDK allocate far beyond the
//! size of its input.
//!
//! Allocations made by C code (AWS-LC) do not pass through Rust's allocator
//! and are not counted; they are small and fixed per operation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Allowance over the input size: fixed-size tables, keys, error strings.
pub const SLACK: usize = 256 * 1024;

struct PeakAlloc;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the allocator also runs while thread-locals are torn down.
    let _ = PEAK.try_with(|peak| {
        if size > peak.get() {
            peak.set(size);
        }
    });
}

// SAFETY: every method forwards to the system allocator unchanged; the
// wrapper only records sizes in a thread-local cell.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` and `layout` come from this allocator, which is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

/// Runs `f` and panics if, on this thread, it made a single allocation
/// larger than `factor × input_len + SLACK` bytes.
pub fn bounded<T>(what: &str, input_len: usize, factor: usize, f: impl FnOnce() -> T) -> T {
    PEAK.with(|peak| peak.set(0));
    let out = f();
    let peak = PEAK.with(|peak| peak.get());
    let bound = input_len.saturating_mul(factor).saturating_add(SLACK);
    assert!(
        peak <= bound,
        "{what}: allocated {peak} bytes at once for a {input_len}-byte input (bound {bound})"
    );
    out
}
