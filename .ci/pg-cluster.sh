#!/usr/bin/env bash
# Makes, starts and stops throwaway PostgreSQL clusters on 127.0.0.1, for .ci/postgres.sh and for the tests that
# stop and start a database of their own (outage and recovery):
#
#   pg-cluster.sh bin              # prints the directory holding initdb and pg_ctl; fails if there is none
#   pg-cluster.sh init DIR         # creates a cluster in DIR/data: user turnstile, trusted local connections
#   pg-cluster.sh start DIR PORT   # starts it on 127.0.0.1:PORT and returns once it accepts connections
#   pg-cluster.sh stop DIR [MODE]  # stops it: fast (default) or immediate (a crash)
#
# initdb and postgres refuse to run as root: as root, they run as the package's postgres user.
set -euo pipefail

pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$found" ] || { echo "PostgreSQL's initdb and pg_ctl were not found" >&2; return 1; }
    echo "$found"
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
bin) pg_bin ;;
init)
    dir=$2
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$(pg_bin)/initdb" -D "$dir/data" -U turnstile --auth=trust -E UTF8 >"$dir/initdb.log"
    ;;
start)
    dir=$2 port=$3
    # The server must inherit none of the caller's descriptors: a caller waiting for a pipe's end, or for a
    # descriptor to close when this script exits (as Foundation's Process does), would otherwise wait for the server.
    if ! (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] && eval "exec $fd>&-"
        done
        as_pg "$(pg_bin)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300"
    ) >"$dir/pg_ctl.log" 2>&1 </dev/null; then
        cat "$dir/pg_ctl.log" "$dir/server.log" >&2
        exit 1
    fi
    ;;
stop)
    dir=$2 mode=${3:-fast}
    as_pg "$(pg_bin)/pg_ctl" -D "$dir/data" -m "$mode" -w stop >/dev/null
    ;;
*)
    echo "usage: pg-cluster.sh bin | init DIR | start DIR PORT | stop DIR [fast|immediate]" >&2
    exit 2
    ;;
esac
