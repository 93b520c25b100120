#!/usr/bin/env bash
# Parse + translate speed of every adapters format, with `wc -l` of the same file as the read
# limit, in one run. Usage: scripts/bench-adapters.sh [RECORDS] [BIG_MB]
#   RECORDS  records per format file (default 1000000)
#   BIG_MB   also stream a mohurd file of about this many MB and report the reader's peak RSS
#            (default 0: skip; 1024 for the 1 GB flat-memory check)
# Results go to stdout; docs/benchmarks.md records a run.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
BIG_MB="${2:-0}"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT

cargo build --release -q -p adapters --example bench_formats
BIN=target/release/examples/bench_formats

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

printf '%-11s %10s %8s %12s %14s %10s %14s\n' format records MB "wc -l s" "wc -l lines/s" "read s" "records/s"
for f in hutong-xml local-csv mohurd mot pboc; do
  file="$DIR/$f.dat"
  "$BIN" gen "$f" "$N" "$file"
  mb=$(echo "$(stat -c %s "$file") / 1000000" | bc -l)
  lines=$(wc -l < "$file")
  wc_s=$(seconds wc -l "$file")
  json=$("$BIN" read "$f" "$file")
  read_s=$(echo "$(echo "$json" | sed -E 's/.*"millis":([0-9]+).*/\1/') / 1000" | bc -l)
  rps=$(echo "$json" | sed -E 's/.*"records_per_s":([0-9]+).*/\1/')
  printf '%-11s %10d %8.1f %12.3f %14.0f %10.3f %14d\n' "$f" "$N" "$mb" "$wc_s" "$(echo "$lines / $wc_s" | bc -l)" "$read_s" "$rps"
  rm -f "$file"
done

if [ "$BIG_MB" -gt 0 ]; then
  # A mohurd detail line is 181 bytes with its newline.
  big=$(( BIG_MB * 1000000 / 181 ))
  file="$DIR/big.dat"
  "$BIN" gen mohurd "$big" "$file"
  echo "big file: $(stat -c %s "$file") bytes, $big records"
  /usr/bin/time -f 'reader peak RSS: %M KiB, %e s' "$BIN" read mohurd "$file"
fi
