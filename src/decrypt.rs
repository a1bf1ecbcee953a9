//! Reading messages: header authentication, frames, footer.

use std::mem::MaybeUninit;
use std::sync::Arc;

use zeroize::Zeroize;

use crate::cmm::MaterialsManager;
use crate::context::EncryptionContext;
use crate::crypto::{AesGcmKey, EcdsaVerifyingKey, Hasher};
use crate::derive::{check_commitment, derive_keys};
use crate::encrypt::split_context;
use crate::error::{AuthFailure, Error, Result};
use crate::format::body::{BodyAad, FrameRef};
use crate::format::header::MessageHeader;
use crate::materials::{DecryptionMaterials, DecryptionRequest};
use crate::policy::CommitmentPolicy;
use crate::region::Region;
use crate::stream::sink::{Sink, SliceSink};
use crate::stream::MessageDecryptor;
use crate::stream::SignedRelease;

/// Settings for reading one message.
#[derive(Debug, Clone)]
pub(crate) struct DecryptSettings {
    pub(crate) policy: CommitmentPolicy,
    pub(crate) max_edks: Option<u16>,
    pub(crate) max_body_size: Option<u64>,
    pub(crate) reproduced_context: Option<EncryptionContext>,
    pub(crate) threads: usize,
}

/// Opens one message once its header is authenticated: holds the content
/// key, the expected sequence number and the running signature hash.
pub(crate) struct Opener {
    pub(crate) header: MessageHeader,
    pub(crate) materials: DecryptionMaterials,
    key: AesGcmKey,
    pub(crate) next_seq: u32,
    verifier: Option<(Hasher, Arc<EcdsaVerifyingKey>)>,
    /// The content key's bytes, for [`crate::external`].
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) raw_key: zeroize::Zeroizing<Vec<u8>>,
}

impl Opener {
    /// Gets materials for `header`, checks the commitment and the header
    /// tag. `header_bytes` are the header exactly as received.
    pub(crate) async fn start(
        header: MessageHeader,
        header_bytes: &[u8],
        cmm: &dyn MaterialsManager,
        settings: &DecryptSettings,
    ) -> Result<Self> {
        let suite = header.algorithm_suite;
        settings.policy.check_decrypt(suite)?;
        let request = DecryptionRequest::new(
            suite,
            settings.policy,
            header.encrypted_data_keys.clone(),
            header.encryption_context.clone(),
            settings.reproduced_context.clone(),
        );
        let mut materials = cmm.decrypt_materials(request).await?;
        materials.keep_authenticated_context(&header.encryption_context)?;
        if materials.algorithm_suite() != suite {
            return Err(Error::policy(
                "decryption materials are for a different algorithm suite",
            ));
        }
        settings.policy.check_decrypt(materials.algorithm_suite())?;
        let data_key = materials.plaintext_data_key().ok_or_else(|| {
            Error::NoKeyUnwrapped(vec!["no data key in decryption materials".into()])
        })?;
        let keys = derive_keys(suite, data_key.as_bytes(), &header.message_id)?;
        check_commitment(header.commitment.as_ref(), &keys)?;
        let (_, required) = split_context(
            materials.encryption_context(),
            materials.required_encryption_context_keys(),
        );
        let mut aad = header.body_bytes().to_vec();
        aad.extend_from_slice(&required.serialize()?);
        keys.content
            .open_in_place(&header.header_iv, &aad, &mut [], &header.auth_tag)
            .map_err(|_| Error::AuthenticationFailed(AuthFailure::Header))?;
        let verifier = match (suite.signature_curve(), &materials.verification_key) {
            (Some(_), Some(key)) => {
                let mut h = key.hasher();
                h.update(header_bytes);
                Some((h, Arc::clone(key)))
            }
            (None, None) => None,
            // A materials manager's contract, not the message's fault.
            _ => {
                return Err(Error::bad_arg(
                    "decryption materials' verification key does not match the suite",
                ))
            }
        };
        Ok(Self {
            header,
            materials,
            key: keys.content,
            next_seq: 1,
            verifier,
            #[cfg(all(
                feature = "host-crypto",
                any(target_arch = "wasm32", feature = "rustcrypto")
            ))]
            raw_key: keys.raw_content,
        })
    }

    /// Appends the plaintext of `frame` to `sink`. `raw` are the frame's
    /// bytes as received, for the signature. On failure `sink` is unchanged.
    pub(crate) fn open_frame_into(
        &mut self,
        frame: &FrameRef<'_>,
        raw: &[u8],
        sink: &mut dyn Sink,
    ) -> Result<()> {
        let start = sink.len();
        let buf = sink.append(frame.ciphertext)?;
        if let Err(e) = open_in_place(&self.key, &self.header.message_id, frame, buf) {
            sink.wipe_from(start);
            return Err(e);
        }
        self.next_seq = self.next_seq.wrapping_add(1);
        self.hash(raw);
        Ok(())
    }

    /// The content key and message ID (for opening frames on other threads)
    /// and the signature hash, borrowed together.
    pub(crate) fn parts(&mut self) -> (&AesGcmKey, &[u8], Option<&mut Hasher>) {
        (
            &self.key,
            &self.header.message_id,
            self.verifier.as_mut().map(|(h, _)| h),
        )
    }

    /// Feeds body bytes to the signature hash.
    pub(crate) fn hash(&mut self, bytes: &[u8]) {
        if let Some((h, _)) = &mut self.verifier {
            h.update(bytes);
        }
    }

    /// The signature check, without the running hash (for a caller that
    /// hashes the message itself).
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn verifying_key(&self) -> Option<&Arc<EcdsaVerifyingKey>> {
        self.verifier.as_ref().map(|(_, key)| key)
    }

    /// Whether the message carries a footer.
    pub(crate) fn is_signed(&self) -> bool {
        self.verifier.is_some()
    }

    /// Verifies the footer signature.
    pub(crate) fn verify(&mut self, signature: &[u8]) -> Result<()> {
        match self.verifier.take() {
            Some((h, key)) => key
                .verify(h, signature)
                .map_err(|_| Error::AuthenticationFailed(AuthFailure::Signature)),
            None => Ok(()),
        }
    }
}

/// Decrypts one frame into `out` (exactly as long as its ciphertext, and
/// possibly uninitialized); on failure `out` is wiped.
pub(crate) fn open_frame(
    key: &AesGcmKey,
    message_id: &[u8],
    frame: &FrameRef<'_>,
    out: Region<'_>,
) -> Result<()> {
    let buf = out.fill(frame.ciphertext)?;
    open_in_place(key, message_id, frame, buf)
}

/// Decrypts `buf`, which holds a copy of `frame`'s ciphertext, in place; on
/// failure `buf` is wiped.
pub(crate) fn open_in_place(
    key: &AesGcmKey,
    message_id: &[u8],
    frame: &FrameRef<'_>,
    buf: &mut [u8],
) -> Result<()> {
    let aad = BodyAad::new(
        message_id,
        frame.kind,
        frame.seq,
        frame.ciphertext.len() as u64,
    )?;
    if key
        .open_in_place(&frame.iv, aad.as_bytes(), buf, &frame.tag)
        .is_err()
    {
        buf.zeroize();
        return Err(Error::AuthenticationFailed(AuthFailure::Body));
    }
    Ok(())
}

/// The result of a successful decrypt.
#[derive(Clone)]
#[non_exhaustive]
pub struct Decrypted {
    /// The authenticated plaintext.
    pub plaintext: Vec<u8>,
    /// The encryption context: the header's pairs plus the reproduced pairs
    /// that were authenticated but not stored.
    pub encryption_context: EncryptionContext,
    /// The message header.
    pub header: MessageHeader,
}

impl Decrypted {
    /// The message's algorithm suite.
    pub fn algorithm_suite(&self) -> crate::AlgorithmSuite {
        self.header.algorithm_suite
    }

    /// The message's encrypted data keys.
    pub fn encrypted_data_keys(&self) -> &[crate::EncryptedDataKey] {
        &self.header.encrypted_data_keys
    }
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("encryption_context", &self.encryption_context)
            .field("header", &self.header)
            .finish()
    }
}

/// A decryption whose header is authenticated and whose data key is
/// unwrapped: what is left is the body and the signature. Made by
/// [`DecryptCall::prepare`](crate::DecryptCall::prepare).
///
/// It knows the plaintext's exact length from the frame headers, so the
/// caller can provide the memory the plaintext is written into.
#[must_use = "a PreparedDecryption does nothing until open_into()"]
pub struct PreparedDecryption<'a> {
    pub(crate) reader: MessageDecryptor,
    pub(crate) body: &'a [u8],
    pub(crate) header_len: usize,
    plaintext_len: usize,
    suite: crate::AlgorithmSuite,
}

impl PreparedDecryption<'_> {
    /// The exact length of the plaintext [`open_into`](Self::open_into)
    /// writes. For a malformed message, the length up to the first frame
    /// that does not parse; `open_into` then fails there.
    pub fn plaintext_len(&self) -> usize {
        self.plaintext_len
    }

    /// The message's algorithm suite (its header is authenticated).
    pub fn algorithm_suite(&self) -> crate::AlgorithmSuite {
        self.suite
    }

    /// Decrypts into `out`, which must be exactly
    /// [`plaintext_len`](Self::plaintext_len) bytes long, and verifies the
    /// signature. All or nothing: frames are opened in place (by the
    /// client's worker threads for large messages), and on any error `out`
    /// is zeroed, so unauthenticated plaintext is never left behind (a
    /// buffer of the wrong length is refused untouched).
    ///
    /// # Errors
    ///
    /// - [`Error::BadArgument`]: `out` is not
    ///   [`plaintext_len`](Self::plaintext_len) bytes long.
    /// - [`Error::MalformedMessage`]: a frame or the footer is malformed,
    ///   the message is truncated, or bytes follow its end.
    /// - [`Error::AuthenticationFailed`]: a frame's tag
    ///   ([`AuthFailure::Body`]) or the signature
    ///   ([`AuthFailure::Signature`]) does not verify.
    /// - [`Error::PolicyViolation`]: the body is longer than the client's
    ///   `max_body_size`.
    pub fn open_into(self, out: &mut [u8]) -> Result<OpenedMessage> {
        self.open(Region::Init(out))
    }

    /// [`open_into`](Self::open_into) for memory that need not be
    /// initialized (a buffer fresh from an allocator, another language's
    /// string): each frame's bytes are written before they are decrypted in
    /// place. On `Ok` every byte of `out` is initialized with the
    /// plaintext; on `Err` every byte is initialized to zero.
    ///
    /// # Errors
    ///
    /// As [`open_into`](Self::open_into).
    pub fn open_into_uninit(self, out: &mut [MaybeUninit<u8>]) -> Result<OpenedMessage> {
        self.open(Region::Uninit(out))
    }

    fn open(mut self, mut out: Region<'_>) -> Result<OpenedMessage> {
        out.expect_len(self.plaintext_len, "plaintext")?;
        let mut sink = SliceSink::new(out);
        let result = self
            .reader
            .update_body(self.body, &mut sink)
            .and_then(|()| self.reader.finish())
            .and_then(|()| {
                if sink.is_full() {
                    Ok(())
                } else {
                    Err(Error::malformed("message is truncated"))
                }
            });
        if let Err(e) = result {
            sink.wipe_from(0);
            return Err(e);
        }
        let (header, encryption_context) = self
            .reader
            .into_done()
            .ok_or_else(|| Error::malformed("message is truncated"))?;
        Ok(OpenedMessage {
            encryption_context,
            header,
        })
    }
}

impl std::fmt::Debug for PreparedDecryption<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedDecryption")
            .field("header_len", &self.header_len)
            .field("plaintext_len", &self.plaintext_len)
            .finish_non_exhaustive()
    }
}

/// What [`PreparedDecryption::open_into`] returns besides the plaintext.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OpenedMessage {
    /// The encryption context: the header's pairs plus the reproduced pairs
    /// that were authenticated but not stored.
    pub encryption_context: EncryptionContext,
    /// The message header.
    pub header: MessageHeader,
}

impl OpenedMessage {
    /// The message's algorithm suite.
    pub fn algorithm_suite(&self) -> crate::AlgorithmSuite {
        self.header.algorithm_suite
    }
}

/// Reads and authenticates the header of `message` and unwraps its data
/// key; the body waits in the result.
pub(crate) async fn prepare_message<'a>(
    message: &'a [u8],
    cmm: &dyn MaterialsManager,
    settings: &DecryptSettings,
) -> Result<PreparedDecryption<'a>> {
    let mut reader =
        MessageDecryptor::new(settings.clone(), SignedRelease::Frames, u64::MAX, u64::MAX);
    let header_len = reader.read_header(cmm, message).await?;
    let body = message.get(header_len..).unwrap_or_default();
    let plaintext_len = reader.plaintext_len(body);
    let suite = reader
        .header()
        .map(|h| h.algorithm_suite)
        .ok_or_else(|| Error::bad_arg("the header has not been read"))?;
    Ok(PreparedDecryption {
        reader,
        body,
        header_len,
        plaintext_len,
        suite,
    })
}

/// One-shot decrypt: all or nothing. The plaintext goes into zeroed memory
/// the allocator has not touched (large blocks come straight from the
/// kernel), so its pages are first touched by the threads that decrypt the
/// frames; it is returned only once the signature verified.
pub(crate) async fn decrypt_message(
    message: &[u8],
    cmm: &dyn MaterialsManager,
    settings: &DecryptSettings,
) -> Result<Decrypted> {
    let prepared = prepare_message(message, cmm, settings).await?;
    let mut plaintext = vec![0u8; prepared.plaintext_len()];
    let opened = prepared.open_into(&mut plaintext)?;
    Ok(Decrypted {
        plaintext,
        encryption_context: opened.encryption_context,
        header: opened.header,
    })
}
