#!/usr/bin/env bash
# The stress engine against wrk, on the same static target (a loopback nginx), in the same run:
#   (a) CPU microseconds per request of the load generator itself,
#   (c) requests/s and p50 as each tool reports them;
# then (b) the barrier's release spread for 100 and 1,000 users against `turnstile serve`.
# Loopback only; every run is bounded by DURATION or by its user count.
#
#   bench/engine-vs-wrk.sh
#   DURATION=20s CONNECTIONS=128 bench/engine-vs-wrk.sh
#   BASE=/tmp/turnstile-old bench/engine-vs-wrk.sh   # also an older build's stress url, before and after this one
#   SCHEME=https bench/engine-vs-wrk.sh               # (a)-(d) over HTTPS/1.1: nginx with a throwaway certificate
#   SCHEME=https HTTP=2 SPREAD_RUNS=0 bench/engine-vs-wrk.sh   # (a)-(d) over HTTP/2, next to h2load instead of wrk
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
NGINX_PORT=${NGINX_PORT:-18380}
SERVE_PORT=${SERVE_PORT:-18381}
SPREAD_RUNS=${SPREAD_RUNS:-5}
SCHEME=${SCHEME:-http}
HTTP=${HTTP:-1.1}
if [ "$HTTP" = 2 ] && [ "$SCHEME" != https ]; then
    echo "error: HTTP=2 needs SCHEME=https (nginx speaks HTTP/2 by ALPN)" >&2
    exit 1
fi
YARDSTICK=$([ "$HTTP" = 2 ] && echo h2load || echo wrk)

for tool in "$YARDSTICK" nginx python3 curl; do
    command -v "$tool" >/dev/null || {
        echo "error: $tool is required (apt-get install wrk nghttp2-client nginx-light curl)" >&2
        exit 1
    }
done
# A race of 1,000 users holds 1,000 client and 1,000 server sockets open at once.
ulimit -n "$(ulimit -Hn)"

swift build -c release --product turnstile >/dev/null
BIN="$(swift build -c release --show-bin-path)/turnstile"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- The static target: one nginx worker serving a 15-byte body, no access log; over TLS with SCHEME=https, with a
# certificate made here (the engine trusts it with --ca-file; wrk does not check certificates).
mkdir -p "$WORK/www" "$WORK/nginx"
LISTEN="127.0.0.1:$NGINX_PORT"
TRUST=()
if [ "$SCHEME" = https ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/nginx/key.pem" -out "$WORK/nginx/cert.pem" 2>/dev/null
    LISTEN="$LISTEN ssl$([ "$HTTP" = 2 ] && echo " http2" || true); ssl_certificate $WORK/nginx/cert.pem; ssl_certificate_key $WORK/nginx/key.pem"
    TRUST=(--ca-file "$WORK/nginx/cert.pem")
fi
# This build speaks the version asked for (its own default, auto, would pick HTTP/2 wherever nginx offers it); an older
# BASE build knows no --http.
VERSION=(--http "$HTTP")
printf '{"status":"ok"}' >"$WORK/www/index.json"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx;
    proxy_temp_path $WORK/nginx;
    fastcgi_temp_path $WORK/nginx;
    uwsgi_temp_path $WORK/nginx;
    scgi_temp_path $WORK/nginx;
    server {
        listen $LISTEN;
        root $WORK/www;
        location / { default_type application/json; try_files /index.json =404; }
    }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
URL="$SCHEME://127.0.0.1:$NGINX_PORT/"
for _ in $(seq 100); do curl -sfk "$URL" >/dev/null && break; sleep 0.1; done

# CPU seconds (user + system) a command spent, from bash's own timing of it.
cpu_of() { # output_file command...
    local out=$1
    shift
    local TIMEFORMAT='%U %S'
    { time "$@" >"$out" 2>&1; } 2>"$out.time"
    awk '{print $1 + $2}' "$out.time"
}

echo "== (a, c, d) $YARDSTICK vs turnstile stress url vs a scenario's closed phase, -c$CONNECTIONS -d$DURATION against nginx ($SCHEME, HTTP/$HTTP)"
if [ "$HTTP" = 2 ]; then
    # One stream at a time per connection, as the engine's users (one user, one connection: --streams 1).
    WRK_CPU=$(cpu_of "$WORK/wrk.txt" h2load -t"$THREADS" -c"$CONNECTIONS" -m1 -D"${DURATION%s}" "$URL")
else
    WRK_CPU=$(cpu_of "$WORK/wrk.txt" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$URL")
fi
# With BASE, an older build runs the same load just before and just after this one: their mean is its figure.
if [ -n "${BASE:-}" ]; then
    B1_CPU=$(cpu_of "$WORK/b1.txt" "$BASE" stress url "$URL" "${TRUST[@]}" -c "$CONNECTIONS" -d "$DURATION" --json "$WORK/b1.json")
fi
TS_CPU=$(cpu_of "$WORK/ts.txt" "$BIN" stress url "$URL" "${TRUST[@]}" "${VERSION[@]}" -c "$CONNECTIONS" -d "$DURATION" --json "$WORK/ts.json")
if [ -n "${BASE:-}" ]; then
    B2_CPU=$(cpu_of "$WORK/b2.txt" "$BASE" stress url "$URL" "${TRUST[@]}" -c "$CONNECTIONS" -d "$DURATION" --json "$WORK/b2.json")
fi
# (d) the same load from bench/static.yaml: a path rendered per request, a capture parsed from every answer; and
# `stress url` again, on a path as long as the scenario's, just before it, for the fairest ratio.
TQ_CPU=$(cpu_of "$WORK/tq.txt" "$BIN" stress url "${URL}?user=12&i=123456" "${TRUST[@]}" "${VERSION[@]}" -c "$CONNECTIONS" -d "$DURATION" \
    --json "$WORK/tq.json")
SC_CPU=$(cpu_of "$WORK/sc.txt" "$BIN" stress run bench/static.yaml --target "${URL%/}" "${TRUST[@]}" "${VERSION[@]}" --set users="$CONNECTIONS" \
    --set duration="$DURATION" --json "$WORK/sc.json")
python3 - "$WORK" "$WRK_CPU" "$TS_CPU" "$SC_CPU" "$TQ_CPU" "${B1_CPU:-0}" "${B2_CPU:-0}" "$YARDSTICK" <<'PY'
import json, os, re, sys
work, wrk_cpu, ts_cpu, sc_cpu, tq_cpu, b1_cpu, b2_cpu = sys.argv[1], *map(float, sys.argv[2:8])
yardstick = sys.argv[8]
wrk = open(f"{work}/wrk.txt").read()
unit = {"us": 1, "ms": 1000, "s": 1_000_000}
if yardstick == "h2load":
    # h2load gives no median: its mean time for a request stands in for the p50 column.
    wrk_requests = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", wrk).group(1))
    wrk_rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", wrk).group(1))
    value, suffix = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", wrk).groups()
else:
    wrk_requests = int(re.search(r"(\d+) requests in", wrk).group(1))
    wrk_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
    value, suffix = re.search(r"50%\s+([\d.]+)(us|ms|s)", wrk).groups()
wrk_p50 = float(value) * unit[suffix]

def measured(path):
    phase = json.load(open(path))["phases"][0]
    stats = phase["endpoints"][0]
    requests = sum(stats["statusCounts"].values()) + sum(stats["errorCounts"].values())
    buckets = sorted(stats["latency"]["buckets"])
    total, seen, p50 = sum(c for _, c in buckets), 0, 0
    for value, count in buckets:
        seen += count
        if seen * 2 >= total:
            p50 = value
            break
    return requests, requests / phase["durationSeconds"], p50, sum(stats["errorCounts"].values())

ts_requests, ts_rps, ts_p50, errors = measured(f"{work}/ts.json")
sc_requests, sc_rps, sc_p50, sc_errors = measured(f"{work}/sc.json")
tq_requests, tq_rps, tq_p50, tq_errors = measured(f"{work}/tq.json")

print(f"{'':10} {'requests':>10} {'req/s':>10} {'p50':>9} {'CPU s':>7} {'CPU µs/req':>11}")
print(f"{yardstick:10} {wrk_requests:>10} {wrk_rps:>10.0f} {wrk_p50:>7.0f}µs {wrk_cpu:>7.2f} {wrk_cpu * 1e6 / wrk_requests:>11.2f}")
print(f"{'turnstile':10} {ts_requests:>10} {ts_rps:>10.0f} {ts_p50:>7.0f}µs {ts_cpu:>7.2f} {ts_cpu * 1e6 / ts_requests:>11.2f}")
print(f"{'url ?query':10} {tq_requests:>10} {tq_rps:>10.0f} {tq_p50:>7.0f}µs {tq_cpu:>7.2f} {tq_cpu * 1e6 / tq_requests:>11.2f}")
print(f"{'scenario':10} {sc_requests:>10} {sc_rps:>10.0f} {sc_p50:>7.0f}µs {sc_cpu:>7.2f} {sc_cpu * 1e6 / sc_requests:>11.2f}")
print(f"CPU per request: turnstile / {yardstick} = {(ts_cpu / ts_requests) / (wrk_cpu / wrk_requests):.2f} (goal ≤ 1.5)")
print(f"CPU per request: scenario / url = {(sc_cpu / sc_requests) / (ts_cpu / ts_requests):.2f}, "
      f"scenario / url ?query = {(sc_cpu / sc_requests) / (tq_cpu / tq_requests):.2f} (goal ≤ 1.2); "
      f"scenario / {yardstick} = {(sc_cpu / sc_requests) / (wrk_cpu / wrk_requests):.2f}")
print(f"requests/s: turnstile / {yardstick} = {ts_rps / wrk_rps:.2f}; "
      f"p50: turnstile / {yardstick} = {ts_p50 / wrk_p50:.2f} (goal: within 10 %)")
print(f"turnstile errors: {errors}; url ?query errors: {tq_errors}; scenario errors: {sc_errors}")
if b1_cpu > 0:
    runs = [measured(f"{work}/b{n}.json") for n in (1, 2)]
    base_requests = sum(run[0] for run in runs)
    base_rps = sum(run[1] for run in runs) / 2
    base_cpu_per_request = (b1_cpu + b2_cpu) * 1e6 / base_requests
    print(f"{'BASE':10} {base_requests // 2:>10} {base_rps:>10.0f} {'':>9} {(b1_cpu + b2_cpu) / 2:>7.2f} "
          f"{base_cpu_per_request:>11.2f}   (mean of a run before and after)")
    print(f"CPU per request: turnstile / BASE = {(ts_cpu * 1e6 / ts_requests) / base_cpu_per_request:.2f}; "
          f"requests/s: turnstile / BASE = {ts_rps / base_rps:.2f}")
    print(f"JSON result: {os.path.getsize(f'{work}/ts.json')} bytes (BASE {os.path.getsize(f'{work}/b1.json')})")
PY

[ "$SPREAD_RUNS" -gt 0 ] || exit 0
echo
echo "== (b) barrier release spread, against turnstile serve (release, durability normal)"
"$BIN" serve --port "$SERVE_PORT" --database "$WORK/spread.sqlite" --durability normal \
    --password-hash-rounds 1000 --auth-rate-limit off --log-level info >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$SERVE_PORT/health" >/dev/null && break; sleep 0.1; done
for users in 100 1000; do
    spreads=()
    for run in $(seq "$SPREAD_RUNS"); do
        "$BIN" stress race --target "http://127.0.0.1:$SERVE_PORT" --users "$users" --capacity "$users" \
            --json "$WORK/race.json" >"$WORK/race.txt" 2>&1 || {
            cat "$WORK/race.txt"
            echo "-- server log:"
            tail -20 "$WORK/serve.log"
            exit 1
        }
        spreads+=("$(python3 -c "import json; print(json.load(open('$WORK/race.json'))['phases'][0]['releaseSpreadMicroseconds'])")")
    done
    python3 - "$users" "${spreads[@]}" <<'PY'
import statistics, sys
users, spreads = sys.argv[1], sorted(int(s) for s in sys.argv[2:])
print(f"{users:>5} users: release spread median {statistics.median(spreads) / 1000:.2f} ms, "
      f"min {spreads[0] / 1000:.2f} ms, max {spreads[-1] / 1000:.2f} ms over {len(spreads)} races")
PY
done
