//! Secret hygiene: no key material in `Debug` output or error messages, and
//! key holders that wipe themselves when dropped. docs/threat-model.md lists
//! each place a secret lives and which test covers it.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use kms_envelope::cmm::{CachingMaterialsManager, LocalMaterialsCache};
use kms_envelope::future::{ready, BoxFuture};
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, DataKey, DecryptionMaterials, EncryptedDataKey,
    EncryptionMaterials, Keyring, RawAesKeyring, RawRsaKeyring, Result, RsaPadding,
};
use zeroize::ZeroizeOnDrop;

/// A recognisable 32-byte secret.
const SECRET: [u8; 32] = [
    0xd1, 0x5e, 0xa5, 0xe0, 0x0b, 0xad, 0xf0, 0x0d, 0xc0, 0xff, 0xee, 0x42, 0x13, 0x37, 0x99, 0x88,
    0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21, 0x10,
];

/// Every way a byte string usually leaks into text: Rust's slice Debug in
/// decimal, lowercase and uppercase hex, and a run of decimal bytes.
fn leaks(text: &str, secret: &[u8]) -> bool {
    let prefix = &secret[..8.min(secret.len())];
    let decimal = format!("{:?}", prefix);
    let decimal = decimal.trim_end_matches(']');
    let hex: String = prefix.iter().map(|b| format!("{b:02x}")).collect();
    let spaced: String = prefix.iter().map(|b| format!("{b} ")).collect();
    text.contains(decimal) || text.to_lowercase().contains(&hex) || text.contains(spaced.trim_end())
}

#[test]
fn the_leak_check_finds_leaks() {
    assert!(leaks(&format!("{:?}", SECRET.to_vec()), &SECRET));
    assert!(leaks(&format!("key={}", hex(&SECRET)), &SECRET));
    assert!(!leaks("DataKey(<32 bytes redacted>)", &SECRET));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn debug_output_redacts_keys() {
    let data_key = DataKey::from_slice(&SECRET);
    assert!(!leaks(&format!("{data_key:?}"), &SECRET));

    let aes = RawAesKeyring::new("ns", "name", &SECRET).unwrap();
    assert!(!leaks(&format!("{aes:?}"), &SECRET));

    let rsa = RawRsaKeyring::new(
        "ns",
        "rsa",
        RsaPadding::OaepSha256,
        None,
        Some(rsa_private()),
    )
    .unwrap();
    let text = format!("{rsa:?} {:?}", rsa_private());
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("MII"),
        "{text}"
    );

    let mut materials = EncryptionMaterials::new(AlgorithmSuite::ALL[0], Default::default());
    materials
        .set_plaintext_data_key(DataKey::from_slice(&SECRET[..16]))
        .unwrap();
    assert!(!leaks(&format!("{materials:?}"), &SECRET[..16]));

    let mut materials = DecryptionMaterials::new(AlgorithmSuite::ALL[0], Default::default());
    materials
        .set_plaintext_data_key(DataKey::from_slice(&SECRET[..16]))
        .unwrap();
    assert!(!leaks(&format!("{materials:?}"), &SECRET[..16]));
}

/// A keyring that "wraps" with a fixed, known data key and records what the
/// materials look like once the CMM has added the signing key.
struct KnownKey {
    seen: Mutex<Vec<String>>,
}

impl Keyring for KnownKey {
    fn on_encrypt<'a>(
        &'a self,
        mut m: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        let len = m.algorithm_suite().data_key_len();
        let outcome = m
            .set_plaintext_data_key(DataKey::from_slice(&SECRET[..len]))
            .and_then(|()| {
                m.add_encrypted_data_key(EncryptedDataKey::new("known", b"k".to_vec(), vec![0]))
            });
        self.seen.lock().unwrap().push(format!("{m:?}"));
        ready(outcome.map(|()| m))
    }

    fn on_decrypt<'a>(
        &'a self,
        mut m: DecryptionMaterials,
        _edks: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        let len = m.algorithm_suite().data_key_len();
        let outcome = m.set_plaintext_data_key(DataKey::from_slice(&SECRET[..len]));
        self.seen.lock().unwrap().push(format!("{m:?}"));
        ready(outcome.map(|()| m))
    }
}

#[test]
fn materials_of_every_suite_and_errors_do_not_show_the_data_key() {
    let keyring = Arc::new(KnownKey {
        seen: Mutex::new(Vec::new()),
    });
    for suite in AlgorithmSuite::ALL {
        let client = Client::builder()
            .commitment_policy(if suite.is_committing() {
                CommitmentPolicy::RequireEncryptRequireDecrypt
            } else {
                CommitmentPolicy::ForbidEncryptAllowDecrypt
            })
            .build();
        let message = client
            .encrypt(b"hygiene")
            .keyring(keyring.as_ref())
            .algorithm_suite(suite)
            .run()
            .unwrap();
        assert_eq!(
            client
                .decrypt(&message)
                .keyring(keyring.as_ref())
                .run()
                .unwrap()
                .plaintext,
            b"hygiene"
        );
        // Tampered body: the error text carries no key material.
        let mut bad = message.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let err = client
            .decrypt(&bad)
            .keyring(keyring.as_ref())
            .run()
            .unwrap_err();
        let len = suite.data_key_len();
        assert!(
            !leaks(&format!("{err} {err:?}"), &SECRET[..len]),
            "{suite:?}"
        );
    }
    for text in keyring.seen.lock().unwrap().iter() {
        assert!(!leaks(text, &SECRET[..16]), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }
}

#[test]
fn wrong_key_errors_do_not_show_either_key() {
    let right = RawAesKeyring::new("ns", "k", &SECRET).unwrap();
    let mut other = SECRET;
    other[0] ^= 0xff;
    let wrong = RawAesKeyring::new("ns", "k", &other).unwrap();
    let client = Client::new();
    let message = client.encrypt(b"x").keyring(&right).run().unwrap();
    let err = client.decrypt(&message).keyring(&wrong).run().unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!leaks(&text, &SECRET) && !leaks(&text, &other), "{text}");
    // A bad key length names the length, not the bytes.
    let err = RawAesKeyring::new("ns", "k", &SECRET[..31]).unwrap_err();
    assert!(!leaks(&format!("{err} {err:?}"), &SECRET), "{err}");
}

#[test]
fn the_caching_manager_does_not_show_cached_keys() {
    let keyring = Arc::new(RawAesKeyring::new("ns", "k", &SECRET).unwrap());
    let cache = Arc::new(LocalMaterialsCache::new(10));
    let cmm = CachingMaterialsManager::builder(std::time::Duration::from_secs(60))
        .keyring(keyring)
        .cache(cache)
        .build()
        .unwrap();
    let client = Client::new();
    client.encrypt(b"x").materials_manager(&cmm).run().unwrap();
    assert!(!leaks(&format!("{cmm:?}"), &SECRET));
}

/// Types that hold a secret promise to wipe it on drop (`ZeroizeOnDrop`);
/// a dependency update that dropped the promise fails to compile here.
#[test]
fn key_holders_wipe_themselves_on_drop() {
    fn wipes_on_drop<T: ZeroizeOnDrop>() {}
    wipes_on_drop::<DataKey>();
    wipes_on_drop::<zeroize::Zeroizing<Vec<u8>>>();
}
