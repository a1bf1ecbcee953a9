//! Command-line arguments (clap derive) and the parsers for their values.
//!
//! Values that do not parse (`--suite 9999`, `--context novalue`) are usage
//! errors: clap reports them and exits with status 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand};
use kms_envelope::{AlgorithmSuite, CommitmentPolicy, RsaPadding};

/// Client-side envelope encryption in the AWS Encryption SDK message format.
///
/// Data is encrypted locally under a fresh data key; only the data key is
/// wrapped with your key: a raw AES key file made by `keygen`, an RSA key
/// pair in PEM files, or AWS KMS keys. Messages interoperate with every AWS
/// Encryption SDK.
#[derive(Debug, Parser)]
#[command(
    name = "kms-envelope",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new random AES-256 key file (JSON, mode 0600).
    Keygen(KeygenArgs),
    /// Encrypt data into a message.
    Encrypt(EncryptArgs),
    /// Decrypt a message, streaming; plaintext is released only once authenticated.
    Decrypt(DecryptArgs),
    /// Print a message's header as JSON (needs no key).
    Inspect(InspectArgs),
    /// Run AWS Encryption SDK test-vector manifests.
    #[command(subcommand)]
    Vectors(VectorsCommand),
}

/// `keygen` arguments.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key file to create.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Key namespace (provider ID) written into messages.
    #[arg(long, value_name = "NS", default_value = crate::keys::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Key name written into messages [default: the file name up to its first dot].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace FILE if it exists (atomically, through a temporary file).
    #[arg(long)]
    pub force: bool,
}

/// Which keys to use: key files and options for PEM keys.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// A key file: a raw AES key file from `keygen`, or an RSA PEM key (public key
    /// to encrypt, private key to decrypt). Repeat to use several keys: on encrypt
    /// every key wraps the data key (the first one generates it); on decrypt any
    /// key that can unwrap one is enough. Combines with --kms-key (and, to
    /// decrypt, --kms-discovery); at least one of them is required.
    #[arg(long = "key", short = 'k', value_name = "FILE")]
    pub keys: Vec<PathBuf>,
    /// RSA padding for PEM keys: pkcs1, oaep-sha1, oaep-sha256, oaep-sha384 or oaep-sha512.
    #[arg(long, value_name = "PADDING", default_value = "oaep-sha256", value_parser = parse_padding)]
    pub rsa_padding: RsaPadding,
    /// Key name of a PEM key, as written into messages [default: the file name
    /// up to its first dot, so `rsa.pem` and `rsa.pub.pem` both give `rsa`].
    /// Only with a single PEM key.
    #[arg(long, value_name = "NAME")]
    pub key_name: Option<String>,
    /// Key namespace (provider ID) of PEM keys [default: kms-envelope].
    #[arg(long, value_name = "NS")]
    pub key_namespace: Option<String>,
}

/// AWS KMS keys and the KMS client's settings.
#[derive(Debug, Args)]
pub struct KmsArgs {
    /// An AWS KMS key ARN (repeatable). On encrypt every key wraps the data
    /// key and the first one generates it (also when --key files are given);
    /// on decrypt each is a strict, multi-Region-aware keyring that unwraps
    /// only data keys of that key (or of a replica of a multi-Region key).
    /// Decrypting needs the key ARN, not an alias.
    #[arg(long = "kms-key", value_name = "ARN")]
    pub kms_keys: Vec<String>,
    /// The AWS KMS endpoint URL, e.g. `http://127.0.0.1:4566` for a local KMS
    /// API server [default: AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, the
    /// profile's endpoint_url, else the regional AWS endpoint].
    #[arg(long, value_name = "URL")]
    pub kms_endpoint: Option<String>,
    /// The region for KMS keys that are not ARNs [default: AWS_REGION,
    /// AWS_DEFAULT_REGION or the profile's region]; calls with a key ARN use
    /// the ARN's region.
    #[arg(long, value_name = "REGION")]
    pub kms_region: Option<String>,
}

/// AWS KMS discovery on decrypt.
#[derive(Debug, Args)]
pub struct KmsDiscoveryArgs {
    /// Also try every AWS KMS data key in the message with the key it names
    /// (a discovery keyring), as far as --kms-account allows. The credentials
    /// must be allowed to call Decrypt with that key.
    #[arg(long)]
    pub kms_discovery: bool,
    /// With --kms-discovery: use only keys of this AWS account (repeatable).
    /// Recommended: without it, any key of any account is tried.
    #[arg(long = "kms-account", value_name = "ID", requires = "kms_discovery")]
    pub kms_accounts: Vec<String>,
    /// With --kms-account: the keys' AWS partition.
    #[arg(
        long,
        value_name = "PARTITION",
        default_value = "aws",
        requires = "kms_accounts"
    )]
    pub kms_partition: String,
}

/// Encryption-context arguments.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// An encryption-context pair KEY=VALUE (repeatable). On encrypt it is
    /// stored in the message and authenticated; on decrypt every pair given must
    /// match the message's.
    #[arg(long = "context", short = 'c', value_name = "KEY=VALUE", value_parser = parse_context_pair,
          num_args = 1.., action = ArgAction::Append)]
    pub context: Vec<(String, String)>,
    /// A context key that is authenticated but not stored in the message
    /// (repeatable). On encrypt it must be among the --context pairs; on decrypt
    /// its pair must be given again with --context.
    #[arg(long = "required-context-key", value_name = "KEY")]
    pub required_keys: Vec<String>,
}

/// Client settings shared by encrypt and decrypt.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Commitment policy: require-encrypt-require-decrypt (default),
    /// require-encrypt-allow-decrypt or forbid-encrypt-allow-decrypt. Reading
    /// messages of older SDKs (non-committing suites) needs one of the "allow"
    /// policies.
    #[arg(long, value_name = "POLICY", value_parser = parse_policy)]
    pub commitment_policy: Option<CommitmentPolicy>,
    /// Refuse messages with more than N encrypted data keys (1-65535).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_encrypted_data_keys: Option<u16>,
}

/// Input and output files.
#[derive(Debug, Args)]
pub struct IoArgs {
    /// Input file [default: standard input; `-` also means standard input].
    /// Takes several files (`-i a b c`, or -i repeated), and directories
    /// with -r; several inputs need --output-dir, and each file becomes its
    /// own message.
    #[arg(short = 'i', long = "input", value_name = "IN", num_args = 1.., action = ArgAction::Append)]
    pub inputs: Vec<PathBuf>,
    /// Output file [default: standard output; `-` also means standard output].
    /// Written to a temporary file beside it and renamed into place only when
    /// the command succeeds, so OUT is never left partial (an existing OUT is
    /// kept if the command fails).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT",
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,
    /// Write one output per input file into DIR (created if needed; with -r
    /// in the input's subdirectories), named after the input: encrypt appends `.kmse` (`a.txt` -> `DIR/a.txt.kmse`);
    /// decrypt removes a final `.kmse`, or else appends `.decrypted`. Existing
    /// files of those names are replaced, each only once its output is
    /// complete. The inputs are done in order; on the first failure the
    /// command stops with the failing input's name: the outputs before it are
    /// complete, it and those after it are not written.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: what encrypt appends to each input's name, and what
    /// decrypt removes [default: .kmse; the AWS Encryption CLI's is
    /// .encrypted].
    #[arg(long, value_name = "SUFFIX", value_parser = parse_suffix)]
    pub suffix: Option<String>,
    /// Refuse to replace an existing output file (status 3); by default it
    /// is replaced once the new output is complete.
    #[arg(long)]
    pub no_overwrite: bool,
    /// With --output-dir: an input directory stands for every file under
    /// it (a directory's files in name order, then its subdirectories), and
    /// the outputs mirror its subdirectories in DIR. Links to directories
    /// inside it are not followed; FIFOs, devices, sockets, links that lead
    /// nowhere and DIR itself are skipped. As the AWS Encryption CLI's -r.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Read every input as base64 (RFC 4648, standard alphabet, padded;
    /// line breaks and other whitespace are skipped) and work on the bytes
    /// it encodes: `decrypt --decode` takes what `encrypt --encode` writes.
    /// Input that is not base64 fails with status 5. As the AWS Encryption
    /// CLI's --decode.
    #[arg(long)]
    pub decode: bool,
    /// Write every output as base64 (RFC 4648, standard alphabet, padded),
    /// one line with no line break at the end. As the AWS Encryption CLI's
    /// --encode.
    #[arg(long)]
    pub encode: bool,
    /// Append a JSON line per message to FILE (created, private, if
    /// missing): the command, input and output names, the plaintext length
    /// and the header as `inspect` shows it (suite, message ID, encryption
    /// context, encrypted data keys). Written once each output is complete
    /// (on decrypt, authenticated). `-` is standard output, when the
    /// outputs go to files. Not an input, output or key file of the run.
    /// As the AWS Encryption CLI's --metadata-output.
    #[arg(long, value_name = "FILE")]
    pub metadata_output: Option<PathBuf>,
    /// Empty the --metadata-output file first instead of appending to it.
    #[arg(long, requires = "metadata_output")]
    pub overwrite_metadata: bool,
}

/// How the work runs: threads and progress display.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Worker threads for encrypting or decrypting frames (1 disables
    /// threading) [default: the number of CPU cores]. The output is the same
    /// for every N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Print nothing on stderr but errors (no progress bar). The progress bar
    /// is shown only when stderr is a terminal and the work takes a while.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Data-key caching, for runs over several inputs.
#[derive(Debug, Args)]
#[command(next_help_heading = "Data-key caching (several inputs in one run)")]
pub struct CacheArgs {
    /// Reuse data keys across the messages of this run for at most SECONDS
    /// (decimals allowed, e.g. 0.5), so that fewer calls reach the key
    /// service (AWS KMS): encrypt reuses one data key for several inputs,
    /// decrypt unwraps each distinct data key once. Enables caching; the other
    /// --cache-* flags need it. The cache lives in memory for this run only.
    #[arg(long, value_name = "SECONDS", value_parser = parse_max_age, display_order = 0)]
    pub cache_max_age: Option<Duration>,
    /// Most entries in the cache, least recently used dropped first
    /// [default: 1000].
    #[arg(long, value_name = "N", requires = "cache_max_age", display_order = 3,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_capacity: Option<u64>,
    /// Partition name of this run's cache entries [default: a unique name].
    /// Entries are shared only within one partition; a run has its own cache,
    /// so this only labels them (accepted for parity with the other front ends).
    #[arg(long, value_name = "NAME", requires = "cache_max_age", display_order = 4,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub cache_partition: Option<String>,
}

/// Limits of use of one cached data key, on encrypt.
#[derive(Debug, Args)]
#[command(next_help_heading = "Data-key caching (several inputs in one run)")]
pub struct CacheLimitArgs {
    /// Most messages one data key encrypts (at least 1) [default: 2^32].
    #[arg(long, value_name = "N", requires = "cache_max_age", display_order = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_max_messages: Option<u64>,
    /// Most plaintext bytes one data key encrypts, over all its messages (K, M,
    /// G, T suffixes are powers of 1024) [default: 2^63 - 1]. Inputs whose
    /// size is not known in advance (pipes, empty files) always get a fresh
    /// data key.
    #[arg(long, value_name = "SIZE", requires = "cache_max_age", display_order = 2,
          value_parser = parse_cache_bytes)]
    pub cache_max_bytes: Option<u64>,
}

/// `encrypt` arguments.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("key_source").required(true).multiple(true).args(["keys", "kms_keys"])))]
pub struct EncryptArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub kms: KmsArgs,
    #[command(flatten)]
    pub context: ContextArgs,
    /// Algorithm suite, as `0578`, `0x0578` or an ESDK name such as
    /// `AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384` [default: 0578, or
    /// 0378 under `--commitment-policy forbid-encrypt-allow-decrypt`].
    /// Non-committing suites (below 0478) need `--commitment-policy
    /// forbid-encrypt-allow-decrypt`.
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    pub suite: Option<AlgorithmSuite>,
    /// Frame length in bytes (1 to 4294967295). A frame is held whole (a
    /// few at once with threads), and `decrypt` refuses frames above
    /// --max-frame-size (64M by default).
    #[arg(long, value_name = "N", default_value_t = kms_envelope::DEFAULT_FRAME_LENGTH,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub frame_length: u32,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub io: IoArgs,
    #[command(flatten)]
    pub run: StreamArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub cache_limits: CacheLimitArgs,
}

/// `decrypt` arguments.
#[derive(Debug, Args)]
#[command(
    after_long_help = DECRYPT_RELEASE_HELP,
    group(ArgGroup::new("key_source").required(true).multiple(true)
        .args(["keys", "kms_keys", "kms_discovery"]))
)]
pub struct DecryptArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Raw AES --key files also read data keys that the AWS Encryption SDK
    /// for JavaScript (@aws-crypto/client-node, client-browser) wrapped
    /// without `utf8Sorting: true`: it sorted the encryption context's keys
    /// with JavaScript's localeCompare, not by UTF-8 bytes, so keys with
    /// capitals, underscores or non-ASCII letters (for a start) made its
    /// messages fail with status 7 here. Tries that order (Unicode root collation)
    /// when the specification's fails.
    #[arg(long)]
    pub js_legacy_order: bool,
    #[command(flatten)]
    pub kms: KmsArgs,
    #[command(flatten)]
    pub discovery: KmsDiscoveryArgs,
    #[command(flatten)]
    pub context: ContextArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub io: IoArgs,
    #[command(flatten)]
    pub run: StreamArgs,
    #[command(flatten)]
    pub limits: DecryptLimits,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// How `decrypt` releases plaintext, shown by `decrypt --help`.
pub const DECRYPT_RELEASE_HELP: &str = "\
When plaintext is released:
  -o FILE   Plaintext goes to a temporary file beside FILE (mode 0600), which
            is renamed to FILE only once the whole message, signature included,
            has been verified; on any failure it is deleted. Memory stays small
            whatever the message size.
  stdout    (or -o naming a device or FIFO, which cannot be renamed over)
            Unsigned messages (e.g. suite 0478) are written frame by frame,
            each frame once its own tag verifies. Signed messages (the default
            suite 0578) are held in memory until the signature verifies, up to
            --max-buffered-plaintext; larger ones fail unless you write to a
            file or pass --release-unverified.
A truncated or tampered message always ends with a non-zero exit status.";

/// `decrypt` options: release of signed plaintext and size limits.
#[derive(Debug, Args)]
pub struct DecryptLimits {
    /// Signed messages to stdout: write each frame as soon as its tag verifies,
    /// before the message's signature is checked, instead of holding the
    /// plaintext until then. Memory stays small, but the output is not yet
    /// known to come from the signer: if the command then fails (non-zero exit
    /// status), discard everything it wrote. No effect with -o FILE, which is
    /// only renamed into place once verified.
    #[arg(long)]
    pub release_unverified: bool,
    /// Refuse signed messages (suites with ECDSA, such as 0578) right after
    /// reading the header, with exit status 8.
    #[arg(long)]
    pub unsigned_only: bool,
    /// Most plaintext held in memory while waiting for a signed message's
    /// signature when writing to stdout (bytes; K, M, G, T suffixes are powers
    /// of 1024) [default: 64M]. Not used with -o FILE or --release-unverified,
    /// which hold only the final frame.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_buffered_plaintext: Option<u64>,
    /// Refuse frames that hold more than SIZE bytes (K, M, G, T suffixes)
    /// [default: 64M], as soon as their head is read; a frame is held whole
    /// while it is checked. A message's declared frame length may be larger
    /// if its frames are not (a short message). Headers are refused past
    /// SIZE or 1M, whichever is larger.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_frame_size: Option<u64>,
    /// Refuse messages whose body holds more than SIZE bytes of plaintext
    /// (K, M, G, T suffixes) [default: no limit].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body_size: Option<u64>,
}

/// `inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The message file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The message is base64 (as `encrypt --encode` writes it).
    #[arg(long)]
    pub decode: bool,
}

/// `vectors` subcommands.
#[derive(Debug, Subcommand)]
pub enum VectorsCommand {
    /// Decrypt every case of a decrypt manifest and check the expected outcome:
    /// an `awses-decrypt` manifest (versions 1-5), the ESDK commitment
    /// known-answer tests or the Python decrypt-oracle vector list.
    Decrypt(VectorsDecryptArgs),
    /// Encrypt every case of an `awses-encrypt` manifest and write the messages
    /// with an `awses-decrypt` manifest (version 3) that describes them.
    Encrypt(VectorsEncryptArgs),
}

/// `vectors decrypt` arguments.
#[derive(Debug, Args)]
pub struct VectorsDecryptArgs {
    /// The manifest (JSON). `file://` URIs in it are relative to its folder.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Run only the cases whose ID contains SUBSTR.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Also print a line for every skipped case.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `vectors encrypt` arguments.
#[derive(Debug, Args)]
pub struct VectorsEncryptArgs {
    /// The `awses-encrypt` manifest (JSON).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Output folder (created if needed): ciphertexts/, plaintexts/, keys.json, manifest.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run only the cases whose ID contains SUBSTR.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Also print a line for every skipped case.
    #[arg(short, long)]
    pub verbose: bool,
}

/// The message of a core error without its kind prefix, for clap.
fn reason(e: kms_envelope::Error) -> String {
    match e {
        kms_envelope::Error::BadArgument(m) => m,
        other => other.to_string(),
    }
}

/// Parses `--suffix`: a non-empty piece of a file name (no path separator).
pub fn parse_suffix(s: &str) -> Result<String, String> {
    if s.is_empty() || s.contains(['/', '\\', '\0']) {
        return Err("a suffix is a non-empty piece of a file name (no '/' or '\\')".into());
    }
    Ok(s.to_owned())
}

/// Parses `KEY=VALUE` (split at the first `=`; the key may not be empty).
pub fn parse_context_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        Some(_) => Err("the key before '=' is empty".to_owned()),
        None => Err("expected KEY=VALUE".to_owned()),
    }
}

/// Parses an algorithm suite id or name.
pub fn parse_suite(s: &str) -> Result<AlgorithmSuite, String> {
    s.parse::<AlgorithmSuite>().map_err(reason)
}

/// Parses a commitment policy name (any case, `-` or `_`).
pub fn parse_policy(s: &str) -> Result<CommitmentPolicy, String> {
    s.parse::<CommitmentPolicy>().map_err(reason)
}

/// Parses a byte count: digits with an optional `K`, `M`, `G` or `T`
/// suffix (powers of 1024; `KiB`, `MiB`, ... and a trailing `B` are accepted).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a size: expected digits, e.g. 64M"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("'{s}': unknown unit; use K, M, G or T")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// Parses `--cache-max-age`: seconds, decimals allowed, at least 1 ms.
pub fn parse_max_age(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds, e.g. 300 or 0.5"))?;
    if !secs.is_finite() || secs < 0.001 {
        return Err("the maximum age must be a number of seconds, at least 0.001".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is too large"))
}

/// Parses `--cache-max-bytes`: a size (see [`parse_size`]) from 1 to 2^63 - 1.
pub fn parse_cache_bytes(s: &str) -> Result<u64, String> {
    let max = kms_envelope::cmm::caching::DEFAULT_MAX_BYTES;
    match parse_size(s)? {
        0 => Err("must be at least 1 byte".to_owned()),
        n if n > max => Err(format!(
            "'{s}' is above the limit of {max} bytes (2^63 - 1)"
        )),
        n => Ok(n),
    }
}

/// Parses an RSA padding name.
pub fn parse_padding(s: &str) -> Result<RsaPadding, String> {
    s.parse::<RsaPadding>().map_err(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn context_pairs() {
        assert_eq!(parse_context_pair("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_context_pair("a="), Ok(("a".into(), String::new())));
        assert!(parse_context_pair("=b").is_err());
        assert!(parse_context_pair("ab").is_err());
    }

    #[test]
    fn suites_and_policies() {
        assert_eq!(parse_suite("0x0478").map(|s| s.id()), Ok(0x0478));
        assert_eq!(parse_suite("0014").map(|s| s.id()), Ok(0x0014));
        assert!(parse_suite("9999").is_err());
        assert_eq!(
            parse_policy("forbid-encrypt-allow-decrypt"),
            Ok(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        );
        assert!(parse_policy("sometimes").is_err());
        assert_eq!(parse_padding("oaep-sha512"), Ok(RsaPadding::OaepSha512));
    }

    #[test]
    fn cache_values() {
        assert_eq!(parse_max_age("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_max_age("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_max_age("0.001"), Ok(Duration::from_millis(1)));
        for bad in ["0", "0.0009", "-1", "", "abc", "inf", "NaN", "1e400"] {
            assert!(parse_max_age(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_cache_bytes("1"), Ok(1));
        assert_eq!(parse_cache_bytes("10M"), Ok(10 << 20));
        assert!(parse_cache_bytes("0").is_err());
        assert!(parse_cache_bytes("8388608T").is_err()); // 2^63
        assert_eq!(
            parse_cache_bytes("9223372036854775807"),
            Ok(i64::MAX as u64)
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert_eq!(parse_size("10 KB"), Ok(10 << 10));
        assert!(parse_size("").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
