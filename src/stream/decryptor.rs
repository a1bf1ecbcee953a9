//! The incremental decryptor.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::client::{Chosen, Client};
use crate::cmm::MaterialsManager;
use crate::context::EncryptionContext;
use crate::decrypt::{open_frame, DecryptSettings, Opener};
use crate::error::{Error, Result};
use crate::format::body::{parse_frame, parse_frame_head, parse_non_framed, BodyKind, FrameRef};
use crate::format::footer::parse_footer;
use crate::format::header::{ContentType, MessageHeader};
use crate::format::reader::ParseError;
use crate::format::HeaderScan;
use crate::future::block_on;
use crate::keyring::Keyring;
use crate::parallel::{self, Order, GROUP_BYTES};
use crate::region::Region;
use crate::stream::sink::{self, Sink};
use crate::stream::{SharedSource, DEFAULT_MAX_BUFFERED_PLAINTEXT, DEFAULT_MAX_FRAME_SIZE};

/// When a streaming decryptor releases the plaintext of a signed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignedRelease {
    /// Hold all plaintext until the signature verifies (default).
    #[default]
    AfterSignature,
    /// Release each regular frame once its tag verifies, before the signature
    /// is checked; hold only the final frame. Opt-in: discard everything
    /// released if the stream fails later.
    Frames,
}

/// Configures a [`StreamDecryptor`]. See [`Client::stream_decrypt`].
#[must_use = "call start() to get the decryptor"]
pub struct StreamDecryptBuilder {
    client: Client,
    source: Chosen<SharedSource>,
    reproduced: Option<EncryptionContext>,
    release: SignedRelease,
    unsigned_only: bool,
    max_frame_size: u64,
    max_buffered_plaintext: u64,
}

impl StreamDecryptBuilder {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            source: Chosen::none(),
            reproduced: None,
            release: SignedRelease::default(),
            unsigned_only: false,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_buffered_plaintext: DEFAULT_MAX_BUFFERED_PLAINTEXT,
        }
    }

    /// Unwraps the data key with `keyring` (through the default materials manager).
    pub fn keyring(mut self, keyring: Arc<dyn Keyring>) -> Self {
        self.source.keyring(SharedSource::Keyring(keyring));
        self
    }

    /// Gets materials from `manager`.
    pub fn materials_manager(mut self, manager: Arc<dyn MaterialsManager>) -> Self {
        self.source.manager(SharedSource::Manager(manager));
        self
    }

    /// The encryption context the caller expects (see [`crate::DecryptCall::encryption_context`]).
    pub fn encryption_context(mut self, context: EncryptionContext) -> Self {
        self.reproduced = Some(context);
        self
    }

    /// When to release the plaintext of signed messages (default: after the signature).
    pub fn signed_release(mut self, release: SignedRelease) -> Self {
        self.release = release;
        self
    }

    /// Refuse signed messages as soon as the header is read.
    pub fn unsigned_only(mut self, yes: bool) -> Self {
        self.unsigned_only = yes;
        self
    }

    /// Largest frame or non-framed body the decryptor buffers; larger ones
    /// are refused as soon as their head is read (default 64 MiB). The
    /// limit is on what each frame holds, not on the header's frame length:
    /// a short message written with a larger frame length streams. Headers
    /// are refused past this size or
    /// [`MIN_STREAM_HEADER_LIMIT`](crate::format::header_scan::MIN_STREAM_HEADER_LIMIT),
    /// whichever is larger, before their bytes are held.
    pub fn max_frame_size(mut self, bytes: u64) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Most plaintext held back while a signed message's signature is
    /// pending, under [`SignedRelease::AfterSignature`] (default 64 MiB).
    pub fn max_buffered_plaintext(mut self, bytes: u64) -> Self {
        self.max_buffered_plaintext = bytes;
        self
    }

    /// The decryptor. Nothing is read or unwrapped until the first `update`.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if no keyring or materials manager was set, or both were,
    /// or the client was built with `threads(0)` or
    /// `max_encrypted_data_keys(0)`.
    pub fn start(self) -> Result<StreamDecryptor> {
        let manager = self.source.required()?.into_manager();
        self.client.check_limits()?;
        let mut inner = MessageDecryptor::new(
            self.client.decrypt_settings(self.reproduced),
            self.release,
            self.max_frame_size,
            self.max_buffered_plaintext,
        );
        inner.unsigned_only = self.unsigned_only;
        Ok(StreamDecryptor { manager, inner })
    }
}

enum State {
    Header,
    Body(Box<Opener>),
    Footer(Box<Opener>),
    Done(Box<MessageHeader>, EncryptionContext),
    /// With the header and context, if they had been authenticated: a
    /// caller may still want to know which message failed.
    Failed(Option<Box<(MessageHeader, EncryptionContext)>>),
}

/// Decrypts a message piece by piece, holding at most one frame of
/// ciphertext (plus, for signed messages by default, the plaintext awaiting
/// the signature; see [the module docs](crate::stream)).
///
/// Call [`finish`](Self::finish) when the input ends: it is what reports a
/// message cut short. Until it succeeds, plaintext released so far (frames
/// of unsigned suites, or of signed ones under
/// [`SignedRelease::Frames`](crate::stream::SignedRelease)) is only known to
/// be a prefix of the message's.
///
/// ```
/// use std::sync::Arc;
/// use kms_envelope::{AlgorithmSuite, Client, RawAesKeyring};
/// let keyring = Arc::new(RawAesKeyring::new("ns", "k", &[1; 32])?);
/// let client = Client::new();
/// let ct = client.encrypt(&[5u8; 10_000]).keyring(&*keyring)
///     .algorithm_suite(AlgorithmSuite::AesGcm256HkdfSha512CommitKey).run()?;
/// let mut dec = client.stream_decrypt().keyring(keyring).start()?;
/// let mut plaintext = Vec::new();
/// for chunk in ct.chunks(777) {
///     dec.update(chunk, &mut plaintext)?;
/// }
/// dec.finish()?;
/// assert_eq!(plaintext, vec![5u8; 10_000]);
/// # Ok::<(), kms_envelope::Error>(())
/// ```
pub struct StreamDecryptor {
    manager: Arc<dyn MaterialsManager>,
    pub(crate) inner: MessageDecryptor,
}

impl StreamDecryptor {
    /// Decrypts `input`, appending authenticated plaintext to `out` as the
    /// release rules allow. Blocks while the keyring unwraps the data key.
    ///
    /// # Errors
    ///
    /// The failures of [`DecryptCall::run`](crate::DecryptCall::run) as
    /// soon as the bytes show them, and
    /// [`Error::PolicyViolation`](crate::Error::PolicyViolation) for a
    /// header or frame above `max_frame_size` (headers: or 1 MiB, whichever
    /// is larger), signed plaintext above `max_buffered_plaintext`, or a
    /// signed message under `unsigned_only`. After a failure every call
    /// fails ([`Error::BadArgument`](crate::Error::BadArgument)).
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        block_on(self.update_async(input, out))
    }

    /// Like [`StreamDecryptor::update`], as a future.
    ///
    /// # Errors
    ///
    /// As [`StreamDecryptor::update`].
    pub async fn update_async(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.inner.update(&*self.manager, input, out).await
    }

    /// Checks that the message is complete and authenticated.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedMessage`](crate::Error::MalformedMessage) if the
    /// input ended early (the message is cut short), or
    /// [`Error::BadArgument`](crate::Error::BadArgument) after a failure
    /// [`update`](Self::update) reported.
    pub fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }

    /// Hands the frames to the caller's AES-GCM (see
    /// [`ExternalStreamOpen`](crate::external::ExternalStreamOpen)). Only
    /// before the first [`update`](Self::update).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] once [`update`](Self::update) has been given
    /// any input.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub fn into_external(self) -> Result<crate::external::ExternalStreamOpen> {
        if !self.inner.is_fresh() {
            return Err(Error::bad_arg("the decryptor has already started"));
        }
        Ok(crate::external::ExternalStreamOpen::new(
            self.manager,
            self.inner,
        ))
    }

    /// Whether the whole message has been read and authenticated.
    pub fn is_done(&self) -> bool {
        matches!(self.inner.state, State::Done(..))
    }

    /// The authenticated header, once it has been read; still there after a
    /// later failure (a tampered frame or signature), to say which message
    /// failed.
    pub fn header(&self) -> Option<&MessageHeader> {
        self.inner.header()
    }

    /// The encryption context (header pairs plus reproduced-only pairs), once
    /// the header has been authenticated (and after a later failure, as
    /// [`header`](Self::header)).
    pub fn encryption_context(&self) -> Option<&EncryptionContext> {
        self.inner.encryption_context()
    }
}

/// The decryption state machine, without a materials source of its own:
/// shared by [`StreamDecryptor`] and the one-shot decrypt.
pub(crate) struct MessageDecryptor {
    settings: DecryptSettings,
    release: SignedRelease,
    unsigned_only: bool,
    max_frame_size: u64,
    max_buffered: u64,
    /// Input received but not yet consumed (at most a header or one frame).
    buf: Vec<u8>,
    /// Where the header ends, while it arrives.
    scan: HeaderScan,
    state: State,
    /// Plaintext held until the signature verifies.
    held: Zeroizing<Vec<u8>>,
    body_total: u64,
}

impl MessageDecryptor {
    pub(crate) fn new(
        settings: DecryptSettings,
        release: SignedRelease,
        max_frame_size: u64,
        max_buffered: u64,
    ) -> Self {
        Self {
            scan: HeaderScan::for_stream(settings.max_edks, max_frame_size),
            settings,
            release,
            unsigned_only: false,
            max_frame_size,
            max_buffered,
            buf: Vec::new(),
            state: State::Header,
            held: Zeroizing::new(Vec::new()),
            body_total: 0,
        }
    }

    pub(crate) async fn update(
        &mut self,
        manager: &dyn MaterialsManager,
        input: &[u8],
        out: &mut dyn Sink,
    ) -> Result<()> {
        self.update_with(Some(manager), input, out).await
    }

    /// Reads the header at the front of `message`, gets the materials and
    /// authenticates the header; returns the header's length. The body
    /// follows through [`Self::update_body`].
    pub(crate) async fn read_header(
        &mut self,
        manager: &dyn MaterialsManager,
        message: &[u8],
    ) -> Result<usize> {
        let result = match self.step(Some(manager), message, &mut Vec::new()).await {
            Ok(Some(len)) => Ok(len),
            Ok(None) => Err(self.ended_in_header(message)),
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.fail();
        }
        result
    }

    /// [`Self::update`] once the header is read: nothing is left to await.
    pub(crate) fn update_body(&mut self, input: &[u8], out: &mut dyn Sink) -> Result<()> {
        if matches!(self.state, State::Header) {
            return Err(Error::bad_arg("the header has not been read"));
        }
        block_on(self.update_with(None, input, out))
    }

    /// The plaintext length of the body at the front of `body`, from its
    /// frame headers (nothing is decrypted). The walk stops at the first
    /// frame that does not parse; decrypting stops there too, with the
    /// error it finds, or earlier, at a frame that does not authenticate.
    pub(crate) fn plaintext_len(&self, body: &[u8]) -> usize {
        let State::Body(opener) = &self.state else {
            return 0;
        };
        match opener.header.content_type {
            ContentType::Framed => {
                let (mut pos, mut seq, mut total) = (0, opener.next_seq, 0);
                while let Ok((frame, used)) = parse_frame(
                    body.get(pos..).unwrap_or_default(),
                    opener.header.frame_length,
                    seq,
                ) {
                    total += frame.ciphertext.len();
                    pos += used;
                    seq = seq.wrapping_add(1);
                    if frame.kind != BodyKind::Regular || seq == 0 {
                        break;
                    }
                }
                total
            }
            ContentType::NonFramed => {
                parse_non_framed(body, non_framed_limit(self.max_frame_size, &self.settings))
                    .map_or(0, |(frame, _)| frame.ciphertext.len())
            }
        }
    }

    async fn update_with(
        &mut self,
        manager: Option<&dyn MaterialsManager>,
        input: &[u8],
        out: &mut dyn Sink,
    ) -> Result<()> {
        if matches!(self.state, State::Failed(_)) {
            return Err(Error::bad_arg("the decryptor failed earlier"));
        }
        let start = out.len();
        // Work straight from `input` when nothing is pending, so a whole
        // message in one piece is never copied.
        let bound = self.most_pending();
        let result = if self.buf.is_empty() {
            match self.process(manager, input, out).await {
                Ok(used) => {
                    let rest = input.get(used..).unwrap_or_default();
                    sink::reserve_within(&mut self.buf, rest.len(), bound)
                        .map(|()| self.buf.extend_from_slice(rest))
                }
                Err(e) => Err(e),
            }
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            sink::reserve_within(&mut buf, input.len(), bound)?;
            buf.extend_from_slice(input);
            let result = self.process(manager, &buf, out).await;
            if let Ok(used) = result {
                buf.drain(..used.min(buf.len()));
                self.buf = buf;
            }
            result.map(|_| ())
        };
        if result.is_err() {
            // Whatever this call would have released is withdrawn.
            out.wipe_from(start);
            self.fail();
        }
        result
    }

    pub(crate) fn finish(&mut self) -> Result<()> {
        match &self.state {
            State::Done(..) => Ok(()),
            State::Failed(_) => Err(Error::bad_arg("the decryptor failed earlier")),
            State::Header => {
                let err = self.ended_in_header(&self.buf);
                self.fail();
                Err(err)
            }
            _ => {
                self.fail();
                Err(Error::malformed("message is truncated"))
            }
        }
    }

    /// Why input that ended inside the header failed: what the parser says
    /// of the bytes there were (the scan may still have been waiting, as
    /// after a lone `A`, for the second byte of a base64 guess), else that
    /// the message is truncated.
    fn ended_in_header(&self, bytes: &[u8]) -> Error {
        match MessageHeader::parse_partial(bytes, self.settings.max_edks) {
            Err(ParseError::Invalid(e)) => e,
            _ => Error::malformed("message is truncated"),
        }
    }

    pub(crate) fn header(&self) -> Option<&MessageHeader> {
        match &self.state {
            State::Body(o) | State::Footer(o) => Some(&o.header),
            State::Done(h, _) => Some(h),
            State::Failed(Some(kept)) => Some(&kept.0),
            State::Header | State::Failed(None) => None,
        }
    }

    pub(crate) fn encryption_context(&self) -> Option<&EncryptionContext> {
        match &self.state {
            State::Body(o) | State::Footer(o) => Some(o.materials.encryption_context()),
            State::Done(_, ec) => Some(ec),
            State::Failed(Some(kept)) => Some(&kept.1),
            State::Header | State::Failed(None) => None,
        }
    }

    /// The opener, once the header is read and until the body is done.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn opener(&self) -> Option<&Opener> {
        match &self.state {
            State::Body(opener) => Some(opener),
            _ => None,
        }
    }

    /// The configured limit on the body's plaintext.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn max_body_size(&self) -> Option<u64> {
        self.settings.max_body_size
    }

    /// What limits a body being opened elsewhere: the release rule, the most
    /// plaintext held for a signature, the longest non-framed body, the body
    /// limit, and the EDK limit of the header.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn limits(&self) -> BodyLimits {
        BodyLimits {
            release: self.release,
            max_buffered: self.max_buffered,
            max_non_framed: non_framed_limit(self.max_frame_size, &self.settings),
            max_frame: self.max_frame_size,
            max_body: self.settings.max_body_size,
            max_edks: self.settings.max_edks,
        }
    }

    /// Whether nothing has been read yet.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn is_fresh(&self) -> bool {
        matches!(self.state, State::Header) && self.buf.is_empty()
    }

    /// The opener of a message whose header is read and whose body is not.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn into_opener(self) -> Option<Opener> {
        match self.state {
            State::Body(opener) => Some(*opener),
            _ => None,
        }
    }

    /// The header and context of a finished message.
    pub(crate) fn into_done(self) -> Option<(MessageHeader, EncryptionContext)> {
        match self.state {
            State::Done(h, ec) => Some((*h, ec)),
            _ => None,
        }
    }

    /// The most input a well-formed message within the limits leaves
    /// pending: a whole header, or a whole frame with its head and tag. The
    /// pending buffer's doubling stops there, so a hostile header or frame
    /// refused at its limit has not made the buffer twice the limit.
    fn most_pending(&self) -> usize {
        let frame = self.max_frame_size.saturating_add(MAX_FRAME_OVERHEAD);
        bound_of(self.scan.max_len().max(frame))
    }

    /// The capacity of the buffer of pending input.
    #[cfg(test)]
    pub(crate) fn pending_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The capacity of the buffer of plaintext held for the signature.
    #[cfg(test)]
    pub(crate) fn held_capacity(&self) -> usize {
        self.held.capacity()
    }

    fn fail(&mut self) {
        let kept = match std::mem::replace(&mut self.state, State::Failed(None)) {
            State::Body(o) | State::Footer(o) => Some(Box::new((
                o.header.clone(),
                o.materials.encryption_context().clone(),
            ))),
            State::Done(h, ec) => Some(Box::new((*h, ec))),
            State::Failed(kept) => kept,
            State::Header => None,
        };
        self.state = State::Failed(kept);
        self.buf = Vec::new();
        zeroize::Zeroize::zeroize(&mut *self.held);
    }

    /// Consumes as many whole units (header, frames, footer) of `data` as it
    /// can; returns the bytes used.
    async fn process(
        &mut self,
        manager: Option<&dyn MaterialsManager>,
        data: &[u8],
        out: &mut dyn Sink,
    ) -> Result<usize> {
        let mut pos = 0;
        while let Some(used) = self
            .step(manager, data.get(pos..).unwrap_or_default(), out)
            .await?
        {
            pos += used;
        }
        Ok(pos)
    }

    /// Whether the header should be parsed from `message`, its first bytes
    /// (all of them, each time): the scan reads only the bytes it has not
    /// seen, so a header arriving in many pieces costs one pass.
    pub(crate) fn header_due(&mut self, message: &[u8]) -> Result<bool> {
        let fresh = message.get(self.scan.seen()..).unwrap_or_default();
        Ok(self.scan.feed(fresh)?.is_some())
    }

    /// Consumes one unit from the front of `input`; `None` when more input
    /// is needed.
    /// `manager` is needed for the header only.
    async fn step(
        &mut self,
        manager: Option<&dyn MaterialsManager>,
        input: &[u8],
        out: &mut dyn Sink,
    ) -> Result<Option<usize>> {
        match &mut self.state {
            State::Header => {
                if !self.header_due(input)? {
                    return Ok(None);
                }
                let (header, len) =
                    match MessageHeader::parse_partial(input, self.settings.max_edks) {
                        Ok(parsed) => parsed,
                        Err(ParseError::Incomplete) => return Ok(None),
                        Err(ParseError::Invalid(e)) => return Err(e),
                    };
                let suite = header.algorithm_suite;
                if self.unsigned_only && suite.is_signing() {
                    return Err(Error::policy(format!(
                        "suite {suite} signs its messages, and this decryptor accepts unsigned messages only"
                    )));
                }
                let header_bytes = input.get(..len).unwrap_or_default();
                let manager =
                    manager.ok_or_else(|| Error::bad_arg("no materials manager for the header"))?;
                let opener = Opener::start(header, header_bytes, manager, &self.settings).await?;
                self.state = State::Body(Box::new(opener));
                Ok(Some(len))
            }
            State::Body(opener) => {
                // Frames past the limit are refused one by one (below), as
                // their heads arrive: the batch path takes none of them.
                if u64::from(opener.header.frame_length) <= self.max_frame_size {
                    if let Some(used) = regular_batch(
                        opener,
                        input,
                        self.settings.threads,
                        &mut BatchSinks {
                            release: self.release,
                            held: &mut self.held,
                            out,
                            max_buffered: self.max_buffered,
                            body_total: &mut self.body_total,
                            max_body: self.settings.max_body_size,
                        },
                    )? {
                        return Ok(Some(used));
                    }
                }
                let signed = opener.is_signed();
                let parsed = match opener.header.content_type {
                    ContentType::Framed => {
                        check_frame_size(input, opener, self.max_frame_size)?;
                        parse_frame(input, opener.header.frame_length, opener.next_seq)
                    }
                    ContentType::NonFramed => parse_non_framed(
                        input,
                        non_framed_limit(self.max_frame_size, &self.settings),
                    ),
                };
                let (frame, used) = match parsed {
                    Ok(parsed) => parsed,
                    Err(ParseError::Incomplete) => return Ok(None),
                    Err(ParseError::Invalid(e)) => return Err(e),
                };
                let len = frame.ciphertext.len();
                self.body_total += len as u64;
                check_body_size(self.body_total, self.settings.max_body_size)?;
                let is_last = frame.kind != BodyKind::Regular;
                let hold = holds_for_signature(signed, is_last, self.release);
                // Under SignedRelease::Frames only the final frame is held, and
                // the frame size limit already bounds it.
                if hold && self.release == SignedRelease::AfterSignature {
                    check_held((self.held.len() + len) as u64, self.max_buffered)?;
                    sink::reserve_wiping_within(&mut self.held, len, bound_of(self.max_buffered))?;
                }
                let sink: &mut dyn Sink = if hold { &mut *self.held } else { out };
                let raw = input.get(..used).unwrap_or_default();
                opener.open_frame_into(&frame, raw, sink)?;
                if is_last {
                    let State::Body(opener) =
                        std::mem::replace(&mut self.state, State::Failed(None))
                    else {
                        return Err(Error::bad_arg("internal state error"));
                    };
                    self.state = if signed {
                        State::Footer(opener)
                    } else {
                        done(*opener)
                    };
                }
                Ok(Some(used))
            }
            State::Footer(opener) => {
                let (sig, used) = match parse_footer(input) {
                    Ok(parsed) => parsed,
                    Err(ParseError::Incomplete) => return Ok(None),
                    Err(ParseError::Invalid(e)) => return Err(e),
                };
                opener.verify(sig)?;
                out.release_held(&mut self.held)?;
                let State::Footer(opener) = std::mem::replace(&mut self.state, State::Failed(None))
                else {
                    return Err(Error::bad_arg("internal state error"));
                };
                self.state = done(*opener);
                Ok(Some(used))
            }
            State::Done(..) => {
                if input.is_empty() {
                    Ok(None)
                } else {
                    Err(Error::malformed("bytes follow the end of the message"))
                }
            }
            State::Failed(_) => Err(Error::bad_arg("the decryptor failed earlier")),
        }
    }
}

/// See [`MessageDecryptor::limits`].
#[cfg(all(
    feature = "host-crypto",
    any(target_arch = "wasm32", feature = "rustcrypto")
))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    pub(crate) release: SignedRelease,
    pub(crate) max_buffered: u64,
    pub(crate) max_non_framed: u64,
    /// The largest frame a stream buffers ([`StreamDecryptorBuilder::max_frame_size`]).
    pub(crate) max_frame: u64,
    pub(crate) max_body: Option<u64>,
    pub(crate) max_edks: Option<u16>,
}

/// Fails when the frame whose head is at the front of `input` (as far as it
/// has arrived) holds more than `max` bytes, before the frame is buffered.
/// The limit applies to what each frame holds, the final frame's own
/// length included, and not to the header's frame length: a short message
/// written with a large frame length streams like any other.
pub(crate) fn check_frame_size(input: &[u8], opener: &Opener, max: u64) -> Result<()> {
    match parse_frame_head(input, opener.header.frame_length, opener.next_seq) {
        Ok((head, _)) if u64::from(head.len) > max => Err(Error::policy(format!(
            "a frame of {} bytes exceeds the streaming limit of {max} bytes \
             (the max frame size option raises it)",
            head.len
        ))),
        Err(ParseError::Invalid(e)) => Err(e),
        _ => Ok(()),
    }
}

/// Fails once the body's plaintext (`total` bytes so far) passes the
/// configured maximum.
pub(crate) fn check_body_size(total: u64, max: Option<u64>) -> Result<()> {
    match max {
        Some(max) if total > max => Err(Error::policy(format!(
            "message body exceeds the configured maximum of {max} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Whether a frame's plaintext waits for the signature: every frame of a
/// signed message under [`SignedRelease::AfterSignature`], only its final
/// frame under [`SignedRelease::Frames`].
pub(crate) fn holds_for_signature(signed: bool, is_last: bool, release: SignedRelease) -> bool {
    signed && (is_last || release == SignedRelease::AfterSignature)
}

/// Fails once the plaintext held for a signature (`held` bytes) passes the
/// limit.
pub(crate) fn check_held(held: u64, max: u64) -> Result<()> {
    if held > max {
        return Err(Error::policy(format!(
            "a signed message holds more than {max} bytes of plaintext before its signature; \
             choose the signed release 'frames' (plaintext before the signature is checked) \
             or raise the limit on buffered plaintext"
        )));
    }
    Ok(())
}

/// The most bytes a frame adds to what it holds: a final frame's end marker,
/// sequence number, IV, length and tag (40), or a non-framed body's IV,
/// length and tag (36), rounded up.
const MAX_FRAME_OVERHEAD: u64 = 64;

/// A limit in bytes as a bound on a buffer's capacity.
fn bound_of(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// The longest non-framed body a decryptor takes.
fn non_framed_limit(max_frame_size: u64, settings: &DecryptSettings) -> u64 {
    max_frame_size.min(settings.max_body_size.unwrap_or(u64::MAX))
}

fn done(opener: Opener) -> State {
    let Opener {
        header, materials, ..
    } = opener;
    State::Done(Box::new(header), materials.encryption_context().clone())
}

/// Where a batch of regular frames goes, and the limits it must respect.
struct BatchSinks<'a> {
    release: SignedRelease,
    held: &'a mut Vec<u8>,
    out: &'a mut dyn Sink,
    max_buffered: u64,
    body_total: &'a mut u64,
    max_body: Option<u64>,
}

/// Most regular frames opened in one parallel batch.
const MAX_BATCH_BYTES: usize = 64 << 20;

/// Opens many consecutive regular frames at once on several threads, when
/// `input` holds enough of them. `None` leaves the work to the one-frame path
/// (too little input, one thread, or no regular frame at the front: a final
/// frame, or anything unusual such as a parse error, which that path then
/// reports).
fn regular_batch(
    opener: &mut Opener,
    input: &[u8],
    threads: usize,
    sinks: &mut BatchSinks<'_>,
) -> Result<Option<usize>> {
    if threads <= 1 || opener.header.content_type != ContentType::Framed {
        return Ok(None);
    }
    let fl = opener.header.frame_length as usize;
    let group_frames = (GROUP_BYTES / fl.max(1)).max(1);
    if input.len() < fl.saturating_mul(group_frames).saturating_mul(2) {
        return Ok(None);
    }
    let mut frames = Vec::new();
    let mut pos = 0;
    let mut seq = opener.next_seq;
    while frames.len().saturating_mul(fl) < MAX_BATCH_BYTES && seq != 0 {
        match parse_frame(
            input.get(pos..).unwrap_or_default(),
            opener.header.frame_length,
            seq,
        ) {
            Ok((frame, used)) if frame.kind == BodyKind::Regular => {
                frames.push(frame);
                pos += used;
                seq = seq.wrapping_add(1);
            }
            _ => break,
        }
    }
    // Whatever was parsed is opened here, even a short run (the last frames
    // before the final one): handing it to the one-frame path would parse
    // the whole run again for each of its frames.
    let count = frames.len();
    if count == 0 {
        return Ok(None);
    }
    let plaintext = (count * fl) as u64;
    *sinks.body_total += plaintext;
    check_body_size(*sinks.body_total, sinks.max_body)?;
    // Regular frames only: held under AfterSignature alone.
    let hold = holds_for_signature(opener.is_signed(), false, sinks.release);
    if hold {
        check_held(sinks.held.len() as u64 + plaintext, sinks.max_buffered)?;
        sink::reserve_wiping_within(sinks.held, count * fl, bound_of(sinks.max_buffered))?;
    }
    let sink: &mut dyn Sink = if hold {
        &mut *sinks.held
    } else {
        &mut *sinks.out
    };
    let raw = input.get(..pos).unwrap_or_default();
    let frame_size = pos / count;
    let start = sink.len();
    let region = sink.grow(count * fl)?;
    let jobs: Vec<(&[FrameRef<'_>], &[u8], Option<Region<'_>>)> = frames
        .chunks(group_frames)
        .zip(raw.chunks(group_frames * frame_size))
        .zip(region.chunks(group_frames * fl))
        .map(|((f, r), o)| (f, r, Some(o)))
        .collect();
    let (key, message_id, hasher) = opener.parts();
    let work = |(frames, _, out): &mut (&[FrameRef<'_>], &[u8], Option<Region<'_>>)| {
        let out = out
            .take()
            .ok_or_else(|| Error::bad_arg("a batch was opened twice"))?;
        for (frame, slot) in frames.iter().zip(out.chunks(fl)) {
            open_frame(key, message_id, frame, slot)?;
        }
        Ok(())
    };
    // The calling thread hashes each group's ciphertext, in order, while the
    // workers decrypt the following groups.
    let result = match hasher {
        Some(h) => {
            let mut hash = |job: &(&[FrameRef<'_>], &[u8], Option<Region<'_>>)| h.update(job.1);
            parallel::run(jobs, threads, work, Order::Consume(&mut hash))
        }
        None => parallel::run(jobs, threads, work, Order::Work),
    };
    if let Err(e) = result {
        sink.wipe_from(start);
        return Err(e);
    }
    opener.next_seq = seq;
    Ok(Some(pos))
}
