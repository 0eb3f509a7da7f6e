#!/usr/bin/env bash
# h2load against `turnstile serve --tls-cert` (release) over HTTP/2: this build and BASE (an older build's binary),
# alternating, GET /health and GET /api/v1/events/, 16 connections × 10 streams, 200,000 requests each: requests/s as
# h2load saw them, and the service's own CPU µs per request (from /proc, steadier on a shared machine). Loopback
# only, bounded by request count. Needs h2load (nghttp2-client) and openssl.
#
#   BASE=/tmp/base/.build/release/turnstile bench/http2-budget.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASE:?BASE names the turnstile binary of an older build, to compare with}"
swift build -c release --product turnstile >/dev/null
NEW="$(swift build -c release --show-bin-path)/turnstile"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/k.pem" -out "$WORK/c.pem" -days 1 -subj /CN=localhost \
    2>/dev/null
# User and system CPU ticks of process $1 so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run() {
    local bin=$1 port=$2 path=$3
    rm -f "$WORK"/h2b.sqlite*
    "$bin" serve --port "$port" --database "$WORK/h2b.sqlite" --tls-cert "$WORK/c.pem" --tls-key "$WORK/k.pem" \
        --log-level warning >"$WORK/h2b.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do curl -skf "https://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    local before rps after
    before=$(cpu_ticks "$pid")
    rps=$(h2load -n 200000 -c 16 -m 10 -t 1 "https://127.0.0.1:$port$path" 2>/dev/null \
        | sed -nE 's/^finished in .*, ([0-9.]+) req\/s.*/\1/p')
    after=$(cpu_ticks "$pid")
    echo "$rps req/s, $(( (after - before) * 1000000 / $(getconf CLK_TCK) / 200000 )) µs CPU per request"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}
for round in 1 2 3; do
    for path in /health /api/v1/events/; do
        echo -n "base $path: "; run "$BASE" 18490 "$path"
        echo -n "new  $path: "; run "$NEW" 18491 "$path"
    done
done

