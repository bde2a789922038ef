# Shared by the backup scripts: run PostgreSQL tools as user postgres when called by root.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
