#!/usr/bin/env bash
# The aggregation benchmark of docs/benchmarks.md: PDP's validated load into the lake against
# DuckDB's CSV-to-Parquet conversion of the same file, at 1M and 10M rows, in one run.
#
#   bench/aggregation.sh                      # 1M and 10M rows, 3 rounds
#   ROWS="1000000" ROUNDS=5 bench/aggregation.sh
#
# Each round runs both tools on every size, one right after the other (PDP first in odd rounds,
# DuckDB first in even ones), so both see the machine in the same state; the summary gives each
# round's ratio and the median of each tool. On the 2-core VMs here the
# same run can take twice as long from one minute to the next (the first touch of memory the
# host has taken back is slow, see docs/benchmarks.md), so one pair of runs says little and
# only ratios within a round compare.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pdp-target}"
ROWS="${ROWS:-1000000 10000000}"
ROUNDS="${ROUNDS:-3}"
WORK="${WORK:-$(mktemp -d)}"
python3 -m pip install -q duckdb==1.4.2
cargo bench -p pdp-lake --bench load --no-run -q
for n in $ROWS; do
  f="$WORK/people_$n.csv"
  [ -f "$f" ] || python3 bench/gen_people.py --rows "$n" --out "$f"
done
results="$WORK/results.jsonl"
: > "$results"
pdp() { cargo bench -q -p pdp-lake --bench load -- "$1" | tee -a "$results"; }
duck() { python3 bench/duckdb_csv.py "$1" | tee -a "$results"; }
for round in $(seq 1 "$ROUNDS"); do
  for n in $ROWS; do
    f="$WORK/people_$n.csv"
    echo "# round $round, $n rows, $(du -h "$f" | cut -f1)"
    # Odd rounds run PDP first, even rounds DuckDB first: on these VMs a run that follows the
    # other tool's (which freed hundreds of MB) can be much slower, so neither always takes it.
    if [ $((round % 2)) -eq 1 ]; then pdp "$f"; duck "$f"; else duck "$f"; pdp "$f"; fi
  done
done
python3 - "$results" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("\n| rows | PDP s (median) | DuckDB s (median) | PDP ÷ DuckDB, rows/s, each round | PDP peak RSS MB | DuckDB peak RSS MB |")
print("|---:|---:|---:|---|---:|---:|")
for n in sorted({r["rows"] for r in runs}):
    pdp = [r for r in runs if r["rows"] == n and r["tool"] == "pdp"]
    duck = [r for r in runs if r["rows"] == n and r["tool"] != "pdp"]
    ratios = ", ".join(f"{d['seconds'] / p['seconds']:.2f}" for p, d in zip(pdp, duck))
    print(f"| {n:,} | {statistics.median(r['seconds'] for r in pdp):.2f} | "
          f"{statistics.median(r['seconds'] for r in duck):.2f} | {ratios} | "
          f"{max(r['peak_rss_mb'] for r in pdp):.0f} | {max(r['peak_rss_mb'] for r in duck):.0f} |")
EOF
