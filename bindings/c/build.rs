//! Generates the C header with cbindgen and sets the shared library's SONAME.
//!
//! The header is always written to `$OUT_DIR/kms_envelope.h`; `make` (see
//! `mk/c.mk`) compares it with the committed `include/kms_envelope.h`. With
//! `KMSE_WRITE_HEADER=1` it is also written to `include/kms_envelope.h`
//! (`make c-header` does the same by copying). Normal builds never touch the
//! source tree.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KMSE_WRITE_HEADER");

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        // `make` installs the library as libkms_envelope.so.0 with a
        // libkms_envelope.so symlink; programs record the SONAME.
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkms_envelope.so.0");
    }

    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml is not a valid cbindgen configuration");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the C header");
    bindings.write_to_file(out_dir.join("kms_envelope.h"));
    if env::var("KMSE_WRITE_HEADER").as_deref() == Ok("1") {
        bindings.write_to_file(crate_dir.join("../../include/kms_envelope.h"));
    }
}
