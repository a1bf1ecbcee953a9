"""AWS KMS keyrings against a real AWS KMS API server: moto_server on
127.0.0.1 (the ``moto_server`` fixture), through the built-in client
(``kms_envelope.AwsKmsClient``) and through a boto3 client pointed at it.
Calls are counted at the server side (moto's request recorder)."""
import io
import multiprocessing
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from botocore.exceptions import ClientError

import kms_envelope
from kms_envelope import AwsKmsClient, AwsKmsDiscoveryKeyring, AwsKmsKeyring, EncryptedDataKey
from conftest import assert_recursion_refused_on_a_small_stack
from local_kms import ACCOUNT, REGION, DelayingProxy, MotoServer, free_port

CONTEXT = {"purpose": "kms test", "tenant": "acme"}
MISSING_KEY = "arn:aws:kms:%s:%s:key/00000000-1111-2222-3333-444444444444" % (REGION, ACCOUNT)


@pytest.fixture(params=["native", "boto3"])
def kms(request: pytest.FixtureRequest, moto_server: MotoServer) -> Any:
    """A KMS client for the server: the built-in one, then a boto3 one."""
    if request.param == "native":
        return moto_server.native_client()
    return moto_server.boto3_client()


def edks(ciphertext: bytes) -> Tuple[EncryptedDataKey, ...]:
    return kms_envelope.inspect(ciphertext).encrypted_data_keys


def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS settings from the environment or the shared files."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


# ------------------------------------------------------------ both clients


def test_two_keys_encrypt_either_decrypts_alone(kms: Any, moto_server: MotoServer) -> None:
    a, b = moto_server.create_key(), moto_server.create_key()
    both = kms_envelope.MultiKeyring(AwsKmsKeyring(a, client=kms), [AwsKmsKeyring(b, client=kms)])
    ciphertext = kms_envelope.encrypt(b"two KMS keys", keyring=both, encryption_context=CONTEXT)
    assert [(e.provider_id, e.provider_info) for e in edks(ciphertext)] == [("aws-kms", a.encode()), ("aws-kms", b.encode())]
    for key in (a, b):
        keyring = AwsKmsKeyring(key, client=kms)
        assert keyring.key_id == key and isinstance(keyring, kms_envelope.Keyring)
        result = kms_envelope.decrypt(ciphertext, keyring=keyring, encryption_context=CONTEXT)
        assert result.plaintext == b"two KMS keys"
        with kms_envelope.open(io.BytesIO(ciphertext), "rb", keyring=keyring) as reader:
            assert reader.read() == b"two KMS keys"
    # a keyring of a third key finds no data key of its own
    with pytest.raises(kms_envelope.NoKeyUnwrappedError) as info:
        kms_envelope.decrypt(ciphertext, keyring=AwsKmsKeyring(moto_server.create_key(), client=kms))
    assert "no encrypted data key for this key" in str(info.value.reasons)


def test_aliases_encrypt_and_messages_store_the_key_arn(kms: Any, moto_server: MotoServer) -> None:
    key = moto_server.create_key()
    alias = "alias/kms-envelope-%s" % os.urandom(4).hex()
    moto_server.native_client().create_alias(alias, key)
    ciphertext = kms_envelope.encrypt(b"via an alias", keyring=AwsKmsKeyring(alias, client=kms))
    assert edks(ciphertext)[0].provider_info == key.encode()
    assert kms_envelope.decrypt(ciphertext, keyring=AwsKmsKeyring(key, client=kms)).plaintext == b"via an alias"


def test_discovery_and_its_filter(kms: Any, moto_server: MotoServer) -> None:
    key = moto_server.create_key()
    ciphertext = kms_envelope.encrypt(b"discover me", keyring=AwsKmsKeyring(key, client=kms), encryption_context=CONTEXT)
    for discovery in (
        AwsKmsDiscoveryKeyring(client=kms),
        AwsKmsDiscoveryKeyring(client=kms, partition="aws", account_ids=[ACCOUNT]),
        AwsKmsDiscoveryKeyring(client=kms, region=REGION),
    ):
        assert kms_envelope.decrypt(ciphertext, keyring=discovery, encryption_context=CONTEXT).plaintext == b"discover me"
    other_account = AwsKmsDiscoveryKeyring(client=kms, partition="aws", account_ids=["111122223333"])
    with pytest.raises(kms_envelope.NoKeyUnwrappedError) as info:
        kms_envelope.decrypt(ciphertext, keyring=other_account)
    assert info.value.reasons == ("AWS KMS discovery: no encrypted data key of an account the discovery filter admits",)
    other_region = AwsKmsDiscoveryKeyring(client=kms, region="eu-west-1")
    with pytest.raises(kms_envelope.NoKeyUnwrappedError, match="eu-west-1"):
        kms_envelope.decrypt(ciphertext, keyring=other_region)
    with pytest.raises(kms_envelope.BadArgumentError, match="cannot encrypt"):
        kms_envelope.encrypt(b"x", keyring=AwsKmsDiscoveryKeyring(client=kms))


def test_wrong_encryption_context_is_invalid_ciphertext(kms: Any, moto_server: MotoServer) -> None:
    key = moto_server.create_key()
    keyring = AwsKmsKeyring(key, client=kms)
    # "tenant" is bound to the data key by KMS but not stored in the message,
    # so decrypting asks KMS with the context the caller gives.
    required = kms_envelope.RequiredEncryptionContextMaterialsManager(["tenant"], keyring=keyring)
    ciphertext = kms_envelope.encrypt(b"bound", materials_manager=required, encryption_context=CONTEXT)
    assert "tenant" not in kms_envelope.inspect(ciphertext).encryption_context
    good = kms_envelope.decrypt(ciphertext, materials_manager=required, encryption_context={"tenant": "acme"})
    assert good.plaintext == b"bound"
    with pytest.raises(kms_envelope.NoKeyUnwrappedError) as info:
        kms_envelope.decrypt(ciphertext, materials_manager=required, encryption_context={"tenant": "other"})
    (reason,) = info.value.reasons
    assert reason.startswith(key + ": InvalidCiphertextException"), reason
    if isinstance(kms, AwsKmsClient):
        assert info.value.__cause__ is None
    else:
        cause = info.value.__cause__
        assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "InvalidCiphertextException"


def test_a_key_that_does_not_exist_is_not_found(kms: Any) -> None:
    for key_id in (MISSING_KEY, "alias/does-not-exist"):
        with pytest.raises(kms_envelope.KmsError) as info:
            kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(key_id, client=kms))
        assert info.value.code == "NotFoundException", info.value
        assert isinstance(info.value.__cause__, ClientError) != isinstance(kms, AwsKmsClient)


def test_caching_1000_messages_make_10_generate_data_key_calls(kms: Any, moto_server: MotoServer) -> None:
    key = moto_server.create_key()
    keyring = AwsKmsKeyring(key, client=kms)
    cmm = kms_envelope.CachingMaterialsManager(keyring=keyring, max_age=600.0, max_messages=100)
    with moto_server.recording() as server:
        messages = [kms_envelope.encrypt(b"message %d" % i, materials_manager=cmm, encryption_context=CONTEXT) for i in range(1000)]
        assert server.count("GenerateDataKey", key) == 10
        assert server.count("GenerateDataKey") == 10 and server.count("Encrypt") == 0
        assert len({edks(m) for m in messages}) == 10
        assert all(edks(messages[i]) == edks(messages[i - i % 100]) for i in range(1000))
        assert kms_envelope.decrypt(messages[999], keyring=keyring).plaintext == b"message 999"
        assert server.count("Decrypt", key) == 1


def test_cache_entries_expire_by_age(kms: Any, moto_server: MotoServer) -> None:
    key = moto_server.create_key()
    cmm = kms_envelope.CachingMaterialsManager(keyring=AwsKmsKeyring(key, client=kms), max_age=1.0)
    with moto_server.recording() as server:
        first = kms_envelope.encrypt(b"1", materials_manager=cmm, encryption_context=CONTEXT)
        assert edks(kms_envelope.encrypt(b"2", materials_manager=cmm, encryption_context=CONTEXT)) == edks(first)
        assert server.count("GenerateDataKey", key) == 1
        time.sleep(1.2)
        renewed = kms_envelope.encrypt(b"3", materials_manager=cmm, encryption_context=CONTEXT)
        assert edks(renewed) != edks(first)
        assert server.count("GenerateDataKey", key) == 2
        assert edks(kms_envelope.encrypt(b"4", materials_manager=cmm, encryption_context=CONTEXT)) == edks(renewed)
        assert server.count("GenerateDataKey", key) == 2


def test_threads_share_a_keyring(kms: Any, moto_server: MotoServer) -> None:
    keyring = AwsKmsKeyring(moto_server.create_key(), client=kms)

    def worker(n: int) -> int:
        for i in range(4):
            context = {"thread": str(n), "i": str(i)}
            ciphertext = kms_envelope.encrypt(b"%d/%d" % (n, i), keyring=keyring, encryption_context=context)
            assert kms_envelope.decrypt(ciphertext, keyring=keyring, encryption_context=context).plaintext == b"%d/%d" % (n, i)
        return n

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(worker, range(8))) == list(range(8))


# ------------------------------------------------------------ the built-in client


def test_native_client_waits_with_the_gil_released(moto_server: MotoServer) -> None:
    key = moto_server.create_key()
    ticks: List[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    # The proxy's threads are Python threads: they answer only if the call
    # waits without the GIL.
    with DelayingProxy(moto_server.url, delay=0.5) as proxy:
        keyring = AwsKmsKeyring(key, client=moto_server.native_client(endpoint_url=proxy.url))
        thread = threading.Thread(target=ticker)
        thread.start()
        try:
            started = time.monotonic()
            ciphertext = kms_envelope.encrypt(b"slow KMS", keyring=keyring)
            finished = time.monotonic()
        finally:
            stop.set()
            thread.join()
        assert proxy.forwarded == 1 and finished - started >= 0.5
    assert len([t for t in ticks if started < t < finished]) >= 10, "the ticker thread ran during the call"
    assert kms_envelope.decrypt(ciphertext, keyring=AwsKmsKeyring(key, client=moto_server.native_client())).plaintext == b"slow KMS"


def test_native_client_works_in_a_forked_child(moto_server: MotoServer) -> None:
    keyring = AwsKmsKeyring(moto_server.create_key(), client=moto_server.native_client())
    ciphertext = kms_envelope.encrypt(b"from the parent", keyring=keyring)  # starts the client's I/O threads
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            mine = kms_envelope.encrypt(b"from the child", keyring=keyring)
            sender.send([kms_envelope.decrypt(c, keyring=keyring).plaintext for c in (ciphertext, mine)])
        except BaseException as e:  # report anything to the parent
            sender.send(repr(e))

    process = context.Process(target=child)
    process.start()
    process.join(60)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail("the forked child hung on its KMS calls")
    assert receiver.poll(1) and receiver.recv() == [b"from the parent", b"from the child"]
    assert process.exitcode == 0
    assert kms_envelope.decrypt(ciphertext, keyring=keyring).plaintext == b"from the parent"


def test_native_client_from_the_environment(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = moto_server.create_key()
    no_aws_config(monkeypatch, tmp_path)
    # no credentials anywhere: a clear error when the client is made
    with pytest.raises(kms_envelope.BadArgumentError, match="no AWS credentials"):
        AwsKmsClient()
    with pytest.raises(kms_envelope.BadArgumentError, match="no AWS credentials"):
        AwsKmsKeyring(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", moto_server.url)
    assert AwsKmsClient().region is None
    # without client=, the keyrings make a client from the environment
    ciphertext = kms_envelope.encrypt(b"env", keyring=AwsKmsKeyring(key), encryption_context=CONTEXT)
    assert kms_envelope.decrypt(ciphertext, keyring=AwsKmsDiscoveryKeyring()).plaintext == b"env"
    # a key ID needs a region
    with pytest.raises(kms_envelope.BadArgumentError, match="AWS_REGION"):
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(key.rsplit("/", 1)[1]))
    monkeypatch.setenv("AWS_REGION", REGION)
    assert AwsKmsClient().region == REGION
    ciphertext = kms_envelope.encrypt(b"by key ID", keyring=AwsKmsKeyring(key.rsplit("/", 1)[1]))
    assert edks(ciphertext)[0].provider_info == key.encode()
    # AWS_ENDPOINT_URL works too, and the explicit endpoint_url wins
    monkeypatch.delenv("AWS_ENDPOINT_URL_KMS")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:%d" % free_port())
    with pytest.raises(kms_envelope.KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(key, client=AwsKmsClient(max_attempts=1)))
    assert info.value.code == "RequestFailed"
    explicit = AwsKmsClient(endpoint_url=moto_server.url)
    assert kms_envelope.decrypt(ciphertext, keyring=AwsKmsKeyring(key, client=explicit)).plaintext == b"by key ID"


def test_native_client_from_a_profile(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_aws_config(monkeypatch, tmp_path)
    (tmp_path / "config").write_text("[profile dev]\nregion = %s\nendpoint_url = %s\n" % (REGION, moto_server.url))
    (tmp_path / "credentials").write_text("[dev]\naws_access_key_id = test\naws_secret_access_key = test\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    client = AwsKmsClient(profile="dev")
    assert client.region == REGION
    key = client.create_key()
    assert key.startswith("arn:aws:kms:%s:%s:key/" % (REGION, ACCOUNT))
    ciphertext = kms_envelope.encrypt(b"profile", keyring=AwsKmsKeyring(key, client=client))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert kms_envelope.decrypt(ciphertext, keyring=AwsKmsKeyring(key)).plaintext == b"profile"
    with pytest.raises(kms_envelope.BadArgumentError, match="profile 'nope'"):
        AwsKmsClient(profile="nope")


def test_native_client_settings_are_checked() -> None:
    creds: Dict[str, Any] = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "SECRETKEY"}
    bad: List[Dict[str, Any]] = [
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": float("nan")},
        {"connect_timeout": float("inf")},
        {"max_attempts": 0},
        {"max_attempts": -3},
        {"region": ""},
        {"region": "us east 1"},
        {"endpoint_url": "ftp://127.0.0.1"},
        {"endpoint_url": "not a url"},
        {"endpoint_url": ""},
        {"profile": ""},
    ]
    for settings in bad:
        with pytest.raises(kms_envelope.BadArgumentError):
            AwsKmsClient(**creds, **settings)
    partials: List[Dict[str, Any]] = [{"access_key_id": "a"}, {"secret_access_key": "b"}, {"session_token": "t"}]
    for partial in partials:
        with pytest.raises(kms_envelope.BadArgumentError):
            AwsKmsClient(**partial)
    with pytest.raises(TypeError):
        AwsKmsClient("us-east-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        AwsKmsClient(**creds, timeout="soon")  # type: ignore[arg-type]
    client = AwsKmsClient(**creds, session_token="TOKENVALUE", region="eu-west-1", endpoint_url="http://127.0.0.1:4566")
    assert client.region == "eu-west-1"
    shown = repr(client)
    assert "AKIDEXAMPLE" in shown and "eu-west-1" in shown and "127.0.0.1:4566" in shown
    assert "SECRETKEY" not in shown and "TOKENVALUE" not in shown
    with pytest.raises(TypeError, match="AwsKmsClient"):
        AwsKmsKeyring("arn:aws:kms:us-east-1:123456789012:key/k", client=object())  # type: ignore[arg-type]
    with pytest.raises(kms_envelope.BadArgumentError):
        AwsKmsKeyring("", client=client)
    with pytest.raises(kms_envelope.BadArgumentError):
        AwsKmsDiscoveryKeyring(client=client, partition="aws")
    with pytest.raises(TypeError):
        AwsKmsKeyring("alias/x", client=client, grant_tokens="one")


def test_native_client_unreachable_endpoint_is_request_failed() -> None:
    client = AwsKmsClient(
        endpoint_url="http://127.0.0.1:%d" % free_port(),
        region=REGION,
        access_key_id="a",
        secret_access_key="b",
        max_attempts=2,
        connect_timeout=2.0,
    )
    with pytest.raises(kms_envelope.KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(MISSING_KEY, client=client))
    assert info.value.code == "RequestFailed" and "after 2 attempts" in str(info.value)
    with pytest.raises(kms_envelope.KmsError) as info2:
        client.create_key()
    assert info2.value.code == "RequestFailed"


# ------------------------------------------------------------ a Python client


class FakeKms:
    """A client that is not boto3: answers with what it is told to (for the
    malformed answers no real server gives)."""

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


def test_bad_responses_of_a_python_client() -> None:
    arn = "arn:aws:kms:us-west-2:123456789012:key/k"
    fake = FakeKms({"KeyId": arn, "Plaintext": os.urandom(16), "CiphertextBlob": b"blob"})
    with pytest.raises(kms_envelope.KmsError) as info:  # 16 bytes for a 32-byte suite
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(arn, client=fake, grant_tokens=["t"]))
    assert info.value.code == "InvalidResponse"
    assert fake.calls[0]["GrantTokens"] == ["t"] and fake.calls[0]["NumberOfBytes"] == 32
    with pytest.raises(kms_envelope.KmsError) as info2:
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(arn, client=FakeKms({"KeyId": arn})))
    # A missing field or one of the wrong type: InvalidResponse, as in JS and
    # C, with what Python raised as the cause.
    assert info2.value.code == "InvalidResponse" and isinstance(info2.value.__cause__, KeyError)
    assert "'Plaintext'" in str(info2.value)
    with pytest.raises(kms_envelope.KmsError) as info3:
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(arn, client=FakeKms({"KeyId": 5, "Plaintext": b"", "CiphertextBlob": b""})))
    assert info3.value.code == "InvalidResponse" and isinstance(info3.value.__cause__, TypeError)


class RefusingKms:
    """A client that is not boto3, refusing every call with a botocore ClientError of the given code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def refuse(self, operation: str) -> ClientError:
        return ClientError({"Error": {"Code": self.code, "Message": "denied"}}, operation)

    def generate_data_key(self, **kwargs: Any) -> Dict[str, Any]:
        raise self.refuse("GenerateDataKey")

    def encrypt(self, **kwargs: Any) -> Dict[str, Any]:
        raise self.refuse("Encrypt")

    def decrypt(self, **kwargs: Any) -> Dict[str, Any]:
        raise self.refuse("Decrypt")


def test_a_service_error_without_a_code_is_named_by_its_class() -> None:
    arn = "arn:aws:kms:us-west-2:123456789012:key/k"
    with pytest.raises(kms_envelope.KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(arn, client=RefusingKms("AccessDeniedException")))
    assert info.value.code == "AccessDeniedException"
    # an empty code is none: never "KMS error : ..."
    with pytest.raises(kms_envelope.KmsError) as info2:
        kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(arn, client=RefusingKms("")))
    assert info2.value.code == "ClientError" and "KMS error ClientError:" in str(info2.value)


def test_a_client_that_calls_the_library_again_stops_at_a_bound_on_a_small_stack() -> None:
    # A client whose generate_data_key encrypts with the keyring that uses
    # it recursed through native frames until the thread's stack overflowed
    # (a segfault on a 1 MiB thread stack); it stops 32 deep, as keyrings do.
    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    calls: List[int] = []

    class Recursing:
        def generate_data_key(self, **kwargs: Any) -> Dict[str, Any]:
            calls.append(1)
            kms_envelope.encrypt(b"audit", keyring=keyring)
            return {"KeyId": arn, "Plaintext": os.urandom(32), "CiphertextBlob": b"x"}

        encrypt = decrypt = generate_data_key

    keyring = AwsKmsKeyring(arn, client=Recursing())
    assert_recursion_refused_on_a_small_stack(lambda: kms_envelope.encrypt(b"x", keyring=keyring))
    assert len(calls) == 32


def test_ctrl_c_while_a_client_error_is_read_is_raised() -> None:
    arn = "arn:aws:kms:us-west-2:123456789012:key/k"

    class LooksLikeClientError(Exception):
        @property
        def response(self) -> Dict[str, Any]:
            raise KeyboardInterrupt

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise KeyboardInterrupt

    for error in (LooksLikeClientError, Unprintable):

        class Failing:
            def generate_data_key(self, **kwargs: Any) -> Dict[str, Any]:
                raise error()

            encrypt = decrypt = generate_data_key

        with pytest.raises(KeyboardInterrupt):
            kms_envelope.encrypt(b"x", keyring=AwsKmsKeyring(arn, client=Failing()))
