#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): acknowledged table writes survive kill -9.

Writer threads, one psycopg connection each (autocommit), COPY batches of
rows into a primary-key table (four buckets) and a log table, and upsert
ranges of acknowledged primary keys with INSERT ... ON CONFLICT DO UPDATE.
Every row's values are a function of its id (and, for upserted rows, of the
upsert's generation), so the content names the write it came from. Some
COPYs are streamed slowly, so that kills land in the middle of them. The
server is then SIGKILLed at a random moment and restarted.

After each restart the tables are read back and must hold exactly:
  - every row of every acknowledged COPY, with its values; every acknowledged
    upsert's values (or those of a later upsert of the row that was in flight);
  - rows of a COPY or an upsert that was in flight at the kill wholly present
    or wholly absent: each COPY here is far smaller than the COPY commit piece
    (engine_config.copy_buffer_bytes_max, 64 MiB; docs/sql.md "COPY"), so it
    commits as one piece, and one INSERT statement commits as one
    transaction. With --allow-partial, a partial in-flight batch is reported
    but allowed (every row present must still be intact);
  - no row that no writer wrote, no duplicate in the log table;
  - count(*) and sum(v) from SQL (with pushdown on and off) equal to what the
    rows add up to.
Whatever an in-flight write left behind becomes the base of the next cycle.

    usage: tests/crash/table_crash_test.py [--cycles 10] [--seed S] [--allow-partial]
           [--engine strata|postgres]
    (STRATA_BIN selects the binary; default build/strata. --engine postgres
    runs the same test against a throwaway PostgreSQL 15 as a check of the
    test itself.) Also runs under pytest.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from strata_server import StrataServer, free_port  # noqa: E402
from crash_report import check, finish, pg_conninfo, wait_pg  # noqa: E402

JOIN_TIMEOUT_S = 30
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ID_BLOCK = 10_000_000  # ids of writer w live in [w * ID_BLOCK, (w + 1) * ID_BLOCK)


def value_of(row_id, gen=0):
    return (row_id * 7919 + gen * 104729) % 1_000_003


def pad_of(row_id, gen=0):
    return f"r{row_id}g{gen}" + "x" * (row_id % 23)


class Batch:
    """One write: a COPY of ids [first, first + count) or an upsert of those ids to `gen`."""

    def __init__(self, table, kind, first, count, gen=0):
        self.table, self.kind, self.first, self.count, self.gen = table, kind, first, count, gen
        self.acked = False

    def ids(self):
        return range(self.first, self.first + self.count)


class Model:
    """What each table may hold: per id, the allowed (v, pad) versions."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pk = {}        # id -> (v, pad, gen) verified durable
        self.log = {}       # id -> (v, pad)
        self.batches = []   # this cycle's writes, in issue order
        self.next_id = {}   # writer -> next free id

    def take_ids(self, writer, count):
        with self.lock:
            first = self.next_id.get(writer, writer * ID_BLOCK + 1)
            self.next_id[writer] = first + count
            return first

    def add(self, batch):
        with self.lock:
            self.batches.append(batch)

    def upsert_candidates(self, writer, rng, count):
        """A run of the writer's own pk ids that are durable (verified in an
        earlier cycle); own ids only, so its upserts of a row are ordered."""
        with self.lock:
            keys = sorted(k for k in self.pk if writer * ID_BLOCK <= k < (writer + 1) * ID_BLOCK)
            if len(keys) < count:
                return None
            start = rng.randrange(len(keys) - count + 1)
            run = keys[start:start + count]
            if run[-1] - run[0] != count - 1:
                return None
            return run[0]


class Writer(threading.Thread):
    def __init__(self, index, conninfo, model, rng, table, upserts):
        super().__init__(daemon=True)
        self.index, self.conninfo, self.model, self.rng = index, conninfo, model, rng
        self.table, self.upserts = table, upserts
        self.stop = threading.Event()
        self.error = None
        self.acked_rows = 0
        self.gen = 0

    def run(self):
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True)
        except psycopg.Error as e:
            self.error = e
            return
        try:
            while not self.stop.is_set():
                if self.upserts and self.rng.random() < 0.25:
                    self.upsert(conn)
                else:
                    self.copy(conn)
        except psycopg.Error:
            pass  # the server was killed under us: expected
        finally:
            try:
                conn.close()
            except Exception:
                pass

    def copy(self, conn):
        count = self.rng.randint(1, 3000)
        first = self.model.take_ids(self.index, count)
        batch = Batch(self.table, "copy", first, count)
        self.model.add(batch)
        slow = self.rng.random() < 0.3
        with conn.cursor() as cur:
            with cur.copy(f"COPY {self.table} (id, v, pad) FROM STDIN") as copy:
                chunk = []
                for row_id in batch.ids():
                    chunk.append(f"{row_id}\t{value_of(row_id)}\t{pad_of(row_id)}\n")
                    if len(chunk) >= 200:
                        copy.write("".join(chunk))
                        chunk = []
                        if slow:
                            time.sleep(0.005)
                copy.write("".join(chunk))
        batch.acked = True
        self.acked_rows += count

    def upsert(self, conn):
        count = self.rng.randint(1, 500)
        first = self.model.upsert_candidates(self.index, self.rng, count)
        if first is None:
            return self.copy(conn)
        self.gen += 1
        gen = self.index * 1_000_000 + self.gen
        batch = Batch(self.table, "upsert", first, count, gen)
        self.model.add(batch)
        conn.execute(
            f"INSERT INTO {self.table} (id, v, pad) "
            f"SELECT i, (i * 7919 + CAST({gen} AS bigint) * 104729) % 1000003, 'r' || i || 'g{gen}' || repeat('x', CAST(i % 23 AS integer)) "
            f"FROM generate_series(CAST({first} AS bigint), CAST({first + count - 1} AS bigint)) AS g(i) "
            f"ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, pad = EXCLUDED.pad")
        batch.acked = True


def read_table(conn, table):
    """{id: [(v, pad), ...]} of every row."""
    rows = {}
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, v, pad FROM {table}")
        for row_id, v, pad in cur:
            rows.setdefault(row_id, []).append((v, pad))
    return rows


def verify_pk(results, cycle, model, got, allow_partial):
    """Checks the pk table against the model; returns (rows checked, new durable map)."""
    problems = []
    partial = []
    allowed = {row_id: {(v, pad)} for row_id, (v, pad, _) in model.pk.items()}
    must = {row_id: {(v, pad)} for row_id, (v, pad, _) in model.pk.items()}
    copy_batches = [b for b in model.batches if b.table == "pk_rows" and b.kind == "copy"]
    upserts = [b for b in model.batches if b.table == "pk_rows" and b.kind == "upsert"]
    for b in copy_batches:
        for row_id in b.ids():
            allowed.setdefault(row_id, set()).add((value_of(row_id), pad_of(row_id)))
            if b.acked:
                must[row_id] = {(value_of(row_id), pad_of(row_id))}
    for b in upserts:  # in issue order (per writer, which owns its rows): a later acked upsert wins
        for row_id in b.ids():
            version = (value_of(row_id, b.gen), pad_of(row_id, b.gen))
            allowed.setdefault(row_id, set()).add(version)
            if b.acked:
                must[row_id] = {version}
            else:  # in flight at the kill: the last acknowledged version or this one
                must[row_id] = must[row_id] | {version}
    for row_id, versions in got.items():
        if len(versions) != 1:
            problems.append(f"id {row_id} appears {len(versions)} times")
        elif row_id not in allowed:
            problems.append(f"id {row_id} was never written: {versions[0]}")
        elif versions[0] not in allowed[row_id]:
            problems.append(f"id {row_id} holds {versions[0]}, allowed {sorted(allowed[row_id])[:3]}")
    for row_id, versions in must.items():
        if row_id not in got:
            problems.append(f"acknowledged id {row_id} is missing")
        elif got[row_id][0] not in versions:
            problems.append(f"id {row_id} holds {got[row_id][0]}, acknowledged {sorted(versions)}")
    for b in copy_batches + upserts:
        if b.acked:
            continue
        if b.kind == "copy":
            present = sum(1 for row_id in b.ids() if row_id in got)
        else:
            present = sum(1 for row_id in b.ids()
                          if row_id in got and got[row_id][0] == (value_of(row_id, b.gen), pad_of(row_id, b.gen)))
        if 0 < present < b.count:
            partial.append(f"in-flight {b.kind} of ids {b.first}..{b.first + b.count - 1}: {present} of {b.count}")
    check(results, f"cycle {cycle}: pk table holds every acknowledged row and version, nothing foreign or torn",
          not problems, f"{len(problems)} problems; first: {problems[:5]}")
    check(results, f"cycle {cycle}: pk table in-flight writes are whole or absent",
          not partial or allow_partial, "; ".join(partial[:5]))
    if partial and allow_partial:
        print(f"NOTE: cycle {cycle}: partial in-flight writes (allowed): {partial[:5]}")
    durable = {row_id: (vs[0][0], vs[0][1], 0) for row_id, vs in got.items()}
    return len(got), durable


def verify_log(results, cycle, model, got, allow_partial):
    problems = []
    partial = []
    expected_ids = dict(model.log)
    batches = [b for b in model.batches if b.table == "log_rows"]
    for b in batches:
        present = sum(1 for row_id in b.ids() if row_id in got)
        if b.acked and present != b.count:
            problems.append(f"acknowledged COPY of ids {b.first}..{b.first + b.count - 1}: "
                            f"{b.count - present} rows missing")
        if not b.acked and 0 < present < b.count:
            partial.append(f"in-flight COPY of ids {b.first}..{b.first + b.count - 1}: {present} of {b.count}")
        for row_id in b.ids():
            expected_ids[row_id] = (value_of(row_id), pad_of(row_id))
    for row_id in model.log:
        if row_id not in got:
            problems.append(f"durable log id {row_id} is missing")
    for row_id, versions in got.items():
        if len(versions) != 1:
            problems.append(f"log id {row_id} appears {len(versions)} times")
        elif row_id not in expected_ids:
            problems.append(f"log id {row_id} was never written")
        elif versions[0] != expected_ids[row_id]:
            problems.append(f"log id {row_id} holds {versions[0]}, written {expected_ids[row_id]}")
    check(results, f"cycle {cycle}: log table holds every acknowledged row, no duplicates, nothing torn",
          not problems, f"{len(problems)} problems; first: {problems[:5]}")
    check(results, f"cycle {cycle}: log table in-flight COPYs are whole or absent",
          not partial or allow_partial, "; ".join(partial[:5]))
    return len(got), {row_id: vs[0] for row_id, vs in got.items()}


def verify_aggregates(results, cycle, conn, table, got, engine):
    want = (sum(len(vs) for vs in got.values()), sum(v for vs in got.values() for v, _ in vs))
    settings = ("on", "off") if engine == "strata" else ("on",)
    for setting in settings:
        if engine == "strata":
            conn.execute(f"SET strata.pushdown = {setting}")
        count, total = conn.execute(f"SELECT count(*), sum(v) FROM {table}").fetchone()
        check(results, f"cycle {cycle}: {table} count(*) and sum(v) (pushdown {setting})",
              (count, int(total or 0)) == want, f"got {(count, total)}, rows add up to {want}")
        sample = conn.execute(f"SELECT count(*) FROM {table} WHERE id >= %s AND id < %s",
                              (ID_BLOCK, 2 * ID_BLOCK)).fetchone()[0]
        expected = sum(len(vs) for row_id, vs in got.items() if ID_BLOCK <= row_id < 2 * ID_BLOCK)
        check(results, f"cycle {cycle}: {table} filtered count (pushdown {setting})", sample == expected,
              f"got {sample}, expected {expected}")


class PostgresServer:
    """A throwaway PostgreSQL 15 with the StrataServer interface this test uses."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "pgdata"
        self.log_path = self.workdir / "postgres.log"
        self.pg_port = free_port()
        self.name = "postgres"
        self.proc = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.workdir, "postgres")
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(self.data_dir),
                        "-A", "trust", "-U", "strata"], check=True, capture_output=True)

    def start(self):
        import pwd
        user = pwd.getpwnam("postgres")

        def become_postgres():
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data_dir),
             "-p", str(self.pg_port), "-k", str(self.workdir), "-c", "listen_addresses=127.0.0.1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=become_postgres)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.pg_port} user=strata dbname=postgres").close()
                return self
            except psycopg.Error:
                time.sleep(0.2)
        raise AssertionError("postgres did not start")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL to the postmaster and all its backends at once (a crash)."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            children = []
        for pid in [self.proc.pid, *map(int, children)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        time.sleep(0.5)

    def stop(self):
        if not self.running():
            return 0
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        return 0

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def conninfo_of(server, engine):
    return pg_conninfo(server, "postgres" if engine == "postgres" else "strata")


def run_cycle(server, engine, conninfo, cycle, args, rng, model, results):
    model.batches = []
    writers = [Writer(0, conninfo, model, random.Random(rng.random()), "pk_rows", True),
               Writer(1, conninfo, model, random.Random(rng.random()), "pk_rows", True),
               Writer(2, conninfo, model, random.Random(rng.random()), "log_rows", False),
               Writer(3, conninfo, model, random.Random(rng.random()), "log_rows", False)]
    for wr in writers:
        wr.start()
    time.sleep(rng.uniform(args.gap_min_s, args.gap_max_s))
    server.kill9()
    in_flight = sum(1 for b in model.batches if not b.acked)
    acked = sum(wr.acked_rows for wr in writers)
    upserts = sum(1 for b in model.batches if b.kind == "upsert" and b.acked)
    print(f"cycle {cycle}: killed with {in_flight} writes in flight; {acked} rows acknowledged by COPY "
          f"and {upserts} upsert statements this cycle")
    for wr in writers:
        wr.stop.set()
        wr.join(JOIN_TIMEOUT_S)
    errors = [repr(wr.error) for wr in writers if wr.error or wr.is_alive()]
    check(results, f"cycle {cycle}: writers ran until the kill", not errors, "; ".join(errors))
    server.start()
    wait_pg(server, conninfo)

    with psycopg.connect(conninfo, autocommit=True) as conn:
        pk_got = read_table(conn, "pk_rows")
        log_got = read_table(conn, "log_rows")
        checked_pk, model.pk = verify_pk(results, cycle, model, pk_got, args.allow_partial)
        checked_log, model.log = verify_log(results, cycle, model, log_got, args.allow_partial)
        verify_aggregates(results, cycle, conn, "pk_rows", pk_got, engine)
        verify_aggregates(results, cycle, conn, "log_rows", log_got, engine)
    return checked_pk + checked_log


def create_tables(conninfo, engine):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        buckets = " WITH (buckets = 4)" if engine == "strata" else ""
        conn.execute(f"CREATE TABLE pk_rows (id bigint PRIMARY KEY, v bigint, pad text){buckets}")
        conn.execute("CREATE TABLE log_rows (id bigint, v bigint, pad text)")


def run(args):
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="strata-table-crash-"))
    if args.engine == "postgres":
        workdir.chmod(0o755)  # postgres (the user) must reach its data dir
        server = PostgresServer(workdir / "pg")
    else:
        server = StrataServer(workdir, name="tablecrash")
    conninfo = conninfo_of(server, args.engine)
    results = []
    cycles_done = 0
    rows_checked = 0
    try:
        server.start()
        wait_pg(server, conninfo)
        create_tables(conninfo, args.engine)
        model = Model()
        for cycle in range(1, args.cycles + 1):
            failed_before = sum(1 for _, ok in results if not ok)
            rows_checked += run_cycle(server, args.engine, conninfo, cycle, args, rng, model, results)
            cycles_done += 1
            if sum(1 for _, ok in results if not ok) > failed_before:
                break  # later cycles would build on a wrong base
        print(f"kill cycles: {cycles_done}, rows checked: {rows_checked}")
    except Exception as e:
        check(results, "test ran to completion", False, repr(e))
    finally:
        passed = finish(results, server, workdir)
    return passed and cycles_done == args.cycles


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--gap-min-s", type=float, default=0.3, help="time from the writers' start to the kill")
    ap.add_argument("--gap-max-s", type=float, default=2.5)
    ap.add_argument("--allow-partial", action="store_true",
                    help="allow an in-flight COPY or upsert to be partly present (rows still intact)")
    ap.add_argument("--engine", choices=("strata", "postgres"), default="strata")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args(argv)
    print(f"table crash test: {args.cycles} cycles, engine {args.engine}, seed {args.seed}")
    return args


def test_table_kill9_keeps_every_acknowledged_row():
    assert run(parse_args([]))


if __name__ == "__main__":
    sys.exit(0 if run(parse_args(sys.argv[1:])) else 1)
