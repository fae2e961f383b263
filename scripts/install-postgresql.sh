#!/usr/bin/env bash
# Install PostgreSQL from Debian and start it without systemd (pg_ctlcluster); idempotent
# (a server that already answers is left alone). It listens on 127.0.0.1 and on the unix
# socket in /var/run/postgresql. Creates the role and database virtfleet (password
# virtfleet, allowed to create databases: the tests make one per test) and prints the
# [database] connection to use.
#
# Environment:
#   VIRTFLEET_SKIP_APT=1              do not touch apt (postgresql already installed)
#   VIRTFLEET_PG_USER/_PASSWORD/_DB   role, password and database (default virtfleet)
#   VIRTFLEET_PG_TIMEOUT=60           seconds to wait for the server to answer
set -euo pipefail

PGUSER_NAME=${VIRTFLEET_PG_USER:-virtfleet}
PGPASS=${VIRTFLEET_PG_PASSWORD:-virtfleet}
PGDB=${VIRTFLEET_PG_DB:-virtfleet}
TIMEOUT=${VIRTFLEET_PG_TIMEOUT:-60}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [[ "${VIRTFLEET_SKIP_APT:-0}" == 1 ]]; then
    echo "install-postgresql: postgresql is not installed and VIRTFLEET_SKIP_APT=1" >&2
    exit 1
  fi
  echo "install-postgresql: installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postinst creates the cluster "main"; starting it needs no systemd.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# The newest installed major version and its first cluster (Debian creates "main").
VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
CLUSTER=$(pg_lsclusters -h 2>/dev/null | awk -v v="$VERSION" '$1 == v {print $2; exit}')
if [[ -z "$CLUSTER" ]]; then
  CLUSTER=main
  pg_createcluster "$VERSION" "$CLUSTER" >/dev/null
fi
CONF_DIR=/etc/postgresql/$VERSION/$CLUSTER

as_postgres() { su -s /bin/sh postgres -c "$1"; }
answers() { as_postgres "psql -qAtc 'select 1'" >/dev/null 2>&1; }

if ! answers; then
  # Several servers and test runs connect at once: more connections than the default
  # 100, and only loopback and the unix socket.
  if [[ ! -f $CONF_DIR/conf.d/virtfleet.conf ]]; then
    mkdir -p "$CONF_DIR/conf.d"
    printf "%s\n" "listen_addresses = '127.0.0.1'" "max_connections = 400" \
      >"$CONF_DIR/conf.d/virtfleet.conf"
    grep -q "^include_dir = 'conf.d'" "$CONF_DIR/postgresql.conf" ||
      echo "include_dir = 'conf.d'" >>"$CONF_DIR/postgresql.conf"
  fi
  echo "install-postgresql: starting PostgreSQL $VERSION/$CLUSTER"
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  pg_ctlcluster "$VERSION" "$CLUSTER" start || true
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    answers && break
    sleep 0.5
  done
  if ! answers; then
    echo "install-postgresql: PostgreSQL did not answer within ${TIMEOUT}s" >&2
    tail -20 "/var/log/postgresql/postgresql-$VERSION-$CLUSTER.log" >&2 2>/dev/null || true
    exit 1
  fi
fi

has_role=$(as_postgres "psql -qAtc \"select 1 from pg_roles where rolname = '$PGUSER_NAME'\"")
if [[ "$has_role" != 1 ]]; then
  as_postgres "psql -qc \"create role $PGUSER_NAME login createdb password '$PGPASS'\"" >/dev/null
fi
has_db=$(as_postgres "psql -qAtc \"select 1 from pg_database where datname = '$PGDB'\"")
if [[ "$has_db" != 1 ]]; then
  as_postgres "createdb -O $PGUSER_NAME $PGDB"
fi
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')
echo "install-postgresql: up; connection = postgresql+psycopg://$PGUSER_NAME:$PGPASS@127.0.0.1:$PORT/$PGDB"
