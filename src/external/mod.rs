//! Messages whose frames the caller seals or opens with its own AES-GCM
//! (feature `host-crypto`, RustCrypto backend).
//!
//! A host with a faster AES-GCM than this crate's, but one that cannot be
//! called synchronously from inside it (WebCrypto is Promise-only), or one
//! whose memory the message should be written into directly (a JS
//! `Uint8Array`), gets everything but the bulk cipher from the core: the
//! header, the content key, each frame's place, IV, AAD and leading bytes,
//! and the footer; it hashes the message itself and hands the core the
//! digest to sign or verify. The bytes are those of
//! [`PreparedEncryption::seal_into`].
//!
//! The content key leaves the core here, so this is for bindings, not for
//! applications. Decrypting externally stays all or nothing only if the
//! caller releases no plaintext before [`ExternalOpen::finish`] succeeds.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::client::PreparedEncryption;
use crate::crypto::{der_from_p1363, p1363_from_der, EcdsaSigningKey, EcdsaVerifyingKey};
use crate::decrypt::{OpenedMessage, PreparedDecryption};
use crate::encrypt::{
    body_len, fixed_length_signature, frame_head, frame_kind, regular_bytes, FOOTER_LEN_BYTES,
};
use crate::error::{AuthFailure, Error, ErrorKind, Result};
use crate::format::body::{
    parse_frame_head, parse_non_framed_prefix, BodyAad, BodyKind, MAX_FRAME_HEAD_LEN,
    NON_FRAMED_PREFIX_LEN,
};
use crate::format::header::{ContentType, MessageHeader, IV_LEN, TAG_LEN};
use crate::format::reader::ParseError;

mod stream;

pub use stream::{ExternalStreamOpen, ExternalStreamSeal, StreamFrames};

/// One frame (or the single block of a non-framed message) for the
/// caller's AES-GCM: `len` bytes of plaintext at `plaintext_offset` are
/// the ciphertext at `ciphertext_offset` of the message, followed by the
/// 16-byte tag; the IV and AAD are the ones to use.
#[derive(Clone)]
pub struct ExternalFrame {
    plaintext_offset: u64,
    ciphertext_offset: u64,
    len: usize,
    iv: [u8; IV_LEN],
    aad: BodyAad,
    head: [u8; 24],
    head_len: usize,
}

impl ExternalFrame {
    /// Where the frame's plaintext starts in the plaintext.
    pub fn plaintext_offset(&self) -> u64 {
        self.plaintext_offset
    }

    /// Where the frame's ciphertext starts in the message; its tag follows it.
    pub fn ciphertext_offset(&self) -> u64 {
        self.ciphertext_offset
    }

    /// The frame's plaintext (and ciphertext) length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame holds no plaintext (only the final frame may).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The AES-GCM IV.
    pub fn iv(&self) -> &[u8; IV_LEN] {
        &self.iv
    }

    /// The AES-GCM additional authenticated data.
    pub fn aad(&self) -> &[u8] {
        self.aad.as_bytes()
    }

    /// Encrypt only: the bytes that go just before the ciphertext (sequence
    /// number, IV and, for the final frame, its marker and length). Empty
    /// when opening.
    pub fn head(&self) -> &[u8] {
        self.head.get(..self.head_len).unwrap_or_default()
    }
}

impl std::fmt::Debug for ExternalFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalFrame")
            .field("plaintext_offset", &self.plaintext_offset)
            .field("ciphertext_offset", &self.ciphertext_offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A message to be sealed by the caller. Made by
/// [`PreparedEncryption::into_external`].
///
/// The caller writes [`header`](Self::header) at the start of a buffer of
/// [`message_len`](Self::message_len) bytes, then for every
/// [`frame`](Self::frame) its [`head`](ExternalFrame::head) just before
/// its ciphertext, the AES-GCM ciphertext of its plaintext under
/// [`content_key`](Self::content_key) at its ciphertext offset and the tag
/// after it; a signed suite then needs the [`signature_hash`](Self::signature_hash)
/// of the first [`signed_len`](Self::signed_len) bytes, and
/// [`footer`](Self::footer) gives the last bytes.
pub struct ExternalSeal {
    header: Vec<u8>,
    key: Zeroizing<Vec<u8>>,
    message_id: Vec<u8>,
    frame_length: usize,
    first_seq: u32,
    plaintext_len: usize,
    regular: usize,
    signing_key: Option<Arc<EcdsaSigningKey>>,
}

impl PreparedEncryption<'_> {
    /// Hands the frames to the caller's AES-GCM (see [`ExternalSeal`]).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the plaintext needs more than 2^32 - 1
    /// frames at this frame length.
    pub fn into_external(self) -> Result<ExternalSeal> {
        let plaintext_len = self.plaintext_len();
        let (header, sealer) = self.into_parts();
        let parts = sealer.into_external();
        let fl = parts.frame_length as usize;
        let regular = if plaintext_len == 0 {
            0
        } else {
            (plaintext_len - 1) / fl
        };
        // The final frame needs a sequence number too.
        if regular as u64 + u64::from(parts.next_seq) > u64::from(u32::MAX) {
            return Err(Error::bad_arg(
                "message would need more than 2^32 - 1 frames",
            ));
        }
        Ok(ExternalSeal {
            header,
            key: parts.key,
            message_id: parts.message_id,
            frame_length: fl,
            first_seq: parts.next_seq,
            plaintext_len,
            regular,
            signing_key: parts.signing_key,
        })
    }
}

impl ExternalSeal {
    /// The complete header, the message's first bytes.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The AES-GCM content key. Secret: wipe every copy once used.
    pub fn content_key(&self) -> &[u8] {
        &self.key
    }

    /// How many frames the body holds (the final frame included).
    pub fn frame_count(&self) -> usize {
        self.regular + 1
    }

    /// Frame `index` (from 0).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `index` is not below
    /// [`frame_count`](Self::frame_count).
    pub fn frame(&self, index: usize) -> Result<ExternalFrame> {
        if index > self.regular {
            return Err(Error::bad_arg("no such frame"));
        }
        let is_final = index == self.regular;
        let kind = frame_kind(is_final);
        let seq = self.first_seq + index as u32;
        let plaintext_offset = index * self.frame_length;
        let len = if is_final {
            self.plaintext_len - plaintext_offset
        } else {
            self.frame_length
        };
        let frame_start = regular_bytes(index, self.frame_length)
            .and_then(|before| before.checked_add(self.header.len()))
            .ok_or_else(|| Error::bad_arg("no such frame"))?;
        let (head, head_len) = frame_head(kind, seq, len as u32);
        Ok(ExternalFrame {
            plaintext_offset: plaintext_offset as u64,
            ciphertext_offset: (frame_start + head_len) as u64,
            len,
            iv: crate::format::body::frame_iv(seq),
            aad: BodyAad::new(&self.message_id, kind, seq, len as u64)?,
            head,
            head_len,
        })
    }

    /// The bytes the signature covers: header and body.
    pub fn signed_len(&self) -> usize {
        self.header.len() + body_len(self.plaintext_len, self.frame_length as u32)
    }

    /// The message length: exact when the core signs (its signatures are
    /// made to a fixed length); when the host holds the signing key
    /// ([`host_signs`](Self::host_signs)), the longest the message can be,
    /// as its DER signature may be a byte or two shorter.
    pub fn message_len(&self) -> usize {
        self.signed_len()
            + self.signing_key.as_ref().map_or(0, |k| {
                FOOTER_LEN_BYTES
                    + if k.signs_digests() {
                        k.curve().fixed_signature_len()
                    } else {
                        k.curve().max_signature_len()
                    }
            })
    }

    /// Whether the signing key lives in the host, which signs only messages
    /// it hashes itself: the caller then signs the first
    /// [`signed_len`](Self::signed_len) bytes with it and gives the
    /// signature to [`footer_from_signature`](Self::footer_from_signature).
    pub fn host_signs(&self) -> bool {
        self.signing_key
            .as_ref()
            .is_some_and(|k| !k.signs_digests())
    }

    /// The signing key's public key (SEC 1 compressed), as stored in the
    /// encryption context; `None` for suites without a signature.
    pub fn signing_public_key(&self) -> Option<Vec<u8>> {
        self.signing_key.as_ref().map(|k| k.public_key_compressed())
    }

    /// The hash of the first [`signed_len`](Self::signed_len) bytes that
    /// [`footer`](Self::footer) needs: `"SHA-256"` or `"SHA-384"`; `None`
    /// for suites without a signature.
    pub fn signature_hash(&self) -> Option<&'static str> {
        self.signing_key
            .as_ref()
            .map(|k| k.curve().hash().standard_name())
    }

    /// The message's last bytes: the footer of a signed suite, signing
    /// `digest`; empty for other suites (give `None`).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the host holds the signing key
    /// ([`host_signs`](Self::host_signs)); if `digest` is `None` for a
    /// signed suite, or given for an unsigned one; or if signing fails (a
    /// digest that is not of the [`signature_hash`](Self::signature_hash)'s
    /// length).
    pub fn footer(self, digest: Option<&[u8]>) -> Result<Vec<u8>> {
        if self.host_signs() {
            return Err(Error::bad_arg(
                "the host holds this signing key: sign the message and use footer_from_signature",
            ));
        }
        match (&self.signing_key, digest) {
            (None, None) => Ok(Vec::new()),
            (Some(key), Some(digest)) => Ok(footer_bytes(&fixed_length_signature(key, digest)?)),
            (Some(_), None) => Err(Error::bad_arg("this suite signs: give the digest")),
            (None, Some(_)) => Err(Error::bad_arg("this suite does not sign")),
        }
    }

    /// The footer around `signature`, made by the host's key
    /// ([`host_signs`](Self::host_signs)) over the first
    /// [`signed_len`](Self::signed_len) bytes. Its length decides the
    /// message's: `signed_len()` plus the footer's.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the host holds no signing key for this
    /// message, or `signature` is not a valid signature encoding in
    /// `format` for the key's curve (DER: strict, with `r` and `s` in
    /// range; P1363: `r ‖ s` of the field's size).
    pub fn footer_from_signature(
        self,
        signature: &[u8],
        format: SignatureFormat,
    ) -> Result<Vec<u8>> {
        let key = self
            .signing_key
            .as_ref()
            .filter(|k| !k.signs_digests())
            .ok_or_else(|| Error::bad_arg("the host holds no signing key for this message"))?;
        let bad = || Error::bad_arg("the host's signature is malformed");
        let curve = key.curve();
        let der = match format {
            SignatureFormat::Der => {
                // Strict DER with r and s in range, or nothing.
                p1363_from_der(curve, signature).map_err(|_| bad())?;
                signature.to_vec()
            }
            SignatureFormat::P1363 => der_from_p1363(curve, signature).map_err(|_| bad())?,
        };
        if der.len() > curve.max_signature_len() {
            return Err(bad());
        }
        Ok(footer_bytes(&der))
    }
}

/// How a host's ECDSA signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// ASN.1 DER (what the message stores; `node:crypto`'s default).
    Der,
    /// IEEE P1363 `r ‖ s`, each the size of the field (WebCrypto's).
    P1363,
}

/// The footer: the signature's u16 length, then the signature.
fn footer_bytes(sig: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FOOTER_LEN_BYTES + sig.len());
    out.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    out.extend_from_slice(sig);
    out
}

/// What a host needs to check a message's signature itself.
#[derive(Debug, Clone)]
pub struct HostSignatureCheck {
    /// `"P-256"` or `"P-384"`.
    pub curve: &'static str,
    /// `"SHA-256"` or `"SHA-384"`: the hash the signature is over.
    pub hash: &'static str,
    /// The public key, an uncompressed SEC 1 point.
    pub public_key: Vec<u8>,
    /// The signature as IEEE P1363 `r ‖ s`.
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for ExternalSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalSeal")
            .field("message_len", &self.message_len())
            .field("frame_count", &self.frame_count())
            .finish_non_exhaustive()
    }
}

/// A parse of a whole message's part: running out of bytes is truncation.
fn parsed<T>(result: std::result::Result<T, ParseError>) -> Result<T> {
    match result {
        Ok(v) => Ok(v),
        Err(ParseError::Incomplete) => Err(Error::malformed("message is truncated")),
        Err(ParseError::Invalid(e)) => Err(e),
    }
}

/// Where one frame lies in the message; its IV and AAD are made on demand.
struct Spot {
    kind: BodyKind,
    seq: u32,
    iv: [u8; IV_LEN],
    ciphertext_offset: usize,
    plaintext_offset: usize,
    len: usize,
}

/// A message to be opened by the caller. Made by
/// [`PreparedDecryption::into_external`], which has walked the whole
/// message's layout (every frame header, the footer, nothing after it) and
/// lists the frames before its first fault, if it has one: that fault is
/// [`finish`](Self::finish)'s error, so a message whose listed frames all
/// open may still be truncated or malformed.
///
/// The caller decrypts every [`frame`](Self::frame) (ciphertext and tag
/// are contiguous in the message) under [`content_key`](Self::content_key)
/// into a buffer of [`plaintext_len`](Self::plaintext_len) bytes; for a
/// signed suite it hashes the first [`signed_len`](Self::signed_len) bytes
/// of the message with [`signature_hash`](Self::signature_hash). Only when
/// every frame authenticated and [`finish`](Self::finish) succeeds may the
/// plaintext be released; on any failure it must be wiped.
pub struct ExternalOpen {
    header: MessageHeader,
    context: crate::EncryptionContext,
    key: Zeroizing<Vec<u8>>,
    spots: Vec<Spot>,
    plaintext_len: usize,
    signed_len: usize,
    signature: Option<(Vec<u8>, Arc<EcdsaVerifyingKey>)>,
    /// What is wrong with the layout past the last spot (a malformed or
    /// truncated frame head or footer, or bytes after the footer): reported
    /// by `finish` once the spots before it authenticated, so the first
    /// failure in the message's order is the one reported, as the core's
    /// own decryption reports it (a shifted frame fails its tag before the
    /// next head is found malformed).
    broken: Option<Error>,
}

/// The bytes of a message being opened externally, read a few at a time.
///
/// [`PreparedDecryption::into_external_from`] reads only each frame's head
/// and the footer through it, so a binding can leave the body in its own
/// memory (a JS `Uint8Array`) and copy in a few dozen bytes per frame.
/// Offsets count from the message's first byte.
pub trait MessageSource {
    /// The message's length in bytes.
    fn len(&self) -> usize;

    /// Whether the message is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the bytes at `offset..offset + out.len()`, which lie within
    /// [`len`](Self::len), into `out`. Fails if they are no longer there.
    fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()>;
}

impl MessageSource for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        let src = offset
            .checked_add(out.len())
            .and_then(|end| self.get(offset..end))
            .ok_or_else(|| Error::malformed("message is truncated"))?;
        out.copy_from_slice(src);
        Ok(())
    }
}

/// A body in memory, read at message offsets (`header_len` bytes of
/// header come first).
struct BodyAt<'a> {
    header_len: usize,
    body: &'a [u8],
}

impl MessageSource for BodyAt<'_> {
    fn len(&self) -> usize {
        self.header_len + self.body.len()
    }

    fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        let at = offset
            .checked_sub(self.header_len)
            .ok_or_else(|| Error::bad_arg("read inside the header"))?;
        self.body.read_at(at, out)
    }
}

/// Up to `N` bytes at `at` (fewer where the message ends), as a parser's input.
fn read_up_to<S: MessageSource + ?Sized, const N: usize>(
    message: &S,
    at: usize,
    buf: &mut [u8; N],
) -> Result<usize> {
    let n = message.len().saturating_sub(at).min(N);
    message.read_at(at, &mut buf[..n])?;
    Ok(n)
}

impl PreparedDecryption<'_> {
    /// Whether [`into_external`](Self::into_external) can take this
    /// decryption: not when the verifying key lives in a host that checks
    /// only messages it hashes itself (make the key in the core instead).
    pub fn can_open_externally(&self) -> bool {
        self.reader
            .opener()
            .and_then(|o| o.verifying_key())
            .is_none_or(|k| k.checks_digests())
    }

    /// Hands the frames to the caller's AES-GCM (see [`ExternalOpen`]).
    /// A message whose layout is wrong anywhere fails, at the latest in
    /// [`ExternalOpen::finish`].
    ///
    /// # Errors
    ///
    /// - [`Error::BadArgument`]: the verifying key cannot check a digest
    ///   ([`can_open_externally`](Self::can_open_externally) is false).
    ///
    /// A malformed or truncated frame head or footer, more than 2^32 - 1
    /// frames, or bytes after the footer ([`Error::MalformedMessage`]), and
    /// a body longer than the client's `max_body_size`
    /// ([`Error::PolicyViolation`]), are reported by
    /// [`ExternalOpen::finish`] once the frames before the fault
    /// authenticated: the frames listed are those before it (and the
    /// signature is left unchecked), so the error is the first in the
    /// message's order, as in [`Client::decrypt`]. Never release plaintext
    /// without `finish`'s success.
    pub fn into_external(self) -> Result<ExternalOpen> {
        let body = BodyAt {
            header_len: self.header_len,
            body: self.body,
        };
        self.into_external_from(&body)
    }

    /// [`into_external`](Self::into_external) for a decryption prepared
    /// from the header alone: the whole `message` (its header included) is
    /// read through `message`, a frame head at a time.
    ///
    /// # Errors
    ///
    /// As [`into_external`](Self::into_external), and any error of
    /// `message`'s [`read_at`](MessageSource::read_at).
    pub fn into_external_from<S: MessageSource + ?Sized>(
        self,
        message: &S,
    ) -> Result<ExternalOpen> {
        if !self.can_open_externally() {
            return Err(Error::bad_arg(
                "this verifying key cannot check a digest; open the message in the core",
            ));
        }
        let max_body = self.reader.max_body_size();
        let header_len = self.header_len;
        let opener = self
            .reader
            .into_opener()
            .ok_or_else(|| Error::bad_arg("the header has not been read"))?;
        let mut walk = Walk {
            spots: Vec::new(),
            at: header_len,
            total: 0,
        };
        let mut broken = deferred(walk.frames(message, &opener, max_body))?;
        let signed_len = walk.at;
        let mut signature = None;
        if let (None, Some(key)) = (&broken, opener.verifying_key()) {
            match walk.footer(message) {
                Ok(sig) => signature = Some((sig, Arc::clone(key))),
                Err(e) => broken = deferred(Err(e))?,
            }
        }
        if broken.is_none() && walk.at != message.len() {
            broken = Some(Error::malformed("bytes follow the end of the message"));
        }
        let context = opener.materials.encryption_context().clone();
        Ok(ExternalOpen {
            header: opener.header,
            context,
            key: opener.raw_key,
            spots: walk.spots,
            plaintext_len: walk.total,
            signed_len,
            signature,
            broken,
        })
    }
}

/// A malformed layout or a body past `max_body_size`, kept for
/// [`ExternalOpen::finish`] (the frames listed stop before it, so the work
/// stays within the limit); the source's own failure ends the call.
fn deferred(walked: Result<()>) -> Result<Option<Error>> {
    match walked {
        Ok(()) => Ok(None),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::MalformedMessage | ErrorKind::PolicyViolation
            ) =>
        {
            Ok(Some(e))
        }
        Err(e) => Err(e),
    }
}

/// The body's frames found so far, read from their heads in order.
struct Walk {
    spots: Vec<Spot>,
    /// Where the next frame head (or the footer) starts.
    at: usize,
    /// Plaintext bytes in `spots`.
    total: usize,
}

impl Walk {
    /// Reads every frame head up to the final frame; `spots` keeps the
    /// frames before a fault.
    fn frames<S: MessageSource + ?Sized>(
        &mut self,
        message: &S,
        opener: &crate::decrypt::Opener,
        max_body: Option<u64>,
    ) -> Result<()> {
        let mut seq = opener.next_seq;
        loop {
            let (kind, iv, len, used) = match opener.header.content_type {
                ContentType::Framed => {
                    let mut buf = [0u8; MAX_FRAME_HEAD_LEN];
                    let n = read_up_to(message, self.at, &mut buf)?;
                    let (head, used) =
                        parsed(parse_frame_head(&buf[..n], opener.header.frame_length, seq))?;
                    (head.kind, head.iv, head.len as usize, used)
                }
                ContentType::NonFramed => {
                    let mut buf = [0u8; NON_FRAMED_PREFIX_LEN];
                    let n = read_up_to(message, self.at, &mut buf)?;
                    let (iv, len) = parsed(parse_non_framed_prefix(
                        &buf[..n],
                        max_body.unwrap_or(u64::MAX),
                    ))?;
                    let len = usize::try_from(len).map_err(|_| truncated())?;
                    (BodyKind::NonFramed, iv, len, NON_FRAMED_PREFIX_LEN)
                }
            };
            let ciphertext_offset = self.at + used;
            let end = ciphertext_offset
                .checked_add(len)
                .and_then(|e| e.checked_add(TAG_LEN))
                .filter(|&e| e <= message.len())
                .ok_or_else(truncated)?;
            let total = self.total + len;
            crate::stream::decryptor::check_body_size(total as u64, max_body)?;
            self.spots.push(Spot {
                kind,
                seq: if kind == BodyKind::NonFramed { 1 } else { seq },
                iv,
                ciphertext_offset,
                plaintext_offset: self.total,
                len,
            });
            self.total = total;
            self.at = end;
            if kind != BodyKind::Regular {
                return Ok(());
            }
            seq = seq.wrapping_add(1);
            if seq == 0 {
                return Err(Error::malformed("message has more than 2^32 - 1 frames"));
            }
        }
    }

    /// Reads the footer's signature, moving `at` past it.
    fn footer<S: MessageSource + ?Sized>(&mut self, message: &S) -> Result<Vec<u8>> {
        let mut len = [0u8; FOOTER_LEN_BYTES];
        if read_up_to(message, self.at, &mut len)? < FOOTER_LEN_BYTES {
            return Err(truncated());
        }
        let sig_len = usize::from(u16::from_be_bytes(len));
        let at = self.at + FOOTER_LEN_BYTES;
        if message.len().saturating_sub(at) < sig_len {
            return Err(truncated());
        }
        let mut sig = vec![0u8; sig_len];
        message.read_at(at, &mut sig)?;
        self.at = at + sig_len;
        Ok(sig)
    }
}

fn truncated() -> Error {
    Error::malformed("message is truncated")
}

impl ExternalOpen {
    /// The AES-GCM content key. Secret: wipe every copy once used.
    pub fn content_key(&self) -> &[u8] {
        &self.key
    }

    /// How many frames the body holds (1 for a non-framed message).
    pub fn frame_count(&self) -> usize {
        self.spots.len()
    }

    /// Frame `index` (from 0); its [`head`](ExternalFrame::head) is empty.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `index` is not below
    /// [`frame_count`](Self::frame_count).
    pub fn frame(&self, index: usize) -> Result<ExternalFrame> {
        let spot = self
            .spots
            .get(index)
            .ok_or_else(|| Error::bad_arg("no such frame"))?;
        Ok(ExternalFrame {
            plaintext_offset: spot.plaintext_offset as u64,
            ciphertext_offset: spot.ciphertext_offset as u64,
            len: spot.len,
            iv: spot.iv,
            aad: BodyAad::new(
                &self.header.message_id,
                spot.kind,
                spot.seq,
                spot.len as u64,
            )?,
            head: [0; 24],
            head_len: 0,
        })
    }

    /// The plaintext's length.
    pub fn plaintext_len(&self) -> usize {
        self.plaintext_len
    }

    /// The bytes the signature covers: header and body.
    pub fn signed_len(&self) -> usize {
        self.signed_len
    }

    /// The hash [`finish`](Self::finish) needs of the first
    /// [`signed_len`](Self::signed_len) bytes: `"SHA-256"` or `"SHA-384"`;
    /// `None` for an unsigned message.
    pub fn signature_hash(&self) -> Option<&'static str> {
        self.signature
            .as_ref()
            .map(|(_, k)| k.hash().standard_name())
    }

    /// What the host needs to check the signature itself over the first
    /// [`signed_len`](Self::signed_len) bytes; `None` for an unsigned
    /// message, or one whose signature is not strict DER (then
    /// [`finish`](Self::finish) with the digest reports the failure).
    pub fn host_check(&self) -> Option<HostSignatureCheck> {
        let (der, key) = self.signature.as_ref()?;
        let curve = key.curve();
        Some(HostSignatureCheck {
            curve: key.curve_name(),
            hash: key.hash().standard_name(),
            public_key: key.uncompressed_point()?,
            signature: p1363_from_der(curve, der).ok()?,
        })
    }

    /// Ends a message whose signature the host checked from
    /// [`host_check`](Self::host_check): `valid` is its verdict. Call it
    /// only once every frame authenticated.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the message is not signed;
    /// [`Error::AuthenticationFailed`] ([`AuthFailure::Signature`]) if
    /// `valid` is false; [`Error::MalformedMessage`] if bytes follow the
    /// message's end.
    pub fn finish_host_checked(mut self, valid: bool) -> Result<OpenedMessage> {
        self.fault_before_footer()?;
        if self.signature.is_none() {
            return Err(Error::bad_arg("this message is not signed"));
        }
        if !valid {
            return Err(Error::AuthenticationFailed(AuthFailure::Signature));
        }
        self.opened()
    }

    /// The layout's fault, where it broke before the signature could be
    /// read (an unsigned message reports it, after bytes that follow its
    /// end, in `opened`).
    fn fault_before_footer(&mut self) -> Result<()> {
        match self.broken.take() {
            Some(e) if self.signature.is_none() => Err(e),
            kept => {
                self.broken = kept;
                Ok(())
            }
        }
    }

    /// The result, once everything verified; a message followed by more
    /// bytes fails here, after its tags and signature (§13: the signature,
    /// then the end of the input).
    fn opened(mut self) -> Result<OpenedMessage> {
        if let Some(e) = self.broken.take() {
            return Err(e);
        }
        Ok(OpenedMessage {
            encryption_context: self.context,
            header: self.header,
        })
    }

    /// Checks the signature against `digest` (signed messages; `None`
    /// otherwise). Call it only once every frame authenticated.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `digest` is `None` for a signed message,
    /// or given for an unsigned one; [`Error::AuthenticationFailed`]
    /// ([`AuthFailure::Signature`]) if the signature does not verify
    /// against `digest`; [`Error::MalformedMessage`] if bytes follow the
    /// message's end.
    pub fn finish(mut self, digest: Option<&[u8]>) -> Result<OpenedMessage> {
        self.fault_before_footer()?;
        match (&self.signature, digest) {
            (None, None) => {}
            (Some((sig, key)), Some(digest)) => key
                .verify_digest(digest, sig)
                .map_err(|_| Error::AuthenticationFailed(AuthFailure::Signature))?,
            (Some(_), None) => {
                return Err(Error::bad_arg("this message is signed: give the digest"))
            }
            (None, Some(_)) => return Err(Error::bad_arg("this message is not signed")),
        }
        self.opened()
    }
}

impl std::fmt::Debug for ExternalOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalOpen")
            .field("plaintext_len", &self.plaintext_len)
            .field("frame_count", &self.frame_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{AesGcmKey, HashAlg, Hasher};
    use crate::error::ErrorKind;
    use crate::{AlgorithmSuite, Client, CommitmentPolicy, RawAesKeyring};

    fn hash_of(name: &str) -> HashAlg {
        [HashAlg::Sha256, HashAlg::Sha384]
            .into_iter()
            .find(|h| h.standard_name() == name)
            .unwrap_or_else(|| panic!("unexpected hash {name}"))
    }

    fn digest(name: Option<&str>, bytes: &[u8]) -> Option<Vec<u8>> {
        name.map(|n| {
            let mut h = Hasher::new(hash_of(n));
            h.update(bytes);
            h.finish()
        })
    }

    /// What a host does with an [`ExternalSeal`], with this crate's AES-GCM.
    fn seal_as_host(seal: ExternalSeal, plaintext: &[u8]) -> Vec<u8> {
        let mut out = seal_frames(&seal, plaintext);
        let signed = seal.signed_len();
        let d = digest(seal.signature_hash(), &out[..signed]);
        let footer = seal.footer(d.as_deref()).unwrap();
        out[signed..].copy_from_slice(&footer);
        out
    }

    /// The header and sealed frames, in a buffer of the message's length.
    fn seal_frames(seal: &ExternalSeal, plaintext: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; seal.message_len()];
        out[..seal.header().len()].copy_from_slice(seal.header());
        let key = AesGcmKey::new(seal.content_key()).unwrap();
        for i in 0..seal.frame_count() {
            let f = seal.frame(i).unwrap();
            let at = f.ciphertext_offset() as usize;
            out[at - f.head().len()..at].copy_from_slice(f.head());
            let buf = &mut out[at..at + f.len()];
            buf.copy_from_slice(&plaintext[f.plaintext_offset() as usize..][..f.len()]);
            let tag = key.seal_in_place(f.iv(), f.aad(), buf).unwrap();
            out[at + f.len()..][..TAG_LEN].copy_from_slice(&tag);
        }
        out
    }

    /// What a host does with an [`ExternalOpen`].
    fn open_as_host(open: ExternalOpen, message: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; open.plaintext_len()];
        let key = AesGcmKey::new(open.content_key()).unwrap();
        for i in 0..open.frame_count() {
            let f = open.frame(i)?;
            let at = f.ciphertext_offset() as usize;
            let buf = &mut out[f.plaintext_offset() as usize..][..f.len()];
            buf.copy_from_slice(&message[at..at + f.len()]);
            let tag: [u8; TAG_LEN] = message[at + f.len()..][..TAG_LEN].try_into().unwrap();
            key.open_in_place(f.iv(), f.aad(), buf, &tag)
                .map_err(|_| Error::AuthenticationFailed(AuthFailure::Body))?;
        }
        let d = digest(open.signature_hash(), &message[..open.signed_len()]);
        open.finish(d.as_deref())?;
        Ok(out)
    }

    /// `message` prepared for the host by `c` and `kr`.
    fn external(c: &Client, kr: &RawAesKeyring, message: &[u8]) -> Result<ExternalOpen> {
        c.decrypt(message)
            .keyring(kr)
            .prepare()
            .and_then(|p| p.into_external())
    }

    /// A message of the default suite sealed in the core, in 64-byte frames.
    fn framed(c: &Client, kr: &RawAesKeyring, plaintext: &[u8]) -> Vec<u8> {
        c.encrypt(plaintext)
            .keyring(kr)
            .frame_length(64)
            .run()
            .unwrap()
    }

    fn client() -> Client {
        Client::builder()
            .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
            .build()
    }

    fn keyring() -> RawAesKeyring {
        RawAesKeyring::new("ns", "k", &[3u8; 32]).unwrap()
    }

    fn policy_for(suite: AlgorithmSuite) -> Client {
        if suite.is_committing() {
            Client::new()
        } else {
            client()
        }
    }

    #[test]
    fn host_sealed_messages_read_in_the_core_and_core_messages_open_on_the_host() {
        let kr = keyring();
        for suite in AlgorithmSuite::ALL {
            let c = policy_for(suite);
            for len in [0usize, 1, 63, 64, 65, 64 * 3, 1000] {
                let plaintext: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let seal = c
                    .encrypt_external(len)
                    .keyring(&kr)
                    .algorithm_suite(suite)
                    .frame_length(64)
                    .prepare()
                    .unwrap()
                    .into_external()
                    .unwrap();
                let expected_len = seal.message_len();
                let message = seal_as_host(seal, &plaintext);
                assert_eq!(message.len(), expected_len);
                let d = c.decrypt(&message).keyring(&kr).run().unwrap();
                assert_eq!(d.plaintext, plaintext, "suite {suite} len {len}");

                let core = c
                    .encrypt(&plaintext)
                    .keyring(&kr)
                    .algorithm_suite(suite)
                    .frame_length(64)
                    .run()
                    .unwrap();
                let open = c
                    .decrypt(&core)
                    .keyring(&kr)
                    .prepare()
                    .unwrap()
                    .into_external()
                    .unwrap();
                assert_eq!(open_as_host(open, &core).unwrap(), plaintext);
            }
        }
    }

    #[test]
    fn same_bytes_as_the_core_for_unsigned_suites() {
        // The message ID is random, so compare by opening the host's message
        // in the core frame by frame: the layout checks of the state machine
        // and the walk here must agree on every frame.
        let kr = keyring();
        let c = Client::new();
        let plaintext = vec![9u8; 200];
        let seal = c
            .encrypt_external(plaintext.len())
            .keyring(&kr)
            .algorithm_suite(AlgorithmSuite::from_id(0x0478).unwrap())
            .frame_length(50)
            .prepare()
            .unwrap()
            .into_external()
            .unwrap();
        assert_eq!(seal.frame_count(), 4);
        let last = seal.frame(3).unwrap();
        assert_eq!(last.len(), 50, "a full final frame, as the core writes it");
        let message = seal_as_host(seal, &plaintext);
        let mut stream = c
            .stream_decrypt()
            .keyring(std::sync::Arc::new(keyring()))
            .start()
            .unwrap();
        let mut out = Vec::new();
        for piece in message.chunks(7) {
            stream.update(piece, &mut out).unwrap();
        }
        stream.finish().unwrap();
        assert_eq!(out, plaintext);
    }

    #[test]
    fn a_core_sealed_signed_message_fails_on_any_changed_byte() {
        let kr = keyring();
        let c = Client::new();
        let plaintext = vec![1u8; 150];
        let message = framed(&c, &kr, &plaintext);
        let header_len = crate::MessageHeader::parse(&message, None).unwrap().1;
        // Every body and footer byte (the header has its own tag, checked
        // before this API is reached).
        for i in header_len..message.len() {
            let mut bad = message.clone();
            bad[i] ^= 0x01;
            let result = c
                .decrypt(&bad)
                .keyring(&kr)
                .prepare()
                .and_then(|p| p.into_external())
                .and_then(|o| open_as_host(o, &bad));
            assert!(result.is_err(), "byte {i} changed and still opened");
        }
    }

    #[test]
    fn a_truncated_message_lists_only_the_frames_before_the_cut() {
        let kr = keyring();
        let c = Client::new();
        let message = framed(&c, &kr, &[5u8; 300]);
        let header_len = crate::MessageHeader::parse(&message, None).unwrap().1;
        let whole = external(&c, &kr, &message).unwrap();
        for cut in header_len..message.len() {
            let open = external(&c, &kr, &message[..cut]).unwrap();
            // Frames that end at or before the cut, none past it.
            let before = (0..whole.frame_count())
                .take_while(|&i| {
                    let f = whole.frame(i).unwrap();
                    f.ciphertext_offset() as usize + f.len() + TAG_LEN <= cut
                })
                .count();
            assert_eq!(open.frame_count(), before, "cut at {cut}");
            assert!(open.host_check().is_none() && open.signature_hash().is_none());
            let err = open_as_host(open, &message[..cut]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedMessage, "cut at {cut}");
        }
    }

    #[test]
    fn every_fault_fails_as_in_the_core() {
        // The first failure in the message's order, whether a frame's tag
        // or the next frame head: a byte put in or taken out of a frame
        // fails that frame's tag, in the core and here alike.
        let kr = keyring();
        for id in [0x0578, 0x0478, 0x0178, 0x0014] {
            let suite = AlgorithmSuite::from_id(id).unwrap();
            let c = policy_for(suite);
            let message = c
                .encrypt(&[6u8; 150])
                .keyring(&kr)
                .algorithm_suite(suite)
                .frame_length(64)
                .run()
                .unwrap();
            let header_len = crate::MessageHeader::parse(&message, None).unwrap().1;
            let mut faults = Vec::new();
            for i in header_len..=message.len() {
                let mut more = message.clone();
                more.insert(i, 0x5a);
                faults.push(more);
                if i < message.len() {
                    faults.push(message[..i].to_vec());
                    let mut less = message.clone();
                    less.remove(i);
                    faults.push(less);
                    let mut flipped = message.clone();
                    flipped[i] ^= 0x10;
                    faults.push(flipped);
                }
            }
            for bad in faults {
                let core = c.decrypt(&bad).keyring(&kr).run().unwrap_err();
                let here = external(&c, &kr, &bad)
                    .and_then(|o| open_as_host(o, &bad))
                    .unwrap_err();
                assert_eq!(here.to_string(), core.to_string(), "{suite}, {bad:02x?}");
            }
        }
    }

    #[test]
    fn bytes_after_the_footer_fail_after_the_tags_and_signature_as_in_the_core() {
        // §13: frames, then the signature, then the end of the input. A
        // bad signature with a byte after it is an authentication failure
        // here too, as in the core's one-shot and streaming decrypt.
        let kr = keyring();
        let c = Client::new();
        let message = framed(&c, &kr, &[5u8; 300]);
        let mut longer = message.clone();
        longer.push(0);
        let mut bad_signature = longer.clone();
        let last_signature_byte = message.len() - 1;
        bad_signature[last_signature_byte] ^= 1;
        for (bytes, kind) in [
            (&longer, ErrorKind::MalformedMessage),
            (&bad_signature, ErrorKind::AuthenticationFailed),
        ] {
            let core = c.decrypt(bytes).keyring(&kr).run().unwrap_err();
            assert_eq!(core.kind(), kind);
            let opening = || {
                c.decrypt(bytes)
                    .keyring(&kr)
                    .prepare()
                    .unwrap()
                    .into_external()
                    .unwrap()
            };
            assert_eq!(open_as_host(opening(), bytes).unwrap_err().kind(), kind);
            // The host's own verdict on the signature gives the same order.
            let open = opening();
            assert!(open.host_check().is_some());
            let valid = kind != ErrorKind::AuthenticationFailed;
            assert_eq!(open.finish_host_checked(valid).unwrap_err().kind(), kind);
        }
    }

    /// The frames and lengths an [`ExternalOpen`] hands out, to compare walks.
    fn layout(open: &ExternalOpen) -> Vec<String> {
        let mut out = vec![format!(
            "{} {} {:?}",
            open.plaintext_len(),
            open.signed_len(),
            open.broken.as_ref().map(Error::to_string)
        )];
        for i in 0..open.frame_count() {
            let f = open.frame(i).unwrap();
            out.push(format!(
                "{} {} {} {:?} {:?}",
                f.ciphertext_offset(),
                f.plaintext_offset(),
                f.len(),
                f.iv(),
                f.aad()
            ));
        }
        out
    }

    /// `message` opened from its header alone, the rest read through the
    /// `MessageSource` of the whole message.
    fn from_header_alone(c: &Client, kr: &RawAesKeyring, message: &[u8]) -> Result<ExternalOpen> {
        let header_len = match crate::MessageHeader::parse_prefix(message, None)? {
            Some((_, len)) => len,
            None => return Err(Error::malformed("message is truncated")),
        };
        c.decrypt(&message[..header_len])
            .keyring(kr)
            .prepare()?
            .into_external_from(message)
    }

    #[test]
    fn a_walk_through_a_source_agrees_with_the_walk_in_memory() {
        let kr = keyring();
        for (suite, len, frame) in [(0x0578, 300, 64), (0x0478, 300, 64), (0x0378, 0, 128)] {
            let suite = AlgorithmSuite::from_id(suite).unwrap();
            let c = policy_for(suite);
            let message = c
                .encrypt(&vec![4u8; len])
                .keyring(&kr)
                .algorithm_suite(suite)
                .frame_length(frame)
                .run()
                .unwrap();
            let header_len = crate::MessageHeader::parse(&message, None).unwrap().1;
            let in_memory = |m: &[u8]| {
                c.decrypt(m)
                    .keyring(&kr)
                    .prepare()
                    .and_then(|p| p.into_external())
            };
            let same = |m: &[u8], what: &str| {
                let a = in_memory(m).map(|o| layout(&o));
                let b = from_header_alone(&c, &kr, m).map(|o| layout(&o));
                match (a, b) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
                    (a, b) => panic!(
                        "{what}: in memory {:?}, from a source {:?}",
                        a.is_ok(),
                        b.is_ok()
                    ),
                }
            };
            same(&message, "whole");
            for cut in header_len..message.len() {
                same(&message[..cut], &format!("{suite} cut at {cut}"));
            }
            for i in header_len..message.len() {
                for bit in [0x01, 0x80] {
                    let mut bad = message.clone();
                    bad[i] ^= bit;
                    same(&bad, &format!("{suite} byte {i} ^ {bit:#x}"));
                }
            }
            let mut longer = message.clone();
            longer.push(0);
            same(&longer, "one byte more");
            let open = from_header_alone(&c, &kr, &message).unwrap();
            assert_eq!(open_as_host(open, &message).unwrap(), vec![4u8; len]);
        }
    }

    #[test]
    fn a_source_that_loses_its_bytes_fails_cleanly() {
        /// A message whose bytes past `keep` are gone by the time they are read.
        struct Shrinking<'a> {
            message: &'a [u8],
            keep: usize,
        }
        impl MessageSource for Shrinking<'_> {
            fn len(&self) -> usize {
                self.message.len()
            }
            fn read_at(&self, offset: usize, out: &mut [u8]) -> Result<()> {
                if offset + out.len() > self.keep {
                    return Err(Error::bad_arg("the message changed while being read"));
                }
                self.message.read_at(offset, out)
            }
        }
        let kr = keyring();
        let c = Client::new();
        let message = framed(&c, &kr, &[5u8; 300]);
        let header_len = crate::MessageHeader::parse(&message, None).unwrap().1;
        let source = Shrinking {
            message: &message,
            keep: header_len + 100,
        };
        let err = c
            .decrypt(&message[..header_len])
            .keyring(&kr)
            .prepare()
            .unwrap()
            .into_external_from(&source)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArgument);
    }

    #[test]
    fn a_message_longer_than_memory_can_address_is_refused() {
        let kr = keyring();
        // usize::MAX bytes of plaintext in frames of 1 byte: the body alone
        // would be 33 times larger than any address (a 150 MB one-shot
        // message on a 32-bit target, wasm32 included, is the same case).
        // Past 2^32 - 1 frames first; then, in 64 bits, 2^32 - 2 frames of
        // 2^32 - 1 bytes and a final one of 1, whose body outgrows 2^64.
        let largest = usize::try_from((u64::from(u32::MAX) - 1) * u64::from(u32::MAX) + 1);
        let cases = [
            (usize::MAX, 1, "2^32 - 1 frames"),
            (usize::MAX, 4096, "2^32 - 1 frames"),
            (usize::MAX / 2, 1, "2^32 - 1 frames"),
        ]
        .into_iter()
        .chain(largest.map(|len| (len, u32::MAX, "larger than this platform can address")));
        for (len, frame, why) in cases {
            let err = Client::new()
                .encrypt_external(len)
                .keyring(&kr)
                .frame_length(frame)
                .prepare()
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        assert_eq!(crate::encrypt::checked_body_len(usize::MAX / 30, 1), None);
        assert_eq!(
            crate::encrypt::checked_body_len(100, 1),
            Some(99 * 33 + 40 + 1)
        );
    }

    #[test]
    fn digests_must_match_the_suite() {
        let kr = keyring();
        let c = Client::new();
        let seal = c
            .encrypt_external(10)
            .keyring(&kr)
            .prepare()
            .unwrap()
            .into_external()
            .unwrap();
        assert_eq!(seal.signature_hash(), Some("SHA-384"));
        assert_eq!(
            seal.footer(Some(&[0u8; 32])).unwrap_err().kind(),
            ErrorKind::BadArgument
        );
        let seal = c
            .encrypt_external(10)
            .keyring(&kr)
            .prepare()
            .unwrap()
            .into_external()
            .unwrap();
        assert_eq!(
            seal.footer(None).unwrap_err().kind(),
            ErrorKind::BadArgument
        );
        // A length-only encryption cannot seal in the core.
        let err = c
            .encrypt_external(10)
            .keyring(&kr)
            .algorithm_suite(AlgorithmSuite::from_id(0x0478).unwrap())
            .run()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArgument);
        // A wrong digest is a signature failure, not a crash.
        let message = c.encrypt(b"abc").keyring(&kr).run().unwrap();
        let open = c
            .decrypt(&message)
            .keyring(&kr)
            .prepare()
            .unwrap()
            .into_external()
            .unwrap();
        let err = open.finish(Some(&[0u8; 48])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn body_size_limit_holds() {
        let kr = keyring();
        let message = Client::new()
            .encrypt(&[0u8; 1000])
            .keyring(&kr)
            .frame_length(100)
            .run()
            .unwrap();
        let c = Client::builder().max_body_size(999).build();
        // Only the frames within the limit are listed, and finish fails.
        let within = external(&c, &kr, &message).unwrap();
        assert_eq!(within.frame_count(), 9);
        let err = open_as_host(within, &message).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation);
        // A bad tag before the limit comes first, as in the core.
        let header_len = crate::MessageHeader::parse(&message, None).unwrap().1;
        let mut bad = message.clone();
        bad[header_len + 20] ^= 1;
        let core = c.decrypt(&bad).keyring(&kr).run().unwrap_err();
        let here = open_as_host(external(&c, &kr, &bad).unwrap(), &bad).unwrap_err();
        assert_eq!(core.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(here.to_string(), core.to_string());
    }

    /// A "host" whose P-384 keys sign only whole messages, as WebCrypto's
    /// do; it keeps the last key it made, as a host would keep the handle.
    mod whole_message_host {
        use std::cell::RefCell;
        use std::rc::Rc;

        use crate::host_crypto::{
            set_host_ecdsa, HostDigest, HostEcdsa, HostSigningKey, HostVerifyingKey,
        };

        thread_local! {
            pub(super) static LAST: RefCell<Option<p384::ecdsa::SigningKey>> = const { RefCell::new(None) };
        }

        struct Host;

        struct Key(p384::ecdsa::SigningKey);

        impl HostEcdsa for Host {
            fn generate(&self, curve: &str) -> Option<Box<dyn HostSigningKey>> {
                assert_eq!(curve, "P-384");
                let key = loop {
                    let mut d = [0u8; 48];
                    crate::crypto::fill_random(&mut d).unwrap();
                    if let Ok(k) = p384::ecdsa::SigningKey::from_slice(&d) {
                        break k;
                    }
                };
                LAST.with(|l| *l.borrow_mut() = Some(key.clone()));
                Some(Box::new(Key(key)))
            }

            fn verifying_key(&self, _: &str, _: &[u8]) -> Option<Box<dyn HostVerifyingKey>> {
                None
            }
        }

        impl HostSigningKey for Key {
            fn public_key_compressed(&self) -> Vec<u8> {
                self.0
                    .verifying_key()
                    .to_sec1_point(true)
                    .as_bytes()
                    .to_vec()
            }

            fn start(&self) -> Box<dyn HostDigest> {
                Box::new(Refuse)
            }
        }

        /// Like WebCrypto, no incremental signing.
        struct Refuse;

        impl HostDigest for Refuse {
            fn update(&mut self, _: &[u8]) {}

            fn finish(self: Box<Self>) -> Option<Vec<u8>> {
                None
            }
        }

        pub(super) fn install(on: bool) {
            set_host_ecdsa(if on { Some(Rc::new(Host)) } else { None });
        }
    }

    fn host_sealed(c: &Client, kr: &RawAesKeyring, len: usize) -> ExternalSeal {
        whole_message_host::install(true);
        let seal = c
            .encrypt_external(len)
            .keyring(kr)
            .frame_length(64)
            .prepare()
            .and_then(|p| p.into_external());
        whole_message_host::install(false);
        seal.unwrap()
    }

    #[test]
    fn a_host_held_signing_key_signs_the_whole_message_in_either_encoding() {
        use p384::ecdsa::signature::Signer;
        let kr = keyring();
        let c = Client::new();
        let plaintext = vec![4u8; 300];
        let refused = host_sealed(&c, &kr, 10);
        assert!(refused.host_signs());
        assert_eq!(
            refused.footer(Some(&[0u8; 48])).unwrap_err().kind(),
            ErrorKind::BadArgument
        );
        for format in [SignatureFormat::Der, SignatureFormat::P1363] {
            let seal = host_sealed(&c, &kr, plaintext.len());
            let key = whole_message_host::LAST
                .with(|l| l.borrow().clone())
                .unwrap();
            assert_eq!(
                seal.signing_public_key().unwrap(),
                key.verifying_key().to_sec1_point(true).as_bytes()
            );
            let signed = seal.signed_len();
            let mut message = seal_frames(&seal, &plaintext);
            let sig: p384::ecdsa::Signature = key.sign(&message[..signed]);
            let bytes = match format {
                SignatureFormat::Der => sig.to_der().as_bytes().to_vec(),
                SignatureFormat::P1363 => sig.to_bytes().to_vec(),
            };
            let footer = seal.footer_from_signature(&bytes, format).unwrap();
            message.truncate(signed);
            message.extend_from_slice(&footer);
            let d = c.decrypt(&message).keyring(&kr).run().unwrap();
            assert_eq!(d.plaintext, plaintext);
        }
        // Garbage is refused, not written.
        let seal = host_sealed(&c, &kr, 10);
        let err = seal
            .footer_from_signature(&[1u8; 95], SignatureFormat::P1363)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArgument);
    }

    #[test]
    fn the_host_checks_the_signature_from_host_check() {
        use p384::ecdsa::signature::Verifier;
        let kr = keyring();
        let c = Client::new();
        let message = framed(&c, &kr, &[8u8; 200]);
        let open = || {
            c.decrypt(&message)
                .keyring(&kr)
                .prepare()
                .and_then(|p| p.into_external())
                .unwrap()
        };
        let o = open();
        let check = o.host_check().unwrap();
        assert_eq!((check.curve, check.hash), ("P-384", "SHA-384"));
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&check.public_key).unwrap();
        let sig = p384::ecdsa::Signature::from_slice(&check.signature).unwrap();
        let valid = key.verify(&message[..o.signed_len()], &sig).is_ok();
        assert!(valid);
        assert!(o.finish_host_checked(valid).is_ok());
        let err = open().finish_host_checked(false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        let unsigned = c
            .encrypt(b"x")
            .keyring(&kr)
            .algorithm_suite(AlgorithmSuite::from_id(0x0478).unwrap())
            .run()
            .unwrap();
        let o = c
            .decrypt(&unsigned)
            .keyring(&kr)
            .prepare()
            .unwrap()
            .into_external()
            .unwrap();
        assert!(o.host_check().is_none());
        assert_eq!(
            o.finish_host_checked(true).unwrap_err().kind(),
            ErrorKind::BadArgument
        );
    }
}
