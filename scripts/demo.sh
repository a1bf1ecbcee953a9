#!/usr/bin/env bash
# The demo behind `make demo`: a local key, one file, encrypt -> inspect -> decrypt.
set -euo pipefail
cli="$1"
dir="$2"
rm -rf "$dir" && mkdir -p "$dir"
if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; else bold=; plain=; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

step "kms-envelope keygen --out $dir/demo.key"
"$cli" keygen --out "$dir/demo.key"
ls -l "$dir/demo.key"

head -c 100000 /dev/urandom > "$dir/report.bin"
printf 'Quarterly numbers, do not share.\n' >> "$dir/report.bin"
step "kms-envelope encrypt --key demo.key --context team=finance --context purpose=demo -i report.bin -o report.bin.enc"
"$cli" encrypt --key "$dir/demo.key" --context team=finance --context purpose=demo \
  -i "$dir/report.bin" -o "$dir/report.bin.enc"
ls -l "$dir/report.bin" "$dir/report.bin.enc"

step "kms-envelope inspect report.bin.enc"
"$cli" inspect "$dir/report.bin.enc"

step "kms-envelope decrypt --key demo.key --context team=finance -i report.bin.enc -o report.out"
"$cli" decrypt --key "$dir/demo.key" --context team=finance \
  -i "$dir/report.bin.enc" -o "$dir/report.out"

step "cmp report.bin report.out"
cmp "$dir/report.bin" "$dir/report.out"
echo "OK: decrypted bytes match the original ($(wc -c < "$dir/report.out") bytes)."

step "kms-envelope decrypt --key demo.key --context team=marketing ...   (wrong context: must fail)"
if "$cli" decrypt --key "$dir/demo.key" --context team=marketing -i "$dir/report.bin.enc" -o "$dir/wrong.out"; then
  echo "unexpected success" >&2
  exit 1
else
  echo "refused as expected (exit status $?), and no output file: $( [ -e "$dir/wrong.out" ] && echo PRESENT || echo absent )"
fi
echo
echo "Demo files are in $dir"
