#!/bin/bash
# Measures the demo service under each allocator environment with wrk driving HTTP load:
# RSS (from /proc/PID/statm) at 10 s, 30 s and at the end of the load, throughput, and ratios against glibc.
#   native/demo-controller/measure.sh [SECONDS] [ENV...]     (default 40 s, all six environments)
# ENV: glibc glibc-arena-2 glibcxx-force-new jemalloc tcmalloc mimalloc. Needs wrk.
# DEMO_ARGS adds arguments to the service (e.g. DEMO_ARGS="--threads 16").
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../build/demo-controller"
lua="$here/../../examples/post.lua"
secs=${1:-40}; shift || true
envs=${*:-glibc glibc-arena-2 glibcxx-force-new jemalloc tcmalloc mimalloc}
lib=/usr/lib/x86_64-linux-gnu
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill -TERM "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

[ -x "$bin" ] || make -s -C "$here" || exit 1
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }

printf '%-18s %8s %8s %8s %8s %10s %9s %9s\n' env rss10_MB rss30_MB end_MB max_MB req_per_s rss_ratio thr_ratio
base_rss=""; base_thr=""
for e in $envs; do
  case $e in
    glibc) vars=();;
    glibc-arena-2) vars=(MALLOC_ARENA_MAX=2);;
    glibcxx-force-new) vars=(GLIBCXX_FORCE_NEW=1);;
    jemalloc) vars=("LD_PRELOAD=$lib/libjemalloc.so.2");;
    tcmalloc) vars=("LD_PRELOAD=$lib/libtcmalloc_minimal.so.4");;
    mimalloc) vars=("LD_PRELOAD=$lib/libmimalloc.so.2");;
    *) echo "unknown environment $e"; continue;;
  esac
  # setsid: the server gets its own process group, as every target of Allocator Lab does. One output file
  # per environment: the background shell truncates it asynchronously, so a reused file could show the
  # previous server's port.
  env "${vars[@]}" setsid "$bin" --port 0 ${DEMO_ARGS:-} > "$work/server-$e.out" 2>&1 &
  server=$!
  port=""
  for _ in $(seq 100); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/server-$e.out" | cut -d: -f2)
    [ -n "$port" ] && break; sleep 0.1
  done
  [ -n "$port" ] || { echo "$e: server did not start"; cat "$work/server-$e.out"; kill -TERM "$server"; server=""; continue; }
  wrk -t2 -c64 -d"${secs}s" --timeout 20s -s "$lua" "http://127.0.0.1:$port/members" > "$work/wrk-$e.out" 2>&1 &
  load=$!
  rss10=0; rss30=0; last=0; max=0
  for ((t = 1; t <= secs; t++)); do
    sleep 1
    last=$(awk '{printf "%d", $2 * 4 / 1024}' "/proc/$server/statm" 2>/dev/null || echo 0)
    (( last > max )) && max=$last
    (( t == 10 )) && rss10=$last
    (( t == 30 )) && rss30=$last
  done
  wait "$load"
  thr=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk-$e.out")
  last=$(awk '{printf "%d", $2 * 4 / 1024}' "/proc/$server/statm" 2>/dev/null || echo "$last")
  kill -TERM "$server"; wait "$server"; rc=$?; server=""
  [ "$rc" = 0 ] || echo "$e: server exited with $rc"
  if [ -z "$thr" ]; then echo "$e: wrk reported no throughput:"; cat "$work/wrk-$e.out" "$work/server-$e.out"; fi
  grep -q "allocator" "$work/server-$e.out" && alloc=$(grep -o 'allocator [a-z]*' "$work/server-$e.out" | head -1)
  [ -z "$base_rss" ] && base_rss=$last && base_thr=${thr:-0}
  printf '%-18s %8s %8s %8s %8s %10s %9s %9s   (%s)\n' "$e" "$rss10" "$rss30" "$last" "$max" "${thr:-?}" \
    "$(awk -v a="$last" -v b="$base_rss" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="${thr:-0}" -v b="$base_thr" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" "$alloc"
done
