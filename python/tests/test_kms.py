"""AWS KMS keyrings over a boto3 client, against moto's in-process KMS, and
interop with aws-encryption-sdk's KMS master key provider."""
import os
from typing import Any, Dict, Iterator, List

import pytest

import kms_envelope

moto = pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")
import aws_encryption_sdk  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-west-2"


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        yield boto3.client("kms", region_name=REGION)


def new_key(kms: Any) -> str:
    arn: str = kms.create_key()["KeyMetadata"]["Arn"]
    return arn


def test_round_trip_and_layout(kms: Any) -> None:
    arn = new_key(kms)
    keyring = kms_envelope.AwsKmsKeyring(arn, client=kms)
    assert keyring.key_id == arn and isinstance(keyring, kms_envelope.Keyring)
    ct = kms_envelope.encrypt(b"kms data", keyring=keyring, encryption_context={"app": "kms"})
    (edk,) = kms_envelope.inspect(ct).encrypted_data_keys
    assert edk.provider_id == "aws-kms" and edk.provider_info == arn.encode()
    assert kms_envelope.decrypt(ct, keyring=keyring, encryption_context={"app": "kms"}).plaintext == b"kms data"
    discovery = kms_envelope.AwsKmsDiscoveryKeyring(client=kms)
    assert kms_envelope.decrypt(ct, keyring=discovery).plaintext == b"kms data"
    assert kms_envelope.decrypt(
        ct, keyring=kms_envelope.AwsKmsDiscoveryKeyring(client=kms, partition="aws", account_ids=["123456789012"])
    ).plaintext == b"kms data"
    assert kms_envelope.decrypt(ct, keyring=kms_envelope.AwsKmsDiscoveryKeyring(client=kms, region=REGION)).plaintext == b"kms data"
    with pytest.raises(kms_envelope.NoKeyUnwrappedError):
        kms_envelope.decrypt(ct, keyring=kms_envelope.AwsKmsDiscoveryKeyring(client=kms, partition="aws", account_ids=["999999999999"]))
    # an alias encrypts; the message stores the key ARN
    kms.create_alias(AliasName="alias/app", TargetKeyId=arn)
    ct2 = kms_envelope.encrypt(b"via alias", keyring=kms_envelope.AwsKmsKeyring("alias/app", client=kms))
    assert kms_envelope.inspect(ct2).encrypted_data_keys[0].provider_info == arn.encode()
    assert kms_envelope.decrypt(ct2, keyring=keyring).plaintext == b"via alias"


def test_multi_keyring_and_streams(kms: Any, aes_keyring: kms_envelope.RawAesKeyring) -> None:
    a, b = new_key(kms), new_key(kms)
    multi = kms_envelope.MultiKeyring(
        kms_envelope.AwsKmsKeyring(a, client=kms), [kms_envelope.AwsKmsKeyring(b, client=kms, grant_tokens=[]), aes_keyring]
    )
    import io

    buf = io.BytesIO()
    with kms_envelope.open(buf, "wb", keyring=multi) as w:
        w.write(b"three keys")
    ct = buf.getvalue()
    assert [e.provider_id for e in kms_envelope.inspect(ct).encrypted_data_keys] == ["aws-kms", "aws-kms", "kms-envelope-test"]
    for kr in (kms_envelope.AwsKmsKeyring(b, client=kms), aes_keyring):
        with kms_envelope.open(io.BytesIO(ct), "rb", keyring=kr) as r:
            assert r.read() == b"three keys"


def test_service_errors(kms: Any) -> None:
    arn = new_key(kms)
    keyring = kms_envelope.AwsKmsKeyring(arn, client=kms)
    ct = kms_envelope.encrypt(b"x", keyring=keyring, encryption_context={"k": "v"})
    # KMS refuses: disabled key on encrypt -> KmsError with the service's code
    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(kms_envelope.KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=kms_envelope.AwsKmsKeyring(missing, client=kms))
    assert info.value.code == "NotFoundException"
    assert isinstance(info.value.__cause__, ClientError)
    # on decrypt, the failures are listed in NoKeyUnwrappedError, the ClientError chained
    blob = kms_envelope.inspect(ct).encrypted_data_keys[0].ciphertext
    at = ct.index(blob) + len(blob) - 1
    tampered = ct[:at] + bytes([ct[at] ^ 1]) + ct[at + 1 :]  # KMS refuses the wrapped key
    with pytest.raises(kms_envelope.NoKeyUnwrappedError) as info2:
        kms_envelope.decrypt(tampered, keyring=keyring, encryption_context={"k": "v"})
    assert any(arn in r for r in info2.value.reasons)
    assert isinstance(info2.value.__cause__, ClientError)
    with pytest.raises(TypeError):
        kms_envelope.AwsKmsKeyring(arn, client=object())  # type: ignore[arg-type]
    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.AwsKmsKeyring("", client=kms)
    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.AwsKmsDiscoveryKeyring(client=kms, partition="aws")
    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.encrypt(b"x", keyring=kms_envelope.AwsKmsDiscoveryKeyring(client=kms))


class FakeKms:
    """A client that is not boto3: answers with what it is told to."""

    def __init__(self, response: Dict[str, Any]) -> None:
        self.response = response
        self.calls: List[Dict[str, Any]] = []

    def generate_data_key(self, **kwargs: Any) -> Dict[str, Any]:
        self.calls.append(kwargs)
        return self.response

    def encrypt(self, **kwargs: Any) -> Dict[str, Any]:
        return self.response

    def decrypt(self, **kwargs: Any) -> Dict[str, Any]:
        return self.response


def test_bad_responses() -> None:
    arn = "arn:aws:kms:us-west-2:123456789012:key/k"
    fake = FakeKms({"KeyId": arn, "Plaintext": os.urandom(16), "CiphertextBlob": b"blob"})
    with pytest.raises(kms_envelope.KmsError) as info:  # 16 bytes for a 32-byte suite
        kms_envelope.encrypt(b"x", keyring=kms_envelope.AwsKmsKeyring(arn, client=fake, grant_tokens=["t"]))
    assert info.value.code == "InvalidResponse"
    assert fake.calls[0]["GrantTokens"] == ["t"] and fake.calls[0]["NumberOfBytes"] == 32
    with pytest.raises(kms_envelope.KmsError) as info2:
        kms_envelope.encrypt(b"x", keyring=kms_envelope.AwsKmsKeyring(arn, client=FakeKms({"KeyId": arn})))
    assert info2.value.code == "KeyError"
    with pytest.raises(kms_envelope.KmsError):
        kms_envelope.encrypt(b"x", keyring=kms_envelope.AwsKmsKeyring(arn, client=FakeKms({"KeyId": 5, "Plaintext": b"", "CiphertextBlob": b""})))


def test_interop_with_esdk_kms_provider(kms: Any) -> None:
    import botocore.session
    from aws_encryption_sdk.identifiers import CommitmentPolicy as EsdkPolicy

    arn = new_key(kms)
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=EsdkPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[arn], botocore_session=botocore.session.Session())
    context = {"purpose": "interop"}
    theirs, _ = client.encrypt(source=b"from the ESDK", key_provider=provider, encryption_context=context)
    ours = kms_envelope.AwsKmsKeyring(arn, client=kms)
    assert kms_envelope.decrypt(theirs, keyring=ours, encryption_context=context).plaintext == b"from the ESDK"
    mine = kms_envelope.encrypt(b"from kms_envelope", keyring=ours, encryption_context=context)
    plaintext, header = client.decrypt(source=mine, key_provider=provider)
    assert plaintext == b"from kms_envelope" and header.encryption_context["purpose"] == "interop"
