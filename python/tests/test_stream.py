"""File-like streaming: release rules, failures, and a 1 GiB stream in bounded memory."""
import errno
import gc
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

import pytest

import kms_envelope
from conftest import pattern
from kms_envelope import AlgorithmSuite

UNSIGNED = AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
SIGNED = AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384


class CountingReader(io.RawIOBase):
    """A source that records how much has been read from it."""

    def __init__(self, data: bytes) -> None:
        self.src = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: Optional[int] = -1) -> bytes:
        out = self.src.read(size)
        self.consumed += len(out)
        return out


def test_release_rules(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    data = pattern(400_000)
    for suite in (UNSIGNED, SIGNED):
        ct = kms_envelope.encrypt(data, keyring=aes_keyring, algorithm_suite=suite, frame_length=4096)
        for release in ("after-signature", "frames"):
            src = CountingReader(ct)
            with kms_envelope.open(src, "rb", keyring=aes_keyring, signed_release=release, chunk_size=8192) as r:
                first = r.read(100)
                assert first == data[:100]
                held_back = suite is SIGNED and release == "after-signature"
                assert (src.consumed == len(ct)) == held_back
                assert r.read() == data[100:]
                assert r.read() == b"" and r.read(10) == b""


def test_failure_after_released_frames(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    data = pattern(100_000)
    ct = bytearray(kms_envelope.encrypt(data, keyring=aes_keyring, algorithm_suite=UNSIGNED))
    ct[-1] ^= 1  # the final frame's tag
    with kms_envelope.open(io.BytesIO(bytes(ct)), "rb", keyring=aes_keyring, chunk_size=4096) as r:
        assert r.read(4096) == data[:4096]  # unsigned: frames are released as they verify
        with pytest.raises(kms_envelope.AuthenticationError):
            r.read()
        with pytest.raises(kms_envelope.BadArgumentError):  # failed earlier
            r.read()


def test_signed_buffer_limit(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(bytes(100_000), keyring=aes_keyring, algorithm_suite=SIGNED)
    with pytest.raises(kms_envelope.PolicyViolationError):
        kms_envelope.open(io.BytesIO(ct), "rb", keyring=aes_keyring, max_buffered_plaintext=50_000).read()
    assert kms_envelope.open(io.BytesIO(ct), "rb", keyring=aes_keyring, max_buffered_plaintext=50_000, signed_release="frames").read() == bytes(100_000)


def test_a_stream_interrupted_in_a_keyring_cannot_go_on(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # Ctrl-C in a multi-keyring's first member while the second unwraps the
    # key: the call raises the interrupt, and the core took the input. Going
    # on would give a message with a piece left out; it must fail instead.
    pt = pattern(10240)
    ct = kms_envelope.encrypt(pt, keyring=aes_keyring, algorithm_suite=UNSIGNED, frame_length=1024)

    class InterruptsOnce:
        fired = False

        def on_encrypt(self, materials: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
            return aes_keyring.on_encrypt(materials)

        def on_decrypt(
            self, materials: kms_envelope.DecryptionMaterials, edks: Sequence[kms_envelope.EncryptedDataKey]
        ) -> kms_envelope.DecryptionMaterials:
            if not self.fired:
                self.fired = True
                raise KeyboardInterrupt
            raise kms_envelope.NoKeyUnwrappedError("not mine")

    d = kms_envelope.StreamDecryptor(keyring=kms_envelope.MultiKeyring(generator=InterruptsOnce(), children=[aes_keyring]))
    with pytest.raises(KeyboardInterrupt):
        d.update(ct[:4000])
    for again in (lambda: d.update(ct[4000:]), d.finish):
        with pytest.raises(kms_envelope.BadArgumentError, match="interrupted"):
            again()
    assert not d.is_done
    # the same through a reader: a retried read fails, it never ends short
    multi = kms_envelope.MultiKeyring(generator=InterruptsOnce(), children=[aes_keyring])
    reader = kms_envelope.open(io.BytesIO(ct), "rb", keyring=multi, chunk_size=4000)
    with pytest.raises(KeyboardInterrupt):
        reader.read()
    with pytest.raises(kms_envelope.BadArgumentError):
        reader.read()


def test_reading_lines_from_a_decrypting_reader(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    lines = [b"row %d,%s\n" % (i, b"x" * (i % 97)) for i in range(3000)] + [b"last, no newline"]
    ct = kms_envelope.encrypt(b"".join(lines), keyring=aes_keyring, frame_length=1000)
    for chunk_size in (7, 4096, 1 << 20):
        with kms_envelope.open(io.BytesIO(ct), "rb", keyring=aes_keyring, chunk_size=chunk_size) as src:
            assert list(src) == lines
        with kms_envelope.open(io.BytesIO(ct), "rb", keyring=aes_keyring, chunk_size=chunk_size) as src:
            assert src.readline(3) == b"row"
            assert src.readline(0) == b""
            assert src.readline(None) == b" 0,\n"
            assert src.readline(-1) == lines[1]
            assert src.read(4) == b"row "
            assert src.readlines() == [lines[2][4:]] + lines[3:]
            assert src.readline() == b""


@pytest.mark.parametrize("returned", [0, False, "", "text", 3])
def test_a_source_whose_read_returns_no_bytes_is_refused(
    aes_keyring: kms_envelope.RawAesKeyring, returned: object
) -> None:
    # A falsy value other than b"" would have passed for the end of the file.
    class Odd(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: Optional[int] = -1) -> Any:
            self.calls += 1
            return b"first part, " if self.calls == 1 else returned

    reader = kms_envelope.encrypting_reader(Odd(), keyring=aes_keyring)
    with pytest.raises(TypeError, match="must return bytes"):
        reader.read()


def test_encrypting_reader_opens_its_path_before_the_keyring_runs(tmp_path: Path) -> None:
    calls: List[str] = []

    class Counting:
        def on_encrypt(self, materials: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
            calls.append("encrypt")
            raise AssertionError("the keyring must not run")

        def on_decrypt(self, materials: Any, edks: Any) -> Any:
            raise AssertionError("unused")

    with pytest.raises(FileNotFoundError):
        kms_envelope.encrypting_reader(tmp_path / "missing", keyring=Counting())
    assert calls == []
    with pytest.raises(kms_envelope.BadArgumentError, match="chunk_size"):
        kms_envelope.encrypting_reader(tmp_path / "missing", keyring=Counting(), chunk_size=2**70)


def test_writer_abort_on_exception(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    buf = io.BytesIO()
    with pytest.raises(RuntimeError):
        with kms_envelope.open(buf, "wb", keyring=aes_keyring) as w:
            w.write(b"partial data" * 1000)
            raise RuntimeError("producer failed")
    assert w.closed and not buf.closed
    with pytest.raises(kms_envelope.MalformedMessageError):
        kms_envelope.decrypt(buf.getvalue(), keyring=aes_keyring)
    with pytest.raises(ValueError):
        w.write(b"more")


def test_closed_streams_behave_like_closed_io_files(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # As io.BytesIO and io.FileIO: a closed file refuses a with block,
    # flush(), readable() and writable() with ValueError.
    message = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    writer = kms_envelope.open(io.BytesIO(), "wb", keyring=aes_keyring)
    readers: List[Any] = [
        kms_envelope.open(io.BytesIO(message), "rb", keyring=aes_keyring),
        kms_envelope.encrypting_reader(io.BytesIO(b"x"), keyring=aes_keyring),
    ]
    assert writer.writable() and all(r.readable() for r in readers)
    for f in [writer, *readers]:
        f.close()
        f.close()  # a second close does nothing
        with pytest.raises(ValueError, match="closed file"):
            with f:
                pass
        with pytest.raises(ValueError, match="closed file"):
            f.flush()
    with pytest.raises(ValueError, match="closed file"):
        writer.writable()
    for r in readers:
        with pytest.raises(ValueError, match="closed file"):
            r.readable()


def test_a_write_from_inside_the_files_own_write_is_refused(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # A reentrant write (from the file's write(), or a signal handler) put
    # its frames inside the outer write's: refused, as io.BufferedWriter does.
    refused: List[BaseException] = []

    class Reentrant(io.BytesIO):
        writer: Any = None

        def write(self, data: Any) -> int:
            if self.writer is not None and not refused:
                try:
                    self.writer.write(b"x" * 5000)
                except RuntimeError as e:
                    refused.append(e)
            return super().write(data)

    out = Reentrant()
    w = kms_envelope.open(out, "wb", keyring=aes_keyring, algorithm_suite=0x0478, frame_length=100)
    out.writer = w
    w.write(b"a" * 1000)
    w.close()
    assert refused and "reentrant" in str(refused[0])
    assert kms_envelope.decrypt(out.getvalue(), keyring=aes_keyring).plaintext == b"a" * 1000


def test_a_message_passed_to_open_as_bytes_says_so(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    message = kms_envelope.encrypt(b"x", keyring=aes_keyring)
    assert b"\0" in message
    with pytest.raises(kms_envelope.BadArgumentError, match="io.BytesIO"):
        kms_envelope.open(message, "rb", keyring=aes_keyring)


def test_writer_dropped_unclosed_leaves_the_message_incomplete(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    buf = io.BytesIO()
    w = kms_envelope.open(buf, "wb", keyring=aes_keyring, frame_length=4096)
    w.write(pattern(10_000))
    with pytest.warns(ResourceWarning, match="not closed"):
        del w
        gc.collect()
    cut = buf.getvalue()
    assert len(cut) > 8192  # two frames went out before the drop
    with pytest.raises(kms_envelope.MalformedMessageError):
        kms_envelope.decrypt(cut, keyring=aes_keyring)
    # a finished writer dropped without close() only closes quietly
    done = io.BytesIO()
    w = kms_envelope.open(done, "wb", keyring=aes_keyring)
    w.write(b"whole")
    w.close()
    del w
    assert kms_envelope.decrypt(done.getvalue(), keyring=aes_keyring).plaintext == b"whole"


def test_a_keyring_calling_back_into_its_own_decryptor_gets_an_error_not_a_deadlock(
    aes_keyring: kms_envelope.RawAesKeyring,
) -> None:
    ct = kms_envelope.encrypt(b"secret", keyring=aes_keyring, algorithm_suite=UNSIGNED)
    seen: List[str] = []
    calls: List[Callable[[kms_envelope.StreamDecryptor], object]] = [
        lambda d: d.update(b""),
        lambda d: d.header,
        lambda d: d.is_done,
        lambda d: d.finish(),
    ]

    class Reentrant:
        decryptor: Optional[kms_envelope.StreamDecryptor] = None

        def on_encrypt(self, materials: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
            return aes_keyring.on_encrypt(materials)

        def on_decrypt(self, materials: kms_envelope.DecryptionMaterials, edks: Sequence[kms_envelope.EncryptedDataKey]) -> kms_envelope.DecryptionMaterials:
            assert self.decryptor is not None
            for call in calls:
                try:
                    call(self.decryptor)
                except kms_envelope.BadArgumentError as e:
                    seen.append(str(e))
            return aes_keyring.on_decrypt(materials, edks)

    keyring = Reentrant()
    dec = kms_envelope.StreamDecryptor(keyring=keyring)
    keyring.decryptor = dec
    assert dec.update(ct) == b"secret"
    dec.finish()
    assert len(seen) == 4 and all("busy" in m and "callback" in m for m in seen)
    # uncaught, the error fails the decryption like any keyring exception
    class Careless(Reentrant):
        def on_decrypt(self, materials: kms_envelope.DecryptionMaterials, edks: Sequence[kms_envelope.EncryptedDataKey]) -> kms_envelope.DecryptionMaterials:
            assert self.decryptor is not None
            self.decryptor.update(b"")
            return aes_keyring.on_decrypt(materials, edks)

    careless = Careless()
    dec = kms_envelope.StreamDecryptor(keyring=careless)
    careless.decryptor = dec
    with pytest.raises(kms_envelope.Error) as info:
        dec.update(ct)
    assert isinstance(info.value.__cause__, kms_envelope.BadArgumentError)


class ShortWriter:
    """A sink whose write() reports a fixed count, whatever it was given."""

    def __init__(self, count: object) -> None:
        self.count = count

    def write(self, data: bytes) -> Any:
        return self.count


class WouldBlock(io.RawIOBase):
    """A raw file in non-blocking mode that is never ready."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> None:
        return None


@pytest.mark.parametrize("count", [0, -1, 10**9, "3", 2.5])
def test_writer_refuses_a_sink_that_does_not_take_the_bytes(aes_keyring: kms_envelope.RawAesKeyring, count: object) -> None:
    w = kms_envelope.open(ShortWriter(count), "wb", keyring=aes_keyring)
    with pytest.raises(kms_envelope.IoError, match="returned"):
        w.write(pattern(10_000))
        w.close()
    # the encryptor consumed that plaintext: the writer aborted rather than
    # let a retry leave a gap in the message
    assert w.closed
    with pytest.raises(ValueError):
        w.write(b"retry")
    w.abort()
    w = kms_envelope.open(WouldBlock(), "wb", keyring=aes_keyring)
    with pytest.raises(BlockingIOError) as info:
        w.write(pattern(10_000))
        w.close()
    # Both the built-in class and this package's, as for any failing file.
    assert isinstance(info.value, kms_envelope.IoError) and info.value.errno == errno.EAGAIN
    w.abort()


class NothingYet(io.RawIOBase):
    """A non-blocking raw source with no data yet."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> None:
        return None


def test_a_non_blocking_source_without_data_is_an_io_error(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    for mode in ("rb", "rb-encrypt"):
        with pytest.raises(BlockingIOError) as info:
            if mode == "rb":
                kms_envelope.open(NothingYet(), "rb", keyring=aes_keyring).read()
            else:
                kms_envelope.encrypting_reader(NothingYet(), keyring=aes_keyring).read()
        assert isinstance(info.value, kms_envelope.IoError) and info.value.errno == errno.EAGAIN, mode


class TrickleSink:
    """A sink that takes ``bytes`` only, at most 1000 of them per write()."""

    def __init__(self) -> None:
        self.parts: List[bytes] = []

    def write(self, data: bytes) -> int:
        assert type(data) is bytes, type(data)
        self.parts.append(data[:1000])
        return len(self.parts[-1])


def test_writer_hands_its_sink_bytes_through_short_writes(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    sink = TrickleSink()
    # Suite and policy as strings, as encrypt() takes them (and the types say so).
    with kms_envelope.open(
        sink, "wb", keyring=aes_keyring, algorithm_suite="0x0478",
        commitment_policy="REQUIRE_ENCRYPT_REQUIRE_DECRYPT", frame_length=10_000,
    ) as w:
        w.write(pattern(50_000))
    message = b"".join(sink.parts)
    assert len(sink.parts) > 50
    assert kms_envelope.decrypt(message, keyring=aes_keyring).plaintext == pattern(50_000)
    assert kms_envelope.inspect(message).algorithm_suite == AlgorithmSuite(0x0478)


def test_writer_reader_protocol(aes_keyring: kms_envelope.RawAesKeyring, tmp_path: Path) -> None:
    buf = io.BytesIO()
    w = kms_envelope.open(buf, "wb", keyring=aes_keyring, encryption_context={"a": "b"})
    assert w.writable() and not w.readable() and not w.seekable()
    assert w.write(memoryview(b"abc")) == 3
    assert w.write(bytearray(b"def")) == 3
    w.flush()
    w.close()
    w.close()  # idempotent
    r = kms_envelope.open(io.BytesIO(buf.getvalue()), "rb", keyring=aes_keyring, encryption_context={"a": "b"})
    assert r.readable() and not r.writable()
    assert r.header is None and r.algorithm_suite is None and r.encryption_context is None
    target = bytearray(4)
    assert r.readinto(target) == 4 and target == b"abcd"
    assert r.header is not None and r.encryption_context is not None and r.encryption_context["a"] == "b"
    assert r.read(0) == b""
    assert r.readall() == b"ef"
    assert r.readinto(target) == 0
    r.close()
    with pytest.raises(ValueError):
        r.read()
    # line iteration through a buffered wrapper
    text = b"line 1\nline 2\nline 3\n"
    path = tmp_path / "lines.enc"
    with kms_envelope.open(path, "wb", keyring=aes_keyring) as w2:
        w2.write(text)
    with io.BufferedReader(kms_envelope.open(str(path), "rb", keyring=aes_keyring)) as lines:
        assert list(lines) == [b"line 1\n", b"line 2\n", b"line 3\n"]


def test_keyring_failure_leaves_existing_file(aes_keyring: kms_envelope.RawAesKeyring, tmp_path: Path) -> None:
    path = tmp_path / "keep"
    path.write_bytes(b"precious")

    class Failing:
        def on_encrypt(self, m: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
            raise RuntimeError("no key for you")

        def on_decrypt(self, m: kms_envelope.DecryptionMaterials, e: object) -> kms_envelope.DecryptionMaterials:
            raise RuntimeError("no key for you")

    with pytest.raises(kms_envelope.KmsError):
        kms_envelope.open(path, "wb", keyring=Failing())
    assert path.read_bytes() == b"precious"


BIG_STREAM = textwrap.dedent(
    """
    import hashlib, json, os, resource, sys
    import kms_envelope

    path, suite, release = sys.argv[1], int(sys.argv[2], 16), sys.argv[3]
    keyring = kms_envelope.RawAesKeyring("ns", "k", bytes(range(32)))
    block = bytearray(os.urandom(1 << 20))
    # warm up: the same code paths on a small stream
    for _ in range(2):
        with kms_envelope.open(path, "wb", keyring=keyring, algorithm_suite=suite) as w:
            w.write(block)
        with kms_envelope.open(path, "rb", keyring=keyring, signed_release=release) as r:
            r.read()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wrote = hashlib.sha256()
    with kms_envelope.open(path, "wb", keyring=keyring, algorithm_suite=suite) as w:
        for i in range(1024):
            block[:8] = i.to_bytes(8, "big")
            w.write(block)
            wrote.update(block)
    size = os.path.getsize(path)
    read = hashlib.sha256()
    total = 0
    with kms_envelope.open(path, "rb", keyring=keyring, signed_release=release) as r:
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            total += len(piece)
            read.update(piece)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    os.unlink(path)
    print(json.dumps({"base_kib": base, "peak_kib": peak, "plaintext": total, "ciphertext": size,
                      "same": wrote.digest() == read.digest()}))
    """
)


@pytest.mark.parametrize(
    "suite,release", [("0478", "after-signature"), ("0578", "frames")], ids=["0478", "0578-frames"]
)
def test_one_gib_stream_bounded_memory(suite: str, release: str, tmp_path: Path) -> None:
    script = tmp_path / "big.py"
    script.write_text(BIG_STREAM)
    # ru_maxrss survives exec: a child of this (large) pytest process would
    # start with pytest's peak. A small intermediate process gives the
    # measuring process a clean peak of its own.
    launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", launcher, sys.executable, str(script), str(tmp_path / "big.enc"), suite, release],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    stats = json.loads(out.stdout)
    assert stats["plaintext"] == 1 << 30 and stats["same"]
    assert stats["ciphertext"] > 1 << 30
    growth_mib = (stats["peak_kib"] - stats["base_kib"]) / 1024
    print("1 GiB %s stream: peak RSS %.1f MiB, growth %.1f MiB" % (suite, stats["peak_kib"] / 1024, growth_mib))
    assert growth_mib < 100, stats


def test_readinto_a_read_only_buffer_fails_without_losing_plaintext(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    data = pattern(1024)
    message = kms_envelope.encrypt(data, keyring=aes_keyring, algorithm_suite=UNSIGNED)
    with kms_envelope.open(io.BytesIO(message), "rb", keyring=aes_keyring) as reader:
        with pytest.raises(TypeError, match="writable"):
            reader.readinto(b"0123456789")
        # Nothing was taken from the stream by the failed call.
        assert reader.read() == data


def test_max_frame_size_bounds_what_a_stream_holds(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # The limit is on what a frame holds: a short message written with a
    # frame length past the default 64 MiB streams (its one frame is short).
    big_frames = kms_envelope.encrypt(b"abc", keyring=aes_keyring, frame_length=(64 << 20) + 1)
    with kms_envelope.open(io.BytesIO(big_frames), "rb", keyring=aes_keyring) as reader:
        assert reader.read() == b"abc"
    # Frames of 8 KiB: refused under a 4 KiB limit, read under an 8 KiB one.
    message = kms_envelope.encrypt(pattern(20_000), keyring=aes_keyring, frame_length=8192)
    with pytest.raises(kms_envelope.PolicyViolationError, match="streaming limit"):
        with kms_envelope.open(io.BytesIO(message), "rb", keyring=aes_keyring, max_frame_size=4096) as reader:
            reader.read()
    with kms_envelope.open(io.BytesIO(message), "rb", keyring=aes_keyring, max_frame_size=8192) as reader:
        assert reader.read() == pattern(20_000)
    decryptor = kms_envelope.StreamDecryptor(keyring=aes_keyring, max_frame_size=1024)
    with pytest.raises(kms_envelope.PolicyViolationError):
        decryptor.update(message)
    with pytest.raises(kms_envelope.BadArgumentError, match="max_frame_size"):
        kms_envelope.StreamDecryptor(keyring=aes_keyring, max_frame_size=-1)


def test_open_names_itself_for_a_keyword_it_does_not_take(
    aes_keyring: kms_envelope.RawAesKeyring, tmp_path: Path
) -> None:
    target = tmp_path / "never-made.enc"
    with pytest.raises(TypeError, match=r"^open\(\) got an unexpected keyword argument 'bogus' for mode 'wb'$"):
        kms_envelope.open(target, "wb", keyring=aes_keyring, bogus=1)
    with pytest.raises(TypeError, match=r"'frame_length' for mode 'rb' \(it is for mode 'wb'\)"):
        kms_envelope.open(io.BytesIO(b""), "rb", keyring=aes_keyring, frame_length=4096)
    with pytest.raises(TypeError, match=r"'chunk_size' for mode 'wb' \(it is for mode 'rb'\)"):
        kms_envelope.open(io.BytesIO(), "wb", keyring=aes_keyring, chunk_size=1)
    assert not target.exists()
    # A mode that is no str at all is the library's error, not a TypeError
    # from looking it up.
    for mode in (["rb"], None, b"rb", "r"):
        with pytest.raises(kms_envelope.BadArgumentError, match="mode must be 'rb'"):
            kms_envelope.open(io.BytesIO(), mode, keyring=aes_keyring)  # type: ignore[arg-type]


def test_open_takes_a_mode_held_in_a_str(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # Type-checked by mypy --strict too: a mode that is a plain str (not a
    # literal) selects the general signature.
    sink = io.BytesIO()
    mode: str = "wb"
    writer = kms_envelope.open(sink, mode, keyring=aes_keyring)
    assert isinstance(writer, kms_envelope.EncryptingWriter)
    with writer:
        writer.write(b"data")
    mode = "rb"
    reader = kms_envelope.open(io.BytesIO(sink.getvalue()), mode, keyring=aes_keyring)
    assert isinstance(reader, kms_envelope.DecryptingReader)
    with reader:
        assert reader.read() == b"data"


@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 20])
def test_read_header_checks_the_context_before_any_plaintext(aes_keyring: kms_envelope.RawAesKeyring, chunk_size: int) -> None:
    plaintext = pattern(50_000)
    for suite in (AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384):
        ct = kms_envelope.encrypt(plaintext, keyring=aes_keyring, encryption_context={"tenant": "acme"}, algorithm_suite=suite, frame_length=1024)
        reader = kms_envelope.open(io.BytesIO(ct), "rb", keyring=aes_keyring, chunk_size=chunk_size)
        header = reader.read_header()
        assert header.encryption_context["tenant"] == "acme" and header.algorithm_suite == suite
        # Asked again, it reads nothing more.
        again = reader.read_header()
        assert again.message_id == header.message_id and again.encryption_context == header.encryption_context
        # Whatever the header's reads released is read next, in order.
        assert reader.read(10) == plaintext[:10]
        assert reader.read() == plaintext[10:]
    # A stream cut inside the header, or empty: malformed, never a header
    for cut in (b"", ct[:30]):
        reader = kms_envelope.open(io.BytesIO(cut), "rb", keyring=aes_keyring, chunk_size=chunk_size)
        with pytest.raises(kms_envelope.MalformedMessageError):
            reader.read_header()
    reader.close()
    with pytest.raises(ValueError):
        reader.read_header()


@pytest.mark.parametrize("chunk_size", [1, 1000, 1 << 20])
def test_encrypting_reader_gives_a_message_to_code_that_pulls(aes_keyring: kms_envelope.RawAesKeyring, chunk_size: int, tmp_path: Path) -> None:
    plaintext = pattern(70_000)
    for suite in (AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384):
        with kms_envelope.encrypting_reader(
            io.BytesIO(plaintext), keyring=aes_keyring, algorithm_suite=suite, frame_length=1024,
            encryption_context={"tenant": "acme"}, chunk_size=chunk_size,
        ) as reader:
            assert reader.readable() and not reader.writable() and reader.algorithm_suite == suite
            sink = io.BytesIO()
            shutil.copyfileobj(reader, sink, 777)
            assert reader.read() == b"" and reader.read(5) == b""
        message = sink.getvalue()
        result = kms_envelope.decrypt(message, keyring=aes_keyring, encryption_context={"tenant": "acme"})
        assert result.plaintext == plaintext and result.algorithm_suite == suite
    # From a path, read into a buffer; the file is closed with the reader.
    path = tmp_path / "plain"
    path.write_bytes(plaintext)
    reader = kms_envelope.encrypting_reader(path, keyring=aes_keyring, chunk_size=chunk_size)
    target = bytearray(len(plaintext) * 2)
    got = 0
    while True:
        n = reader.readinto(memoryview(target)[got:])
        if n == 0:
            break
        got += n
    underlying = reader._file  # noqa: SLF001 - checking the file was closed
    reader.close()
    assert underlying.closed  # type: ignore[attr-defined]
    assert kms_envelope.decrypt(bytes(target[:got]), keyring=aes_keyring).plaintext == plaintext
    with pytest.raises(ValueError):
        reader.read()
    # A declared length the source does not match fails at the end.
    short = kms_envelope.encrypting_reader(io.BytesIO(plaintext[:10]), keyring=aes_keyring, plaintext_length=11)
    with pytest.raises(kms_envelope.BadArgumentError):
        short.read()
    # A source that fails: IoError with its errno.
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            raise OSError(5, "disk on fire")

    with pytest.raises(kms_envelope.IoError, match="disk on fire"):
        kms_envelope.encrypting_reader(Broken(), keyring=aes_keyring).read(10)


def test_a_failed_read_header_never_turns_into_the_end_of_a_message(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    ct = kms_envelope.encrypt(pattern(5000), keyring=aes_keyring, frame_length=1024)
    tampered = bytearray(ct)
    tampered[-200] ^= 1
    # the last one fails at its end, after the header authenticated
    for data in (b"", ct[:30], bytes(tampered), ct[:-500]):
        reader = kms_envelope.open(io.BytesIO(data), "rb", keyring=aes_keyring)
        with pytest.raises(kms_envelope.Error):
            reader.read() if len(data) > 30 else reader.read_header()
        with pytest.raises(kms_envelope.Error):
            reader.read_header()
        # read() goes on raising: b"" would say the message authenticated.
        for _ in range(2):
            with pytest.raises(kms_envelope.Error):
                reader.read()
        # The header that authenticated still names the message.
        assert (reader.header is not None) == (len(data) > 30), data[:8]


def test_a_bad_chunk_size_is_refused_before_a_path_is_opened(aes_keyring: kms_envelope.RawAesKeyring, tmp_path: Path) -> None:
    import warnings

    path = tmp_path / "plain"
    path.write_bytes(b"data")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for chunk_size in (0, -1, 1.5, True):
            with pytest.raises(kms_envelope.BadArgumentError, match="chunk_size"):
                kms_envelope.encrypting_reader(path, keyring=aes_keyring, chunk_size=chunk_size)  # type: ignore[arg-type]
            with pytest.raises(kms_envelope.BadArgumentError, match="chunk_size"):
                kms_envelope.open(path, "rb", keyring=aes_keyring, chunk_size=chunk_size)
        gc.collect()


def test_encryptors_report_the_header_and_whole_context(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # client-apis/encrypt.md: encrypt outputs the message, its encryption
    # context and its suite.
    cmm = kms_envelope.RequiredEncryptionContextMaterialsManager(["tenant"], keyring=aes_keyring)
    context = {"tenant": "acme", "purpose": "test"}
    enc = kms_envelope.StreamEncryptor(materials_manager=cmm, encryption_context=context)
    message = enc.update(b"data") + enc.finish()
    parsed = kms_envelope.inspect(message)
    assert enc.header.message_id == parsed.message_id
    assert enc.header.encryption_context == parsed.encryption_context and "tenant" not in parsed.encryption_context
    whole = enc.encryption_context
    assert whole["tenant"] == "acme" and whole["purpose"] == "test" and "aws-crypto-public-key" in whole
    assert enc.algorithm_suite == parsed.algorithm_suite
    with kms_envelope.encrypting_reader(io.BytesIO(b"data"), materials_manager=cmm, encryption_context=context) as reader:
        assert reader.encryption_context["tenant"] == "acme"
        message = reader.read()
        assert kms_envelope.inspect(message).message_id == reader.header.message_id
    out = io.BytesIO()
    with kms_envelope.open(out, "wb", materials_manager=cmm, encryption_context=context) as writer:
        writer.write(b"data")
        header = writer.header
        assert writer.encryption_context["tenant"] == "acme"
    assert kms_envelope.inspect(out.getvalue()).message_id == header.message_id


def test_a_bad_read_size_changes_nothing(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # read(2.5) raises TypeError before anything is taken: the plaintext is
    # all still there, and the end is never reported early
    data = bytes(range(100))
    ct = kms_envelope.encrypt(data, keyring=aes_keyring, algorithm_suite=AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
    for reader in (
        kms_envelope.open(io.BytesIO(ct), "rb", keyring=aes_keyring),
        kms_envelope.encrypting_reader(io.BytesIO(data), keyring=aes_keyring),
    ):
        with reader:
            for bad in (2.5, "3", b"3"):
                with pytest.raises(TypeError):
                    reader.read(bad)  # type: ignore[arg-type]
            out = reader.read(10) + reader.read()
        if isinstance(reader, kms_envelope.DecryptingReader):
            assert out == data
        else:
            assert kms_envelope.decrypt(out, keyring=aes_keyring).plaintext == data


def test_failures_of_the_underlying_file_are_io_errors(aes_keyring: kms_envelope.RawAesKeyring, tmp_path: Path) -> None:
    # a full disk shows on flush and close (the file's own buffer), as
    # IoError, keeping the errno; a missing path is an IoError and still a
    # FileNotFoundError
    if os.path.exists("/dev/full"):
        for use in ("close", "flush"):
            full = open("/dev/full", "wb")
            w = kms_envelope.open(full, "wb", keyring=aes_keyring)
            w.write(b"x" * 10)
            with pytest.raises(kms_envelope.IoError) as info:
                getattr(w, use)()
            assert info.value.errno == errno.ENOSPC and "No space left" in str(info.value)
            try:
                w.abort()  # after a failed flush() it flushes again, and fails again
            except kms_envelope.IoError:
                pass
            with pytest.raises(OSError):
                full.close()  # its buffer still cannot be written; closed all the same
        with pytest.raises(kms_envelope.IoError) as info:
            with kms_envelope.open("/dev/full", "wb", keyring=aes_keyring) as w:
                w.write(b"x")
    missing = tmp_path / "no" / "such.enc"
    for call in (
        lambda: kms_envelope.open(missing, "rb", keyring=aes_keyring),
        lambda: kms_envelope.open(missing, "wb", keyring=aes_keyring),
        lambda: kms_envelope.encrypting_reader(missing, keyring=aes_keyring),
    ):
        with pytest.raises(kms_envelope.IoError) as info2:
            call()
        assert isinstance(info2.value, FileNotFoundError) and isinstance(info2.value, kms_envelope.Error)
        assert info2.value.errno == errno.ENOENT and info2.value.filename == str(missing)
        assert str(info2.value) == "[Errno 2] opening the file failed: No such file or directory: %r" % str(missing)


def test_a_file_descriptor_is_refused_before_the_keyring_runs(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    calls: List[str] = []

    class Watching:
        def on_encrypt(self, materials: kms_envelope.EncryptionMaterials) -> kms_envelope.EncryptionMaterials:
            calls.append("encrypt")
            return aes_keyring.on_encrypt(materials)

        def on_decrypt(
            self, materials: kms_envelope.DecryptionMaterials, edks: Sequence[kms_envelope.EncryptedDataKey]
        ) -> kms_envelope.DecryptionMaterials:
            return aes_keyring.on_decrypt(materials, edks)

    for mode in ("rb", "wb"):
        with pytest.raises(TypeError, match="binary file object"):
            kms_envelope.open(3, mode, keyring=Watching())  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="binary file object"):
        kms_envelope.encrypting_reader(3, keyring=Watching())  # type: ignore[arg-type]
    assert calls == []


def test_io_errors_pickle_and_keep_what_the_built_in_error_said(aes_keyring: kms_envelope.RawAesKeyring, tmp_path: Path) -> None:
    import pickle

    missing = tmp_path / "gone.enc"
    with pytest.raises(FileNotFoundError) as info:
        kms_envelope.open(missing, "rb", keyring=aes_keyring)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value) and isinstance(copy, kms_envelope.IoError)
    assert (copy.errno, copy.filename, str(copy)) == (info.value.errno, info.value.filename, str(info.value))

    class Blocking(io.RawIOBase):
        """A sink whose first flush() would block with 3 bytes written."""

        blocked = False

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            return len(memoryview(b))

        def flush(self) -> None:
            if not self.blocked:
                self.blocked = True
                raise BlockingIOError(errno.EAGAIN, "would block", 3)

    w = kms_envelope.open(Blocking(), "wb", keyring=aes_keyring)
    with pytest.raises(BlockingIOError) as info2:
        w.flush()
    assert isinstance(info2.value, kms_envelope.IoError) and info2.value.characters_written == 3
    copy2 = pickle.loads(pickle.dumps(info2.value))
    assert isinstance(copy2, BlockingIOError) and copy2.characters_written == 3
    w.abort()


def test_input_after_finish_is_refused_and_the_message_stays_whole(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # As in the C API: a finished stream refuses more input with
    # BadArgumentError and is left as it was; finish() again is a no-op.
    enc = kms_envelope.StreamEncryptor(keyring=aes_keyring)
    message = enc.update(b"whole") + enc.finish()
    with pytest.raises(kms_envelope.BadArgumentError, match="already finished"):
        enc.update(b"more")
    assert enc.update(b"") == b"" and enc.finish() == b""
    dec = kms_envelope.StreamDecryptor(keyring=aes_keyring)
    assert dec.update(message) == b"whole"
    dec.finish()
    with pytest.raises(kms_envelope.BadArgumentError, match="already finished"):
        dec.update(b"more")
    assert dec.update(b"") == b""
    dec.finish()
    assert dec.is_done and dec.header is not None
    # Two threads finishing at once: one gets the end of the message, the
    # other b"", and the stream stays finished, not failed.
    for _ in range(3):
        racing = kms_envelope.StreamEncryptor(keyring=aes_keyring, frame_length=1 << 24)
        racing.update(bytes((1 << 24) - 1))
        barrier = threading.Barrier(2)
        results: List[Any] = []

        def finish(racing: kms_envelope.StreamEncryptor = racing, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                results.append(racing.finish())
            except kms_envelope.Error as e:
                results.append(e)

        threads = [threading.Thread(target=finish) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(len(r) if isinstance(r, bytes) else -1 for r in results)[0] == 0, results
        assert racing.finish() == b"" and racing.update(b"") == b""
    # Bytes after the message's end, before finish(): part of the input,
    # so the message is malformed, as in one-shot decryption.
    trailing = kms_envelope.StreamDecryptor(keyring=aes_keyring)
    with pytest.raises(kms_envelope.MalformedMessageError, match="follow the end"):
        trailing.update(message + b"x")
