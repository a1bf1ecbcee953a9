//! Host AES-GCM and SHA-2 (cargo feature `host-crypto`): internal hooks for
//! bindings.
//!
//! A front end whose host has faster primitives than the RustCrypto backend
//! (the wasm build in Node, where `node:crypto` runs AES-GCM about 40 times
//! and SHA-384 about 4 times faster than wasm) installs a [`HostAead`] and a
//! [`HostHash`] on the current thread. Every frame, header tag and raw-AES
//! key wrap of the RustCrypto backend then goes to the host AES-GCM, and
//! every incremental hash (the signature hash over a signed message, above
//! all) to the host SHA-2; everything else (the format, key derivation,
//! commitment, ECDSA itself, policy) stays in the core. Both primitives are
//! deterministic, so the bytes are identical either way; a host that
//! declines a call (returns `None`) falls back to the backend.
//!
//! The RustCrypto backend can also leave ECDSA to the host ([`HostEcdsa`]).
//!
//! With the AWS-LC backend (native builds without the `rustcrypto` feature)
//! only the hash hook applies: the Python package hands long hashes to
//! `hashlib`, whose OpenSSL SHA-384 beats AWS-LC's on CPUs where AWS-LC
//! runs its scalar code. A host hash may leave inputs shorter than
//! [`HostHash::min_len`] to the backend, so short hashes (cache IDs, small
//! messages) never call into the host.
//!
//! Not part of the stable API: bindings only.

use std::cell::RefCell;
use std::rc::Rc;

use crate::crypto::HashAlg;

/// An AES-GCM implementation supplied by the host (16-byte tags, 12-byte IVs).
pub trait HostAead {
    /// Encrypts `data` in place under `key` (16, 24 or 32 bytes) and returns
    /// the tag, or `None` to let the backend do it.
    fn seal(&self, key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]>;

    /// Decrypts `data` in place: `Some(true)` if the tag verified,
    /// `Some(false)` if not (then `data` is garbage), `None` to let the
    /// backend do it (then `data` must be unchanged).
    fn open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool>;
}

/// An incremental SHA-2 hash run by the host. `MaybeSendSync`: a native
/// host's hash must be `Send + Sync`, as the core's own is.
pub trait HostDigest: crate::future::MaybeSendSync {
    /// Adds `data` to the hash.
    fn update(&mut self, data: &[u8]);

    /// The digest, or `None` if the host failed (the signature that needed
    /// it then fails: signing errs, verifying rejects).
    fn finish(self: Box<Self>) -> Option<Vec<u8>>;
}

/// Starts SHA-2 hashes on the host.
pub trait HostHash {
    /// A new hash for `name` (`"sha256"`, `"sha384"` or `"sha512"`), or
    /// `None` to let the backend do it. Called when the core starts a hash;
    /// the host digest gets its first `update` only once the input reaches
    /// [`Self::min_len`].
    fn start(&self, name: &str) -> Option<Box<dyn HostDigest>>;

    /// Inputs shorter than this many bytes are hashed by the backend (the
    /// core holds them until it knows): for hosts where each call costs
    /// more than hashing a little. 0 (the default) sends everything.
    fn min_len(&self) -> usize {
        0
    }
}

/// ECDSA on P-256 / P-384 run by the host, for the RustCrypto backend:
/// `node:crypto` makes a P-384 key and signature about four times faster
/// than the wasm build. The host never sees a digest: it signs or verifies
/// the message bytes the core streams to it, hashing them itself with the
/// curve's hash (SHA-256 / SHA-384), as `node:crypto`'s `Sign` and `Verify`
/// objects do. Its signatures are DER of their natural length, so a
/// [`PreparedEncryption`](crate::PreparedEncryption) (which needs a fixed
/// length) of a signed suite fails while a host key signs.
pub trait HostEcdsa {
    /// A fresh key pair on `curve` (`"P-256"` or `"P-384"`), or `None` to
    /// let the backend make one.
    fn generate(&self, curve: &str) -> Option<Box<dyn HostSigningKey>>;

    /// The public key of the SEC 1 compressed `point` on `curve`, or `None`
    /// to let the backend take it (and refuse it if it is not on the curve).
    fn verifying_key(&self, curve: &str, point: &[u8]) -> Option<Box<dyn HostVerifyingKey>>;
}

/// A private key held by the host.
pub trait HostSigningKey: crate::future::MaybeSendSync {
    /// The public key as a SEC 1 compressed point.
    fn public_key_compressed(&self) -> Vec<u8>;

    /// Starts the signature of one message: `update` gets its bytes and
    /// `finish` returns the DER signature, or `None` if the host failed.
    fn start(&self) -> Box<dyn HostDigest>;
}

/// A public key held by the host.
pub trait HostVerifyingKey: crate::future::MaybeSendSync {
    /// Starts checking the signature of one message.
    fn start(&self) -> Box<dyn HostVerifier>;
}

/// The check of one message's signature.
pub trait HostVerifier: crate::future::MaybeSendSync {
    /// Adds message bytes.
    fn update(&mut self, data: &[u8]);

    /// Whether `der` is a valid signature over all the bytes given; `false`
    /// also when the host failed.
    fn verify(self: Box<Self>, der: &[u8]) -> bool;
}

thread_local! {
    static HOOK: RefCell<Option<Rc<dyn HostAead>>> = const { RefCell::new(None) };
    static HASH_HOOK: RefCell<Option<Rc<dyn HostHash>>> = const { RefCell::new(None) };
    static ECDSA_HOOK: RefCell<Option<Rc<dyn HostEcdsa>>> = const { RefCell::new(None) };
}

/// Installs (or with `None` removes) the host ECDSA for the current thread.
pub fn set_host_ecdsa(hook: Option<Rc<dyn HostEcdsa>>) {
    ECDSA_HOOK.with(|h| *h.borrow_mut() = hook);
}

/// The host ECDSA of the current thread, if any.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "rustcrypto")),
    allow(dead_code)
)]
pub(crate) fn current_ecdsa() -> Option<Rc<dyn HostEcdsa>> {
    ECDSA_HOOK.with(|h| h.borrow().clone())
}

/// Installs (or with `None` removes) the host SHA-2 for the current thread.
pub fn set_host_hash(hook: Option<Rc<dyn HostHash>>) {
    HASH_HOOK.with(|h| *h.borrow_mut() = hook);
}

/// The host SHA-2 of the current thread, if any.
fn current_hash() -> Option<Rc<dyn HostHash>> {
    HASH_HOOK.with(|h| h.borrow().clone())
}

/// A hash on the host, as the backends' `Hasher` runs it: input held back
/// until it reaches the host's [`HostHash::min_len`], then streamed.
pub(crate) struct HostHasher {
    alg: HashAlg,
    digest: Box<dyn HostDigest>,
    /// Input not yet given to the host, while it is shorter than `min_len`;
    /// `None` once the host has it all.
    held: Option<Vec<u8>>,
    min_len: usize,
}

impl HostHasher {
    /// Starts a hash on the current thread's host, if it has one that
    /// takes `alg`.
    pub(crate) fn start(alg: HashAlg) -> Option<Self> {
        let hook = current_hash()?;
        let digest = hook.start(alg.name())?;
        let min_len = hook.min_len();
        Some(Self {
            alg,
            digest,
            held: (min_len > 0).then(Vec::new),
            min_len,
        })
    }

    pub(crate) fn alg(&self) -> HashAlg {
        self.alg
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match &mut self.held {
            Some(held) if held.len() + data.len() < self.min_len => held.extend_from_slice(data),
            Some(held) => {
                let held = std::mem::take(held);
                self.held = None;
                self.digest.update(&held);
                self.digest.update(data);
            }
            None => self.digest.update(data),
        }
    }

    /// The digest: the host's, or `backend(input)` for input the host never
    /// saw. A host that failed, or answered with the wrong length, gives an
    /// empty digest, which every signature operation refuses (fail closed).
    pub(crate) fn finish(self, backend: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
        match self.held {
            Some(held) => backend(&held),
            None => self
                .digest
                .finish()
                .filter(|d| d.len() == self.alg.len())
                .unwrap_or_default(),
        }
    }
}

/// Installs (or with `None` removes) the host AES-GCM for the current thread.
pub fn set_host_aead(hook: Option<Rc<dyn HostAead>>) {
    HOOK.with(|h| *h.borrow_mut() = hook);
}

/// The host AES-GCM of the current thread, if any.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "rustcrypto")),
    allow(dead_code)
)]
pub(crate) fn current() -> Option<Rc<dyn HostAead>> {
    HOOK.with(|h| h.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{digest, Hasher};
    use crate::{Client, Error, RawAesKeyring};
    use std::sync::{Arc, Mutex};

    /// How the test host answers `finish`.
    #[derive(Clone, Copy)]
    enum Answer {
        /// SHA-2 of what it saw, computed off this thread (no hook there).
        Real,
        Fail,
        WrongLength,
    }

    /// A host hash that records every byte it is given.
    struct Recorder {
        seen: Arc<Mutex<Vec<u8>>>,
        starts: Arc<Mutex<usize>>,
        answer: Answer,
        min_len: usize,
    }

    struct RecordingDigest {
        alg: HashAlg,
        data: Vec<u8>,
        seen: Arc<Mutex<Vec<u8>>>,
        answer: Answer,
    }

    impl HostDigest for RecordingDigest {
        fn update(&mut self, data: &[u8]) {
            self.data.extend_from_slice(data);
            self.seen.lock().unwrap().extend_from_slice(data);
        }

        fn finish(self: Box<Self>) -> Option<Vec<u8>> {
            match self.answer {
                Answer::Real => {
                    let (alg, data) = (self.alg, self.data);
                    Some(
                        std::thread::spawn(move || digest(alg, &data))
                            .join()
                            .unwrap(),
                    )
                }
                Answer::Fail => None,
                Answer::WrongLength => Some(vec![0; self.alg.len() - 1]),
            }
        }
    }

    impl HostHash for Recorder {
        fn start(&self, name: &str) -> Option<Box<dyn HostDigest>> {
            let alg = match name {
                "sha256" => HashAlg::Sha256,
                "sha384" => HashAlg::Sha384,
                _ => return None,
            };
            *self.starts.lock().unwrap() += 1;
            Some(Box::new(RecordingDigest {
                alg,
                data: Vec::new(),
                seen: Arc::clone(&self.seen),
                answer: self.answer,
            }))
        }

        fn min_len(&self) -> usize {
            self.min_len
        }
    }

    /// Installs a recorder on this thread; returns what it saw and how many
    /// hashes it started. The hook stays until `set_host_hash(None)`.
    fn install(answer: Answer, min_len: usize) -> (Arc<Mutex<Vec<u8>>>, Arc<Mutex<usize>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let starts = Arc::new(Mutex::new(0));
        set_host_hash(Some(Rc::new(Recorder {
            seen: Arc::clone(&seen),
            starts: Arc::clone(&starts),
            answer,
            min_len,
        })));
        (seen, starts)
    }

    #[test]
    fn input_shorter_than_min_len_never_reaches_the_host() {
        let (seen, starts) = install(Answer::Fail, 100);
        let mut h = Hasher::new(HashAlg::Sha384);
        h.update(&[1; 60]);
        h.update(&[2; 39]);
        let got = h.finish();
        set_host_hash(None);
        let mut want = vec![1; 60];
        want.extend_from_slice(&[2; 39]);
        assert_eq!(got, digest(HashAlg::Sha384, &want));
        assert!(seen.lock().unwrap().is_empty());
        assert_eq!(*starts.lock().unwrap(), 1);
    }

    #[test]
    fn long_input_reaches_the_host_whole_and_in_order() {
        let (seen, _) = install(Answer::WrongLength, 100);
        let mut h = Hasher::new(HashAlg::Sha256);
        let input: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for part in input.chunks(70) {
            h.update(part);
        }
        // The host answered, wrongly: the digest is empty (fail closed), not
        // the backend's.
        assert!(h.finish().is_empty());
        set_host_hash(None);
        assert_eq!(*seen.lock().unwrap(), input);
        // SHA-512 is declined by this host: the backend runs it.
        assert_eq!(crate::crypto::digest(HashAlg::Sha512, b"abc").len(), 64);
    }

    #[test]
    fn signed_messages_hashed_on_the_host_interoperate() {
        let keyring = RawAesKeyring::new("ns", "k", &[9; 32]).unwrap();
        let client = Client::builder().threads(3).build();
        let plaintext: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
        let (seen, _) = install(Answer::Real, 64 << 10);
        let sealed = client.encrypt(&plaintext).keyring(&keyring).run().unwrap();
        // Everything before the footer is signed, and the host saw it all.
        let signed_part = |seen: &[u8]| {
            let footer = sealed.get(seen.len()..).unwrap();
            sealed.starts_with(seen)
                && footer.len() > 2
                && usize::from(u16::from_be_bytes([footer[0], footer[1]])) == footer.len() - 2
        };
        assert!(signed_part(&seen.lock().unwrap()));
        seen.lock().unwrap().clear();
        let opened = client.decrypt(&sealed).keyring(&keyring).run().unwrap();
        set_host_hash(None);
        assert_eq!(opened.plaintext, plaintext);
        assert!(signed_part(&seen.lock().unwrap()));
        // The same message decrypts with the backend's hash alone.
        let again = client.decrypt(&sealed).keyring(&keyring).run().unwrap();
        assert_eq!(again.plaintext, plaintext);
    }

    #[test]
    fn a_failing_host_hash_fails_closed() {
        let keyring = RawAesKeyring::new("ns", "k", &[9; 32]).unwrap();
        let client = Client::builder().threads(2).build();
        let plaintext = vec![5u8; 1 << 20];
        let sealed = client.encrypt(&plaintext).keyring(&keyring).run().unwrap();
        for answer in [Answer::Fail, Answer::WrongLength] {
            install(answer, 1024);
            let encrypted = client.encrypt(&plaintext).keyring(&keyring).run();
            let decrypted = client.decrypt(&sealed).keyring(&keyring).run();
            set_host_hash(None);
            assert!(encrypted.is_err());
            assert!(matches!(
                decrypted,
                Err(Error::AuthenticationFailed(crate::AuthFailure::Signature))
            ));
        }
    }

    /// The caching manager's cache IDs are SHA-384s too: a host hash that
    /// fails there is an error, not a panic on the short digest.
    #[test]
    fn a_failing_host_hash_fails_the_cache_id_closed() {
        use crate::cmm::CachingMaterialsManager;
        let keyring = RawAesKeyring::new("ns", "k", &[9; 32]).unwrap();
        let cmm = CachingMaterialsManager::builder(std::time::Duration::from_secs(60))
            .keyring(Arc::new(keyring))
            .build()
            .unwrap();
        let client = Client::builder().threads(1).build();
        let sealed = client
            .encrypt(b"cached")
            .materials_manager(&cmm)
            .run()
            .unwrap();
        for answer in [Answer::Fail, Answer::WrongLength] {
            install(answer, 0);
            let encrypted = client.encrypt(b"cached").materials_manager(&cmm).run();
            let decrypted = client.decrypt(&sealed).materials_manager(&cmm).run();
            set_host_hash(None);
            for result in [encrypted.map(|_| ()), decrypted.map(|_| ())] {
                let Err(Error::BadArgument(why)) = result else {
                    panic!("expected a bad argument, got {result:?}");
                };
                assert!(why.contains("cache ID"), "{why}");
            }
        }
    }
}

/// Host ECDSA, with a test host built on the `p256`/`p384` crates directly.
#[cfg(all(test, any(target_arch = "wasm32", feature = "rustcrypto")))]
mod ecdsa_tests {
    use super::*;
    use crate::{Client, Error, ErrorKind, RawAesKeyring};
    use p384::ecdsa::signature::{Signer, Verifier};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Default)]
    struct Calls {
        generated: AtomicUsize,
        signed: AtomicUsize,
        verified: AtomicUsize,
    }

    /// P-384 only (P-256 is left to the backend); `fail` makes every
    /// signature and verification fail.
    struct TestEcdsa {
        calls: Arc<Calls>,
        fail: bool,
    }

    struct Key(p384::ecdsa::SigningKey, Arc<Calls>, bool);
    struct Signing(p384::ecdsa::SigningKey, Vec<u8>, Arc<Calls>, bool);
    struct PublicKey(p384::ecdsa::VerifyingKey, Arc<Calls>, bool);
    struct Verifying(p384::ecdsa::VerifyingKey, Vec<u8>, Arc<Calls>, bool);

    impl HostEcdsa for TestEcdsa {
        fn generate(&self, curve: &str) -> Option<Box<dyn HostSigningKey>> {
            (curve == "P-384").then(|| {
                self.calls.generated.fetch_add(1, Ordering::SeqCst);
                let key = p384::ecdsa::SigningKey::from_slice(&[0x5A; 48]).unwrap();
                Box::new(Key(key, Arc::clone(&self.calls), self.fail)) as Box<dyn HostSigningKey>
            })
        }

        fn verifying_key(&self, curve: &str, point: &[u8]) -> Option<Box<dyn HostVerifyingKey>> {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
            (curve == "P-384").then(|| {
                Box::new(PublicKey(key, Arc::clone(&self.calls), self.fail))
                    as Box<dyn HostVerifyingKey>
            })
        }
    }

    impl HostSigningKey for Key {
        fn public_key_compressed(&self) -> Vec<u8> {
            self.0
                .verifying_key()
                .to_sec1_point(true)
                .as_bytes()
                .to_vec()
        }

        fn start(&self) -> Box<dyn HostDigest> {
            Box::new(Signing(
                self.0.clone(),
                Vec::new(),
                Arc::clone(&self.1),
                self.2,
            ))
        }
    }

    impl HostDigest for Signing {
        fn update(&mut self, data: &[u8]) {
            self.1.extend_from_slice(data);
        }

        fn finish(self: Box<Self>) -> Option<Vec<u8>> {
            self.2.signed.fetch_add(1, Ordering::SeqCst);
            let sig: p384::ecdsa::Signature = self.0.sign(&self.1);
            (!self.3).then(|| sig.to_der().as_bytes().to_vec())
        }
    }

    impl HostVerifyingKey for PublicKey {
        fn start(&self) -> Box<dyn HostVerifier> {
            Box::new(Verifying(self.0, Vec::new(), Arc::clone(&self.1), self.2))
        }
    }

    impl HostVerifier for Verifying {
        fn update(&mut self, data: &[u8]) {
            self.1.extend_from_slice(data);
        }

        fn verify(self: Box<Self>, der: &[u8]) -> bool {
            self.2.verified.fetch_add(1, Ordering::SeqCst);
            let Ok(sig) = p384::ecdsa::DerSignature::from_bytes(der) else {
                return false;
            };
            !self.3 && self.0.verify(&self.1, &sig).is_ok()
        }
    }

    fn install(fail: bool) -> Arc<Calls> {
        let calls = Arc::new(Calls::default());
        set_host_ecdsa(Some(Rc::new(TestEcdsa {
            calls: Arc::clone(&calls),
            fail,
        })));
        calls
    }

    #[test]
    fn host_and_backend_ecdsa_read_each_other() {
        let keyring = RawAesKeyring::new("ns", "k", &[3; 32]).unwrap();
        let client = Client::builder().threads(2).build();
        for len in [0usize, 1000, 600_000] {
            let pt = vec![7u8; len];
            let calls = install(false);
            let by_host = client.encrypt(&pt).keyring(&keyring).run().unwrap();
            set_host_ecdsa(None);
            let by_backend = client.encrypt(&pt).keyring(&keyring).run().unwrap();
            assert_eq!(
                client
                    .decrypt(&by_host)
                    .keyring(&keyring)
                    .run()
                    .unwrap()
                    .plaintext,
                pt
            );
            let verifying = install(false);
            let opened = client.decrypt(&by_backend).keyring(&keyring).run();
            let again = client.decrypt(&by_host).keyring(&keyring).run();
            set_host_ecdsa(None);
            assert_eq!(opened.unwrap().plaintext, pt);
            assert_eq!(again.unwrap().plaintext, pt);
            assert_eq!(calls.generated.load(Ordering::SeqCst), 1);
            assert_eq!(calls.signed.load(Ordering::SeqCst), 1);
            assert_eq!(verifying.verified.load(Ordering::SeqCst), 2);
        }
        // P-256 (suite 0x0214) is declined by this host: the backend signs.
        let calls = install(false);
        let suite = crate::AlgorithmSuite::from_id(0x0214).unwrap();
        let client = Client::builder()
            .commitment_policy(crate::CommitmentPolicy::ForbidEncryptAllowDecrypt)
            .build();
        let ct = client
            .encrypt(b"abc")
            .keyring(&keyring)
            .algorithm_suite(suite)
            .run();
        set_host_ecdsa(None);
        assert!(ct.is_ok());
        assert_eq!(calls.generated.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_failing_host_ecdsa_fails_closed() {
        let keyring = RawAesKeyring::new("ns", "k", &[3; 32]).unwrap();
        let client = Client::new();
        let good = client.encrypt(b"message").keyring(&keyring).run().unwrap();
        install(true);
        let signed = client.encrypt(b"message").keyring(&keyring).run();
        let verified = client.decrypt(&good).keyring(&keyring).run();
        set_host_ecdsa(None);
        assert_eq!(signed.unwrap_err().kind(), ErrorKind::BadArgument);
        assert!(matches!(
            verified,
            Err(Error::AuthenticationFailed(crate::AuthFailure::Signature))
        ));
    }

    #[test]
    fn a_host_key_cannot_make_a_fixed_length_signature() {
        let keyring = RawAesKeyring::new("ns", "k", &[3; 32]).unwrap();
        let client = Client::new();
        install(false);
        let prepared = client
            .encrypt(b"message")
            .keyring(&keyring)
            .prepare()
            .unwrap();
        let mut out = vec![0u8; prepared.message_len()];
        let result = prepared.seal_into(&mut out);
        set_host_ecdsa(None);
        assert!(result.is_err());
        assert!(out.iter().all(|b| *b == 0));
    }
}
