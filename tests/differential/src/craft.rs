//! An independent message writer (message-format.md sections 3-11, built on
//! aws-lc-rs directly) for the forms neither SDK writes: reader-only forms
//! such as non-framed bodies or stored frame IVs other than the sequence
//! number, the spec-versus-implementation cases of section 18, and
//! well-authenticated but malformed headers. Both readers get each crafted
//! message; they must agree.
//!
//! Only the wrapped data keys come from kms-envelope's keyrings (their
//! layout is compared between the SDKs by the ordinary cases).

use std::collections::BTreeMap;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_192_GCM, AES_256_GCM};
use aws_lc_rs::hkdf;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
};
use base64::Engine;
use kms_envelope::{
    AlgorithmSuite, DataKey, EncryptedDataKey, EncryptionContext, EncryptionMaterials, Keyring,
};

use crate::rng::Rng;

/// The one unusual feature of a crafted message (one per message, so that a
/// disagreement points at its cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Form {
    /// The conventional layout (checks the writer itself: both must accept).
    Plain,
    /// An exact multiple of the frame length ends with an empty final frame.
    EmptyFinalFrame,
    /// Content type 1: one AES-GCM block for the whole body.
    NonFramed,
    /// Frame IVs `FF x 8 || seq` (section 18 item 5).
    FfFrameIvs,
    /// Random stored frame IVs (section 18 item 5: readers use the stored IV).
    RandomFrameIvs,
    /// A non-zero v1 header IV (section 18 items 5 and 7).
    NonZeroHeaderIv,
    /// The empty context written as `00 02 00 00` (section 18 item 4).
    LegacyEmptyContext,
    /// ESDK-NET 4.0.0 output: `00 00` after the header-auth AAD and, for the
    /// v1 HKDF suites, no message ID in the HKDF info (section 18 item 6).
    NetV400,
    /// Context pairs stored out of byte order.
    UnsortedContext,
    /// A context key stored twice.
    DuplicateContextKey,
    /// One byte in the context field after the last pair.
    ContextTrailingByte,
    /// Non-zero v1 reserved bytes.
    ReservedNonZero,
    /// A v1 IV length byte other than 12.
    IvLengthByte,
    /// An EDK of another provider before the real one.
    DecoyEdk,
    /// A single final frame longer than the frame length.
    OversizedFinalFrame,
    /// Frame sequence numbers starting at 0.
    SequenceFromZero,
    /// Frame sequence numbers skipping one.
    SequenceGap,
    /// A framed body whose header says frame length 0.
    FramedZeroFrameLength,
    /// A non-framed body whose header says a non-zero frame length.
    NonFramedWithFrameLength,
}

impl Form {
    /// Every form.
    pub const ALL: [Form; 19] = [
        Form::Plain,
        Form::EmptyFinalFrame,
        Form::NonFramed,
        Form::FfFrameIvs,
        Form::RandomFrameIvs,
        Form::NonZeroHeaderIv,
        Form::LegacyEmptyContext,
        Form::NetV400,
        Form::UnsortedContext,
        Form::DuplicateContextKey,
        Form::ContextTrailingByte,
        Form::ReservedNonZero,
        Form::IvLengthByte,
        Form::DecoyEdk,
        Form::OversizedFinalFrame,
        Form::SequenceFromZero,
        Form::SequenceGap,
        Form::FramedZeroFrameLength,
        Form::NonFramedWithFrameLength,
    ];

    /// Whether the form applies to `suite` (v1-only header fields; the
    /// legacy empty context cannot occur with a signing suite's public key).
    pub fn applies_to(self, suite: AlgorithmSuite) -> bool {
        let v1 = suite.message_format_version() == 1;
        match self {
            Form::NonZeroHeaderIv | Form::ReservedNonZero | Form::IvLengthByte => v1,
            Form::LegacyEmptyContext => !suite.is_signing(),
            _ => true,
        }
    }
}

/// What to write.
pub struct Spec<'a> {
    /// The suite.
    pub suite: AlgorithmSuite,
    /// Frame length (ignored for non-framed forms).
    pub frame_length: u32,
    /// The plaintext.
    pub plaintext: &'a [u8],
    /// The caller's encryption context (no reserved keys).
    pub context: &'a BTreeMap<String, String>,
    /// The unusual feature.
    pub form: Form,
}

fn seal(key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
    let alg = match key.len() {
        16 => &AES_128_GCM,
        24 => &AES_192_GCM,
        _ => &AES_256_GCM,
    };
    let key = LessSafeKey::new(UnboundKey::new(alg, key).expect("AES key"));
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), data)
        .expect("AES-GCM seal");
    let mut out = [0u8; 16];
    out.copy_from_slice(tag.as_ref());
    out
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[&[u8]], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    prk.expand(info, Len(len))
        .expect("HKDF expand")
        .fill(&mut out)
        .expect("HKDF fill");
    out
}

/// (content key, commitment key) of message-format.md section 8.
fn derive(
    suite: AlgorithmSuite,
    data_key: &[u8],
    message_id: &[u8],
    net: bool,
) -> (Vec<u8>, Option<Vec<u8>>) {
    let id = suite.id().to_be_bytes();
    match suite.id() {
        0x0014 | 0x0046 | 0x0078 => (data_key.to_vec(), None),
        0x0478 | 0x0578 => {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA512, message_id).extract(data_key);
            let key = expand(&prk, &[&id, b"DERIVEKEY"], 32);
            let commit = expand(&prk, &[b"COMMITKEY"], 32);
            (key, Some(commit))
        }
        other => {
            let alg = if other == 0x0346 || other == 0x0378 {
                hkdf::HKDF_SHA384
            } else {
                hkdf::HKDF_SHA256
            };
            let prk = hkdf::Salt::new(alg, &[]).extract(data_key);
            let info: Vec<&[u8]> = if net {
                vec![&id]
            } else {
                vec![&id, message_id]
            };
            (expand(&prk, &info, data_key.len()), None)
        }
    }
}

fn put16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u16).to_be_bytes());
}

fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    put16(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// The stored context field (after its u16 length).
fn context_field(ec: &BTreeMap<String, String>, form: Form) -> Vec<u8> {
    if ec.is_empty() {
        return match form {
            Form::LegacyEmptyContext => vec![0, 0],
            Form::ContextTrailingByte => vec![0],
            _ => Vec::new(),
        };
    }
    let mut pairs: Vec<(&String, &String)> = ec.iter().collect();
    if form == Form::UnsortedContext {
        pairs.reverse();
    }
    if form == Form::DuplicateContextKey {
        pairs.push(pairs[0]);
    }
    let mut out = Vec::new();
    put16(&mut out, pairs.len());
    for (k, v) in pairs {
        put_field(&mut out, k.as_bytes());
        put_field(&mut out, v.as_bytes());
    }
    if form == Form::ContextTrailingByte {
        out.push(0);
    }
    out
}

/// The compressed SEC1 point of an uncompressed one (`04 || x || y`).
fn compress(uncompressed: &[u8]) -> Vec<u8> {
    let coord = (uncompressed.len() - 1) / 2;
    let y_last = uncompressed[uncompressed.len() - 1];
    let mut out = vec![0x02 | (y_last & 1)];
    out.extend_from_slice(&uncompressed[1..1 + coord]);
    out
}

fn body_aad(message_id: &[u8], what: &str, seq: u32, len: usize) -> Vec<u8> {
    let mut aad = message_id.to_vec();
    aad.extend_from_slice(what.as_bytes());
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.extend_from_slice(&(len as u64).to_be_bytes());
    aad
}

/// Writes the crafted message, its EDKs from `keyring` (kms-envelope's raw
/// AES or raw RSA keyring, which unwraps them in both SDKs).
pub async fn write(
    spec: &Spec<'_>,
    keyring: &dyn Keyring,
    rng: &mut Rng,
) -> Result<Vec<u8>, String> {
    let suite = spec.suite;
    let form = spec.form;
    let v1 = suite.message_format_version() == 1;
    let mut ec = spec.context.clone();
    if form == Form::UnsortedContext && ec.len() < 2 {
        ec.insert("a-first".into(), "1".into());
        ec.insert("z-last".into(), "2".into());
    }
    if form == Form::DuplicateContextKey && ec.is_empty() {
        ec.insert("dup".into(), "v".into());
    }
    if form == Form::LegacyEmptyContext {
        ec.clear();
    }

    // Signing key and the public key in the context.
    let signer = match suite.id() {
        0x0214 => Some(
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|e| e.to_string())?,
        ),
        0x0346 | 0x0378 | 0x0578 => Some(
            EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    if let Some(s) = &signer {
        let point = compress(s.public_key().as_ref());
        ec.insert(
            "aws-crypto-public-key".into(),
            base64::engine::general_purpose::STANDARD.encode(point),
        );
    }

    // Data key and its wrapped copy.
    let data_key = rng.bytes(suite.data_key_len());
    let mut materials = EncryptionMaterials::new(suite, EncryptionContext::from(ec.clone()));
    materials
        .set_plaintext_data_key(DataKey::from_slice(&data_key))
        .map_err(|e| e.to_string())?;
    let materials = keyring
        .on_encrypt(materials)
        .await
        .map_err(|e| e.to_string())?;
    let mut edks: Vec<EncryptedDataKey> = materials.encrypted_data_keys().to_vec();
    if form == Form::DecoyEdk {
        edks.insert(
            0,
            EncryptedDataKey::new(
                "decoy-provider".to_string(),
                b"decoy".to_vec(),
                rng.bytes(48),
            ),
        );
    }

    let message_id = rng.bytes(if v1 { 16 } else { 32 });
    let net = form == Form::NetV400;
    let (key, commitment) = derive(suite, &data_key, &message_id, net);

    let non_framed = matches!(form, Form::NonFramed | Form::NonFramedWithFrameLength);
    let fl = spec.frame_length.max(1) as usize;
    let stored_frame_length: u32 = match form {
        Form::NonFramed => 0,
        Form::NonFramedWithFrameLength => spec.frame_length.max(1),
        Form::FramedZeroFrameLength => 0,
        _ => spec.frame_length.max(1),
    };

    // Header body.
    let mut h = Vec::new();
    if v1 {
        h.push(1);
        h.push(0x80);
    } else {
        h.push(2);
    }
    h.extend_from_slice(&suite.id().to_be_bytes());
    h.extend_from_slice(&message_id);
    let field = context_field(&ec, form);
    if field.len() > usize::from(u16::MAX) {
        return Err("the context does not fit the header".into());
    }
    put_field(&mut h, &field);
    put16(&mut h, edks.len());
    for edk in &edks {
        put_field(&mut h, edk.provider_id.as_bytes());
        put_field(&mut h, &edk.provider_info);
        put_field(&mut h, &edk.ciphertext);
    }
    h.push(if non_framed { 1 } else { 2 });
    if v1 {
        h.extend_from_slice(if form == Form::ReservedNonZero {
            &[0, 0, 0, 1]
        } else {
            &[0, 0, 0, 0]
        });
        h.push(if form == Form::IvLengthByte {
            *rng.pick(&[0u8, 8, 11, 13, 16, 255])
        } else {
            12
        });
    }
    h.extend_from_slice(&stored_frame_length.to_be_bytes());
    if let Some(c) = &commitment {
        h.extend_from_slice(c);
    }
    let header_iv = if form == Form::NonZeroHeaderIv {
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&rng.bytes(12));
        iv
    } else {
        [0u8; 12]
    };
    let mut header_aad = h.clone();
    if net {
        header_aad.extend_from_slice(&[0, 0]);
    }
    let tag = seal(&key, &header_iv, &header_aad, &mut []);
    let mut msg = h;
    if v1 {
        msg.extend_from_slice(&header_iv);
    }
    msg.extend_from_slice(&tag);

    // Body.
    let pt = spec.plaintext;
    if non_framed {
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&rng.bytes(12));
        let mut ct = pt.to_vec();
        let aad = body_aad(
            &message_id,
            "AWSKMSEncryptionClient Single Block",
            1,
            ct.len(),
        );
        let tag = seal(&key, &iv, &aad, &mut ct);
        msg.extend_from_slice(&iv);
        msg.extend_from_slice(&(ct.len() as u64).to_be_bytes());
        msg.extend_from_slice(&ct);
        msg.extend_from_slice(&tag);
    } else {
        let (regular, last): (Vec<&[u8]>, &[u8]) = if form == Form::OversizedFinalFrame {
            (Vec::new(), pt)
        } else {
            let mut chunks: Vec<&[u8]> = pt.chunks(fl).collect();
            let mut last: &[u8] = chunks.pop().unwrap_or_default();
            if form == Form::EmptyFinalFrame && last.len() == fl {
                chunks.push(last);
                last = &[];
            }
            (chunks, last)
        };
        let mut seq: u32 = if form == Form::SequenceFromZero { 0 } else { 1 };
        let gap_at = rng.below(regular.len() as u64 + 1) as u32 + 1;
        let frame_iv = |seq: u32, rng: &mut Rng| {
            let mut iv = [0u8; 12];
            match form {
                Form::FfFrameIvs => iv[..8].copy_from_slice(&[0xFF; 8]),
                Form::RandomFrameIvs => {
                    iv.copy_from_slice(&rng.bytes(12));
                    return iv;
                }
                _ => {}
            }
            iv[8..].copy_from_slice(&seq.to_be_bytes());
            iv
        };
        for (i, chunk) in regular.iter().enumerate() {
            if form == Form::SequenceGap && i as u32 + 1 == gap_at {
                seq += 1;
            }
            let iv = frame_iv(seq, rng);
            let mut ct = chunk.to_vec();
            let aad = body_aad(&message_id, "AWSKMSEncryptionClient Frame", seq, ct.len());
            let tag = seal(&key, &iv, &aad, &mut ct);
            msg.extend_from_slice(&seq.to_be_bytes());
            msg.extend_from_slice(&iv);
            msg.extend_from_slice(&ct);
            msg.extend_from_slice(&tag);
            seq = seq.wrapping_add(1);
        }
        if form == Form::SequenceGap && regular.len() as u32 + 1 == gap_at {
            seq += 1;
        }
        let iv = frame_iv(seq, rng);
        let mut ct = last.to_vec();
        let aad = body_aad(
            &message_id,
            "AWSKMSEncryptionClient Final Frame",
            seq,
            ct.len(),
        );
        let tag = seal(&key, &iv, &aad, &mut ct);
        msg.extend_from_slice(&u32::MAX.to_be_bytes());
        msg.extend_from_slice(&seq.to_be_bytes());
        msg.extend_from_slice(&iv);
        msg.extend_from_slice(&(ct.len() as u32).to_be_bytes());
        msg.extend_from_slice(&ct);
        msg.extend_from_slice(&tag);
    }

    // Footer.
    if let Some(s) = signer {
        let sig = s
            .sign(&SystemRandom::new(), &msg)
            .map_err(|e| e.to_string())?;
        put_field(&mut msg, sig.as_ref());
    }
    Ok(msg)
}
