//! `kmse_buffer`: bytes owned by the library (one-shot results).

use zeroize::Zeroizing;

use crate::args::{free_handle, handle, out};
use crate::status::{guard, kmse_status};

/// Bytes the library allocated for the caller: the result of `kmse_encrypt`
/// or `kmse_decrypt`. Read it with `kmse_buffer_data`; free it with
/// `kmse_buffer_free`, which also wipes it. Immutable: may be read from
/// several threads at once.
pub struct kmse_buffer {
    pub(crate) data: Zeroizing<Vec<u8>>,
}

impl kmse_buffer {
    pub(crate) fn new(data: Vec<u8>) -> Self {
        Self {
            data: Zeroizing::new(data),
        }
    }
}

/// The bytes of a buffer.
///
/// - `buffer`: borrowed.
/// - `data_out`: receives a pointer into the buffer (never NULL, even for an
///   empty buffer), valid until `kmse_buffer_free(buffer)`. Not owned by the
///   caller.
/// - `len_out`: receives the number of bytes.
#[no_mangle]
pub unsafe extern "C" fn kmse_buffer_data(
    buffer: *const kmse_buffer,
    data_out: *mut *const u8,
    len_out: *mut usize,
) -> kmse_status {
    guard("kmse_buffer_data", || {
        // SAFETY: the C caller passes a live buffer or NULL, and valid
        // out-pointers or NULL (API contract).
        let (buffer, data_out, len_out) = unsafe {
            (
                handle(buffer, "buffer")?,
                out(data_out, "data_out")?,
                out(len_out, "len_out")?,
            )
        };
        data_out.write(buffer.data.as_ptr());
        len_out.write(buffer.data.len());
        Ok(())
    })
}

/// Wipes and frees a buffer. NULL is ignored. The buffer and every pointer
/// into it are invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn kmse_buffer_free(buffer: *mut kmse_buffer) {
    // SAFETY: the C caller passes NULL or a buffer from this library, once.
    unsafe { free_handle(buffer) }
}
