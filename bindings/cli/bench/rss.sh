#!/usr/bin/env bash
# Peak memory (max RSS) and time of streaming a large file through the CLI.
#
#   bindings/cli/bench/rss.sh CLI [SIZE_MIB] [LIMIT_MIB]
#
# CLI is a (release) kms-envelope binary. Encrypts and decrypts SIZE_MIB
# (default 1024) of random data with suites 0478 and 0578, one thread and the
# default thread count, through files and through stdin/stdout, and fails if
# any run's peak RSS exceeds LIMIT_MIB (default 32). Needs GNU time
# (/usr/bin/time; Debian package `time`).
set -euo pipefail

cli="$(realpath "$1")"
size_mib="${2:-1024}"
limit_mib="${3:-32}"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/kms-envelope-rss.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$cli" keygen --out bench.key >/dev/null
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > plain.bin

failed=0
# measure LABEL INPUT OUTPUT ARGS...: runs the CLI on files, or with
# INPUT "pipe:FILE" on a pipe fed from FILE and OUTPUT "pipe:FILE" with stdout
# (a pipe) drained into FILE.
measure() {
  local label="$1" input="$2" output="$3"
  shift 3
  local stats="$work/time.txt" source=/dev/null sink=/dev/null
  local args=("$@" --quiet)
  case "$input" in pipe:*) source="${input#pipe:}" ;; *) args+=(-i "$input") ;; esac
  case "$output" in pipe:*) sink="${output#pipe:}" ;; *) args+=(-o "$output") ;; esac
  cat "$source" | /usr/bin/time -f '%M %e' -o "$stats" "$cli" "${args[@]}" | cat > "$sink"
  read -r rss_kib secs < "$stats"
  local rss_mib=$((rss_kib / 1024))
  local mibps
  mibps=$(awk -v s="$secs" -v m="$size_mib" 'BEGIN { printf "%.0f", (s > 0 ? m / s : 0) }')
  local verdict=ok
  if [ "$rss_mib" -gt "$limit_mib" ]; then verdict="OVER ${limit_mib} MiB"; failed=1; fi
  printf '%-42s peak RSS %4d MiB  %6.2f s  %5s MiB/s  %s\n' \
    "$label" "$rss_mib" "$secs" "$mibps" "$verdict"
}

threads_default="$(nproc)"
for suite in 0478 0578; do
  for threads in 1 "$threads_default"; do
    t=(--threads "$threads")
    measure "encrypt $suite threads=$threads file->file" plain.bin ct.bin \
      encrypt -k bench.key --suite "$suite" "${t[@]}"
    measure "decrypt $suite threads=$threads file->file" ct.bin pt.bin \
      decrypt -k bench.key "${t[@]}"
    cmp -s plain.bin pt.bin || { echo "decrypted file differs" >&2; failed=1; }
    rm -f pt.bin
    # Through pipes. A signed message to stdout needs --release-unverified
    # beyond --max-buffered-plaintext (64 MiB by default).
    measure "encrypt $suite threads=$threads stdin->stdout" pipe:plain.bin pipe:ct.pipe \
      encrypt -k bench.key --suite "$suite" "${t[@]}"
    release=()
    label="decrypt $suite threads=$threads stdin->stdout"
    if [ "$suite" = 0578 ]; then release=(--release-unverified); label+=" (unverified)"; fi
    measure "$label" pipe:ct.pipe pipe:pt.pipe decrypt -k bench.key "${t[@]}" "${release[@]}"
    cmp -s plain.bin pt.pipe || { echo "decrypted stream differs" >&2; failed=1; }
    rm -f ct.bin ct.pipe pt.pipe
  done
done
exit "$failed"
