#!/usr/bin/env python3
"""Compiles every ```c block of the C documentation against the real header.

    python3 bindings/c/tests/docs/check.py [--cc gcc] [--cflags "..."]
        [--include-dir include] README.md=2 docs/c.md=11

Run from the repository root (`make test-c` does, through the target
c-doc-snippets). Each FILE=COUNT names a Markdown file and how many ```c
blocks it holds: a different count fails, so a block whose fence was renamed
(```C, ```h) cannot drop out of the check unnoticed. After adding or removing
a block on purpose, change the count in mk/c.mk.

The blocks are fragments for readers, so each one is compiled, alone, as
one translation unit:

1. preamble.h first (`-include`): the standard headers, kms_envelope.h and
   the variables and functions a reader supplies (`key`, `msg`, `msg_len`,
   `my_kms_encrypt`, ...). A block may declare those names itself.
2. Lines of the block that are top-level C stay at file scope, in order:
   preprocessor lines (`#include <kms_envelope.h>`) and function
   definitions (callbacks). A definition starts at a line in column 0 that
   reads `TYPE name(`, type and name on that line (no keyword such as
   `return` first), with `{` before any `;`, and ends at the next line that
   is exactly `}`.
3. All other lines, in order, form the body of `void kmse_doc_block(void)`.
   A definition of another shape lands there too and fails loudly (ISO C
   forbids nested functions), never silently.

`#line` directives map every line back to the Markdown file, so errors read
`docs/c.md:452:9: error: ...`. The compiler runs with -fsyntax-only: the
blocks are checked against the API (names, argument counts and types,
constants), not linked or run. Python 3 standard library only.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PREAMBLE = os.path.join(HERE, "preamble.h")

# Added to the project's C flags (C_CFLAGS of mk/c.mk). Calls to unknown
# functions, wrong argument counts and mismatched pointer or integer types
# are errors. Only "unused" warnings are off: a fragment may declare
# something to show its type, and a callback may ignore a parameter.
CHECK_FLAGS = [
    "-fsyntax-only",
    "-pedantic",
    "-Werror=implicit-function-declaration",
    "-Werror=incompatible-pointer-types",
    "-Werror=int-conversion",
    "-Wno-unused-variable",
    "-Wno-unused-but-set-variable",
    "-Wno-unused-parameter",
    "-Wno-unused-function",
]

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")
# `TYPE name(` at the start of a line: at least one word (type, qualifier,
# `static`) then the declarator's name and its parenthesis.
DEFINITION = re.compile(r"(?:[A-Za-z_]\w*[\s*]+)+[A-Za-z_]\w*\s*\(")
KEYWORDS = {"return", "else", "case", "goto", "sizeof", "typedef", "do", "if", "for", "while"}


class DocError(Exception):
    """A problem with the Markdown itself (count, unclosed fence)."""


def c_blocks(path):
    """The ```c blocks of a Markdown file: [(first content line number, lines)]."""
    blocks = []
    fence = None  # (indent, marker, is_c, start line, lines) of the open fence
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f.read().splitlines(), start=1):
            if fence is None:
                m = FENCE.match(line)
                if m:
                    indent, marker, info = m.groups()
                    fence = (len(indent), marker, info == "c", number + 1, [])
                continue
            indent, marker, is_c, start, lines = fence
            stripped = line.strip()
            if stripped.startswith(marker) and set(stripped) == {marker[0]}:
                if is_c:
                    blocks.append((start, lines))
                fence = None
                continue
            # Content of a fence indented in a list item loses that indent.
            lines.append(line[indent:] if line[:indent].isspace() else line)
    if fence is not None:
        raise DocError(f"{path}:{fence[3] - 1}: code fence never closed")
    return blocks


def starts_definition(lines, i):
    """Whether lines[i] opens a top-level function definition (see above)."""
    line = lines[i]
    if not line or line[0].isspace() or not DEFINITION.match(line):
        return False
    if line.split(None, 1)[0].rstrip("(") in KEYWORDS:
        return False
    rest = "\n".join(lines[i:])
    brace, semicolon = rest.find("{"), rest.find(";")
    return brace != -1 and (semicolon == -1 or brace < semicolon)


def translation_unit(path, start, lines):
    """The C source of one block: top-level lines, then the rest in a function."""
    top, body = [], []  # chunks: (first line number, [lines])

    def add(chunks, number, line):
        if chunks and chunks[-1][0] + len(chunks[-1][1]) == number:
            chunks[-1][1].append(line)
        else:
            chunks.append((number, [line]))

    i = 0
    while i < len(lines):
        if lines[i].startswith("#"):
            add(top, start + i, lines[i])
            i += 1
        elif starts_definition(lines, i):
            end = i
            while end < len(lines) and lines[end].rstrip() != "}":
                end += 1
            if end == len(lines):
                raise DocError(f"{path}:{start + i}: function definition without a closing "
                               "'}' alone in column 0")
            for j in range(i, end + 1):
                add(top, start + j, lines[j])
            i = end + 1
        else:
            add(body, start + i, lines[i])
            i += 1

    name = c_string(path)
    out = []
    for number, chunk in top:
        out.append(f"#line {number} {name}")
        out.extend(chunk)
    out.append('#line 1 "(check.py: the wrapper of the block)"')
    out.append("void kmse_doc_block(void);")
    out.append("void kmse_doc_block(void) {")
    for number, chunk in body:
        out.append(f"#line {number} {name}")
        out.extend(chunk)
    out.append("}")
    return "\n".join(out) + "\n"


def c_string(text):
    """A C string literal for a file name in #line."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cc", default="gcc", help="C compiler (default: gcc)")
    parser.add_argument("--cflags", default="-std=c99 -Wall -Wextra -Werror",
                        help="the project's C flags (make passes C_CFLAGS)")
    parser.add_argument("--include-dir", default="include",
                        help="folder of kms_envelope.h (default: include)")
    parser.add_argument("--show", action="store_true",
                        help="print each translation unit before compiling it")
    parser.add_argument("files", nargs="+", metavar="FILE=COUNT",
                        help="a Markdown file and its number of ```c blocks")
    args = parser.parse_args()

    command = [*shlex.split(args.cc), *shlex.split(args.cflags), *CHECK_FLAGS,
               "-I", args.include_dir, "-include", PREAMBLE, "-x", "c", "-"]
    failures = []
    summary = []
    for spec in args.files:
        path, sep, count = spec.rpartition("=")
        if not sep or not path or not count.isdigit():
            parser.error(f"expected FILE=COUNT, got {spec!r}")
        try:
            blocks = c_blocks(path)
            if len(blocks) != int(count):
                raise DocError(f"{path}: {len(blocks)} ```c blocks, expected {count} (a fence "
                               "renamed or a block added or removed? after a deliberate change, "
                               "update the count in mk/c.mk)")
            units = [(start, translation_unit(path, start, lines)) for start, lines in blocks]
        except (DocError, OSError) as e:
            failures.append(str(e))
            continue
        for start, source in units:
            if args.show:
                print(f"--- {path}:{start}\n{source}", end="")
            result = subprocess.run(command, input=source, capture_output=True, text=True)
            if result.returncode != 0:
                sys.stderr.write(result.stdout + result.stderr)
                failures.append(f"{path}:{start}: this ```c block does not compile against "
                                f"{args.include_dir}/kms_envelope.h")
        summary.append(f"{path} ({len(blocks)})")

    for failure in failures:
        print(f"check.py: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"== C doc snippets: every ```c block of {', '.join(summary)} compiles against "
          f"{args.include_dir}/kms_envelope.h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
