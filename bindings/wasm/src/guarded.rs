//! JS operations on values that callers and their callbacks supply, each
//! declared `catch`.
//!
//! A JS exception thrown inside an import that is not declared `catch`
//! unwinds straight through the wasm frames: no destructor runs, the
//! module's shadow stack pointer stays where it was, the call's Promise
//! never settles, and after a few hundred such unwinds the module is
//! unusable. User code can make the plainest operation throw: a getter, a
//! Proxy trap, a `then` or `constructor` getter on a returned Promise, a
//! buffer transferred to a worker, a subclass's overridden method. So every
//! operation on such a value goes through here (or through js-sys methods
//! that already return `Result`, such as `Reflect::get`), and a throw comes
//! back as an `Err` holding what was thrown.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `Promise.resolve(value)`, as `await` would take `value`: reads
    /// `value.then`, and `constructor` when `value` is a Promise.
    #[wasm_bindgen(catch, js_namespace = Promise, js_name = resolve)]
    pub(crate) fn resolve(value: &JsValue) -> Result<Promise, JsValue>;

    /// `Array.isArray(value)`: throws for a revoked Proxy.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    pub(crate) fn is_array(value: &JsValue) -> Result<bool, JsValue>;

    /// `Array.from(value)`: the elements of an array-like `value` as a
    /// fresh array of their own (runs its iterator, or its `length` and
    /// index getters).
    #[wasm_bindgen(catch, js_namespace = Array, js_name = from)]
    pub(crate) fn elements(value: &JsValue) -> Result<Array, JsValue>;

    /// `Uint8Array.from(value)`: a plain copy; throws for a view of a
    /// transferred buffer.
    #[wasm_bindgen(catch, js_namespace = Uint8Array, js_name = from)]
    fn uint8_array_from(value: &JsValue) -> Result<Uint8Array, JsValue>;

    /// `Uint8Array.prototype.fill.call(view, value)`: a subclass's own
    /// `fill` is not what runs, and a detached view throws.
    #[wasm_bindgen(catch, js_namespace = ["Uint8Array", "prototype", "fill"], js_name = call)]
    fn uint8_array_fill(view: &Uint8Array, value: u8) -> Result<JsValue, JsValue>;
}

/// `value` as a Uint8Array (or a subclass, such as Buffer) of any realm: an
/// iframe's or a `vm` context's fails `instanceof`, which `dyn_into` uses.
/// `None` for anything else, a DataView or another typed array included.
pub(crate) fn uint8_array(value: &JsValue) -> Option<Uint8Array> {
    if !js_sys::ArrayBuffer::is_view(value) {
        return None;
    }
    let tag = js_sys::Reflect::get(value, &js_sys::Symbol::to_string_tag()).ok()?;
    (tag.as_string().as_deref() == Some("Uint8Array")).then(|| value.clone().unchecked_into())
}

/// The most bytes (or UTF-16 units) a field a callback hands over may
/// hold: an encrypted data key's provider ID, info and ciphertext are
/// length-prefixed by 16 bits, a data key is at most 32 bytes and a KMS
/// key ARN far shorter. Longer fields are refused before they are copied
/// into wasm memory, which never shrinks (and past about 2 GiB could not
/// grow at all: a trap no caller could catch).
pub(crate) const MAX_FIELD_LEN: u32 = 65_535;

/// Why [`copy_bytes`] copied nothing.
pub(crate) enum Unread {
    /// Reading the view threw (a transferred buffer, a hostile subclass).
    Thrown(JsValue),
    /// The view holds this many bytes, over [`MAX_FIELD_LEN`].
    TooLong(u32),
}

/// A copy of the bytes of `view`, a Uint8Array that came from outside, of
/// at most [`MAX_FIELD_LEN`] bytes. The JS copy made on the way is zeroed
/// (the bytes may be a key).
pub(crate) fn copy_bytes(view: &Uint8Array) -> Result<Vec<u8>, Unread> {
    let claimed = view.byte_length();
    if claimed > MAX_FIELD_LEN {
        return Err(Unread::TooLong(claimed));
    }
    // The fresh copy is a plain, attached Uint8Array: copying it out and
    // filling it cannot throw, and its length is its own (a subclass's
    // `byteLength` getter could have said less).
    let copy = uint8_array_from(view).map_err(Unread::Thrown)?;
    if copy.length() > MAX_FIELD_LEN {
        copy.fill(0, 0, copy.length());
        return Err(Unread::TooLong(copy.length()));
    }
    let bytes = copy.to_vec();
    copy.fill(0, 0, copy.length());
    Ok(bytes)
}

/// Zeroes `view` (a key a callback handed over); best effort, as the view
/// is the caller's.
pub(crate) fn wipe(view: &Uint8Array) {
    let _ = uint8_array_fill(view, 0);
}
