"""Concurrent use from 8 threads, and the GIL released while working."""
import functools
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence

import kms_envelope
from conftest import pattern
from kms_envelope import AlgorithmSuite, DecryptionMaterials, EncryptedDataKey, EncryptionMaterials

THREADS = 8


class CountingKeyring:
    """A Python keyring delegating to a native one, counting its calls."""

    def __init__(self, inner: kms_envelope.Keyring) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.calls = 0

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        with self.lock:
            self.calls += 1
        return self.inner.on_encrypt(materials)

    def on_decrypt(self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]) -> DecryptionMaterials:
        with self.lock:
            self.calls += 1
        return self.inner.on_decrypt(materials, edks)


def test_eight_threads_share_keyrings(aes_keyring: kms_envelope.RawAesKeyring, rsa_keyring: kms_envelope.RawRsaKeyring) -> None:
    custom = CountingKeyring(aes_keyring)
    multi = kms_envelope.MultiKeyring(aes_keyring, [rsa_keyring])
    keyrings: List[kms_envelope.Keyring] = [aes_keyring, multi, custom]
    suites = [AlgorithmSuite(0x0478), AlgorithmSuite(0x0578)]
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> int:
        barrier.wait()
        done = 0
        for i in range(30):
            kr = keyrings[(n + i) % len(keyrings)]
            data = pattern((n * 1000 + i * 37) % 20_000, n)
            ctx = {"thread": str(n), "i": str(i)}
            ct = kms_envelope.encrypt(data, keyring=kr, encryption_context=ctx, algorithm_suite=suites[i % 2], frame_length=512)
            r = kms_envelope.decrypt(ct, keyring=kr, encryption_context=ctx)
            assert r.plaintext == data and r.encryption_context["thread"] == str(n)
            done += 1
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    assert results == [30] * THREADS
    assert custom.calls == 2 * sum(1 for n in range(THREADS) for i in range(30) if (n + i) % 3 == 2)


def test_streams_in_threads(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    import io

    def worker(n: int) -> bool:
        data = pattern(200_000 + n, n)
        buf = io.BytesIO()
        with kms_envelope.open(buf, "wb", keyring=aes_keyring, frame_length=4096) as w:
            for i in range(0, len(data), 10_000):
                w.write(data[i : i + 10_000])
        with kms_envelope.open(io.BytesIO(buf.getvalue()), "rb", keyring=aes_keyring, signed_release="frames") as r:
            return r.read() == data

    with ThreadPoolExecutor(THREADS) as pool:
        assert all(pool.map(worker, range(THREADS)))


def test_shared_stream_object_is_serialized(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    enc = kms_envelope.StreamEncryptor(keyring=aes_keyring, algorithm_suite=0x0478, frame_length=100)
    parts: List[bytes] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(50):
            with lock:  # keep the order of pieces and writes together
                parts.append(enc.update(b"%d" % n * 10))

    _run_together([functools.partial(worker, n) for n in range(THREADS)])
    parts.append(enc.finish())
    assert len(kms_envelope.decrypt(b"".join(parts), keyring=aes_keyring).plaintext) == 8 * 50 * 10


def _run_together(targets: Sequence[Callable[[], None]]) -> None:
    """Runs each target on its own thread, all at once; returns when all are done."""
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class _SlowFile(io.BytesIO):
    """A file whose writes and reads give other threads time to run."""

    def write(self, data: "bytes") -> int:  # type: ignore[override]
        time.sleep(0.0002)
        return super().write(data)

    def read(self, size: Optional[int] = -1) -> bytes:
        time.sleep(0.0002)
        return super().read(size)


def test_a_shared_writer_keeps_each_write_whole_and_the_message_valid(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    # Each write's frames reached the file outside any lock: with four
    # threads, half the messages had frames out of order.
    for _ in range(3):
        out = _SlowFile()
        w = kms_envelope.open(out, "wb", keyring=aes_keyring, algorithm_suite=0x0478, frame_length=100)

        def worker(n: int) -> None:
            for i in range(40):
                w.write(b"%02d:%03d|" % (n, i) * 40)

        _run_together([functools.partial(worker, n) for n in range(4)])
        w.close()
        plaintext = kms_envelope.decrypt(out.getvalue(), keyring=aes_keyring).plaintext
        chunk = 7 * 40
        pieces = sorted(plaintext[i : i + chunk] for i in range(0, len(plaintext), chunk))
        assert pieces == sorted(b"%02d:%03d|" % (n, i) * 40 for n in range(4) for i in range(40))


def test_a_shared_reader_hands_out_every_byte_once(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    data = pattern(60_000, 3)
    message = kms_envelope.encrypt(data, keyring=aes_keyring, algorithm_suite=0x0478, frame_length=100)
    for _ in range(3):
        r = kms_envelope.open(_SlowFile(message), "rb", keyring=aes_keyring, chunk_size=150)
        got: List[bytes] = []

        def worker() -> None:
            while True:
                piece = r.read(37)
                if not piece:
                    return
                got.append(piece)

        _run_together([worker] * 4)
        assert sum(map(len, got)) == len(data)
        assert sorted(b"".join(got)) == sorted(data)


def test_gil_is_released_while_encrypting(aes_keyring: kms_envelope.RawAesKeyring) -> None:
    big = bytes(64 << 20)
    stop = threading.Event()
    ticks = [0]

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = ticks[0]
        start = time.perf_counter()
        ct = kms_envelope.encrypt(big, keyring=aes_keyring, algorithm_suite=0x0578)
        during_encrypt = ticks[0] - before
        elapsed = time.perf_counter() - start
        before = ticks[0]
        kms_envelope.decrypt(ct, keyring=aes_keyring)
        during_decrypt = ticks[0] - before
    finally:
        stop.set()
        t.join()
    # With the GIL held for the whole call, the spinning thread could not run at all.
    assert during_encrypt > 1000, (during_encrypt, elapsed)
    assert during_decrypt > 1000
