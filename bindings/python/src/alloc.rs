//! Memory for large messages: transparent huge pages.
//!
//! A one-shot encrypt or decrypt of a large message writes two fresh
//! buffers of about its size (the core's output, then the `bytes` returned
//! to Python). First-touching fresh memory 4 KiB at a time costs more than
//! the AES-GCM over it (64 MiB: ~16,000 page faults). Blocks of at least
//! 4 MiB are therefore marked `MADV_HUGEPAGE`, so the kernel backs them with
//! 2 MiB pages where it can (the usual "madvise" THP mode). Advisory only:
//! contents, sizes and lifetimes are unchanged, and kernels without THP
//! ignore it.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large are advised.
pub(crate) const THRESHOLD: usize = 4 << 20;

#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Marks the 2 MiB-aligned interior of `[ptr, ptr + len)` for huge pages.
#[cfg(target_os = "linux")]
pub(crate) fn advise_huge_pages(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len < THRESHOLD {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize).saturating_add(len) & !(HUGE_PAGE - 1);
    if end > start {
        // SAFETY: `[start, end)` lies within a live allocation of the caller;
        // MADV_HUGEPAGE changes only how the kernel backs those pages, never
        // their contents or mapping. A failure (no THP) is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// No-op where transparent huge pages are not a thing.
#[cfg(not(target_os = "linux"))]
pub(crate) fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

/// The system allocator, advising huge pages for large blocks.
pub(crate) struct HugePageAlloc;

// SAFETY: every method forwards to `System` with the same arguments and
// returns its result unchanged; `advise_huge_pages` does not touch memory.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        advise_huge_pages(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise_huge_pages(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        advise_huge_pages(ptr, new_size);
        ptr
    }
}
