"""Moving a database from PostgreSQL 15 to Strata: pg_dump's plain output of a
real PostgreSQL, loaded unchanged with `psql -v ON_ERROR_STOP=1 -f`, gives
the same rows, keys, defaults and sequence positions. The dump starts with
pg_dump's SET statements and set_config('search_path', '', false), creates
tables, serial sequences (ALTER TABLE seq OWNER TO, ALTER SEQUENCE ...
OWNED BY), loads COPY data, calls setval and adds primary keys after the
data. Needs root and PostgreSQL 15 (the source runs as the OS user
postgres), like the database-clone tests."""

import datetime as dt
import os
import pwd
import subprocess

import psycopg
import pytest

from pg_source import PG_BIN, PgSource

SOURCE_SCHEMA = [
    "CREATE TABLE customers (id serial PRIMARY KEY, name varchar(50) NOT NULL, email text, "
    "active boolean DEFAULT true, joined date DEFAULT DATE '2024-01-31', meta json, photo bytea)",
    "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id integer NOT NULL, total numeric(12,2) NOT NULL "
    "DEFAULT 0, placed_at timestamptz DEFAULT now(), note text)",
    "CREATE TABLE events (ts timestamp, kind smallint, payload jsonb, ratio real, score double precision)",
    "CREATE TABLE tags (customer_id int, tag text, PRIMARY KEY (customer_id, tag))",
    "CREATE SEQUENCE invoice_no START 1000",
    "INSERT INTO customers (name, email, meta, photo) VALUES ('Ann', 'ann@x', '{\"a\": 1}', '\\x0102'), "
    "('Bob', NULL, NULL, NULL), ('Cé \"quoted\" \\t tab', 'c@x', '[1, 2]', '')",
    "INSERT INTO orders (customer_id, total, note) SELECT 1 + i % 3, i * 1.5, 'note ' || i "
    "FROM generate_series(1, 500) i",
    "INSERT INTO events VALUES ('2024-01-01 10:00:00.123456', 1, '{\"k\": [1, 2]}', 0.5, 1e10), "
    "(NULL, NULL, NULL, NULL, NULL)",
    "INSERT INTO tags VALUES (1, 'vip'), (2, 'new')",
    "SELECT nextval('invoice_no')",
    "SELECT nextval('invoice_no')",
]

CHECKS = [
    "SELECT id, name, email, active, joined, meta::text, photo FROM customers ORDER BY id",
    "SELECT count(*), sum(total), min(id), max(id) FROM orders",
    "SELECT ts, kind, payload::text, ratio, score FROM events ORDER BY kind NULLS LAST",
    "SELECT customer_id, tag FROM tags ORDER BY 1, 2",
]


def skip_reason():
    if os.geteuid() != 0:
        return "the PostgreSQL source runs as the OS user postgres, which needs root"
    if not (PG_BIN / "postgres").is_file() or not (PG_BIN / "pg_dump").is_file():
        return f"PostgreSQL 15 is not installed ({PG_BIN})"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no OS user postgres"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture
def source():
    src = PgSource(scale=0, dbname="shop", name="dumpsrc").start()
    try:
        for statement in SOURCE_SCHEMA:
            src.sql(statement)
        yield src
    finally:
        src.stop()


def test_a_postgres_dump_loads_into_strata(source, strata, tmp_path):
    dump = tmp_path / "shop.sql"
    out = subprocess.run([str(PG_BIN / "pg_dump"), source.logical_conninfo], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    dump.write_text(out.stdout)
    target = f"host=127.0.0.1 port={strata.pg_port} user=strata dbname=strata"
    loaded = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-f", str(dump)],
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    with psycopg.connect(target, autocommit=True) as strata_conn, source.connect() as pg_conn:
        for query in CHECKS:
            assert strata_conn.execute(query).fetchall() == pg_conn.execute(query).fetchall(), query
        # Keys came with ADD CONSTRAINT ... PRIMARY KEY after the data; serial defaults and sequences follow on.
        with pytest.raises(psycopg.errors.UniqueViolation):
            strata_conn.execute("INSERT INTO tags VALUES (1, 'vip')")
        for conn in (strata_conn, pg_conn):
            assert conn.execute("INSERT INTO customers (name) VALUES ('Dee') RETURNING id, active, joined").fetchone() == (
                4, True, dt.date(2024, 1, 31))
            assert conn.execute("INSERT INTO orders (customer_id) VALUES (1) RETURNING id, total").fetchone()[0] == 501
            assert conn.execute("SELECT nextval('invoice_no')").fetchone() == (1002,)
        # The search_path the dump set with set_config is the session's setting.
        (path,) = strata_conn.execute("SELECT set_config('search_path', 'public', false)").fetchone()
        assert path == "public"
        assert strata_conn.execute("SELECT current_setting('search_path')").fetchone() == ("public",)
