//! Fuzz target `decrypt`: see [`kms_envelope_fuzz::targets::decrypt`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_envelope_fuzz::targets::decrypt(data));
