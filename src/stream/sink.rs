//! Where the decryption state machine puts plaintext, and how a growing
//! plaintext buffer grows without leaving copies behind
//! ([`reserve_wiping`]).
//!
//! A growing `Vec` (the streaming decryptor, plaintext held for a signature)
//! or a caller's buffer of exactly the plaintext's length
//! ([`PreparedDecryption::open_into`](crate::PreparedDecryption::open_into)),
//! which the worker threads write in place: nothing is zeroed or copied on
//! the thread that hashes. The caller's buffer may be uninitialized memory
//! ([`Region::Uninit`]): each frame's ciphertext is copied into its slot
//! before it is decrypted there, so every byte is written before it is read.

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::region::Region;

/// Plaintext output of the decryption state machine.
pub(crate) trait Sink: Send {
    /// Bytes written so far.
    fn len(&self) -> usize;

    /// Appends `n` bytes, to be written through the returned region.
    fn grow(&mut self, n: usize) -> Result<Region<'_>>;

    /// Appends a copy of `data` and returns the copy.
    fn append(&mut self, data: &[u8]) -> Result<&mut [u8]> {
        self.grow(data.len())?.fill(data)
    }

    /// Wipes and drops everything from `at` on.
    fn wipe_from(&mut self, at: usize);

    /// Moves the plaintext `held` back for a signature to the end, and
    /// leaves `held` empty and wiped.
    fn release_held(&mut self, held: &mut Vec<u8>) -> Result<()> {
        let result = self.append(held).map(drop);
        held.zeroize();
        held.clear();
        result
    }
}

/// Makes room for `additional` more bytes in a buffer that holds plaintext,
/// wiping the old block when it moves: `Vec`'s own growth hands the old
/// block back to the allocator as it is. Doubles the capacity at least, as
/// `Vec` does.
pub(crate) fn reserve_wiping(buf: &mut Vec<u8>, additional: usize) -> Result<()> {
    reserve_wiping_within(buf, additional, usize::MAX)
}

/// [`reserve_wiping`] for a buffer whose contents a limit keeps to `bound`
/// bytes: doubling stops at the bound, so a message refused at its limit
/// has not made the buffer twice that.
pub(crate) fn reserve_wiping_within(
    buf: &mut Vec<u8>,
    additional: usize,
    bound: usize,
) -> Result<()> {
    let Some(capacity) = grown_capacity((buf.len(), buf.capacity()), additional, bound)? else {
        return Ok(());
    };
    let mut grown = Vec::with_capacity(capacity);
    grown.extend_from_slice(buf);
    // Wipes the whole old capacity, spare bytes included, before it is freed.
    buf.zeroize();
    *buf = grown;
    Ok(())
}

/// Makes room for `additional` more bytes in a buffer of public bytes
/// (ciphertext waiting for the rest of a header or frame), doubling up to
/// `bound` as [`reserve_wiping_within`] does.
pub(crate) fn reserve_within(buf: &mut Vec<u8>, additional: usize, bound: usize) -> Result<()> {
    if let Some(capacity) = grown_capacity((buf.len(), buf.capacity()), additional, bound)? {
        buf.reserve_exact(capacity - buf.len());
    }
    Ok(())
}

/// The capacity a buffer of `len` bytes in `capacity` should grow to for
/// `additional` more bytes, or `None` if they fit: twice the capacity, but
/// no more than `bound` unless the bytes themselves need more.
fn grown_capacity(
    (len, capacity): (usize, usize),
    additional: usize,
    bound: usize,
) -> Result<Option<usize>> {
    let needed = len
        .checked_add(additional)
        .ok_or_else(|| Error::bad_arg("buffer size overflows"))?;
    if needed <= capacity {
        return Ok(None);
    }
    let doubled = capacity.saturating_mul(2).min(bound);
    Ok(Some(needed.max(doubled)))
}

impl Sink for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn grow(&mut self, n: usize) -> Result<Region<'_>> {
        let start = self.len();
        reserve_wiping(self, n)?;
        self.resize(start + n, 0);
        Ok(Region::Init(self.get_mut(start..).unwrap_or_default()))
    }

    fn append(&mut self, data: &[u8]) -> Result<&mut [u8]> {
        let start = self.len();
        reserve_wiping(self, data.len())?;
        self.extend_from_slice(data);
        Ok(self.get_mut(start..).unwrap_or_default())
    }

    fn wipe_from(&mut self, at: usize) {
        if let Some(tail) = self.get_mut(at..) {
            tail.zeroize();
        }
        self.truncate(at);
    }

    fn release_held(&mut self, held: &mut Vec<u8>) -> Result<()> {
        if self.is_empty() {
            // Hand over the buffer instead of copying it.
            std::mem::swap(self, held);
            return Ok(());
        }
        reserve_wiping(self, held.len())?;
        self.extend_from_slice(held);
        held.zeroize();
        held.clear();
        Ok(())
    }
}

/// A caller's buffer, filled from the front.
pub(crate) struct SliceSink<'a> {
    buf: Region<'a>,
    len: usize,
}

impl<'a> SliceSink<'a> {
    pub(crate) fn new(buf: Region<'a>) -> Self {
        Self { buf, len: 0 }
    }

    /// Whether every byte of the buffer was written.
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }
}

impl Sink for SliceSink<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn grow(&mut self, n: usize) -> Result<Region<'_>> {
        let start = self.len;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| Error::bad_arg("the plaintext is longer than the output buffer"))?;
        self.len = end;
        self.buf
            .range(start, end)
            .ok_or_else(|| Error::bad_arg("the plaintext is longer than the output buffer"))
    }

    fn wipe_from(&mut self, at: usize) {
        let len = self.buf.len();
        if let Some(mut tail) = self.buf.range(at.min(len), len) {
            tail.wipe();
        }
        self.len = self.len.min(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;

    #[test]
    fn a_growing_plaintext_vec_moves_only_through_reserve_wiping() {
        // Vec's own growth would free the old block unwiped: every append
        // after reserve_wiping must fit, so the block stays put, and when
        // it must move, the contents come along.
        let mut out: Vec<u8> = Vec::new();
        let mut moves = 0;
        for i in 0..200u8 {
            let capacity = out.capacity();
            reserve_wiping(&mut out, 42).unwrap();
            if out.capacity() != capacity {
                moves += 1;
            }
            let placed = out.as_ptr();
            Sink::append(&mut out, &[i; 37]).unwrap();
            Sink::grow(&mut out, 5).unwrap().fill(&[i; 5]).unwrap();
            assert_eq!(out.as_ptr(), placed, "the Vec grew by itself");
        }
        assert!(moves < 20, "capacity doubles: {moves} moves");
        assert_eq!(out.len(), 200 * 42);
        assert!(out
            .chunks(42)
            .enumerate()
            .all(|(i, c)| c.iter().all(|&b| b == i as u8)));
        assert!(reserve_wiping(&mut out, usize::MAX).is_err());
    }

    #[test]
    fn a_slice_sink_fills_from_the_front_and_refuses_to_overflow() {
        let mut buf = [9u8; 8];
        let mut sink = SliceSink::new(Region::Init(&mut buf));
        sink.append(b"abc").unwrap();
        sink.grow(2).unwrap().fill(b"de").unwrap();
        assert_eq!(sink.len(), 5);
        assert!(sink.grow(4).is_err());
        let mut held = b"fgh".to_vec();
        sink.release_held(&mut held).unwrap();
        assert!(held.is_empty() && sink.is_full());
        sink.wipe_from(2);
        assert_eq!(sink.len(), 2);
        assert_eq!(&buf, b"ab\0\0\0\0\0\0");
    }

    #[test]
    fn an_uninitialized_buffer_is_written_before_it_is_read() {
        let mut buf = [MaybeUninit::<u8>::uninit(); 6];
        let mut sink = SliceSink::new(Region::Uninit(&mut buf));
        assert_eq!(sink.append(b"abc").unwrap(), b"abc");
        assert!(
            sink.grow(2).unwrap().fill(b"xyz").is_err(),
            "sizes must match"
        );
        let mut held = b"d".to_vec();
        sink.release_held(&mut held).unwrap();
        assert!(sink.is_full());
        sink.wipe_from(0);
        assert_eq!(sink.len(), 0);
        let mut pieces = 0;
        for piece in Region::Uninit(&mut buf).chunks(4) {
            pieces += 1;
            assert!(piece.len() <= 4);
        }
        assert_eq!(pieces, 2);
    }

    #[test]
    fn a_vec_sink_takes_held_plaintext_without_copying_when_empty() {
        let mut out = Vec::new();
        let mut held = b"held".to_vec();
        out.release_held(&mut held).unwrap();
        assert_eq!(out, b"held");
        let mut more = b"!".to_vec();
        out.release_held(&mut more).unwrap();
        assert_eq!(out, b"held!");
        Sink::wipe_from(&mut out, 1);
        assert_eq!(out, b"h");
    }
}
