#!/usr/bin/env bash
# Runs every default test against the build in $1: the unit tests (ctest) and
# the end-to-end tests (pytest, real clients against the real binary).
# Exits non-zero if either fails or if either ran no test at all.
set -uo pipefail
build_dir=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

status=0
echo "== unit tests (ctest) =="
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --no-tests=error || status=1

echo "== end-to-end tests (pytest) =="
STRATA_BIN="$root/$build_dir/strata" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
rc=$?
# pytest exits 5 when it collected no test: that is a failure here, not a pass.
if [ $rc -ne 0 ]; then status=1; fi
exit $status
