#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): a COMMIT over several tables
is all or nothing across kill -9, and row-locked transfers lose nothing.

Each cycle runs, on several connections at once until the server is
SIGKILLed at a random moment:
  - writers: BEGIN; INSERT id into a log table and a primary-key table;
    UPDATE a counter row; COMMIT;
  - transfers: BEGIN; move an amount between two random accounts with
    UPDATE ... SET balance = balance -/+ n (row locks); INSERT a journal row;
    COMMIT.
After the restart:
  - every id is in both tables or in neither, and every acknowledged id is
    in both;
  - the counter equals the number of ids (each commit bumped it once);
  - the account balances still sum to the starting total, and the journal
    holds exactly the transfers whose effects are in the accounts (its sum of
    amounts moved equals what the accounts show moved).

    usage: tests/crash/table_txn_crash_test.py [--cycles 8] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.)
"""

import random
import sys
import threading
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from crash_report import check, crash_cli, kill_during, pg_conninfo as conninfo, run_with_server, wait_pg  # noqa: E402

ACCOUNTS = 20
START_BALANCE = 1000


def setup(server):
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ids_log (id bigint NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS ids_pk (id bigint PRIMARY KEY)")
        conn.execute("CREATE TABLE IF NOT EXISTS counter (k int PRIMARY KEY, n bigint)")
        conn.execute("INSERT INTO counter VALUES (1, 0) ON CONFLICT DO NOTHING")
        conn.execute("CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, balance bigint)")
        conn.execute(f"INSERT INTO accounts SELECT i, {START_BALANCE} FROM generate_series(1, {ACCOUNTS}) AS g(i) "
                     "ON CONFLICT DO NOTHING")
        conn.execute("CREATE TABLE IF NOT EXISTS journal (id bigint PRIMARY KEY, src int, dst int, amount bigint)")


def writer(server, first_id, stop, acked):
    i = first_id
    try:
        with psycopg.connect(conninfo(server), autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("BEGIN")
                conn.execute("INSERT INTO ids_log VALUES (%s)", (i,))
                conn.execute("INSERT INTO ids_pk VALUES (%s)", (i,))
                conn.execute("UPDATE counter SET n = n + 1 WHERE k = 1")
                conn.execute("COMMIT")
                acked.append(i)
                i += 1
    except psycopg.Error:
        pass  # the kill


def transfers(server, first_id, stop, rng_seed):
    rng = random.Random(rng_seed)
    i = first_id
    try:
        with psycopg.connect(conninfo(server), autocommit=True) as conn:
            while not stop.is_set():
                src, dst = rng.sample(range(1, ACCOUNTS + 1), 2)
                amount = rng.randint(1, 50)
                conn.execute("BEGIN")
                conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, src))
                conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, dst))
                conn.execute("INSERT INTO journal VALUES (%s, %s, %s, %s)", (i, src, dst, amount))
                conn.execute("COMMIT")
                i += 1
    except psycopg.Error:
        pass


def run_cycle(server, results, cycle, rng):
    stop = threading.Event()
    acked = []
    base = (cycle + 1) * 10_000_000
    threads = [threading.Thread(target=writer, args=(server, base + w * 1_000_000, stop, acked)) for w in range(2)]
    threads += [threading.Thread(target=transfers, args=(server, base + (5 + w) * 1_000_000, stop, rng.random()))
                for w in range(3)]
    kill_during(server, threads, rng.uniform(0.5, 3.0), stop)
    server.start()
    wait_pg(server)
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        in_log = {r[0] for r in conn.execute("SELECT id FROM ids_log").fetchall()}
        in_pk = {r[0] for r in conn.execute("SELECT id FROM ids_pk").fetchall()}
        check(results, f"cycle {cycle}: every id is in both tables or neither", in_log == in_pk,
              f"only in the log table: {sorted(in_log - in_pk)[:5]}, only in the key table: {sorted(in_pk - in_log)[:5]}")
        missing = [i for i in acked if i not in in_pk]
        check(results, f"cycle {cycle}: every acknowledged commit is there", not missing, f"missing {missing[:5]}")
        (n,) = conn.execute("SELECT n FROM counter WHERE k = 1").fetchone()
        check(results, f"cycle {cycle}: the counter counts every commit once", n == len(in_pk), f"{n} != {len(in_pk)}")
        total, = conn.execute("SELECT sum(balance) FROM accounts").fetchone()
        check(results, f"cycle {cycle}: transfers keep the total", total == ACCOUNTS * START_BALANCE, f"total {total}")
        net = dict.fromkeys(range(1, ACCOUNTS + 1), START_BALANCE)
        for src, dst, amount in conn.execute("SELECT src, dst, amount FROM journal").fetchall():
            net[src] -= amount
            net[dst] += amount
        balances = dict(conn.execute("SELECT id, balance FROM accounts").fetchall())
        check(results, f"cycle {cycle}: the journal explains every balance", balances == net,
              f"{[(k, balances.get(k), net[k]) for k in net if balances.get(k) != net[k]][:5]}")
    print(f"cycle {cycle}: {len(in_pk)} ids, {len(acked)} acknowledged in this cycle")


def main(argv=None):
    args, rng = crash_cli(__doc__, argv)

    def body(server, results):
        wait_pg(server)
        setup(server)
        for cycle in range(args.cycles):
            run_cycle(server, results, cycle, rng)

    return 0 if run_with_server("table-txn-crash", [], "strata", body) else 1


def test_table_transactions_survive_kill9():
    assert main(["--cycles", "3"]) == 0


if __name__ == "__main__":
    sys.exit(main())
