//! The incremental encryptor.

use std::future::IntoFuture;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::client::{Chosen, Client, DEFAULT_FRAME_LENGTH};
use crate::cmm::MaterialsManager;
use crate::context::EncryptionContext;
use crate::encrypt::{check_materials, Sealer};
use crate::error::{Error, Result};
use crate::format::MessageHeader;
use crate::future::{block_on, BoxFuture};
use crate::keyring::Keyring;
use crate::stream::{sink, SharedSource};
use crate::suite::AlgorithmSuite;

/// Configures a [`StreamEncryptor`]. See [`Client::stream_encrypt`].
#[must_use = "call start() or .await to get the encryptor"]
pub struct StreamEncryptBuilder {
    client: Client,
    source: Chosen<SharedSource>,
    encryption_context: EncryptionContext,
    algorithm_suite: Option<AlgorithmSuite>,
    frame_length: u32,
    plaintext_length: Option<u64>,
}

impl StreamEncryptBuilder {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            source: Chosen::none(),
            encryption_context: EncryptionContext::new(),
            algorithm_suite: None,
            frame_length: DEFAULT_FRAME_LENGTH,
            plaintext_length: None,
        }
    }

    /// Wraps the data key with `keyring` (through the default materials manager).
    pub fn keyring(mut self, keyring: Arc<dyn Keyring>) -> Self {
        self.source.keyring(SharedSource::Keyring(keyring));
        self
    }

    /// Gets materials from `manager`.
    pub fn materials_manager(mut self, manager: Arc<dyn MaterialsManager>) -> Self {
        self.source.manager(SharedSource::Manager(manager));
        self
    }

    /// Sets the encryption context.
    pub fn encryption_context(mut self, context: EncryptionContext) -> Self {
        self.encryption_context = context;
        self
    }

    /// Sets the algorithm suite.
    pub fn algorithm_suite(mut self, suite: AlgorithmSuite) -> Self {
        self.algorithm_suite = Some(suite);
        self
    }

    /// Sets the frame length (default 4096).
    pub fn frame_length(mut self, frame_length: u32) -> Self {
        self.frame_length = frame_length;
        self
    }

    /// Declares the exact plaintext length, if known. The materials manager
    /// sees it, and the encryptor fails at once if more arrives (or at
    /// `finish` if less did).
    pub fn plaintext_length(mut self, length: u64) -> Self {
        self.plaintext_length = Some(length);
        self
    }

    /// Gets the materials and writes the header, blocking until the keyring
    /// is done.
    ///
    /// # Errors
    ///
    /// As [`EncryptCall::prepare`](crate::EncryptCall::prepare). Awaiting
    /// the builder fails the same way.
    pub fn start(self) -> Result<StreamEncryptor> {
        block_on(self.start_async())
    }

    async fn start_async(self) -> Result<StreamEncryptor> {
        let manager = self.source.required()?.into_manager();
        let request = self.client.encryption_request(
            self.frame_length,
            self.plaintext_length,
            self.encryption_context,
            self.algorithm_suite,
        )?;
        let policy = self.client.commitment_policy();
        let materials = manager.get_encryption_materials(request).await?;
        // As in one-shot encryption, the materials' suite is the message's.
        check_materials(&materials, policy, self.client.max_encrypted_data_keys())?;
        let mut header = Vec::new();
        let sealer = Sealer::start(
            &materials,
            self.frame_length,
            self.client.threads(),
            &mut header,
        )?;
        Ok(StreamEncryptor::new(sealer, header, self.plaintext_length))
    }
}

impl IntoFuture for StreamEncryptBuilder {
    type Output = Result<StreamEncryptor>;
    type IntoFuture = BoxFuture<'static, Result<StreamEncryptor>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.start_async())
    }
}

/// Encrypts a message piece by piece. Holds at most one frame of plaintext.
///
/// ```
/// use std::sync::Arc;
/// use kms_envelope::{Client, RawAesKeyring};
/// let keyring = Arc::new(RawAesKeyring::new("ns", "k", &[1; 32])?);
/// let client = Client::new();
/// let mut enc = client.stream_encrypt().keyring(keyring.clone()).frame_length(1024).start()?;
/// let mut ciphertext = Vec::new();
/// for chunk in [&b"hello "[..], b"streaming ", b"world"] {
///     enc.update(chunk, &mut ciphertext)?;
/// }
/// enc.finish(&mut ciphertext)?;
/// let out = client.decrypt(&ciphertext).keyring(&*keyring).run()?;
/// assert_eq!(out.plaintext, b"hello streaming world");
/// # Ok::<(), kms_envelope::Error>(())
/// ```
pub struct StreamEncryptor {
    sealer: Option<Sealer>,
    header: Vec<u8>,
    /// The header as written, and the materials' whole context.
    written: Box<(MessageHeader, EncryptionContext)>,
    pending: Zeroizing<Vec<u8>>,
    frame_length: usize,
    total: u64,
    expected: Option<u64>,
}

impl StreamEncryptor {
    pub(crate) fn new(sealer: Sealer, header: Vec<u8>, expected: Option<u64>) -> Self {
        let frame_length = sealer.frame_length() as usize;
        Self {
            written: Box::new((sealer.header().clone(), sealer.context().clone())),
            sealer: Some(sealer),
            header,
            pending: Zeroizing::new(Vec::with_capacity(frame_length.min(1 << 20))),
            frame_length,
            total: 0,
            expected,
        }
    }

    /// The message's algorithm suite.
    pub fn algorithm_suite(&self) -> AlgorithmSuite {
        self.written.0.algorithm_suite
    }

    /// The message's header, as it is written: suite, message ID, the
    /// stored context, the encrypted data keys, the frame length.
    pub fn header(&self) -> &MessageHeader {
        &self.written.0
    }

    /// The whole encryption context the message is bound to: the pairs the
    /// header stores and the required pairs that are authenticated but not
    /// stored (see [`PreparedEncryption::encryption_context`](crate::PreparedEncryption::encryption_context)).
    pub fn encryption_context(&self) -> &EncryptionContext {
        &self.written.1
    }

    /// Encrypts `input`, appending every completed piece of the message
    /// (the header first) to `out`.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`](crate::Error::BadArgument) once the encryptor
    /// finished or failed, or when the input outgrows the declared
    /// plaintext length or 2^32 - 1 frames.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let Some(sealer) = self.sealer.as_mut() else {
            return Err(Error::bad_arg("the encryptor is finished or failed"));
        };
        self.total += input.len() as u64;
        if let Some(expected) = self.expected {
            if self.total > expected {
                self.sealer = None;
                return Err(Error::bad_arg(format!(
                    "more plaintext than the declared length of {expected} bytes"
                )));
            }
        }
        out.append(&mut self.header);
        let fl = self.frame_length;
        let result = (|| {
            if !self.pending.is_empty() {
                let take = (fl - self.pending.len()).min(input.len());
                sink::reserve_wiping(&mut self.pending, take)?;
                self.pending.extend_from_slice(&input[..take]);
                input = &input[take..];
                if self.pending.len() == fl && !input.is_empty() {
                    sealer.seal_frame(&self.pending, false, out)?;
                    self.pending.clear();
                }
            }
            // Whole frames straight from the input; keep the last piece, which
            // may turn out to be the final frame.
            if input.len() > fl {
                let (frames, rest) = input.split_at((input.len() - 1) / fl * fl);
                sealer.seal_regular_frames(frames, out)?;
                input = rest;
            }
            sink::reserve_wiping(&mut self.pending, input.len())?;
            self.pending.extend_from_slice(input);
            Ok(())
        })();
        if result.is_err() {
            self.sealer = None;
        }
        result
    }

    /// Hands the frames to the caller's AES-GCM (see
    /// [`ExternalStreamSeal`](crate::external::ExternalStreamSeal)). Only
    /// before the first [`update`](Self::update).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] once [`update`](Self::update) or
    /// [`finish`](Self::finish) has been called.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub fn into_external(mut self) -> Result<crate::external::ExternalStreamSeal> {
        let sealer = self
            .sealer
            .take()
            .filter(|_| self.total == 0 && !self.header.is_empty())
            .ok_or_else(|| Error::bad_arg("the encryptor has already started"))?;
        Ok(crate::external::ExternalStreamSeal::new(
            sealer,
            std::mem::take(&mut self.header),
            self.expected,
        ))
    }

    /// Writes the final frame and the footer. The encryptor cannot be used
    /// afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`](crate::Error::BadArgument) if it finished or
    /// failed already, or the input fell short of the declared plaintext
    /// length.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let Some(mut sealer) = self.sealer.take() else {
            return Err(Error::bad_arg("the encryptor is finished or failed"));
        };
        if let Some(expected) = self.expected {
            if self.total != expected {
                return Err(Error::bad_arg(format!(
                    "got {} bytes of plaintext, but {expected} were declared",
                    self.total
                )));
            }
        }
        out.append(&mut self.header);
        sealer.seal_frame(&self.pending, true, out)?;
        self.pending.clear();
        sealer.finish(out)
    }
}
