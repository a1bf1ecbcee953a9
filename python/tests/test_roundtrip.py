"""Round trips through the one-shot and streaming APIs, for every suite."""
import array
import io
import os
import shutil
from typing import List

import pytest

import kms_envelope
from conftest import AES_128, AES_192, ALL_SUITES, RSA_PRIVATE_PEM, RSA_PUBLIC_PEM, pattern, policy_for
from kms_envelope import AlgorithmSuite, CommitmentPolicy, RsaPadding

SIZES = [0, 1, 4095, 4096, 4097, 10_000]


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: "%04x" % s)
@pytest.mark.parametrize("size", SIZES)
def test_every_suite_one_shot(suite: AlgorithmSuite, size: int, aes_keyring: kms_envelope.RawAesKeyring) -> None:
    policy = policy_for(suite)
    plaintext = pattern(size, suite)
    context = {"purpose": "round trip", "caf\u00e9": "cr\u00e8me", "Key": "upper"}
    ct = kms_envelope.encrypt(
        plaintext,
        keyring=aes_keyring,
        algorithm_suite=suite,
        encryption_context=context,
        commitment_policy=policy,
    )
    header = kms_envelope.inspect(ct)
    assert header.algorithm_suite is suite
    assert header.version == suite.message_format_version
    assert header.content_type == "framed"
    assert header.frame_length == 4096
    assert len(header.message_id) == (32 if suite.is_committing else 16)
    decrypt_policy = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    result = kms_envelope.decrypt(ct, keyring=aes_keyring, encryption_context=context, commitment_policy=decrypt_policy)
    assert result.plaintext == plaintext
    assert result.algorithm_suite is suite
    for k, v in context.items():
        assert result.encryption_context[k] == v
    assert ("aws-crypto-public-key" in result.encryption_context) == suite.is_signing
    assert result.header.message_id == header.message_id


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: "%04x" % s)
def test_every_suite_streaming(suite: AlgorithmSuite, aes_keyring: kms_envelope.RawAesKeyring) -> None:
    plaintext = pattern(50_000, 7)
    out = io.BytesIO()
    with kms_envelope.open(
        out, "wb", keyring=aes_keyring, algorithm_suite=suite, frame_length=1000, commitment_policy=policy_for(suite)
    ) as w:
        assert w.algorithm_suite is suite
        for i in range(0, len(plaintext), 777):
            w.write(plaintext[i : i + 777])
    ct = out.getvalue()
    assert kms_envelope.decrypt(ct, keyring=aes_keyring, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT").plaintext == plaintext
    with kms_envelope.open(
        io.BytesIO(ct), "rb", keyring=aes_keyring, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT, chunk_size=333
    ) as r:
        got = r.read()
        assert r.algorithm_suite is suite
        assert r.header is not None and r.header.frame_length == 1000
    assert got == plaintext


def test_defaults(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(b"hello", keyring=aes_keyring)
    h = kms_envelope.inspect(ct)
    assert h.algorithm_suite is AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert h.frame_length == 4096
    r = kms_envelope.decrypt(ct, keyring=aes_keyring)
    assert r.plaintext == b"hello"
    forbid = kms_envelope.encrypt(b"x", keyring=aes_keyring, commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    assert kms_envelope.inspect(forbid).algorithm_suite is AlgorithmSuite.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384


@pytest.mark.parametrize("key", [AES_128, AES_192], ids=["aes128", "aes192"])
def test_aes_key_sizes(key: bytes) -> None:
    kr = kms_envelope.RawAesKeyring("ns", "name", key)
    assert kms_envelope.decrypt(kms_envelope.encrypt(b"abc", keyring=kr), keyring=kr).plaintext == b"abc"
    assert "AES-%d" % (len(key) * 8) in repr(kr)
    assert kr.key_namespace == "ns" and kr.key_name == "name"


@pytest.mark.parametrize("padding", list(RsaPadding), ids=str)
def test_rsa_paddings(padding: RsaPadding) -> None:
    enc = kms_envelope.RawRsaKeyring("ns", "rsa", public_key=RSA_PUBLIC_PEM, padding=padding)
    dec = kms_envelope.RawRsaKeyring("ns", "rsa", private_key=RSA_PRIVATE_PEM.encode(), padding=padding)
    ct = kms_envelope.encrypt(b"rsa data", keyring=enc)
    assert kms_envelope.decrypt(ct, keyring=dec).plaintext == b"rsa data"
    with pytest.raises(kms_envelope.NoKeyUnwrappedError):
        kms_envelope.decrypt(ct, keyring=enc)  # public only: cannot decrypt


def test_rsa_der_keys() -> None:
    from cryptography.hazmat.primitives import serialization

    priv = serialization.load_pem_private_key(RSA_PRIVATE_PEM.encode(), password=None)
    der_priv = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    der_pub = priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    kr = kms_envelope.RawRsaKeyring("ns", "rsa", public_key=der_pub, private_key=bytearray(der_priv))
    ct = kms_envelope.encrypt(b"der", keyring=kr)
    assert kms_envelope.decrypt(ct, keyring=kr).plaintext == b"der"
    # PKCS#1 DER works the same, both ways
    pkcs1 = kms_envelope.RawRsaKeyring(
        "ns",
        "rsa",
        public_key=priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
        private_key=priv.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
    )
    assert kms_envelope.decrypt(ct, keyring=pkcs1).plaintext == b"der"
    assert kms_envelope.decrypt(kms_envelope.encrypt(b"back", keyring=pkcs1), keyring=kr).plaintext == b"back"


def test_multi_keyring(aes_keyring: kms_envelope.RawAesKeyring, rsa_keyring: kms_envelope.RawRsaKeyring) -> None:
    multi = kms_envelope.MultiKeyring(generator=aes_keyring, children=[rsa_keyring])
    assert multi.generator is aes_keyring and multi.children == (rsa_keyring,)
    ct = kms_envelope.encrypt(b"two keys", keyring=multi)
    edks = kms_envelope.inspect(ct).encrypted_data_keys
    assert [e.provider_id for e in edks] == ["kms-envelope-test", "kms-envelope-test"]
    for kr in (aes_keyring, rsa_keyring, multi):
        assert kms_envelope.decrypt(ct, keyring=kr).plaintext == b"two keys"
    only_children = kms_envelope.MultiKeyring(children=[rsa_keyring, aes_keyring])
    assert kms_envelope.decrypt(ct, keyring=only_children).plaintext == b"two keys"
    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.encrypt(b"x", keyring=only_children)  # no generator
    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.MultiKeyring()


def test_bytes_like_inputs(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    data = pattern(9000)
    for value in (bytearray(data), memoryview(data), memoryview(bytearray(data)), array.array("B", data)):
        ct = kms_envelope.encrypt(value, keyring=aes_keyring)
        for ct_value in (ct, bytearray(ct), memoryview(ct)):
            assert kms_envelope.decrypt(ct_value, keyring=aes_keyring).plaintext == data
    # non-contiguous and multi-byte-item buffers
    strided = memoryview(data)[::2]
    assert kms_envelope.decrypt(kms_envelope.encrypt(strided, keyring=aes_keyring), keyring=aes_keyring).plaintext == data[::2]
    words = array.array("I", [1, 2, 3])
    assert kms_envelope.decrypt(kms_envelope.encrypt(words, keyring=aes_keyring), keyring=aes_keyring).plaintext == words.tobytes()


def test_keys_from_every_kind_of_buffer() -> None:
    # Keys are copied into memory the library wipes; a memoryview goes
    # through a bytearray of the library's own, never the caller's buffer.
    key = bytes(range(32))
    sealed = kms_envelope.encrypt(b"k", keyring=kms_envelope.RawAesKeyring("ns", "k", key))
    backing = bytearray(i // 2 for i in range(64))
    words = array.array("I", [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)])
    for value in (bytearray(key), memoryview(key), memoryview(bytearray(key)), memoryview(backing)[::2], words):
        before = bytes(value)
        keyring = kms_envelope.RawAesKeyring("ns", "k", value)
        assert kms_envelope.decrypt(sealed, keyring=keyring).plaintext == b"k"
        assert bytes(value) == before
    assert bytes(backing) == bytes(i // 2 for i in range(64))
    # Not a buffer: refused, not read as bytearray(32) would (32 zero bytes).
    with pytest.raises(TypeError, match="bytes-like"):
        kms_envelope.RawAesKeyring("ns", "k", 32)  # type: ignore[arg-type]

    # A buffer that is also an integer (as NumPy's integer types are) is
    # read as a buffer, not as a length.
    class IndexableArray(array.array):  # type: ignore[type-arg]
        def __index__(self) -> int:
            return 32

    indexable = IndexableArray("B", key)
    assert kms_envelope.decrypt(sealed, keyring=kms_envelope.RawAesKeyring("ns", "k", indexable)).plaintext == b"k"
    pem = RSA_PRIVATE_PEM.encode()
    for private in (pem, bytearray(pem), memoryview(pem)):
        rsa = kms_envelope.RawRsaKeyring("ns", "rsa", public_key=RSA_PUBLIC_PEM, private_key=private)
        assert kms_envelope.decrypt(kms_envelope.encrypt(b"r", keyring=rsa), keyring=rsa).plaintext == b"r"
    assert bytes(pem) == RSA_PRIVATE_PEM.encode()


def test_mutable_input_is_copied(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    buf = bytearray(b"A" * 100_000)
    ct = kms_envelope.encrypt(buf, keyring=aes_keyring)
    buf[:] = b"B" * 100_000
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == b"A" * 100_000


@pytest.mark.parametrize("frame_length", [1, 17, 128, 4096, 1 << 20])
def test_frame_lengths(frame_length: int, aes_keyring: kms_envelope.RawAesKeyring) -> None:
    data = pattern(5000)
    ct = kms_envelope.encrypt(data, keyring=aes_keyring, frame_length=frame_length, algorithm_suite=AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
    assert kms_envelope.inspect(ct).frame_length == frame_length
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == data


def test_suite_argument_forms(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    for value in (0x0478, "0478", "0x0478", "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", AlgorithmSuite(0x0478)):
        ct = kms_envelope.encrypt(b"x", keyring=aes_keyring, algorithm_suite=value)
        assert kms_envelope.inspect(ct).algorithm_suite is AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY


def test_algorithm_suite_enum_matches_core() -> None:
    table = kms_envelope._native._suite_table()
    assert sorted(s.value for s in AlgorithmSuite) == sorted(row[0] for row in table)
    for suite_id, name, committing, signing, key_len, version in table:
        suite = AlgorithmSuite(suite_id)
        assert suite.esdk_name == name == "ALG_" + suite.name
        assert (suite.is_committing, suite.is_signing, suite.data_key_length, suite.message_format_version) == (
            committing,
            signing,
            key_len,
            version,
        )
        assert suite.id == suite_id
    assert str(AlgorithmSuite(0x0578)) == "0x0578 (AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384)"


def test_required_encryption_context_cmm(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    cmm = kms_envelope.RequiredEncryptionContextMaterialsManager(["tenant"], keyring=aes_keyring)
    assert cmm.required_encryption_context_keys == frozenset({"tenant"})
    ec = {"tenant": "acme", "stored": "yes"}
    ct = kms_envelope.encrypt(b"data", materials_manager=cmm, encryption_context=ec)
    assert "tenant" not in kms_envelope.inspect(ct).encryption_context
    assert kms_envelope.inspect(ct).encryption_context["stored"] == "yes"
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.decrypt(ct, materials_manager=cmm)
    r = kms_envelope.decrypt(ct, materials_manager=cmm, encryption_context={"tenant": "acme"})
    assert r.plaintext == b"data" and r.encryption_context["tenant"] == "acme"
    # the default manager over the same keyring also decrypts, given the pair
    assert kms_envelope.decrypt(ct, keyring=aes_keyring, encryption_context={"tenant": "acme"}).plaintext == b"data"
    with pytest.raises(kms_envelope.Error):
        kms_envelope.decrypt(ct, keyring=aes_keyring, encryption_context={"tenant": "other"})
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.encrypt(b"data", materials_manager=cmm, encryption_context={"stored": "yes"})
    # nested over another manager, and through the streams
    nested = kms_envelope.RequiredEncryptionContextMaterialsManager(
        ["a"], materials_manager=kms_envelope.DefaultMaterialsManager(aes_keyring)
    )
    out = io.BytesIO()
    with kms_envelope.open(out, "wb", materials_manager=nested, encryption_context={"a": "1"}) as w:
        w.write(b"streamed")
    with kms_envelope.open(io.BytesIO(out.getvalue()), "rb", materials_manager=nested, encryption_context={"a": "1"}) as r2:
        assert r2.read() == b"streamed"


def test_default_materials_manager(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    cmm = kms_envelope.DefaultMaterialsManager(aes_keyring)
    assert cmm.keyring is aes_keyring
    ct = kms_envelope.encrypt(b"m", materials_manager=cmm)
    assert kms_envelope.decrypt(ct, materials_manager=cmm).plaintext == b"m"
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == b"m"


def test_max_encrypted_data_keys(aes_keyring: kms_envelope.RawAesKeyring, rsa_keyring: kms_envelope.RawRsaKeyring) -> None:
    multi = kms_envelope.MultiKeyring(aes_keyring, [rsa_keyring])
    ct = kms_envelope.encrypt(b"x", keyring=multi, max_encrypted_data_keys=2)
    assert kms_envelope.decrypt(ct, keyring=aes_keyring, max_encrypted_data_keys=2).plaintext == b"x"


def test_low_level_stream_objects(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    enc = kms_envelope.StreamEncryptor(keyring=aes_keyring, frame_length=100, plaintext_length=1000)
    parts: List[bytes] = [enc.update(b"z" * 500), enc.update(memoryview(b"z" * 500)), enc.finish()]
    ct = b"".join(parts)
    dec = kms_envelope.StreamDecryptor(keyring=aes_keyring, signed_release="frames")
    assert dec.header is None and dec.encryption_context is None and not dec.is_done
    got = b"".join(dec.update(ct[i : i + 50]) for i in range(0, len(ct), 50))
    dec.finish()
    assert dec.is_done and got == b"z" * 1000
    assert dec.algorithm_suite is AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert dec.encryption_context is not None and "aws-crypto-public-key" in dec.encryption_context


def test_files_by_path(tmp_path: "os.PathLike[str]", aes_keyring: kms_envelope.RawAesKeyring) -> None:
    src = os.path.join(tmp_path, "plain")
    enc = os.path.join(tmp_path, "plain.enc")
    back = os.path.join(tmp_path, "plain.out")
    data = pattern(300_000, 3)
    with open(src, "wb") as f:
        f.write(data)
    with open(src, "rb") as fin, kms_envelope.open(enc, "wb", keyring=aes_keyring, encryption_context={"f": "1"}) as w:
        shutil.copyfileobj(fin, w)
    assert w.closed
    with kms_envelope.open(enc, "rb", keyring=aes_keyring, encryption_context={"f": "1"}) as r, open(back, "wb") as fout:
        shutil.copyfileobj(r, fout)
        assert r.encryption_context is not None and r.encryption_context["f"] == "1"
    with open(back, "rb") as f:
        assert f.read() == data
    # io wrappers on top of the raw streams
    with kms_envelope.open(enc, "rb", keyring=aes_keyring) as r:
        buffered = io.BufferedReader(r)
        assert buffered.read(10) == data[:10]
        assert buffered.read() == data[10:]
