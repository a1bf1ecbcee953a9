//! The AWS KMS JSON 1.1 protocol: request bodies, responses, error mapping.
//!
//! Bodies that carry a plaintext data key are built in a [`Zeroizing`]
//! buffer that is never reallocated in place (it grows into a fresh buffer
//! and wipes the old one), and responses are parsed with borrowed strings
//! (or wiped copies), so the base64 of a data key never lands in an unwiped
//! `String`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use kms_envelope::{EncryptionContext, Error};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

/// A JSON object written field by field into a wiped buffer.
pub(crate) struct Body(Zeroizing<String>);

impl Body {
    pub fn new() -> Self {
        Self(Zeroizing::new(String::from("{")))
    }

    /// Room for `extra` more bytes. A `String` grows by reallocation, which
    /// frees the old block unwiped: this grows into a fresh buffer instead
    /// and drops (wipes) the old one.
    fn reserve(&mut self, extra: usize) {
        let needed = self.0.len().saturating_add(extra);
        if needed > self.0.capacity() {
            let mut grown =
                Zeroizing::new(String::with_capacity(needed.max(2 * self.0.capacity())));
            grown.push_str(&self.0);
            self.0 = grown;
        }
    }

    fn push_str(&mut self, s: &str) {
        self.reserve(s.len());
        self.0.push_str(s);
    }

    fn push_json_string(&mut self, s: &str) {
        // serde_json's escaping (of names and context pairs: no secrets).
        self.push_str(&serde_json::to_string(s).expect("a str always serializes"));
    }

    fn key(&mut self, name: &str) {
        if self.0.len() > 1 {
            self.push_str(",");
        }
        self.push_json_string(name);
        self.push_str(":");
    }

    pub fn string(mut self, name: &str, value: &str) -> Self {
        self.key(name);
        self.push_json_string(value);
        self
    }

    pub fn number(mut self, name: &str, value: usize) -> Self {
        self.key(name);
        self.push_str(&value.to_string());
        self
    }

    /// A blob, base64-encoded straight into the wiped buffer.
    pub fn blob(mut self, name: &str, bytes: &[u8]) -> Self {
        self.key(name);
        let encoded = base64::encoded_len(bytes.len(), true).unwrap_or(usize::MAX);
        self.reserve(encoded.saturating_add(2));
        self.0.push('"');
        B64.encode_string(bytes, &mut self.0);
        self.0.push('"');
        self
    }

    /// `EncryptionContext` (omitted when empty).
    pub fn context(mut self, context: &EncryptionContext) -> Self {
        if context.is_empty() {
            return self;
        }
        self.key("EncryptionContext");
        self.push_str("{");
        for (i, (k, v)) in context.iter().enumerate() {
            if i > 0 {
                self.push_str(",");
            }
            self.push_json_string(k);
            self.push_str(":");
            self.push_json_string(v);
        }
        self.push_str("}");
        self
    }

    /// `GrantTokens` (omitted when empty).
    pub fn grant_tokens(mut self, tokens: &[String]) -> Self {
        if tokens.is_empty() {
            return self;
        }
        self.key("GrantTokens");
        self.push_str("[");
        for (i, t) in tokens.iter().enumerate() {
            if i > 0 {
                self.push_str(",");
            }
            self.push_json_string(t);
        }
        self.push_str("]");
        self
    }

    pub fn finish(mut self) -> Zeroizing<Vec<u8>> {
        self.push_str("}");
        Zeroizing::new(std::mem::take(&mut *self.0).into_bytes())
    }
}

/// A response string that may hold a data key's base64: borrowed from the
/// (wiped) response body, or, where the JSON escaped a character, a copy
/// wiped on drop. (`Option<Cow<str>>` is always deserialized as an owned,
/// unwiped `String`: serde borrows only into a bare `Cow`.)
pub(crate) enum SecretStr<'a> {
    Borrowed(&'a str),
    Owned(Zeroizing<String>),
}

impl Deref for SecretStr<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            SecretStr::Borrowed(s) => s,
            SecretStr::Owned(s) => s,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for SecretStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;

        impl<'de> Visitor<'de> for Text {
            type Value = SecretStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(SecretStr::Borrowed(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(SecretStr::Owned(Zeroizing::new(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(SecretStr::Owned(Zeroizing::new(v)))
            }
        }

        deserializer.deserialize_str(Text)
    }
}

/// The fields of the three responses (and CreateKey / errors) we read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Response<'a> {
    #[serde(borrow, default)]
    pub key_id: Option<Cow<'a, str>>,
    /// Borrowed unless the JSON escapes a character (base64 needs none).
    #[serde(borrow, default)]
    pub plaintext: Option<SecretStr<'a>>,
    #[serde(borrow, default)]
    pub ciphertext_blob: Option<Cow<'a, str>>,
    #[serde(default)]
    pub key_metadata: Option<KeyMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KeyMetadata {
    pub arn: String,
}

pub(crate) fn invalid_response(message: impl Into<String>) -> Error {
    Error::Kms {
        code: "InvalidResponse".into(),
        message: message.into(),
    }
}

impl<'a> Response<'a> {
    pub fn parse(op: &str, body: &'a [u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| {
            invalid_response(format!("{op}: the response is not the expected JSON: {e}"))
        })
    }

    pub fn key_id(&self, op: &str) -> Result<String, Error> {
        self.key_id
            .as_deref()
            .map(str::to_owned)
            .ok_or_else(|| invalid_response(format!("{op}: the response has no KeyId")))
    }

    pub fn blob(field: Option<&str>, op: &str, name: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        let text =
            field.ok_or_else(|| invalid_response(format!("{op}: the response has no {name}")))?;
        let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 4 * 3));
        B64.decode_vec(text, &mut out)
            .map_err(|_| invalid_response(format!("{op}: {name} is not valid base64")))?;
        Ok(out)
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type", default)]
    kind: Option<String>,
    #[serde(alias = "Message", default)]
    message: Option<String>,
}

/// The short error code of an AWS JSON `__type` or `x-amzn-ErrorType`:
/// `com.amazonaws.kms#NotFoundException` or `NotFoundException:http://...`
/// become `NotFoundException`.
pub(crate) fn short_code(kind: &str) -> &str {
    let after_hash = kind.rsplit_once('#').map_or(kind, |(_, c)| c);
    after_hash
        .split_once(':')
        .map_or(after_hash, |(c, _)| c)
        .trim()
}

/// Maps an error response to [`Error::Kms`]: the code from `__type` (else the
/// `x-amzn-ErrorType` header, else `Http<status>`), the message from
/// `message` / `Message` (else the start of the body).
pub(crate) fn map_error(status: u16, error_type_header: Option<&str>, body: &[u8]) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.kind.as_deref())
        .or(error_type_header)
        .map(short_code)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Http{status}"));
    let message = parsed.and_then(|b| b.message).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(200).collect();
        if text.trim().is_empty() {
            format!("HTTP status {status}")
        } else {
            format!("HTTP status {status}: {}", text.trim())
        }
    });
    Error::Kms { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_keys_base64_is_borrowed_or_a_wiped_copy() {
        let body = br#"{"KeyId":"k","Plaintext":"AAEC"}"#;
        let r = Response::parse("Decrypt", body).unwrap();
        assert!(matches!(r.plaintext, Some(SecretStr::Borrowed("AAEC"))));
        // An escaped character (valid JSON, if unusual) makes a copy, which
        // is wiped on drop.
        let body = br#"{"KeyId":"k","Plaintext":"AA\/C"}"#;
        let r = Response::parse("Decrypt", body).unwrap();
        assert!(matches!(&r.plaintext, Some(SecretStr::Owned(s)) if s.as_str() == "AA/C"));
        assert_eq!(
            *Response::blob(r.plaintext.as_deref(), "Decrypt", "Plaintext").unwrap(),
            [0, 15, 194]
        );
    }

    #[test]
    fn a_body_grows_into_fresh_buffers_and_stays_valid_json() {
        let context =
            EncryptionContext::from_iter((0..50).map(|i| (format!("k{i}"), "v".repeat(i))));
        let body = Body::new()
            .string("KeyId", "arn")
            .blob("Plaintext", &[7; 32])
            .context(&context)
            .grant_tokens(&["t".to_owned()])
            .finish();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["KeyId"], "arn");
        assert_eq!(v["EncryptionContext"]["k49"], "v".repeat(49));
        assert_eq!(v["GrantTokens"][0], "t");
        assert_eq!(
            B64.decode(v["Plaintext"].as_str().unwrap()).unwrap(),
            [7; 32]
        );
    }

    fn kms(e: Error) -> (String, String) {
        match e {
            Error::Kms { code, message } => (code, message),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn error_mapping() {
        let (code, message) = kms(map_error(
            400,
            None,
            br#"{"__type":"com.amazonaws.kms#NotFoundException","message":"Key 'x' does not exist"}"#,
        ));
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("NotFoundException", "Key 'x' does not exist")
        );
        let (code, message) = kms(map_error(
            400,
            None,
            br#"{"__type":"InvalidCiphertextException","Message":"bad"}"#,
        ));
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("InvalidCiphertextException", "bad")
        );
        let (code, _) = kms(map_error(
            400,
            Some(
                "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/",
            ),
            b"{}",
        ));
        assert_eq!(code, "AccessDeniedException");
        let (code, _) = kms(map_error(
            400,
            None,
            br#"{"__type":"KMSInvalidStateException"}"#,
        ));
        assert_eq!(code, "KMSInvalidStateException");
        let (code, message) = kms(map_error(502, None, b"<html>Bad Gateway</html>"));
        assert_eq!(code, "Http502");
        assert!(
            message.contains("502") && message.contains("Bad Gateway"),
            "{message}"
        );
        let (code, message) = kms(map_error(503, None, b""));
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("Http503", "HTTP status 503")
        );
        assert_eq!(
            short_code("aws.protocoltests#ThrottlingException:http://x"),
            "ThrottlingException"
        );
    }

    #[test]
    fn bodies_are_valid_json() {
        let ec = EncryptionContext::from_iter([("a\"b", "é\n"), ("k", "v")]);
        let body = Body::new()
            .string("KeyId", "alias/x")
            .number("NumberOfBytes", 32)
            .blob("Plaintext", &[0xff, 0x00, 0x10])
            .context(&ec)
            .grant_tokens(&["t1".into()])
            .finish();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["KeyId"], "alias/x");
        assert_eq!(v["NumberOfBytes"], 32);
        assert_eq!(v["Plaintext"], "/wAQ");
        assert_eq!(v["EncryptionContext"]["a\"b"], "é\n");
        assert_eq!(v["GrantTokens"][0], "t1");
        let empty = Body::new()
            .string("KeyId", "k")
            .context(&EncryptionContext::new())
            .grant_tokens(&[])
            .finish();
        assert_eq!(&empty[..], br#"{"KeyId":"k"}"#);
    }

    #[test]
    fn responses() {
        let body = br#"{"KeyId":"arn:aws:kms:us-east-1:1:key/k","Plaintext":"AAEC","CiphertextBlob":"AwQ=","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#;
        let r = Response::parse("Decrypt", body).unwrap();
        assert_eq!(
            r.key_id("Decrypt").unwrap(),
            "arn:aws:kms:us-east-1:1:key/k"
        );
        assert_eq!(
            &Response::blob(r.plaintext.as_deref(), "Decrypt", "Plaintext").unwrap()[..],
            &[0, 1, 2]
        );
        assert_eq!(
            &Response::blob(r.ciphertext_blob.as_deref(), "Decrypt", "CiphertextBlob").unwrap()[..],
            &[3, 4]
        );
        let r = Response::parse("Decrypt", b"{}").unwrap();
        assert_eq!(kms(r.key_id("Decrypt").unwrap_err()).0, "InvalidResponse");
        assert_eq!(
            kms(Response::blob(Some("!!"), "Decrypt", "Plaintext").unwrap_err()).0,
            "InvalidResponse"
        );
        assert_eq!(
            kms(Response::parse("Decrypt", b"not json").err().unwrap()).0,
            "InvalidResponse"
        );
    }
}
