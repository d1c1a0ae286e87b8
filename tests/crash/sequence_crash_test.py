#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): sequences and bigserial keys
never hand out a value twice across kill -9.

Each cycle runs several writers in autocommit, each looping over
  INSERT INTO seq_rows (writer, n) VALUES (w, n) RETURNING id   (bigserial key)
  SELECT nextval('crash_seq')
until the server is SIGKILLed at a random moment, then restarts it. After
each restart:
  - every acknowledged id is in seq_rows with the writer and n it was given,
    and no (writer, n) is there twice (an insert ran at most once);
  - no id and no nextval value was acknowledged twice, over all cycles;
  - the values acknowledged in a cycle are larger than every value
    acknowledged before the restart that began it (per sequence);
  - right after the restart, a new id and a new nextval are larger than
    every value acknowledged so far, and the new id is larger than every id
    in the table, acknowledged or not (so later inserts cannot collide).
No writer may get an error from the server (only the lost connection).

    usage: tests/crash/sequence_crash_test.py [--cycles 8] [--writers 4] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.)
"""

import sys
import threading
from collections import Counter
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from crash_report import check, crash_cli, kill_during, pg_conninfo as conninfo, run_with_server, wait_pg  # noqa: E402

INSERT = "INSERT INTO seq_rows (writer, n) VALUES (%s, %s) RETURNING id"
PROBE_WRITER = -1


class Acked:
    """What the server acknowledged, over all cycles: {id: (writer, n)} in
    order of acknowledgement, and the nextval values of crash_seq."""

    def __init__(self):
        self.ids = []
        self.rows = {}
        self.values = []
        self.duplicate_ids = []

    def row(self, id_, writer, n):
        if id_ in self.rows:
            self.duplicate_ids.append(id_)
        self.rows[id_] = (writer, n)
        self.ids.append(id_)


def setup(server):
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS seq_rows (id bigserial PRIMARY KEY, writer int, n int)")
        conn.execute("CREATE SEQUENCE IF NOT EXISTS crash_seq")


def writer(server, w, first_n, stop, ids, values, server_errors):
    """ids: [(id, writer, n)] and values: [nextval] this writer had acknowledged."""
    n = first_n
    try:
        with psycopg.connect(conninfo(server), autocommit=True) as conn:
            while not stop.is_set():
                (id_,) = conn.execute(INSERT, (w, n)).fetchone()
                ids.append((id_, w, n))
                n += 1
                (value,) = conn.execute("SELECT nextval('crash_seq')").fetchone()
                values.append(value)
    except psycopg.Error as e:
        if e.sqlstate is not None:  # an answer from the server, not the kill
            server_errors.append(f"writer {w}: {e.sqlstate} {e}")


def run_cycle(server, results, cycle, rng, writers, acked):
    before_id = max(acked.ids, default=None)
    before_value = max(acked.values, default=None)
    stop = threading.Event()
    ids, values, server_errors = [], [], []
    threads = [threading.Thread(target=writer,
                                args=(server, w, (cycle + 1) * 10_000_000, stop, ids, values, server_errors))
               for w in range(writers)]
    kill_during(server, threads, rng.uniform(0.5, 3.0), stop)
    check(results, f"cycle {cycle}: no writer got an error from the server", not server_errors,
          "; ".join(server_errors[:3]))
    for id_, w, n in ids:
        acked.row(id_, w, n)
    acked.values.extend(values)
    if before_id is not None and ids:
        low = min(i for i, _, _ in ids)
        check(results, f"cycle {cycle}: ids after the restart are above every earlier one", low > before_id,
              f"{low} <= {before_id}")
    if before_value is not None and values:
        check(results, f"cycle {cycle}: nextval after the restart is above every earlier value",
              min(values) > before_value, f"{min(values)} <= {before_value}")

    server.start()
    wait_pg(server)
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        table = {}
        seen = Counter()
        for id_, w, n in conn.execute("SELECT id, writer, n FROM seq_rows").fetchall():
            table[id_] = (w, n)
            seen[(w, n)] += 1
        lost = [(i, acked.rows[i], table.get(i)) for i in acked.rows if table.get(i) != acked.rows[i]]
        check(results, f"cycle {cycle}: every acknowledged id is there with its writer and n", not lost,
              f"{len(lost)} wrong or missing, e.g. (id, acked, found) {lost[:5]}")
        twice = [k for k, c in seen.items() if c > 1]
        check(results, f"cycle {cycle}: no insert is in the table twice", not twice, f"{twice[:5]}")
        check(results, f"cycle {cycle}: no id was acknowledged twice", not acked.duplicate_ids,
              f"{acked.duplicate_ids[:5]}")
        dup_values = [v for v, c in Counter(acked.values).items() if c > 1]
        check(results, f"cycle {cycle}: no nextval value was acknowledged twice", not dup_values, f"{dup_values[:5]}")

        top_id = max([*acked.ids, *table], default=0)
        try:
            (new_id,) = conn.execute(INSERT, (PROBE_WRITER, cycle)).fetchone()
        except psycopg.errors.UniqueViolation as e:
            new_id = None
            check(results, f"cycle {cycle}: a new id after the restart is above every id given out before",
                  False, f"the sequence gave an id already in the table: {e}")
        if new_id is not None:
            check(results, f"cycle {cycle}: a new id after the restart is above every id given out before",
                  new_id > top_id, f"{new_id} <= {top_id}")
            acked.row(new_id, PROBE_WRITER, cycle)
        (new_value,) = conn.execute("SELECT nextval('crash_seq')").fetchone()
        top_value = max(acked.values, default=0)
        check(results, f"cycle {cycle}: a new nextval after the restart is above every value given out before",
              new_value > top_value, f"{new_value} <= {top_value}")
        acked.values.append(new_value)
    print(f"cycle {cycle}: {len(table)} rows, {len(ids)} ids and {len(values)} nextval values acknowledged "
          f"in this cycle")


def main(argv=None):
    args, rng = crash_cli(__doc__, argv, writers=4)

    def body(server, results):
        wait_pg(server)
        setup(server)
        acked = Acked()
        for cycle in range(args.cycles):
            run_cycle(server, results, cycle, rng, args.writers, acked)

    return 0 if run_with_server("sequence-crash", [], "strata", body) else 1


def test_sequences_survive_kill9():
    assert main(["--cycles", "3"]) == 0


if __name__ == "__main__":
    sys.exit(main())
