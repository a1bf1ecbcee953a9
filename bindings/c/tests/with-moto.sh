#!/usr/bin/env bash
# Runs a command beside a fresh moto_server (a local server with the AWS KMS
# API), for the C tests of the AWS KMS keyrings and the caching CMM:
#
#   bindings/c/tests/with-moto.sh COMMAND [ARGS...]
#
# Starts moto_server on 127.0.0.1 on a free port with its request recorder
# on, creates two KMS keys with boto3 (from moto's venv), runs COMMAND with
#
#   KMSE_TEST_KMS_ENDPOINT   http://127.0.0.1:PORT
#   KMSE_TEST_KMS_KEY1/KEY2  the key ARNs
#   KMSE_TEST_KMS_RECORDING  the recorder's file: one JSON line per request
#   AWS_ENDPOINT_URL_KMS, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (dummies),
#   AWS_CONFIG_FILE          with a profile "kmse-test" (region us-east-1)
#
# and exits with COMMAND's status. The server is stopped when the script
# ends, whatever the outcome (failure, Ctrl-C, SIGTERM). moto_server comes
# from KMS_ENVELOPE_MOTO, else the venv of `make setup-moto`.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

moto=${KMS_ENVELOPE_MOTO:-$HOME/.cache/kms-envelope/venv-moto/bin/moto_server}
python=$(dirname "$moto")/python
if [ ! -x "$moto" ] || [ ! -x "$python" ]; then
    echo "with-moto.sh: no moto_server at $moto: run \`make setup-moto\` or set KMS_ENVELOPE_MOTO" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kmse-moto.XXXXXX")
pid=
child=
stop() {
    if [ -n "$child" ]; then
        kill -TERM -- "-$child" 2>/dev/null || kill "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
        child=
    fi
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
}
trap 'stop; rm -rf "$work"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Picks a free port, starts the server, waits until it answers. Another
# process may take the port between the pick and the start: then try again.
for attempt in 1 2 3; do
    port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$work/recording.jsonl" \
        "$moto" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    pid=$!
    if "$python" - "$port" "$pid" <<'EOF'; then break; fi
import os, sys, time, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)  # exited: the port was taken, or it cannot start
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
    stop
    if [ "$attempt" -eq 3 ]; then
        echo "with-moto.sh: moto_server did not start on 127.0.0.1:" >&2
        cat "$work/moto.log" >&2
        exit 1
    fi
done

endpoint="http://127.0.0.1:$port"
: >"$work/credentials"
cat >"$work/config" <<EOF
[profile kmse-test]
region = us-east-1
EOF

keys=$(AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$python" - "$endpoint" <<'EOF'
import sys, boto3
kms = boto3.client("kms", endpoint_url=sys.argv[1], region_name="us-east-1")
for name in ("kmse C test key 1", "kmse C test key 2"):
    print(kms.create_key(Description=name)["KeyMetadata"]["Arn"])
EOF
)
key1=$(sed -n 1p <<<"$keys")
key2=$(sed -n 2p <<<"$keys")
if [ -z "$key1" ] || [ -z "$key2" ]; then
    echo "with-moto.sh: could not create the KMS keys" >&2
    exit 1
fi

# The command runs in the background, in a process group of its own, so that
# a signal reaches the traps at once and they can stop the command (all of
# its processes) and the server.
setsid env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_REGION -u AWS_DEFAULT_REGION \
    -u AWS_ENDPOINT_URL -u AWS_CA_BUNDLE \
    KMSE_TEST_KMS_ENDPOINT="$endpoint" \
    KMSE_TEST_KMS_KEY1="$key1" KMSE_TEST_KMS_KEY2="$key2" \
    KMSE_TEST_KMS_RECORDING="$work/recording.jsonl" \
    AWS_ENDPOINT_URL_KMS="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_CONFIG_FILE="$work/config" AWS_SHARED_CREDENTIALS_FILE="$work/credentials" \
    "$@" &
child=$!
status=0
wait "$child" || status=$?
child=
exit "$status"
