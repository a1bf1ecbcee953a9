"""Every case of the official ESDK vectors (../shared/vectors/esdk) through the
Python API: one-shot decrypt, and streaming decrypt in uneven chunks.

Raw AES / RSA cases use the native keyrings built from each folder's keys
manifest; the commitment known-answer tests and the decrypt-oracle list give
the plaintext data key instead, which a custom Python keyring hands over.
"""
import base64
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Union

import pytest

import kms_envelope
from conftest import vectors_dir
from kms_envelope import AlgorithmSuite, CommitmentPolicy

POLICY = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
VECTORS = vectors_dir()
Source = Union[kms_envelope.Keyring, kms_envelope.MaterialsManager]


class FixedKeyKeyring:
    """Returns a data key given by the vectors (a test-only custom keyring).

    ``key`` is the key bytes, ``"zeros"`` (Python's ``null`` master key) or
    ``"counting"`` (0x01, 0x02, ...: Python's ``test_counting`` master key).
    """

    def __init__(self, key: Union[bytes, str]) -> None:
        self.key = key

    def on_encrypt(self, materials: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
        raise kms_envelope.BadArgumentError("the fixed test-vector keyring cannot encrypt")

    def on_decrypt(
        self, materials: kms_envelope.DecryptionMaterials, encrypted_data_keys: Sequence[kms_envelope.EncryptedDataKey]
    ) -> kms_envelope.DecryptionMaterials:
        if not encrypted_data_keys:
            raise kms_envelope.NoKeyUnwrappedError("no encrypted data key")
        n = materials.algorithm_suite.data_key_length
        if self.key == "zeros":
            materials.set_plaintext_data_key(bytes(n))
        elif self.key == "counting":
            materials.set_plaintext_data_key(bytes(range(1, n + 1)))
        else:
            assert isinstance(self.key, bytes)
            materials.set_plaintext_data_key(self.key)
        return materials


class Case(NamedTuple):
    id: str
    ciphertext: bytes
    source: Optional[Source]  # None: no usable key (must not happen in these folders)
    reproduced: Dict[str, str]
    expect: Optional[bytes]  # None: decrypt must fail
    suite: Optional[int] = None
    context: Optional[Dict[str, str]] = None


def read_uri(base: Path, uri: str) -> bytes:
    assert uri.startswith("file://"), uri
    return (base / urllib.parse.unquote(uri[len("file://") :])).read_bytes()


class Keys:
    """A keys manifest: builds decrypting keyrings from key descriptions."""

    def __init__(self, path: Path) -> None:
        self.keys: Dict[str, Dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["keys"]

    def keyring(self, desc: Dict[str, Any]) -> Optional[kms_envelope.Keyring]:
        kind = desc.get("type")
        if kind == "multi-keyring":
            generator = self.keyring(desc["generator"]) if desc.get("generator") else None
            children = [k for k in (self.keyring(c) for c in desc.get("childKeyrings", [])) if k is not None]
            if generator is None and not children:
                return None
            return kms_envelope.MultiKeyring(generator, children)
        if kind != "raw":
            return None
        entry = self.keys[desc["key"]]
        material = entry["material"]
        if isinstance(material, list):
            material = entry.get("line-separator", "").join(material)
        if entry["type"] == "symmetric":
            return kms_envelope.RawAesKeyring(desc["provider-id"], entry["key-id"], base64.b64decode(material))
        if entry["type"] == "private":
            padding = "pkcs1" if desc["padding-algorithm"] == "pkcs1" else "oaep-" + desc["padding-hash"]
            return kms_envelope.RawRsaKeyring(
                desc["provider-id"], entry["key-id"], private_key=material, padding=kms_envelope.RsaPadding(padding)
            )
        return None  # public keys cannot decrypt

    def any_of(self, descs: List[Dict[str, Any]]) -> Optional[kms_envelope.Keyring]:
        keyrings = [k for k in (self.keyring(d) for d in descs) if k is not None]
        if not keyrings:
            return None
        return keyrings[0] if len(keyrings) == 1 else kms_envelope.MultiKeyring(children=keyrings)


def load_awses(folder: str, manifest_name: str) -> List[Case]:
    base = VECTORS / folder
    manifest = json.loads((base / manifest_name).read_text(encoding="utf-8"))
    keys = Keys(base / manifest["keys"][len("file://") :])
    version = manifest["manifest"]["version"]
    cases = []
    for name, test in manifest["tests"].items():
        source: Optional[Source]
        if version >= 5:
            sc = test["decryption-scenario"]
            ciphertext = read_uri(base, sc["ciphertext"])
            expect = read_uri(base, sc["result"]) if sc["type"].startswith("positive") else None
            reproduced = sc.get("reproduced-encryption-context") or {}
            desc = sc["decryptKeyDescription"]
            if desc["type"] == "required-encryption-context-cmm":
                keyring = keys.keyring(desc["underlying"])
                assert keyring is not None
                source = kms_envelope.RequiredEncryptionContextMaterialsManager(
                    desc["requiredEncryptionContextKeys"], keyring=keyring
                )
            else:
                source = keys.keyring(desc)
            suite = int(sc["algorithmSuiteId"], 16) if "algorithmSuiteId" in sc else None
        else:
            ciphertext = read_uri(base, test["ciphertext"])
            result = test["result"]
            expect = read_uri(base, result["output"]["plaintext"]) if "output" in result else None
            reproduced = test.get("encryption-context") or {}
            source = keys.any_of(test["master-keys"])
            if test.get("cmm") == "RequiredEncryptionContext" and source is not None:
                header_ec = kms_envelope.inspect(ciphertext).encryption_context
                required = [k for k in reproduced if k not in header_ec] or list(reproduced)
                source = kms_envelope.RequiredEncryptionContextMaterialsManager(required, keyring=source)
            suite = None
        cases.append(Case("%s/%s" % (folder, name), ciphertext, source, reproduced, expect, suite))
    return cases


def load_kat() -> List[Case]:
    data = json.loads((VECTORS / "python-commitment-kat" / "commitment-test-vectors.json").read_text(encoding="utf-8"))
    cases = []
    for i, t in enumerate(data["tests"]):
        ok = t["status"]
        expect = "".join(t["plaintext-frames"]).encode("utf-8") if ok else None
        keyring = FixedKeyKeyring(base64.b64decode(t["decrypted-dek"]))
        cases.append(
            Case(
                "python-commitment-kat/tests[%d]" % i,
                base64.b64decode(t["ciphertext"]),
                keyring,
                {},
                expect,
                None,
                t["encryption-context"] if ok else None,
            )
        )
    return cases


def load_oracle() -> List[Case]:
    data = json.loads((VECTORS / "python-decrypt-oracle" / "decrypt_vectors.json").read_text(encoding="utf-8"))
    cases = []
    for i, t in enumerate(data):
        key = {"null": "zeros", "test_counting": "counting"}[t["key-type"]]
        cases.append(
            Case(
                "python-decrypt-oracle/[%d]" % i,
                base64.b64decode(t["ciphertext"]),
                FixedKeyKeyring(key),
                {},
                base64.b64decode(t["plaintext"]),
                int(t["algorithm-suite"], 16),
            )
        )
    return cases


def load_all() -> List[Case]:
    if not VECTORS.is_dir():
        return []
    return (
        load_awses("c-from-dafny-4.1.0", "decrypt-manifest.json")
        + load_awses("net-4.0.1", "manifest.json")
        + load_awses("net-4.0.0-valid", "manifest.json")
        + load_awses("net-4.0.0-invalid", "manifest.json")
        + load_kat()
        + load_oracle()
    )


CASES = load_all()


def test_all_vectors_are_here() -> None:
    if not CASES and "KMS_ENVELOPE_VECTORS" not in os.environ:
        pytest.skip("vectors not found at %s" % VECTORS)
    assert len(CASES) == 383
    assert sum(c.expect is None for c in CASES) == 33
    assert all(c.source is not None for c in CASES)


def one_shot(case: Case) -> kms_envelope.DecryptResult:
    if isinstance(case.source, kms_envelope.MaterialsManager):
        return kms_envelope.decrypt(
            case.ciphertext, materials_manager=case.source, encryption_context=case.reproduced, commitment_policy=POLICY
        )
    return kms_envelope.decrypt(
        case.ciphertext, keyring=case.source, encryption_context=case.reproduced, commitment_policy=POLICY
    )


def streaming(case: Case, chunk: int, release: "str") -> bytes:
    kwargs: Dict[str, Any] = {"encryption_context": case.reproduced, "commitment_policy": POLICY}
    if isinstance(case.source, kms_envelope.MaterialsManager):
        kwargs["materials_manager"] = case.source
    else:
        kwargs["keyring"] = case.source
    dec = kms_envelope.StreamDecryptor(signed_release=release, **kwargs)  # type: ignore[arg-type]
    out = []
    ct = case.ciphertext
    for i in range(0, len(ct), chunk):
        out.append(dec.update(ct[i : i + chunk]))
    dec.finish()
    assert dec.is_done
    return b"".join(out)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
def test_vector(index: int) -> None:
    case = CASES[index]
    header = None
    try:
        header = kms_envelope.inspect(case.ciphertext)
    except kms_envelope.MalformedMessageError:
        assert case.expect is None
    if case.expect is None:
        with pytest.raises(kms_envelope.Error):
            one_shot(case)
        for chunk, release in ((7, "after-signature"), (4096, "frames")):
            with pytest.raises(kms_envelope.Error):
                streaming(case, chunk, release)
        return
    assert header is not None
    result = one_shot(case)
    assert result.plaintext == case.expect
    want = dict(header.encryption_context)
    for k, v in case.reproduced.items():
        want.setdefault(k, v)
    assert result.encryption_context == want
    if case.context is not None:
        assert result.encryption_context == case.context
    if case.suite is not None:
        assert result.algorithm_suite == case.suite
    assert result.algorithm_suite is header.algorithm_suite
    # streaming, uneven chunks (byte by byte for one case in ten)
    small = 1 if index % 10 == 0 else 7
    assert streaming(case, small, "after-signature") == case.expect
    assert streaming(case, 4096, "frames") == case.expect
    # signed messages are refused right after the header in unsigned-only mode
    if header.algorithm_suite.is_signing:
        kwargs: Dict[str, Any] = {"encryption_context": case.reproduced, "commitment_policy": POLICY}
        if isinstance(case.source, kms_envelope.MaterialsManager):
            kwargs["materials_manager"] = case.source
        else:
            kwargs["keyring"] = case.source
        dec = kms_envelope.StreamDecryptor(unsigned_only=True, **kwargs)
        with pytest.raises(kms_envelope.PolicyViolationError):
            dec.update(case.ciphertext[: header.header_length])
    # v1 suites are refused under the default policy
    if not header.algorithm_suite.is_committing:
        with pytest.raises(kms_envelope.PolicyViolationError):
            if isinstance(case.source, kms_envelope.MaterialsManager):
                kms_envelope.decrypt(case.ciphertext, materials_manager=case.source, encryption_context=case.reproduced)
            else:
                kms_envelope.decrypt(case.ciphertext, keyring=case.source, encryption_context=case.reproduced)
    # more encrypted data keys than allowed
    if len(header.encrypted_data_keys) > 1:
        with pytest.raises(kms_envelope.PolicyViolationError):
            if isinstance(case.source, kms_envelope.MaterialsManager):
                kms_envelope.decrypt(
                    case.ciphertext, materials_manager=case.source, encryption_context=case.reproduced,
                    commitment_policy=POLICY, max_encrypted_data_keys=1,
                )
            else:
                kms_envelope.decrypt(
                    case.ciphertext, keyring=case.source, encryption_context=case.reproduced,
                    commitment_policy=POLICY, max_encrypted_data_keys=1,
                )
    # one byte after the message
    with pytest.raises(kms_envelope.MalformedMessageError):
        one_shot(case._replace(ciphertext=case.ciphertext + b"\0"))
