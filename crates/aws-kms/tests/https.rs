//! HTTPS with rustls: a local TLS server with a throwaway CA, trusted only
//! through `AWS_CA_BUNDLE`. (Its own test binary: it changes the environment.)

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kms_envelope::future::block_on;
use kms_envelope::Error;
use kms_envelope_aws::{AwsKmsClient, Credentials};

/// The test server (tests/tls_server.py), run by the moto venv's Python,
/// which has `cryptography`; stopped on drop.
struct TlsServer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl TlsServer {
    fn start() -> TlsServer {
        let python = common::moto_binary().with_file_name("python");
        let python = if python.is_file() {
            python
        } else {
            "python3".into()
        };
        let dir = std::env::temp_dir().join(format!("kms-envelope-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_server.py");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("tls_server.py did not start (printed {line:?})"));
        TlsServer { child, port, dir }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn create_key(endpoint: &str) -> kms_envelope::Result<String> {
    let client = AwsKmsClient::builder()
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials(Credentials::new("a", "b"))
        .max_attempts(1)
        .timeout(Duration::from_secs(10))
        .build()?;
    block_on(client.create_key("tls"))
}

#[test]
fn https_verifies_the_server_against_the_trust_store_and_aws_ca_bundle() {
    let server = TlsServer::start();
    let url = format!("https://localhost:{}", server.port);

    // An unknown CA: the handshake fails, and says why.
    std::env::remove_var("AWS_CA_BUNDLE");
    let err = create_key(&url).unwrap_err();
    match &err {
        Error::Kms { code, message } => {
            assert_eq!(code, "RequestFailed");
            assert!(message.to_lowercase().contains("certificate"), "{message}");
        }
        other => panic!("{other}"),
    }

    // Trusted through AWS_CA_BUNDLE, by name and by IP address.
    std::env::set_var("AWS_CA_BUNDLE", server.dir.join("ca.pem"));
    let arn = create_key(&url).unwrap();
    assert_eq!(arn, "arn:aws:kms:us-east-1:123456789012:key/tls");
    create_key(&format!("https://127.0.0.1:{}", server.port)).unwrap();

    // A bundle that is not PEM is refused when the client is built.
    let bad = server.dir.join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    std::env::set_var("AWS_CA_BUNDLE", &bad);
    let err = create_key(&url).unwrap_err();
    assert!(matches!(err, Error::BadArgument(_)), "{err}");
}
