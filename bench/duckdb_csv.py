#!/usr/bin/env python3
"""Baseline for the aggregation benchmark: DuckDB converts the same CSV to Parquet with no
validation. Prints one JSON line like the PDP bench (rows, seconds, rows/s, peak RSS).

    python3 bench/duckdb_csv.py /tmp/people_10m.csv
"""
import json
import resource
import sys
import tempfile
import time

import duckdb


def main() -> None:
    src = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect()
        started = time.perf_counter()
        con.execute(
            f"COPY (SELECT * FROM read_csv('{src}', header = true)) TO '{d}/out.parquet' (FORMAT parquet)"
        )
        secs = time.perf_counter() - started
        rows = con.execute(f"SELECT count(*) FROM '{d}/out.parquet'").fetchone()[0]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "tool": f"duckdb {duckdb.__version__}",
        "rows": rows,
        "seconds": round(secs, 2),
        "rows_per_s": round(rows / secs),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }))


if __name__ == "__main__":
    main()
