//! The native module `kms_envelope._native`: Python bindings of the
//! kms-envelope core, built by maturin from `python/pyproject.toml`.
//!
//! This crate holds no cryptography and no message-format logic: it converts
//! types, maps errors to the exception classes of `kms_envelope.exceptions`,
//! and drives the blocking core API with the GIL released. Python keyrings
//! (any object with `on_encrypt` / `on_decrypt`) become core keyrings whose
//! methods re-acquire the GIL to call the object.

use pyo3::prelude::*;

mod alloc;
mod api;
mod cmm;
mod convert;
mod errors;
mod gc;
mod host_hash;
mod keyrings;
mod kms;
mod stream;

#[global_allocator]
static ALLOCATOR: alloc::HugePageAlloc = alloc::HugePageAlloc;

/// Every algorithm suite: `(id, name, committing, signing, data key length,
/// message format version)`, for the Python `AlgorithmSuite` enum.
#[pyfunction]
fn _suite_table() -> Vec<(u16, &'static str, bool, bool, usize, u8)> {
    kms_envelope::AlgorithmSuite::ALL
        .iter()
        .map(|s| {
            (
                s.id(),
                s.name(),
                s.is_committing(),
                s.is_signing(),
                s.data_key_len(),
                s.message_format_version(),
            )
        })
        .collect()
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CRYPTO_BACKEND", kms_envelope::CRYPTO_BACKEND)?;
    m.add_function(wrap_pyfunction!(api::encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(api::decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(api::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(_suite_table, m)?)?;
    m.add_function(wrap_pyfunction!(host_hash::_hashlib_updates, m)?)?;
    m.add_class::<api::DecryptResult>()?;
    m.add_class::<api::PyMessageHeader>()?;
    m.add_class::<keyrings::PyEncryptedDataKey>()?;
    m.add_class::<keyrings::PyEncryptionMaterials>()?;
    m.add_class::<keyrings::PyDecryptionMaterials>()?;
    m.add_class::<keyrings::NativeKeyring>()?;
    m.add_class::<keyrings::RawAesKeyring>()?;
    m.add_class::<keyrings::RawRsaKeyring>()?;
    m.add_class::<keyrings::MultiKeyring>()?;
    m.add_class::<kms::PyAwsKmsClient>()?;
    m.add_class::<kms::AwsKmsKeyring>()?;
    m.add_class::<kms::AwsKmsDiscoveryKeyring>()?;
    m.add_class::<cmm::PyMaterialsManager>()?;
    m.add_class::<cmm::DefaultMaterialsManager>()?;
    m.add_class::<cmm::RequiredEncryptionContextMaterialsManager>()?;
    m.add_class::<cmm::CachingMaterialsManager>()?;
    m.add_class::<cmm::PyLocalMaterialsCache>()?;
    m.add_class::<stream::PyStreamEncryptor>()?;
    m.add_class::<stream::PyStreamDecryptor>()?;
    Ok(())
}
