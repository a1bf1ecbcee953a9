## ---------------------------------------------------------------- C front end
# bindings/c: libkms_envelope.so / libkms_envelope.a, the cbindgen header
# include/kms_envelope.h (committed, checked for drift) and kms_envelope.pc.
#
#   make test-c                 build; check the header; compile the header alone
#                               (C and C++), the C tests and the examples with
#                               gcc -std=c99 -Wall -Wextra -Werror against the shared
#                               and the static library; run them all under valgrind,
#                               beside a moto_server (local AWS KMS API) started by
#                               bindings/c/tests/with-moto.sh for the AWS KMS and
#                               caching tests; compile every ```c block of the docs
#   make c-doc-snippets         compile every ```c block of README.md and docs/c.md
#                               against include/kms_envelope.h (no cargo needed)
#   make c-header               rewrite include/kms_envelope.h after an API change
#   make install PREFIX=/usr/local [DESTDIR=...]
#                               install the header, both libraries and kms_envelope.pc
#
# Artifacts: $(CARGO_TARGET_DIR)/c-<profile>/{lib,gen,bin}. Tests use the dev
# profile (the workspace optimizes dependencies there too); `make install`
# builds release unless C_PROFILE is given.

FRONTEND_SETUP += setup-c
FRONTEND_TESTS += test-c

.PHONY: setup-c build-c check-c-header c-header c-doc-snippets test-c c-run-tests \
        install install-c

C_DIR          := bindings/c
C_PROFILE      ?= $(if $(filter install install-c,$(MAKECMDGOALS)),release,dev)
C_PROFILE_DIR   = $(if $(filter dev test,$(C_PROFILE)),debug,$(C_PROFILE))
C_OUT           = $(CARGO_TARGET_DIR)/c-$(C_PROFILE)
C_LIB           = $(C_OUT)/lib
C_BIN           = $(C_OUT)/bin
C_CC           ?= gcc
C_CXX          ?= g++
C_CFLAGS       := -std=c99 -Wall -Wextra -Werror -g -pthread
# What the static library needs besides libc (`cargo rustc -- --print native-static-libs`).
C_STATIC_LIBS  := -lpthread -ldl -lm -lrt -lutil
C_VERSION       = $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
C_TEST_SOURCES := $(wildcard $(C_DIR)/tests/*.c)
C_EXAMPLE      := $(C_DIR)/examples/encrypt_decrypt.c
C_KMS_EXAMPLE  := $(C_DIR)/examples/aws_kms.c
# Errors and definite or indirect leaks fail the run. Memory the process
# still references at exit (see docs/c.md) is reported, not failed. The
# fork test's child is not checked: it holds what the parent's threads,
# absent there, left behind.
C_VALGRIND     := valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
                  --error-exitcode=1 --child-silent-after-fork=yes
PREFIX         ?= /usr/local
# The Markdown files whose ```c blocks c-doc-snippets compiles, each with
# its number of blocks: a different count fails (a renamed fence must not
# drop a block). Change the number when adding or removing a block.
C_DOC_SNIPPETS := README.md=2 docs/c.md=9
# pkg-config over the test installation made by test-c.
C_PC            = PKG_CONFIG_PATH=$(abspath $(C_OUT)/prefix)/lib/pkgconfig pkg-config

setup-c:
	@command -v valgrind >/dev/null && command -v pkg-config >/dev/null \
	  && command -v $(C_CXX) >/dev/null \
	  || (apt-get update && apt-get install -y --no-install-recommends valgrind pkg-config g++)

# Builds the crate, then copies the artifacts under their C names and the
# header cbindgen generated (in the build script's OUT_DIR) next to them.
build-c:
	@mkdir -p $(C_LIB) $(C_OUT)/gen $(C_BIN)
	$(CARGO) build -p kms-envelope-c --profile $(C_PROFILE) \
	  --message-format=json-render-diagnostics > $(C_OUT)/cargo.json
	@out_dir=$$(grep '"reason":"build-script-executed"' $(C_OUT)/cargo.json \
	    | grep '#kms-envelope-c@' | sed -n 's/.*"out_dir":"\([^"]*\)".*/\1/p' | tail -n 1); \
	  test -n "$$out_dir" || { echo "build-c: no build-script output for kms-envelope-c"; exit 1; }; \
	  cp "$$out_dir/kms_envelope.h" $(C_OUT)/gen/kms_envelope.h
	@cp -f $(CARGO_TARGET_DIR)/$(C_PROFILE_DIR)/libkms_envelope_c.so $(C_LIB)/libkms_envelope.so.0
	@ln -sf libkms_envelope.so.0 $(C_LIB)/libkms_envelope.so
	@cp -f $(CARGO_TARGET_DIR)/$(C_PROFILE_DIR)/libkms_envelope_c.a $(C_LIB)/libkms_envelope.a
	@readelf -d $(C_LIB)/libkms_envelope.so.0 | grep -q 'SONAME.*\[libkms_envelope\.so\.0\]' \
	  || { echo "build-c: libkms_envelope.so.0 lacks its SONAME"; exit 1; }

check-c-header: build-c
	@diff -u include/kms_envelope.h $(C_OUT)/gen/kms_envelope.h \
	  || { echo "include/kms_envelope.h differs from what cbindgen generates from bindings/c/src:"; \
	       echo "run 'make c-header' and commit the result"; exit 1; }
	@echo "== C header: include/kms_envelope.h matches the generated header"

c-header: build-c
	cp $(C_OUT)/gen/kms_envelope.h include/kms_envelope.h

# Each block is compiled alone (-fsyntax-only, C_CFLAGS and -pedantic) after
# bindings/c/tests/docs/preamble.h, which declares what a reader supplies;
# bindings/c/tests/docs/check.py says how fragments and callbacks are wrapped.
c-doc-snippets:
	python3 $(C_DIR)/tests/docs/check.py --cc '$(C_CC)' --cflags '$(C_CFLAGS)' \
	  --include-dir include $(C_DOC_SNIPPETS)

install: install-c
install-c: build-c
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/kms_envelope.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(C_LIB)/libkms_envelope.so.0 $(DESTDIR)$(PREFIX)/lib/
	ln -sf libkms_envelope.so.0 $(DESTDIR)$(PREFIX)/lib/libkms_envelope.so
	install -m 644 $(C_LIB)/libkms_envelope.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(C_VERSION)|' $(C_DIR)/kms_envelope.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/kms_envelope.pc

test-c: setup-c setup-moto check-c-header c-doc-snippets
	@echo "== C header compiles alone, as C99 and as C++"
	echo '#include "kms_envelope.h"' | $(C_CC) -std=c99 -Wall -Wextra -Werror -pedantic \
	  -Iinclude -fsyntax-only -x c -
	echo '#include "kms_envelope.h"' | $(C_CXX) -std=c++11 -Wall -Wextra -Werror -pedantic \
	  -Iinclude -fsyntax-only -x c++ -
	@echo "== C tests and example, against libkms_envelope.so and libkms_envelope.a"
	$(C_CC) $(C_CFLAGS) -Iinclude $(C_TEST_SOURCES) -L$(C_LIB) -lkms_envelope \
	  -Wl,-rpath,$(abspath $(C_LIB)) -o $(C_BIN)/kmse-tests-shared
	$(C_CC) $(C_CFLAGS) -Iinclude $(C_TEST_SOURCES) $(C_LIB)/libkms_envelope.a $(C_STATIC_LIBS) \
	  -o $(C_BIN)/kmse-tests-static
	@echo "== wipe check: no block goes back to the allocator holding plaintext"
	$(C_CC) $(C_CFLAGS) -shared -fPIC $(C_DIR)/tests/wipe/shim.c -o $(C_BIN)/wipe-shim.so
	$(C_CC) $(C_CFLAGS) -Iinclude $(C_DIR)/tests/wipe/check.c -L$(C_LIB) -lkms_envelope \
	  -Wl,-rpath,$(abspath $(C_LIB)) -o $(C_BIN)/wipe-check
	KMSE_WIPE_CHECK=1 LD_PRELOAD=$(abspath $(C_BIN))/wipe-shim.so $(C_BIN)/wipe-check
	@rm -rf $(C_OUT)/prefix
	$(MAKE) --no-print-directory install-c PREFIX=$(abspath $(C_OUT)/prefix) C_PROFILE=$(C_PROFILE)
	$(C_CC) $(C_CFLAGS) $(C_EXAMPLE) $$($(C_PC) --cflags --libs kms_envelope) \
	  -Wl,-rpath,$(abspath $(C_OUT)/prefix)/lib -o $(C_BIN)/example-shared
	$(C_CC) $(C_CFLAGS) $(C_EXAMPLE) $$($(C_PC) --cflags kms_envelope) \
	  -Wl,-Bstatic $$($(C_PC) --libs kms_envelope) -Wl,-Bdynamic $(C_STATIC_LIBS) \
	  -o $(C_BIN)/example-static
	$(C_CC) $(C_CFLAGS) $(C_KMS_EXAMPLE) $$($(C_PC) --cflags --libs kms_envelope) \
	  -Wl,-rpath,$(abspath $(C_OUT)/prefix)/lib -o $(C_BIN)/example-aws-kms
	@readelf -d $(C_BIN)/example-shared | grep -q 'NEEDED.*\[libkms_envelope\.so\.0\]'
	@! readelf -d $(C_BIN)/example-static | grep -q 'libkms_envelope'
	KMS_ENVELOPE_MOTO="$(KMS_ENVELOPE_MOTO)" $(C_DIR)/tests/with-moto.sh \
	  $(MAKE) --no-print-directory c-run-tests

# Runs the C tests and examples under valgrind; started by test-c through
# with-moto.sh, whose environment (KMSE_TEST_KMS_*) names the server and keys.
# The tests skip the AWS KMS cases without it: that fails here.
c-run-tests:
	@test -n "$${KMSE_TEST_KMS_ENDPOINT:-}" \
	  || { echo "c-run-tests: run through bindings/c/tests/with-moto.sh (make test-c)"; exit 1; }
	@for bin in example-shared example-static example-aws-kms kmse-tests-shared kmse-tests-static; do \
	  echo "== valgrind $$bin"; \
	  case $$bin in \
	    example-aws-kms) set -- "$$KMSE_TEST_KMS_KEY1" "$$KMSE_TEST_KMS_ENDPOINT";; \
	    *) set -- "$(VECTORS)";; \
	  esac; \
	  $(C_VALGRIND) $(C_BIN)/$$bin "$$@" > $(C_OUT)/$$bin.log 2>&1 \
	    || { cat $(C_OUT)/$$bin.log; echo "test-c: $$bin failed under valgrind"; exit 1; }; \
	  ! grep -q 'KMS tests skipped' $(C_OUT)/$$bin.log \
	    || { cat $(C_OUT)/$$bin.log; echo "test-c: $$bin skipped the AWS KMS tests"; exit 1; }; \
	  grep -v '^==[0-9]*== ' $(C_OUT)/$$bin.log | grep -v '^$$' | tail -n 3; \
	  grep -E 'ERROR SUMMARY|(definitely|indirectly|possibly) lost:|still reachable:' $(C_OUT)/$$bin.log \
	    | sed 's/^==[0-9]*== */   /'; \
	done
