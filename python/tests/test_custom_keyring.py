"""Keyrings written in Python: the protocol, composition with native keyrings,
and exceptions raised inside callbacks."""
import io
import os
import secrets
import subprocess
import sys
import textwrap
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

import kms_envelope
from conftest import assert_recursion_refused_on_a_small_stack
from kms_envelope import (
    AlgorithmSuite,
    DecryptionMaterials,
    EncryptedDataKey,
    EncryptionMaterials,
    KmsError,
    NoKeyUnwrappedError,
)


class ToyKeyService:
    """Stands in for a remote KMS: keeps data keys, bound to their context."""

    def __init__(self) -> None:
        self.store: Dict[bytes, Tuple[bytes, Dict[str, str]]] = {}
        self.calls: List[str] = []

    def wrap(self, key: bytes, context: Dict[str, str]) -> bytes:
        self.calls.append("wrap")
        handle = secrets.token_bytes(16)
        self.store[handle] = (key, context)
        return handle

    def unwrap(self, handle: bytes, context: Dict[str, str]) -> bytes:
        self.calls.append("unwrap")
        if handle not in self.store:
            raise KmsError("unknown key handle", code="NotFoundException")
        key, bound = self.store[handle]
        if bound != context:
            raise KmsError("encryption context mismatch", code="InvalidCiphertextException")
        return key


class ServiceKeyring:
    """A custom keyring over ToyKeyService, as a user would write one for boto3."""

    provider_id = "toy-kms"

    def __init__(self, service: ToyKeyService, key_id: str = "key-1") -> None:
        self.service = service
        self.key_id = key_id
        self.seen: List[AlgorithmSuite] = []

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        self.seen.append(materials.algorithm_suite)
        if materials.plaintext_data_key is None:
            materials.generate_plaintext_data_key()
        key = materials.plaintext_data_key
        assert key is not None
        handle = self.service.wrap(key, materials.encryption_context)
        materials.add_encrypted_data_key(EncryptedDataKey(self.provider_id, self.key_id.encode(), handle))
        return materials

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        for edk in encrypted_data_keys:
            if edk.provider_id == self.provider_id and edk.provider_info == self.key_id.encode():
                materials.set_plaintext_data_key(self.service.unwrap(edk.ciphertext, materials.encryption_context))
                return materials
        raise NoKeyUnwrappedError("no %s key %s" % (self.provider_id, self.key_id))


@pytest.fixture
def service() -> ToyKeyService:
    return ToyKeyService()


def test_custom_keyring_round_trip(service: ToyKeyService) -> None:
    kr = ServiceKeyring(service)
    assert isinstance(kr, kms_envelope.Keyring)
    for suite in (AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384):
        ct = kms_envelope.encrypt(b"hello", keyring=kr, encryption_context={"app": "test"}, algorithm_suite=suite)
        (edk,) = kms_envelope.inspect(ct).encrypted_data_keys
        assert edk.provider_id == "toy-kms" and edk.provider_info == b"key-1" and len(edk.ciphertext) == 16
        result = kms_envelope.decrypt(ct, keyring=kr, encryption_context={"app": "test"})
        assert result.plaintext == b"hello"
    assert kr.seen == [AlgorithmSuite(0x0478), AlgorithmSuite(0x0578)]
    assert service.calls == ["wrap", "unwrap", "wrap", "unwrap"]
    # the signing suite's public key is part of the context the keyring saw
    handle_contexts = [ctx for _, ctx in service.store.values()]
    assert "aws-crypto-public-key" in handle_contexts[1] and "aws-crypto-public-key" not in handle_contexts[0]


def test_custom_keyring_streaming(service: ToyKeyService) -> None:
    kr = ServiceKeyring(service)
    buf = io.BytesIO()
    with kms_envelope.open(buf, "wb", keyring=kr, frame_length=512) as w:
        w.write(os.urandom(5000))
        w.write(b"end")
    with kms_envelope.open(io.BytesIO(buf.getvalue()), "rb", keyring=kr, chunk_size=100) as r:
        data = r.read()
    assert len(data) == 5003 and data.endswith(b"end")


def test_custom_in_multi_keyring(service: ToyKeyService, aes_keyring: kms_envelope.RawAesKeyring) -> None:
    custom = ServiceKeyring(service)
    # custom generator, native child
    ct = kms_envelope.encrypt(b"m1", keyring=kms_envelope.MultiKeyring(custom, [aes_keyring]))
    assert [e.provider_id for e in kms_envelope.inspect(ct).encrypted_data_keys] == ["toy-kms", "kms-envelope-test"]
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == b"m1"
    assert kms_envelope.decrypt(ct, keyring=custom).plaintext == b"m1"
    # native generator, custom child: the child wraps the key it is given
    ct2 = kms_envelope.encrypt(b"m2", keyring=kms_envelope.MultiKeyring(aes_keyring, [custom]))
    assert kms_envelope.decrypt(ct2, keyring=custom).plaintext == b"m2"
    # on decrypt, a child that raises is skipped when another unwraps
    other = ServiceKeyring(ToyKeyService(), "other")
    assert kms_envelope.decrypt(ct2, keyring=kms_envelope.MultiKeyring(children=[other, aes_keyring])).plaintext == b"m2"


def test_python_keyring_delegating_to_native(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    class Logging:
        def __init__(self, inner: kms_envelope.Keyring) -> None:
            self.inner = inner
            self.log: List[str] = []

        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            self.log.append("encrypt")
            out = self.inner.on_encrypt(materials)
            assert materials.plaintext_data_key is None  # the input is left unchanged
            assert out.plaintext_data_key is not None and len(out.encrypted_data_keys) == 1
            return out

        def on_decrypt(
            self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
        ) -> DecryptionMaterials:
            self.log.append("decrypt")
            return self.inner.on_decrypt(materials, encrypted_data_keys)

    kr = Logging(aes_keyring)
    ct = kms_envelope.encrypt(b"x", keyring=kr)
    assert kms_envelope.decrypt(ct, keyring=aes_keyring).plaintext == b"x"
    assert kms_envelope.decrypt(ct, keyring=kr).plaintext == b"x"
    assert kr.log == ["encrypt", "decrypt"]
    # native keyrings satisfy the protocol too
    assert isinstance(aes_keyring, kms_envelope.Keyring)


def test_in_place_keyring_returning_none() -> None:
    key = os.urandom(32)

    class InPlace:
        def on_encrypt(self, materials: EncryptionMaterials) -> None:
            materials.set_plaintext_data_key(key)
            materials.add_encrypted_data_key(EncryptedDataKey("static", b"", b"-"))

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> None:
            materials.set_plaintext_data_key(bytearray(key))

    kr = InPlace()
    ct = kms_envelope.encrypt(b"in place", keyring=kr)  # type: ignore[arg-type]
    assert kms_envelope.decrypt(ct, keyring=kr).plaintext == b"in place"  # type: ignore[arg-type]


def test_materials_api() -> None:
    captured: List[EncryptionMaterials] = []

    class Inspecting:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            captured.append(materials)
            assert materials.plaintext_data_key is None
            assert materials.encrypted_data_keys == ()
            # the required-context manager's keys reach the keyring (the
            # pairs the message will not store)
            assert materials.required_encryption_context_keys == frozenset({"r"})
            assert materials.encryption_context == {"r": "1", "s": "2"}
            with pytest.raises(kms_envelope.BadArgumentError):
                materials.add_encrypted_data_key(EncryptedDataKey("p", b"i", b"c"))  # no key yet
            with pytest.raises(kms_envelope.BadArgumentError):
                materials.set_plaintext_data_key(b"short")
            with pytest.raises(TypeError):
                materials.add_encrypted_data_key("not an edk")  # type: ignore[arg-type]
            key = materials.generate_plaintext_data_key()
            assert len(key) == 32 and materials.plaintext_data_key == key
            with pytest.raises(kms_envelope.BadArgumentError):
                materials.generate_plaintext_data_key()
            edk = EncryptedDataKey("p", bytearray(b"i"), memoryview(b"c"))
            materials.add_encrypted_data_key(edk)
            assert materials.encrypted_data_keys == (EncryptedDataKey("p", b"i", b"c"),)
            assert "EncryptionMaterials(" in repr(materials)
            return materials

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            raise NoKeyUnwrappedError()

    cmm = kms_envelope.RequiredEncryptionContextMaterialsManager(["r"], keyring=Inspecting())
    kms_envelope.encrypt(b"x", materials_manager=cmm, encryption_context={"r": "1", "s": "2"}, algorithm_suite=0x0478)
    # materials are only valid during the call
    with pytest.raises(kms_envelope.BadArgumentError):
        captured[0].plaintext_data_key
    assert "spent" in repr(captured[0])
    edk = EncryptedDataKey("p", b"i", b"c")
    assert edk == EncryptedDataKey("p", b"i", b"c") and hash(edk) == hash(EncryptedDataKey("p", b"i", b"c"))
    assert edk != EncryptedDataKey("p", b"i", b"d") and edk != "p"
    assert {edk, EncryptedDataKey("p", b"i", b"c")} == {edk}


class Raising:
    """Raises the given exception from one of its methods."""

    def __init__(self, exc: BaseException, where: str = "encrypt", inner: Optional[kms_envelope.Keyring] = None) -> None:
        self.exc = exc
        self.where = where
        self.inner = inner

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self.where == "encrypt":
            raise self.exc
        assert self.inner is not None
        return self.inner.on_encrypt(materials)

    def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
        raise self.exc


def test_exception_in_on_encrypt_becomes_kms_error_with_cause() -> None:
    boom = RuntimeError("HSM offline")
    with pytest.raises(KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=Raising(boom))
    assert info.value.code == "RuntimeError"
    assert info.value.__cause__ is boom
    assert "HSM offline" in str(info.value)
    # in streams too
    with pytest.raises(KmsError) as info2:
        kms_envelope.open(io.BytesIO(), "wb", keyring=Raising(boom))
    assert info2.value.__cause__ is boom


def test_kms_error_code_is_kept() -> None:
    denied = KmsError("not allowed", code="AccessDeniedException")
    with pytest.raises(KmsError) as info:
        kms_envelope.encrypt(b"x", keyring=Raising(denied))
    assert info.value.code == "AccessDeniedException"
    assert info.value.__cause__ is denied
    # raised without a code: the class name, never an empty code
    with pytest.raises(KmsError) as info2:
        kms_envelope.encrypt(b"x", keyring=Raising(KmsError("no code given")))
    assert info2.value.code == "KmsError"
    assert str(info2.value) == "KMS error KmsError: keyring on_encrypt failed: no code given"


def test_exception_in_on_decrypt(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    denied = KmsError("throttled", code="ThrottlingException")
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    with pytest.raises(KmsError) as info:
        kms_envelope.decrypt(ct, keyring=Raising(denied))
    assert info.value.code == "ThrottlingException" and info.value.__cause__ is denied
    # a raising child of a multi-keyring: the other child unwraps
    multi = kms_envelope.MultiKeyring(children=[Raising(ValueError("bad")), aes_keyring])
    assert kms_envelope.decrypt(ct, keyring=multi).plaintext == b"x"
    # every child fails: NoKeyUnwrappedError, the callback's exception as the cause
    bad = ValueError("bad")
    only = kms_envelope.MultiKeyring(children=[Raising(bad)])
    with pytest.raises(NoKeyUnwrappedError) as info2:
        kms_envelope.decrypt(ct, keyring=only)
    assert info2.value.__cause__ is bad
    assert any("bad" in r for r in info2.value.reasons)
    # kms_envelope errors keep their class
    nk = NoKeyUnwrappedError("nothing for me")
    with pytest.raises(NoKeyUnwrappedError) as info3:
        kms_envelope.decrypt(ct, keyring=Raising(nk))
    assert info3.value.__cause__ is nk
    for exc, cls in (
        (kms_envelope.PolicyViolationError("p"), kms_envelope.PolicyViolationError),
        (kms_envelope.BadArgumentError("b"), kms_envelope.BadArgumentError),
        (kms_envelope.MalformedMessageError("m"), kms_envelope.MalformedMessageError),
        (kms_envelope.AuthenticationError("a"), kms_envelope.AuthenticationError),
        (kms_envelope.IoError("i"), kms_envelope.IoError),
    ):
        with pytest.raises(cls) as info4:
            kms_envelope.decrypt(ct, keyring=Raising(exc))
        assert info4.value.__cause__ is exc

    # One of this package's own errors, raised inside the keyring, is
    # named once with its kind, not twice.
    class ShortKey:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            return materials

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            materials.set_plaintext_data_key(b"short")
            return materials

    with pytest.raises(kms_envelope.BadArgumentError) as info5:
        kms_envelope.decrypt(ct, keyring=ShortKey())
    assert str(info5.value).startswith("bad argument: keyring on_decrypt failed: data key is 5 bytes"), info5.value
    # Only the words of the exception's own class are taken off.
    for raised, shown in (
        (NoKeyUnwrappedError(), "no keyring could unwrap a data key (keyring on_decrypt raised NoKeyUnwrappedError)"),
        (
            kms_envelope.MalformedMessageError("policy violation: z"),
            "malformed message: keyring on_decrypt failed: policy violation: z",
        ),
        (KmsError("throttled", code="Throttling"), "KMS error Throttling: keyring on_decrypt failed: throttled"),
    ):
        with pytest.raises(type(raised)) as info6:
            kms_envelope.decrypt(ct, keyring=Raising(raised))
        assert str(info6.value) == shown


def test_base_exceptions_pass_through(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    interrupt = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as info:
        kms_envelope.encrypt(b"x", keyring=Raising(interrupt))
    assert info.value is interrupt


def test_interrupt_is_not_swallowed_by_a_multi_keyring(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # Ctrl-C in the first member: the next member would unwrap the key, but
    # the call raises the interrupt, and no further Python keyring runs.
    ct = kms_envelope.encrypt(b"secret", keyring=aes_keyring)
    calls: List[str] = []

    class Counting:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            calls.append("encrypt")
            return aes_keyring.on_encrypt(materials)

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            calls.append("decrypt")
            return aes_keyring.on_decrypt(materials, edks)

    for exc in (KeyboardInterrupt(), SystemExit(3)):
        multi = kms_envelope.MultiKeyring(generator=Raising(exc), children=[Counting(), aes_keyring])
        with pytest.raises(type(exc)) as info:
            kms_envelope.decrypt(ct, keyring=multi)
        assert info.value is exc
        # after an ordinary failure first, the interrupt still wins
        first = RuntimeError("first")
        multi = kms_envelope.MultiKeyring(children=[Raising(first), Raising(exc), Counting(), aes_keyring])
        with pytest.raises(type(exc)) as info:
            kms_envelope.decrypt(ct, keyring=multi)
        assert info.value is exc
        # on encrypt: a child raising it after the generator wrapped the key
        multi = kms_envelope.MultiKeyring(generator=aes_keyring, children=[Raising(exc)])
        with pytest.raises(type(exc)):
            kms_envelope.encrypt(b"x", keyring=multi)
    assert calls == []


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="reads its own memory through /proc")
def test_a_decrypt_ended_by_an_interrupt_leaves_no_plaintext_behind(tmp_path: "os.PathLike[str]") -> None:
    # The core decrypted the whole message (the second member unwrapped the
    # key) before the call raised the first member's KeyboardInterrupt: the
    # plaintext it dropped is wiped. Run apart, to count in a clean process.
    script = textwrap.dedent(
        """
        import os, sys, kms_envelope
        marker = os.urandom(16)
        run = marker * 2  # what only the plaintext holds (the marker alone has copies of its own)
        aes = kms_envelope.RawAesKeyring("ns", "k", bytes(32))
        class Interrupting:
            def on_encrypt(self, m): raise KeyboardInterrupt
            def on_decrypt(self, m, edks): raise KeyboardInterrupt
        CHUNK = 1 << 20
        buf = bytearray(CHUNK + len(run))  # read into, so reading leaves no copies behind
        def copies():
            n = 0
            with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
                for line in maps:
                    span, perms = line.split()[:2]
                    if not perms.startswith("rw"):
                        continue
                    lo, hi = (int(x, 16) for x in span.split("-"))
                    for at in range(lo, hi, CHUNK):
                        buf[:] = bytes(len(buf))
                        try:
                            mem.seek(at)
                            got = mem.readinto(memoryview(buf)[: min(len(buf) - 1, hi - at)])
                        except (OSError, ValueError, OverflowError):
                            continue
                        n += buf.count(run, 0, got)
            buf[:] = bytes(len(buf))
            return n
        for size in (2048, 80000):  # one-shot below and above the large-message path
            plaintext = bytearray(16 * size)  # built in place, wiped after: no stray copies
            for at in range(0, len(plaintext), 16):
                plaintext[at : at + 16] = marker
            ct = kms_envelope.encrypt(plaintext, keyring=aes)
            plaintext[:] = bytes(len(plaintext))
            before = copies()
            try:
                kms_envelope.decrypt(ct, keyring=kms_envelope.MultiKeyring(children=[Interrupting(), aes]))
                sys.exit("decrypt returned")
            except KeyboardInterrupt:
                pass
            left = copies() - before
            if left > 0:
                sys.exit("%d copies of the plaintext left behind (%d bytes of it)" % (left, size * 16))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_keyring_errors_keep_their_text(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    # an AuthenticationError of the keyring's own (an HSM's unwrap failing)
    # says so, not that the message header failed
    bad_tag = kms_envelope.AuthenticationError("HSM: unwrap tag mismatch for key 7")
    with pytest.raises(kms_envelope.AuthenticationError) as info:
        kms_envelope.decrypt(ct, keyring=Raising(bad_tag))
    assert "HSM: unwrap tag mismatch for key 7" in str(info.value)
    assert "header" not in str(info.value)
    assert info.value.__cause__ is bad_tag
    # a NoKeyUnwrappedError's reasons reach the caller, one per key tried
    nk = NoKeyUnwrappedError("none of mine", reasons=["key-1: revoked", "key-2: wrong region"])
    with pytest.raises(NoKeyUnwrappedError) as info2:
        kms_envelope.decrypt(ct, keyring=Raising(nk))
    assert info2.value.reasons == ("keyring on_decrypt: key-1: revoked", "keyring on_decrypt: key-2: wrong region")
    multi = kms_envelope.MultiKeyring(
        children=[Raising(nk), kms_envelope.RawAesKeyring("kms-envelope-test", "other-name", bytes(32))]
    )
    with pytest.raises(NoKeyUnwrappedError) as info3:
        kms_envelope.decrypt(ct, keyring=multi)
    assert info3.value.reasons[:2] == info2.value.reasons and len(info3.value.reasons) == 3
    # inside a multi-keyring the AuthenticationError is one reason among
    # others: it must not blame the message header either
    multi = kms_envelope.MultiKeyring(
        children=[Raising(bad_tag), kms_envelope.RawAesKeyring("kms-envelope-test", "other-name", bytes(32))]
    )
    with pytest.raises(NoKeyUnwrappedError) as info4:
        kms_envelope.decrypt(ct, keyring=multi)
    assert "header" not in info4.value.reasons[0], info4.value.reasons
    assert "keyring" in info4.value.reasons[0], info4.value.reasons


def test_a_keyring_that_calls_itself_forever_gets_a_recursion_error(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # Each level runs through native frames the interpreter's recursion
    # limit does not count: on a small thread stack this overflowed the
    # stack (a crash) at about 250 levels.
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    depth: List[int] = []

    class Loop:
        multi: kms_envelope.MultiKeyring

        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            return aes_keyring.on_encrypt(materials)

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            depth.append(1)
            return self.multi.on_decrypt(materials, edks)

    loop = Loop()
    loop.multi = kms_envelope.MultiKeyring(children=[loop])
    assert_recursion_refused_on_a_small_stack(lambda: kms_envelope.decrypt(ct, keyring=loop.multi))
    assert len(depth) == 32


def test_encrypted_data_keys_compare_with_other_objects_as_python_expects() -> None:
    from unittest import mock

    edk = EncryptedDataKey("p", b"i", b"c")
    assert edk == EncryptedDataKey("p", b"i", b"c")
    assert edk != EncryptedDataKey("p", b"i", b"d")
    assert edk == mock.ANY and [edk] == [mock.ANY]
    assert edk != "p" and not (edk == 3)


def test_a_keyring_class_is_refused_as_a_type_error() -> None:
    # `keyring=MyKeyring` (parentheses forgotten): its methods exist, unbound
    for cls in (Raising, kms_envelope.RawAesKeyring):
        with pytest.raises(TypeError, match="not the class '%s'" % cls.__name__):
            kms_envelope.encrypt(b"x", keyring=cls)  # type: ignore[arg-type]


def test_nested_native_call_keeps_outer_exception(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # a multi-keyring whose second child calls into a native keyring after the first child failed
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    first = RuntimeError("first")

    class Delegating:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            return aes_keyring.on_encrypt(materials)

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            other = kms_envelope.RawAesKeyring("kms-envelope-test", "other-name", bytes(32))
            return other.on_decrypt(materials, edks)  # raises NoKeyUnwrappedError

    multi = kms_envelope.MultiKeyring(children=[Raising(first), Delegating()])
    with pytest.raises(NoKeyUnwrappedError) as info:
        kms_envelope.decrypt(ct, keyring=multi)
    assert info.value.__cause__ is first


def test_keyring_contract_violations(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    class NoKey:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            return materials

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            return materials

    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.encrypt(b"x", keyring=NoKey())
    ct = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    with pytest.raises(NoKeyUnwrappedError):
        kms_envelope.decrypt(ct, keyring=NoKey())

    class WrongReturn:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            return "nope"  # type: ignore[return-value]

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            return 42  # type: ignore[return-value]

    # A broken contract, as in JS and C: a bad argument, naming what came back.
    with pytest.raises(kms_envelope.BadArgumentError, match="on_encrypt must return EncryptionMaterials or None, not 'str'"):
        kms_envelope.encrypt(b"x", keyring=WrongReturn())
    with pytest.raises(kms_envelope.BadArgumentError, match="on_decrypt must return DecryptionMaterials or None, not 'int'"):
        kms_envelope.decrypt(ct, keyring=WrongReturn())
    with pytest.raises(TypeError):
        kms_envelope.encrypt(b"x", keyring=object())  # type: ignore[arg-type]


def test_materials_of_another_request_are_refused(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    """A keyring may only add a data key and EDKs to the materials it was
    given; returning materials of an earlier call (another context, another
    signing key) would seal this message under them. The binding refuses
    materials of a finished call; the core refuses any that changed."""
    STALE = "keyring call that has finished|different encryption context|signing key pair"

    class Replaying:
        def __init__(self) -> None:
            self.saved_enc: Optional[EncryptionMaterials] = None
            self.saved_dec: Optional[DecryptionMaterials] = None

        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            out = aes_keyring.on_encrypt(materials)
            if self.saved_enc is None:
                self.saved_enc = out
            return self.saved_enc

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            out = aes_keyring.on_decrypt(materials, edks)
            if self.saved_dec is None:
                self.saved_dec = out
            return self.saved_dec

    for suite in (AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384):
        replaying = Replaying()
        first = kms_envelope.encrypt(b"one", keyring=replaying, algorithm_suite=suite, encryption_context={"tenant": "a"})
        with pytest.raises(kms_envelope.BadArgumentError, match=STALE):
            kms_envelope.encrypt(b"two", keyring=replaying, algorithm_suite=suite, encryption_context={"tenant": "b"})
        if suite.is_signing:
            with pytest.raises(kms_envelope.BadArgumentError, match=STALE):
                kms_envelope.encrypt(b"two", keyring=replaying, algorithm_suite=suite, encryption_context={"tenant": "a"})
        second = kms_envelope.encrypt(b"two", keyring=aes_keyring, algorithm_suite=suite, encryption_context={"tenant": "b"})
        assert kms_envelope.decrypt(first, keyring=replaying).plaintext == b"one"
        with pytest.raises(kms_envelope.BadArgumentError, match=STALE):
            kms_envelope.decrypt(second, keyring=replaying)
        multi = kms_envelope.MultiKeyring(children=[replaying])
        with pytest.raises((kms_envelope.BadArgumentError, NoKeyUnwrappedError), match=STALE):
            kms_envelope.decrypt(second, keyring=multi)


def test_a_finalizer_touching_materials_during_a_getter_does_not_deadlock() -> None:
    # The getters held the materials' lock while making Python objects;
    # making them can run the garbage collector, and a finalizer touching
    # the same materials then waited on that lock forever (with the GIL).
    # In a child process: a deadlock there is a timeout here.
    script = textwrap.dedent(
        """
        import gc, os
        import kms_envelope as ke

        inner = ke.RawAesKeyring("ns", "k", os.urandom(32))

        class Trap:
            def __init__(self, m):
                self.m, self.me = m, self  # a cycle: only the collector frees it
            def __del__(self):
                self.m.algorithm_suite

        class Keyring:
            def on_encrypt(self, m):
                m.generate_plaintext_data_key()
                for getter in ("encryption_context", "required_encryption_context_keys", "encrypted_data_keys"):
                    gc.disable()
                    for _ in range(5):
                        Trap(m)
                    gc.set_threshold(1)  # the next container made runs the collector
                    gc.enable()
                    try:
                        getattr(m, getter)
                    finally:
                        gc.set_threshold(700, 10, 10)
                return inner.on_encrypt(m)
            def on_decrypt(self, m, edks):
                return inner.on_decrypt(m, edks)

        ke.encrypt(b"x", keyring=Keyring(), encryption_context={"a": "b"})
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_materials_are_spent_when_the_keyring_fails(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # A keyring that kept the materials and then failed (raised, or returned
    # the wrong type) could read the data key from them afterwards.
    ct = kms_envelope.encrypt(b"data", keyring=aes_keyring)
    kept: List[object] = []

    class Failing:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            materials.generate_plaintext_data_key()
            kept.append(materials)
            return 42  # type: ignore[return-value]

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            unwrapped = aes_keyring.on_decrypt(materials, edks)
            key = unwrapped.plaintext_data_key
            assert key is not None
            materials.set_plaintext_data_key(key)
            kept.append(materials)
            raise ValueError("backend hiccup")

    with pytest.raises(kms_envelope.BadArgumentError):
        kms_envelope.encrypt(b"x", keyring=Failing())
    with pytest.raises(kms_envelope.Error):
        kms_envelope.decrypt(ct, keyring=Failing())
    assert len(kept) == 2
    for materials in kept:
        assert "<spent>" in repr(materials)
        with pytest.raises(kms_envelope.BadArgumentError):
            materials.plaintext_data_key  # type: ignore[attr-defined]  # noqa: B018 - the read must fail


def test_an_error_the_multi_keyring_recovered_from_is_not_the_cause(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # The first child fails, the second unwraps a wrong key: the call fails
    # on the key commitment, and the first child's exception is not its cause.
    ct = kms_envelope.encrypt(b"data", keyring=aes_keyring)

    class Flaky:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            raise NotImplementedError

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            raise kms_envelope.AuthenticationError("HSM: wrapped-key tag invalid")

    class WrongKey:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            raise NotImplementedError

        def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
            materials.set_plaintext_data_key(os.urandom(32))
            return materials

    with pytest.raises(kms_envelope.AuthenticationError) as info:
        kms_envelope.decrypt(ct, keyring=kms_envelope.MultiKeyring(children=[Flaky(), WrongKey()]))
    assert "commitment" in str(info.value) and "HSM" not in str(info.value)
    assert info.value.__cause__ is None
    # Alone, the failing keyring is the cause, with its own words.
    with pytest.raises(kms_envelope.AuthenticationError) as alone:
        kms_envelope.decrypt(ct, keyring=Flaky())
    assert "HSM: wrapped-key tag invalid" in str(alone.value)
    assert isinstance(alone.value.__cause__, kms_envelope.AuthenticationError)
