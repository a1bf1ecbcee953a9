//! The fuzz targets. Each panics (a finding) only when a property that must
//! hold for every input fails; ordinary rejections of bad input are the
//! expected outcome.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::{Arc, OnceLock};

use kms_envelope::future::{block_on, ready, BoxFuture};
use kms_envelope::kms::{
    AwsKmsKeyring, DiscoveryFilter, GenerateDataKeyRequest, GenerateDataKeyResponse, KmsClient,
    KmsDecryptRequest, KmsDecryptResponse, KmsEncryptRequest, KmsEncryptResponse,
};
use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, DataKey, DecryptionMaterials, EncryptedDataKey,
    EncryptionContext, Error, Keyring, MessageHeader, RawAesKeyring, RawRsaKeyring, RsaPadding,
    RsaPrivateKey,
};

use crate::alloc_bound::bounded;
use crate::keys::{aes_256, vector_keyring};

/// One thread, so that the allocation bound sees every allocation, and the
/// most permissive commitment policy, so that every suite is decrypted.
fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder()
            .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
            .threads(1)
            .build()
    })
}

/// Header parse: the parsed header re-serializes to the bytes it was parsed
/// from, its fields re-serialize canonically, and the canonical form parses
/// back to the same fields.
pub fn header(data: &[u8]) {
    let Ok((parsed, len)) = bounded("header parse", data.len(), 4, || {
        MessageHeader::parse(data, None)
    }) else {
        return;
    };
    assert_eq!(parsed.len(), len);
    assert_eq!(Some(&parsed.to_bytes()[..]), data.get(..len));

    let canonical = parsed
        .canonical_body()
        .expect("the fields of a parsed header serialize");
    if canonical != parsed.body_bytes() {
        // Only the encryption context may be written differently: pairs out
        // of order (same length) or the legacy empty form `00 00` (2 more).
        let extra = parsed.body_bytes().len() - canonical.len();
        assert!(
            extra == 0 || (extra == 2 && parsed.encryption_context.is_empty()),
            "canonical header body differs by {extra} bytes"
        );
    }
    let mut again = canonical.clone();
    if parsed.version == 1 {
        again.extend_from_slice(&parsed.header_iv);
    }
    again.extend_from_slice(&parsed.auth_tag);
    let (reparsed, relen) = MessageHeader::parse(&again, None).expect("a canonical header parses");
    assert_eq!(relen, again.len());
    assert_eq!(reparsed.version, parsed.version);
    assert_eq!(reparsed.algorithm_suite, parsed.algorithm_suite);
    assert_eq!(reparsed.message_id, parsed.message_id);
    assert_eq!(reparsed.encryption_context, parsed.encryption_context);
    assert_eq!(reparsed.encrypted_data_keys, parsed.encrypted_data_keys);
    assert_eq!(reparsed.content_type, parsed.content_type);
    assert_eq!(reparsed.frame_length, parsed.frame_length);
    assert_eq!(reparsed.header_iv, parsed.header_iv);
    assert_eq!(reparsed.commitment, parsed.commitment);
    assert_eq!(reparsed.auth_tag, parsed.auth_tag);
    assert_eq!(reparsed.body_bytes(), &canonical[..]);
}

/// One-shot decrypt with the vectors' raw AES keys: no panic, bounded
/// allocation, and a success is consistent with the input.
pub fn decrypt(data: &[u8]) {
    let keyring = vector_keyring();
    let result = bounded("decrypt", data.len(), 4, || {
        client().decrypt(data).keyring(keyring.as_ref()).run()
    });
    match result {
        Ok(decrypted) => {
            assert!(decrypted.plaintext.len() <= data.len());
            let header_len = decrypted.header.len();
            assert_eq!(
                Some(&decrypted.header.to_bytes()[..]),
                data.get(..header_len)
            );
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// A small deterministic generator for piece sizes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Streaming decrypt fed in pieces of random sizes (seeded by the first
/// byte): it agrees with one-shot decrypt (both fail, or both give the same
/// plaintext), and a signed message that fails released no plaintext.
pub fn stream_decrypt(data: &[u8]) {
    let (seed, message) = match data.split_first() {
        Some((&seed, rest)) => (seed, rest),
        None => (0, data),
    };
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ u64::from(seed));
    let keyring = vector_keyring();
    let mut released = Vec::new();
    let mut signed = false;
    let streamed = bounded(
        "stream decrypt",
        message.len(),
        4,
        || -> Result<(), Error> {
            let mut decryptor = client().stream_decrypt().keyring(keyring.clone()).start()?;
            let mut rest = message;
            while !rest.is_empty() {
                // Mostly small pieces, sometimes large ones, sometimes empty.
                let n = match rng.next() % 8 {
                    0 => 0,
                    1 => rest.len(),
                    2..=4 => 1 + (rng.next() % 16) as usize,
                    _ => 1 + (rng.next() % 600) as usize,
                };
                let (piece, tail) = rest.split_at(n.min(rest.len()));
                let outcome = decryptor.update(piece, &mut released);
                signed |= decryptor
                    .header()
                    .is_some_and(|h| h.algorithm_suite.is_signing());
                outcome?;
                rest = tail;
            }
            decryptor.finish()
        },
    );
    let one_shot = client().decrypt(message).keyring(keyring.as_ref()).run();
    match (streamed, one_shot) {
        (Ok(()), Ok(decrypted)) => assert_eq!(released, decrypted.plaintext),
        (Err(_), Err(_)) => {
            if signed {
                assert!(
                    released.is_empty(),
                    "a signed stream released plaintext before failing"
                );
            }
        }
        (streamed, one_shot) => panic!(
            "streaming and one-shot decrypt disagree: stream {:?}, one-shot {:?}",
            streamed.err(),
            one_shot.err()
        ),
    }
}

/// Encryption context parse: what parses re-serializes to the same length
/// (the same bytes when its pairs were in canonical order) and parses back
/// to the same map.
pub fn context(data: &[u8]) {
    let Ok(parsed) = bounded("context parse", data.len(), 4, || {
        EncryptionContext::deserialize(data)
    }) else {
        return;
    };
    let bytes = match parsed.serialize() {
        Ok(bytes) => bytes,
        // Over 65535 bytes serialized: refused on the way out, by design.
        Err(_) => return assert!(data.len() > usize::from(u16::MAX)),
    };
    let legacy_empty = data == [0, 0];
    assert_eq!(bytes.len() + if legacy_empty { 2 } else { 0 }, data.len());
    assert_eq!(
        EncryptionContext::deserialize(&bytes).expect("canonical form parses"),
        parsed
    );
}

/// A KMS stand-in for the `edk` target: Decrypt returns the EDK's own bytes
/// as the data key, for the key the request names, so that every check the
/// keyrings make on a KMS response is reached. Encrypt and GenerateDataKey
/// are never called by decryption.
struct EchoKms;

impl KmsClient for EchoKms {
    fn generate_data_key<'a>(
        &'a self,
        _request: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<GenerateDataKeyResponse>> {
        ready(Err(Error::BadArgument("not used when decrypting".into())))
    }

    fn encrypt<'a>(
        &'a self,
        _request: KmsEncryptRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<KmsEncryptResponse>> {
        ready(Err(Error::BadArgument("not used when decrypting".into())))
    }

    fn decrypt<'a>(
        &'a self,
        request: KmsDecryptRequest,
    ) -> BoxFuture<'a, kms_envelope::Result<KmsDecryptResponse>> {
        ready(Ok(KmsDecryptResponse::new(
            request.key_id,
            DataKey::new(request.ciphertext_blob),
        )))
    }
}

/// Every keyring kind, as the `edk` target's decrypt keyrings.
fn edk_keyrings() -> &'static [Arc<dyn Keyring>] {
    static KEYRINGS: OnceLock<Vec<Arc<dyn Keyring>>> = OnceLock::new();
    KEYRINGS.get_or_init(|| {
        let kms: Arc<dyn KmsClient> = Arc::new(EchoKms);
        let rsa_pem = include_str!("../../tests/data/rsa-2048-private.pem");
        let rsa = RsaPrivateKey::from_pem(rsa_pem).expect("test key parses");
        let arn = "arn:aws:kms:us-west-2:658956600833:key/mrk-80bd8ecdcd4342aebd84b7dc9da498a7";
        let filter = DiscoveryFilter::new("aws", ["658956600833"]).expect("valid filter");
        vec![
            Arc::new(RawAesKeyring::new("fuzz", "aes-256", aes_256()).expect("valid key")),
            Arc::new(
                RawRsaKeyring::new("fuzz", "rsa", RsaPadding::OaepSha256, None, Some(rsa))
                    .expect("valid key"),
            ),
            Arc::new(AwsKmsKeyring::new(arn, kms.clone()).expect("valid ARN")),
            Arc::new(AwsKmsKeyring::new_mrk_aware(arn, kms.clone()).expect("valid ARN")),
            Arc::new(AwsKmsKeyring::discovery(kms.clone(), Some(filter))),
            Arc::new(AwsKmsKeyring::mrk_discovery(kms, "us-east-1", None).expect("region given")),
        ]
    })
}

/// Reads the EDK list in the message format's layout (u16 count, then per
/// EDK three u16-length-prefixed fields), as far as the input goes.
fn read_edks(mut data: &[u8]) -> Vec<EncryptedDataKey> {
    fn field<'a>(data: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = data.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let value = rest.get(..len)?;
        *data = rest.get(len..)?;
        Some(value)
    }
    let mut edks = Vec::new();
    while let (Some(id), Some(info), Some(key)) =
        (field(&mut data), field(&mut data), field(&mut data))
    {
        edks.push(EncryptedDataKey::new(
            String::from_utf8_lossy(id).into_owned(),
            info.to_vec(),
            key.to_vec(),
        ));
    }
    edks
}

/// EDK and provider-info parsing: every keyring kind (raw AES, raw RSA,
/// strict, MRK-aware and discovery KMS) is offered arbitrary EDKs for an
/// arbitrary suite (the first byte) and never panics or allocates without
/// bound; a success has a data key of the suite's length.
pub fn edk(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let suites = AlgorithmSuite::ALL;
    let suite = suites[usize::from(pick) % suites.len()];
    let edks = read_edks(rest);
    for keyring in edk_keyrings() {
        let materials = DecryptionMaterials::new(suite, EncryptionContext::new());
        let result = bounded("keyring on_decrypt", data.len(), 4, || {
            block_on(keyring.on_decrypt(materials, &edks))
        });
        if let Ok(materials) = result {
            let key = materials
                .plaintext_data_key()
                .expect("a successful on_decrypt sets the data key");
            assert_eq!(key.as_bytes().len(), suite.data_key_len());
        }
    }
}

// The C ABI, declared as a C caller sees it in include/kms_envelope.h
// (opaque handles as void pointers, statuses as int).
extern "C" {
    fn kmse_client_new(options: *const c_void, client_out: *mut *mut c_void) -> c_int;
    fn kmse_client_free(client: *mut c_void);
    fn kmse_keyring_new_raw_aes(
        key_namespace: *const c_char,
        key_name: *const c_char,
        key: *const u8,
        key_len: usize,
        keyring_out: *mut *mut c_void,
    ) -> c_int;
    fn kmse_keyring_free(keyring: *mut c_void);
    fn kmse_decrypt(
        client: *const c_void,
        keyring: *const c_void,
        context: *const c_void,
        ciphertext: *const u8,
        ciphertext_len: usize,
        plaintext_out: *mut *mut c_void,
        context_out: *mut *mut c_void,
        header_out: *mut *mut c_void,
    ) -> c_int;
    fn kmse_buffer_data(
        buffer: *const c_void,
        data_out: *mut *const u8,
        len_out: *mut usize,
    ) -> c_int;
    fn kmse_buffer_free(buffer: *mut c_void);
    fn kmse_encryption_context_free(context: *mut c_void);
    fn kmse_header_free(header: *mut c_void);
    fn kmse_last_error_message() -> *const c_char;
}

// Makes sure the library holding those symbols is linked.
use kms_envelope_c as _;

/// `KMSE_STATUS_OK`.
const OK: c_int = 0;
/// `KMSE_STATUS_NULL_ARGUMENT`.
const NULL_ARGUMENT: c_int = 100;
/// `KMSE_STATUS_PANIC`.
const PANIC: c_int = 101;

/// The C ABI's decrypt entry point, as a C program calls it: a status that
/// is a known error kind (never the panic status), out-parameters written
/// only on success, and the same outcome as the Rust API.
pub fn c_decrypt(data: &[u8]) {
    let mut client = ptr::null_mut();
    let mut keyring = ptr::null_mut();
    // SAFETY: NULL options are allowed; the out-pointer is valid.
    assert_eq!(unsafe { kmse_client_new(ptr::null(), &mut client) }, OK);
    let key = aes_256();
    // SAFETY: NUL-terminated strings, a valid key range and out-pointer.
    let status = unsafe {
        kmse_keyring_new_raw_aes(
            c"aws-raw-vectors-persistant".as_ptr(),
            c"aes-256".as_ptr(),
            key.as_ptr(),
            key.len(),
            &mut keyring,
        )
    };
    assert_eq!(status, OK);

    let mut plaintext = ptr::null_mut();
    let mut context = ptr::null_mut();
    let mut header = ptr::null_mut();
    // SAFETY: live handles, a valid input range (a dangling but aligned
    // pointer for an empty slice, with length 0) and valid out-pointers.
    let status = unsafe {
        kmse_decrypt(
            client,
            keyring,
            ptr::null(),
            data.as_ptr(),
            data.len(),
            &mut plaintext,
            &mut context,
            &mut header,
        )
    };
    let rust = {
        let aes =
            RawAesKeyring::new("aws-raw-vectors-persistant", "aes-256", key).expect("valid key");
        Client::new().decrypt(data).keyring(&aes).run()
    };
    if status == OK {
        let (mut bytes, mut len) = (ptr::null(), 0usize);
        // SAFETY: `plaintext` is a live buffer from kmse_decrypt.
        assert_eq!(
            unsafe { kmse_buffer_data(plaintext, &mut bytes, &mut len) },
            OK
        );
        // SAFETY: the library guarantees `len` readable bytes at `bytes`
        // (or len 0) until the buffer is freed.
        let c_plaintext = if len == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(bytes, len) }
        };
        let rust = rust.expect("C decrypted what Rust refused");
        assert_eq!(c_plaintext, &rust.plaintext[..]);
        assert!(!context.is_null() && !header.is_null());
    } else {
        assert!(
            status != PANIC && status != NULL_ARGUMENT,
            "unexpected status {status}"
        );
        assert!(plaintext.is_null() && context.is_null() && header.is_null());
        // SAFETY: the library keeps a NUL-terminated message for this thread.
        let message = unsafe { kmse_last_error_message() };
        assert!(!message.is_null());
        assert!(rust.is_err(), "Rust decrypted what C refused");
    }
    // SAFETY: each handle is either NULL or owned here; the free functions
    // accept NULL.
    unsafe {
        kmse_buffer_free(plaintext);
        kmse_encryption_context_free(context);
        kmse_header_free(header);
        kmse_keyring_free(keyring);
        kmse_client_free(client);
    }
}
