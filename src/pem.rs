//! PEM decoding for RSA keys, with PKCS#1 keys rewrapped as PKCS#8 / SPKI.

use base64::Engine;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// DER AlgorithmIdentifier for rsaEncryption with NULL parameters.
const RSA_ALG_ID: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Decodes the first PEM block, returning its label and DER bytes. Every
/// buffer that held key text is wiped when dropped (private keys pass here).
fn decode(text: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
    let bad = || Error::bad_arg("not a PEM document (no -----BEGIN ...----- line)");
    let start = text.find("-----BEGIN ").ok_or_else(bad)?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or_else(bad)?;
    let label = rest[..label_end].to_owned();
    let body = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body
        .find(&end_marker)
        .ok_or_else(|| Error::bad_arg(format!("PEM block '{label}' has no END line")))?;
    let body = &body[..end];
    let mut b64 = Zeroizing::new(String::with_capacity(body.len()));
    b64.extend(body.chars().filter(|c| !c.is_whitespace()));
    // Decoded into a buffer of ours, so even a failed decode leaves no
    // unwiped key bytes behind.
    let mut der = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(b64.len())]);
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(b64.as_bytes(), &mut der[..])
        .map_err(|_| Error::bad_arg(format!("PEM block '{label}' is not valid base64")))?;
    der.truncate(len);
    Ok((label, der))
}

/// Appends a DER length.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Bytes of a DER tag and length for `len` bytes of content.
fn der_header_len(len: usize) -> usize {
    let mut header = Vec::with_capacity(10);
    der_len(len, &mut header);
    1 + header.len()
}

/// DER PKCS#8 `PrivateKeyInfo` around a PKCS#1 `RSAPrivateKey`, built in
/// one buffer of its final size (no reallocation leaves a copy behind).
pub(crate) fn pkcs8_from_pkcs1(pkcs1: &[u8]) -> Zeroizing<Vec<u8>> {
    const VERSION: [u8; 3] = [0x02, 0x01, 0x00];
    let inner = VERSION.len() + RSA_ALG_ID.len() + der_header_len(pkcs1.len()) + pkcs1.len();
    let mut out = Zeroizing::new(Vec::with_capacity(der_header_len(inner) + inner));
    out.push(0x30);
    der_len(inner, &mut out);
    out.extend_from_slice(&VERSION);
    out.extend_from_slice(&RSA_ALG_ID);
    out.push(0x04);
    der_len(pkcs1.len(), &mut out);
    out.extend_from_slice(pkcs1);
    out
}

/// DER `SubjectPublicKeyInfo` around a PKCS#1 `RSAPublicKey`.
pub(crate) fn spki_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let bits = 1 + pkcs1.len();
    let inner = RSA_ALG_ID.len() + der_header_len(bits) + bits;
    let mut out = Vec::with_capacity(der_header_len(inner) + inner);
    out.push(0x30);
    der_len(inner, &mut out);
    out.extend_from_slice(&RSA_ALG_ID);
    out.push(0x03);
    der_len(bits, &mut out);
    out.push(0x00); // no unused bits
    out.extend_from_slice(pkcs1);
    out
}

/// DER PKCS#8 (or PKCS#1, rewrapped) from a PEM private key.
pub(crate) fn decode_private_key(text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let (label, der) = decode(text)?;
    match label.as_str() {
        "PRIVATE KEY" => Ok(der),
        "RSA PRIVATE KEY" => Ok(pkcs8_from_pkcs1(&der)),
        "ENCRYPTED PRIVATE KEY" => Err(Error::bad_arg(
            "encrypted private keys are not supported; decrypt the PEM first",
        )),
        other => Err(Error::bad_arg(format!(
            "expected a PEM private key, found '{other}'"
        ))),
    }
}

/// DER SubjectPublicKeyInfo (or PKCS#1, rewrapped) from a PEM public key.
pub(crate) fn decode_public_key(text: &str) -> Result<Vec<u8>> {
    let (label, der) = decode(text)?;
    match label.as_str() {
        "PUBLIC KEY" => Ok(der.to_vec()),
        "RSA PUBLIC KEY" => Ok(spki_from_pkcs1(&der)),
        other => Err(Error::bad_arg(format!(
            "expected a PEM public key, found '{other}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        let mut v = Vec::new();
        der_len(5, &mut v);
        der_len(300, &mut v);
        assert_eq!(v, [5, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode_private_key("hello").is_err());
        assert!(
            decode_private_key("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----")
                .is_err()
        );
        assert!(decode_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n").is_err());
        assert!(
            decode_public_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .is_err()
        );
    }
}
