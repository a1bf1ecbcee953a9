//! Negative tests, derived from messages we encrypt (and a few hand-built or
//! known-answer ones): every one must fail, with an error kind that fits the
//! layer that noticed, without panicking and without large allocations.

mod common;

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::sync::Arc;

use common::*;
use kms_envelope::{
    AlgorithmSuite, AuthFailure, Client, CommitmentPolicy, EncryptionContext, Error, ErrorKind,
    Keyring, MessageHeader, MultiKeyring, RawAesKeyring, RawRsaKeyring, RsaPadding, RsaPrivateKey,
    RsaPublicKey,
};

// ---------------------------------------------------------------------------
// Largest single allocation made by the current thread (for "fails fast,
// allocates nothing large" on hostile lengths).

struct PeakAlloc;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = PEAK.try_with(|p| {
        if size > p.get() {
            p.set(size)
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds `GlobalAlloc`'s contract; `note` only records a size in a
// thread-local and never allocates.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

/// Runs `f`, returning its result and the largest allocation it made.
fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    PEAK.with(|p| p.set(0));
    let out = f();
    (out, PEAK.with(|p| p.get()))
}

const SMALL: usize = 64 * 1024;

// ---------------------------------------------------------------------------
// Sample messages

struct Sample {
    name: String,
    suite: AlgorithmSuite,
    msg: Vec<u8>,
    keyring: Arc<dyn Keyring>,
}

impl Sample {
    fn new(id: u16, keyring: Arc<dyn Keyring>, frame_length: u32, len: usize) -> Self {
        let suite = suite(id);
        let ec = EncryptionContext::from_iter([("purpose", "negative"), ("Tenant", "ü")]);
        let msg = encrypt(
            suite,
            &*keyring,
            frame_length,
            &ec,
            &bytes(u64::from(id), len),
        );
        let frames = layout(&msg).frames.len();
        Self {
            name: format!("{id:04x}/{frames} frames"),
            suite,
            msg,
            keyring,
        }
    }

    fn decrypt(&self, msg: &[u8]) -> kms_envelope::Result<kms_envelope::Decrypted> {
        client_for(self.suite)
            .decrypt(msg)
            .keyring(&*self.keyring)
            .run()
    }
}

fn aes(len: usize) -> Arc<dyn Keyring> {
    Arc::new(aes_keyring(len))
}

/// Small messages of several suites with 2 or 3 frames.
fn samples() -> Vec<Sample> {
    vec![
        Sample::new(0x0578, aes(32), 8, 20),
        Sample::new(0x0478, aes(16), 8, 16),
        Sample::new(0x0378, aes(24), 8, 17),
        Sample::new(0x0214, aes(32), 5, 12),
        Sample::new(0x0014, aes(32), 8, 9),
    ]
}

#[test]
fn samples_decrypt_unmodified() {
    // Guards every test below: the untouched messages do decrypt.
    for s in samples() {
        let out = s
            .decrypt(&s.msg)
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(
            out.plaintext,
            bytes(u64::from(s.suite.id()), out.plaintext.len())
        );
        let frames = layout(&s.msg).frames.len();
        assert!((2..=3).contains(&frames), "{}", s.name);
    }
}

#[test]
fn every_truncation_fails_as_malformed() {
    for s in samples() {
        for len in 0..s.msg.len() {
            let err = s
                .decrypt(&s.msg[..len])
                .expect_err(&format!("{} cut at {len}", s.name));
            assert_eq!(
                err.kind(),
                ErrorKind::MalformedMessage,
                "{} cut at {len}: {err}",
                s.name
            );
        }
    }
}

#[test]
fn appended_bytes_fail_as_malformed() {
    for s in samples() {
        for extra in [&[0u8][..], &[0xFF], &s.msg[s.msg.len() - 3..]] {
            let mut msg = s.msg.clone();
            msg.extend_from_slice(extra);
            let err = s.decrypt(&msg).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedMessage, "{}: {err}", s.name);
        }
        // A whole second message after the first is trailing data too.
        let mut twice = s.msg.clone();
        twice.extend_from_slice(&s.msg);
        expect_kind(s.decrypt(&twice), ErrorKind::MalformedMessage);
    }
}

/// Which part of the message a byte belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    HeaderBody,
    Commitment,
    HeaderAuth,
    Body,
    Footer,
}

fn regions(msg: &[u8]) -> Vec<Region> {
    let l = layout(msg);
    let body_len = l.header.body_bytes().len();
    let footer_start = l.footer.map_or(msg.len(), |(off, _)| off);
    (0..msg.len())
        .map(|i| match i {
            _ if i < body_len && l.header.commitment.is_some() && i >= body_len - 32 => {
                Region::Commitment
            }
            _ if i < body_len => Region::HeaderBody,
            _ if i < l.header_len => Region::HeaderAuth,
            _ if i < footer_start => Region::Body,
            _ => Region::Footer,
        })
        .collect()
}

fn check_flip(s: &Sample, region: Region, pos: usize, bit: u8) {
    let mut msg = s.msg.clone();
    msg[pos] ^= 1 << bit;
    let err = match s.decrypt(&msg) {
        Ok(_) => panic!(
            "{}: flipping bit {bit} of byte {pos} ({region:?}) went unnoticed",
            s.name
        ),
        Err(e) => e,
    };
    let fits = match region {
        // Parsing, policy, unwrapping (the EC is the raw AES AAD) or the header tag.
        Region::HeaderBody => matches!(
            err.kind(),
            ErrorKind::MalformedMessage
                | ErrorKind::PolicyViolation
                | ErrorKind::NoKeyUnwrapped
                | ErrorKind::AuthenticationFailed
        ),
        Region::Commitment => matches!(err, Error::AuthenticationFailed(AuthFailure::Commitment)),
        Region::HeaderAuth => matches!(err, Error::AuthenticationFailed(AuthFailure::Header)),
        Region::Body => matches!(
            err,
            Error::MalformedMessage(_) | Error::AuthenticationFailed(AuthFailure::Body)
        ),
        Region::Footer => matches!(
            err,
            Error::MalformedMessage(_) | Error::AuthenticationFailed(AuthFailure::Signature)
        ),
    };
    assert!(
        fits,
        "{}: bit {bit} of byte {pos} ({region:?}) gave {err:?}",
        s.name
    );
}

#[test]
fn every_bit_flip_fails_with_a_fitting_error() {
    for s in samples() {
        let regions = regions(&s.msg);
        // Every bit of the header and body. In the footer every bit of its
        // length and DER prefix, then one bit per byte (rotating): each flip
        // there costs a signature verification, which is slow on the
        // RustCrypto backend.
        let signature_bytes = regions
            .iter()
            .position(|r| *r == Region::Footer)
            .map_or(usize::MAX, |f| f + 4);
        for (pos, region) in regions.iter().enumerate() {
            let bits = if pos >= signature_bytes {
                pos % 8..pos % 8 + 1
            } else {
                0..8
            };
            for bit in bits {
                check_flip(&s, *region, pos, bit as u8);
            }
        }
        // Every region was exercised.
        for r in [Region::HeaderBody, Region::HeaderAuth, Region::Body] {
            assert!(regions.contains(&r));
        }
        assert_eq!(regions.contains(&Region::Footer), s.suite.is_signing());
        assert_eq!(
            regions.contains(&Region::Commitment),
            s.suite.is_committing()
        );
    }
}

#[test]
fn bit_flips_in_an_rsa_wrapped_message() {
    // RSA EDKs are 256 bytes: one bit per byte position (rotating) keeps it quick.
    let s = Sample::new(
        0x0478,
        Arc::new(rsa_keyring(RsaPadding::OaepSha256)),
        16,
        40,
    );
    s.decrypt(&s.msg).unwrap();
    for (pos, region) in regions(&s.msg).into_iter().enumerate() {
        check_flip(&s, region, pos, (pos % 8) as u8);
    }
}

// ---------------------------------------------------------------------------
// Targeted changes

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "needle occurs exactly once");
    hits[0]
}

fn two_edk_message(suite_id: u16) -> (Vec<u8>, Arc<dyn Keyring>, Arc<dyn Keyring>) {
    let first = aes(32);
    let second = aes(16);
    let multi = MultiKeyring::new(Some(first.clone()), vec![second.clone()]).unwrap();
    let msg = encrypt(
        suite(suite_id),
        &multi,
        4096,
        &EncryptionContext::new(),
        b"two EDKs",
    );
    assert_eq!(layout(&msg).header.encrypted_data_keys.len(), 2);
    (msg, first, second)
}

#[test]
fn changed_encrypted_data_key() {
    let (msg, first, second) = two_edk_message(0x0578);
    let client = Client::new();
    let edks = layout(&msg).header.encrypted_data_keys;
    assert_eq!(
        client
            .decrypt(&msg)
            .keyring(&*first)
            .run()
            .unwrap()
            .plaintext,
        b"two EDKs"
    );
    assert_eq!(
        client
            .decrypt(&msg)
            .keyring(&*second)
            .run()
            .unwrap()
            .plaintext,
        b"two EDKs"
    );

    // Wrapped key bytes of EDK 1 changed: its keyring cannot unwrap it...
    let mut tampered = msg.clone();
    tampered[find(&msg, &edks[0].ciphertext) + 5] ^= 0x40;
    expect_kind(
        client.decrypt(&tampered).keyring(&*first).run(),
        ErrorKind::NoKeyUnwrapped,
    );
    // ...and the keyring of the intact EDK 2 unwraps, but the header tag fails.
    let err = client
        .decrypt(&tampered)
        .keyring(&*second)
        .run()
        .unwrap_err();
    assert!(
        matches!(err, Error::AuthenticationFailed(AuthFailure::Header)),
        "{err}"
    );

    // Provider info (key name) of EDK 1 changed: not this keyring's EDK any more.
    let mut tampered = msg.clone();
    tampered[find(&msg, &edks[0].provider_info)] ^= 0x01;
    expect_kind(
        client.decrypt(&tampered).keyring(&*first).run(),
        ErrorKind::NoKeyUnwrapped,
    );
    // Provider ID of EDK 2 changed.
    let mut tampered = msg.clone();
    let info2 = find(&msg, &edks[1].provider_info);
    tampered[info2 - 3] ^= 0x01; // last byte of the provider ID before it
    expect_kind(
        client.decrypt(&tampered).keyring(&*second).run(),
        ErrorKind::NoKeyUnwrapped,
    );
    // Swapping the two EDKs' order changes the header: the tag fails.
    let (a, b) = (
        find(&msg, &edks[0].provider_info) - 2 - 2 - NAMESPACE.len(),
        find(&msg, &edks[1].ciphertext) + 48,
    );
    let edk1_len =
        2 + NAMESPACE.len() + 2 + edks[0].provider_info.len() + 2 + edks[0].ciphertext.len();
    let mut swapped = msg[..a].to_vec();
    swapped.extend_from_slice(&msg[a + edk1_len..b]);
    swapped.extend_from_slice(&msg[a..a + edk1_len]);
    swapped.extend_from_slice(&msg[b..]);
    assert_eq!(swapped.len(), msg.len());
    let err = client.decrypt(&swapped).keyring(&*first).run().unwrap_err();
    assert!(
        matches!(err, Error::AuthenticationFailed(AuthFailure::Header)),
        "{err}"
    );
}

#[test]
fn changed_or_added_reproduced_context() {
    let ec = EncryptionContext::from_iter([("purpose", "test"), ("Größe", "L")]);
    for (keyring, added_fails_as) in [
        // Raw AES binds the context in its wrapping AAD; RSA does not, so the
        // header tag catches it.
        (aes(32), ErrorKind::NoKeyUnwrapped),
        (
            Arc::new(rsa_keyring(RsaPadding::OaepSha512)) as Arc<dyn Keyring>,
            ErrorKind::AuthenticationFailed,
        ),
    ] {
        for id in [0x0578, 0x0178] {
            let s = suite(id);
            let msg = encrypt(s, &*keyring, 4096, &ec, b"context");
            let client = client_for(s);
            let decrypt = |reproduced: &[(&str, &str)]| {
                let r = EncryptionContext::from_iter(reproduced.iter().copied());
                client
                    .decrypt(&msg)
                    .keyring(&*keyring)
                    .encryption_context(r)
                    .run()
            };
            // Matching subsets succeed.
            assert_eq!(decrypt(&[]).unwrap().plaintext, b"context");
            assert_eq!(decrypt(&[("Größe", "L")]).unwrap().plaintext, b"context");
            assert_eq!(
                decrypt(&[("purpose", "test"), ("Größe", "L")])
                    .unwrap()
                    .plaintext,
                b"context"
            );
            // A changed value of a stored pair: the CMM refuses.
            expect_kind(decrypt(&[("purpose", "other")]), ErrorKind::PolicyViolation);
            expect_kind(decrypt(&[("Größe", "l")]), ErrorKind::PolicyViolation);
            // An added pair the message never had.
            let err = expect_kind(
                decrypt(&[("purpose", "test"), ("extra", "1")]),
                added_fails_as,
            );
            if added_fails_as == ErrorKind::AuthenticationFailed {
                assert!(
                    matches!(err, Error::AuthenticationFailed(AuthFailure::Header)),
                    "{err}"
                );
            }
            // Case matters in keys.
            expect_kind(decrypt(&[("Purpose", "test")]), added_fails_as);
        }
    }
}

#[test]
fn reserved_keys_the_message_lacks_never_match() {
    let ec = EncryptionContext::from_iter([("purpose", "test")]);
    let keyring = aes(32);
    for id in [0x0478, 0x0578] {
        let s = suite(id);
        let msg = encrypt(s, &*keyring, 4096, &ec, b"reserved");
        let client = client_for(s);
        let decrypt = |reproduced: EncryptionContext| {
            client
                .decrypt(&msg)
                .keyring(&*keyring)
                .encryption_context(reproduced)
                .run()
        };
        let stored = decrypt(EncryptionContext::new())
            .unwrap()
            .encryption_context;
        // The whole context a decrypt returned may be given back.
        assert_eq!(decrypt(stored.clone()).unwrap().plaintext, b"reserved");
        // A signing key the (unsigned) message lacks, or another reserved
        // key: the caller's context does not match, whatever the keyring.
        let public_key = stored
            .get("aws-crypto-public-key")
            .unwrap_or("A2ZnRxcWQq0Au3Ts/kQ2g1zXwHuGs5yPmEwbTj+Vkhz5xhS3D6xE3T49zU7yDbpnEQ==");
        let reserved = [
            ("aws-crypto-public-key", public_key),
            ("aws-crypto-other", "x"),
        ];
        for (key, value) in reserved {
            if stored.get(key).is_some() {
                continue;
            }
            let err = expect_kind(
                decrypt(EncryptionContext::from_iter([(key, value)])),
                ErrorKind::PolicyViolation,
            );
            assert!(
                err.to_string().contains(&format!("has no '{key}'")),
                "{err}"
            );
        }
    }
}

#[test]
fn wrong_keys() {
    let ec = EncryptionContext::new();
    let msg = encrypt(suite(0x0578), &aes_keyring(32), 4096, &ec, b"wrong keys");
    let client = Client::new();
    let same_name_other_key = RawAesKeyring::new(NAMESPACE, "aes-256", &[0x55; 32]).unwrap();
    let other_name = RawAesKeyring::new(NAMESPACE, "aes-999", &aes_key_bytes(32)).unwrap();
    let other_namespace = RawAesKeyring::new("elsewhere", "aes-256", &aes_key_bytes(32)).unwrap();
    for k in [&same_name_other_key, &other_name, &other_namespace] {
        expect_kind(
            client.decrypt(&msg).keyring(k).run(),
            ErrorKind::NoKeyUnwrapped,
        );
    }
    // A key under another name: the reason names the message's keys of
    // the namespace, the usual mistake being a key file named otherwise.
    let err = client.decrypt(&msg).keyring(&other_name).run().unwrap_err();
    assert!(
        err.to_string()
            .contains("keys in this namespace are named \"aes-256\""),
        "{err}"
    );
    let err = client
        .decrypt(&msg)
        .keyring(&other_namespace)
        .run()
        .unwrap_err();
    assert!(!err.to_string().contains("named"), "{err}");
    // RSA: the same name with another private key.
    let msg = encrypt(
        suite(0x0478),
        &rsa_keyring(RsaPadding::Pkcs1V15),
        4096,
        &ec,
        b"rsa",
    );
    for padding in RsaPadding::ALL {
        let other = RawRsaKeyring::new(
            NAMESPACE,
            "rsa-2048",
            padding,
            None,
            Some(rsa_other_private()),
        )
        .unwrap();
        expect_kind(
            client.decrypt(&msg).keyring(&other).run(),
            ErrorKind::NoKeyUnwrapped,
        );
    }
    let renamed = RawRsaKeyring::new(
        NAMESPACE,
        "rsa-public",
        RsaPadding::Pkcs1V15,
        None,
        Some(rsa_private()),
    )
    .unwrap();
    let err = client.decrypt(&msg).keyring(&renamed).run().unwrap_err();
    assert!(
        err.to_string()
            .contains("keys in this namespace are named \"rsa-2048\""),
        "{err}"
    );
    // A data key of the wrong length from a custom keyring is refused.
    let short = FixedKeyring::new("x", vec![0; 16]);
    expect_kind(
        client.decrypt(&msg).keyring(&short).run(),
        ErrorKind::BadArgument,
    );
}

#[test]
fn too_many_encrypted_data_keys_fails_before_any_unwrap() {
    for id in [0x0478, 0x0578] {
        let (msg, first, _) = two_edk_message(id);
        let counting = CountingKeyring::new(first);
        let strict = Client::builder().max_encrypted_data_keys(1).build();
        let err = strict.decrypt(&msg).keyring(&counting).run().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{err}");
        assert_eq!(counting.decrypts(), 0, "no unwrap was attempted");
        let cmm = CountingCmm::over_keyring(Arc::new(aes_keyring(32)));
        expect_kind(
            strict.decrypt(&msg).materials_manager(&cmm).run(),
            ErrorKind::PolicyViolation,
        );
        assert_eq!(cmm.decrypts(), 0, "the materials manager was not asked");
        // The limit is inclusive and the counter works.
        let ok = Client::builder().max_encrypted_data_keys(2).build();
        assert_eq!(
            ok.decrypt(&msg).keyring(&counting).run().unwrap().plaintext,
            b"two EDKs"
        );
        assert_eq!(counting.decrypts(), 1);
    }
    // Encrypt enforces the limit too.
    let multi = MultiKeyring::new(Some(aes(32)), vec![aes(16)]).unwrap();
    let strict = Client::builder().max_encrypted_data_keys(1).build();
    expect_kind(
        strict.encrypt(b"x").keyring(&multi).run(),
        ErrorKind::PolicyViolation,
    );
}

#[test]
fn commitment_mismatch() {
    for id in [0x0478, 0x0578] {
        let s = Sample::new(id, aes(32), 8, 20);
        let l = layout(&s.msg);
        let end = l.header.body_bytes().len();
        for pos in [end - 32, end - 17, end - 1] {
            let mut msg = s.msg.clone();
            msg[pos] ^= 0x80;
            let err = s.decrypt(&msg).unwrap_err();
            assert!(
                matches!(err, Error::AuthenticationFailed(AuthFailure::Commitment)),
                "{err}"
            );
        }
        // The commitment of another message, with everything else unchanged.
        let other = Sample::new(id, aes(32), 8, 20);
        let mut msg = s.msg.clone();
        msg[end - 32..end].copy_from_slice(&other.msg[end - 32..end]);
        let err = s.decrypt(&msg).unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationFailed(AuthFailure::Commitment)),
            "{err}"
        );
    }
}

#[test]
fn signature_mismatch() {
    for id in [0x0578, 0x0378, 0x0214] {
        let keyring = aes(32);
        let ec = EncryptionContext::new();
        let a = encrypt(suite(id), &*keyring, 4096, &ec, b"same plaintext");
        let client = client_for(suite(id));
        let la = layout(&a);
        let (off, sig_len) = la.footer.unwrap();
        // Flip a bit inside r and inside s.
        for pos in [off + 2 + 6, off + 2 + sig_len - 2] {
            let mut msg = a.clone();
            msg[pos] ^= 0x01;
            let err = client.decrypt(&msg).keyring(&*keyring).run().unwrap_err();
            assert!(
                matches!(err, Error::AuthenticationFailed(AuthFailure::Signature)),
                "{err}"
            );
        }
        // A valid signature, but of another message (same suite, same length).
        loop {
            let b = encrypt(suite(id), &*keyring, 4096, &ec, b"same plaintext");
            let (boff, blen) = layout(&b).footer.unwrap();
            if blen != sig_len {
                continue;
            }
            let mut msg = a[..off].to_vec();
            msg.extend_from_slice(&b[boff..]);
            let err = client.decrypt(&msg).keyring(&*keyring).run().unwrap_err();
            assert!(
                matches!(err, Error::AuthenticationFailed(AuthFailure::Signature)),
                "{err}"
            );
            break;
        }
        // No footer at all ("half-signed" message).
        expect_kind(
            client.decrypt(&a[..off]).keyring(&*keyring).run(),
            ErrorKind::MalformedMessage,
        );
        // Footer with an empty signature.
        let mut msg = a[..off].to_vec();
        msg.extend_from_slice(&[0, 0]);
        let err = client.decrypt(&msg).keyring(&*keyring).run().unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationFailed(AuthFailure::Signature)),
            "{err}"
        );
    }
}

#[test]
fn tampered_frames_release_nothing() {
    // A one-shot decrypt returns Err, never a partial plaintext, even when
    // only the LAST frame of an unsigned multi-frame message is bad.
    for id in [0x0478, 0x0178, 0x0014] {
        let s = Sample::new(id, aes(32), 16, 40);
        let l = layout(&s.msg);
        assert_eq!(l.frames.len(), 3);
        for (i, f) in l.frames.iter().enumerate() {
            for pos in [
                f.ct_offset,
                f.ct_offset + f.content_len + 15, /* last tag byte */
            ] {
                let mut msg = s.msg.clone();
                msg[pos] ^= 0x01;
                let err = s.decrypt(&msg).unwrap_err();
                assert!(
                    matches!(err, Error::AuthenticationFailed(AuthFailure::Body)),
                    "{} frame {i}: {err}",
                    s.name
                );
            }
        }
        let (f1, f2, last) = (&l.frames[0], &l.frames[1], &l.frames[2]);
        // Frames 1 and 2 swapped whole: sequence numbers out of order.
        let mut msg = s.msg[..f1.offset].to_vec();
        msg.extend_from_slice(&s.msg[f2.offset..f2.offset + f2.size]);
        msg.extend_from_slice(&s.msg[f1.offset..f1.offset + f1.size]);
        msg.extend_from_slice(&s.msg[last.offset..]);
        expect_kind(s.decrypt(&msg), ErrorKind::MalformedMessage);
        // Swapped but renumbered: the AAD (sequence number) no longer matches.
        msg[f1.offset..f1.offset + 4].copy_from_slice(&1u32.to_be_bytes());
        msg[f2.offset..f2.offset + 4].copy_from_slice(&2u32.to_be_bytes());
        let err = s.decrypt(&msg).unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationFailed(AuthFailure::Body)),
            "{err}"
        );
        // The final frame dropped.
        expect_kind(
            s.decrypt(&s.msg[..last.offset]),
            ErrorKind::MalformedMessage,
        );
        // A middle frame dropped.
        let mut msg = s.msg[..f2.offset].to_vec();
        msg.extend_from_slice(&s.msg[last.offset..]);
        expect_kind(s.decrypt(&msg), ErrorKind::MalformedMessage);
        // The final frame marked as a regular frame (seq 3). Here both take
        // 48 bytes, so it parses, and its tag (over other AAD) fails.
        let mut msg = s.msg.clone();
        msg[last.offset..last.offset + 4].copy_from_slice(&3u32.to_be_bytes());
        let err = s.decrypt(&msg).unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationFailed(AuthFailure::Body)),
            "{err}"
        );
        // Final frame content length above the frame length.
        let mut msg = s.msg.clone();
        msg[last.offset + 20..last.offset + 24].copy_from_slice(&17u32.to_be_bytes());
        expect_kind(s.decrypt(&msg), ErrorKind::MalformedMessage);
    }
}

#[test]
fn base64_input_is_a_clear_malformed_message() {
    use base64::Engine;
    for s in [
        Sample::new(0x0578, aes(32), 4096, 5),
        Sample::new(0x0178, aes(32), 4096, 5),
    ] {
        let text = base64::engine::general_purpose::STANDARD.encode(&s.msg);
        assert!(text.starts_with(if s.suite.is_committing() { "Ag" } else { "AY" }));
        let err = expect_kind(s.decrypt(text.as_bytes()), ErrorKind::MalformedMessage);
        assert!(err.to_string().contains("base64"), "{err}");
        assert!(MessageHeader::parse(text.as_bytes(), None).is_err());
        // A stream fed a byte at a time says the same: the scan waits for
        // the second byte after an `A` before the parser looks.
        let mut stream = client_for(s.suite)
            .stream_decrypt()
            .keyring(s.keyring.clone())
            .start()
            .unwrap();
        let mut out = Vec::new();
        let err = text
            .as_bytes()
            .chunks(1)
            .find_map(|byte| stream.update(byte, &mut out).err())
            .expect("a base64 text is refused");
        assert_eq!(err.kind(), ErrorKind::MalformedMessage);
        assert!(err.to_string().contains("base64"), "{err}");
        assert!(out.is_empty());
    }
    // A lone `A` (the scan waited for a second byte) is no message at all,
    // not a truncated one, in one call and at the end of a stream.
    let lone = Client::new().decrypt(b"A").keyring(&*aes(32)).run();
    let err = expect_kind(lone, ErrorKind::MalformedMessage);
    assert!(
        err.to_string().contains("not an encrypted message"),
        "{err}"
    );
    let mut stream = Client::new()
        .stream_decrypt()
        .keyring(aes(32))
        .start()
        .unwrap();
    let mut out = Vec::new();
    stream.update(b"A", &mut out).unwrap();
    let err = stream.finish().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedMessage);
    assert!(
        err.to_string().contains("not an encrypted message"),
        "{err}"
    );
}

#[test]
fn commitment_policy_violations() {
    let keyring = aes(32);
    // v1 messages under REQUIRE_ENCRYPT_REQUIRE_DECRYPT: refused before any unwrap.
    for s in AlgorithmSuite::ALL
        .into_iter()
        .filter(|s| !s.is_committing())
    {
        let msg = encrypt(s, &*keyring, 4096, &EncryptionContext::new(), b"v1");
        let counting = CountingKeyring::new(keyring.clone());
        let err = Client::new()
            .decrypt(&msg)
            .keyring(&counting)
            .run()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{s}: {err}");
        assert_eq!(counting.decrypts(), 0);
        // The client checks the header's suite itself, before asking any
        // materials manager (which need not check the policy).
        let cmm = CountingCmm::over_keyring(keyring.clone());
        expect_kind(
            Client::new().decrypt(&msg).materials_manager(&cmm).run(),
            ErrorKind::PolicyViolation,
        );
        assert_eq!(cmm.decrypts(), 0);
        // Allowed with an ALLOW_DECRYPT policy.
        let allow = Client::builder()
            .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
            .build();
        assert_eq!(
            allow
                .decrypt(&msg)
                .keyring(&counting)
                .run()
                .unwrap()
                .plaintext,
            b"v1"
        );

        // Encrypting a non-committing suite under the default policy.
        let err = Client::new()
            .encrypt(b"x")
            .keyring(&counting)
            .algorithm_suite(s)
            .run();
        expect_kind(err, ErrorKind::PolicyViolation);
        let allow_enc = Client::builder()
            .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
            .build();
        expect_kind(
            allow_enc
                .encrypt(b"x")
                .keyring(&counting)
                .algorithm_suite(s)
                .run(),
            ErrorKind::PolicyViolation,
        );
        assert_eq!(
            counting.encrypts.load(std::sync::atomic::Ordering::SeqCst),
            0
        );
    }
    // Committing suites under FORBID_ENCRYPT.
    let forbid = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    for s in AlgorithmSuite::ALL
        .into_iter()
        .filter(|s| s.is_committing())
    {
        expect_kind(
            forbid
                .encrypt(b"x")
                .keyring(&*keyring)
                .algorithm_suite(s)
                .run(),
            ErrorKind::PolicyViolation,
        );
    }
}

#[test]
fn bad_arguments() {
    let keyring = aes_keyring(32);
    let client = Client::new();
    for key in [
        "aws-crypto-public-key",
        "aws-crypto-",
        "aws-crypto-anything",
    ] {
        let ec = EncryptionContext::from_iter([(key, "v"), ("fine", "v")]);
        expect_kind(
            client
                .encrypt(b"x")
                .keyring(&keyring)
                .encryption_context(ec)
                .run(),
            ErrorKind::BadArgument,
        );
    }
    // Only the exact prefix is reserved.
    let ec = EncryptionContext::from_iter([("AWS-CRYPTO-x", "v"), ("aws-cryptox", "v")]);
    let msg = client
        .encrypt(b"x")
        .keyring(&keyring)
        .encryption_context(ec)
        .run()
        .unwrap();
    assert_eq!(
        client
            .decrypt(&msg)
            .keyring(&keyring)
            .run()
            .unwrap()
            .plaintext,
        b"x"
    );

    expect_kind(
        client.encrypt(b"x").keyring(&keyring).frame_length(0).run(),
        ErrorKind::BadArgument,
    );
    // An encryption context that does not fit the header's u16 AAD length.
    for ec in [
        EncryptionContext::from_iter([("k", "v".repeat(65_535))]),
        // 65457 bytes fit alone, but not with the 93 bytes of the public key pair.
        EncryptionContext::from_iter([("k", "v".repeat(65_450))]),
        EncryptionContext::from_iter((0..8000).map(|i| (format!("k{i}"), String::new()))),
    ] {
        expect_kind(
            client
                .encrypt(b"x")
                .keyring(&keyring)
                .encryption_context(ec)
                .run(),
            ErrorKind::BadArgument,
        );
    }
    expect_kind(client.encrypt(b"x").run(), ErrorKind::BadArgument);
    expect_kind(client.decrypt(&msg).run(), ErrorKind::BadArgument);

    for len in [0usize, 1, 8, 15, 17, 20, 23, 25, 31, 33, 48, 64] {
        expect_kind(
            RawAesKeyring::new(NAMESPACE, "k", &vec![1; len]),
            ErrorKind::BadArgument,
        );
    }
    for len in [16usize, 24, 32] {
        RawAesKeyring::new(NAMESPACE, "k", &vec![1; len]).unwrap();
    }
    expect_kind(
        RawAesKeyring::new("aws-kms", "k", &[1; 32]),
        ErrorKind::BadArgument,
    );
    expect_kind(
        RawRsaKeyring::new(NAMESPACE, "k", RsaPadding::OaepSha256, None, None),
        ErrorKind::BadArgument,
    );
    expect_kind(RsaPublicKey::from_pem("not a key"), ErrorKind::BadArgument);
    expect_kind(
        RsaPrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
        ErrorKind::BadArgument,
    );
    expect_kind("0x0479".parse::<AlgorithmSuite>(), ErrorKind::BadArgument);
    expect_kind(
        "SOMETIMES".parse::<CommitmentPolicy>(),
        ErrorKind::BadArgument,
    );
}

// ---------------------------------------------------------------------------
// Hostile headers and lengths

/// Decrypts `msg`, asserting the error kind and that nothing large was allocated.
#[track_caller]
fn hostile(client: &Client, keyring: &dyn Keyring, msg: &[u8], kind: ErrorKind) -> Error {
    let (result, peak) = peak_alloc(|| client.decrypt(msg).keyring(keyring).run());
    // Parsed structures may take a small multiple of the input (an EDK entry
    // of 6 bytes becomes a 72-byte struct); nothing may follow a claimed length.
    let limit = SMALL + 16 * msg.len();
    assert!(
        peak < limit,
        "largest allocation {peak} bytes for a {}-byte input",
        msg.len()
    );
    expect_kind(result, kind)
}

fn v2_prefix() -> Vec<u8> {
    let mut m = vec![2, 0x04, 0x78];
    m.extend_from_slice(&[0x11; 32]);
    m
}

#[test]
fn hostile_header_lengths_fail_fast() {
    let keyring = aes_keyring(32);
    let client = Client::new();
    // EDK count 65535 with a tiny input.
    let mut m = v2_prefix();
    m.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    m.extend_from_slice(&[0, 1, b'x', 0, 0, 0, 0]);
    hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    let strict = Client::builder().max_encrypted_data_keys(10).build();
    hostile(&strict, &keyring, &m, ErrorKind::PolicyViolation);
    // 65535 minimal EDKs (6 bytes each) and then the input ends.
    let mut big = v2_prefix();
    big.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    big.resize(big.len() + 65535 * 6, 0);
    hostile(&client, &keyring, &big, ErrorKind::MalformedMessage);
    // Huge AAD length.
    let mut m = v2_prefix();
    m.extend_from_slice(&[0xFF, 0xFF, 0, 1, 0, 1]);
    hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    // AAD claiming 65535 pairs.
    let mut m = v2_prefix();
    m.extend_from_slice(&[0, 4, 0xFF, 0xFF, 0, 0]);
    hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    // EDK fields of length 65535.
    let mut m = v2_prefix();
    m.extend_from_slice(&[0, 0, 0, 1, 0xFF, 0xFF, b'a']);
    hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    // Unknown version, type, suites.
    for m in [
        &[0u8; 0][..],
        &[2],
        &[0x03, 0x04, 0x78],
        &[0x01, 0x81, 0x01, 0x14],
        &[0x01, 0x80, 0x00, 0x70],
        &[0x02, 0x00, 0x00],
        &[0x02, 0x01, 0x14],
        &[0x01, 0x80, 0x04, 0x78],
    ] {
        let allow = Client::builder()
            .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
            .build();
        let mut padded = m.to_vec();
        padded.resize(m.len() + 200, 0);
        hostile(&allow, &keyring, m, ErrorKind::MalformedMessage);
        if !m.is_empty() {
            hostile(&allow, &keyring, &padded, ErrorKind::MalformedMessage);
        }
    }
}

#[test]
fn hostile_body_lengths_fail_fast() {
    // A genuine v2 non-framed message (KAT test 28: C ESDK, unframed), whose
    // header authenticates; the body length is not covered by the header.
    let kat = read_json("python-commitment-kat/commitment-test-vectors.json");
    let t = &kat["tests"][27];
    let msg = b64(t["ciphertext"].as_str().unwrap());
    let keyring = FixedKeyring::new("static", b64(t["decrypted-dek"].as_str().unwrap()));
    let (h, header_len) = MessageHeader::parse(&msg, None).unwrap();
    assert_eq!(h.content_type, kms_envelope::ContentType::NonFramed);
    let client = Client::new();
    assert!(client.decrypt(&msg).keyring(&keyring).run().is_ok());
    let len_at = header_len + 12;
    for len in [
        (1u64 << 36) - 32,
        (1 << 36) - 31,
        1 << 40,
        u64::MAX,
        u64::MAX - 15,
    ] {
        let mut m = msg.clone();
        m[len_at..len_at + 8].copy_from_slice(&len.to_be_bytes());
        hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    }
    // A configured body limit is a policy violation, checked before reading.
    let limited = Client::builder().max_body_size(4).build();
    hostile(&limited, &keyring, &msg, ErrorKind::PolicyViolation);

    // Hand-built v1 framed message with frame length 2^32 - 1.
    let key = aes_key_bytes(32);
    let keyring = FixedKeyring::new("fixed-provider", key.clone());
    let client = client_for(suite(0x0078));
    let body = Body::Framed {
        frame_length: u32::MAX,
        empty_final: false,
        ff_ivs: false,
    };
    let msg = craft_v1(suite(0x0078), &key, &[], [0; 12], &body, b"tiny");
    assert_eq!(
        client
            .decrypt(&msg)
            .keyring(&keyring)
            .run()
            .unwrap()
            .plaintext,
        b"tiny"
    );
    let l = layout(&msg);
    let last = &l.frames[0];
    // Final frame claiming 2^32 - 1 bytes.
    let mut m = msg.clone();
    m[last.offset + 20..last.offset + 24].copy_from_slice(&u32::MAX.to_be_bytes());
    hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    // The final frame turned into a regular frame of 2^32 - 1 bytes.
    let mut m = msg.clone();
    m[last.offset..last.offset + 4].copy_from_slice(&1u32.to_be_bytes());
    hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    // Hand-built v1 non-framed message with hostile lengths.
    let msg = craft_v1(suite(0x0078), &key, &[], [0; 12], &Body::NonFramed, b"tiny");
    assert_eq!(
        client
            .decrypt(&msg)
            .keyring(&keyring)
            .run()
            .unwrap()
            .plaintext,
        b"tiny"
    );
    let len_at = MessageHeader::parse(&msg, None).unwrap().1 + 12;
    for len in [5u64, 100, (1 << 36) - 32, u64::MAX] {
        let mut m = msg.clone();
        m[len_at..len_at + 8].copy_from_slice(&len.to_be_bytes());
        hostile(&client, &keyring, &m, ErrorKind::MalformedMessage);
    }
    // A final frame longer than the frame length, with a valid tag.
    let body = Body::OversizedFinal { frame_length: 8 };
    let msg = craft_v1(suite(0x0078), &key, &[], [0; 12], &body, b"nine byte");
    let err = hostile(&client, &keyring, &msg, ErrorKind::MalformedMessage);
    assert!(err.to_string().contains("frame length"), "{err}");
    let body = Body::OversizedFinal { frame_length: 9 };
    let msg = craft_v1(suite(0x0078), &key, &[], [0; 12], &body, b"nine byte");
    assert_eq!(
        client
            .decrypt(&msg)
            .keyring(&keyring)
            .run()
            .unwrap()
            .plaintext,
        b"nine byte"
    );
    // A shorter length: the tag is read from the wrong place.
    let mut m = msg.clone();
    m[len_at..len_at + 8].copy_from_slice(&3u64.to_be_bytes());
    let err = hostile(&client, &keyring, &m, ErrorKind::AuthenticationFailed);
    assert!(
        matches!(err, Error::AuthenticationFailed(AuthFailure::Body)),
        "{err}"
    );
}

#[test]
fn allocation_tracker_sees_large_allocations() {
    // The hostile-length tests above rely on it.
    let (v, peak) = peak_alloc(|| vec![1u8; 1 << 20]);
    assert!(peak >= 1 << 20 && v.len() == 1 << 20);
}

#[test]
fn zero_edk_limit_is_a_bad_argument_not_a_silent_failure() {
    let keyring = kms_envelope::RawAesKeyring::new("ns", "k", &[3; 32]).unwrap();
    let ok = Client::new().encrypt(b"x").keyring(&keyring).run().unwrap();
    let zero = Client::builder().max_encrypted_data_keys(0).build();
    let e = zero.encrypt(b"x").keyring(&keyring).run().unwrap_err();
    assert_eq!(e.kind(), kms_envelope::ErrorKind::BadArgument);
    let e = zero.decrypt(&ok).keyring(&keyring).run().unwrap_err();
    assert_eq!(e.kind(), kms_envelope::ErrorKind::BadArgument);
}
