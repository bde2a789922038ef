#!/usr/bin/env bash
# A streaming replica of a running cluster, on this host: pg_basebackup -R into DATADIR, then
# started on PORT (hot standby). Runs the PostgreSQL tools as user postgres when called by root.
#   usage: deploy/replica/make_replica.sh DATADIR PORT [primary-host] [primary-port]
#   stop:  pg_ctl -D DATADIR stop -m fast      (as postgres)
set -euo pipefail
DATADIR=$1
PORT=$2
PRIMARY_HOST=${3:-127.0.0.1}
PRIMARY_PORT=${4:-5432}
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ ! -f "$DATADIR/standby.signal" ]; then
  mkdir -p "$DATADIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DATADIR"
  chmod 700 "$DATADIR"
  # -X stream: the WAL written during the copy comes along; -R: standby.signal + primary_conninfo.
  # No replication slot: a forgotten replica must never make the primary keep WAL forever.
  as_postgres "$BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -D "$DATADIR" \
    -X stream -R -c fast --no-sync
  # Debian keeps the configuration in /etc, outside the copied data directory.
  for file in postgresql.conf pg_ident.conf; do
    [ -f "$DATADIR/$file" ] || as_postgres touch "$DATADIR/$file"
  done
  [ -f "$DATADIR/pg_hba.conf" ] || as_postgres sh -c "printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >'$DATADIR/pg_hba.conf'"
fi
# A hot standby refuses to start with lower limits than its primary's (Debian keeps the
# primary's in /etc, which the copy lacks): take them from the primary.
limits=""
for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
  limits="$limits -c $name=$(psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -XtAqc "SHOW $name" postgres)"
done
# The primary's settings came along in postgresql.auto.conf; these only concern this copy.
as_postgres "$BIN/pg_ctl" -D "$DATADIR" -l "$DATADIR/replica.log" -w -t 60 start -o \
  "-c port=$PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATADIR -c hot_standby=on \
   -c archive_mode=off -c logging_collector=off -c shared_buffers=32MB \
   -c hot_standby_feedback=on -c max_standby_streaming_delay=5s -c wal_receiver_status_interval=1s $limits" >/dev/null
