## ---------------------------------------------------------------- AWS KMS client
# crates/aws-kms (kms-envelope-aws): the native AWS KMS client (SigV4 over HTTPS).
# Its integration tests run against moto_server (a local AWS KMS API server) from
# a venv outside the clone; they fail, with a hint to run `make setup-moto`, when
# it is missing.
#
#   make setup-moto   venv $(CACHE_DIR)/venv-moto with moto[server] and boto3
#   make test-aws     cargo test -p kms-envelope-aws against that moto_server
#
# `make test` also runs `cargo test --workspace`, which includes these tests: they
# find moto_server at the default path $(CACHE_DIR)/venv-moto/bin/moto_server
# (setup runs before the tests) or wherever KMS_ENVELOPE_MOTO points.

FRONTEND_SETUP += setup-moto
FRONTEND_TESTS += test-aws

.PHONY: setup-moto test-aws

MOTO_VENV    ?= $(CACHE_DIR)/venv-moto
MOTO_VERSION := 5.2.5
MOTO_STAMP   := $(MOTO_VENV)/.ready-$(MOTO_VERSION)
export KMS_ENVELOPE_MOTO ?= $(MOTO_VENV)/bin/moto_server

setup-moto: $(MOTO_STAMP)
$(MOTO_STAMP): mk/aws.mk
	python3 -m venv "$(MOTO_VENV)"
	"$(MOTO_VENV)/bin/pip" install --quiet --disable-pip-version-check \
	  'moto[server]==$(MOTO_VERSION)' boto3
	rm -f "$(MOTO_VENV)"/.ready-*
	touch "$@"

test-aws: setup-moto
	KMS_ENVELOPE_MOTO="$(KMS_ENVELOPE_MOTO)" $(CARGO) test -p kms-envelope-aws
