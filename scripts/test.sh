#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every suite and prints one line `N passed, N failed, N skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."
ALLOCLAB_SETUP_TESTS=1 bash scripts/setup.sh
exec node scripts/test-all.mjs "$@"
