#!/bin/bash
# Smoke test of the demo service: starts it on a free port, checks /health, /members, /members/NAME,
# /stats and a bad request with curl, stops it with SIGTERM (by PID) and expects exit code 0.
# Prints PASS or FAIL; exit status 0 on PASS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../build/demo-controller"
out=$(mktemp)
pid=""
failures=0

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; fi
  rm -f "$out"
}
trap cleanup EXIT

check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

[ -x "$bin" ] || make -s -C "$here" || { echo FAIL: build; exit 1; }

# setsid: the service runs in its own process group, so cleanup can kill the whole group.
setsid "$bin" --port 0 --threads 4 > "$out" 2>&1 &
pid=$!
port=""
for _ in $(seq 50); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$out" | cut -d: -f2)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: no 'listening on' line"; cat "$out"; exit 1; }
base="http://127.0.0.1:$port"

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

check "GET /health is 200" test "$(status "$base/health")" = 200
body=$(curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"member":"smoke-1","groups":["core","edge"],"vlan":42}' "$base/members")
check "POST /members answers the member and a byte count" \
  grep -Eq '"bytes":[1-9][0-9]*.*"member":"smoke-1"' <<<"$body"
config=$(curl -s "$base/members/smoke-1")
check "GET /members/smoke-1 returns the cached config" grep -q '"member":"smoke-1"' <<<"$config"
check "GET /members/unknown is 404" test "$(status "$base/members/unknown")" = 404
check "POST /members with a bad body is 400" \
  test "$(status -X POST -d '{"groups":[]}' "$base/members")" = 400
check "GET /members is 405" test "$(status "$base/members")" = 405
stats=$(curl -s "$base/stats")
check "GET /stats counts the config" grep -q '"configs_built":1,' <<<"$stats"
check "GET /stats has the cache entry" grep -q '"entries":1,' <<<"$stats"
check "GET /stats has mallinfo2 figures" grep -Eq '"mallinfo2":\{"arena":[0-9]+' <<<"$stats"
# Two requests on one connection: keep-alive must hold.
check "keep-alive: two requests, one connection" \
  test "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}' "$base/health" "$base/health" | tr -d '\n')" = 10

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
check "SIGTERM exits 0" test "$rc" = 0
check "prints the shutdown line" grep -q '^stopped after' "$out"

if [ "$failures" = 0 ]; then echo PASS; exit 0; fi
echo "FAIL ($failures)"; cat "$out"; exit 1
