"""The public surface: names, docstrings, enums, version."""
import inspect as pyinspect
from typing import Any, Dict, List

import kms_envelope
from kms_envelope import AlgorithmSuite, CommitmentPolicy, RsaPadding


def public_members(obj: Any) -> List[str]:
    return [n for n in vars(obj) if not n.startswith("_")]


def test_all_is_complete_and_documented() -> None:
    assert kms_envelope.__doc__
    missing = []
    for name in kms_envelope.__all__:
        obj = getattr(kms_envelope, name)
        if isinstance(obj, str):
            continue  # __version__, CRYPTO_BACKEND
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if pyinspect.isclass(obj):
            for member in public_members(obj):
                attr = getattr(obj, member)
                if isinstance(obj, type) and issubclass(obj, (AlgorithmSuite, CommitmentPolicy, RsaPadding)) and isinstance(attr, obj):
                    continue  # enum members
                if not (getattr(attr, "__doc__", None) or "").strip():
                    missing.append("%s.%s" % (name, member))
    assert missing == []
    exported = {n for n in dir(kms_envelope) if not n.startswith("_")}
    assert exported - set(kms_envelope.__all__) <= {"exceptions", "open"} | {"_keyring", "_native", "_stream", "_types"}


def test_star_import_keeps_the_builtin_open() -> None:
    namespace: Dict[str, Any] = {}
    exec("from kms_envelope import *", namespace)
    assert "open" not in namespace and "encrypt" in namespace
    assert callable(kms_envelope.open) and kms_envelope.open.__doc__


def test_suite_and_policy_arguments_say_what_they_take() -> None:
    import enum

    import pytest

    aes = kms_envelope.RawAesKeyring("ns", "k", bytes(32))
    with pytest.raises(TypeError, match=r"kms_envelope.AlgorithmSuite, its id or its name, not 'float'"):
        kms_envelope.encrypt(b"x", keyring=aes, algorithm_suite=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"kms_envelope.CommitmentPolicy or its name, not 'int'"):
        kms_envelope.encrypt(b"x", keyring=aes, commitment_policy=2)  # type: ignore[arg-type]

    class Other(enum.Enum):
        AES_256_GCM_HKDF_SHA512_COMMIT_KEY = "anything"
        NOT_A_SUITE = 7

    ct = kms_envelope.encrypt(b"x", keyring=aes, algorithm_suite=Other.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
    assert kms_envelope.inspect(ct).algorithm_suite == AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    with pytest.raises(kms_envelope.BadArgumentError, match="unknown algorithm suite 'NOT_A_SUITE'"):
        kms_envelope.encrypt(b"x", keyring=aes, algorithm_suite=Other.NOT_A_SUITE)


def test_version_and_backend() -> None:
    assert kms_envelope.__version__.count(".") == 2
    assert kms_envelope.CRYPTO_BACKEND


def test_enums() -> None:
    assert len(AlgorithmSuite) == 11
    assert AlgorithmSuite(0x0578) is AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert int(AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY) == 0x0478
    assert [s.data_key_length for s in AlgorithmSuite][:3] == [16, 24, 32]
    assert CommitmentPolicy("REQUIRE_ENCRYPT_ALLOW_DECRYPT") is CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    assert str(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT) == "FORBID_ENCRYPT_ALLOW_DECRYPT"
    assert RsaPadding("oaep-sha256") is RsaPadding.OAEP_SHA256 and str(RsaPadding.PKCS1) == "pkcs1"


def test_native_classes_cannot_be_subclassed_or_built_bare() -> None:
    import pytest

    with pytest.raises(TypeError):
        kms_envelope.NativeKeyring()
    with pytest.raises(TypeError):
        kms_envelope.MaterialsManager()
    with pytest.raises(TypeError):
        kms_envelope.EncryptionMaterials()
    with pytest.raises(TypeError):

        class Sub(kms_envelope.RawAesKeyring):  # type: ignore[misc]
            pass


def test_reprs(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring, encryption_context={"k": "v"})
    r = kms_envelope.decrypt(ct, keyring=aes_keyring)
    assert "DecryptResult(plaintext=<1 bytes>" in repr(r)
    assert "MessageHeader(version=2" in repr(r.header)
    assert "EncryptedDataKey(provider_id=" in repr(r.header.encrypted_data_keys[0])
    assert "MultiKeyring(generator=RawAesKeyring(" in repr(kms_envelope.MultiKeyring(aes_keyring))
    assert "AES-256" in repr(aes_keyring)
    from conftest import AES_256

    assert AES_256.hex() not in repr(aes_keyring) and repr(AES_256) not in repr(aes_keyring)


def test_signatures_show_the_real_defaults() -> None:
    """help() and inspect show 4096, 1000, 3, not the Ellipsis PyO3 renders for computed defaults."""
    assert pyinspect.signature(kms_envelope.encrypt).parameters["frame_length"].default == 4096
    assert pyinspect.signature(kms_envelope.StreamEncryptor).parameters["frame_length"].default == 4096
    assert pyinspect.signature(kms_envelope.LocalMaterialsCache).parameters["capacity"].default == 1000
    assert pyinspect.signature(kms_envelope.AwsKmsClient).parameters["max_attempts"].default == 3
