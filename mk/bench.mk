## ---------------------------------------------------------------- bench
# make bench          everything below, one part after the other, then the report
# make bench-core     kms-envelope (Rust API), the hardware limits, CLI peak RSS
# make bench-peers    aws-esdk (Rust), aws-encryption-sdk (Python), @aws-crypto/client-node
# make bench-report   docs/benchmarks.md and docs/benchmarks.png from the last results
#
# Not part of `make test`. Knobs: BENCH_QUICK=1 (short smoke run: short rounds, 4 MiB
# messages, a 64 MiB CLI file), BENCH_RUST_PEER=0 (skip the official Rust ESDK, whose first
# release build takes ~18 min on 2 cores, longer at its default BENCH_PEER_JOBS=1, at
# nice 19 so that a shared machine stays usable; it is cached in $(CARGO_TARGET_DIR) afterwards).
# Front ends add their own bench targets to BENCHES (mk/<front end>.mk) and may leave
# results in docs/bench/<name>.md and/or docs/bench/<name>.json; the report merges them.
# The JSON form gets ratios against the limits and peers:
#   {"sdk": "...", "version": "...", "results": [{"workload": "encrypt-64MiB" | "decrypt-64MiB" |
#    "encrypt-1KiB" | "decrypt-1KiB", "suite": "0478" | "0578", "threads": N, "value": X,
#    "unit": "MB/s" | "msg/s"}, ...]}

BENCH_VENV      ?= $(CACHE_DIR)/bench-venv
BENCH_PYTHON    := $(BENCH_VENV)/bin/python
BENCH_RESULTS   ?= $(CARGO_TARGET_DIR)/bench-results
BENCH_QUICK     ?= 0
BENCH_RUST_PEER ?= 1
BENCH_PEER_JOBS ?= 1
BENCH_FLAGS     := $(if $(filter 1,$(BENCH_QUICK)),--quick)
KMS_BENCH       := $(CARGO_TARGET_DIR)/release/kms-bench
BENCH_CLI       := $(CARGO_TARGET_DIR)/release/kms-envelope
PEER_RUST_ESDK  := $(CARGO_TARGET_DIR)/release/peer-rust-esdk
PEER_NODE_DIR   := benches/peer-node

.PHONY: bench bench-core bench-peers bench-report

# BENCHES is only complete once every mk/*.mk is read, so it is expanded in the
# recipe (at run time), not as a prerequisite list (at read time). The parts
# run one at a time, never in parallel (even under make -j), since they time
# the machine; a part that fails is reported as "not measured" by the report.
bench:
	@rm -rf "$(BENCH_RESULTS)"
	@for part in bench-core bench-peers $(BENCHES); do \
	  $(MAKE) --no-print-directory $$part || echo "bench: $$part failed; the report marks what is missing" >&2; \
	done
	@$(MAKE) --no-print-directory bench-report

# Set-up, each step skipped once done: a venv for the Python peer and the chart,
# the Node peer's packages, GNU time (peak RSS of the CLI; without it the
# figure would include the harness's own size).
/usr/bin/time:
	-apt-get update -qq && apt-get install -y -qq --no-install-recommends time

$(BENCH_VENV)/.ready: benches/requirements.txt
	python3 -m venv "$(BENCH_VENV)"
	"$(BENCH_PYTHON)" -m pip install --quiet --disable-pip-version-check -r benches/requirements.txt
	touch "$@"

$(PEER_NODE_DIR)/node_modules/.ready: $(PEER_NODE_DIR)/package.json $(PEER_NODE_DIR)/package-lock.json
	cd $(PEER_NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch "$@"

bench-core: $(BENCH_VENV)/.ready /usr/bin/time
	$(CARGO) build --release --manifest-path benches/kms-bench/Cargo.toml
	$(CARGO) build --release -p kms-envelope-cli
	@rc=0; \
	"$(BENCH_PYTHON)" benches/run.py core --bin "$(KMS_BENCH)" --results "$(BENCH_RESULTS)" $(BENCH_FLAGS) || rc=1; \
	"$(BENCH_PYTHON)" benches/run.py cli --bin "$(BENCH_CLI)" --work "$(CARGO_TARGET_DIR)" \
	  --results "$(BENCH_RESULTS)" $(BENCH_FLAGS) || rc=1; \
	exit $$rc

bench-peers: $(BENCH_VENV)/.ready $(PEER_NODE_DIR)/node_modules/.ready
ifeq ($(BENCH_RUST_PEER),1)
	@echo "bench: building aws-esdk 1.2.4 (first time ~18 min on 2 cores, at low priority; cached afterwards)"
	nice -n 19 $(CARGO) build --release -j $(BENCH_PEER_JOBS) --manifest-path benches/peer-rust-esdk/Cargo.toml \
	  || echo "bench: the aws-esdk peer did not build; it is reported as not measured" >&2
endif
	"$(BENCH_PYTHON)" benches/run.py peers --results "$(BENCH_RESULTS)" $(BENCH_FLAGS) \
	  --python "$(BENCH_PYTHON)" --node-dir "$(PEER_NODE_DIR)" \
	  --rust-bin "$(if $(filter 1,$(BENCH_RUST_PEER)),$(PEER_RUST_ESDK))"

bench-report: $(BENCH_VENV)/.ready
	"$(BENCH_PYTHON)" benches/run.py report --results "$(BENCH_RESULTS)" --root "$(CURDIR)"
