## ---------------------------------------------------------------- differential test
# tests/differential (its own workspace): kms-envelope against aws-esdk 1.2.4, the
# official Rust ESDK. Random suites, frame lengths, contexts, plaintexts and raw
# AES/RSA keyrings; both SDKs encrypt, both decrypt every message unchanged,
# changed (truncated, bit-flipped, bytes inserted/deleted, ...) and in crafted
# reader-only forms, and must agree. Not part of `make test`: aws-esdk's first
# release build takes ~18 min on 2 cores (at nice 10; cached in
# $(DIFF_TARGET_DIR) afterwards). `make fuzz` runs it (FUZZ_TARGETS).
#
#   make fuzz-differential   build and run; knobs (environment):
#     DIFF_CASES=3000  DIFF_SEED=20260301  DIFF_SECONDS=<budget>  DIFF_MUTATIONS=3
#     DIFF_CRAFTED=50 (percent)  DIFF_ONLY=<case>  DIFF_SAVE_DIR=tests/differential/saved
#
# Each disagreement is saved as JSON in tests/differential/saved/ and fails the run;
# `make test` replays every saved file against kms-envelope alone
# (tests/differential_replay.rs). Documented deviations (message-format.md section 18)
# are counted, not failed.

FUZZ_TARGETS += fuzz-differential

.PHONY: fuzz-differential

DIFF_JOBS ?= 2
# Its own target dir: aws-esdk's release build is large and long, and is kept
# apart from the SDK's own builds.
DIFF_TARGET_DIR ?= $(CACHE_DIR)/target-diff

fuzz-differential:
	CARGO_TARGET_DIR="$(DIFF_TARGET_DIR)" nice -n 10 $(CARGO) build --release -j $(DIFF_JOBS) \
	  --manifest-path tests/differential/Cargo.toml
	"$(DIFF_TARGET_DIR)/release/kms-envelope-differential"
