//! A keyring may only add to the materials it is given (the ESDK's valid
//! materials transitions): a data key if there is none, encrypted data keys
//! after the existing ones. Keyrings written by users (the custom keyrings
//! of every front end) that return other materials are refused, at the top
//! level and inside a multi-keyring.

mod common;

use std::sync::Arc;

use common::*;
use kms_envelope::future::BoxFuture;
use kms_envelope::{
    AlgorithmSuite, Client, DecryptionMaterials, EncryptedDataKey, EncryptionContext,
    EncryptionMaterials, ErrorKind, Keyring, MultiKeyring, Result,
};

/// What a misbehaving keyring does to the materials it returns.
#[derive(Clone, Copy, Debug)]
enum Swap {
    Context,
    Suite,
    /// Fresh materials of the same suite and context: for signed suites the
    /// signing key pair differs, for any suite earlier EDKs are gone.
    Fresh,
}

/// Wraps the data key like `inner`, but into materials it made itself.
struct Swapping {
    inner: Arc<dyn Keyring>,
    swap: Swap,
}

fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
    let mut ec = EncryptionContext::new();
    for (k, v) in pairs {
        ec.insert(*k, *v);
    }
    ec
}

impl Swapping {
    fn fresh_encryption(&self, given: &EncryptionMaterials) -> EncryptionMaterials {
        let (suite, ec) = self.swapped(given.algorithm_suite(), given.encryption_context());
        let mut m = EncryptionMaterials::new(suite, ec);
        if let Some(key) = given.plaintext_data_key() {
            if key.len() == suite.data_key_len() {
                m.set_plaintext_data_key(key.clone()).unwrap();
            }
        }
        m
    }

    fn swapped(
        &self,
        suite: AlgorithmSuite,
        ec: &EncryptionContext,
    ) -> (AlgorithmSuite, EncryptionContext) {
        match self.swap {
            Swap::Context => (suite, context(&[("tenant", "someone-else")])),
            Swap::Suite if suite.id() == 0x0478 => {
                (AlgorithmSuite::from_id(0x0178).unwrap(), ec.clone())
            }
            Swap::Suite => (AlgorithmSuite::from_id(0x0478).unwrap(), ec.clone()),
            Swap::Fresh => (suite, ec.clone()),
        }
    }
}

impl Keyring for Swapping {
    fn on_encrypt<'a>(
        &'a self,
        m: EncryptionMaterials,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        let fresh = self.fresh_encryption(&m);
        self.inner.on_encrypt(fresh)
    }

    fn on_decrypt<'a>(
        &'a self,
        m: DecryptionMaterials,
        edks: &'a [EncryptedDataKey],
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(async move {
            let (suite, ec) = self.swapped(m.algorithm_suite(), m.encryption_context());
            let unwrapped = self.inner.on_decrypt(m, edks).await?;
            let mut fresh = DecryptionMaterials::new(suite, ec);
            if let Some(key) = unwrapped.plaintext_data_key() {
                fresh.set_plaintext_data_key(key.clone())?;
            }
            Ok(fresh)
        })
    }
}

fn aes(len: usize) -> Arc<dyn Keyring> {
    Arc::new(aes_keyring(len))
}

fn encrypt_with(keyring: &dyn Keyring, suite: u16) -> Result<Vec<u8>> {
    Client::new()
        .encrypt(b"payload")
        .keyring(keyring)
        .algorithm_suite(AlgorithmSuite::from_id(suite).unwrap())
        .encryption_context(context(&[("tenant", "mine")]))
        .run()
}

fn assert_refused(result: Result<Vec<u8>>, what: &str) {
    let err = result.expect_err("a keyring that swapped the materials must be refused");
    assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
    assert!(err.to_string().contains(what), "{err}");
}

#[test]
fn encryption_materials_of_another_request_are_refused() {
    for suite in [0x0478, 0x0578] {
        let top = |swap| Swapping {
            inner: aes(32),
            swap,
        };
        assert_refused(
            encrypt_with(&top(Swap::Context), suite),
            "encryption context",
        );
        assert_refused(encrypt_with(&top(Swap::Suite), suite), "algorithm suite");
        if suite == 0x0578 {
            assert_refused(encrypt_with(&top(Swap::Fresh), suite), "signing key");
        } else {
            // fresh unsigned materials of the same request are a valid output
            encrypt_with(&top(Swap::Fresh), suite).unwrap();
        }
        // a child that drops the generator's encrypted data key
        let multi = MultiKeyring::new(Some(aes(32)), vec![Arc::new(top(Swap::Fresh))]).unwrap();
        let err = encrypt_with(&multi, suite).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
        let child = MultiKeyring::new(Some(aes(32)), vec![Arc::new(top(Swap::Context))]).unwrap();
        assert_refused(encrypt_with(&child, suite), "encryption context");
        let generator = MultiKeyring::new(Some(Arc::new(top(Swap::Context))), vec![]).unwrap();
        assert_refused(encrypt_with(&generator, suite), "encryption context");
    }
}

#[test]
fn decryption_materials_of_another_request_are_refused() {
    let keyring = aes(32);
    for suite in [0x0478, 0x0578] {
        let msg = encrypt_with(&*keyring, suite).unwrap();
        for swap in [Swap::Context, Swap::Suite, Swap::Fresh] {
            let swapping = Swapping {
                inner: keyring.clone(),
                swap,
            };
            let multi = MultiKeyring::new(
                None,
                vec![Arc::new(Swapping {
                    inner: keyring.clone(),
                    swap,
                }) as Arc<dyn Keyring>],
            )
            .unwrap();
            for k in [&swapping as &dyn Keyring, &multi] {
                let result = Client::new().decrypt(&msg).keyring(k).run();
                match (swap, suite) {
                    // unsigned: fresh materials of the same message are valid
                    (Swap::Fresh, 0x0478) => assert_eq!(result.unwrap().plaintext, b"payload"),
                    _ => {
                        let err = result.expect_err("swapped decryption materials");
                        assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
                        let what = match swap {
                            Swap::Context => "encryption context",
                            Swap::Suite => "algorithm suite",
                            Swap::Fresh => "signing key",
                        };
                        assert!(err.to_string().contains(what), "{err}");
                    }
                }
            }
        }
    }
}

#[test]
fn multi_keyrings_nest_to_a_bound_and_work_there() {
    // Each level is a call inside the one above (and a destructor inside
    // the one above on drop): thousands of levels overflowed the stack.
    let mut keyring = aes(32);
    assert_eq!(keyring.nesting_depth(), 1);
    for depth in 2..=kms_envelope::keyring::multi::MAX_NESTING {
        keyring = Arc::new(MultiKeyring::new(Some(keyring), vec![]).unwrap());
        assert_eq!(keyring.nesting_depth(), depth);
    }
    let message = encrypt_with(&*keyring, 0x0478).unwrap();
    let out = Client::new()
        .decrypt(&message)
        .keyring(&*keyring)
        .run()
        .unwrap();
    assert_eq!(out.plaintext, b"payload");
    // One more level, as the generator or as a child, is refused.
    for (generator, children) in [
        (Some(keyring.clone()), vec![]),
        (None, vec![aes(16), keyring.clone()]),
    ] {
        let err = MultiKeyring::new(generator, children).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArgument, "{err}");
        assert!(err.to_string().contains("nest at most 64"), "{err}");
    }
    // A keyring of someone else's that reports any depth at all: refused,
    // never an overflow.
    struct Bottomless(Arc<dyn Keyring>);
    impl Keyring for Bottomless {
        fn on_encrypt<'a>(
            &'a self,
            m: EncryptionMaterials,
        ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
            self.0.on_encrypt(m)
        }
        fn on_decrypt<'a>(
            &'a self,
            m: DecryptionMaterials,
            edks: &'a [EncryptedDataKey],
        ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
            self.0.on_decrypt(m, edks)
        }
        fn nesting_depth(&self) -> usize {
            usize::MAX
        }
    }
    let err = MultiKeyring::new(Some(Arc::new(Bottomless(aes(16)))), vec![]).unwrap_err();
    assert!(err.to_string().contains("nest at most 64"), "{err}");
}
