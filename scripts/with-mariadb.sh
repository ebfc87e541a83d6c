#!/usr/bin/env bash
# Run a command against a throw-away MariaDB server on loopback (Debian's mariadb-server).
# Sets HONORBOUND_TEST_MARIADB_URL for the command. Without the server binary the command runs
# without it (its MariaDB tests skip with a notice), except under CI=true, where it is an error.
set -euo pipefail

server=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
if [ -z "$server" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: MariaDB server not found (install the 'mariadb-server' package)" >&2
    exit 1
  fi
  echo "NOTICE: MariaDB tests skipped: no mariadbd on this machine (apt-get install mariadb-server)." >&2
  exec "$@"
fi

workdir=$(mktemp -d /tmp/honorbound-mariadb.XXXXXX)
port=${HONORBOUND_MARIADB_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
user=$(id -un)
pid=""

cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

mariadb-install-db --no-defaults --datadir="$workdir/data" --user="$user" \
  --auth-root-authentication-method=normal --skip-test-db >"$workdir/install.log" 2>&1 \
  || { cat "$workdir/install.log" >&2; exit 1; }
"$server" --no-defaults --datadir="$workdir/data" --socket="$workdir/sock" --port="$port" \
  --bind-address=127.0.0.1 --user="$user" --skip-name-resolve --innodb-flush-log-at-trx-commit=0 \
  --innodb-buffer-pool-size=256M --max-connections=200 --log-error="$workdir/error.log" \
  --pid-file="$workdir/pid" &
pid=$!
for _ in $(seq 1 100); do
  if mariadb --no-defaults -uroot --socket="$workdir/sock" -e "SELECT 1" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
mariadb --no-defaults -uroot --socket="$workdir/sock" -e \
  "CREATE USER 'honorbound'@'127.0.0.1' IDENTIFIED BY 'honorbound-test'; GRANT ALL ON *.* TO 'honorbound'@'127.0.0.1' WITH GRANT OPTION;" \
  || { cat "$workdir/error.log" >&2; exit 1; }

export HONORBOUND_TEST_MARIADB_URL="mysql+pymysql://honorbound:honorbound-test@127.0.0.1:$port/mysql"
echo "MariaDB $("$server" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
