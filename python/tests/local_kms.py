"""A real AWS KMS API server for the tests: moto's ``moto_server`` on 127.0.0.1.

The binary is ``$KMS_ENVELOPE_MOTO``, else the one ``make setup-moto`` puts in
``~/.cache/kms-envelope/venv-moto``. It runs under a small shell watchdog that
kills it as soon as the pipe from this process closes, so the server never
outlives the tests, even when pytest itself is killed.

KMS calls are counted at the server side with moto's request recorder
(``/moto-api/recorder/...``).
"""
import base64
import http.client
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import kms_envelope

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
SETUP_HINT = "run `make setup-moto` (a venv with moto[server]) or point KMS_ENVELOPE_MOTO at a moto_server binary"

# Runs moto in the background; `read` returns when our end of the pipe on
# fd 3 closes (stop(), or this process exiting), and then moto is killed.
# The shell exits when moto does, so a failed start shows as an exit.
WATCHDOG = r"""
exec 3<&0
"$0" -H 127.0.0.1 -p "$1" </dev/null 3<&- & pid=$!
( read _ignored <&3; kill $pid 2>/dev/null ) </dev/null &
wait $pid
"""


class MotoMissing(RuntimeError):
    """moto_server is not installed where the tests look for it."""


def moto_binary() -> Path:
    """The moto_server binary; raises :class:`MotoMissing` with the setup hint."""
    configured = os.environ.get("KMS_ENVELOPE_MOTO")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise MotoMissing("KMS_ENVELOPE_MOTO=%s does not exist: %s" % (path, SETUP_HINT))
        return path
    path = Path.home() / ".cache" / "kms-envelope" / "venv-moto" / "bin" / "moto_server"
    if not path.is_file():
        raise MotoMissing("moto_server not found at %s: %s" % (path, SETUP_HINT))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _post(url: str, timeout: float = 10.0) -> bytes:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read()
        return body


class Recording:
    """The requests moto received while recording."""

    def __init__(self, server: "MotoServer") -> None:
        self._server = server

    def requests(self) -> List[Dict[str, Any]]:
        """Every recorded request: ``target`` (``X-Amz-Target``) and the JSON ``body``."""
        raw = urllib.request.urlopen(self._server.url + "/moto-api/recorder/download-recording", timeout=10).read()
        out = []
        for line in raw.decode("utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8")
            out.append({"target": headers.get("x-amz-target", ""), "body": json.loads(body) if body else {}})
        return out

    def count(self, operation: str, key_id: Optional[str] = None) -> int:
        """How many ``TrentService.<operation>`` requests (about ``key_id``) arrived."""
        return sum(
            1
            for r in self.requests()
            if r["target"] == "TrentService." + operation and (key_id is None or r["body"].get("KeyId") == key_id)
        )


class MotoServer:
    """A running moto_server; :meth:`stop` ends it."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self._binary = binary
        self._workdir = workdir
        self._process: Optional["subprocess.Popen[bytes]"] = None
        self.url = ""

    def start(self, attempts: int = 3, timeout: float = 60.0) -> None:
        """Starts the server on a free port (another port if that one was taken)."""
        failure = ""
        for attempt in range(attempts):
            port = free_port()
            log = self._workdir / ("moto-%d.log" % port)
            env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(self._workdir / "recording.jsonl"))
            env.pop("MOTO_ENABLE_RECORDING", None)
            with open(log, "wb") as log_file:
                self._process = subprocess.Popen(
                    ["sh", "-c", WATCHDOG, str(self._binary), str(port)],
                    stdin=subprocess.PIPE,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            self.url = "http://127.0.0.1:%d" % port
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    failure = "moto_server exited (status %s):\n%s" % (self._process.returncode, log.read_text(errors="replace"))
                    break
                try:
                    _post(self.url + "/moto-api/reset", timeout=5)
                    return
                except OSError:
                    time.sleep(0.1)
            else:
                self.stop()
                raise RuntimeError("moto_server did not answer on port %d within %.0f s:\n%s" % (port, timeout, log.read_text(errors="replace")))
            self.stop()
        raise RuntimeError("moto_server did not start after %d attempts: %s" % (attempts, failure))

    def stop(self) -> None:
        """Ends the server (closing the pipe makes the watchdog kill it)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # ------------------------------------------------------------ clients

    def native_client(self, **settings: Any) -> kms_envelope.AwsKmsClient:
        """The built-in client for this server, with dummy credentials."""
        options: Dict[str, Any] = dict(
            endpoint_url=self.url, region=REGION, access_key_id="test", secret_access_key="test", timeout=20.0
        )
        options.update(settings)
        return kms_envelope.AwsKmsClient(**options)

    def boto3_client(self, endpoint_url: Optional[str] = None) -> Any:
        """A boto3 KMS client for this server, with dummy credentials."""
        import boto3

        return boto3.client(
            "kms",
            region_name=REGION,
            endpoint_url=endpoint_url or self.url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def create_key(self) -> str:
        """A new symmetric encryption key; its ARN."""
        return self.native_client().create_key("kms_envelope test")

    @contextmanager
    def recording(self) -> Iterator[Recording]:
        """Records the requests this server receives inside the block."""
        _post(self.url + "/moto-api/recorder/reset-recording")
        _post(self.url + "/moto-api/recorder/start-recording")
        try:
            yield Recording(self)
        finally:
            _post(self.url + "/moto-api/recorder/stop-recording")


class DelayingProxy:
    """An HTTP proxy on 127.0.0.1, written in Python, that holds each request
    for ``delay`` seconds before forwarding it to ``upstream``.

    Its threads need the GIL: a client that waited on it with the GIL held
    would never get an answer.
    """

    def __init__(self, upstream: str, delay: float) -> None:
        host_port = upstream.split("://", 1)[1].rstrip("/")
        host, port = host_port.rsplit(":", 1)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(delay)
                proxy.forwarded += 1
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
                    conn.request("POST", self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    for k, v in answer.getheaders():
                        if k.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.forwarded = 0
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "DelayingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
