#!/usr/bin/env bash
# The open download benchmark of docs/benchmarks.md: a 10-million-row open release downloaded
# as CSV through the open API by an anonymous client (streamed from the release's Parquet file),
# and DuckDB writing the same Parquet file to CSV, in one run; the server's peak RSS.
#
#   bench/open_download.sh                   # 10 000 000 rows
#   ROWS=1000000 bench/open_download.sh
#   KEEP=/tmp/open-dl bench/open_download.sh # keep the data directory there (and reuse it)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pdp-release}"
ROWS="${ROWS:-10000000}"
PORT="${PORT:-18082}"
WORK="$(mktemp -d)"
DATA="${KEEP:-$WORK/data}"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
source bench/lib.sh
build_server
export PDP_DATA_DIR="$DATA" PDP_SECURITY__SECURE_COOKIES=false PDP_LOG=warn PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND=0
if [ ! -e "$DATA/.release-$ROWS" ]; then
  start --demo --demo-scale 0.01
  stop
  "$SERVER" bench seed-release --rows "$ROWS" > "$DATA/.release-$ROWS"
fi
read -r ID FILE < "$DATA/.release-$ROWS"
start
BASE="http://127.0.0.1:$PORT"
echo "# release $ID: $ROWS rows, Parquet $(du -h "$FILE" | cut -f1)"
status() { awk -v k="$1" '$1==k":" {print $2}' "/proc/$PID/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
RSS0="$(status VmRSS)"; CPU0="$(cpu)"
# The server's peak RSS, sampled every 50 ms during the download (VmHWM is the whole life's).
( peak=0; while kill -0 "$PID" 2>/dev/null; do r="$(status VmRSS)"; [ "${r:-0}" -gt "$peak" ] && peak="$r" && echo "$peak" > "$WORK/peak"; sleep 0.05; done ) &
SAMPLER=$!
read -r SECS BYTES < <(curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$BASE/api/v1/open/releases/$ID/download/csv")
CPU1="$(cpu)"
kill "$SAMPLER" 2>/dev/null || true
PEAK="$(cat "$WORK/peak")"
python3 - "$ROWS" "$SECS" "$BYTES" "$RSS0" "$PEAK" "$CPU0" "$CPU1" <<'PY'
import json, sys
rows, secs, size, rss0, peak, cpu0, cpu1 = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
print(json.dumps({"tool": "pdp open download (curl)", "rows": rows, "bytes": size, "seconds": round(secs, 2),
                  "rows_per_s": round(rows / secs), "server_cpu_s": round((cpu1 - cpu0) / 100, 2),
                  "server_rss_before_mb": round(rss0 / 1024, 1), "server_peak_rss_mb": round(peak / 1024, 1)}))
PY
python3 bench/duckdb_export.py "$FILE"
