#!/usr/bin/env bash
# A throwaway PostgreSQL (15, from Debian) for the tests: initdb into DIR, listening only on
# 127.0.0.1:PORT and a Unix socket inside DIR, trust authentication (nothing else can reach it).
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
#   pg_cluster.sh start DIR     prints the postgresql:// URI of database "gatepass"
#   pg_cluster.sh stop DIR      fast shutdown (the data stays; `start` again reuses it and its port)
#   pg_cluster.sh destroy DIR   stop and delete DIR
set -euo pipefail
cmd=${1:?usage: pg_cluster.sh start|stop|destroy DIR}
dir=${2:?usage: pg_cluster.sh start|stop|destroy DIR}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/initdb ]] || { echo "pg_cluster: no PostgreSQL server (apt install postgresql)" >&2; exit 3; }
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case $cmd in
start)
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    runuser -u postgres -- test -x "$dir" ||
      { echo "pg_cluster: the postgres user cannot reach $dir (chmod o+x its parent folders)" >&2; exit 1; }
  fi
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$dir/port"
  fi
  port=$(cat "$dir/port")
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  if ! as_pg "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = 'gatepass'" postgres | grep -q 1; then
    as_pg "$PGBIN/createdb" -h "$dir" -p "$port" -U postgres gatepass
  fi
  echo "postgresql://postgres@127.0.0.1:$port/gatepass"
  ;;
stop)
  [[ -f $dir/data/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null
  exit 0
  ;;
destroy)
  [[ -f $dir/data/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null
  rm -rf "$dir"
  ;;
*) echo "usage: pg_cluster.sh start|stop|destroy DIR" >&2; exit 2 ;;
esac
