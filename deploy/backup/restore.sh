#!/usr/bin/env bash
# Point-in-time restore of a base backup plus archived WAL into a new data directory:
#   deploy/backup/restore.sh BACKUP_DIR ARCHIVE_DIR NEW_DATADIR PORT --name RESTORE_POINT
#   deploy/backup/restore.sh BACKUP_DIR ARCHIVE_DIR NEW_DATADIR PORT --time '2026-11-30 14:05:00+00'
#   deploy/backup/restore.sh BACKUP_DIR ARCHIVE_DIR NEW_DATADIR PORT --latest
# The backup is verified (pg_verifybackup), copied, given restore_command and the target, and
# started with recovery.signal; recovery replays the archive up to the target and promotes, so
# the copy then accepts writes on its own new timeline. The original backup is left untouched.
# Start the application against the copy with the SAME integrity keys (YANXIU_FIELD_KEY,
# YANXIU_BLIND_INDEX_KEY, var/keys): the keyed audit chain and ledger checksums need them.
set -euo pipefail
. "$(dirname "$0")/common.sh"
BACKUP=$1
ARCHIVE=$2
DATADIR=$3
PORT=$4
KIND=${5:---latest}
TARGET=${6:-}
case "$KIND" in
  --name) TARGET_LINE="recovery_target_name = '$TARGET'" ;;
  --time) TARGET_LINE="recovery_target_time = '$TARGET'" ;;
  --latest) TARGET_LINE="" ;;
  *) echo "usage: $0 BACKUP ARCHIVE DATADIR PORT [--name POINT | --time TIME | --latest]" >&2; exit 2 ;;
esac
if [ -e "$DATADIR" ] && [ -n "$(ls -A "$DATADIR" 2>/dev/null)" ]; then
  echo "$DATADIR exists and is not empty" >&2
  exit 1
fi
as_postgres "$PG_BIN/pg_verifybackup" -q "$BACKUP"
mkdir -p "$DATADIR"
cp -a "$BACKUP/." "$DATADIR/"
[ "$(id -u)" = 0 ] && chown -R postgres: "$DATADIR"
chmod 700 "$DATADIR"
rm -f "$DATADIR/backup_manifest" "$DATADIR/postmaster.pid"
# Debian keeps the configuration in /etc, outside the data directory.
[ -f "$DATADIR/postgresql.conf" ] || as_postgres touch "$DATADIR/postgresql.conf"
[ -f "$DATADIR/pg_ident.conf" ] || as_postgres touch "$DATADIR/pg_ident.conf"
[ -f "$DATADIR/pg_hba.conf" ] || printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$DATADIR/pg_hba.conf"
{
  echo "# deploy/backup/restore.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "restore_command = 'cp \"$ARCHIVE/%f\" \"%p\"'"
  echo "archive_mode = off"   # the copy must not write into the original's archive
  echo "port = $PORT"
  [ -n "$TARGET_LINE" ] && echo "$TARGET_LINE"
  [ -n "$TARGET_LINE" ] && echo "recovery_target_inclusive = true"
  echo "recovery_target_action = 'promote'"
} >>"$DATADIR/postgresql.auto.conf"
[ "$(id -u)" = 0 ] && chown -R postgres: "$DATADIR"
as_postgres touch "$DATADIR/recovery.signal"
as_postgres "$PG_BIN/pg_ctl" -D "$DATADIR" -l "$DATADIR/restore.log" -w -t 600 start \
  -o "-c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATADIR" >/dev/null
# pg_ctl returns once connections are accepted; recovery may still be promoting.
for _ in $(seq 1 600); do
  state=$(as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -XtAc "SELECT pg_is_in_recovery()" postgres)
  [ "$state" = f ] && break
  sleep 0.2
done
if [ "$state" != f ]; then
  echo "recovery did not finish: see $DATADIR/restore.log" >&2
  exit 1
fi
echo "restored into $DATADIR, promoted, listening on 127.0.0.1:$PORT"
