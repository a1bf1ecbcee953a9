"""Each exception class, raised by a matching bad input."""
import base64
import io
from typing import Any, Sequence

import pytest

import kms_envelope
from conftest import AES_256, RSA_PUBLIC_PEM
from kms_envelope import AlgorithmSuite, CommitmentPolicy

UNSIGNED = AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
SIGNED = AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384


def test_hierarchy() -> None:
    for cls in (
        kms_envelope.MalformedMessageError,
        kms_envelope.AuthenticationError,
        kms_envelope.NoKeyUnwrappedError,
        kms_envelope.PolicyViolationError,
        kms_envelope.KmsError,
        kms_envelope.BadArgumentError,
        kms_envelope.IoError,
    ):
        assert issubclass(cls, kms_envelope.Error)
        assert cls.__module__ == "kms_envelope.exceptions"
    assert issubclass(kms_envelope.BadArgumentError, ValueError)
    assert issubclass(kms_envelope.IoError, OSError)
    assert issubclass(kms_envelope.Error, Exception)


def test_truncated_is_malformed(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    for suite in (UNSIGNED, SIGNED):
        ct = kms_envelope.encrypt(b"x" * 300, keyring=aes_keyring, algorithm_suite=suite, frame_length=100)
        for n in range(len(ct)):
            with pytest.raises(kms_envelope.MalformedMessageError):
                kms_envelope.decrypt(ct[:n], keyring=aes_keyring)
        header_len = kms_envelope.inspect(ct).header_length
        with pytest.raises(kms_envelope.MalformedMessageError):
            kms_envelope.inspect(ct[: header_len - 1])
        # streaming: the truncated stream never ends like a good one
        with pytest.raises(kms_envelope.MalformedMessageError):
            with kms_envelope.open(io.BytesIO(ct[:-1]), "rb", keyring=aes_keyring, signed_release="frames") as r:
                r.read()


def test_garbage_is_malformed(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(b"data", keyring=aes_keyring)
    for bad in (b"", b"\x00" * 100, b"\x09" + ct[1:], base64.b64encode(ct), ct + b"\x00"):
        with pytest.raises(kms_envelope.MalformedMessageError):
            kms_envelope.decrypt(bad, keyring=aes_keyring)
    with pytest.raises(kms_envelope.MalformedMessageError, match="base64"):
        kms_envelope.inspect(base64.b64encode(ct))


def flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)


def test_tampered_is_authentication_error(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    for suite in (UNSIGNED, SIGNED):
        ct = kms_envelope.encrypt(b"y" * 1000, keyring=aes_keyring, algorithm_suite=suite, frame_length=256)
        header_len = kms_envelope.inspect(ct).header_length
        # header tag, commitment key, first frame, last frame (unsigned: its tag ends the message)
        positions = [header_len - 1, header_len - 20, header_len + 10, header_len + 40]
        if suite is UNSIGNED:
            positions.append(len(ct) - 1)
        for i in positions:
            with pytest.raises(kms_envelope.AuthenticationError):
                kms_envelope.decrypt(flip(ct, i), keyring=aes_keyring)
    signed = kms_envelope.encrypt(b"z", keyring=aes_keyring, algorithm_suite=SIGNED)
    with pytest.raises(kms_envelope.AuthenticationError, match="signature"):
        kms_envelope.decrypt(flip(signed, len(signed) - 1), keyring=aes_keyring)


def test_wrong_key_is_no_key_unwrapped(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(b"data", keyring=aes_keyring)
    wrong_bytes = kms_envelope.RawAesKeyring("kms-envelope-test", "aes-256", bytes(32))
    wrong_name = kms_envelope.RawAesKeyring("kms-envelope-test", "other", AES_256)
    for kr in (wrong_bytes, wrong_name):
        with pytest.raises(kms_envelope.NoKeyUnwrappedError) as info:
            kms_envelope.decrypt(ct, keyring=kr)
        assert isinstance(info.value.reasons, tuple)
    assert all(isinstance(r, str) for r in info.value.reasons)
    with pytest.raises(kms_envelope.NoKeyUnwrappedError) as info2:
        kms_envelope.decrypt(ct, keyring=wrong_bytes)
    assert info2.value.reasons  # says why


def test_wrong_context(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(b"data", keyring=aes_keyring, encryption_context={"tenant": "a"})
    with pytest.raises(kms_envelope.PolicyViolationError, match="mismatch"):
        kms_envelope.decrypt(ct, keyring=aes_keyring, encryption_context={"tenant": "b"})
    # a pair the message never had: the raw AES wrapping (its AAD) no longer matches
    with pytest.raises((kms_envelope.NoKeyUnwrappedError, kms_envelope.AuthenticationError)):
        kms_envelope.decrypt(ct, keyring=aes_keyring, encryption_context={"extra": "1"})


def test_policy_violations(aes_keyring: kms_envelope.RawAesKeyring, rsa_keyring: kms_envelope.RawRsaKeyring) -> None:
    two = kms_envelope.encrypt(b"x", keyring=kms_envelope.MultiKeyring(aes_keyring, [rsa_keyring]))
    with pytest.raises(kms_envelope.PolicyViolationError, match="encrypted data keys"):
        kms_envelope.decrypt(two, keyring=aes_keyring, max_encrypted_data_keys=1)
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.encrypt(b"x", keyring=kms_envelope.MultiKeyring(aes_keyring, [rsa_keyring]), max_encrypted_data_keys=1)
    # commitment policy, both ways
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=AlgorithmSuite.AES_256_GCM_IV12_TAG16_HKDF_SHA256)
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.encrypt(b"x", keyring=aes_keyring, commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT, algorithm_suite=UNSIGNED)
    legacy = kms_envelope.encrypt(b"x", keyring=aes_keyring, commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.decrypt(legacy, keyring=aes_keyring)
    assert kms_envelope.decrypt(legacy, keyring=aes_keyring, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT").plaintext == b"x"
    # signed message to an unsigned-only reader
    signed = kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=SIGNED)
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.open(io.BytesIO(signed), "rb", keyring=aes_keyring, unsigned_only=True).read()


def test_kms_error_from_keyring() -> None:
    class Denied:
        def on_encrypt(self, m: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
            raise kms_envelope.KmsError("access denied", code="AccessDeniedException")

        def on_decrypt(
            self, m: kms_envelope.DecryptionMaterials, e: Sequence[kms_envelope.EncryptedDataKey]
        ) -> kms_envelope.DecryptionMaterials:
            raise kms_envelope.KmsError("access denied", code="AccessDeniedException")

    with pytest.raises(kms_envelope.KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=Denied())
    assert info.value.code == "AccessDeniedException"


def test_bad_arguments(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    untyped: Any = kms_envelope
    cases: Any = [
        lambda: kms_envelope.RawAesKeyring("ns", "n", b"short"),
        lambda: kms_envelope.RawAesKeyring("aws-kms", "n", AES_256),
        lambda: kms_envelope.RawRsaKeyring("ns", "n", public_key="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        lambda: kms_envelope.RawRsaKeyring("ns", "n", public_key=b"\x30\x00"),
        lambda: kms_envelope.RawRsaKeyring("ns", "n"),
        lambda: kms_envelope.RawRsaKeyring("ns", "n", public_key=RSA_PUBLIC_PEM, padding="oaep-md5"),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, frame_length=0),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, frame_length=1 << 32),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, encryption_context={"aws-crypto-x": "1"}),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, max_encrypted_data_keys=0),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, max_encrypted_data_keys=70000),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=0x9999),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite="not-a-suite"),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, commitment_policy="NOT_A_POLICY"),
        lambda: kms_envelope.decrypt(b"x", keyring=aes_keyring, max_encrypted_data_keys=-1),
        lambda: untyped.open(io.BytesIO(), "r", keyring=aes_keyring),
        lambda: untyped.open(io.BytesIO(), "rb", keyring=aes_keyring, signed_release="never"),
        lambda: kms_envelope.open(io.BytesIO(), "rb", keyring=aes_keyring, chunk_size=0),
        lambda: kms_envelope.RequiredEncryptionContextMaterialsManager([], keyring=aes_keyring),
        # integers of any size are range errors naming the argument, never OverflowError
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, frame_length=1 << 70),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, frame_length=-(1 << 70)),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, max_encrypted_data_keys=10**30),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=1 << 80),
        lambda: kms_envelope.StreamEncryptor(keyring=aes_keyring, plaintext_length=-1),
        lambda: kms_envelope.StreamEncryptor(keyring=aes_keyring, plaintext_length=1 << 64),
        lambda: kms_envelope.StreamDecryptor(keyring=aes_keyring, max_buffered_plaintext=-5),
        lambda: kms_envelope.LocalMaterialsCache(-1),
        lambda: kms_envelope.LocalMaterialsCache(1 << 100),
        lambda: kms_envelope.CachingMaterialsManager(max_age=60, keyring=aes_keyring, max_messages=-1),
        lambda: kms_envelope.CachingMaterialsManager(max_age=60, keyring=aes_keyring, max_bytes=1 << 64),
        lambda: kms_envelope.CachingMaterialsManager(max_age=1e20, keyring=aes_keyring),
        lambda: kms_envelope.CachingMaterialsManager(max_age=float("nan"), keyring=aes_keyring),
        lambda: kms_envelope.AwsKmsClient(region="us-east-1", max_attempts=1 << 40),
        lambda: kms_envelope.AwsKmsClient(region="us-east-1", max_attempts=0),
        # a region becomes part of the endpoint's host name: one DNS label only
        lambda: kms_envelope.AwsKmsClient(region="kms.evil.example/", access_key_id="a", secret_access_key="b"),
        lambda: kms_envelope.AwsKmsClient(region="-us-east-1", access_key_id="a", secret_access_key="b"),
        # lone surrogates cannot be encoded in a message
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, encryption_context={"a\ud800": "b"}),
        lambda: kms_envelope.encrypt(b"x", keyring=aes_keyring, encryption_context={"a": "\udfff"}),
        lambda: kms_envelope.RequiredEncryptionContextMaterialsManager(["\ud800"], keyring=aes_keyring),
    ]
    for case in cases:
        with pytest.raises(kms_envelope.BadArgumentError):
            case()
        with pytest.raises(ValueError):
            case()
    # the declared plaintext length is enforced
    enc = kms_envelope.StreamEncryptor(keyring=aes_keyring, plaintext_length=3)
    with pytest.raises(kms_envelope.BadArgumentError):
        enc.update(b"four")
    enc2 = kms_envelope.StreamEncryptor(keyring=aes_keyring, plaintext_length=3)
    enc2.update(b"ab")
    with pytest.raises(kms_envelope.BadArgumentError):
        enc2.finish()
    with pytest.raises(kms_envelope.BadArgumentError):
        enc2.finish()  # finished or failed


def test_wrong_argument_types(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    untyped: Any = kms_envelope  # calls the type checker would reject
    cases: Any = [
        lambda: untyped.encrypt("text", keyring=aes_keyring),
        lambda: untyped.encrypt(12, keyring=aes_keyring),
        lambda: untyped.encrypt([1, 2, 3], keyring=aes_keyring),
        lambda: untyped.encrypt(b"x"),
        lambda: untyped.encrypt(b"x", keyring="aes"),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, materials_manager=kms_envelope.DefaultMaterialsManager(aes_keyring)),
        lambda: untyped.encrypt(b"x", materials_manager=aes_keyring),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, encryption_context="a=b"),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, encryption_context={"a": 1}),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, encryption_context={b"a": "b"}),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, frame_length="4096"),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, algorithm_suite=1.5),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, commitment_policy=3),
        lambda: untyped.encrypt(b"x", aes_keyring),
        lambda: untyped.decrypt(None, keyring=aes_keyring),
        lambda: untyped.RawAesKeyring("ns", "n", "32-character-string-key-00000000"),
        lambda: untyped.RawAesKeyring(b"ns", "n", AES_256),
        lambda: untyped.MultiKeyring(aes_keyring, [object()]),
        lambda: untyped.MultiKeyring(aes_keyring, 5),
        lambda: untyped.RequiredEncryptionContextMaterialsManager("tenant", keyring=aes_keyring),
        lambda: untyped.RequiredEncryptionContextMaterialsManager([1], keyring=aes_keyring),
        lambda: untyped.EncryptedDataKey(b"id", b"", b""),
        lambda: untyped.open(io.BytesIO(), "wb", keyring=aes_keyring, signed_release="frames"),
        lambda: untyped.open(io.BytesIO(), "rb", keyring=aes_keyring, frame_length=10),
        # Python counts True as 1: a slip, never a one-byte frame or a one-second age
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, frame_length=True),
        lambda: untyped.encrypt(b"x", keyring=aes_keyring, max_encrypted_data_keys=True),
        lambda: untyped.StreamEncryptor(keyring=aes_keyring, plaintext_length=False),
        lambda: untyped.LocalMaterialsCache(True),
        lambda: untyped.CachingMaterialsManager(max_age=True, keyring=aes_keyring),
    ]
    for case in cases:
        with pytest.raises(TypeError):
            case()
    with pytest.raises(TypeError, match="(?s)expected int, not 'bool'.*frame_length"):
        untyped.encrypt(b"x", keyring=aes_keyring, frame_length=True)
    with pytest.raises(TypeError, match="values must be str, not 'int'"):
        untyped.encrypt(b"x", keyring=aes_keyring, encryption_context={"a": 1})
    with pytest.raises(TypeError, match="keys must be str, not 'bytes'"):
        untyped.encrypt(b"x", keyring=aes_keyring, encryption_context={b"a": "b"})
    with pytest.raises(kms_envelope.BadArgumentError, match="frame_length must be between 1 and 4294967295, not a number above 2\\*\\*63"):
        kms_envelope.encrypt(b"x", keyring=aes_keyring, frame_length=1 << 70)
    with pytest.raises(kms_envelope.BadArgumentError, match="unknown algorithm suite 0x9999"):
        kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=0x9999)
    with pytest.raises(kms_envelope.BadArgumentError, match="unknown algorithm suite -1$"):
        kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=-1)
    # a buffer that is gone says so, not that it is no buffer
    view = memoryview(b"gone")
    view.release()
    with pytest.raises(ValueError, match="plaintext: .*released"):
        kms_envelope.encrypt(view, keyring=aes_keyring)
    # the maximum age is kept in milliseconds
    with pytest.raises(kms_envelope.BadArgumentError, match="at least one millisecond"):
        kms_envelope.CachingMaterialsManager(max_age=0.0005, keyring=aes_keyring)


def test_mappings_other_than_dict(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    from types import MappingProxyType

    ec = MappingProxyType({"k": "v"})
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring, encryption_context=ec)
    assert kms_envelope.decrypt(ct, keyring=aes_keyring, encryption_context=ec).encryption_context["k"] == "v"


class FailingFile(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise OSError(5, "Input/output error")

    def write(self, b: Any) -> int:
        raise OSError(28, "No space left on device")


def test_io_errors(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    with pytest.raises(kms_envelope.IoError) as info:
        kms_envelope.open(FailingFile(), "rb", keyring=aes_keyring).read()
    assert info.value.errno == 5 and isinstance(info.value.__cause__, OSError)
    w = kms_envelope.open(FailingFile(), "wb", keyring=aes_keyring)
    with pytest.raises(kms_envelope.IoError) as info2:
        w.write(b"x" * 10000)
    assert info2.value.errno == 28 and isinstance(info2.value, OSError)
    assert w.closed  # aborted: the lost bytes cannot be written again
    w.close()


def test_multi_keyrings_nest_64_deep_at_most(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    keyring: kms_envelope.NativeKeyring = aes_keyring
    for _ in range(63):
        keyring = kms_envelope.MultiKeyring(generator=keyring)
    message = kms_envelope.encrypt(b"deep", keyring=keyring)
    assert kms_envelope.decrypt(message, keyring=keyring).plaintext == b"deep"
    with pytest.raises(kms_envelope.BadArgumentError, match="nest at most 64"):
        kms_envelope.MultiKeyring(children=[keyring])


LONE = "\udc80"


@pytest.mark.parametrize(
    "call",
    [
        lambda kr: kms_envelope.encrypt(b"x", keyring=kr, algorithm_suite=LONE),
        lambda kr: kms_envelope.encrypt(b"x", keyring=kr, commitment_policy=LONE),
        lambda kr: kms_envelope.RawAesKeyring(LONE, "n", AES_256),
        lambda kr: kms_envelope.RawAesKeyring("ns", LONE, AES_256),
        lambda kr: kms_envelope.RawRsaKeyring("a", "b", public_key=RSA_PUBLIC_PEM, padding=LONE),
        lambda kr: kms_envelope.RawRsaKeyring("a", "b", public_key="-----BEGIN PUBLIC KEY-----" + LONE),
        lambda kr: kms_envelope.EncryptedDataKey(LONE, b"", b""),
        lambda kr: kms_envelope.CachingMaterialsManager(max_age=1.0, keyring=kr, partition_id=LONE),
        lambda kr: kms_envelope.StreamDecryptor(keyring=kr, signed_release=LONE),  # type: ignore[arg-type]
        lambda kr: kms_envelope.AwsKmsClient(region="us-east-1", access_key_id="a", secret_access_key=LONE),
        lambda kr: kms_envelope.AwsKmsDiscoveryKeyring(partition="aws", account_ids=[LONE]),
        lambda kr: kms_envelope.CachingMaterialsManager(max_age=10**400, keyring=kr),
        lambda kr: kms_envelope.AwsKmsClient(region="us-east-1").create_alias("alias/" + LONE, "k"),
        lambda kr: kms_envelope.AwsKmsClient(region="us-east-1").create_key(LONE),
    ],
)
def test_unencodable_text_and_huge_numbers_are_bad_arguments(
    aes_keyring: kms_envelope.RawAesKeyring, call: Any
) -> None:
    # Lone surrogates have no UTF-8 form: pyo3's UnicodeEncodeError (and its
    # OverflowError for an int past a float) escaped the package's errors.
    with pytest.raises(kms_envelope.BadArgumentError) as caught:
        call(aes_keyring)
    # A secret is never repeated in the message.
    assert LONE not in str(caught.value)


def test_a_non_str_text_argument_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="key_namespace"):
        kms_envelope.RawAesKeyring(1, "n", AES_256)  # type: ignore[arg-type]
