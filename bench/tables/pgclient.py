"""The PostgreSQL-protocol client side, shared by Strata and PostgreSQL:
COPY loads, timed queries and the freshness probe, all through psycopg 3."""

import os
import socket
import threading
import time

import psycopg
from psycopg import pq
from psycopg.adapt import Loader

from report import QueryRun

COPY_CHUNK_BYTES = 1 << 20
CONNECT_TIMEOUT_S = 10
CANCEL_GRACE_S = 30.0
# Every result value arrives as its text form, as the DuckDB runner prints
# it: the checks compare texts and numbers, never Python types.
TEXT_TYPES = ("bool", "int2", "int4", "int8", "float4", "float8", "numeric", "date",
              "timestamp", "timestamptz", "text", "varchar", "bpchar", "name", "oid", "interval")


class TextLoader(Loader):
    def load(self, data):
        return bytes(data).decode("utf-8")


def connect(port, user, dbname):
    """An autocommit connection with no automatic server-side prepares."""
    conn = psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=dbname,
                           autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    conn.prepare_threshold = None
    for name in TEXT_TYPES:
        conn.adapters.register_loader(name, TextLoader)
    return conn


def can_connect(port, user, dbname):
    try:
        with connect(port, user, dbname) as conn:
            conn.execute("SELECT 1").fetchone()
        return True
    except psycopg.Error:
        return False


def run_statements(conn, statements):
    for sql in statements:
        conn.execute(sql)


def copy_file(conn, table, path):
    """COPY table FROM STDIN with the file's bytes; returns (rows, seconds).

    The time runs from the COPY command to its CommandComplete, which in
    autocommit mode is the acknowledged commit."""
    with conn.cursor() as cur:
        started = time.perf_counter()
        with cur.copy(f"COPY {table} FROM STDIN") as copy, open(path, "rb") as f:
            while True:
                chunk = f.read(COPY_CHUNK_BYTES)
                if not chunk:
                    break
                copy.write(chunk)
        seconds = time.perf_counter() - started
        return cur.rowcount, seconds


def _cut(conn):
    """Shuts the connection's socket down: the blocked client call fails at once."""
    try:
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as s:
            s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _result_or_raise(res):
    """The libpq result, or the psycopg error it carries (QueryCanceled for 57014)."""
    if res.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        return res
    message = (res.error_message or b"").decode("utf-8", "replace").strip() or "the query failed"
    sqlstate = res.error_field(pq.DiagnosticField.SQLSTATE)
    if sqlstate is None:
        raise psycopg.OperationalError(message)
    try:
        error_class = psycopg.errors.lookup(sqlstate.decode())
    except KeyError:
        error_class = psycopg.DatabaseError
    raise error_class(message)


def result_rows(res):
    """Every value of a libpq result as its text form (None for NULL)."""
    return [[None if v is None else bytes(v).decode("utf-8") for v in
             (res.get_value(r, c) for c in range(res.nfields))] for r in range(res.ntuples)]


def _timed(conn, sql, timeout_s):
    """Runs sql and fetches every row; returns (seconds, libpq result). The
    rows are read into libpq's C result, as the DuckDB runner reads DuckDB's:
    the time covers the server, the wire and libpq, not turning values into
    Python objects (which for 18,000 rows costs more than the query).

    A timer cancels a query still running after timeout_s (the error then
    says so); if the server ignores the CancelRequest, a second timer cuts the
    connection CANCEL_GRACE_S later, so a stuck server cannot hang the
    benchmark."""
    cancel = threading.Timer(timeout_s, conn.cancel)
    cut = threading.Timer(timeout_s + CANCEL_GRACE_S, _cut, args=(conn,))
    cancel.start()
    cut.start()
    try:
        started = time.perf_counter()
        res = conn.pgconn.exec_(sql.encode("utf-8"))
        seconds = time.perf_counter() - started
        return seconds, _result_or_raise(res)
    finally:
        cancel.cancel()
        cut.cancel()


def run_query(conn, sql, hot_runs, timeout_s):
    """1 cold and hot_runs hot runs of one query; the rows are the cold run's."""
    run = QueryRun()
    try:
        run.cold_s, res = _timed(conn, sql, timeout_s)
        run.rows = result_rows(res)
        for _ in range(hot_runs):
            seconds, _ = _timed(conn, sql, timeout_s)
            run.hot_s.append(seconds)
    except psycopg.errors.QueryCanceled:
        run.error = f"cancelled after {timeout_s:.0f} s (--query-timeout)"
    except psycopg.OperationalError as e:
        run.error = f"connection lost: {str(e).strip().splitlines()[0] if str(e).strip() else e}"
    except psycopg.Error as e:
        run.error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return run


def freshness(writer, reader, table, trials, timeout_s, first_id=1):
    """Latency from an acknowledged INSERT on `writer` to the row being seen by
    a SELECT on `reader` (polling). Returns (latencies in seconds, trials that
    timed out). Each latency includes the SELECT that saw the row."""
    latencies, failures = [], 0
    for i in range(first_id, first_id + trials):
        writer.execute(f"INSERT INTO {table} (id, note) VALUES ({i}, 'fresh')")
        acked = time.perf_counter()
        while True:
            count = reader.execute(f"SELECT count(*) FROM {table} WHERE id = {i}").fetchone()[0]
            now = time.perf_counter()
            if int(count) == 1:
                latencies.append(now - acked)
                break
            if now - acked > timeout_s:
                failures += 1
                break
    return latencies, failures
