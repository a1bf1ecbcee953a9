//! The first failure of a key service (a KMS client or a custom keyring)
//! within each call, kept for the error's `cause` and `kmsCode`; and the
//! call's `AbortSignal`, handed to the keyrings and KMS clients it calls.
//!
//! Calls interleave on the one JS thread, so a failure belongs to the call
//! whose future is being polled when it is seen: every entry point wraps its
//! future with [`promise`], which installs the call's slot around each poll.
//! This works through any materials manager, caching included.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

/// One call: its first thrown value and first key-service code seen, and
/// the caller's `AbortSignal`, which keyrings and KMS clients are handed.
#[derive(Default)]
struct Slot {
    failure: RefCell<Option<(JsValue, Option<String>)>>,
    signal: Option<JsValue>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Slot>>> = const { RefCell::new(None) };
}

/// Records `thrown` as the current call's failure unless it already has
/// one, and `code` (a key service's, `None` for an error of this package a
/// keyring threw) unless one was seen before.
pub(crate) fn record(thrown: &JsValue, code: Option<&str>) {
    CURRENT.with(|c| {
        if let Some(slot) = &*c.borrow() {
            let mut failure = slot.failure.borrow_mut();
            let (_, first_code) = failure.get_or_insert_with(|| (thrown.clone(), None));
            if first_code.is_none() {
                *first_code = code.map(str::to_owned);
            }
        }
    });
}

struct Traced<F> {
    fut: Pin<Box<F>>,
    slot: Rc<Slot>,
}

impl<F: Future<Output = Result<JsValue, JsValue>>> Future for Traced<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let outer = swap(Some(this.slot.clone()));
        let result = this.fut.as_mut().poll(cx);
        swap(outer);
        if let Poll::Ready(Err(err)) = &result {
            attach(err, &this.slot);
        }
        result
    }
}

// Not generic, so not repeated for each entry point's future.

/// Installs `slot` as the current call's; returns the one it replaces.
#[inline(never)]
fn swap(slot: Option<Rc<Slot>>) -> Option<Rc<Slot>> {
    CURRENT.with(|c| c.replace(slot))
}

/// Gives a `kms_error` / `no_key_unwrapped` the call's first failure as its
/// `cause`, and its code as `kmsCode` when the error has none.
#[inline(never)]
fn attach(err: &JsValue, slot: &Slot) {
    let code = Reflect::get(err, &"code".into())
        .ok()
        .and_then(|c| c.as_string());
    if !matches!(code.as_deref(), Some("kms_error" | "no_key_unwrapped")) {
        return;
    }
    if let Some((thrown, kms_code)) = &*slot.failure.borrow() {
        let _ = Reflect::set(err, &"cause".into(), thrown);
        if let Some(kms_code) = kms_code {
            if !Reflect::has(err, &"kmsCode".into()).unwrap_or(false) {
                let _ = Reflect::set(err, &"kmsCode".into(), &kms_code.into());
            }
        }
    }
}

/// `future_to_promise` with the call's failure attached to its error.
pub(crate) fn promise(fut: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    promise_with(JsValue::UNDEFINED, fut)
}

/// [`promise`] for a call the caller may abort with `signal` (an
/// `AbortSignal`, or `undefined`): see [`signal`].
pub(crate) fn promise_with(
    signal: JsValue,
    fut: impl Future<Output = Result<JsValue, JsValue>> + 'static,
) -> Promise {
    let slot = Slot {
        failure: RefCell::default(),
        signal: (!signal.is_undefined() && !signal.is_null()).then_some(signal),
    };
    future_to_promise(Traced {
        fut: Box::pin(fut),
        slot: Rc::new(slot),
    })
}

/// The `AbortSignal` of the call being polled, if it has one: keyrings and
/// KMS clients are handed it, so an abort can end their network calls.
pub(crate) fn signal() -> Option<JsValue> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|slot| slot.signal.clone()))
}
