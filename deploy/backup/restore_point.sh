#!/usr/bin/env bash
# A named restore point in the WAL (before a risky migration, after a verified batch):
#   deploy/backup/restore_point.sh NAME [host] [port]
# then switches WAL segment so the point reaches the archive now, not when the segment fills.
set -euo pipefail
NAME=$1
HOST=${2:-127.0.0.1}
PORT=${3:-5432}
psql -h "$HOST" -p "$PORT" -U postgres -XtAq -v ON_ERROR_STOP=1 -v name="$NAME" postgres <<'SQL'
SELECT pg_create_restore_point(:'name');
SELECT pg_switch_wal();
SQL
echo "restore point $NAME"
