//! Messages that `@aws-crypto/client-node`'s raw AES keyring wrote with its
//! default `utf8Sorting: false` (tests/data/js-legacy-order, made by its
//! generate.mjs): their wrapped data keys authenticate the encryption
//! context in `localeCompare` order. A raw AES keyring reads them with the
//! legacy order and, as the specification requires, not without it; the
//! keyring never writes that order.
#![cfg(feature = "js-legacy-order")]

use std::cmp::Ordering;
use std::sync::Arc;

use base64::Engine;
use kms_envelope::keyring::{ContextKeyOrder, JsLocaleCompare};
use kms_envelope::{Client, CommitmentPolicy, EncryptionContext, Error, RawAesKeyring};

struct Fixture {
    namespace: String,
    name: String,
    key: Vec<u8>,
    messages: Vec<Message>,
}

struct Message {
    name: String,
    context: EncryptionContext,
    order_differs: bool,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/js-legacy-order/messages.json"
    );
    let text = std::fs::read_to_string(path).expect("read messages.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("parse messages.json");
    let str_of = |v: &serde_json::Value, k: &str| v[k].as_str().expect(k).to_string();
    let messages = json["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| Message {
            name: str_of(m, "name"),
            context: m["context"]
                .as_object()
                .expect("context")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("value").to_string()))
                .collect(),
            order_differs: m["orderDiffers"].as_bool().expect("orderDiffers"),
            plaintext: str_of(m, "plaintext").into_bytes(),
            ciphertext: base64::engine::general_purpose::STANDARD
                .decode(str_of(m, "ciphertext"))
                .expect("base64"),
        })
        .collect();
    Fixture {
        namespace: str_of(&json, "keyNamespace"),
        name: str_of(&json, "keyName"),
        key: hex::decode(str_of(&json, "key")).expect("hex key"),
        messages,
    }
}

fn client() -> Client {
    // One fixture is a message format 1 (non-committing) message.
    Client::builder()
        .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build()
}

#[test]
fn legacy_order_reads_client_node_messages() {
    let f = fixture();
    assert!(f.messages.len() >= 6 && f.messages.iter().filter(|m| m.order_differs).count() >= 5);
    let plain = RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &f.key).unwrap();
    let legacy = RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &f.key)
        .unwrap()
        .with_js_legacy_order()
        .unwrap();
    for m in &f.messages {
        let out = client()
            .decrypt(&m.ciphertext)
            .keyring(&legacy)
            .encryption_context(m.context.clone())
            .run()
            .unwrap_or_else(|e| panic!("{}: {e}", m.name));
        assert_eq!(out.plaintext, m.plaintext, "{}", m.name);
        let spec_only = client().decrypt(&m.ciphertext).keyring(&plain).run();
        if m.order_differs {
            match spec_only {
                Err(Error::NoKeyUnwrapped(reasons)) => {
                    assert!(
                        reasons.iter().all(|r| r.contains("unwrap failed")),
                        "{reasons:?}"
                    )
                }
                other => panic!(
                    "{}: the specification's order must not unwrap: {other:?}",
                    m.name
                ),
            }
        } else {
            assert_eq!(spec_only.expect(&m.name).plaintext, m.plaintext);
        }
    }
}

#[test]
fn legacy_order_does_not_change_what_is_written() {
    let f = fixture();
    let legacy = RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &f.key)
        .unwrap()
        .with_js_legacy_order()
        .unwrap();
    let plain = RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &f.key).unwrap();
    let context = EncryptionContext::from_iter([("Tenant", "acme"), ("é", "1")]);
    let ct = Client::new()
        .encrypt(b"spec order")
        .keyring(&legacy)
        .encryption_context(context)
        .run()
        .unwrap();
    // A keyring without the option reads it: the wrapping used byte order.
    assert_eq!(
        Client::new()
            .decrypt(&ct)
            .keyring(&plain)
            .run()
            .unwrap()
            .plaintext,
        b"spec order"
    );
}

#[test]
fn a_wrong_key_still_fails_and_says_both_orders_were_tried() {
    let f = fixture();
    let wrong = RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &[9; 32])
        .unwrap()
        .with_js_legacy_order()
        .unwrap();
    let m = f.messages.iter().find(|m| m.order_differs).unwrap();
    match client().decrypt(&m.ciphertext).keyring(&wrong).run() {
        Err(Error::NoKeyUnwrapped(reasons)) => {
            assert!(
                reasons.iter().any(|r| r.contains("and the legacy ones")),
                "{reasons:?}"
            )
        }
        other => panic!("a wrong key unwrapped: {other:?}"),
    }
}

#[test]
fn any_order_can_be_supplied() {
    // An order that is not the writer's does not help.
    struct Reversed;
    impl ContextKeyOrder for Reversed {
        fn compare(&self, a: &str, b: &str) -> Ordering {
            b.cmp(a)
        }
    }
    let f = fixture();
    let reversed = RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &f.key)
        .unwrap()
        .with_legacy_order(Arc::new(Reversed));
    let m = f
        .messages
        .iter()
        .find(|m| m.name == "many kinds of key")
        .unwrap();
    assert!(client()
        .decrypt(&m.ciphertext)
        .keyring(&reversed)
        .run()
        .is_err());
}

#[test]
fn the_collation_is_javascripts_on_many_keys() {
    // 400 keys of many scripts, sorted by Node's localeCompare.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/js-legacy-order/messages.json"
    ))
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sorted: Vec<&str> = json["collation"]["sortedKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(sorted.len(), 400);
    let order = JsLocaleCompare::new().unwrap();
    let mut ours = sorted.clone();
    ours.reverse();
    ours.sort_by(|a, b| order.compare(a, b));
    assert_eq!(ours, sorted);
}

#[test]
fn the_collation_is_javascripts() {
    // Node 20 (ICU 78): ['aws-crypto-public-key','Tenant','b','_x','Äb','Az','zz','1a','-a']
    // .sort((a, b) => a.localeCompare(b))
    let order = JsLocaleCompare::new().unwrap();
    let mut keys = [
        "aws-crypto-public-key",
        "Tenant",
        "b",
        "_x",
        "Äb",
        "Az",
        "zz",
        "1a",
        "-a",
    ];
    keys.sort_by(|a, b| order.compare(a, b));
    assert_eq!(
        keys,
        [
            "_x",
            "-a",
            "1a",
            "Äb",
            "aws-crypto-public-key",
            "Az",
            "b",
            "Tenant",
            "zz"
        ]
    );
}

#[test]
fn legacy_order_inside_a_multi_keyring_and_a_stream() {
    let f = fixture();
    let legacy: Arc<dyn kms_envelope::Keyring> = Arc::new(
        RawAesKeyring::new(f.namespace.as_str(), f.name.as_str(), &f.key)
            .unwrap()
            .with_js_legacy_order()
            .unwrap(),
    );
    let other: Arc<dyn kms_envelope::Keyring> =
        Arc::new(RawAesKeyring::new("other", "key", &[3; 32]).unwrap());
    let multi = Arc::new(kms_envelope::MultiKeyring::new(None, vec![other, legacy]).unwrap());
    for m in f.messages.iter().filter(|m| m.order_differs) {
        let mut decryptor = client()
            .stream_decrypt()
            .keyring(multi.clone())
            .start()
            .unwrap();
        let mut out = Vec::new();
        for piece in m.ciphertext.chunks(7) {
            decryptor
                .update(piece, &mut out)
                .unwrap_or_else(|e| panic!("{}: {e}", m.name));
        }
        decryptor.finish().unwrap();
        assert_eq!(out, m.plaintext, "{}", m.name);
    }
}
