#!/usr/bin/env bash
# Upload throughput over mutual TLS on loopback, beside the two limits that bound it: SHA-256
# of the same file (the hub hashes every byte it receives) and AES-256-GCM (TLS 1.3 encrypts
# every byte). Not part of `cargo test`; run it by hand and record the figures in
# docs/benchmarks.md.
#
#   scripts/bench-upload.sh [SIZE_MIB]      # default 1024 (1 GiB)
#
# Uses the release build of `hutong` (built if missing), a throw-away PKI, SQLite data dir and
# file in a temporary folder, and a server on 127.0.0.1 (port chosen by the OS).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${1:-1024}"
HUTONG=target/release/hutong
[ -x "$HUTONG" ] || cargo build --release -p hub --bin hutong
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
unset DATABASE_URL

"$HUTONG" certs init --pki "$WORK/pki" --name "Bench CA" >/dev/null
"$HUTONG" certs server --pki "$WORK/pki" --host 127.0.0.1 >/dev/null
"$HUTONG" certs issue --pki "$WORK/pki" --participant BENCH --out "$WORK/client" >/dev/null
"$HUTONG" init --data-dir "$WORK/data" >/dev/null
"$HUTONG" participants add --data-dir "$WORK/data" --code BENCH --scheme partner --name Bench \
  --settlement-account BENCH-1 --clearing-system CNAPS --member-id 999000000001 >/dev/null

echo "== making a ${SIZE_MIB} MiB file of random bytes"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/bench.dat"

"$HUTONG" serve --data-dir "$WORK/data" --pki "$WORK/pki" --listen 127.0.0.1:0 \
  --max-file-bytes $((SIZE_MIB * 1024 * 1024 * 2)) > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL="$(sed -n 's/^hutong listening on //p' "$WORK/serve.out")"

echo "== hutong upload over mTLS (TLS 1.3, loopback), server and client on this machine"
"$HUTONG" upload --hub "$URL" --cert "$WORK/client/BENCH.crt" --key "$WORK/client/BENCH.key" \
  --ca "$WORK/client/ca.crt" "$WORK/bench.dat" > "$WORK/receipt.json"
cat "$WORK/receipt.json"

echo "== sha256sum of the same file (the digest limit)"
# Read it once first so both runs see a warm page cache, as the upload did.
cat "$WORK/bench.dat" > /dev/null
START=$(date +%s.%N)
sha256sum "$WORK/bench.dat"
END=$(date +%s.%N)
awk -v s="$START" -v e="$END" -v m="$SIZE_MIB" 'BEGIN { t = e - s; printf "sha256sum: %.2f s, %.1f MB/s\n", t, m * 1048576 / t / 1e6 }'

echo "== openssl speed -evp sha256 (for comparison: the SHA-256 an optimised library reaches here)"
openssl speed -seconds 3 -evp sha256 2>/dev/null | tail -1

echo "== openssl speed -evp aes-256-gcm (the cipher limit; 16 KiB blocks ~ TLS records)"
openssl speed -seconds 3 -evp aes-256-gcm 2>/dev/null | tail -3
nproc | sed 's/^/cores: /'
