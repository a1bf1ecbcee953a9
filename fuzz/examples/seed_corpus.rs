//! Builds the seed corpus of every fuzz target from the official ESDK
//! vectors: `cargo run --no-default-features --example seed_corpus -- <vectors dir>`
//! (`make fuzz-corpus`). Writes `fuzz/corpus/<target>/<hash>`; existing
//! files are kept.

use std::fs;
use std::path::{Path, PathBuf};

use kms_envelope::{
    AlgorithmSuite, Client, CommitmentPolicy, EncryptionContext, MessageHeader, RawAesKeyring,
};
use kms_envelope_fuzz::keys::aes_256;

/// FNV-1a, 64 bits: a stable file name per input.
fn name(data: &[u8]) -> String {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn ciphertexts(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            ciphertexts(&path, out);
        } else if path.parent().is_some_and(|p| p.ends_with("ciphertexts")) {
            out.push(path);
        }
    }
}

/// The encryption-context field and the EDK section of a parsed header,
/// found in its bytes.
fn sections(message: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (header, _) = MessageHeader::parse(message, None).ok()?;
    let body = header.body_bytes();
    let id_end = if header.version == 1 { 4 + 16 } else { 3 + 32 };
    let ec_len = usize::from(u16::from_be_bytes(
        body.get(id_end..id_end + 2)?.try_into().ok()?,
    ));
    let ec = body.get(id_end + 2..id_end + 2 + ec_len)?.to_vec();
    // No count: the `edk` target reads EDKs until its input ends.
    let mut edks = Vec::new();
    for edk in &header.encrypted_data_keys {
        for field in [
            edk.provider_id.as_bytes(),
            &edk.provider_info,
            &edk.ciphertext,
        ] {
            edks.extend_from_slice(&(field.len() as u16).to_be_bytes());
            edks.extend_from_slice(field);
        }
    }
    Some((ec, edks))
}

/// What distinguishes one vector message from another for the fuzzer:
/// suite, framing, frame length, whether it has a context, EDK count.
fn shape(message: &[u8]) -> Option<(u16, u8, u32, bool, usize)> {
    let (h, _) = MessageHeader::parse(message, None).ok()?;
    Some((
        h.algorithm_suite.id(),
        h.content_type as u8,
        h.frame_length,
        h.encryption_context.is_empty(),
        h.encrypted_data_keys.len(),
    ))
}

/// Small messages of every suite made here with the vectors' AES-256 key:
/// empty, one partial frame, several frames and a final frame of 0 bytes.
fn small_messages() -> Vec<Vec<u8>> {
    let keyring =
        RawAesKeyring::new("aws-raw-vectors-persistant", "aes-256", aes_256()).expect("valid key");
    let client = Client::builder()
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build();
    let committing = Client::new();
    let context: EncryptionContext = [("fuzz", "seed")].into_iter().collect();
    let mut out = Vec::new();
    for suite in AlgorithmSuite::ALL {
        let client = if suite.is_committing() {
            &committing
        } else {
            &client
        };
        for (frame, size) in [(64, 0), (64, 1), (64, 200), (32, 64), (1, 3)] {
            let plaintext: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let message = client
                .encrypt(&plaintext)
                .keyring(&keyring)
                .algorithm_suite(suite)
                .frame_length(frame)
                .encryption_context(context.clone())
                .run()
                .expect("encrypt a seed message");
            out.push(message);
        }
    }
    out
}

fn main() {
    let vectors = std::env::args()
        .nth(1)
        .expect("usage: seed_corpus <vectors dir>");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files = Vec::new();
    ciphertexts(Path::new(&vectors), &mut files);
    files.sort();
    let mut written = 0;
    let mut shapes = std::collections::HashSet::new();
    let mut put = |target: &str, data: &[u8]| {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        let path = dir.join(name(data));
        if !path.exists() {
            fs::write(path, data).expect("write corpus file");
            written += 1;
        }
    };
    for (i, file) in files.iter().enumerate() {
        let message = fs::read(file).expect("read vector");
        if let Ok((_, len)) = MessageHeader::parse(&message, None) {
            put("header", &message[..len]);
        }
        // One vector message per header shape: the vectors are ~11 KB each
        // and differ mostly in their random bytes; the fuzzer mutates
        // small inputs faster, and the small messages below cover the rest.
        let Some(shape) = shape(&message) else {
            continue;
        };
        if !shapes.insert(shape) {
            continue;
        }
        put("decrypt", &message);
        put("c_decrypt", &message);
        let mut seeded = vec![i as u8];
        seeded.extend_from_slice(&message);
        put("stream_decrypt", &seeded);
        if let Some((ec, edks)) = sections(&message) {
            put("context", &ec);
            let suite = (i % 11) as u8;
            let mut edk_input = vec![suite];
            edk_input.extend_from_slice(&edks);
            put("edk", &edk_input);
        }
    }
    for (i, message) in small_messages().iter().enumerate() {
        put("decrypt", message);
        put("c_decrypt", message);
        let mut seeded = vec![(i * 37) as u8];
        seeded.extend_from_slice(message);
        put("stream_decrypt", &seeded);
    }
    println!(
        "{} vector messages, {written} new corpus files",
        files.len()
    );
}
