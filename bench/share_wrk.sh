#!/usr/bin/env bash
# The sharing benchmark of docs/benchmarks.md: with wrk on loopback, the verify and view
# endpoints (API key, grant check, masking, audit) against a bare axum handler in the same
# binary returning a response of the same size, in one run. The server is a build with the
# `bench` feature, the only kind that serves the bare handler.
#
#   bench/share_wrk.sh                      # 100 000 people, 20 s per run, 32 connections
#   ROWS=1000000 DURATION=30s CONNS=64 bench/share_wrk.sh
#   ROWS=10000000 KEYS=1000 bench/share_wrk.sh  # 10M people (loaded with `pdp load`), each request
#                                           # for one of 1 000 keys spread over the table
#   PEOPLE=/data/people_10m.csv ROWS=10000000 bench/share_wrk.sh  # a file generated before
#   PERF_DIR=/tmp/prof bench/share_wrk.sh  # also records a perf profile of the server per run
#   JOURNAL=false bench/share_wrk.sh        # accesses wait for a database commit instead
#   SERVER=/tmp/pdp-old bench/share_wrk.sh  # another build of the server, to compare builds
#   ROUNDS=5 DURATION=4s bench/share_wrk.sh  # the four runs five times over, then the ratios of
#                                           # the totals: the bare handler's own rate moves by a
#                                           # fifth from minute to minute on a shared machine, and
#                                           # short runs taken in turn see the same machine
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pdp-release}"
ROWS="${ROWS:-100000}"
DURATION="${DURATION:-20s}"
CONNS="${CONNS:-32}"
PORT="${PORT:-18080}"
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
if [ -z "${SERVER:-}" ]; then
  cargo build -q --release -p pdp --features bench
  SERVER="$CARGO_TARGET_DIR/release/pdp"
fi
# PEOPLE names a file generated before with the same ROWS (the generator is seeded), to skip
# generating 10M rows again.
if [ -n "${PEOPLE:-}" ]; then ln -s "$(realpath "$PEOPLE")" "$WORK/people.csv"; else
  python3 bench/gen_people.py --rows "$ROWS" --out "$WORK/people.csv"; fi

PDP_DATA_DIR="$WORK/data" PDP_SECURITY__SECURE_COOKIES=false PDP_LOG=warn \
  PDP_SECURITY__API_KEY_RATE_PER_SECOND=1000000 PDP_SECURITY__VERIFY_RATE_PER_GRANT=0 PDP_AUDIT__ACCESS_JOURNAL="${JOURNAL:-true}" \
  "$SERVER" serve --demo --demo-scale 0.01 --listen "127.0.0.1:$PORT" > "$WORK/server.out" 2>&1 &
PID=$!
for _ in $(seq 1 120); do grep -q "listening on" "$WORK/server.out" && break; sleep 0.5; done
BASE="http://127.0.0.1:$PORT"
# Past a million rows the file is larger than the API's body limit: `pdp load` loads it (LOADER
# names another command to run it with, e.g. a script that profiles it).
if [ "$ROWS" -gt 1000000 ]; then export LOAD_WITH="${LOADER:-$SERVER}"; fi
SETUP="$(PDP_DATA_DIR="$WORK/data" ROWS="$ROWS" KEYS="${KEYS:-1}" python3 bench/share_setup.py "$BASE" "$WORK/server.out" "$WORK/people.csv")"
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$SETUP" "$1"; }
TOKEN="$(get token)"; VERIFY="$(get verify)"; VIEW="$(get view)"; KEY="$(get key)"; NAME="$(get name)"
echo "# $ROWS people loaded ($(get accepted) accepted, load $(get load_seconds) s); verify grant $VERIFY, view grant $VIEW; ${KEYS:-1} key(s); wrk -t2 -c$CONNS -d$DURATION"

BODY="{\"key\":\"$KEY\",\"values\":{\"person_name\":\"$NAME\"}}"
VIEW_BODY="{\"key\":\"$KEY\"}"
# Each request takes one of the keys in turn (one key unless KEYS is set).
python3 - "$SETUP" "$TOKEN" "$WORK" <<'PY'
import json, sys
setup, token, work = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
def lua(bodies):
    items = ",\n".join("'" + json.dumps(b, ensure_ascii=False) + "'" for b in bodies)
    return f"""bodies = {{
{items}
}}
n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
"""
keys = setup["keys"]
open(f"{work}/verify.lua", "w").write(lua([{"key": k, "values": {"person_name": v}} for k, v in keys]))
open(f"{work}/view.lua", "w").write(lua([{"key": k} for k, _ in keys]))
PY
VERIFY_URL="$BASE/api/v1/share/grants/$VERIFY/verify"
VIEW_URL="$BASE/api/v1/share/grants/$VIEW/records"
VERIFY_BYTES=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$BODY" "$VERIFY_URL" | wc -c)
VIEW_BYTES=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$VIEW_BODY" "$VIEW_URL" | wc -c)
curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$BODY" "$VERIFY_URL"; echo
curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$VIEW_BODY" "$VIEW_URL"; echo
# Whole responses, status line and headers included: the bare handler's must be the same size.
size() { curl -s -i "$@" | wc -c; }
SIZES="$(size -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$BODY" "$VERIFY_URL") $(size "$BASE/bench/bare?bytes=$VERIFY_BYTES") $(size -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$VIEW_BODY" "$VIEW_URL") $(size "$BASE/bench/bare?bytes=$VIEW_BYTES")"
read -r V VB W WB <<<"$SIZES"
echo "# response bytes: verify $V, bare $VB; view $W, bare $WB"
# The floor must answer a response of the same size, headers included, or the ratio means nothing.
[ "$V" = "$VB" ] && [ "$W" = "$WB" ] || { echo "the bare handler's responses differ in size from the access path's" >&2; exit 1; }

# The server's CPU time so far, user and system, in clock ticks of 10 ms (all its threads).
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
  echo "$4 $requests" >> "$WORK/totals"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" \
    "$(python3 -c "import sys; a, b, n = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3]); print('%.1f / %.1f' % ((int(b[0]) - int(a[0])) * 1e4 / n, (int(b[1]) - int(a[1])) * 1e4 / n))" "$cpu0" "$cpu1" "$requests")"
}
echo "| endpoint | requests/s | p50 | p99 | non-2xx | server CPU µs per request (user / system) |"
echo "|---|---:|---:|---:|---:|---:|"
for _ in $(seq 1 "${ROUNDS:-1}"); do
  run "bare handler, $VERIFY_BYTES B" "" "$BASE/bench/bare?bytes=$VERIFY_BYTES" bare-verify
  run "verify (POST, $VERIFY_BYTES B)" "$WORK/verify.lua" "$VERIFY_URL" verify
  run "bare handler, $VIEW_BYTES B" "" "$BASE/bench/bare?bytes=$VIEW_BYTES" bare-view
  run "view (POST, $VIEW_BYTES B)" "$WORK/view.lua" "$VIEW_URL" view
done
# The ratios of the totals over every round, and the lowest and highest round's.
python3 - "$WORK/totals" <<'PY'
import sys
runs = [line.split() for line in open(sys.argv[1])]
rounds = [dict((k, int(n)) for k, n in runs[i:i + 4]) for i in range(0, len(runs), 4)]
for kind in ("verify", "view"):
    total = sum(r[kind] for r in rounds) / sum(r["bare-" + kind] for r in rounds)
    each = [r[kind] / r["bare-" + kind] for r in rounds]
    print(f"# {kind} / bare: {total:.3f} over {len(rounds)} round(s) (each {min(each):.3f} to {max(each):.3f})")
PY
echo "# server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)"
# Every access is on the record: the grants' usage counters, read back after the runs.
for g in "$VERIFY" "$VIEW"; do
  echo "# grant $g usage: $(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/share/grants/$g" | python3 -c "import json,sys; print(json.load(sys.stdin).get('usage'))")"
done
