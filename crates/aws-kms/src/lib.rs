//! The native AWS KMS client for [`kms_envelope`]'s AWS KMS keyrings.
//!
//! [`AwsKmsClient`] implements [`kms_envelope::kms::KmsClient`]: it signs the
//! three calls the keyrings make (`GenerateDataKey`, `Encrypt`, `Decrypt`)
//! with SigV4 (the official `aws-sigv4` crate) and sends them over HTTPS
//! (rustls with the aws-lc-rs provider and the platform's trust store) in
//! the AWS KMS JSON 1.1 protocol. Service errors become
//! [`Error::Kms`] with the service's code
//! (`NotFoundException`, `InvalidCiphertextException`,
//! `AccessDeniedException`, ...); network failures and timeouts have the code
//! `RequestFailed`, malformed answers `InvalidResponse`; a call that names
//! no region (a bare key ID, and no default region) is an
//! [`Error::BadArgument`].
//!
//! # Configuration
//!
//! [`AwsKmsClient::from_env`] (or [`AwsKmsClient::builder`] for explicit
//! values, with the rest from the environment) resolves like the AWS SDKs:
//!
//! - **Credentials**: the builder's, else `AWS_ACCESS_KEY_ID` +
//!   `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the profile
//!   (`AWS_PROFILE`, default `default`) in `AWS_SHARED_CREDENTIALS_FILE`
//!   (`~/.aws/credentials`) or, as `[profile name]`, `AWS_CONFIG_FILE`
//!   (`~/.aws/config`). Role assumption, SSO, `credential_process` and
//!   instance/container credentials are not supported: export credentials
//!   into the environment first (`aws configure export-credentials`).
//! - **Region**: each call uses the region of its key when the key is an ARN
//!   (so one client serves keys of every region); otherwise the builder's,
//!   `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's `region`.
//! - **Endpoint**: `https://kms.<region>.amazonaws.com` (per partition),
//!   unless overridden by the builder, `AWS_ENDPOINT_URL_KMS`,
//!   `AWS_ENDPOINT_URL` or the profile's `endpoint_url`. Plain
//!   `http://127.0.0.1:4566` works, for local KMS API servers (moto,
//!   LocalStack). Extra trusted CAs: `AWS_CA_BUNDLE` (a PEM file).
//! - **Timeouts and retries**: connect 5 s, 30 s per attempt; up to 3
//!   attempts in all for throttling (`ThrottlingException`, HTTP 429, ...),
//!   HTTP 5xx and network failures, with exponential backoff and full
//!   jitter (100 ms base, 20 s cap).
//!
//! Secrets are never logged: `Debug` shows the access key ID only, and the
//! secret key, the session token and request bodies carrying a plaintext
//! data key are wiped from memory when dropped.
//!
//! # Async model
//!
//! The futures this client returns are runtime-agnostic: they run under any
//! executor and under the core's blocking API ([`kms_envelope::future::block_on`]
//! on a plain thread). The client owns a small private tokio runtime (two
//! worker threads by default, created on the first call); each call is
//! spawned there, and the returned future only waits on a
//! `tokio::sync::oneshot` receiver, which works with any executor. So it
//! never blocks a caller's executor thread, and calling from inside a tokio
//! runtime is fine. Dropping the future cancels the request. Clones share the
//! runtime and the connection pool; the runtime is shut down (without
//! blocking) when the last clone is dropped.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use kms_envelope::kms::AwsKmsKeyring;
//! use kms_envelope::{Client, EncryptionContext};
//! use kms_envelope_aws::AwsKmsClient;
//!
//! # fn main() -> Result<(), kms_envelope::Error> {
//! let kms = Arc::new(AwsKmsClient::from_env()?);
//! let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
//! let keyring = AwsKmsKeyring::new(key, kms)?;
//! let context = EncryptionContext::from_iter([("purpose", "example")]);
//!
//! let client = Client::new();
//! let message = client
//!     .encrypt(b"secret data")
//!     .keyring(&keyring)
//!     .encryption_context(context)
//!     .run()?;
//! let decrypted = client.decrypt(&message).keyring(&keyring).run()?;
//! assert_eq!(decrypted.plaintext, b"secret data");
//! # Ok(()) }
//! ```
//!
//! Against a local endpoint (explicit settings; keys created by the client):
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use kms_envelope::kms::AwsKmsKeyring;
//! use kms_envelope::future::block_on;
//! use kms_envelope_aws::{AwsKmsClient, Credentials};
//!
//! # fn main() -> Result<(), kms_envelope::Error> {
//! let kms = AwsKmsClient::builder()
//!     .endpoint("http://127.0.0.1:4566")
//!     .region("us-east-1")
//!     .credentials(Credentials::new("test", "test"))
//!     .build()?;
//! let key_arn = block_on(kms.create_key("demo key"))?;
//! let keyring = AwsKmsKeyring::new(key_arn, Arc::new(kms))?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc, clippy::missing_panics_doc)]

mod config;
mod process;
mod protocol;
mod transport;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kms_envelope::future::BoxFuture;
use kms_envelope::kms::{
    GenerateDataKeyRequest, GenerateDataKeyResponse, KmsArn, KmsClient, KmsDecryptRequest,
    KmsDecryptResponse, KmsEncryptRequest, KmsEncryptResponse,
};
use kms_envelope::DataKey;
use kms_envelope::{Error, Result};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

pub use config::Credentials;
use config::{Env, ProcessEnv};
use protocol::{Body, Response};
pub use transport::RetryPolicy;
use transport::Transport;

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default timeout of one attempt (sending the request and reading the answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of attempts per call (the first one included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default number of worker threads of the private runtime.
pub const DEFAULT_WORKER_THREADS: usize = 2;

/// An AWS KMS client: SigV4 over HTTPS, for [`kms_envelope::kms::AwsKmsKeyring`].
///
/// Cheap to clone (clones share the connection pool and the runtime).
/// See the [crate documentation](crate) for configuration and the async model.
#[derive(Clone)]
pub struct AwsKmsClient {
    transport: Arc<Transport>,
    runtime: Arc<LazyRuntime>,
}

impl fmt::Debug for AwsKmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsClient")
            .field("region", &self.transport.region)
            .field("endpoint", &self.transport.endpoint)
            .field("credentials", &self.transport.credentials)
            .field(
                "credentials_from",
                &self.transport.credential_source.to_string(),
            )
            .field("retry", &self.transport.retry)
            .finish()
    }
}

/// Builds an [`AwsKmsClient`]; what is not set comes from the environment
/// and the shared config files, as described in the [crate documentation](crate).
#[derive(Debug, Clone)]
#[must_use = "call build()"]
pub struct AwsKmsClientBuilder {
    region: Option<String>,
    endpoint: Option<String>,
    credentials: Option<Credentials>,
    profile: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    worker_threads: usize,
}

impl Default for AwsKmsClientBuilder {
    fn default() -> Self {
        Self {
            region: None,
            endpoint: None,
            credentials: None,
            profile: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            worker_threads: DEFAULT_WORKER_THREADS,
        }
    }
}

impl AwsKmsClientBuilder {
    /// The region for keys given as a key ID or alias name (calls with a key
    /// ARN always use the ARN's region).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:4566` for a local KMS API
    /// server (default: the regional AWS endpoint of each call's region).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Explicit credentials (default: environment, then profile).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The profile of the shared config files (default: `AWS_PROFILE`, else `default`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Timeout of one attempt: sending the request and reading the answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout for establishing a connection (TCP and TLS).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Most attempts per call, the first included (at least 1; 1 disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.retry.max_attempts = attempts;
        self
    }

    /// The retry backoff: attempt `n` (n >= 1) waits a random time up to
    /// `min(max, base * 2^(n-1))` before the next one.
    pub fn retry_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.retry.base_delay = base;
        self.retry.max_delay = max;
        self
    }

    /// The whole retry policy at once (see [`RetryPolicy`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Worker threads of the private runtime (1 to 4; default 2).
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads;
        self
    }

    /// The client. Fails ([`Error::BadArgument`]) when no credentials are
    /// found, the endpoint is no `http(s)` URL, or a setting is out of range.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if `max_attempts` is 0, `worker_threads` is
    /// not 1 to 4 or a timeout is zero; if a profile named by
    /// [`profile`](Self::profile) or `AWS_PROFILE` is in neither shared
    /// file, or a shared file exists but cannot be read; if no credentials
    /// are found, or only an access key ID without its secret, or only a
    /// profile that needs role assumption, SSO or `credential_process`; if
    /// the endpoint is not an `http(s)://host[:port][/path]` URL; if the
    /// CA bundle (`AWS_CA_BUNDLE` or the profile's `ca_bundle`) cannot be
    /// read or holds no PEM certificate; or if the HTTPS client cannot be
    /// set up.
    pub fn build(self) -> Result<AwsKmsClient> {
        self.build_with(&ProcessEnv)
    }

    fn build_with(self, env: &dyn Env) -> Result<AwsKmsClient> {
        let bad = |m: String| Error::BadArgument(format!("AWS KMS client: {m}"));
        if self.retry.max_attempts == 0 {
            return Err(bad("max_attempts must be at least 1".into()));
        }
        if !(1..=4).contains(&self.worker_threads) {
            return Err(bad("worker_threads must be between 1 and 4".into()));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(bad("timeouts must be greater than zero".into()));
        }
        let profile = config::load_profile(env, self.profile.as_deref()).map_err(bad)?;
        // A profile asked for by name must exist, from `profile()` or from
        // `AWS_PROFILE` (as the AWS CLI and boto3 refuse it), even when the
        // credentials would come from elsewhere; an implicit `default` need not.
        if !profile.found && (self.profile.is_some() || profile.name != "default") {
            let from = if self.profile.is_some() {
                ""
            } else {
                " (AWS_PROFILE)"
            };
            return Err(bad(format!(
                "profile '{}'{from} is in neither the config nor the credentials file",
                profile.name
            )));
        }
        let (credentials, credential_source) =
            config::resolve_credentials(self.credentials, env, &profile).map_err(bad)?;
        if let Some(problem) = credentials.header_problem() {
            return Err(bad(format!("{problem} ({credential_source})")));
        }
        let region = config::resolve_region(self.region, env, &profile);
        if let Some(region) = region.as_ref().filter(|r| !config::is_region_name(r)) {
            return Err(bad(format!(
                "{region:?} is not a region name (such as \"us-east-1\")"
            )));
        }
        let endpoint = config::resolve_endpoint(self.endpoint, env, &profile)
            .map(|e| transport::parse_endpoint(&e).map_err(bad))
            .transpose()?;
        let ca_bundle = env
            .var("AWS_CA_BUNDLE")
            .or_else(|| profile.get("ca_bundle").map(str::to_owned));
        let mut certs = Vec::new();
        if let Some(path) = ca_bundle {
            let pem = std::fs::read(&path)
                .map_err(|e| bad(format!("cannot read the CA bundle {path}: {e}")))?;
            certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| bad(format!("the CA bundle {path} is not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(bad(format!(
                    "the CA bundle {path} holds no PEM certificate"
                )));
            }
        }
        let (connect_timeout, timeout) = (self.connect_timeout, self.timeout);
        let http = process::PerProcess::eager(move || {
            let mut http = reqwest::Client::builder()
                .connect_timeout(connect_timeout)
                .timeout(timeout)
                .user_agent(concat!("kms-envelope-aws/", env!("CARGO_PKG_VERSION")));
            if !certs.is_empty() {
                http = http.tls_certs_merge(certs.clone());
            }
            http.build().map_err(|e| transport::describe(&e))
        })
        .map_err(|e| bad(format!("cannot set up HTTPS: {e}")))?;
        Ok(AwsKmsClient {
            transport: Arc::new(Transport {
                http,
                credentials,
                credential_source,
                region,
                endpoint,
                retry: self.retry,
            }),
            runtime: Arc::new(LazyRuntime::new(self.worker_threads)),
        })
    }
}

/// The private runtime, made on the first call (and again in a child of
/// `fork()`, see [`process`]).
struct LazyRuntime(process::PerProcess<Runtime>);

impl LazyRuntime {
    fn new(threads: usize) -> Self {
        Self(process::PerProcess::lazy(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .max_blocking_threads(4)
                .thread_name("kms-envelope-aws")
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| e.to_string())
        }))
    }

    /// This process's runtime's handle.
    fn get(&self) -> Result<Handle> {
        self.0
            .with(|runtime| runtime.handle().clone())
            .map_err(|e| Error::Kms {
                code: "RequestFailed".into(),
                message: format!("cannot start the AWS KMS client's I/O runtime: {e}"),
            })
    }
}

impl Drop for LazyRuntime {
    fn drop(&mut self) {
        // Never blocks, so dropping the last client inside an async context
        // is fine.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Aborts the spawned request when the caller drops the future.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl AwsKmsClient {
    /// A builder; unset values come from the environment and config files.
    pub fn builder() -> AwsKmsClientBuilder {
        AwsKmsClientBuilder::default()
    }

    /// A client configured entirely from the environment and config files.
    ///
    /// # Errors
    ///
    /// As [`AwsKmsClientBuilder::build`].
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// The region used for keys that are not ARNs, if one is configured.
    pub fn region(&self) -> Option<&str> {
        self.transport.region.as_deref()
    }

    /// Runs `work` on the private runtime; the returned future only waits
    /// for its result, so it runs under any executor.
    fn spawn<T, F>(&self, work: F) -> BoxFuture<'static, Result<T>>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let runtime = match self.runtime.get() {
            Ok(rt) => rt,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let (tx, rx) = oneshot::channel();
        let handle = runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        let guard = AbortOnDrop(handle.abort_handle());
        // The future keeps the runtime alive, even if the client is dropped first.
        let keep_alive = self.runtime.clone();
        Box::pin(async move {
            let result = rx.await;
            drop(guard);
            drop(keep_alive);
            result.unwrap_or_else(|_| {
                Err(Error::Kms {
                    code: "RequestFailed".into(),
                    message: "the AWS KMS request was cancelled (the client's runtime shut down)"
                        .into(),
                })
            })
        })
    }

    /// `CreateKey` (symmetric encryption key) in the configured region;
    /// returns the new key's ARN. Meant for tests and local endpoints.
    ///
    /// # Errors
    ///
    /// The future fails with [`Error::BadArgument`] if no region is
    /// configured, and with [`Error::Kms`] if the call fails: the service's
    /// error code; `RequestFailed` for network failures, timeouts, a
    /// request that cannot be signed or a private runtime that cannot
    /// start; `InvalidResponse` for an answer that is not JSON holding the
    /// new key's ARN.
    pub fn create_key(&self, description: &str) -> BoxFuture<'static, Result<String>> {
        let transport = self.transport.clone();
        let body = Body::new().string("Description", description).finish();
        self.spawn(async move {
            let answer = transport.call("CreateKey", None, body).await?;
            let response = Response::parse("CreateKey", &answer)?;
            response.key_metadata.map(|m| m.arn).ok_or_else(|| {
                protocol::invalid_response("CreateKey: the response has no KeyMetadata")
            })
        })
    }

    /// `CreateAlias`: `alias_name` (`alias/...`) for `target_key_id`.
    ///
    /// # Errors
    ///
    /// The future fails with [`Error::BadArgument`] if `target_key_id` is
    /// not a KMS ARN and no region is configured, and with [`Error::Kms`] if
    /// the call fails: the service's error code, or `RequestFailed` for
    /// network failures, timeouts, a request that cannot be signed or a
    /// private runtime that cannot start.
    pub fn create_alias(
        &self,
        alias_name: &str,
        target_key_id: &str,
    ) -> BoxFuture<'static, Result<()>> {
        let transport = self.transport.clone();
        let region_of = target_key_id.to_owned();
        let body = Body::new()
            .string("AliasName", alias_name)
            .string("TargetKeyId", target_key_id)
            .finish();
        self.spawn(async move {
            transport
                .call("CreateAlias", Some(&region_of), body)
                .await?;
            Ok(())
        })
    }
}

/// `key_id` parsed, when it is a key or alias ARN (for its region and partition).
pub(crate) fn arn_of(key_id: &str) -> Option<KmsArn> {
    key_id
        .starts_with("arn:")
        .then(|| key_id.parse().ok())
        .flatten()
}

impl KmsClient for AwsKmsClient {
    fn generate_data_key<'a>(
        &'a self,
        request: GenerateDataKeyRequest,
    ) -> BoxFuture<'a, Result<GenerateDataKeyResponse>> {
        let transport = self.transport.clone();
        let body = Body::new()
            .string("KeyId", &request.key_id)
            .number("NumberOfBytes", request.number_of_bytes)
            .context(&request.encryption_context)
            .grant_tokens(&request.grant_tokens)
            .finish();
        self.spawn(async move {
            const OP: &str = "GenerateDataKey";
            let answer = transport.call(OP, Some(&request.key_id), body).await?;
            let response = Response::parse(OP, &answer)?;
            let mut plaintext = Response::blob(response.plaintext.as_deref(), OP, "Plaintext")?;
            let blob = Response::blob(response.ciphertext_blob.as_deref(), OP, "CiphertextBlob")?;
            Ok(GenerateDataKeyResponse::new(
                response.key_id(OP)?,
                DataKey::new(std::mem::take(&mut *plaintext)),
                blob.to_vec(),
            ))
        })
    }

    fn encrypt<'a>(
        &'a self,
        request: KmsEncryptRequest,
    ) -> BoxFuture<'a, Result<KmsEncryptResponse>> {
        let transport = self.transport.clone();
        let body = Body::new()
            .string("KeyId", &request.key_id)
            .blob("Plaintext", request.plaintext.as_bytes())
            .context(&request.encryption_context)
            .grant_tokens(&request.grant_tokens)
            .finish();
        let key_id = request.key_id;
        self.spawn(async move {
            const OP: &str = "Encrypt";
            let answer = transport.call(OP, Some(&key_id), body).await?;
            let response = Response::parse(OP, &answer)?;
            let blob = Response::blob(response.ciphertext_blob.as_deref(), OP, "CiphertextBlob")?;
            Ok(KmsEncryptResponse::new(response.key_id(OP)?, blob.to_vec()))
        })
    }

    fn decrypt<'a>(
        &'a self,
        request: KmsDecryptRequest,
    ) -> BoxFuture<'a, Result<KmsDecryptResponse>> {
        let transport = self.transport.clone();
        let body = Body::new()
            .string("KeyId", &request.key_id)
            .blob("CiphertextBlob", &request.ciphertext_blob)
            .context(&request.encryption_context)
            .grant_tokens(&request.grant_tokens)
            .finish();
        let key_id = request.key_id;
        self.spawn(async move {
            const OP: &str = "Decrypt";
            let answer = transport.call(OP, Some(&key_id), body).await?;
            let response = Response::parse(OP, &answer)?;
            let mut plaintext = Response::blob(response.plaintext.as_deref(), OP, "Plaintext")?;
            Ok(KmsDecryptResponse::new(
                response.key_id(OP)?,
                DataKey::new(std::mem::take(&mut *plaintext)),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::tests::MapEnv;

    #[test]
    fn builder_validates_and_debug_hides_secrets() {
        let env = MapEnv::default();
        let creds = || Credentials::new("AKIDEXAMPLE", "SECRETKEY").with_session_token("TOKEN");
        let client = AwsKmsClient::builder()
            .credentials(creds())
            .region("eu-west-1")
            .endpoint("http://127.0.0.1:4566")
            .build_with(&env)
            .unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("AKIDEXAMPLE") && shown.contains("eu-west-1"),
            "{shown}"
        );
        assert!(
            !shown.contains("SECRETKEY") && !shown.contains("TOKEN\""),
            "{shown}"
        );
        assert_eq!(client.region(), Some("eu-west-1"));

        let err = |b: AwsKmsClientBuilder| b.build_with(&env).unwrap_err().to_string();
        assert!(err(AwsKmsClient::builder()).contains("no AWS credentials"));
        let ok = || AwsKmsClient::builder().credentials(creds());
        assert!(err(ok().max_attempts(0)).contains("max_attempts"));
        let policy = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(err(ok().retry_policy(policy)).contains("max_attempts"));
        assert!(err(ok().worker_threads(0)).contains("worker_threads"));
        assert!(err(ok().timeout(Duration::ZERO)).contains("timeouts"));
        assert!(err(ok().endpoint("ftp://x")).contains("http"));
        assert!(err(ok().endpoint("not a url")).contains("endpoint"));
        assert!(err(ok().profile("nope")).contains("profile 'nope'"));
        assert!(err(ok().region("kms.evil.example/")).contains("not a region name"));
        let pasted =
            AwsKmsClient::builder().credentials(Credentials::new("AKIA\r\nX-Evil: 1", "s"));
        assert!(err(pasted).contains("access key ID must be printable"));
        let token = AwsKmsClient::builder()
            .credentials(Credentials::new("AKIA", "s").with_session_token("tok\n"));
        assert!(err(token).contains("session token must be printable"));
        assert!(
            err(AwsKmsClient::builder().credentials(Credentials::new("AKIA", "")))
                .contains("secret")
        );
        let hostile = MapEnv::default().var("AWS_REGION", "x@127.0.0.1");
        let refused = ok().build_with(&hostile).unwrap_err().to_string();
        assert!(refused.contains("not a region name"), "{refused}");
        // Named by AWS_PROFILE: refused too, though the credentials are given;
        // AWS_PROFILE=default without files is the implicit default.
        let named = MapEnv::default().var("AWS_PROFILE", "nope");
        let refused = ok().build_with(&named).unwrap_err().to_string();
        assert!(
            refused.contains("profile 'nope' (AWS_PROFILE)"),
            "{refused}"
        );
        let implicit = MapEnv::default().var("AWS_PROFILE", "default");
        assert!(ok().build_with(&implicit).is_ok());
    }

    #[test]
    fn a_discovery_keyring_never_calls_the_host_a_message_names() {
        // A message whose data key claims the victim's account, with a
        // region that is a host: refused before any connection (an
        // endpoint that accepted it would have had to answer first).
        use kms_envelope::kms::{AwsKmsKeyring, DiscoveryFilter};
        use kms_envelope::{AlgorithmSuite, DecryptionMaterials, EncryptedDataKey, Keyring};
        let client = AwsKmsClient::builder()
            .credentials(Credentials::new("a", "b").with_session_token("TOKEN"))
            .build_with(&MapEnv::default())
            .unwrap();
        let filter = DiscoveryFilter::new("aws", ["111122223333"]).unwrap();
        let keyring = AwsKmsKeyring::discovery(Arc::new(client), Some(filter));
        let edk = EncryptedDataKey::new(
            "aws-kms",
            "arn:aws:kms:x@127.0.0.1/:111122223333:key/k".as_bytes(),
            vec![7; 64],
        );
        let materials = DecryptionMaterials::new(
            AlgorithmSuite::default(),
            kms_envelope::EncryptionContext::new(),
        );
        let err =
            kms_envelope::future::block_on(keyring.on_decrypt(materials, &[edk])).unwrap_err();
        assert_eq!(err.kind(), kms_envelope::ErrorKind::NoKeyUnwrapped, "{err}");
        assert!(err.to_string().contains("not a region name"), "{err}");
    }

    #[test]
    fn calls_without_a_region_fail_clearly() {
        let client = AwsKmsClient::builder()
            .credentials(Credentials::new("a", "b"))
            .build_with(&MapEnv::default())
            .unwrap();
        let keyring = kms_envelope::kms::AwsKmsKeyring::new("alias/x", Arc::new(client)).unwrap();
        let err = kms_envelope::Client::new()
            .encrypt(b"x")
            .keyring(&keyring)
            .run()
            .unwrap_err();
        assert!(matches!(err, Error::BadArgument(_)), "{err}");
        assert!(err.to_string().contains("AWS_REGION"), "{err}");
    }
}
