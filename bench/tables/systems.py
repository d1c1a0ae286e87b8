"""The three systems: Strata, PostgreSQL 15 and DuckDB native tables.

Each `run()` starts the system, creates the schema, loads the generated
files, runs the queries (and, for the PostgreSQL-protocol systems, the
freshness probe), and leaves its server running until `stop()`.
"""

import json
import os
import shlex
import shutil
import time
from dataclasses import dataclass, field

import pgclient
import schema
from report import QueryRun
from bench_procs import BenchError, log_tail, wait_until_idle
from bench_servers import PG_BIN, PG_USER, start_postgres, start_strata

STRATA_USER = "strata"
# Background work after the load (compactions, checkpoints), waited out before the queries.
IDLE_LABEL = "background work until idle"
SMALL_SHM_BYTES = 1 << 30

# PostgreSQL settings for an analytics run on this machine. fsync and
# synchronous_commit stay on: a COPY is acknowledged only once durable, as in
# Strata. Checkpoints are spaced out so the load is not mostly checkpointing.
PG_SETTINGS = (
    ("listen_addresses", "127.0.0.1"),
    ("shared_buffers", "1GB"),
    ("effective_cache_size", "4GB"),
    ("work_mem", "64MB"),
    ("maintenance_work_mem", "512MB"),
    ("max_parallel_workers_per_gather", "2"),
    ("max_wal_size", "8GB"),
    ("checkpoint_timeout", "30min"),
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("random_page_cost", "1.1"),
    ("jit", "off"),
)


@dataclass
class SystemResult:
    version: str = ""
    loads: dict = field(default_factory=dict)       # table -> (rows, seconds)
    after_load: dict = field(default_factory=dict)  # label -> seconds (indexes, ANALYZE)
    queries: dict = field(default_factory=dict)     # name -> QueryRun
    freshness: tuple = None                         # (latencies_s, failures)


def _load_all(conn, ctx, result):
    for table in schema.TABLE_NAMES:
        rows, seconds = pgclient.copy_file(conn, table, ctx.data_file(table))
        expected = ctx.manifest["counts"][table]
        if rows != expected:
            # The COPY command tag is the server's own count; a wrong one is a bug worth seeing.
            print(f"  !!! COPY {table}: the server reported {rows} rows, the file has {expected}", flush=True)
            rows = expected
        result.loads[table] = (rows, seconds)
        print(f"  COPY {table:<9} {rows:>10} rows {seconds:>8.2f} s "
              f"{rows / seconds if seconds > 0 else 0:>12,.0f} rows/s", flush=True)


def _query_all(connect, ctx, result, alive=None):
    """Runs every query on one connection; a new one replaces it if it breaks."""
    conn = connect()
    try:
        for name, sql in ctx.queries:
            run = pgclient.run_query(conn, sql, ctx.opts.hot_runs, ctx.opts.query_timeout_s)
            result.queries[name] = run
            _print_query(name, run)
            if alive is not None:
                alive()
            if conn.broken or conn.closed:
                conn.close()
                conn = connect()
    finally:
        conn.close()


def _server_version(conn):
    return f"server_version {conn.info.parameter_status('server_version') or '?'}"


def _print_query(name, run):
    if run.ok:
        print(f"  {name}: cold {run.cold_s * 1000:9.1f} ms  hot median {run.median_hot_s() * 1000:9.1f} ms  "
              f"{len(run.rows)} rows", flush=True)
    else:
        print(f"  {name}: FAILED: {run.error}", flush=True)


def _freshness(ctx, connect, result, with_primary_key):
    if ctx.opts.freshness_trials <= 0:
        return
    with connect() as writer, connect() as reader:
        writer.execute(schema.freshness_sql(with_primary_key))
        result.freshness = pgclient.freshness(writer, reader, schema.FRESHNESS_TABLE,
                                              ctx.opts.freshness_trials, ctx.opts.freshness_timeout_s)


class Postgres:
    name = "postgres"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "postgres")
        self.child = None
        self.port = None

    def describe(self):
        s = ", ".join(f"{k}={v}" for k, v in PG_SETTINGS if k != "listen_addresses")
        return (f"{PG_BIN}/postgres, {s}; primary keys at COPY time, join-key indexes "
                f"and VACUUM ANALYZE after the load")

    def _settings(self):
        settings = list(PG_SETTINGS)
        if shutil.disk_usage("/dev/shm").total < SMALL_SHM_BYTES:
            # Parallel hash joins need more dynamic shared memory than a small /dev/shm holds.
            settings.append(("dynamic_shared_memory_type", "mmap"))
        return settings

    def _start(self):
        self.child, self.port = start_postgres(self.ctx.children, self.ctx.work_dir, self.dir, self._settings(),
                                               lambda port: pgclient.can_connect(port, PG_USER, PG_USER))

    def _connect(self):
        return pgclient.connect(self.port, PG_USER, PG_USER)

    def _connect_for_queries(self):
        conn = self._connect()
        conn.execute(f"SET statement_timeout = '{int(self.ctx.opts.query_timeout_s * 1000)}ms'")
        return conn

    def run(self):
        self._start()
        result = SystemResult()
        with self._connect() as conn:
            result.version = _server_version(conn)
            pgclient.run_statements(conn, [schema.schema_sql(True)])
            _load_all(conn, self.ctx, result)
            result.after_load["join-key indexes"] = _timed(
                lambda: pgclient.run_statements(conn, schema.pg_index_sql()))
            result.after_load["VACUUM ANALYZE"] = _timed(lambda: conn.execute("VACUUM ANALYZE"))
            result.after_load[IDLE_LABEL] = wait_until_idle(self.child)
            for label, seconds in result.after_load.items():
                print(f"  {label}: {seconds:.2f} s", flush=True)
        _query_all(self._connect_for_queries, self.ctx, result)
        _freshness(self.ctx, self._connect, result, True)
        return result

    def stop(self):
        if self.child is not None:
            self.ctx.children.stop(self.child)
            self.child = None


class Strata:
    name = "strata"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "strata")
        self.child = None
        self.port = None

    def _pk(self):
        return self.ctx.opts.strata_tables == "pk"

    def describe(self):
        extra = f" {self.ctx.opts.strata_args}" if self.ctx.opts.strata_args else ""
        kind = "primary-key tables" if self._pk() else "log tables (no primary keys)"
        return f"{self.ctx.opts.strata_bin} server (defaults){extra}; {kind}"

    def _start(self):
        self.child, self.port = start_strata(self.ctx.children, self.ctx.opts.strata_bin, self.dir,
                                             lambda port: pgclient.can_connect(port, STRATA_USER, STRATA_USER),
                                             shlex.split(self.ctx.opts.strata_args))

    def _connect(self):
        return pgclient.connect(self.port, STRATA_USER, STRATA_USER)

    def check_alive(self):
        if self.child is None or not self.child.running():
            code = None if self.child is None else self.child.popen.returncode
            tail = "" if self.child is None else log_tail(self.child.log_path)
            raise BenchError(f"strata exited (status {code}):\n{tail}")

    def run(self):
        self._start()
        result = SystemResult()
        with self._connect() as conn:
            result.version = _server_version(conn)
            pgclient.run_statements(conn, [schema.create_table(t, self._pk()) for t in schema.TABLES])
            _load_all(conn, self.ctx, result)
        result.after_load[IDLE_LABEL] = wait_until_idle(self.child)
        print(f"  {IDLE_LABEL}: {result.after_load[IDLE_LABEL]:.2f} s", flush=True)
        self.check_alive()
        _query_all(self._connect, self.ctx, result, alive=self.check_alive)
        _freshness(self.ctx, self._connect, result, self._pk())
        return result

    def stop(self):
        if self.child is not None:
            self.ctx.children.stop(self.child)
            if self.child.popen.returncode not in (0, None):
                print(f"  strata exited with status {self.child.popen.returncode} on SIGTERM; "
                      f"log: {self.child.log_path}", flush=True)
            self.child = None


class DuckDbNative:
    name = "duckdb"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "duckdb")

    def describe(self):
        threads = self.ctx.opts.duckdb_threads or "default (all cores)"
        return (f"{os.path.basename(self.ctx.opts.duckdb_runner)} on the libduckdb.so Strata embeds, "
                f"in-memory native tables with the same primary keys, threads {threads}")

    def _argv(self, schema_path):
        o = self.ctx.opts
        argv = [o.duckdb_runner, "--schema", schema_path, "--hot", str(o.hot_runs)]
        if o.duckdb_threads:
            argv += ["--threads", str(o.duckdb_threads)]
        for table in schema.TABLE_NAMES:
            argv += ["--load", f"{table}={self.ctx.data_file(table)}"]
        for name, path in self.ctx.query_paths:
            argv += ["--query", f"{name}={path}"]
        return argv

    def run(self):
        if not os.access(self.ctx.opts.duckdb_runner, os.X_OK):
            raise BenchError(f"{self.ctx.opts.duckdb_runner} is missing; bench/tables/run.sh builds it")
        os.makedirs(self.dir, exist_ok=True)
        schema_path = os.path.join(self.dir, "schema.sql")
        with open(schema_path, "w") as f:
            f.write(schema.schema_sql(True))
        out_path = os.path.join(self.dir, "events.jsonl")
        log_path = os.path.join(self.dir, "duckdb_native.log")
        timeout = self.ctx.opts.query_timeout_s * (1 + self.ctx.opts.hot_runs) * len(self.ctx.queries) + 3600
        status = self.ctx.children.run("duckdb_native", self._argv(schema_path), log_path, timeout,
                                       stdout_path=out_path)
        result = SystemResult(version="DuckDB (the library Strata embeds)")
        with open(out_path) as f:
            for line in f:
                parse_event(json.loads(line), result)
        if status != 0:
            raise BenchError(f"duckdb_native failed ({status}):\n{log_tail(log_path)}")
        return result

    def stop(self):
        pass


def parse_event(event, result):
    """Folds one line of duckdb_native's output into result (and prints it)."""
    if event["event"] == "version":
        result.version = f"DuckDB {event['version']}"
    elif event["event"] == "load":
        result.loads[event["table"]] = (event["rows"], event["seconds"])
        print(f"  load {event['table']:<9} {event['rows']:>10} rows {event['seconds']:>8.2f} s", flush=True)
    elif event["event"] == "query":
        run = QueryRun(error=event.get("error"))
        if run.error is None:
            run.cold_s = event["cold_s"]
            run.hot_s = list(event["hot_s"])
            run.rows = event["rows"]
        result.queries[event["name"]] = run
        _print_query(event["name"], run)


def _timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


SYSTEMS = {cls.name: cls for cls in (Strata, Postgres, DuckDbNative)}
ORDER = ("duckdb", "postgres", "strata")
