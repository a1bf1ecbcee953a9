//! A bounds-checked big-endian cursor over untrusted bytes.

use crate::error::Error;

/// Why a parser stopped.
#[derive(Debug)]
pub(crate) enum ParseError {
    /// The buffer ends before the structure does; more input may complete it.
    Incomplete,
    /// The bytes can never form a valid structure.
    Invalid(Error),
}

impl From<Error> for ParseError {
    fn from(e: Error) -> Self {
        ParseError::Invalid(e)
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Incomplete => Error::malformed("message is truncated"),
            ParseError::Invalid(e) => e,
        }
    }
}

pub(crate) type ParseResult<T> = Result<T, ParseError>;

/// Reads fields from the front of a slice; never panics, never allocates
/// more than the bytes it was given.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> ParseResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(ParseError::Incomplete)?;
        let out = self.buf.get(self.pos..end).ok_or(ParseError::Incomplete)?;
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> ParseResult<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> ParseResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self, _what: &str) -> ParseResult<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> ParseResult<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> ParseResult<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A u16 length followed by that many bytes.
    pub(crate) fn bytes_u16(&mut self, what: &str) -> ParseResult<&'a [u8]> {
        let len = self.u16(what)?;
        self.take(usize::from(len))
    }

    /// A u16 length followed by that many bytes of UTF-8.
    pub(crate) fn utf8_u16(&mut self, what: &str) -> ParseResult<String> {
        let bytes = self.bytes_u16(what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Error::malformed(format!("{what} is not valid UTF-8")).into())
    }
}
