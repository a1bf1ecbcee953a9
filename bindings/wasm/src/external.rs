//! Messages whose frames JS seals or opens with the host's AES-GCM
//! (WebCrypto in browsers, `node:crypto` in Node): one-shot messages
//! straight between JS buffers (`Sealing`, `Opening`) and browser streams a
//! frame at a time (`StreamSealing`, `StreamOpening`). The core's
//! `external` API, handed over as records.
//!
//! Frame records (`Sealing::frames`, `Opening::frames`,
//! `StreamSealing::nextFrame`, `StreamOpening::update`) are
//! [`RECORD_LEN`]-byte slots, little-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 0..8 | ciphertext offset in the message (f64; the tag follows) |
//! | 8..16 | plaintext offset (f64) |
//! | 16..20 | length (u32) |
//! | 20 | head length (encrypt: bytes written just before the ciphertext) |
//! | 21 | AAD length |
//! | 22 | stream decrypt: 1 when the plaintext waits for the signature |
//! | 24..36 | IV |
//! | 36..60 | head |
//! | 60..140 | AAD |

use js_sys::Object;
use js_sys::Uint8Array;
use std::cell::RefCell;
use std::rc::Rc;

use kms_envelope::external::{
    ExternalFrame, ExternalOpen, ExternalSeal, ExternalStreamOpen, ExternalStreamSeal,
    MessageSource, SignatureFormat,
};
use kms_envelope::{AuthFailure, Error, MessageHeader};
use wasm_bindgen::prelude::*;

use crate::{bad_arg, decrypted_to_js, fixed_str, js_error, set};

/// Bytes per frame record.
pub const RECORD_LEN: usize = 144;

fn write_record(out: &mut [u8], f: &ExternalFrame) -> Result<(), JsValue> {
    let (head, aad) = (f.head(), f.aad());
    if out.len() < RECORD_LEN || head.len() > 24 || aad.len() > 80 {
        return Err(bad_arg("frame record overflow"));
    }
    out[0..8].copy_from_slice(&(f.ciphertext_offset() as f64).to_le_bytes());
    out[8..16].copy_from_slice(&(f.plaintext_offset() as f64).to_le_bytes());
    let len = u32::try_from(f.len()).map_err(|_| bad_arg("frame too long for a record"))?;
    out[16..20].copy_from_slice(&len.to_le_bytes());
    out[20] = head.len() as u8;
    out[21] = aad.len() as u8;
    out[24..36].copy_from_slice(f.iv());
    out[36..36 + head.len()].copy_from_slice(head);
    out[60..60 + aad.len()].copy_from_slice(aad);
    Ok(())
}

/// Records of frames `first..first + count` (clamped to the frame count).
fn records(
    total: usize,
    first: usize,
    count: usize,
    frame: impl Fn(usize) -> kms_envelope::Result<ExternalFrame>,
) -> Result<Uint8Array, JsValue> {
    let end = first.saturating_add(count).min(total);
    let n = end.saturating_sub(first);
    let mut buf = vec![0u8; n * RECORD_LEN];
    for (i, slot) in buf.chunks_mut(RECORD_LEN).enumerate() {
        let f = frame(first + i).map_err(|e| js_error(&e))?;
        write_record(slot, &f)?;
    }
    Ok(Uint8Array::from(&buf[..]))
}

/// A message in a JS `Uint8Array` (the caller's), read a piece at a time.
/// The first bytes, read for the header, stay copied: a small message is
/// read from JS only once.
pub(crate) struct JsMessage {
    bytes: Uint8Array,
    len: usize,
    prefix: Vec<u8>,
}

/// The first read for a header; most are far shorter. Each retry reads
/// eight times more.
const FIRST_HEADER_READ: usize = 4096;

impl JsMessage {
    /// Reads the header of the message in `bytes` (`max_edks` as the client
    /// checks it), in growing pieces until it is whole. `len` is the
    /// message's length when the call began: a buffer transferred since
    /// then has none. Returns the message and the header's length: the
    /// header's bytes are `prefix()[..length]`.
    pub(crate) fn new(
        bytes: Uint8Array,
        len: u32,
        max_edks: Option<u16>,
    ) -> kms_envelope::Result<(Self, MessageHeader, usize)> {
        if bytes.length() != len {
            return Err(changed());
        }
        let len = len as usize;
        let mut message = Self {
            bytes,
            len,
            prefix: Vec::new(),
        };
        let mut want = FIRST_HEADER_READ.min(len);
        loop {
            let mut prefix = vec![0u8; want];
            message.read_at(0, &mut prefix)?;
            message.prefix = prefix;
            if let Some((header, header_len)) =
                MessageHeader::parse_prefix(&message.prefix, max_edks)?
            {
                return Ok((message, header, header_len));
            }
            if want == len {
                return Err(Error::MalformedMessage("message is truncated".into()));
            }
            want = want.saturating_mul(8).min(len);
        }
    }

    /// The message's first bytes, as read so far (the header at least).
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix
    }
}

/// The caller's ciphertext buffer was resized or transferred mid-call.
fn changed() -> Error {
    Error::BadArgument("the ciphertext changed while it was being decrypted".into())
}

impl MessageSource for JsMessage {
    fn len(&self) -> usize {
        self.len
    }

    fn read_at(&self, offset: usize, out: &mut [u8]) -> kms_envelope::Result<()> {
        let end = offset.checked_add(out.len());
        if let Some(copied) = end.and_then(|end| self.prefix.get(offset..end)) {
            out.copy_from_slice(copied);
            return Ok(());
        }
        // `bytes` is a plain Uint8Array (api.js), but its buffer may have
        // been transferred while a keyring ran: a detached view has length
        // 0, and `subarray` on it would throw through the module.
        let view = end
            .and_then(|end| Some((u32::try_from(offset).ok()?, u32::try_from(end).ok()?)))
            .filter(|&(_, end)| end <= self.bytes.length())
            .map(|(begin, end)| self.bytes.subarray(begin, end))
            .filter(|view| view.length() as usize == out.len())
            .ok_or_else(changed)?;
        view.copy_to(out);
        Ok(())
    }
}

/// The methods `Sealing` and `Opening` share, over the core's
/// `ExternalSeal` / `ExternalOpen` (which have the same names for them).
macro_rules! external_common {
    ($t:ident, $inner:ty) => {
        impl $t {
            pub(crate) fn new(inner: $inner) -> Self {
                Self { inner: Some(inner) }
            }

            fn get(&self) -> Result<&$inner, JsValue> {
                self.inner
                    .as_ref()
                    .ok_or_else(|| bad_arg("this message is already finished"))
            }

            fn take(&mut self) -> Result<$inner, JsValue> {
                self.inner
                    .take()
                    .ok_or_else(|| bad_arg("this message is already finished"))
            }
        }

        #[wasm_bindgen]
        impl $t {
            /// The content key (secret: the caller wipes its copy once imported).
            #[wasm_bindgen(js_name = contentKey)]
            pub fn content_key(&self) -> Result<Uint8Array, JsValue> {
                Ok(Uint8Array::from(self.get()?.content_key()))
            }

            /// The bytes the signature covers (header and body).
            #[wasm_bindgen(getter, js_name = signedLength)]
            pub fn signed_length(&self) -> Result<f64, JsValue> {
                Ok(self.get()?.signed_len() as f64)
            }

            /// Frames in the body.
            #[wasm_bindgen(getter, js_name = frameCount)]
            pub fn frame_count(&self) -> Result<f64, JsValue> {
                Ok(self.get()?.frame_count() as f64)
            }

            /// `"SHA-256"` / `"SHA-384"` when the message is signed, else `undefined`.
            #[wasm_bindgen(getter, js_name = signatureHash)]
            pub fn signature_hash(&self) -> Result<Option<String>, JsValue> {
                Ok(self.get()?.signature_hash().map(str::to_owned))
            }

            /// Records of frames `first..first + count` (see the module docs).
            pub fn frames(&self, first: f64, count: f64) -> Result<Uint8Array, JsValue> {
                let m = self.get()?;
                records(m.frame_count(), first as usize, count as usize, |i| {
                    m.frame(i)
                })
            }
        }
    };
}

/// A message being sealed by JS. Made by `encryptExternal`.
#[wasm_bindgen]
pub struct Sealing {
    inner: Option<ExternalSeal>,
}

impl Sealing {
    /// Whether JS can finish it: the core signs, or JS holds the host key.
    pub(crate) fn reachable(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| !s.host_signs()) || self.js_signer().is_some()
    }

    /// The JS object of the host key that signs this message whole, if the
    /// host holds the signing key.
    fn js_signer(&self) -> Option<crate::host::JsSigningKey> {
        let s = self.inner.as_ref()?;
        s.signing_public_key()
            .filter(|_| s.host_signs())
            .and_then(|p| crate::host::js_signer(&p))
    }
}

#[wasm_bindgen]
impl Sealing {
    /// The header: the message's first bytes.
    pub fn header(&self) -> Result<Uint8Array, JsValue> {
        Ok(Uint8Array::from(self.get()?.header()))
    }

    /// The message length: exact, or the most when `hostSigner()` signs.
    #[wasm_bindgen(getter, js_name = messageLength)]
    pub fn message_length(&self) -> Result<f64, JsValue> {
        Ok(self.get()?.message_len() as f64)
    }

    /// The footer (empty for unsigned suites); `digest` is the signature
    /// hash of the first `signedLength` bytes. Ends the sealing.
    pub fn footer(&mut self, digest: Option<Vec<u8>>) -> Result<Uint8Array, JsValue> {
        let footer = self
            .take()?
            .footer(digest.as_deref())
            .map_err(|e| js_error(&e))?;
        Ok(Uint8Array::from(&footer[..]))
    }

    /// The JS key object that signs this message whole (`sign(bytes)`),
    /// when the host holds the signing key; else `undefined`.
    #[wasm_bindgen(js_name = hostSigner)]
    pub fn host_signer(&self) -> Result<JsValue, JsValue> {
        self.get()?;
        Ok(self.js_signer().map_or(JsValue::UNDEFINED, Into::into))
    }

    /// The footer around the host's signature (`format`: `"der"` or
    /// `"p1363"`) of the first `signedLength` bytes. Ends the sealing.
    #[wasm_bindgen(js_name = footerFromSignature)]
    pub fn footer_from_signature(
        &mut self,
        signature: &[u8],
        format: &str,
    ) -> Result<Uint8Array, JsValue> {
        let format = match format {
            "der" => SignatureFormat::Der,
            "p1363" => SignatureFormat::P1363,
            _ => return Err(bad_arg("signature format must be der or p1363")),
        };
        let footer = self
            .take()?
            .footer_from_signature(signature, format)
            .map_err(|e| js_error(&e))?;
        Ok(Uint8Array::from(&footer[..]))
    }
}

external_common!(Sealing, ExternalSeal);

/// A message being opened by JS. Made by `decryptExternal`.
#[wasm_bindgen]
pub struct Opening {
    inner: Option<ExternalOpen>,
}

#[wasm_bindgen]
impl Opening {
    /// The plaintext length.
    #[wasm_bindgen(getter, js_name = plaintextLength)]
    pub fn plaintext_length(&self) -> Result<f64, JsValue> {
        Ok(self.get()?.plaintext_len() as f64)
    }

    /// What JS needs to check the signature on the host: `{ curve, hash,
    /// publicKey (uncompressed point), signature (P1363) }`, or `undefined`
    /// (unsigned, or a signature that is not strict DER: `finish` with the
    /// digest then fails it).
    #[wasm_bindgen(js_name = hostCheck)]
    pub fn host_check(&self) -> Result<JsValue, JsValue> {
        let Some(c) = self.get()?.host_check() else {
            return Ok(JsValue::UNDEFINED);
        };
        let obj = Object::new();
        set(&obj, "curve", fixed_str(c.curve));
        set(&obj, "hash", fixed_str(c.hash));
        set(&obj, "publicKey", Uint8Array::from(&c.public_key[..]));
        set(&obj, "signature", Uint8Array::from(&c.signature[..]));
        Ok(obj.into())
    }

    /// Ends a message whose signature JS checked from `hostCheck`:
    /// `valid` is the host's verdict. Resolves like `finish`.
    #[wasm_bindgen(js_name = finishHostChecked)]
    pub fn finish_host_checked(&mut self, valid: bool) -> Result<JsValue, JsValue> {
        let opened = self
            .take()?
            .finish_host_checked(valid)
            .map_err(|e| js_error(&e))?;
        Ok(decrypted_to_js(&opened.encryption_context, &opened.header).into())
    }

    /// The error for a frame whose tag did not verify. Ends the opening.
    #[wasm_bindgen(js_name = frameFailed)]
    pub fn frame_failed(&mut self) -> JsValue {
        self.inner = None;
        js_error(&Error::AuthenticationFailed(AuthFailure::Body))
    }

    /// Checks the signature against `digest` (signed messages) once every
    /// frame opened; resolves the decrypt result without its plaintext.
    /// Ends the opening.
    pub fn finish(&mut self, digest: Option<Vec<u8>>) -> Result<JsValue, JsValue> {
        let opened = self
            .take()?
            .finish(digest.as_deref())
            .map_err(|e| js_error(&e))?;
        Ok(decrypted_to_js(&opened.encryption_context, &opened.header).into())
    }
}

external_common!(Opening, ExternalOpen);

/// A stream's message being sealed by JS a frame at a time. Made by
/// `startEncrypt` with `external`.
#[wasm_bindgen]
pub struct StreamSealing {
    inner: ExternalStreamSeal,
}

impl StreamSealing {
    pub(crate) fn new(inner: ExternalStreamSeal) -> Self {
        Self { inner }
    }
}

#[wasm_bindgen]
impl StreamSealing {
    /// The header: the message's first bytes.
    pub fn header(&self) -> Uint8Array {
        Uint8Array::from(self.inner.header())
    }

    /// `{ encryptionContext, algorithmSuite, header }` of the message being
    /// written (the whole context, required pairs included), or `undefined`
    /// once it is finished.
    #[wasm_bindgen(js_name = headerResult)]
    pub fn header_result(&self) -> JsValue {
        match self.inner.header_and_context() {
            Some((h, c)) => crate::decrypted_to_js(c, h).into(),
            None => JsValue::UNDEFINED,
        }
    }

    /// The content key (secret: the caller wipes its copy once imported).
    #[wasm_bindgen(js_name = contentKey)]
    pub fn content_key(&mut self) -> Result<Uint8Array, JsValue> {
        let key = self.inner.content_key().map_err(|e| js_error(&e))?;
        Ok(Uint8Array::from(key))
    }

    /// The plaintext length of every frame but the final one.
    #[wasm_bindgen(getter, js_name = frameLength)]
    pub fn frame_length(&self) -> f64 {
        self.inner.frame_length() as f64
    }

    /// Whether the suite signs: every sealed frame then goes to `absorb`.
    #[wasm_bindgen(getter)]
    pub fn signed(&mut self) -> Result<bool, JsValue> {
        self.inner.is_signed().map_err(|e| js_error(&e))
    }

    /// The record (see the module docs) of the next frame, of `len`
    /// plaintext bytes: the frame length unless `is_final`.
    #[wasm_bindgen(js_name = nextFrame)]
    pub fn next_frame(&mut self, len: f64, is_final: bool) -> Result<Uint8Array, JsValue> {
        if !(len >= 0.0 && len <= u32::MAX as f64 && len.fract() == 0.0) {
            return Err(bad_arg("frame length out of range"));
        }
        let f = self
            .inner
            .next_frame(len as usize, is_final)
            .map_err(|e| js_error(&e))?;
        let mut rec = [0u8; RECORD_LEN];
        write_record(&mut rec, &f)?;
        Ok(Uint8Array::from(&rec[..]))
    }

    /// Adds the next sealed bytes, in message order, to the signature hash.
    pub fn absorb(&mut self, sealed: &[u8]) -> Result<(), JsValue> {
        self.inner.absorb(sealed).map_err(|e| js_error(&e))
    }

    /// The last bytes (the footer of a signed suite), once the final frame
    /// is out. Ends the message.
    pub fn finish(&mut self) -> Result<Uint8Array, JsValue> {
        let footer = self.inner.finish().map_err(|e| js_error(&e))?;
        Ok(Uint8Array::from(&footer[..]))
    }
}

/// A stream's message being opened by JS a frame at a time. Made by
/// `Decryptor.intoExternal`.
#[wasm_bindgen]
pub struct StreamOpening {
    inner: Rc<RefCell<Option<ExternalStreamOpen>>>,
}

impl StreamOpening {
    pub(crate) fn new(inner: ExternalStreamOpen) -> Self {
        Self {
            inner: Rc::new(RefCell::new(Some(inner))),
        }
    }
}

#[wasm_bindgen]
impl StreamOpening {
    /// Reads a chunk of the message. Resolves to the frames it completed,
    /// `{ records, sealed }` (records as in the module docs, ciphertext
    /// offsets into `sealed`), or `null` when it completed none.
    pub fn update(&self, chunk: Vec<u8>) -> js_sys::Promise {
        let cell = self.inner.clone();
        crate::trace::promise(async move {
            let mut open = cell
                .borrow_mut()
                .take()
                .ok_or_else(|| bad_arg("decryptor busy or failed"))?;
            open.update(&chunk).await.map_err(|e| js_error(&e))?;
            let frames = open.take_frames();
            *cell.borrow_mut() = Some(open);
            if frames.is_empty() {
                return Ok(JsValue::NULL);
            }
            let mut records = vec![0u8; frames.len() * RECORD_LEN];
            for (i, slot) in records.chunks_mut(RECORD_LEN).enumerate() {
                let f = frames
                    .frame(i)
                    .ok_or_else(|| bad_arg("frame record overflow"))?;
                write_record(slot, f)?;
                slot[22] = u8::from(frames.hold(i));
            }
            let obj = Object::new();
            set(&obj, "records", Uint8Array::from(&records[..]));
            set(&obj, "sealed", Uint8Array::from(frames.sealed()));
            Ok(obj.into())
        })
    }

    /// The error for a frame whose tag did not verify. Ends the opening.
    #[wasm_bindgen(js_name = frameFailed)]
    pub fn frame_failed(&self) -> JsValue {
        self.inner.borrow_mut().take();
        js_error(&Error::AuthenticationFailed(AuthFailure::Body))
    }

    /// The content key once the header is read, else `undefined` (secret:
    /// the caller wipes its copy once imported).
    #[wasm_bindgen(js_name = contentKey)]
    pub fn content_key(&self) -> Result<Option<Uint8Array>, JsValue> {
        let slot = self.inner.borrow();
        let open = slot
            .as_ref()
            .ok_or_else(|| bad_arg("decryptor busy or failed"))?;
        Ok(open.content_key().map(Uint8Array::from))
    }

    /// `{ encryptionContext, algorithmSuite, header }` once the header has
    /// been authenticated, else `undefined`.
    #[wasm_bindgen(js_name = headerResult)]
    pub fn header_result(&self) -> JsValue {
        let slot = self.inner.borrow();
        match slot.as_ref().map(|o| (o.encryption_context(), o.header())) {
            Some((Some(c), Some(h))) => crate::decrypted_to_js(c, h).into(),
            _ => JsValue::UNDEFINED,
        }
    }

    /// Whether the whole message has been read and its signature (if any)
    /// verified: what was held may be released once its frames opened.
    pub fn complete(&self) -> bool {
        self.inner
            .borrow()
            .as_ref()
            .is_some_and(ExternalStreamOpen::is_complete)
    }

    /// Checks the message is complete and its signature verified; resolves
    /// to `{ encryptionContext, header }`.
    pub fn finish(&self) -> Result<JsValue, JsValue> {
        let mut slot = self.inner.borrow_mut();
        let open = slot
            .as_mut()
            .ok_or_else(|| bad_arg("decryptor busy or failed"))?;
        open.finish().map_err(|e| js_error(&e))?;
        let obj = Object::new();
        if let Some(c) = open.encryption_context() {
            set(&obj, "encryptionContext", crate::context_to_js(c));
        }
        if let Some(h) = open.header() {
            set(&obj, "header", crate::header_to_js(h));
        }
        Ok(obj.into())
    }
}
