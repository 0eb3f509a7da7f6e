#!/usr/bin/env bash
# Schemathesis (PyPI) against a live `turnstile serve` and its own /openapi.json (first checked by an OpenAPI 3.1
# validator from PyPI, when TURNSTILE_OPENAPI_VALIDATOR names one): every check, a fixed seed, and any
# finding fails (exit 1). What a schema cannot say is in .ci/schemathesis.toml. Loopback only; bounded in cases.
#
#   bash .ci/schemathesis.sh                  # uses `schemathesis` on PATH, or $TURNSTILE_SCHEMATHESIS
#   SEED=7 MAX_EXAMPLES=50 bash .ci/schemathesis.sh
#
# .ci/run calls it after `swift test`, on its own: it keeps a core busy for a while, which the timing-sensitive
# tests must not share. It runs the debug build `swift test` made (or builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS=${TURNSTILE_SCHEMATHESIS:-$(command -v schemathesis || true)}
if [ -z "$SCHEMATHESIS" ]; then
    echo "error: schemathesis is not installed (pip install schemathesis, or set TURNSTILE_SCHEMATHESIS)" >&2
    exit 1
fi
swift build --product turnstile >/dev/null
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
.build/debug/turnstile serve --port 0 --database "$WORK/t.sqlite" --password-hash-rounds 1 --log-level critical \
    >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
# The first line names the port; wait for it (at most 30 s).
for _ in $(seq 300); do
    PORT=$(sed -n '1s/^Turnstile listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.log")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "${PORT:-}" ] || { echo "error: turnstile serve did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
CREDENTIALS='"email":"schemathesis@turnstile.test","password":"password-1"'
curl -sf -X POST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{$CREDENTIALS,\"username\":\"fuzz\"}" >/dev/null
TOKEN=$(curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' -d "{$CREDENTIALS}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# Test data, so that every operation's tests reach its logic (schemathesis warns, and so fails, where they do not):
# an item another account sells, for the bids (a seller may not bid on their own item), and credits to spend, for
# the deductions (100 top-ups of the most one may add: more than the run can deduct).
SELLER='"email":"seller@turnstile.test","password":"password-1"'
curl -sf -X POST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{$SELLER,\"username\":\"seller\"}" >/dev/null
SELLER_TOKEN=$(curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' -d "{$SELLER}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -X POST "$URL/api/v1/items/" -H 'Content-Type: application/json' -H "Authorization: Bearer $SELLER_TOKEN" \
    -d '{"title":"Lamp","starting_price_cents":100,"min_increment_cents":1}' >/dev/null
for _ in $(seq 100); do
    curl -sf -X POST "$URL/api/v1/credits/topup" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $TOKEN" -d '{"amount":1000000000}' >/dev/null
done
# The generated document is valid OpenAPI 3.1, as a validator from PyPI reads it (when one is given: .ci/run does).
if [ -n "${TURNSTILE_OPENAPI_VALIDATOR:-}" ]; then
    curl -sf "$URL/openapi.json" >"$WORK/openapi.json"
    "$TURNSTILE_OPENAPI_VALIDATOR" "$WORK/openapi.json"
fi
# In the work folder, where Hypothesis keeps its examples.
CONFIG="$PWD/.ci/schemathesis.toml"
(cd "$WORK" && "$SCHEMATHESIS" --config-file "$CONFIG" run "$URL/openapi.json" \
    --header "Authorization: Bearer $TOKEN" --max-examples "${MAX_EXAMPLES:-25}" --seed "${SEED:-1}" \
    --request-timeout 10 --workers 1)
