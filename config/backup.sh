#!/usr/bin/env bash
# Backup and restore of the site's database: PostgreSQL's own custom-format dump (pg_dump -Fc), which keeps
# PostGIS geometries, indexes and constraints and restores with pg_restore.
#
#   bash config/backup.sh backup  [FILE]       # make backup [BACKUP=FILE]; default backups/wegweiser-<time>.dump
#   bash config/backup.sh restore FILE DBNAME  # make restore BACKUP=FILE RESTORE_DB=DBNAME
#
# The database is DATABASE_URL's (postgis://user[:password]@host:port/name, as the site uses). A restore goes into
# the named database on the same server, created if missing; objects that exist there are dropped first
# (pg_restore --clean --if-exists), so restoring twice gives the same database. Restoring into the database the
# site is running on works too, but do it with the site stopped.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"

url="${DATABASE_URL:-postgis://postgres@127.0.0.1:5432/wegweiser}"
case "$url" in
  postgis://* | postgres://* | postgresql://*) ;;
  *) echo "backup: DATABASE_URL must be a postgis:// URL, got ${url%%://*}://…" >&2; exit 2 ;;
esac
url="${url%%\?*}"                    # no query parameters: the database name is the last path segment
libpq_url="postgresql://${url#*://}" # libpq's scheme
server_url="${libpq_url%/*}"
source_db="${libpq_url##*/}"

case "${1:-}" in
  backup)
    file="${2:-backups/${source_db}-$(date -u +%Y%m%dT%H%M%SZ).dump}"
    mkdir -p "$(dirname "$file")"
    started=$(date +%s)
    # To a temporary name first: an interrupted dump never leaves a file that looks like a backup.
    pg_dump --format=custom --compress=6 --no-owner --file="$file.partial" "$server_url/$source_db"
    mv "$file.partial" "$file"
    echo "backup: $source_db → $file ($(du -h "$file" | cut -f1), $(($(date +%s) - started)) s)"
    ;;
  restore)
    file="${2:-}"
    target="${3:-}"
    if [ -z "$file" ] || [ -z "$target" ]; then
      echo "usage: make restore BACKUP=<file> RESTORE_DB=<database name>" >&2
      exit 2
    fi
    [ -r "$file" ] || { echo "restore: cannot read $file" >&2; exit 2; }
    [[ "$target" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "restore: '$target' is not a plain database name" >&2; exit 2; }
    pg_restore --list "$file" >/dev/null || { echo "restore: $file is not a pg_dump custom-format file" >&2; exit 2; }
    exists=$(psql "$server_url/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$target'")
    [ "$exists" = 1 ] || psql "$server_url/postgres" -qc "CREATE DATABASE \"$target\"" >/dev/null
    started=$(date +%s)
    pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction \
      --dbname="$server_url/$target" "$file"
    echo "restore: $file → $target ($(($(date +%s) - started)) s)"
    ;;
  *)
    echo "usage: bash config/backup.sh backup [FILE] | restore FILE DBNAME" >&2
    exit 2
    ;;
esac
