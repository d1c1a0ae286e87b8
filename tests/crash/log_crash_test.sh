#!/usr/bin/env bash
# The storage log crash test (make test-slow): kill -9 log_crash_writer at
# random moments and verify every acknowledged entry after each restart.
#   usage: tests/crash/log_crash_test.sh BUILD_DIR [--cycles 20] [--seed S] [--keep]
set -euo pipefail
build_dir=${1:?usage: $0 BUILD_DIR [log_crash_test.py args...]}
shift
writer=$build_dir/tests/crash/log_crash_writer
if [ ! -x "$writer" ]; then
  cmake --build "$build_dir" --target log_crash_writer
fi
exec /usr/bin/python3 "$(dirname "$0")/log_crash_test.py" --writer "$writer" "$@"
