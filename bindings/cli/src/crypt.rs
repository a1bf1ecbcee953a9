//! `encrypt` and `decrypt`, streaming: memory stays bounded by the chunk and
//! frame sizes, whatever the size of the input. One run handles one input,
//! or several with `--output-dir` ([`crate::batch`]), one message each, all
//! through one materials source, so that `--cache-max-age` can reuse data
//! keys between them.
//!
//! Plaintext is released only once authenticated:
//! - to a file (`-o FILE`), through a private temporary file renamed into
//!   place only after the whole message, signature included, verified; each
//!   frame is written as soon as its own tag verifies;
//! - to stdout (or a device or FIFO), unsigned messages frame by frame, and
//!   signed messages only after the signature, held in memory up to
//!   `--max-buffered-plaintext` — unless `--release-unverified` is given.

use std::sync::Arc;

use kms_envelope::cmm::{CachingMaterialsManager, LocalMaterialsCache};
use kms_envelope::{
    Client, EncryptionContext, ErrorKind, Keyring, MaterialsManager,
    RequiredEncryptionContextMaterialsManager, SignedRelease,
};
use zeroize::{Zeroize, Zeroizing};

use crate::base64_io;
use crate::batch::{check_keys_kept, make_output_dirs, plan, remove_empty_dirs, Job};
use crate::cli::{
    CacheArgs, CacheLimitArgs, ContextArgs, DecryptArgs, EncryptArgs, IoArgs, KeyArgs, KmsArgs,
    KmsDiscoveryArgs, PolicyArgs, StreamArgs,
};
use crate::exit::{CliError, CliResult, Status};
use crate::io::{Access, Input, Output};
use crate::keys::{self, KeyFileOptions, Purpose};
use crate::metadata::{Metadata, Mode};
use crate::progress::Progress;

/// Input read per update with a single thread.
pub const CHUNK_SINGLE: usize = 64 * 1024;
/// Input read per update with several threads: enough frames for every
/// worker, so each update amortizes handing work out.
pub const CHUNK_PARALLEL: usize = 1 << 20;

/// Default of `--max-buffered-plaintext` (the core's default).
const DEFAULT_MAX_BUFFERED: u64 = kms_envelope::stream::DEFAULT_MAX_BUFFERED_PLAINTEXT;
/// Default of `--max-frame-size` (the core's default).
const DEFAULT_MAX_FRAME: u64 = kms_envelope::stream::DEFAULT_MAX_FRAME_SIZE;

fn key_file_options(args: &KeyArgs, js_legacy_order: bool) -> KeyFileOptions<'_> {
    KeyFileOptions {
        padding: args.rsa_padding,
        key_name: args.key_name.as_deref(),
        key_namespace: args.key_namespace.as_deref(),
        js_legacy_order,
    }
}

fn client(policy: &PolicyArgs, run: &StreamArgs, max_body_size: Option<u64>) -> Client {
    let mut builder = Client::builder();
    if let Some(policy) = policy.commitment_policy {
        builder = builder.commitment_policy(policy);
    }
    if let Some(max) = policy.max_encrypted_data_keys {
        builder = builder.max_encrypted_data_keys(max);
    }
    if let Some(max) = max_body_size {
        builder = builder.max_body_size(max);
    }
    if let Some(threads) = run.threads {
        builder = builder.threads(usize::from(threads));
    }
    builder.build()
}

/// How much input to hand the encryptor or decryptor per update.
pub fn chunk_size(threads: usize) -> usize {
    if threads > 1 {
        CHUNK_PARALLEL
    } else {
        CHUNK_SINGLE
    }
}

/// The `--context` pairs as an encryption context; a key given twice is refused.
pub fn context_from_pairs(pairs: &[(String, String)]) -> CliResult<EncryptionContext> {
    let mut context = EncryptionContext::new();
    for (k, v) in pairs {
        if context.insert(k.as_str(), v.as_str()).is_some() {
            return Err(CliError::bad_arg(format!(
                "--context key '{k}' is given more than once"
            )));
        }
    }
    Ok(context)
}

/// The keyring of the `--key` files and the KMS keys. On encrypt the first
/// `--kms-key`, if any, generates the data key, else the first `--key`.
fn keyring(
    files: &KeyArgs,
    kms: &KmsArgs,
    discovery: Option<&KmsDiscoveryArgs>,
    purpose: Purpose,
    js_legacy_order: bool,
) -> CliResult<Arc<dyn Keyring>> {
    let mut keyrings = crate::kms::keyrings(kms, discovery, purpose)?;
    keyrings.extend(keys::load_keyrings(
        &files.keys,
        &key_file_options(files, js_legacy_order),
        purpose,
    )?);
    keys::combine(keyrings, purpose)
}

/// Where materials come from: the keyring itself, or a materials manager
/// (required encryption context, caching, or both).
#[derive(Clone)]
enum Source {
    Keyring(Arc<dyn Keyring>),
    Manager(Arc<dyn MaterialsManager>),
}

/// The keyring, under the required-encryption-context manager when
/// `--required-context-key` is given, under the caching manager when
/// `--cache-max-age` is (`limits` only on encrypt).
fn source(
    keyring: Arc<dyn Keyring>,
    args: &ContextArgs,
    cache: &CacheArgs,
    limits: Option<&CacheLimitArgs>,
) -> CliResult<Source> {
    let base = if args.required_keys.is_empty() {
        Source::Keyring(keyring)
    } else {
        let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(
            keyring,
            args.required_keys.iter(),
        )?;
        Source::Manager(Arc::new(cmm))
    };
    let Some(max_age) = cache.cache_max_age else {
        return Ok(base);
    };
    let mut builder = CachingMaterialsManager::builder(max_age);
    builder = match base {
        Source::Keyring(k) => builder.keyring(k),
        Source::Manager(m) => builder.materials_manager(m),
    };
    if let Some(capacity) = cache.cache_capacity {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        builder = builder.cache(Arc::new(LocalMaterialsCache::new(capacity)));
    }
    if let Some(partition) = &cache.cache_partition {
        builder = builder.partition_id(partition.as_str());
    }
    if let Some(limits) = limits {
        if let Some(max) = limits.cache_max_messages {
            builder = builder.max_messages(max);
        }
        if let Some(max) = limits.cache_max_bytes {
            builder = builder.max_bytes(max);
        }
    }
    Ok(Source::Manager(Arc::new(builder.build()?)))
}

/// The job's input, read as base64 under `--decode`.
fn open_input(job: &Job, io: &IoArgs) -> CliResult<Input> {
    let input = Input::open(job.input.as_deref())?;
    Ok(if io.decode {
        input.decode_base64()
    } else {
        input
    })
}

/// The job's output, written as base64 under `--encode`.
fn create_output(job: &Job, io: &IoArgs, access: Access) -> CliResult<Output> {
    let output = Output::create(job.output.as_deref(), access, !io.no_overwrite)?;
    Ok(if io.encode {
        output.encode_base64()
    } else {
        output
    })
}

/// Runs `encrypt`: one message per input, in order; stops at the first failure.
pub fn encrypt(args: &EncryptArgs) -> CliResult<()> {
    let keyring = keyring(&args.keys, &args.kms, None, Purpose::Encrypt, false)?;
    let context = context_from_pairs(&args.context.context)?;
    let source = source(
        keyring,
        &args.context,
        &args.cache,
        Some(&args.cache_limits),
    )?;
    let client = client(&args.policy, &args.run, None);
    // Buffers for the whole run: allocating (and wiping) a fresh chunk for
    // each of many small inputs would cost more than encrypting them.
    let chunk_len = chunk_size(client.threads());
    let mut buffers = Buffers {
        chunk: Zeroizing::new(vec![0u8; chunk_len]),
        out: Vec::with_capacity(chunk_len + chunk_len / 8 + 4096),
    };
    let jobs = Jobs::new(&args.io, Purpose::Encrypt, &args.keys.keys);
    jobs.run(&client, &source, |run| {
        encrypt_one(args, run, &context, &mut buffers)
    })
}

/// The inputs of one command.
struct Jobs<'a> {
    io: &'a IoArgs,
    purpose: Purpose,
    key_files: &'a [std::path::PathBuf],
}

impl<'a> Jobs<'a> {
    fn new(io: &'a IoArgs, purpose: Purpose, key_files: &'a [std::path::PathBuf]) -> Self {
        Self {
            io,
            purpose,
            key_files,
        }
    }

    /// Runs `one` for every input, in order, with the metadata output;
    /// stops at the first failure, naming its input.
    fn run(
        &self,
        client: &Client,
        source: &Source,
        mut one: impl FnMut(Run<'_>) -> CliResult<()>,
    ) -> CliResult<()> {
        let jobs = plan(self.io, self.purpose)?;
        check_keys_kept(&jobs, self.key_files)?;
        // Before the metadata file, which may lie in the output directory;
        // what was made for nothing is removed again.
        let made = make_output_dirs(self.io, &jobs)?;
        let result = Metadata::open(self.io, &jobs, self.key_files).and_then(|mut metadata| {
            for job in &jobs {
                let run = Run {
                    client,
                    source,
                    job,
                    metadata: metadata.as_mut(),
                };
                one(run).map_err(|e| job.blame(e))?;
            }
            Ok(())
        });
        if result.is_err() {
            remove_empty_dirs(&made);
        }
        result
    }
}

/// What one input's run works with.
struct Run<'a> {
    client: &'a Client,
    source: &'a Source,
    job: &'a Job,
    metadata: Option<&'a mut Metadata>,
}

/// An input chunk and the output it becomes, reused from one input to the next.
struct Buffers<C, O> {
    chunk: C,
    out: O,
}

fn encrypt_one(
    args: &EncryptArgs,
    run: Run<'_>,
    context: &EncryptionContext,
    buffers: &mut Buffers<Zeroizing<Vec<u8>>, Vec<u8>>,
) -> CliResult<()> {
    let Run {
        client,
        source,
        job,
        metadata,
    } = run;
    let mut input = open_input(job, &args.io)?;
    let mut builder = client
        .stream_encrypt()
        .encryption_context(context.clone())
        .frame_length(args.frame_length);
    if let Some(suite) = args.suite {
        builder = builder.algorithm_suite(suite);
    }
    builder = match source.clone() {
        Source::Keyring(k) => builder.keyring(k),
        Source::Manager(m) => builder.materials_manager(m),
    };
    if let Some(len) = input.size() {
        // The encryptor then also fails if the file grows or shrinks
        // meanwhile. The caching manager needs the length to count bytes.
        builder = builder.plaintext_length(len);
    }
    let mut encryptor = builder.start()?;

    let mut output = create_output(job, &args.io, Access::Default)?;
    let mut progress = Progress::new("encrypting", input.size(), args.run.quiet);
    let Buffers { chunk, out } = buffers;
    out.clear();
    let mut total = 0u64;
    loop {
        let n = input.read_chunk(chunk)?;
        total += n as u64;
        input.check_size(total, n < chunk.len())?;
        if n > 0 {
            encryptor.update(&chunk[..n], out)?;
            output.write(out)?;
            out.clear();
            progress.inc(n);
        }
        if n < chunk.len() {
            break;
        }
    }
    encryptor.finish(out)?;
    output.write(out)?;
    output.commit()?;
    match metadata {
        Some(m) => m.record(Mode::Encrypt, job, encryptor.header(), total),
        None => Ok(()),
    }
}

/// Runs `decrypt`: one message per input, in order; stops at the first failure.
pub fn decrypt(args: &DecryptArgs) -> CliResult<()> {
    let keyring = keyring(
        &args.keys,
        &args.kms,
        Some(&args.discovery),
        Purpose::Decrypt,
        args.js_legacy_order,
    )?;
    let reproduced = context_from_pairs(&args.context.context)?;
    let source = source(keyring, &args.context, &args.cache, None)?;
    let client = client(&args.policy, &args.run, args.limits.max_body_size);
    let chunk_len = chunk_size(client.threads());
    let mut buffers = Buffers {
        chunk: vec![0u8; chunk_len],
        out: Zeroizing::new(Vec::with_capacity(chunk_len + (64 << 10))),
    };
    let jobs = Jobs::new(&args.io, Purpose::Decrypt, &args.keys.keys);
    jobs.run(&client, &source, |run| {
        decrypt_one(args, run, &reproduced, &mut buffers)
    })
}

fn decrypt_one(
    args: &DecryptArgs,
    run: Run<'_>,
    reproduced: &EncryptionContext,
    buffers: &mut Buffers<Vec<u8>, Zeroizing<Vec<u8>>>,
) -> CliResult<()> {
    let Run {
        client,
        source,
        job,
        metadata,
    } = run;
    let limits = &args.limits;
    let mut input = open_input(job, &args.io)?;
    let mut output = create_output(job, &args.io, Access::Private)?;

    // A staged file appears only after the signature verified, so it can
    // take each frame as soon as its tag verifies.
    let release = if output.is_staged() || limits.release_unverified {
        SignedRelease::Frames
    } else {
        SignedRelease::AfterSignature
    };
    let max_frame = limits.max_frame_size.unwrap_or(DEFAULT_MAX_FRAME);
    let max_buffered = match release {
        SignedRelease::AfterSignature => limits
            .max_buffered_plaintext
            .unwrap_or(DEFAULT_MAX_BUFFERED),
        // Only the final frame (or a non-framed body) is held back, and that
        // is already bounded by the frame limit.
        _ => max_frame,
    };
    let mut builder = client
        .stream_decrypt()
        .signed_release(release)
        .unsigned_only(limits.unsigned_only)
        .max_frame_size(max_frame)
        .max_buffered_plaintext(max_buffered);
    if !reproduced.is_empty() {
        builder = builder.encryption_context(reproduced.clone());
    }
    builder = match source.clone() {
        Source::Keyring(k) => builder.keyring(k),
        Source::Manager(m) => builder.materials_manager(m),
    };
    let mut decryptor = builder.start()?;

    let mut progress = Progress::new("decrypting", input.size(), args.run.quiet);
    let Buffers { chunk, out } = buffers;
    out.as_mut_slice().zeroize();
    out.clear();
    let mut total = 0u64;
    loop {
        let n = input.read_chunk(chunk)?;
        if n > 0 {
            if let Err(e) = decryptor.update(&chunk[..n], out) {
                return Err(explain(e, release, max_buffered, args.io.decode));
            }
            output.write(out)?;
            total += out.len() as u64;
            out.as_mut_slice().zeroize();
            out.clear();
            progress.inc(n);
        }
        if n < chunk.len() {
            break;
        }
    }
    decryptor.finish()?;
    output.commit()?;
    match (metadata, decryptor.header()) {
        (Some(m), Some(header)) => m.record(Mode::Decrypt, job, header, total),
        _ => Ok(()),
    }
}

/// The CLI's words for the core's "too much plaintext held before the
/// signature" refusal, which names API settings rather than flags, and the
/// pointer to `--decode` for a base64 message.
fn explain(
    e: kms_envelope::Error,
    release: SignedRelease,
    max_buffered: u64,
    decoding: bool,
) -> CliError {
    if release == SignedRelease::AfterSignature
        && e.kind() == ErrorKind::PolicyViolation
        && e.to_string().contains("before its signature")
    {
        return CliError::new(
            Status::PolicyViolation,
            format!(
                "this signed message has more than {max_buffered} bytes of plaintext, which \
                 stdout would have to hold until its signature is verified at the end; \
                 decrypt to a file with -o FILE, raise --max-buffered-plaintext, or pass \
                 --release-unverified (see decrypt --help)"
            ),
        );
    }
    base64_io::suggest_decode(e, decoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_context_keys_are_refused() {
        let pairs = vec![
            ("a".to_owned(), "1".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ];
        assert!(context_from_pairs(&pairs).is_err());
        let pairs = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert_eq!(context_from_pairs(&pairs).map(|c| c.len()), Ok(2));
    }

    #[test]
    fn chunks_grow_with_threads() {
        assert_eq!(chunk_size(1), CHUNK_SINGLE);
        assert_eq!(chunk_size(2), CHUNK_PARALLEL);
    }
}
