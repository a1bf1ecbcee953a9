//! The footer: a u16 length and a DER ECDSA signature.

use crate::format::reader::{ParseResult, Reader};

/// Parses the footer at the front of `buf`, returning the signature and the
/// bytes it takes.
pub(crate) fn parse_footer(buf: &[u8]) -> ParseResult<(&[u8], usize)> {
    let mut r = Reader::new(buf);
    let sig = r.bytes_u16("signature")?;
    Ok((sig, r.position()))
}

/// Serializes the footer.
pub(crate) fn write_footer(sig: &[u8], out: &mut Vec<u8>) {
    // DER ECDSA signatures are at most 104 bytes.
    out.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    out.extend_from_slice(sig);
}
