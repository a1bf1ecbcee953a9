//! Where the decryption state machine puts plaintext.
//!
//! A growing `Vec` (the streaming decryptor, plaintext held for a signature)
//! or a caller's buffer of exactly the plaintext's length
//! ([`PreparedDecryption::open_into`](crate::PreparedDecryption::open_into)),
//! which the worker threads write in place: nothing is zeroed or copied on
//! the thread that hashes. The caller's buffer may be uninitialized memory
//! ([`Region::Uninit`]): each frame's ciphertext is copied into its slot
//! before it is decrypted there, so every byte is written before it is read.

use std::mem::MaybeUninit;

use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Memory for plaintext: initialized, or not yet.
pub(crate) enum Region<'a> {
    Init(&'a mut [u8]),
    Uninit(&'a mut [MaybeUninit<u8>]),
}

impl<'a> Region<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Region::Init(b) => b.len(),
            Region::Uninit(b) => b.len(),
        }
    }

    /// The same bytes, borrowed again.
    pub(crate) fn reborrow(&mut self) -> Region<'_> {
        match self {
            Region::Init(b) => Region::Init(b),
            Region::Uninit(b) => Region::Uninit(b),
        }
    }

    /// The bytes at `start..end`, or `None` past the end.
    fn range(&mut self, start: usize, end: usize) -> Option<Region<'_>> {
        match self {
            Region::Init(b) => b.get_mut(start..end).map(Region::Init),
            Region::Uninit(b) => b.get_mut(start..end).map(Region::Uninit),
        }
    }

    /// Consecutive pieces of `size` bytes (the last may be shorter).
    pub(crate) fn chunks(self, size: usize) -> Chunks<'a> {
        match self {
            Region::Init(b) => Chunks::Init(b.chunks_mut(size)),
            Region::Uninit(b) => Chunks::Uninit(b.chunks_mut(size)),
        }
    }

    /// Copies `data` in (exactly as long as the region) and returns the now
    /// initialized bytes.
    pub(crate) fn fill(self, data: &[u8]) -> Result<&'a mut [u8]> {
        if self.len() != data.len() {
            return Err(Error::bad_arg("plaintext slot has the wrong size"));
        }
        Ok(match self {
            Region::Init(b) => {
                b.copy_from_slice(data);
                b
            }
            Region::Uninit(b) => b.write_copy_of_slice(data),
        })
    }

    /// The bytes, initialized: as they are, or (uninitialized memory) copied
    /// from `zeros`, which must be at least as long. Copying from one zeroed
    /// source gives one contiguous `&mut [u8]` without `unsafe`.
    pub(crate) fn init_zeroed(self, zeros: &[u8]) -> Result<&'a mut [u8]> {
        match self {
            Region::Init(b) => Ok(b),
            Region::Uninit(b) => {
                let src = zeros
                    .get(..b.len())
                    .ok_or_else(|| Error::bad_arg("zero source too short"))?;
                Ok(b.write_copy_of_slice(src))
            }
        }
    }

    /// Whether the memory may be uninitialized.
    pub(crate) fn is_uninit(&self) -> bool {
        matches!(self, Region::Uninit(_))
    }

    /// The bytes before `mid` and those from `mid` on, or `None` past the
    /// end.
    pub(crate) fn split_at(self, mid: usize) -> Option<(Region<'a>, Region<'a>)> {
        match self {
            Region::Init(b) => b
                .split_at_mut_checked(mid)
                .map(|(x, y)| (Region::Init(x), Region::Init(y))),
            Region::Uninit(b) => b
                .split_at_mut_checked(mid)
                .map(|(x, y)| (Region::Uninit(x), Region::Uninit(y))),
        }
    }

    /// Writes zeros over every byte.
    pub(crate) fn wipe(&mut self) {
        match self {
            Region::Init(b) => b.zeroize(),
            Region::Uninit(b) => b.iter_mut().for_each(|x| {
                x.write(0);
            }),
        }
    }
}

/// The pieces of [`Region::chunks`].
pub(crate) enum Chunks<'a> {
    Init(std::slice::ChunksMut<'a, u8>),
    Uninit(std::slice::ChunksMut<'a, MaybeUninit<u8>>),
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Region<'a>;

    fn next(&mut self) -> Option<Region<'a>> {
        match self {
            Chunks::Init(c) => c.next().map(Region::Init),
            Chunks::Uninit(c) => c.next().map(Region::Uninit),
        }
    }
}

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

impl Sink for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn grow(&mut self, n: usize) -> Result<Region<'_>> {
        let start = self.len();
        self.resize(start + n, 0);
        Ok(Region::Init(self.get_mut(start..).unwrap_or_default()))
    }

    fn append(&mut self, data: &[u8]) -> Result<&mut [u8]> {
        let start = self.len();
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
