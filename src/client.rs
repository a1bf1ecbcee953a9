//! The client: commitment policy and limits, and the one-shot builders.

use std::fmt;
use std::future::IntoFuture;
use std::mem::MaybeUninit;

use zeroize::Zeroize;

use crate::cmm::default::BorrowedDefault;
use crate::cmm::MaterialsManager;
use crate::context::EncryptionContext;
use crate::decrypt::{
    decrypt_message, prepare_message, DecryptSettings, Decrypted, PreparedDecryption,
};
use crate::encrypt::{
    body_len, check_framing, check_materials, checked_body_len, seal_all_into, Sealer,
    SignatureLength,
};
use crate::error::{Error, Result};
use crate::format::MessageHeader;
use crate::future::{block_on, BoxFuture};
use crate::keyring::Keyring;
use crate::materials::EncryptionRequest;
use crate::policy::CommitmentPolicy;
use crate::region::Region;
use crate::stream::{StreamDecryptBuilder, StreamEncryptBuilder};
use crate::suite::AlgorithmSuite;

/// Default frame length in bytes.
pub const DEFAULT_FRAME_LENGTH: u32 = 4096;

/// Holds the settings that apply to every message: the commitment policy and
/// the limits. Cheap to clone; share one per application.
///
/// ```
/// use kms_envelope::{Client, CommitmentPolicy};
/// let client = Client::builder()
///     .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
///     .max_encrypted_data_keys(3)
///     .build();
/// assert_eq!(client.commitment_policy(), CommitmentPolicy::RequireEncryptAllowDecrypt);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Client {
    commitment_policy: CommitmentPolicy,
    max_encrypted_data_keys: Option<u16>,
    max_body_size: Option<u64>,
    threads: Option<usize>,
}

/// Builds a [`Client`].
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    client: Client,
}

impl ClientBuilder {
    /// Sets the commitment policy (default: require commitment on both sides).
    pub fn commitment_policy(mut self, policy: CommitmentPolicy) -> Self {
        self.client.commitment_policy = policy;
        self
    }

    /// Limits the number of encrypted data keys a message may carry, on
    /// encrypt and on decrypt (checked while parsing, before any unwrap).
    /// Default: no limit beyond the format's 65535. Must be at least 1:
    /// with 0, every call fails with [`Error::BadArgument`].
    pub fn max_encrypted_data_keys(mut self, max: u16) -> Self {
        self.client.max_encrypted_data_keys = Some(max);
        self
    }

    /// Limits the plaintext length of a message body that decrypt accepts.
    pub fn max_body_size(mut self, max: u64) -> Self {
        self.client.max_body_size = Some(max);
        self
    }

    /// Sets how many threads encrypt and decrypt frames of large messages
    /// (default: the number of available cores; 1 keeps all work on the
    /// calling thread). Output bytes do not depend on it. 0 is refused, as
    /// a bad argument, by every call made with the client.
    pub fn threads(mut self, threads: usize) -> Self {
        self.client.threads = Some(threads);
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        self.client
    }
}

impl Client {
    /// A client with the defaults: policy `RequireEncryptRequireDecrypt`, no limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for a client with other settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The commitment policy.
    pub fn commitment_policy(&self) -> CommitmentPolicy {
        self.commitment_policy
    }

    /// The maximum number of encrypted data keys, if set.
    pub fn max_encrypted_data_keys(&self) -> Option<u16> {
        self.max_encrypted_data_keys
    }

    /// Threads used for the frames of large messages: as set (0 only if
    /// set so, which every call refuses), else the number of cores.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| crate::parallel::default_threads().max(1))
    }

    /// The maximum body size decrypt accepts, if set.
    pub fn max_body_size(&self) -> Option<u64> {
        self.max_body_size
    }

    /// Starts encrypting `plaintext`; set a keyring or materials manager, then
    /// call [`EncryptCall::run`] (blocking) or `.await` it.
    pub fn encrypt<'a>(&'a self, plaintext: &'a [u8]) -> EncryptCall<'a> {
        EncryptCall {
            client: self,
            plaintext: Plaintext::Bytes(plaintext),
            source: Chosen::none(),
            encryption_context: EncryptionContext::new(),
            algorithm_suite: None,
            frame_length: DEFAULT_FRAME_LENGTH,
        }
    }

    /// Starts an encryption whose frames the caller seals with its own
    /// AES-GCM (see [`crate::external`]): only the plaintext's length is
    /// known here. [`EncryptCall::prepare`] it, then
    /// [`PreparedEncryption::into_external`]; it cannot seal in the core.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub fn encrypt_external(&self, plaintext_len: usize) -> EncryptCall<'_> {
        EncryptCall {
            client: self,
            plaintext: Plaintext::Length(plaintext_len),
            source: Chosen::none(),
            encryption_context: EncryptionContext::new(),
            algorithm_suite: None,
            frame_length: DEFAULT_FRAME_LENGTH,
        }
    }

    /// Starts decrypting `ciphertext`; set a keyring or materials manager,
    /// then call [`DecryptCall::run`] (blocking) or `.await` it.
    pub fn decrypt<'a>(&'a self, ciphertext: &'a [u8]) -> DecryptCall<'a> {
        DecryptCall {
            client: self,
            ciphertext,
            source: Chosen::none(),
            reproduced: None,
        }
    }

    /// Refuses settings no message can satisfy.
    pub(crate) fn check_limits(&self) -> Result<()> {
        if self.max_encrypted_data_keys == Some(0) {
            return Err(Error::bad_arg("max_encrypted_data_keys must be at least 1"));
        }
        if self.threads == Some(0) {
            return Err(Error::bad_arg("threads must be at least 1"));
        }
        Ok(())
    }

    /// The materials request of an encryption (one-shot or streaming),
    /// once its arguments pass every check made before a keyring runs: the
    /// client's limits, the framing of `plaintext_length` (where known), no
    /// reserved context key, and the suite asked for under the policy.
    pub(crate) fn encryption_request(
        &self,
        frame_length: u32,
        plaintext_length: Option<u64>,
        context: EncryptionContext,
        suite: Option<AlgorithmSuite>,
    ) -> Result<EncryptionRequest> {
        self.check_limits()?;
        check_framing(frame_length, plaintext_length)?;
        context.check_no_reserved_keys()?;
        if let Some(suite) = suite {
            self.commitment_policy.check_encrypt(suite)?;
        }
        let mut request = EncryptionRequest::new(context, self.commitment_policy);
        request.algorithm_suite = suite;
        request.max_plaintext_length = plaintext_length;
        Ok(request)
    }

    /// Starts a streaming encryption; see [`crate::stream`].
    pub fn stream_encrypt(&self) -> StreamEncryptBuilder {
        StreamEncryptBuilder::new(self)
    }

    /// Starts a streaming decryption; see [`crate::stream`].
    pub fn stream_decrypt(&self) -> StreamDecryptBuilder {
        StreamDecryptBuilder::new(self)
    }

    pub(crate) fn decrypt_settings(
        &self,
        reproduced: Option<EncryptionContext>,
    ) -> DecryptSettings {
        DecryptSettings {
            policy: self.commitment_policy,
            max_edks: self.max_encrypted_data_keys,
            max_body_size: self.max_body_size,
            reproduced_context: reproduced,
            threads: self.threads(),
        }
    }
}

/// Where materials come from: a keyring (through the default manager) or a
/// materials manager.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Keyring(&'a dyn Keyring),
    Manager(&'a dyn MaterialsManager),
}

/// A call's keyring or materials manager, as its builder set it. The
/// specification (`client-apis/encrypt.md`, `decrypt.md`) takes exactly one
/// of the two: setting both fails when the call runs, while setting the same
/// one again replaces it, as builders do.
pub(crate) struct Chosen<S> {
    source: Option<S>,
    keyring: bool,
    manager: bool,
}

impl<S> Chosen<S> {
    pub(crate) const fn none() -> Self {
        Self {
            source: None,
            keyring: false,
            manager: false,
        }
    }

    pub(crate) fn keyring(&mut self, source: S) {
        self.keyring = true;
        self.source = Some(source);
    }

    pub(crate) fn manager(&mut self, source: S) {
        self.manager = true;
        self.source = Some(source);
    }

    /// The one source set.
    pub(crate) fn required(self) -> Result<S> {
        if self.keyring && self.manager {
            return Err(Error::bad_arg(
                "set a keyring or a materials manager, not both",
            ));
        }
        self.source
            .ok_or_else(|| Error::bad_arg("set a keyring or a materials manager"))
    }
}

impl<'a> Source<'a> {
    /// This source as a materials manager; a keyring is wrapped in the
    /// default manager, which lives in `slot`.
    pub(crate) fn manager<'s>(
        self,
        slot: &'s mut Option<BorrowedDefault<'a>>,
    ) -> &'s dyn MaterialsManager
    where
        'a: 's,
    {
        match self {
            Source::Keyring(k) => slot.insert(BorrowedDefault(k)),
            Source::Manager(m) => m,
        }
    }
}

/// What an encryption seals: the bytes, or (for a caller sealing the frames
/// itself) only their length.
#[derive(Clone, Copy)]
enum Plaintext<'a> {
    Bytes(&'a [u8]),
    #[cfg_attr(
        not(all(
            feature = "host-crypto",
            any(target_arch = "wasm32", feature = "rustcrypto")
        )),
        allow(dead_code)
    )]
    Length(usize),
}

impl<'a> Plaintext<'a> {
    fn len(&self) -> usize {
        match self {
            Plaintext::Bytes(b) => b.len(),
            Plaintext::Length(n) => *n,
        }
    }

    fn bytes(&self) -> Result<&'a [u8]> {
        match self {
            Plaintext::Bytes(b) => Ok(b),
            Plaintext::Length(_) => Err(Error::bad_arg(
                "this encryption was started for external sealing and has no plaintext",
            )),
        }
    }
}

/// A pending one-shot encryption. See [`Client::encrypt`].
#[must_use = "an EncryptCall does nothing until run() or .await"]
pub struct EncryptCall<'a> {
    client: &'a Client,
    plaintext: Plaintext<'a>,
    source: Chosen<Source<'a>>,
    encryption_context: EncryptionContext,
    algorithm_suite: Option<AlgorithmSuite>,
    frame_length: u32,
}

impl<'a> EncryptCall<'a> {
    /// Wraps the data key with `keyring` (through the default materials manager).
    pub fn keyring(mut self, keyring: &'a dyn Keyring) -> Self {
        self.source.keyring(Source::Keyring(keyring));
        self
    }

    /// Gets materials from `manager`.
    pub fn materials_manager(mut self, manager: &'a dyn MaterialsManager) -> Self {
        self.source.manager(Source::Manager(manager));
        self
    }

    /// Sets the encryption context (authenticated, not secret, stored in the
    /// message). Keys starting with `aws-crypto-` are refused.
    pub fn encryption_context(mut self, context: EncryptionContext) -> Self {
        self.encryption_context = context;
        self
    }

    /// Sets the algorithm suite (default: the commitment policy's default, `0x0578`).
    pub fn algorithm_suite(mut self, suite: AlgorithmSuite) -> Self {
        self.algorithm_suite = Some(suite);
        self
    }

    /// Sets the frame length in bytes, 1 to 2^32 - 1 (default 4096).
    ///
    /// The official Python ESDK reads frame lengths only up to 2^31 - 1;
    /// stay at or below that for messages it must read.
    pub fn frame_length(mut self, frame_length: u32) -> Self {
        self.frame_length = frame_length;
        self
    }

    /// Encrypts, blocking the current thread until the keyring is done.
    ///
    /// # Errors
    ///
    /// - [`Error::BadArgument`](crate::Error::BadArgument): no keyring or
    ///   manager, or both, a reserved `aws-crypto-` key in the context, a frame
    ///   length of 0, `threads(0)`, `max_encrypted_data_keys(0)`, materials
    ///   that break the manager's contract (no data key, a wrong key
    ///   length, no encrypted data key), a context key or value or a field
    ///   of an encrypted data key over 65,535 bytes, a message that would
    ///   need more than 2^32 - 1 frames or more bytes than the platform can
    ///   address, the system's random number generator failing.
    /// - [`Error::PolicyViolation`](crate::Error::PolicyViolation): a suite
    ///   the commitment policy forbids (the suite asked for, or the one
    ///   the manager chose: a manager may choose another), more encrypted data keys than
    ///   `max_encrypted_data_keys`, a required context key missing.
    /// - [`Error::Kms`](crate::Error::Kms): a key service or custom keyring
    ///   failed.
    pub fn run(self) -> Result<Vec<u8>> {
        block_on(self.run_async())
    }

    async fn run_async(self) -> Result<Vec<u8>> {
        self.prepare_async().await?.seal_to_vec()
    }

    /// Gets the materials, derives the keys and writes the header, blocking
    /// the current thread until the keyring is done, but encrypts nothing
    /// yet. The result knows the message's exact length, so you can provide
    /// the memory it is written into (see [`PreparedEncryption::seal_into`]).
    ///
    /// ```
    /// use kms_envelope::{Client, RawAesKeyring};
    /// # fn main() -> kms_envelope::Result<()> {
    /// let keyring = RawAesKeyring::new("ns", "key", &[7u8; 32])?;
    /// let client = Client::new();
    /// let prepared = client.encrypt(b"hello").keyring(&keyring).prepare()?;
    /// let mut message = vec![0u8; prepared.message_len()];
    /// prepared.seal_into(&mut message)?;
    /// let decrypted = client.decrypt(&message).keyring(&keyring).run()?;
    /// assert_eq!(decrypted.plaintext, b"hello");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::BadArgument`]: no keyring or manager, or both; a reserved
    ///   `aws-crypto-` key in the context; a frame length of 0; a client
    ///   built with `threads(0)` or `max_encrypted_data_keys(0)`; a header
    ///   the format cannot hold (a serialized context, or a field of an
    ///   encrypted data key, over 65,535 bytes; more than 65,535 encrypted
    ///   data keys); materials that break the keyring or manager contract
    ///   (no data key, a data key of the wrong length, no encrypted data
    ///   key, a signing key that does not match the suite); the system
    ///   random number generator failing.
    /// - [`Error::PolicyViolation`]: a suite the commitment policy forbids
    ///   (the one [set](Self::algorithm_suite), or the one the manager
    ///   chose: a manager may choose another); more encrypted data keys than
    ///   `max_encrypted_data_keys`; a required encryption-context key
    ///   missing from the context.
    /// - [`Error::Kms`]: a key service failed.
    ///
    /// An error of a custom keyring, materials manager or KMS client is
    /// passed on unchanged.
    pub fn prepare(self) -> Result<PreparedEncryption<'a>> {
        block_on(self.prepare_async())
    }

    /// [`EncryptCall::prepare`] for async callers: awaits the keyring.
    ///
    /// # Errors
    ///
    /// As [`EncryptCall::prepare`].
    pub async fn prepare_async(self) -> Result<PreparedEncryption<'a>> {
        let source = self.source.required()?;
        let request = self.client.encryption_request(
            self.frame_length,
            Some(self.plaintext.len() as u64),
            self.encryption_context,
            self.algorithm_suite,
        )?;
        let policy = self.client.commitment_policy;
        let mut slot = None;
        let materials = source
            .manager(&mut slot)
            .get_encryption_materials(request)
            .await?;
        // The materials' suite is the message's, even where the manager chose
        // another than the one asked for (`client-apis/encrypt.md`: it "MAY
        // be different"); check_materials holds it to the commitment policy.
        check_materials(&materials, policy, self.client.max_encrypted_data_keys)?;
        let mut header = Vec::with_capacity(1024 + 1024 * materials.encrypted_data_keys().len());
        let sealer = Sealer::start(
            &materials,
            self.frame_length,
            self.client.threads(),
            &mut header,
        )?;
        // Every length computed from here on fits in a usize.
        let footer = sealer
            .footer_len(SignatureLength::Any)
            .max(sealer.footer_len(SignatureLength::Fixed));
        checked_body_len(self.plaintext.len(), self.frame_length)
            .and_then(|body| body.checked_add(header.len())?.checked_add(footer))
            .ok_or_else(|| {
                Error::bad_arg(format!(
                    "a message of {} bytes in frames of {} bytes would be larger than \
                     this platform can address",
                    self.plaintext.len(),
                    self.frame_length
                ))
            })?;
        Ok(PreparedEncryption {
            header,
            sealer,
            plaintext: self.plaintext,
        })
    }
}

/// An encryption whose materials are ready and whose header is written:
/// what is left is the frames and the signature. Made by
/// [`EncryptCall::prepare`].
///
/// Its [`message_len`](Self::message_len) is exact: signed suites sign
/// again (with a fresh nonce) until the DER signature has a fixed length,
/// one byte under the longest, which about half of all signatures have.
#[must_use = "a PreparedEncryption does nothing until seal_into()"]
pub struct PreparedEncryption<'a> {
    header: Vec<u8>,
    sealer: Sealer,
    plaintext: Plaintext<'a>,
}

impl PreparedEncryption<'_> {
    /// The plaintext's length.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn plaintext_len(&self) -> usize {
        self.plaintext.len()
    }

    /// The header and the sealer.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn into_parts(self) -> (Vec<u8>, Sealer) {
        (self.header, self.sealer)
    }

    /// The message's header, as it will be written: suite, message ID,
    /// the stored context, the encrypted data keys, the frame length.
    pub fn header(&self) -> &MessageHeader {
        self.sealer.header()
    }

    /// The message's algorithm suite.
    pub fn algorithm_suite(&self) -> AlgorithmSuite {
        self.sealer.header().algorithm_suite
    }

    /// The whole encryption context the message is bound to: the pairs the
    /// header stores (with `aws-crypto-public-key` on signing suites) and
    /// the required pairs that are authenticated but not stored, which a
    /// decrypting caller must supply.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use kms_envelope::{Client, EncryptionContext, RawAesKeyring, RequiredEncryptionContextMaterialsManager};
    /// let keyring = Arc::new(RawAesKeyring::new("ns", "k", &[9; 32])?);
    /// let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(keyring, ["tenant"])?;
    /// let ec = EncryptionContext::from_iter([("tenant", "acme"), ("purpose", "demo")]);
    /// let client = Client::new();
    /// let prepared = client.encrypt(b"data").materials_manager(&cmm).encryption_context(ec).prepare()?;
    /// assert_eq!(prepared.encryption_context().get("tenant"), Some("acme"));
    /// assert!(prepared.encryption_context().contains_key(kms_envelope::PUBLIC_KEY_FIELD));
    /// // The header stores all but the required pair.
    /// assert_eq!(prepared.header().encryption_context.get("tenant"), None);
    /// let mut message = vec![0; prepared.message_len()];
    /// prepared.seal_into(&mut message)?;
    /// # Ok::<(), kms_envelope::Error>(())
    /// ```
    pub fn encryption_context(&self) -> &EncryptionContext {
        self.sealer.context()
    }

    /// The exact length of the message [`seal_into`](Self::seal_into) writes.
    pub fn message_len(&self) -> usize {
        self.header.len() + self.body_len() + self.sealer.footer_len(SignatureLength::Fixed)
    }

    /// Encrypts into `out`, which must be exactly
    /// [`message_len`](Self::message_len) bytes long. Frames are written in
    /// place, by the client's worker threads for large messages, so the
    /// message is never copied. On error `out` is zeroed (a frame that
    /// failed to seal may have held plaintext), unless it had the wrong
    /// length (then nothing was written to it).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `out` is not
    /// [`message_len`](Self::message_len) bytes long; if the plaintext
    /// needs more than 2^32 - 1 frames at this frame length; if the
    /// encryption was started with `Client::encrypt_external` (it has no
    /// plaintext); or if AES-GCM or the ECDSA signature fails (a signing
    /// key held by a `host-crypto` host always does here: it cannot sign
    /// to a fixed length).
    pub fn seal_into(self, out: &mut [u8]) -> Result<()> {
        self.seal_region(Region::Init(out))
    }

    /// [`seal_into`](Self::seal_into) for memory that need not be
    /// initialized (a buffer fresh from an allocator, another language's
    /// string): the worker threads initialize each part of it as they write
    /// it, so the calling thread only hashes. On `Ok` every byte of `out`
    /// holds the message; on `Err` every byte is initialized to zero.
    ///
    /// # Errors
    ///
    /// As [`seal_into`](Self::seal_into).
    pub fn seal_into_uninit(self, out: &mut [MaybeUninit<u8>]) -> Result<()> {
        self.seal_region(Region::Uninit(out))
    }

    fn seal_region(self, mut out: Region<'_>) -> Result<()> {
        out.expect_len(self.message_len(), "message")?;
        if let Err(e) = self.write(out.reborrow(), SignatureLength::Fixed) {
            // Whatever was written (a frame that failed may hold plaintext),
            // and whatever was not, is zeroed.
            out.wipe();
            return Err(e);
        }
        Ok(())
    }

    /// Encrypts into a new vector. The vector starts as zeroed memory that
    /// the allocator has not touched (large blocks come straight from the
    /// kernel), so its pages are first touched by the threads that write the
    /// frames, not by the calling thread. The signature keeps its natural
    /// length (no re-signing), so the last byte or two may be trimmed.
    fn seal_to_vec(self) -> Result<Vec<u8>> {
        let max =
            self.header.len() + self.body_len() + self.sealer.footer_len(SignatureLength::Any);
        let mut out = vec![0u8; max];
        let used = self
            .write(Region::Init(&mut out), SignatureLength::Any)
            .inspect_err(|_| out.zeroize())?;
        out.truncate(used);
        Ok(out)
    }

    fn body_len(&self) -> usize {
        body_len(self.plaintext.len(), self.sealer.frame_length())
    }

    /// Writes the message at the front of `out` (at least as long as the
    /// message with the longest footer `length` allows); returns its length.
    fn write(mut self, out: Region<'_>, length: SignatureLength) -> Result<usize> {
        let too_small = || Error::bad_arg("the output buffer is smaller than the message");
        let body = self.body_len();
        let header = self.header.len();
        let (head, rest) = out.split_at(header).ok_or_else(too_small)?;
        head.fill(&self.header)?;
        let (frames, footer) = rest.split_at(body).ok_or_else(too_small)?;
        seal_all_into(&mut self.sealer, self.plaintext.bytes()?, frames)?;
        let footer = self.sealer.finish_into(footer.into_zeroed(), length)?;
        Ok(header + body + footer)
    }
}

impl fmt::Debug for PreparedEncryption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedEncryption")
            .field("message_len", &self.message_len())
            .field("plaintext_len", &self.plaintext.len())
            .finish_non_exhaustive()
    }
}

impl<'a> IntoFuture for EncryptCall<'a> {
    type Output = Result<Vec<u8>>;
    type IntoFuture = BoxFuture<'a, Result<Vec<u8>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run_async())
    }
}

/// A pending one-shot decryption. See [`Client::decrypt`].
#[must_use = "a DecryptCall does nothing until run() or .await"]
pub struct DecryptCall<'a> {
    client: &'a Client,
    ciphertext: &'a [u8],
    source: Chosen<Source<'a>>,
    reproduced: Option<EncryptionContext>,
}

impl<'a> DecryptCall<'a> {
    /// Unwraps the data key with `keyring` (through the default materials manager).
    pub fn keyring(mut self, keyring: &'a dyn Keyring) -> Self {
        self.source.keyring(Source::Keyring(keyring));
        self
    }

    /// Gets materials from `manager`.
    pub fn materials_manager(mut self, manager: &'a dyn MaterialsManager) -> Self {
        self.source.manager(Source::Manager(manager));
        self
    }

    /// The encryption context the caller expects (the "reproduced" context):
    /// every pair must match the message's, and pairs the writer only
    /// authenticated (required-context managers) must be given here.
    pub fn encryption_context(mut self, context: EncryptionContext) -> Self {
        self.reproduced = Some(context);
        self
    }

    /// Decrypts, blocking the current thread until the keyring is done.
    /// Nothing is returned unless the whole message authenticated.
    ///
    /// # Errors
    ///
    /// - [`Error::MalformedMessage`](crate::Error::MalformedMessage): not a
    ///   message, truncated, bytes after its end, an unknown suite.
    /// - [`Error::AuthenticationFailed`](crate::Error::AuthenticationFailed):
    ///   a tag, the key commitment or the signature did not verify.
    /// - [`Error::NoKeyUnwrapped`](crate::Error::NoKeyUnwrapped): no keyring
    ///   could unwrap a data key (the reasons say why for each).
    /// - [`Error::PolicyViolation`](crate::Error::PolicyViolation): the
    ///   commitment policy, `max_encrypted_data_keys`, `max_body_size`, or a
    ///   reproduced context that does not match.
    /// - [`Error::Kms`](crate::Error::Kms): a custom keyring or materials
    ///   manager failed with it (this crate's KMS keyrings report a
    ///   service's refusals and failures as `NoKeyUnwrapped` reasons, and
    ///   go on to the next key).
    /// - [`Error::BadArgument`](crate::Error::BadArgument): no keyring or
    ///   manager (or both), `threads(0)`, `max_encrypted_data_keys(0)`, or materials
    ///   that break the manager's contract.
    pub fn run(self) -> Result<Decrypted> {
        block_on(self.run_async())
    }

    async fn run_async(self) -> Result<Decrypted> {
        let source = self.source.required()?;
        self.client.check_limits()?;
        let settings = self.client.decrypt_settings(self.reproduced);
        let mut slot = None;
        decrypt_message(self.ciphertext, source.manager(&mut slot), &settings).await
    }

    /// Reads and authenticates the header and unwraps the data key,
    /// blocking the current thread until the keyring is done, but decrypts
    /// nothing yet. The result knows the plaintext's exact length, so you
    /// can provide the memory it is written into (see
    /// [`PreparedDecryption::open_into`]).
    ///
    /// ```
    /// use kms_envelope::{Client, RawAesKeyring};
    /// # fn main() -> kms_envelope::Result<()> {
    /// let keyring = RawAesKeyring::new("ns", "key", &[7u8; 32])?;
    /// let client = Client::new();
    /// let message = client.encrypt(b"hello").keyring(&keyring).run()?;
    /// let prepared = client.decrypt(&message).keyring(&keyring).prepare()?;
    /// let mut plaintext = vec![0u8; prepared.plaintext_len()];
    /// let opened = prepared.open_into(&mut plaintext)?;
    /// assert_eq!(plaintext, b"hello");
    /// assert_eq!(opened.algorithm_suite().id(), 0x0578);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The failures of [`DecryptCall::run`] that the header and the data
    /// key show (the body is not read yet: its failures come from
    /// [`PreparedDecryption::open_into`]):
    ///
    /// - [`Error::MalformedMessage`]: the header is malformed or truncated
    ///   (an unknown version or suite, a bad length, no encrypted data key,
    ///   base64 instead of binary); its context holds no valid
    ///   verification key for a signing suite, or one for an unsigned
    ///   suite; an `aws-kms` encrypted data key names no KMS key ARN (the
    ///   AWS KMS keyrings).
    /// - [`Error::AuthenticationFailed`]: the key commitment
    ///   ([`AuthFailure::Commitment`](crate::AuthFailure::Commitment)) or
    ///   the header tag ([`AuthFailure::Header`](crate::AuthFailure::Header))
    ///   does not verify.
    /// - [`Error::NoKeyUnwrapped`]: no keyring could unwrap a data key;
    ///   the failures of a key service are among its reasons.
    /// - [`Error::PolicyViolation`]: a suite the commitment policy forbids,
    ///   more encrypted data keys than `max_encrypted_data_keys`, a
    ///   reproduced context that does not match the message's or lacks a
    ///   required key, materials for another suite than the message's.
    /// - [`Error::BadArgument`]: no keyring or manager (or both), a client built with
    ///   `threads(0)` or `max_encrypted_data_keys(0)`, or materials that
    ///   break the keyring or manager contract.
    ///
    /// An error of a custom keyring or materials manager is passed on
    /// unchanged.
    pub fn prepare(self) -> Result<PreparedDecryption<'a>> {
        block_on(self.prepare_async())
    }

    /// [`DecryptCall::prepare`] for async callers: awaits the keyring.
    ///
    /// # Errors
    ///
    /// As [`DecryptCall::prepare`].
    pub async fn prepare_async(self) -> Result<PreparedDecryption<'a>> {
        let source = self.source.required()?;
        self.client.check_limits()?;
        let settings = self.client.decrypt_settings(self.reproduced);
        let mut slot = None;
        prepare_message(self.ciphertext, source.manager(&mut slot), &settings).await
    }
}

impl<'a> IntoFuture for DecryptCall<'a> {
    type Output = Result<Decrypted>;
    type IntoFuture = BoxFuture<'a, Result<Decrypted>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run_async())
    }
}
