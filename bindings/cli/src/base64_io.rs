//! `--decode` and `--encode`: base64 (RFC 4648, standard alphabet, padded)
//! read and written as a stream, as the AWS Encryption CLI's flags of the
//! same names do, so messages can travel through text-only channels.
//!
//! [`DecodingReader`] skips ASCII whitespace (line breaks of wrapped
//! base64) and refuses anything else that is not base64: a character
//! outside the alphabet, padding before the end, or a length that does not
//! end on a whole group. [`Encoder`] writes one line with no line break at
//! the end. Both keep only a few bytes between calls, and wipe their
//! buffers, which may hold plaintext.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use crate::exit::{CliError, Status};

/// Encoded bytes read from the source per refill.
const READ_CHUNK: usize = 48 * 1024;

/// Why a `--decode` input is not base64.
#[derive(Debug)]
struct NotBase64(String);

impl fmt::Display for NotBase64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotBase64 {}

fn not_base64(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, NotBase64(reason.into()))
}

/// The CLI error for a failed read of `name`: status 5 (malformed input)
/// when a [`DecodingReader`] found something that is not base64, else an
/// I/O failure (status 4).
pub fn read_error(name: &Path, err: &io::Error) -> CliError {
    match err.get_ref().and_then(|e| e.downcast_ref::<NotBase64>()) {
        Some(reason) => CliError::new(
            Status::MalformedMessage,
            format!(
                "'{}' is not valid base64 (--decode): {reason}",
                name.display()
            ),
        ),
        None => CliError::io("read", name, err),
    }
}

/// A core error as a CLI error; a message the core saw was base64 gets a
/// pointer to `--decode` when the input was read as it is (`decoding`
/// false).
pub fn suggest_decode(e: kms_envelope::Error, decoding: bool) -> CliError {
    let base64_seen = e.kind() == kms_envelope::ErrorKind::MalformedMessage
        && e.to_string().contains("looks base64-encoded");
    let mut err = CliError::from(e);
    if base64_seen && !decoding {
        err.message.push_str(" (or pass --decode)");
    }
    err
}

/// Reads base64 from `source` and yields the bytes it encodes.
pub struct DecodingReader {
    source: Box<dyn Read>,
    /// Encoded bytes read but not yet decoded: whitespace removed, fewer
    /// than four left over between refills.
    pending: Zeroizing<Vec<u8>>,
    /// The last refill's raw bytes.
    raw: Zeroizing<Vec<u8>>,
    /// Decoded bytes not yet handed out, from `start`.
    decoded: Zeroizing<Vec<u8>>,
    start: usize,
    /// Encoded characters consumed so far, for error messages.
    offset: u64,
    /// Where the first `=` was: only whitespace may follow its group.
    padding_at: Option<u64>,
    at_end: bool,
}

impl DecodingReader {
    /// Decodes what `source` yields.
    pub fn new(source: Box<dyn Read>) -> Self {
        Self {
            source,
            pending: Zeroizing::new(Vec::with_capacity(READ_CHUNK + 4)),
            raw: Zeroizing::new(vec![0; READ_CHUNK]),
            decoded: Zeroizing::new(Vec::with_capacity(READ_CHUNK / 4 * 3 + 3)),
            start: 0,
            offset: 0,
            padding_at: None,
            at_end: false,
        }
    }

    /// Reads more encoded bytes and decodes every whole group among them
    /// (all of them at the end of the input).
    fn refill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.source.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.at_end = n == 0;
        let raw = self.raw.get(..n).unwrap_or_default();
        for &b in raw.iter().filter(|b| !b.is_ascii_whitespace()) {
            let at = self.offset + self.pending.len() as u64;
            if let Some(pad) = self.padding_at {
                // Padding ends its group, and the group ends the input.
                if b != b'=' || at / 4 != pad / 4 {
                    return Err(not_base64(format!(
                        "data after the padding that ends it, at character {at}"
                    )));
                }
            } else if b == b'=' {
                self.padding_at = Some(at);
            } else if !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
                return Err(not_base64(if b.is_ascii_graphic() {
                    format!(
                        "'{}' at character {at} is not a base64 character",
                        b as char
                    )
                } else {
                    format!("byte 0x{b:02x} at character {at} is not a base64 character")
                }));
            }
            self.pending.push(b);
        }
        let whole = if self.at_end {
            if !self.pending.len().is_multiple_of(4) {
                return Err(not_base64(format!(
                    "it ends inside a group: {} characters, not a multiple of 4",
                    self.offset + self.pending.len() as u64
                )));
            }
            self.pending.len()
        } else {
            self.pending.len() - self.pending.len() % 4
        };
        let groups = self.pending.get(..whole).unwrap_or_default();
        self.decoded.clear();
        self.decoded.resize(whole / 4 * 3, 0);
        self.start = 0;
        let len = STANDARD
            .decode_slice(groups, self.decoded.as_mut_slice())
            .map_err(|e| {
                not_base64(match e {
                    base64::DecodeSliceError::DecodeError(e) => self.locate(e),
                    base64::DecodeSliceError::OutputSliceTooSmall => e.to_string(),
                })
            })?;
        self.decoded.truncate(len);
        self.offset += whole as u64;
        self.pending.drain(..whole);
        Ok(())
    }

    /// A decoding error, its position counted from the start of the input
    /// (whitespace not counted).
    fn locate(&self, e: base64::DecodeError) -> String {
        match e {
            // Other bytes outside the alphabet were refused as they came.
            base64::DecodeError::InvalidByte(at, _) => {
                format!("wrong padding at character {}", self.offset + at as u64)
            }
            base64::DecodeError::InvalidLastSymbol(at, _) => format!(
                "the last group does not end on a whole byte (character {})",
                self.offset + at as u64
            ),
            base64::DecodeError::InvalidPadding => "wrong padding at the end".to_owned(),
            base64::DecodeError::InvalidLength(_) => "truncated group".to_owned(),
        }
    }
}

impl Read for DecodingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.start >= self.decoded.len() {
            if self.at_end || buf.is_empty() {
                return Ok(0);
            }
            self.refill()?;
        }
        let ready = self.decoded.get(self.start..).unwrap_or_default();
        let n = ready.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), ready.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.start += n;
        Ok(n)
    }
}

/// Turns the bytes written through it into base64, a chunk at a time.
#[derive(Default)]
pub struct Encoder {
    /// Up to two bytes left over from the last chunk (base64 works in
    /// groups of three).
    carry: Zeroizing<Vec<u8>>,
    /// The encoded chunk, reused.
    out: Zeroizing<Vec<u8>>,
}

impl Encoder {
    /// Encodes `data` after what came before it; returns the encoded bytes
    /// ready to write (the last one or two input bytes may wait for the
    /// next call or [`finish`](Self::finish)).
    pub fn update(&mut self, data: &[u8]) -> &[u8] {
        self.out.clear();
        let mut data = data;
        if !self.carry.is_empty() {
            let take = (3 - self.carry.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.carry.extend_from_slice(head);
            data = rest;
            if self.carry.len() < 3 {
                return &self.out;
            }
            self.flush_carry();
        }
        let whole = data.len() - data.len() % 3;
        let (groups, rest) = data.split_at(whole);
        self.append(groups);
        self.carry.extend_from_slice(rest);
        &self.out
    }

    /// The encoding of the bytes still held, with padding: the end of the
    /// output.
    pub fn finish(&mut self) -> &[u8] {
        self.out.clear();
        self.flush_carry();
        &self.out
    }

    /// Encodes the carried bytes (with padding if fewer than three).
    fn flush_carry(&mut self) {
        let carry = std::mem::replace(&mut self.carry, Zeroizing::new(Vec::with_capacity(3)));
        self.append(&carry);
        // `carry` (a Zeroizing) wipes itself as it drops here.
    }

    fn append(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let at = self.out.len();
        let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
        if at + len > self.out.capacity() {
            // Grown by hand: a reallocation would free the old buffer,
            // which holds base64 of plaintext, without wiping it.
            let mut grown = Zeroizing::new(Vec::with_capacity((at + len).max(2 * at)));
            grown.extend_from_slice(&self.out);
            self.out = grown;
        }
        self.out.resize(at + len, 0);
        if let Some(dst) = self.out.get_mut(at..) {
            // `dst` is exactly the encoded length, so this cannot fail.
            let _ = STANDARD.encode_slice(bytes, dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `input` through a decoder fed `chunk` bytes at a time.
    fn decode(input: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.2.min(buf.len()).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut out = Vec::new();
        DecodingReader::new(Box::new(Trickle(input.to_vec(), 0, chunk))).read_to_end(&mut out)?;
        Ok(out)
    }

    fn encode(data: &[u8], chunks: &[usize]) -> Vec<u8> {
        let mut enc = Encoder::default();
        let mut out = Vec::new();
        let mut rest = data;
        for &c in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (head, tail) = rest.split_at(c.min(rest.len()));
            out.extend_from_slice(enc.update(head));
            rest = tail;
        }
        out.extend_from_slice(enc.finish());
        out
    }

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn encodes_like_one_shot_base64_whatever_the_chunks() {
        for len in [0, 1, 2, 3, 4, 5, 47, 48, 49, 1000, 100_003] {
            let data = bytes(len);
            let expected = STANDARD.encode(&data).into_bytes();
            for chunks in [&[1][..], &[2], &[3], &[5, 1, 7], &[4096], &[100_000]] {
                assert_eq!(
                    encode(&data, chunks),
                    expected,
                    "len {len} chunks {chunks:?}"
                );
            }
        }
    }

    #[test]
    fn decodes_what_it_encodes_whatever_the_chunks() {
        for len in [0, 1, 2, 3, 4, 1000, 3 * READ_CHUNK + 1] {
            let data = bytes(len);
            let text = STANDARD.encode(&data).into_bytes();
            for chunk in [1, 3, 4, 5, 4096, READ_CHUNK] {
                assert_eq!(
                    decode(&text, chunk).unwrap(),
                    data,
                    "len {len} chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn skips_whitespace_of_wrapped_base64() {
        let data = bytes(500);
        let text = STANDARD.encode(&data);
        let mut wrapped = String::from(" \n");
        for line in text.as_bytes().chunks(76) {
            wrapped.push_str(std::str::from_utf8(line).unwrap());
            wrapped.push_str("\r\n");
        }
        wrapped.push_str("\t\n");
        for chunk in [1, 7, 4096] {
            assert_eq!(decode(wrapped.as_bytes(), chunk).unwrap(), data);
        }
    }

    /// The reason a decoder gives for `input`, or None if it decodes.
    fn refusal(input: &str) -> Option<String> {
        let results: Vec<_> = [1, 2, 5, READ_CHUNK]
            .into_iter()
            .map(|chunk| decode(input.as_bytes(), chunk).err().map(|e| e.to_string()))
            .collect();
        // Every way of feeding it agrees on whether it is base64.
        assert!(
            results.iter().all(|r| r.is_some() == results[0].is_some()),
            "{input:?}"
        );
        results[0].clone()
    }

    #[test]
    fn refuses_what_is_not_canonical_base64() {
        let cases = [
            ("QUJD*", "'*' at character 4 is not"),
            ("QUJD\nQU-D", "'-' at character 6"),
            ("QUJ", "not a multiple of 4"),
            ("QUJDRA", "not a multiple of 4"),
            ("QQ==QUJD", "after the padding that ends it, at character 4"),
            ("QQ== QUJD", "after the padding"),
            ("Q===", "padding"),
            ("QR==", "does not end on a whole byte"),
            ("QUJD\0", "0x00"),
            ("QU=D", "after the padding that ends it, at character 3"),
            ("QQ==\n=", "after the padding"),
            ("QUJD\u{e9}", "0xc3 at character 4"),
        ];
        for (input, reason) in cases {
            let got = refusal(input).unwrap_or_else(|| panic!("{input:?} was accepted"));
            assert!(got.contains(reason), "{input:?}: {got}");
        }
        for ok in ["", "QQ==", "QUI=", "QUJD", " QUJD \n"] {
            assert_eq!(refusal(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn refusals_become_malformed_input_errors() {
        let err = decode(b"QUJ", 16).unwrap_err();
        let cli = read_error(Path::new("in.b64"), &err);
        assert_eq!(cli.status, Status::MalformedMessage);
        assert!(cli
            .message
            .starts_with("'in.b64' is not valid base64 (--decode): "));
        let other = io::Error::other("disk on fire");
        assert_eq!(read_error(Path::new("x"), &other).status, Status::Io);
    }
}
