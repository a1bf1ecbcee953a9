"""Algorithm suites, commitment policies and RSA paddings."""
import enum
from typing import Dict, NamedTuple

from . import _native

__all__ = ["AlgorithmSuite", "CommitmentPolicy", "RsaPadding"]


class _SuiteInfo(NamedTuple):
    name: str
    committing: bool
    signing: bool
    data_key_length: int
    message_format_version: int


_SUITES: Dict[int, _SuiteInfo] = {
    row[0]: _SuiteInfo(*row[1:]) for row in _native._suite_table()
}


class AlgorithmSuite(enum.IntEnum):
    """An AWS Encryption SDK algorithm suite; the value is its 2-byte id.

    The default is :attr:`AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`
    (0x0578). Suites with key commitment (0x0478, 0x0578) write message
    format version 2; the others, version 1, need
    ``CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT`` to encrypt.
    """

    AES_128_GCM_IV12_TAG16_NO_KDF = 0x0014
    """0x0014: AES-128-GCM, no key derivation (legacy)."""
    AES_192_GCM_IV12_TAG16_NO_KDF = 0x0046
    """0x0046: AES-192-GCM, no key derivation (legacy)."""
    AES_256_GCM_IV12_TAG16_NO_KDF = 0x0078
    """0x0078: AES-256-GCM, no key derivation (legacy)."""
    AES_128_GCM_IV12_TAG16_HKDF_SHA256 = 0x0114
    """0x0114: AES-128-GCM, HKDF-SHA256."""
    AES_192_GCM_IV12_TAG16_HKDF_SHA256 = 0x0146
    """0x0146: AES-192-GCM, HKDF-SHA256."""
    AES_256_GCM_IV12_TAG16_HKDF_SHA256 = 0x0178
    """0x0178: AES-256-GCM, HKDF-SHA256."""
    AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256 = 0x0214
    """0x0214: AES-128-GCM, HKDF-SHA256, ECDSA P-256."""
    AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = 0x0346
    """0x0346: AES-192-GCM, HKDF-SHA384, ECDSA P-384."""
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = 0x0378
    """0x0378: AES-256-GCM, HKDF-SHA384, ECDSA P-384."""
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY = 0x0478
    """0x0478: AES-256-GCM, HKDF-SHA512, key commitment."""
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 = 0x0578
    """0x0578: AES-256-GCM, HKDF-SHA512, key commitment, ECDSA P-384 (default)."""

    @property
    def id(self) -> int:
        """The 2-byte id written in the message header."""
        return int(self.value)

    @property
    def esdk_name(self) -> str:
        """The ESDK name, e.g. ``ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY``."""
        return _SUITES[self.value].name

    @property
    def is_committing(self) -> bool:
        """Whether the suite commits to its data key (message format version 2)."""
        return _SUITES[self.value].committing

    @property
    def is_signing(self) -> bool:
        """Whether messages carry an ECDSA signature."""
        return _SUITES[self.value].signing

    @property
    def data_key_length(self) -> int:
        """Length of the data key in bytes: 16, 24 or 32."""
        return _SUITES[self.value].data_key_length

    @property
    def message_format_version(self) -> int:
        """The message format version this suite writes: 1 or 2."""
        return _SUITES[self.value].message_format_version

    def __str__(self) -> str:
        return "0x%04X (%s)" % (self.value, self.name)


class CommitmentPolicy(str, enum.Enum):
    """Whether messages must use key-committing suites.

    The default, :attr:`REQUIRE_ENCRYPT_REQUIRE_DECRYPT`, writes and reads
    only 0x0478 and 0x0578.
    """

    FORBID_ENCRYPT_ALLOW_DECRYPT = "FORBID_ENCRYPT_ALLOW_DECRYPT"
    """Encrypt with non-committing suites only (default 0x0378); decrypt anything."""
    REQUIRE_ENCRYPT_ALLOW_DECRYPT = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
    """Encrypt with committing suites only; decrypt anything (for migrating)."""
    REQUIRE_ENCRYPT_REQUIRE_DECRYPT = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
    """Encrypt and decrypt committing suites only (default)."""

    def __str__(self) -> str:
        return self.value


class RsaPadding(str, enum.Enum):
    """RSA encryption padding of :class:`RawRsaKeyring`. OAEP uses MGF1 with
    the same hash and an empty label."""

    PKCS1 = "pkcs1"
    """RSAES-PKCS1-v1_5 (legacy; prefer OAEP)."""
    OAEP_SHA1 = "oaep-sha1"
    """RSAES-OAEP with SHA-1 and MGF1-SHA-1."""
    OAEP_SHA256 = "oaep-sha256"
    """RSAES-OAEP with SHA-256 and MGF1-SHA-256 (default)."""
    OAEP_SHA384 = "oaep-sha384"
    """RSAES-OAEP with SHA-384 and MGF1-SHA-384."""
    OAEP_SHA512 = "oaep-sha512"
    """RSAES-OAEP with SHA-512 and MGF1-SHA-512."""

    def __str__(self) -> str:
        return self.value
