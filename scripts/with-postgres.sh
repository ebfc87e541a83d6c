#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server on loopback.
# Sets HONORBOUND_TEST_DATABASE_URL for the command. Without a server binary the leg is skipped
# with a notice, except under CI=true, where a missing server is an error.
set -euo pipefail

pg_bin=""
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/initdb" ] && pg_bin="$dir"
done
if [ -z "$pg_bin" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: PostgreSQL server binaries not found (install the 'postgresql' package)" >&2
    exit 1
  fi
  echo "NOTICE: PostgreSQL leg skipped: no PostgreSQL server binaries on this machine" \
       "(apt-get install postgresql to run it)." >&2
  exit 0
fi

run_as=()
if [ "$(id -u)" = "0" ]; then
  run_as=(runuser -u postgres --)
fi

workdir=$(mktemp -d /tmp/honorbound-pg.XXXXXX)
chmod 755 "$workdir"
[ "$(id -u)" = "0" ] && chown postgres "$workdir"
port=${HONORBOUND_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}

cleanup() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

"${run_as[@]}" "$pg_bin/initdb" -D "$workdir/data" -U postgres -A trust --no-sync >/dev/null
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -l "$workdir/log" -w \
  -o "-h 127.0.0.1 -p $port -k $workdir -F -c max_connections=200" start >/dev/null

export HONORBOUND_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
