#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): TRUNCATE and ALTER TABLE ADD
PRIMARY KEY survive kill -9 at any moment.

Each cycle fills two tables with the same known rows (COPY), then runs, on
two connections at once, TRUNCATE of the first and ALTER TABLE ADD PRIMARY
KEY (a full rewrite) of the second, and SIGKILLs the server after a random
delay: before, during or after either statement. After the restart:
  - the truncated table holds all of its rows or none of them, never some;
    if TRUNCATE was acknowledged, none;
  - the rewritten table holds exactly its rows (count and sum), as a table
    without a key or with it; if ALTER was acknowledged, with it, and a
    duplicate key is then refused;
  - no staged table of an interrupted rewrite is visible, and both tables
    take new rows.

    usage: tests/crash/table_ddl_crash_test.py [--cycles 8] [--rows 200000] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.)
"""

import json
import sys
import threading
import urllib.request
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from crash_report import check, crash_cli, kill_during, pg_conninfo as conninfo, run_with_server, wait_pg  # noqa: E402


def fill(conn, table, rows):
    conn.execute(f"CREATE TABLE {table} (id bigint NOT NULL, v text)")
    with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for i in range(rows):
            copy.write_row((i, f"value {i}"))


def run_ddl(server, sql, acked):
    try:
        with psycopg.connect(conninfo(server), autocommit=True) as conn:
            conn.execute(sql)
        acked.append(sql)
    except psycopg.Error:
        pass  # the kill came first


def count_and_sum(conn, table):
    return conn.execute(f"SELECT count(*), coalesce(sum(id), 0) FROM {table}").fetchone()


def run_cycle(server, results, cycle, rows, rng):
    truncated, rewritten = f"trunc_{cycle}", f"rewrite_{cycle}"
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        fill(conn, truncated, rows)
        fill(conn, rewritten, rows)
    acked = []
    threads = [threading.Thread(target=run_ddl, args=(server, f"TRUNCATE {truncated}", acked)),
               threading.Thread(target=run_ddl, args=(server, f"ALTER TABLE {rewritten} ADD PRIMARY KEY (id)", acked))]
    kill_during(server, threads, rng.uniform(0, 2.0))  # before, during or after either statement
    server.start()
    wait_pg(server)
    full = (rows, rows * (rows - 1) // 2)
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        got = count_and_sum(conn, truncated)
        truncate_acked = any(s.startswith("TRUNCATE") for s in acked)
        check(results, f"cycle {cycle}: {truncated} holds all its rows or none",
              got in (full, (0, 0)) and (not truncate_acked or got == (0, 0)), f"{got}, acked {truncate_acked}")
        got = count_and_sum(conn, rewritten)
        check(results, f"cycle {cycle}: {rewritten} holds exactly its rows", got == full, f"{got} != {full}")
        alter_acked = any(s.startswith("ALTER") for s in acked)
        keyed = True
        try:
            conn.execute(f"INSERT INTO {rewritten} VALUES (0, 'duplicate')")
            keyed = False
        except psycopg.errors.UniqueViolation:
            pass
        check(results, f"cycle {cycle}: an acknowledged ADD PRIMARY KEY holds", keyed or not alter_acked,
              "a duplicate key was accepted")
        conn.execute(f"INSERT INTO {truncated} VALUES ({rows + 1}, 'after')")
    with urllib.request.urlopen(f"{server.admin_url}/v1/tables", timeout=10) as r:
        names = [t["name"] for t in json.load(r)["tables"]]
    check(results, f"cycle {cycle}: no staged table of a rewrite is listed",
          all(not n.startswith("\x01") for n in names), repr(names))
    print(f"cycle {cycle}: kill after acks {acked or 'none'}; {rewritten} keyed: {keyed}")


def main(argv=None):
    args, rng = crash_cli(__doc__, argv, rows=200000)

    def body(server, results):
        wait_pg(server)
        for cycle in range(args.cycles):
            run_cycle(server, results, cycle, args.rows, rng)

    return 0 if run_with_server("table-ddl-crash", [], "strata", body) else 1


def test_table_ddl_survives_kill9():
    assert main(["--cycles", "3", "--rows", "50000"]) == 0


if __name__ == "__main__":
    sys.exit(main())
