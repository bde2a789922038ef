#!/usr/bin/env bash
# A base backup of a running cluster, checked before it is trusted:
#   deploy/backup/base_backup.sh BACKUP_DIR [host] [port]
# Plain format with a SHA-256 manifest (backup_manifest), then pg_verifybackup reads every file
# back against it. -X stream puts the WAL needed to make the copy consistent inside it, so the
# backup restores even without the archive; point-in-time recovery past it needs the archive
# (archive_wal.sh). Copy BACKUP_DIR and the archive off this host.
set -euo pipefail
. "$(dirname "$0")/common.sh"
DEST=$1
HOST=${2:-127.0.0.1}
PORT=${3:-5432}
if [ -e "$DEST" ] && [ -n "$(ls -A "$DEST" 2>/dev/null)" ]; then
  echo "$DEST exists and is not empty" >&2
  exit 1
fi
mkdir -p "$DEST"
[ "$(id -u)" = 0 ] && chown postgres: "$DEST"
chmod 700 "$DEST"
as_postgres "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PORT" -U postgres -D "$DEST" -Fp -X stream -c fast \
  --manifest-checksums=SHA256 --label "yanxiu $(date -u +%Y-%m-%dT%H:%M:%SZ)"
as_postgres "$PG_BIN/pg_verifybackup" -q "$DEST"
echo "base backup in $DEST (verified)"
