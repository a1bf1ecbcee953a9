"""Reference cycles through kms_envelope objects are collected.

A Python keyring (or KMS client) that refers back to an object holding a
materials manager, multi-keyring or stream built on it forms a cycle
through the native core; the cycle collector must see it and free it, and
objects still in use must keep working.
"""
import gc
import io
import weakref
from typing import Any, Callable, Dict, List, Sequence

import pytest

import kms_envelope as ke

AES = ke.RawAesKeyring("ns", "k", bytes(range(32)))
MESSAGE = ke.encrypt(b"hello", keyring=AES)
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class App:
    """Any application object."""


class Keyring:
    """A Python keyring over ``AES`` that refers back to its owner."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner

    def on_encrypt(self, materials: ke.EncryptionMaterials) -> ke.EncryptionMaterials:
        return AES.on_encrypt(materials)

    def on_decrypt(
        self, materials: ke.DecryptionMaterials, encrypted_data_keys: Sequence[ke.EncryptedDataKey]
    ) -> ke.DecryptionMaterials:
        return AES.on_decrypt(materials, encrypted_data_keys)


class FakeKms:
    """A boto3-like KMS client that refers back to the keyring."""

    def __init__(self, keyring: Any) -> None:
        self.keyring = keyring

    def generate_data_key(self, **kw: Any) -> Any:
        raise RuntimeError("not here")

    def encrypt(self, **kw: Any) -> Any:
        raise RuntimeError("not here")

    def decrypt(self, **kw: Any) -> Any:
        raise RuntimeError("not here")


def _midway(keyring: Any) -> Any:
    d = ke.StreamDecryptor(keyring=keyring)
    d.update(MESSAGE[:-20])
    return d


BUILDERS: Dict[str, Callable[[Any], Any]] = {
    "DefaultMaterialsManager": lambda k: ke.DefaultMaterialsManager(k),
    "CachingMaterialsManager": lambda k: ke.CachingMaterialsManager(keyring=k, max_age=60.0),
    "RequiredEncryptionContextMaterialsManager": lambda k: ke.RequiredEncryptionContextMaterialsManager(
        ["a"], keyring=k
    ),
    "MultiKeyring": lambda k: ke.MultiKeyring(generator=k),
    "nested": lambda k: ke.CachingMaterialsManager(
        materials_manager=ke.DefaultMaterialsManager(ke.MultiKeyring(children=[AES, k])), max_age=60.0
    ),
    "StreamEncryptor": lambda k: ke.StreamEncryptor(keyring=k),
    "StreamDecryptor": lambda k: ke.StreamDecryptor(keyring=k),
    "StreamDecryptor midway": _midway,
    "open rb": lambda k: ke.open(io.BytesIO(MESSAGE), "rb", keyring=k),
    "AwsKmsKeyring client": lambda k: ke.AwsKmsKeyring(KEY_ARN, client=FakeKms(k)),
    "AwsKmsDiscoveryKeyring client": lambda k: ke.AwsKmsDiscoveryKeyring(client=FakeKms(k)),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_cycles_through_native_objects_are_collected(name: str) -> None:
    build = BUILDERS[name]
    refs = []
    for _ in range(50):
        app = App()
        app.keyring = Keyring(app)  # type: ignore[attr-defined]
        app.native = build(app.keyring)  # type: ignore[attr-defined]
        refs.append(weakref.ref(app))
        del app
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_objects_in_use_keep_their_keyrings() -> None:
    # Nothing but the wrappers refers to these keyrings; they keep working.
    manager = ke.DefaultMaterialsManager(Keyring(None))
    multi = ke.MultiKeyring(generator=Keyring(None))
    caching = ke.CachingMaterialsManager(materials_manager=ke.DefaultMaterialsManager(Keyring(None)), max_age=60.0)
    decryptor = ke.StreamDecryptor(keyring=Keyring(None))
    gc.collect()
    for source in ({"materials_manager": manager}, {"keyring": multi}, {"materials_manager": caching}):
        message = ke.encrypt(b"still here", **source)
        assert ke.decrypt(message, **source).plaintext == b"still here"
    released = decryptor.update(MESSAGE)
    decryptor.finish()
    assert released == b"hello"
    # A streaming encryptor made from a temporary keyring, used later.
    encryptor = ke.StreamEncryptor(keyring=Keyring(None))
    gc.collect()
    message = encryptor.update(b"later")
    message += encryptor.finish()
    assert ke.decrypt(message, keyring=AES).plaintext == b"later"


def test_a_finalizer_in_a_dead_cycle_can_still_use_its_manager() -> None:
    # The collector runs __del__ before it breaks the cycle; the keyring the
    # manager calls must still be there (a weak reference would be cleared).
    results: List[Any] = []

    class Finalized:
        native: Any

        def __del__(self) -> None:
            try:
                message = ke.encrypt(b"x", materials_manager=self.native)
                results.append(ke.decrypt(message, keyring=AES).plaintext)
            except Exception as e:  # noqa: BLE001 - recorded for the assertion
                results.append(e)

    app = Finalized()
    app.native = ke.DefaultMaterialsManager(Keyring(app))
    del app
    gc.collect()
    assert results == [b"x"]
