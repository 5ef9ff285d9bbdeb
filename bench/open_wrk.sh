#!/usr/bin/env bash
# The open portal benchmark of docs/benchmarks.md: anonymous dataset pages and searches of the
# portal with 100 000 open datasets in the catalog, under wrk on loopback (64 connections),
# beside the bare handler of the same binary answering a response of the dataset page's size.
# The server is a build with the `bench` feature (the bare handler and `pdp bench seed-open`).
#
#   bench/open_wrk.sh                        # 100 000 open datasets, 20 s per run, 64 connections
#   DATASETS=10000 DURATION=10s bench/open_wrk.sh
#   KEEP=/tmp/open-bench bench/open_wrk.sh    # keep the seeded data directory there (and reuse it)
#   PERF_DIR=/tmp/prof bench/open_wrk.sh     # also records a perf profile of the server per run
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pdp-release}"
DATASETS="${DATASETS:-100000}"
DURATION="${DURATION:-20s}"
CONNS="${CONNS:-64}"
PORT="${PORT:-18081}"
WORK="$(mktemp -d)"
DATA="${KEEP:-$WORK/data}"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
source bench/lib.sh
build_server
export PDP_DATA_DIR="$DATA" PDP_SECURITY__SECURE_COOKIES=false PDP_LOG=warn PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND=0
if [ ! -e "$DATA/.seeded-$DATASETS" ]; then
  start --demo --demo-scale 0.01
  stop
  "$SERVER" bench seed-open --datasets "$DATASETS"
  touch "$DATA/.seeded-$DATASETS"
fi
start
BASE="http://127.0.0.1:$PORT"
# The first read builds the open catalog; the server rebuilds it off the request path later.
FIRST="$(curl -s -o /dev/null -w '%{time_total}' "$BASE/open/datasets")"
TOTAL="$(curl -s "$BASE/api/v1/open/datasets?limit=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")"
echo "# $TOTAL open datasets; first catalog read ${FIRST} s; wrk -t2 -c$CONNS -d$DURATION"

# 1 000 dataset pages spread over the catalog, and the search words of the seeded names.
python3 - "$BASE" "$WORK" <<'PY'
import json, random, sys, urllib.request
base, work = sys.argv[1], sys.argv[2]
total = json.load(urllib.request.urlopen(f"{base}/api/v1/open/datasets?limit=1"))["total"]
rng = random.Random(7)
ids = []
for off in sorted(rng.sample(range(max(total - 100, 1)), 10)):
    ids += [d["entry_id"] for d in json.load(urllib.request.urlopen(f"{base}/api/v1/open/datasets?limit=100&offset={off}"))["datasets"]]
words = ["交通", "医疗", "教育", "环境", "气象", "旅游", "住房", "就业", "养老", "农业", "企业", "人口 统计", "空气质量", "公交 线路"]
def lua(paths):
    items = ",\n".join("'" + p + "'" for p in paths)
    return f"paths = {{\n{items}\n}}\nn = 0\nrequest = function()\n  n = n % #paths + 1\n  return wrk.format('GET', paths[n])\nend\n"
from urllib.parse import quote
open(f"{work}/page.lua", "w").write(lua([f"/open/datasets/{i}" for i in ids]))
open(f"{work}/search.lua", "w").write(lua([f"/open/datasets?q={quote(w)}" for w in words]))
open(f"{work}/api.lua", "w").write(lua([f"/api/v1/open/datasets?q={quote(w)}" for w in words]))
open(f"{work}/first", "w").write(str(ids[0]))
PY
PAGE_BYTES="$(curl -s "$BASE/open/datasets/$(cat "$WORK/first")" | wc -c)"
SEARCH_BYTES="$(curl -s "$BASE/open/datasets?q=%E4%BA%A4%E9%80%9A" | wc -c)"
echo "# a dataset page is $PAGE_BYTES B, a search page $SEARCH_BYTES B"

cpu() { awk '{print $14, $15}' "/proc/$PID/stat"; }
run() { # name, lua script or '', url, tag of the profile
  local out perf_pid=""
  if [ -n "${PERF_DIR:-}" ]; then
    mkdir -p "$PERF_DIR"
    perf record -q -F 499 -g -p "$PID" -o "$PERF_DIR/$4.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  local cpu0; cpu0="$(cpu)"
  if [ -n "$2" ]; then out="$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$2" "$3")"; else out="$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$3")"; fi
  local rps p50 p99 non2xx cpu1 requests
  cpu1="$(cpu)"
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" \
    "$(python3 -c "import sys; a, b, n = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3]); print('%.0f / %.0f' % ((int(b[0]) - int(a[0])) * 1e4 / n, (int(b[1]) - int(a[1])) * 1e4 / n))" "$cpu0" "$cpu1" "$requests")"
}
echo "| endpoint | requests/s | p50 | p99 | non-2xx | server CPU µs per request (user / system) |"
echo "|---|---:|---:|---:|---:|---:|"
run "bare handler, $PAGE_BYTES B" "" "$BASE/bench/bare?bytes=$PAGE_BYTES" bare
run "dataset page (1 000 datasets in turn)" "$WORK/page.lua" "$BASE" page
run "search page (14 queries in turn)" "$WORK/search.lua" "$BASE" search
run "search API (the same queries)" "$WORK/api.lua" "$BASE" api
echo "# server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)"
