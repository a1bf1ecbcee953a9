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

/// A copy of the bytes of `view`, a Uint8Array that came from outside.
/// The JS copy made on the way is zeroed (the bytes may be a key).
pub(crate) fn copy_bytes(view: &Uint8Array) -> Result<Vec<u8>, JsValue> {
    // The fresh copy is a plain, attached Uint8Array: copying it out and
    // filling it cannot throw.
    let copy = uint8_array_from(view)?;
    let bytes = copy.to_vec();
    copy.fill(0, 0, copy.length());
    Ok(bytes)
}

/// Zeroes `view` (a key a callback handed over); best effort, as the view
/// is the caller's.
pub(crate) fn wipe(view: &Uint8Array) {
    let _ = uint8_array_fill(view, 0);
}
