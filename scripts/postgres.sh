#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster on 127.0.0.1:${PGPORT:-55432} for the test suite and print its URL.
# Installs Debian's postgresql when missing. Used by .ci/run; handy by hand too.
set -eu
PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA:-/tmp/recobra-pg}
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || "$(dirname "$0")/apt_install.sh" postgresql
BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"; [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
  as_pg "$BIN/initdb" -D "$PGDATA" -U recobra --auth=trust -E UTF8 >/dev/null
fi
if ! as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
as_pg "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U recobra -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='recobra_test'" | grep -q 1 || \
  as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U recobra recobra_test
echo "postgresql://recobra@127.0.0.1:$PGPORT/recobra_test"
