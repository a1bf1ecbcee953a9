"""Daemon threads still inside kms_envelope when the program exits.

Before Python 3.14, a thread that takes the GIL while the interpreter
finalizes is ended by unwinding its stack, which aborts the process when
the stack holds Rust frames. Daemon threads therefore never hash on
hashlib (which takes the GIL on every update).
"""
import subprocess
import sys
import threading

import pytest

import kms_envelope
from kms_envelope import _native

HELPERS = """
aes = k.RawAesKeyring("ns", "aes", bytes(32))


def forever(work):
    def loop():
        while True:
            work()

    threading.Thread(target=loop, daemon=True).start()
"""

IMPORTS = "import os, threading, time\n"

SCRIPTS = {
    # Signed messages of 1 MiB and more hash on hashlib, which takes the GIL
    # on every update (and hashlib drops and retakes it while it hashes):
    # not on daemon threads, which exited by aborting every time.
    "signed messages": IMPORTS + "import kms_envelope as k\n" + HELPERS + """
big = os.urandom(4 << 20)
message = k.encrypt(big, keyring=aes)
forever(lambda: k.encrypt(big, keyring=aes))
forever(lambda: k.decrypt(message, keyring=aes))
time.sleep(0.4)
""",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_exit_with_busy_daemon_threads(name: str) -> None:
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", SCRIPTS[name]], capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (done.returncode, done.stderr.decode(errors="replace")[-2000:])


def test_daemon_threads_hash_without_hashlib() -> None:
    aes = kms_envelope.RawAesKeyring("ns", "aes", bytes(32))
    big = bytes(2 << 20)

    def updates_on(daemon: bool) -> int:
        before = _native._hashlib_updates()
        worker = threading.Thread(target=lambda: kms_envelope.encrypt(big, keyring=aes), daemon=daemon)
        worker.start()
        worker.join()
        return _native._hashlib_updates() - before

    assert updates_on(daemon=True) == 0
    assert updates_on(daemon=False) > 0
