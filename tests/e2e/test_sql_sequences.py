"""Sequences (CREATE/ALTER/DROP SEQUENCE, nextval, currval, setval, lastval),
serial and identity columns, and column DEFAULTs on Strata tables, as
PostgreSQL 15 does them. Runs against a real PostgreSQL too (STRATA_TEST_PG)."""

import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import errors

from pg_wire import pg  # noqa: F401  (fixture)

INT2, INT4, INT8 = 21, 23, 20


def col(conn, sql, *args):
    return [r[0] for r in conn.execute(sql, *args).fetchall()]


def one(conn, sql, *args):
    return conn.execute(sql, *args).fetchone()[0]


def test_create_sequence_with_every_option(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_opts, sq_plain")
        cur = conn.execute("CREATE SEQUENCE sq_opts AS smallint INCREMENT BY 2 MINVALUE 1 MAXVALUE 5 "
                           "START WITH 1 CACHE 1 NO CYCLE OWNED BY NONE")
        assert cur.statusmessage == "CREATE SEQUENCE"
        cur = conn.execute("SELECT nextval('sq_opts'), nextval('sq_opts'), nextval('sq_opts')")
        assert cur.description[0].type_code == INT8 and cur.fetchall() == [(1, 3, 5)]
        with pytest.raises(errors.SequenceGeneratorLimitExceeded):
            conn.execute("SELECT nextval('sq_opts')")
        assert conn.execute("CREATE SEQUENCE sq_plain AS bigint INCREMENT 3 NO MINVALUE NO MAXVALUE START 10 "
                            "CACHE 20 CYCLE").statusmessage == "CREATE SEQUENCE"
        assert col(conn, "SELECT nextval('sq_plain') FROM generate_series(1, 3)") == [10, 13, 16]
        assert conn.execute("CREATE SEQUENCE sq_plain2 INCREMENT 5").statusmessage == "CREATE SEQUENCE"
        assert one(conn, "SELECT nextval('sq_plain2')") == 1  # START defaults to MINVALUE, 1
        conn.execute("DROP SEQUENCE sq_plain2")


def test_create_sequence_if_not_exists_and_duplicate(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_dup")
        conn.execute("CREATE SEQUENCE sq_dup START 7")
        assert conn.execute("CREATE SEQUENCE IF NOT EXISTS sq_dup START 100").statusmessage == "CREATE SEQUENCE"
        with pytest.raises(errors.DuplicateTable):
            conn.execute("CREATE SEQUENCE sq_dup")
        assert one(conn, "SELECT nextval('sq_dup')") == 7  # IF NOT EXISTS left it alone


def test_nextval_currval_setval_lastval(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_fn_a, sq_fn_b")
        conn.execute("CREATE SEQUENCE sq_fn_a")
        conn.execute("CREATE SEQUENCE sq_fn_b START 50")
        assert one(conn, "SELECT nextval('sq_fn_a')") == 1
        assert one(conn, "SELECT nextval('sq_fn_a')") == 2
        assert one(conn, "SELECT currval('sq_fn_a')") == 2
        assert one(conn, "SELECT nextval('sq_fn_b')") == 50
        assert one(conn, "SELECT lastval()") == 50  # the last nextval of any sequence
        assert one(conn, "SELECT currval('sq_fn_a')") == 2
        assert one(conn, "SELECT setval('sq_fn_a', 20)") == 20
        assert one(conn, "SELECT currval('sq_fn_a')") == 20
        assert one(conn, "SELECT nextval('sq_fn_a')") == 21
        assert one(conn, "SELECT setval('sq_fn_a', 30, false)") == 30
        assert one(conn, "SELECT nextval('sq_fn_a')") == 30  # is_called false: 30 itself comes next
        assert one(conn, "SELECT setval('sq_fn_a', 40, true)") == 40
        assert one(conn, "SELECT nextval('sq_fn_a')") == 41
        assert one(conn, "SELECT lastval()") == 41


def test_sequence_names_qualified_quoted_and_regclass(pg):
    with pg.connect() as conn:
        conn.execute('DROP SEQUENCE IF EXISTS sq_names, "SqMixedCase"')
        conn.execute("CREATE SEQUENCE public.sq_names")
        conn.execute('CREATE SEQUENCE "SqMixedCase" START 100')
        assert one(conn, "SELECT nextval('sq_names')") == 1
        assert one(conn, "SELECT nextval('public.sq_names')") == 2
        assert one(conn, "SELECT nextval('sq_names'::regclass)") == 3
        assert one(conn, "SELECT currval('public.sq_names')") == 3
        assert one(conn, "SELECT nextval('\"SqMixedCase\"')") == 100
        assert one(conn, "SELECT nextval('public.\"SqMixedCase\"')") == 101
        assert one(conn, "SELECT nextval('\"SqMixedCase\"'::regclass)") == 102
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT nextval('SqMixedCase')")  # unquoted folds to lower case
        conn.execute('DROP SEQUENCE "SqMixedCase"')


def test_descending_sequence_and_cycle(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_down, sq_cycle, sq_down_cycle")
        conn.execute("CREATE SEQUENCE sq_down INCREMENT BY -1")
        assert col(conn, "SELECT nextval('sq_down') FROM generate_series(1, 3)") == [-1, -2, -3]
        conn.execute("CREATE SEQUENCE sq_cycle MINVALUE 1 MAXVALUE 3 CYCLE")
        assert col(conn, "SELECT nextval('sq_cycle') FROM generate_series(1, 7)") == [1, 2, 3, 1, 2, 3, 1]
        conn.execute("CREATE SEQUENCE sq_down_cycle INCREMENT BY -2 MINVALUE 0 MAXVALUE 4 CYCLE")
        assert col(conn, "SELECT nextval('sq_down_cycle') FROM generate_series(1, 5)") == [4, 2, 0, 4, 2]
        conn.execute("DROP SEQUENCE IF EXISTS sq_down_limit")
        conn.execute("CREATE SEQUENCE sq_down_limit INCREMENT BY -1 MINVALUE -2 MAXVALUE 0")
        assert col(conn, "SELECT nextval('sq_down_limit') FROM generate_series(1, 3)") == [0, -1, -2]
        with pytest.raises(errors.SequenceGeneratorLimitExceeded):
            conn.execute("SELECT nextval('sq_down_limit')")


def test_alter_sequence(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_alter")
        conn.execute("CREATE SEQUENCE sq_alter")
        assert one(conn, "SELECT nextval('sq_alter')") == 1
        assert conn.execute("ALTER SEQUENCE sq_alter INCREMENT BY 10").statusmessage == "ALTER SEQUENCE"
        assert one(conn, "SELECT nextval('sq_alter')") == 11
        conn.execute("ALTER SEQUENCE sq_alter RESTART WITH 500")
        assert one(conn, "SELECT nextval('sq_alter')") == 500
        conn.execute("ALTER SEQUENCE sq_alter START WITH 3 RESTART")  # RESTART alone goes back to START
        assert one(conn, "SELECT nextval('sq_alter')") == 3
        conn.execute("ALTER SEQUENCE sq_alter RESTART 7 INCREMENT 1 MAXVALUE 8 NO CYCLE")
        assert col(conn, "SELECT nextval('sq_alter') FROM generate_series(1, 2)") == [7, 8]
        with pytest.raises(errors.SequenceGeneratorLimitExceeded):
            conn.execute("SELECT nextval('sq_alter')")
        conn.execute("ALTER SEQUENCE sq_alter NO MAXVALUE")
        assert one(conn, "SELECT nextval('sq_alter')") == 9
        conn.execute("ALTER SEQUENCE sq_alter MINVALUE 1 MAXVALUE 10 CYCLE")
        assert col(conn, "SELECT nextval('sq_alter') FROM generate_series(1, 2)") == [10, 1]
        assert conn.execute("ALTER SEQUENCE IF EXISTS sq_alter_missing RESTART").statusmessage == "ALTER SEQUENCE"
        with pytest.raises(errors.UndefinedTable):
            conn.execute("ALTER SEQUENCE sq_alter_missing RESTART")


def test_drop_sequence(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_drop_a, sq_drop_b")
        conn.execute("CREATE SEQUENCE sq_drop_a")
        conn.execute("CREATE SEQUENCE sq_drop_b")
        assert conn.execute("DROP SEQUENCE sq_drop_a, sq_drop_b").statusmessage == "DROP SEQUENCE"
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT nextval('sq_drop_a')")
        with pytest.raises(errors.UndefinedTable):
            conn.execute("DROP SEQUENCE sq_drop_a")
        conn.execute("CREATE SEQUENCE sq_drop_b")
        assert conn.execute("DROP SEQUENCE IF EXISTS sq_drop_a, sq_drop_b").statusmessage == "DROP SEQUENCE"
        assert conn.execute("CREATE SEQUENCE sq_drop_b").statusmessage == "CREATE SEQUENCE"
        assert one(conn, "SELECT nextval('sq_drop_b')") == 1  # a new sequence, not the old one
        conn.execute("DROP SEQUENCE sq_drop_b")


def test_sequence_function_errors(pg):
    with pg.connect() as conn:
        conn.execute("DROP SEQUENCE IF EXISTS sq_err")
        conn.execute("CREATE SEQUENCE sq_err MINVALUE 1 MAXVALUE 5")
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT lastval()")
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT currval('sq_err')")
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT nextval('sq_err_missing')")
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT currval('sq_err_missing')")
        with pytest.raises(errors.NumericValueOutOfRange):
            conn.execute("SELECT setval('sq_err', 6)")
        with pytest.raises(errors.NumericValueOutOfRange):
            conn.execute("SELECT setval('sq_err', 0)")
        assert one(conn, "SELECT nextval('sq_err')") == 1  # the failed setvals changed nothing
        assert one(conn, "SELECT setval('sq_err', 5)") == 5
        with pytest.raises(errors.SequenceGeneratorLimitExceeded):
            conn.execute("SELECT nextval('sq_err')")


def test_currval_is_per_session_and_connections_never_share_a_value(pg):
    with pg.connect() as a, pg.connect() as b:
        a.execute("DROP SEQUENCE IF EXISTS sq_sessions")
        a.execute("CREATE SEQUENCE sq_sessions")
        assert one(a, "SELECT nextval('sq_sessions')") == 1
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            b.execute("SELECT currval('sq_sessions')")
        assert one(b, "SELECT nextval('sq_sessions')") == 2
        assert one(a, "SELECT currval('sq_sessions')") == 1  # a's own last value, not b's
        assert one(b, "SELECT currval('sq_sessions')") == 2
    got = [[], [], [], []]

    def take(values):
        with pg.connect() as conn:
            for _ in range(200):
                values.append(one(conn, "SELECT nextval('sq_sessions')"))

    threads = [threading.Thread(target=take, args=(values,)) for values in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [v for values in got for v in values]
    assert len(everything) == 800 and len(set(everything)) == 800
    assert all(values == sorted(values) for values in got)  # each session sees them increase


def test_nextval_in_insert_select(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS sq_fill")
        conn.execute("DROP SEQUENCE IF EXISTS sq_fill_seq")
        conn.execute("CREATE SEQUENCE sq_fill_seq START 10")
        conn.execute("CREATE TABLE sq_fill (id bigint PRIMARY KEY, g int)")
        cur = conn.execute("INSERT INTO sq_fill SELECT nextval('sq_fill_seq'), g FROM generate_series(1, 5) AS t(g)")
        assert cur.statusmessage == "INSERT 0 5"
        assert col(conn, "SELECT id FROM sq_fill ORDER BY id") == [10, 11, 12, 13, 14]
        assert one(conn, "SELECT currval('sq_fill_seq')") == 14


@pytest.mark.parametrize("kind,oid", [("smallserial", INT2), ("serial", INT4), ("bigserial", INT8)])
def test_serial_primary_keys(pg, kind, oid):
    table = f"sq_{kind}_t"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id {kind} PRIMARY KEY, name text)")
        assert conn.execute(f"INSERT INTO {table} (name) VALUES ('a')").statusmessage == "INSERT 0 1"
        cur = conn.execute(f"INSERT INTO {table} (name) VALUES ('b') RETURNING id")
        assert cur.description[0].type_code == oid and cur.fetchall() == [(2,)]
        assert col(conn, f"INSERT INTO {table} VALUES (DEFAULT, 'c') RETURNING id") == [3]
        assert col(conn, f"INSERT INTO {table} (id, name) VALUES (100, 'x') RETURNING id") == [100]
        assert one(conn, f"SELECT nextval('{table}_id_seq')") == 4  # explicit ids don't move it
        assert col(conn, f"INSERT INTO {table} (name) VALUES ('d'), ('e') RETURNING id") == [5, 6]
        assert conn.execute(f"SELECT id, name FROM {table} ORDER BY id").fetchall() == \
            [(1, "a"), (2, "b"), (3, "c"), (5, "d"), (6, "e"), (100, "x")]
        with pytest.raises(errors.UniqueViolation):
            conn.execute(f"INSERT INTO {table} (id, name) VALUES (5, 'dup')")


def test_default_values_when_every_column_has_a_default(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS sq_all_default")
        conn.execute("CREATE TABLE sq_all_default (id serial PRIMARY KEY, n int DEFAULT 7, s text DEFAULT 'x')")
        cur = conn.execute("INSERT INTO sq_all_default DEFAULT VALUES")
        assert cur.statusmessage == "INSERT 0 1"
        assert conn.execute("INSERT INTO sq_all_default DEFAULT VALUES RETURNING *").fetchall() == [(2, 7, "x")]
        assert conn.execute("SELECT * FROM sq_all_default ORDER BY id").fetchall() == [(1, 7, "x"), (2, 7, "x")]


def test_drop_table_drops_its_serial_sequence(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS sq_owned")
        conn.execute("CREATE TABLE sq_owned (id bigserial PRIMARY KEY, v text)")
        conn.execute("INSERT INTO sq_owned (v) VALUES ('a')")
        assert one(conn, "SELECT nextval('sq_owned_id_seq')") == 2
        assert conn.execute("DROP TABLE sq_owned").statusmessage == "DROP TABLE"
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT nextval('sq_owned_id_seq')")
        conn.execute("CREATE TABLE sq_owned (id bigserial PRIMARY KEY, v text)")
        assert col(conn, "INSERT INTO sq_owned (v) VALUES ('b') RETURNING id") == [1]  # a fresh sequence


@pytest.mark.parametrize("options,first,step", [("", 1, 1), (" (START WITH 100 INCREMENT BY 10)", 100, 10)],
                         ids=["plain", "start-increment"])
def test_identity_always_refuses_explicit_values(pg, options, first, step):
    table = f"sq_ident_always_{first}"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY{options} PRIMARY KEY, v text)")
        assert col(conn, f"INSERT INTO {table} (v) VALUES ('a'), ('b') RETURNING id") == [first, first + step]
        assert col(conn, f"INSERT INTO {table} VALUES (DEFAULT, 'c') RETURNING id") == [first + 2 * step]
        with pytest.raises(errors.GeneratedAlways):
            conn.execute(f"INSERT INTO {table} (id, v) VALUES (5, 'x')")
        with pytest.raises(errors.GeneratedAlways):
            conn.execute(f"INSERT INTO {table} VALUES (5, 'x')")
        assert col(conn, f"SELECT id FROM {table} ORDER BY id") == [first, first + step, first + 2 * step]


@pytest.mark.parametrize("options,first,step", [("", 1, 1), (" (START WITH 100 INCREMENT BY 10)", 100, 10)],
                         ids=["plain", "start-increment"])
def test_identity_by_default_accepts_explicit_values(pg, options, first, step):
    table = f"sq_ident_default_{first}"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int GENERATED BY DEFAULT AS IDENTITY{options} PRIMARY KEY, v text)")
        assert col(conn, f"INSERT INTO {table} (v) VALUES ('a') RETURNING id") == [first]
        assert col(conn, f"INSERT INTO {table} (id, v) VALUES (5, 'x') RETURNING id") == [5]
        assert col(conn, f"INSERT INTO {table} VALUES (DEFAULT, 'b') RETURNING id") == [first + step]
        assert conn.execute(f"SELECT id, v FROM {table} ORDER BY v").fetchall() == \
            [(first, "a"), (first + step, "b"), (5, "x")]


@pytest.mark.parametrize("key", ["PRIMARY KEY", ""], ids=["key", "no-key"])
def test_column_defaults_fill_unnamed_columns(pg, key):
    table = "sq_defaults_key" if key else "sq_defaults_log"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id bigint {key}, n int DEFAULT 7, s text DEFAULT 'x', "
                     "c text DEFAULT 'a' || 'b', plain text)")
        conn.execute(f"INSERT INTO {table} (id) VALUES (1)")
        conn.execute(f"INSERT INTO {table} (id, s, plain) VALUES (2, 'given', 'p')")
        conn.execute(f"INSERT INTO {table} VALUES (3, DEFAULT, DEFAULT, 'own')")
        assert conn.execute(f"INSERT INTO {table} (plain, id) VALUES ('q', 4) RETURNING n, s, c").fetchall() == \
            [(7, "x", "ab")]
        assert conn.execute(f"SELECT id, n, s, c, plain FROM {table} ORDER BY id").fetchall() == [
            (1, 7, "x", "ab", None), (2, 7, "given", "ab", "p"), (3, 7, "x", "own", None), (4, 7, "x", "ab", "q")]


@pytest.mark.parametrize("key", ["PRIMARY KEY", ""], ids=["key", "no-key"])
def test_default_now_and_current_timestamp(pg, key):
    table = "sq_times_key" if key else "sq_times_log"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int {key}, a timestamptz DEFAULT now(), "
                     "b timestamptz DEFAULT current_timestamp)")
        conn.execute(f"INSERT INTO {table} (id) VALUES (1)")
        a, b = conn.execute(f"SELECT a, b FROM {table}").fetchone()
        now = datetime.now(timezone.utc)
        for value in (a, b):
            assert value is not None and value.tzinfo is not None
            assert abs(value - now) < timedelta(minutes=1), (value, now)


@pytest.mark.parametrize("key", ["PRIMARY KEY", ""], ids=["key", "no-key"])
def test_default_nextval_of_a_named_sequence(pg, key):
    suffix = "key" if key else "log"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS sq_dn_a_{suffix}, sq_dn_b_{suffix}")
        conn.execute(f"DROP SEQUENCE IF EXISTS sq_dn_seq_{suffix}")
        conn.execute(f"CREATE SEQUENCE sq_dn_seq_{suffix} START 1000")
        for t in ("a", "b"):
            conn.execute(f"CREATE TABLE sq_dn_{t}_{suffix} (id bigint {key} DEFAULT nextval('sq_dn_seq_{suffix}'), "
                         "v text)")
        assert col(conn, f"INSERT INTO sq_dn_a_{suffix} (v) VALUES ('1') RETURNING id") == [1000]
        assert col(conn, f"INSERT INTO sq_dn_b_{suffix} (v) VALUES ('2') RETURNING id") == [1001]  # shared
        assert col(conn, f"INSERT INTO sq_dn_a_{suffix} (v) VALUES ('3'), ('4') RETURNING id") == [1002, 1003]
        assert one(conn, f"SELECT currval('sq_dn_seq_{suffix}')") == 1003
        assert col(conn, f"SELECT id FROM sq_dn_a_{suffix} ORDER BY id") == [1000, 1002, 1003]


def test_update_set_default(pg):
    """(UPDATE needs a primary-key table: Strata's log tables are append-only.)"""
    table = "sq_upd_key"
    with pg.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, n int DEFAULT 7, s text DEFAULT 'a' || 'b', plain text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 1, 'one', 'p'), (2, 2, 'two', 'q')")
        cur = conn.execute(f"UPDATE {table} SET n = DEFAULT, s = DEFAULT, plain = DEFAULT WHERE id = 1")
        assert cur.statusmessage == "UPDATE 1"
        assert conn.execute(f"SELECT id, n, s, plain FROM {table} ORDER BY id").fetchall() == \
            [(1, 7, "ab", None), (2, 2, "two", "q")]


def test_serial_column_refuses_null(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS sq_notnull")
        conn.execute("CREATE TABLE sq_notnull (id serial PRIMARY KEY, v text)")
        with pytest.raises(errors.NotNullViolation):
            conn.execute("INSERT INTO sq_notnull VALUES (NULL, 'a')")
        with pytest.raises(errors.NotNullViolation):
            conn.execute("INSERT INTO sq_notnull (id, v) VALUES (NULL, 'b')")
        assert one(conn, "SELECT count(*) FROM sq_notnull") == 0


def test_copy_fills_serial_ids(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS sq_copy")
        conn.execute("CREATE TABLE sq_copy (id serial PRIMARY KEY, name text)")
        cur = conn.cursor()
        with cur.copy("COPY sq_copy (name) FROM STDIN") as copy:
            for name in ("a", "b", "c"):
                copy.write_row((name,))
        assert cur.rowcount == 3
        assert conn.execute("SELECT id, name FROM sq_copy ORDER BY id").fetchall() == [(1, "a"), (2, "b"), (3, "c")]
        assert col(conn, "INSERT INTO sq_copy (name) VALUES ('d') RETURNING id") == [4]


def test_nextval_is_not_undone_by_rollback(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS sq_txn")
        conn.execute("DROP SEQUENCE IF EXISTS sq_txn_seq")
        conn.execute("CREATE SEQUENCE sq_txn_seq")
        conn.execute("CREATE TABLE sq_txn (id serial PRIMARY KEY, v text)")
        conn.execute("BEGIN")
        assert one(conn, "SELECT nextval('sq_txn_seq')") == 1
        assert col(conn, "INSERT INTO sq_txn (v) VALUES ('gone') RETURNING id") == [1]
        conn.execute("ROLLBACK")
        assert one(conn, "SELECT nextval('sq_txn_seq')") == 2
        assert col(conn, "INSERT INTO sq_txn (v) VALUES ('kept') RETURNING id") == [2]
        conn.execute("BEGIN")
        assert one(conn, "SELECT nextval('sq_txn_seq')") == 3
        conn.execute("COMMIT")
        assert conn.execute("SELECT id, v FROM sq_txn").fetchall() == [(2, "kept")]
