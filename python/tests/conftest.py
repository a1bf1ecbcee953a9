"""Shared fixtures and helpers for the kms_envelope test suite."""
import base64
import json
import os
from pathlib import Path
import threading
from typing import Any, Callable, Dict, Iterator, List

import pytest

import kms_envelope
from local_kms import MotoMissing, MotoServer, moto_binary

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KEYS_FILE = REPO / "tests" / "data" / "interop-keys" / "keys.json"


def vectors_dir() -> Path:
    """The official ESDK vectors (``KMS_ENVELOPE_VECTORS`` or ``../shared/vectors/esdk``)."""
    return Path(os.environ.get("KMS_ENVELOPE_VECTORS", str(REPO.parent / "shared" / "vectors" / "esdk")))


def load_keys() -> Dict[str, Dict[str, Any]]:
    """The interop keys manifest's ``keys`` map."""
    keys: Dict[str, Dict[str, Any]] = json.loads(KEYS_FILE.read_text(encoding="utf-8"))["keys"]
    return keys


KEYS = load_keys()
AES_256 = base64.b64decode(KEYS["aes-256"]["material"])
AES_128 = base64.b64decode(KEYS["aes-128"]["material"])
AES_192 = base64.b64decode(KEYS["aes-192"]["material"])
RSA_PRIVATE_PEM: str = KEYS["rsa-2048-private"]["material"]
RSA_PUBLIC_PEM: str = KEYS["rsa-2048-public"]["material"]

ALL_SUITES: List[kms_envelope.AlgorithmSuite] = list(kms_envelope.AlgorithmSuite)
COMMITTING = [s for s in ALL_SUITES if s.is_committing]


def policy_for(suite: kms_envelope.AlgorithmSuite) -> kms_envelope.CommitmentPolicy:
    """A commitment policy under which ``suite`` may be written."""
    if suite.is_committing:
        return kms_envelope.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    return kms_envelope.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT


def assert_recursion_refused_on_a_small_stack(call: Callable[[], object]) -> None:
    """Runs ``call`` on a thread with a 1 MiB stack, where runaway recursion
    through native frames would overflow the stack (a crash), and asserts it
    failed with a library error caused by a ``RecursionError``."""
    caught: List[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as e:  # noqa: B036 - the test reports whatever it was
            caught.append(e)

    old = threading.stack_size(1 << 20)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old)
    assert len(caught) == 1 and isinstance(caught[0], kms_envelope.Error), caught
    chain: List[BaseException] = []
    e: Any = caught[0]
    while e is not None:
        chain.append(e)
        e = e.__cause__
    assert any(isinstance(x, RecursionError) for x in chain), chain


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating-looking test data."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += (b"%d:%d|" % (seed, counter)) * 7
        counter += 1
    return bytes(out[:size])


@pytest.fixture(scope="session")
def aes_keyring() -> kms_envelope.RawAesKeyring:
    """A raw AES-256 keyring with the interop key."""
    return kms_envelope.RawAesKeyring("kms-envelope-test", "aes-256", AES_256)


@pytest.fixture(scope="session")
def rsa_keyring() -> kms_envelope.RawRsaKeyring:
    """A raw RSA keyring (OAEP-SHA256) with both halves of the interop key pair."""
    return kms_envelope.RawRsaKeyring(
        "kms-envelope-test",
        "rsa-2048",
        public_key=RSA_PUBLIC_PEM,
        private_key=RSA_PRIVATE_PEM,
        padding=kms_envelope.RsaPadding.OAEP_SHA256,
    )


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto_server (a local AWS KMS API server) on 127.0.0.1 for the whole
    session; stopped at the end, also when tests fail. Fails (never skips)
    when moto_server is not installed."""
    try:
        binary = moto_binary()
    except MotoMissing as e:
        missing = str(e)
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    server = MotoServer(binary, tmp_path_factory.mktemp("moto"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
