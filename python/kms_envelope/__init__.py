"""kms_envelope: client-side envelope encryption, byte-compatible with the
AWS Encryption SDK message format.

Data is encrypted locally under a fresh data key; only that data key is
wrapped by a keyring (an AWS KMS key, a local AES or RSA key, or your own
Python object that calls any KMS, HSM or HTTP API). Messages interoperate
with every AWS Encryption SDK (Python, Java, JavaScript, C, .NET, Go, Rust).

>>> import os, kms_envelope
>>> keyring = kms_envelope.RawAesKeyring("my-app", "key-1", os.urandom(32))
>>> ct = kms_envelope.encrypt(b"secret", keyring=keyring, encryption_context={"tenant": "acme"})
>>> kms_envelope.decrypt(ct, keyring=keyring, encryption_context={"tenant": "acme"}).plaintext
b'secret'

The work happens in a Rust core; the GIL is released while it runs.
"""
from . import exceptions
from ._keyring import Keyring
from ._native import (
    CRYPTO_BACKEND,
    AwsKmsClient,
    AwsKmsDiscoveryKeyring,
    AwsKmsKeyring,
    CachingMaterialsManager,
    LocalMaterialsCache,
    DecryptionMaterials,
    DecryptResult,
    DefaultMaterialsManager,
    EncryptedDataKey,
    EncryptionMaterials,
    MaterialsManager,
    MessageHeader,
    MultiKeyring,
    NativeKeyring,
    RawAesKeyring,
    RawRsaKeyring,
    RequiredEncryptionContextMaterialsManager,
    StreamDecryptor,
    StreamEncryptor,
    __version__,
    decrypt,
    encrypt,
    inspect,
)
from ._stream import DecryptingReader, EncryptingReader, EncryptingWriter, encrypting_reader
from ._stream import open as open  # public, though not in __all__ (below)
from ._types import AlgorithmSuite, CommitmentPolicy, RsaPadding
from .exceptions import (
    AuthenticationError,
    BadArgumentError,
    Error,
    IoError,
    KmsError,
    MalformedMessageError,
    NoKeyUnwrappedError,
    PolicyViolationError,
)

__all__ = [
    "AlgorithmSuite",
    "AuthenticationError",
    "AwsKmsClient",
    "AwsKmsDiscoveryKeyring",
    "AwsKmsKeyring",
    "BadArgumentError",
    "CRYPTO_BACKEND",
    "CachingMaterialsManager",
    "CommitmentPolicy",
    "DecryptResult",
    "DecryptingReader",
    "DecryptionMaterials",
    "DefaultMaterialsManager",
    "EncryptedDataKey",
    "EncryptingReader",
    "EncryptingWriter",
    "EncryptionMaterials",
    "Error",
    "IoError",
    "Keyring",
    "KmsError",
    "LocalMaterialsCache",
    "MalformedMessageError",
    "MaterialsManager",
    "MessageHeader",
    "MultiKeyring",
    "NativeKeyring",
    "NoKeyUnwrappedError",
    "PolicyViolationError",
    "RawAesKeyring",
    "RawRsaKeyring",
    "RequiredEncryptionContextMaterialsManager",
    "RsaPadding",
    "StreamDecryptor",
    "StreamEncryptor",
    "__version__",
    "decrypt",
    "encrypt",
    "encrypting_reader",
    "exceptions",
    "inspect",
    # `open` is public (kms_envelope.open) but left out of star imports,
    # where it would replace the built-in open.
]
