# Shared by the benchmark scripts: source it from the repository root after setting PORT and DURABILITY.
#
#   require_tools wrk sqlite3     # exits with a clear message when one is missing
#   build_turnstile               # release build; sets BIN, makes WORK (removed on exit) and the cleanup trap
#   start_turnstile               # serve on 127.0.0.1:$PORT over $WORK/bench.sqlite; sets SERVER_PID and URL
#   provision_tokens N            # N distinct users' access tokens, one per line, into $WORK/tokens.txt

require_tools() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "error: $tool is required (apt-get install $tool)" >&2; exit 1; }
    done
}

build_turnstile() {
    swift build -c release --product turnstile >/dev/null
    BIN="$(swift build -c release --show-bin-path)/turnstile"
    WORK=$(mktemp -d)
    SERVER_PID=
    trap cleanup_turnstile EXIT
}

cleanup_turnstile() {
    if [ -n "${CLEANUP_EXTRA:-}" ]; then eval "$CLEANUP_EXTRA" || true; fi
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}

start_turnstile() {
    # Password hashing strength is not what these measure: 1,000 rounds keeps provisioning quick. wrk drives each
    # token far past a person's rate, so the per-user rate limit is off, and provisioning signs up thousands of
    # accounts from one address, so the per-address sign-up budget is off too.
    "$BIN" serve --port "$PORT" --database "$WORK/bench.sqlite" --durability "$DURABILITY" \
        --password-hash-rounds 1000 --rate-limit off --auth-rate-limit off --log-level warning ${SERVE_FLAGS:-} \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    URL="http://127.0.0.1:$PORT"
    for _ in $(seq 100); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
}

provision_tokens() {
    python3 bench/provision.py "$URL" "$1" >"$WORK/tokens.txt"
}
