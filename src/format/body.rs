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

/// Parses the frame at the front of `buf`, expecting sequence number
/// `expected_seq`. Returns the frame and the bytes it takes.
pub(crate) fn parse_frame(
    buf: &[u8],
    frame_length: u32,
    expected_seq: u32,
) -> ParseResult<(FrameRef<'_>, usize)> {
    let mut r = Reader::new(buf);
    let first = r.u32()?;
    let (kind, seq, len) = if first == FINAL_FRAME_MARKER {
        let seq = r.u32()?;
        if seq != expected_seq {
            return Err(Error::malformed(format!(
                "final frame has sequence number {seq}, expected {expected_seq}"
            ))
            .into());
        }
        let iv = r.array::<IV_LEN>()?;
        let len = r.u32()?;
        if len > frame_length {
            return Err(Error::malformed(format!(
                "final frame length {len} exceeds the frame length {frame_length}"
            ))
            .into());
        }
        return finish(r, BodyKind::Final, seq, iv, len);
    } else {
        (BodyKind::Regular, first, frame_length)
    };
    if seq != expected_seq {
        return Err(Error::malformed(format!(
            "frame has sequence number {seq}, expected {expected_seq}"
        ))
        .into());
    }
    let iv = r.array::<IV_LEN>()?;
    finish(r, kind, seq, iv, len)
}

fn finish<'a>(
    mut r: Reader<'a>,
    kind: BodyKind,
    seq: u32,
    iv: [u8; IV_LEN],
    len: u32,
) -> ParseResult<(FrameRef<'a>, usize)> {
    let ciphertext = r.take(len as usize)?;
    let tag = r.array::<TAG_LEN>()?;
    Ok((
        FrameRef {
            kind,
            seq,
            iv,
            ciphertext,
            tag,
        },
        r.position(),
    ))
}

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
            "non-framed body of {len} bytes exceeds the configured maximum of {max_len}"
        ))
        .into());
    }
    Ok((iv, len))
}

/// The whole non-framed body as one block, once all of it is in `buf`.
pub(crate) fn parse_non_framed(buf: &[u8], max_len: u64) -> ParseResult<(FrameRef<'_>, usize)> {
    let (iv, len) = parse_non_framed_prefix(buf, max_len)?;
    let ct_start = IV_LEN + 8;
    let len = usize::try_from(len).map_err(|_| Error::malformed("non-framed body too long"))?;
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
