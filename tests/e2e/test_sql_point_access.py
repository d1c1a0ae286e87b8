"""Statements that read or change one row of a primary-key table by its whole
key (SELECT ... WHERE k = $1, UPDATE ... SET v = v + $1 WHERE k = $2,
DELETE ... WHERE k = $1) and INSERT ... VALUES run without DuckDB on Strata
(src/sql/point_select.cc, point_write.cc). Each test checks them against
PostgreSQL's behaviour, and against the same statement made to take DuckDB's
path (`AND 1 = 1` keeps the meaning but not the shape). Runs against a real
PostgreSQL too (STRATA_TEST_PG)."""

import threading

import psycopg
import pytest
from psycopg import errors

from pg_wire import pg  # noqa: F401  (fixture)

GENERAL = " AND 1 = 1"  # the same WHERE, but not a key lookup: DuckDB's path


def shape(cur):
    return [(d.name, d.type_code) for d in cur.description]


def both_ways(conn, sql, params=(), binary=False):
    """Runs `sql` (ending in its WHERE) as a key lookup and through DuckDB;
    asserts both give the same rows and columns, and returns the rows."""
    with conn.cursor(binary=binary) as point, conn.cursor(binary=binary) as general:
        point.execute(sql, params)
        general.execute(sql + GENERAL, params)
        assert shape(point) == shape(general)
        got = point.fetchall()
        assert got == general.fetchall()
        return got


def make_accounts(conn):
    conn.execute("CREATE TABLE pa_acct (id int PRIMARY KEY, owner varchar(12) NOT NULL, balance bigint, "
                 "small smallint, note text)")
    conn.execute("INSERT INTO pa_acct VALUES (1, 'ann', 100, 1, 'a'), (2, 'bob', -5, 2, NULL), "
                 "(3, 'cy', NULL, NULL, 'c')")


def test_select_by_key_matches_the_general_path(pg):
    with pg.connect() as conn:
        make_accounts(conn)
        for binary in (False, True):
            assert both_ways(conn, "SELECT * FROM pa_acct WHERE id = %s", (2,), binary) == [(2, "bob", -5, 2, None)]
            assert both_ways(conn, "SELECT balance, owner AS who FROM pa_acct a WHERE a.id = %s", (1,), binary) == [
                (100, "ann")]
            assert both_ways(conn, "SELECT id FROM pa_acct WHERE %s = id", (9,), binary) == []
            assert both_ways(conn, "SELECT id FROM pa_acct WHERE id = %s", (None,), binary) == []
            # A value wider than the key's type equals no key (PostgreSQL compares across widths).
            assert conn.cursor(binary=binary).execute("SELECT id FROM pa_acct WHERE id = %s", (2**40,)).fetchall() == []
        assert both_ways(conn, "SELECT * FROM pa_acct WHERE id = 3") == [(3, "cy", None, None, "c")]
        assert both_ways(conn, "SELECT note FROM pa_acct WHERE id = '1'") == [("a",)]
        assert both_ways(conn, "SELECT pa_acct.* FROM pa_acct WHERE pa_acct.id = 1") == [(1, "ann", 100, 1, "a")]
        cur = conn.execute("SELECT owner FROM pa_acct WHERE id = 1 LIMIT 1")
        assert cur.fetchall() == [("ann",)] and cur.statusmessage == "SELECT 1"
        assert conn.execute("SELECT id FROM pa_acct WHERE id = 1.5").fetchall() == []
        # varchar(n) is described as PostgreSQL describes it (OID 1043).
        assert conn.execute("SELECT owner FROM pa_acct WHERE id = 1").description[0].type_code == 1043
        with pytest.raises(errors.InvalidTextRepresentation):
            conn.execute("SELECT id FROM pa_acct WHERE id = %s::text::int", ("1x",))


def test_select_by_text_and_composite_keys(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE pa_kv (tenant text, k bigint, v text, PRIMARY KEY (tenant, k))")
        conn.execute("INSERT INTO pa_kv VALUES ('t1', 1, 'one'), ('t1', 2, 'two'), ('t2', 1, 'uno')")
        for binary in (False, True):
            assert both_ways(conn, "SELECT v FROM pa_kv WHERE k = %s AND tenant = %s", (1, "t2"), binary) == [("uno",)]
            assert both_ways(conn, "SELECT v FROM pa_kv WHERE tenant = %s AND k = %s", ("t1", 2), binary) == [("two",)]
            assert both_ways(conn, "SELECT v FROM pa_kv WHERE tenant = %s AND k = %s", ("T1", 2), binary) == []
        # Part of the key only: many rows, DuckDB's path.
        assert sorted(conn.execute("SELECT v FROM pa_kv WHERE tenant = 't1'").fetchall()) == [("one",), ("two",)]


def test_a_block_reads_its_own_writes_by_key(pg):
    with pg.connect() as conn, pg.connect() as other:
        make_accounts(conn)
        with conn.transaction():
            conn.execute("INSERT INTO pa_acct VALUES (10, 'dee', 1, 1, 'd')")
            conn.execute("UPDATE pa_acct SET balance = balance + 5 WHERE id = 1")
            conn.execute("DELETE FROM pa_acct WHERE id = 2")
            assert conn.execute("SELECT balance FROM pa_acct WHERE id = 10").fetchall() == [(1,)]
            assert conn.execute("SELECT balance FROM pa_acct WHERE id = 1").fetchall() == [(105,)]
            assert conn.execute("SELECT balance FROM pa_acct WHERE id = 2").fetchall() == []
            # Nothing is visible to another session before COMMIT.
            assert other.execute("SELECT balance FROM pa_acct WHERE id = 1").fetchall() == [(100,)]
            assert other.execute("SELECT id FROM pa_acct WHERE id = 10").fetchall() == []
        assert other.execute("SELECT balance FROM pa_acct WHERE id = 1").fetchall() == [(105,)]
        assert other.execute("SELECT id FROM pa_acct WHERE id = 2").fetchall() == []
        with pytest.raises(errors.UndefinedTable):
            with conn.transaction():
                conn.execute("UPDATE pa_acct SET balance = 0 WHERE id = 1")
                conn.execute("SELECT * FROM pa_no_such_table")
        assert conn.execute("SELECT balance FROM pa_acct WHERE id = 1").fetchall() == [(105,)]


def test_update_by_key_follows_postgres_rules(pg):
    with pg.connect() as conn:
        make_accounts(conn)
        cur = conn.execute("UPDATE pa_acct SET balance = balance + %s, note = %s WHERE id = %s", (7, "x", 1))
        assert cur.statusmessage == "UPDATE 1"
        assert conn.execute("UPDATE pa_acct SET balance = 0 WHERE id = 99").statusmessage == "UPDATE 0"
        assert conn.execute("UPDATE pa_acct SET balance = 0 WHERE id = NULL").statusmessage == "UPDATE 0"
        conn.execute("UPDATE pa_acct SET balance = 2 * balance - 1, small = small + 1 WHERE id = 1")
        assert conn.execute("SELECT balance, small, note FROM pa_acct WHERE id = 1").fetchall() == [(213, 2, "x")]
        # NULL in arithmetic is NULL.
        conn.execute("UPDATE pa_acct SET balance = balance + 1 WHERE id = 3")
        assert conn.execute("SELECT balance FROM pa_acct WHERE id = 3").fetchall() == [(None,)]
        # smallint + integer is integer; storing it back checks smallint's range.
        with pytest.raises(errors.NumericValueOutOfRange) as e:
            conn.execute("UPDATE pa_acct SET small = small + 40000 WHERE id = 1")
        assert str(e.value) == "smallint out of range"
        with pytest.raises(errors.NumericValueOutOfRange) as e:
            conn.execute("UPDATE pa_acct SET balance = balance + 9223372036854775807 WHERE id = 1")
        assert str(e.value) == "bigint out of range"
        with pytest.raises(errors.NotNullViolation):
            conn.execute("UPDATE pa_acct SET owner = NULL WHERE id = 1")
        with pytest.raises(errors.StringDataRightTruncation):
            conn.execute("UPDATE pa_acct SET owner = %s WHERE id = 1", ("x" * 13,))
        assert conn.execute("SELECT * FROM pa_acct WHERE id = 1").fetchall() == [(1, "ann", 213, 2, "x")]
        # Changing the key moves the row (DuckDB's path).
        conn.execute("UPDATE pa_acct SET id = 4 WHERE id = 3")
        assert conn.execute("SELECT id FROM pa_acct ORDER BY id").fetchall() == [(1,), (2,), (4,)]


def test_delete_by_key(pg):
    with pg.connect() as conn:
        make_accounts(conn)
        assert conn.execute("DELETE FROM pa_acct WHERE id = %s", (2,)).statusmessage == "DELETE 1"
        assert conn.execute("DELETE FROM pa_acct WHERE id = %s", (2,)).statusmessage == "DELETE 0"
        assert conn.execute("DELETE FROM pa_acct t WHERE t.id = 3").statusmessage == "DELETE 1"
        assert conn.execute("SELECT id FROM pa_acct").fetchall() == [(1,)]


def test_insert_values(pg):
    with pg.connect() as conn:
        make_accounts(conn)
        cur = conn.execute("INSERT INTO pa_acct (owner, id, balance) VALUES (%s, %s, %s), ('eve', 5, DEFAULT)",
                           ("dan", 4, 40))
        assert cur.statusmessage == "INSERT 0 2"
        assert conn.execute("SELECT * FROM pa_acct WHERE id = 4").fetchall() == [(4, "dan", 40, None, None)]
        assert conn.execute("SELECT * FROM pa_acct WHERE id = 5").fetchall() == [(5, "eve", None, None, None)]
        with pytest.raises(errors.UniqueViolation):
            conn.execute("INSERT INTO pa_acct VALUES (5, 'again', 1, 1, 'x')")
        with pytest.raises(errors.NotNullViolation):
            conn.execute("INSERT INTO pa_acct (id) VALUES (6)")
        with pytest.raises(errors.NumericValueOutOfRange):
            conn.execute("INSERT INTO pa_acct (id, owner, small) VALUES (6, 'f', %s)", (70000,))
        assert conn.execute("SELECT count(*) FROM pa_acct").fetchall() == [(5,)]
        # A log table, with the statement's time and columns left out.
        conn.execute("CREATE TABLE pa_hist (tid int, delta int, mtime timestamp, filler char(22))")
        before = conn.execute("SELECT localtimestamp").fetchone()[0]
        conn.execute("INSERT INTO pa_hist (tid, delta, mtime) VALUES (%s, %s, CURRENT_TIMESTAMP)", (1, -5))
        conn.execute("INSERT INTO pa_hist (tid, delta, mtime) VALUES (2, 6, now())")
        after = conn.execute("SELECT localtimestamp").fetchone()[0]
        got = conn.execute("SELECT tid, delta, mtime, filler FROM pa_hist ORDER BY tid").fetchall()
        assert [r[:2] for r in got] == [(1, -5), (2, 6)] and all(r[3] is None for r in got)
        assert all(before <= r[2] <= after for r in got)
        # A column with a DEFAULT left out: DuckDB's path evaluates it.
        conn.execute("CREATE TABLE pa_serial (id serial PRIMARY KEY, v text)")
        conn.execute("INSERT INTO pa_serial (v) VALUES ('a'), ('b')")
        assert conn.execute("SELECT id, v FROM pa_serial WHERE id = 2").fetchall() == [(2, "b")]


def test_concurrent_increments_lose_no_update(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE pa_counter (id int PRIMARY KEY, n bigint)")
        conn.execute("INSERT INTO pa_counter VALUES (1, 0)")
    rounds, failures = 150, []

    def bump(prepare):
        try:
            with pg.connect() as c:
                for _ in range(rounds):
                    with c.transaction():
                        c.execute("UPDATE pa_counter SET n = n + %s WHERE id = %s", (1, 1), prepare=prepare)
        except Exception as e:  # noqa: BLE001 (reported below)
            failures.append(e)

    threads = [threading.Thread(target=bump, args=(p,)) for p in (False, True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with pg.connect() as conn:
        assert conn.execute("SELECT n FROM pa_counter WHERE id = 1").fetchall() == [(3 * rounds,)]


def test_temp_table_hides_the_table_of_its_name(pg):
    with pg.connect() as conn:
        make_accounts(conn)
        conn.execute("CREATE TEMP TABLE pa_acct (id int PRIMARY KEY, owner text)")
        conn.execute("INSERT INTO pa_acct VALUES (1, 'temp')")
        assert conn.execute("SELECT owner FROM pa_acct WHERE id = 1").fetchall() == [("temp",)]
        conn.execute("UPDATE pa_acct SET owner = 'temp2' WHERE id = 1")
        assert conn.execute("SELECT owner FROM pa_acct WHERE id = 1").fetchall() == [("temp2",)]
    with pg.connect() as conn:
        assert conn.execute("SELECT owner FROM pa_acct WHERE id = 1").fetchall() == [("ann",)]


def test_prepared_lookup_after_alter_table(pg):
    with pg.connect() as conn:
        make_accounts(conn)
        assert conn.execute("SELECT owner FROM pa_acct WHERE id = %s", (1,), prepare=True).fetchall() == [("ann",)]
        conn.execute("ALTER TABLE pa_acct ADD COLUMN extra int DEFAULT 5")
        conn.execute("ALTER TABLE pa_acct RENAME COLUMN note TO remark")
        assert conn.execute("SELECT owner FROM pa_acct WHERE id = %s", (1,), prepare=True).fetchall() == [("ann",)]
        assert conn.execute("SELECT extra, remark FROM pa_acct WHERE id = 1").fetchall() == [(5, "a")]
        # The key is gone: the same text now reads by a scan.
        conn.execute("ALTER TABLE pa_acct DROP COLUMN id")
        with pytest.raises(errors.UndefinedColumn):
            conn.execute("SELECT owner FROM pa_acct WHERE id = %s", (1,), prepare=True)


def test_restart_keeps_point_writes(pg):
    pg.require_strata("restarts the server")
    with pg.connect() as conn:
        make_accounts(conn)
        conn.execute("UPDATE pa_acct SET balance = balance + 1 WHERE id = 1")
        conn.execute("DELETE FROM pa_acct WHERE id = 2")
        conn.execute("INSERT INTO pa_acct VALUES (7, 'gil', 7, 7, 'g')")
    pg.restart(hard=True)
    with pg.connect() as conn:
        assert conn.execute("SELECT id, balance FROM pa_acct ORDER BY id").fetchall() == [(1, 101), (3, None),
                                                                                         (7, 7)]
