## ---------------------------------------------------------------- Python front end
# bindings/python (PyO3 crate) + python/ (the pip package `kms-envelope`,
# import `kms_envelope`; maturin, mixed layout, abi3 wheel for CPython 3.9+).
#
#   make test-python    build the wheel with maturin; install it into a fresh venv
#                       with pytest, mypy, boto3 and aws-encryption-sdk; run pytest
#                       (python/tests; the AWS KMS tests start the moto_server of
#                       `make setup-moto`, see mk/aws.mk, on 127.0.0.1) and
#                       mypy --strict (package, tests, bench); then
#                       `pip install ./python` into another fresh venv (maturin
#                       comes through build isolation) and run a round trip there
#   make bench-python   python/bench/bench.py: kms_envelope against aws-encryption-sdk
#                       and a bare SHA-384 loop on this machine
#                       -> $(BENCH_OUT)/python.json and $(BENCH_OUT)/python.md
#   make py-wheel       just the wheel, into $(PY_WHEEL_DIR)
#
# Venvs live under $(CACHE_DIR) and are recreated on every run; pip's own cache
# keeps that to seconds after the first time. Both builds share
# $(CARGO_TARGET_DIR), so `pip install ./python` recompiles little.

FRONTEND_SETUP += setup-py-tools
FRONTEND_TESTS += test-python
BENCHES += bench-python

.PHONY: setup-py-tools py-wheel py-test-venv test-python test-python-pip bench-python

PY_MATURIN      := maturin==1.16.0
# boto3: the tests also drive the AWS KMS keyrings through a boto3 client, and
# botocore (>= 1.31) honours AWS_ENDPOINT_URL_KMS for aws-encryption-sdk's KMS
# providers.
PY_TEST_REQS    := pytest==9.2.0 mypy==2.4.1 aws-encryption-sdk==4.0.7 boto3==1.44.18
PY_TOOLS_VENV   ?= $(CACHE_DIR)/venv-py-tools
PY_TEST_VENV    ?= $(CACHE_DIR)/venv-py-test
PY_PIP_VENV     ?= $(CACHE_DIR)/venv-py-pip
PY_WHEEL_DIR    ?= $(CARGO_TARGET_DIR)/python-wheels
PY_PIP          := --quiet --disable-pip-version-check
BENCH_OUT       ?= docs/bench

# maturin in a venv of its own (kept; rebuilt when this file changes).
setup-py-tools: $(PY_TOOLS_VENV)/.ready
$(PY_TOOLS_VENV)/.ready: mk/python.mk
	rm -rf "$(PY_TOOLS_VENV)"
	python3 -m venv "$(PY_TOOLS_VENV)"
	"$(PY_TOOLS_VENV)/bin/pip" install $(PY_PIP) "$(PY_MATURIN)"
	touch "$@"

# The release wheel (cp39-abi3).
py-wheel: setup-py-tools
	rm -rf "$(PY_WHEEL_DIR)"
	cd python && "$(PY_TOOLS_VENV)/bin/maturin" build --release --out "$(PY_WHEEL_DIR)"

# A fresh venv holding the wheel and the test tools.
py-test-venv: py-wheel
	rm -rf "$(PY_TEST_VENV)"
	python3 -m venv "$(PY_TEST_VENV)"
	"$(PY_TEST_VENV)/bin/pip" install $(PY_PIP) "$(PY_WHEEL_DIR)"/kms_envelope-*.whl $(PY_TEST_REQS)

# Run from the repository root, so `import kms_envelope` is the installed wheel,
# not the source folder. KMS_ENVELOPE_MOTO (mk/aws.mk) names the moto_server
# the KMS tests start and stop themselves.
test-python: py-test-venv setup-moto
	KMS_ENVELOPE_VECTORS="$(VECTORS)" KMS_ENVELOPE_MOTO="$(KMS_ENVELOPE_MOTO)" \
	  "$(PY_TEST_VENV)/bin/python" -m pytest -q -p no:cacheprovider python/tests
	cd python && MYPY_CACHE_DIR="$(CACHE_DIR)/mypy-cache" "$(PY_TEST_VENV)/bin/mypy" --strict \
	  --config-file pyproject.toml kms_envelope tests bench
	@$(MAKE) --no-print-directory test-python-pip

# `pip install ./python` on a fresh venv: the sdist-less, in-tree PEP 517 build
# that users run (maturin fetched from PyPI by build isolation).
test-python-pip:
	rm -rf "$(PY_PIP_VENV)"
	python3 -m venv "$(PY_PIP_VENV)"
	"$(PY_PIP_VENV)/bin/pip" install $(PY_PIP) ./python
	cd / && "$(PY_PIP_VENV)/bin/python" -c 'import os, kms_envelope as k; \
	  kr = k.RawAesKeyring("ns", "key", os.urandom(32)); \
	  ct = k.encrypt(b"pip install ./python works", keyring=kr, encryption_context={"a": "b"}); \
	  print(k.decrypt(ct, keyring=kr, encryption_context={"a": "b"}).plaintext.decode())'

bench-python: py-test-venv
	mkdir -p "$(BENCH_OUT)"
	"$(PY_TEST_VENV)/bin/python" python/bench/bench.py --out "$(BENCH_OUT)" \
	  $(if $(filter 1,$(BENCH_QUICK)),--quick)
