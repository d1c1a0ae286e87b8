"""INSERT, UPDATE and DELETE ... RETURNING on Strata tables (what pgjdbc's
getGeneratedKeys and ORMs send). Runs against a real PostgreSQL too
(STRATA_TEST_PG)."""

import psycopg
import pytest

from pg_wire import pg  # noqa: F401  (fixture)


def test_returning_gives_the_rows_each_statement_changed(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE ret1 (id bigint PRIMARY KEY, name text, n int)")
        cur = conn.execute("INSERT INTO ret1 VALUES (1, 'a', 10), (2, 'b', 20) RETURNING id, name")
        assert cur.statusmessage == "INSERT 0 2"
        assert sorted(cur.fetchall()) == [(1, "a"), (2, "b")]
        cur = conn.execute("UPDATE ret1 AS r SET n = n + 1 WHERE id = 1 RETURNING r.n, n * 2 AS twice")
        assert cur.statusmessage == "UPDATE 1"
        assert [d.name for d in cur.description] == ["n", "twice"]
        assert cur.fetchall() == [(11, 22)]
        cur = conn.execute("DELETE FROM ret1 WHERE id = 2 RETURNING *")
        assert cur.statusmessage == "DELETE 1"
        assert [d.name for d in cur.description] == ["id", "name", "n"]
        assert cur.fetchall() == [(2, "b", 20)]
        cur = conn.execute("INSERT INTO ret1 VALUES (1, 'x', 0), (3, 'c', 30) "
                           "ON CONFLICT (id) DO UPDATE SET n = ret1.n + 100 RETURNING id, n")
        assert sorted(cur.fetchall()) == [(1, 111), (3, 30)]
        cur = conn.execute("INSERT INTO ret1 VALUES (3, 'z', 0) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name "
                           "RETURNING name, n")
        assert cur.fetchall() == [("z", 30)]
        cur = conn.execute("UPDATE ret1 SET n = %s WHERE id = %s RETURNING id, n + %s", (5, 3, 1))
        assert cur.fetchall() == [(3, 6)]
        cur = conn.execute("DELETE FROM ret1 WHERE id = 99 RETURNING id")
        assert cur.statusmessage == "DELETE 0" and cur.fetchall() == []


def test_returning_inside_a_block_and_on_a_log_table(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE ret2 (id bigint, v text)")
        assert conn.execute("INSERT INTO ret2 VALUES (1, 'one') RETURNING v, id").fetchall() == [("one", 1)]
        conn.execute("CREATE TABLE ret3 (id bigint PRIMARY KEY)")
        conn.execute("BEGIN")
        assert conn.execute("INSERT INTO ret3 SELECT g FROM generate_series(1, 3) AS t(g) RETURNING id").rowcount == 3
        assert conn.execute("SELECT count(*) FROM ret3").fetchone() == (3,)
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM ret3").fetchone() == (0,)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO ret3 VALUES (1), (1) RETURNING id")


def test_do_nothing_returns_only_the_rows_it_inserted(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE ret4 (id bigint PRIMARY KEY, v text)")
        conn.execute("INSERT INTO ret4 VALUES (1, 'old')")
        # 1 is stored and the second 2 repeats the first: both skipped, as PostgreSQL does.
        cur = conn.execute("INSERT INTO ret4 VALUES (1, 'x'), (2, 'first'), (2, 'second'), (3, 'c') "
                           "ON CONFLICT DO NOTHING RETURNING id, v")
        assert cur.statusmessage == "INSERT 0 2"
        assert sorted(cur.fetchall()) == [(2, "first"), (3, "c")]
        cur = conn.execute("INSERT INTO ret4 VALUES (%s, %s) ON CONFLICT (id) DO NOTHING RETURNING *", (3, "again"))
        assert cur.statusmessage == "INSERT 0 0" and cur.fetchall() == []
        conn.execute("BEGIN")
        assert conn.execute("INSERT INTO ret4 VALUES (4, 'd') ON CONFLICT DO NOTHING RETURNING id").fetchall() == [(4,)]
        # The block's own insert counts as stored.
        assert conn.execute("INSERT INTO ret4 VALUES (4, 'e') ON CONFLICT DO NOTHING RETURNING id").fetchall() == []
        conn.execute("COMMIT")
        assert conn.execute("SELECT id, v FROM ret4 ORDER BY id").fetchall() == [
            (1, "old"), (2, "first"), (3, "c"), (4, "d")]


def test_parameters_typed_by_their_use_or_declared_type(pg):
    # DuckDB alone cannot type `n + $1`; the statement used to be described
    # with one placeholder column and the server stopped on the wider result.
    with pg.connect() as conn:
        conn.execute("CREATE TABLE ret5 (id bigint PRIMARY KEY, n int)")
        conn.execute("INSERT INTO ret5 VALUES (3, 5)")
        cur = conn.execute("SELECT id, n + %s FROM ret5 WHERE id = 3", (1,))
        assert [d.type_code for d in cur.description][0] == 20 and cur.fetchall() == [(3, 6)]
        assert conn.execute("SELECT %s, %s::int + 1", ("a", 2)).fetchall() == [("a", 3)]
        cur = conn.execute("UPDATE ret5 SET n = %s WHERE id = %s RETURNING id, n + %s", (5, 3, 1))
        assert cur.fetchall() == [(3, 6)]
        assert conn.execute("SELECT 1").fetchone() == (1,)  # still serving
