"""The keyring protocol: what any object passed as ``keyring=`` provides."""
from typing import Protocol, Sequence, runtime_checkable

from ._native import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials

__all__ = ["Keyring"]


@runtime_checkable
class Keyring(Protocol):
    """Generates, wraps and unwraps data keys: the plug-in point for any key
    service (AWS KMS through boto3, an HSM library, an HTTP API, ...).

    The native keyrings (:class:`RawAesKeyring`, :class:`RawRsaKeyring`,
    :class:`MultiKeyring`) implement it, and so can any Python object; pass
    it as ``keyring=`` to :func:`encrypt`, :func:`decrypt`, :func:`open`, a
    materials manager or a :class:`MultiKeyring`.

    Contract (the AWS Encryption SDK keyring interface):

    * ``on_encrypt(materials)``: if ``materials.plaintext_data_key`` is
      ``None``, generate one (``materials.generate_plaintext_data_key()``, or
      ``set_plaintext_data_key`` with a key the service made); then wrap it
      and add one or more :class:`EncryptedDataKey` with
      ``materials.add_encrypted_data_key``. Return the materials.
    * ``on_decrypt(materials, encrypted_data_keys)``: try the encrypted data
      keys this keyring recognizes, in order; set the first one it unwraps
      with ``materials.set_plaintext_data_key`` and return the materials. If
      it unwraps none, raise :class:`NoKeyUnwrappedError`.
    * Never store the encryption context inside an encrypted data key; bind
      the wrapped key to it (as AAD, or the service's own context) instead.

    Methods are called with the GIL held, from the thread that called
    :func:`encrypt` / :func:`decrypt`. An exception they raise ends the call
    with the matching :class:`kms_envelope.Error` subclass (any other
    exception becomes a :class:`KmsError` whose ``code`` is the exception's
    class name), with the original exception as ``__cause__``.
    """

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        """Generate (if needed) and wrap the data key; return the materials."""
        ...

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        """Unwrap one of ``encrypted_data_keys`` into the materials and return them."""
        ...
