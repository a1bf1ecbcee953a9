//! Where a header that arrives in pieces ends, found in one pass.
//!
//! A header is only parsed whole (its tag covers all of it), but a stream
//! gets it in pieces of any size. Parsing again from the first byte after
//! each piece costs time quadratic in the header's length, and the format
//! lets a header declare up to about 12.9 GiB (65,535 encrypted data keys of
//! three 64 KiB fields each). [`HeaderScan`] reads only the length fields,
//! resuming where it stopped, so each byte is looked at once; it says when
//! the parser should run, and refuses a header whose declared length passes
//! a bound before its bytes are buffered.

use crate::error::{Error, Result};
use crate::format::header::{COMMIT_LEN, IV_LEN, TAG_LEN, V1_TYPE};
use crate::suite::AlgorithmSuite;

/// The least header length a decrypting stream reads (1 MiB), whatever its
/// frame size limit: a 64 KiB context and a few hundred KMS keys fit.
pub const MIN_STREAM_HEADER_LIMIT: u64 = 1 << 20;

/// Bytes after the last encrypted data key: content type, reserved bytes,
/// IV length, frame length, header IV and tag (v1), or content type, frame
/// length, commitment key and tag (v2).
const V1_TAIL: usize = 1 + 4 + 1 + 4 + IV_LEN + TAG_LEN;
const V2_TAIL: usize = 1 + 4 + COMMIT_LEN + TAG_LEN;

/// The next field the scan reads at `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Version,
    /// The v1 message type byte.
    MessageType,
    /// The byte after an `A`, the first of a base64-encoded message: the
    /// parser recognises base64 by two bytes, so it waits for both.
    Base64Second,
    /// The suite id, which must be a suite of the header's version.
    SuiteId,
    ContextLength,
    KeyCount,
    /// A length-prefixed field of an encrypted data key; this many remain.
    KeyField(u32),
    /// The header's length is known.
    End(usize),
    /// Bytes no header starts with, or a count over the limit: the parser
    /// says why.
    Parse,
}

/// Finds where a header ends from the pieces of a message, in order.
///
/// ```
/// use kms_envelope::{format::HeaderScan, Client, RawAesKeyring};
///
/// let keyring = RawAesKeyring::new("ns", "key", &[7u8; 32])?;
/// let message = Client::new().encrypt(b"hello").keyring(&keyring).run()?;
/// let mut scan = HeaderScan::new(None, 1 << 20);
/// let mut ready = None;
/// for piece in message.chunks(5) {
///     if let Some(len) = scan.feed(piece)? {
///         ready = Some(len);
///         break;
///     }
/// }
/// let (header, len) = kms_envelope::MessageHeader::parse(&message, None)?;
/// assert_eq!(ready, Some(len));
/// assert_eq!(len, header.len());
/// # Ok::<(), kms_envelope::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeaderScan {
    /// Bytes fed so far.
    seen: usize,
    /// Offset of the next field to read.
    next: usize,
    want: Want,
    version: u8,
    /// The first byte of a length split between two pieces.
    high: Option<u8>,
    max_edks: Option<u16>,
    max_len: u64,
}

impl HeaderScan {
    /// A scan that refuses a header declaring more than `max_edks` keys (the
    /// parser reports it) or more than `max_len` bytes (at most half the
    /// address space, so offsets never overflow).
    pub fn new(max_edks: Option<u16>, max_len: u64) -> Self {
        Self {
            seen: 0,
            next: 0,
            want: Want::Version,
            version: 0,
            high: None,
            max_edks,
            max_len: max_len.min((usize::MAX / 2) as u64),
        }
    }

    /// The scan a decrypting stream uses: headers up to `max_frame_size`
    /// bytes, or [`MIN_STREAM_HEADER_LIMIT`] if that is larger, so that a
    /// frame limit set to the frame length still reads headers with large
    /// contexts or many keys.
    pub fn for_stream(max_edks: Option<u16>, max_frame_size: u64) -> Self {
        Self::new(max_edks, max_frame_size.max(MIN_STREAM_HEADER_LIMIT))
    }

    /// The longest header this scan lets through.
    pub fn max_len(&self) -> u64 {
        self.max_len
    }

    /// Bytes fed so far.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Feeds the next piece of the message. `Some(n)` once the header should
    /// be parsed from the bytes fed so far: its `n` bytes are all there, or
    /// the bytes cannot start a header (the parser then says why; `n` is
    /// then the bytes seen). Fails when the header declares itself longer
    /// than the bound.
    ///
    /// # Errors
    ///
    /// [`Error::PolicyViolation`] once the lengths read declare a header
    /// longer than [`max_len`](Self::max_len). Bytes that cannot start a
    /// header are no error here: they give `Some`, for the parser to
    /// refuse.
    pub fn feed(&mut self, piece: &[u8]) -> Result<Option<usize>> {
        let start = self.seen;
        self.seen = self.seen.saturating_add(piece.len());
        loop {
            match self.want {
                Want::End(len) => return Ok((self.seen >= len).then_some(len)),
                Want::Parse => return Ok(Some(self.seen)),
                _ => {}
            }
            let Some(&byte) = self.next.checked_sub(start).and_then(|at| piece.get(at)) else {
                return Ok(None);
            };
            self.next += 1;
            // Bytes that cannot start a header go to the parser at once, so
            // garbage fails as malformed after a few bytes, not as too long.
            match self.want {
                Want::Version => {
                    self.version = byte;
                    self.want = match byte {
                        1 => Want::MessageType,
                        2 => Want::SuiteId,
                        b'A' => Want::Base64Second,
                        _ => Want::Parse,
                    };
                    continue;
                }
                Want::Base64Second => {
                    self.want = Want::Parse;
                    continue;
                }
                Want::MessageType => {
                    self.want = if byte == V1_TYPE {
                        Want::SuiteId
                    } else {
                        Want::Parse
                    };
                    continue;
                }
                _ => {}
            }
            let Some(high) = self.high.take() else {
                self.high = Some(byte);
                continue;
            };
            let value = u16::from_be_bytes([high, byte]);
            self.want = match self.want {
                Want::SuiteId => {
                    match AlgorithmSuite::from_id(value)
                        .filter(|suite| suite.message_format_version() == self.version)
                    {
                        Some(suite) => {
                            self.skip(suite.message_id_len())?;
                            Want::ContextLength
                        }
                        None => Want::Parse,
                    }
                }
                Want::ContextLength => {
                    self.skip(usize::from(value))?;
                    Want::KeyCount
                }
                Want::KeyCount if value == 0 || self.max_edks.is_some_and(|m| value > m) => {
                    Want::Parse
                }
                Want::KeyCount => Want::KeyField(u32::from(value) * 3),
                Want::KeyField(left) => {
                    self.skip(usize::from(value))?;
                    if left > 1 {
                        Want::KeyField(left - 1)
                    } else {
                        self.end()?
                    }
                }
                other => other,
            };
        }
    }

    /// Moves past `n` bytes the scan need not read.
    fn skip(&mut self, n: usize) -> Result<()> {
        self.next += n;
        self.check_len(self.next).map(drop)
    }

    /// The header's end, once the last key is passed.
    fn end(&self) -> Result<Want> {
        let tail = if self.version == 1 { V1_TAIL } else { V2_TAIL };
        Ok(Want::End(self.check_len(self.next + tail)?))
    }

    fn check_len(&self, len: usize) -> Result<usize> {
        if len as u64 > self.max_len {
            return Err(Error::policy(format!(
                "the header is longer than the streaming limit of {} bytes \
                 (the frame size limit, at least 1 MiB; raise it to read this message)",
                self.max_len
            )));
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Client, CommitmentPolicy, MessageHeader, RawAesKeyring};

    fn message(version: u8, edks: usize) -> Vec<u8> {
        let keyrings: Vec<std::sync::Arc<dyn crate::Keyring>> = (0..edks)
            .map(|i| {
                std::sync::Arc::new(
                    RawAesKeyring::new("ns", format!("key-{i}"), &[7u8; 32]).unwrap(),
                ) as std::sync::Arc<dyn crate::Keyring>
            })
            .collect();
        let multi =
            crate::MultiKeyring::new(keyrings.first().cloned(), keyrings[1..].to_vec()).unwrap();
        let (policy, suite) = if version == 1 {
            (CommitmentPolicy::ForbidEncryptAllowDecrypt, 0x0178)
        } else {
            (CommitmentPolicy::RequireEncryptRequireDecrypt, 0x0578)
        };
        let client = Client::builder().commitment_policy(policy).build();
        client
            .encrypt(&[5u8; 100])
            .keyring(&multi)
            .algorithm_suite(crate::AlgorithmSuite::from_id(suite).unwrap())
            .encryption_context(crate::EncryptionContext::from_iter([("a", "b")]))
            .run()
            .unwrap()
    }

    #[test]
    fn finds_the_end_in_pieces_of_every_size() {
        for (version, edks) in [(1, 1), (2, 1), (2, 3), (1, 4)] {
            let m = message(version, edks);
            let (_, len) = MessageHeader::parse(&m, None).unwrap();
            for size in [1, 2, 3, 7, 64, len - 1, len, m.len()] {
                let mut scan = HeaderScan::new(None, u64::MAX);
                let mut fed = 0;
                let mut found = None;
                for piece in m.chunks(size) {
                    fed += piece.len();
                    if let Some(n) = scan.feed(piece).unwrap() {
                        found = Some(n);
                        break;
                    }
                }
                assert_eq!(
                    found,
                    Some(len),
                    "v{version}, {edks} keys, pieces of {size}"
                );
                // Not a piece later than the one that completed the header.
                assert!(fed < len + size);
            }
        }
    }

    #[test]
    fn never_holds_back_a_header_the_parser_would_read() {
        // Every truncation and flipped bit of the header: wherever the parser
        // finds a whole header, the scan (fed in pieces) says so at its end.
        for (version, edks) in [(1, 2), (2, 2)] {
            let m = message(version, edks);
            let (_, len) = MessageHeader::parse(&m, None).unwrap();
            let mut cases: Vec<Vec<u8>> = (0..=len + 1).map(|cut| m[..cut].to_vec()).collect();
            for i in 0..len {
                let mut flipped = m.clone();
                flipped[i] ^= 1 << (i % 8);
                cases.push(flipped);
            }
            for case in cases {
                let parsed = MessageHeader::parse_partial(&case, None);
                let mut scan = HeaderScan::new(None, u64::MAX);
                let found = case
                    .chunks(7)
                    .find_map(|piece| scan.feed(piece).unwrap())
                    .or_else(|| scan.feed(&[]).unwrap());
                if let Ok((_, whole)) = parsed {
                    assert_eq!(found, Some(whole));
                }
                assert!(found.is_none_or(|n| n <= case.len()));
            }
        }
    }

    #[test]
    fn hands_bad_starts_to_the_parser() {
        // Not a version, a v1 message type other than 0x80, unknown suites
        // and suites of the other version: handed over as soon as seen, so
        // they fail as malformed, not as a header over the limit.
        for bad in [
            &b"AYAAB"[..],
            b"\x03",
            b"\x00\x01",
            b"\x01\x81",
            b"\x02\xff\xff\xff\xff\xff",
            b"\x01\x80\x05\x78",
            b"\x02\x01\x78",
        ] {
            assert_eq!(
                HeaderScan::new(None, 100).feed(bad).unwrap(),
                Some(bad.len()),
                "{bad:?}"
            );
            assert_eq!(
                MessageHeader::parse(bad, None).unwrap_err().kind(),
                crate::ErrorKind::MalformedMessage,
                "{bad:?}"
            );
        }
        // Zero keys, or more than allowed: the parser says so.
        let m = message(2, 3);
        let count_at = 1 + 2 + 32 + 2 + usize::from(u16::from_be_bytes([m[35], m[36]]));
        let mut zero = m[..count_at + 2].to_vec();
        zero[count_at..].fill(0);
        assert_eq!(
            HeaderScan::new(None, u64::MAX).feed(&zero).unwrap(),
            Some(zero.len())
        );
        let mut scan = HeaderScan::new(Some(2), u64::MAX);
        assert_eq!(scan.feed(&m[..count_at + 2]).unwrap(), Some(count_at + 2));
        let err = MessageHeader::parse(&m[..count_at + 2], Some(2)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::PolicyViolation);
    }

    #[test]
    fn refuses_a_header_declared_past_the_bound_before_it_arrives() {
        // 65,535 keys whose fields are each 65,535 bytes long: 12.9 GiB.
        let mut m = vec![2u8, 0x05, 0x78];
        m.extend_from_slice(&[1u8; 32]);
        m.extend_from_slice(&[0, 0, 0xff, 0xff, 0xff, 0xff]);
        let mut scan = HeaderScan::new(None, 64 << 20);
        let mut fed = m.clone();
        let mut result = scan.feed(&m);
        while let Ok(None) = result {
            let piece = vec![0xffu8; 65_537];
            fed.extend_from_slice(&piece);
            result = scan.feed(&piece);
        }
        let err = result.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::PolicyViolation);
        assert!(
            fed.len() <= (64 << 20) + 65_537,
            "refused after {} bytes",
            fed.len()
        );
        // At the declared length of the first field already, past a small bound.
        let err = HeaderScan::new(None, 1000).feed(&m).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::PolicyViolation);
    }
}
