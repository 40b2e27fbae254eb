#!/usr/bin/env bash
# A PostgreSQL 15 streaming replica of the local primary, on this machine: "more than one machine, shown on one".
#
#   bash config/replica.sh          # make replica: provision (or repair) and check it; safe to run again
#   bash config/replica.sh stop     # make replica-stop: stop it (the primary keeps running, untouched)
#
# The primary is the Debian cluster 15/main on 127.0.0.1:5432 (config/provision.sh); the replica is the cluster
# 15/replica on 127.0.0.1:$REPLICA_PORT, a pg_basebackup -R copy of it that streams the primary's WAL. The primary
# is only ever reloaded (a replication line in pg_hba.conf), never restarted: other databases live on it. Its
# defaults already allow streaming (wal_level = replica, max_wal_senders = 10); if an operator lowered them the
# script stops and says so instead of restarting a shared server.
#
# Then run the site with DATABASE_REPLICA_URL=postgis://postgres@127.0.0.1:$REPLICA_PORT/<database>.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"

VERSION=15
PRIMARY=main
PRIMARY_PORT=5432
REPLICA=replica
REPLICA_PORT="${REPLICA_PORT:-5433}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

primary() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
replica() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
# "online", "down", "online,recovery", "down,recovery"; empty when the cluster does not exist.
cluster_status() { pg_lsclusters -h | awk -v v=$VERSION -v c="$1" '$1==v && $2==c {print $4}'; }
is_online() { [[ "$(cluster_status "$1")" == online* ]]; }
start_cluster() {
  $SUDO pg_ctlcluster --skip-systemctl-redirect $VERSION "$1" start 2>/dev/null || $SUDO pg_ctlcluster $VERSION "$1" start
}
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
stop_cluster() {
  $SUDO pg_ctlcluster --skip-systemctl-redirect $VERSION "$1" stop 2>/dev/null || $SUDO pg_ctlcluster $VERSION "$1" stop
}

if [ "${1:-}" = "stop" ]; then
  if is_online $REPLICA; then
    stop_cluster $REPLICA
    echo "replica: stopped"
  else
    echo "replica: not running"
  fi
  exit 0
fi

pg_isready -q -h 127.0.0.1 -p "$PRIMARY_PORT" || { echo "replica: the primary on port $PRIMARY_PORT is not up (make provision)" >&2; exit 1; }

# 1. The primary: streaming needs wal_level replica (or logical) and WAL senders, both defaults. Changing either
#    needs a restart of the shared server, which this script never does on its own.
wal_level=$(primary -c "SHOW wal_level")
senders=$(primary -c "SHOW max_wal_senders")
if [ "$wal_level" = "minimal" ] || [ "$senders" -lt 2 ]; then
  echo "replica: the primary has wal_level=$wal_level, max_wal_senders=$senders; set wal_level = replica and" >&2
  echo "         max_wal_senders >= 2 in its postgresql.conf and restart it once (pg_ctlcluster $VERSION $PRIMARY restart)" >&2
  exit 1
fi

# 2. The primary: let the replica connect for replication from loopback (pg_hba's "all" does not cover
#    replication connections). A reload, not a restart.
hba=$(primary -c "SHOW hba_file")
if ! $SUDO grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  echo "replica: allowing replication connections from 127.0.0.1 in $hba (reload)"
  printf '# Streaming replica on loopback (config/replica.sh)\nhost    replication     all             127.0.0.1/32            trust\n' \
    | $SUDO tee -a "$hba" >/dev/null
  primary -c "SELECT pg_reload_conf()" >/dev/null
fi

# 3. The replica cluster: created once; its data directory is a base backup of the primary (-R writes
#    standby.signal and primary_conninfo). A cluster that exists but does not stream is rebuilt.
streaming() { [ "$(replica -c "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = "streaming" ]; }
data_dir=/var/lib/postgresql/$VERSION/$REPLICA

# The replica holds the primary's roles and databases: it takes the primary's access rules too (Debian keeps
# pg_hba.conf beside the cluster's configuration, outside the data directory a base backup copies).
sync_access_rules() {
  local replica_hba=/etc/postgresql/$VERSION/$REPLICA/pg_hba.conf
  if ! $SUDO cmp -s "$hba" "$replica_hba"; then
    $SUDO cp "$hba" "$replica_hba"
    $SUDO chown postgres:postgres "$replica_hba"
    if is_online $REPLICA; then $SUDO pg_ctlcluster $VERSION $REPLICA reload; fi
  fi
}

if [ -n "$(cluster_status $REPLICA)" ] && [ ! -f "$data_dir/standby.signal" ]; then
  echo "replica: cluster $VERSION/$REPLICA exists but is not a standby; rebuilding it"
  need_backup=1
elif [ -z "$(cluster_status $REPLICA)" ]; then
  echo "replica: creating cluster $VERSION/$REPLICA on port $REPLICA_PORT"
  $SUDO pg_createcluster $VERSION $REPLICA --port "$REPLICA_PORT" \
    -o "listen_addresses='127.0.0.1'" -o hot_standby=on -o hot_standby_feedback=on >/dev/null
  sync_access_rules
  need_backup=1
else
  need_backup=0
  sync_access_rules
  is_online $REPLICA || start_cluster $REPLICA
  for _ in $(seq 1 15); do streaming && break; sleep 1; done
  if ! streaming; then
    echo "replica: cluster $VERSION/$REPLICA does not stream (too far behind?); rebuilding it"
    need_backup=1
  fi
fi

if [ "$need_backup" = 1 ]; then
  if is_online $REPLICA; then stop_cluster $REPLICA; fi
  $SUDO find "$data_dir" -mindepth 1 -delete
  echo "replica: base backup of the primary into $data_dir"
  started=$(date +%s)
  as_postgres pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$data_dir" \
    -R -X stream -c fast
  echo "replica: base backup took $(($(date +%s) - started)) s ($(du -sh "$data_dir" | cut -f1))"
  start_cluster $REPLICA
fi

# 4. Check: the replica is in recovery and streams; the primary sees it streaming.
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT" && streaming && break
  sleep 1
done
[ "$(replica -c "SELECT pg_is_in_recovery()")" = "t" ] || { echo "replica: not in recovery" >&2; exit 1; }
streaming || { echo "replica: not streaming (see /var/log/postgresql/postgresql-$VERSION-$REPLICA.log)" >&2; exit 1; }
primary -c "SELECT 'replica: primary sees ' || application_name || ' ' || state || ', replay lag '
  || coalesce(replay_lag::text, '0') FROM pg_stat_replication WHERE application_name = '$VERSION/$REPLICA'"
echo "replica: ready on 127.0.0.1:$REPLICA_PORT (DATABASE_REPLICA_URL=postgis://postgres@127.0.0.1:$REPLICA_PORT/<database>)"
