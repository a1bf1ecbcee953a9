#!/usr/bin/env python3
"""make bench: runs each part, gathers its JSON, writes docs/benchmarks.md and
docs/benchmarks.png.

Parts (each writes RESULTS/<part>.json; a part that fails writes its error
there instead, and the report says "not measured"):

    run.py core   --bin KMS_BENCH --results DIR [--quick]
        kms-envelope through its Rust API and the hardware limits (aws-lc-rs).
    run.py cli    --bin KMS_ENVELOPE --work DIR --results DIR [--quick]
        peak RSS of `kms-envelope encrypt` / `decrypt` of a 1 GiB file.
    run.py peers  --results DIR [--rust-bin PATH] [--node-dir DIR] [--python PY] [--quick]
        aws-esdk (Rust), aws-encryption-sdk (Python), @aws-crypto/client-node.
    run.py report --results DIR --root REPO
        REPO/docs/benchmarks.md and REPO/docs/benchmarks.png from the JSON
        (matplotlib for the chart; without it, the report only), plus the
        extra front-end results in REPO/docs/bench/*.json and *.md.

Standard library only, except matplotlib for the chart.
"""
import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_json(name, cmd, cwd=None, timeout=3600):
    """Runs a benchmark program that prints JSON; returns it, or {"error": ...}."""
    log("%s: %s" % (name, " ".join(cmd)))
    before, start = loadavg(), time.time()
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=None, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": "%s: %s" % (name, exc), "measured_at": now()}
    if proc.returncode != 0:
        return {"error": "%s exited with status %d" % (name, proc.returncode), "measured_at": now()}
    try:
        out = json.loads(proc.stdout)
    except ValueError as exc:
        return {"error": "%s printed no JSON: %s" % (name, exc), "measured_at": now()}
    out["measured_at"] = now()
    out["elapsed_s"] = round(time.time() - start, 1)
    out["loadavg_before"], out["loadavg_after"] = before, loadavg()
    return out


def timing_args(args):
    return ["--quick"] if args.quick else []


# --------------------------------------------------------------------------
# parts
# --------------------------------------------------------------------------


def cmd_core(args):
    out = run_json("kms-bench", [args.bin] + timing_args(args))
    write_json(os.path.join(args.results, "core.json"), out)
    return 0 if "error" not in out else 1


def cmd_peers(args):
    status = 0
    peers = [
        ("peer-python", args.python and [args.python, os.path.join(HERE, "peer_python.py")], None),
        ("peer-node", args.node_dir and ["node", "bench.mjs"], args.node_dir),
        ("peer-rust-esdk", args.rust_bin and [args.rust_bin], None),
    ]
    for name, cmd, cwd in peers:
        if not cmd:
            out = {"error": "skipped (BENCH_RUST_PEER=0)" if name == "peer-rust-esdk" else "skipped", "measured_at": now()}
        elif cmd[0] != "node" and not os.path.exists(cmd[0]):
            out = {"error": "not built (%s is missing)" % cmd[0], "measured_at": now()}
        else:
            out = run_json(name, cmd + timing_args(args), cwd=cwd)
        if "error" in out:
            log("%s: %s" % (name, out["error"]))
            status = 1
        write_json(os.path.join(args.results, name + ".json"), out)
    return status


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MIB), b""):
            digest.update(block)
    return digest.hexdigest()


GNU_TIME = "/usr/bin/time"


def max_rss_run(cmd, timeout=1800):
    """Runs cmd; returns (exit status, peak RSS in bytes, seconds, stderr tail).

    The peak RSS comes from GNU time (`%M`): Linux carries a process's peak
    RSS across exec, so a child forked straight from this Python process
    would report at least Python's own size; GNU time is a ~2 MiB process.
    Without it, wait4's ru_maxrss is used (an overestimate by that much).
    """
    start = time.time()
    with tempfile.TemporaryFile() as errfile, tempfile.NamedTemporaryFile("r") as rssfile:
        use_time = os.access(GNU_TIME, os.X_OK)
        full = [GNU_TIME, "-f", "%M", "-o", rssfile.name] + cmd if use_time else cmd
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile)
        _, status, usage = wait4_timeout(proc, timeout)
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        errfile.seek(0)
        err = errfile.read().decode("utf-8", "replace").strip().splitlines()
        if use_time:
            # On failure GNU time writes "Command exited with non-zero status N" before the figure.
            lines = [ln for ln in rssfile.read().split() if ln.isdigit()]
            rss = int(lines[-1]) * 1024 if lines else 0
        else:
            rss = usage.ru_maxrss * 1024
    return code, rss, time.time() - start, " / ".join(err[-3:])


def wait4_timeout(proc, timeout):
    deadline = time.time() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.time() > deadline:
            proc.kill()
            return os.wait4(proc.pid, 0)
        time.sleep(0.05)


def rss_floor():
    """Peak RSS that GNU time reports for /bin/true: the measurement's floor."""
    code, rss, _, _ = max_rss_run(["/bin/true"], timeout=60)
    return rss if code == 0 else None


def cmd_cli(args):
    size = 64 * MIB if args.quick else 1 << 30
    work = os.path.join(args.work, "bench-work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = {"cli": args.bin, "input_bytes": size, "measured_at": now(), "loadavg_before": loadavg(), "runs": [],
           "rss_method": "GNU time %M" if os.access(GNU_TIME, os.X_OK) else "wait4 ru_maxrss (includes the harness)",
           "rss_floor": rss_floor()}
    try:
        if not os.path.exists(args.bin):
            raise RuntimeError("%s is not built" % args.bin)
        key = os.path.join(work, "bench.key")
        subprocess.run([args.bin, "keygen", "--out", key], check=True, stdout=subprocess.DEVNULL)
        plain = os.path.join(work, "plain.bin")
        log("cli: writing a %d MiB input file" % (size // MIB))
        digest = hashlib.sha256()
        with open(plain, "wb") as f:
            chunk = 4 * MIB
            for _ in range(size // chunk):
                block = os.urandom(chunk)
                digest.update(block)
                f.write(block)
        for suite in ("0578", "0478"):
            enc = os.path.join(work, "plain.%s.enc" % suite)
            dec = os.path.join(work, "plain.%s.out" % suite)
            cmd = [args.bin, "encrypt", "--key", key, "--suite", suite, "-i", plain, "-o", enc]
            log("cli: " + " ".join(cmd))
            rc, rss, secs, err = max_rss_run(cmd)
            out["runs"].append({"direction": "encrypt", "suite": suite, "status": rc, "peak_rss": rss,
                                "seconds": secs, "mb_s": size / 1e6 / secs, "stderr": err if rc else ""})
            log("cli: encrypt %s: status %d, peak RSS %.1f MiB, %.1f s" % (suite, rc, rss / MIB, secs))
            if rc == 0:
                # To a file: for a signed message the CLI streams into the file and
                # keeps it only once the signature verifies.
                cmd = [args.bin, "decrypt", "--key", key, "-i", enc, "-o", dec]
                log("cli: " + " ".join(cmd))
                rc, rss, secs, err = max_rss_run(cmd)
                if rc == 0 and file_sha256(dec) != digest.hexdigest():
                    rc, err = 1, "decrypted output differs from the input"
                out["runs"].append({"direction": "decrypt", "suite": suite, "status": rc, "peak_rss": rss,
                                    "seconds": secs, "mb_s": size / 1e6 / secs, "stderr": err if rc else ""})
                log("cli: decrypt %s: status %d, peak RSS %.1f MiB, %.1f s" % (suite, rc, rss / MIB, secs))
            else:
                out["runs"].append({"direction": "decrypt", "suite": suite, "status": None,
                                    "stderr": "not run: encrypt failed"})
            for path in (enc, dec):
                if os.path.exists(path):
                    os.unlink(path)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        out["error"] = str(exc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["loadavg_after"] = loadavg()
    write_json(os.path.join(args.results, "cli.json"), out)
    return 0 if "error" not in out else 1


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------

PEERS = [
    # (results file, short label)
    ("peer-rust-esdk", "aws-esdk (Rust)"),
    ("peer-python", "aws-encryption-sdk (Python)"),
    ("peer-node", "@aws-crypto/client-node"),
]
WORKLOADS = [
    ("encrypt-64MiB", "Encrypt a 64 MiB message", "MB/s"),
    ("decrypt-64MiB", "Decrypt a 64 MiB message", "MB/s"),
    ("encrypt-1KiB", "Encrypt 1 KiB messages (a fresh data key each)", "msg/s"),
    ("decrypt-1KiB", "Decrypt 1 KiB messages (a fresh data key each)", "msg/s"),
]
SUITE_NAMES = {
    "0478": "0x0478 AES-256-GCM, HKDF-SHA512, key commitment",
    "0578": "0x0578 AES-256-GCM, HKDF-SHA512, key commitment, ECDSA P-384",
}


def find(results, workload, suite, threads=None):
    for r in results or []:
        if r.get("workload") == workload and r.get("suite") == suite and (threads is None or r.get("threads") == threads):
            return r["value"]
    return None


def paired(results, workload, suite, threads=None):
    """The limit measured right before this figure (kms-bench's `paired_limit`), if any."""
    for r in results or []:
        if r.get("workload") == workload and r.get("suite") == suite and (threads is None or r.get("threads") == threads):
            return (r.get("paired_limit") or {}).get("value")
    return None


def limit(core, name, chunk=None, threads=1):
    for r in (core or {}).get("limits", []):
        if r["limit"] == name and (chunk is None or r.get("chunk") == chunk) and r.get("threads") == threads:
            return r["value"]
    return None


def workload_limit(core, workload, suite, threads):
    """(value, description) of the hardware limit a workload figure is compared with."""
    if workload.endswith("64MiB"):
        if suite == "0578":
            return limit(core, "sha-384"), "SHA-384 (sequential)"
        value = limit(core, "aes-256-gcm-seal", 4096, threads)
        return value, "AES-256-GCM seal 4 KiB, %d thread%s" % (threads, "s" if threads > 1 else "")
    if suite == "0578":
        if workload.startswith("encrypt"):
            return limit(core, "p384-keygen-sign"), "P-384 keygen + sign"
        return limit(core, "p384-verify"), "P-384 verify"
    direction = "encrypt" if workload.startswith("encrypt") else "decrypt"
    return limit(core, "msg-0478-1KiB-" + direction), "the primitives of one message"


def fmt(value, unit=""):
    if value is None:
        return "not measured"
    if value >= 100:
        text = "{:,.0f}".format(value)
    elif value >= 10:
        text = "%.1f" % value
    else:
        text = "%.2f" % value
    return text + (" " + unit if unit else "")


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return ("%.2f×" if r >= 0.1 else "%.3f×" if r >= 0.001 else "%.1e×") % r


def cargo_lock_versions(path):
    versions = {}
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return versions
    for name, version in re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text):
        versions.setdefault(name, []).append(version)
    return {k: ", ".join(v) for k, v in versions.items()}


def command_output(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               check=True, timeout=30).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info():
    cpu, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = "%.0f GiB" % (kib / (1 << 20))
    except (OSError, ValueError, IndexError):
        pass
    os_name = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    wanted = ["aes", "pclmulqdq", "avx", "avx2", "avx512f", "vaes", "vpclmulqdq", "sha_ni", "adx", "bmi2"]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
        "memory": mem,
        "os": "%s, Linux %s" % (os_name or platform.system(), platform.release()),
    }


def demote(markdown, levels=2):
    return re.sub(r"^(#+)", lambda m: "#" * min(6, len(m.group(1)) + levels), markdown, flags=re.M)


def cmd_report(args):
    root = os.path.abspath(args.root)
    res = args.results
    core = read_json(os.path.join(res, "core.json")) or {"error": "not run"}
    cli = read_json(os.path.join(res, "cli.json")) or {"error": "not run"}
    peers = {name: read_json(os.path.join(res, name + ".json")) or {"error": "not run"} for name, _ in PEERS}
    quick = any(abs((d or {}).get("seconds", 1.5) - 0.2) < 1e-9 for d in [core] + list(peers.values()))
    cores = core.get("cores") or os.cpu_count() or 1
    mine = core.get("results", [])
    machine = machine_info()

    def peer_value(name, workload, suite):
        return find(peers[name].get("results"), workload, suite)

    ws_version = ""
    try:
        with open(os.path.join(root, "Cargo.toml")) as f:
            m = re.search(r'\[workspace\.package\][^\[]*?version\s*=\s*"([^"]+)"', f.read(), re.S)
            ws_version = m.group(1) if m else ""
    except OSError:
        pass
    rev = command_output(["git", "rev-parse", "--short", "HEAD"], cwd=root)
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml", "bindings/cli"], cwd=root)
    core_lock = cargo_lock_versions(os.path.join(HERE, "kms-bench", "Cargo.lock"))
    esdk_lock = cargo_lock_versions(os.path.join(HERE, "peer-rust-esdk", "Cargo.lock"))
    rustc = command_output(["rustc", "--version"])

    L = []
    L.append("# Benchmarks")
    L.append("")
    stamps = sorted(d["measured_at"] for d in [core, cli] + list(peers.values()) if d.get("measured_at"))
    span = ("measured %s to %s" % (stamps[0], stamps[-1][-9:]) if stamps[0][:10] == stamps[-1][:10]
            else "measured %s to %s" % (stamps[0], stamps[-1])) if stamps else "not measured"
    L.append("Written by `make bench` (%s). Every figure below comes from that one run, on the machine "
             "described here, with the peers installed from their registries next to this SDK." % span)
    if quick:
        L.append("")
        L.append("> **Quick (smoke-test) run** (`BENCH_QUICK=1`): short rounds, 4 MiB instead of 64 MiB and a "
                 "64 MiB instead of a 1 GiB CLI file. These figures are not representative.")
    L.append("")
    L.append("How to rerun: `make bench` (about 12 minutes on 2 cores once built; the first run also builds the "
             "official Rust ESDK at low priority on one job, 20 to 40 minutes, then cached). Parts: `make bench-core` (this SDK, the hardware limits, the "
             "CLI), `make bench-peers` (the other ESDKs), `make bench-report` (this file and "
             "`docs/benchmarks.png` from the last results). `BENCH_RUST_PEER=0` skips the Rust ESDK, "
             "`BENCH_QUICK=1` makes a fast smoke run. Sources: `benches/`.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| CPU | %s, %s cores (`/proc/cpuinfo`, `nproc`) |" % (machine["cpu"], machine["cores"]))
    L.append("| CPU features used by AES-GCM / SHA-2 | %s |" % (", ".join(machine["flags"]) or "–"))
    L.append("| memory | %s |" % machine["memory"])
    L.append("| OS | %s |" % machine["os"])
    L.append("| Rust | %s |" % (rustc or "?"))
    loads = []
    for label, d in [("this SDK", core), ("CLI", cli)] + [(lbl, peers[n]) for n, lbl in PEERS]:
        if d.get("loadavg_before") is not None:
            loads.append("%s %.1f→%.1f" % (label, d["loadavg_before"], d.get("loadavg_after") or 0))
    L.append("| 1-min load average before→after each part | %s |" % ("; ".join(loads) or "–"))
    L.append("")
    L.append("The machine may be shared: a load average above 0.5 before a part means other work ran beside it, "
             "and its figures (the multi-threaded ones most of all) are low by that much.")
    L.append("")
    L.append("## Versions")
    L.append("")
    L.append("| SDK | language | version | crypto backend | measured at |")
    L.append("|---|---|---|---|---|")
    L.append("| kms-envelope | Rust | %s (git %s%s) | %s %s (aws-lc-sys %s) | %s |" % (
        ws_version, rev or "?", ", with uncommitted changes" if dirty else "", core.get("backend", "aws-lc-rs"),
        core_lock.get("aws-lc-rs", "?"), core_lock.get("aws-lc-sys", "?"), core.get("measured_at", "not run")))
    for name, label in PEERS:
        d = peers[name]
        if name == "peer-rust-esdk":
            version = esdk_lock.get("aws-esdk", "1.2.4")
            backend = "aws-lc-rs %s (aws-lc-sys %s)" % (esdk_lock.get("aws-lc-rs", "?"), esdk_lock.get("aws-lc-sys", "?"))
        else:
            version, backend = d.get("version", "?"), d.get("backend", "?")
        when = d.get("measured_at", "") if "error" not in d else "not measured: " + d["error"]
        L.append("| %s | %s | %s | %s | %s |" % (label.split(" (")[0], d.get("language") or label.split("(")[-1].rstrip(")"),
                                               version, backend, when))
    L.append("")
    L.append("Method: each figure is the best of 3 rounds of %.1f s (at least one operation per round; one "
             "round when a single operation takes longer than 5 s) after a warm-up. MB/s are 10^6 bytes "
             "of plaintext per second. Messages: frame length 4096, one encryption-context pair, raw AES-256 "
             "wrapping key (namespace `bench`, name `key`), the SDK's one-shot encrypt/decrypt call. 1 KiB "
             "messages: every encrypt makes a fresh data key (no caching materials manager anywhere); decrypt "
             "cycles through 64 distinct messages. The peers are single-threaded by design; this SDK's "
             "`threads` is `Client::builder().threads(n)`." % core.get("seconds", 1.5))
    L.append("")

    # ---------------------------------------------------------------- targets
    targets = []  # (label, measured text, ratio to compare, goal)
    seal4k = limit(core, "aes-256-gcm-seal", 4096, 1)
    sha = limit(core, "sha-384")
    sign = limit(core, "p384-keygen-sign")
    verify = limit(core, "p384-verify")
    for op in ("encrypt", "decrypt"):
        v = find(mine, op + "-64MiB", "0478", 1)
        lim = paired(mine, op + "-64MiB", "0478", 1) or seal4k
        r = None if v is None or not lim else v / lim
        targets.append(("0x0478 64 MiB %s, 1 thread ≥ 0.8 × bare AES-256-GCM seal (4 KiB)" % op,
                        "%s / %s = %s" % (fmt(v, "MB/s"), fmt(lim, "MB/s"), ratio(v, lim)), r, 0.8))
    for op in ("encrypt", "decrypt"):
        v1 = find(mine, op + "-64MiB", "0478", 1)
        v2 = find(mine, op + "-64MiB", "0478", 2)
        r = None if v1 is None or v2 is None else v2 / v1
        targets.append(("0x0478 64 MiB %s, 2 threads ≥ 1.7 × 1 thread" % op,
                        "%s / %s = %s" % (fmt(v2, "MB/s"), fmt(v1, "MB/s"), ratio(v2, v1)), r, 1.7))
    for op in ("encrypt", "decrypt"):
        for threads in sorted({1, cores}):
            v = find(mine, op + "-64MiB", "0578", threads)
            lim = paired(mine, op + "-64MiB", "0578", threads) or sha
            r = None if v is None or not lim else v / lim
            targets.append(("0x0578 64 MiB %s, %d thread%s ≥ 0.85 × bare SHA-384" % (op, threads, "s" if threads > 1 else ""),
                            "%s / %s = %s" % (fmt(v, "MB/s"), fmt(lim, "MB/s"), ratio(v, lim)), r, 0.85))
    for op in ("encrypt", "decrypt"):
        v = find(mine, op + "-1KiB", "0478")
        for peer, label, goal in (("peer-python", "aws-encryption-sdk Python", 10), ("peer-rust-esdk", "aws-esdk Rust", 5)):
            p = peer_value(peer, op + "-1KiB", "0478")
            r = None if v is None or not p else v / p
            targets.append(("1 KiB 0x0478 %s ≥ %d × %s" % (op, goal, label),
                            "%s / %s = %s" % (fmt(v, "msg/s"), fmt(p, "msg/s"), ratio(v, p)), r, goal))
    for op, lim, name in (("encrypt", sign, "P-384 keygen+sign"), ("decrypt", verify, "P-384 verify")):
        v = find(mine, op + "-1KiB", "0578")
        lim = paired(mine, op + "-1KiB", "0578") or lim
        r = None if v is None or not lim else v / lim
        targets.append(("1 KiB 0x0578 %s ≥ 0.8 × %s" % (op, name),
                        "%s / %s = %s" % (fmt(v, "msg/s"), fmt(lim, "op/s"), ratio(v, lim)), r, 0.8))
    for suite in ("0578", "0478"):
        for direction in ("encrypt", "decrypt"):
            run = next((x for x in cli.get("runs", []) if x["suite"] == suite and x["direction"] == direction), None)
            if run and run.get("status") == 0:
                mib = run["peak_rss"] / MIB
                targets.append(("CLI %s of %s, suite 0x%s: peak RSS ≤ 32 MiB" % (direction, "1 GiB" if cli.get("input_bytes") == 1 << 30 else fmt(cli.get("input_bytes", 0) / MIB) + " MiB", suite),
                                "%.1f MiB" % mib, 32 / mib if mib else None, 1.0))
            else:
                why = (run or {}).get("stderr") or cli.get("error") or "not run"
                if run and run.get("status") not in (None, 0):
                    why = "failed (exit %s): %s" % (run["status"], why)
                targets.append(("CLI %s of 1 GiB, suite 0x%s: peak RSS ≤ 32 MiB" % (direction, suite), why, None, 1.0))
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    met_count = 0
    for label, shown, r, goal in targets:
        if r is None:
            verdict = "not measured"
        elif r >= goal:
            verdict, met_count = "**met**", met_count + 1
        else:
            verdict = "missed"
        L.append("| %s | %s | %s |" % (label, shown, verdict))
    L.append("")
    seal_n = limit(core, "aes-256-gcm-seal", 4096, cores)
    if seal4k and seal_n and cores > 1:
        L.append("Scaling check: the bare AES-256-GCM loop on %d threads ran %s its 1-thread figure in this run. "
                 "On %d idle cores it runs about %d×; below that, other work shared the cores, and the "
                 "multi-threaded targets could not be judged fairly." % (cores, ratio(seal_n, seal4k), cores, cores))
        L.append("")
    unmeasured = sum(1 for t in targets if t[2] is None)
    L.append("%d of %d targets met%s." % (met_count, len(targets), ", %d not measured" % unmeasured if unmeasured else ""))
    L.append("")

    # ---------------------------------------------------------------- limits
    L.append("## Hardware limits (aws-lc-rs, called directly, same build as the SDK)")
    L.append("")
    L.append("| primitive | threads | figure |")
    L.append("|---|---|---|")
    names = {
        "aes-256-gcm-seal": "AES-256-GCM seal in place, %s chunks, empty AAD",
        "aes-256-gcm-open": "AES-256-GCM open (out of place), %s chunks, empty AAD",
        "sha-384": "SHA-384, `digest::Context::update` of %s",
        "fresh-buffer": "fresh buffer: allocate and write a new %s `Vec` (page faults and kernel zeroing)",
        "msg-0478-1KiB-encrypt": "the primitives of one 0x0478 1 KiB encrypt, nothing else: 76 random bytes, "
                                 "raw AES wrap, HKDF-SHA512 extract + 2 expands, AES key schedule, header tag, "
                                 "1 KiB frame",
        "msg-0478-1KiB-decrypt": "the same for decrypt (no random bytes; opens instead of seals)",
        "p384-keygen-sign": "P-384 key generation + sign of a SHA-384 digest",
        "p384-verify": "P-384 verify of a SHA-384 digest, key parsed beforehand",
        "p384-parse-compressed-verify": "P-384 parse of a compressed point + verify (for reference: the format "
                                        "carries the compressed point, so each message parses it once)",
    }
    for r in core.get("limits", []):
        chunk = r.get("chunk")
        text = names.get(r["limit"], r["limit"])
        if "%s" in text:
            text = text % ("%d MiB" % (chunk // MIB) if chunk >= MIB else "%d KiB" % (chunk // 1024))
        L.append("| %s | %d | %s |" % (text, r.get("threads", 1), fmt(r["value"], r["unit"])))
    if not core.get("limits"):
        L.append("| not measured: %s | | |" % core.get("error", "?"))
    L.append("")

    # ---------------------------------------------------------------- workloads
    peer_labels = [(n, lbl) for n, lbl in PEERS]
    for workload, title, unit in WORKLOADS:
        L.append("## " + title)
        L.append("")
        head = "| SDK | suite | threads | %s | × limit | limit |" % unit
        sep = "|---|---|---|---|---|---|"
        for _, lbl in peer_labels:
            head += " × %s |" % lbl.split(" (")[0]
            sep += "---|"
        L.append(head)
        L.append(sep)
        for suite in ("0478", "0578"):
            for variant, label in ((workload, "**kms-envelope**"),
                                   (workload + "-stream", "kms-envelope, stream API, reused output buffer")):
                rows = [(r["threads"], r["value"], r.get("client"), (r.get("paired_limit") or {}).get("value"))
                        for r in mine if r["workload"] == variant and r["suite"] == suite]
                if not rows:
                    if variant != workload:
                        continue
                    rows = [(None, None, None, None)]
                for threads, v, client, pair in sorted(rows, key=lambda x: x[0] or 0):
                    lim, lim_text = workload_limit(core, workload, suite, threads or 1)
                    if pair:
                        lim, lim_text = pair, "%s: %s, measured just before" % (
                            lim_text.split(" (")[0], fmt(pair, "MB/s" if workload.endswith("64MiB") else "/s"))
                    shown = "–" if threads is None else "default (%d)" % threads if client == "default" else threads
                    value = "**%s**" % fmt(v) if variant == workload else fmt(v)
                    line = "| %s | %s | %s | %s | %s | %s |" % (label, suite, shown, value, ratio(v, lim), lim_text)
                    for name, _ in peer_labels:
                        line += " %s |" % ratio(v, peer_value(name, workload, suite))
                    L.append(line)
            for name, lbl in peer_labels:
                v = peer_value(name, workload, suite)
                lim, lim_text = workload_limit(core, workload, suite, 1)
                line = "| %s | %s | 1 | %s | %s | %s |" % (lbl, suite, fmt(v), ratio(v, lim), lim_text)
                for other, _ in peer_labels:
                    line += " %s |" % ("–" if other == name else ratio(v, peer_value(other, workload, suite)))
                L.append(line)
        L.append("")
        L.append("Ratios: the row's figure divided by the limit, or by that peer's figure for the same suite "
                 "(above 1: the row is faster). This SDK's rows are divided by the limit measured right before "
                 "them (same machine load); the peers' rows by the limits table.")
        if workload.endswith("64MiB"):
            L.append("")
            L.append("The one-shot call returns the message in a new 64 MiB buffer; glibc maps fresh pages for "
                     "an allocation that large, so every call pays the page faults measured by the "
                     "*fresh buffer* line of the limits. The stream API rows (for reference, not in the targets) "
                     "write the same message into a buffer reused from call to call.")
        L.append("")

    # ---------------------------------------------------------------- CLI
    L.append("## Streaming through the CLI: peak memory")
    L.append("")
    size = cli.get("input_bytes", 1 << 30)
    L.append("`kms-envelope encrypt --key K --suite S -i FILE -o FILE.enc`, then `kms-envelope decrypt --key K "
             "-i FILE.enc -o FILE.out` (checked against the input), on a %s file of random bytes (release build). "
             "Peak RSS: %s%s." % ("1 GiB" if size == 1 << 30 else "%d MiB" % (size // MIB),
                                  cli.get("rss_method", "?"),
                                  "; `/bin/true` measures %.1f MiB the same way" % (cli["rss_floor"] / MIB) if cli.get("rss_floor") else ""))
    L.append("")
    L.append("| direction | suite | peak RSS | × 32 MiB target | time | throughput | status |")
    L.append("|---|---|---|---|---|---|---|")
    for run in cli.get("runs", []):
        if run.get("status") is None:
            L.append("| %s | %s | – | – | – | – | %s |" % (run["direction"], run["suite"], run.get("stderr", "")))
            continue
        mib = run["peak_rss"] / MIB
        status = "ok" if run["status"] == 0 else "exit %d: %s" % (run["status"], run.get("stderr", ""))
        L.append("| %s | %s | %.1f MiB | %.2f× | %.1f s | %s | %s |" % (
            run["direction"], run["suite"], mib, mib / 32, run["seconds"], fmt(run["mb_s"], "MB/s"), status))
    if "error" in cli:
        L.append("| not measured: %s | | | | | | |" % cli["error"])
    L.append("")

    # ---------------------------------------------------------------- extras
    extra_dir = os.path.join(root, "docs", "bench")
    stems = sorted({os.path.splitext(os.path.basename(p))[0]
                    for p in glob.glob(os.path.join(extra_dir, "*.json")) + glob.glob(os.path.join(extra_dir, "*.md"))})
    if stems:
        L.append("## Other front ends")
        L.append("")
        L.append("Merged from `docs/bench/` (written by each front end's own `make bench` step; they may come "
                 "from another run than the figures above: see their dates).")
        L.append("")
    for stem in stems:
        md_path = os.path.join(extra_dir, stem + ".md")
        js_path = os.path.join(extra_dir, stem + ".json")
        text = ""
        if os.path.exists(md_path):
            with open(md_path) as f:
                text = f.read().strip()
        # The file's own top heading becomes the section title.
        m = re.match(r"#\s+([^\n]+)\n+", text)
        L.append("### %s" % (m.group(1).strip() if m else stem))
        L.append("")
        if text:
            L.append(demote(text[m.end():] if m else text))
            L.append("")
        extra = read_json(js_path) if os.path.exists(js_path) else None
        if isinstance(extra, dict) and isinstance(extra.get("results"), list):
            L.append("`docs/bench/%s.json`%s:" % (stem, " (%s %s)" % (extra.get("sdk", ""), extra.get("version", "")) if extra.get("sdk") else ""))
            L.append("")
            head = "| workload | suite | threads | figure | × limit | × kms-envelope (Rust) |"
            sep = "|---|---|---|---|---|---|"
            for _, lbl in PEERS:
                head += " × %s |" % lbl.split(" (")[0]
                sep += "---|"
            L.append(head)
            L.append(sep)
            known = [x[0] for x in WORKLOADS]
            for r in extra["results"]:
                if not isinstance(r, dict) or not isinstance(r.get("value"), (int, float)):
                    continue
                w, s, t = r.get("workload", "?"), r.get("suite", "–"), r.get("threads", 1)
                lim = workload_limit(core, w, s, t if isinstance(t, int) else 1)[0] if w in known else None
                rust = find(mine, w, s, t) or find(mine, w, s)
                line = "| %s | %s | %s | %s | %s | %s |" % (w, s, t, fmt(r["value"], r.get("unit", "")),
                                                          ratio(r["value"], lim), ratio(r["value"], rust))
                for name, _ in PEERS:
                    line += " %s |" % ratio(r["value"], peer_value(name, w, s))
                L.append(line)
            L.append("")
        elif os.path.exists(js_path) and not os.path.exists(md_path):
            L.append("(`docs/bench/%s.json` is not in the `results` format of `benches/`.)" % stem)
            L.append("")

    L.append("## Files")
    L.append("")
    L.append("![benchmarks](benchmarks.png)")
    L.append("")
    L.append("`benches/kms-bench` (this SDK and the limits, Rust), `benches/peer-rust-esdk` (aws-esdk), "
             "`benches/peer_python.py` (aws-encryption-sdk), `benches/peer-node/bench.mjs` "
             "(@aws-crypto/client-node), `benches/run.py` (the CLI run and this report), `mk/bench.mk`. Raw "
             "JSON of the last run: `$(CARGO_TARGET_DIR)/bench-results/`.")
    L.append("")

    os.makedirs(os.path.join(root, "docs"), exist_ok=True)
    with open(os.path.join(root, "docs", "benchmarks.md"), "w") as f:
        f.write("\n".join(L))
    log("wrote docs/benchmarks.md (%d of %d targets met)" % (met_count, len(targets)))
    chart(core, peers, os.path.join(root, "docs", "benchmarks.png"), machine, quick)
    return 0


def chart(core, peers, path, machine, quick):
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    except ImportError:
        log("matplotlib is missing: no chart")
        return
    mine = core.get("results", [])
    thread_counts = sorted({r["threads"] for r in mine if r["workload"].endswith("64MiB")}) or [1]
    peer_series = [(label, lambda w, s, res=peers[name].get("results"): find(res, w, s)) for name, label in PEERS]
    big_series = [("kms-envelope, %d thread%s" % (t, "s" if t > 1 else ""), lambda w, s, t=t: find(mine, w, s, t))
                  for t in thread_counts] + peer_series
    small_series = [("kms-envelope, default client", lambda w, s: find(mine, w, s))] + peer_series
    kms_colors = ["#1f5fa8", "#5b9bd5", "#9cc3e6"]
    colors = {label: kms_colors[min(i, 2)] for i, (label, _) in enumerate(big_series[:len(thread_counts)])}
    colors["kms-envelope, default client"] = "#0b3a6e"
    colors.update({PEERS[0][1]: "#d9822b", PEERS[1][1]: "#3a9a4a", PEERS[2][1]: "#b04a8b"})
    fig, axes = plt.subplots(1, 2, figsize=(14, 6))
    panels = [
        ("64 MiB message, frame 4096 (MB/s, log scale)", ["encrypt-64MiB", "decrypt-64MiB"], big_series),
        ("1 KiB messages, a fresh data key each (messages/s, log scale)", ["encrypt-1KiB", "decrypt-1KiB"], small_series),
    ]
    legend = {}
    for ax, (title, workloads, series) in zip(axes, panels):
        groups = [(w, s) for s in ("0478", "0578") for w in workloads]
        width = 0.8 / len(series)
        top = 1
        for i, (label, get) in enumerate(series):
            values = [get(w, s) or 0 for w, s in groups]
            top = max([top] + values)
            xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
            bars = ax.bar(xs, [max(v, 1e-9) for v in values], width, label=label, color=colors.get(label, "#777777"))
            legend.setdefault(label, bars)
            for b, v in zip(bars, values):
                if v:
                    ax.annotate(fmt(v), (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom",
                                fontsize=6, rotation=90, xytext=(0, 2), textcoords="offset points")
        # Limits as dashed lines over their groups.
        for g, (w, s) in enumerate(groups):
            lim, text = workload_limit(core, w, s, 1)
            if lim:
                top = max(top, lim)
                ax.hlines(lim, g - 0.45, g + 0.45, colors="black", linestyles="dashed", linewidth=1)
                short = text.split(" (")[0].replace("AES-256-GCM seal 4 KiB, 1 thread", "AES-GCM 4 KiB")
                short = short.replace("the primitives of one message", "its primitives")
                ax.annotate("limit: " + short,
                            (g + 0.45, lim), ha="right", va="bottom", fontsize=6, xytext=(0, 2),
                            textcoords="offset points", bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none"))
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(["%s\n0x%s" % (w.split("-")[0], s) for w, s in groups])
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.set_ylim(1, top * 4)
    fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=len(legend), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, 0.025))
    fig.suptitle("kms-envelope vs the AWS Encryption SDKs, raw AES-256 keyring%s — %s, %s cores" % (
        " (QUICK RUN, not representative)" if quick else "", machine["cpu"], machine["cores"]), fontsize=11)
    loads = [d.get("loadavg_before") for d in [core] + list(peers.values()) if d.get("loadavg_before") is not None]
    fig.text(0.5, 0.005, "make bench, %s%s. Dashed: the hardware limit (aws-lc-rs, same machine, same run). "
             "See docs/benchmarks.md for every ratio." % (
                 now(), "; 1-min load average before the parts: %.1f to %.1f" % (min(loads), max(loads)) if loads else ""),
             ha="center", va="bottom", fontsize=7, color="#444444")
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    fig.savefig(path, dpi=110)
    log("wrote %s" % path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("core")
    p.add_argument("--bin", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--quick", action="store_true")
    p = sub.add_parser("cli")
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--quick", action="store_true")
    p = sub.add_parser("peers")
    p.add_argument("--results", required=True)
    p.add_argument("--rust-bin", default="")
    p.add_argument("--node-dir", default="")
    p.add_argument("--python", default="")
    p.add_argument("--quick", action="store_true")
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    p.add_argument("--root", required=True)
    args = parser.parse_args(argv)
    return {"core": cmd_core, "cli": cmd_cli, "peers": cmd_peers, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
