//! Round trips through encrypt and decrypt, with the output checked against
//! the message format (header fields, framing layout, footer).

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use kms_envelope::cmm::CachingMaterialsManager;
use kms_envelope::future::{block_on, BoxFuture};
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, ContentType, DecryptionMaterials, DecryptionRequest,
    DefaultMaterialsManager, EncryptedDataKey, EncryptionContext, EncryptionMaterials,
    EncryptionRequest, ErrorKind, Keyring, MaterialsManager, MessageHeader, MultiKeyring,
    RawAesKeyring, RawRsaKeyring, RequiredEncryptionContextMaterialsManager, RsaPadding,
    PUBLIC_KEY_FIELD,
};
use proptest::prelude::*;

/// What the header must store: the caller's context, plus the public key on
/// signing suites (whose value is checked separately).
fn check_stored_context(suite: AlgorithmSuite, stored: &EncryptionContext, ec: &EncryptionContext) {
    let mut without_key = stored.clone();
    let public = without_key.remove(PUBLIC_KEY_FIELD);
    assert_eq!(&without_key, ec, "stored encryption context");
    match (suite.is_signing(), public) {
        (false, None) => {}
        (true, Some(b64)) => {
            let point = base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .unwrap();
            let (len, chars) = if suite.id() == 0x0214 {
                (33, 44)
            } else {
                (49, 68)
            };
            assert_eq!(b64.len(), chars, "padded base64 of the compressed point");
            assert_eq!(point.len(), len);
            assert!(matches!(point[0], 2 | 3), "compressed SEC 1 point");
        }
        (signing, public) => panic!("signing={signing} but public key {public:?}"),
    }
}

/// Checks everything about `msg` that follows from the inputs, then decrypts it.
fn check_message(
    msg: &[u8],
    suite: AlgorithmSuite,
    frame_length: u32,
    ec: &EncryptionContext,
    plaintext: &[u8],
) {
    let l = layout(msg);
    let h = &l.header;
    assert_eq!(h.version, if suite.is_committing() { 2 } else { 1 });
    assert_eq!(msg[0], h.version);
    assert_eq!(h.algorithm_suite, suite);
    assert_eq!(
        h.message_id.len(),
        if suite.is_committing() { 32 } else { 16 }
    );
    assert_eq!(h.content_type, ContentType::Framed);
    assert_eq!(h.frame_length, frame_length);
    assert_eq!(h.commitment.is_some(), suite.is_committing());
    if h.version == 1 {
        assert_eq!(h.header_iv, [0; 12], "writers use a zero header IV");
    }
    check_stored_context(suite, &h.encryption_context, ec);

    // Framing: full regular frames, then one final frame with the rest; a full
    // final frame for exact multiples; a single empty final frame for "".
    let fl = frame_length as usize;
    let n = if plaintext.is_empty() {
        1
    } else {
        plaintext.len().div_ceil(fl)
    };
    assert_eq!(l.frames.len(), n, "number of frames");
    for (i, f) in l.frames.iter().enumerate() {
        assert_eq!(f.is_final, i == n - 1);
        let mut iv = [0u8; 12];
        iv[8..].copy_from_slice(&f.seq.to_be_bytes());
        assert_eq!(f.iv, iv, "writers use the sequence-number IV");
    }
    assert_eq!(l.frames[n - 1].content_len, plaintext.len() - (n - 1) * fl);
    if !plaintext.is_empty() && plaintext.len().is_multiple_of(fl) {
        assert_eq!(
            l.frames[n - 1].content_len,
            fl,
            "full final frame for exact multiples"
        );
    }
    // Ciphertext never equals the plaintext (except when there is none).
    if plaintext.len() >= 8 {
        let f = &l.frames[0];
        assert_ne!(
            &msg[f.ct_offset..f.ct_offset + f.content_len],
            &plaintext[..f.content_len]
        );
    }
    match l.footer {
        Some((_, sig_len)) => {
            assert!(suite.is_signing());
            assert_eq!(msg[l.footer.unwrap().0 + 2], 0x30, "DER SEQUENCE");
            let max = if suite.id() == 0x0214 { 72 } else { 104 };
            assert!((8..=max).contains(&sig_len), "signature length {sig_len}");
        }
        None => assert!(!suite.is_signing()),
    }
}

fn suite_strategy() -> impl Strategy<Value = AlgorithmSuite> {
    prop::sample::select(AlgorithmSuite::ALL.to_vec())
}

fn frame_length_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1u32), Just(2), Just(4096), Just(65536), 1u32..40]
}

/// A plaintext length of 0 ..= 3 frames, often an exact multiple.
fn length_for(frame_length: u32, frames: usize, extra: f64) -> usize {
    let fl = frame_length as usize;
    if frames == 3 || extra < 0.4 {
        frames * fl
    } else {
        frames * fl + 1 + ((extra * (fl - 1) as f64) as usize).min(fl.saturating_sub(2))
    }
}

fn context_strategy() -> impl Strategy<Value = EncryptionContext> {
    // Mixed case, non-ASCII and astral-plane keys: their UTF-8 byte order
    // differs from UTF-16 and from case-insensitive orders.
    prop::collection::btree_map("[a-zA-Z0-9_.éÉßü中😀-]{1,10}", "\\PC{0,12}", 0..5)
        .prop_map(EncryptionContext::from)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn raw_aes_round_trip(
        suite in suite_strategy(),
        frame_length in frame_length_strategy(),
        frames in 0usize..=3,
        extra in 0.0f64..1.0,
        key_len in prop::sample::select(vec![16usize, 24, 32]),
        ec in context_strategy(),
        seed in any::<u64>(),
    ) {
        let plaintext = bytes(seed, length_for(frame_length, frames, extra));
        let keyring = aes_keyring(key_len);
        let msg = encrypt(suite, &keyring, frame_length, &ec, &plaintext);
        check_message(&msg, suite, frame_length, &ec, &plaintext);

        let header = layout(&msg).header;
        prop_assert_eq!(header.encrypted_data_keys.len(), 1);
        let edk = &header.encrypted_data_keys[0];
        prop_assert_eq!(&edk.provider_id, NAMESPACE);
        // Raw AES provider info: name || 128 (bits) || 12 || IV.
        let name = format!("aes-{}", key_len * 8);
        prop_assert_eq!(edk.provider_info.len(), name.len() + 20);
        prop_assert_eq!(&edk.provider_info[..name.len()], name.as_bytes());
        prop_assert_eq!(&edk.provider_info[name.len()..name.len() + 8], &[0, 0, 0, 128, 0, 0, 0, 12]);
        prop_assert_eq!(edk.ciphertext.len(), suite.data_key_len() + 16);

        let out = client_for(suite).decrypt(&msg).keyring(&keyring).run().unwrap();
        prop_assert_eq!(&out.plaintext, &plaintext);
        prop_assert_eq!(out.algorithm_suite(), suite);
        prop_assert_eq!(&out.encryption_context, &header.encryption_context);
        // The reproduced context may be given back in full.
        let out = client_for(suite).decrypt(&msg).keyring(&keyring).encryption_context(ec.clone()).run().unwrap();
        prop_assert_eq!(&out.plaintext, &plaintext);
    }

    #[test]
    fn raw_rsa_round_trip(
        suite in suite_strategy(),
        padding in prop::sample::select(RsaPadding::ALL.to_vec()),
        frame_length in frame_length_strategy(),
        frames in 0usize..=2,
        ec in context_strategy(),
        seed in any::<u64>(),
    ) {
        let plaintext = bytes(seed, length_for(frame_length, frames, 0.5));
        let keyring = rsa_keyring(padding);
        let msg = encrypt(suite, &keyring, frame_length, &ec, &plaintext);
        check_message(&msg, suite, frame_length, &ec, &plaintext);
        let edk = &layout(&msg).header.encrypted_data_keys[0];
        prop_assert_eq!(&edk.provider_info, b"rsa-2048");
        prop_assert_eq!(edk.ciphertext.len(), 256);
        // Decrypt with a keyring that only has the private key.
        let decryptor = RawRsaKeyring::new(NAMESPACE, "rsa-2048", padding, None, Some(rsa_private())).unwrap();
        let out = client_for(suite).decrypt(&msg).keyring(&decryptor).run().unwrap();
        prop_assert_eq!(out.plaintext, plaintext);
    }
}

/// A keyring tries a message's wrapped keys in order until one opens. A
/// PKCS #1 v1.5 keyring meeting a same-named key wrapped under OAEP must
/// count it as failed, never as a data key, on every message: a decoder
/// with implicit rejection (as `rsa` 0.10's own) takes about 1 in 250 of
/// them for a data key and fails the message, whose second key would open.
#[test]
fn pkcs1_keyring_goes_past_a_same_named_key_it_cannot_open() {
    let oaep: Arc<dyn Keyring> = Arc::new(rsa_keyring(RsaPadding::OaepSha256));
    let pkcs1: Arc<dyn Keyring> = Arc::new(rsa_keyring(RsaPadding::Pkcs1V15));
    let both = MultiKeyring::new(Some(oaep), vec![pkcs1.clone()]).unwrap();
    let (suite, ec) = (suite(0x0478), EncryptionContext::new());
    for i in 0..600u32 {
        let msg = encrypt(suite, &both, 4096, &ec, &i.to_be_bytes());
        let out = client_for(suite).decrypt(&msg).keyring(&pkcs1).run();
        assert_eq!(out.unwrap().plaintext, i.to_be_bytes(), "message {i}");
    }
}

/// A modulus of 3000 bits is 375 bytes, short of a whole number of 64-bit
/// limbs: the RustCrypto backend's PKCS #1 v1.5 decoding then skips the
/// limbs' leading zero byte. Every padding, both ways.
#[test]
fn rsa_modulus_not_a_whole_number_of_limbs() {
    let public = kms_envelope::RsaPublicKey::from_pem(&data_file("rsa-3000-public.pem")).unwrap();
    let private =
        kms_envelope::RsaPrivateKey::from_pem(&data_file("rsa-3000-private.pem")).unwrap();
    let (suite, ec) = (suite(0x0478), EncryptionContext::new());
    for padding in RsaPadding::ALL {
        let keyring = RawRsaKeyring::new(
            NAMESPACE,
            "rsa-3000",
            padding,
            Some(public.clone()),
            Some(private.clone()),
        )
        .unwrap();
        let msg = encrypt(suite, &keyring, 4096, &ec, b"3000 bits");
        let out = client_for(suite).decrypt(&msg).keyring(&keyring).run();
        assert_eq!(out.unwrap().plaintext, b"3000 bits", "{padding:?}");
    }
}

#[test]
fn rsa_every_padding_and_padding_mismatch() {
    let ec = EncryptionContext::from_iter([("purpose", "rsa")]);
    for padding in RsaPadding::ALL {
        let suite = suite(0x0578);
        let msg = encrypt(
            suite,
            &rsa_keyring(padding),
            4096,
            &ec,
            b"data key wrapped with RSA",
        );
        let out = client_for(suite)
            .decrypt(&msg)
            .keyring(&rsa_keyring(padding))
            .run()
            .unwrap();
        assert_eq!(out.plaintext, b"data key wrapped with RSA");
        // Every other padding fails to unwrap.
        for other in RsaPadding::ALL.into_iter().filter(|p| *p != padding) {
            let err = client_for(suite)
                .decrypt(&msg)
                .keyring(&rsa_keyring(other))
                .run();
            expect_kind(err, ErrorKind::NoKeyUnwrapped);
        }
    }
    // A public-only keyring cannot decrypt; a private-only one cannot encrypt.
    let public_only = RawRsaKeyring::new(
        NAMESPACE,
        "rsa-2048",
        RsaPadding::OaepSha256,
        Some(rsa_public()),
        None,
    )
    .unwrap();
    let private_only = RawRsaKeyring::new(
        NAMESPACE,
        "rsa-2048",
        RsaPadding::OaepSha256,
        None,
        Some(rsa_private()),
    )
    .unwrap();
    let msg = encrypt(suite(0x0478), &public_only, 4096, &ec, b"x");
    expect_kind(
        Client::new().decrypt(&msg).keyring(&public_only).run(),
        ErrorKind::NoKeyUnwrapped,
    );
    assert_eq!(
        Client::new()
            .decrypt(&msg)
            .keyring(&private_only)
            .run()
            .unwrap()
            .plaintext,
        b"x"
    );
    expect_kind(
        Client::new().encrypt(b"x").keyring(&private_only).run(),
        ErrorKind::BadArgument,
    );
}

#[test]
fn rsa_pkcs1_pem_keys_work_like_pkcs8() {
    // `RSA PUBLIC KEY` / `RSA PRIVATE KEY` PEMs are rewrapped as SPKI / PKCS#8.
    let public =
        kms_envelope::RsaPublicKey::from_pem(&data_file("rsa-2048-public-pkcs1.pem")).unwrap();
    let private =
        kms_envelope::RsaPrivateKey::from_pem(&data_file("rsa-2048-private-pkcs1.pem")).unwrap();
    assert_eq!((public.bits(), private.bits()), (2048, 2048));
    let pkcs1 = RawRsaKeyring::new(
        NAMESPACE,
        "rsa-2048",
        RsaPadding::OaepSha384,
        Some(public),
        Some(private),
    )
    .unwrap();
    let pkcs8 = rsa_keyring(RsaPadding::OaepSha384);
    let ec = EncryptionContext::new();
    let a = encrypt(suite(0x0478), &pkcs1, 4096, &ec, b"pem");
    let b = encrypt(suite(0x0478), &pkcs8, 4096, &ec, b"pem");
    for (msg, k) in [(&a, &pkcs8), (&b, &pkcs1)] {
        assert_eq!(
            Client::new()
                .decrypt(msg)
                .keyring(k)
                .run()
                .unwrap()
                .plaintext,
            b"pem"
        );
    }
}

/// The DER inside a PEM file of tests/data.
fn pem_der(name: &str) -> Vec<u8> {
    let text = data_file(name);
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    b64(&body)
}

#[test]
fn rsa_der_keys_in_both_encodings() {
    for (public, private) in [
        ("rsa-2048-public.pem", "rsa-2048-private.pem"),
        ("rsa-2048-public-pkcs1.pem", "rsa-2048-private-pkcs1.pem"),
    ] {
        let public = kms_envelope::RsaPublicKey::from_der(&pem_der(public)).unwrap();
        let private = kms_envelope::RsaPrivateKey::from_der(&pem_der(private)).unwrap();
        let keyring = RawRsaKeyring::new(
            NAMESPACE,
            "rsa-2048",
            RsaPadding::OaepSha256,
            Some(public),
            Some(private),
        )
        .unwrap();
        let msg = encrypt(
            suite(0x0478),
            &keyring,
            4096,
            &EncryptionContext::new(),
            b"der",
        );
        let pkcs8 = rsa_keyring(RsaPadding::OaepSha256);
        let out = Client::new().decrypt(&msg).keyring(&pkcs8).run().unwrap();
        assert_eq!(out.plaintext, b"der");
    }
    // A well-formed PKCS#1 key of 1024 bits: refused, and the error says why.
    let mut modulus = vec![0x00, 0xc1];
    modulus.extend(std::iter::repeat_n(0x5a, 126));
    modulus.push(0x01);
    let mut small = vec![0x30, 0x81, 0x89, 0x02, 0x81, 0x81];
    small.extend(&modulus);
    small.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
    let err = kms_envelope::RsaPublicKey::from_der(&small).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArgument);
    assert!(err.to_string().contains("2048 to 8192 bits"), "{err}");
    let err = kms_envelope::RsaPrivateKey::from_der(b"\x30\x03\x02\x01\x00").unwrap_err();
    assert!(err.to_string().contains("PKCS#8 or PKCS#1"), "{err}");
}

#[test]
fn frame_length_edges_and_exact_multiples() {
    let keyring = aes_keyring(32);
    let ec = EncryptionContext::new();
    for s in [suite(0x0478), suite(0x0014)] {
        for (fl, len) in [
            (1u32, 0usize),
            (1, 1),
            (1, 3),
            (2, 4),
            (4096, 4096),
            (4096, 8192),
            (4096, 4097),
            (65536, 196_608),
            (u32::MAX, 0),
            (u32::MAX, 100),
        ] {
            let pt = bytes(len as u64, len);
            let msg = encrypt(s, &keyring, fl, &ec, &pt);
            check_message(&msg, s, fl, &ec, &pt);
            let out = client_for(s).decrypt(&msg).keyring(&keyring).run().unwrap();
            assert_eq!(out.plaintext, pt, "fl={fl} len={len}");
        }
    }
    // Empty plaintext: exactly one final frame of length 0.
    let msg = encrypt(suite(0x0478), &keyring, 4096, &ec, b"");
    let l = layout(&msg);
    assert_eq!(l.frames.len(), 1);
    assert!(l.frames[0].is_final && l.frames[0].content_len == 0 && l.frames[0].seq == 1);
}

#[test]
fn default_suite_and_fresh_message_ids() {
    let keyring = aes_keyring(32);
    let client = Client::new();
    let a = client.encrypt(b"same").keyring(&keyring).run().unwrap();
    let b = client.encrypt(b"same").keyring(&keyring).run().unwrap();
    let (ha, hb) = (layout(&a).header, layout(&b).header);
    assert_eq!(ha.algorithm_suite.id(), 0x0578, "default suite");
    assert_eq!(ha.frame_length, 4096, "default frame length");
    assert_ne!(ha.message_id, hb.message_id);
    assert_ne!(ha.commitment, hb.commitment);
    assert_ne!(a, b);
    // FORBID's default is 0x0378 (message-format.md §18 item 3).
    let forbid = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    let c = forbid.encrypt(b"same").keyring(&keyring).run().unwrap();
    assert_eq!(layout(&c).header.algorithm_suite.id(), 0x0378);
    // REQUIRE_ENCRYPT_ALLOW_DECRYPT reads v1 and v2.
    let allow = Client::builder()
        .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build();
    assert_eq!(
        allow.decrypt(&c).keyring(&keyring).run().unwrap().plaintext,
        b"same"
    );
    assert_eq!(
        allow.decrypt(&a).keyring(&keyring).run().unwrap().plaintext,
        b"same"
    );
}

#[test]
fn async_api() {
    let keyring = aes_keyring(24);
    let client = Client::new();
    let ec = EncryptionContext::from_iter([("async", "yes")]);
    let out = block_on(async {
        let ct = client
            .encrypt(b"awaited")
            .keyring(&keyring)
            .encryption_context(ec.clone())
            .await?;
        client.decrypt(&ct).keyring(&keyring).await
    })
    .unwrap();
    assert_eq!(out.plaintext, b"awaited");
    assert_eq!(out.encryption_context.get("async"), Some("yes"));
    // The futures are Send, so they can be spawned on multi-threaded runtimes.
    fn assert_send<T: Send>(_: &T) {}
    let enc = std::future::IntoFuture::into_future(client.encrypt(b"x").keyring(&keyring));
    assert_send(&enc);
    let ct = block_on(enc).unwrap();
    let dec = std::future::IntoFuture::into_future(client.decrypt(&ct).keyring(&keyring));
    assert_send(&dec);
    assert_eq!(block_on(dec).unwrap().plaintext, b"x");
    // Errors come back through the future too.
    let err = block_on(async { client.decrypt(b"\x02garbage").keyring(&keyring).await });
    expect_kind(err, ErrorKind::MalformedMessage);
}

#[test]
fn multi_keyring_each_child_decrypts_alone() {
    let aes256: Arc<dyn Keyring> = Arc::new(aes_keyring(32));
    let aes128: Arc<dyn Keyring> = Arc::new(aes_keyring(16));
    let rsa: Arc<dyn Keyring> = Arc::new(rsa_keyring(RsaPadding::OaepSha1));
    let multi = MultiKeyring::new(Some(aes256.clone()), vec![rsa.clone(), aes128.clone()]).unwrap();
    let ec = EncryptionContext::from_iter([("Zebra", "1"), ("apple", "2"), ("Äpfel", "3")]);
    for s in [suite(0x0578), suite(0x0478), suite(0x0146), suite(0x0214)] {
        let pt = bytes(9, 300);
        let msg = encrypt(s, &multi, 128, &ec, &pt);
        check_message(&msg, s, 128, &ec, &pt);
        let edks = layout(&msg).header.encrypted_data_keys;
        assert_eq!(edks.len(), 3, "generator + two children");
        assert!(edks[0].provider_info.starts_with(b"aes-256"));
        assert_eq!(edks[1].provider_info, b"rsa-2048");
        assert!(edks[2].provider_info.starts_with(b"aes-128"));
        for k in [&aes256, &rsa, &aes128] {
            let out = client_for(s).decrypt(&msg).keyring(&**k).run().unwrap();
            assert_eq!(out.plaintext, pt);
        }
        // A multi-keyring whose first child cannot unwrap still succeeds.
        let other: Arc<dyn Keyring> =
            Arc::new(RawAesKeyring::new(NAMESPACE, "aes-256", &[9; 32]).unwrap());
        let decrypt_multi = MultiKeyring::new(None, vec![other.clone(), aes128.clone()]).unwrap();
        assert_eq!(
            client_for(s)
                .decrypt(&msg)
                .keyring(&decrypt_multi)
                .run()
                .unwrap()
                .plaintext,
            pt
        );
        let none = MultiKeyring::new(Some(other), vec![]).unwrap();
        expect_kind(
            client_for(s).decrypt(&msg).keyring(&none).run(),
            ErrorKind::NoKeyUnwrapped,
        );
    }
    // Without a generator, a multi-keyring cannot start a message.
    let children_only = MultiKeyring::new(None, vec![aes128]).unwrap();
    expect_kind(
        Client::new().encrypt(b"x").keyring(&children_only).run(),
        ErrorKind::BadArgument,
    );
    expect_kind(MultiKeyring::new(None, vec![]), ErrorKind::BadArgument);
}

#[test]
fn required_encryption_context_cmm() {
    for keyring in [
        Arc::new(aes_keyring(32)) as Arc<dyn Keyring>,
        Arc::new(rsa_keyring(RsaPadding::OaepSha256)),
    ] {
        let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(
            keyring.clone(),
            ["tenant", "Ωmega"],
        )
        .unwrap();
        let ec =
            EncryptionContext::from_iter([("tenant", "acme"), ("Ωmega", "ω"), ("purpose", "test")]);
        for s in [suite(0x0578), suite(0x0478), suite(0x0178)] {
            let client = client_for(s);
            let pt = bytes(3, 70);
            let msg = client
                .encrypt(&pt)
                .materials_manager(&cmm)
                .algorithm_suite(s)
                .frame_length(32)
                .encryption_context(ec.clone())
                .run()
                .unwrap();
            // The header does not store the required pairs.
            let stored = EncryptionContext::from_iter([("purpose", "test")]);
            check_message(&msg, s, 32, &stored, &pt);
            let raw = String::from_utf8_lossy(&msg);
            assert!(!raw.contains("acme") && !raw.contains("tenant") && !raw.contains("Ωmega"));

            // Without the reproduced pairs: the CMM refuses.
            expect_kind(
                client.decrypt(&msg).materials_manager(&cmm).run(),
                ErrorKind::PolicyViolation,
            );
            let partial = EncryptionContext::from_iter([("tenant", "acme")]);
            expect_kind(
                client
                    .decrypt(&msg)
                    .materials_manager(&cmm)
                    .encryption_context(partial)
                    .run(),
                ErrorKind::PolicyViolation,
            );
            // A plain keyring without them: the raw AES AAD or the header tag fails.
            let err = client.decrypt(&msg).keyring(&*keyring).run().unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::NoKeyUnwrapped | ErrorKind::AuthenticationFailed
                ),
                "{err}"
            );
            // A wrong value for a required pair fails too.
            let wrong = EncryptionContext::from_iter([("tenant", "evil"), ("Ωmega", "ω")]);
            let err = client
                .decrypt(&msg)
                .materials_manager(&cmm)
                .encryption_context(wrong)
                .run()
                .unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::NoKeyUnwrapped | ErrorKind::AuthenticationFailed
                ),
                "{err}"
            );
            // With them it succeeds, through the CMM or through the plain keyring.
            let reproduced = EncryptionContext::from_iter([("tenant", "acme"), ("Ωmega", "ω")]);
            for out in [
                client
                    .decrypt(&msg)
                    .materials_manager(&cmm)
                    .encryption_context(reproduced.clone())
                    .run(),
                client
                    .decrypt(&msg)
                    .keyring(&*keyring)
                    .encryption_context(reproduced.clone())
                    .run(),
            ] {
                let out = out.unwrap();
                assert_eq!(out.plaintext, pt);
                let mut returned = out.encryption_context.clone();
                returned.remove(PUBLIC_KEY_FIELD);
                assert_eq!(
                    returned, ec,
                    "returned context = stored + reproduced-only pairs"
                );
                assert!(!out.header.encryption_context.contains_key("tenant"));
            }
        }
        // Encrypt without a required key: refused.
        let missing = EncryptionContext::from_iter([("tenant", "acme")]);
        let err = Client::new()
            .encrypt(b"x")
            .materials_manager(&cmm)
            .encryption_context(missing)
            .run();
        expect_kind(err, ErrorKind::PolicyViolation);
    }
    expect_kind(
        RequiredEncryptionContextMaterialsManager::with_keyring(
            Arc::new(aes_keyring(16)),
            Vec::<String>::new(),
        ),
        ErrorKind::BadArgument,
    );
}

/// Records the required keys of the materials its keyring is handed.
struct RequiredKeysSpy {
    inner: RawAesKeyring,
    seen: std::sync::Mutex<Vec<Vec<String>>>,
}

impl Keyring for RequiredKeysSpy {
    fn on_encrypt<'a>(
        &'a self,
        materials: EncryptionMaterials,
    ) -> BoxFuture<'a, kms_envelope::Result<EncryptionMaterials>> {
        let keys = materials
            .required_encryption_context_keys()
            .iter()
            .cloned()
            .collect();
        self.seen.lock().unwrap().push(keys);
        self.inner.on_encrypt(materials)
    }

    fn on_decrypt<'a>(
        &'a self,
        materials: DecryptionMaterials,
        edks: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, kms_envelope::Result<DecryptionMaterials>> {
        self.inner.on_decrypt(materials, edks)
    }
}

/// Asks its underlying manager for materials without the required keys of
/// the request, as a careless custom manager would.
struct DropsRequiredKeys(DefaultMaterialsManager);

impl MaterialsManager for DropsRequiredKeys {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<EncryptionMaterials>> {
        let mut request = request;
        request.required_encryption_context_keys.clear();
        self.0.get_encryption_materials(request)
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<DecryptionMaterials>> {
        self.0.decrypt_materials(request)
    }
}

/// Returns its underlying manager's decryption materials with one pair of
/// the context set to another value: the decrypt result must not carry it.
struct RewritesContext(DefaultMaterialsManager, &'static str, &'static str);

impl MaterialsManager for RewritesContext {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<EncryptionMaterials>> {
        self.0.get_encryption_materials(request)
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<DecryptionMaterials>> {
        Box::pin(async move {
            let got = self.0.decrypt_materials(request).await?;
            let mut context = got.encryption_context().clone();
            context.insert(self.1, self.2);
            let mut rewritten = DecryptionMaterials::new(got.algorithm_suite(), context);
            if let Some(key) = got.plaintext_data_key() {
                rewritten.set_plaintext_data_key(key.clone())?;
            }
            Ok(rewritten)
        })
    }
}

/// A materials manager written from scratch (no default manager inside),
/// over one keyring: it makes the signing key and takes the verification
/// key itself. With a suite of its own, it uses that one whatever the
/// request asks for.
struct FromScratch(Arc<dyn Keyring>, Option<AlgorithmSuite>);

impl MaterialsManager for FromScratch {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<EncryptionMaterials>> {
        Box::pin(async move {
            let suite = self
                .1
                .or(request.algorithm_suite)
                .unwrap_or_else(|| request.commitment_policy.default_suite());
            let mut m = EncryptionMaterials::new(suite, request.encryption_context);
            m.generate_signing_key()?;
            self.0.on_encrypt(m).await
        })
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<DecryptionMaterials>> {
        Box::pin(async move {
            let mut m =
                DecryptionMaterials::new(request.algorithm_suite, request.encryption_context);
            m.set_verification_key_from_context()?;
            self.0.on_decrypt(m, &request.encrypted_data_keys).await
        })
    }
}

#[test]
fn a_materials_manager_written_from_scratch_handles_signing_suites() {
    let keyring: Arc<dyn Keyring> = Arc::new(aes_keyring(32));
    let manager = FromScratch(keyring.clone(), None);
    for id in [0x0578, 0x0478, 0x0378, 0x0014] {
        let s = suite(id);
        let client = client_for(s);
        let ec = EncryptionContext::from_iter([("purpose", "scratch")]);
        let message = client
            .encrypt(b"signed or not")
            .materials_manager(&manager)
            .algorithm_suite(s)
            .encryption_context(ec.clone())
            .run()
            .unwrap();
        let header = MessageHeader::parse(&message, None).unwrap().0;
        assert_eq!(
            header.encryption_context.contains_key(PUBLIC_KEY_FIELD),
            s.is_signing()
        );
        // Read by it and by a keyring's default manager.
        for d in [
            client.decrypt(&message).materials_manager(&manager).run(),
            client.decrypt(&message).keyring(&*keyring).run(),
        ] {
            assert_eq!(d.unwrap().plaintext, b"signed or not");
        }
    }
    // A second key, or a context that names one already, is refused.
    let mut m = EncryptionMaterials::new(suite(0x0578), EncryptionContext::new());
    m.generate_signing_key().unwrap();
    assert_eq!(
        m.generate_signing_key().unwrap_err().kind(),
        ErrorKind::BadArgument
    );
    for id in [0x0578, 0x0478] {
        let mut m = EncryptionMaterials::new(
            suite(id),
            EncryptionContext::from_iter([(PUBLIC_KEY_FIELD, "x")]),
        );
        assert_eq!(
            m.generate_signing_key().unwrap_err().kind(),
            ErrorKind::BadArgument
        );
    }
}

#[test]
fn the_suite_a_materials_manager_chose_is_the_messages() {
    // client-apis/encrypt.md: the suite of the materials "MAY be different
    // from the input algorithm suite", and is the one the message uses
    // (the Python ESDK refuses such materials; the specification wins).
    let keyring: Arc<dyn Keyring> = Arc::new(aes_keyring(32));
    let client = client_for(suite(0x0578));
    let manager = FromScratch(keyring.clone(), Some(suite(0x0578)));
    let message = client
        .encrypt(b"chosen")
        .materials_manager(&manager)
        .algorithm_suite(suite(0x0478))
        .run()
        .unwrap();
    let header = MessageHeader::parse(&message, None).unwrap().0;
    assert_eq!(header.algorithm_suite, suite(0x0578));
    let d = client.decrypt(&message).keyring(&*keyring).run().unwrap();
    assert_eq!(d.plaintext, b"chosen");
    assert_eq!(d.algorithm_suite(), suite(0x0578));

    let mut stream = client
        .stream_encrypt()
        .materials_manager(Arc::new(FromScratch(keyring.clone(), Some(suite(0x0578)))))
        .algorithm_suite(suite(0x0478))
        .start()
        .unwrap();
    assert_eq!(stream.algorithm_suite(), suite(0x0578));
    let mut msg = Vec::new();
    stream.update(b"streamed", &mut msg).unwrap();
    stream.finish(&mut msg).unwrap();
    let d = client.decrypt(&msg).keyring(&*keyring).run().unwrap();
    assert_eq!(d.plaintext, b"streamed");

    // The chosen suite is still held to the commitment policy.
    let uncommitted = FromScratch(keyring.clone(), Some(suite(0x0378)));
    let err = client
        .encrypt(b"x")
        .materials_manager(&uncommitted)
        .algorithm_suite(suite(0x0478))
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{err}");
    let err = client
        .stream_encrypt()
        .materials_manager(Arc::new(uncommitted))
        .start()
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{err}");
}

#[test]
fn a_call_takes_a_keyring_or_a_materials_manager_not_both() {
    // client-apis/encrypt.md and decrypt.md: "exactly one" of the two. The
    // same one set twice is replaced, as in any builder.
    let keyring: Arc<dyn Keyring> = Arc::new(aes_keyring(32));
    let other: Arc<dyn Keyring> = Arc::new(aes_keyring(16));
    let manager: Arc<dyn MaterialsManager> =
        Arc::new(DefaultMaterialsManager::new(keyring.clone()));
    let client = Client::new();
    let not_both = |err: kms_envelope::Error| {
        assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
        assert!(err.to_string().contains("not both"), "{err}");
    };
    not_both(
        client
            .encrypt(b"x")
            .keyring(&*keyring)
            .materials_manager(&*manager)
            .run()
            .unwrap_err(),
    );
    not_both(
        client
            .encrypt(b"x")
            .materials_manager(&*manager)
            .keyring(&*keyring)
            .run()
            .unwrap_err(),
    );
    let message = client
        .encrypt(b"x")
        .keyring(&*other)
        .keyring(&*keyring)
        .run()
        .unwrap();
    not_both(
        client
            .decrypt(&message)
            .keyring(&*keyring)
            .materials_manager(&*manager)
            .run()
            .unwrap_err(),
    );
    let d = client
        .decrypt(&message)
        .materials_manager(&*manager)
        .materials_manager(&*manager)
        .run()
        .unwrap();
    assert_eq!(d.plaintext, b"x");
    not_both(
        client
            .stream_encrypt()
            .materials_manager(manager.clone())
            .keyring(keyring.clone())
            .start()
            .err()
            .unwrap(),
    );
    not_both(
        client
            .stream_decrypt()
            .keyring(keyring.clone())
            .materials_manager(manager.clone())
            .start()
            .err()
            .unwrap(),
    );
}

#[test]
fn the_decrypt_result_holds_only_the_authenticated_context() {
    // The result's context is what the header authenticated, whatever a
    // materials manager returns: a changed pair is refused, an added one
    // (never authenticated) is not reported.
    let keyring: Arc<dyn Keyring> = Arc::new(aes_keyring(32));
    let s = suite(0x0478);
    let client = client_for(s);
    let stored = EncryptionContext::from_iter([("role", "user")]);
    let message = client
        .encrypt(b"x")
        .keyring(&*keyring)
        .algorithm_suite(s)
        .encryption_context(stored.clone())
        .run()
        .unwrap();
    let changes = RewritesContext(
        DefaultMaterialsManager::new(keyring.clone()),
        "role",
        "admin",
    );
    let err = client
        .decrypt(&message)
        .materials_manager(&changes)
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArgument);
    assert!(err.to_string().contains("'role'"), "{err}");
    let mut stream = client
        .stream_decrypt()
        .materials_manager(Arc::new(RewritesContext(
            DefaultMaterialsManager::new(keyring.clone()),
            "role",
            "admin",
        )))
        .start()
        .unwrap();
    let mut out = Vec::new();
    assert_eq!(
        stream.update(&message, &mut out).unwrap_err().kind(),
        ErrorKind::BadArgument
    );
    assert!(out.is_empty());
    let adds = RewritesContext(DefaultMaterialsManager::new(keyring), "clearance", "top");
    let d = client
        .decrypt(&message)
        .materials_manager(&adds)
        .run()
        .unwrap();
    assert_eq!(d.encryption_context, stored);
}

#[test]
fn a_reserved_required_key_pins_a_signer_on_decrypt_and_says_why_encrypt_cannot() {
    // The specification sets no limit on the required keys: requiring
    // `aws-crypto-public-key` on decrypt pins the signer. Encrypt refuses
    // reserved keys from callers, and the failure says why.
    let keyring: Arc<dyn Keyring> = Arc::new(aes_keyring(32));
    let client = client_for(suite(0x0578));
    let message = client.encrypt(b"signed").keyring(&*keyring).run().unwrap();
    let header = kms_envelope::MessageHeader::parse(&message, None)
        .unwrap()
        .0;
    let signer = header
        .encryption_context
        .get(PUBLIC_KEY_FIELD)
        .unwrap()
        .to_owned();
    let pinned = RequiredEncryptionContextMaterialsManager::with_keyring(
        keyring.clone(),
        [PUBLIC_KEY_FIELD],
    )
    .unwrap();
    let with = |key: &str| EncryptionContext::from_iter([(PUBLIC_KEY_FIELD, key)]);
    let ok = client
        .decrypt(&message)
        .materials_manager(&pinned)
        .encryption_context(with(&signer))
        .run()
        .unwrap();
    assert_eq!(ok.plaintext, b"signed");
    // Another signer's message, or none named: refused.
    let other = client.encrypt(b"other").keyring(&*keyring).run().unwrap();
    expect_kind(
        client
            .decrypt(&other)
            .materials_manager(&pinned)
            .encryption_context(with(&signer))
            .run(),
        ErrorKind::PolicyViolation,
    );
    expect_kind(
        client.decrypt(&message).materials_manager(&pinned).run(),
        ErrorKind::PolicyViolation,
    );
    let err = client
        .encrypt(b"x")
        .materials_manager(&pinned)
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PolicyViolation);
    assert!(err.to_string().contains("can only decrypt"), "{err}");
}

#[test]
fn required_keys_reach_the_underlying_manager_and_the_keyring() {
    // required-encryption-context-cmm.md: the configured keys MUST be in the
    // request to the underlying CMM; cmm-interface.md: the materials' keys
    // MUST be a superset of the request's. So a keyring knows, as it wraps
    // the data key, which pairs the message will not store.
    let spy = Arc::new(RequiredKeysSpy {
        inner: aes_keyring(32),
        seen: Default::default(),
    });
    let cmm =
        RequiredEncryptionContextMaterialsManager::with_keyring(spy.clone(), ["tenant"]).unwrap();
    let ec = EncryptionContext::from_iter([("tenant", "acme"), ("purpose", "test")]);
    let client = Client::new();
    let msg = client
        .encrypt(b"data")
        .materials_manager(&cmm)
        .encryption_context(ec.clone())
        .run()
        .unwrap();
    assert_eq!(*spy.seen.lock().unwrap(), vec![vec!["tenant".to_string()]]);
    let out = client
        .decrypt(&msg)
        .materials_manager(&cmm)
        .encryption_context(ec.clone())
        .run()
        .unwrap();
    assert_eq!(out.plaintext, b"data");

    // The default manager refuses a request whose required key is not in
    // the context.
    let default = DefaultMaterialsManager::new(Arc::new(aes_keyring(32)));
    let mut request = EncryptionRequest::new(
        EncryptionContext::from_iter([("purpose", "test")]),
        CommitmentPolicy::RequireEncryptRequireDecrypt,
    );
    request
        .required_encryption_context_keys
        .insert("tenant".into());
    expect_kind(
        block_on(default.get_encryption_materials(request)),
        ErrorKind::PolicyViolation,
    );

    // A manager below that drops the required keys: the pair would be
    // stored, so the required-context manager refuses the materials.
    let careless = RequiredEncryptionContextMaterialsManager::new(
        Arc::new(DropsRequiredKeys(DefaultMaterialsManager::new(Arc::new(
            aes_keyring(32),
        )))),
        ["tenant"],
    )
    .unwrap();
    let err = expect_kind(
        client
            .encrypt(b"data")
            .materials_manager(&careless)
            .encryption_context(ec)
            .run(),
        ErrorKind::BadArgument,
    );
    assert!(err.to_string().contains("tenant"), "{err}");
}

#[test]
fn encrypt_reports_the_header_context_and_suite_it_wrote() {
    // client-apis/encrypt.md: encrypt MUST output the message, the
    // encryption context and the algorithm suite.
    let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(
        Arc::new(aes_keyring(32)),
        ["tenant"],
    )
    .unwrap();
    let ec = EncryptionContext::from_iter([("tenant", "acme"), ("purpose", "test")]);
    let client = Client::new();
    let prepared = client
        .encrypt(b"data")
        .materials_manager(&cmm)
        .encryption_context(ec.clone())
        .prepare()
        .unwrap();
    let header = prepared.header().clone();
    let context = prepared.encryption_context().clone();
    assert_eq!(prepared.algorithm_suite(), suite(0x0578));
    let mut msg = vec![0; prepared.message_len()];
    prepared.seal_into(&mut msg).unwrap();
    let (parsed, _) = MessageHeader::parse(&msg, None).unwrap();
    assert_eq!(parsed, header);
    assert_eq!(context.get("tenant"), Some("acme"));
    assert_eq!(context.get("purpose"), Some("test"));
    assert_eq!(
        context.get(PUBLIC_KEY_FIELD),
        parsed.encryption_context.get(PUBLIC_KEY_FIELD)
    );
    assert_eq!(parsed.encryption_context.get("tenant"), None);
    assert_eq!(context.len(), 3);

    let mut stream = client
        .stream_encrypt()
        .materials_manager(Arc::new(cmm))
        .encryption_context(ec)
        .algorithm_suite(suite(0x0478))
        .start()
        .unwrap();
    let mut msg = Vec::new();
    stream.update(b"data", &mut msg).unwrap();
    stream.finish(&mut msg).unwrap();
    let (parsed, _) = MessageHeader::parse(&msg, None).unwrap();
    assert_eq!(&parsed, stream.header());
    assert_eq!(stream.algorithm_suite(), suite(0x0478));
    assert_eq!(stream.encryption_context().get("tenant"), Some("acme"));
    assert_eq!(stream.encryption_context().len(), 2);
}

#[test]
fn a_shared_cache_keeps_apart_materials_for_different_required_keys() {
    // Two required-context managers over one caching manager: materials
    // made while 'tenant' was required must not serve a caller who requires
    // only 'team' (its message would leave out the tenant pair).
    let caching = Arc::new(
        CachingMaterialsManager::builder(std::time::Duration::from_secs(60))
            .keyring(Arc::new(aes_keyring(32)))
            .build()
            .unwrap(),
    );
    let by_tenant =
        RequiredEncryptionContextMaterialsManager::new(caching.clone(), ["tenant"]).unwrap();
    let by_team =
        RequiredEncryptionContextMaterialsManager::new(caching.clone(), ["team"]).unwrap();
    let ec = EncryptionContext::from_iter([("tenant", "acme"), ("team", "red")]);
    let client = Client::new();
    let encrypt = |cmm: &RequiredEncryptionContextMaterialsManager| {
        client
            .encrypt(b"data")
            .materials_manager(cmm)
            .encryption_context(ec.clone())
            .run()
            .unwrap()
    };
    let stored = |msg: &[u8]| {
        let (header, _) = MessageHeader::parse(msg, None).unwrap();
        let mut keys: Vec<String> = header
            .encryption_context
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        keys.retain(|k| k != PUBLIC_KEY_FIELD);
        keys
    };
    for _ in 0..2 {
        assert_eq!(stored(&encrypt(&by_tenant)), ["team"]);
        assert_eq!(stored(&encrypt(&by_team)), ["tenant"]);
    }
    // One entry per set of required keys, each used twice.
    assert_eq!(caching.cache().len(), 2);
}

#[test]
fn reader_accepts_forms_the_writer_never_emits() {
    // Hand-built v1 messages under the identity-KDF suite (message-format.md §10).
    let key = aes_key_bytes(16);
    let keyring = FixedKeyring::new("fixed-provider", key.clone());
    let client = client_for(suite(0x0014));
    let ec = EncryptionContext::from_iter([("k", "v")])
        .serialize()
        .unwrap();
    let pt = bytes(5, 64);
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "regular frame + empty final frame for an exact multiple",
            craft_v1(
                suite(0x0014),
                &key,
                &ec,
                [0; 12],
                &Body::Framed {
                    frame_length: 32,
                    empty_final: true,
                    ff_ivs: false,
                },
                &pt,
            ),
            pt.clone(),
        ),
        (
            "full final frame",
            craft_v1(
                suite(0x0014),
                &key,
                &ec,
                [0; 12],
                &Body::Framed {
                    frame_length: 32,
                    empty_final: false,
                    ff_ivs: false,
                },
                &pt,
            ),
            pt.clone(),
        ),
        (
            "stored frame IVs FF..FF || seq",
            craft_v1(
                suite(0x0014),
                &key,
                &ec,
                [0; 12],
                &Body::Framed {
                    frame_length: 20,
                    empty_final: false,
                    ff_ivs: true,
                },
                &pt,
            ),
            pt.clone(),
        ),
        (
            "non-zero header IV",
            craft_v1(
                suite(0x0014),
                &key,
                &ec,
                [0xA5; 12],
                &Body::Framed {
                    frame_length: 4096,
                    empty_final: false,
                    ff_ivs: false,
                },
                &pt,
            ),
            pt.clone(),
        ),
        (
            "non-framed v1 body",
            craft_v1(suite(0x0014), &key, &ec, [0; 12], &Body::NonFramed, &pt),
            pt.clone(),
        ),
        (
            "non-framed empty body",
            craft_v1(suite(0x0014), &key, &ec, [0; 12], &Body::NonFramed, b""),
            Vec::new(),
        ),
        (
            "legacy empty context 00 02 00 00",
            craft_v1(
                suite(0x0014),
                &key,
                &[0, 0],
                [0; 12],
                &Body::Framed {
                    frame_length: 16,
                    empty_final: true,
                    ff_ivs: false,
                },
                &pt[..32],
            ),
            pt[..32].to_vec(),
        ),
    ];
    for (what, msg, expected) in cases {
        let out = client
            .decrypt(&msg)
            .keyring(&keyring)
            .run()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(out.plaintext, expected, "{what}");
        // The hand-built messages are not accepted by chance: a changed
        // data key must fail.
        let wrong = FixedKeyring::new("fixed-provider", vec![0; 16]);
        expect_kind(
            client.decrypt(&msg).keyring(&wrong).run(),
            ErrorKind::AuthenticationFailed,
        );
    }
}

/// `prepare` + `seal_into`: the length is known before anything is
/// encrypted, the message is written in place, and it is the same format
/// (every suite, framing edges, and a body large enough for worker threads).
#[test]
fn prepared_encryption_writes_exactly_message_len_bytes() {
    let keyring = aes_keyring(32);
    let ec: EncryptionContext = [("purpose".to_string(), "prepare".to_string())]
        .into_iter()
        .collect();
    let cases: &[(u32, usize)] = &[(4096, 0), (4096, 1), (4096, 4096), (4096, 4097), (1, 3)];
    for s in &AlgorithmSuite::ALL {
        for &(fl, len) in cases {
            let pt = bytes(len as u64 + 7, len);
            let client = Client::builder()
                .commitment_policy(client_for(*s).commitment_policy())
                .threads(1)
                .build();
            let call = client
                .encrypt(&pt)
                .keyring(&keyring)
                .algorithm_suite(*s)
                .frame_length(fl)
                .encryption_context(ec.clone());
            let prepared = call.prepare().unwrap();
            let mut msg = vec![0xAA; prepared.message_len()];
            prepared.seal_into(&mut msg).unwrap();
            check_message(&msg, *s, fl, &ec, &pt);
            if s.is_signing() {
                // The fixed DER length: one byte under the longest.
                let (offset, sig_len) = layout(&msg).footer.unwrap();
                assert_eq!(offset + 2 + sig_len, msg.len());
                assert_eq!(sig_len, if s.id() == 0x0214 { 71 } else { 103 }, "{s}");
            }
        }
    }
    // Several worker threads, each writing its own part of the buffer.
    let s = suite(0x0578);
    let pt = bytes(99, 3 << 20);
    let client = Client::builder().threads(4).build();
    let prepared = client.encrypt(&pt).keyring(&keyring).prepare().unwrap();
    let mut msg = vec![0u8; prepared.message_len()];
    prepared.seal_into(&mut msg).unwrap();
    check_message(&msg, s, 4096, &EncryptionContext::new(), &pt);
}

#[test]
fn prepared_encryption_refuses_a_buffer_of_the_wrong_size() {
    let keyring = aes_keyring(32);
    let client = Client::new();
    for delta in [-1i64, 1] {
        let prepared = client.encrypt(b"abc").keyring(&keyring).prepare().unwrap();
        let len = (prepared.message_len() as i64 + delta) as usize;
        let mut msg = vec![0u8; len];
        let err = expect_kind(prepared.seal_into(&mut msg), ErrorKind::BadArgument);
        assert!(err.to_string().contains("output buffer"), "{err}");
        assert!(msg.iter().all(|b| *b == 0), "nothing written");
    }
}

/// `prepare` + `open_into`: the plaintext length is known before anything
/// is decrypted, and the plaintext is written in place (every suite, framing
/// edges, and bodies large enough for worker threads).
#[test]
fn prepared_decryption_writes_exactly_plaintext_len_bytes() {
    let keyring = aes_keyring(32);
    let ec: EncryptionContext = [("purpose".to_string(), "open".to_string())]
        .into_iter()
        .collect();
    let cases: &[(u32, usize, usize)] = &[
        (4096, 0, 1),
        (4096, 1, 1),
        (4096, 4096, 1),
        (4096, 4097, 1),
        (1, 3, 1),
        (4096, 3 << 20, 4),
        (1000, (1 << 20) + 1, 2),
    ];
    for s in &AlgorithmSuite::ALL {
        for &(fl, len, threads) in cases {
            if len > 4097 && !matches!(s.id(), 0x0578 | 0x0478 | 0x0014) {
                continue;
            }
            let pt = bytes(len as u64 + 11, len);
            let client = Client::builder()
                .commitment_policy(client_for(*s).commitment_policy())
                .threads(threads)
                .build();
            let msg = client
                .encrypt(&pt)
                .keyring(&keyring)
                .algorithm_suite(*s)
                .frame_length(fl)
                .encryption_context(ec.clone())
                .run()
                .unwrap();
            let prepared = client.decrypt(&msg).keyring(&keyring).prepare().unwrap();
            assert_eq!(prepared.plaintext_len(), len, "{s} {fl} {len}");
            let mut out = vec![0xAA; len];
            let opened = prepared.open_into(&mut out).unwrap();
            assert!(out == pt, "{s} {fl} {len}");
            assert_eq!(opened.algorithm_suite(), *s);
            assert_eq!(opened.encryption_context.get("purpose"), Some("open"));
            assert_eq!(opened.header.frame_length, fl);
        }
    }
}

#[test]
fn prepared_decryption_refuses_a_buffer_of_the_wrong_size() {
    let keyring = aes_keyring(32);
    let client = Client::new();
    let msg = client.encrypt(b"abc").keyring(&keyring).run().unwrap();
    for len in [2, 4] {
        let prepared = client.decrypt(&msg).keyring(&keyring).prepare().unwrap();
        let mut out = vec![0xAA; len];
        let err = expect_kind(prepared.open_into(&mut out), ErrorKind::BadArgument);
        assert!(err.to_string().contains("output buffer"), "{err}");
        assert!(out.iter().all(|b| *b == 0xAA), "nothing written");
    }
}

/// A message that fails after some frames opened leaves nothing behind in
/// the caller's buffer: a changed last frame or signature, and a message cut
/// short (whose walked length stops at the cut; opening fails there too).
#[test]
fn prepared_decryption_failures_zero_the_buffer() {
    let keyring = aes_keyring(32);
    let client = Client::builder().threads(2).build();
    let pt = bytes(5, 2 << 20);
    let msg = client.encrypt(&pt).keyring(&keyring).run().unwrap();
    let footer = layout(&msg).footer.unwrap().0;
    let cases: Vec<(Vec<u8>, ErrorKind)> = vec![
        (flip(&msg, footer - 40), ErrorKind::AuthenticationFailed),
        (flip(&msg, msg.len() - 5), ErrorKind::AuthenticationFailed),
        (msg[..msg.len() - 1].to_vec(), ErrorKind::MalformedMessage),
        (msg[..footer - 100].to_vec(), ErrorKind::MalformedMessage),
        ([&msg[..], &[0]].concat(), ErrorKind::MalformedMessage),
    ];
    for (bad, kind) in cases {
        let prepared = client.decrypt(&bad).keyring(&keyring).prepare().unwrap();
        let mut out = vec![0xAA; prepared.plaintext_len()];
        assert!(out.len() > 1 << 20);
        expect_kind(prepared.open_into(&mut out), kind);
        assert!(
            out.iter().all(|b| *b == 0),
            "{kind:?}: the buffer is zeroed"
        );
        // The one-shot call agrees.
        expect_kind(client.decrypt(&bad).keyring(&keyring).run(), kind);
    }
}

fn flip(msg: &[u8], at: usize) -> Vec<u8> {
    let mut bad = msg.to_vec();
    bad[at] ^= 0x10;
    bad
}

/// `seal_into_uninit` / `open_into_uninit` take memory that is not
/// initialized: the right size works (content is checked through the Python
/// package, which encrypts and decrypts large messages this way, against
/// aws-encryption-sdk), a wrong size is refused.
#[test]
fn prepared_calls_take_uninitialized_memory() {
    use std::mem::MaybeUninit;
    let keyring = aes_keyring(32);
    for (threads, fl, len) in [
        (4, 4096, 3 << 20),
        (2, 1, 5000),
        (2, 1 << 20, (3 << 20) + 9),
    ] {
        let client = Client::builder().threads(threads).build();
        let pt = bytes(len as u64, len);
        let prepared = client
            .encrypt(&pt)
            .keyring(&keyring)
            .frame_length(fl)
            .prepare()
            .unwrap();
        let mut out = vec![MaybeUninit::<u8>::uninit(); prepared.message_len()];
        prepared.seal_into_uninit(&mut out).unwrap();
        let msg = client
            .encrypt(&pt)
            .keyring(&keyring)
            .frame_length(fl)
            .run()
            .unwrap();
        let prepared = client.decrypt(&msg).keyring(&keyring).prepare().unwrap();
        let mut plain = vec![MaybeUninit::<u8>::uninit(); prepared.plaintext_len()];
        assert_eq!(
            prepared
                .open_into_uninit(&mut plain)
                .unwrap()
                .header
                .frame_length,
            fl
        );
    }
    let client = Client::new();
    let prepared = client.encrypt(b"abc").keyring(&keyring).prepare().unwrap();
    let mut out = vec![MaybeUninit::<u8>::uninit(); prepared.message_len() + 1];
    expect_kind(prepared.seal_into_uninit(&mut out), ErrorKind::BadArgument);
}

/// A raw AES keyring tries each wrapped key that names its key: the first
/// with its own expanded key, the rest through one shared-context opener
/// (`crypto::SharedAadOpener`). Whichever attempt holds the right key
/// unwraps the same data key, and a list of failures reads as one reason
/// with a count.
#[test]
fn raw_aes_unwraps_the_right_wrapped_key_at_any_position() {
    let keyring = kms_envelope::RawAesKeyring::new("ns", "k", &[7u8; 32]).unwrap();
    let suite = AlgorithmSuite::from_id(0x0578).unwrap();
    let mut context = EncryptionContext::new();
    context.insert("purpose", "test");
    context.insert("padding", "x".repeat(5000));
    let made =
        block_on(keyring.on_encrypt(EncryptionMaterials::new(suite, context.clone()))).unwrap();
    let good = made.encrypted_data_keys()[0].clone();
    let want = made.plaintext_data_key().unwrap().clone();
    let spoiled = |byte: usize| {
        let mut edk = good.clone();
        edk.ciphertext[byte] ^= 1;
        edk
    };
    for position in 0..4 {
        let mut edks: Vec<EncryptedDataKey> = (0..3).map(|i| spoiled(i * 7)).collect();
        edks.insert(position, good.clone());
        let out =
            block_on(keyring.on_decrypt(DecryptionMaterials::new(suite, context.clone()), &edks))
                .unwrap();
        assert!(
            out.plaintext_data_key() == Some(&want),
            "right key at {position}"
        );
    }
    let spoiled_only: Vec<EncryptedDataKey> = (0..5).map(|i| spoiled(i * 3)).collect();
    let err = block_on(keyring.on_decrypt(DecryptionMaterials::new(suite, context), &spoiled_only))
        .unwrap_err();
    assert!(err.to_string().contains("(5 times)"), "{err}");
}

#[test]
fn materials_managers_nest_to_a_bound_and_work_there() {
    // Each level is a call inside the one above (and a destructor inside
    // the one above on drop): 20,000 levels overflowed the stack of a
    // Python caller.
    let caching = |under: Arc<dyn MaterialsManager>| {
        CachingMaterialsManager::builder(std::time::Duration::from_secs(60))
            .materials_manager(under)
            .build()
    };
    let mut cmm: Arc<dyn MaterialsManager> =
        Arc::new(DefaultMaterialsManager::new(Arc::new(aes_keyring(32))));
    assert_eq!(cmm.nesting_depth(), 1);
    for depth in 2..=kms_envelope::cmm::MAX_NESTING {
        cmm = if depth % 2 == 0 {
            Arc::new(RequiredEncryptionContextMaterialsManager::new(cmm, ["tenant"]).unwrap())
        } else {
            Arc::new(caching(cmm).unwrap())
        };
        assert_eq!(cmm.nesting_depth(), depth);
    }
    let ec = EncryptionContext::from_iter([("tenant", "acme")]);
    let message = Client::new()
        .encrypt(b"deep")
        .materials_manager(&*cmm)
        .encryption_context(ec.clone())
        .run()
        .unwrap();
    let out = Client::new()
        .decrypt(&message)
        .materials_manager(&*cmm)
        .encryption_context(ec)
        .run()
        .unwrap();
    assert_eq!(out.plaintext, b"deep");
    // One more level of either kind is refused.
    let errors = [
        RequiredEncryptionContextMaterialsManager::new(cmm.clone(), ["tenant"]).unwrap_err(),
        caching(cmm.clone()).unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
        assert!(err.to_string().contains("nest at most 64"), "{err}");
    }
    // A manager of someone else's that reports any depth: refused, never an
    // overflow of the count.
    struct Bottomless(Arc<dyn MaterialsManager>);
    impl MaterialsManager for Bottomless {
        fn get_encryption_materials<'a>(
            &'a self,
            r: EncryptionRequest,
        ) -> BoxFuture<'a, kms_envelope::Result<EncryptionMaterials>> {
            self.0.get_encryption_materials(r)
        }
        fn decrypt_materials<'a>(
            &'a self,
            r: DecryptionRequest,
        ) -> BoxFuture<'a, kms_envelope::Result<DecryptionMaterials>> {
            self.0.decrypt_materials(r)
        }
        fn nesting_depth(&self) -> usize {
            usize::MAX
        }
    }
    let err = caching(Arc::new(Bottomless(cmm))).unwrap_err();
    assert!(err.to_string().contains("nest at most 64"), "{err}");
}
