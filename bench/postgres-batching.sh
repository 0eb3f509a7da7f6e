#!/usr/bin/env bash
# Issue 5's figures: booking throughput on ONE hot event on PostgreSQL, with write batching and with one claim per
# transaction (--no-batching), then two instances sharing the database, each driven by its own wrk; the books are
# read back from the database after every run. Loopback only; bounded by DURATION.
#
#   bench/postgres-batching.sh                     # defaults below
#   DURATION=10s CONNECTIONS=128 bench/postgres-batching.sh
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-1000}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5s}
SEATS=${SEATS:-100000}
PORT=${PORT:-18183}

# shellcheck source=bench/lib.sh
. bench/lib.sh
require_tools wrk psql python3 curl
build_turnstile
# shellcheck source=.ci/postgres.sh
. .ci/postgres.sh
trap 'turnstile_postgres_stop; cleanup_turnstile' EXIT
SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

# One fresh database per setting; prints "requests/s created refused other stored left".
run_setting() { # name extra-serve-flags instances
    local name=$1 flags=$2 instances=$3 db="bench_$1"
    psql -q "$TURNSTILE_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
    local url="${TURNSTILE_POSTGRES_URL%/*}/$db" pids=() ports=()
    for i in $(seq "$instances"); do
        local port=$((PORT + i))
        # shellcheck disable=SC2086
        "$BIN" serve --port "$port" --database "$url" --jwt-secret "$SECRET" --password-hash-rounds 1000 \
            --rate-limit off --auth-rate-limit off \
            --log-level error $flags >"$WORK/$name-$i.log" 2>&1 &
        pids+=($!)
        ports+=("$port")
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    done
    URL="http://127.0.0.1:${ports[0]}"
    provision_tokens "$USERS"
    local organizer event
    organizer=$(head -1 "$WORK/tokens.txt")
    event=$(curl -sf -X POST "$URL/api/v1/events/" -H "Authorization: Bearer $organizer" \
        -H 'Content-Type: application/json' \
        -d "{\"title\":\"Benchmark\",\"date\":\"2027-01-01T20:00:00Z\",\"seat_count\":$SEATS,\"max_seats_per_user\":$SEATS}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    local wrks=()
    for port in "${ports[@]}"; do
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/booking.lua \
            "http://127.0.0.1:$port/api/v1/bookings/" -- "$WORK/tokens.txt" "$event" >"$WORK/$name-wrk-$port.txt" &
        wrks+=($!)
    done
    wait "${wrks[@]}"
    for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
    local rps=0 created=0 refused=0 other=0
    for port in "${ports[@]}"; do
        local out="$WORK/$name-wrk-$port.txt"
        rps=$(python3 -c "print(round($rps + $(awk '/^Requests\/sec/ {print $2}' "$out"), 1))")
        created=$((created + $(sed -n 's/^statuses: 201=\([0-9]*\).*/\1/p' "$out")))
        refused=$((refused + $(sed -n 's/.* 409=\([0-9]*\).*/\1/p' "$out")))
        other=$((other + $(sed -n 's/.* other=\([0-9]*\)$/\1/p' "$out")))
        grep -E "^ +(50|99)%" "$out" | tr -s ' ' | sed "s/^/  $name :$port p/"
    done
    read -r stored left <<<"$(psql -qtA -F ' ' "$url" -c \
        "SELECT (SELECT COUNT(*) FROM bookings WHERE event_id = $event), available_seats FROM events WHERE id = $event")"
    echo "$name: $rps requests/s, 201=$created 409=$refused other=$other, stored $stored, left $left"
    if [ $((stored + left)) -ne "$SEATS" ] || [ "$other" != 0 ] || [ "$stored" -lt "$created" ]; then
        echo "$name: books NOT EXACT" >&2
        exit 2
    fi
    # A 409 while seats were left would mean the run measured refusals, not bookings.
    if [ "$left" -gt 0 ] && [ "$refused" != 0 ]; then
        echo "$name: $refused refusals with $left seats left: not a booking benchmark" >&2
        exit 2
    fi
}

run_setting batching "" 1
run_setting unbatched "--no-batching" 1
run_setting two_instances "" 2
