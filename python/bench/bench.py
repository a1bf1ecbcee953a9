#!/usr/bin/env python3
"""make bench-python: kms_envelope (Python) against the official Python AWS
Encryption SDK (aws-encryption-sdk) on this machine, plus a bare SHA-384 loop.

Workloads (those of benches/, same method as benches/peer_python.py):
1 KiB messages/s (every encrypt makes a fresh data key; decrypt cycles through
64 distinct messages) and 64 MiB MB/s (10^6 plaintext bytes per second), for
suites 0x0478 and 0x0578, raw AES-256 wrapping key, frame length 4096,
encryption context {"bench": "kms-envelope"}. Every figure is the best of 3
rounds of a fixed wall time after a warm-up. The bare SHA-384 loop is
hashlib.sha384 over the same 64 MiB, the bound for a signed (0x0578) message.

Writes OUT/python.json (the `results` format of benches/, plus the peer and
the ratios) and OUT/python.md (a table with the ratios and the targets).

    bench.py [--out DIR] [--seconds S] [--quick]
"""
import argparse
import datetime
import hashlib
import json
import logging
import os
import platform
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import AlgorithmSuite as EsdkSuite
from aws_encryption_sdk.identifiers import CommitmentPolicy as EsdkPolicy
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

import kms_envelope

MIB = 1 << 20
FRAME = 4096
POOL = 64
KEY = bytes([7]) * 32
CONTEXT = {"bench": "kms-envelope"}
SUITES = ("0478", "0578")
# (workload, suite) -> (what the ratio is taken against, goal)
TARGETS = {
    ("encrypt-1KiB", "0478"): ("aws-encryption-sdk", 10.0),
    ("decrypt-1KiB", "0478"): ("aws-encryption-sdk", 10.0),
    ("encrypt-64MiB", "0478"): ("aws-encryption-sdk", 5.0),
    ("decrypt-64MiB", "0478"): ("aws-encryption-sdk", 5.0),
    ("encrypt-1KiB", "0578"): ("aws-encryption-sdk", 2.0),
    ("decrypt-1KiB", "0578"): ("aws-encryption-sdk", 2.0),
    ("encrypt-64MiB", "0578"): ("sha-384", 0.85),
    ("decrypt-64MiB", "0578"): ("sha-384", 0.85),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def data(length: int) -> bytes:
    block = bytes((i * 131 + 7) & 0xFF for i in range(4096))
    return (block * (length // len(block) + 1))[:length]


def measure(op: Callable[[int], Any], seconds: float, rounds: int) -> float:
    """Operations per second: best of `rounds` rounds after a warm-up."""
    i = 0
    start = time.perf_counter()
    while i == 0 or time.perf_counter() - start < seconds / 4:
        op(i)
        i += 1
    if (time.perf_counter() - start) / i > 5:
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


class BenchKeyProvider(RawMasterKeyProvider):  # type: ignore[misc]
    """aws-encryption-sdk: one raw AES-256 wrapping key, namespace "bench", name "key"."""

    provider_id = "bench"

    def __init__(self, **kwargs: Any) -> None:  # pylint: disable=super-init-not-called
        self._key = WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )

    def _get_raw_key(self, key_id: Any) -> Any:
        return self._key


class Sdk:
    """encrypt(plaintext, suite) and decrypt(ciphertext) of one SDK."""

    name = ""

    def encrypt(self, plaintext: bytes, suite: str) -> bytes:
        raise NotImplementedError

    def decrypt(self, ciphertext: bytes) -> bytes:
        raise NotImplementedError


class Ours(Sdk):
    name = "kms_envelope"

    def __init__(self) -> None:
        self.keyring = kms_envelope.RawAesKeyring("bench", "key", KEY)

    def encrypt(self, plaintext: bytes, suite: str) -> bytes:
        return kms_envelope.encrypt(
            plaintext, keyring=self.keyring, encryption_context=CONTEXT, algorithm_suite=int(suite, 16), frame_length=FRAME
        )

    def decrypt(self, ciphertext: bytes) -> bytes:
        return kms_envelope.decrypt(ciphertext, keyring=self.keyring).plaintext


class Theirs(Sdk):
    name = "aws-encryption-sdk"

    def __init__(self) -> None:
        self.client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=EsdkPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
        self.provider = BenchKeyProvider()
        self.provider.add_master_key(b"key")

    def encrypt(self, plaintext: bytes, suite: str) -> bytes:
        ciphertext, _ = self.client.encrypt(
            source=plaintext,
            key_provider=self.provider,
            encryption_context=CONTEXT,
            algorithm=EsdkSuite.get_by_id(int(suite, 16)),
            frame_length=FRAME,
        )
        return bytes(ciphertext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        plaintext, _ = self.client.decrypt(source=ciphertext, key_provider=self.provider)
        return bytes(plaintext)


def run_all(
    sdks: List[Sdk], big: int, seconds: float, rounds: int
) -> Tuple[Dict[str, List[Dict[str, Any]]], Dict[str, float]]:
    """Every workload for every SDK, the SDKs measured one right after the
    other for each workload (so a change of machine load hits all alike),
    and the bare SHA-384 loop next to the 0x0578 64 MiB figures."""
    results: Dict[str, List[Dict[str, Any]]] = {sdk.name: [] for sdk in sdks}
    big_pt = data(big)
    small_pt = data(1024)
    mb = big / 1e6
    shas: Dict[str, float] = {}
    for suite in SUITES:
        cts = {sdk.name: sdk.encrypt(big_pt, suite) for sdk in sdks}
        for sdk in sdks:
            assert sdk.decrypt(cts[sdk.name]) == big_pt, "round trip"
        for op in ("encrypt", "decrypt"):
            if suite == "0578":
                # The bound, measured right before the figures compared to it.
                shas[op] = sha384_mb_s(big_pt, seconds, rounds)
                log("hashlib.sha384 over %d MiB: %.1f MB/s" % (big // MIB, shas[op]))
            for sdk in sdks:
                if op == "encrypt":
                    value = measure(lambda _: sdk.encrypt(big_pt, suite), seconds, rounds) * mb
                else:
                    ct = cts[sdk.name]
                    value = measure(lambda _: sdk.decrypt(ct), seconds, rounds) * mb
                threads = (os.cpu_count() or 1) if isinstance(sdk, Ours) else 1
                results[sdk.name].append(
                    {"workload": op + "-64MiB", "suite": suite, "threads": threads, "value": value, "unit": "MB/s", "bytes": big}
                )
                log("%s %s: 64 MiB %s %.1f MB/s" % (sdk.name, suite, op, value))
        del cts
        pools = {sdk.name: [sdk.encrypt(small_pt, suite) for _ in range(POOL)] for sdk in sdks}
        for op in ("encrypt", "decrypt"):
            for sdk in sdks:
                pool = pools[sdk.name]
                assert sdk.decrypt(pool[0]) == small_pt, "round trip"
                if op == "encrypt":
                    value = measure(lambda _: sdk.encrypt(small_pt, suite), seconds, rounds)
                else:
                    value = measure(lambda i: sdk.decrypt(pool[i % POOL]), seconds, rounds)
                threads = (os.cpu_count() or 1) if isinstance(sdk, Ours) else 1
                results[sdk.name].append({"workload": op + "-1KiB", "suite": suite, "threads": threads, "value": value, "unit": "msg/s"})
                log("%s %s: 1 KiB %s %.0f msg/s" % (sdk.name, suite, op, value))
    return results, shas


def sha384_mb_s(buf: bytes, seconds: float, rounds: int) -> float:
    return measure(lambda _: hashlib.sha384(buf).digest(), seconds, rounds) * len(buf) / 1e6


def find(results: List[Dict[str, Any]], workload: str, suite: str) -> Optional[float]:
    for r in results:
        if r["workload"] == workload and r["suite"] == suite:
            return float(r["value"])
    return None


def versions() -> Tuple[str, str]:
    try:
        from importlib.metadata import version

        return version("aws-encryption-sdk"), version("cryptography")
    except Exception:  # pylint: disable=broad-except
        return str(getattr(aws_encryption_sdk, "__version__", "?")), "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/bench", help="folder for python.json and python.md (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one measuring round (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="short rounds and a 4 MiB message (a smoke test)")
    args = parser.parse_args()
    seconds, rounds, big = args.seconds, 3, 64 * MIB
    if args.quick:
        seconds, rounds, big = 0.2, 1, 4 * MIB
    logging.disable(logging.WARNING)
    started = time.time()

    results, shas = run_all([Ours(), Theirs()], big, seconds, rounds)
    sha = max(shas.values())
    ours, theirs = results[Ours.name], results[Theirs.name]

    esdk_version, crypto_version = versions()
    rows = []
    met = 0
    for r in ours:
        w, s = r["workload"], r["suite"]
        against, goal = TARGETS[(w, s)]
        peer = find(theirs, w, s)
        op_sha = shas.get(w.split("-")[0], sha)
        base = op_sha if against == "sha-384" else peer
        ratio = r["value"] / base if base else None
        ok = ratio is not None and ratio >= goal
        met += ok
        rows.append(
            {
                "workload": w,
                "suite": s,
                "kms_envelope": r["value"],
                "aws_encryption_sdk": peer,
                "unit": r["unit"],
                "vs_aws_encryption_sdk": r["value"] / peer if peer else None,
                "vs_sha384": r["value"] / op_sha if r["unit"] == "MB/s" else None,
                "sha384": op_sha if r["unit"] == "MB/s" else None,
                "target": "%s %.2f x %s" % (">=", goal, against),
                "met": ok,
            }
        )

    machine = "%s, %d cores, Python %s (%s)" % (platform.processor() or platform.machine(), os.cpu_count() or 1,
                                                platform.python_version(), platform.platform(terse=True))
    doc = {
        "sdk": "kms-envelope (Python)",
        "language": "Python",
        "version": kms_envelope.__version__,
        "backend": "kms_envelope._native (%s), Python %s" % (kms_envelope.CRYPTO_BACKEND, platform.python_version()),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "seconds": seconds,
        "quick": bool(args.quick),
        "results": ours,
        "peer": {
            "sdk": "aws-encryption-sdk",
            "version": esdk_version,
            "backend": "cryptography %s" % crypto_version,
            "results": theirs,
        },
        "limits": {
            "sha-384": {"value": sha, "unit": "MB/s", "bytes": big, "how": "hashlib.sha384(64 MiB).digest()"},
            "sha-384-by-op": shas,
        },
        "comparison": rows,
        "targets_met": met,
        "targets": len(rows),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "python.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    def fmt(v: Optional[float], unit: str) -> str:
        if v is None:
            return "–"
        return ("%.0f %s" if v >= 100 else "%.1f %s") % (v, unit)

    def rat(v: Optional[float]) -> str:
        return "–" if v is None else "%.2f×" % v

    L = [
        "# Python: kms_envelope vs aws-encryption-sdk",
        "",
        "`make bench-python` (`python/bench/bench.py`), %s, %s. kms_envelope %s (Rust core, %s; the core's "
        "default frame threads: %d) against aws-encryption-sdk %s (cryptography %s), in one process on this machine. "
        "Raw AES-256 wrapping key, frame length 4096, one-shot calls; 1 KiB: a fresh data key per message, decrypt "
        "cycles through %d messages; MB/s are 10^6 plaintext bytes per second; best of %d rounds of %.1f s after a "
        "warm-up. The SHA-384 line is `hashlib.sha384` over the same %d MiB: the bound for a signed (0x0578) message."
        % (doc["date"], machine, kms_envelope.__version__, kms_envelope.CRYPTO_BACKEND, os.cpu_count() or 1,
           esdk_version, crypto_version, POOL, rounds, seconds, big // MIB),
        "",
        "| workload | suite | kms_envelope | aws-encryption-sdk | × aws-encryption-sdk | × SHA-384 | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        L.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s |"
            % (row["workload"], row["suite"], fmt(row["kms_envelope"], row["unit"]), fmt(row["aws_encryption_sdk"], row["unit"]),
               rat(row["vs_aws_encryption_sdk"]), rat(row["vs_sha384"]), row["target"].replace(">=", "≥"),
               "yes" if row["met"] else "**no**")
        )
    L += [
        "",
        "Bare SHA-384 (hashlib, OpenSSL), measured right before the 0x0578 64 MiB figures: %s. "
        "%d of %d targets met%s." % (" / ".join("%s %s" % (op, fmt(v, "MB/s")) for op, v in shas.items()), met, len(rows),
                                     " (quick run)" if args.quick else ""),
        "",
    ]
    with open(os.path.join(args.out, "python.md"), "w") as f:
        f.write("\n".join(L))
    log("\n".join(L))
    log("bench-python: wrote %s/python.json and python.md in %.0f s" % (args.out, time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
