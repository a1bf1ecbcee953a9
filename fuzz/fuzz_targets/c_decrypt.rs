//! Fuzz target `c_decrypt`: see [`kms_envelope_fuzz::targets::c_decrypt`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_envelope_fuzz::targets::c_decrypt(data));
