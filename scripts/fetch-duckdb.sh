#!/usr/bin/env bash
# Fetches DuckDB 1.4.4 LTS into .deps/duckdb (git-ignored), checked by sha256:
#   lib/libduckdb.so  from npm @duckdb/node-bindings-linux-x64@1.4.4-r.4
#   include/          from package/src/duckdb/src/include of npm duckdb@1.4.4
# Idempotent: does nothing when the stamp says both tarballs were checked.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.deps/duckdb"
stamp="$dest/.fetched-1.4.4-r.4"
[ -f "$stamp" ] && exit 0

lib_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
lib_tgz="duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz"
lib_sha256="732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b"
hdr_pkg="duckdb@1.4.4"
hdr_tgz="duckdb-1.4.4.tgz"
hdr_sha256="5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed"

command -v npm >/dev/null || { echo "fetch-duckdb: npm is missing (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-duckdb: npm pack $lib_pkg $hdr_pkg"
(cd "$work" && npm pack --silent "$lib_pkg" "$hdr_pkg" >/dev/null)

check() {
  local got
  got="$(sha256sum "$work/$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    echo "fetch-duckdb: sha256 mismatch for $1: got $got, want $2; refusing to use it" >&2
    exit 1
  fi
}
check "$lib_tgz" "$lib_sha256"
check "$hdr_tgz" "$hdr_sha256"

rm -rf "$dest"
mkdir -p "$dest/lib" "$dest/include"
tar xzf "$work/$lib_tgz" -C "$work" package/libduckdb.so
mv "$work/package/libduckdb.so" "$dest/lib/"
tar xzf "$work/$hdr_tgz" -C "$work" package/src/duckdb/src/include
cp -r "$work/package/src/duckdb/src/include/." "$dest/include/"
touch "$stamp"
echo "fetch-duckdb: DuckDB 1.4.4 in $dest"
