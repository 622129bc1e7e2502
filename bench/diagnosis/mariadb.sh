#!/bin/sh
# Starts Debian's MariaDB server on a fresh data directory, for one environment of mariadb.alloclab.json:
#   mariadb.sh PORT
# The data directory goes under $TMPDIR (or /tmp) as alloclab-mariadb.XXXXXX. mariadbd replaces this shell
# (so the environment's process is the server itself), and cannot remove it when it ends: directories of servers
# that are gone are removed here, before a new one is made.
set -eu
port="$1"
base="${TMPDIR:-/tmp}"
for old in "$base"/alloclab-mariadb.*; do
  [ -d "$old" ] || continue
  pid=$(cat "$old/mariadbd.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    # A directory without a pid file may be one still being set up: leave it for a minute.
    if [ -n "$pid" ] || [ -n "$(find "$old" -maxdepth 0 -mmin +1)" ]; then rm -rf "$old"; fi
  fi
done
dir=$(mktemp -d "$base/alloclab-mariadb.XXXXXX")
mariadb-install-db --no-defaults --user=root --datadir="$dir/data" --skip-test-db --auth-root-authentication-method=normal >"$dir/install.log" 2>&1
exec mariadbd --no-defaults --user=root --datadir="$dir/data" --pid-file="$dir/mariadbd.pid" --socket="$dir/mariadbd.sock" \
  --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --skip-grant-tables --innodb-log-file-size=16M --innodb-buffer-pool-size=32M \
  --log-error="$dir/error.log"
