#!/bin/sh
# pg-throwaway.sh — a private, disposable PostgreSQL server for demos and
# manual testing (the unit tests use tests/pg_harness.c, which works the same way).
#
#   deploy/pg-throwaway.sh start DIR     initdb DIR (first time) and start; prints the conninfo
#   deploy/pg-throwaway.sh conninfo DIR  print the conninfo
#   deploy/pg-throwaway.sh stop DIR      fast shutdown (the data stays)
#   deploy/pg-throwaway.sh destroy DIR   immediate shutdown and rm -rf DIR
#
# The server listens only on a Unix socket in DIR/sock (no TCP port), trusts
# local connections (user postgres) and runs with fsync off: never use it for
# data you want to keep. Keep DIR short (a socket path must fit in 107 bytes).
# As root, initdb and pg_ctl run as the "postgres" user (PostgreSQL refuses
# to run as root) and DIR is handed to that user (its parents must be
# searchable by it: use a directory under /tmp).
# Use it:  export PRECIS_POSTGRES_CONNINFO="$(deploy/pg-throwaway.sh start /tmp/precis-demo-pg)"
set -eu

usage() { echo "usage: $0 start|conninfo|stop|destroy DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
case $dir in *[!A-Za-z0-9/._-]*) echo "$0: DIR may only contain A-Z a-z 0-9 / . _ -" >&2; exit 2 ;; esac
port=5432

bindir=${PRECIS_PG_BINDIR:-}
if [ -z "$bindir" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -n 1)
fi
[ -n "$bindir" ] && [ -x "$bindir/pg_ctl" ] || { echo "$0: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        id -u postgres >/dev/null 2>&1 || user=nobody
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

give_dir() {
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        id -u postgres >/dev/null 2>&1 || user=nobody
        chown "$user" "$@"
    fi
}

conninfo() { echo "host=$dir/sock port=$port user=postgres dbname=postgres"; }

case $action in
start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir/sock"
        chmod 0700 "$dir" "$dir/sock"
        give_dir "$dir" "$dir/sock"
        as_server "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
            --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_server "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s \
            -o "-k $dir/sock -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off" start ||
            { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    conninfo
    ;;
conninfo)
    conninfo
    ;;
stop)
    as_server "$bindir/pg_ctl" -D "$dir/data" -w -s -m fast stop
    ;;
destroy)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_server "$bindir/pg_ctl" -D "$dir/data" -w -s -m immediate stop || true
    fi
    rm -rf "$dir"
    ;;
*)
    usage
    ;;
esac
