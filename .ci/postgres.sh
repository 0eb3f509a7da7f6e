# Starts a throwaway PostgreSQL cluster on 127.0.0.1 in a temporary directory, for the tests; source it.
#
#   . .ci/postgres.sh     # exports TURNSTILE_POSTGRES_URL, and stops the cluster on exit
#
# Installs PostgreSQL from Debian's packages when it is missing. The cluster trusts local connections (it listens
# on loopback only and lives as long as the shell), keeps fsync on, and is removed when the shell exits. The outage
# tests make clusters of their own with the same script, .ci/pg-cluster.sh.

TURNSTILE_PG_CLUSTER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pg-cluster.sh"
if ! "$TURNSTILE_PG_CLUSTER" bin >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian package)…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_DIR=$(mktemp -d)
# Below Linux's ephemeral range (32768 and up), where the tests' client sockets take their local ports.
PG_PORT=${PG_PORT:-$((16000 + RANDOM % 8000))}
"$TURNSTILE_PG_CLUSTER" init "$PG_DIR"
"$TURNSTILE_PG_CLUSTER" start "$PG_DIR" "$PG_PORT"
export TURNSTILE_POSTGRES_URL="postgres://turnstile@127.0.0.1:$PG_PORT/postgres"
turnstile_postgres_stop() {
    "$TURNSTILE_PG_CLUSTER" stop "$PG_DIR" immediate >/dev/null 2>&1
    rm -rf "$PG_DIR"
}
trap turnstile_postgres_stop EXIT
echo "PostgreSQL $("$("$TURNSTILE_PG_CLUSTER" bin)/postgres" --version | awk '{print $3}') for the tests at $TURNSTILE_POSTGRES_URL"
