"""Catalog queries that no client-specific code recognises: they run through
the SQL engine, whose catalog (pg_class, pg_attribute, information_schema)
lists Strata's tables and sequences, after PostgreSQL-only syntax is
rewritten on PostgreSQL's own parse tree (pg_catalog-qualified calls,
OPERATOR(pg_catalog.x), ~ and its kin, casts to regclass). Runs against a
real PostgreSQL too (STRATA_TEST_PG)."""

import psycopg
import pytest

from pg_wire import pg  # noqa: F401  (fixture)


def create_objects(conn):
    conn.execute("DROP TABLE IF EXISTS ce_orders")
    conn.execute("DROP SEQUENCE IF EXISTS ce_free_seq")
    conn.execute("CREATE TABLE ce_orders (id serial PRIMARY KEY, note varchar(20), total numeric(12,2) DEFAULT 0)")
    conn.execute("CREATE SEQUENCE ce_free_seq")


def test_pg_class_lists_tables_indexes_and_sequences(pg):
    with pg.connect() as conn:
        create_objects(conn)
        rows = conn.execute("SELECT relname, relkind FROM pg_catalog.pg_class "
                            "WHERE relname IN ('ce_orders', 'ce_orders_id_seq', 'ce_free_seq') AND relkind IN ('r', 'S') "
                            "ORDER BY relname").fetchall()
        assert rows == [("ce_free_seq", "S"), ("ce_orders", "r"), ("ce_orders_id_seq", "S")]
        oid = conn.execute("SELECT 'ce_orders'::regclass::oid").fetchone()[0]
        assert conn.execute("SELECT relname FROM pg_class WHERE oid = %s", (oid,)).fetchone() == ("ce_orders",)
        assert conn.execute("SELECT relname FROM pg_class WHERE oid = 'public.ce_orders'::pg_catalog.regclass"
                            ).fetchone() == ("ce_orders",)
        assert conn.execute("SELECT %s::regclass::text", (oid,)).fetchone() == ("ce_orders",)
        cur = conn.execute("SELECT 'ce_orders'::regclass::text, 'ce_orders'::regclass")
        assert cur.fetchone()[0] == "ce_orders"
        assert [d.name for d in cur.description] == ["text", "regclass"]
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT 'ce_nosuch'::regclass")


def test_attributes_and_defaults_through_the_engine(pg):
    with pg.connect() as conn:
        create_objects(conn)
        cur = conn.execute(
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "(SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d "
            " WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef) "
            "FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'ce_orders'::regclass AND a.attnum > 0 "
            "ORDER BY a.attnum")
        assert [d.name for d in cur.description][:3] == ["attname", "format_type", "attnotnull"]
        rows = cur.fetchall()
        names = [r[0] for r in rows]
        assert names == ["id", "note", "total"]
        assert rows[0][1:] == ("integer", True, "nextval('ce_orders_id_seq'::regclass)")
        assert rows[1][1].startswith("character varying") and rows[1][2] is False
        assert rows[2][1] == "numeric(12,2)"
        assert conn.execute("SELECT pg_catalog.pg_get_serial_sequence('ce_orders', 'id')"
                            ).fetchone() == ("public.ce_orders_id_seq",)
        assert conn.execute("SELECT pg_get_serial_sequence('ce_orders', 'note')").fetchone() == (None,)


def test_information_schema_lists_strata_tables(pg):
    with pg.connect() as conn:
        create_objects(conn)
        assert conn.execute("SELECT table_schema, table_name, table_type FROM information_schema.tables "
                            "WHERE table_name = 'ce_orders'").fetchall() == [("public", "ce_orders", "BASE TABLE")]
        assert conn.execute("SELECT current_schema()").fetchone() == ("public",)
        assert conn.execute("SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                            "ON n.oid = c.relnamespace WHERE c.relname = 'ce_orders'").fetchall() == [("public",)]
        rows = conn.execute("SELECT column_name, is_nullable, column_default FROM information_schema.columns "
                            "WHERE table_name = 'ce_orders' ORDER BY ordinal_position").fetchall()
        assert rows[0] == ("id", "NO", "nextval('ce_orders_id_seq'::regclass)")
        assert [r[0] for r in rows] == ["id", "note", "total"]
        assert conn.execute("SELECT constraint_name FROM information_schema.table_constraints "
                            "WHERE table_name = 'ce_orders' AND constraint_type = 'PRIMARY KEY'"
                            ).fetchall() == [("ce_orders_pkey",)]
        assert conn.execute("SELECT column_name, ordinal_position FROM information_schema.key_column_usage "
                            "WHERE constraint_name = 'ce_orders_pkey'").fetchall() == [("id", 1)]
        assert conn.execute("SELECT contype FROM pg_catalog.pg_constraint "
                            "WHERE conrelid = 'ce_orders'::regclass").fetchall() == [("p",)]


def test_postgres_only_syntax_is_rewritten(pg):
    with pg.connect() as conn:
        assert conn.execute("SELECT pg_catalog.version()").fetchone()[0].startswith("PostgreSQL 15")
        assert conn.execute("SELECT pg_catalog.lower('ABC'), 1 OPERATOR(pg_catalog.+) 2").fetchone() == ("abc", 3)
        cur = conn.execute("SELECT 'abcd' ~ 'bc', 'abcd' ~ '^bc', 'ABC' ~* 'b', 'abc' !~ 'x', 'ABC' !~* 'b', "
                           "'abc' OPERATOR(pg_catalog.~) '^a'")
        assert cur.fetchone() == (True, False, True, True, False, True)
        assert [d.name for d in cur.description] == ["?column?"] * 6
        assert conn.execute("SELECT '7'::pg_catalog.int4 + 1").fetchone() == (8,)
        assert conn.execute("SELECT json_build_object('a', 1)::text").fetchone()[0].replace(" ", "") == '{"a":1}'


def test_index_definitions_and_server_functions(pg):
    with pg.connect() as conn:
        conn.execute('CREATE TABLE ce_keys (a integer, "B x" integer, v text, PRIMARY KEY ("B x", a))')
        rows = conn.execute(
            "SELECT pg_get_indexdef(i.indexrelid), pg_catalog.pg_get_indexdef(i.indexrelid, 1, true), "
            "pg_get_indexdef(i.indexrelid, 2, false), pg_get_indexdef(i.indexrelid, 3, false) "
            "FROM pg_index i WHERE i.indrelid = 'ce_keys'::regclass").fetchall()
        assert rows == [('CREATE UNIQUE INDEX ce_keys_pkey ON public.ce_keys USING btree ("B x", a)', '"B x"', "a", "")]
        assert conn.execute("SELECT pg_get_indexdef(1)").fetchone() == (None,)
        assert conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone() == (False,)
        (schemas,) = conn.execute("SELECT array_to_string(current_schemas(false), ',')").fetchone()
        assert schemas == "public"
