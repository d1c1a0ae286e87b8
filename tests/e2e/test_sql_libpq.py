"""libpq from C++ (tests/e2e/libpq/libpq_client.cc): connect, PQexec,
PQprepare/PQexecPrepared with binary parameters and results, single-row mode,
COPY in and out, PQcancel. The program prints PASS/FAIL lines; this test
fails with its output when it exits non-zero.

The binary is the `libpq_client` CMake target, found as $STRATA_LIBPQ_CLIENT
or next to $STRATA_BIN (BUILD/tests/e2e/libpq/libpq_client); when it has not
been built, the test compiles it with g++ into a temp dir."""

import os
import subprocess
from pathlib import Path

import pytest

from pg_wire import pg  # noqa: F401  (fixture)
from strata_server import REPO_ROOT

SOURCE = Path(__file__).resolve().parent / "libpq" / "libpq_client.cc"


def client_binary(tmp_path):
    env = os.environ.get("STRATA_LIBPQ_CLIENT")
    if env:
        return Path(env)
    strata_bin = Path(os.environ.get("STRATA_BIN", REPO_ROOT / "build" / "strata"))
    built = strata_bin.parent / "tests" / "e2e" / "libpq" / "libpq_client"
    if built.is_file() and built.stat().st_mtime >= SOURCE.stat().st_mtime:
        return built
    out = tmp_path / "libpq_client"
    proc = subprocess.run(["g++", "-std=c++20", "-O1", "-Wall", "-Wextra", "-Werror", "-I/usr/include/postgresql",
                           str(SOURCE), "-lpq", "-o", str(out)], capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        pytest.fail(f"could not compile {SOURCE}:\n{proc.stderr}")
    return out


@pytest.mark.timeout_s(180)
def test_libpq_client(pg, tmp_path):
    binary = client_binary(tmp_path)
    long_query = "SELECT count(*) FROM range(10000000000)" if pg.is_strata else "SELECT pg_sleep(60)"
    conninfo = f"host={pg.host} port={pg.port} user={pg.user} dbname={pg.dbname} connect_timeout=10"
    proc = subprocess.run([str(binary), conninfo, "--long-query", long_query], capture_output=True, text=True,
                          timeout=150)
    print(proc.stdout)
    assert proc.returncode == 0, f"libpq_client exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    passes = [line for line in proc.stdout.splitlines() if line.startswith("PASS: ")]
    assert len(passes) >= 20, proc.stdout
    assert "FAIL" not in proc.stdout
