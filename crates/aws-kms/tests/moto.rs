//! End to end through the core API (`Client` with `AwsKmsKeyring`) against a
//! real AWS KMS API server: moto_server on 127.0.0.1 (`make setup-moto`).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{moto, CountingProxy, Moto, ACCOUNT};
use kms_envelope::cmm::{CachingMaterialsManager, Clock};
use kms_envelope::kms::{AwsKmsKeyring, DiscoveryFilter, KmsClient};
use kms_envelope::{
    Client, DecryptionMaterials, EncryptionContext, Error, ErrorKind, Keyring, MessageHeader,
    MultiKeyring,
};

fn ec() -> EncryptionContext {
    EncryptionContext::from_iter([("purpose", "aws-kms-test"), ("tenant", "42")])
}

fn encrypt(keyring: &dyn Keyring, data: &[u8]) -> Vec<u8> {
    Client::new()
        .encrypt(data)
        .keyring(keyring)
        .encryption_context(ec())
        .run()
        .unwrap()
}

fn decrypt(keyring: &dyn Keyring, message: &[u8]) -> kms_envelope::Result<Vec<u8>> {
    Client::new()
        .decrypt(message)
        .keyring(keyring)
        .run()
        .map(|d| d.plaintext)
}

fn kms_code(err: &Error) -> &str {
    match err {
        Error::Kms { code, .. } => code,
        other => panic!("not a KMS error: {other}"),
    }
}

#[test]
fn two_keys_encrypt_either_decrypts_alone() {
    let moto = moto();
    let kms: Arc<dyn KmsClient> = Arc::new(moto.client());
    let (a, b) = (moto.create_key(), moto.create_key());
    let generator: Arc<dyn Keyring> = Arc::new(AwsKmsKeyring::new(&a, kms.clone()).unwrap());
    let child: Arc<dyn Keyring> = Arc::new(AwsKmsKeyring::new(&b, kms.clone()).unwrap());
    let multi = MultiKeyring::new(Some(generator), vec![child]).unwrap();
    let message = encrypt(&multi, b"two keys");

    let header = MessageHeader::parse(&message, None).unwrap().0;
    let infos: Vec<Vec<u8>> = header
        .encrypted_data_keys
        .iter()
        .map(|e| e.provider_info.clone())
        .collect();
    assert_eq!(infos, [a.clone().into_bytes(), b.clone().into_bytes()]);
    for key in [&a, &b] {
        let keyring = AwsKmsKeyring::new(key, kms.clone()).unwrap();
        assert_eq!(decrypt(&keyring, &message).unwrap(), b"two keys");
    }
    // The multi-keyring decrypts too.
    assert_eq!(decrypt(&multi, &message).unwrap(), b"two keys");
}

#[test]
fn discovery_and_its_filter() {
    let moto = moto();
    let kms: Arc<dyn KmsClient> = Arc::new(moto.client());
    let key = moto.create_key();
    let message = encrypt(
        &AwsKmsKeyring::new(&key, kms.clone()).unwrap(),
        b"discover me",
    );

    let discovery = AwsKmsKeyring::discovery(kms.clone(), None);
    assert_eq!(decrypt(&discovery, &message).unwrap(), b"discover me");
    let admits = DiscoveryFilter::new("aws", [ACCOUNT]).unwrap();
    let filtered = AwsKmsKeyring::discovery(kms.clone(), Some(admits));
    assert_eq!(decrypt(&filtered, &message).unwrap(), b"discover me");

    let excludes = DiscoveryFilter::new("aws", ["111122223333"]).unwrap();
    let err = decrypt(&AwsKmsKeyring::discovery(kms, Some(excludes)), &message).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoKeyUnwrapped, "{err}");
    assert!(err.to_string().contains("discovery filter"), "{err}");
}

#[test]
fn aliases_encrypt_and_the_key_arn_decrypts() {
    let moto = moto();
    let client = moto.client();
    let key = moto.create_key();
    let alias = format!("alias/kms-envelope-{}", key.rsplit('/').next().unwrap());
    kms_envelope::future::block_on(client.create_alias(&alias, &key)).unwrap();
    let kms: Arc<dyn KmsClient> = Arc::new(client);
    // By alias name (the configured region) ...
    let message = encrypt(
        &AwsKmsKeyring::new(&alias, kms.clone()).unwrap(),
        b"aliased",
    );
    let header = MessageHeader::parse(&message, None).unwrap().0;
    assert_eq!(header.encrypted_data_keys[0].provider_info, key.as_bytes());
    assert_eq!(
        decrypt(&AwsKmsKeyring::new(&key, kms.clone()).unwrap(), &message).unwrap(),
        b"aliased"
    );
    // ... and by alias ARN (its region).
    let alias_arn = key.replace(&format!("key/{}", key.rsplit('/').next().unwrap()), &alias);
    let message = encrypt(
        &AwsKmsKeyring::new(&alias_arn, kms.clone()).unwrap(),
        b"aliased",
    );
    assert_eq!(
        decrypt(&AwsKmsKeyring::new(&key, kms).unwrap(), &message).unwrap(),
        b"aliased"
    );
}

#[test]
fn wrong_encryption_context_is_invalid_ciphertext() {
    let moto = moto();
    let kms: Arc<dyn KmsClient> = Arc::new(moto.client());
    let key = moto.create_key();
    let keyring = AwsKmsKeyring::new(&key, kms.clone()).unwrap();
    let message = encrypt(&keyring, b"bound to its context");
    let header = MessageHeader::parse(&message, None).unwrap().0;
    // The keyring asks KMS to decrypt with another context: KMS refuses.
    let materials = DecryptionMaterials::new(
        header.algorithm_suite,
        EncryptionContext::from_iter([("purpose", "something else")]),
    );
    let err =
        kms_envelope::future::block_on(keyring.on_decrypt(materials, &header.encrypted_data_keys))
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoKeyUnwrapped, "{err}");
    assert!(
        err.to_string().contains("InvalidCiphertextException"),
        "{err}"
    );
    // Straight from the client: the service's code.
    let request_err = kms_envelope::future::block_on(async {
        let edk = &header.encrypted_data_keys[0];
        let materials = DecryptionMaterials::new(header.algorithm_suite, EncryptionContext::new());
        keyring
            .on_decrypt(materials, std::slice::from_ref(edk))
            .await
    })
    .unwrap_err();
    assert!(
        request_err
            .to_string()
            .contains("InvalidCiphertextException"),
        "{request_err}"
    );
}

#[test]
fn missing_key_is_not_found() {
    let moto = moto();
    let kms: Arc<dyn KmsClient> = Arc::new(moto.client());
    let missing =
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-1111-2222-3333-444444444444");
    let err = Client::new()
        .encrypt(b"x")
        .keyring(&AwsKmsKeyring::new(&missing, kms.clone()).unwrap())
        .run()
        .unwrap_err();
    assert_eq!(kms_code(&err), "NotFoundException", "{err}");
    let err = Client::new()
        .encrypt(b"x")
        .keyring(&AwsKmsKeyring::new("alias/does-not-exist", kms).unwrap())
        .run()
        .unwrap_err();
    assert_eq!(kms_code(&err), "NotFoundException", "{err}");
}

#[test]
fn unreachable_endpoint_is_request_failed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kms = kms_envelope_aws::AwsKmsClient::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .credentials(kms_envelope_aws::Credentials::new("a", "b"))
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let keyring = AwsKmsKeyring::new(
        format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/k"),
        Arc::new(kms),
    )
    .unwrap();
    let err = Client::new()
        .encrypt(b"x")
        .keyring(&keyring)
        .run()
        .unwrap_err();
    assert_eq!(kms_code(&err), "RequestFailed", "{err}");
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[test]
fn caching_makes_one_generate_data_key_call_per_100_messages() {
    let moto = moto();
    let proxy = CountingProxy::start(&moto.url);
    let kms: Arc<dyn KmsClient> = Arc::new(Moto::client_at(&proxy.url));
    let key = moto.create_key();
    let keyring: Arc<dyn Keyring> = Arc::new(AwsKmsKeyring::new(&key, kms).unwrap());
    let caching = CachingMaterialsManager::builder(Duration::from_secs(600))
        .keyring(keyring.clone())
        .max_messages(100)
        .build()
        .unwrap();
    let client = Client::new();
    let mut last = Vec::new();
    for i in 0..1000u32 {
        last = client
            .encrypt(&i.to_be_bytes())
            .materials_manager(&caching)
            .encryption_context(ec())
            .run()
            .unwrap();
    }
    assert_eq!(
        proxy.count("GenerateDataKey"),
        10,
        "counted at the server side"
    );
    assert_eq!(proxy.count("Encrypt"), 0);
    assert_eq!(
        decrypt(keyring.as_ref(), &last).unwrap(),
        999u32.to_be_bytes()
    );
    assert_eq!(proxy.count("Decrypt"), 1);
}

/// A clock the test moves by hand.
#[derive(Default)]
struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn cache_entries_expire_by_age() {
    let moto = moto();
    let proxy = CountingProxy::start(&moto.url);
    let kms: Arc<dyn KmsClient> = Arc::new(Moto::client_at(&proxy.url));
    let key = moto.create_key();
    let clock = Arc::new(ManualClock::default());
    let caching = CachingMaterialsManager::builder(Duration::from_secs(60))
        .keyring(Arc::new(AwsKmsKeyring::new(&key, kms).unwrap()))
        .clock(clock.clone())
        .build()
        .unwrap();
    let encrypt = || {
        let message = Client::new()
            .encrypt(b"aging")
            .materials_manager(&caching)
            .encryption_context(ec())
            .run()
            .unwrap();
        MessageHeader::parse(&message, None)
            .unwrap()
            .0
            .encrypted_data_keys
    };
    let first = encrypt();
    clock.0.store(59_000, Ordering::SeqCst);
    assert_eq!(encrypt(), first, "still fresh: the same data key");
    assert_eq!(proxy.count("GenerateDataKey"), 1);
    clock.0.store(60_001, Ordering::SeqCst);
    let renewed = encrypt();
    assert_ne!(renewed, first, "expired: a new data key");
    assert_eq!(proxy.count("GenerateDataKey"), 2);
    assert_eq!(encrypt(), renewed);
    assert_eq!(proxy.count("GenerateDataKey"), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn the_async_api_works_inside_a_current_thread_tokio_runtime() {
    // A single-threaded runtime would deadlock if the client needed the
    // caller's executor for its I/O; it runs on its own runtime instead.
    let moto = moto();
    let kms: Arc<dyn KmsClient> = Arc::new(moto.client());
    let key = tokio::task::spawn_blocking(|| moto.create_key())
        .await
        .unwrap();
    let keyring = AwsKmsKeyring::new(&key, kms).unwrap();
    let client = Client::new();
    let message = client
        .encrypt(b"async")
        .keyring(&keyring)
        .encryption_context(ec())
        .await
        .unwrap();
    let decrypted = client.decrypt(&message).keyring(&keyring).await.unwrap();
    assert_eq!(decrypted.plaintext, b"async");
    // Dropping the last client inside the runtime must not panic.
    drop(keyring);
}

#[test]
fn a_future_outlives_its_client() {
    let moto = moto();
    let pending = moto.client().create_key("the client is gone");
    let arn = kms_envelope::future::block_on(pending).unwrap();
    assert!(arn.starts_with("arn:aws:kms:us-east-1:"), "{arn}");
}
