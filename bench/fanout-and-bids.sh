#!/usr/bin/env bash
# Issue 4's figures: bids per second on ONE contested item (wrk, many bidders), checked against the store afterwards,
# then fan-out of every bid to many WebSocket subscribers of one item (turnstile stress fanout), with the server's
# resident memory sampled throughout. Loopback only; bounded by DURATION and the fan-out's bid count.
#
#   bench/fanout-and-bids.sh                                  # defaults below
#   SUBSCRIBERS=1000 BIDS=20 RUNS=1 bench/fanout-and-bids.sh
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-1000}               # distinct bidders, each with their own token
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5s}
SUBSCRIBERS=${SUBSCRIBERS:-10000}
BIDS=${BIDS:-50}
INTERVAL=${INTERVAL:-20ms}
RUNS=${RUNS:-3}
PORT=${PORT:-18182}
DURABILITY=${DURABILITY:-full}

# shellcheck source=bench/lib.sh
. bench/lib.sh
require_tools wrk sqlite3 python3 curl
build_turnstile
SAMPLER_PID=
CLEANUP_EXTRA='[ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null'
ulimit -n "$(ulimit -Hn)"
# One machine, one address: the per-client connection cap (1,024 by default) is lifted for the subscribers.
SERVE_FLAGS="--max-connections 30000 --max-connections-per-client 30000" start_turnstile
provision_tokens "$USERS"
SELLER=$(head -1 "$WORK/tokens.txt")
ITEM_ID=$(curl -sf -X POST "$URL/api/v1/items/" -H "Authorization: Bearer $SELLER" \
    -H 'Content-Type: application/json' \
    -d '{"title":"Benchmark","starting_price_cents":100,"min_increment_cents":1}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

echo "== POST /api/v1/items/$ITEM_ID/bids: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $USERS bidders, durability $DURABILITY"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/bid.lua "$URL/api/v1/items/$ITEM_ID/bids" \
    -- "$WORK/tokens.txt" "$THREADS" | tee "$WORK/bids.txt"
ACCEPTED=$(sed -n 's/^statuses: 201=\([0-9]*\).*/\1/p' "$WORK/bids.txt")
OTHER=$(sed -n 's/.* other=\([0-9]*\)$/\1/p' "$WORK/bids.txt")
# The store, read back from the file itself: every accepted bid beats the one before it, and the item agrees.
read -r STORED BROKEN <<<"$(sqlite3 -separator ' ' "$WORK/bench.sqlite" "
    SELECT (SELECT COUNT(*) FROM bids WHERE item_id = $ITEM_ID),
           (SELECT COUNT(*) FROM bids a JOIN bids b ON b.item_id = a.item_id AND b.seq = a.seq + 1
             WHERE a.item_id = $ITEM_ID AND b.amount_cents <= a.amount_cents)")"
IN_FLIGHT=$((STORED - ACCEPTED))
if [ "$BROKEN" = 0 ] && [ "$OTHER" = 0 ] && [ "$IN_FLIGHT" -ge 0 ] && [ "$IN_FLIGHT" -le "$CONNECTIONS" ]; then
    echo "books: exact ($STORED bids stored, strictly increasing; $IN_FLIGHT answered after wrk stopped counting)"
else
    echo "books: NOT EXACT (stored $STORED, accepted $ACCEPTED, out of order $BROKEN, other $OTHER)" >&2
    exit 2
fi

# The server's resident memory, sampled every 100 ms; the peak is printed per run.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
for run in $(seq "$RUNS"); do
    echo
    echo "== fanout run $run: $SUBSCRIBERS subscribers, $BIDS bids $INTERVAL apart (server RSS before: $(($(rss_kib) / 1024)) MiB)"
    (peak=0; while :; do now=$(rss_kib); [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" >"$WORK/peak"; sleep 0.1; done) &
    SAMPLER_PID=$!
    "$BIN" stress fanout --target "$URL" --connections "$SUBSCRIBERS" --bids "$BIDS" --interval "$INTERVAL" \
        --json "$WORK/fanout-$run.json" | grep -E '^(PASS|FAIL|Note|Result|bid )' || true
    kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=
    echo "server RSS peak: $(($(cat "$WORK/peak") / 1024)) MiB"
done
