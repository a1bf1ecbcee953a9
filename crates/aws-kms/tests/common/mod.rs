//! Test helpers: a moto_server (a local AWS KMS API server) and a counting
//! HTTP proxy in front of it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kms_envelope_aws::{AwsKmsClient, Credentials};

/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The moto_server binary: `KMS_ENVELOPE_MOTO`, else the venv `make setup-moto` makes.
pub fn moto_binary() -> PathBuf {
    let hint = "run `make setup-moto` (a venv with moto[server]) or point KMS_ENVELOPE_MOTO \
                at a moto_server binary";
    if let Some(path) = std::env::var_os("KMS_ENVELOPE_MOTO").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "KMS_ENVELOPE_MOTO={} does not exist: {hint}",
            path.display()
        );
        return path;
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    let path = PathBuf::from(home).join(".cache/kms-envelope/venv-moto/bin/moto_server");
    assert!(
        path.is_file(),
        "moto_server not found at {}: {hint}",
        path.display()
    );
    path
}

/// A running moto_server on 127.0.0.1; killed on drop, and in any case
/// when the test process exits (a shell watchdog waits on our pipe).
pub struct Moto {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = moto_binary();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!(
            "kms-envelope-moto-{}-{port}.log",
            std::process::id()
        ));
        // The watchdog: moto runs in the background; `read` returns when our
        // end of the pipe closes (drop, or the test process exiting).
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & pid=$!; read _ignored; kill $pid 2>/dev/null; wait $pid"#)
            .arg(&bin)
            .arg(port.to_string())
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = moto.child.try_wait().unwrap() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    std::fs::read_to_string(&moto.log).unwrap_or_default()
                );
            }
            if http_get(port, "/moto-api/reset").is_some() {
                // The log only serves to explain a failed start.
                let _ = std::fs::remove_file(&moto.log);
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port} within 60 s:\n{}",
                std::fs::read_to_string(&moto.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A client for this server (or `endpoint`), with dummy credentials.
    pub fn client_at(endpoint: &str) -> AwsKmsClient {
        AwsKmsClient::builder()
            .endpoint(endpoint)
            .region(REGION)
            .credentials(Credentials::new("testing", "testing"))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    pub fn client(&self) -> AwsKmsClient {
        Self::client_at(&self.url)
    }

    /// A new symmetric key; its ARN.
    pub fn create_key(&self) -> String {
        kms_envelope::future::block_on(self.client().create_key("kms-envelope-aws test")).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// One moto_server for all tests of this binary (starting one takes seconds).
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// An unsigned request moto answers (it resets moto's state: only at start).
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.").then_some(out)
}

/// An HTTP proxy on 127.0.0.1 that forwards each request to `upstream` and
/// counts requests by their `X-Amz-Target`, as the server sees them.
pub struct CountingProxy {
    pub url: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl CountingProxy {
    pub fn start(upstream: &str) -> CountingProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let shared = counts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (upstream, counts) = (upstream.clone(), shared.clone());
                std::thread::spawn(move || {
                    let _ = forward(stream, &upstream, &counts);
                });
            }
        });
        CountingProxy { url, counts }
    }

    pub fn count(&self, target: &str) -> usize {
        self.counts
            .lock()
            .unwrap()
            .get(&format!("TrentService.{target}"))
            .copied()
            .unwrap_or(0)
    }
}

/// Forwards the requests of one client connection, one upstream connection
/// each (`connection: close` both ways keeps the framing trivial).
fn forward(
    client: TcpStream,
    upstream: &str,
    counts: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    let (mut len, mut target) = (0usize, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-amz-target:") {
            target = Some(line.split_once(':').unwrap().1.trim().to_owned());
        }
        if !lower.starts_with("connection:") {
            head.push_str(&line);
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    if let Some(target) = target {
        *counts.lock().unwrap().entry(target).or_default() += 1;
    }
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(head.as_bytes())?;
    up.write_all(b"connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    // Tell the client this connection ends here.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]);
    let mut out: Vec<u8> = Vec::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"connection: close\r\n");
    out.extend_from_slice(answer.get(split + 2..).unwrap_or_default());
    let mut client = client;
    client.write_all(&out)?;
    client.flush()
}
