//! Known-answer tests: the worked examples of message-format.md §4 and the
//! two vector sets whose plaintext data keys are published
//! (python-commitment-kat, python-decrypt-oracle). The data key is fed in by
//! a test keyring, so everything below the keyring is covered: header
//! parsing, key derivation, commitment, header auth, frames and footers.
//!
//! The derived content key is not exposed by the crate, so it is checked
//! through its effect (the plaintext decrypts, a wrong key fails).

mod common;

use common::*;
use kms_envelope::{
    AuthFailure, Client, CommitmentPolicy, ContentType, EncryptionContext, Error, ErrorKind,
    MessageHeader,
};
use serde_json::Value;

const KAT: &str = "python-commitment-kat/commitment-test-vectors.json";
const ORACLE: &str = "python-decrypt-oracle/decrypt_vectors.json";

fn allow_v1() -> Client {
    Client::builder()
        .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build()
}

fn context_of(v: &Value) -> EncryptionContext {
    v.as_object()
        .expect("context object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn v2_worked_example_kat_index_0() {
    let kat = read_json(KAT);
    let t = &kat["tests"][0];
    let msg = b64(t["ciphertext"].as_str().unwrap());
    assert_eq!(msg.len(), 237);

    let (h, header_len) = MessageHeader::parse(&msg, None).unwrap();
    assert_eq!(header_len, 183);
    assert_eq!(h.version, 2);
    assert_eq!(h.algorithm_suite.id(), 0x0478);
    assert_eq!(
        hex::encode(&h.message_id),
        "4dfbd1314d9d55925b817232c5e36d6e3e5e230f018930e2c2c1f243f67dc179"
    );
    assert!(h.encryption_context.is_empty());
    assert_eq!(h.encrypted_data_keys.len(), 1);
    let edk = &h.encrypted_data_keys[0];
    assert_eq!(edk.provider_id, "ProviderName");
    let mut info = b"KeyId".to_vec();
    info.extend_from_slice(&hex::decode("000000800000000cf8e6c737703bc967b0f83f7b").unwrap());
    assert_eq!(edk.provider_info, info);
    assert_eq!(edk.ciphertext.len(), 48);
    assert!(hex::encode(&edk.ciphertext).starts_with("a13b77fc"));
    assert_eq!(h.content_type, ContentType::Framed);
    assert_eq!(h.frame_length, 4096);
    assert_eq!(
        hex::encode(h.commitment.unwrap()),
        "17cf08f733db51049f3a5ccb5effae218dbe9bf13a8f63ccb1b81e1d51ff2f4c"
    );
    assert_eq!(hex::encode(h.auth_tag), "0ba90958fb908bd33df19cd38c21969e");
    assert_eq!(
        h.to_bytes(),
        &msg[..183],
        "header re-serializes byte for byte"
    );
    assert_eq!(h.body_bytes(), &msg[..167]);

    let l = layout(&msg);
    assert_eq!(l.frames.len(), 1);
    let f = &l.frames[0];
    assert!(f.is_final && f.seq == 1 && f.content_len == 14);
    assert_eq!(hex::encode(f.iv), "000000000000000000000001");

    let dek =
        hex::decode("fa9ebec213d5c3d90ead82d914c4412769fa5658ba4ffed39230e8b92fb6e6cd").unwrap();
    assert_eq!(dek, b64(t["decrypted-dek"].as_str().unwrap()));
    let out = Client::new()
        .decrypt(&msg)
        .keyring(&FixedKeyring::new("x", dek.clone()))
        .run()
        .unwrap();
    assert_eq!(out.plaintext, b"GoodCommitment");
    assert_eq!(out.header, h);
    assert!(out.encryption_context.is_empty());

    // Any other data key fails the commitment check, before any body work.
    let mut wrong = dek;
    wrong[31] ^= 1;
    let err = Client::new()
        .decrypt(&msg)
        .keyring(&FixedKeyring::new("x", wrong))
        .run()
        .unwrap_err();
    assert!(
        matches!(err, Error::AuthenticationFailed(AuthFailure::Commitment)),
        "{err}"
    );
}

#[test]
fn commitment_kat_all_cases() {
    let kat = read_json(KAT);
    let tests = kat["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 46);
    let (mut ok, mut failed, mut non_framed) = (0, 0, 0);
    for (i, t) in tests.iter().enumerate() {
        let msg = b64(t["ciphertext"].as_str().unwrap());
        let keyring = FixedKeyring::new("static", b64(t["decrypted-dek"].as_str().unwrap()));
        let (h, header_len) = MessageHeader::parse(&msg, None).unwrap();
        let positive = t["status"].as_bool().unwrap();
        // Intermediate values.
        assert_eq!(
            h.message_id,
            b64(t["message-id"].as_str().unwrap()),
            "test {i}"
        );
        if positive {
            let commitment = b64(t["commitment"].as_str().unwrap());
            assert_eq!(h.commitment.unwrap().to_vec(), commitment, "test {i}");
        }
        assert_eq!(
            &msg[..header_len],
            b64(t["header"].as_str().unwrap()),
            "test {i}"
        );
        assert_eq!(h.to_bytes(), &msg[..header_len], "test {i}");
        // (The negative cases list no usable frames.)
        if let Some(frames) = t
            .get("frames")
            .and_then(Value::as_array)
            .filter(|_| positive)
        {
            let mut pos = header_len;
            for f in frames {
                let f = b64(f.as_str().unwrap());
                assert_eq!(&msg[pos..pos + f.len()], f, "test {i} frame bytes");
                pos += f.len();
            }
            if let Some(footer) = t.get("footer").and_then(Value::as_str) {
                assert_eq!(&msg[pos..], b64(footer), "test {i} footer");
            }
        }
        if h.content_type == ContentType::NonFramed {
            non_framed += 1;
        }

        let result = Client::new().decrypt(&msg).keyring(&keyring).run();
        if positive {
            let out = result.unwrap_or_else(|e| panic!("test {i} ({}): {e}", t["comment"]));
            let expected: String = t["plaintext-frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            assert_eq!(out.plaintext, expected.as_bytes(), "test {i}");
            assert_eq!(
                out.encryption_context,
                context_of(&t["encryption-context"]),
                "test {i}"
            );
            ok += 1;
        } else {
            match result {
                Err(Error::AuthenticationFailed(AuthFailure::Commitment)) => failed += 1,
                other => panic!("test {i}: expected a commitment failure, got {other:?}"),
            }
        }
    }
    assert_eq!((ok, failed), (41, 5));
    assert_eq!(non_framed, 7, "the KAT holds seven v2 non-framed messages");
}

#[test]
fn v1_worked_example_oracle_entry_3() {
    let oracle = read_json(ORACLE);
    let e = &oracle[3];
    assert_eq!(e["key-type"], "null");
    assert_eq!(e["algorithm-suite"], "0114");
    let msg = b64(e["ciphertext"].as_str().unwrap());
    assert_eq!(msg.len(), 206);
    assert_eq!(&msg[..4], &[0x01, 0x80, 0x01, 0x14]);

    let (h, header_len) = MessageHeader::parse(&msg, None).unwrap();
    assert_eq!(header_len, 102);
    assert_eq!(h.version, 1);
    assert_eq!(h.algorithm_suite.id(), 0x0114);
    assert_eq!(
        hex::encode(&h.message_id),
        "3ebc7b0881bde324c6a7023a30418aa3"
    );
    let mut aad = hex::decode("001a0002").unwrap();
    for s in ["key1", "val1", "key2", "val2"] {
        aad.extend_from_slice(&[0, 4]);
        aad.extend_from_slice(s.as_bytes());
    }
    assert_eq!(&msg[20..48], aad);
    assert_eq!(
        h.encryption_context,
        EncryptionContext::from_iter([("key1", "val1"), ("key2", "val2")])
    );
    assert_eq!(h.encrypted_data_keys.len(), 1);
    let edk = &h.encrypted_data_keys[0];
    assert_eq!(
        (
            edk.provider_id.as_str(),
            &edk.provider_info[..],
            edk.ciphertext.len()
        ),
        ("null", &b"null"[..], 0)
    );
    // EDK count, ("null", "null", empty), framed, reserved, IV length 12, frame length 4096.
    let mut rest = vec![0, 1, 0, 4];
    rest.extend_from_slice(b"null");
    rest.extend_from_slice(&[0, 4]);
    rest.extend_from_slice(b"null");
    rest.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 12, 0, 0, 0x10, 0]);
    assert_eq!(&msg[48..74], rest);
    assert_eq!(h.content_type, ContentType::Framed);
    assert_eq!(h.frame_length, 4096);
    assert_eq!(h.header_iv, [0; 12]);
    assert_eq!(h.to_bytes(), &msg[..102]);
    let l = layout(&msg);
    assert_eq!(l.frames.len(), 1);
    assert!(l.frames[0].is_final && l.frames[0].content_len == 64);

    let keyring = FixedKeyring::new("null", vec![0; 16]);
    let out = allow_v1().decrypt(&msg).keyring(&keyring).run().unwrap();
    assert_eq!(out.plaintext, b64(e["plaintext"].as_str().unwrap()));
    assert_eq!(out.plaintext.len(), 64);
    assert_eq!(out.encryption_context, h.encryption_context);

    // The data key matters (HKDF-SHA256 over it): a wrong one fails the header tag.
    let wrong = FixedKeyring::new("null", vec![1; 16]);
    let err = allow_v1().decrypt(&msg).keyring(&wrong).run().unwrap_err();
    assert!(
        matches!(err, Error::AuthenticationFailed(AuthFailure::Header)),
        "{err}"
    );
    // The default policy refuses v1 before asking the keyring.
    expect_kind(
        Client::new().decrypt(&msg).keyring(&keyring).run(),
        ErrorKind::PolicyViolation,
    );
}

#[test]
fn decrypt_oracle_all_entries() {
    let oracle = read_json(ORACLE);
    let entries = oracle.as_array().unwrap();
    assert_eq!(entries.len(), 18);
    for (i, e) in entries.iter().enumerate() {
        let id = u16::from_str_radix(e["algorithm-suite"].as_str().unwrap(), 16).unwrap();
        let s = suite(id);
        let n = s.data_key_len();
        let (provider, key): (&str, Vec<u8>) = match e["key-type"].as_str().unwrap() {
            "null" => ("null", vec![0; n]),
            "test_counting" => ("test_counting", (1..=n as u8).collect()),
            other => panic!("unexpected key type {other}"),
        };
        let msg = b64(e["ciphertext"].as_str().unwrap());
        let out = allow_v1()
            .decrypt(&msg)
            .keyring(&FixedKeyring::new(provider, key))
            .run()
            .unwrap_or_else(|err| panic!("entry {i} ({id:04x}): {err}"));
        assert_eq!(
            out.plaintext,
            b64(e["plaintext"].as_str().unwrap()),
            "entry {i}"
        );
        assert_eq!(out.algorithm_suite(), s);
        assert_eq!(out.header.encrypted_data_keys[0].provider_id, provider);
        assert_eq!(out.encryption_context.get("key1"), Some("val1"));
        assert_eq!(out.encryption_context.get("key2"), Some("val2"));
        assert_eq!(
            out.encryption_context.len(),
            if s.is_signing() { 3 } else { 2 },
            "entry {i}"
        );
        let l = layout(&msg);
        assert_eq!(
            (l.frames.len(), l.footer.is_some()),
            (1, s.is_signing()),
            "entry {i}"
        );
    }
}
