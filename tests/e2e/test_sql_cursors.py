"""SQL cursors: DECLARE, FETCH, MOVE and CLOSE, through psycopg 3's
server-side cursors (named cursors, WITH HOLD, binary rows, parameters) and
as plain statements, with PostgreSQL's tags and errors. A cursor shares the
portal namespace with the protocol's portals (asyncpg's MOVE on its own
portals is in test_sql_asyncpg.py). Runs against a real PostgreSQL too
(STRATA_TEST_PG)."""

import pytest
from psycopg import errors

from pg_wire import pg  # noqa: F401  (fixture)


def make_numbers(conn, n=50):
    conn.execute("CREATE TABLE cur_n (id integer PRIMARY KEY, label text)")
    conn.execute("INSERT INTO cur_n SELECT i, 'n' || i FROM generate_series(1, %s) AS g(i)" % n)


def test_named_cursor_reads_in_pieces(pg):
    with pg.connect(autocommit=False) as conn:
        make_numbers(conn)
        conn.commit()
        with conn.cursor("reader") as cur:
            cur.execute("SELECT id, label FROM cur_n WHERE id > %s ORDER BY id", (10,))
            assert cur.fetchone() == (11, "n11")
            assert cur.fetchmany(3) == [(12, "n12"), (13, "n13"), (14, "n14")]
            cur.scroll(5)  # MOVE 5: skips 15..19
            assert cur.fetchone() == (20, "n20")
            rest = cur.fetchall()
            assert [r[0] for r in rest] == list(range(21, 51))
            assert cur.fetchone() is None
        conn.commit()
        # Iteration fetches itersize rows at a time.
        with conn.cursor("walker") as cur:
            cur.itersize = 7
            cur.execute("SELECT id FROM cur_n ORDER BY id")
            assert [r[0] for r in cur] == list(range(1, 51))
        conn.commit()


def test_binary_cursor_and_with_hold(pg):
    with pg.connect(autocommit=True) as conn:
        make_numbers(conn, 10)
        with conn.cursor("held", withhold=True, binary=True) as cur:
            cur.execute("SELECT id, label, id * 1.5 AS x FROM cur_n ORDER BY id")
            assert cur.fetchmany(2) == [(1, "n1", 1.5), (2, "n2", 3.0)]
            # Outside any block the cursor lives on between statements.
            conn.execute("SELECT 1")
            assert cur.fetchone() == (3, "n3", 4.5)


def test_statements_and_tags(pg):
    with pg.connect(autocommit=True) as conn:
        make_numbers(conn, 10)
        with conn.transaction():
            cur = conn.execute("DECLARE c CURSOR FOR SELECT id FROM cur_n ORDER BY id")
            assert cur.statusmessage == "DECLARE CURSOR"
            cur = conn.execute("FETCH 2 FROM c")
            assert cur.fetchall() == [(1,), (2,)] and cur.statusmessage == "FETCH 2"
            assert conn.execute("MOVE FORWARD 3 IN c").statusmessage == "MOVE 3"
            assert conn.execute("FETCH ABSOLUTE 8 FROM c").fetchall() == [(8,)]
            assert conn.execute("FETCH RELATIVE 2 FROM c").fetchall() == [(10,)]
            cur = conn.execute("FETCH ALL FROM c")
            assert cur.fetchall() == [] and cur.statusmessage == "FETCH 0"
            assert conn.execute("MOVE NEXT IN c").statusmessage == "MOVE 0"
            assert conn.execute("CLOSE c").statusmessage == "CLOSE CURSOR"
            conn.execute("DECLARE a CURSOR FOR SELECT 1 AS one")
            conn.execute("DECLARE b CURSOR FOR SELECT %s::text AS p", ("x",))
            assert conn.execute("FETCH NEXT FROM b").fetchall() == [("x",)]
            assert conn.execute("CLOSE ALL").statusmessage == "CLOSE CURSOR ALL"
            with pytest.raises(errors.InvalidCursorName):
                conn.execute("FETCH a")
        # Cursors end with their block.
        with conn.transaction():
            conn.execute("DECLARE gone CURSOR FOR SELECT 1")
        with pytest.raises(errors.InvalidCursorName, match='cursor "gone" does not exist'):
            conn.execute("FETCH gone")


def test_errors(pg):
    with pg.connect(autocommit=True) as conn:
        with pytest.raises(errors.NoActiveSqlTransaction):
            conn.execute("DECLARE c CURSOR FOR SELECT 1")
        with pytest.raises(errors.InvalidCursorName):
            conn.execute("CLOSE nope")
        with conn.transaction():
            conn.execute("DECLARE c CURSOR FOR SELECT 1")
            with pytest.raises(errors.DuplicateCursor, match='cursor "c" already exists'):
                with conn.transaction():  # a savepoint, so the block lives on
                    conn.execute("DECLARE c CURSOR FOR SELECT 2")
        conn.execute("BEGIN")
        with pytest.raises(errors.UndefinedTable):
            conn.execute("DECLARE c CURSOR FOR SELECT * FROM cur_missing")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("FETCH c")
        conn.execute("ROLLBACK")


def test_only_forward(pg):
    pg.require_strata("PostgreSQL also scans backward where the plan allows it")
    with pg.connect(autocommit=True) as conn:
        make_numbers(conn, 5)
        with conn.transaction():
            conn.execute("DECLARE c CURSOR FOR SELECT id FROM cur_n ORDER BY id")
            assert conn.execute("FETCH 2 FROM c").fetchall() == [(1,), (2,)]
            for sql in ("FETCH PRIOR FROM c", "FETCH ABSOLUTE 1 FROM c", "MOVE BACKWARD 1 IN c", "FETCH RELATIVE 0 FROM c"):
                with pytest.raises(errors.ObjectNotInPrerequisiteState, match="can only scan forward"):
                    with conn.transaction():
                        conn.execute(sql)
            assert conn.execute("FETCH c").fetchall() == [(3,)]
        with pytest.raises(errors.FeatureNotSupported, match="SCROLL"):
            with conn.transaction():
                conn.execute("DECLARE s SCROLL CURSOR FOR SELECT 1")
