//! Random cases: suite, frame length, plaintext, encryption context, raw
//! keyring, the context given back on decrypt, and the changes made to the
//! messages.

use std::collections::BTreeMap;

use kms_envelope::{AlgorithmSuite, RsaPadding};

use crate::peers::{KeySpec, RsaPair};
use crate::rng::Rng;

/// The largest plaintext a case uses (keeps a case in milliseconds).
const MAX_PLAINTEXT: usize = 16 * 1024;

/// The context given to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reproduced {
    /// None given.
    Absent,
    /// Exactly the encryption context.
    Exact,
    /// Some of its pairs.
    Subset,
    /// One value changed (must fail).
    WrongValue,
    /// One pair the message does not hold (must fail).
    ExtraPair,
}

impl Reproduced {
    /// Whether decrypt should succeed with this context.
    pub fn is_benign(self) -> bool {
        matches!(
            self,
            Reproduced::Absent | Reproduced::Exact | Reproduced::Subset
        )
    }
}

/// One generated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The suite.
    pub suite: AlgorithmSuite,
    /// Frame length.
    pub frame_length: u32,
    /// Coverage bucket of the frame length.
    pub frame_bucket: &'static str,
    /// Coverage bucket of the plaintext length relative to the frame length.
    pub length_class: &'static str,
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The encryption context.
    pub context: BTreeMap<String, String>,
    /// The keyring both SDKs encrypt and decrypt with.
    pub keyring: KeySpec,
    /// Which context decrypt is given.
    pub reproduced_kind: Reproduced,
    /// That context (None for `Absent`).
    pub reproduced: Option<BTreeMap<String, String>>,
}

/// Characters chosen to stress context ordering (UTF-8 byte order differs
/// from UTF-16 order above U+D7FF and from any locale order with case) and
/// encoding: ASCII of both cases, Latin-1, CJK, a private-use character, the
/// replacement character, characters outside the BMP, NUL.
const CHARS: &[char] = &[
    'a',
    'b',
    'z',
    'A',
    'Z',
    '0',
    '9',
    '-',
    '_',
    ' ',
    '.',
    '~',
    'é',
    'ß',
    'Ö',
    'Ω',
    '中',
    '文',
    '\u{FF21}',
    '\u{E000}',
    '\u{FFFD}',
    '\u{FFFF}',
    '😀',
    '𝄞',
    '\u{10FFFF}',
    '\u{7F}',
    '\u{80}',
    '\u{0}',
];

fn string(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => String::new(),
        1..=4 => (0..rng.range(1, 10))
            .map(|_| (b'a' + rng.below(26) as u8) as char)
            .collect(),
        5 => (0..rng.range(1, 10))
            .map(|_| *rng.pick(&['a', 'B', 'c', 'D', 'Z', 'z', '0', '-']))
            .collect(),
        6..=8 => (0..rng.range(1, 8)).map(|_| *rng.pick(CHARS)).collect(),
        _ => (0..rng.range(64, 400))
            .map(|_| (b'A' + rng.below(58) as u8) as char)
            .collect(),
    }
}

/// A random encryption context: often empty, sometimes with a reserved
/// `aws-crypto-` key (which both SDKs must refuse on encrypt).
pub fn context(rng: &mut Rng) -> BTreeMap<String, String> {
    let mut ec = BTreeMap::new();
    if rng.chance(25) {
        return ec;
    }
    if rng.chance(2) {
        // Around the 65535-byte limit of the serialized context, with or
        // without the public key a signing suite adds (69 or 93 bytes).
        let n = 65535 - 9 - rng.range(0, 120);
        ec.insert("big".to_string(), "x".repeat(n));
        return ec;
    }
    for _ in 0..rng.range(1, 5) {
        let mut key = string(rng);
        if rng.chance(2) {
            key = format!("aws-crypto-{key}");
        }
        ec.insert(key, string(rng));
    }
    ec
}

fn name(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => "test-namespace".into(),
        1 => "Ünïcødé-名前".into(),
        2 => "k".into(),
        3 => "a name with spaces".into(),
        _ => format!("key-{}", rng.below(1_000_000)),
    }
}

/// A random raw keyring.
pub fn keyring(rng: &mut Rng) -> KeySpec {
    let namespace = name(rng);
    let name = name(rng);
    if rng.chance(60) {
        let len = *rng.pick(&[16usize, 24, 32]);
        KeySpec::Aes {
            namespace,
            name,
            key: rng.bytes(len),
        }
    } else {
        KeySpec::Rsa {
            namespace,
            name,
            padding: *rng.pick(&RsaPadding::ALL),
            pair: RsaPair::Main,
        }
    }
}

fn frame_length(rng: &mut Rng) -> (u32, &'static str) {
    match rng.below(20) {
        0 => (1, "1"),
        1..=7 => (rng.range(2, 64) as u32, "2-64"),
        8..=11 => (rng.range(65, 1024) as u32, "65-1024"),
        12..=14 => (4096, "4096"),
        15..=17 => (rng.range(1025, 65536) as u32, "1025-65536"),
        _ => (
            *rng.pick(&[1 << 20, (1 << 31) - 1, 1 << 31, u32::MAX - 1, u32::MAX]),
            ">=1MiB",
        ),
    }
}

fn plaintext_length(rng: &mut Rng, fl: usize) -> (usize, &'static str) {
    let frames_fit = MAX_PLAINTEXT / fl;
    let choice = rng.below(9);
    let (len, class) = match choice {
        0 => (0, "empty"),
        1 => (1, "1"),
        2 if fl > 1 && fl <= MAX_PLAINTEXT => (fl - 1, "frame-1"),
        3 if fl <= MAX_PLAINTEXT => (fl, "frame"),
        4 if fl < MAX_PLAINTEXT => (fl + 1, "frame+1"),
        5 | 6 if frames_fit >= 2 => {
            let k = rng.range(2, frames_fit.min(300));
            (k * fl, "multiple")
        }
        7 if frames_fit >= 2 => {
            let k = rng.range(2, frames_fit.min(300));
            (k * fl + 1 - 2 * (rng.below(2) as usize), "multiple+-1")
        }
        _ => (rng.range(0, MAX_PLAINTEXT.min(3 * fl)), "random"),
    };
    (len.min(MAX_PLAINTEXT + 1), class)
}

fn reproduced(
    rng: &mut Rng,
    ec: &BTreeMap<String, String>,
) -> (Reproduced, Option<BTreeMap<String, String>>) {
    let kind = match rng.below(20) {
        0..=7 => Reproduced::Absent,
        8..=13 => Reproduced::Exact,
        14..=16 => Reproduced::Subset,
        17 | 18 if !ec.is_empty() => Reproduced::WrongValue,
        _ => Reproduced::ExtraPair,
    };
    let mut map = ec.clone();
    match kind {
        Reproduced::Absent => return (kind, None),
        Reproduced::Exact => {}
        Reproduced::Subset => map.retain(|_, _| rng.chance(50)),
        Reproduced::WrongValue => {
            if let Some(v) = map.values_mut().next() {
                v.push('!');
            }
        }
        Reproduced::ExtraPair => {
            map.insert(format!("extra-{}", rng.below(1000)), "x".into());
        }
    }
    (kind, Some(map))
}

/// Generates case `index` under `seed`: `suite` is the case's suite (the
/// caller cycles through all 11 so that each gets the same share).
pub fn generate(rng: &mut Rng, suite: AlgorithmSuite) -> Case {
    let (mut frame_length, mut frame_bucket) = frame_length(rng);
    let (len, length_class) = plaintext_length(rng, frame_length as usize);
    if rng.chance(1) {
        // Invalid: both must refuse to encrypt.
        (frame_length, frame_bucket) = (0, "0 (invalid)");
    }
    let plaintext = rng.bytes(len);
    let context = context(rng);
    let keyring = keyring(rng);
    let (reproduced_kind, reproduced) = reproduced(rng, &context);
    Case {
        suite,
        frame_length,
        frame_bucket,
        length_class,
        plaintext,
        context,
        keyring,
        reproduced_kind,
        reproduced,
    }
}

/// A change made to a message before both SDKs decrypt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Keep the first `n` bytes.
    Truncate(usize),
    /// Flip one bit.
    BitFlip(usize, u8),
    /// Insert a byte before position `p` (`p` may be the length: appended).
    Insert(usize, u8),
    /// Delete one byte.
    Delete(usize),
    /// Copy `len` bytes at `p` and insert the copy right after them.
    Duplicate(usize, usize),
    /// Append bytes (data after the message).
    Append(Vec<u8>),
    /// Overwrite a byte.
    SetByte(usize, u8),
    /// Decrypt with a wrong key (another key, key name or padding).
    WrongKey,
}

impl Mutation {
    /// The coverage bucket.
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::Truncate(..) => "truncate",
            Mutation::BitFlip(..) => "bit-flip",
            Mutation::Insert(..) => "insert-byte",
            Mutation::Delete(..) => "delete-byte",
            Mutation::Duplicate(..) => "duplicate-range",
            Mutation::Append(..) => "append",
            Mutation::SetByte(..) => "set-byte",
            Mutation::WrongKey => "wrong-key",
        }
    }

    /// Applies the change (the wrong key is applied by the caller).
    pub fn apply(&self, msg: &[u8]) -> Vec<u8> {
        let mut m = msg.to_vec();
        match self {
            Mutation::Truncate(n) => m.truncate(*n),
            Mutation::BitFlip(p, bit) => m[*p] ^= 1 << bit,
            Mutation::Insert(p, b) => m.insert(*p, *b),
            Mutation::Delete(p) => {
                m.remove(*p);
            }
            Mutation::Duplicate(p, len) => {
                let copy = m[*p..*p + *len].to_vec();
                m.splice(*p + *len..*p + *len, copy);
            }
            Mutation::Append(bytes) => m.extend_from_slice(bytes),
            Mutation::SetByte(p, b) => m[*p] = *b,
            Mutation::WrongKey => {}
        }
        m
    }
}

/// A position in a message of `len` bytes whose header is `header_len`
/// bytes: anywhere, in the header, or in the last 128 bytes (final frame,
/// footer).
fn position(rng: &mut Rng, len: usize, header_len: usize) -> usize {
    match rng.below(10) {
        0..=4 => rng.below(len as u64) as usize,
        5..=7 => rng.below(header_len.clamp(1, len) as u64) as usize,
        _ => len - 1 - rng.below(len.min(128) as u64) as usize,
    }
}

/// A random change to a message of `len` (> 0) bytes.
pub fn mutation(rng: &mut Rng, len: usize, header_len: usize) -> Mutation {
    match rng.below(16) {
        0..=2 => Mutation::Truncate(position(rng, len, header_len)),
        3..=6 => Mutation::BitFlip(position(rng, len, header_len), rng.below(8) as u8),
        7 | 8 => {
            let p = if rng.chance(10) {
                len
            } else {
                position(rng, len, header_len)
            };
            Mutation::Insert(p, rng.below(256) as u8)
        }
        9 | 10 => Mutation::Delete(position(rng, len, header_len)),
        11 => {
            let p = position(rng, len, header_len);
            let n = rng.range(1, 64).min(len - p);
            Mutation::Duplicate(p, n)
        }
        12 => {
            let n = rng.range(1, 16);
            Mutation::Append(rng.bytes(n))
        }
        13 | 14 => Mutation::SetByte(
            position(rng, len, header_len),
            *rng.pick(&[0u8, 1, 0x7F, 0x80, 0xFF]),
        ),
        _ => Mutation::WrongKey,
    }
}

/// A keyring that must not decrypt messages of `spec`.
pub fn wrong_key(rng: &mut Rng, spec: &KeySpec) -> KeySpec {
    match spec.clone() {
        KeySpec::Aes {
            namespace,
            name,
            mut key,
        } => match rng.below(3) {
            0 => {
                let i = rng.below(key.len() as u64) as usize;
                key[i] ^= 1;
                KeySpec::Aes {
                    namespace,
                    name,
                    key,
                }
            }
            1 => KeySpec::Aes {
                namespace,
                name: format!("{name}-other"),
                key,
            },
            _ => {
                // The same bytes as a shorter or longer AES key.
                let len = if key.len() == 32 { 16 } else { 32 };
                let mut other = key.clone();
                other.resize(len, 0x5A);
                KeySpec::Aes {
                    namespace,
                    name,
                    key: other,
                }
            }
        },
        KeySpec::Rsa {
            namespace,
            name,
            padding,
            ..
        } => {
            if rng.chance(50) {
                KeySpec::Rsa {
                    namespace,
                    name,
                    padding,
                    pair: RsaPair::Other,
                }
            } else {
                let others: Vec<RsaPadding> = RsaPadding::ALL
                    .into_iter()
                    .filter(|p| *p != padding)
                    .collect();
                KeySpec::Rsa {
                    namespace,
                    name,
                    padding: *rng.pick(&others),
                    pair: RsaPair::Main,
                }
            }
        }
    }
}
