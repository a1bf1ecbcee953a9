"""Messages that @aws-crypto/client-node's raw AES keyring wrapped with its
default ``utf8Sorting: false`` (tests/data/js-legacy-order, made by its
generate.mjs): ``js_legacy_order=True`` reads them, and without it they do
not unwrap where the key orders differ, as the specification requires."""
import base64
import json
from typing import Any, Dict

import pytest

import kms_envelope
from conftest import REPO

FIXTURE: Dict[str, Any] = json.loads(
    (REPO / "tests" / "data" / "js-legacy-order" / "messages.json").read_text(encoding="utf-8")
)
MESSAGES = FIXTURE["messages"]


def keyring(js_legacy_order: bool) -> kms_envelope.RawAesKeyring:
    return kms_envelope.RawAesKeyring(
        FIXTURE["keyNamespace"], FIXTURE["keyName"], bytes.fromhex(FIXTURE["key"]), js_legacy_order=js_legacy_order
    )


def test_fixture_covers_both_kinds() -> None:
    assert sum(m["orderDiffers"] for m in MESSAGES) >= 5
    assert any(not m["orderDiffers"] for m in MESSAGES)


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_legacy_order_reads_client_node_messages(message: Dict[str, Any]) -> None:
    ciphertext = base64.b64decode(message["ciphertext"])
    policy = kms_envelope.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    result = kms_envelope.decrypt(
        ciphertext, keyring=keyring(True), encryption_context=message["context"], commitment_policy=policy
    )
    assert result.plaintext == message["plaintext"].encode()
    if message["orderDiffers"]:
        with pytest.raises(kms_envelope.NoKeyUnwrappedError):
            kms_envelope.decrypt(ciphertext, keyring=keyring(False), commitment_policy=policy)
    else:
        assert kms_envelope.decrypt(ciphertext, keyring=keyring(False), commitment_policy=policy).plaintext == (
            message["plaintext"].encode()
        )


def test_writing_stays_in_the_specification_order() -> None:
    context = {"Tenant": "acme", "\u00c4rger": "x"}
    ciphertext = kms_envelope.encrypt(b"spec order", keyring=keyring(True), encryption_context=context)
    assert kms_envelope.decrypt(ciphertext, keyring=keyring(False)).plaintext == b"spec order"


def test_the_option_is_visible_and_keyword_only() -> None:
    assert keyring(True).js_legacy_order and not keyring(False).js_legacy_order
    assert "js_legacy_order=True" in repr(keyring(True))
    with pytest.raises(TypeError):
        kms_envelope.RawAesKeyring("a", "b", bytes(32), True)  # type: ignore[call-arg]
