# shellcheck shell=bash
# Throwaway PostgreSQL cluster for tests and benchmarks (docs: shared/design/TESTING.md).
# Source this file, then:
#   pg_cluster_ensure_installed        apt-get install postgresql when no server binaries exist
#   pg_cluster_start [PORT]            start a cluster on 127.0.0.1, first free port from PORT
#                                      (default $PG_CLUSTER_PORT or 55432); sets PGBIN,
#                                      PG_CLUSTER_DIR, PG_CLUSTER_PORT, PG_CLUSTER_URL
#   pg_cluster_stop                    stop it and remove its directory (idempotent)
# The cluster runs as the `postgres` user when we are root (initdb refuses root), listens on
# 127.0.0.1 only, has its socket in its own directory, trust auth, fsync=off (tests only).
# Callers should `trap pg_cluster_stop EXIT`.

PG_CLUSTER_DIR="${PG_CLUSTER_DIR:-}"
PG_CLUSTER_URL="${PG_CLUSTER_URL:-}"

pg_cluster_find_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
    fi
}

pg_cluster_ensure_installed() {
    local missing=()
    [ -n "$(pg_cluster_find_bin)" ] || missing+=(postgresql)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
    if [ "${#missing[@]}" -gt 0 ]; then
        hh_need_apt "${missing[@]}"
    fi
    [ -n "$(pg_cluster_find_bin)" ] || { echo "pg-cluster: no PostgreSQL server binaries under /usr/lib/postgresql" >&2; return 1; }
}

# _pg_as_owner CMD: run a shell command as the cluster owner.
_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$1"
    else
        /bin/sh -c "$1"
    fi
}

# _pg_port_free PORT: true when nothing is bound to 127.0.0.1:PORT.
_pg_port_free() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

pg_cluster_start() {
    local want="${1:-${PG_CLUSTER_PORT:-55432}}" port="" p i
    PGBIN=$(pg_cluster_find_bin)
    if [ -z "$PGBIN" ]; then
        echo "pg-cluster: PostgreSQL server not installed (run pg_cluster_ensure_installed)" >&2
        return 1
    fi
    for i in $(seq 0 99); do
        p=$((want + i))
        if _pg_port_free "$p"; then port=$p; break; fi
    done
    if [ -z "$port" ]; then
        echo "pg-cluster: no free port in $want..$((want + 99))" >&2
        return 1
    fi
    PG_CLUSTER_DIR=$(mktemp -d /tmp/pgtest.XXXXXX)
    chmod 755 "$PG_CLUSTER_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$PG_CLUSTER_DIR"
    fi
    if ! _pg_as_owner "$PGBIN/initdb -D $PG_CLUSTER_DIR/data -U postgres -A trust --no-sync >$PG_CLUSTER_DIR/initdb.log 2>&1"; then
        echo "pg-cluster: initdb failed:" >&2
        cat "$PG_CLUSTER_DIR/initdb.log" >&2 || true
        return 1
    fi
    # max_connections: the Swift suite runs many servers at once, each with a pool of up to 16
    # connections (200 was exceeded once the 50-concurrent booking tests joined, and the pool's
    # circuit breaker then failed unrelated tests).
    if ! _pg_as_owner "$PGBIN/pg_ctl -D $PG_CLUSTER_DIR/data -l $PG_CLUSTER_DIR/server.log -w -t 30 -o '-p $port -k $PG_CLUSTER_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=600' start" >/dev/null; then
        echo "pg-cluster: pg_ctl start failed:" >&2
        cat "$PG_CLUSTER_DIR/server.log" >&2 || true
        return 1
    fi
    PG_CLUSTER_PORT=$port
    PG_CLUSTER_URL="postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable"
    export PGBIN PG_CLUSTER_DIR PG_CLUSTER_PORT PG_CLUSTER_URL
}

pg_cluster_stop() {
    if [ -n "${PG_CLUSTER_DIR:-}" ] && [ -d "$PG_CLUSTER_DIR" ]; then
        if [ -n "${PGBIN:-}" ] && [ -f "$PG_CLUSTER_DIR/data/postmaster.pid" ]; then
            _pg_as_owner "$PGBIN/pg_ctl -D $PG_CLUSTER_DIR/data -m fast -w -t 30 stop" >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_CLUSTER_DIR"
    fi
    PG_CLUSTER_DIR=""
}
