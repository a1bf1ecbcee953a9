"""Interop with the official Python AWS Encryption SDK (``aws-encryption-sdk``
4.0.7 from PyPI, raw master keys), in both directions, in one process."""
import io
import logging
import shutil
from typing import Any, Dict, List, Tuple

import pytest

import kms_envelope
from conftest import AES_256, ALL_SUITES, RSA_PRIVATE_PEM, RSA_PUBLIC_PEM, pattern, policy_for
from kms_envelope import AlgorithmSuite, CommitmentPolicy, RsaPadding

esdk = pytest.importorskip("aws_encryption_sdk")
from aws_encryption_sdk.identifiers import AlgorithmSuite as EsdkSuite  # noqa: E402
from aws_encryption_sdk.identifiers import CommitmentPolicy as EsdkPolicy  # noqa: E402
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm  # noqa: E402
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey  # noqa: E402
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider  # noqa: E402

logging.getLogger("aws_encryption_sdk").setLevel(logging.CRITICAL + 1)

PROVIDER = "kms-envelope-interop"
CONTEXT = {"purpose": "interop", "caf\u00e9": "cr\u00e8me br\u00fbl\u00e9e", "Key": "upper", "\U0001f600-emoji": "\uff21"}

# key kind -> (ESDK wrapping algorithm, key bytes, key type, key id, our padding)
KINDS: Dict[str, Tuple[Any, bytes, Any, str, Any]] = {
    "aes256": (WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING, AES_256, EncryptionKeyType.SYMMETRIC, "aes-256", None),
    "rsa-oaep-sha256": (
        WrappingAlgorithm.RSA_OAEP_SHA256_MGF1, RSA_PRIVATE_PEM.encode(), EncryptionKeyType.PRIVATE, "rsa-2048", RsaPadding.OAEP_SHA256,
    ),
    "rsa-pkcs1": (WrappingAlgorithm.RSA_PKCS1, RSA_PRIVATE_PEM.encode(), EncryptionKeyType.PRIVATE, "rsa-2048", RsaPadding.PKCS1),
}


class StaticProvider(RawMasterKeyProvider):  # type: ignore[misc]
    """An ESDK raw master key provider holding fixed keys."""

    provider_id = PROVIDER

    def __init__(self, **kwargs: Any) -> None:  # pylint: disable=super-init-not-called
        self._static_keys: Dict[str, Any] = {}

    def add(self, key_id: str, key: Any) -> None:
        self._static_keys[key_id] = key
        self.add_master_key(key_id)

    def _get_raw_key(self, key_id: Any) -> Any:
        return self._static_keys[key_id.decode() if isinstance(key_id, bytes) else key_id]


def esdk_provider(*kinds: str) -> StaticProvider:
    provider = StaticProvider()
    for kind in kinds:
        algorithm, material, key_type, key_id, _ = KINDS[kind]
        provider.add(key_id, WrappingKey(wrapping_algorithm=algorithm, wrapping_key=material, wrapping_key_type=key_type))
    return provider


def our_keyring(kind: str, public_only: bool = False) -> kms_envelope.Keyring:
    _, material, _, key_id, padding = KINDS[kind]
    if padding is None:
        return kms_envelope.RawAesKeyring(PROVIDER, key_id, material)
    if public_only:
        return kms_envelope.RawRsaKeyring(PROVIDER, key_id, public_key=RSA_PUBLIC_PEM, padding=padding)
    return kms_envelope.RawRsaKeyring(PROVIDER, key_id, public_key=RSA_PUBLIC_PEM, private_key=RSA_PRIVATE_PEM, padding=padding)


def esdk_client(suite: AlgorithmSuite) -> Any:
    policy = EsdkPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if suite.is_committing else EsdkPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    return esdk.EncryptionSDKClient(commitment_policy=policy)


DECRYPTING_CLIENT = esdk.EncryptionSDKClient(commitment_policy=EsdkPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
ALLOW = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
MATRIX: List[Tuple[AlgorithmSuite, str]] = [(s, k) for s in ALL_SUITES for k in KINDS]


def ids(p: Tuple[AlgorithmSuite, str]) -> str:
    return "%04x-%s" % (p[0], p[1])


@pytest.mark.parametrize("suite,kind", MATRIX, ids=[ids(p) for p in MATRIX])
@pytest.mark.parametrize("frame_length", [0, 4096], ids=["nonframed", "framed"])
def test_esdk_encrypts_we_decrypt(suite: AlgorithmSuite, kind: str, frame_length: int) -> None:
    plaintext = pattern(10_000 if suite % 2 else 8192, suite)
    ct, _ = esdk_client(suite).encrypt(
        source=plaintext,
        key_provider=esdk_provider(kind),
        encryption_context=CONTEXT,
        algorithm=EsdkSuite.get_by_id(int(suite)),
        frame_length=frame_length,
    )
    header = kms_envelope.inspect(ct)
    assert header.algorithm_suite is suite
    assert header.content_type == ("non-framed" if frame_length == 0 else "framed")
    keyring = our_keyring(kind)
    result = kms_envelope.decrypt(ct, keyring=keyring, encryption_context=CONTEXT, commitment_policy=ALLOW)
    assert result.plaintext == plaintext
    for k, v in CONTEXT.items():
        assert result.encryption_context[k] == v
    # streaming
    with kms_envelope.open(
        io.BytesIO(ct), "rb", keyring=keyring, encryption_context=CONTEXT, commitment_policy=ALLOW, chunk_size=1000
    ) as reader:
        assert reader.read() == plaintext


@pytest.mark.parametrize("suite,kind", MATRIX, ids=[ids(p) for p in MATRIX])
def test_we_encrypt_esdk_decrypts(suite: AlgorithmSuite, kind: str) -> None:
    plaintext = pattern(10_000 if suite % 2 else 8192, suite)
    ct = kms_envelope.encrypt(
        plaintext,
        keyring=our_keyring(kind, public_only=True),
        encryption_context=CONTEXT,
        algorithm_suite=suite,
        commitment_policy=policy_for(suite),
    )
    got, header = DECRYPTING_CLIENT.decrypt(source=ct, key_provider=esdk_provider(kind))
    assert got == plaintext
    assert header.algorithm.algorithm_id == int(suite)
    for k, v in CONTEXT.items():
        assert header.encryption_context[k] == v
    # ESDK streaming decrypt
    out = bytearray()
    with DECRYPTING_CLIENT.stream(mode="d", source=io.BytesIO(ct), key_provider=esdk_provider(kind)) as dec:
        for chunk in dec:
            out += chunk
    assert bytes(out) == plaintext


@pytest.mark.parametrize("suite", [AlgorithmSuite(0x0478), AlgorithmSuite(0x0578), AlgorithmSuite(0x0378), AlgorithmSuite(0x0078)], ids=str)
@pytest.mark.parametrize("size", [0, 1, 4096, 100_000])
def test_streams_both_ways(suite: AlgorithmSuite, size: int) -> None:
    plaintext = pattern(size, 11)
    # our streaming writer -> ESDK
    buf = io.BytesIO()
    with kms_envelope.open(
        buf, "wb", keyring=our_keyring("aes256"), algorithm_suite=suite, commitment_policy=policy_for(suite), frame_length=1024
    ) as w:
        shutil.copyfileobj(io.BytesIO(plaintext), w, 999)
    got, _ = DECRYPTING_CLIENT.decrypt(source=buf.getvalue(), key_provider=esdk_provider("aes256"))
    assert got == plaintext
    # ESDK streaming writer -> our streaming reader
    esdk_out = io.BytesIO()
    with esdk_client(suite).stream(
        mode="e", source=io.BytesIO(plaintext), key_provider=esdk_provider("aes256"),
        algorithm=EsdkSuite.get_by_id(int(suite)), frame_length=1024,
    ) as enc:
        for chunk in enc:
            esdk_out.write(chunk)
    with kms_envelope.open(io.BytesIO(esdk_out.getvalue()), "rb", keyring=our_keyring("aes256"), commitment_policy=ALLOW, chunk_size=777) as r:
        assert r.read() == plaintext


def test_two_keys_each_side_decrypts_with_either() -> None:
    multi = kms_envelope.MultiKeyring(our_keyring("aes256"), [our_keyring("rsa-oaep-sha256", public_only=True)])
    ct = kms_envelope.encrypt(b"two keys", keyring=multi, encryption_context=CONTEXT)
    for kind in ("aes256", "rsa-oaep-sha256"):
        got, _ = DECRYPTING_CLIENT.decrypt(source=ct, key_provider=esdk_provider(kind))
        assert got == b"two keys"
    theirs, _ = esdk.EncryptionSDKClient().encrypt(source=b"theirs", key_provider=esdk_provider("rsa-pkcs1", "aes256"))
    assert len(kms_envelope.inspect(theirs).encrypted_data_keys) == 2
    for kind in ("aes256", "rsa-pkcs1"):
        assert kms_envelope.decrypt(theirs, keyring=our_keyring(kind)).plaintext == b"theirs"


def test_tampered_esdk_message_is_rejected() -> None:
    ct, _ = esdk.EncryptionSDKClient().encrypt(source=b"x" * 5000, key_provider=esdk_provider("aes256"))
    bad = bytearray(ct)
    bad[-200] ^= 1
    with pytest.raises(kms_envelope.AuthenticationError):
        kms_envelope.decrypt(bytes(bad), keyring=our_keyring("aes256"))
    with pytest.raises(kms_envelope.NoKeyUnwrappedError):
        kms_envelope.decrypt(ct, keyring=kms_envelope.RawAesKeyring(PROVIDER, "aes-256", bytes(32)))


@pytest.mark.parametrize("suite", [AlgorithmSuite(0x0578), AlgorithmSuite(0x0478), AlgorithmSuite(0x0378), AlgorithmSuite(0x0214)], ids=str)
def test_large_messages_written_in_place_decrypt_in_esdk(suite: AlgorithmSuite) -> None:
    # From 1 MiB up, encrypt() writes the message straight into the returned
    # bytes (its length fixed in advance: signed suites re-sign until the
    # DER signature has one fixed length).
    plaintext = pattern(3 * (1 << 20) + 5, 21)
    ct = kms_envelope.encrypt(
        plaintext, keyring=our_keyring("aes256"), encryption_context=CONTEXT, algorithm_suite=suite, commitment_policy=policy_for(suite)
    )
    assert type(ct) is bytes
    if suite.is_signing:
        sig_len = int.from_bytes(ct[-(2 + (71 if suite == 0x0214 else 103)) :][:2], "big")
        assert sig_len == (71 if suite == 0x0214 else 103)
    got, _ = DECRYPTING_CLIENT.decrypt(source=ct, key_provider=esdk_provider("aes256"))
    assert got == plaintext
    assert kms_envelope.decrypt(ct, keyring=our_keyring("aes256"), commitment_policy=policy_for(suite)).plaintext == plaintext


def test_the_official_sdks_enums_are_taken_by_name() -> None:
    # A migrating caller passes aws_encryption_sdk's own members.
    aes = kms_envelope.RawAesKeyring("ns", "enums", AES_256)
    for esdk_suite in EsdkSuite:
        policy = EsdkPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if esdk_suite.is_committing() else EsdkPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        ct = kms_envelope.encrypt(b"x", keyring=aes, algorithm_suite=esdk_suite, commitment_policy=policy)
        assert kms_envelope.inspect(ct).algorithm_suite == esdk_suite.algorithm_id
        assert kms_envelope.decrypt(ct, keyring=aes, commitment_policy=policy).plaintext == b"x"
        # ... and their names, Python's spelling of the legacy suites included
        ct = kms_envelope.encrypt(b"x", keyring=aes, algorithm_suite=esdk_suite.name, commitment_policy=policy.name)
        assert kms_envelope.inspect(ct).algorithm_suite == esdk_suite.algorithm_id
