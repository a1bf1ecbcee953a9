//! Streams whose frames the caller seals or opens with its own AES-GCM:
//! the message's length is not known up front, and the core hands out (or
//! takes in) one frame at a time. See the parent module for one-shot
//! messages.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::ExternalFrame;
use crate::cmm::MaterialsManager;
use crate::context::EncryptionContext;
use crate::decrypt::Opener;
use crate::encrypt::{frame_head, frame_kind, frame_overhead};
use crate::error::{Error, Result};
use crate::format::body::{parse_frame, parse_non_framed, BodyAad, BodyKind};
use crate::format::footer::parse_footer;
use crate::format::header::{ContentType, MessageHeader};
use crate::format::reader::ParseError;
use crate::stream::decryptor::{
    check_body_size, check_frame_size, check_held, holds_for_signature, BodyLimits,
    MessageDecryptor,
};
use crate::stream::SignedRelease;

/// A stream's message sealed by the caller a frame at a time, its length
/// unknown until it ends. Made by
/// [`StreamEncryptor::into_external`](crate::StreamEncryptor::into_external).
///
/// The caller writes [`header`](Self::header) first. For each frame, in
/// order, it asks [`next_frame`](Self::next_frame) (a full frame of
/// [`frame_length`](Self::frame_length) bytes while more plaintext may
/// follow; the final one, of at most that, last) and writes the frame's
/// [`head`](ExternalFrame::head), then the AES-GCM ciphertext and tag of
/// its plaintext under [`content_key`](Self::content_key). Frames may be
/// sealed concurrently, but for a signed suite each complete frame (head,
/// ciphertext, tag) goes to [`absorb`](Self::absorb) in message order:
/// the core keeps the signature hash. [`finish`](Self::finish) gives the
/// last bytes.
pub struct ExternalStreamSeal {
    sealer: Option<crate::encrypt::Sealer>,
    header: Vec<u8>,
    expected: Option<u64>,
    plaintext_len: u64,
    message_len: u64,
    absorbed: u64,
    ended: bool,
}

impl ExternalStreamSeal {
    pub(crate) fn new(
        sealer: crate::encrypt::Sealer,
        header: Vec<u8>,
        expected: Option<u64>,
    ) -> Self {
        let len = header.len() as u64;
        Self {
            sealer: Some(sealer),
            header,
            expected,
            plaintext_len: 0,
            message_len: len,
            absorbed: len,
            ended: false,
        }
    }

    fn sealer(&mut self) -> Result<&mut crate::encrypt::Sealer> {
        self.sealer
            .as_mut()
            .ok_or_else(|| Error::bad_arg("this message is finished or failed"))
    }

    /// The complete header, the message's first bytes.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The header parsed, and the whole encryption context the message is
    /// bound to (required pairs included), until the message is finished.
    pub fn header_and_context(&self) -> Option<(&MessageHeader, &EncryptionContext)> {
        self.sealer.as_ref().map(|s| (s.header(), s.context()))
    }

    /// The AES-GCM content key. Secret: wipe every copy once used.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] once the message is finished or failed.
    pub fn content_key(&mut self) -> Result<&[u8]> {
        Ok(self.sealer()?.external_view().1)
    }

    /// The plaintext length of every frame but the final one.
    pub fn frame_length(&self) -> usize {
        self.sealer
            .as_ref()
            .map_or(0, |s| s.frame_length() as usize)
    }

    /// Whether the suite signs: then every sealed frame goes to
    /// [`absorb`](Self::absorb).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] once the message is finished or failed.
    pub fn is_signed(&mut self) -> Result<bool> {
        Ok(self.sealer()?.external_view().2.is_some())
    }

    /// The next frame, of `len` plaintext bytes: exactly the frame length
    /// unless `is_final`. Its offsets count from the start of the plaintext
    /// and of the message. Fails after the final frame, past the declared
    /// plaintext length, or after 2^32 - 1 frames; a failure ends the
    /// message.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] after the final frame or once the message is
    /// finished or failed; for a `len` that is not the frame length (or,
    /// for the final frame, over it); for plaintext past the declared
    /// length, or a final frame short of it; after 2^32 - 1 frames.
    pub fn next_frame(&mut self, len: usize, is_final: bool) -> Result<ExternalFrame> {
        let result = self.frame(len, is_final);
        if result.is_err() {
            self.sealer = None;
        }
        result
    }

    fn frame(&mut self, len: usize, is_final: bool) -> Result<ExternalFrame> {
        if self.ended {
            return Err(Error::bad_arg("the final frame is already out"));
        }
        let total = self.plaintext_len + len as u64;
        if let Some(expected) = self.expected {
            if total > expected || (is_final && total != expected) {
                return Err(Error::bad_arg(format!(
                    "got {total} bytes of plaintext, but {expected} were declared"
                )));
            }
        }
        let (message_offset, plaintext_offset) = (self.message_len, self.plaintext_len);
        let sealer = self.sealer()?;
        let seq = sealer.take_frame(len, is_final)?;
        let kind = frame_kind(is_final);
        let aad = BodyAad::new(sealer.external_view().0, kind, seq, len as u64)?;
        let (head, head_len) = frame_head(kind, seq, len as u32);
        self.plaintext_len = total;
        // In 64 bits: on wasm32 a frame near 2^32 bytes (its plaintext
        // stays in JS) would wrap a usize sum.
        self.message_len += frame_overhead(kind) as u64 + len as u64;
        self.ended = is_final;
        Ok(ExternalFrame {
            plaintext_offset,
            ciphertext_offset: message_offset + head_len as u64,
            len,
            iv: crate::format::body::frame_iv(seq),
            aad,
            head,
            head_len,
        })
    }

    /// Adds the next sealed bytes of the body (whole frames or parts of
    /// them, in message order) to the signature hash. Only signed suites
    /// need it; fails past the frames handed out.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] for bytes past the frames handed out (which
    /// ends the message), or once the message is finished or failed.
    pub fn absorb(&mut self, sealed: &[u8]) -> Result<()> {
        let absorbed = self.absorbed + sealed.len() as u64;
        if absorbed > self.message_len {
            self.sealer = None;
            return Err(Error::bad_arg(
                "more sealed bytes than the frames handed out",
            ));
        }
        if let Some(h) = self.sealer()?.external_view().2 {
            h.update(sealed);
        }
        self.absorbed = absorbed;
        Ok(())
    }

    /// The message's last bytes, once the final frame is out (and, for a
    /// signed suite, every sealed byte absorbed): the footer, signing the
    /// hash; empty for suites without a signature. Ends the message.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the message is finished or failed
    /// already, the final frame is not out yet, the bytes absorbed (signed
    /// suites) do not add up to the frames handed out, or signing fails.
    /// The message ends on these errors too.
    pub fn finish(&mut self) -> Result<Vec<u8>> {
        let mut sealer = self
            .sealer
            .take()
            .ok_or_else(|| Error::bad_arg("this message is finished or failed"))?;
        if !self.ended {
            return Err(Error::bad_arg("the final frame is not out yet"));
        }
        if sealer.external_view().2.is_some() && self.absorbed != self.message_len {
            return Err(Error::bad_arg(
                "the sealed bytes absorbed do not add up to the frames handed out",
            ));
        }
        let mut footer = Vec::new();
        sealer.finish(&mut footer)?;
        Ok(footer)
    }
}

impl std::fmt::Debug for ExternalStreamSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalStreamSeal")
            .field("plaintext_len", &self.plaintext_len)
            .field("message_len", &self.message_len)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// A stream's message opened by the caller a frame at a time. Made by
/// [`StreamDecryptor::into_external`](crate::StreamDecryptor::into_external).
///
/// The caller feeds the message to [`update`](Self::update) in pieces of
/// any size. Once the header is read (and authenticated, and its data key
/// unwrapped), [`content_key`](Self::content_key) is the AES-GCM key, and
/// each update makes ready the frames it completed, for
/// [`take_frames`](Self::take_frames): the core has parsed and checked
/// each one's place and sequence number and hashed it for the signature;
/// the caller opens them (in any order, concurrently) and releases their
/// plaintext in message order, a frame only once its tag verified, and a
/// frame marked [`hold`](StreamFrames::hold) only once
/// [`finish`](Self::finish) has succeeded too (the footer's signature
/// verified). On any failure, whatever was not released is discarded.
pub struct ExternalStreamOpen {
    manager: Arc<dyn MaterialsManager>,
    limits: BodyLimits,
    state: OpenState,
    key: Option<Zeroizing<Vec<u8>>>,
    buf: Vec<u8>,
    plaintext_len: u64,
    held: u64,
    ready: StreamFrames,
}

enum OpenState {
    Header(Box<MessageDecryptor>),
    Body(Box<Opener>),
    Footer(Box<Opener>),
    Done(Box<MessageHeader>, EncryptionContext),
    Failed,
}

/// Frames ready to open: records and their sealed bytes, back to back.
#[derive(Default)]
pub struct StreamFrames {
    frames: Vec<(ExternalFrame, bool)>,
    sealed: Zeroizing<Vec<u8>>,
}

impl StreamFrames {
    /// How many frames there are.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frame `index`: its [`ciphertext_offset`](ExternalFrame::ciphertext_offset)
    /// is into [`sealed`](Self::sealed) (the tag follows the ciphertext),
    /// its [`plaintext_offset`](ExternalFrame::plaintext_offset) into the
    /// message's plaintext.
    pub fn frame(&self, index: usize) -> Option<&ExternalFrame> {
        self.frames.get(index).map(|(f, _)| f)
    }

    /// Whether frame `index`'s plaintext waits for the signature (see
    /// [`ExternalStreamOpen`]).
    pub fn hold(&self, index: usize) -> bool {
        self.frames.get(index).is_some_and(|(_, hold)| *hold)
    }

    /// The frames' ciphertexts and tags.
    pub fn sealed(&self) -> &[u8] {
        &self.sealed
    }
}

impl ExternalStreamOpen {
    pub(crate) fn new(manager: Arc<dyn MaterialsManager>, decryptor: MessageDecryptor) -> Self {
        Self {
            manager,
            limits: decryptor.limits(),
            state: OpenState::Header(Box::new(decryptor)),
            key: None,
            buf: Vec::new(),
            plaintext_len: 0,
            held: 0,
            ready: StreamFrames::default(),
        }
    }

    /// Reads `input`, the message's next bytes: the header first (which may
    /// call the materials manager), then the frames and the footer, whose
    /// signature is checked when it arrives. A failure ends the message.
    ///
    /// # Errors
    ///
    /// Those of [`StreamDecryptor::update`](crate::StreamDecryptor::update),
    /// as soon as the bytes show them, and [`Error::MalformedMessage`] for
    /// a message of more than 2^32 - 1 frames.
    pub async fn update(&mut self, input: &[u8]) -> Result<()> {
        if matches!(self.state, OpenState::Failed) {
            return Err(Error::bad_arg("the decryptor failed earlier"));
        }
        self.buf.extend_from_slice(input);
        let result = self.process().await;
        if result.is_err() {
            self.fail();
        }
        result
    }

    fn fail(&mut self) {
        self.state = OpenState::Failed;
        self.buf.clear();
        self.ready = StreamFrames::default();
        self.key = None;
    }

    async fn process(&mut self) -> Result<()> {
        if let OpenState::Header(decryptor) = &mut self.state {
            if !decryptor.header_due(&self.buf)? {
                return Ok(());
            }
            let Some((_, len)) = MessageHeader::parse_prefix(&self.buf, self.limits.max_edks)?
            else {
                return Ok(());
            };
            let header = self.buf.get(..len).unwrap_or_default();
            decryptor.read_header(&*self.manager, header).await?;
            let OpenState::Header(decryptor) =
                std::mem::replace(&mut self.state, OpenState::Failed)
            else {
                return Err(Error::bad_arg("internal state error"));
            };
            let opener = decryptor
                .into_opener()
                .ok_or_else(|| Error::bad_arg("the header has not been read"))?;
            self.key = Some(opener.raw_key.clone());
            self.state = OpenState::Body(Box::new(opener));
            self.buf.drain(..len);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let mut pos = 0;
        let result = loop {
            match self.step(buf.get(pos..).unwrap_or_default()) {
                Ok(Some(used)) => pos += used,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        buf.drain(..pos.min(buf.len()));
        self.buf = buf;
        result
    }

    /// Consumes one frame or the footer from the front of `input`; `None`
    /// when more input is needed.
    fn step(&mut self, input: &[u8]) -> Result<Option<usize>> {
        match &mut self.state {
            OpenState::Body(opener) => {
                let parsed = match opener.header.content_type {
                    ContentType::Framed => {
                        check_frame_size(input, opener, self.limits.max_frame)?;
                        parse_frame(input, opener.header.frame_length, opener.next_seq)
                    }
                    ContentType::NonFramed => parse_non_framed(input, self.limits.max_non_framed),
                };
                let (frame, used) = match parsed {
                    Ok(parsed) => parsed,
                    Err(ParseError::Incomplete) => return Ok(None),
                    Err(ParseError::Invalid(e)) => return Err(e),
                };
                let len = frame.ciphertext.len();
                let total = self.plaintext_len + len as u64;
                check_body_size(total, self.limits.max_body)?;
                let signed = opener.is_signed();
                let is_last = frame.kind != BodyKind::Regular;
                let hold = holds_for_signature(signed, is_last, self.limits.release);
                if hold && self.limits.release == SignedRelease::AfterSignature {
                    self.held += len as u64;
                    check_held(self.held, self.limits.max_buffered)?;
                }
                if !is_last && opener.next_seq == u32::MAX {
                    return Err(Error::malformed("message has more than 2^32 - 1 frames"));
                }
                let at = self.ready.sealed.len();
                self.ready.sealed.extend_from_slice(frame.ciphertext);
                self.ready.sealed.extend_from_slice(&frame.tag);
                let record = ExternalFrame {
                    plaintext_offset: self.plaintext_len,
                    ciphertext_offset: at as u64,
                    len,
                    iv: frame.iv,
                    aad: BodyAad::new(
                        &opener.header.message_id,
                        frame.kind,
                        frame.seq,
                        len as u64,
                    )?,
                    head: [0; 24],
                    head_len: 0,
                };
                self.ready.frames.push((record, hold));
                opener.hash(input.get(..used).unwrap_or_default());
                opener.next_seq = opener.next_seq.wrapping_add(1);
                self.plaintext_len = total;
                if is_last {
                    let OpenState::Body(opener) =
                        std::mem::replace(&mut self.state, OpenState::Failed)
                    else {
                        return Err(Error::bad_arg("internal state error"));
                    };
                    self.state = if signed {
                        OpenState::Footer(opener)
                    } else {
                        done(*opener)
                    };
                }
                Ok(Some(used))
            }
            OpenState::Footer(opener) => {
                let (sig, used) = match parse_footer(input) {
                    Ok(parsed) => parsed,
                    Err(ParseError::Incomplete) => return Ok(None),
                    Err(ParseError::Invalid(e)) => return Err(e),
                };
                opener.verify(sig)?;
                let OpenState::Footer(opener) =
                    std::mem::replace(&mut self.state, OpenState::Failed)
                else {
                    return Err(Error::bad_arg("internal state error"));
                };
                self.state = done(*opener);
                Ok(Some(used))
            }
            OpenState::Done(..) => {
                if input.is_empty() {
                    Ok(None)
                } else {
                    Err(Error::malformed("bytes follow the end of the message"))
                }
            }
            OpenState::Header(_) => Ok(None),
            OpenState::Failed => Err(Error::bad_arg("the decryptor failed earlier")),
        }
    }

    /// The AES-GCM content key, once the header is read. Secret: wipe every
    /// copy once used.
    pub fn content_key(&self) -> Option<&[u8]> {
        self.key.as_deref().map(|k| &k[..])
    }

    /// The frames the updates so far completed (see [`StreamFrames`]).
    pub fn take_frames(&mut self) -> StreamFrames {
        std::mem::take(&mut self.ready)
    }

    /// Whether the whole message has been read and, for a signed suite, its
    /// footer's signature verified: the held frames may go out once they
    /// opened, as the core's own stream releases them (bytes after the end
    /// still fail the next update).
    pub fn is_complete(&self) -> bool {
        matches!(self.state, OpenState::Done(..))
    }

    /// Checks that the message is complete and its signature verified (it
    /// is checked as the footer arrives). Fails if the input ended early.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedMessage`] if the input ended early;
    /// [`Error::BadArgument`] if an update failed before.
    pub fn finish(&mut self) -> Result<()> {
        match self.state {
            OpenState::Done(..) => Ok(()),
            OpenState::Failed => Err(Error::bad_arg("the decryptor failed earlier")),
            OpenState::Header(_) => {
                // What the parser says of the bytes there were (the scan
                // may have been waiting on a base64 guess), else truncated.
                let err = match MessageHeader::parse_prefix(&self.buf, self.limits.max_edks) {
                    Err(e) => e,
                    Ok(_) => Error::malformed("message is truncated"),
                };
                self.fail();
                Err(err)
            }
            _ => {
                self.fail();
                Err(Error::malformed("message is truncated"))
            }
        }
    }

    /// The authenticated header, once it has been read.
    pub fn header(&self) -> Option<&MessageHeader> {
        match &self.state {
            OpenState::Body(o) | OpenState::Footer(o) => Some(&o.header),
            OpenState::Done(h, _) => Some(h),
            _ => None,
        }
    }

    /// The encryption context (header pairs plus reproduced-only pairs),
    /// once the header has been authenticated.
    pub fn encryption_context(&self) -> Option<&EncryptionContext> {
        match &self.state {
            OpenState::Body(o) | OpenState::Footer(o) => Some(o.materials.encryption_context()),
            OpenState::Done(_, ec) => Some(ec),
            _ => None,
        }
    }
}

fn done(opener: Opener) -> OpenState {
    let context = opener.materials.encryption_context().clone();
    OpenState::Done(Box::new(opener.header), context)
}

impl std::fmt::Debug for ExternalStreamOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalStreamOpen")
            .field("plaintext_len", &self.plaintext_len)
            .field("frames_ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::AesGcmKey;
    use crate::error::ErrorKind;
    use crate::format::header::TAG_LEN;
    use crate::{AlgorithmSuite, Client, CommitmentPolicy, RawAesKeyring};

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

    /// A stream sealed as a host would: frames of the frame length, the
    /// last full one held back until the end shows whether it is final.
    fn stream_as_host(mut seal: ExternalStreamSeal, plaintext: &[u8]) -> Vec<u8> {
        let key = AesGcmKey::new(seal.content_key().unwrap()).unwrap();
        let fl = seal.frame_length();
        let mut out = seal.header().to_vec();
        let mut rest = plaintext;
        loop {
            let is_final = rest.len() <= fl;
            let len = if is_final { rest.len() } else { fl };
            let f = seal.next_frame(len, is_final).unwrap();
            assert_eq!(f.ciphertext_offset() as usize, out.len() + f.head().len());
            assert_eq!(f.plaintext_offset() as usize, plaintext.len() - rest.len());
            let mut frame = f.head().to_vec();
            let mut buf = rest[..len].to_vec();
            let tag = key.seal_in_place(f.iv(), f.aad(), &mut buf).unwrap();
            frame.extend_from_slice(&buf);
            frame.extend_from_slice(&tag);
            // Absorbed in two pieces: any split works.
            let (a, b) = frame.split_at(frame.len() / 2);
            seal.absorb(a).unwrap();
            seal.absorb(b).unwrap();
            out.extend_from_slice(&frame);
            rest = &rest[len..];
            if is_final {
                break;
            }
        }
        out.extend_from_slice(&seal.finish().unwrap());
        out
    }

    fn stream_seal(
        c: &Client,
        suite: AlgorithmSuite,
        fl: u32,
        declared: Option<u64>,
    ) -> ExternalStreamSeal {
        let mut b = c
            .stream_encrypt()
            .keyring(std::sync::Arc::new(keyring()))
            .algorithm_suite(suite)
            .frame_length(fl);
        if let Some(n) = declared {
            b = b.plaintext_length(n);
        }
        b.start().unwrap().into_external().unwrap()
    }

    #[test]
    fn streams_sealed_on_the_host_read_in_the_core() {
        let kr = keyring();
        for suite in AlgorithmSuite::ALL {
            let c = policy_for(suite);
            for len in [0usize, 1, 63, 64, 65, 128, 64 * 3 + 5] {
                let plaintext: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                let message = stream_as_host(stream_seal(&c, suite, 64, None), &plaintext);
                let d = c.decrypt(&message).keyring(&kr).run().unwrap();
                assert_eq!(d.plaintext, plaintext, "suite {suite} len {len}");
                // The same layout as the core's own stream.
                let mut core = c
                    .stream_encrypt()
                    .keyring(std::sync::Arc::new(keyring()))
                    .algorithm_suite(suite)
                    .frame_length(64)
                    .start()
                    .unwrap();
                let mut theirs = Vec::new();
                core.update(&plaintext, &mut theirs).unwrap();
                core.finish(&mut theirs).unwrap();
                if !suite.is_signing() {
                    assert_eq!(message.len(), theirs.len(), "suite {suite} len {len}");
                }
            }
        }
    }

    #[test]
    fn stream_offsets_count_past_4_gib() {
        // Frames are handed out without being sealed, so 2 GiB frames cost
        // nothing here; offsets are u64 on every platform (wasm32 too).
        let suite = AlgorithmSuite::from_id(0x0478).unwrap();
        let mut seal = stream_seal(&Client::new(), suite, 1 << 31, None);
        let header = seal.header().len() as u64;
        for i in 0..3u64 {
            let f = seal.next_frame(1 << 31, false).unwrap();
            assert_eq!(f.plaintext_offset(), i << 31);
            assert_eq!(
                f.ciphertext_offset(),
                header + i * ((1 << 31) + 32) + 16,
                "frame {i}"
            );
        }
        let last = seal.next_frame(5, true).unwrap();
        assert_eq!(last.plaintext_offset(), 3 << 31);
        assert!(last.ciphertext_offset() > u64::from(u32::MAX));
    }

    #[test]
    fn a_stream_seal_refuses_misuse() {
        let suite = AlgorithmSuite::from_id(0x0578).unwrap();
        let c = Client::new();
        // A regular frame must be full; the final one at most the frame length.
        let mut seal = stream_seal(&c, suite, 64, None);
        assert!(seal.next_frame(63, false).is_err());
        assert!(
            seal.next_frame(64, true).is_err(),
            "a failure ends the message"
        );
        let mut seal = stream_seal(&c, suite, 64, None);
        assert!(seal.next_frame(65, true).is_err());
        // Nothing after the final frame; no footer before it.
        let mut seal = stream_seal(&c, suite, 64, None);
        assert_eq!(seal.finish().unwrap_err().kind(), ErrorKind::BadArgument);
        let mut seal = stream_seal(&c, suite, 64, None);
        seal.next_frame(3, true).unwrap();
        assert!(seal.next_frame(0, true).is_err());
        // The signature covers exactly the frames handed out.
        let mut seal = stream_seal(&c, suite, 64, None);
        seal.next_frame(3, true).unwrap();
        let err = seal.finish().unwrap_err();
        assert!(err.to_string().contains("do not add up"), "{err}");
        let mut seal = stream_seal(&c, suite, 64, None);
        let f = seal.next_frame(3, true).unwrap();
        let whole = f.head().len() + 3 + TAG_LEN;
        assert!(seal.absorb(&vec![0; whole + 1]).is_err());
        // A declared length holds.
        let mut seal = stream_seal(&c, suite, 64, Some(100));
        seal.next_frame(64, false).unwrap();
        assert!(seal.next_frame(35, true).is_err());
        let mut seal = stream_seal(&c, suite, 64, Some(10));
        assert!(seal.next_frame(64, false).is_err());
        // Only a fresh encryptor hands over its frames.
        let mut started = c
            .stream_encrypt()
            .keyring(std::sync::Arc::new(keyring()))
            .start()
            .unwrap();
        started.update(b"x", &mut Vec::new()).unwrap();
        assert!(started.into_external().is_err());
    }

    /// A stream opened as a host would, fed in `chunk`-byte pieces: every
    /// frame opened with this crate's AES-GCM, released in order under the
    /// hold rule. Returns the plaintext and how many frames were held.
    fn open_stream_as_host(
        c: &Client,
        message: &[u8],
        chunk: usize,
        release: SignedRelease,
        max_buffered: Option<u64>,
    ) -> Result<(Vec<u8>, usize)> {
        let mut b = c
            .stream_decrypt()
            .keyring(Arc::new(keyring()))
            .signed_release(release);
        if let Some(n) = max_buffered {
            b = b.max_buffered_plaintext(n);
        }
        let mut open = b.start()?.into_external()?;
        let (mut released, mut held, mut holding) = (Vec::new(), Vec::new(), 0);
        for piece in message.chunks(chunk.max(1)) {
            crate::future::block_on(open.update(piece))?;
            let frames = open.take_frames();
            let Some(key) = open.content_key() else {
                assert!(frames.is_empty(), "frames before the key");
                continue;
            };
            let key = AesGcmKey::new(key).unwrap();
            for i in 0..frames.len() {
                let f = frames.frame(i).unwrap();
                let at = f.ciphertext_offset() as usize;
                let mut buf = frames.sealed()[at..at + f.len()].to_vec();
                let tag: [u8; 16] = frames.sealed()[at + f.len()..at + f.len() + 16]
                    .try_into()
                    .unwrap();
                key.open_in_place(f.iv(), f.aad(), &mut buf, &tag)
                    .map_err(|_| Error::AuthenticationFailed(crate::AuthFailure::Body))?;
                assert_eq!(f.plaintext_offset() as usize, released.len() + held.len());
                if frames.hold(i) {
                    holding += 1;
                    held.extend_from_slice(&buf);
                } else {
                    assert!(held.is_empty(), "a frame released after a held one");
                    released.extend_from_slice(&buf);
                }
            }
        }
        open.finish()?;
        released.extend_from_slice(&held);
        Ok((released, holding))
    }

    #[test]
    fn streams_opened_on_the_host_read_back_under_the_release_rules() {
        let kr = keyring();
        for suite in AlgorithmSuite::ALL {
            let c = policy_for(suite);
            for len in [0usize, 1, 64, 65, 64 * 4 + 3] {
                let plaintext: Vec<u8> = (0..len).map(|i| (i * 5) as u8).collect();
                let message = c
                    .encrypt(&plaintext)
                    .keyring(&kr)
                    .algorithm_suite(suite)
                    .frame_length(64)
                    .run()
                    .unwrap();
                let frames = len.max(1).div_ceil(64);
                for chunk in [1, 7, 64, 100, message.len()] {
                    for release in [SignedRelease::AfterSignature, SignedRelease::Frames] {
                        let (out, held) =
                            open_stream_as_host(&c, &message, chunk, release, None).unwrap();
                        assert_eq!(out, plaintext, "suite {suite} len {len} chunk {chunk}");
                        let want = match (suite.is_signing(), release) {
                            (false, _) => 0,
                            (true, SignedRelease::AfterSignature) => frames,
                            (true, _) => 1,
                        };
                        assert_eq!(held, want, "suite {suite} len {len} {release:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn host_opened_streams_fail_on_any_truncation_or_flipped_bit() {
        let kr = keyring();
        for id in [0x0578, 0x0478] {
            let suite = AlgorithmSuite::from_id(id).unwrap();
            let c = Client::new();
            let message = c
                .encrypt(&[6u8; 200])
                .keyring(&kr)
                .algorithm_suite(suite)
                .frame_length(64)
                .run()
                .unwrap();
            for cut in 0..message.len() {
                let r = open_stream_as_host(&c, &message[..cut], 50, SignedRelease::Frames, None);
                assert!(r.is_err(), "{suite}: cut at {cut} opened");
            }
            for i in 0..message.len() {
                let mut bad = message.clone();
                bad[i] ^= 0x04;
                let r = open_stream_as_host(&c, &bad, 33, SignedRelease::AfterSignature, None);
                assert!(r.is_err(), "{suite}: byte {i} flipped and opened");
            }
            let mut longer = message.clone();
            longer.push(0);
            assert!(open_stream_as_host(&c, &longer, 1000, SignedRelease::Frames, None).is_err());
        }
    }

    #[test]
    fn host_opened_streams_keep_the_limits() {
        let kr = keyring();
        let c = Client::new();
        let message = c
            .encrypt(&[1u8; 1000])
            .keyring(&kr)
            .frame_length(100)
            .run()
            .unwrap();
        let err = open_stream_as_host(&c, &message, 300, SignedRelease::AfterSignature, Some(500))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation);
        assert!(open_stream_as_host(&c, &message, 300, SignedRelease::Frames, Some(500)).is_ok());
        let limited = Client::builder().max_body_size(999).build();
        let err =
            open_stream_as_host(&limited, &message, 300, SignedRelease::Frames, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation);
        // Only a fresh decryptor hands over its frames.
        let mut started = c
            .stream_decrypt()
            .keyring(Arc::new(keyring()))
            .start()
            .unwrap();
        started.update(&message[..10], &mut Vec::new()).unwrap();
        assert!(started.into_external().is_err());
        // A message for another key fails at the header, with nothing ready.
        let other = RawAesKeyring::new("ns", "k", &[4u8; 32]).unwrap();
        let foreign = c.encrypt(b"x").keyring(&other).run().unwrap();
        let err = open_stream_as_host(&c, &foreign, 1000, SignedRelease::Frames, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoKeyUnwrapped);
    }
}
