//! Output memory that may not be initialized yet.
//!
//! Front ends hand the core memory they own (a Python `bytes` object fresh
//! from its allocator) to be written in place. Safe Rust cannot view such
//! memory as `&mut [u8]`, so the core writes it through [`Region`]: each
//! piece is initialized by copying into it (`write_copy_of_slice`), which
//! gives back the initialized bytes, before anything reads them.

use std::mem::MaybeUninit;

use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Output memory: initialized, or not yet.
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
    pub(crate) fn range(&mut self, start: usize, end: usize) -> Option<Region<'_>> {
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

    /// Refuses a region that is not `want` bytes long; an uninitialized one
    /// is zeroed first, so that on every error the caller's memory is
    /// initialized.
    pub(crate) fn expect_len(&mut self, want: usize, what: &str) -> Result<()> {
        if self.len() == want {
            return Ok(());
        }
        let err = Error::bad_arg(format!(
            "the output buffer holds {} bytes; the {what} is {want} bytes",
            self.len()
        ));
        if self.is_uninit() {
            self.wipe();
        }
        Err(err)
    }

    /// The bytes, initialized (zeroed if they were not): for small pieces;
    /// see [`Self::init_zeroed`] to reuse one zero source.
    pub(crate) fn into_zeroed(self) -> &'a mut [u8] {
        match self {
            Region::Init(b) => b,
            Region::Uninit(b) => b.write_copy_of_slice(&vec![0u8; b.len()]),
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
