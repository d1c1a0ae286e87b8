"""ALTER TABLE on Strata tables, as PostgreSQL 15 does it: ADD, DROP, RENAME
and retype columns, RENAME TO, SET/DROP DEFAULT and NOT NULL, with the rows
kept, the errors PostgreSQL gives, and the changes surviving a restart.
Runs against a real PostgreSQL too (STRATA_TEST_PG)."""

import threading

import psycopg
import pytest
from psycopg import errors

from pg_wire import pg  # noqa: F401  (fixture)


def rows(conn, sql, *args):
    return conn.execute(sql, *args).fetchall()


def columns(conn, table):
    return rows(conn, "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                      "WHERE table_name = %s ORDER BY ordinal_position", (table,))


def test_add_column_fills_existing_rows_with_its_default(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_add (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO at_add VALUES (1, 'a'), (2, 'b'), (3, NULL)")
        assert conn.execute("ALTER TABLE at_add ADD COLUMN score int DEFAULT 7").statusmessage == "ALTER TABLE"
        conn.execute("ALTER TABLE at_add ADD COLUMN note text, ADD COLUMN IF NOT EXISTS score int")
        assert rows(conn, "SELECT * FROM at_add ORDER BY id") == [(1, "a", 7, None), (2, "b", 7, None),
                                                                  (3, None, 7, None)]
        conn.execute("INSERT INTO at_add (id) VALUES (4)")
        assert rows(conn, "SELECT score, note FROM at_add WHERE id = 4") == [(7, None)]
        # A serial column numbers the existing rows, one nextval per row.
        conn.execute("ALTER TABLE at_add ADD COLUMN n bigserial")
        assert sorted(r[0] for r in rows(conn, "SELECT n FROM at_add")) == [1, 2, 3, 4]
        assert rows(conn, "SELECT pg_get_serial_sequence('at_add', 'n')") == [("public.at_add_n_seq",)]
        conn.execute("INSERT INTO at_add (id) VALUES (5)")
        assert rows(conn, "SELECT n FROM at_add WHERE id = 5") == [(5,)]
        with pytest.raises(errors.DuplicateColumn) as e:
            conn.execute("ALTER TABLE at_add ADD COLUMN name text")
        assert str(e.value) == 'column "name" of relation "at_add" already exists'
        # NOT NULL without a DEFAULT fails on the existing rows and changes nothing.
        with pytest.raises(errors.NotNullViolation) as e:
            conn.execute("ALTER TABLE at_add ADD COLUMN must int NOT NULL")
        assert str(e.value) == 'column "must" of relation "at_add" contains null values'
        assert [c[0] for c in columns(conn, "at_add")] == ["id", "name", "score", "note", "n"]


def test_drop_column_keeps_the_other_values(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_drop (id int PRIMARY KEY, a text, b float8, c bigserial)")
        conn.execute("INSERT INTO at_drop (id, a, b) VALUES (1, 'x', 1.5), (2, 'y', 2.5)")
        conn.execute("ALTER TABLE at_drop DROP COLUMN a")
        assert rows(conn, "SELECT * FROM at_drop ORDER BY id") == [(1, 1.5, 1), (2, 2.5, 2)]
        conn.execute("ALTER TABLE at_drop DROP COLUMN IF EXISTS a")
        with pytest.raises(errors.UndefinedColumn) as e:
            conn.execute("ALTER TABLE at_drop DROP COLUMN a")
        assert str(e.value) == 'column "a" of relation "at_drop" does not exist'
        # A serial column's sequence goes with the column.
        conn.execute("ALTER TABLE at_drop DROP COLUMN c")
        assert rows(conn, "SELECT count(*) FROM pg_class WHERE relname = 'at_drop_c_seq'") == [(0,)]
        # Dropping a key column drops the primary key: duplicates are allowed then.
        conn.execute("ALTER TABLE at_drop ADD COLUMN k int DEFAULT 1")
        conn.execute("ALTER TABLE at_drop DROP COLUMN id")
        conn.execute("INSERT INTO at_drop VALUES (1.5, 1)")
        assert rows(conn, "SELECT b, k FROM at_drop ORDER BY b") == [(1.5, 1), (1.5, 1), (2.5, 1)]


def test_rename_column_and_table(pg):
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS at_renamed")
        conn.execute("CREATE TABLE at_ren (id serial PRIMARY KEY, name text)")
        conn.execute("INSERT INTO at_ren (name) VALUES ('a'), ('b')")
        assert conn.execute("ALTER TABLE at_ren RENAME COLUMN name TO label").statusmessage == "ALTER TABLE"
        assert conn.execute("ALTER TABLE at_ren RENAME TO at_renamed").statusmessage == "ALTER TABLE"
        assert rows(conn, "SELECT id, label FROM at_renamed ORDER BY id") == [(1, "a"), (2, "b")]
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT * FROM at_ren")
        # The serial column's sequence keeps its name and its count, and follows the table.
        conn.execute("INSERT INTO at_renamed (label) VALUES ('c')")
        assert rows(conn, "SELECT max(id) FROM at_renamed") == [(3,)]
        assert rows(conn, "SELECT pg_get_serial_sequence('at_renamed', 'id')") == [("public.at_ren_id_seq",)]
        with pytest.raises(errors.DependentObjectsStillExist):
            conn.execute("DROP SEQUENCE at_ren_id_seq")
        with pytest.raises(errors.UndefinedColumn) as e:
            conn.execute("ALTER TABLE at_renamed RENAME COLUMN nope TO other")
        assert str(e.value) == 'column "nope" does not exist'
        with pytest.raises(errors.DuplicateColumn):
            conn.execute("ALTER TABLE at_renamed RENAME COLUMN label TO id")
        conn.execute("CREATE TABLE at_taken (x int)")
        with pytest.raises(errors.DuplicateTable) as e:
            conn.execute("ALTER TABLE at_renamed RENAME TO at_taken")
        assert str(e.value) == 'relation "at_taken" already exists'
        conn.execute("DROP TABLE at_renamed")
        assert rows(conn, "SELECT count(*) FROM pg_class WHERE relname = 'at_ren_id_seq'") == [(0,)]


def test_alter_column_type_defaults_and_not_null(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_col (id int PRIMARY KEY, v text, w int)")
        conn.execute("INSERT INTO at_col VALUES (1, '10', 1), (2, '20', NULL)")
        conn.execute("ALTER TABLE at_col ALTER COLUMN v TYPE bigint USING v::bigint, ALTER COLUMN w TYPE bigint")
        cur = conn.execute("SELECT v + 1, w FROM at_col ORDER BY id")
        assert cur.fetchall() == [(11, 1), (21, None)]
        assert rows(conn, "SELECT pg_typeof(id)::text, pg_typeof(v)::text, pg_typeof(w)::text FROM at_col "
                          "LIMIT 1") == [("integer", "bigint", "bigint")]
        conn.execute("ALTER TABLE at_col ALTER COLUMN w SET DEFAULT 5")
        conn.execute("INSERT INTO at_col (id, v) VALUES (3, 30)")
        assert rows(conn, "SELECT w FROM at_col WHERE id = 3") == [(5,)]
        conn.execute("ALTER TABLE at_col ALTER COLUMN w DROP DEFAULT")
        conn.execute("INSERT INTO at_col (id, v) VALUES (4, 40)")
        assert rows(conn, "SELECT w FROM at_col WHERE id = 4") == [(None,)]
        with pytest.raises(errors.NotNullViolation) as e:
            conn.execute("ALTER TABLE at_col ALTER COLUMN w SET NOT NULL")
        assert str(e.value) == 'column "w" of relation "at_col" contains null values'
        conn.execute("UPDATE at_col SET w = 0 WHERE w IS NULL")
        conn.execute("ALTER TABLE at_col ALTER COLUMN w SET NOT NULL")
        with pytest.raises(errors.NotNullViolation):
            conn.execute("INSERT INTO at_col (id, v) VALUES (5, 50)")
        conn.execute("ALTER TABLE at_col ALTER COLUMN w DROP NOT NULL")
        conn.execute("INSERT INTO at_col (id, v) VALUES (5, 50)")
        with pytest.raises(errors.InvalidTableDefinition) as e:
            conn.execute("ALTER TABLE at_col ALTER COLUMN id DROP NOT NULL")
        assert str(e.value) == 'column "id" is in a primary key'
        with pytest.raises(errors.UndefinedColumn):
            conn.execute("ALTER TABLE at_col ALTER COLUMN nope SET DEFAULT 1")
        # Retyping a key column keeps the key, and checks it.
        conn.execute("ALTER TABLE at_col ALTER COLUMN id TYPE bigint")
        with pytest.raises(errors.UniqueViolation):
            conn.execute("INSERT INTO at_col (id, v) VALUES (1, 0)")


def test_identity_column_refuses_default_changes(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)")
        with pytest.raises(errors.SyntaxError) as e:
            conn.execute("ALTER TABLE at_ident ALTER COLUMN id SET DEFAULT 1")
        assert str(e.value).startswith('column "id" of relation "at_ident" is an identity column')


def test_failed_alter_changes_nothing_and_statement_order_holds(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_fail (id int, v text)")
        conn.execute("INSERT INTO at_fail VALUES (1, 'a'), (1, 'b')")
        with pytest.raises(errors.UniqueViolation):
            conn.execute("ALTER TABLE at_fail ADD COLUMN w int DEFAULT 3, ADD PRIMARY KEY (id)")
        assert [c[0] for c in columns(conn, "at_fail")] == ["id", "v"]
        assert rows(conn, "SELECT count(*) FROM at_fail") == [(2,)]
        # Actions apply in order: a column added may be used by the next one.
        conn.execute("TRUNCATE at_fail")
        conn.execute("INSERT INTO at_fail VALUES (1, 'a')")
        conn.execute("ALTER TABLE at_fail ADD COLUMN k int DEFAULT 9, ALTER COLUMN k SET NOT NULL")
        assert rows(conn, "SELECT * FROM at_fail") == [(1, "a", 9)]
        if pg.is_strata:  # PostgreSQL has CHECK constraints; Strata refuses them rather than ignore them
            with pytest.raises(errors.FeatureNotSupported):
                conn.execute("ALTER TABLE at_fail ADD CONSTRAINT c CHECK (id > 0)")


def test_alter_inside_a_block_after_writes_is_refused_and_before_them_runs(pg):
    pg.require_strata("PostgreSQL's DDL is transactional; Strata's applies at once")
    with pg.connect(autocommit=False) as conn:
        conn.execute("CREATE TABLE at_block (id int PRIMARY KEY)")
        conn.commit()
        conn.execute("ALTER TABLE at_block ADD COLUMN v int")
        conn.execute("INSERT INTO at_block VALUES (1, 2)")
        with pytest.raises(errors.FeatureNotSupported):
            conn.execute("ALTER TABLE at_block ADD COLUMN w int")
        conn.rollback()
        assert rows(conn, "SELECT * FROM at_block") == []
        assert [c[0] for c in columns(conn, "at_block")] == ["id", "v"]


def test_prepared_statements_see_the_new_shape(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_prep (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO at_prep VALUES (1, 10)")
        query = "SELECT count(*) FROM at_prep WHERE v >= %s"  # its result keeps its type
        for _ in range(6):  # psycopg prepares it server-side after 5 runs
            assert rows(conn, query, (0,)) == [(1,)]
        conn.execute("ALTER TABLE at_prep ALTER COLUMN v TYPE bigint, ADD COLUMN w text DEFAULT 'z'")
        assert rows(conn, query, (0,)) == [(1,)]
        insert = "INSERT INTO at_prep (id, v) VALUES (%s, %s)"
        for i in range(2, 8):
            conn.execute(insert, (i, 1))
        conn.execute("ALTER TABLE at_prep ALTER COLUMN w SET DEFAULT 'y'")
        conn.execute(insert, (9, 1))
        assert rows(conn, "SELECT w FROM at_prep WHERE id = 9") == [("y",)]


def test_concurrent_writers_see_the_change_or_wait(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_busy (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO at_busy SELECT g, g FROM generate_series(1, 20000) g")
    stop = threading.Event()
    written, failures = [], []

    def writer():
        with pg.connect() as w:
            i = 100000
            while not stop.is_set():
                i += 1
                try:
                    w.execute("INSERT INTO at_busy (id, v) VALUES (%s, 1)", (i,))
                    written.append(i)
                except psycopg.errors.ObjectInUse:
                    pass  # the rewrite is running; nothing was written
                except psycopg.errors.CannotConnectNow:
                    pass
                except psycopg.Error as e:
                    failures.append(repr(e))

    t = threading.Thread(target=writer)
    t.start()
    try:
        with pg.connect() as conn:
            conn.execute("ALTER TABLE at_busy ADD COLUMN w int DEFAULT 0")
            conn.execute("ALTER TABLE at_busy ALTER COLUMN v TYPE bigint")
    finally:
        stop.set()
        t.join()
    assert failures == []
    assert written, "the writer wrote nothing while the table was altered"
    with pg.connect() as conn:
        ids = {r[0] for r in rows(conn, "SELECT id FROM at_busy WHERE id > 100000")}
        assert set(written) <= ids  # no acknowledged row lost to the rewrite
        assert rows(conn, "SELECT count(*) FROM at_busy WHERE id <= 20000") == [(20000,)]


def test_changes_survive_a_restart(pg):
    pg.require_strata("restarts need the strata binary")
    with pg.connect() as conn:
        conn.execute("CREATE TABLE at_keep (id int PRIMARY KEY, a text, b int)")
        conn.execute("INSERT INTO at_keep VALUES (1, 'x', 2)")
        conn.execute("ALTER TABLE at_keep RENAME COLUMN a TO label")
        conn.execute("ALTER TABLE at_keep DROP COLUMN b, ADD COLUMN n serial")
        conn.execute("ALTER TABLE at_keep RENAME TO at_kept")
    pg.restart(hard=True)
    with pg.connect() as conn:
        assert rows(conn, "SELECT * FROM at_kept") == [(1, "x", 1)]
        conn.execute("INSERT INTO at_kept (id, label) VALUES (2, 'y')")
        assert rows(conn, "SELECT n FROM at_kept WHERE id = 2") == [(2,)]
