#!/usr/bin/env bash
# The sharing benchmark's access path counted in instructions: the server of
# bench/share_wrk.sh runs under valgrind's callgrind, and N requests of each kind (the bare
# handler, verify, view) are sent one after another over one keep-alive connection with
# counting switched on only around them. An instruction count does not move with what else the
# machine is doing, so a change to the access path shows in one run, where wrk's requests per
# second need several alternating runs to tell a few per cent from noise. It counts the
# server's user-space work (the access journal's indexer and the database included), not the
# kernel's: the loopback and the wake-ups are what wrk measures.
#
#   bench/share_callgrind.sh                     # 2000 requests of each kind
#   N=500 OUT=/tmp/cg bench/share_callgrind.sh   # keeps the callgrind files in /tmp/cg
#   SERVER=/tmp/pdp-old bench/share_callgrind.sh  # another build of the server, to compare
#
# Read a profile with `callgrind_annotate --inclusive=yes OUT/verify.out | head -60`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pdp-release}"
N="${N:-2000}"
PORT="${PORT:-18081}"
WORK="$(mktemp -d)"
OUT="${OUT:-$WORK/cg}"
mkdir -p "$OUT"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ -z "${SERVER:-}" ]; then
  cargo build -q --release -p pdp --features bench
  SERVER="$CARGO_TARGET_DIR/release/pdp"
fi
python3 bench/gen_people.py --rows "${ROWS:-100000}" --out "$WORK/people.csv"

PDP_DATA_DIR="$WORK/data" PDP_SECURITY__SECURE_COOKIES=false PDP_LOG=warn \
  PDP_SECURITY__API_KEY_RATE_PER_SECOND=1000000 PDP_SECURITY__VERIFY_RATE_PER_GRANT=0 \
  valgrind --tool=callgrind --instr-atstart=no --log-file="$WORK/valgrind.log" --callgrind-out-file="$OUT/callgrind.%p" \
  "$SERVER" serve --demo --demo-scale 0.01 --listen "127.0.0.1:$PORT" > "$WORK/server.out" 2>&1 &
PID=$!
for _ in $(seq 1 600); do grep -q "listening on" "$WORK/server.out" && break; sleep 0.5; done
grep -q "listening on" "$WORK/server.out" || { tail -20 "$WORK/server.out" "$WORK/valgrind.log"; exit 1; }
BASE="http://127.0.0.1:$PORT"
SETUP="$(python3 bench/share_setup.py "$BASE" "$WORK/server.out" "$WORK/people.csv")"

# One kind of request N times, counted: instrumentation on, counters zeroed, the requests, a
# read of the grant (which waits until the journal's records are in the database), a dump.
python3 - "$BASE" "$SETUP" "$N" "$PID" "$OUT" <<'PY'
import http.client, json, subprocess, sys, urllib.parse

base, setup, n, pid, out = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
host = urllib.parse.urlparse(base).netloc
auth = {"Authorization": f"Bearer {setup['token']}"}
body = json.dumps({"key": setup["key"], "values": {"person_name": setup["name"]}}, ensure_ascii=False).encode()
verify = f"/api/v1/share/grants/{setup['verify']}/verify"
view = f"/api/v1/share/grants/{setup['view']}/records"
view_body = json.dumps({"key": setup["key"]}).encode()
conn = http.client.HTTPConnection(host)

def send(method, path, payload=None, headers=None):
    conn.request(method, path, body=payload, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data

size = {"verify": len(send("POST", verify, body, {**auth, "Content-Type": "application/json"})),
        "view": len(send("POST", view, view_body, {**auth, "Content-Type": "application/json"}))}
kinds = [
    ("bare-verify", lambda: send("GET", f"/bench/bare?bytes={size['verify']}")),
    ("verify", lambda: send("POST", verify, body, {**auth, "Content-Type": "application/json"})),
    ("bare-view", lambda: send("GET", f"/bench/bare?bytes={size['view']}")),
    ("view", lambda: send("POST", view, view_body, {**auth, "Content-Type": "application/json"})),
]
ctl = lambda *a: subprocess.run(["callgrind_control", *a, pid], check=True, capture_output=True)
print(f"| requests | instructions per request ({n} requests each) |")
print("|---|---:|")
for name, call in kinds:
    call()  # warm: the access cache, the lake's key index
    ctl("--instr=on")
    ctl("-z")
    for _ in range(n):
        call()
    send("GET", f"/api/v1/share/grants/{setup['verify']}", None, auth)
    ctl(f"--dump={name}")
    ctl("--instr=off")
    # The dump is the newest file of this process: find its total.
    files = subprocess.run(["ls", "-t", out], capture_output=True, text=True).stdout.split()
    newest = next(f for f in files if f.startswith("callgrind."))
    total = 0
    for line in open(f"{out}/{newest}"):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
            break
    subprocess.run(["mv", f"{out}/{newest}", f"{out}/{name}.out"], check=True)
    print(f"| {name} | {total / n:,.0f} |")
PY
