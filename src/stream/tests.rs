//! Streaming and multi-threaded paths against the one-shot, single-threaded
//! reference: identical bytes, identical plaintext, the same failures.

use std::sync::Arc;

use crate::cmm::{DefaultMaterialsManager, MaterialsManager};
use crate::edk::EncryptedDataKey;
use crate::encrypt::{seal_all, Sealer};
use crate::error::{ErrorKind, Result};
use crate::future::{block_on, ready, BoxFuture};
use crate::keyring::Keyring;
use crate::materials::{DataKey, DecryptionMaterials, EncryptionMaterials, EncryptionRequest};
use crate::stream::{SignedRelease, StreamDecryptor, StreamEncryptor};
use crate::{AlgorithmSuite, Client, CommitmentPolicy, EncryptionContext};

/// Always the same data key, so two encryptions with the same message ID
/// are byte-identical.
struct FixedKeyring;

const FIXED_KEY: [u8; 32] = [0x5a; 32];

impl Keyring for FixedKeyring {
    fn on_encrypt<'a>(
        &'a self,
        mut m: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        let len = m.algorithm_suite().data_key_len();
        ready((|| {
            m.set_plaintext_data_key(DataKey::from_slice(&FIXED_KEY[..len]))?;
            m.add_encrypted_data_key(EncryptedDataKey::new("fixed", b"k".to_vec(), Vec::new()))?;
            Ok(m)
        })())
    }

    fn on_decrypt<'a>(
        &'a self,
        mut m: DecryptionMaterials,
        _: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        let len = m.algorithm_suite().data_key_len();
        ready(
            m.set_plaintext_data_key(DataKey::from_slice(&FIXED_KEY[..len]))
                .map(|()| m),
        )
    }
}

fn policy_for(suite: AlgorithmSuite) -> CommitmentPolicy {
    if suite.is_committing() {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

fn materials(suite: AlgorithmSuite) -> EncryptionMaterials {
    let cmm = DefaultMaterialsManager::new(Arc::new(FixedKeyring));
    let mut req = EncryptionRequest::new(
        EncryptionContext::from_iter([("purpose", "stream-test")]),
        policy_for(suite),
    );
    req.algorithm_suite = Some(suite);
    block_on(cmm.get_encryption_materials(req)).expect("materials")
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// The one-shot reference encryption with a fixed message ID.
fn reference(m: &EncryptionMaterials, fl: u32, threads: usize, pt: &[u8]) -> Vec<u8> {
    let id = vec![7u8; m.algorithm_suite().message_id_len()];
    let mut out = Vec::new();
    let mut sealer = Sealer::start_with_message_id(m, fl, threads, id, &mut out).unwrap();
    seal_all(&mut sealer, pt, &mut out).unwrap();
    sealer.finish(&mut out).unwrap();
    out
}

fn streamed(
    m: &EncryptionMaterials,
    fl: u32,
    threads: usize,
    pt: &[u8],
    split: &dyn Fn(usize) -> usize,
) -> Vec<u8> {
    let id = vec![7u8; m.algorithm_suite().message_id_len()];
    let mut header = Vec::new();
    let sealer = Sealer::start_with_message_id(m, fl, threads, id, &mut header).unwrap();
    let mut enc = StreamEncryptor::new(sealer, header, Some(pt.len() as u64));
    let mut out = Vec::new();
    let (mut pos, mut i) = (0, 0);
    while pos < pt.len() {
        let n = split(i).max(1).min(pt.len() - pos);
        enc.update(&pt[pos..pos + n], &mut out).unwrap();
        pos += n;
        i += 1;
    }
    enc.finish(&mut out).unwrap();
    out
}

/// Signatures are randomized: compare everything before the footer, which
/// starts right after the header and the body of a `pt_len`-byte message.
fn without_footer(msg: &[u8], pt_len: usize, fl: u32) -> &[u8] {
    let (_, header_len) = crate::MessageHeader::parse(msg, None).unwrap();
    &msg[..header_len + crate::encrypt::body_len(pt_len, fl)]
}

fn pseudo_random_split(seed: usize) -> impl Fn(usize) -> usize {
    move |i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 7) % 9000 + 1
}

#[test]
fn streaming_and_threads_write_the_same_bytes_as_one_shot() {
    for suite in AlgorithmSuite::ALL {
        let m = materials(suite);
        for (fl, len) in [
            (512u32, 0usize),
            (512, 1),
            (512, 511),
            (512, 512),
            (512, 513),
            (512, 1536),
            (512, 700_000),
            (4096, 1 << 20),
        ] {
            let pt = plaintext(len);
            let one = reference(&m, fl, 1, &pt);
            let one = without_footer(&one, len, fl).to_vec();
            let two = reference(&m, fl, 2, &pt);
            assert_eq!(
                without_footer(&two, len, fl),
                &one[..],
                "threads, {suite} fl={fl} len={len}"
            );
            let frame_sized = streamed(&m, fl, 1, &pt, &|_| fl as usize);
            assert_eq!(
                without_footer(&frame_sized, len, fl),
                &one[..],
                "frame pieces {suite} {len}"
            );
            let random = streamed(&m, fl, 3, &pt, &pseudo_random_split(len));
            assert_eq!(
                without_footer(&random, len, fl),
                &one[..],
                "random pieces {suite} {len}"
            );
            let big = streamed(&m, fl, 2, &pt, &|_| 300_000);
            assert_eq!(
                without_footer(&big, len, fl),
                &one[..],
                "big pieces {suite} {len}"
            );
            if len <= 1536 {
                let bytes = streamed(&m, fl, 1, &pt, &|_| 1);
                assert_eq!(
                    without_footer(&bytes, len, fl),
                    &one[..],
                    "1-byte pieces {suite} {len}"
                );
            }
        }
    }
}

fn decryptor(suite: AlgorithmSuite, threads: usize, release: SignedRelease) -> StreamDecryptor {
    Client::builder()
        .commitment_policy(policy_for(suite))
        .threads(threads)
        .build()
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .signed_release(release)
        .start()
        .unwrap()
}

fn decrypt_in_pieces(dec: &mut StreamDecryptor, msg: &[u8], piece: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for chunk in msg.chunks(piece.max(1)) {
        dec.update(chunk, &mut out)?;
    }
    dec.finish()?;
    Ok(out)
}

#[test]
fn streaming_decrypt_matches_for_every_split_and_thread_count() {
    for suite in AlgorithmSuite::ALL {
        let m = materials(suite);
        for (fl, len) in [
            (512u32, 0usize),
            (512, 513),
            (512, 700_000),
            (4096, 1 << 20),
        ] {
            let pt = plaintext(len);
            let msg = reference(&m, fl, 1, &pt);
            for threads in [1, 3] {
                for piece in [1usize, 7, 4096, 65_536, msg.len()] {
                    if piece < 4096 && len > 1000 {
                        continue;
                    }
                    for release in [SignedRelease::AfterSignature, SignedRelease::Frames] {
                        let mut dec = decryptor(suite, threads, release);
                        let out = decrypt_in_pieces(&mut dec, &msg, piece).unwrap();
                        assert!(
                            out == pt,
                            "{suite} fl={fl} len={len} threads={threads} piece={piece}"
                        );
                        assert!(dec.is_done());
                    }
                }
            }
        }
    }
}

#[test]
fn truncated_streams_fail_and_never_look_complete() {
    for suite in [
        AlgorithmSuite::AesGcm256HkdfSha512CommitKey,
        AlgorithmSuite::default(),
    ] {
        let m = materials(suite);
        let pt = plaintext(600_000);
        let msg = reference(&m, 512, 1, &pt);
        for cut in [0, 1, 100, msg.len() / 2, msg.len() - 17, msg.len() - 1] {
            for threads in [1, 2] {
                let mut dec = decryptor(suite, threads, SignedRelease::Frames);
                let err = decrypt_in_pieces(&mut dec, &msg[..cut], 65_536).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::MalformedMessage, "{suite} cut {cut}");
            }
        }
        // One byte too many.
        let mut longer = msg.clone();
        longer.push(0);
        let mut dec = decryptor(suite, 2, SignedRelease::Frames);
        assert!(decrypt_in_pieces(&mut dec, &longer, 4096).is_err());
    }
}

#[test]
fn tampered_frames_fail_in_every_thread_count() {
    let suite = AlgorithmSuite::AesGcm256HkdfSha512CommitKey;
    let m = materials(suite);
    let msg = reference(&m, 512, 1, &plaintext(700_000));
    for at in [msg.len() / 3, msg.len() / 2, msg.len() - 20] {
        let mut bad = msg.clone();
        bad[at] ^= 0x10;
        for threads in [1, 2] {
            let mut dec = decryptor(suite, threads, SignedRelease::Frames);
            let mut out = Vec::new();
            let err = dec.update(&bad, &mut out).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
            assert!(out.is_empty(), "a failed update releases nothing");
            assert!(
                dec.update(b"", &mut out).is_err(),
                "the decryptor stays failed"
            );
        }
    }
}

#[test]
fn signed_streams_hold_plaintext_until_the_signature_verifies() {
    let suite = AlgorithmSuite::default();
    let m = materials(suite);
    let pt = plaintext(10_000);
    let msg = reference(&m, 512, 1, &pt);
    let footer_start = without_footer(&msg, pt.len(), 512).len();
    let body = &msg[..footer_start];

    // Default: nothing before the signature.
    let mut dec = decryptor(suite, 1, SignedRelease::AfterSignature);
    let mut out = Vec::new();
    dec.update(body, &mut out).unwrap();
    assert!(out.is_empty());
    dec.update(&msg[footer_start..], &mut out).unwrap();
    dec.finish().unwrap();
    assert_eq!(out, pt);

    // Opt-in: regular frames early, never the final frame.
    let mut dec = decryptor(suite, 1, SignedRelease::Frames);
    let mut out = Vec::new();
    dec.update(body, &mut out).unwrap();
    let regular = (pt.len() - 1) / 512 * 512;
    assert_eq!(out, &pt[..regular]);
    dec.update(&msg[footer_start..], &mut out).unwrap();
    assert_eq!(out, pt);

    // A bad signature releases nothing more, and the default mode nothing at all.
    let mut bad = msg.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let mut dec = decryptor(suite, 1, SignedRelease::AfterSignature);
    let mut out = Vec::new();
    assert!(dec.update(&bad, &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn buffering_limits_and_unsigned_only_are_enforced() {
    let suite = AlgorithmSuite::default();
    let m = materials(suite);
    let msg = reference(&m, 512, 1, &plaintext(100_000));
    let client = Client::builder().threads(1).build();
    let mut dec = client
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .max_buffered_plaintext(10_000)
        .start()
        .unwrap();
    let err = dec.update(&msg, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PolicyViolation);

    let mut dec = client
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .unsigned_only(true)
        .start()
        .unwrap();
    let err = dec.update(&msg[..300], &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PolicyViolation);

    let mut dec = client
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .max_frame_size(256)
        .start()
        .unwrap();
    let err = dec.update(&msg, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PolicyViolation);
}

#[test]
fn declared_plaintext_length_is_enforced() {
    let keyring = Arc::new(FixedKeyring);
    let client = Client::new();
    let mut enc = client
        .stream_encrypt()
        .keyring(keyring.clone())
        .plaintext_length(3)
        .start()
        .unwrap();
    let mut out = Vec::new();
    assert!(enc.update(b"four", &mut out).is_err());
    let mut enc = client
        .stream_encrypt()
        .keyring(keyring)
        .plaintext_length(3)
        .start()
        .unwrap();
    enc.update(b"ab", &mut out).unwrap();
    assert_eq!(
        enc.finish(&mut out).unwrap_err().kind(),
        ErrorKind::BadArgument
    );
}

#[test]
fn a_header_declared_past_the_frame_limit_is_refused_before_it_is_buffered() {
    // 65,535 keys of three 64 KiB fields each: a 12.9 GiB header.
    let mut start = vec![2u8, 0x05, 0x78];
    start.extend_from_slice(&[1u8; 32]);
    start.extend_from_slice(&[0, 0, 0xff, 0xff, 0xff, 0xff]);
    for (limit, piece) in [(None, 1 << 20), (Some(1 << 20), 1000), (Some(4096), 1000)] {
        let mut builder = Client::new()
            .stream_decrypt()
            .keyring(Arc::new(FixedKeyring));
        if let Some(limit) = limit {
            builder = builder.max_frame_size(limit);
        }
        let mut dec = builder.start().unwrap();
        let limit = limit
            .unwrap_or(crate::stream::DEFAULT_MAX_FRAME_SIZE)
            .max(crate::format::MIN_STREAM_HEADER_LIMIT);
        let mut fed = start.len() as u64;
        let mut result = dec.update(&start, &mut Vec::new());
        let filler = vec![0xffu8; piece];
        while result.is_ok() {
            assert!(
                fed <= limit + piece as u64,
                "still buffering after {fed} bytes"
            );
            fed += piece as u64;
            result = dec.update(&filler, &mut Vec::new());
        }
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{err}");
        assert!(err.to_string().contains("header"), "{err}");
    }
}

#[test]
fn pending_input_grows_no_further_than_the_limit_that_refuses_it() {
    // The same endless header, fed in 1 MiB pieces, under a limit that is
    // not a power of two: doubling alone took the buffer to 64 MiB.
    let mut start = vec![2u8, 0x05, 0x78];
    start.extend_from_slice(&[1u8; 32]);
    start.extend_from_slice(&[0, 0, 0xff, 0xff, 0xff, 0xff]);
    let limit = 40 << 20;
    let piece = 1 << 20;
    let mut dec = Client::new()
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .max_frame_size(limit)
        .start()
        .unwrap();
    let mut result = dec.update(&start, &mut Vec::new());
    let filler = vec![0xffu8; piece];
    let mut most = 0;
    while result.is_ok() {
        most = most.max(dec.inner.pending_capacity());
        result = dec.update(&filler, &mut Vec::new());
    }
    assert_eq!(result.unwrap_err().kind(), ErrorKind::PolicyViolation);
    assert!(
        most <= limit as usize + piece,
        "the pending buffer grew to {most} bytes"
    );
    // A refused stream lets its buffer go.
    assert_eq!(dec.inner.pending_capacity(), 0);
}

#[test]
fn plaintext_held_for_a_signature_grows_no_further_than_its_limit() {
    let plaintext = vec![7u8; 36 << 20];
    let client = Client::new();
    let msg = client
        .encrypt(&plaintext)
        .keyring(&FixedKeyring)
        .algorithm_suite(AlgorithmSuite::AesGcm256HkdfSha512CommitKeyEcdsaP384)
        .run()
        .unwrap();
    let limit = 40 << 20;
    let mut dec = client
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .max_buffered_plaintext(limit)
        .start()
        .unwrap();
    let mut out = Vec::new();
    let mut most = 0;
    for piece in msg.chunks(1 << 20) {
        dec.update(piece, &mut out).unwrap();
        most = most.max(dec.inner.held_capacity());
    }
    dec.finish().unwrap();
    assert!(out == plaintext);
    // Doubling alone took it to 64 MiB.
    assert!(
        most <= limit as usize,
        "held plaintext grew to {most} bytes"
    );
}

#[test]
fn a_frame_limit_set_to_the_frame_length_still_reads_large_headers() {
    // A 60 KB context makes a header far longer than the 4 KiB frames.
    let mut context = EncryptionContext::new();
    context.insert("big", "x".repeat(60_000));
    let client = Client::new();
    let msg = client
        .encrypt(b"small body")
        .keyring(&FixedKeyring)
        .encryption_context(context)
        .frame_length(4096)
        .run()
        .unwrap();
    let mut dec = client
        .stream_decrypt()
        .keyring(Arc::new(FixedKeyring))
        .max_frame_size(4096)
        .start()
        .unwrap();
    let mut out = Vec::new();
    for piece in msg.chunks(777) {
        dec.update(piece, &mut out).unwrap();
    }
    dec.finish().unwrap();
    assert_eq!(out, b"small body");
}

#[test]
fn the_frame_limit_applies_to_what_each_frame_holds() {
    let client = Client::new();
    let limit = 4096;
    let stream = |msg: &[u8], piece: usize| -> crate::Result<Vec<u8>> {
        let mut dec = client
            .stream_decrypt()
            .keyring(Arc::new(FixedKeyring))
            .max_frame_size(limit)
            .start()?;
        let mut out = Vec::new();
        for chunk in msg.chunks(piece) {
            dec.update(chunk, &mut out)?;
        }
        dec.finish()?;
        Ok(out)
    };
    // A short message written with a frame length past the limit: its one
    // (final) frame holds 10 bytes, so it streams (the official SDKs write
    // frame lengths up to 2^32 - 1).
    for frame_length in [limit as u32 + 1, 1 << 27, u32::MAX] {
        let msg = client
            .encrypt(b"ten bytes!")
            .keyring(&FixedKeyring)
            .frame_length(frame_length)
            .run()
            .unwrap();
        assert_eq!(stream(&msg, 7).unwrap(), b"ten bytes!");
    }
    // A regular frame past the limit is refused as soon as its head is in,
    // and so is a final frame whose own length is past it.
    let big = vec![5u8; 3 * (limit as usize + 1)];
    for (plaintext, frame_length) in [(&big[..], limit as u32 + 1), (&big[..5000], 8192)] {
        let msg = client
            .encrypt(plaintext)
            .keyring(&FixedKeyring)
            .frame_length(frame_length)
            .run()
            .unwrap();
        let err = stream(&msg, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{err}");
        assert!(
            err.to_string().contains("exceeds the streaming limit"),
            "{err}"
        );
        // Fed a byte at a time, nothing past the frame's head is buffered
        // before the refusal.
        let header_len = crate::MessageHeader::parse(&msg, None).unwrap().1;
        let mut dec = client
            .stream_decrypt()
            .keyring(Arc::new(FixedKeyring))
            .max_frame_size(limit)
            .start()
            .unwrap();
        let mut fed = 0;
        let refused = msg.iter().any(|b| {
            fed += 1;
            dec.update(std::slice::from_ref(b), &mut Vec::new())
                .is_err()
        });
        assert!(refused);
        assert!(
            fed <= header_len + 28,
            "fed {fed} bytes, header {header_len}"
        );
    }
}

#[test]
fn a_decrypting_reader_refuses_an_inner_reader_that_overstates_its_read() {
    use crate::stream::io::DecryptingReader;
    use std::io::Read;

    /// Claims one byte more than the buffer it was given.
    struct Liar;
    impl Read for Liar {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            Ok(buf.len() + 1)
        }
    }

    let keyring: Arc<dyn Keyring> = Arc::new(FixedKeyring);
    let dec = Client::new()
        .stream_decrypt()
        .keyring(keyring)
        .start()
        .unwrap();
    let err = DecryptingReader::new(dec, Liar)
        .read(&mut [0; 64])
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("more bytes than"), "{err}");
}

#[test]
fn an_encrypting_writer_whose_inner_write_failed_refuses_a_retry() {
    use crate::stream::io::EncryptingWriter;
    use std::io::Write;

    /// Refuses its first write, then takes everything.
    struct FlakyOnce {
        failed: bool,
        out: Vec<u8>,
    }
    impl Write for FlakyOnce {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if !self.failed {
                self.failed = true;
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            self.out.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let keyring: Arc<dyn Keyring> = Arc::new(FixedKeyring);
    let enc = Client::new()
        .stream_encrypt()
        .keyring(keyring)
        .frame_length(4)
        .start()
        .unwrap();
    let mut w = EncryptingWriter::new(
        enc,
        FlakyOnce {
            failed: false,
            out: Vec::new(),
        },
    );
    // The bytes were encrypted before the inner write failed: a retry would
    // put them in the message twice, so it fails, and so does finish.
    assert!(w.write(b"hello world!").is_err());
    let retry = w.write_all(b"hello world!").unwrap_err();
    assert!(retry.to_string().contains("earlier write"), "{retry}");
    // Every later call: flush too.
    assert!(w.flush().unwrap_err().to_string().contains("earlier write"));
    assert!(w.finish().is_err());
}

#[test]
fn data_keys_compare_by_value() {
    assert_eq!(
        DataKey::from_slice(&[1, 2, 3]),
        DataKey::from_slice(&[1, 2, 3])
    );
    assert_ne!(
        DataKey::from_slice(&[1, 2, 3]),
        DataKey::from_slice(&[1, 2, 4])
    );
    assert_ne!(
        DataKey::from_slice(&[1, 2, 3]),
        DataKey::from_slice(&[1, 2])
    );
}

#[test]
fn a_regular_frame_never_takes_the_last_sequence_number() {
    // 2^32 - 1 frames at most, the last of them final: a stream that would
    // need a regular frame numbered 2^32 - 1 fails before writing it.
    let m = materials(AlgorithmSuite::from_id(0x0478).unwrap());
    let start = || {
        let mut header = Vec::new();
        let mut sealer = Sealer::start(&m, 4, 1, &mut header).unwrap();
        sealer.skip_to_sequence_number(u32::MAX - 1);
        StreamEncryptor::new(sealer, header, None)
    };
    let mut enc = start();
    let mut out = Vec::new();
    enc.update(b"abcdefgh", &mut out).unwrap();
    let written = out.len();
    let err = enc.update(b"ijkl", &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
    assert!(err.to_string().contains("2^32 - 1 frames"), "{err}");
    assert_eq!(
        out.len(),
        written,
        "no frame numbered 2^32 - 1 but the final one"
    );
    // Exactly as many frames as allowed: the last one is final.
    let mut enc = start();
    let mut out = Vec::new();
    enc.update(b"abcdefgh", &mut out).unwrap();
    enc.finish(&mut out).unwrap();
}

#[test]
fn a_failed_decryptor_still_names_the_message_it_authenticated() {
    let client = Client::new();
    let keyring: Arc<dyn Keyring> = Arc::new(FixedKeyring);
    for suite in [0x0478, 0x0578] {
        let m = client
            .encrypt(&plaintext(10_000))
            .keyring(&*keyring)
            .algorithm_suite(AlgorithmSuite::from_id(suite).unwrap())
            .encryption_context(EncryptionContext::from_iter([("purpose", "stream-test")]))
            .run()
            .unwrap();
        let header = crate::MessageHeader::parse(&m, None).unwrap().0;
        // The last byte (of the footer or the final frame's tag) flipped.
        let mut bad = m.clone();
        *bad.last_mut().unwrap() ^= 1;
        let mut d = client
            .stream_decrypt()
            .keyring(keyring.clone())
            .start()
            .unwrap();
        let mut out = Vec::new();
        assert!(d.update(&bad, &mut out).is_err());
        assert_eq!(d.header().map(|h| &h.message_id), Some(&header.message_id));
        assert_eq!(
            d.encryption_context().and_then(|c| c.get("purpose")),
            Some("stream-test")
        );
        assert!(!d.is_done());
        // A header that never authenticated is not reported.
        let mut bad = m.clone();
        bad[40] ^= 1;
        let mut d = client
            .stream_decrypt()
            .keyring(keyring.clone())
            .start()
            .unwrap();
        assert!(d.update(&bad, &mut out).is_err());
        assert!(d.header().is_none() && d.encryption_context().is_none());
    }
}

#[test]
fn a_declared_length_past_the_last_frame_fails_before_the_keyring() {
    /// Counts the calls, so the test shows the check comes first.
    struct Counting(std::sync::atomic::AtomicUsize);
    impl Keyring for Counting {
        fn on_encrypt<'a>(
            &'a self,
            m: EncryptionMaterials,
        ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            FixedKeyring.on_encrypt(m)
        }
        fn on_decrypt<'a>(
            &'a self,
            m: DecryptionMaterials,
            edks: &'a [EncryptedDataKey],
        ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
            FixedKeyring.on_decrypt(m, edks)
        }
    }
    let counting = Arc::new(Counting(Default::default()));
    let start = |frame_length: u32, len: u64| {
        let keyring: Arc<dyn Keyring> = counting.clone();
        Client::new()
            .stream_encrypt()
            .keyring(keyring)
            .frame_length(frame_length)
            .plaintext_length(len)
            .start()
    };
    // 2^32 - 2 regular frames and a final one: the most a message holds.
    let fits = (1u64 << 32) - 1;
    for (frame_length, len) in [(1, fits + 1), (2, 2 * fits + 1), (u32::MAX, u64::MAX)] {
        let err = start(frame_length, len).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
        assert!(err.to_string().contains("2^32 - 1 frames"), "{err}");
    }
    assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    for (frame_length, len) in [(1, fits), (2, 2 * fits), (u32::MAX, 0)] {
        start(frame_length, len).unwrap();
    }
    assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 3);
}
