//! AWS KMS: the built-in client (`kms-envelope-aws`: SigV4 over HTTPS), its
//! options, and the AWS KMS keyrings of the core (strict, multi-Region
//! aware, discovery, multi-Region discovery).

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use kms_envelope::kms::{AwsKmsKeyring, DiscoveryFilter, KmsClient};
use kms_envelope_aws::{AwsKmsClient, Credentials};

use crate::args::{free_handle, handle, handle_mut, into_handle, opt_handle, opt_string, out};
use crate::args::{string, strings};
use crate::keyring::kmse_keyring;
use crate::status::{guard, kmse_status, Failure, FfiResult};

/// Settings for `kmse_aws_kms_client_new`. Every setting left unset is
/// resolved like the AWS SDKs do (see `kmse_aws_kms_client_new`). Mutable;
/// not for use by two threads at once. Credentials set here are wiped from
/// memory when the options are freed.
#[derive(Clone, Default)]
pub struct kmse_aws_kms_options {
    region: Option<String>,
    endpoint: Option<String>,
    profile: Option<String>,
    credentials: Option<Credentials>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    retry_backoff: Option<(Duration, Duration)>,
    worker_threads: Option<usize>,
}

/// A client of the AWS KMS service (or of a local server with its API):
/// signs `GenerateDataKey`, `Encrypt` and `Decrypt` with SigV4 and sends
/// them over HTTPS (or plain HTTP to a local endpoint), with timeouts and
/// retries. Immutable: share one across threads and keyrings freely (its
/// keyrings share its connections and its two I/O threads). Free with
/// `kmse_aws_kms_client_free`; keyrings made with it keep their own
/// reference.
pub struct kmse_aws_kms_client {
    inner: Arc<dyn KmsClient>,
    region: Option<String>,
}

/// Makes AWS KMS client options with every setting unset.
///
/// - `options_out`: receives new options owned by the caller; free them
///   with `kmse_aws_kms_options_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_new(
    options_out: *mut *mut kmse_aws_kms_options,
) -> kmse_status {
    guard("kmse_aws_kms_options_new", || {
        // SAFETY: a valid out-pointer or NULL (API contract).
        let options_out = unsafe { out(options_out, "options_out")? };
        options_out.write(into_handle(kmse_aws_kms_options::default()));
        Ok(())
    })
}

/// Runs `f` on the options behind `options`.
///
/// # Safety
/// `options` is NULL or live options, unshared during the call.
unsafe fn with_options(
    function: &str,
    options: *mut kmse_aws_kms_options,
    f: impl FnOnce(&mut kmse_aws_kms_options) -> FfiResult,
) -> kmse_status {
    guard(function, || {
        // SAFETY: forwarded contract.
        f(unsafe { handle_mut(options, "options")? })
    })
}

/// A non-empty string argument, copied.
///
/// # Safety
/// As for [`string`].
unsafe fn non_empty(p: *const c_char, what: &str) -> FfiResult<String> {
    // SAFETY: forwarded contract.
    let s = unsafe { string(p, what)? };
    if s.is_empty() {
        return Err(Failure::bad_arg(format!("argument `{what}` is empty")));
    }
    Ok(s.to_owned())
}

/// Sets the region used for keys given as a key ID or an alias name, e.g.
/// "us-east-1". Calls for a key ARN always go to the ARN's region, so one
/// client serves keys of every region. Default: `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`, else the profile's `region`.
///
/// - `options`: modified. `region`: NUL-terminated UTF-8, copied; not empty.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_region(
    options: *mut kmse_aws_kms_options,
    region: *const c_char,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_region", options, |o| {
            o.region = Some(non_empty(region, "region")?);
            Ok(())
        })
    }
}

/// Sets the endpoint URL, e.g. "http://127.0.0.1:4566" for a local server
/// with the KMS API (moto, LocalStack). Default: `AWS_ENDPOINT_URL_KMS`,
/// else `AWS_ENDPOINT_URL`, else the profile's `endpoint_url`, else
/// `https://kms.<region>.amazonaws.com` of each call's region. A URL that is
/// not `http(s)://host[:port]` makes `kmse_aws_kms_client_new` fail with
/// `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified. `url`: NUL-terminated UTF-8, copied; not empty.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_endpoint(
    options: *mut kmse_aws_kms_options,
    url: *const c_char,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_endpoint", options, |o| {
            o.endpoint = Some(non_empty(url, "url")?);
            Ok(())
        })
    }
}

/// Sets the profile of the shared files `~/.aws/credentials` and
/// `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`)
/// that credentials, region and endpoint are read from when not set
/// otherwise. Default: `AWS_PROFILE`, else "default". A profile in neither
/// file makes `kmse_aws_kms_client_new` fail with `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified. `profile`: NUL-terminated UTF-8, copied; not empty.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_profile(
    options: *mut kmse_aws_kms_options,
    profile: *const c_char,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_profile", options, |o| {
            o.profile = Some(non_empty(profile, "profile")?);
            Ok(())
        })
    }
}

/// Sets explicit credentials. Default: `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), else the profile's
/// `aws_access_key_id`, `aws_secret_access_key` (and `aws_session_token`).
///
/// - `options`: modified.
/// - `access_key_id`, `secret_access_key`: NUL-terminated UTF-8, copied;
///   not empty. The copies of the secret key and of the token are wiped
///   from memory when the options and the clients made from them are freed.
///   (While it signs each request, the SigV4 library the client uses makes
///   short-lived copies of the secret key and the token that it frees
///   without wiping.)
/// - `session_token`: may be NULL (long-term credentials); for temporary
///   credentials, e.g. from STS.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_credentials(
    options: *mut kmse_aws_kms_options,
    access_key_id: *const c_char,
    secret_access_key: *const c_char,
    session_token: *const c_char,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_credentials", options, |o| {
            let id = non_empty(access_key_id, "access_key_id")?;
            let secret = string(secret_access_key, "secret_access_key")?;
            if secret.is_empty() {
                return Err(Failure::bad_arg("argument `secret_access_key` is empty"));
            }
            let mut credentials = Credentials::new(id, secret);
            if let Some(token) = opt_string(session_token, "session_token")? {
                credentials = credentials.with_session_token(token);
            }
            o.credentials = Some(credentials);
            Ok(())
        })
    }
}

/// Sets the timeout of one attempt (sending the request and reading the
/// answer), in milliseconds (default 30000). 0 makes
/// `kmse_aws_kms_client_new` fail with `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_timeout_ms(
    options: *mut kmse_aws_kms_options,
    timeout_ms: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_timeout_ms", options, |o| {
            o.timeout = Some(Duration::from_millis(timeout_ms));
            Ok(())
        })
    }
}

/// Sets the timeout for establishing a connection (TCP and TLS), in
/// milliseconds (default 5000). 0 makes `kmse_aws_kms_client_new` fail with
/// `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_connect_timeout_ms(
    options: *mut kmse_aws_kms_options,
    timeout_ms: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options(
            "kmse_aws_kms_options_set_connect_timeout_ms",
            options,
            |o| {
                o.connect_timeout = Some(Duration::from_millis(timeout_ms));
                Ok(())
            },
        )
    }
}

/// Sets the most attempts per call, the first one included (default 3; 1
/// disables retries). Retried: throttling (`ThrottlingException`, HTTP
/// 429, ...), HTTP 5xx and network failures. 0 makes
/// `kmse_aws_kms_client_new` fail with `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_max_attempts(
    options: *mut kmse_aws_kms_options,
    max_attempts: u32,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_max_attempts", options, |o| {
            o.max_attempts = Some(max_attempts);
            Ok(())
        })
    }
}

/// Sets the retry backoff, in milliseconds: before attempt n + 1 the client
/// waits a random time up to `min(max_ms, base_ms * 2^(n-1))` (default 100
/// and 20000).
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_retry_backoff_ms(
    options: *mut kmse_aws_kms_options,
    base_ms: u64,
    max_ms: u64,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_retry_backoff_ms", options, |o| {
            o.retry_backoff = Some((
                Duration::from_millis(base_ms),
                Duration::from_millis(max_ms),
            ));
            Ok(())
        })
    }
}

/// Sets the number of I/O threads the client starts on its first call
/// (default 2). A value outside 1 to 4 makes `kmse_aws_kms_client_new`
/// fail with `KMSE_STATUS_BAD_ARGUMENT`.
///
/// - `options`: modified.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_set_worker_threads(
    options: *mut kmse_aws_kms_options,
    threads: usize,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        with_options("kmse_aws_kms_options_set_worker_threads", options, |o| {
            o.worker_threads = Some(threads);
            Ok(())
        })
    }
}

/// Frees AWS KMS client options (wiping the credentials they hold). NULL is
/// ignored. Clients made from them are not affected.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_options_free(options: *mut kmse_aws_kms_options) {
    // SAFETY: the C caller passes NULL or options from this library, once.
    unsafe { free_handle(options) }
}

/// Makes an AWS KMS client. What the options leave unset is resolved like
/// the AWS SDKs do, from the environment and the shared files:
///
/// - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+
///   `AWS_SESSION_TOKEN`), else the profile (`AWS_PROFILE`, default
///   "default") in `~/.aws/credentials` or `~/.aws/config`. Role
///   assumption, SSO, `credential_process` and instance or container
///   credentials are not supported: export credentials first
///   (`aws configure export-credentials`).
/// - region (for keys that are not ARNs): `AWS_REGION`,
///   `AWS_DEFAULT_REGION`, the profile's `region`.
/// - endpoint: `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`, the profile's
///   `endpoint_url`, else the regional AWS endpoint. Extra trusted CAs:
///   `AWS_CA_BUNDLE` (a PEM file). `HTTPS_PROXY` / `NO_PROXY` are honored.
///
/// No request is sent here. Fails with `KMSE_STATUS_BAD_ARGUMENT` when no
/// credentials are found, the endpoint is not an `http(s)` URL, the profile
/// (set with `kmse_aws_kms_options_set_profile`, or `AWS_PROFILE`) does not
/// exist, or a setting is out of range.
///
/// Failed calls later surface as `KMSE_STATUS_KMS_ERROR` with the service's
/// code in `kmse_last_error_kms_code` (`NotFoundException`,
/// `AccessDeniedException`, ...; `RequestFailed` when the service could not
/// be reached or timed out, `InvalidResponse` for a malformed answer), or,
/// when decrypting, as `KMSE_STATUS_NO_KEY_UNWRAPPED` whose message lists
/// each key tried with the service's code and message.
///
/// - `options`: borrowed (copied); may be NULL for every default.
/// - `client_out`: receives a new client owned by the caller; free it with
///   `kmse_aws_kms_client_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_client_new(
    options: *const kmse_aws_kms_options,
    client_out: *mut *mut kmse_aws_kms_client,
) -> kmse_status {
    guard("kmse_aws_kms_client_new", || {
        // SAFETY: NULL or live options, a valid out-pointer or NULL (API contract).
        let (options, client_out) =
            unsafe { (opt_handle(options), out(client_out, "client_out")?) };
        let o = options.cloned().unwrap_or_default();
        let mut builder = AwsKmsClient::builder();
        if let Some(v) = o.region {
            builder = builder.region(v);
        }
        if let Some(v) = o.endpoint {
            builder = builder.endpoint(v);
        }
        if let Some(v) = o.profile {
            builder = builder.profile(v);
        }
        if let Some(v) = o.credentials {
            builder = builder.credentials(v);
        }
        if let Some(v) = o.timeout {
            builder = builder.timeout(v);
        }
        if let Some(v) = o.connect_timeout {
            builder = builder.connect_timeout(v);
        }
        if let Some(v) = o.max_attempts {
            builder = builder.max_attempts(v);
        }
        if let Some((base, max)) = o.retry_backoff {
            builder = builder.retry_backoff(base, max);
        }
        if let Some(v) = o.worker_threads {
            builder = builder.worker_threads(v);
        }
        let client = builder.build()?;
        let region = client.region().map(str::to_owned);
        client_out.write(into_handle(kmse_aws_kms_client {
            inner: Arc::new(client),
            region,
        }));
        Ok(())
    })
}

/// Releases the caller's reference to an AWS KMS client. NULL is ignored.
/// Keyrings made with it keep working; its I/O threads stop, without
/// blocking, when the client and all of them are freed.
#[no_mangle]
pub unsafe extern "C" fn kmse_aws_kms_client_free(client: *mut kmse_aws_kms_client) {
    // SAFETY: the C caller passes NULL or a client from this library, once.
    unsafe { free_handle(client) }
}

/// The grant tokens argument, copied.
///
/// # Safety
/// As for [`strings`].
unsafe fn grant_tokens(p: *const *const c_char, len: usize) -> FfiResult<Vec<String>> {
    // SAFETY: forwarded contract.
    let tokens = unsafe { strings(p, len, "grant_tokens")? };
    if tokens.iter().any(String::is_empty) {
        return Err(Failure::bad_arg("a grant token is empty"));
    }
    Ok(tokens)
}

/// The discovery filter arguments: none without accounts.
///
/// # Safety
/// As for [`strings`] and [`opt_string`].
unsafe fn discovery_filter(
    partition: *const c_char,
    accounts: *const *const c_char,
    accounts_len: usize,
) -> FfiResult<Option<DiscoveryFilter>> {
    // SAFETY: forwarded contract.
    let (partition, accounts) = unsafe {
        (
            opt_string(partition, "filter_partition")?,
            strings(accounts, accounts_len, "filter_accounts")?,
        )
    };
    if accounts.is_empty() {
        return match partition {
            None => Ok(None),
            Some(_) => Err(Failure::bad_arg(
                "a discovery filter needs at least one account ID in `filter_accounts`",
            )),
        };
    }
    Ok(Some(DiscoveryFilter::new(
        partition.unwrap_or("aws"),
        accounts,
    )?))
}

/// Hands a keyring to C.
fn keyring_handle(keyring: AwsKmsKeyring, grant_tokens: Vec<String>) -> *mut kmse_keyring {
    into_handle(kmse_keyring {
        inner: Arc::new(keyring.with_grant_tokens(grant_tokens)),
    })
}

/// Makes an AWS KMS keyring for one KMS key (ESDK-compatible: provider id
/// "aws-kms", provider info the key ARN). Encrypt: `GenerateDataKey` when
/// it makes the data key (the generator of a multi-keyring, or alone), else
/// `Encrypt` of the data key another keyring made; the encryption context is
/// bound by KMS. Decrypt: `Decrypt` of each of the message's encrypted data
/// keys of exactly this key, in order, until one succeeds. Combine keys with
/// `kmse_keyring_new_multi` (generator + children): any one of them then
/// decrypts.
///
/// - `kms`: borrowed; the keyring keeps its own reference.
/// - `key_id`: NUL-terminated UTF-8, copied: a key ARN, an alias ARN,
///   "alias/name" or a key ID. Decrypting needs the key ARN (messages store
///   the key ARN). An ARN that does not parse gives
///   `KMSE_STATUS_BAD_ARGUMENT`.
/// - `grant_tokens`, `grant_tokens_len`: strings passed on every call,
///   copied; NULL and 0 for none.
/// - `keyring_out`: receives a new keyring owned by the caller; free it with
///   `kmse_keyring_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_aws_kms(
    kms: *const kmse_aws_kms_client,
    key_id: *const c_char,
    grant_tokens: *const *const c_char,
    grant_tokens_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_aws_kms", || {
        // SAFETY: a live client or NULL, a string or NULL, an array of
        // grant_tokens_len strings or NULL, a valid out-pointer or NULL (API
        // contract).
        let (kms, key_id, tokens, keyring_out) = unsafe {
            (
                handle(kms, "kms")?,
                string(key_id, "key_id")?,
                self::grant_tokens(grant_tokens, grant_tokens_len)?,
                out(keyring_out, "keyring_out")?,
            )
        };
        let keyring = AwsKmsKeyring::new(key_id, kms.inner.clone())?;
        keyring_out.write(keyring_handle(keyring, tokens));
        Ok(())
    })
}

/// Like `kmse_keyring_new_aws_kms`, multi-Region aware: on decrypt,
/// encrypted data keys of any replica of a multi-Region key ("mrk-...") also
/// match, and are decrypted with the configured key (in its own region).
///
/// Arguments: as for `kmse_keyring_new_aws_kms`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_aws_kms_mrk_aware(
    kms: *const kmse_aws_kms_client,
    key_id: *const c_char,
    grant_tokens: *const *const c_char,
    grant_tokens_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_aws_kms_mrk_aware", || {
        // SAFETY: as in kmse_keyring_new_aws_kms (API contract).
        let (kms, key_id, tokens, keyring_out) = unsafe {
            (
                handle(kms, "kms")?,
                string(key_id, "key_id")?,
                self::grant_tokens(grant_tokens, grant_tokens_len)?,
                out(keyring_out, "keyring_out")?,
            )
        };
        let keyring = AwsKmsKeyring::new_mrk_aware(key_id, kms.inner.clone())?;
        keyring_out.write(keyring_handle(keyring, tokens));
        Ok(())
    })
}

/// Makes a decrypt-only AWS KMS discovery keyring: it asks KMS to decrypt
/// each "aws-kms" encrypted data key of a message with the key the message
/// names, in order, until one succeeds, limited by an optional discovery
/// filter. Encrypting with it fails with `KMSE_STATUS_BAD_ARGUMENT`. When
/// nothing decrypts, the message lists each key tried and why (or says that
/// the filter admitted none).
///
/// - `kms`: borrowed; the keyring keeps its own reference.
/// - `filter_partition`, `filter_accounts`, `filter_accounts_len`: the
///   discovery filter, copied. With accounts (NUL-terminated UTF-8 account
///   IDs, e.g. "111122223333"), only keys of these accounts in partition
///   `filter_partition` ("aws", "aws-cn", "aws-us-gov", ...; NULL for
///   "aws") are used. NULL and 0 accounts: no filter (any key), and
///   `filter_partition` must be NULL. A filter is recommended: it keeps
///   messages from making you call keys of accounts you do not trust.
/// - `grant_tokens`, `grant_tokens_len`: strings passed on every call,
///   copied; NULL and 0 for none.
/// - `keyring_out`: receives a new keyring owned by the caller; free it with
///   `kmse_keyring_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_aws_kms_discovery(
    kms: *const kmse_aws_kms_client,
    filter_partition: *const c_char,
    filter_accounts: *const *const c_char,
    filter_accounts_len: usize,
    grant_tokens: *const *const c_char,
    grant_tokens_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_aws_kms_discovery", || {
        // SAFETY: a live client or NULL, strings and arrays of strings or
        // NULL, a valid out-pointer or NULL (API contract).
        let (kms, filter, tokens, keyring_out) = unsafe {
            (
                handle(kms, "kms")?,
                discovery_filter(filter_partition, filter_accounts, filter_accounts_len)?,
                self::grant_tokens(grant_tokens, grant_tokens_len)?,
                out(keyring_out, "keyring_out")?,
            )
        };
        let keyring = AwsKmsKeyring::discovery(kms.inner.clone(), filter);
        keyring_out.write(keyring_handle(keyring, tokens));
        Ok(())
    })
}

/// Makes a decrypt-only, multi-Region aware AWS KMS discovery keyring for
/// one region: encrypted data keys of multi-Region keys ("mrk-...") are
/// decrypted with their replica in `region`, other keys only if they are in
/// `region`. Otherwise as `kmse_keyring_new_aws_kms_discovery`.
///
/// - `region`: may be NULL for the client's region (from its options or
///   the environment); with neither, `KMSE_STATUS_BAD_ARGUMENT`.
/// - Other arguments: as for `kmse_keyring_new_aws_kms_discovery`.
#[no_mangle]
pub unsafe extern "C" fn kmse_keyring_new_aws_kms_mrk_discovery(
    kms: *const kmse_aws_kms_client,
    region: *const c_char,
    filter_partition: *const c_char,
    filter_accounts: *const *const c_char,
    filter_accounts_len: usize,
    grant_tokens: *const *const c_char,
    grant_tokens_len: usize,
    keyring_out: *mut *mut kmse_keyring,
) -> kmse_status {
    guard("kmse_keyring_new_aws_kms_mrk_discovery", || {
        // SAFETY: a live client or NULL, strings and arrays of strings or
        // NULL, a valid out-pointer or NULL (API contract).
        let (kms, region, filter, tokens, keyring_out) = unsafe {
            (
                handle(kms, "kms")?,
                opt_string(region, "region")?,
                discovery_filter(filter_partition, filter_accounts, filter_accounts_len)?,
                self::grant_tokens(grant_tokens, grant_tokens_len)?,
                out(keyring_out, "keyring_out")?,
            )
        };
        let region = region.or(kms.region.as_deref()).ok_or_else(|| {
            Failure::bad_arg(
                "no region: pass `region`, or give the client one \
                 (kmse_aws_kms_options_set_region, AWS_REGION or the profile)",
            )
        })?;
        let keyring = AwsKmsKeyring::mrk_discovery(kms.inner.clone(), region, filter)?;
        keyring_out.write(keyring_handle(keyring, tokens));
        Ok(())
    })
}
