//! Turns the ```rust blocks of README.md and docs/*.md into Rust functions.
//!
//! Blocks under one heading form one section and become one function, in
//! the order they appear: a block may use what an earlier block of its
//! section defined, as a reader following the text would. Each function
//! starts with a preamble that defines what the fragments take as given
//! (see `src/lib.rs`) and ends with `Ok(())`, so the fragments' `?` works.
//! The fragments are copied verbatim. `$OUT_DIR/doc_examples.rs` holds the
//! functions and the `SECTIONS` table that `src/lib.rs` includes.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process;

/// Files (relative to the repository root) that must hold at least one
/// Rust block: a renamed fence or a moved file fails the build instead of
/// silently dropping the examples from the tests.
const MUST_HAVE_RUST: &[&str] = &["README.md"];

/// A section whose code contains one of these needs AWS KMS or a KMS
/// server: it is compiled but never run.
const NETWORK_MARKERS: &[&str] = &["AwsKmsClient", "kms_envelope_aws", "http://", "https://"];

/// The start of every generated function. The names are the ones the
/// fragments use without defining them; their values live in `src/lib.rs`.
const PREAMBLE: &str =
    "    // Given by the text around the fragments (crates/doc-examples/src/lib.rs).
    let wrapping_key = crate::given::wrapping_key();
    let plaintext = crate::given::plaintext();
";

struct Block {
    /// 1-based position among the Rust blocks of its file.
    index: usize,
    /// 1-based line of the opening fence.
    line: usize,
    code: String,
}

struct Section {
    file: String,
    heading: String,
    blocks: Vec<Block>,
}

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?;
    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    let root = Path::new(&manifest_dir).join("../..");

    let mut files = vec!["README.md".to_string()];
    files.extend(markdown_files(&root, "docs")?);
    // A new file in docs/ reruns the script too.
    println!("cargo:rerun-if-changed={}", root.join("docs").display());

    let mut sections = Vec::new();
    for file in &files {
        let path = root.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let found = parse(file, &text)?;
        if found.is_empty() && MUST_HAVE_RUST.contains(&file.as_str()) {
            return Err(format!(
                "{file} has no ```rust code block, but the documentation tests expect some \
                 there (crates/doc-examples/build.rs, MUST_HAVE_RUST); was a fence renamed?"
            ));
        }
        sections.extend(found);
    }
    for file in MUST_HAVE_RUST {
        if !files.iter().any(|f| f == file) {
            return Err(format!(
                "{file} is missing; crates/doc-examples/build.rs expects Rust blocks in it"
            ));
        }
    }

    let out = PathBuf::from(out_dir).join("doc_examples.rs");
    fs::write(&out, generate(&sections)?)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// The `*.md` files directly in `root/dir`, as `dir/name.md`, sorted.
fn markdown_files(root: &Path, dir: &str) -> Result<Vec<String>, String> {
    let path = root.join(dir);
    let entries =
        fs::read_dir(&path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && name.ends_with(".md") {
            files.push(format!("{dir}/{name}"));
        }
    }
    files.sort();
    Ok(files)
}

/// The Rust blocks of one markdown file, grouped by heading.
///
/// Not a full CommonMark parser: it knows fenced blocks (``` or ~~~, any
/// indentation, closed by a fence of the same character at least as long)
/// and ATX headings (`#` to `######`), which is all these files use.
fn parse(file: &str, text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    let mut heading = String::new();
    // Counts headings, so that two sections with the same title stay apart.
    let mut heading_number = 0usize;
    let mut section_of_last_block = None;
    let mut rust_blocks = 0usize;
    let mut lines = text.lines().enumerate();

    while let Some((number, line)) = lines.next() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];

        if let Some(title) = atx_heading(rest) {
            if indent <= 3 {
                heading = title.to_string();
                heading_number += 1;
            }
            continue;
        }
        let Some((fence_char, fence_len)) = fence(rest) else {
            continue;
        };
        let info = rest[fence_len..].trim();
        if fence_char == '`' && info.contains('`') {
            continue; // inline code, not a fence
        }

        let mut code = String::new();
        let mut closed = false;
        for (_, body_line) in lines.by_ref() {
            let body_indent = body_line.len() - body_line.trim_start_matches(' ').len();
            let body_rest = &body_line[body_indent..];
            if let Some((c, len)) = fence(body_rest) {
                if c == fence_char && len >= fence_len && body_rest[len..].trim().is_empty() {
                    closed = true;
                    break;
                }
            }
            code.push_str(&body_line[body_indent.min(indent)..]);
            code.push('\n');
        }
        if !closed {
            return Err(format!("{file}:{}: code fence is never closed", number + 1));
        }

        let mut words = info.split(|c: char| c == ',' || c.is_whitespace());
        if words.next() != Some("rust") {
            continue;
        }
        if !info.trim_start_matches("rust").trim().is_empty() {
            return Err(format!(
                "{file}:{}: ```{info}: every ```rust block is compiled (crates/doc-examples); \
                 attributes are not supported. Use another language tag (```text) for code \
                 that must not be compiled.",
                number + 1
            ));
        }
        rust_blocks += 1;
        let block = Block {
            index: rust_blocks,
            line: number + 1,
            code,
        };
        if section_of_last_block == Some(heading_number) {
            if let Some(section) = sections.last_mut() {
                section.blocks.push(block);
                continue;
            }
        }
        section_of_last_block = Some(heading_number);
        sections.push(Section {
            file: file.to_string(),
            heading: heading.clone(),
            blocks: vec![block],
        });
    }
    Ok(sections)
}

/// The title of an ATX heading line (indentation already removed).
fn atx_heading(line: &str) -> Option<&str> {
    let level = line.len() - line.trim_start_matches('#').len();
    let after = &line[level..];
    if (1..=6).contains(&level) && (after.is_empty() || after.starts_with([' ', '\t'])) {
        Some(after.trim().trim_end_matches('#').trim_end())
    } else {
        None
    }
}

/// The character and length of a code fence opening `line`, if any.
fn fence(line: &str) -> Option<(char, usize)> {
    let c = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.len() - line.trim_start_matches(c).len();
    (len >= 3).then_some((c, len))
}

/// `README.md` -> `readme`, `docs/kms.md` -> `docs_kms`.
fn file_ident(file: &str) -> String {
    file.trim_end_matches(".md")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn needs_network(section: &Section) -> bool {
    section
        .blocks
        .iter()
        .any(|b| NETWORK_MARKERS.iter().any(|m| b.code.contains(m)))
}

fn generate(sections: &[Section]) -> Result<String, String> {
    let mut out = String::from(
        "// Generated by crates/doc-examples/build.rs from README.md and docs/*.md; do not edit.\n",
    );
    let mut names: Vec<String> = Vec::new();
    let mut table = String::from("\n/// Every section with Rust blocks, in file order.\npub const SECTIONS: &[crate::Section] = &[\n");

    for section in sections {
        let indices: Vec<String> = section.blocks.iter().map(|b| b.index.to_string()).collect();
        let name = format!("{}_{}", file_ident(&section.file), indices.join("_"));
        if names.contains(&name) {
            return Err(format!("two sections would both become `{name}`"));
        }
        let lines: Vec<String> = section.blocks.iter().map(|b| b.line.to_string()).collect();
        let network = needs_network(section);

        // Formatting into a String cannot fail; the results are ignored.
        let _ = writeln!(
            out,
            "\n/// `{}`, section \"{}\": Rust block{} {} (line{} {}){}.",
            section.file,
            section.heading,
            if indices.len() > 1 { "s" } else { "" },
            indices.join(", "),
            if lines.len() > 1 { "s" } else { "" },
            lines.join(", "),
            if network {
                "; needs AWS KMS or a KMS server, so only compiled"
            } else {
                ""
            },
        );
        // The preamble's names go unused in some sections.
        out.push_str("#[allow(unused_variables)]\n");
        let _ = writeln!(
            out,
            "pub fn {name}() -> Result<(), Box<dyn std::error::Error>> {{"
        );
        out.push_str(PREAMBLE);
        for block in &section.blocks {
            let _ = writeln!(out, "\n    // {} line {}", section.file, block.line);
            out.push_str(&block.code);
        }
        out.push_str("\n    Ok(())\n}\n");

        let _ = writeln!(
            table,
            "    crate::Section {{ file: {:?}, heading: {:?}, name: {:?}, blocks: &[{}], needs_network: {network}, run: {name} }},",
            section.file,
            section.heading,
            name,
            section
                .blocks
                .iter()
                .map(|b| format!("crate::Block {{ index: {}, line: {} }}", b.index, b.line))
                .collect::<Vec<_>>()
                .join(", "),
        );
        names.push(name);
    }
    table.push_str("];\n");
    out.push_str(&table);
    Ok(out)
}
