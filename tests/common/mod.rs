//! Helpers shared by the integration tests: keys, test-only keyrings, an
//! independent parser of the message body layout, and a hand-built message
//! writer for the forms our encryptor never emits.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kms_envelope::future::BoxFuture;
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, DataKey, DecryptionMaterials, DecryptionRequest,
    DefaultMaterialsManager, EncryptedDataKey, EncryptionContext, EncryptionMaterials,
    EncryptionRequest, Error, ErrorKind, Keyring, MaterialsManager, MessageHeader, RawAesKeyring,
    RawRsaKeyring, Result, RsaPadding, RsaPrivateKey, RsaPublicKey,
};

/// The official vectors (read only). `KMS_ENVELOPE_VECTORS` overrides.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("KMS_ENVELOPE_VECTORS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/vectors/esdk"
        )),
    }
}

pub fn read_json(rel: &str) -> serde_json::Value {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    // Trimmed: KAT test 26 has a leading space in its "header" field.
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .expect("valid base64")
}

pub fn data_file(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/").to_owned() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub const NAMESPACE: &str = "test-namespace";

/// The ESDK test AES key bytes `00 01 .. 09 10 11 ..` truncated to `len`.
pub fn aes_key_bytes(len: usize) -> Vec<u8> {
    (0u8..32)
        .map(|i| (i / 10) * 16 + i % 10)
        .take(len)
        .collect()
}

pub fn aes_keyring(len: usize) -> RawAesKeyring {
    RawAesKeyring::new(NAMESPACE, format!("aes-{}", len * 8), &aes_key_bytes(len)).unwrap()
}

pub fn rsa_public() -> RsaPublicKey {
    RsaPublicKey::from_pem(&data_file("rsa-2048-public.pem")).unwrap()
}

pub fn rsa_private() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(&data_file("rsa-2048-private.pem")).unwrap()
}

/// A second, unrelated private key.
pub fn rsa_other_private() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(&data_file("rsa-2048-other-private.pem")).unwrap()
}

pub fn rsa_keyring(padding: RsaPadding) -> RawRsaKeyring {
    RawRsaKeyring::new(
        NAMESPACE,
        "rsa-2048",
        padding,
        Some(rsa_public()),
        Some(rsa_private()),
    )
    .unwrap()
}

/// A client whose commitment policy lets `suite` encrypt and decrypt.
pub fn client_for(suite: AlgorithmSuite) -> Client {
    let policy = if suite.is_committing() {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    };
    Client::builder().commitment_policy(policy).build()
}

pub fn suite(id: u16) -> AlgorithmSuite {
    AlgorithmSuite::from_id(id).unwrap()
}

/// Deterministic pseudo-random bytes (splitmix64).
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn encrypt(
    suite: AlgorithmSuite,
    keyring: &dyn Keyring,
    frame_length: u32,
    ec: &EncryptionContext,
    plaintext: &[u8],
) -> Vec<u8> {
    client_for(suite)
        .encrypt(plaintext)
        .keyring(keyring)
        .algorithm_suite(suite)
        .frame_length(frame_length)
        .encryption_context(ec.clone())
        .run()
        .unwrap_or_else(|e| panic!("encrypt {suite}: {e}"))
}

/// Asserts `result` is an error of `kind`, returning it.
#[track_caller]
pub fn expect_kind<T>(result: Result<T>, kind: ErrorKind) -> Error {
    match result {
        Ok(_) => panic!("expected a {kind:?} error, got Ok"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "wrong error kind: {e}");
            e
        }
    }
}

// ---------------------------------------------------------------------------
// Test keyrings

/// Hands out a fixed plaintext data key on decrypt, whatever the EDKs (for
/// known-answer messages whose EDKs cannot be unwrapped here). On encrypt it
/// sets the key and writes one EDK (`provider`, "fixed", empty).
pub struct FixedKeyring {
    pub provider: String,
    pub key: Vec<u8>,
}

impl FixedKeyring {
    pub fn new(provider: &str, key: Vec<u8>) -> Self {
        Self {
            provider: provider.into(),
            key,
        }
    }
}

impl Keyring for FixedKeyring {
    fn on_encrypt<'a>(
        &'a self,
        mut m: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(async move {
            if m.plaintext_data_key().is_none() {
                m.set_plaintext_data_key(DataKey::from_slice(&self.key))?;
            }
            m.add_encrypted_data_key(EncryptedDataKey::new(
                self.provider.clone(),
                b"fixed".to_vec(),
                Vec::new(),
            ))?;
            Ok(m)
        })
    }

    fn on_decrypt<'a>(
        &'a self,
        mut m: DecryptionMaterials,
        _edks: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(async move {
            m.set_plaintext_data_key(DataKey::from_slice(&self.key))?;
            Ok(m)
        })
    }
}

/// Counts the calls that reach an inner keyring.
pub struct CountingKeyring {
    pub inner: Arc<dyn Keyring>,
    pub encrypts: AtomicUsize,
    pub decrypts: AtomicUsize,
}

impl CountingKeyring {
    pub fn new(inner: Arc<dyn Keyring>) -> Self {
        Self {
            inner,
            encrypts: AtomicUsize::new(0),
            decrypts: AtomicUsize::new(0),
        }
    }

    pub fn decrypts(&self) -> usize {
        self.decrypts.load(Ordering::SeqCst)
    }
}

impl Keyring for CountingKeyring {
    fn on_encrypt<'a>(
        &'a self,
        m: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        self.encrypts.fetch_add(1, Ordering::SeqCst);
        self.inner.on_encrypt(m)
    }

    fn on_decrypt<'a>(
        &'a self,
        m: DecryptionMaterials,
        edks: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        self.decrypts.fetch_add(1, Ordering::SeqCst);
        self.inner.on_decrypt(m, edks)
    }
}

/// Counts the requests that reach an inner materials manager.
pub struct CountingCmm {
    pub inner: Arc<dyn MaterialsManager>,
    pub decrypts: AtomicUsize,
}

impl CountingCmm {
    pub fn over_keyring(keyring: Arc<dyn Keyring>) -> Self {
        Self {
            inner: Arc::new(DefaultMaterialsManager::new(keyring)),
            decrypts: AtomicUsize::new(0),
        }
    }

    pub fn decrypts(&self) -> usize {
        self.decrypts.load(Ordering::SeqCst)
    }
}

impl MaterialsManager for CountingCmm {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        self.inner.get_encryption_materials(request)
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        self.decrypts.fetch_add(1, Ordering::SeqCst);
        self.inner.decrypt_materials(request)
    }
}

// ---------------------------------------------------------------------------
// Independent body layout parser (message-format.md §10.2, §11)

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Offset of the frame's first byte in the message.
    pub offset: usize,
    /// Total bytes of the frame.
    pub size: usize,
    pub is_final: bool,
    pub seq: u32,
    pub iv: [u8; 12],
    /// Plaintext (= ciphertext) length.
    pub content_len: usize,
    /// Offset of the ciphertext in the message.
    pub ct_offset: usize,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub header: MessageHeader,
    pub header_len: usize,
    pub frames: Vec<FrameInfo>,
    /// (offset, signature length) of the footer.
    pub footer: Option<(usize, usize)>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// Splits a framed message into header, frames and footer, checking the
/// structure (not the cryptography) strictly; panics on anything unexpected.
pub fn layout(msg: &[u8]) -> Layout {
    let (header, header_len) = MessageHeader::parse(msg, None).expect("header parses");
    assert_eq!(header.len(), header_len);
    assert_eq!(header.content_type, kms_envelope::ContentType::Framed);
    let fl = header.frame_length as usize;
    let mut pos = header_len;
    let mut frames = Vec::new();
    loop {
        let expected_seq = frames.len() as u32 + 1;
        let first = be32(msg, pos);
        let frame = if first == u32::MAX {
            let seq = be32(msg, pos + 4);
            let iv: [u8; 12] = msg[pos + 8..pos + 20].try_into().unwrap();
            let len = be32(msg, pos + 20) as usize;
            assert!(len <= fl, "final frame longer than the frame length");
            FrameInfo {
                offset: pos,
                size: 24 + len + 16,
                is_final: true,
                seq,
                iv,
                content_len: len,
                ct_offset: pos + 24,
            }
        } else {
            let iv: [u8; 12] = msg[pos + 4..pos + 16].try_into().unwrap();
            FrameInfo {
                offset: pos,
                size: 16 + fl + 16,
                is_final: false,
                seq: first,
                iv,
                content_len: fl,
                ct_offset: pos + 16,
            }
        };
        assert_eq!(frame.seq, expected_seq, "sequence numbers run 1, 2, ...");
        pos += frame.size;
        assert!(pos <= msg.len(), "frame runs past the end");
        let done = frame.is_final;
        frames.push(frame);
        if done {
            break;
        }
    }
    let footer = if header.algorithm_suite.is_signing() {
        let len = u16::from_be_bytes([msg[pos], msg[pos + 1]]) as usize;
        let f = (pos, len);
        pos += 2 + len;
        Some(f)
    } else {
        None
    };
    assert_eq!(
        pos,
        msg.len(),
        "message ends right after the footer / final frame"
    );
    Layout {
        header,
        header_len,
        frames,
        footer,
    }
}

// ---------------------------------------------------------------------------
// Hand-built v1 messages for the identity-KDF suites (content key = data key)

/// How to lay out the body of a hand-built message.
#[derive(Debug, Clone)]
pub enum Body {
    /// Regular frames of `frame_length`, then a final frame with the rest;
    /// with `empty_final`, an exact multiple ends with an empty final frame.
    Framed {
        frame_length: u32,
        empty_final: bool,
        ff_ivs: bool,
    },
    /// One non-framed block.
    NonFramed,
    /// Invalid: a single final frame holding the whole plaintext, even when
    /// that is longer than `frame_length`.
    OversizedFinal { frame_length: u32 },
}

fn gcm_seal(key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
    let nonce = &Nonce::from(*iv);
    let tag = match key.len() {
        16 => Aes128Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_inout_detached(nonce, aad, data.into()),
        32 => Aes256Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_inout_detached(nonce, aad, data.into()),
        n => panic!("unsupported key length {n}"),
    }
    .unwrap();
    tag.into()
}

fn body_aad(message_id: &[u8], what: &str, seq: u32, len: u64) -> Vec<u8> {
    let mut aad = message_id.to_vec();
    aad.extend_from_slice(what.as_bytes());
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.extend_from_slice(&len.to_be_bytes());
    aad
}

/// Writes a complete v1 message for suite 0x0014 or 0x0078 (identity KDF) by
/// hand, so tests can cover forms our encryptor never writes. `ec_field` is
/// the raw AAD content (after the u16 length); `header_iv` the stored header IV.
pub fn craft_v1(
    suite: AlgorithmSuite,
    data_key: &[u8],
    ec_field: &[u8],
    header_iv: [u8; 12],
    body: &Body,
    plaintext: &[u8],
) -> Vec<u8> {
    assert!(!suite.has_kdf() && data_key.len() == suite.data_key_len());
    let message_id = bytes(0x1d, 16);
    let mut h = vec![1, 0x80];
    h.extend_from_slice(&suite.id().to_be_bytes());
    h.extend_from_slice(&message_id);
    h.extend_from_slice(&(ec_field.len() as u16).to_be_bytes());
    h.extend_from_slice(ec_field);
    h.extend_from_slice(&[0, 1]);
    for field in [&b"fixed-provider"[..], b"fixed", b""] {
        h.extend_from_slice(&(field.len() as u16).to_be_bytes());
        h.extend_from_slice(field);
    }
    let (content_type, frame_length) = match body {
        Body::Framed { frame_length, .. } | Body::OversizedFinal { frame_length } => {
            (2u8, *frame_length)
        }
        Body::NonFramed => (1, 0),
    };
    h.push(content_type);
    h.extend_from_slice(&[0, 0, 0, 0, 12]);
    h.extend_from_slice(&frame_length.to_be_bytes());
    let tag = gcm_seal(data_key, &header_iv, &h, &mut []);
    let mut msg = h;
    msg.extend_from_slice(&header_iv);
    msg.extend_from_slice(&tag);
    match body {
        Body::NonFramed => {
            let iv = [7u8; 12];
            let mut ct = plaintext.to_vec();
            let aad = body_aad(
                &message_id,
                "AWSKMSEncryptionClient Single Block",
                1,
                ct.len() as u64,
            );
            let tag = gcm_seal(data_key, &iv, &aad, &mut ct);
            msg.extend_from_slice(&iv);
            msg.extend_from_slice(&(ct.len() as u64).to_be_bytes());
            msg.extend_from_slice(&ct);
            msg.extend_from_slice(&tag);
        }
        Body::Framed { .. } | Body::OversizedFinal { .. } => {
            let fl = frame_length as usize;
            let (mut chunks, mut final_chunk, empty_final, ff_ivs) = match body {
                Body::Framed {
                    empty_final,
                    ff_ivs,
                    ..
                } => {
                    let mut chunks: Vec<&[u8]> = plaintext.chunks(fl).collect();
                    let last: &[u8] = chunks.pop().unwrap_or_default();
                    (chunks, last, *empty_final, *ff_ivs)
                }
                _ => (Vec::new(), plaintext, false, false),
            };
            if empty_final && final_chunk.len() == fl {
                chunks.push(final_chunk);
                final_chunk = &[];
            }
            let iv_for = |seq: u32| {
                let mut iv = if ff_ivs { [0xFF; 12] } else { [0; 12] };
                iv[8..].copy_from_slice(&seq.to_be_bytes());
                iv
            };
            let mut seq = 1u32;
            for chunk in chunks {
                let iv = iv_for(seq);
                let mut ct = chunk.to_vec();
                let aad = body_aad(&message_id, "AWSKMSEncryptionClient Frame", seq, fl as u64);
                let tag = gcm_seal(data_key, &iv, &aad, &mut ct);
                msg.extend_from_slice(&seq.to_be_bytes());
                msg.extend_from_slice(&iv);
                msg.extend_from_slice(&ct);
                msg.extend_from_slice(&tag);
                seq += 1;
            }
            let iv = iv_for(seq);
            let mut ct = final_chunk.to_vec();
            let aad = body_aad(
                &message_id,
                "AWSKMSEncryptionClient Final Frame",
                seq,
                ct.len() as u64,
            );
            let tag = gcm_seal(data_key, &iv, &aad, &mut ct);
            msg.extend_from_slice(&u32::MAX.to_be_bytes());
            msg.extend_from_slice(&seq.to_be_bytes());
            msg.extend_from_slice(&iv);
            msg.extend_from_slice(&(ct.len() as u32).to_be_bytes());
            msg.extend_from_slice(&ct);
            msg.extend_from_slice(&tag);
        }
    }
    msg
}
