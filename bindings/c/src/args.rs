//! Checked conversions of C arguments. Every pointer from C goes through one
//! of these before it is used.

use std::ffi::{c_char, CStr};

use crate::status::{guard_void, Failure, FfiResult};

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn string<'a>(p: *const c_char, what: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL, and NUL-terminated and valid for 'a by this
    // function's contract (the API's documented requirement on C callers).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| Failure::bad_arg(format!("argument `{what}` is not valid UTF-8")))
}

/// An optional string argument: NULL gives `None`.
///
/// # Safety
/// As for [`string`].
pub(crate) unsafe fn opt_string<'a>(p: *const c_char, what: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { string(p, what) }.map(Some)
    }
}

fn check_len<T>(len: usize, what: &str) -> FfiResult {
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(Failure::bad_arg(format!(
            "length of `{what}` ({len}) is larger than any buffer can be"
        )));
    }
    Ok(())
}

fn null_with_len(what: &str, len: usize) -> Failure {
    Failure {
        message: format!("argument `{what}` is NULL but its length is {len}"),
        ..Failure::null(what)
    }
}

/// A (pointer, length) array of NUL-terminated UTF-8 strings, copied; NULL
/// is accepted when `len` is 0, a NULL element is not.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` pointers, each NULL or a
/// NUL-terminated string, all unchanged during the call.
pub(crate) unsafe fn strings(
    p: *const *const c_char,
    len: usize,
    what: &str,
) -> FfiResult<Vec<String>> {
    // SAFETY: forwarded contract.
    let ptrs = unsafe { slice(p, len, what)? };
    let mut out = Vec::with_capacity(ptrs.len());
    for (i, &s) in ptrs.iter().enumerate() {
        // SAFETY: each element is NULL or a NUL-terminated string (contract).
        out.push(unsafe { string(s, &format!("{what}[{i}]"))? }.to_owned());
    }
    Ok(out)
}

/// A (pointer, length) array argument; NULL is accepted when `len` is 0.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` elements, unchanged for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, what: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null_with_len(what, len));
    }
    check_len::<T>(len, what)?;
    // SAFETY: non-NULL, total size <= isize::MAX, and valid for reads of len
    // elements for 'a by this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A (pointer, length) byte argument; NULL is accepted when `len` is 0.
///
/// # Safety
/// As for [`slice`].
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> FfiResult<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { slice(p, len, what) }
}

/// A (pointer, capacity) output buffer; NULL is accepted when `cap` is 0.
///
/// # Safety
/// `p` is NULL or valid for writes of `cap` bytes for `'a`, and overlaps no
/// other argument.
pub(crate) unsafe fn bytes_mut<'a>(p: *mut u8, cap: usize, what: &str) -> FfiResult<&'a mut [u8]> {
    if cap == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(null_with_len(what, cap));
    }
    check_len::<u8>(cap, what)?;
    // SAFETY: non-NULL, cap <= isize::MAX, valid for writes of cap bytes and
    // not aliased for 'a by this function's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, cap) })
}

/// A handle argument, read only.
///
/// # Safety
/// `p` is NULL or points to a live handle of type `T` made by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> FfiResult<&'a T> {
    // SAFETY: a non-NULL pointer is a live handle by this function's contract.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// An optional handle argument: NULL gives `None`.
///
/// # Safety
/// As for [`handle`].
pub(crate) unsafe fn opt_handle<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: a non-NULL pointer is a live handle by this function's contract.
    unsafe { p.as_ref() }
}

/// A handle argument the call may change.
///
/// # Safety
/// `p` is NULL or points to a live handle of type `T` made by this library,
/// used by no other thread during the call.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> FfiResult<&'a mut T> {
    // SAFETY: a non-NULL pointer is a live, unshared handle by this
    // function's contract.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// An out-parameter, checked for NULL before any work is done and written
/// only once the call has succeeded.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Stores `value` without reading or dropping what was there.
    pub(crate) fn write(self, value: T) {
        // SAFETY: the pointer was checked to be non-NULL in `out`, whose
        // contract makes it valid and aligned for a write of T.
        unsafe { self.0.write(value) }
    }
}

/// Checks an out-parameter.
///
/// # Safety
/// `p` is NULL or valid and aligned for a write of `T` until the call returns.
pub(crate) unsafe fn out<T>(p: *mut T, what: &str) -> FfiResult<Out<T>> {
    if p.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(Out(p))
    }
}

/// Checks an optional out-parameter: NULL means the caller does not want it.
///
/// # Safety
/// As for [`out`].
pub(crate) unsafe fn opt_out<T>(p: *mut T) -> Option<Out<T>> {
    (!p.is_null()).then_some(Out(p))
}

/// Moves `value` to the heap and hands its ownership to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back and drops a handle made by [`into_handle`]; NULL is ignored.
///
/// # Safety
/// `p` is NULL or a pointer returned by [`into_handle`] for this `T` that
/// has not been freed yet.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    guard_void(|| {
        if !p.is_null() {
            // SAFETY: p came from Box::into_raw for this T and is freed once,
            // by this function's contract.
            drop(unsafe { Box::from_raw(p) });
        }
    });
}

/// Copies `s` with a NUL appended, for strings handed to C.
pub(crate) fn nul_terminated(s: &str) -> Box<[u8]> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v.into_boxed_slice()
}
