"""Daemon threads still inside kms_envelope when the program exits.

Before Python 3.14, a thread that takes the GIL while the interpreter
finalizes is ended by unwinding its stack, which aborts the process when
the stack holds Rust frames. Each script below exits while daemon threads
are busy in the module; the process must end normally, every time.
"""
import subprocess
import sys

import pytest

HELPERS = """
aes = k.RawAesKeyring("ns", "aes", bytes(32))


class Keyring:
    \"\"\"A Python keyring over ``aes`` that sleeps ``pause`` seconds in each callback.\"\"\"

    def __init__(self, pause=0.0):
        self.pause = pause

    def on_encrypt(self, m):
        time.sleep(self.pause)
        return aes.on_encrypt(m)

    def on_decrypt(self, m, edks):
        time.sleep(self.pause)
        return aes.on_decrypt(m, edks)


def forever(work):
    def loop():
        while True:
            work()

    threading.Thread(target=loop, daemon=True).start()
"""

IMPORTS = "import atexit, os, threading, time\n"

SCRIPTS = {
    # Signed messages of 1 MiB and more hash on hashlib, which takes the GIL
    # on every update (and hashlib drops and retakes it while it hashes).
    "signed messages": IMPORTS + "import kms_envelope as k\n" + HELPERS + """
big = os.urandom(4 << 20)
message = k.encrypt(big, keyring=aes)
forever(lambda: k.encrypt(big, keyring=aes))
forever(lambda: k.decrypt(message, keyring=aes))
time.sleep(0.4)
""",
    # A Python keyring that sleeps (dropping and retaking the GIL) inside
    # its callback, and core calls returning to Python as the exit begins.
    "python keyring": IMPORTS + "import kms_envelope as k\n" + HELPERS + """
for _ in range(3):
    forever(lambda: k.encrypt(b"x" * 100, keyring=Keyring(0.005), algorithm_suite=0x0478))
forever(lambda: k.encrypt(b"y" * 100, keyring=aes, algorithm_suite=0x0478))
time.sleep(0.3)
""",
    # An atexit function registered before the module loads runs after the
    # module's own hook, on the exiting thread: using the module there,
    # Python keyring and hashlib included, must neither park nor fail.
    "late atexit": IMPORTS + """
late = []
atexit.register(lambda: late[0]())
import kms_envelope as k
""" + HELPERS + """
def use_at_exit():
    big = os.urandom(2 << 20)
    message = k.encrypt(big, keyring=Keyring())
    assert k.decrypt(message, keyring=Keyring()).plaintext == big
    print("late atexit done", flush=True)


late.append(use_at_exit)
forever(lambda: k.encrypt(b"z" * 100, keyring=Keyring(0.001), algorithm_suite=0x0478))
time.sleep(0.2)
""",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_exit_with_busy_daemon_threads(name: str) -> None:
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", SCRIPTS[name]], capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (done.returncode, done.stderr.decode(errors="replace")[-2000:])
        if name == "late atexit":
            assert b"late atexit done" in done.stdout
