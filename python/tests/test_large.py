"""Large messages: written and read in place, with long signature hashes on hashlib."""
import threading
from typing import List

import pytest

import kms_envelope
from conftest import pattern
from kms_envelope import AlgorithmSuite, _native

SIGNED = AlgorithmSuite(0x0578)
UNSIGNED = AlgorithmSuite(0x0478)
MIB = 1 << 20


def flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x04
    return bytes(out)


def test_long_signature_hashes_run_on_hashlib(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    pytest.importorskip("_hashlib", reason="a CPython without OpenSSL keeps every hash in AWS-LC")
    big = pattern(4 * MIB, seed=3)

    before = _native._hashlib_updates()
    ct = kms_envelope.encrypt(big, keyring=aes_keyring, algorithm_suite=SIGNED)
    after_encrypt = _native._hashlib_updates()
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == big
    after_decrypt = _native._hashlib_updates()
    # The core hands the hash 256 KiB at a time.
    assert after_encrypt - before >= 8
    assert after_decrypt - after_encrypt >= 8

    # Short hashes and unsigned suites never reach hashlib.
    small = kms_envelope.encrypt(b"x" * 1024, keyring=aes_keyring, algorithm_suite=SIGNED)
    kms_envelope.decrypt(small, keyring=aes_keyring)
    unsigned = kms_envelope.encrypt(big, keyring=aes_keyring, algorithm_suite=UNSIGNED)
    kms_envelope.decrypt(unsigned, keyring=aes_keyring)
    assert _native._hashlib_updates() == after_decrypt


@pytest.mark.parametrize("suite", [SIGNED, UNSIGNED], ids=["0x0578", "0x0478"])
def test_large_damaged_messages_raise(aes_keyring: kms_envelope.RawAesKeyring, suite: AlgorithmSuite) -> None:
    """Decrypting in place: a message that fails late (last frame, signature,
    cut short, trailing bytes) still raises, and returns nothing."""
    big = pattern(3 * MIB + 5, seed=4)
    ct = kms_envelope.encrypt(big, keyring=aes_keyring, algorithm_suite=suite)
    end_of_body = len(ct) - (105 if suite is SIGNED else 0)
    cases = [
        (flip(ct, end_of_body - 30), kms_envelope.AuthenticationError),
        (ct[: len(ct) - 1], kms_envelope.MalformedMessageError),
        (ct[: len(ct) // 2], kms_envelope.MalformedMessageError),
        (ct + b"\0", kms_envelope.MalformedMessageError),
    ]
    if suite is SIGNED:
        cases.append((flip(ct, len(ct) - 3), kms_envelope.AuthenticationError))
    for bad, error in cases:
        with pytest.raises(error):
            kms_envelope.decrypt(bad, keyring=aes_keyring)
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == big


def test_large_signed_messages_while_python_threads_run(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    """The hashlib hook takes the GIL per update: busy Python threads and
    other large calls neither deadlock it nor mix up its hashes."""
    inputs = [pattern(2 * MIB + i, seed=10 + i) for i in range(4)]
    failures: List[str] = []
    stop = threading.Event()

    def spin() -> None:
        n = 0
        while not stop.is_set():
            n = (n * 31 + 7) % 1000003

    def worker(data: bytes) -> None:
        try:
            for _ in range(3):
                ct = kms_envelope.encrypt(data, keyring=aes_keyring, algorithm_suite=SIGNED)
                if kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext != data:
                    failures.append("round trip changed the data")
        except Exception as e:  # reported below
            failures.append(repr(e))

    spinner = threading.Thread(target=spin)
    spinner.start()
    workers = [threading.Thread(target=worker, args=(d,)) for d in inputs]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    stop.set()
    spinner.join()
    assert not any(w.is_alive() for w in workers), "a worker hung"
    assert failures == []
