"""Interop with the official Python AWS Encryption SDK (``aws-encryption-sdk``
from PyPI) and its AWS KMS master key providers, over a real AWS KMS API
server (moto_server on 127.0.0.1), in both directions, with this SDK's
built-in client and with a boto3 client."""
import logging
from typing import Any, Iterator

import pytest

import kms_envelope
from kms_envelope import AlgorithmSuite, AwsKmsDiscoveryKeyring, AwsKmsKeyring, CommitmentPolicy
from local_kms import ACCOUNT, REGION, MotoServer

esdk = pytest.importorskip("aws_encryption_sdk")
import botocore.session  # noqa: E402
from aws_encryption_sdk.identifiers import AlgorithmSuite as EsdkSuite  # noqa: E402
from aws_encryption_sdk.identifiers import CommitmentPolicy as EsdkPolicy  # noqa: E402
from aws_encryption_sdk.exceptions import DecryptKeyError  # noqa: E402
from aws_encryption_sdk.key_providers.kms import DiscoveryFilter  # noqa: E402

logging.getLogger("aws_encryption_sdk").setLevel(logging.CRITICAL + 1)

CONTEXT = {"purpose": "kms interop", "caf\u00e9": "cr\u00e8me"}
SUITES = [
    AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
    AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    AlgorithmSuite.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
]


@pytest.fixture
def esdk_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """botocore (which the ESDK's KMS providers use) pointed at the server:
    it sends KMS calls to ``AWS_ENDPOINT_URL_KMS``."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(params=["native", "boto3"])
def kms(request: pytest.FixtureRequest, moto_server: MotoServer, esdk_env: None) -> Any:
    if request.param == "native":
        return moto_server.native_client()
    return moto_server.boto3_client()


def esdk_client(suite: AlgorithmSuite) -> Any:
    policy = EsdkPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if suite.is_committing else EsdkPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    return esdk.EncryptionSDKClient(commitment_policy=policy)


def our_policy(suite: AlgorithmSuite) -> CommitmentPolicy:
    return CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if suite.is_committing else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT


def strict_provider(*keys: str) -> Any:
    return esdk.StrictAwsKmsMasterKeyProvider(key_ids=list(keys), botocore_session=botocore.session.Session())


@pytest.mark.parametrize("suite", SUITES, ids=["%04X" % s for s in SUITES])
def test_esdk_encrypts_with_kms_we_decrypt(kms: Any, moto_server: MotoServer, suite: AlgorithmSuite) -> None:
    a, b = moto_server.create_key(), moto_server.create_key()
    plaintext = b"from aws-encryption-sdk " * 200
    theirs, _ = esdk_client(suite).encrypt(
        source=plaintext, key_provider=strict_provider(a, b), encryption_context=CONTEXT,
        algorithm=EsdkSuite.get_by_id(int(suite)), frame_length=1024,
    )
    header = kms_envelope.inspect(theirs)
    assert header.algorithm_suite == suite
    assert sorted(e.provider_info for e in header.encrypted_data_keys) == sorted([a.encode(), b.encode()])
    policy = our_policy(suite)
    for keyring in (AwsKmsKeyring(a, client=kms), AwsKmsKeyring(b, client=kms), AwsKmsDiscoveryKeyring(client=kms, partition="aws", account_ids=[ACCOUNT])):
        result = kms_envelope.decrypt(theirs, keyring=keyring, encryption_context=CONTEXT, commitment_policy=policy)
        assert result.plaintext == plaintext and result.algorithm_suite == suite


@pytest.mark.parametrize("suite", SUITES, ids=["%04X" % s for s in SUITES])
def test_we_encrypt_with_kms_esdk_decrypts(kms: Any, moto_server: MotoServer, suite: AlgorithmSuite) -> None:
    a, b = moto_server.create_key(), moto_server.create_key()
    plaintext = b"from kms_envelope " * 200
    both = kms_envelope.MultiKeyring(AwsKmsKeyring(a, client=kms), [AwsKmsKeyring(b, client=kms)])
    ours = kms_envelope.encrypt(
        plaintext, keyring=both, encryption_context=CONTEXT, algorithm_suite=suite, commitment_policy=our_policy(suite), frame_length=1024
    )
    client = esdk_client(suite)
    discovery = esdk.DiscoveryAwsKmsMasterKeyProvider(
        discovery_filter=DiscoveryFilter(partition="aws", account_ids=[ACCOUNT]), botocore_session=botocore.session.Session()
    )
    for provider in (strict_provider(a), strict_provider(b), discovery):
        decrypted, header = client.decrypt(source=ours, key_provider=provider)
        assert decrypted == plaintext
        assert header.algorithm.algorithm_id == int(suite)
        assert {k: header.encryption_context[k] for k in CONTEXT} == CONTEXT


def test_esdk_refuses_a_key_it_was_not_given(kms: Any, moto_server: MotoServer) -> None:
    a, b = moto_server.create_key(), moto_server.create_key()
    ours = kms_envelope.encrypt(b"only a", keyring=AwsKmsKeyring(a, client=kms))
    with pytest.raises(DecryptKeyError):
        esdk_client(AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY).decrypt(source=ours, key_provider=strict_provider(b))
    theirs, _ = esdk.EncryptionSDKClient().encrypt(source=b"only b", key_provider=strict_provider(b))
    with pytest.raises(kms_envelope.NoKeyUnwrappedError):
        kms_envelope.decrypt(theirs, keyring=AwsKmsKeyring(a, client=kms))
