#!/usr/bin/env bash
# Booking throughput on ONE contested event against the same server's GET /health rate, both driven by wrk in the
# same run, then the store is read back to prove zero oversell. Loopback only; bounded by DURATION.
#
#   bench/booking-vs-health.sh                         # defaults below
#   DURABILITY=normal DURATION=10s bench/booking-vs-health.sh
#   PERF_DATA=/tmp/booking.perf bench/booking-vs-health.sh   # also `perf record -g` the server during the bookings
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-1000}               # distinct buyers, each with their own token
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5s}
SEATS=${SEATS:-100000}             # the most one event may have
PORT=${PORT:-18181}
DURABILITY=${DURABILITY:-full}

# shellcheck source=bench/lib.sh
. bench/lib.sh
require_tools wrk sqlite3 python3 curl
build_turnstile
start_turnstile
provision_tokens "$USERS"
ORGANIZER=$(head -1 "$WORK/tokens.txt")
EVENT_ID=$(curl -sf -X POST "$URL/api/v1/events/" -H "Authorization: Bearer $ORGANIZER" \
    -H 'Content-Type: application/json' \
    -d "{\"title\":\"Benchmark\",\"date\":\"2027-01-01T20:00:00Z\",\"seat_count\":$SEATS,\"max_seats_per_user\":$SEATS}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# The server's CPU time (user + system, in clock ticks) read around each wrk run gives its CPU cost per request.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
TICKS_PER_SECOND=$(getconf CLK_TCK)
cpu_per_request() { # ticks_before ticks_after wrk_output
    python3 -c "print(round(($2 - $1) * 1e6 / $TICKS_PER_SECOND / $(awk '/requests in/ {print $1}' "$3"), 1))"
}

echo "== GET /health: wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
BEFORE=$(cpu_ticks)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$URL/health" | tee "$WORK/health.txt"
HEALTH_CPU=$(cpu_per_request "$BEFORE" "$(cpu_ticks)" "$WORK/health.txt")
echo
echo "== POST /api/v1/bookings/ (event $EVENT_ID, $SEATS seats, $USERS buyers, durability $DURABILITY)"
BEFORE=$(cpu_ticks)
PERF_PID=
if [ -n "${PERF_DATA:-}" ]; then
    perf record -g -o "$PERF_DATA" -p "$SERVER_PID" >/dev/null 2>&1 &
    PERF_PID=$!
fi
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/booking.lua "$URL/api/v1/bookings/" \
    -- "$WORK/tokens.txt" "$EVENT_ID" | tee "$WORK/booking.txt"
BOOKING_CPU=$(cpu_per_request "$BEFORE" "$(cpu_ticks)" "$WORK/booking.txt")
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" && wait "$PERF_PID" || true; fi

HEALTH_RPS=$(awk '/^Requests\/sec/ {print $2}' "$WORK/health.txt")
BOOKING_RPS=$(awk '/^Requests\/sec/ {print $2}' "$WORK/booking.txt")
CREATED=$(sed -n 's/^statuses: 201=\([0-9]*\).*/\1/p' "$WORK/booking.txt")
REFUSED=$(sed -n 's/.* 409=\([0-9]*\).*/\1/p' "$WORK/booking.txt")
OTHER=$(sed -n 's/.* other=\([0-9]*\)$/\1/p' "$WORK/booking.txt")

# Read the store back, from the file itself.
read -r STORED AVAILABLE <<<"$(sqlite3 -separator ' ' "$WORK/bench.sqlite" \
    "SELECT (SELECT COUNT(*) FROM bookings WHERE event_id = $EVENT_ID), available_seats FROM events WHERE id = $EVENT_ID")"

echo
echo "== Summary"
printf 'health requests/s:        %s  (server CPU %s µs/request)\n' "$HEALTH_RPS" "$HEALTH_CPU"
printf 'booking requests/s:       %s  (server CPU %s µs/request; ratio %.2f of /health)\n' "$BOOKING_RPS" \
    "$BOOKING_CPU" "$(python3 -c "print($BOOKING_RPS / $HEALTH_RPS)")"
printf 'bookings granted (201):   %s, in the store: %s, seats left: %s of %s\n' "$CREATED" "$STORED" "$AVAILABLE" "$SEATS"
# wrk stops with up to CONNECTIONS requests in flight: those commit, but wrk never counts their 201s. So the store
# may hold up to CONNECTIONS more bookings than wrk saw, never fewer, and stored + left must equal the seats exactly.
IN_FLIGHT=$((STORED - CREATED))
if [ $((STORED + AVAILABLE)) -eq "$SEATS" ] && [ "$AVAILABLE" -ge 0 ] && [ "$OTHER" = 0 ] &&
    [ "$IN_FLIGHT" -ge 0 ] && [ "$IN_FLIGHT" -le "$CONNECTIONS" ]; then
    echo "books: exact (stored + left = seats; $IN_FLIGHT bookings answered after wrk stopped counting; no other statuses)"
else
    echo "books: NOT EXACT; the server's log ends:" >&2
    tail -5 "$WORK/server.log" >&2
    exit 2
fi
# A 409 while seats were left (a per-person limit, say) would mean the run measured refusals, not bookings.
if [ "$AVAILABLE" -gt 0 ] && [ "$REFUSED" != 0 ]; then
    echo "bookings: $REFUSED refused with $AVAILABLE seats left: this run measured refusals, not bookings" >&2
    exit 2
fi
