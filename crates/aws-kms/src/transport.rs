//! One signed AWS KMS call: region and endpoint, SigV4, HTTP, retries.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use kms_envelope::{Error, Result};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::config::{self, CredentialSource, Credentials};
use crate::process::PerProcess;
use crate::protocol;

/// When and how often a call is retried: throttling (HTTP 429 or a
/// throttling error code), HTTP 5xx and network failures (connect errors,
/// timeouts, broken connections) are retried up to `max_attempts` attempts
/// in all, waiting a random time up to `min(max_delay, base_delay *
/// 2^(n-1))` after attempt `n` (exponential backoff with full jitter).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Most attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt (upper bound of its jitter).
    pub base_delay: Duration,
    /// Cap of the backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: crate::DEFAULT_MAX_ATTEMPTS,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Error codes the AWS SDKs treat as throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

impl RetryPolicy {
    /// Whether an answer with this HTTP status and error code is worth retrying.
    pub(crate) fn retryable_response(status: u16, code: &str) -> bool {
        status == 429 || status >= 500 || THROTTLING_CODES.contains(&code)
    }

    /// The upper bound of the wait after failed attempt `attempt` (1-based).
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A random wait in `[0, ceiling(attempt)]`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        self.ceiling(attempt).mul_f64(fastrand::f64())
    }
}

/// `url` as error messages may show it: without anything between `://`
/// and an `@` (a user name and password; KMS takes SigV4, not URL
/// credentials, and messages end up in logs).
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split('/').next().and_then(|a| a.rfind('@')) {
            Some(at) => format!("{scheme}://{}", rest.get(at + 1..).unwrap_or_default()),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Checks an endpoint URL: `http` or `https`, a host, no credentials, query
/// or fragment.
pub(crate) fn parse_endpoint(url: &str) -> std::result::Result<String, String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("endpoint '{}' is not a URL: {e}", shown(url)))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "endpoint '{}' must not carry a user name or password",
            shown(url)
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "endpoint '{url}' must be an http:// or https:// URL"
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty)
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(format!(
            "endpoint '{url}' must be scheme://host[:port][/path]"
        ));
    }
    Ok(parsed.to_string())
}

/// A reqwest error with its causes, e.g. "error sending request: client
/// error (Connect): tcp connect error: Connection refused (os error 111)".
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let s = cause.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = cause.source();
    }
    text
}

pub(crate) struct Transport {
    /// Per process: see [`crate::process`].
    pub http: PerProcess<reqwest::Client>,
    pub credentials: Credentials,
    pub credential_source: CredentialSource,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub retry: RetryPolicy,
}

/// A failed attempt, and whether another may succeed.
struct Failure {
    error: Error,
    retryable: bool,
}

fn request_failed(message: String) -> Error {
    Error::Kms {
        code: "RequestFailed".into(),
        message,
    }
}

impl Transport {
    /// The signing region and the URL for a call about `key_id`.
    pub fn target(&self, key_id: Option<&str>) -> Result<(String, String)> {
        let arn = key_id.and_then(crate::arn_of);
        let region = match (&arn, &self.region) {
            (Some(arn), _) => arn.region.clone(),
            (None, Some(region)) => region.clone(),
            (None, None) => {
                return Err(Error::BadArgument(format!(
                    "AWS KMS: no region for key '{}': use a key ARN, or set a region \
                     (AWS_REGION, AWS_DEFAULT_REGION, the profile's region, or the builder)",
                    key_id.unwrap_or("")
                )))
            }
        };
        if !config::is_region_name(&region) {
            return Err(Error::BadArgument(format!(
                "AWS KMS: {region:?}{} is not a region name (such as \"us-east-1\")",
                if arn.is_some() {
                    ", the region of the key's ARN,"
                } else {
                    ""
                }
            )));
        }
        let url = match &self.endpoint {
            Some(url) => url.clone(),
            None => format!(
                "{}/",
                config::default_endpoint(&region, arn.as_ref().map(|a| a.partition.as_str()))
            ),
        };
        Ok((region, url))
    }

    /// Calls `TrentService.<op>` with a JSON `body`, retrying as the policy
    /// says; returns the body of the successful answer.
    pub async fn call(
        &self,
        op: &str,
        key_id: Option<&str>,
        body: Zeroizing<Vec<u8>>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (region, url) = self.target(key_id)?;
        // Shared by the attempts without copies; wiped when the last one is done.
        let body = Bytes::from_owner(body);
        let mut attempt = 1;
        loop {
            match self.attempt(op, &region, &url, body.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(f) if f.retryable && attempt < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(f) => {
                    return Err(match f.error {
                        Error::Kms { code, message } if attempt > 1 => Error::Kms {
                            code,
                            message: format!("{message} (after {attempt} attempts)"),
                        },
                        other => other,
                    })
                }
            }
        }
    }

    async fn attempt(
        &self,
        op: &str,
        region: &str,
        url: &str,
        body: Bytes,
    ) -> std::result::Result<Zeroizing<Vec<u8>>, Failure> {
        let target = format!("TrentService.{op}");
        let content_type = "application/x-amz-json-1.1";
        let signed = self
            .sign(
                region,
                url,
                &[("content-type", content_type), ("x-amz-target", &target)],
                &body,
                SystemTime::now(),
            )
            .map_err(|error| Failure {
                error,
                retryable: false,
            })?;
        let http = self
            .http
            .with(reqwest::Client::clone)
            .map_err(|e| Failure {
                error: Error::Kms {
                    code: "RequestFailed".into(),
                    message: format!("{op}: cannot set up the HTTP client: {e}"),
                },
                retryable: false,
            })?;
        let mut request = http
            .post(url)
            .header("content-type", content_type)
            .header("x-amz-target", &target);
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let network = |what: &str, e: reqwest::Error| Failure {
            error: request_failed(format!(
                "{op} to {url}: {what}{}: {}",
                if e.is_timeout() {
                    " timed out"
                } else {
                    " failed"
                },
                describe(&e)
            )),
            retryable: true,
        };
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| network("request", e))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = response
            .bytes()
            .await
            .map_err(|e| network("reading the response", e))?;
        let answer = Zeroizing::new(Vec::from(answer));
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        let error = protocol::map_error(status, error_type.as_deref(), &answer);
        let retryable = match &error {
            Error::Kms { code, .. } => RetryPolicy::retryable_response(status, code),
            _ => false,
        };
        Err(Failure { error, retryable })
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`).
    fn sign(
        &self,
        region: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>> {
        let failed =
            |e: &dyn std::fmt::Display| request_failed(format!("cannot sign the request: {e}"));
        let identity = aws_credential_types::Credentials::new(
            self.credentials.access_key_id(),
            self.credentials.secret_access_key(),
            self.credentials.session_token().map(str::to_owned),
            None,
            "kms-envelope-aws",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("kms")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        // The body's hash, not the body: aws-sigv4's trace logging can print a
        // `SignableBody::Bytes` (with LOG_SIGNABLE_BODY=true), and an Encrypt
        // body holds a plaintext data key.
        let body_hash = hex::encode(sha2::Sha256::digest(body));
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Precomputed(body_hash),
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| failed(&e))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    #[test]
    fn retry_policy() {
        for (status, code, retry) in [
            (400, "ThrottlingException", true),
            (429, "Anything", true),
            (500, "KMSInternalException", true),
            (503, "Http503", true),
            (400, "NotFoundException", false),
            (400, "InvalidCiphertextException", false),
            (400, "AccessDeniedException", false),
            (400, "KMSInvalidStateException", false),
        ] {
            assert_eq!(
                RetryPolicy::retryable_response(status, code),
                retry,
                "{status} {code}"
            );
        }
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(800));
        assert_eq!(p.ceiling(5), Duration::from_secs(1));
        assert_eq!(p.ceiling(100), Duration::from_secs(1));
        for attempt in 1..8 {
            assert!(p.delay(attempt) <= p.ceiling(attempt));
        }
        // Jitter: not always the same wait.
        let waits: std::collections::HashSet<_> = (0..20).map(|_| p.delay(3)).collect();
        assert!(waits.len() > 1);
    }

    #[test]
    fn signing_with_the_body_hash_equals_signing_the_body() {
        let t = transport(None, None, RetryPolicy::default());
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let url = "https://kms.us-east-1.amazonaws.com/";
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.Encrypt"),
        ];
        let body = br#"{"KeyId":"k","Plaintext":"AAAA"}"#;
        let ours = t.sign("us-east-1", url, &headers, body, time).unwrap();
        let identity =
            aws_credential_types::Credentials::new("AKID", "secret", Some("tok".into()), None, "t")
                .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("kms")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let request = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (reference, _) = sign(request, &params).unwrap().into_parts();
        let reference: Vec<(String, String)> = reference
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(ours, reference);
        assert!(ours.iter().any(|(k, v)| k == "authorization"
            && v.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/kms/aws4_request"
            )));
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("http://127.0.0.1:4566").unwrap(),
            "http://127.0.0.1:4566/"
        );
        assert_eq!(
            parse_endpoint("https://kms.example.com/kms").unwrap(),
            "https://kms.example.com/kms"
        );
        assert!(parse_endpoint("127.0.0.1:4566").is_err());
        assert!(parse_endpoint("ftp://x").is_err());
        assert!(parse_endpoint("http://x/?a=b").is_err());
        let err = parse_endpoint("http://user:hunter2@127.0.0.1:1").unwrap_err();
        assert!(err.contains("user name or password"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("user:"), "{err}");
        assert!(parse_endpoint("http://user@127.0.0.1:1").is_err());
        // Whatever else is wrong, the password is never shown.
        for bad in [
            "ftp://user:hunter2@host",
            "http://user:hunter2@",
            "http://user:hunter2@host:99999/",
        ] {
            let err = parse_endpoint(bad).unwrap_err();
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    /// A per-process test client from `make`.
    fn http_client(
        make: impl Fn() -> reqwest::Result<reqwest::Client> + Send + Sync + 'static,
    ) -> std::result::Result<PerProcess<reqwest::Client>, String> {
        PerProcess::eager(move || make().map_err(|e| e.to_string()))
    }

    fn transport(endpoint: Option<&str>, region: Option<&str>, retry: RetryPolicy) -> Transport {
        Transport {
            http: http_client(|| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
            })
            .unwrap(),
            credentials: Credentials::new("AKID", "secret").with_session_token("tok"),
            credential_source: CredentialSource::Explicit,
            region: region.map(Into::into),
            endpoint: endpoint.map(|e| parse_endpoint(e).unwrap()),
            retry,
        }
    }

    #[test]
    fn region_and_url_per_call() {
        let t = transport(None, Some("eu-west-1"), RetryPolicy::default());
        let arn = "arn:aws:kms:ap-southeast-2:111122223333:key/k";
        assert_eq!(
            t.target(Some(arn)).unwrap(),
            (
                "ap-southeast-2".into(),
                "https://kms.ap-southeast-2.amazonaws.com/".into()
            )
        );
        assert_eq!(
            t.target(Some("arn:aws-cn:kms:cn-north-1:111122223333:alias/a"))
                .unwrap()
                .1,
            "https://kms.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            t.target(Some("alias/a")).unwrap(),
            (
                "eu-west-1".into(),
                "https://kms.eu-west-1.amazonaws.com/".into()
            )
        );
        let t = transport(Some("http://127.0.0.1:9"), None, RetryPolicy::default());
        assert_eq!(
            t.target(Some(arn)).unwrap(),
            ("ap-southeast-2".into(), "http://127.0.0.1:9/".into())
        );
        assert!(t.target(Some("1234abcd-12ab")).is_err());
    }

    #[test]
    fn a_key_arn_cannot_steer_a_call_to_another_host() {
        // The ARN of a message's data key is the sender's: its region went
        // into the URL as it was, so "x@127.0.0.1/" sent the signed call
        // (and the session token) to 127.0.0.1, and "evil.example/" to
        // kms.evil.example.
        let t = transport(None, Some("eu-west-1"), RetryPolicy::default());
        for region in [
            "x@127.0.0.1/",
            "evil.example/",
            "us-east-1.evil.example",
            "-x",
            "a b",
        ] {
            let arn = format!("arn:aws:kms:{region}:111122223333:key/k");
            let err = t.target(Some(&arn)).unwrap_err();
            assert!(matches!(err, Error::BadArgument(_)), "{err}");
            assert!(err.to_string().contains("not a region name"), "{err}");
        }
        // With an endpoint of the caller's, the region still signs the call.
        let t = transport(Some("http://127.0.0.1:9"), None, RetryPolicy::default());
        assert!(t
            .target(Some("arn:aws:kms:a/b:111122223333:key/k"))
            .is_err());
    }

    /// A one-connection-per-request HTTP server that answers with `replies`
    /// in turn and records each request's head.
    fn serve(replies: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in replies {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body_in = vec![0; len];
                reader.read_exact(&mut body_in).unwrap();
                log.lock().unwrap().push(head);
                let mut out = stream;
                write!(
                    out,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
        });
        (url, seen)
    }

    fn fast_retries(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    const ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/k";

    #[test]
    fn retries_5xx_and_throttling_then_succeeds_and_signs() {
        let (url, seen) = serve(vec![
            (500, r#"{"__type":"KMSInternalException","message":"boom"}"#),
            (
                400,
                r#"{"__type":"ThrottlingException","message":"slow down"}"#,
            ),
            (200, r#"{"KeyId":"x"}"#),
        ]);
        let t = transport(Some(&url), None, fast_retries(3));
        let body = Zeroizing::new(br#"{"KeyId":"k"}"#.to_vec());
        let answer = run(t.call("Decrypt", Some(ARN), body)).unwrap();
        assert_eq!(&answer[..], br#"{"KeyId":"x"}"#);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let head = seen[0].to_ascii_lowercase();
        assert!(head.starts_with("post / http/1.1"), "{head}");
        assert!(
            head.contains("x-amz-target: trentservice.decrypt"),
            "{head}"
        );
        assert!(
            head.contains("content-type: application/x-amz-json-1.1"),
            "{head}"
        );
        assert!(head.contains("x-amz-security-token: tok"), "{head}");
        assert!(
            head.contains("authorization: aws4-hmac-sha256 credential=akid/")
                && head.contains("/us-west-2/kms/aws4_request"),
            "{head}"
        );
        assert!(
            head.contains(
                "signedheaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            ),
            "{head}"
        );
        assert!(!head.contains("secret"), "{head}");
    }

    #[test]
    fn gives_up_after_max_attempts_and_does_not_retry_client_errors() {
        let (url, seen) = serve(vec![(503, ""), (503, ""), (503, "")]);
        let t = transport(Some(&url), None, fast_retries(2));
        let err = run(t.call("Encrypt", Some(ARN), Zeroizing::new(b"{}".to_vec()))).unwrap_err();
        match err {
            Error::Kms { code, message } => {
                assert_eq!(code, "Http503");
                assert!(message.contains("after 2 attempts"), "{message}");
            }
            other => panic!("{other}"),
        }
        assert_eq!(seen.lock().unwrap().len(), 2);

        let (url, seen) = serve(vec![(
            400,
            r#"{"__type":"AccessDeniedException","message":"no"}"#,
        )]);
        let t = transport(Some(&url), None, fast_retries(3));
        let err = run(t.call("Encrypt", Some(ARN), Zeroizing::new(b"{}".to_vec()))).unwrap_err();
        assert!(
            matches!(&err, Error::Kms { code, message } if code == "AccessDeniedException" && message == "no"),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn network_failures_are_request_failed() {
        // A port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = transport(
            Some(&format!("http://127.0.0.1:{port}")),
            None,
            fast_retries(2),
        );
        let err = run(t.call("Encrypt", Some(ARN), Zeroizing::new(b"{}".to_vec()))).unwrap_err();
        match err {
            Error::Kms { code, message } => {
                assert_eq!(code, "RequestFailed");
                assert!(
                    message.contains("after 2 attempts") && message.contains("onnect"),
                    "{message}"
                );
            }
            other => panic!("{other}"),
        }
        // A server that never answers: the per-attempt timeout.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut t = transport(
            Some(&format!("http://{}", silent.local_addr().unwrap())),
            None,
            fast_retries(1),
        );
        t.http = http_client(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_millis(200))
                .build()
        })
        .unwrap();
        let err = run(t.call("Encrypt", Some(ARN), Zeroizing::new(b"{}".to_vec()))).unwrap_err();
        assert!(
            err.to_string().contains("RequestFailed") && err.to_string().contains("timed out"),
            "{err}"
        );
        drop(silent);
    }
}
