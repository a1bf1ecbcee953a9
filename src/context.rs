//! Encryption context: an authenticated, non-secret string map.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::format::reader::Reader;

/// Prefix of the keys that belong to the SDK; callers may not use them.
pub const RESERVED_PREFIX: &str = "aws-crypto-";

/// Key under which signing suites store the verification key.
pub const PUBLIC_KEY_FIELD: &str = "aws-crypto-public-key";

/// An encryption context: UTF-8 keys to UTF-8 values, kept in the byte-wise
/// order of the keys, which is the order of the canonical serialization.
///
/// ```
/// use kms_envelope::EncryptionContext;
/// let ec = EncryptionContext::from_iter([("purpose", "demo"), ("tenant", "42")]);
/// assert_eq!(ec.get("tenant"), Some("42"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Pairs in canonical (byte-wise key) order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The underlying map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Keeps only the pairs whose key `keep` accepts.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|k, _| keep(k));
    }

    /// Fails if any key starts with the reserved `aws-crypto-` prefix.
    pub(crate) fn check_no_reserved_keys(&self) -> Result<()> {
        match self.0.keys().find(|k| k.starts_with(RESERVED_PREFIX)) {
            Some(k) => Err(Error::bad_arg(format!(
                "encryption context key '{k}' uses the reserved prefix '{RESERVED_PREFIX}'"
            ))),
            None => Ok(()),
        }
    }

    /// Canonical serialization: empty for an empty map, else a u16 count and
    /// u16-length-prefixed keys and values in byte-wise key order.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`](crate::Error::BadArgument) for more than
    /// 65,535 pairs, a key or value over 65,535 bytes, or a serialization
    /// over 65,535 bytes.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        serialize_pairs(self.iter(), self.0.len())
    }

    /// The serialization with the keys in the order of `compare` instead of
    /// byte-wise (keys it finds equal stay in byte-wise order): what writers
    /// that sorted keys another way authenticated. Only for reading their
    /// messages; see [`crate::keyring::ContextKeyOrder`].
    pub(crate) fn serialize_ordered(
        &self,
        compare: &dyn Fn(&str, &str) -> std::cmp::Ordering,
    ) -> Result<Vec<u8>> {
        let mut pairs: Vec<(&str, &str)> = self.iter().collect();
        pairs.sort_by(|a, b| compare(a.0, b.0));
        serialize_pairs(pairs.into_iter(), self.0.len())
    }

    /// Parses a serialized encryption context (the header's AAD field content,
    /// as [`EncryptionContext::serialize`] writes it). Also accepts the legacy
    /// empty form `00 00`; pairs may come in any order, duplicate keys are
    /// refused.
    ///
    /// ```
    /// use kms_envelope::EncryptionContext;
    /// let ec: EncryptionContext = [("purpose", "demo")].into_iter().collect();
    /// let bytes = ec.serialize()?;
    /// assert_eq!(EncryptionContext::deserialize(&bytes)?, ec);
    /// # Ok::<(), kms_envelope::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MalformedMessage`] if the bytes end inside the count or a
    /// pair, a key or value is not valid UTF-8, a key repeats, or bytes
    /// follow the last pair (or a count of 0).
    pub fn deserialize(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes)
    }

    /// Parses the AAD field content (the bytes after the u16 AAD length).
    /// Accepts the legacy empty form `00 00` (count 0 in two bytes).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        let mut map = BTreeMap::new();
        if bytes.is_empty() {
            return Ok(Self(map));
        }
        let mut r = Reader::new(bytes);
        let count = r.u16("encryption context count")?;
        if count == 0 {
            if r.is_empty() {
                return Ok(Self(map));
            }
            return Err(Error::malformed(
                "encryption context count is 0 but bytes follow",
            ));
        }
        for _ in 0..count {
            let k = r.utf8_u16("encryption context key")?;
            let v = r.utf8_u16("encryption context value")?;
            if map.insert(k, v).is_some() {
                return Err(Error::malformed("duplicate key in encryption context"));
            }
        }
        if !r.is_empty() {
            return Err(Error::malformed(
                "encryption context length does not match its pairs",
            ));
        }
        Ok(Self(map))
    }
}

/// Writes `count` pairs: nothing for none, else a u16 count and
/// u16-length-prefixed keys and values, in the order given.
fn serialize_pairs<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    count: usize,
) -> Result<Vec<u8>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let count = u16::try_from(count)
        .map_err(|_| Error::bad_arg("encryption context has more than 65535 pairs"))?;
    let mut out = Vec::new();
    out.extend_from_slice(&count.to_be_bytes());
    for (k, v) in pairs {
        for s in [k, v] {
            let len = u16::try_from(s.len()).map_err(|_| {
                Error::bad_arg("encryption context key or value longer than 65535 bytes")
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    if out.len() > usize::from(u16::MAX) {
        return Err(Error::bad_arg(
            "serialized encryption context is longer than 65535 bytes",
        ));
    }
    Ok(out)
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EncryptionContext {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl From<BTreeMap<String, String>> for EncryptionContext {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

impl From<std::collections::HashMap<String, String>> for EncryptionContext {
    fn from(map: std::collections::HashMap<String, String>) -> Self {
        Self(map.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a EncryptionContext {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_is_byte_ordered() {
        let ec = EncryptionContext::from_iter([("b", "2"), ("a", "1"), ("Z", "0"), ("é", "x")]);
        let bytes = ec.serialize().unwrap();
        assert_eq!(&bytes[..2], &[0, 4]);
        // "Z" (0x5A) < "a" < "b" < "é" (0xC3 0xA9)
        assert_eq!(&bytes[2..6], &[0, 1, b'Z', 0]);
        assert_eq!(EncryptionContext::parse(&bytes).unwrap(), ec);
        assert!(EncryptionContext::new().serialize().unwrap().is_empty());
    }

    #[test]
    fn serialization_in_another_order() {
        let ec = EncryptionContext::from_iter([("b", "2"), ("a", "1"), ("Z", "0")]);
        let case_blind = |a: &str, b: &str| a.to_lowercase().cmp(&b.to_lowercase());
        let bytes = ec.serialize_ordered(&case_blind).unwrap();
        // a < b < Z, ignoring case; the same pairs, so it parses back the same.
        assert_eq!(&bytes[..8], &[0, 3, 0, 1, b'a', 0, 1, b'1']);
        assert_eq!(EncryptionContext::parse(&bytes).unwrap(), ec);
        // Ties keep the byte-wise order.
        assert_eq!(
            ec.serialize_ordered(&|_, _| std::cmp::Ordering::Equal)
                .unwrap(),
            ec.serialize().unwrap()
        );
        assert!(EncryptionContext::new()
            .serialize_ordered(&case_blind)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn parse_rejects_bad_input() {
        assert!(EncryptionContext::parse(&[0, 0]).unwrap().is_empty());
        assert!(EncryptionContext::parse(&[0, 0, 1]).is_err());
        assert!(EncryptionContext::parse(&[0]).is_err());
        // duplicate keys
        assert!(EncryptionContext::parse(&[0, 2, 0, 1, b'a', 0, 0, 0, 1, b'a', 0, 0]).is_err());
        // invalid UTF-8
        assert!(EncryptionContext::parse(&[0, 1, 0, 1, 0xff, 0, 0]).is_err());
        // trailing byte
        assert!(EncryptionContext::parse(&[0, 1, 0, 1, b'a', 0, 0, 9]).is_err());
        // length runs past the end
        assert!(EncryptionContext::parse(&[0, 1, 0, 9, b'a']).is_err());
    }

    #[test]
    fn reserved_prefix_and_size_limits() {
        let ec = EncryptionContext::from_iter([("aws-crypto-x", "1")]);
        assert!(ec.check_no_reserved_keys().is_err());
        let big = EncryptionContext::from_iter([("k", "v".repeat(70_000))]);
        assert!(big.serialize().is_err());
    }
}
