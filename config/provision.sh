#!/usr/bin/env bash
# Brings a fresh Debian 12 machine (as root, or with sudo) to the point where the app can run:
# OS packages, the .venv, and a PostgreSQL + PostGIS database. Safe to run again: each step checks first.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"
cd "$(dirname "$0")/.."

OS_PACKAGES=(
  postgresql-15 postgresql-15-postgis-3 postgresql-client-15   # the only database
  redis-server                                                 # the shared cache: rate limits, throttles, pages
  libgdal32 libgeos-c1v5 libproj25                             # GeoDjango loads these itself
  python3-venv gettext                                         # venv; msgfmt for the UI translations
  chromium fonts-dejavu-core                                   # browser tests; fonts for Arabic, Farsi, Cyrillic
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0         # WeasyPrint (referral slips as PDF)
)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v npm >/dev/null || missing+=(npm)                    # axe-core for the accessibility tests
for package in "${OS_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "provision: installing OS packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python environment; reinstalled only when the pinned requirements change.
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "provision: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "provision: installing Python packages"
  # uv (pinned, from PyPI) installs the same pinned set in seconds where pip takes ~25 s (a part of every CI
  # run's five minutes); pip stays the fallback should uv be unavailable.
  if .venv/bin/pip install -q --disable-pip-version-check uv==0.13.8 \
      && .venv/bin/uv pip install -q --python .venv/bin/python -r requirements-dev.txt; then
    :
  else
    echo "provision: uv failed; installing with pip"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  fi
  echo "$want" > "$stamp"
fi

# Test tools from npm (axe-core), pinned in package-lock.json; reinstalled when the lock file changes.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.lock-copy; then
  echo "provision: installing npm test tools"
  npm ci --ignore-scripts --no-audit --no-fund --silent
  cp package-lock.json node_modules/.lock-copy
fi

# Shared cache: REDIS_URL when given (another server; nothing is started here), else Debian's redis-server on
# 127.0.0.1:6379. The site answers without it (uncached), so an unreachable REDIS_URL is a warning only.
if [ -n "${REDIS_URL:-}" ]; then
  if redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
    echo "provision: using REDIS_URL"
  else
    echo "provision: warning: REDIS_URL does not answer; the site will run without its shared cache" >&2
  fi
else
  if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    echo "provision: starting Redis"
    # The init script (no systemd in containers) runs it as the redis user with Debian's /etc/redis/redis.conf.
    $SUDO service redis-server start >/dev/null 2>&1 || $SUDO redis-server /etc/redis/redis.conf --daemonize yes
  fi
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && break
    sleep 0.5
  done
  redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG || { echo "provision: Redis did not start" >&2; exit 1; }
  echo "provision: Redis ready"
fi

# Database: DATABASE_URL when given, else the machine's local cluster.
if [ -n "${DATABASE_URL:-}" ]; then
  psql_url="${DATABASE_URL/#postgis:/postgresql:}"
  psql "$psql_url" -v ON_ERROR_STOP=1 -qc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  echo "provision: using DATABASE_URL"
  exit 0
fi

version=15
if ! pg_lsclusters -h 2>/dev/null | awk -v v=$version '$1==v && $2=="main"' | grep -q .; then
  echo "provision: creating PostgreSQL $version cluster"
  $SUDO pg_createcluster $version main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v=$version '$1==v && $2=="main" {print $4}' | grep -q online; then
  echo "provision: starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect $version main start 2>/dev/null || $SUDO pg_ctlcluster $version main start
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done

as_postgres() {
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc "SELECT 1" >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -Atq "$@"
  else
    $SUDO -u postgres psql -v ON_ERROR_STOP=1 -Atq "$@"
  fi
}
DB_NAME="${WEGWEISER_DB_NAME:-wegweiser}"
if [ "$(as_postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]; then
  echo "provision: creating database $DB_NAME"
  as_postgres -d postgres -c "CREATE DATABASE $DB_NAME"
fi
as_postgres -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
as_postgres -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
# Test databases are created from template1: give it the extensions too.
as_postgres -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
as_postgres -d template1 -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
echo "provision: database $DB_NAME ready"
