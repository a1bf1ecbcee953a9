//! The Rust examples of `README.md` and `docs/*.md`, compiled as code.
//!
//! `build.rs` copies every ```rust block, verbatim, into a function: the
//! blocks under one heading form one function, in order, because later
//! blocks of a section use what earlier ones defined (`client`, `keyring`,
//! `message`). Each function first defines the names the text takes as given
//! (module [`given`]). Sections that use `kms-envelope-aws` or name a URL
//! need AWS KMS or a KMS server: they are compiled but never run.
//! `tests/doc_examples.rs` runs the others, each in a fresh directory that
//! holds the files of [`given::write_files`], and checks that no section was
//! lost.
//!
//! Building this crate is what keeps the documentation from drifting: a
//! block that no longer compiles fails `cargo build --workspace`.

use std::error::Error;

/// A Rust block of a markdown file.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    /// Its position among the file's Rust blocks, from 1.
    pub index: usize,
    /// The line of its opening fence, from 1.
    pub line: usize,
}

/// The Rust blocks under one heading, as one function.
#[derive(Clone, Copy, Debug)]
pub struct Section {
    /// The markdown file, relative to the repository root.
    pub file: &'static str,
    /// The heading the blocks stand under.
    pub heading: &'static str,
    /// The generated function's name, e.g. `readme_2_3_4`.
    pub name: &'static str,
    /// The blocks, in order.
    pub blocks: &'static [Block],
    /// Whether the code needs AWS KMS or a KMS server (then it is only compiled).
    pub needs_network: bool,
    /// The blocks, run one after the other; relative paths are taken from
    /// the current directory.
    pub run: fn() -> Result<(), Box<dyn Error>>,
}

/// What the documentation's fragments use without defining it.
pub mod given {
    use std::io;
    use std::path::Path;

    /// `wrapping_key`: the 32 bytes of a raw AES key.
    pub fn wrapping_key() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    /// `plaintext`: a bit more than 1 MiB, so that messages have many frames
    /// (4096 bytes each by default) and a short last one.
    pub fn plaintext() -> Vec<u8> {
        (0..(1 << 20) + 1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect()
    }

    /// The input files the fragments open: `big.bin`, holding [`plaintext`].
    pub fn write_files(dir: &Path) -> io::Result<()> {
        std::fs::write(dir.join("big.bin"), plaintext())
    }
}

include!(concat!(env!("OUT_DIR"), "/doc_examples.rs"));
