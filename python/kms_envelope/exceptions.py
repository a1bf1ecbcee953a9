"""The exceptions of kms_envelope.

Every failure of the library is a subclass of :class:`Error`, one per kind of
failure, the same kinds in every front end of kms-envelope:

=============================  ==============================================
class                          raised when
=============================  ==============================================
:class:`MalformedMessageError` the input is not a well-formed message
                               (truncated, trailing bytes, unknown suite,
                               base64 instead of binary, ...)
:class:`AuthenticationError`   a tag, the key commitment or the signature did
                               not verify (tampered data, wrong data key; a
                               reproduced context pair missing or wrong
                               under an RSA keyring)
:class:`NoKeyUnwrappedError`   no keyring could unwrap any encrypted data key
                               (wrong key, wrong key name; a reproduced
                               context pair missing or wrong under an AES
                               keyring, which binds the context)
:class:`PolicyViolationError`  a policy refused the operation: commitment
                               policy, too many encrypted data keys, an
                               encryption context that does not match
:class:`KmsError`              a key service (or a Python keyring) failed;
                               ``code`` holds the service's error code
:class:`BadArgumentError`      an argument has the right type but a bad value
                               (wrong key length, bad PEM, frame length 0);
                               also a :class:`ValueError`
:class:`IoError`               reading or writing a stream failed; also an
                               :class:`OSError`
=============================  ==============================================

Arguments of the wrong type raise :class:`TypeError`, as usual in Python.
Messages never say which byte of a message failed to authenticate.
"""
import builtins
import threading
from typing import Any, Dict, Iterable, Optional, Tuple, Type

__all__ = [
    "Error",
    "MalformedMessageError",
    "AuthenticationError",
    "NoKeyUnwrappedError",
    "PolicyViolationError",
    "KmsError",
    "BadArgumentError",
    "IoError",
]


class Error(Exception):
    """Base class of every exception raised by kms_envelope."""


class MalformedMessageError(Error):
    """The input is not a well-formed message (truncated, trailing bytes,
    bad field, unknown algorithm suite, base64 instead of binary)."""


class AuthenticationError(Error):
    """A tag, the key commitment or the message signature did not verify.

    Deliberately coarse: the message does not say which byte was wrong.
    """


class NoKeyUnwrappedError(Error):
    """No keyring could unwrap any of the message's encrypted data keys.

    ``reasons`` holds one line per failed attempt, for diagnosis. Python
    keyrings raise it from ``on_decrypt`` when they recognize no key.
    """

    reasons: Tuple[str, ...]

    def __init__(self, message: str = "no keyring could unwrap a data key", reasons: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.reasons = tuple(reasons)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (str(self), self.reasons))


class PolicyViolationError(Error):
    """A configured policy refused the operation: commitment policy, too many
    encrypted data keys, an encryption context that does not match the
    message's, a required context key missing, a signed message where only
    unsigned ones are accepted. (A reserved ``aws-crypto-`` context key is a
    :class:`BadArgumentError`.)"""


class KmsError(Error):
    """A key-management service (or a Python keyring) refused or failed a call.

    ``code`` is the service's error code (e.g. ``"AccessDeniedException"``);
    for an arbitrary exception raised by a Python keyring it is the
    exception's class name, and the exception itself is the ``__cause__``.
    """

    code: str

    def __init__(self, message: str = "KMS error", code: str = "") -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (str(self), self.code))


class BadArgumentError(Error, ValueError):
    """An argument has an acceptable type but an invalid value (wrong key
    length, bad PEM, frame length 0, reserved encryption context key, ...)."""


class IoError(Error, OSError):
    """Reading or writing a stream failed.

    For a failure of an underlying file (opening a path, reading, writing,
    ``flush()``, ``close()``) it is also the built-in class Python raised
    (``FileNotFoundError``, ``BlockingIOError``, ...), with the same
    ``errno``, ``filename`` and ``characters_written``; the original is the
    ``__cause__``.
    """


# IoError beside each built-in OSError subclass, made once (any thread).
_IO_ERRORS: Dict[Type[OSError], Type[IoError]] = {}
_IO_ERRORS_LOCK = threading.Lock()


def _io_error_class(raised: Type[BaseException]) -> Type[IoError]:
    """The class that is both :class:`IoError` and the built-in class
    ``raised`` is (``FileNotFoundError`` for it or any subclass of it)."""
    base = next((b for b in raised.__mro__ if b.__module__ == "builtins"), OSError)
    if base is OSError or not issubclass(base, OSError) or issubclass(raised, IoError):
        return IoError
    with _IO_ERRORS_LOCK:
        cls = _IO_ERRORS.get(base)
        if cls is None:
            namespace = {"__module__": __name__, "__doc__": IoError.__doc__, "__reduce__": _reduce_io_error}
            cls = _IO_ERRORS[base] = type(base.__name__, (IoError, base), namespace)
    return cls


# errno, strerror (or the message alone); filename, filename2, characters_written
_IoArgs = Tuple[Any, ...]
_IoState = Tuple[Any, Any, Optional[int]]


def _make_io_error(raised: Type[BaseException], args: _IoArgs, state: _IoState) -> IoError:
    error = _io_error_class(raised)(*args)
    filename, filename2, written = state
    # Set only when there is one: a None set here would show in str(error).
    if filename is not None:
        error.filename = filename
    if filename2 is not None:
        error.filename2 = filename2
    if written is not None:
        error.characters_written = written  # type: ignore[attr-defined]
    return error


def _io_error_from(cause: OSError, message: str) -> IoError:
    """An :class:`IoError` saying ``message`` for ``cause``, a failure of an
    underlying file: also its built-in class, with its errno, file names and
    ``characters_written``."""
    args = (message,) if cause.errno is None else (cause.errno, message)
    state = (cause.filename, cause.filename2, getattr(cause, "characters_written", None))
    return _make_io_error(type(cause), args, state)


def _reduce_io_error(self: IoError) -> Tuple[Any, ...]:
    # Pickled by what it is made of: its class is made at run time.
    base = next(b for b in type(self).__mro__ if b.__module__ == "builtins")
    state = (self.filename, self.filename2, getattr(self, "characters_written", None))
    return (_rebuild_io_error, (base.__name__, self.args, state))


def _rebuild_io_error(base_name: str, args: _IoArgs, state: _IoState) -> IoError:
    return _make_io_error(getattr(builtins, base_name), args, state)
