#!/usr/bin/env python3
"""Baseline for the bulk-export and open download benchmarks: DuckDB reads the same table's
Parquet files (or one Parquet file) and writes them as CSV (no masking). Prints one JSON line
like the PDP bench.

    python3 bench/duckdb_export.py LAKE_DIR/BENCH_PEOPLE
    python3 bench/duckdb_export.py LAKE_DIR/_open/bench-10000000.parquet
"""
import json
import os
import resource
import sys
import tempfile
import time

import duckdb


def main() -> None:
    table = sys.argv[1]
    files = table if table.endswith(".parquet") else f"{table}/*.parquet"
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect()
        started = time.perf_counter()
        con.execute(f"COPY (SELECT * FROM read_parquet('{files}')) TO '{d}/out.csv' (FORMAT csv)")
        secs = time.perf_counter() - started
        size = os.path.getsize(f"{d}/out.csv")
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{files}')").fetchone()[0]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "tool": f"duckdb {duckdb.__version__}",
        "phase": "export_csv",
        "rows": rows,
        "bytes": size,
        "seconds": round(secs, 2),
        "rows_per_s": round(rows / secs),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }))


if __name__ == "__main__":
    main()
