#!/usr/bin/env bash
# Installs the Debian 12 packages Strata builds, tests and benchmarks with.
# Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libboost-dev libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libyaml-cpp-dev
  librocksdb-dev libisal-dev liburing-dev libpg-query-dev libprotobuf-c-dev libzstd-dev liblz4-dev libsnappy-dev libxxhash-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev
  protobuf-compiler protobuf-compiler-grpc libgrpc++-dev libprotobuf-dev
)
test_pkgs=(
  kcat python3-pytest python3-confluent-kafka python3-kafka librdkafka-dev curl procps openssl
  qemu-utils libnbd-bin nbdkit fio python3-libnbd
  postgresql-client-15 python3-psycopg libpq-dev python3-sqlalchemy python3-psycopg2 python3-asyncpg
  etcd-server etcd-client
)
# Database clones at run time: PostgreSQL 15 for sources' copies and clones,
# btrfs for the default pool, ext4 and FUSE tools for the volume backend.
runtime_pkgs=(
  postgresql-15 btrfs-progs e2fsprogs util-linux fuse3 libnbd-bin
)
# The volumes bench's fs workload (ext4 on a Strata volume through nbdfuse and
# a loop device, pgbench -i on it) needs nbdfuse (in libnbd-bin on Debian 12;
# there is no separate nbdfuse package before Debian 13), fuse3, mount
# (losetup), e2fsprogs and PostgreSQL 15 with its client (pgbench).
bench_pkgs=(
  nats-server libnats-dev redis-server libhiredis-dev
  fio qemu-utils nbdkit python3 postgresql-15
  libnbd-bin fuse3 mount e2fsprogs postgresql-client-15
)

want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${runtime_pkgs[@]}")
# npm fetches DuckDB's prebuilt library and headers (scripts/fetch-duckdb.sh).
command -v npm >/dev/null || want+=(npm)
case "${1:-}" in
  --bench) want+=("${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
