//! The caching materials manager: reuse within limits, expiry, partitions,
//! capacity, identity suites never cached, decrypt reuse.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{aes_keyring, CountingKeyring};
use kms_envelope::cmm::{CachingMaterialsManager, Clock, LocalMaterialsCache};
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, EncryptionContext, Keyring, MessageHeader,
};

/// A clock the test moves by hand.
#[derive(Default)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn advance(&self, millis: u64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn counting() -> Arc<CountingKeyring> {
    Arc::new(CountingKeyring::new(Arc::new(aes_keyring(32))))
}

fn generated(k: &CountingKeyring) -> usize {
    k.encrypts.load(Ordering::SeqCst)
}

fn data_key_of(msg: &[u8]) -> Vec<u8> {
    MessageHeader::parse(msg, None)
        .unwrap()
        .0
        .encrypted_data_keys[0]
        .ciphertext
        .clone()
}

#[test]
fn one_data_key_serves_exactly_max_messages() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(600))
        .keyring(keyring.clone())
        .max_messages(100)
        .build()
        .unwrap();
    let client = Client::new();
    let mut keys = Vec::new();
    for i in 0..1000u32 {
        let ct = client
            .encrypt(&i.to_be_bytes())
            .materials_manager(&cmm)
            .algorithm_suite(AlgorithmSuite::AesGcm256HkdfSha512CommitKey)
            .run()
            .unwrap();
        keys.push(data_key_of(&ct));
    }
    assert_eq!(generated(&keyring), 10);
    for chunk in keys.chunks(100) {
        assert!(chunk.iter().all(|k| *k == chunk[0]));
    }
    assert_ne!(keys[0], keys[100]);
}

#[test]
fn entries_expire_by_age() {
    let keyring = counting();
    let clock = Arc::new(ManualClock::default());
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(10))
        .keyring(keyring.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = Client::new();
    let a = client.encrypt(b"a").materials_manager(&cmm).run().unwrap();
    clock.advance(9_999);
    let b = client.encrypt(b"b").materials_manager(&cmm).run().unwrap();
    assert_eq!(data_key_of(&a), data_key_of(&b));
    clock.advance(1);
    let c = client.encrypt(b"c").materials_manager(&cmm).run().unwrap();
    assert_ne!(
        data_key_of(&a),
        data_key_of(&c),
        "an expired entry is never used"
    );
    assert_eq!(generated(&keyring), 2);
}

#[test]
fn byte_limit_starts_a_new_data_key() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(keyring.clone())
        .max_bytes(250)
        .build()
        .unwrap();
    let client = Client::new();
    for _ in 0..6 {
        client
            .encrypt(&[0; 100])
            .materials_manager(&cmm)
            .run()
            .unwrap();
    }
    // 100 + 100 fit under 250; the third 100 does not.
    assert_eq!(generated(&keyring), 3);
    // A message larger than the limit is never cached.
    client
        .encrypt(&[0; 300])
        .materials_manager(&cmm)
        .run()
        .unwrap();
    client
        .encrypt(&[0; 300])
        .materials_manager(&cmm)
        .run()
        .unwrap();
    assert_eq!(generated(&keyring), 5);
}

#[test]
fn a_stream_of_unknown_length_gets_a_fresh_data_key() {
    // Its bytes could not be held to the byte limit: it neither reads nor
    // fills the cache (as the official SDKs do; caching-cmm.md is silent).
    let keyring = counting();
    let cmm = Arc::new(
        CachingMaterialsManager::builder(Duration::from_secs(60))
            .keyring(keyring.clone())
            .build()
            .unwrap(),
    );
    let client = Client::new();
    let stream = |length: Option<u64>| {
        let mut builder = client.stream_encrypt().materials_manager(cmm.clone());
        if let Some(n) = length {
            builder = builder.plaintext_length(n);
        }
        let mut enc = builder.start().unwrap();
        let mut out = Vec::new();
        enc.update(b"data", &mut out).unwrap();
        enc.finish(&mut out).unwrap();
        data_key_of(&out)
    };
    let (a, b) = (stream(None), stream(None));
    assert_ne!(a, b);
    assert_eq!(generated(&keyring), 2);
    let (c, d) = (stream(Some(4)), stream(Some(4)));
    assert_eq!(c, d, "a declared length is cached");
    assert_ne!(c, a);
    assert_eq!(generated(&keyring), 3);
    // ... and an unknown length does not take the cached key either.
    assert_ne!(stream(None), c);
    assert_eq!(generated(&keyring), 4);
}

#[test]
fn identity_kdf_suites_are_never_cached() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let client = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    for suite in [
        AlgorithmSuite::AesGcm128NoKdf,
        AlgorithmSuite::AesGcm192NoKdf,
        AlgorithmSuite::AesGcm256NoKdf,
    ] {
        let a = client
            .encrypt(b"x")
            .materials_manager(&cmm)
            .algorithm_suite(suite)
            .run()
            .unwrap();
        let b = client
            .encrypt(b"x")
            .materials_manager(&cmm)
            .algorithm_suite(suite)
            .run()
            .unwrap();
        assert_ne!(data_key_of(&a), data_key_of(&b));
        for msg in [&a, &b] {
            client.decrypt(msg).materials_manager(&cmm).run().unwrap();
        }
    }
    assert_eq!(generated(&keyring), 6);
    assert_eq!(keyring.decrypts(), 6);
    assert!(cmm.cache().is_empty());
}

#[test]
fn contexts_and_suites_get_their_own_entries() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let client = Client::new();
    let ec = |v: &str| EncryptionContext::from_iter([("tenant", v)]);
    for _ in 0..3 {
        client
            .encrypt(b"x")
            .materials_manager(&cmm)
            .encryption_context(ec("a"))
            .run()
            .unwrap();
        client
            .encrypt(b"x")
            .materials_manager(&cmm)
            .encryption_context(ec("b"))
            .run()
            .unwrap();
        client
            .encrypt(b"x")
            .materials_manager(&cmm)
            .encryption_context(ec("a"))
            .algorithm_suite(AlgorithmSuite::AesGcm256HkdfSha512CommitKey)
            .run()
            .unwrap();
    }
    assert_eq!(generated(&keyring), 3);
}

#[test]
fn partitions_separate_managers_that_share_a_cache() {
    let cache = Arc::new(LocalMaterialsCache::new(100));
    let keyring = counting();
    let build = |partition: Option<&str>| {
        let b = CachingMaterialsManager::builder(Duration::from_secs(60))
            .keyring(keyring.clone())
            .cache(cache.clone());
        match partition {
            Some(p) => b.partition_id(p),
            None => b,
        }
        .build()
        .unwrap()
    };
    let (a, b) = (build(None), build(None));
    assert_ne!(a.partition_id(), b.partition_id());
    let client = Client::new();
    client.encrypt(b"x").materials_manager(&a).run().unwrap();
    client.encrypt(b"x").materials_manager(&b).run().unwrap();
    assert_eq!(generated(&keyring), 2);
    let (c, d) = (build(Some("shared")), build(Some("shared")));
    client.encrypt(b"x").materials_manager(&c).run().unwrap();
    client.encrypt(b"x").materials_manager(&d).run().unwrap();
    assert_eq!(generated(&keyring), 3);
}

#[test]
fn capacity_evicts_the_least_recently_used_entry() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(keyring.clone())
        .cache(Arc::new(LocalMaterialsCache::new(2)))
        .build()
        .unwrap();
    let client = Client::new();
    let run = |v: &str| {
        client
            .encrypt(b"x")
            .materials_manager(&cmm)
            .encryption_context(EncryptionContext::from_iter([("k", v)]))
            .run()
            .unwrap()
    };
    run("a");
    run("b");
    run("a"); // a is now more recent than b
    run("c"); // evicts b
    assert_eq!(cmm.cache().len(), 2);
    assert_eq!(generated(&keyring), 3);
    run("a");
    assert_eq!(generated(&keyring), 3);
    run("b");
    assert_eq!(generated(&keyring), 4);
}

#[test]
fn decrypt_materials_are_reused_but_not_across_reproduced_contexts() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let client = Client::new();
    let ec = EncryptionContext::from_iter([("tenant", "a")]);
    let ct = client
        .encrypt(b"secret")
        .keyring(&*keyring)
        .encryption_context(ec.clone())
        .run()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            client
                .decrypt(&ct)
                .materials_manager(&cmm)
                .run()
                .unwrap()
                .plaintext,
            b"secret"
        );
    }
    assert_eq!(keyring.decrypts(), 1);
    client
        .decrypt(&ct)
        .materials_manager(&cmm)
        .encryption_context(ec)
        .run()
        .unwrap();
    assert_eq!(keyring.decrypts(), 2);
    let wrong = EncryptionContext::from_iter([("tenant", "b")]);
    assert!(client
        .decrypt(&ct)
        .materials_manager(&cmm)
        .encryption_context(wrong)
        .run()
        .is_err());
    let extra = EncryptionContext::from_iter([("tenant", "a"), ("invented", "x")]);
    assert!(client
        .decrypt(&ct)
        .materials_manager(&cmm)
        .encryption_context(extra)
        .run()
        .is_err());
}

#[test]
fn shared_between_threads_never_overuses_a_data_key() {
    let keyring = counting();
    let cmm = Arc::new(
        CachingMaterialsManager::builder(Duration::from_secs(60))
            .keyring(keyring.clone() as Arc<dyn Keyring>)
            .max_messages(50)
            .build()
            .unwrap(),
    );
    let client = Client::builder().threads(1).build();
    let keys = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let (cmm, client, keys) = (cmm.clone(), client.clone(), &keys);
            s.spawn(move || {
                for i in 0..50u8 {
                    let ct = client
                        .encrypt(&[t, i])
                        .materials_manager(&*cmm)
                        .algorithm_suite(AlgorithmSuite::AesGcm256HkdfSha512CommitKey)
                        .run()
                        .unwrap();
                    assert_eq!(
                        client
                            .decrypt(&ct)
                            .materials_manager(&*cmm)
                            .run()
                            .unwrap()
                            .plaintext,
                        [t, i]
                    );
                    keys.lock().unwrap().push(data_key_of(&ct));
                }
            });
        }
    });
    // Concurrent misses may each fetch a key (the specification allows it),
    // but no data key ever serves more than the limit.
    let keys = keys.into_inner().unwrap();
    let mut uses = std::collections::HashMap::new();
    for k in &keys {
        *uses.entry(k.clone()).or_insert(0usize) += 1;
    }
    assert!(uses.values().all(|n| *n <= 50), "{:?}", uses.values().max());
    assert!(uses.len() >= 8);
    assert_eq!(uses.len(), generated(&keyring));
}

#[test]
fn bad_settings_are_refused() {
    let keyring = counting();
    assert!(CachingMaterialsManager::builder(Duration::ZERO)
        .keyring(keyring.clone())
        .build()
        .is_err());
    assert!(CachingMaterialsManager::builder(Duration::from_secs(1))
        .build()
        .is_err());
    assert!(CachingMaterialsManager::builder(Duration::from_secs(1))
        .keyring(keyring.clone())
        .max_messages(0)
        .build()
        .is_err());
    // caching-cmm.md: the limit is a 64-bit count (2^32 only the default),
    // though the official SDKs refuse more than 2^32.
    for max in [1 << 32, (1 << 32) + 1, u64::MAX] {
        assert!(CachingMaterialsManager::builder(Duration::from_secs(1))
            .keyring(keyring.clone())
            .max_messages(max)
            .build()
            .is_ok());
    }
    assert!(CachingMaterialsManager::builder(Duration::from_secs(1))
        .keyring(keyring)
        .max_bytes(u64::MAX)
        .build()
        .is_err());
}

#[test]
fn default_partition_ids_are_random_and_unguessable() {
    // A counter-based default ("...-partition-0") could be named by another
    // manager on the same cache, which was then handed these data keys.
    let cache = Arc::new(LocalMaterialsCache::new(10));
    let mine = counting();
    let defaulted = CachingMaterialsManager::builder(Duration::from_secs(600))
        .keyring(mine.clone())
        .cache(cache.clone())
        .build()
        .unwrap();
    let id = defaulted.partition_id().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.as_bytes()[14], b'4', "a version-4 UUID: {id}");
    let other = CachingMaterialsManager::builder(Duration::from_secs(600))
        .keyring(Arc::new(aes_keyring(32)))
        .cache(cache.clone())
        .build()
        .unwrap();
    assert_ne!(other.partition_id(), id);
    // A manager naming the old default partition gets nothing of this one.
    let client = Client::new();
    client
        .encrypt(b"mine")
        .materials_manager(&defaulted)
        .run()
        .unwrap();
    let theirs = counting();
    for guess in ["kms-envelope-partition-0", "kms-envelope-partition-1"] {
        let guessing = CachingMaterialsManager::builder(Duration::from_secs(600))
            .keyring(theirs.clone())
            .cache(cache.clone())
            .partition_id(guess)
            .build()
            .unwrap();
        client
            .encrypt(b"theirs")
            .materials_manager(&guessing)
            .run()
            .unwrap();
    }
    assert_eq!(generated(&theirs), 2, "each guess made its own data key");
}

#[test]
fn an_entry_made_under_another_commitment_policy_is_not_reused() {
    // Without a requested suite the default follows the policy (0x0578 or
    // 0x0378); the cache ID leaves the policy out.
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(600))
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let require = Client::new();
    let forbid = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    for (client, suite) in [(&require, 0x0578), (&forbid, 0x0378), (&require, 0x0578)] {
        let ct = client.encrypt(b"x").materials_manager(&cmm).run().unwrap();
        let header = MessageHeader::parse(&ct, None).unwrap().0;
        assert_eq!(header.algorithm_suite.id(), suite);
    }
    // The REQUIRE entry stayed and served the third call.
    assert_eq!(generated(&keyring), 2);
}

#[test]
fn an_oversized_message_leaves_the_entry_to_the_messages_that_fit() {
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(keyring.clone())
        .max_bytes(10)
        .build()
        .unwrap();
    let client = Client::new();
    let seal = |len: usize| {
        let ct = client
            .encrypt(&vec![0; len])
            .materials_manager(&cmm)
            .run()
            .unwrap();
        data_key_of(&ct)
    };
    let first = seal(4);
    let big = seal(11);
    assert_ne!(first, big, "a message over the limit gets its own data key");
    assert_eq!(seal(3), first, "and the entry it could not use stays");
    assert_eq!(generated(&keyring), 2);
}

#[test]
fn a_caller_the_entry_does_not_fit_uses_none_of_its_limits() {
    // The REQUIRE entry may serve exactly two messages; a FORBID caller
    // between them passes it by without using one of them up.
    let keyring = counting();
    let cmm = CachingMaterialsManager::builder(Duration::from_secs(600))
        .keyring(keyring.clone())
        .max_messages(2)
        .build()
        .unwrap();
    let require = Client::new();
    let forbid = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    let a = require.encrypt(b"a").materials_manager(&cmm).run().unwrap();
    // Another partition would hide the entry: use the same manager.
    let _ = forbid.encrypt(b"b").materials_manager(&cmm).run().unwrap();
    let c = require.encrypt(b"c").materials_manager(&cmm).run().unwrap();
    assert_eq!(data_key_of(&a), data_key_of(&c));
    assert_eq!(generated(&keyring), 2);
}

#[test]
fn managers_built_apart_agree_on_the_age_of_shared_entries() {
    // Each manager's default clock once counted from the manager's own
    // creation: one built later read the other's entries as younger, and
    // used them past their age.
    let keyring = counting();
    let cache = Arc::new(LocalMaterialsCache::new(10));
    let manager = || {
        CachingMaterialsManager::builder(Duration::from_millis(200))
            .keyring(keyring.clone())
            .cache(cache.clone())
            .partition_id("shared")
            .build()
            .unwrap()
    };
    let early = manager();
    std::thread::sleep(Duration::from_millis(300));
    let late = manager();
    let client = Client::new();
    let a = client
        .encrypt(b"a")
        .materials_manager(&early)
        .run()
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    let b = client.encrypt(b"b").materials_manager(&late).run().unwrap();
    assert_ne!(
        data_key_of(&a),
        data_key_of(&b),
        "an entry past its age is never used"
    );
    assert_eq!(generated(&keyring), 2);
}
