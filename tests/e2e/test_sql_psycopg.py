"""psycopg 3 against the real binary: server-side prepared statements,
binary parameters and results, every listed type round-tripping, COPY in
(write_row and raw CSV) and out, cancel, transactions seen from another
connection, and fetchmany."""

import datetime as dt
import json
import threading
import time
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Json

from pg_wire import pg  # noqa: F401  (fixture)

UTC = dt.timezone.utc

ALL_TYPES_DDL = """CREATE TABLE typed (
  id bigint PRIMARY KEY, c_bool boolean, c_int2 smallint, c_int4 integer, c_int8 bigint,
  c_float4 real, c_float8 double precision, c_numeric numeric(18,4), c_big numeric(38,6),
  c_text text, c_varchar varchar(20), c_date date, c_ts timestamp, c_tstz timestamptz,
  c_bytea bytea, c_json json)"""

COLUMNS = ["id", "c_bool", "c_int2", "c_int4", "c_int8", "c_float4", "c_float8", "c_numeric", "c_big",
           "c_text", "c_varchar", "c_date", "c_ts", "c_tstz", "c_bytea", "c_json"]

SAMPLE_ROWS = [
    (1, True, 32767, 2147483647, 9223372036854775807, 1.5, 2.718281828459045, Decimal("12345678901234.5678"),
     Decimal("12345678901234567890123456789012.123456"), "hello, wörld", "short",
     dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 59, 123456),
     dt.datetime(2024, 2, 29, 12, 0, 0, 500000, tzinfo=UTC), b"\x00\x01\xfe\xff", {"a": [1, 2, None], "b": "x"}),
    (2, False, -32768, -2147483648, -9223372036854775808, -0.25, -1e300, Decimal("-0.0001"),
     Decimal("-1.000001"), "", "", dt.date(1970, 1, 1), dt.datetime(1969, 12, 31, 23, 59, 59),
     dt.datetime(1999, 12, 31, 23, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2))), b"", []),
    (3, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None),
    (4, True, 0, 0, 0, 0.0, 0.0, Decimal("0.0000"), Decimal("0.000000"), "tab\tnew\nline 'q' \"dq\" \\",
     "x" * 20, dt.date(2000, 1, 1), dt.datetime(2000, 1, 1), dt.datetime(2000, 1, 1, tzinfo=UTC),
     bytes(range(256)), {"nested": {"deep": True}}),
]


def adapt_for_insert(row):
    return tuple(Json(v) if isinstance(v, (dict, list)) else v for v in row)


def normalize(row):
    """What a row must come back as (timestamptz in UTC, json parsed)."""
    out = []
    for v in row:
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            v = v.astimezone(UTC)
        if isinstance(v, memoryview):
            v = bytes(v)
        out.append(v)
    return tuple(out)


def fetch_typed(conn, binary):
    cur = conn.cursor(binary=binary)
    cur.execute(f"SELECT {', '.join(COLUMNS)} FROM typed ORDER BY id")
    rows = [normalize(r) for r in cur.fetchall()]
    return rows


def assert_rows_equal(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        for name, gv, wv in zip(COLUMNS, g, normalize(w)):
            if name == "c_float4" and gv is not None and wv is not None:
                assert abs(gv - wv) <= 1e-6 * max(1, abs(wv)), (name, gv, wv)
            else:
                assert gv == wv, (g[0], name, gv, wv)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_types_round_trip(pg, binary):
    with pg.connect() as conn:
        conn.execute(ALL_TYPES_DDL)
        placeholders = ", ".join(["%b" if binary else "%t"] * len(COLUMNS))
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO typed ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                            [adapt_for_insert(r) for r in SAMPLE_ROWS])
        for result_binary in (False, True):
            assert_rows_equal(fetch_typed(conn, result_binary), SAMPLE_ROWS)


def test_type_oids_in_row_description(pg):
    with pg.connect() as conn:
        conn.execute(ALL_TYPES_DDL)
        cur = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM typed")
        oids = [d.type_code for d in cur.description]
        assert [d.name for d in cur.description] == COLUMNS
        # bool int2 int4 int8 float4 float8 numeric numeric text varchar date timestamp timestamptz bytea json
        assert oids == [20, 16, 21, 23, 20, 700, 701, 1700, 1700, 25, 1043, 1082, 1114, 1184, 17, 114], oids


def test_server_side_prepared_statements(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE prep (id integer PRIMARY KEY, v text, n double precision)")
        with conn.cursor() as cur:
            for i in range(20):
                cur.execute("INSERT INTO prep VALUES (%s, %s, %s)", (i, f"v{i}", i / 4), prepare=True)
        with conn.cursor() as cur:
            for i in range(0, 20, 3):
                cur.execute("SELECT v, n FROM prep WHERE id = %s", (i,), prepare=True)
                assert cur.fetchall() == [(f"v{i}", i / 4)]
            cur.execute("SELECT count(*) FROM prep WHERE n >= %s AND v <> %s", (2.0, "v10"), prepare=True)
            assert cur.fetchone() == (11,)
            # The same statement with NULL and with a different value.
            cur.execute("SELECT count(*) FROM prep WHERE v = %s", (None,), prepare=True)
            assert cur.fetchone() == (0,)


def test_prepared_statements_survive_many_reuses(pg):
    with pg.connect(prepare_threshold=0) as conn:
        conn.execute("CREATE TABLE reuse (k bigint PRIMARY KEY, v bigint)")
        for i in range(200):
            conn.execute("INSERT INTO reuse VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = reuse.v + EXCLUDED.v",
                         (i % 10, i))
        assert conn.execute("SELECT sum(v), count(*) FROM reuse").fetchone() == (sum(range(200)), 10)
        assert conn.execute("SELECT v FROM reuse WHERE k = %s", (3,)).fetchone() == (sum(range(3, 200, 10)),)


def test_binary_parameters_in_where(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE bp (id bigint PRIMARY KEY, x double precision, s text, d date, ts timestamptz)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bp VALUES (%b, %b, %b, %b, %b)",
                            [(i, i * 0.5, f"s{i}", dt.date(2024, 1, 1) + dt.timedelta(days=i),
                              dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(hours=i)) for i in range(1000)])
        cur = conn.cursor(binary=True)
        cur.execute("SELECT count(*), sum(id) FROM bp WHERE id >= %b AND x < %b", (100, 100.0))
        assert cur.fetchone() == (100, sum(range(100, 200)))
        cur.execute("SELECT id FROM bp WHERE s = %b", ("s777",))
        assert cur.fetchall() == [(777,)]
        cur.execute("SELECT id FROM bp WHERE d = %b", (dt.date(2024, 1, 11),))
        assert cur.fetchall() == [(10,)]
        cur.execute("SELECT count(*) FROM bp WHERE ts > %b", (dt.datetime(2024, 1, 1, 12, tzinfo=UTC),))
        assert cur.fetchone() == (987,)
        cur.execute("SELECT count(*) FROM bp WHERE id IN (%b, %b, %b, %b)", (1, 2, 3, 5000))
        assert cur.fetchone() == (3,)


def test_copy_in_with_write_row_and_copy_out(pg):
    rows = [(i, f"name-{i}", Decimal(i) / 100, dt.date(2020, 1, 1) + dt.timedelta(days=i % 1000),
             None if i % 5 == 0 else i * 1.25) for i in range(1, 20001)]
    with pg.connect() as conn:
        conn.execute("CREATE TABLE cw (id bigint PRIMARY KEY, name text, amount numeric(12,2), day date, x double precision)")
        with conn.cursor() as cur:
            with cur.copy("COPY cw (id, name, amount, day, x) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            assert cur.rowcount in (-1, len(rows))
        count, total, nulls = conn.execute("SELECT count(*), sum(amount), count(*) - count(x) FROM cw").fetchone()
        assert (count, total, nulls) == (20000, sum(r[2] for r in rows), 4000)

        with conn.cursor() as cur:
            got = []
            with cur.copy("COPY (SELECT id, name, amount, day, x FROM cw ORDER BY id) TO STDOUT") as copy:
                copy.set_types(["int8", "text", "numeric", "date", "float8"])
                for row in copy.rows():
                    got.append(row)
        assert got == rows

        with conn.cursor() as cur:
            raw = bytearray()
            with cur.copy("COPY cw TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    raw += block
        lines = bytes(raw).decode().splitlines()
        assert len(lines) == 20000
        assert sorted(lines)[0].startswith("1,name-1,0.01,2020-01-02,1.25"), sorted(lines)[0]


def test_copy_in_raw_csv(pg):
    data = "".join(f'{i},"label, {i}",{i * 3}\n' for i in range(1, 1001)) + '1001,"quote "" inside",\n'
    with pg.connect() as conn:
        conn.execute("CREATE TABLE craw (id integer, label text, n integer)")
        with conn.cursor() as cur:
            with cur.copy("COPY craw FROM STDIN WITH (FORMAT csv)") as copy:
                # In uneven pieces, so rows straddle CopyData messages.
                for start in range(0, len(data), 997):
                    copy.write(data[start:start + 997])
        assert conn.execute("SELECT count(*), sum(n), count(n) FROM craw").fetchone() == (1001, 3 * 500500, 1000)
        assert conn.execute("SELECT label FROM craw WHERE id = 1001").fetchone() == ('quote " inside',)
        assert conn.execute("SELECT label FROM craw WHERE id = 7").fetchone() == ("label, 7",)


def test_copy_in_failure_reports_and_connection_recovers(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE cf (id integer PRIMARY KEY, v integer)")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            with conn.cursor() as cur:
                with cur.copy("COPY cf FROM STDIN") as copy:
                    copy.write("1\t1\n2\tnope\n")
        # A COPY the client aborts (CopyFail) writes nothing.
        with pytest.raises(psycopg.errors.QueryCanceled):
            with conn.cursor() as cur:
                with cur.copy("COPY cf FROM STDIN") as copy:
                    copy.write("10\t10\n")
                    raise psycopg.errors.QueryCanceled("client gave up")
        assert conn.execute("SELECT count(*) FROM cf WHERE id = 10").fetchone() == (0,)
        conn.execute("INSERT INTO cf VALUES (100, 100)")
        assert conn.execute("SELECT v FROM cf WHERE id = 100").fetchone() == (100,)


def long_query(pg):
    if pg.is_strata:
        return "SELECT count(*) FROM range(10000000000)"
    return "SELECT pg_sleep(60)"


@pytest.mark.timeout_s(60)
def test_cancel_a_running_query(pg):
    with pg.connect() as conn:
        def cancel_soon():
            time.sleep(1.0)
            conn.cancel()
        t = threading.Thread(target=cancel_soon)
        started = time.monotonic()
        t.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            conn.execute(long_query(pg))
        t.join()
        elapsed = time.monotonic() - started
        assert info.value.sqlstate == "57014"
        assert elapsed < 15, f"the query stopped {elapsed:.1f}s after it started"
        # The connection is usable afterwards.
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


@pytest.mark.timeout_s(60)
def test_cancel_one_session_leaves_others_alone(pg):
    with pg.connect() as victim, pg.connect() as bystander:
        bystander.execute("CREATE TABLE calm (i integer)")
        errors = []

        def run_long():
            try:
                victim.execute(long_query(pg))
            except psycopg.Error as e:
                errors.append(e)
        t = threading.Thread(target=run_long)
        t.start()
        time.sleep(0.5)
        bystander.execute("INSERT INTO calm VALUES (1)")
        assert bystander.execute("SELECT count(*) FROM calm").fetchone() == (1,)
        victim.cancel()
        t.join(30)
        assert not t.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], psycopg.errors.QueryCanceled), errors
        assert bystander.execute("SELECT count(*) FROM calm").fetchone() == (1,)


def test_transactions_commit_rollback_visibility(pg):
    with pg.connect(autocommit=True) as setup:
        setup.execute("CREATE TABLE acct (id integer PRIMARY KEY, balance integer)")
        setup.execute("INSERT INTO acct VALUES (1, 100), (2, 100)")
    writer = pg.connect(autocommit=False)
    reader = pg.connect(autocommit=True)
    try:
        writer.execute("UPDATE acct SET balance = balance - 30 WHERE id = 1")
        writer.execute("UPDATE acct SET balance = balance + 30 WHERE id = 2")
        writer.execute("INSERT INTO acct VALUES (3, 0)")
        assert writer.execute("SELECT sum(balance), count(*) FROM acct").fetchone() == (200, 3)
        assert reader.execute("SELECT id, balance FROM acct ORDER BY id").fetchall() == [(1, 100), (2, 100)]
        writer.commit()
        assert reader.execute("SELECT id, balance FROM acct ORDER BY id").fetchall() == [(1, 70), (2, 130), (3, 0)]

        writer.execute("DELETE FROM acct WHERE id = 3")
        writer.execute("INSERT INTO acct VALUES (4, 4)")
        writer.rollback()
        assert reader.execute("SELECT id FROM acct ORDER BY id").fetchall() == [(1,), (2,), (3,)]

        # A failed statement poisons the block until rollback.
        with pytest.raises(psycopg.errors.UniqueViolation):
            writer.execute("INSERT INTO acct VALUES (1, 0)")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            writer.execute("SELECT 1")
        writer.rollback()
        assert writer.execute("SELECT count(*) FROM acct").fetchone() == (3,)
        writer.commit()

        # The transaction() context manager commits, and rolls back on an exception.
        reader_tx = pg.connect(autocommit=True)
        with reader_tx.transaction():
            reader_tx.execute("INSERT INTO acct VALUES (10, 10)")
        with pytest.raises(RuntimeError):
            with reader_tx.transaction():
                reader_tx.execute("INSERT INTO acct VALUES (11, 11)")
                raise RuntimeError("abort")
        assert reader.execute("SELECT id FROM acct WHERE id >= 10").fetchall() == [(10,)]
        reader_tx.close()
    finally:
        writer.close()
        reader.close()


def test_fetchmany_and_streaming(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE big (i bigint)")
        with conn.cursor() as cur:
            with cur.copy("COPY big FROM STDIN") as copy:
                copy.write("".join(f"{i}\n" for i in range(100000)))
        cur = conn.cursor()
        cur.execute("SELECT i FROM big ORDER BY i")
        first = cur.fetchmany(10)
        assert first == [(i,) for i in range(10)]
        rest = cur.fetchall()
        assert len(rest) == 99990 and rest[-1] == (99999,)
        # stream() reads rows as they come (single-row mode).
        total = 0
        for (i,) in conn.cursor().stream("SELECT i FROM big WHERE i % 2 = 0"):
            total += i
        assert total == sum(range(0, 100000, 2))


def test_server_side_cursor(pg):
    with pg.connect(autocommit=False) as conn:
        conn.execute("CREATE TABLE ssc (i integer)")
        conn.execute("INSERT INTO ssc SELECT * FROM generate_series(1, 1000)")
        conn.commit()
        with conn.cursor(name="walker") as cur:
            cur.execute("SELECT i FROM ssc ORDER BY i")
            assert cur.fetchmany(5) == [(1,), (2,), (3,), (4,), (5,)]
            assert len(cur.fetchmany(500)) == 500
            assert cur.fetchall()[-1] == (1000,)


def test_changelog_columns(pg):
    pg.require_strata("the changelog is Strata's")
    with pg.connect() as conn:
        conn.execute("CREATE TABLE ch (id integer PRIMARY KEY, v text)")
        conn.execute("INSERT INTO ch VALUES (1, 'a')")
        conn.execute("UPDATE ch SET v = 'b' WHERE id = 1")
        cur = conn.execute('SELECT * FROM "ch$changelog" ORDER BY log_offset')
        assert [(d.name, d.type_code) for d in cur.description] == [
            ("change_type", 25), ("log_offset", 20), ("commit_ts", 1184), ("id", 23), ("v", 25)]
        rows = cur.fetchall()
        assert [(r[0], r[3], r[4]) for r in rows] == [("+I", 1, "a"), ("-U", 1, "a"), ("+U", 1, "b")]
        assert rows[0][1] < rows[1][1] < rows[2][1]
        now = dt.datetime.now(UTC)
        for r in rows:
            assert abs((now - r[2]).total_seconds()) < 300, r


def test_json_values(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE js (id integer PRIMARY KEY, doc json)")
        docs = [{"k": i, "tags": ["a", "b"][: i % 3], "ok": i % 2 == 0} for i in range(10)]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO js VALUES (%s, %s)", [(i, Json(d)) for i, d in enumerate(docs)])
        got = conn.execute("SELECT doc FROM js ORDER BY id").fetchall()
        assert [r[0] for r in got] == docs
        text = conn.execute("SELECT CAST(doc AS text) FROM js WHERE id = 1").fetchone()[0]
        assert json.loads(text) == docs[1]


def test_committed_write_is_visible_at_once_on_another_connection(pg):
    with pg.connect() as writer, pg.connect() as reader:
        writer.execute("CREATE TABLE fresh (id integer PRIMARY KEY, v integer)")
        writer.execute("CREATE TABLE fresh_log (id integer)")
        for i in range(200):
            writer.execute("INSERT INTO fresh VALUES (%s, %s)", (i, i))
            writer.execute("INSERT INTO fresh_log VALUES (%s)", (i,))
            assert reader.execute("SELECT v FROM fresh WHERE id = %s", (i,)).fetchone() == (i,), i
            assert reader.execute("SELECT count(*) FROM fresh_log").fetchone() == (i + 1,), i
            if i % 10 == 0:
                writer.execute("UPDATE fresh SET v = -1 WHERE id = %s", (i,))
                assert reader.execute("SELECT v FROM fresh WHERE id = %s", (i,)).fetchone() == (-1,), i


@pytest.mark.timeout_s(120)
def test_a_large_result_streams_without_buffering_it_all(pg):
    """About 400 MB of rows, read slowly: the server must not hold them all."""
    rows, width = 200_000, 2000
    with pg.connect() as conn:
        base_rss = pg.server.rss_bytes() if pg.is_strata else 0
        peak = 0
        seen = 0
        cur = conn.cursor()
        for (i, pad) in cur.stream(f"SELECT i, repeat('x', {width}) FROM generate_series(1, {rows}) AS g(i)"):
            seen += 1
            if seen in (1000, 100_000) and pg.is_strata:
                time.sleep(1.0)  # the server runs ahead until its buffers are full
                peak = max(peak, pg.server.rss_bytes())
            assert len(pad) == width
        assert seen == rows
        if pg.is_strata:
            grew = peak - base_rss
            allowed = (128 + (256 if pg.server.sanitized() else 0)) << 20
            assert grew < allowed, f"strata's RSS grew by {grew >> 20} MiB while a client read slowly"
        assert conn.execute("SELECT 1").fetchone() == (1,)
