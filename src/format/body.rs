//! Body frames: layout, additional authenticated data and IVs.

use crate::error::Error;
use crate::format::header::{IV_LEN, TAG_LEN};
use crate::format::reader::{ParseResult, Reader};

/// Marks the final frame in place of a sequence number.
pub(crate) const FINAL_FRAME_MARKER: u32 = 0xFFFF_FFFF;
/// Largest non-framed body: the AES-GCM limit of 2^36 - 32 bytes.
pub(crate) const MAX_NON_FRAMED_LEN: u64 = (1 << 36) - 32;
/// Largest AAD: 32-byte message ID, the longest content string ("... Single
/// Block", 35 bytes), u32, u64.
const MAX_AAD_LEN: usize = 32 + 35 + 4 + 8;

/// Which AAD content string a block of the body uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Regular,
    Final,
    NonFramed,
}

impl BodyKind {
    fn content_string(self) -> &'static [u8] {
        match self {
            BodyKind::Regular => b"AWSKMSEncryptionClient Frame",
            BodyKind::Final => b"AWSKMSEncryptionClient Final Frame",
            BodyKind::NonFramed => b"AWSKMSEncryptionClient Single Block",
        }
    }
}

/// The body AAD, built on the stack: message ID ‖ content string ‖ u32
/// sequence number ‖ u64 plaintext length.
#[derive(Clone)]
pub(crate) struct BodyAad {
    buf: [u8; MAX_AAD_LEN],
    len: usize,
}

impl BodyAad {
    /// Fails only for a message ID longer than 32 bytes, which no suite has.
    pub(crate) fn new(
        message_id: &[u8],
        kind: BodyKind,
        seq: u32,
        len: u64,
    ) -> Result<Self, Error> {
        let mut buf = [0u8; MAX_AAD_LEN];
        let mut n = 0;
        for part in [
            message_id,
            kind.content_string(),
            &seq.to_be_bytes(),
            &len.to_be_bytes(),
        ] {
            let dst = buf
                .get_mut(n..n + part.len())
                .ok_or_else(|| Error::bad_arg("message ID longer than 32 bytes"))?;
            dst.copy_from_slice(part);
            n += part.len();
        }
        Ok(Self { buf, len: n })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The IV an encryptor writes for a sequence number: 8 zero bytes ‖ u32.
pub(crate) fn frame_iv(seq: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    iv[8..].copy_from_slice(&seq.to_be_bytes());
    iv
}

/// One frame, borrowed from the input.
pub(crate) struct FrameRef<'a> {
    pub(crate) kind: BodyKind,
    pub(crate) seq: u32,
    pub(crate) iv: [u8; IV_LEN],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: [u8; TAG_LEN],
}

/// What precedes a frame's ciphertext: its kind, sequence number, IV and
/// plaintext length.
pub(crate) struct FrameHead {
    pub(crate) kind: BodyKind,
    pub(crate) seq: u32,
    pub(crate) iv: [u8; IV_LEN],
    pub(crate) len: u32,
}

/// The longest frame head: the final frame's marker, sequence number, IV
/// and length.
pub(crate) const MAX_FRAME_HEAD_LEN: usize = 4 + 4 + IV_LEN + 4;

/// Parses the head of the frame at the front of `buf`, expecting sequence
/// number `expected_seq`. Returns the head and the bytes it takes; the
/// ciphertext and tag follow it.
pub(crate) fn parse_frame_head(
    buf: &[u8],
    frame_length: u32,
    expected_seq: u32,
) -> ParseResult<(FrameHead, usize)> {
    let mut r = Reader::new(buf);
    let first = r.u32()?;
    let (kind, seq) = if first == FINAL_FRAME_MARKER {
        (BodyKind::Final, r.u32()?)
    } else {
        (BodyKind::Regular, first)
    };
    if seq != expected_seq {
        let which = if kind == BodyKind::Final {
            "final frame"
        } else {
            "frame"
        };
        return Err(Error::malformed(format!(
            "{which} has sequence number {seq}, expected {expected_seq}"
        ))
        .into());
    }
    let iv = r.array::<IV_LEN>()?;
    let len = if kind == BodyKind::Final {
        let len = r.u32()?;
        if len > frame_length {
            return Err(Error::malformed(format!(
                "final frame length {len} exceeds the frame length {frame_length}"
            ))
            .into());
        }
        len
    } else {
        frame_length
    };
    debug_assert!(r.position() <= MAX_FRAME_HEAD_LEN);
    Ok((FrameHead { kind, seq, iv, len }, r.position()))
}

/// Parses the frame at the front of `buf`, expecting sequence number
/// `expected_seq`. Returns the frame and the bytes it takes.
pub(crate) fn parse_frame(
    buf: &[u8],
    frame_length: u32,
    expected_seq: u32,
) -> ParseResult<(FrameRef<'_>, usize)> {
    let (head, used) = parse_frame_head(buf, frame_length, expected_seq)?;
    let mut r = Reader::new(buf.get(used..).unwrap_or_default());
    let ciphertext = r.take(head.len as usize)?;
    let tag = r.array::<TAG_LEN>()?;
    Ok((
        FrameRef {
            kind: head.kind,
            seq: head.seq,
            iv: head.iv,
            ciphertext,
            tag,
        },
        used + r.position(),
    ))
}

/// The bytes before a non-framed body's ciphertext: IV and u64 length.
pub(crate) const NON_FRAMED_PREFIX_LEN: usize = IV_LEN + 8;

/// Parses the start of a non-framed body: IV and content length, checked
/// against the GCM limit and the caller's bound before anything is read.
pub(crate) fn parse_non_framed_prefix(
    buf: &[u8],
    max_len: u64,
) -> ParseResult<([u8; IV_LEN], u64)> {
    let mut r = Reader::new(buf);
    let iv = r.array::<IV_LEN>()?;
    let len = r.u64()?;
    if len > MAX_NON_FRAMED_LEN {
        return Err(Error::malformed("non-framed body is longer than the AES-GCM limit").into());
    }
    if len > max_len {
        return Err(Error::policy(format!(
            "a non-framed body of {len} bytes exceeds the limit of {max_len} bytes (set by \
             the max body size option, and in streams by the max frame size option)"
        ))
        .into());
    }
    Ok((iv, len))
}

/// The whole non-framed body as one block, once all of it is in `buf`.
pub(crate) fn parse_non_framed(buf: &[u8], max_len: u64) -> ParseResult<(FrameRef<'_>, usize)> {
    let (iv, len) = parse_non_framed_prefix(buf, max_len)?;
    let ct_start = NON_FRAMED_PREFIX_LEN;
    // Longer than any buffer here can be (a 32-bit target): it cannot all
    // be in `buf`, and a stream could never hold it.
    let len = usize::try_from(len).map_err(|_| {
        Error::malformed(
            "message is truncated (its non-framed body is longer than this platform can address)",
        )
    })?;
    let mut r = Reader::new(buf.get(ct_start..).unwrap_or_default());
    let ciphertext = r.take(len)?;
    let tag = r.array::<TAG_LEN>()?;
    let frame = FrameRef {
        kind: BodyKind::NonFramed,
        seq: 1,
        iv,
        ciphertext,
        tag,
    };
    Ok((frame, ct_start + r.position()))
}
