# Shared by the open portal benchmarks (bench/open_wrk.sh, bench/open_download.sh): sourced,
# not run. Expects SERVER, PORT and WORK set, and exports what the server reads.

# Starts `pdp serve` with the given arguments on PORT and waits until it listens.
start() {
  "$SERVER" serve "$@" --listen "127.0.0.1:$PORT" > "$WORK/server.out" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do grep -q "listening on" "$WORK/server.out" && return; sleep 0.5; done
  cat "$WORK/server.out" >&2; exit 1
}

# Stops it as an operator would (SIGINT: it writes its last counts and checkpoint).
stop() { kill -INT "$PID"; wait "$PID" || true; PID=""; }

# Builds the benchmark build of the server unless SERVER names one.
build_server() {
  if [ -z "${SERVER:-}" ]; then
    cargo build -q --release -p pdp --features bench
    SERVER="$CARGO_TARGET_DIR/release/pdp"
  fi
}
