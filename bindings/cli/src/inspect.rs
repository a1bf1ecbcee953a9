//! `inspect`: the message header as JSON, without any key.

use std::collections::BTreeMap;
use std::path::Path;

use kms_envelope::{ContentType, MessageHeader};
use serde::Serialize;

use crate::cli::InspectArgs;
use crate::exit::{CliError, CliResult};
use crate::io::PrefixReader;

/// How much of the input to read first; most headers are far smaller.
const FIRST_READ: usize = 64 * 1024;

/// The JSON printed by `inspect`.
#[derive(Debug, Serialize)]
pub struct HeaderInfo {
    /// Message format version, 1 or 2.
    pub version: u8,
    /// The algorithm suite.
    pub algorithm_suite: SuiteInfo,
    /// The message ID, lowercase hex.
    pub message_id: String,
    /// The encryption context stored in the header.
    pub encryption_context: BTreeMap<String, String>,
    /// The encrypted data keys, in header order.
    pub encrypted_data_keys: Vec<EdkInfo>,
    /// `framed` or `non-framed`.
    pub content_type: &'static str,
    /// Frame length in bytes (0 when non-framed).
    pub frame_length: u32,
    /// Length of the header in bytes, authentication tag included.
    pub header_length: usize,
}

/// An algorithm suite, by id and name.
#[derive(Debug, Serialize)]
pub struct SuiteInfo {
    /// The two-byte id as 4 hex digits, e.g. `0578`.
    pub id: String,
    /// The ESDK name, e.g. `ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`.
    pub name: &'static str,
}

/// One encrypted data key, without its ciphertext.
#[derive(Debug, Serialize)]
pub struct EdkInfo {
    /// The provider ID (key namespace for raw keys, `aws-kms` for KMS).
    pub provider_id: String,
    /// The provider info as text, or null when it is not valid UTF-8.
    pub provider_info: Option<String>,
    /// The provider info, lowercase hex.
    pub provider_info_hex: String,
    /// Length of the wrapped data key in bytes.
    pub ciphertext_length: usize,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl HeaderInfo {
    /// Describes a parsed header of `header_length` bytes.
    pub fn new(header: &MessageHeader, header_length: usize) -> Self {
        let suite = header.algorithm_suite;
        Self {
            version: header.version,
            algorithm_suite: SuiteInfo {
                id: format!("{:04X}", suite.id()),
                name: suite.name(),
            },
            message_id: hex(&header.message_id),
            encryption_context: header.encryption_context.as_map().clone(),
            encrypted_data_keys: header
                .encrypted_data_keys
                .iter()
                .map(|edk| EdkInfo {
                    provider_id: edk.provider_id.clone(),
                    provider_info: String::from_utf8(edk.provider_info.clone()).ok(),
                    provider_info_hex: hex(&edk.provider_info),
                    ciphertext_length: edk.ciphertext.len(),
                })
                .collect(),
            content_type: match header.content_type {
                ContentType::Framed => "framed",
                ContentType::NonFramed => "non-framed",
            },
            frame_length: header.frame_length,
            header_length,
        }
    }
}

/// Parses the header at the start of `path` (or standard input for `-`),
/// reading only as much of the input as the header needs; with `decode`,
/// the input is base64.
pub fn read_header(path: &Path, decode: bool) -> CliResult<HeaderInfo> {
    let mut reader = PrefixReader::open(path)?;
    if decode {
        reader = reader.decode_base64();
    }
    let mut want = FIRST_READ;
    loop {
        let bytes = reader.fill_to(want)?;
        // Only a header cut short is read further: a prefix that is already
        // wrong (a file that is no message) fails at once, however large
        // the input, and the input read is bounded by the header's length.
        let parsed = MessageHeader::parse_prefix(bytes, None)
            .map_err(|e| crate::base64_io::suggest_decode(e, decode))?;
        match parsed {
            Some((header, len)) => return Ok(HeaderInfo::new(&header, len)),
            None if reader.at_end() => {
                return Err(kms_envelope::Error::MalformedMessage(
                    "message is truncated: it ends inside its header".into(),
                )
                .into())
            }
            None => want = want.saturating_mul(4),
        }
    }
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> CliResult<()> {
    let info = read_header(&args.file, args.decode)?;
    let json = serde_json::to_string_pretty(&info)
        .map_err(|e| CliError::bad_arg(format!("cannot encode the header as JSON: {e}")))?;
    crate::print_line(&json)
}
