//! Benchmark peer: the official Rust AWS Encryption SDK (`aws-esdk` on
//! crates.io) with a raw AES-256 keyring, on the workloads of
//! `benches/kms-bench`. Prints one JSON object on standard output.
//!
//! Usage: peer-rust-esdk [--seconds S] [--quick]

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_esdk::client as esdk_client;
use aws_esdk::material_providers::client as mpl_client;
use aws_esdk::material_providers::types::keyring::KeyringRef;
use aws_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_esdk::material_providers::types::AesWrappingAlg;
use aws_esdk::material_providers::types::EsdkAlgorithmSuiteId;
use aws_esdk::types::aws_encryption_sdk_config::AwsEncryptionSdkConfig;
use serde_json::{json, Value};

const MIB: usize = 1 << 20;
const FRAME: i64 = 4096;
const POOL: usize = 64;

struct Timing {
    seconds: f64,
    rounds: usize,
}

/// Best of `rounds` rounds, each running `op` until `seconds` have passed
/// (at least once), after one warm-up round. Returns operations per second.
async fn measure<F, Fut>(t: &Timing, mut op: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut i = 0usize;
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs_f64(t.seconds / 4.0) || i == 0 {
        op(i).await;
        i += 1;
    }
    // A single operation longer than 5 s: one round is enough.
    let per_op = warm.elapsed().as_secs_f64() / i as f64;
    let rounds = if per_op > 5.0 { 1 } else { t.rounds };
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < Duration::from_secs_f64(t.seconds) || n == 0 {
            op(i).await;
            i += 1;
            n += 1;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn data(len: usize) -> Vec<u8> {
    // xorshift64: content does not matter to AES-GCM, only that it is not all zeros.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn suite_id(suite: &str) -> EsdkAlgorithmSuiteId {
    match suite {
        "0478" => EsdkAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKey,
        "0578" => EsdkAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKeyEcdsaP384,
        other => panic!("unknown suite {other}"),
    }
}

struct Peer {
    client: esdk_client::Client,
    keyring: KeyringRef,
    context: HashMap<String, String>,
}

impl Peer {
    async fn encrypt(&self, plaintext: &[u8], suite: &str) -> Vec<u8> {
        self.client
            .encrypt()
            .plaintext(plaintext)
            .keyring(self.keyring.clone())
            .encryption_context(self.context.clone())
            .algorithm_suite_id(suite_id(suite))
            .frame_length(FRAME)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .expect("aws-esdk encrypt")
            .ciphertext
            .expect("ciphertext")
            .into_inner()
    }

    async fn decrypt(&self, ciphertext: &[u8]) -> Vec<u8> {
        self.client
            .decrypt()
            .ciphertext(ciphertext)
            .keyring(self.keyring.clone())
            .encryption_context(self.context.clone())
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .expect("aws-esdk decrypt")
            .plaintext
            .expect("plaintext")
            .into_inner()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut t = Timing {
        seconds: 1.5,
        rounds: 3,
    };
    let mut big = 64 * MIB;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => {
                t.seconds = args[i + 1].parse().expect("--seconds");
                i += 1;
            }
            "--quick" => {
                t.seconds = 0.2;
                t.rounds = 1;
                big = 4 * MIB;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }

    let esdk_config = AwsEncryptionSdkConfig::builder().build().expect("config");
    let client = esdk_client::Client::from_conf(esdk_config).expect("client");
    let mpl = mpl_client::Client::from_conf(MaterialProvidersConfig::builder().build().unwrap())
        .expect("mpl");
    let keyring = mpl
        .create_raw_aes_keyring()
        .key_name("key")
        .key_namespace("bench")
        .wrapping_key(vec![7u8; 32])
        .wrapping_alg(AesWrappingAlg::AlgAes256GcmIv12Tag16)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))
        .expect("raw AES keyring");
    let peer = Peer {
        client,
        keyring,
        context: HashMap::from([("bench".to_string(), "kms-envelope".to_string())]),
    };

    let mut results: Vec<Value> = Vec::new();
    let big_pt = data(big);
    let small_pt = data(1024);
    for suite in ["0478", "0578"] {
        // Large message.
        let ct = peer.encrypt(&big_pt, suite).await;
        assert!(peer.decrypt(&ct).await == big_pt, "round trip");
        let mb = big as f64 / 1e6;
        let (p, pt, c) = (&peer, &big_pt, &ct);
        let enc = measure(&t, move |_| async move {
            std::hint::black_box(p.encrypt(pt, suite).await);
        })
        .await;
        let dec = measure(&t, move |_| async move {
            std::hint::black_box(p.decrypt(c).await);
        })
        .await;
        results.push(json!({"workload": "encrypt-64MiB", "suite": suite, "threads": 1, "value": enc * mb, "unit": "MB/s", "bytes": big}));
        results.push(json!({"workload": "decrypt-64MiB", "suite": suite, "threads": 1, "value": dec * mb, "unit": "MB/s", "bytes": big}));
        eprintln!(
            "aws-esdk {suite}: 64MiB enc {:.1} dec {:.1} MB/s",
            enc * mb,
            dec * mb
        );

        // 1 KiB messages, a fresh data key each; decrypt cycles through
        // distinct messages.
        let mut pool = Vec::with_capacity(POOL);
        for _ in 0..POOL {
            pool.push(peer.encrypt(&small_pt, suite).await);
        }
        assert!(peer.decrypt(&pool[0]).await == small_pt, "round trip");
        let (p, pt, pool) = (&peer, &small_pt, &pool);
        let enc = measure(&t, move |_| async move {
            std::hint::black_box(p.encrypt(pt, suite).await);
        })
        .await;
        let dec = measure(&t, move |i| async move {
            std::hint::black_box(p.decrypt(&pool[i % POOL]).await);
        })
        .await;
        results.push(json!({"workload": "encrypt-1KiB", "suite": suite, "threads": 1, "value": enc, "unit": "msg/s"}));
        results.push(json!({"workload": "decrypt-1KiB", "suite": suite, "threads": 1, "value": dec, "unit": "msg/s"}));
        eprintln!("aws-esdk {suite}: 1KiB enc {enc:.0} dec {dec:.0} msg/s");
    }

    let out = json!({
        "sdk": "aws-esdk",
        "language": "Rust",
        "version": "1.2.4",
        "backend": "aws-lc-rs",
        "seconds": t.seconds,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
