//! Fuzz target `context`: see [`kms_envelope_fuzz::targets::context`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_envelope_fuzz::targets::context(data));
