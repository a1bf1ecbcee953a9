# kms-envelope: build, demo and test entry points.
#
#   make demo   build the CLI, make a local key, encrypt, inspect, decrypt, compare
#   make test   everything CI runs (installs what it needs on a fresh machine)
#
# Build output goes to $(CARGO_TARGET_DIR) (default: ~/.cache/kms-envelope/target)
# so repeated runs in fresh clones reuse the compiled dependencies.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CACHE_DIR        ?= $(HOME)/.cache/kms-envelope
export CARGO_TARGET_DIR ?= $(CACHE_DIR)/target
VENV             ?= $(CACHE_DIR)/venv
PYTHON           := $(VENV)/bin/python
CARGO            ?= cargo
# The official vectors: VECTORS=DIR, else $KMS_ENVELOPE_VECTORS, else beside
# the clone. Every test suite (Rust, C, Python, JS) reads them from here.
VECTORS          ?= $(or $(KMS_ENVELOPE_VECTORS),$(abspath ../shared/vectors/esdk))
export KMS_ENVELOPE_VECTORS := $(abspath $(VECTORS))
CLI              := $(CARGO_TARGET_DIR)/debug/kms-envelope
WORK             := $(CARGO_TARGET_DIR)/kms-envelope-work

.PHONY: help setup setup-rust setup-python build demo test lint test-rust \
        test-rustcrypto test-wasm test-vectors test-interop clean

help:
	@echo "make demo   - encrypt and decrypt a file with a local key (no cloud account)"
	@echo "make test   - formatting, lints, unit/integration tests on both crypto backends,"
	@echo "              the official ESDK vectors, wasm32 build, interop with the Python ESDK"

## ---------------------------------------------------------------- front ends
# Each front end adds its setup and test targets in mk/<front end>.mk:
#   FRONTEND_SETUP += setup-x      FRONTEND_TESTS += test-x      BENCHES += bench-x
FRONTEND_SETUP :=
FRONTEND_TESTS :=
BENCHES :=
-include $(sort $(wildcard mk/*.mk))

## ---------------------------------------------------------------- setup
setup: setup-rust setup-python $(FRONTEND_SETUP)

setup-rust:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# The official Python ESDK, for interop tests, in a venv outside the clone.
setup-python: $(VENV)/.ready
$(VENV)/.ready: tests/interop/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
	touch $@

## ---------------------------------------------------------------- build
build:
	$(CARGO) build -p kms-envelope-cli

## ---------------------------------------------------------------- demo
demo: build
	@scripts/demo.sh "$(CLI)" "$(CURDIR)/demo-out"

## ---------------------------------------------------------------- test
test: setup lint test-rust test-rustcrypto test-wasm test-vectors test-interop $(FRONTEND_TESTS)
	@echo "make test: all passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p kms-envelope --features rustcrypto --all-targets -- -D warnings
	# The core's API docs build without broken links, with and without its features.
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -q -p kms-envelope --no-deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -q -p kms-envelope --no-deps --features js-legacy-order,host-crypto

# Unit, doc and integration tests (AWS-LC backend), CLI tests included.
test-rust:
	$(CARGO) test --workspace

# The same core tests and the official vectors on the RustCrypto backend.
test-rustcrypto:
	$(CARGO) test --workspace --features kms-envelope/rustcrypto

test-wasm:
	$(CARGO) build --target wasm32-unknown-unknown -p kms-envelope

# Every official vector manifest through the CLI.
test-vectors: build
	@for m in c-from-dafny-4.1.0/decrypt-manifest.json net-4.0.1/manifest.json \
	          net-4.0.0-valid/manifest.json net-4.0.0-invalid/manifest.json \
	          python-commitment-kat/commitment-test-vectors.json \
	          python-decrypt-oracle/decrypt_vectors.json; do \
	  echo "== vectors decrypt $$m"; \
	  $(CLI) vectors decrypt "$(VECTORS)/$$m" | tail -n 1; \
	done

# Both directions against the official Python ESDK (aws-encryption-sdk on PyPI).
test-interop: build setup-python
	@rm -rf $(WORK)/interop && mkdir -p $(WORK)/interop
	@echo "== Python ESDK encrypts, kms-envelope decrypts"
	$(PYTHON) tests/interop/esdk_python.py generate $(WORK)/interop/from-python
	$(CLI) vectors decrypt $(WORK)/interop/from-python/manifest.json | tail -n 1
	@echo "== kms-envelope encrypts, Python ESDK decrypts"
	$(CLI) vectors encrypt tests/interop/encrypt-manifest.json --out $(WORK)/interop/from-rust | tail -n 1
	$(PYTHON) tests/interop/esdk_python.py decrypt $(WORK)/interop/from-rust/manifest.json | tail -n 1

clean:
	$(CARGO) clean
	rm -rf $(WORK)
