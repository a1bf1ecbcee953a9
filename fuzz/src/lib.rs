//! Fuzz targets for kms-envelope.
//!
//! Each function in [`targets`] takes arbitrary bytes, runs one parser or
//! decrypt entry point on them and asserts the properties that must hold for
//! every input: no panic, no allocation larger than a small bound over the
//! input's size, round trips where the format has them, and agreement
//! between entry points that must agree. The libFuzzer binaries in
//! `fuzz_targets/` call them; `tests/replay.rs` replays the committed corpus
//! and the regression inputs in `../tests/fuzz-regressions/` through them on
//! stable Rust, as part of `make test`.

pub mod alloc_bound;
pub mod keys;
pub mod targets;

/// Every target, by name: the names of the binaries in `fuzz_targets/`, of
/// the corpus directories and of the regression directories.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("header", targets::header),
    ("decrypt", targets::decrypt),
    ("stream_decrypt", targets::stream_decrypt),
    ("context", targets::context),
    ("edk", targets::edk),
    ("c_decrypt", targets::c_decrypt),
];
