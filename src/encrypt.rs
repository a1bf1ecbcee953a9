//! Writing messages: header, frames and footer.

use std::sync::Arc;

use crate::context::EncryptionContext;
use crate::crypto::{fill_random, AesGcmKey, EcdsaSigningKey, Hasher};
use crate::derive::derive_keys;
use crate::error::{Error, Result};
use crate::format::body::{frame_iv, BodyAad, BodyKind, FINAL_FRAME_MARKER};
use crate::format::footer::write_footer;
use crate::format::header::{MessageHeader, IV_LEN, TAG_LEN};
use crate::materials::EncryptionMaterials;
use crate::parallel::{self, Order, GROUP_BYTES};
use crate::policy::CommitmentPolicy;
use crate::region::Region;

/// Splits the materials' context into the pairs stored in the header and the
/// required pairs that are only authenticated.
pub(crate) fn split_context(
    context: &EncryptionContext,
    required_keys: &std::collections::BTreeSet<String>,
) -> (EncryptionContext, EncryptionContext) {
    let (required, stored): (Vec<_>, Vec<_>) = context
        .iter()
        .partition(|(k, _)| required_keys.contains(*k));
    (stored.into_iter().collect(), required.into_iter().collect())
}

/// Checks what a materials manager returned before anything is written.
pub(crate) fn check_materials(
    materials: &EncryptionMaterials,
    policy: CommitmentPolicy,
    max_edks: Option<u16>,
) -> Result<()> {
    let suite = materials.algorithm_suite();
    policy.check_encrypt(suite)?;
    let key = materials
        .plaintext_data_key()
        .ok_or_else(|| Error::bad_arg("encryption materials hold no data key"))?;
    if key.len() != suite.data_key_len() {
        return Err(Error::bad_arg(
            "encryption materials hold a data key of the wrong length",
        ));
    }
    let count = materials.encrypted_data_keys().len();
    if count == 0 {
        return Err(Error::bad_arg(
            "encryption materials hold no encrypted data key",
        ));
    }
    if let Some(max) = max_edks {
        if count > usize::from(max) {
            return Err(Error::policy(format!(
                "materials hold {count} encrypted data keys, more than the configured maximum of {max}"
            )));
        }
    }
    if let Some(k) = materials
        .required_encryption_context_keys()
        .iter()
        .find(|k| !materials.encryption_context().contains_key(k))
    {
        return Err(Error::policy(format!(
            "required encryption context key '{k}' is missing"
        )));
    }
    if suite.is_signing() != materials.signing_key.is_some() {
        return Err(Error::bad_arg(
            "encryption materials' signing key does not match the suite",
        ));
    }
    Ok(())
}

/// Seals one message: holds the content key, the next sequence number and
/// the running signature hash.
pub(crate) struct Sealer {
    message_id: Vec<u8>,
    key: AesGcmKey,
    frame_length: u32,
    next_seq: u32,
    signer: Option<(Hasher, Arc<EcdsaSigningKey>)>,
    threads: usize,
    /// The header as written.
    header: MessageHeader,
    /// The materials' whole context: the stored pairs and the required
    /// pairs that are only authenticated.
    context: EncryptionContext,
    /// The content key's bytes, for [`crate::external`].
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    raw_key: zeroize::Zeroizing<Vec<u8>>,
}

impl Sealer {
    /// Derives the keys and writes the complete header into `out`.
    pub(crate) fn start(
        materials: &EncryptionMaterials,
        frame_length: u32,
        threads: usize,
        out: &mut Vec<u8>,
    ) -> Result<Self> {
        let mut message_id = vec![0u8; materials.algorithm_suite().message_id_len()];
        fill_random(&mut message_id)
            .map_err(|_| Error::bad_arg("the system random number generator failed"))?;
        Self::start_with_message_id(materials, frame_length, threads, message_id, out)
    }

    /// [`Sealer::start`] with a given message ID. Only tests choose one:
    /// a message ID must never repeat under one data key.
    pub(crate) fn start_with_message_id(
        materials: &EncryptionMaterials,
        frame_length: u32,
        threads: usize,
        message_id: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<Self> {
        check_framing(frame_length, None)?;
        let suite = materials.algorithm_suite();
        if message_id.len() != suite.message_id_len() {
            return Err(Error::bad_arg(
                "message ID has the wrong length for this suite",
            ));
        }
        let data_key = materials
            .plaintext_data_key()
            .ok_or_else(|| Error::bad_arg("encryption materials hold no data key"))?;
        let keys = derive_keys(suite, data_key.as_bytes(), &message_id)?;
        let (stored, required) = split_context(
            materials.encryption_context(),
            materials.required_encryption_context_keys(),
        );
        let mut header = MessageHeader::build(
            suite,
            message_id.clone(),
            stored,
            materials.encrypted_data_keys().to_vec(),
            frame_length,
            keys.commitment.as_deref().copied(),
        )?;
        let mut aad = header.body_bytes().to_vec();
        aad.extend_from_slice(&required.serialize()?);
        let tag = keys
            .content
            .seal_in_place(&[0; IV_LEN], &aad, &mut [])
            .map_err(|_| Error::bad_arg("AES-GCM failed"))?;
        header.set_auth_tag(tag);
        let start = out.len();
        header.write_to(out);
        let context = materials.encryption_context().clone();
        let signer = match (suite.signature_curve(), &materials.signing_key) {
            (Some(curve), Some(key)) => {
                if key.0.curve() != curve {
                    return Err(Error::bad_arg(
                        "the signing key is on another curve than the suite's",
                    ));
                }
                let mut h = key.0.hasher();
                h.update(&out[start..]);
                Some((h, Arc::clone(&key.0)))
            }
            _ => None,
        };
        Ok(Self {
            message_id,
            key: keys.content,
            frame_length,
            next_seq: 1,
            signer,
            threads,
            header,
            context,
            #[cfg(all(
                feature = "host-crypto",
                any(target_arch = "wasm32", feature = "rustcrypto")
            ))]
            raw_key: keys.raw_content,
        })
    }

    /// The header as written.
    pub(crate) fn header(&self) -> &MessageHeader {
        &self.header
    }

    /// The materials' whole context (stored and required pairs).
    pub(crate) fn context(&self) -> &EncryptionContext {
        &self.context
    }

    /// The configured frame length.
    pub(crate) fn frame_length(&self) -> u32 {
        self.frame_length
    }

    /// Appends one frame holding `plaintext` (exactly the frame length for a
    /// regular frame, at most that for the final one).
    pub(crate) fn seal_frame(
        &mut self,
        plaintext: &[u8],
        is_final: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let kind = frame_kind(is_final);
        let start = out.len();
        out.resize(start + frame_overhead(kind) + plaintext.len(), 0);
        match self.seal_frame_into(plaintext, is_final, &mut out[start..]) {
            Ok(_) => Ok(()),
            Err(e) => {
                wipe_from(out, start);
                Err(e)
            }
        }
    }

    /// Writes one frame holding `plaintext` at the front of `dst` and
    /// returns its size (the frame overhead plus the plaintext length).
    pub(crate) fn seal_frame_into(
        &mut self,
        plaintext: &[u8],
        is_final: bool,
        dst: &mut [u8],
    ) -> Result<usize> {
        let seq = self.take_frame(plaintext.len(), is_final)?;
        let len = plaintext.len() as u32;
        let kind = frame_kind(is_final);
        let size = frame_overhead(kind) + plaintext.len();
        let slot = dst.get_mut(..size).ok_or_else(output_too_small)?;
        let (head, head_len) = frame_head(kind, seq, len);
        let (head_slot, rest) = slot.split_at_mut(head_len);
        head_slot.copy_from_slice(&head[..head_len]);
        rest[..plaintext.len()].copy_from_slice(plaintext);
        seal_slot(&self.key, &self.message_id, kind, seq, slot)?;
        if let Some((h, _)) = &mut self.signer {
            h.update(slot);
        }
        Ok(size)
    }

    /// Appends regular frames for `data`, a whole number of frames, spread
    /// over the configured threads when there are enough of them.
    pub(crate) fn seal_regular_frames(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let fl = self.frame_length as usize;
        let frames = data.len() / fl;
        let start = out.len();
        let size = regular_bytes(frames, fl).ok_or_else(too_large_for_memory)?;
        out.resize(start.checked_add(size).ok_or_else(too_large_for_memory)?, 0);
        if let Err(e) = self.seal_regular_into(data, Region::Init(&mut out[start..])) {
            wipe_from(out, start);
            return Err(e);
        }
        Ok(())
    }

    /// Writes regular frames for `data`, a whole number of frames, into
    /// `dst`, which holds exactly their size and may be uninitialized.
    /// Frames are spread over the configured threads when there are enough
    /// of them; each thread writes (and so first touches, and initializes)
    /// its own part of `dst`, so the calling thread only hashes.
    fn seal_regular_into(&mut self, data: &[u8], dst: Region<'_>) -> Result<()> {
        let fl = self.frame_length as usize;
        let frames = data.len() / fl;
        if data.is_empty() && dst.len() == 0 {
            return Ok(());
        }
        let frame_size = regular_bytes(1, fl).ok_or_else(too_large_for_memory)?;
        if !data.len().is_multiple_of(fl) || Some(dst.len()) != regular_bytes(frames, fl) {
            return Err(Error::bad_arg(
                "regular frames need a whole number of frames",
            ));
        }
        let group_frames = (GROUP_BYTES / fl).max(1);
        let group_size = group_frames * frame_size;
        if self.threads <= 1 || frames < 2 * group_frames {
            let zeros = zero_source(&dst, frame_size);
            for (frame, slot) in data.chunks_exact(fl).zip(dst.chunks(frame_size)) {
                self.seal_frame_into(frame, false, slot.init_zeroed(&zeros)?)?;
            }
            return Ok(());
        }
        let first = self.next_seq;
        // The final frame still needs a sequence number after these.
        if u64::from(first) + frames as u64 > u64::from(u32::MAX) || first == 0 {
            return Err(too_many_frames());
        }
        let zeros = zero_source(&dst, group_size);
        let jobs: Vec<Group<'_>> = data
            .chunks(group_frames * fl)
            .zip(dst.chunks(group_size))
            .enumerate()
            .map(|(g, (plaintext, out))| Group {
                seq: first + (g * group_frames) as u32,
                plaintext,
                out: Some(out),
                sealed: &[],
            })
            .collect();
        let (key, message_id) = (&self.key, &self.message_id);
        let work = |group: &mut Group<'_>| {
            let out = group
                .out
                .take()
                .ok_or_else(|| Error::bad_arg("a frame group was sealed twice"))?;
            let slot = out.init_zeroed(&zeros)?;
            for (i, (p, s)) in group
                .plaintext
                .chunks(fl)
                .zip(slot.chunks_mut(frame_size))
                .enumerate()
            {
                let seq = group.seq + i as u32;
                let (head, head_len) = frame_head(BodyKind::Regular, seq, fl as u32);
                s[..head_len].copy_from_slice(&head[..head_len]);
                s[head_len..head_len + fl].copy_from_slice(p);
                seal_slot(key, message_id, BodyKind::Regular, seq, s)?;
            }
            group.sealed = slot;
            Ok(())
        };
        match &mut self.signer {
            Some((h, _)) => {
                let mut hash = |group: &Group<'_>| h.update(group.sealed);
                parallel::run(jobs, self.threads, work, Order::Consume(&mut hash))
            }
            None => parallel::run(jobs, self.threads, work, Order::Work),
        }?;
        self.next_seq = first + frames as u32;
        Ok(())
    }

    /// Appends the footer, if the suite signs.
    pub(crate) fn finish(self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(sig) = self.signature(SignatureLength::Any)? {
            write_footer(&sig, out);
        }
        Ok(())
    }

    /// Writes the footer (if the suite signs) at the front of `dst` and
    /// returns its size.
    pub(crate) fn finish_into(self, dst: &mut [u8], length: SignatureLength) -> Result<usize> {
        let Some(sig) = self.signature(length)? else {
            return Ok(0);
        };
        let size = FOOTER_LEN_BYTES + sig.len();
        let slot = dst.get_mut(..size).ok_or_else(output_too_small)?;
        let (len_slot, sig_slot) = slot.split_at_mut(FOOTER_LEN_BYTES);
        len_slot.copy_from_slice(&(sig.len() as u16).to_be_bytes());
        sig_slot.copy_from_slice(&sig);
        Ok(size)
    }

    /// The signature over everything written, if the suite signs.
    fn signature(self, length: SignatureLength) -> Result<Option<Vec<u8>>> {
        let Some((h, key)) = self.signer else {
            return Ok(None);
        };
        let failed = || Error::bad_arg("ECDSA signing failed");
        let sig = match length {
            SignatureLength::Any => key.sign(h).map_err(|_| failed())?,
            SignatureLength::Fixed => {
                let digest = key.prehash(h).map_err(|_| failed())?;
                fixed_length_signature(&key, &digest)?
            }
        };
        Ok(Some(sig))
    }

    #[cfg(test)]
    pub(crate) fn skip_to_sequence_number(&mut self, seq: u32) {
        self.next_seq = seq;
    }

    /// Checks the next frame holds `len` plaintext bytes (exactly the frame
    /// length for a regular frame, at most that for the final one) and
    /// counts it. Returns its sequence number; after frame 2^32 - 1 the
    /// counter wraps to 0, which is refused, and 2^32 - 1 itself is the
    /// final frame's only (a regular frame there would leave the final one
    /// no number, once the frame was written out). Used by
    /// [`Sealer::seal_frame_into`] and by callers sealing a stream's frames
    /// themselves.
    pub(crate) fn take_frame(&mut self, len: usize, is_final: bool) -> Result<u32> {
        let seq = self.next_seq;
        if seq == 0 || (seq == u32::MAX && !is_final) {
            return Err(too_many_frames());
        }
        u32::try_from(len)
            .ok()
            .filter(|l| *l <= self.frame_length && (is_final || *l == self.frame_length))
            .ok_or_else(|| Error::bad_arg("frame plaintext has the wrong length"))?;
        self.next_seq = seq.wrapping_add(1);
        Ok(seq)
    }

    /// For a caller sealing a stream's frames itself: the message ID, the
    /// content key's bytes, and the running signature hash (`None` for
    /// suites without a signature), which has seen the header.
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn external_view(&mut self) -> (&[u8], &[u8], Option<&mut Hasher>) {
        (
            &self.message_id,
            &self.raw_key,
            self.signer.as_mut().map(|(h, _)| h),
        )
    }

    /// What a caller sealing the frames itself needs: the message ID, the
    /// content key's bytes, the frame length, the next sequence number and
    /// the signing key (the running hash is dropped: the caller hashes).
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) fn into_external(self) -> ExternalParts {
        ExternalParts {
            message_id: self.message_id,
            key: self.raw_key,
            frame_length: self.frame_length,
            next_seq: self.next_seq,
            signing_key: self.signer.map(|(_, key)| key),
        }
    }

    /// The footer's size for `length`: 0 when the suite does not sign, and
    /// its largest size for [`SignatureLength::Any`].
    pub(crate) fn footer_len(&self, length: SignatureLength) -> usize {
        match &self.signer {
            None => 0,
            Some((_, key)) => {
                FOOTER_LEN_BYTES
                    + match length {
                        SignatureLength::Any => key.curve().max_signature_len(),
                        SignatureLength::Fixed => key.curve().fixed_signature_len(),
                    }
            }
        }
    }
}

/// A [`Sealer`] taken apart for [`crate::external`].
#[cfg(all(
    feature = "host-crypto",
    any(target_arch = "wasm32", feature = "rustcrypto")
))]
pub(crate) struct ExternalParts {
    pub(crate) message_id: Vec<u8>,
    pub(crate) key: zeroize::Zeroizing<Vec<u8>>,
    pub(crate) frame_length: u32,
    pub(crate) next_seq: u32,
    pub(crate) signing_key: Option<Arc<EcdsaSigningKey>>,
}

/// Signs `digest` with fresh nonces until the DER signature has the curve's
/// fixed length, so the message length is known before signing.
pub(crate) fn fixed_length_signature(key: &EcdsaSigningKey, digest: &[u8]) -> Result<Vec<u8>> {
    let want = key.curve().fixed_signature_len();
    // Each attempt has about even odds (the DER length of r and s depends
    // on their top bits), so 64 attempts all failing is a 2^-64 event, not
    // a case to plan for.
    (0..64)
        .find_map(|_| {
            key.sign_digest_randomized(digest)
                .ok()
                .filter(|s| s.len() == want)
        })
        .ok_or_else(|| Error::bad_arg("ECDSA signing failed"))
}

/// How long the footer's DER signature may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureLength {
    /// Whatever one signing gives (the DER length varies by a byte or two).
    Any,
    /// Exactly [`Curve::fixed_signature_len`] bytes, signing again with a
    /// fresh nonce until it is, so the message length is known in advance.
    Fixed,
}

/// Frames sealed by one worker: their plaintext, their place in the output
/// (taken by the worker), and the sealed bytes (for the signature hash).
struct Group<'a> {
    seq: u32,
    plaintext: &'a [u8],
    out: Option<Region<'a>>,
    sealed: &'a [u8],
}

/// Zeros to initialize pieces of up to `len` bytes of `dst` from, if it is
/// uninitialized memory: a calloc'd block that is only read, so its pages
/// stay the kernel's shared zero page.
fn zero_source(dst: &Region<'_>, len: usize) -> Vec<u8> {
    if dst.is_uninit() {
        vec![0u8; len.min(dst.len())]
    } else {
        Vec::new()
    }
}

/// The footer's u16 signature length.
pub(crate) const FOOTER_LEN_BYTES: usize = 2;

pub(crate) fn frame_kind(is_final: bool) -> BodyKind {
    if is_final {
        BodyKind::Final
    } else {
        BodyKind::Regular
    }
}

/// Drops what was appended from `start` on, wiping it first: a frame that
/// failed to seal may still hold its plaintext.
fn wipe_from(out: &mut Vec<u8>, start: usize) {
    if let Some(tail) = out.get_mut(start..) {
        zeroize::Zeroize::zeroize(tail);
    }
    out.truncate(start);
}

fn output_too_small() -> Error {
    Error::bad_arg("the output buffer is smaller than the message")
}

fn too_many_frames() -> Error {
    Error::bad_arg("message would need more than 2^32 - 1 frames")
}

/// Checks a frame length, and that a plaintext of `plaintext_len` bytes
/// (where known) fits in the 2^32 - 1 frames a message can hold, before any
/// keyring is asked for materials.
pub(crate) fn check_framing(frame_length: u32, plaintext_len: Option<u64>) -> Result<()> {
    if frame_length == 0 {
        return Err(Error::bad_arg("frame length must be at least 1"));
    }
    let Some(len) = plaintext_len else {
        return Ok(());
    };
    // Regular frames, then the final frame (full when the length is an
    // exact multiple), each taking one sequence number from 1.
    let regular = len.saturating_sub(1) / u64::from(frame_length);
    if regular >= u64::from(u32::MAX) {
        return Err(Error::bad_arg(format!(
            "a plaintext of {len} bytes in frames of {frame_length} bytes would need more \
             than 2^32 - 1 frames; use a larger frame length"
        )));
    }
    Ok(())
}

/// Bytes of `frames` regular frames of `fl` plaintext bytes each; `None`
/// past `usize::MAX`. Zero frames take no bytes even where one frame's size
/// overflows (a 32-bit target, frames within 32 bytes of 2^32): a message
/// shorter than its frame length has no regular frame.
pub(crate) fn regular_bytes(frames: usize, fl: usize) -> Option<usize> {
    if frames == 0 {
        return Some(0);
    }
    frame_overhead(BodyKind::Regular)
        .checked_add(fl)?
        .checked_mul(frames)
}

fn too_large_for_memory() -> Error {
    Error::bad_arg("these frames are larger than this platform can address")
}

/// Bytes a frame adds around its ciphertext.
pub(crate) fn frame_overhead(kind: BodyKind) -> usize {
    match kind {
        BodyKind::Final => 4 + 4 + IV_LEN + 4 + TAG_LEN,
        _ => 4 + IV_LEN + TAG_LEN,
    }
}

/// The bytes a frame starts with: (final marker,) sequence number, IV,
/// (content length).
pub(crate) fn frame_head(kind: BodyKind, seq: u32, len: u32) -> ([u8; 24], usize) {
    let mut head = [0u8; 24];
    let seq_bytes = seq.to_be_bytes();
    let marker = FINAL_FRAME_MARKER.to_be_bytes();
    let len_bytes = len.to_be_bytes();
    let iv = frame_iv(seq);
    let parts: &[&[u8]] = if kind == BodyKind::Final {
        &[&marker, &seq_bytes, &iv, &len_bytes]
    } else {
        &[&seq_bytes, &iv]
    };
    let mut w = 0;
    for part in parts {
        head[w..w + part.len()].copy_from_slice(part);
        w += part.len();
    }
    (head, w)
}

/// Seals a frame laid out in `slot`: its head, then the plaintext, then 16
/// bytes for the tag. Encrypts in place and writes the tag.
fn seal_slot(
    key: &AesGcmKey,
    message_id: &[u8],
    kind: BodyKind,
    seq: u32,
    slot: &mut [u8],
) -> Result<()> {
    let head_len = frame_overhead(kind) - TAG_LEN;
    let body_len = slot
        .len()
        .checked_sub(head_len + TAG_LEN)
        .ok_or_else(|| Error::bad_arg("frame slot has the wrong size"))?;
    let (_, rest) = slot.split_at_mut(head_len);
    let (body, tag_slot) = rest.split_at_mut(body_len);
    let aad = BodyAad::new(message_id, kind, seq, body_len as u64)?;
    let tag = key
        .seal_in_place(&frame_iv(seq), aad.as_bytes(), body)
        .map_err(|_| Error::bad_arg("AES-GCM failed"))?;
    tag_slot.copy_from_slice(&tag);
    Ok(())
}

/// Bytes of ciphertext for `len` plaintext bytes in frames of `frame_length`
/// (header and footer excluded), as written by [`seal_all`]; `None` past
/// `usize::MAX` (a 32-bit target, frames of a few bytes).
pub(crate) fn checked_body_len(len: usize, frame_length: u32) -> Option<usize> {
    // In 64 bits: on a 32-bit target a frame length near 2^32 overflows
    // `usize` on its own, even for a message with no regular frame.
    let (len, fl) = (len as u64, u64::from(frame_length.max(1)));
    let regular = if len == 0 { 0 } else { (len - 1) / fl };
    let total = regular
        .checked_mul((frame_overhead(BodyKind::Regular) as u64).checked_add(fl)?)?
        .checked_add(frame_overhead(BodyKind::Final) as u64)?
        .checked_add(len - regular * fl)?;
    usize::try_from(total).ok()
}

/// [`checked_body_len`] of a message whose length was checked when it was
/// prepared (`Client::encrypt`'s `prepare`); saturating, never wrapping.
pub(crate) fn body_len(len: usize, frame_length: u32) -> usize {
    checked_body_len(len, frame_length).unwrap_or(usize::MAX)
}

/// Frames all of `plaintext`: full regular frames, then a final frame holding
/// the rest (a full final frame when the length is an exact multiple; a single
/// empty final frame for empty plaintext).
#[cfg(test)]
pub(crate) fn seal_all(sealer: &mut Sealer, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.resize(start + body_len(plaintext.len(), sealer.frame_length()), 0);
    if let Err(e) = seal_all_into(sealer, plaintext, Region::Init(&mut out[start..])) {
        wipe_from(out, start);
        return Err(e);
    }
    Ok(())
}

/// [`seal_all`] into `dst`, which holds exactly
/// [`body_len`]`(plaintext.len(), frame_length)` bytes and may be
/// uninitialized.
pub(crate) fn seal_all_into(sealer: &mut Sealer, plaintext: &[u8], dst: Region<'_>) -> Result<()> {
    let fl = sealer.frame_length() as usize;
    let regular = if plaintext.is_empty() {
        0
    } else {
        (plaintext.len() - 1) / fl
    };
    let (frames, last) = plaintext.split_at(regular * fl);
    let regular_size = regular_bytes(regular, fl).ok_or_else(too_large_for_memory)?;
    if dst.len() != body_len(plaintext.len(), sealer.frame_length()) {
        return Err(Error::bad_arg(
            "the output buffer does not fit the message body",
        ));
    }
    let (regular_dst, final_dst) = dst.split_at(regular_size).ok_or_else(output_too_small)?;
    sealer.seal_regular_into(frames, regular_dst)?;
    sealer.seal_frame_into(last, true, final_dst.into_zeroed())?;
    Ok(())
}
