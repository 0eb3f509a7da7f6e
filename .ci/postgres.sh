# Starts a throwaway PostgreSQL cluster on 127.0.0.1 in a temporary directory, for the tests; source it.
#
#   . .ci/postgres.sh     # exports TURNSTILE_POSTGRES_URL, and stops the cluster on exit
#
# Installs PostgreSQL from Debian's packages when it is missing. The cluster trusts local connections (it listens
# on loopback only and lives as long as the shell), keeps fsync on, and is removed when the shell exits.

turnstile_postgres_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

if [ -z "$(turnstile_postgres_bin)" ]; then
    echo "installing PostgreSQL (Debian package)…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN=$(turnstile_postgres_bin)
PG_DIR=$(mktemp -d)
PG_PORT=${PG_PORT:-$((20000 + RANDOM % 20000))}
# initdb and postgres refuse to run as root: run them as the package's postgres user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U turnstile --auth=trust -E UTF8 >"$PG_DIR/initdb.log"
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300" >/dev/null
export TURNSTILE_POSTGRES_URL="postgres://turnstile@127.0.0.1:$PG_PORT/postgres"
turnstile_postgres_stop() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
}
trap turnstile_postgres_stop EXIT
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') for the tests at $TURNSTILE_POSTGRES_URL"
