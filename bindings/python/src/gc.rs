//! Python objects inside core objects, and the cycle collector.
//!
//! A Python keyring (or KMS client) is called by the core through an
//! `Arc<dyn Keyring>` that wrappers such as `DefaultMaterialsManager` hold.
//! A strong reference from there would be invisible to Python's cycle
//! collector, so `app.keyring = MyKeyring(app)` with `app.manager =
//! DefaultMaterialsManager(keyring=app.keyring)` could never be freed.
//!
//! So the core holds such objects through a [`CoreObject`], a weak
//! reference, and every wrapper that holds a core object keeps the Python
//! objects it was built from in its own fields, reports them in
//! `__traverse__`, and so keeps them alive exactly as long as it needs
//! them. An object that takes no weak references (a class with `__slots__`
//! and no `__weakref__`) is held strongly instead, as before: correct, but
//! a cycle through it stays uncollectable.

use pyo3::prelude::*;
use pyo3::types::{PyWeakrefMethods, PyWeakrefReference};

use kms_envelope::Error as CoreError;

/// The core's handle on a Python object (see the module docs).
pub(crate) enum CoreObject {
    Weak(Py<PyWeakrefReference>),
    Strong(Py<PyAny>),
}

impl CoreObject {
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> Self {
        match PyWeakrefReference::new(obj) {
            Ok(weak) => Self::Weak(weak.unbind()),
            Err(_) => Self::Strong(obj.clone().unbind()),
        }
    }

    /// The object; an error if it is gone, which happens only once every
    /// wrapper holding it was freed or cleared by the cycle collector.
    pub(crate) fn get<'py>(
        &self,
        py: Python<'py>,
        what: &str,
    ) -> Result<Bound<'py, PyAny>, CoreError> {
        match self {
            Self::Weak(weak) => weak.bind(py).upgrade().ok_or_else(|| {
                CoreError::BadArgument(format!(
                    "the {what} object no longer exists (the object holding it was freed)"
                ))
            }),
            Self::Strong(obj) => Ok(obj.bind(py).clone()),
        }
    }
}

/// The Python object a wrapper was built from (`keyring=` or
/// `materials_manager=`), for the wrapper to hold and report.
pub(crate) fn source_object(
    keyring: Option<&Bound<'_, PyAny>>,
    materials_manager: Option<&Bound<'_, PyAny>>,
) -> Option<Py<PyAny>> {
    keyring
        .filter(|k| !k.is_none())
        .or(materials_manager.filter(|m| !m.is_none()))
        .map(|o| o.clone().unbind())
}
