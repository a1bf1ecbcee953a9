//! Keyring behaviour against an in-process stand-in for AWS KMS that keeps
//! the service's contract: ARNs in responses, the encryption context bound
//! as AAD, multi-Region replicas sharing key material, service error codes.
//! (End-to-end tests against a KMS API server use the native client.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::crypto::{fill_random, AesGcmKey};
use crate::error::{Error, ErrorKind, Result};
use crate::future::{ready, BoxFuture};
use crate::materials::DataKey;
use crate::{Client, EncryptedDataKey, EncryptionContext, Keyring, MultiKeyring};

const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";

fn arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{id}")
}

#[derive(Default)]
struct LocalKms {
    /// (account, resource id) -> key material; regions share multi-Region keys.
    keys: HashMap<(String, String), [u8; 32]>,
    /// Where single-Region keys live.
    regions: HashMap<(String, String), String>,
    calls: Mutex<Vec<String>>,
    decrypts: AtomicUsize,
}

impl LocalKms {
    fn with_key(mut self, region: &str, account: &str, id: &str) -> Self {
        let mut k = [0u8; 32];
        fill_random(&mut k).unwrap();
        self.keys.insert((account.into(), id.into()), k);
        self.regions
            .insert((account.into(), id.into()), region.into());
        self
    }

    fn err(code: &str, message: &str) -> Error {
        Error::Kms {
            code: code.into(),
            message: message.into(),
        }
    }

    fn resolve(&self, key_id: &str) -> Result<(KmsArn, [u8; 32])> {
        let arn: KmsArn = key_id
            .parse()
            .map_err(|_| Self::err("NotFoundException", "key not found"))?;
        let key = self
            .keys
            .get(&(arn.account.clone(), arn.resource_id.clone()));
        let home = self
            .regions
            .get(&(arn.account.clone(), arn.resource_id.clone()));
        match (key, home) {
            (Some(k), Some(home)) if arn.is_multi_region_key() || *home == arn.region => {
                Ok((arn, *k))
            }
            _ => Err(Self::err(
                "NotFoundException",
                &format!("{key_id} does not exist"),
            )),
        }
    }

    fn seal(&self, arn: &KmsArn, key: &[u8; 32], pt: &[u8], ec: &EncryptionContext) -> Vec<u8> {
        let mut iv = [0u8; 12];
        fill_random(&mut iv).unwrap();
        let mut ct = pt.to_vec();
        let tag = AesGcmKey::new(key)
            .unwrap()
            .seal_in_place(&iv, &ec.serialize().unwrap(), &mut ct)
            .unwrap();
        let id = arn.resource_id.as_bytes();
        [&[id.len() as u8][..], id, &iv, &ct, &tag].concat()
    }
}

impl KmsClient for LocalKms {
    fn generate_data_key<'a>(
        &'a self,
        r: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("GenerateDataKey {}", r.key_id));
        ready(self.resolve(&r.key_id).map(|(arn, key)| {
            let dk = DataKey::generate(r.number_of_bytes).unwrap();
            let blob = self.seal(&arn, &key, dk.as_bytes(), &r.encryption_context);
            GenerateDataKeyResponse::new(arn.to_string(), dk, blob)
        }))
    }

    fn encrypt<'a>(&'a self, r: KmsEncryptRequest) -> BoxFuture<'a, Result<KmsEncryptResponse>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("Encrypt {}", r.key_id));
        ready(self.resolve(&r.key_id).map(|(arn, key)| {
            let blob = self.seal(&arn, &key, r.plaintext.as_bytes(), &r.encryption_context);
            KmsEncryptResponse::new(arn.to_string(), blob)
        }))
    }

    fn decrypt<'a>(&'a self, r: KmsDecryptRequest) -> BoxFuture<'a, Result<KmsDecryptResponse>> {
        self.decrypts.fetch_add(1, Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap()
            .push(format!("Decrypt {}", r.key_id));
        ready((|| {
            let (arn, key) = self.resolve(&r.key_id)?;
            let blob = &r.ciphertext_blob;
            let n = *blob
                .first()
                .ok_or_else(|| Self::err("InvalidCiphertextException", "empty"))?
                as usize;
            if blob.len() < 1 + n + 12 + 16 || &blob[1..1 + n] != arn.resource_id.as_bytes() {
                return Err(Self::err(
                    "IncorrectKeyException",
                    "the ciphertext was encrypted under another key",
                ));
            }
            let iv: [u8; 12] = blob[1 + n..13 + n].try_into().unwrap();
            let (ct, tag) = blob[13 + n..].split_at(blob.len() - 13 - n - 16);
            let mut pt = ct.to_vec();
            AesGcmKey::new(&key)
                .unwrap()
                .open_in_place(
                    &iv,
                    &r.encryption_context.serialize().unwrap(),
                    &mut pt,
                    tag.try_into().unwrap(),
                )
                .map_err(|_| {
                    Self::err(
                        "InvalidCiphertextException",
                        "the ciphertext or context is invalid",
                    )
                })?;
            Ok(KmsDecryptResponse::new(arn.to_string(), DataKey::new(pt)))
        })())
    }
}

fn kms() -> Arc<LocalKms> {
    Arc::new(
        LocalKms::default()
            .with_key("us-east-1", ACCOUNT, "key-a")
            .with_key("us-east-1", ACCOUNT, "key-b")
            .with_key("us-east-1", OTHER_ACCOUNT, "key-c")
            .with_key("us-east-1", ACCOUNT, "mrk-1234"),
    )
}

fn ec() -> EncryptionContext {
    EncryptionContext::from_iter([("purpose", "kms-test")])
}

fn encrypt(keyring: &dyn Keyring) -> Vec<u8> {
    Client::new()
        .encrypt(b"kms data")
        .keyring(keyring)
        .encryption_context(ec())
        .run()
        .unwrap()
}

fn decrypt(keyring: &dyn Keyring, msg: &[u8]) -> Result<Vec<u8>> {
    Client::new()
        .decrypt(msg)
        .keyring(keyring)
        .run()
        .map(|d| d.plaintext)
}

#[test]
fn two_keys_encrypt_and_either_alone_decrypts() {
    let kms = kms();
    let (a, b) = (
        arn("us-east-1", ACCOUNT, "key-a"),
        arn("us-east-1", ACCOUNT, "key-b"),
    );
    let gen: Arc<dyn Keyring> = Arc::new(AwsKmsKeyring::new(&a, kms.clone()).unwrap());
    let child: Arc<dyn Keyring> = Arc::new(AwsKmsKeyring::new(&b, kms.clone()).unwrap());
    let multi = MultiKeyring::new(Some(gen), vec![child]).unwrap();
    let msg = encrypt(&multi);
    assert_eq!(
        *kms.calls.lock().unwrap(),
        [format!("GenerateDataKey {a}"), format!("Encrypt {b}")]
    );
    let header = crate::MessageHeader::parse(&msg, None).unwrap().0;
    let infos: Vec<_> = header
        .encrypted_data_keys
        .iter()
        .map(|e| (e.provider_id.clone(), e.provider_info.clone()))
        .collect();
    assert_eq!(
        infos,
        [
            ("aws-kms".into(), a.clone().into_bytes()),
            ("aws-kms".into(), b.clone().into_bytes())
        ]
    );
    for key in [&a, &b] {
        assert_eq!(
            decrypt(&AwsKmsKeyring::new(key, kms.clone()).unwrap(), &msg).unwrap(),
            b"kms data"
        );
    }
}

#[test]
fn discovery_decrypts_and_its_filter_excludes_accounts() {
    let kms = kms();
    let msg = encrypt(
        &AwsKmsKeyring::new(arn("us-east-1", OTHER_ACCOUNT, "key-c"), kms.clone()).unwrap(),
    );
    assert_eq!(
        decrypt(&AwsKmsKeyring::discovery(kms.clone(), None), &msg).unwrap(),
        b"kms data"
    );
    let filter = DiscoveryFilter::new("aws", [OTHER_ACCOUNT]).unwrap();
    assert!(decrypt(&AwsKmsKeyring::discovery(kms.clone(), Some(filter)), &msg).is_ok());
    let before = kms.decrypts.load(Ordering::SeqCst);
    let filter = DiscoveryFilter::new("aws", [ACCOUNT]).unwrap();
    let err = decrypt(&AwsKmsKeyring::discovery(kms.clone(), Some(filter)), &msg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoKeyUnwrapped);
    assert!(err.to_string().contains("discovery filter"), "{err}");
    assert_eq!(
        kms.decrypts.load(Ordering::SeqCst),
        before,
        "no call for a filtered key"
    );
    let filter = DiscoveryFilter::new("aws-cn", [OTHER_ACCOUNT]).unwrap();
    assert!(decrypt(&AwsKmsKeyring::discovery(kms.clone(), Some(filter)), &msg).is_err());
    let err = Client::new()
        .encrypt(b"x")
        .keyring(&AwsKmsKeyring::discovery(kms, None))
        .run()
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::BadArgument,
        "discovery keyrings cannot encrypt"
    );
}

#[test]
fn kms_errors_carry_the_service_code() {
    let kms = kms();
    let a = arn("us-east-1", ACCOUNT, "key-a");
    let keyring = AwsKmsKeyring::new(&a, kms.clone()).unwrap();
    let msg = encrypt(&keyring);
    // A wrong reproduced context reaches KMS as a wrong AAD.
    let mut tampered = crate::MessageHeader::parse(&msg, None).unwrap().0;
    let materials = crate::DecryptionMaterials::new(
        tampered.algorithm_suite,
        EncryptionContext::from_iter([("purpose", "other")]),
    );
    let err = crate::future::block_on(keyring.on_decrypt(materials, &tampered.encrypted_data_keys))
        .unwrap_err();
    assert!(
        err.to_string().contains("InvalidCiphertextException"),
        "{err}"
    );
    // A key that does not exist.
    let missing = AwsKmsKeyring::new(arn("us-east-1", ACCOUNT, "nope"), kms.clone()).unwrap();
    match Client::new()
        .encrypt(b"x")
        .keyring(&missing)
        .run()
        .unwrap_err()
    {
        Error::Kms { code, .. } => assert_eq!(code, "NotFoundException"),
        other => panic!("{other}"),
    }
    // The strict keyring of another key does not even call KMS.
    let before = kms.decrypts.load(Ordering::SeqCst);
    let other = AwsKmsKeyring::new(arn("us-east-1", ACCOUNT, "key-b"), kms.clone()).unwrap();
    let err = decrypt(&other, &msg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoKeyUnwrapped);
    assert_eq!(kms.decrypts.load(Ordering::SeqCst), before);
    // An aws-kms EDK whose info is no key ARN fails the keyring.
    tampered.encrypted_data_keys[0].provider_info = b"alias/not-a-key".to_vec();
    let materials = crate::DecryptionMaterials::new(tampered.algorithm_suite, ec());
    let err = crate::future::block_on(keyring.on_decrypt(materials, &tampered.encrypted_data_keys))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedMessage);
}

#[test]
fn an_aws_kms_key_without_a_key_arn_fails_every_kms_keyring_wherever_it_stands() {
    // aws-kms-keyring.md and its MRK and discovery siblings: the filter of
    // the message's keys comes first, and an aws-kms key whose info is no
    // key ARN fails OnDecrypt, also after one that would unwrap.
    let kms = kms();
    let a = arn("us-east-1", ACCOUNT, "key-a");
    let msg = encrypt(&AwsKmsKeyring::new(&a, kms.clone()).unwrap());
    let header = crate::MessageHeader::parse(&msg, None).unwrap().0;
    let good = header.encrypted_data_keys[0].clone();
    let keyrings = [
        AwsKmsKeyring::new(&a, kms.clone()).unwrap(),
        AwsKmsKeyring::new_mrk_aware(&a, kms.clone()).unwrap(),
        AwsKmsKeyring::discovery(kms.clone(), None),
    ];
    for bad_info in [
        "not-an-arn",
        "arn:aws:kms:us-east-1:111122223333:key/abc:def",
    ] {
        let bad = EncryptedDataKey::new("aws-kms", bad_info.as_bytes().to_vec(), vec![1; 8]);
        for keyring in &keyrings {
            for edks in [[good.clone(), bad.clone()], [bad.clone(), good.clone()]] {
                let before = kms.decrypts.load(Ordering::SeqCst);
                let materials = crate::DecryptionMaterials::new(header.algorithm_suite, ec());
                let err =
                    crate::future::block_on(keyring.on_decrypt(materials, &edks)).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::MalformedMessage, "{bad_info}: {err}");
                assert_eq!(kms.decrypts.load(Ordering::SeqCst), before, "no KMS call");
            }
        }
    }
}

#[test]
fn multi_region_keys_match_their_replicas() {
    let kms = kms();
    let east = arn("us-east-1", ACCOUNT, "mrk-1234");
    let west = arn("us-west-2", ACCOUNT, "mrk-1234");
    let msg = encrypt(&AwsKmsKeyring::new(&east, kms.clone()).unwrap());
    // A plain strict keyring needs the exact ARN.
    assert!(decrypt(&AwsKmsKeyring::new(&west, kms.clone()).unwrap(), &msg).is_err());
    // The MRK-aware one decrypts with its own (west) replica.
    assert!(decrypt(
        &AwsKmsKeyring::new_mrk_aware(&west, kms.clone()).unwrap(),
        &msg
    )
    .is_ok());
    assert_eq!(
        kms.calls.lock().unwrap().last().unwrap(),
        &format!("Decrypt {west}")
    );
    // MRK discovery in us-west-2 calls the west replica.
    assert!(decrypt(
        &AwsKmsKeyring::mrk_discovery(kms.clone(), "us-west-2", None).unwrap(),
        &msg
    )
    .is_ok());
    assert_eq!(
        kms.calls.lock().unwrap().last().unwrap(),
        &format!("Decrypt {west}")
    );
    // ... but not a single-Region key of another region.
    let single =
        encrypt(&AwsKmsKeyring::new(arn("us-east-1", ACCOUNT, "key-a"), kms.clone()).unwrap());
    let err = decrypt(
        &AwsKmsKeyring::mrk_discovery(kms.clone(), "us-west-2", None).unwrap(),
        &single,
    )
    .unwrap_err();
    assert!(err.to_string().contains("us-west-2"), "{err}");
}

#[test]
fn bad_configuration_is_refused() {
    let kms = kms();
    assert!(AwsKmsKeyring::new("", kms.clone()).is_err());
    assert!(AwsKmsKeyring::new("arn:aws:kms:us-east-1:1:grant/x", kms.clone()).is_err());
    assert!(AwsKmsKeyring::new("alias/my-key", kms.clone()).is_ok());
    // Exactly five ':' (aws-kms-key-arn.md), none in the resource.
    assert!(AwsKmsKeyring::new("arn:aws:kms:us-east-1:1:key/a:b", kms.clone()).is_err());
    assert!("arn:aws:kms:us-east-1:1:key/a:b".parse::<KmsArn>().is_err());
    assert_eq!(
        "arn:aws:kms:us-east-1:1:key/a/b"
            .parse::<KmsArn>()
            .unwrap()
            .resource_id,
        "a/b",
        "further '/' belong to the resource ID"
    );
    assert!(AwsKmsKeyring::mrk_discovery(kms, "", None).is_err());
    assert!(DiscoveryFilter::new("aws", Vec::<String>::new()).is_err());
    assert!(DiscoveryFilter::new("", ["1"]).is_err());
}

/// A client whose answers carry an all-zero data key: what a JS client that
/// hands out one response object twice gives, once the first use wiped it.
struct ZeroKeyKms;

impl KmsClient for ZeroKeyKms {
    fn generate_data_key<'a>(
        &'a self,
        r: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse>> {
        let zero = DataKey::new(vec![0; r.number_of_bytes]);
        ready(Ok(GenerateDataKeyResponse::new(
            r.key_id,
            zero,
            vec![1; 40],
        )))
    }

    fn encrypt<'a>(&'a self, r: KmsEncryptRequest) -> BoxFuture<'a, Result<KmsEncryptResponse>> {
        ready(Ok(KmsEncryptResponse::new(r.key_id, vec![1; 40])))
    }

    fn decrypt<'a>(&'a self, r: KmsDecryptRequest) -> BoxFuture<'a, Result<KmsDecryptResponse>> {
        ready(Ok(KmsDecryptResponse::new(
            r.key_id,
            DataKey::new(vec![0; 32]),
        )))
    }
}

#[test]
fn an_all_zero_data_key_from_kms_is_refused() {
    let a = arn("us-east-1", ACCOUNT, "key-a");
    let keyring = AwsKmsKeyring::new(&a, Arc::new(ZeroKeyKms)).unwrap();
    let err = Client::new()
        .encrypt(b"x")
        .keyring(&keyring)
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Kms);
    assert!(err.to_string().contains("all-zero data key"), "{err}");
    // On decrypt: a message whose EDK names this key, unwrapped to zeros.
    let good = AwsKmsKeyring::new(&a, kms()).unwrap();
    let msg = encrypt(&good);
    match Client::new()
        .decrypt(&msg)
        .keyring(&keyring)
        .encryption_context(ec())
        .run()
    {
        Err(Error::NoKeyUnwrapped(reasons)) => {
            assert!(
                reasons.iter().any(|r| r.contains("all-zero data key")),
                "{reasons:?}"
            )
        }
        other => panic!("an all-zero key was used: {other:?}"),
    }
}

#[test]
fn a_failed_unwrap_says_why_when_the_key_can_never_match() {
    let kms = kms();
    let a = arn("us-east-1", ACCOUNT, "key-a");
    let msg = encrypt(&AwsKmsKeyring::new(&a, kms.clone()).unwrap());
    // Messages name their keys by ARN: an alias (or a bare key ID) given to
    // decrypt never matches one, and the reason says so.
    let alias =
        AwsKmsKeyring::new("arn:aws:kms:us-east-1:111122223333:alias/mine", kms.clone()).unwrap();
    let err = decrypt(&alias, &msg).unwrap_err().to_string();
    assert!(
        err.contains("an alias or a bare key ID never matches"),
        "{err}"
    );
    let other = AwsKmsKeyring::new(arn("us-east-1", ACCOUNT, "key-b"), kms.clone()).unwrap();
    let err = decrypt(&other, &msg).unwrap_err().to_string();
    assert!(
        err.contains("no encrypted data key for this key") && !err.contains("alias"),
        "{err}"
    );
    // Discovery over a message with no aws-kms key at all says that, not
    // that the filter refused one.
    let raw = crate::RawAesKeyring::new("ns", "k", &[7; 32]).unwrap();
    let msg = encrypt(&raw);
    let filter = DiscoveryFilter::new("aws", [ACCOUNT]).unwrap();
    let err = decrypt(&AwsKmsKeyring::discovery(kms, Some(filter)), &msg)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no aws-kms encrypted data key"), "{err}");
}
