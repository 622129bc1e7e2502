#!/usr/bin/env bash
# Installs what Allocator Lab needs on Debian 12 and builds it: Debian packages (when root; otherwise prints the
# exact apt-get line), npm dependencies, native programs, bundles. Idempotent: a second run does little.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runtime tools (allocators, profilers, symbolizers, load generators) and build tools for the native programs.
PACKAGES=(build-essential libjemalloc2 libjemalloc-dev libtcmalloc-minimal4 libmimalloc2.0 heaptrack valgrind binutils llvm
  nlohmann-json3-dev siege wrk zstd lldb-16 curl libunwind8)
# What the tests add: Chromium for UI checks, and the headers/tools code-server's install needs; libc6-dbg (symbols by
# build-id) and golang-go (`go tool pprof` reads our pprof files) for the profiler tests; and the Debian
# programs the diagnosis benchmark runs under their own clients (bench/diagnosis/).
if [ "${ALLOCLAB_SETUP_TESTS:-0}" = 1 ]; then PACKAGES+=(chromium libkrb5-dev pkg-config ripgrep libc6-dbg golang-go redis-server redis-tools memcached libmemcached-tools); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages. Run as root:"
    echo "  sudo apt-get install -y ${missing[*]}"
    exit 2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi
echo "setup: building native programs"
make -s -C native >/dev/null
echo "setup: bundling"
node esbuild.mjs --strict
if [ "${ALLOCLAB_SETUP_TESTS:-0}" = 1 ]; then
  echo "setup: the VS Code test host (code-server, kept out of the root dependencies)"
  node scripts/vscode-host.mjs install
fi
