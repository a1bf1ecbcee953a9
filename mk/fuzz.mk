## ---------------------------------------------------------------- fuzzing
# fuzz/ (its own cargo workspace): one libFuzzer target per parser and entry
# point, run with `cargo +nightly fuzz`. See docs/threat-model.md.
#
#   make fuzz             every target for FUZZ_SECONDS (default 60) each, then
#                         whatever else is in FUZZ_TARGETS (the differential test);
#                         prints executions and findings per target
#   make fuzz FUZZ_SECONDS=600 FUZZ_JOBS=2 FUZZ_ONLY="header decrypt"
#   make fuzz-corpus      rebuild the seed corpus fuzz/corpus/ from the vectors
#   make test-fuzz-replay (part of `make test`) the seed corpus and
#                         tests/fuzz-regressions/ through every target, on stable
#
# New inputs the fuzzer finds go to $(FUZZ_WORK)/corpus (outside the clone);
# crashes to fuzz/artifacts/<target>/. A crash input, once fixed, is copied to
# tests/fuzz-regressions/<target>/ so that `make test` replays it.

FRONTEND_TESTS += test-fuzz-replay

.PHONY: fuzz fuzz-libfuzzer fuzz-corpus test-fuzz-replay setup-fuzz

FUZZ_SECONDS      ?= 60
FUZZ_ALL          := header decrypt stream_decrypt context edk c_decrypt
FUZZ_ONLY         ?= $(FUZZ_ALL)
FUZZ_WORK         ?= $(CACHE_DIR)/fuzz
FUZZ_CARGO_FUZZ   := 0.13.2
# Nightly builds of the fuzz targets get their own target dir: their flags
# differ from every stable build's.
FUZZ_TARGET_DIR   ?= $(CACHE_DIR)/target-fuzz
# Targets fuzzed at once (each uses one core).
FUZZ_JOBS         ?= 1

fuzz: fuzz-libfuzzer $(FUZZ_TARGETS)

setup-fuzz:
	@rustup toolchain list | grep -q '^nightly' \
	  || rustup toolchain install nightly --profile minimal
	@if [ "$$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $(FUZZ_CARGO_FUZZ)" ]; then \
	  cargo install cargo-fuzz --version $(FUZZ_CARGO_FUZZ) --locked; fi

fuzz-libfuzzer: setup-fuzz
	CARGO_TARGET_DIR="$(FUZZ_TARGET_DIR)" cargo +nightly fuzz build -O --fuzz-dir fuzz
	CARGO_TARGET_DIR="$(FUZZ_TARGET_DIR)" scripts/fuzz.sh "$(FUZZ_SECONDS)" "$(FUZZ_JOBS)" \
	  "$(FUZZ_WORK)" $(FUZZ_ONLY)

fuzz-corpus:
	cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example seed_corpus -- "$(VECTORS)"

test-fuzz-replay:
	$(CARGO) test --manifest-path fuzz/Cargo.toml --no-default-features
