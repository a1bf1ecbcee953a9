"""File-like streaming: :func:`open`, :class:`EncryptingWriter`, :class:`DecryptingReader`."""
import builtins
import errno
import io
import operator
import os
import sys
import threading
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Protocol, Type, Union, overload

from ._native import MessageHeader, StreamDecryptor, StreamEncryptor
from ._types import AlgorithmSuite
from .exceptions import BadArgumentError, IoError, MalformedMessageError, _io_error_from

if TYPE_CHECKING:
    from typing import Literal

    from _typeshed import ReadableBuffer, WriteableBuffer

    from ._keyring import Keyring
    from ._native import MaterialsManager, _PolicyArg, _SuiteArg

__all__ = ["open", "encrypting_reader", "EncryptingWriter", "EncryptingReader", "DecryptingReader", "DEFAULT_CHUNK_SIZE"]

DEFAULT_CHUNK_SIZE = 64 * 1024
"""Bytes a :class:`DecryptingReader` or :class:`EncryptingReader` reads from its source at a time."""


class ReadableFile(Protocol):
    """A binary file-like object to read from (only ``read`` is used)."""

    def read(self, size: int = ..., /) -> Optional[bytes]:
        """Read up to ``size`` bytes; ``b""`` at the end."""
        ...


class WritableFile(Protocol):
    """A binary file-like object to write to (``write``; ``flush`` if present)."""

    def write(self, data: bytes, /) -> Optional[int]:
        """Write ``data``; return the number of bytes written (or ``None``)."""
        ...


PathType = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _check_chunk_size(chunk_size: int) -> None:
    # Above sys.maxsize a file's read() raises a bare OverflowError.
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or not 1 <= chunk_size <= sys.maxsize:
        raise BadArgumentError("chunk_size must be an int from 1 to sys.maxsize")


def _io_error(what: str, cause: OSError) -> IoError:
    """An :class:`IoError` for a failure of the underlying file that is also
    its built-in class (a missing file is both an ``IoError`` and a
    ``FileNotFoundError``)."""
    return _io_error_from(cause, "%s: %s" % (what, cause.strerror if cause.errno is not None and cause.strerror else cause))


def _open_path(file: PathType, mode: str) -> Any:
    """``builtins.open(file, mode)``; its failure as an :class:`IoError`."""
    try:
        return builtins.open(file, mode)
    except OSError as e:
        raise _io_error("opening the file failed", e) from e
    except ValueError as e:  # a NUL in the name: most likely a message passed as bytes
        hint = " (a message in memory goes to decrypt(), or to open() as io.BytesIO(data))" if isinstance(file, bytes) else ""
        raise BadArgumentError("file is not a usable path: %s%s" % (e, hint)) from e


def _check_file(file: object, method: str) -> None:
    """Refuses, before anything runs, a ``file`` that is neither a path nor
    has a ``read`` / ``write`` method (an int descriptor, a str of text)."""
    if not callable(getattr(file, method, None)):
        raise TypeError(
            "file must be a path or a binary file object with a %s() method, not %r" % (method, type(file).__name__)
        )


class _Turn:
    """One call at a time on a file object shared by threads: other threads
    wait their turn, and the thread already inside (called back from the
    underlying file, or from a signal handler) gets ``RuntimeError``, as
    ``io.BufferedWriter`` and ``io.BufferedReader`` refuse a reentrant call:
    letting it in would put its frames inside another write's."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._busy = False

    def __enter__(self) -> None:
        self._lock.acquire()
        if self._busy:
            self._lock.release()
            raise RuntimeError("reentrant call")
        self._busy = True

    def __exit__(self, *exc: object) -> None:
        self._busy = False
        self._lock.release()


def _check_open(f: io.IOBase) -> None:
    """The ``ValueError`` every ``io`` object raises once it is closed."""
    if f.closed:
        raise ValueError("I/O operation on closed file.")


def _file_call(what: str, call: Any) -> None:
    """Runs ``call()`` (a flush or close of the underlying file); its OSError as an :class:`IoError`."""
    try:
        call()
    except OSError as e:
        raise _io_error(what, e) from e


class _EncryptorReport:
    """What an encrypting file object says about the message it makes."""

    _encryptor: StreamEncryptor

    @property
    def algorithm_suite(self) -> AlgorithmSuite:
        """The message's algorithm suite."""
        return self._encryptor.algorithm_suite

    @property
    def header(self) -> MessageHeader:
        """The message's header: suite, message ID, the stored context, the
        encrypted data keys, the frame length."""
        return self._encryptor.header

    @property
    def encryption_context(self) -> Dict[str, str]:
        """The whole encryption context the message is bound to, required
        pairs (authenticated, not stored) included."""
        return self._encryptor.encryption_context


class EncryptingWriter(_EncryptorReport, io.RawIOBase):
    """A write-only binary file: everything written to it is encrypted into
    one message written to an underlying file.

    Memory stays bounded by one frame whatever the size of the stream.
    :meth:`close` (or leaving a ``with`` block normally) writes the final
    frame and the footer; without it the message is incomplete and no
    reader accepts it. Leaving a ``with`` block because of an exception
    calls :meth:`abort` instead, so a half-written stream never looks
    complete; so does dropping the writer unclosed (with a
    :class:`ResourceWarning`). A wrapper (``io.TextIOWrapper``,
    ``io.BufferedWriter``) closes the writer normally when the wrapper is
    closed, exception or not, which finishes the message: call
    :meth:`abort` on the error path first. Usually made by
    :func:`kms_envelope.open`.

    Like ``io.BufferedWriter``, one writer may be shared by threads: each
    ``write`` is encrypted and written whole before the next begins.
    """

    def __init__(self, fileobj: WritableFile, encryptor: StreamEncryptor, *, close_fileobj: bool = False) -> None:
        super().__init__()
        # Held from encrypting a write until its frames are in the file:
        # two threads' frames written out of order make a broken message.
        self._turn = _Turn()
        self._file = fileobj
        self._encryptor = encryptor
        self._close_file = close_fileobj
        self._finished = True  # a writer refused here has no message to leave incomplete
        _check_file(fileobj, "write")
        self._finished = False

    def writable(self) -> bool:
        """``True``; ``ValueError`` once closed."""
        _check_open(self)
        return True

    def write(self, b: "ReadableBuffer") -> int:
        """Encrypt ``b`` (any bytes-like object) and write what completes to
        the underlying file. Returns the number of bytes consumed (all)."""
        with self._turn:
            if self.closed:
                raise ValueError("write to closed file")
            out = self._encryptor.update(b)
            if out:
                self._write_all(out)
            return memoryview(b).nbytes

    def _write_all(self, data: bytes) -> None:
        """Writes all of ``data`` or aborts: the encryptor has consumed the
        plaintext, so a retry could only leave a gap in the message."""
        try:
            self._write_to_file(data)
        except BaseException:
            try:
                self._close(finish=False)
            except Exception:  # noqa: BLE001 - the first failure is the one to report
                pass
            raise

    def _write_to_file(self, data: bytes) -> None:
        # The file gets ``bytes``, as WritableFile promises: the rest of a
        # short write is a copy, but short writes are rare.
        while data:
            try:
                n = self._file.write(data)
            except OSError as e:
                raise _io_error("writing the encrypted stream failed", e) from e
            if n is None:
                if isinstance(self._file, io.RawIOBase):
                    # A raw file in non-blocking mode wrote nothing; retrying
                    # here would spin, and dropping the bytes would cut the
                    # message.
                    raise _io_error(
                        "writing the encrypted stream failed",
                        BlockingIOError(errno.EAGAIN, "the file is non-blocking and would block"),
                    )
                return  # a duck-typed file that does not count what it wrote
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0 or n > len(data):
                raise IoError(
                    errno.EIO,
                    "writing the encrypted stream failed: the file's write() returned %r for %d bytes"
                    % (n, len(data)),
                )
            data = data[n:]

    def flush(self) -> None:
        """Flush the underlying file (a partial frame stays buffered here);
        ``ValueError`` once closed."""
        _check_open(self)
        flush = getattr(self._file, "flush", None)
        if flush is not None:
            _file_call("flushing the encrypted stream failed", flush)

    def close(self) -> None:
        """Write the final frame and footer, flush, and close (the
        underlying file too if :func:`kms_envelope.open` opened it)."""
        with self._turn:
            self._close(finish=True)

    def abort(self) -> None:
        """Close without finishing the message: what was written stays an
        incomplete message that every reader rejects."""
        with self._turn:
            self._close(finish=False)

    def _close(self, *, finish: bool) -> None:
        """:meth:`close` or :meth:`abort`, on the thread whose turn it is."""
        if self.closed:
            return
        if not finish:
            self._finished = True
        try:
            if not self._finished:
                self._finished = True
                self._write_all(self._encryptor.finish())
        finally:
            try:
                super().close()  # flushes the underlying file
            finally:
                if self._close_file:
                    _file_call("closing the encrypted stream failed", self._file.close)  # type: ignore[attr-defined]

    def __del__(self) -> None:
        # io.IOBase.__del__ would call close(), which finishes the message:
        # a writer dropped mid-stream (an exception that skipped close(), a
        # forgotten reference) would leave a cut stream that decrypts cleanly.
        # Dropped unclosed, the message stays incomplete, as with abort().
        if self.closed:
            return
        if getattr(self, "_finished", True):
            try:
                self.close()  # finished already; only the file is left open
            except Exception:  # noqa: BLE001 - nothing can be raised from __del__
                pass
            return
        try:
            self.abort()  # first: a warning turned into an error must not skip it
        except Exception:  # noqa: BLE001 - nothing can be raised from __del__
            pass
        warnings.warn(
            "EncryptingWriter was not closed; the message was left incomplete (call close() to finish it)",
            ResourceWarning,
            stacklevel=2,
            source=self,
        )

    def __enter__(self) -> "EncryptingWriter":
        _check_open(self)
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class _PullingReader(io.RawIOBase):
    """A read-only binary file whose bytes are made from an underlying
    file's, read ``chunk_size`` bytes at a time and passed through a stream
    (:meth:`_update` for each piece, :meth:`_finish` at the end)."""

    def __init__(self, fileobj: ReadableFile, *, close_fileobj: bool, chunk_size: int) -> None:
        super().__init__()
        # Every field first: a reader refused below is still closed cleanly
        # (its file too, if it owns it) when it is collected.
        # Held for a whole read: two threads filling at once would hand
        # out the same bytes twice, or pieces out of order.
        self._turn = _Turn()
        self._file = fileobj
        self._close_file = close_fileobj
        self._chunk = chunk_size
        self._buf = b""
        self._pos = 0
        self._eof = False
        _check_chunk_size(chunk_size)
        _check_file(fileobj, "read")

    def _update(self, chunk: bytes) -> bytes:
        raise NotImplementedError

    def _finish(self) -> bytes:
        raise NotImplementedError

    def readable(self) -> bool:
        """``True``; ``ValueError`` once closed."""
        _check_open(self)
        return True

    def _read_source(self) -> bytes:
        """The next piece of the underlying file; ``b""`` at its end."""
        try:
            chunk = self._file.read(self._chunk)
        except OSError as e:
            raise _io_error("reading the underlying file failed", e) from e
        if chunk is None:
            raise _io_error(
                "reading the underlying file failed",
                BlockingIOError(errno.EAGAIN, "the file is non-blocking and has no data yet"),
            )
        if not isinstance(chunk, (bytes, bytearray)):
            # Anything else that is no buffer (0, False, a str) would pass
            # for the end of the file if it is falsy.
            try:
                chunk = bytes(memoryview(chunk))
            except (TypeError, ValueError):
                raise TypeError(
                    "the underlying file's read() must return bytes, not %r" % type(chunk).__name__
                ) from None
        return chunk

    def _fill(self) -> bool:
        """Make output available; ``False`` at the end."""
        while self._pos >= len(self._buf):
            if self._eof:
                return False
            chunk = self._read_source()
            if chunk:
                self._buf, self._pos = self._update(chunk), 0
            else:
                tail = self._finish()
                self._eof = True
                self._buf, self._pos = tail, 0
        return True

    def _take(self, size: int) -> bytes:
        with self._turn:
            return self._take_in_turn(size)

    def _take_in_turn(self, size: int) -> bytes:
        if self.closed:
            raise ValueError("read from closed file")
        if not self._fill():
            return b""
        start, end = self._pos, min(self._pos + size, len(self._buf))
        self._pos = end
        if start == 0 and end == len(self._buf):
            return self._buf
        return self._buf[start:end]

    def read(self, size: Optional[int] = -1) -> bytes:
        """Read up to ``size`` bytes (all of them if ``size`` is negative or
        ``None``); ``b""`` at the end."""
        if size is None:
            return self.readall()
        size = operator.index(size)  # TypeError for 2.5, before any state changes
        if size < 0:
            return self.readall()
        if size == 0:
            return b""
        return self._take(size)

    def readline(self, size: Optional[int] = -1) -> bytes:
        """Read up to and including the next ``b"\\n"`` (at most ``size``
        bytes if ``size`` is not negative); ``b""`` at the end. Iterating the
        reader gives its lines."""
        if size is None:
            size = -1
        size = operator.index(size)
        with self._turn:
            return self._readline(size)

    def _readline(self, size: int) -> bytes:
        parts = []
        left = size
        while left != 0:
            if self.closed:
                raise ValueError("read from closed file")
            if not self._fill():
                break
            newline = self._buf.find(b"\n", self._pos)
            end = len(self._buf) if newline < 0 else newline + 1
            if left > 0:
                end = min(end, self._pos + left)
                left -= end - self._pos
            parts.append(self._buf[self._pos : end])
            self._pos = end
            if newline >= 0 and end == newline + 1:
                break
        return b"".join(parts)

    def readall(self) -> bytes:
        """Read the rest."""
        parts = []
        with self._turn:
            while True:
                part = self._take_in_turn(1 << 62)
                if not part:
                    break
                parts.append(part)
        return b"".join(parts)

    def readinto(self, b: "WriteableBuffer") -> int:
        """Read into ``b``; returns the number of bytes (0 at the end)."""
        view = memoryview(b).cast("B")
        # Checked before anything is taken from the stream: a failure here
        # must leave the stream where it was.
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        data = self._take(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close (and close the underlying file if this package opened it)."""
        with self._turn:
            if self.closed:
                return
            self._buf = b""
            try:
                super().close()
            finally:
                if self._close_file:
                    _file_call("closing the underlying file failed", self._file.close)  # type: ignore[attr-defined]


class DecryptingReader(_PullingReader):
    """A read-only binary file that decrypts one message read from an
    underlying file.

    Reads return plaintext as the release rules allow: frame by frame for
    unsigned suites; for signed suites only after the signature verified,
    unless ``signed_release="frames"`` was chosen. The end of the stream
    (``b""``) is reported only once the whole message authenticated; a
    message that is truncated, tampered with or followed by extra bytes
    raises instead. Memory stays bounded by one frame plus what the release
    rules hold back. Usually made by :func:`kms_envelope.open`.
    """

    def __init__(
        self,
        fileobj: ReadableFile,
        decryptor: StreamDecryptor,
        *,
        close_fileobj: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._failed = False
        super().__init__(fileobj, close_fileobj=close_fileobj, chunk_size=chunk_size)
        self._decryptor = decryptor

    def _update(self, chunk: bytes) -> bytes:
        try:
            return self._decryptor.update(chunk)
        except BaseException:
            self._failed = True
            raise

    def _finish(self) -> bytes:
        try:
            self._decryptor.finish()
        except BaseException:
            self._failed = True
            raise
        return b""

    @property
    def header(self) -> Optional[MessageHeader]:
        """The message header once it has been read and authenticated, else
        ``None`` (:meth:`read_header` reads it before any plaintext); kept
        after a later failure, to say which message failed."""
        return self._decryptor.header

    def read_header(self) -> MessageHeader:
        """Read the encrypted stream until the header is authenticated and
        return it, to check the suite or the encryption context before any
        plaintext is read. Plaintext those reads released is kept for the
        next :meth:`read`. Raises as :meth:`read` does, and
        :class:`MalformedMessageError` if the stream ends first.
        """
        with self._turn:
            return self._read_header()

    def _read_header(self) -> MessageHeader:
        if self.closed:
            raise ValueError("read from closed file")
        while True:
            header = self._decryptor.header
            if self._failed:
                # The header outlives a failure (to name the message), but
                # a failed reader goes on raising.
                self._decryptor.finish()
                raise BadArgumentError("the reader failed in an earlier call and cannot go on")
            if header is not None:
                return header
            chunk = self._read_source()
            if not chunk:
                # The end is not recorded: a later read() must raise too,
                # never report the end of a message.
                self._finish()  # raises: no header yet
                raise MalformedMessageError("the stream ended before the message header")
            released = self._update(chunk)
            if released:
                self._buf, self._pos = self._buf[self._pos :] + released, 0

    @property
    def algorithm_suite(self) -> Optional[AlgorithmSuite]:
        """The algorithm suite once the header has been read, else ``None``."""
        return self._decryptor.algorithm_suite

    @property
    def encryption_context(self) -> Optional[Dict[str, str]]:
        """The encryption context once the header has been authenticated, else ``None``."""
        return self._decryptor.encryption_context

    def __enter__(self) -> "DecryptingReader":
        _check_open(self)
        return self


class EncryptingReader(_EncryptorReport, _PullingReader):
    """A read-only binary file of ciphertext: the plaintext read from an
    underlying file, encrypted into one message as it is read. For code that
    pulls bytes from a file object (``shutil.copyfileobj``, boto3's
    ``upload_fileobj``). Memory stays bounded by one frame. The message is
    complete once a read returns ``b""``. Usually made by
    :func:`kms_envelope.encrypting_reader`.
    """

    def __init__(
        self,
        fileobj: ReadableFile,
        encryptor: StreamEncryptor,
        *,
        close_fileobj: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        super().__init__(fileobj, close_fileobj=close_fileobj, chunk_size=chunk_size)
        self._encryptor = encryptor

    def _update(self, chunk: bytes) -> bytes:
        return self._encryptor.update(chunk)

    def _finish(self) -> bytes:
        return self._encryptor.finish()

    def __enter__(self) -> "EncryptingReader":
        _check_open(self)
        return self


FileArg = Union[PathType, ReadableFile, WritableFile]


_COMMON_KEYWORDS = frozenset(
    ("keyring", "materials_manager", "encryption_context", "commitment_policy", "max_encrypted_data_keys")
)
_OPEN_KEYWORDS = {
    "rb": _COMMON_KEYWORDS
    | {"signed_release", "unsigned_only", "max_buffered_plaintext", "max_frame_size", "chunk_size"},
    "wb": _COMMON_KEYWORDS | {"algorithm_suite", "frame_length", "plaintext_length"},
}


def _check_open_keywords(mode: str, kwargs: Mapping[str, Any]) -> None:
    """Refuses a keyword :func:`open` does not take in ``mode``, naming
    :func:`open` (not the stream class it would reach) and, where the other
    mode takes it, that mode."""
    for name in kwargs:
        if name not in _OPEN_KEYWORDS[mode]:
            other = "wb" if mode == "rb" else "rb"
            hint = " (it is for mode %r)" % other if name in _OPEN_KEYWORDS[other] else ""
            raise TypeError("open() got an unexpected keyword argument %r for mode %r%s" % (name, mode, hint))


@overload
def open(
    file: Union[PathType, ReadableFile],
    mode: "Literal['rb']",
    *,
    keyring: "Optional[Keyring]" = None,
    materials_manager: "Optional[MaterialsManager]" = None,
    encryption_context: Optional[Mapping[str, str]] = None,
    commitment_policy: "Optional[_PolicyArg]" = None,
    max_encrypted_data_keys: Optional[int] = None,
    signed_release: "Literal['after-signature', 'frames']" = "after-signature",
    unsigned_only: bool = False,
    max_buffered_plaintext: Optional[int] = None,
    max_frame_size: Optional[int] = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> DecryptingReader: ...


@overload
def open(
    file: Union[PathType, WritableFile],
    mode: "Literal['wb']",
    *,
    keyring: "Optional[Keyring]" = None,
    materials_manager: "Optional[MaterialsManager]" = None,
    encryption_context: Optional[Mapping[str, str]] = None,
    algorithm_suite: "Optional[_SuiteArg]" = None,
    frame_length: int = 4096,
    commitment_policy: "Optional[_PolicyArg]" = None,
    max_encrypted_data_keys: Optional[int] = None,
    plaintext_length: Optional[int] = None,
) -> EncryptingWriter: ...


@overload
def open(file: FileArg, mode: str, **kwargs: Any) -> Union[DecryptingReader, EncryptingWriter]: ...


def open(file: FileArg, mode: str, **kwargs: Any) -> Union[DecryptingReader, EncryptingWriter]:
    """Open an encrypted stream as a binary file object.

    ``file`` is a path or a binary file object. With mode ``"rb"`` the result
    is a :class:`DecryptingReader` (read plaintext from a message), with
    ``"wb"`` an :class:`EncryptingWriter` (write plaintext, the message goes
    to ``file``). A file opened here from a path is closed with the stream;
    a file object passed in is left open. The keyword arguments are those of
    :func:`decrypt` (``"rb"``: plus ``signed_release``, ``unsigned_only``,
    ``max_buffered_plaintext``, ``max_frame_size``, ``chunk_size``, see
    :class:`StreamDecryptor`) or of :func:`encrypt`
    (``"wb"``: plus ``plaintext_length``).

    Example::

        with kms_envelope.open("data.enc", "wb", keyring=keyring) as out, builtins.open("data", "rb") as src:
            shutil.copyfileobj(src, out)
        with kms_envelope.open("data.enc", "rb", keyring=keyring) as src:
            plaintext = src.read()
    """
    is_path = isinstance(file, (str, bytes, os.PathLike))
    if isinstance(mode, str) and mode in _OPEN_KEYWORDS:
        _check_open_keywords(mode, kwargs)
    if mode == "rb":
        chunk_size = kwargs.pop("chunk_size", DEFAULT_CHUNK_SIZE)
        _check_chunk_size(chunk_size)
        if not is_path:
            _check_file(file, "read")
        decryptor = StreamDecryptor(**kwargs)
        if is_path:
            return DecryptingReader(
                _open_path(file, "rb"), decryptor, close_fileobj=True, chunk_size=chunk_size  # type: ignore[arg-type]
            )
        return DecryptingReader(file, decryptor, chunk_size=chunk_size)  # type: ignore[arg-type]
    if mode == "wb":
        if not is_path:
            _check_file(file, "write")
        encryptor = StreamEncryptor(**kwargs)
        if is_path:
            return EncryptingWriter(_open_path(file, "wb"), encryptor, close_fileobj=True)  # type: ignore[arg-type]
        return EncryptingWriter(file, encryptor)  # type: ignore[arg-type]
    raise BadArgumentError("mode must be 'rb' (decrypt) or 'wb' (encrypt), not %r" % (mode,))


def encrypting_reader(
    file: Union[PathType, ReadableFile],
    *,
    keyring: "Optional[Keyring]" = None,
    materials_manager: "Optional[MaterialsManager]" = None,
    encryption_context: Optional[Mapping[str, str]] = None,
    algorithm_suite: "Optional[_SuiteArg]" = None,
    frame_length: int = 4096,
    commitment_policy: "Optional[_PolicyArg]" = None,
    max_encrypted_data_keys: Optional[int] = None,
    plaintext_length: Optional[int] = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> EncryptingReader:
    """An :class:`EncryptingReader` over ``file`` (a path, or a binary file
    object to read plaintext from): reading it gives the message. The
    keyword arguments are those of :func:`encrypt`, plus
    ``plaintext_length`` (see :class:`StreamEncryptor`) and ``chunk_size``.
    A file opened here from a path is closed with the reader.

    Example::

        with kms_envelope.encrypting_reader("data", keyring=keyring) as message:
            s3.upload_fileobj(message, "bucket", "data.enc")
    """
    _check_chunk_size(chunk_size)
    is_path = isinstance(file, (str, bytes, os.PathLike))
    if not is_path:
        _check_file(file, "read")
    # A path is opened before the keyring runs (reading has no side effects):
    # a file that is missing costs no data key.
    source: ReadableFile = _open_path(file, "rb") if is_path else file  # type: ignore[arg-type,assignment]
    try:
        encryptor = StreamEncryptor(
            keyring=keyring,
            materials_manager=materials_manager,
            encryption_context=encryption_context,
            algorithm_suite=algorithm_suite,
            frame_length=frame_length,
            commitment_policy=commitment_policy,
            max_encrypted_data_keys=max_encrypted_data_keys,
            plaintext_length=plaintext_length,
        )
    except BaseException:
        if is_path:
            source.close()  # type: ignore[attr-defined]
        raise
    return EncryptingReader(source, encryptor, close_fileobj=is_path, chunk_size=chunk_size)
