//! Fuzz target `header`: see [`kms_envelope_fuzz::targets::header`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_envelope_fuzz::targets::header(data));
