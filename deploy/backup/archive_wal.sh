#!/usr/bin/env bash
# archive_command for continuous WAL archiving. In postgresql.conf (then restart):
#   archive_mode = on
#   archive_command = '/srv/yanxiu/deploy/backup/archive_wal.sh %p %f /backup/wal'
# Never overwrites a segment already archived (test ! -f): a second copy of a name means two
# clusters archive into one directory, which must fail loudly, not mix their histories.
# The copy lands under a temporary name and is renamed, so a crash never leaves half a segment.
# A non-zero exit makes PostgreSQL keep the segment and retry.
set -euo pipefail
SOURCE=$1   # %p, relative to the data directory
NAME=$2     # %f
ARCHIVE=$3
test ! -f "$ARCHIVE/$NAME"
cp "$SOURCE" "$ARCHIVE/.$NAME.tmp"
sync "$ARCHIVE/.$NAME.tmp" 2>/dev/null || true
mv "$ARCHIVE/.$NAME.tmp" "$ARCHIVE/$NAME"
