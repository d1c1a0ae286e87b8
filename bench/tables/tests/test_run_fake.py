"""End to end: the generator, the DuckDB runner and the Strata path of the
orchestrator (against tests/fake_strata.py) at scale 0.001."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import bench_tables
import schema

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(BENCH))
DUCKDB = os.path.join(REPO, ".deps", "duckdb")

needs_tools = pytest.mark.skipif(
    shutil.which("g++") is None or not os.path.exists(os.path.join(DUCKDB, "lib", "libduckdb.so"))
    or not os.path.exists("/usr/lib/postgresql/15/bin/postgres"),
    reason="needs g++, .deps/duckdb and postgresql-15")


request_cleanup = []


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    for d in request_cleanup:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    out = tmp_path_factory.mktemp("tools")
    cxx = ["g++", "-std=c++20", "-O1", "-Wall", "-Wextra", "-Werror"]
    subprocess.run(cxx + ["-o", str(out / "tpch_gen"), os.path.join(BENCH, "tpch_gen.cc")], check=True)
    subprocess.run(cxx + [f"-I{DUCKDB}/include", "-o", str(out / "duckdb_native"),
                          os.path.join(BENCH, "duckdb_native.cc"), f"-L{DUCKDB}/lib", "-lduckdb",
                          f"-Wl,-rpath,{DUCKDB}/lib"], check=True)
    return out


def _read_tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f]


@needs_tools
def test_generator_is_deterministic_and_consistent(tools, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d, seed in ((a, "1"), (b, "1"), (c, "2")):
        d.mkdir()
        subprocess.run([str(tools / "tpch_gen"), "--scale", "0.002", "--seed", seed, "--out", str(d)],
                       check=True, capture_output=True)
    for t in schema.TABLES:
        assert (a / f"{t.name}.tsv").read_bytes() == (b / f"{t.name}.tsv").read_bytes(), t.name
        rows = _read_tsv(a / f"{t.name}.tsv")
        assert rows and all(len(r) == len(t.columns) for r in rows), t.name
    assert (a / "lineitem.tsv").read_bytes() != (c / "lineitem.tsv").read_bytes()

    part = {r[0]: r for r in _read_tsv(a / "part.tsv")}
    suppliers_of = {}
    for r in _read_tsv(a / "partsupp.tsv"):
        suppliers_of.setdefault(r[0], set()).add(r[1])
    assert all(len(s) == 4 for s in suppliers_of.values())
    orders = {r[0]: r for r in _read_tsv(a / "orders.tsv")}
    lines = _read_tsv(a / "lineitem.tsv")
    assert all(int(o[1]) % 3 != 0 for o in orders.values())  # a third of customers never order
    by_order = {}
    for li in lines:
        by_order.setdefault(li[0], []).append(li)
        assert li[2] in suppliers_of[li[1]]  # Q9 joins partsupp on (part, supplier)
        price = float(part[li[1]][7])
        assert float(li[5]) == pytest.approx(int(li[4]) * price)
        assert "1992-01-01" <= li[10] <= "1998-12-31" and li[10] < li[12]  # ship before receipt
        assert (li[8] == "N") == (li[12] > "1995-06-17")
    for key, ls in by_order.items():
        statuses = {li[9] for li in ls}
        expect = "F" if statuses == {"F"} else ("O" if statuses == {"O"} else "P")
        assert orders[key][2] == expect
        total = sum(round(float(li[5]) * (1 + float(li[7])) * (1 - float(li[6])), 2) for li in ls)
        assert float(orders[key][3]) == pytest.approx(total, abs=0.01 * len(ls) + 0.005)
    assert sorted(by_order) == sorted(orders)


@needs_tools
def test_whole_run_against_fake_strata_and_duckdb(tools, tmp_path, capsys):
    out_json = tmp_path / "run.json"
    # PostgreSQL runs as user postgres when we are root: the work dir must be reachable.
    work = tempfile.mkdtemp(prefix="btab-test-")
    os.chmod(work, 0o755)
    request_cleanup.append(work)
    status = bench_tables.main([
        "--scale", "0.001", "--systems", "strata,duckdb", "--hot-runs", "1",
        "--freshness-trials", "5", "--disk-test-mib", "0", "--work-dir", work,
        "--tools-dir", str(tools), "--strata-bin", os.path.join(HERE, "fake_strata.py"),
        "--json", str(out_json)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    doc = json.loads(out_json.read_text())
    strata = doc["systems"]["strata"]
    assert len(strata["queries"]) == 22
    assert all(q["error"] is None for q in strata["queries"].values())
    assert strata["loads"]["lineitem"][0] == doc["data"]["counts"]["lineitem"]
    assert len(strata["freshness_s"]) == 5
    assert "MISMATCH" not in printed
    assert "geomean hot query time vs DuckDB native" in printed


@pytest.fixture
def fake_server():
    """A throwaway PostgreSQL posing as strata; yields its port."""
    import pgclient
    from bench_procs import Children, free_port, wait_until_ready
    work = tempfile.mkdtemp(prefix="btab-test-")
    os.chmod(work, 0o755)
    children = Children()
    port = free_port()
    child = children.start("fake", [os.path.join(HERE, "fake_strata.py"), "server", "--data-dir",
                                    os.path.join(work, "s", "data"), "--pg-listen", f"127.0.0.1:{port}"],
                           os.path.join(work, "log"))
    try:
        wait_until_ready(child, lambda: pgclient.can_connect(port, "strata", "strata"), 60, "start")
        yield port
    finally:
        children.stop_all()
        shutil.rmtree(work, ignore_errors=True)


@needs_tools
def test_query_timeout_cancels_then_cuts_a_deaf_server(fake_server, monkeypatch):
    import pgclient
    conn = pgclient.connect(fake_server, "strata", "strata")
    run = pgclient.run_query(conn, "SELECT pg_sleep(20)", 1, 0.5)
    assert run.error.startswith("cancelled after") and not run.ok
    assert pgclient.run_query(conn, "SELECT 41 + 1", 2, 5).rows == [["42"]]  # still usable
    # A server that ignores CancelRequest: the connection is cut instead.
    monkeypatch.setattr(pgclient, "CANCEL_GRACE_S", 0.5)
    monkeypatch.setattr(conn, "cancel", lambda: None)
    started = time.monotonic()
    run = pgclient.run_query(conn, "SELECT pg_sleep(20)", 1, 0.5)
    assert time.monotonic() - started < 10
    assert run.error.startswith("connection lost") and conn.broken
    conn.close()
