#!/usr/bin/env bash
# Hostile clients against `turnstile serve` (release) with 4,096 open files: idle connections past a client's share,
# WebSocket subscribe-and-drop loops, a ping flood, trickled bodies. Prints what the service holds, the worst /health
# latency during each flood, and its memory. Loopback only (127.0.0.1-5); every flood is bounded and ends by itself.
#
#   bench/flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18480}
DURABILITY=${DURABILITY:-normal}
# shellcheck source=bench/lib.sh
. bench/lib.sh
require_tools curl python3
build_turnstile
ulimit -n 4096
"$BIN" serve --port "$PORT" --database "$WORK/flood.sqlite" --durability "$DURABILITY" \
    --password-hash-rounds 1000 --log-level warning >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
python3 bench/flood.py "$URL" "$SERVER_PID"
kill -0 "$SERVER_PID" && echo "the service is still up"
