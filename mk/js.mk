## ---------------------------------------------------------------- JavaScript front end
# bindings/wasm (wasm-bindgen crate) -> pkg/dist (generated, not committed),
# wrapped by the hand-written ES modules of the npm package in pkg/src.
#
#   make build-js     the wasm module, wasm-bindgen glue and wasm-opt, into pkg/dist
#   make test-js      build, then the Node tests (node --test; the AWS KMS ones
#                     against a moto_server they start, from `make setup-moto`),
#                     the headless Chromium test and the packaging test (npm pack)
#   make bench-js     Node and browser figures beside @aws-crypto/client-node/-browser
#
# Tools: the wasm-bindgen CLI at the exact version of the crate (installed by
# cargo when missing), wasm-opt from npm `binaryen` (never Debian's), Debian's
# chromium driven by playwright-core.

FRONTEND_SETUP += setup-js
FRONTEND_TESTS += test-js
BENCHES += bench-js

.PHONY: setup-js build-js test-js test-js-node test-js-browser test-js-package bench-js js-size

JS_PKG        := pkg
JS_DIST       := $(JS_PKG)/dist
JS_WASM_NAME  := kms_envelope_wasm
# The version wasm-bindgen is pinned to in bindings/wasm/Cargo.toml.
JS_WB_VERSION  = $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' bindings/wasm/Cargo.toml)
JS_WASM_OUT    = $(CARGO_TARGET_DIR)/wasm32-unknown-unknown/release/$(JS_WASM_NAME).wasm
# Size-optimized release build of the wasm crate only (the workspace's
# [profile.release] is left alone); separate output paths keep these settings
# from invalidating native release builds.
JS_CARGO_ENV  := CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=true \
                 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_PANIC=abort
# ...except the primitives that run over every byte or dominate a small
# message: at opt-level 3 the software AES-GCM, SHA-2 and P-384 in wasm run
# 2 to 3 times faster than at "s", for about 5 KB more gzipped.
JS_HOT_CRATES := aes aes-gcm polyval ghash sha2 p256 p384 primeorder ecdsa
JS_CARGO_FLAGS = $(foreach c,$(JS_HOT_CRATES),--config 'profile.release.package.$(c).opt-level=3')
# Features the Rust wasm32 target emits by default; wasm-opt must accept them.
JS_WASM_OPT   := $(JS_PKG)/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory \
                 --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
                 --enable-reference-types --enable-multivalue
JS_NODE_TESTS := $(wildcard $(JS_PKG)/test/*.test.js)

setup-js:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(JS_WB_VERSION)" ]; then \
	  echo "== installing wasm-bindgen-cli $(JS_WB_VERSION) (several minutes)"; \
	  : "not --locked: its lock file names webpki-roots 1.0.11, which crates.io no longer offers"; \
	  cargo install wasm-bindgen-cli --version =$(JS_WB_VERSION); \
	fi
	@command -v node >/dev/null && command -v npm >/dev/null \
	  || (apt-get update && apt-get install -y --no-install-recommends nodejs npm)
	@command -v chromium >/dev/null \
	  || (apt-get update && apt-get install -y --no-install-recommends chromium)
	@$(MAKE) --no-print-directory $(JS_PKG)/node_modules/.ready

$(JS_PKG)/node_modules/.ready: $(JS_PKG)/package.json
	cd $(JS_PKG) && npm install --no-audit --no-fund --loglevel=error
	touch $@

build-js: $(JS_PKG)/node_modules/.ready
	$(JS_CARGO_ENV) $(CARGO) build --release --target wasm32-unknown-unknown -p kms-envelope-wasm $(JS_CARGO_FLAGS)
	@mkdir -p $(JS_DIST)
	wasm-bindgen $(JS_WASM_OUT) --target web --weak-refs --out-dir $(JS_DIST)
	$(JS_WASM_OPT) $(JS_DIST)/$(JS_WASM_NAME)_bg.wasm -o $(JS_DIST)/$(JS_WASM_NAME)_bg.wasm
	node $(JS_PKG)/tools/wasm-abi.mjs $(JS_DIST)/$(JS_WASM_NAME)_bg.wasm $(JS_DIST)/$(JS_WASM_NAME)_abi.js
	@$(MAKE) --no-print-directory js-size

# What a browser downloads for the raw keyrings: the wasm and every JS module.
js-size:
	@wasm=$$(gzip -9c $(JS_DIST)/$(JS_WASM_NAME)_bg.wasm | wc -c); \
	  js=$$(cat $(JS_DIST)/$(JS_WASM_NAME).js $(JS_PKG)/src/api.js $(JS_PKG)/src/external.js $(JS_PKG)/src/host-stream.js $(JS_PKG)/src/web.js $(JS_PKG)/src/ready.js $(JS_PKG)/src/browser.js | gzip -9c | wc -c); \
	  echo "== js size: wasm $$(wc -c < $(JS_DIST)/$(JS_WASM_NAME)_bg.wasm) B ($$wasm B gz), JS $$js B gz, total $$((wasm + js)) B gzipped"

test-js: setup-js build-js test-js-node test-js-browser test-js-package

# A test that hangs fails after 5 minutes, named, instead of stalling CI.
test-js-node: build-js setup-moto
	cd $(JS_PKG) && node --test --test-timeout=300000 --test-reporter=spec $(patsubst $(JS_PKG)/%,%,$(JS_NODE_TESTS))

test-js-browser: build-js
	cd $(JS_PKG) && node test/browser/run.mjs

test-js-package: build-js
	cd $(JS_PKG) && node test/packaging/run.mjs

$(JS_PKG)/bench/peers/node_modules/.ready: $(JS_PKG)/bench/peers/package.json
	cd $(JS_PKG)/bench/peers && npm install --no-audit --no-fund --loglevel=error
	touch $@

bench-js: setup-js build-js $(JS_PKG)/bench/peers/node_modules/.ready
	cd $(JS_PKG) && BENCH_OUT="$(abspath $(BENCH_OUT))" node bench/node.mjs && BENCH_OUT="$(abspath $(BENCH_OUT))" node bench/browser.mjs
