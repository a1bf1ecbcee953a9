#!/usr/bin/env python3
"""Benchmark peer: the official Python AWS Encryption SDK (aws-encryption-sdk
on PyPI) with a raw AES-256 master key, on the workloads of benches/kms-bench.

Prints one JSON object on standard output; progress goes to standard error.

    peer_python.py [--seconds S] [--quick]

Every figure is the best of 3 rounds of a fixed wall time (at least one
operation each) after a warm-up. MB/s are 10^6 plaintext bytes per second.
"""
import argparse
import json
import logging
import sys
import time

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    AlgorithmSuite,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

try:
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
except ImportError:  # older layouts
    from aws_encryption_sdk.internal.crypto import WrappingKey

MIB = 1 << 20
FRAME = 4096
POOL = 64
KEY = bytes([7]) * 32
CONTEXT = {"bench": "kms-envelope"}
SUITES = {
    "0478": AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    "0578": AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
}


class BenchKeyProvider(RawMasterKeyProvider):
    """One raw AES-256 wrapping key: namespace "bench", name "key"."""

    provider_id = "bench"

    def __init__(self, **kwargs):  # pylint: disable=unused-argument
        self._key = WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )

    def _get_raw_key(self, key_id):
        return self._key


def data(length):
    # Deterministic and cheap; AES-GCM does not care what the bytes are.
    block = bytes((i * 131 + 7) & 0xFF for i in range(4096))
    return (block * (length // len(block) + 1))[:length]


def measure(op, seconds, rounds):
    """Operations per second: best of `rounds` rounds after a warm-up."""
    i = 0
    start = time.perf_counter()
    while i == 0 or time.perf_counter() - start < seconds / 4:
        op(i)
        i += 1
    per_op = (time.perf_counter() - start) / i
    if per_op > 5:
        rounds = 1
    best = 0.0
    for _ in range(rounds):
        n = 0
        start = time.perf_counter()
        while n == 0 or time.perf_counter() - start < seconds:
            op(i)
            i += 1
            n += 1
        best = max(best, n / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--quick", action="store_true", help="short rounds and a 4 MiB message (a smoke test)")
    args = parser.parse_args()
    seconds, rounds, big = args.seconds, 3, 64 * MIB
    if args.quick:
        seconds, rounds, big = 0.2, 1, 4 * MIB
    logging.disable(logging.WARNING)

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    provider = BenchKeyProvider()
    provider.add_master_key(b"key")

    def encrypt(plaintext, suite):
        ciphertext, _ = client.encrypt(
            source=plaintext,
            key_provider=provider,
            encryption_context=CONTEXT,
            algorithm=SUITES[suite],
            frame_length=FRAME,
        )
        return ciphertext

    def decrypt(ciphertext):
        plaintext, _ = client.decrypt(source=ciphertext, key_provider=provider)
        return plaintext

    results = []
    big_pt = data(big)
    small_pt = data(1024)
    for suite in ("0478", "0578"):
        ct = encrypt(big_pt, suite)
        assert decrypt(ct) == big_pt, "round trip"
        mb = big / 1e6
        enc = measure(lambda _: encrypt(big_pt, suite), seconds, rounds) * mb
        dec = measure(lambda _: decrypt(ct), seconds, rounds) * mb
        print("aws-encryption-sdk (Python) %s: 64 MiB encrypt %.1f MB/s, decrypt %.1f MB/s" % (suite, enc, dec), file=sys.stderr)
        results.append({"workload": "encrypt-64MiB", "suite": suite, "threads": 1, "value": enc, "unit": "MB/s", "bytes": big})
        results.append({"workload": "decrypt-64MiB", "suite": suite, "threads": 1, "value": dec, "unit": "MB/s", "bytes": big})

        # 1 KiB messages, a fresh data key each (no caching materials manager);
        # decrypt cycles through distinct messages.
        pool = [encrypt(small_pt, suite) for _ in range(POOL)]
        assert decrypt(pool[0]) == small_pt, "round trip"
        enc = measure(lambda _: encrypt(small_pt, suite), seconds, rounds)
        dec = measure(lambda i: decrypt(pool[i % POOL]), seconds, rounds)
        print("aws-encryption-sdk (Python) %s: 1 KiB encrypt %.0f msg/s, decrypt %.0f msg/s" % (suite, enc, dec), file=sys.stderr)
        results.append({"workload": "encrypt-1KiB", "suite": suite, "threads": 1, "value": enc, "unit": "msg/s"})
        results.append({"workload": "decrypt-1KiB", "suite": suite, "threads": 1, "value": dec, "unit": "msg/s"})

    try:
        from importlib.metadata import version

        crypto_version = version("cryptography")
        sdk_version = version("aws-encryption-sdk")
    except Exception:  # pylint: disable=broad-except
        crypto_version, sdk_version = "?", aws_encryption_sdk.__version__
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        openssl = backend.openssl_version_text()
    except Exception:  # pylint: disable=broad-except
        openssl = "OpenSSL"
    json.dump(
        {
            "sdk": "aws-encryption-sdk",
            "language": "Python",
            "version": sdk_version,
            "backend": "cryptography %s (%s), Python %s" % (crypto_version, openssl, sys.version.split()[0]),
            "seconds": seconds,
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
