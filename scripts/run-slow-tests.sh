#!/usr/bin/env bash
# The slow crash tests (make test-slow; not part of CI):
#   1. the storage log crash test, tests/crash/log_crash_test.sh (it builds
#      the log_crash_writer target of tests/crash/CMakeLists.txt if needed);
#   2. the Kafka kill -9 test: tests/crash/kafka_crash_test.py against the
#      strata binary in BUILD_DIR;
#   2b. the Kafka compaction kill -9 test: tests/crash/compaction_crash_test.py
#      (kills during log compaction; the newest value of every key must stay);
#   2c. the Kafka transactions kill -9 test: tests/crash/txn_crash_test.py
#      (kills during transactions, commits and aborts; committed transactions
#      stay whole, aborted ones invisible, every one all or nothing);
#   3. the volume kill -9 test: tests/crash/volume_crash_test.py (NBD writers,
#      flushed writes and snapshots must survive), same binary, once with
#      --volume-io buffered and once with --volume-io direct;
#   4. the table kill -9 test: tests/crash/table_crash_test.py (COPY and
#      upserts over the PostgreSQL port; acknowledged rows must survive);
#   4b. the table DDL kill -9 test: tests/crash/table_ddl_crash_test.py
#      (TRUNCATE is all or nothing, ALTER TABLE ADD PRIMARY KEY keeps every
#      row, with or without the key);
#   4c. the table transactions kill -9 test: tests/crash/table_txn_crash_test.py
#      (a COMMIT over several tables is all or nothing; row-locked transfers
#      and a shared counter lose nothing);
#   5. the slow database-clone tests: tests/e2e/test_dbclone_slow.py under
#      pytest with STRATA_SLOW=1 (volume backend, scheduled snapshots and
#      refresh, kill -9 during clone create; needs root and PostgreSQL 15);
#   6. the slow cluster tests: tests/e2e/test_cluster_slow.py under pytest
#      with STRATA_SLOW=1 (50 rounds of random kill -9, SIGSTOP/SIGCONT and
#      restarts of nodes and etcd under load, with the checker; a network
#      partition of a leader in network namespaces; needs root and etcd).
# Extra arguments go to the Kafka crash test (e.g. --cycles 20).
# Exits non-zero if any test fails or if a test could not be found.
#   usage: scripts/run-slow-tests.sh BUILD_DIR [kafka crash test args...]
set -uo pipefail
build_dir=${1:?usage: $0 BUILD_DIR [kafka crash test args...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac

status=0
failed=()

echo "== storage log crash test =="
if [ -f tests/crash/log_crash_test.sh ]; then
  bash tests/crash/log_crash_test.sh "$build_dir" || { status=1; failed+=(log_crash_test.sh); }
else
  echo "no storage log crash test found (tests/crash/log_crash_test.sh)" >&2
  status=1; failed+=(log-crash-test-missing)
fi

echo "== kafka kill -9 crash test =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/kafka_crash_test.py "$@" \
  || { status=1; failed+=(kafka_crash_test.py); }

echo "== kafka compaction kill -9 crash test =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/compaction_crash_test.py \
  || { status=1; failed+=(compaction_crash_test.py); }

echo "== kafka transactions kill -9 crash test =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/txn_crash_test.py \
  || { status=1; failed+=(txn_crash_test.py); }

for volume_io in buffered direct; do
  echo "== volume kill -9 crash test (--volume-io $volume_io) =="
  STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/volume_crash_test.py --volume-io "$volume_io" \
    || { status=1; failed+=("volume_crash_test.py --volume-io $volume_io"); }
done

echo "== table kill -9 crash test =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/table_crash_test.py \
  || { status=1; failed+=(table_crash_test.py); }

echo "== table DDL kill -9 crash test (TRUNCATE, ALTER TABLE ADD PRIMARY KEY) =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/table_ddl_crash_test.py \
  || { status=1; failed+=(table_ddl_crash_test.py); }

echo "== table transactions kill -9 crash test (commits over several tables, row locks) =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/table_txn_crash_test.py \
  || { status=1; failed+=(table_txn_crash_test.py); }

echo "== sequence kill -9 crash test (bigserial ids and nextval never repeat) =="
STRATA_BIN="$build_dir/strata" /usr/bin/python3 tests/crash/sequence_crash_test.py \
  || { status=1; failed+=(sequence_crash_test.py); }

echo "== database clones, slow cases =="
STRATA_SLOW=1 STRATA_BIN="$build_dir/strata" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/e2e/test_dbclone_slow.py \
  || { status=1; failed+=(test_dbclone_slow.py); }

echo "== cluster mode, slow cases =="
STRATA_SLOW=1 STRATA_BIN="$build_dir/strata" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/e2e/test_cluster_slow.py \
  || { status=1; failed+=(test_cluster_slow.py); }

if [ $status -ne 0 ]; then
  echo "slow tests failed: ${failed[*]}" >&2
else
  echo "slow tests passed"
fi
exit $status
