//! Materials managers.

use std::sync::Arc;

use kms_envelope::cmm::{CachingMaterialsManager as CoreCaching, LocalMaterialsCache};
use kms_envelope::{
    DefaultMaterialsManager as CoreDefault, MaterialsManager,
    RequiredEncryptionContextMaterialsManager as CoreRequired,
};
use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyFrozenSet, PyString};
use pyo3::PyTraverseError;

use crate::convert::{self, str_set, type_name};
use crate::errors::core_result;
use crate::gc::{source_object, Made};
use crate::keyrings::keyring_arc;

/// Base class of the materials managers. Not instantiable.
#[pyclass(frozen, subclass, module = "kms_envelope", name = "MaterialsManager")]
pub(crate) struct PyMaterialsManager {
    pub(crate) inner: Arc<dyn MaterialsManager>,
}

/// The default materials manager: picks the algorithm suite, creates the
/// message signing key for signing suites, and has ``keyring`` generate and
/// wrap (or unwrap) the data key. Passing ``keyring=`` to :func:`encrypt` is
/// the same as passing ``materials_manager=DefaultMaterialsManager(keyring)``.
#[pyclass(frozen, extends = PyMaterialsManager, module = "kms_envelope", name = "DefaultMaterialsManager")]
pub(crate) struct DefaultMaterialsManager {
    keyring: Py<PyAny>,
    made: Made,
}

#[pymethods]
impl DefaultMaterialsManager {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.keyring)?;
        self.made.visit(&visit)
    }

    #[new]
    fn new(keyring: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        let mut made = Made::default();
        let k = keyring_arc(keyring, &mut made)?;
        Ok(PyClassInitializer::from(PyMaterialsManager {
            inner: Arc::new(CoreDefault::new(k)),
        })
        .add_subclass(Self {
            keyring: keyring.clone().unbind(),
            made,
        }))
    }

    /// The keyring.
    #[getter]
    fn keyring(&self, py: Python<'_>) -> Py<PyAny> {
        self.keyring.clone_ref(py)
    }
}

/// Requires some encryption context keys. On encrypt they must be in the
/// context, and their pairs are authenticated but **not stored** in the
/// message; on decrypt the caller must pass them again in
/// ``encryption_context``. Wraps ``materials_manager``, or a
/// :class:`DefaultMaterialsManager` over ``keyring``.
#[pyclass(frozen, extends = PyMaterialsManager, module = "kms_envelope", name = "RequiredEncryptionContextMaterialsManager")]
pub(crate) struct RequiredEncryptionContextMaterialsManager {
    keys: std::collections::BTreeSet<String>,
    /// The keyring or manager it wraps (`crate::gc`).
    source: Option<Py<PyAny>>,
    made: Made,
}

#[pymethods]
impl RequiredEncryptionContextMaterialsManager {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.source)?;
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (required_encryption_context_keys, *, keyring=None, materials_manager=None))]
    fn new(
        required_encryption_context_keys: &Bound<'_, PyAny>,
        keyring: Option<&Bound<'_, PyAny>>,
        materials_manager: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        if required_encryption_context_keys.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "required_encryption_context_keys must be an iterable of str, not a str",
            ));
        }
        let mut keys = std::collections::BTreeSet::new();
        for k in required_encryption_context_keys.try_iter()? {
            let k = k?;
            let s = k.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "required encryption context keys must be str, not '{}'",
                    type_name(&k)
                ))
            })?;
            let key = convert::utf8(s, "required encryption context keys")?;
            keys.insert(key.into_owned());
        }
        let mut made = Made::default();
        let underlying = source_manager(keyring, materials_manager, &mut made)?;
        let cmm = core_result(CoreRequired::new(underlying, keys.iter().cloned()))?;
        Ok(PyClassInitializer::from(PyMaterialsManager {
            inner: Arc::new(cmm),
        })
        .add_subclass(Self {
            keys,
            source: source_object(keyring, materials_manager),
            made,
        }))
    }

    /// The required keys (a frozenset).
    #[getter]
    fn required_encryption_context_keys<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyFrozenSet>> {
        str_set(py, &self.keys)
    }
}

/// Where materials come from.
#[derive(Clone)]
pub(crate) enum Source {
    Keyring(Arc<dyn kms_envelope::Keyring>),
    Manager(Arc<dyn MaterialsManager>),
}

impl Source {
    pub(crate) fn into_manager(self) -> Arc<dyn MaterialsManager> {
        match self {
            Source::Keyring(k) => Arc::new(CoreDefault::new(k)),
            Source::Manager(m) => m,
        }
    }
}

/// Exactly one of `keyring` and `materials_manager` (a Python keyring's
/// [`crate::gc::CoreObject`] kept in `made`).
pub(crate) fn source(
    keyring: Option<&Bound<'_, PyAny>>,
    materials_manager: Option<&Bound<'_, PyAny>>,
    made: &mut Made,
) -> PyResult<Source> {
    let keyring = keyring.filter(|k| !k.is_none());
    let manager = materials_manager.filter(|m| !m.is_none());
    match (keyring, manager) {
        (Some(k), None) => Ok(Source::Keyring(keyring_arc(k, made)?)),
        (None, Some(m)) => Ok(Source::Manager(manager_arc(m)?)),
        (Some(_), Some(_)) => Err(PyTypeError::new_err(
            "pass keyring= or materials_manager=, not both",
        )),
        (None, None) => Err(PyTypeError::new_err(
            "missing required keyword argument: keyring= (or materials_manager=)",
        )),
    }
}

fn source_manager(
    keyring: Option<&Bound<'_, PyAny>>,
    materials_manager: Option<&Bound<'_, PyAny>>,
    made: &mut Made,
) -> PyResult<Arc<dyn MaterialsManager>> {
    Ok(source(keyring, materials_manager, made)?.into_manager())
}

fn manager_arc(obj: &Bound<'_, PyAny>) -> PyResult<Arc<dyn MaterialsManager>> {
    obj.cast::<PyMaterialsManager>()
        .map(|m| Arc::clone(&m.get().inner))
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "materials_manager must be a kms_envelope MaterialsManager, not '{}'",
                type_name(obj)
            ))
        })
}

/// A capacity-bounded, least-recently-used cache of materials for
/// :class:`CachingMaterialsManager`, safe to share between threads and
/// between managers (which keep their entries apart by partition ID).
#[pyclass(frozen, module = "kms_envelope", name = "LocalMaterialsCache")]
pub(crate) struct PyLocalMaterialsCache {
    inner: Arc<LocalMaterialsCache>,
    capacity: usize,
}

impl PyLocalMaterialsCache {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(LocalMaterialsCache::new(capacity)),
            capacity,
        }
    }
}

#[pymethods]
impl PyLocalMaterialsCache {
    #[new]
    #[pyo3(signature = (capacity=convert::Int::new(1000)), text_signature = "(capacity=1000)")]
    fn new(capacity: convert::Int) -> PyResult<Self> {
        Ok(Self::with_capacity(capacity.within(
            "capacity",
            0,
            i64::MAX as u64,
        )?))
    }

    /// The most entries the cache holds (0 caches nothing).
    #[getter]
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every entry.
    fn clear(&self) {
        self.inner.clear();
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "LocalMaterialsCache(capacity={}, entries={})",
            self.capacity,
            self.inner.len()
        )
    }
}

/// Reuses data keys so that fewer calls reach the key service.
///
/// Encryption materials are reused for at most ``max_age`` seconds,
/// ``max_messages`` messages (1 to 2**63 - 1; 2**32 by default) and ``max_bytes``
/// bytes of plaintext (one-shot
/// :func:`encrypt`, and streams given a ``plaintext_length``); decryption
/// materials for the same encrypted data keys and context, for at most
/// ``max_age`` seconds. Materials of the three ``NO_KDF`` suites are never
/// cached. On a miss, materials come from ``materials_manager`` or from a
/// :class:`DefaultMaterialsManager` over ``keyring``. Managers sharing a
/// ``cache`` share entries only if their ``partition_id`` is equal (default:
/// unique to each manager).
#[pyclass(frozen, extends = PyMaterialsManager, module = "kms_envelope", name = "CachingMaterialsManager")]
pub(crate) struct CachingMaterialsManager {
    partition: String,
    cache: Py<PyLocalMaterialsCache>,
    /// The keyring or manager it asks on a miss (`crate::gc`).
    source: Option<Py<PyAny>>,
    made: Made,
}

#[pymethods]
impl CachingMaterialsManager {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.cache)?;
        visit.call(&self.source)?;
        self.made.visit(&visit)
    }

    #[new]
    #[pyo3(signature = (*, max_age, keyring=None, materials_manager=None, cache=None,
        max_messages=None, max_bytes=None, partition_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        max_age: convert::Seconds,
        keyring: Option<&Bound<'_, PyAny>>,
        materials_manager: Option<&Bound<'_, PyAny>>,
        cache: Option<Bound<'_, PyLocalMaterialsCache>>,
        max_messages: Option<convert::Int>,
        max_bytes: Option<convert::Int>,
        partition_id: Option<convert::Text>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let max_age = convert::seconds(max_age, "max_age")?;
        let mut made = Made::default();
        let underlying = source_manager(keyring, materials_manager, &mut made)?;
        let cache = match cache {
            Some(c) => c,
            None => Bound::new(py, PyLocalMaterialsCache::with_capacity(1000))?,
        };
        let mut builder = CoreCaching::builder(max_age)
            .materials_manager(underlying)
            .cache(Arc::clone(&cache.get().inner));
        if let Some(n) = max_messages {
            builder = builder.max_messages(n.within("max_messages", 1, i64::MAX as u64)?);
        }
        if let Some(n) = max_bytes {
            builder = builder.max_bytes(n.within("max_bytes", 0, i64::MAX as u64)?);
        }
        if let Some(convert::Text(p)) = partition_id {
            builder = builder.partition_id(p);
        }
        let cmm = core_result(builder.build())?;
        let partition = cmm.partition_id().to_owned();
        Ok(PyClassInitializer::from(PyMaterialsManager {
            inner: Arc::new(cmm),
        })
        .add_subclass(Self {
            partition,
            cache: cache.unbind(),
            source: source_object(keyring, materials_manager),
            made,
        }))
    }

    /// The partition ID.
    #[getter]
    fn partition_id(&self) -> &str {
        &self.partition
    }

    /// The cache.
    #[getter]
    fn cache(&self, py: Python<'_>) -> Py<PyLocalMaterialsCache> {
        self.cache.clone_ref(py)
    }
}
