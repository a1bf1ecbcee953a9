#!/usr/bin/env python3
"""Interop runner between kms-envelope and the official Python AWS Encryption SDK.

Needs only ``aws-encryption-sdk`` (4.x, from PyPI) and its ``cryptography``
dependency; it uses raw master keys (no Material Providers Library).

Subcommands:

``generate OUTDIR``
    Encrypt a covering set of cases with the Python ESDK and write
    OUTDIR/keys.json, OUTDIR/plaintexts/*, OUTDIR/ciphertexts/* and
    OUTDIR/manifest.json (an ``awses-decrypt`` manifest, version 4 layout)
    for ``kms-envelope vectors decrypt``.

``decrypt MANIFEST``
    Run an ``awses-decrypt`` manifest (versions 2-5, e.g. as written by
    ``kms-envelope vectors encrypt``) with the Python ESDK. Prints one line per
    failing case and ends with ``N passed, M failed`` (plus ``, K skipped`` when
    cases could not be run here). Exit status 1 if any case failed.
"""
import argparse
import base64
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import urllib.parse

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    AlgorithmSuite,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.key_providers.base import MasterKeyProvider, MasterKeyProviderConfig
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

try:
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
except ImportError:  # older layouts
    from aws_encryption_sdk.internal.crypto import WrappingKey

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_KEYS = os.path.normpath(os.path.join(HERE, "..", "data", "interop-keys", "keys.json"))
PROVIDER_ID = "aws-raw-vectors-persistent"

# --------------------------------------------------------------------------
# keys and master keys
# --------------------------------------------------------------------------

_KEY_TYPES = {
    "symmetric": EncryptionKeyType.SYMMETRIC,
    "private": EncryptionKeyType.PRIVATE,
    "public": EncryptionKeyType.PUBLIC,
}
_AES = {
    128: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
    192: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
    256: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
}
_RSA = {
    ("pkcs1", None): WrappingAlgorithm.RSA_PKCS1,
    ("pkcs1", "sha1"): WrappingAlgorithm.RSA_PKCS1,
    ("oaep-mgf1", "sha1"): WrappingAlgorithm.RSA_OAEP_SHA1_MGF1,
    ("oaep-mgf1", "sha256"): WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
    ("oaep-mgf1", "sha384"): WrappingAlgorithm.RSA_OAEP_SHA384_MGF1,
    ("oaep-mgf1", "sha512"): WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
}


class Unsupported(Exception):
    """The case needs something this runner cannot do (counted as skipped)."""


def load_json_uri(uri, base_dir):
    return json.loads(read_uri(uri, base_dir).decode("utf-8"))


def uri_path(uri, base_dir):
    """file:// URIs; relative ones are relative to base_dir (the manifest's folder)."""
    if not uri.startswith("file://"):
        raise Unsupported("unsupported URI scheme: %s" % uri)
    path = urllib.parse.unquote(uri[len("file://"):])
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


def read_uri(uri, base_dir):
    with open(uri_path(uri, base_dir), "rb") as f:
        return f.read()


def key_material(entry):
    material = entry["material"]
    if isinstance(material, list):  # keys manifest v1
        material = entry.get("line-separator", "").join(material)
    if entry.get("encoding") == "base64":
        return base64.b64decode(material)
    return material.encode("utf-8")


def wrapping_key(key_entry, desc):
    """WrappingKey for a keys.json entry and a master-key description."""
    if desc.get("type") != "raw":
        raise Unsupported("master key type %r" % desc.get("type"))
    key_type = _KEY_TYPES.get(key_entry.get("type"))
    if key_type is None:
        raise Unsupported("key type %r" % key_entry.get("type"))
    alg = desc.get("encryption-algorithm")
    if alg == "aes":
        algorithm = _AES[int(key_entry["bits"])]
    elif alg == "rsa":
        padding = desc.get("padding-algorithm")
        hash_name = desc.get("padding-hash")
        if (padding, hash_name) not in _RSA:
            raise Unsupported("RSA padding %r/%r" % (padding, hash_name))
        algorithm = _RSA[(padding, hash_name)]
    else:
        raise Unsupported("encryption-algorithm %r" % alg)
    return WrappingKey(wrapping_algorithm=algorithm, wrapping_key=key_material(key_entry), wrapping_key_type=key_type)


class ManifestRawKeyProvider(RawMasterKeyProvider):
    """Raw master key provider for one manifest key description.

    ``provider_id`` is set per subclass (the manifest's ``provider-id``); the
    key id is the keys file's ``key-id``.
    """

    provider_id = PROVIDER_ID

    def __init__(self, **kwargs):  # pylint: disable=unused-argument
        self._static_keys = {}

    def add_wrapping_key(self, key_id, key):
        self._static_keys[key_id] = key
        self.add_master_key(key_id)

    def _get_raw_key(self, key_id):
        return self._static_keys[key_id.decode("utf-8") if isinstance(key_id, bytes) else key_id]


def raw_provider(provider_id, key_id, key):
    """A ManifestRawKeyProvider holding one key, with the given provider ID."""
    cls = type("RawProvider", (ManifestRawKeyProvider,), {"provider_id": provider_id})
    provider = cls()
    provider.add_wrapping_key(key_id, key)
    return provider


class MultiKeyProvider(MasterKeyProvider):
    """Holds master keys with different provider IDs / algorithms.

    MasterKeyProvider.decrypt_data_key only descends one level, so the master
    keys themselves (not their providers) are the members. The first member is
    the primary (it generates the data key on encrypt).
    """

    provider_id = "kms-envelope-interop-multi"
    _config_class = MasterKeyProviderConfig
    vend_masterkey_on_decrypt = False

    def __init__(self, **kwargs):  # pylint: disable=unused-argument
        pass

    def _new_master_key(self, key_id):
        raise Unsupported("no master key %r" % key_id)


def build_key_provider(descs, keys, for_encrypt):
    """MasterKeyProvider built from a list of master-key descriptions."""
    provider = MultiKeyProvider()
    count = 0
    for desc in descs:
        name = desc.get("key")
        if name not in keys:
            raise Unsupported("key %r not in keys file" % name)
        entry = keys[name]
        if for_encrypt and entry.get("encrypt") is False:
            raise Unsupported("key %r cannot encrypt" % name)
        key_id = entry.get("key-id", name)
        sub = raw_provider(desc["provider-id"], key_id, wrapping_key(entry, desc))
        provider.add_master_key_provider(sub.master_key(key_id))
        count += 1
    if count == 0:
        raise Unsupported("no usable master key")
    return provider


# --------------------------------------------------------------------------
# generate
# --------------------------------------------------------------------------

SUITES = [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378, 0x0478, 0x0578]


def _aes(bits):
    return {"type": "raw", "key": "aes-%d" % bits, "provider-id": PROVIDER_ID, "encryption-algorithm": "aes"}


def _rsa(padding, hash_name, key="rsa-2048-private"):
    d = {"type": "raw", "key": key, "provider-id": PROVIDER_ID, "encryption-algorithm": "rsa",
         "padding-algorithm": padding}
    if hash_name:
        d["padding-hash"] = hash_name
    return d


# keyring kind name -> master-key description
KEYRINGS = [
    ("aes128", _aes(128)),
    ("aes192", _aes(192)),
    ("aes256", _aes(256)),
    ("rsa-pkcs1", _rsa("pkcs1", None)),
    ("rsa-oaep-sha1", _rsa("oaep-mgf1", "sha1")),
    ("rsa-oaep-sha256", _rsa("oaep-mgf1", "sha256")),
    ("rsa-oaep-sha384", _rsa("oaep-mgf1", "sha384")),
    ("rsa-oaep-sha512", _rsa("oaep-mgf1", "sha512")),
]

# The Python ESDK requires frame lengths that are multiples of 128; 0 = non-framed.
FRAMES = [0, 128, 512, 4096]
# name -> size; includes 0 and exact multiples of every frame length
PLAINTEXTS = [
    ("empty", 0),
    ("one", 1),
    ("p127", 127),
    ("p128", 128),
    ("p513", 513),
    ("p4096", 4096),
    ("p8192", 8192),
    ("p10240", 10240),
]
CONTEXTS = [
    ("noec", {}),
    ("ascii", {"purpose": "interop", "producer": "aws-encryption-sdk-python"}),
    # non-ASCII and mixed-case keys. U+FF21 sorts before U+1F600 by UTF-8 bytes
    # (and code point) but after it by UTF-16 code units.
    ("unicode", {
        "Key": "upper-first",
        "key": "lower-first",
        "KEY": "all caps",
        "caf\u00e9": "cr\u00e8me br\u00fbl\u00e9e",
        "\uff21-fullwidth": "\u5bc6\u94a5",
        "\U0001f600-emoji": "\U0001f510 value",
        "\u00c5ngstr\u00f6m": "\u0394",
    }),
]

MULTI = [
    ("aes256+rsa-oaep-sha256", [_aes(256), _rsa("oaep-mgf1", "sha256")]),
    ("aes128+aes192", [_aes(128), _aes(192)]),
    ("rsa-oaep-sha1+aes256", [_rsa("oaep-mgf1", "sha1"), _aes(256)]),
    ("rsa-pkcs1+rsa-oaep-sha512", [_rsa("pkcs1", None), _rsa("oaep-mgf1", "sha512")]),
    ("aes192+rsa-public-oaep-sha384", [_aes(192), _rsa("oaep-mgf1", "sha384", "rsa-2048-public")]),
    ("rsa-oaep-sha384+other-provider-aes128",
     [_rsa("oaep-mgf1", "sha384"), dict(_aes(128), **{"provider-id": "kms-envelope-interop-other"})]),
]


def plaintext_bytes(name, size):
    """Deterministic pseudo-random plaintext."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(("kms-envelope-interop/%s/%d" % (name, counter)).encode()).digest()
        counter += 1
    return bytes(out[:size])


def generate_cases():
    """Deterministic list of (name, suite, frame, plaintext_name, ec_name, [descs], description)."""
    cases = []
    for s_i, suite in enumerate(SUITES):
        for k_i, (kname, desc) in enumerate(KEYRINGS):
            frame = FRAMES[(s_i + k_i) % len(FRAMES)]
            pname = PLAINTEXTS[(s_i + 3 * k_i) % len(PLAINTEXTS)][0]
            ecname = CONTEXTS[(s_i + 2 * k_i) % len(CONTEXTS)][0]
            cases.append((suite, kname, [desc], frame, pname, ecname))
    for m_i, (kname, descs) in enumerate(MULTI):
        suite = SUITES[(4 * m_i + 2) % len(SUITES)]
        frame = FRAMES[(m_i + 1) % len(FRAMES)]
        pname = PLAINTEXTS[(3 * m_i + 2) % len(PLAINTEXTS)][0]
        ecname = CONTEXTS[m_i % len(CONTEXTS)][0]
        cases.append((suite, kname, descs, frame, pname, ecname))
    # edge cases: empty and exact multiples, every frame length, committing + legacy suite
    for suite in (0x0078, 0x0478, 0x0578):
        for frame, pname in ((0, "empty"), (0, "one"), (0, "p10240"), (128, "empty"), (128, "p128"),
                             (512, "p10240"), (4096, "p8192"), (4096, "empty")):
            cases.append((suite, "aes256", [_aes(256)], frame, pname, "unicode"))
    out = []
    seen = set()
    for suite, kname, descs, frame, pname, ecname in cases:
        name = "py-%04x-%s-f%d-%s-%s" % (suite, kname, frame, pname, ecname)
        if name in seen:
            continue
        seen.add(name)
        out.append((name, suite, kname, descs, frame, pname, ecname))
    return out


def cmd_generate(args):
    outdir = args.outdir
    keys_doc = json.load(open(args.keys, encoding="utf-8"))
    keys = keys_doc["keys"]
    os.makedirs(os.path.join(outdir, "ciphertexts"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "plaintexts"), exist_ok=True)
    shutil.copyfile(args.keys, os.path.join(outdir, "keys.json"))

    plaintexts = {}
    for pname, size in PLAINTEXTS:
        plaintexts[pname] = plaintext_bytes(pname, size)
        with open(os.path.join(outdir, "plaintexts", pname), "wb") as f:
            f.write(plaintexts[pname])
    contexts = dict(CONTEXTS)

    clients = {
        True: aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT),
        False: aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT),
    }
    tests = {}
    ciphertexts = {}
    for name, suite_id, kname, descs, frame, pname, ecname in generate_cases():
        suite = AlgorithmSuite.get_by_id(suite_id)
        provider = build_key_provider(descs, keys, for_encrypt=True)
        ciphertext, header = clients[suite.is_committing()].encrypt(
            source=plaintexts[pname],
            key_provider=provider,
            algorithm=suite,
            frame_length=frame,
            encryption_context=dict(contexts[ecname]),
        )
        if len(header.encrypted_data_keys) != len(descs):
            raise SystemExit("%s: expected %d EDKs, got %d" % (name, len(descs), len(header.encrypted_data_keys)))
        ciphertexts[name] = ciphertext
        with open(os.path.join(outdir, "ciphertexts", name), "wb") as f:
            f.write(ciphertext)
        tests[name] = {
            "description": "Python ESDK %s: suite %04X, %s, frame %d, plaintext %s (%d bytes), EC %s, %d EDK(s)"
            % (aws_encryption_sdk.__version__, suite_id, kname, frame, pname, len(plaintexts[pname]), ecname,
               len(descs)),
            "ciphertext": "file://ciphertexts/" + name,
            "master-keys": descs,
            "cmm": "Default",
            "encryption-context": contexts[ecname],
            "result": {"output": {"plaintext": "file://plaintexts/" + pname}},
        }

    # A few negative cases derived from positive ones: every decryptor must reject them.
    def negative(name, source, data, descs, reason, ec=None):
        with open(os.path.join(outdir, "ciphertexts", name), "wb") as f:
            f.write(data)
        tests[name] = {
            "description": reason,
            "ciphertext": "file://ciphertexts/" + name,
            "master-keys": descs,
            "cmm": "Default",
            "encryption-context": ec if ec is not None else tests[source]["encryption-context"],
            "result": {"error": {"error-description": reason}},
        }

    src = "py-0478-aes256-f512-p10240-unicode"
    ct = ciphertexts[src]
    negative("neg-truncated", src, ct[:-1], [_aes(256)], "message truncated by one byte")
    negative("neg-truncated-header", src, ct[:40], [_aes(256)], "message truncated inside the header")
    flipped = bytearray(ct)
    flipped[len(ct) // 2] ^= 0x01
    negative("neg-bitflip-body", src, bytes(flipped), [_aes(256)], "one bit flipped in a body frame")
    flipped = bytearray(ct)
    flipped[5] ^= 0x80  # inside the message ID
    negative("neg-bitflip-header", src, bytes(flipped), [_aes(256)], "one bit flipped in the header (message ID)")
    negative("neg-wrong-key", src, ct, [_aes(128)], "no EDK for the listed key")
    ec = dict(tests[src]["encryption-context"])
    ec["Key"] = "changed"
    negative("neg-ec-mismatch", src, ct, [_aes(256)],
             "reproduced encryption context conflicts with the header", ec=ec)

    manifest = {
        "manifest": {"type": "awses-decrypt", "version": 4},
        "client": {"name": "aws/aws-encryption-sdk-python", "version": aws_encryption_sdk.__version__},
        "keys": "file://keys.json",
        "tests": tests,
    }
    with open(os.path.join(outdir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    positive = sum(1 for t in tests.values() if "output" in t["result"])
    print("wrote %d cases (%d positive, %d negative) to %s" % (len(tests), positive, len(tests) - positive, outdir))
    return 0


# --------------------------------------------------------------------------
# decrypt
# --------------------------------------------------------------------------


def flatten_key_description(desc):
    """v5 key description -> list of raw master-key descriptions."""
    kind = desc.get("type")
    if kind == "raw":
        return [desc]
    if kind == "multi-keyring":
        out = []
        if desc.get("generator"):
            out += flatten_key_description(desc["generator"])
        for child in desc.get("childKeyrings", []):
            out += flatten_key_description(child)
        return out
    if kind == "required-encryption-context-cmm":
        raise Unsupported("required-encryption-context CMM needs the MPL")
    raise Unsupported("key description type %r" % kind)


def normalize_case(version, case, base_dir):
    """-> dict(ciphertext, descs, ec, expect_plaintext (bytes or None), method)"""
    if version >= 5:
        sc = case["decryption-scenario"]
        kind = sc.get("type", "positive-esdk")
        desc = sc.get("decryptKeyDescription") or sc.get("keyDescription")
        if desc is None:
            raise Unsupported("no key description")
        expect = None
        if kind.startswith("positive"):
            expect = read_uri(sc["result"], base_dir)
        elif not kind.startswith("negative"):
            raise Unsupported("scenario type %r" % kind)
        return {
            "ciphertext": sc["ciphertext"],
            "descs": flatten_key_description(desc),
            "ec": sc.get("reproduced-encryption-context") or {},
            "expect": expect,
            "method": sc.get("decryption-method"),
        }
    cmm = case.get("cmm") or "Default"
    if cmm != "Default":
        raise Unsupported("cmm %r needs the MPL" % cmm)
    result = case["result"]
    expect = read_uri(result["output"]["plaintext"], base_dir) if "output" in result else None
    if expect is None and "error" not in result:
        raise Unsupported("result %r" % list(result))
    return {
        "ciphertext": case["ciphertext"],
        "descs": case["master-keys"],
        "ec": case.get("encryption-context") or {},
        "expect": expect,
        "method": case.get("decryption-method"),
    }


def python_decrypt(client, ciphertext, provider, method, stream_chunk):
    """Decrypt with the Python ESDK. Returns (plaintext, header)."""
    if method not in (None, "streaming-unsigned-only"):
        raise Unsupported("decryption-method %r" % method)
    if method is None and not stream_chunk:
        return client.decrypt(source=ciphertext, key_provider=provider)
    mode = "decrypt-unsigned" if method else "decrypt"
    out = bytearray()
    with client.stream(mode=mode, source=io.BytesIO(ciphertext), key_provider=provider) as dec:
        while True:
            chunk = dec.read(stream_chunk or 4096)
            if not chunk:
                break
            out += chunk
        header = dec.header
    return bytes(out), header


def check_reproduced_ec(header_ec, reproduced):
    """Emulates the default CMM's reproduced-EC check without the MPL."""
    missing = [k for k in reproduced if k not in header_ec]
    if missing:
        # Pairs absent from the header become required-EC (authenticated only);
        # the Python ESDK cannot take them without the MPL.
        raise Unsupported("reproduced EC keys not in header (required EC needs the MPL): %r" % missing)
    for k, v in reproduced.items():
        if header_ec[k] != v:
            raise ValueError("reproduced encryption context %r=%r conflicts with header value %r" % (k, v, header_ec[k]))


def cmd_decrypt(args):
    manifest_path = os.path.abspath(args.manifest)
    base_dir = os.path.dirname(manifest_path)
    manifest = json.load(open(manifest_path, encoding="utf-8"))
    info = manifest.get("manifest", {})
    if info.get("type") != "awses-decrypt":
        print("not an awses-decrypt manifest: %r" % info, file=sys.stderr)
        return 2
    version = int(info.get("version", 0))
    if version not in (2, 3, 4, 5):
        print("unsupported awses-decrypt manifest version %d" % version, file=sys.stderr)
        return 2
    keys_uri = manifest["keys"]
    keys = load_json_uri(keys_uri, base_dir)["keys"]

    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    passed = failed = skipped = 0
    for name, case in manifest["tests"].items():
        if args.only and args.only not in name:
            continue
        try:
            c = normalize_case(version, case, base_dir)
            ciphertext = read_uri(c["ciphertext"], base_dir)
            provider = build_key_provider(c["descs"], keys, for_encrypt=False)
        except Unsupported as e:
            skipped += 1
            if args.verbose:
                print("SKIP %s: %s" % (name, e))
            continue
        except Exception as e:  # pylint: disable=broad-except
            failed += 1
            print("FAIL %s: cannot load case: %s: %s" % (name, type(e).__name__, e))
            continue
        runs = [0] + ([args.stream_chunk] if args.stream else [])
        problem = None
        try:
            for chunk in runs:
                try:
                    plaintext, header = python_decrypt(client, ciphertext, provider, c["method"], chunk)
                    check_reproduced_ec(header.encryption_context, c["ec"])
                except Unsupported:
                    raise
                except Exception as e:  # pylint: disable=broad-except
                    if c["expect"] is not None:
                        problem = "decrypt failed: %s: %s" % (type(e).__name__, e)
                        break
                    continue  # expected error
                if c["expect"] is None:
                    problem = "expected an error, but decrypt returned %d bytes" % len(plaintext)
                    break
                if plaintext != c["expect"]:
                    problem = "plaintext mismatch (%d bytes, expected %d)" % (len(plaintext), len(c["expect"]))
                    break
        except Unsupported as e:
            skipped += 1
            if args.verbose:
                print("SKIP %s: %s" % (name, e))
            continue
        if problem:
            failed += 1
            print("FAIL %s: %s%s" % (name, problem, " (streaming)" if chunk else ""))
        else:
            passed += 1
            if args.verbose:
                print("ok   %s" % name)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    g = sub.add_parser("generate", help="encrypt with the Python ESDK and write an awses-decrypt manifest")
    g.add_argument("outdir")
    g.add_argument("--keys", default=DEFAULT_KEYS, help="keys manifest to use (default: %(default)s)")
    g.set_defaults(func=cmd_generate)
    d = sub.add_parser("decrypt", help="run an awses-decrypt manifest with the Python ESDK")
    d.add_argument("manifest")
    d.add_argument("--stream", action="store_true", help="also decrypt each case through the streaming API")
    d.add_argument("--stream-chunk", type=int, default=7, help="read size for --stream (default: %(default)s)")
    d.add_argument("--only", help="run only cases whose name contains this string")
    d.add_argument("-v", "--verbose", action="store_true", help="print passing and skipped cases too")
    d.set_defaults(func=cmd_decrypt)
    args = parser.parse_args(argv)
    # The ESDK logs a traceback ("Error on closing") for every message it rejects.
    logging.getLogger("aws_encryption_sdk").setLevel(logging.DEBUG if getattr(args, "verbose", False) else logging.CRITICAL + 1)
    logging.getLogger("aws_encryption_sdk").addHandler(logging.NullHandler())
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
