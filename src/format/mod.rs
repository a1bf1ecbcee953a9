//! The ESDK message format: header, body frames and footer, as bytes.
//!
//! Everything here is pure parsing and serialization; no keys. Parsers take
//! a possibly incomplete buffer and report that they are incomplete
//! when they need more bytes, so the same code serves one-shot and streaming
//! decryption. Every length read from a message is checked against the bytes
//! present (or a configured bound) before anything is allocated for it.

pub(crate) mod body;
pub(crate) mod footer;
pub mod header;
pub mod header_scan;
pub(crate) mod reader;

pub use header::{ContentType, MessageHeader};
pub use header_scan::{HeaderScan, MIN_STREAM_HEADER_LIMIT};
