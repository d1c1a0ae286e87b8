"""SAVEPOINT, ROLLBACK TO and RELEASE, as psycopg 3's nested transactions and
SQLAlchemy's begin_nested() use them. Runs against a real PostgreSQL too
(STRATA_TEST_PG)."""

import psycopg
import pytest

from pg_wire import pg  # noqa: F401  (fixture)


def ids(conn, table):
    return [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]


def test_rollback_to_undoes_only_what_followed_the_savepoint(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE sp1 (id bigint PRIMARY KEY, v text)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO sp1 VALUES (1, 'a')")
        assert conn.execute("SAVEPOINT a").statusmessage == "SAVEPOINT"
        conn.execute("INSERT INTO sp1 VALUES (2, 'b')")
        conn.execute("UPDATE sp1 SET v = 'changed' WHERE id = 1")
        conn.execute("SAVEPOINT b")
        conn.execute("DELETE FROM sp1")
        assert conn.execute("ROLLBACK TO SAVEPOINT b").statusmessage == "ROLLBACK"
        assert ids(conn, "sp1") == [1, 2]
        assert conn.execute("ROLLBACK TO a").statusmessage == "ROLLBACK"
        assert conn.execute("SELECT id, v FROM sp1").fetchall() == [(1, "a")]
        conn.execute("INSERT INTO sp1 VALUES (3, 'c')")
        conn.execute("ROLLBACK TO a")  # the savepoint stays after ROLLBACK TO
        conn.execute("INSERT INTO sp1 VALUES (4, 'd')")
        conn.execute("COMMIT")
        assert ids(conn, "sp1") == [1, 4]


def test_rollback_to_recovers_a_block_that_an_error_failed(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE sp2 (id bigint PRIMARY KEY)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO sp2 VALUES (1)")
        conn.execute("SAVEPOINT before_dup")
        conn.execute("INSERT INTO sp2 VALUES (2)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO sp2 VALUES (1)")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK TO SAVEPOINT before_dup")
        conn.execute("INSERT INTO sp2 VALUES (3)")
        conn.execute("COMMIT")
        assert ids(conn, "sp2") == [1, 3]


def test_release_and_names_that_do_not_exist(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE sp3 (id bigint PRIMARY KEY)")
        with pytest.raises(psycopg.Error) as outside:
            conn.execute("SAVEPOINT a")
        assert outside.value.diag.sqlstate == "25P01"
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT a")
        conn.execute("INSERT INTO sp3 VALUES (1)")
        conn.execute("SAVEPOINT a")  # a second one of the same name hides the first
        conn.execute("INSERT INTO sp3 VALUES (2)")
        conn.execute("ROLLBACK TO a")
        assert ids(conn, "sp3") == [1]
        assert conn.execute("RELEASE SAVEPOINT a").statusmessage == "RELEASE"
        conn.execute("ROLLBACK TO a")  # the first one
        assert ids(conn, "sp3") == []
        conn.execute("RELEASE a")
        with pytest.raises(psycopg.Error) as missing:
            conn.execute("ROLLBACK TO a")
        assert missing.value.diag.sqlstate == "3B001"
        conn.execute("ROLLBACK")


def test_psycopg_nested_transactions(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE sp4 (id bigint PRIMARY KEY, v text)")
        with conn.transaction():
            conn.execute("INSERT INTO sp4 VALUES (1, 'outer')")
            with pytest.raises(psycopg.errors.UniqueViolation):
                with conn.transaction():
                    conn.execute("INSERT INTO sp4 VALUES (2, 'inner')")
                    conn.execute("INSERT INTO sp4 VALUES (1, 'duplicate')")
            with conn.transaction():
                conn.execute("INSERT INTO sp4 VALUES (3, 'inner kept')")
        assert conn.execute("SELECT id, v FROM sp4 ORDER BY id").fetchall() == [(1, "outer"), (3, "inner kept")]
