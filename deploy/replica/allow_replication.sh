#!/usr/bin/env bash
# Lets user postgres open replication connections from 127.0.0.1 to the local cluster
# (pg_basebackup, a streaming replica). Idempotent: adds the pg_hba.conf line only when
# missing, then reloads. Needs write access to pg_hba.conf (root or postgres).
#   usage: deploy/replica/allow_replication.sh [host] [port]
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-5432}
PSQL=(psql -h "$HOST" -p "$PORT" -U postgres -XtAq)

level=$("${PSQL[@]}" -c "SHOW wal_level")
if [ "$level" = minimal ]; then
  echo "wal_level=minimal: set wal_level=replica and restart PostgreSQL" >&2
  exit 1
fi
hba=$("${PSQL[@]}" -c "SHOW hba_file")
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(postgres|all)[[:space:]]+127\.0\.0\.1/32' "$hba"; then
  printf '\n# streaming replica and base backups from this host (deploy/replica/allow_replication.sh)\nhost replication postgres 127.0.0.1/32 trust\n' >>"$hba"
  "${PSQL[@]}" -c "SELECT pg_reload_conf()" >/dev/null
  echo "added a replication line to $hba and reloaded"
fi
