#!/usr/bin/env bash
# The aggregation benchmark of docs/benchmarks.md: PDP's validated load into the lake against
# DuckDB's CSV-to-Parquet conversion of the same file, at 1M and 10M rows, in one run.
#
#   bench/aggregation.sh            # 1M and 10M rows
#   ROWS="1000000" bench/aggregation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pdp-target}"
ROWS="${ROWS:-1000000 10000000}"
WORK="${WORK:-$(mktemp -d)}"
python3 -m pip install -q duckdb==1.4.2
cargo bench -p pdp-lake --bench load --no-run -q
for n in $ROWS; do
  f="$WORK/people_$n.csv"
  [ -f "$f" ] || python3 bench/gen_people.py --rows "$n" --out "$f"
  echo "# $n rows, $(du -h "$f" | cut -f1)"
  cargo bench -q -p pdp-lake --bench load -- "$f"
  python3 bench/duckdb_csv.py "$f"
done
