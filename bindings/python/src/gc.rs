//! Python objects inside core objects, and the cycle collector.
//!
//! A Python keyring (or KMS client) is called by the core through an
//! `Arc<dyn Keyring>` inside the wrappers built on it (`DefaultMaterialsManager`,
//! `MultiKeyring`, streams, ...). A reference from there that the cycle
//! collector cannot see would keep `app.keyring = MyKeyring(app)` with
//! `app.manager = DefaultMaterialsManager(keyring=app.keyring)` alive for
//! good.
//!
//! So the core holds such an object through a [`CoreObject`], and the
//! wrapper that made it keeps that `CoreObject` too ([`Made`]): the
//! reference inside lives at least as long as the wrapper, and the wrapper
//! reports it, once, in `__traverse__`. Wrappers also keep (and report) the
//! Python objects they were built from, so a wrapper built on another one
//! keeps that one reporting. Nothing is reported that the reporting object
//! does not hold; a core object that outlives its maker (which the wrappers
//! above never let happen) would only make a cycle uncollectable again.

use std::sync::Arc;

use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::PyTraverseError;

/// A Python object the core calls: a keyring or a KMS client.
pub(crate) struct CoreObject(Py<PyAny>);

impl CoreObject {
    pub(crate) fn bind<'a, 'py>(&'a self, py: Python<'py>) -> &'a Bound<'py, PyAny> {
        self.0.bind(py)
    }
}

/// The [`CoreObject`]s a wrapper made, kept and reported by it.
#[derive(Default)]
pub(crate) struct Made(Vec<Arc<CoreObject>>);

impl Made {
    /// A new `CoreObject` for `obj`, kept here.
    pub(crate) fn wrap(&mut self, obj: &Bound<'_, PyAny>) -> Arc<CoreObject> {
        let made = Arc::new(CoreObject(obj.clone().unbind()));
        self.0.push(Arc::clone(&made));
        made
    }

    /// Reports each kept `CoreObject`'s reference.
    pub(crate) fn visit(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.0.iter().try_for_each(|made| visit.call(&made.0))
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
