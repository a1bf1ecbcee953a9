"""The caching materials manager: fewer calls reach the key service."""
import time
from typing import List, Sequence, Tuple

import pytest

import kms_envelope
from kms_envelope import AlgorithmSuite, DecryptionMaterials, EncryptedDataKey, EncryptionMaterials


class Counting:
    """Delegates to a native keyring and counts the calls that reach it."""

    def __init__(self, inner: kms_envelope.Keyring) -> None:
        self.inner = inner
        self.calls: List[str] = []

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        self.calls.append("encrypt")
        return self.inner.on_encrypt(materials)

    def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
        self.calls.append("decrypt")
        return self.inner.on_decrypt(materials, edks)


def edks(ct: bytes) -> Tuple[EncryptedDataKey, ...]:
    return kms_envelope.inspect(ct).encrypted_data_keys


def test_reuses_data_keys_within_limits(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    counting = Counting(aes_keyring)
    cmm = kms_envelope.CachingMaterialsManager(keyring=counting, max_age=60.0, max_messages=3)
    cts = [kms_envelope.encrypt(b"msg %d" % i, materials_manager=cmm, encryption_context={"a": "1"}) for i in range(4)]
    assert edks(cts[0]) == edks(cts[1]) == edks(cts[2]) != edks(cts[3])
    assert counting.calls == ["encrypt", "encrypt"]
    # another context is another entry
    kms_envelope.encrypt(b"x", materials_manager=cmm, encryption_context={"a": "2"})
    assert counting.calls.count("encrypt") == 3
    for i, ct in enumerate(cts):
        assert kms_envelope.decrypt(ct, materials_manager=cmm).plaintext == b"msg %d" % i
    assert counting.calls.count("decrypt") == 2  # one per distinct data key
    assert len(cmm.cache) >= 3 and cmm.cache.capacity == 1000
    assert cmm.partition_id
    cmm.cache.clear()
    assert len(cmm.cache) == 0
    assert kms_envelope.decrypt(cts[0], materials_manager=cmm).plaintext == b"msg 0"
    assert counting.calls.count("decrypt") == 3


def test_limits(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    counting = Counting(aes_keyring)
    cmm = kms_envelope.CachingMaterialsManager(keyring=counting, max_age=0.05, max_bytes=100)
    a = kms_envelope.encrypt(b"x" * 60, materials_manager=cmm)
    b = kms_envelope.encrypt(b"x" * 60, materials_manager=cmm)  # 120 bytes > 100: a new key
    assert edks(a) != edks(b)
    c = kms_envelope.encrypt(b"x" * 10, materials_manager=cmm)
    assert edks(c) == edks(b)
    time.sleep(0.1)
    d = kms_envelope.encrypt(b"x" * 10, materials_manager=cmm)  # expired
    assert edks(d) != edks(c)
    # NO_KDF suites are never cached
    legacy = kms_envelope.CachingMaterialsManager(keyring=aes_keyring, max_age=60)
    policy = kms_envelope.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    suite = AlgorithmSuite.AES_256_GCM_IV12_TAG16_NO_KDF
    e = kms_envelope.encrypt(b"x", materials_manager=legacy, algorithm_suite=suite, commitment_policy=policy)
    f = kms_envelope.encrypt(b"x", materials_manager=legacy, algorithm_suite=suite, commitment_policy=policy)
    assert edks(e) != edks(f)


def test_shared_cache_and_partitions(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    cache = kms_envelope.LocalMaterialsCache(capacity=10)
    one = kms_envelope.CachingMaterialsManager(keyring=aes_keyring, max_age=60, cache=cache, partition_id="p")
    two = kms_envelope.CachingMaterialsManager(keyring=aes_keyring, max_age=60, cache=cache, partition_id="p")
    other = kms_envelope.CachingMaterialsManager(keyring=aes_keyring, max_age=60, cache=cache)
    assert one.cache is cache and one.partition_id == "p"
    a = kms_envelope.encrypt(b"x", materials_manager=one)
    assert edks(kms_envelope.encrypt(b"y", materials_manager=two)) == edks(a)
    assert edks(kms_envelope.encrypt(b"z", materials_manager=other)) != edks(a)
    assert "LocalMaterialsCache(capacity=10" in repr(cache)


def test_bad_arguments(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    for kwargs in (
        {"max_age": 0},
        {"max_age": -1},
        {"max_age": float("nan")},
        {"max_age": 1, "max_messages": 0},
        {"max_age": 1, "max_messages": 2**63},
    ):
        with pytest.raises(kms_envelope.BadArgumentError):
            kms_envelope.CachingMaterialsManager(keyring=aes_keyring, **kwargs)
    # caching-cmm.md: a 64-bit limit, 2**32 only the default (the official
    # SDKs refuse more).
    for most in (2**32, 2**32 + 1, 2**63 - 1):
        kms_envelope.CachingMaterialsManager(keyring=aes_keyring, max_age=1, max_messages=most)
    with pytest.raises(kms_envelope.BadArgumentError, match="between 1 and 9223372036854775807, not 0"):
        kms_envelope.CachingMaterialsManager(keyring=aes_keyring, max_age=1, max_messages=0)
    with pytest.raises(TypeError):
        kms_envelope.CachingMaterialsManager(max_age=1)
    with pytest.raises(TypeError):
        kms_envelope.CachingMaterialsManager(keyring=aes_keyring)  # type: ignore[call-arg]
