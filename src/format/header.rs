//! The message header: parse (v1 and v2) and serialize.

use crate::context::EncryptionContext;
use crate::edk::EncryptedDataKey;
use crate::error::{Error, Result};
use crate::format::reader::{ParseError, ParseResult, Reader};
use crate::suite::AlgorithmSuite;

/// How the body is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// One AES-GCM block for the whole body (read only; never written).
    NonFramed,
    /// A sequence of frames (always written).
    Framed,
}

impl ContentType {
    fn byte(self) -> u8 {
        match self {
            ContentType::NonFramed => 1,
            ContentType::Framed => 2,
        }
    }
}

/// The v1 header type byte: "customer authenticated encrypted data".
pub(crate) const V1_TYPE: u8 = 0x80;
/// IV length, the same for every suite.
pub(crate) const IV_LEN: usize = 12;
/// GCM tag length, the same for every suite.
pub(crate) const TAG_LEN: usize = 16;
/// Length of the v2 suite data (the commitment key).
pub(crate) const COMMIT_LEN: usize = 32;

/// A parsed message header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// Message format version, 1 or 2.
    pub version: u8,
    /// The algorithm suite.
    pub algorithm_suite: AlgorithmSuite,
    /// The message ID (16 bytes in v1, 32 in v2).
    pub message_id: Vec<u8>,
    /// The encryption context stored in the header (the required pairs of a
    /// required-encryption-context CMM are not stored).
    pub encryption_context: EncryptionContext,
    /// The wrapped copies of the data key.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// Framed or non-framed body.
    pub content_type: ContentType,
    /// Frame length in bytes (0 for non-framed bodies).
    pub frame_length: u32,
    /// The v1 header IV as stored (12 zero bytes in v2, where none is stored).
    pub header_iv: [u8; IV_LEN],
    /// The v2 commitment key (suite data), `None` in v1.
    pub commitment: Option<[u8; COMMIT_LEN]>,
    /// The header authentication tag.
    pub auth_tag: [u8; TAG_LEN],
    /// The exact header body bytes as received or written, which the header
    /// tag authenticates.
    pub(crate) body_bytes: Vec<u8>,
}

impl MessageHeader {
    /// Total length of the serialized header, authentication included, as
    /// parsed or written (see [`to_bytes`](Self::to_bytes)).
    pub fn len(&self) -> usize {
        self.body_bytes.len() + self.auth_len()
    }

    /// Never true: a header always has bytes. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether the bytes held are a v1 header (which stores its IV): read
    /// from those bytes, not from the `version` field, which a caller may
    /// have changed.
    fn stored_v1(&self) -> bool {
        self.body_bytes
            .first()
            .map_or(self.version == 1, |&v| v == 1)
    }

    fn auth_len(&self) -> usize {
        if self.stored_v1() {
            IV_LEN + TAG_LEN
        } else {
            TAG_LEN
        }
    }

    /// The header body bytes (everything the header tag covers).
    pub fn body_bytes(&self) -> &[u8] {
        &self.body_bytes
    }

    /// The header body as this SDK writes it from the parsed fields: equal to
    /// [`MessageHeader::body_bytes`] unless the received header used a
    /// non-canonical form that parsing accepts (encryption context pairs out
    /// of order, or the legacy empty context `00 00`).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if the fields, changed since the header was
    /// parsed or written, no longer fit the format: an encryption context
    /// of more than 65,535 pairs, with a key or value over 65,535 bytes, or
    /// serialized in over 65,535 bytes; more than 65,535 encrypted data
    /// keys; a provider ID, provider info or encrypted data key over 65,535
    /// bytes. A header as parsed or written always fits.
    pub fn canonical_body(&self) -> Result<Vec<u8>> {
        write_body(
            self.version,
            self.algorithm_suite,
            &self.message_id,
            &self.encryption_context,
            &self.encrypted_data_keys,
            self.content_type,
            self.frame_length,
            self.commitment.as_ref(),
        )
    }

    /// Builds and serializes the header body for a new message. The tag is
    /// filled in later with [`MessageHeader::set_auth_tag`].
    pub(crate) fn build(
        suite: AlgorithmSuite,
        message_id: Vec<u8>,
        stored_context: EncryptionContext,
        edks: Vec<EncryptedDataKey>,
        frame_length: u32,
        commitment: Option<[u8; COMMIT_LEN]>,
    ) -> Result<Self> {
        let version = suite.message_format_version();
        if edks.is_empty() {
            return Err(Error::bad_arg(
                "a message needs at least one encrypted data key",
            ));
        }
        let b = write_body(
            version,
            suite,
            &message_id,
            &stored_context,
            &edks,
            ContentType::Framed,
            frame_length,
            commitment.as_ref(),
        )?;
        Ok(Self {
            version,
            algorithm_suite: suite,
            message_id,
            encryption_context: stored_context,
            encrypted_data_keys: edks,
            content_type: ContentType::Framed,
            frame_length,
            header_iv: [0; IV_LEN],
            commitment,
            auth_tag: [0; TAG_LEN],
            body_bytes: b,
        })
    }

    pub(crate) fn set_auth_tag(&mut self, tag: [u8; TAG_LEN]) {
        self.auth_tag = tag;
    }

    /// The complete serialized header: body, then (v1) IV, then tag, as
    /// parsed or written. Changing the public fields does not change these
    /// bytes (the tag authenticates them as they are); see
    /// [`canonical_body`](Self::canonical_body) for a serialization of the
    /// fields.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.write_to(&mut out);
        out
    }

    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.body_bytes);
        if self.stored_v1() {
            out.extend_from_slice(&self.header_iv);
        }
        out.extend_from_slice(&self.auth_tag);
    }

    /// Parses a complete header from the front of `bytes`, returning it and
    /// its length. Fails if `bytes` ends before the header does.
    ///
    /// `max_edks` is checked as soon as the count is read.
    ///
    /// # Errors
    ///
    /// - [`Error::MalformedMessage`]: `bytes` end before the header does,
    ///   or do not start with a well-formed header: an unknown version,
    ///   message type, suite or content type; a suite of the other format
    ///   version; a malformed encryption context; no encrypted data key; a
    ///   provider ID that is not UTF-8; in v1, nonzero reserved bytes or an
    ///   IV length other than 12; a frame length of 0 for framed content,
    ///   or other than 0 for non-framed; text that looks like base64
    ///   (`AY` or `Ag`) instead of binary.
    /// - [`Error::PolicyViolation`]: more encrypted data keys than
    ///   `max_edks`.
    pub fn parse(bytes: &[u8], max_edks: Option<u16>) -> Result<(Self, usize)> {
        Self::parse_partial(bytes, max_edks).map_err(Error::from)
    }

    /// Parses the header at the front of `bytes`, which may hold only part
    /// of it: `Ok(None)` when more bytes are needed to finish it. Fails on
    /// bytes that no continuation could make a header of.
    ///
    /// For callers that read a message a piece at a time (the JS front end
    /// finds a header's end this way without copying a whole message):
    ///
    /// ```
    /// use kms_envelope::{Client, MessageHeader, RawAesKeyring};
    ///
    /// let keyring = RawAesKeyring::new("ns", "key", &[7u8; 32])?;
    /// let message = Client::new().encrypt(b"hello").keyring(&keyring).run()?;
    /// assert!(MessageHeader::parse_prefix(&message[..10], None)?.is_none());
    /// let (header, len) = MessageHeader::parse_prefix(&message, None)?.expect("a whole header");
    /// assert_eq!(len, header.len());
    /// assert!(MessageHeader::parse_prefix(b"\x09junk", None).is_err());
    /// # Ok::<(), kms_envelope::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MessageHeader::parse`], except that `bytes` ending before the
    /// header does give `Ok(None)`.
    pub fn parse_prefix(bytes: &[u8], max_edks: Option<u16>) -> Result<Option<(Self, usize)>> {
        match Self::parse_partial(bytes, max_edks) {
            Ok(parsed) => Ok(Some(parsed)),
            Err(ParseError::Incomplete) => Ok(None),
            Err(ParseError::Invalid(e)) => Err(e),
        }
    }

    /// Like [`MessageHeader::parse`], but reports `Incomplete` when more bytes
    /// could complete the header.
    pub(crate) fn parse_partial(bytes: &[u8], max_edks: Option<u16>) -> ParseResult<(Self, usize)> {
        detect_base64(bytes)?;
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != 1 && version != 2 {
            return Err(Error::malformed(format!(
                "not an encrypted message: unsupported message format version {version} \
                     (messages start with version 1 or 2)"
            ))
            .into());
        }
        if version == 1 {
            let ty = r.u8()?;
            if ty != V1_TYPE {
                return Err(Error::malformed(format!("unknown message type 0x{ty:02x}")).into());
            }
        }
        let suite_id = r.u16("algorithm suite")?;
        let suite = AlgorithmSuite::from_id(suite_id)
            .ok_or_else(|| Error::malformed(format!("unknown algorithm suite 0x{suite_id:04x}")))?;
        if suite.message_format_version() != version {
            return Err(Error::malformed(format!(
                "suite 0x{suite_id:04x} does not belong to message format version {version}"
            ))
            .into());
        }
        let message_id = r.take(suite.message_id_len())?.to_vec();
        let ec_bytes = r.bytes_u16("encryption context")?;
        let encryption_context = EncryptionContext::parse(ec_bytes).map_err(ParseError::Invalid)?;
        let count = r.u16("encrypted data key count")?;
        if count == 0 {
            return Err(Error::malformed("message has no encrypted data keys").into());
        }
        if let Some(max) = max_edks {
            if count > max {
                return Err(Error::policy(format!(
                    "message has {count} encrypted data keys, more than the configured maximum of {max}"
                ))
                .into());
            }
        }
        // Not reserved up front: a hostile count must not size an allocation.
        let mut edks = Vec::new();
        for _ in 0..count {
            let provider_id = r.utf8_u16("provider id")?;
            let provider_info = r.bytes_u16("provider info")?.to_vec();
            let ciphertext = r.bytes_u16("encrypted data key")?.to_vec();
            edks.push(EncryptedDataKey {
                provider_id,
                provider_info,
                ciphertext,
            });
        }
        let content_type = match r.u8()? {
            1 => ContentType::NonFramed,
            2 => ContentType::Framed,
            other => return Err(Error::malformed(format!("unknown content type {other}")).into()),
        };
        if version == 1 {
            if r.array::<4>()? != [0, 0, 0, 0] {
                return Err(Error::malformed("reserved header bytes are not zero").into());
            }
            let iv_len = r.u8()?;
            if usize::from(iv_len) != IV_LEN {
                return Err(Error::malformed(format!("IV length {iv_len} is not 12")).into());
            }
        }
        let frame_length = r.u32()?;
        match content_type {
            ContentType::Framed if frame_length == 0 => {
                return Err(Error::malformed("framed message with frame length 0").into())
            }
            ContentType::NonFramed if frame_length != 0 => {
                return Err(Error::malformed("non-framed message with a frame length").into())
            }
            _ => {}
        }
        let commitment = if version == 2 {
            Some(r.array::<COMMIT_LEN>()?)
        } else {
            None
        };
        let body_len = r.position();
        let header_iv = if version == 1 {
            r.array::<IV_LEN>()?
        } else {
            [0; IV_LEN]
        };
        let auth_tag = r.array::<TAG_LEN>()?;
        let total = r.position();
        let body_bytes = bytes
            .get(..body_len)
            .ok_or(ParseError::Incomplete)?
            .to_vec();
        Ok((
            Self {
                version,
                algorithm_suite: suite,
                message_id,
                encryption_context,
                encrypted_data_keys: edks,
                content_type,
                frame_length,
                header_iv,
                commitment,
                auth_tag,
                body_bytes,
            },
            total,
        ))
    }
}

/// The first two bytes of a base64-encoded v1 ("AY") or v2 ("Ag") message.
fn detect_base64(bytes: &[u8]) -> ParseResult<()> {
    match bytes {
        [b'A', b'Y', ..] | [b'A', b'g', ..] => Err(Error::malformed(
            "input looks base64-encoded; decode it to binary before decrypting",
        )
        .into()),
        _ => Ok(()),
    }
}

/// Serializes a header body (everything the header tag covers).
#[allow(clippy::too_many_arguments)]
fn write_body(
    version: u8,
    suite: AlgorithmSuite,
    message_id: &[u8],
    stored_context: &EncryptionContext,
    edks: &[EncryptedDataKey],
    content_type: ContentType,
    frame_length: u32,
    commitment: Option<&[u8; COMMIT_LEN]>,
) -> Result<Vec<u8>> {
    let ec = stored_context.serialize()?;
    let mut b = Vec::with_capacity(128 + ec.len());
    b.push(version);
    if version == 1 {
        b.push(V1_TYPE);
    }
    b.extend_from_slice(&suite.id().to_be_bytes());
    b.extend_from_slice(message_id);
    // serialize() keeps the context within 65535 bytes.
    b.extend_from_slice(&(ec.len() as u16).to_be_bytes());
    b.extend_from_slice(&ec);
    let count = u16::try_from(edks.len())
        .map_err(|_| Error::bad_arg("more than 65535 encrypted data keys"))?;
    b.extend_from_slice(&count.to_be_bytes());
    for edk in edks {
        for (what, field) in [
            ("provider id", edk.provider_id.as_bytes()),
            ("provider info", &edk.provider_info[..]),
            ("encrypted data key", &edk.ciphertext[..]),
        ] {
            let len = u16::try_from(field.len())
                .map_err(|_| Error::bad_arg(format!("{what} longer than 65535 bytes")))?;
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(field);
        }
    }
    b.push(content_type.byte());
    if version == 1 {
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.push(IV_LEN as u8);
    }
    b.extend_from_slice(&frame_length.to_be_bytes());
    if let Some(c) = commitment {
        b.extend_from_slice(c);
    }
    Ok(b)
}
