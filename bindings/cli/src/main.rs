//! The `kms-envelope` binary; everything happens in the library.

fn main() {
    kms_envelope_cli::interrupt::install();
    std::process::exit(kms_envelope_cli::run(std::env::args_os()));
}
