"""Type stubs of the native module ``kms_envelope._native`` (PyO3)."""
import enum
from typing import Any, Dict, FrozenSet, Iterable, List, Literal, Mapping, Optional, Protocol, Sequence, Tuple, Union, final

from _typeshed import ReadableBuffer

from ._keyring import Keyring
from ._types import AlgorithmSuite, CommitmentPolicy, RsaPadding

__version__: str
CRYPTO_BACKEND: str

# Another library's enum members are taken by name (the official SDK's
# AlgorithmSuite and CommitmentPolicy).
_SuiteArg = Union[AlgorithmSuite, int, str, enum.Enum]
_PolicyArg = Union[CommitmentPolicy, str, enum.Enum]

def _suite_table() -> List[Tuple[int, str, bool, bool, int, int]]: ...
def _hashlib_updates() -> int: ...
def encrypt(
    plaintext: ReadableBuffer,
    *,
    keyring: Optional[Keyring] = None,
    materials_manager: Optional["MaterialsManager"] = None,
    encryption_context: Optional[Mapping[str, str]] = None,
    algorithm_suite: Optional[_SuiteArg] = None,
    frame_length: int = 4096,
    commitment_policy: Optional[_PolicyArg] = None,
    max_encrypted_data_keys: Optional[int] = None,
) -> bytes: ...
def decrypt(
    ciphertext: ReadableBuffer,
    *,
    keyring: Optional[Keyring] = None,
    materials_manager: Optional["MaterialsManager"] = None,
    encryption_context: Optional[Mapping[str, str]] = None,
    commitment_policy: Optional[_PolicyArg] = None,
    max_encrypted_data_keys: Optional[int] = None,
) -> "DecryptResult": ...
def inspect(ciphertext: ReadableBuffer) -> "MessageHeader": ...
@final
class EncryptedDataKey:
    def __init__(self, provider_id: str, provider_info: ReadableBuffer, ciphertext: ReadableBuffer) -> None: ...
    @property
    def provider_id(self) -> str: ...
    @property
    def provider_info(self) -> bytes: ...
    @property
    def ciphertext(self) -> bytes: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class EncryptionMaterials:
    @property
    def algorithm_suite(self) -> AlgorithmSuite: ...
    @property
    def encryption_context(self) -> Dict[str, str]: ...
    @property
    def required_encryption_context_keys(self) -> FrozenSet[str]: ...
    @property
    def plaintext_data_key(self) -> Optional[bytes]: ...
    @property
    def encrypted_data_keys(self) -> Tuple[EncryptedDataKey, ...]: ...
    def set_plaintext_data_key(self, key: ReadableBuffer) -> None: ...
    def generate_plaintext_data_key(self) -> bytes: ...
    def add_encrypted_data_key(self, encrypted_data_key: EncryptedDataKey) -> None: ...

@final
class DecryptionMaterials:
    @property
    def algorithm_suite(self) -> AlgorithmSuite: ...
    @property
    def encryption_context(self) -> Dict[str, str]: ...
    @property
    def required_encryption_context_keys(self) -> FrozenSet[str]: ...
    @property
    def plaintext_data_key(self) -> Optional[bytes]: ...
    def set_plaintext_data_key(self, key: ReadableBuffer) -> None: ...

class NativeKeyring:
    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials: ...
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials: ...

@final
class RawAesKeyring(NativeKeyring):
    def __init__(
        self, key_namespace: str, key_name: str, wrapping_key: ReadableBuffer, *, js_legacy_order: bool = False
    ) -> None: ...
    @property
    def key_namespace(self) -> str: ...
    @property
    def key_name(self) -> str: ...
    @property
    def js_legacy_order(self) -> bool: ...

@final
class RawRsaKeyring(NativeKeyring):
    def __init__(
        self,
        key_namespace: str,
        key_name: str,
        *,
        public_key: Optional[Union[str, ReadableBuffer]] = None,
        private_key: Optional[Union[str, ReadableBuffer]] = None,
        padding: Optional[Union[RsaPadding, str]] = None,
    ) -> None: ...
    @property
    def key_namespace(self) -> str: ...
    @property
    def key_name(self) -> str: ...

@final
class MultiKeyring(NativeKeyring):
    def __init__(self, generator: Optional[Keyring] = None, children: Optional[Iterable[Keyring]] = None) -> None: ...
    @property
    def generator(self) -> Optional[Keyring]: ...
    @property
    def children(self) -> Tuple[Keyring, ...]: ...

class _KmsClient(Protocol):
    """What AwsKmsKeyring calls on a Python client: the three methods of a
    boto3 KMS client, called with boto3's keyword arguments. Declared
    loosely, so that a boto3 client typed by boto3-stubs (keyword-only
    parameters, TypedDict results) matches."""

    def generate_data_key(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]: ...
    def encrypt(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]: ...
    def decrypt(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]: ...

@final
class AwsKmsClient:
    def __init__(
        self,
        *,
        region: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        profile: Optional[str] = None,
        access_key_id: Optional[str] = None,
        secret_access_key: Optional[str] = None,
        session_token: Optional[str] = None,
        connect_timeout: float = 5.0,
        timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> None: ...
    @property
    def region(self) -> Optional[str]: ...
    def create_key(self, description: str = "") -> str: ...
    def create_alias(self, alias_name: str, target_key_id: str) -> None: ...

@final
class AwsKmsKeyring(NativeKeyring):
    def __init__(
        self,
        key_id: str,
        *,
        client: Union[AwsKmsClient, _KmsClient, None] = None,
        mrk_aware: bool = False,
        grant_tokens: Optional[Iterable[str]] = None,
    ) -> None: ...
    @property
    def key_id(self) -> str: ...

@final
class AwsKmsDiscoveryKeyring(NativeKeyring):
    def __init__(
        self,
        *,
        client: Union[AwsKmsClient, _KmsClient, None] = None,
        partition: Optional[str] = None,
        account_ids: Optional[Sequence[str]] = None,
        region: Optional[str] = None,
        grant_tokens: Optional[Iterable[str]] = None,
    ) -> None: ...

class MaterialsManager: ...

@final
class DefaultMaterialsManager(MaterialsManager):
    def __init__(self, keyring: Keyring) -> None: ...
    @property
    def keyring(self) -> Keyring: ...

@final
class RequiredEncryptionContextMaterialsManager(MaterialsManager):
    def __init__(
        self,
        required_encryption_context_keys: Iterable[str],
        *,
        keyring: Optional[Keyring] = None,
        materials_manager: Optional[MaterialsManager] = None,
    ) -> None: ...
    @property
    def required_encryption_context_keys(self) -> FrozenSet[str]: ...

@final
class LocalMaterialsCache:
    def __init__(self, capacity: int = 1000) -> None: ...
    @property
    def capacity(self) -> int: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

@final
class CachingMaterialsManager(MaterialsManager):
    def __init__(
        self,
        *,
        max_age: float,
        keyring: Optional[Keyring] = None,
        materials_manager: Optional[MaterialsManager] = None,
        cache: Optional[LocalMaterialsCache] = None,
        max_messages: Optional[int] = None,
        max_bytes: Optional[int] = None,
        partition_id: Optional[str] = None,
    ) -> None: ...
    @property
    def partition_id(self) -> str: ...
    @property
    def cache(self) -> LocalMaterialsCache: ...

@final
class MessageHeader:
    @property
    def version(self) -> int: ...
    @property
    def algorithm_suite(self) -> AlgorithmSuite: ...
    @property
    def message_id(self) -> bytes: ...
    @property
    def encryption_context(self) -> Dict[str, str]: ...
    @property
    def encrypted_data_keys(self) -> Tuple[EncryptedDataKey, ...]: ...
    @property
    def content_type(self) -> Literal["framed", "non-framed"]: ...
    @property
    def frame_length(self) -> int: ...
    @property
    def header_length(self) -> int: ...

@final
class DecryptResult:
    @property
    def plaintext(self) -> bytes: ...
    @property
    def encryption_context(self) -> Dict[str, str]: ...
    @property
    def algorithm_suite(self) -> AlgorithmSuite: ...
    @property
    def header(self) -> MessageHeader: ...

@final
class StreamEncryptor:
    def __init__(
        self,
        *,
        keyring: Optional[Keyring] = None,
        materials_manager: Optional[MaterialsManager] = None,
        encryption_context: Optional[Mapping[str, str]] = None,
        algorithm_suite: Optional[_SuiteArg] = None,
        frame_length: int = 4096,
        commitment_policy: Optional[_PolicyArg] = None,
        max_encrypted_data_keys: Optional[int] = None,
        plaintext_length: Optional[int] = None,
    ) -> None: ...
    @property
    def algorithm_suite(self) -> AlgorithmSuite: ...
    @property
    def header(self) -> MessageHeader: ...
    @property
    def encryption_context(self) -> Dict[str, str]: ...
    def update(self, data: ReadableBuffer) -> bytes: ...
    def finish(self) -> bytes: ...

@final
class StreamDecryptor:
    def __init__(
        self,
        *,
        keyring: Optional[Keyring] = None,
        materials_manager: Optional[MaterialsManager] = None,
        encryption_context: Optional[Mapping[str, str]] = None,
        commitment_policy: Optional[_PolicyArg] = None,
        max_encrypted_data_keys: Optional[int] = None,
        signed_release: Literal["after-signature", "frames"] = "after-signature",
        unsigned_only: bool = False,
        max_buffered_plaintext: Optional[int] = None,
        max_frame_size: Optional[int] = None,
    ) -> None: ...
    def update(self, data: ReadableBuffer) -> bytes: ...
    def finish(self) -> None: ...
    @property
    def is_done(self) -> bool: ...
    @property
    def header(self) -> Optional[MessageHeader]: ...
    @property
    def algorithm_suite(self) -> Optional[AlgorithmSuite]: ...
    @property
    def encryption_context(self) -> Optional[Dict[str, str]]: ...
