"""Statements routed by PostgreSQL's own parse tree (libpg_query): DROP TABLE
of several names (pgbench -i's first statement), VACUUM and ANALYZE,
transaction statements with their options, and PostgreSQL's syntax errors
with a position. Runs against a real PostgreSQL too (STRATA_TEST_PG)."""

import psycopg
import pytest

from pg_wire import pg  # noqa: F401  (fixture)


def sqlstate_of(conn, sql):
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    return info.value.diag.sqlstate, info.value


def exists(conn, table):
    try:
        conn.execute(f"SELECT count(*) FROM {table}")
        return True
    except psycopg.errors.UndefinedTable:
        return False


def test_drop_of_several_missing_tables_with_if_exists_succeeds(pg):
    with pg.connect() as conn:
        cur = conn.execute("drop table if exists pgbench_accounts, pgbench_branches, pgbench_history, "
                           "pgbench_tellers")
        assert cur.statusmessage == "DROP TABLE"


def test_drop_of_several_tables_drops_each_or_none(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE d1 (id bigint PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE d2 (id bigint PRIMARY KEY, v text)")
        state, _ = sqlstate_of(conn, "DROP TABLE d1, d_missing, d2")
        assert state == "42P01"
        assert exists(conn, "d1") and exists(conn, "d2")  # nothing dropped
        conn.execute("DROP TABLE IF EXISTS d1, d_missing, public.d2 CASCADE")
        assert not exists(conn, "d1") and not exists(conn, "d2")
        state, _ = sqlstate_of(conn, "DROP TABLE no_such_schema.t")
        assert state == "3F000"


def test_drop_names_a_temp_table_and_a_stored_one_together(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE stored_one (id bigint PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE scratch (id bigint)")
        conn.execute("INSERT INTO scratch VALUES (1)")
        conn.execute("DROP TABLE scratch, stored_one")
        assert not exists(conn, "stored_one")
        state, _ = sqlstate_of(conn, "SELECT * FROM scratch")
        assert state == "42P01"


def test_vacuum_and_analyze_are_accepted_for_existing_tables(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE maint (id bigint PRIMARY KEY, v text)")
        conn.execute("INSERT INTO maint VALUES (1, 'a'), (2, 'b')")
        assert conn.execute("VACUUM").statusmessage == "VACUUM"
        assert conn.execute("VACUUM ANALYZE maint").statusmessage == "VACUUM"
        assert conn.execute("ANALYZE maint").statusmessage == "ANALYZE"
        assert conn.execute("ANALYZE").statusmessage == "ANALYZE"
        state, _ = sqlstate_of(conn, "ANALYZE no_such_table")
        assert state == "42P01"
        assert conn.execute("SELECT count(*) FROM maint").fetchone() == (2,)
    with pg.connect(autocommit=False) as conn:
        conn.execute("SELECT 1")
        state, _ = sqlstate_of(conn, "VACUUM maint")
        assert state == "25001"


def test_transaction_statements_with_options(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE tx_opts (id bigint PRIMARY KEY)")
        for begin, tag in (("BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN"),
                           ("START TRANSACTION READ WRITE", "START TRANSACTION"),
                           ("BEGIN WORK", "BEGIN"), ("BEGIN TRANSACTION NOT DEFERRABLE", "BEGIN")):
            assert conn.execute(begin).statusmessage == tag
            conn.execute("INSERT INTO tx_opts VALUES (%s)" % (len(begin)))
            assert conn.execute("END").statusmessage == "COMMIT"
        conn.execute("BEGIN")
        conn.execute("INSERT INTO tx_opts VALUES (1000)")
        assert conn.execute("ABORT").statusmessage == "ROLLBACK"
        assert conn.execute("SELECT count(*) FROM tx_opts WHERE id = 1000").fetchone() == (0,)


def test_unsupported_transaction_forms_are_refused_by_name(pg):
    pg.require_strata("PostgreSQL runs these")
    with pg.connect() as conn:
        conn.execute("BEGIN")
        state, err = sqlstate_of(conn, "COMMIT AND CHAIN")
        assert state == "0A000" and "AND CHAIN" in str(err)
        conn.execute("ROLLBACK")
        state, err = sqlstate_of(conn, "PREPARE TRANSACTION 'x'")
        assert state == "0A000" and "two-phase" in str(err)


def test_syntax_errors_are_postgresql_s_with_a_position(pg):
    with pg.connect() as conn:
        state, err = sqlstate_of(conn, "SELECT FROM WHERE")
        assert state == "42601"
        assert err.diag.message_primary == 'syntax error at or near "WHERE"'
        assert err.diag.statement_position == "13"
        state, err = sqlstate_of(conn, "DROP TABLE")
        assert err.diag.message_primary == "syntax error at end of input"


def test_truncate_empties_several_tables_and_they_keep_working(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE tr_a (id bigint PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE tr_b (id bigint, v text)")
        conn.execute("INSERT INTO tr_a VALUES (1, 'x'), (2, 'y')")
        conn.execute("INSERT INTO tr_b VALUES (1, 'x')")
        state, _ = sqlstate_of(conn, "TRUNCATE tr_a, tr_missing")
        assert state == "42P01"
        assert conn.execute("SELECT count(*) FROM tr_a").fetchone() == (2,)
        assert conn.execute("TRUNCATE TABLE ONLY tr_a, public.tr_b RESTART IDENTITY CASCADE").statusmessage == \
            "TRUNCATE TABLE"
        assert conn.execute("SELECT count(*) FROM tr_a").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM tr_b").fetchone() == (0,)
        conn.execute("INSERT INTO tr_a VALUES (1, 'again')")  # the key is free again
        assert conn.execute("SELECT v FROM tr_a").fetchall() == [("again",)]
        conn.execute("CREATE TEMP TABLE tr_temp (id bigint)")
        conn.execute("INSERT INTO tr_temp VALUES (1)")
        conn.execute("TRUNCATE tr_temp")
        assert conn.execute("SELECT count(*) FROM tr_temp").fetchone() == (0,)


def test_truncate_at_the_start_of_a_block_as_pgbench_does(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE tr_load (id bigint PRIMARY KEY, v bigint)")
        conn.execute("INSERT INTO tr_load VALUES (1, 1)")
        conn.execute("BEGIN")
        conn.execute("TRUNCATE tr_load")
        conn.execute("INSERT INTO tr_load VALUES (1, 2), (2, 2)")
        conn.execute("COMMIT")
        assert conn.execute("SELECT id, v FROM tr_load ORDER BY id").fetchall() == [(1, 2), (2, 2)]


def test_truncate_after_writes_in_the_same_block_is_refused(pg):
    pg.require_strata("PostgreSQL truncates the block's own rows too")
    with pg.connect() as conn:
        conn.execute("CREATE TABLE tr_late (id bigint PRIMARY KEY)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO tr_late VALUES (1)")
        state, err = sqlstate_of(conn, "TRUNCATE tr_late")
        assert state == "0A000" and "TRUNCATE" in str(err)
        conn.execute("ROLLBACK")


def test_storage_parameters_of_postgresql_are_accepted_and_checked(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE sp_ok (id int NOT NULL, v int) WITH (fillfactor=100, autovacuum_enabled=false)")
        conn.execute("INSERT INTO sp_ok VALUES (1, 1)")
        state, err = sqlstate_of(conn, "CREATE TABLE sp_bad (id int) WITH (fillfactor=5)")
        assert state == "22023"
        assert err.diag.message_primary == 'value 5 out of bounds for option "fillfactor"'
        state, _ = sqlstate_of(conn, "CREATE TABLE sp_bad (id int) WITH (no_such_option=1)")
        assert state == "22023"


def test_add_primary_key_rewrites_a_table_and_then_enforces_the_key(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE ak (id int NOT NULL, v text) WITH (fillfactor=100)")
        conn.execute("INSERT INTO ak SELECT i, 'v' || i FROM generate_series(1, 3000) AS s(i)")
        assert conn.execute("ALTER TABLE ak ADD PRIMARY KEY (id)").statusmessage == "ALTER TABLE"
        assert conn.execute("SELECT count(*), sum(id) FROM ak").fetchone() == (3000, 3000 * 3001 // 2)
        state, _ = sqlstate_of(conn, "INSERT INTO ak VALUES (7, 'again')")
        assert state == "23505"
        conn.execute("UPDATE ak SET v = 'changed' WHERE id = 7")
        assert conn.execute("SELECT v FROM ak WHERE id = 7").fetchone() == ("changed",)
        state, err = sqlstate_of(conn, "ALTER TABLE ak ADD PRIMARY KEY (v)")
        assert state == "42P16" and "multiple primary keys" in str(err)


def test_add_primary_key_over_duplicates_or_nulls_leaves_the_table_as_it_was(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE akd (id int, v text)")
        conn.execute("INSERT INTO akd VALUES (1, 'a'), (2, 'b'), (2, 'c')")
        state, err = sqlstate_of(conn, "ALTER TABLE akd ADD PRIMARY KEY (id)")
        assert state == "23505"
        assert 'could not create unique index "akd_pkey"' in str(err)
        assert conn.execute("SELECT count(*) FROM akd").fetchone() == (3,)
        conn.execute("INSERT INTO akd VALUES (2, 'd')")  # still a table without a key
        conn.execute("CREATE TABLE akn (id int, v text)")
        conn.execute("INSERT INTO akn VALUES (1, 'a'), (NULL, 'b')")
        state, _ = sqlstate_of(conn, "ALTER TABLE akn ADD PRIMARY KEY (id)")
        assert state == "23502"
        state, _ = sqlstate_of(conn, "ALTER TABLE akn ADD PRIMARY KEY (nope)")
        assert state == "42703"


def test_deallocate_drops_prepared_statements_as_psycopg_expects(pg):
    # psycopg prepares a query on the server after its 5th run, and sends
    # DEALLOCATE ALL after every rollback() and DEALLOCATE name when its cache rotates.
    with pg.connect(autocommit=False) as conn:
        conn.prepared_max = 2
        for _ in range(3):
            for i in range(6):
                assert conn.execute("SELECT %s::int + 1", (i,)).fetchone() == (i + 1,)
                assert conn.execute("SELECT %s::int + 2", (i,)).fetchone() == (i + 2,)
                assert conn.execute("SELECT %s::int + 3", (i,)).fetchone() == (i + 3,)
            conn.rollback()
        assert conn.execute("SELECT %s::int * 2", (21,), prepare=True).fetchone() == (42,)
        conn.rollback()
    with pg.connect() as conn:
        assert conn.execute("DEALLOCATE ALL").statusmessage == "DEALLOCATE ALL"
        conn.execute("SELECT 7", prepare=True)
        conn.execute("PREPARE sql_level AS SELECT 8")
        assert conn.execute("EXECUTE sql_level").fetchone() == (8,)
        assert conn.execute("DEALLOCATE sql_level").statusmessage == "DEALLOCATE"
