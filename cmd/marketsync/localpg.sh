#!/usr/bin/env bash
# Prints the DATABASE_URL that `make run` and `make test` use:
#   1. $DATABASE_URL when it is set;
#   2. else the PostgreSQL server on 127.0.0.1:5432 (database "marketsync");
#   3. else a private cluster under .data/pg on port 55432, started with the system's
#      PostgreSQL binaries (Debian's postgresql package is installed when they are missing).
# marketsync creates the database when it is missing and applies its migrations on start.
# `localpg.sh stop` stops the private cluster, if it runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/.data/pg"
port=55432
as=()
if [ "$(id -u)" = 0 ]; then
  as=(runuser -u postgres --)   # PostgreSQL refuses to run as root
fi

if [ "${1:-}" = stop ]; then
  if [ -f "$dir/postmaster.pid" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    "${as[@]}" "$bin/pg_ctl" -D "$dir" stop -m fast >&2
  fi
  exit 0
fi

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "postgres://postgres@127.0.0.1:5432/marketsync?sslmode=disable"
  exit 0
fi

url="postgres://postgres@127.0.0.1:$port/marketsync?sslmode=disable"
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "$url"
  exit 0
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ]; then
  echo "localpg: installing PostgreSQL (Debian package postgresql)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown -R postgres "$root/.data"
if [ ! -f "$dir/PG_VERSION" ]; then
  echo "localpg: creating a private cluster in $dir" >&2
  "${as[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 >&2
fi
echo "localpg: starting PostgreSQL on 127.0.0.1:$port" >&2
"${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >&2
echo "$url"
