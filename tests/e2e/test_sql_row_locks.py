"""Row locks through the real binary: UPDATE, DELETE and ON CONFLICT DO
UPDATE wait for each other and work on the latest committed row (no lost
updates); SELECT ... FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE with
NOWAIT and SKIP LOCKED (a job queue); deadlocks; cancelled waits; more
waiting sessions than worker threads. Runs against a real PostgreSQL too
(STRATA_TEST_PG); the Strata-only refusals skip there."""

import threading
import time

import psycopg
import pytest

from pg_wire import pg  # noqa: F401  (fixture)

WAIT_S = 0.5  # long enough for a blocked statement to show that it waits


def run_in_thread(fn):
    out = {}

    def body():
        try:
            out["value"] = fn()
        except Exception as e:  # noqa: BLE001  (the test inspects it)
            out["error"] = e

    t = threading.Thread(target=body)
    t.start()
    return t, out


def test_an_update_waits_for_the_row_lock_and_applies_to_the_new_row(pg):
    with pg.connect() as a, pg.connect() as b:
        a.execute("CREATE TABLE rl1 (id bigint PRIMARY KEY, v bigint)")
        a.execute("INSERT INTO rl1 VALUES (1, 0), (2, 0)")
        a.execute("BEGIN")
        a.execute("UPDATE rl1 SET v = v + 1 WHERE id = 1")
        t, out = run_in_thread(lambda: b.execute("UPDATE rl1 SET v = v + 10 WHERE id = 1").rowcount)
        time.sleep(WAIT_S)
        assert t.is_alive(), "the second UPDATE did not wait for the row lock"
        with pg.connect() as c:  # other rows are not locked
            assert c.execute("UPDATE rl1 SET v = 5 WHERE id = 2").rowcount == 1
        a.execute("COMMIT")
        t.join(10)
        assert out.get("value") == 1, out
        assert a.execute("SELECT v FROM rl1 ORDER BY id").fetchall() == [(11,), (5,)]


def test_a_row_deleted_while_waiting_is_not_updated(pg):
    with pg.connect() as a, pg.connect() as b:
        a.execute("CREATE TABLE rl2 (id bigint PRIMARY KEY, v bigint)")
        a.execute("INSERT INTO rl2 VALUES (1, 0)")
        a.execute("BEGIN")
        a.execute("DELETE FROM rl2 WHERE id = 1")
        t, out = run_in_thread(lambda: b.execute("UPDATE rl2 SET v = 7 WHERE id = 1").rowcount)
        time.sleep(WAIT_S)
        assert t.is_alive()
        a.execute("COMMIT")
        t.join(10)
        assert out.get("value") == 0, out
        assert a.execute("SELECT count(*) FROM rl2").fetchone() == (0,)


def test_concurrent_increments_and_upserts_lose_nothing(pg):
    clients, rounds = 4, 25
    with pg.connect() as conn:
        conn.execute("CREATE TABLE rl3 (id bigint PRIMARY KEY, n bigint)")
        conn.execute("INSERT INTO rl3 VALUES (1, 0)")

    def worker():
        with pg.connect() as c:
            for _ in range(rounds):
                c.execute("UPDATE rl3 SET n = n + 1 WHERE id = 1")
                with c.transaction():  # read-modify-write under FOR UPDATE
                    (n,) = c.execute("SELECT n FROM rl3 WHERE id = 1 FOR UPDATE").fetchone()
                    c.execute("UPDATE rl3 SET n = %s WHERE id = 1", (n + 1,))
                c.execute("INSERT INTO rl3 VALUES (2, 1) ON CONFLICT (id) DO UPDATE SET n = rl3.n + 1")

    threads = [run_in_thread(worker) for _ in range(clients)]
    for t, out in threads:
        t.join(120)
        assert "error" not in out, out
    with pg.connect() as conn:
        assert conn.execute("SELECT id, n FROM rl3 ORDER BY id").fetchall() == [
            (1, 2 * clients * rounds), (2, clients * rounds)]


def test_skip_locked_serves_a_job_queue_and_nowait_refuses(pg):
    jobs, workers = 30, 3
    with pg.connect() as conn:
        conn.execute("CREATE TABLE rl4 (id bigint PRIMARY KEY, done boolean, worker int)")
        conn.execute(f"INSERT INTO rl4 SELECT i, false, NULL FROM generate_series(1, {jobs}) AS g(i)")
    with pg.connect() as a, pg.connect() as b:
        a.execute("BEGIN")
        b.execute("BEGIN")
        take = "SELECT id FROM rl4 WHERE NOT done ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
        assert a.execute(take).fetchall() == [(1,)]
        assert b.execute(take).fetchall() == [(2,)]
        with pytest.raises(psycopg.errors.LockNotAvailable) as e:
            b.execute("SELECT * FROM rl4 WHERE id = 1 FOR UPDATE NOWAIT")
        assert 'could not obtain lock on row in relation "rl4"' in str(e.value)
        a.execute("ROLLBACK")
        b.execute("ROLLBACK")

    done_by = {}

    def worker(w):
        with pg.connect() as c:
            while True:
                with c.transaction():
                    row = c.execute(take).fetchone()
                    if row is None:
                        return
                    c.execute("UPDATE rl4 SET done = true, worker = %s WHERE id = %s", (w, row[0]))
                    done_by.setdefault(row[0], []).append(w)

    threads = [run_in_thread(lambda w=w: worker(w)) for w in range(workers)]
    for t, out in threads:
        t.join(120)
        assert "error" not in out, out
    assert sorted(done_by) == list(range(1, jobs + 1))
    assert all(len(ws) == 1 for ws in done_by.values()), done_by
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM rl4 WHERE done").fetchone() == (jobs,)


def test_lock_strengths_conflict_as_in_postgresql(pg):
    with pg.connect() as a, pg.connect() as b:
        a.execute("CREATE TABLE rl5 (id bigint PRIMARY KEY, v text)")
        a.execute("INSERT INTO rl5 VALUES (1, 'x')")
        a.execute("BEGIN")
        assert a.execute("SELECT v FROM rl5 WHERE id = 1 FOR SHARE").fetchall() == [("x",)]
        b.execute("BEGIN")
        assert b.execute("SELECT v FROM rl5 WHERE id = 1 FOR SHARE NOWAIT").fetchall() == [("x",)]
        assert b.execute("SELECT v FROM rl5 WHERE id = 1 FOR KEY SHARE NOWAIT").fetchall() == [("x",)]
        for clause in ("FOR UPDATE", "FOR NO KEY UPDATE"):
            b.execute("SAVEPOINT s")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                b.execute(f"SELECT v FROM rl5 WHERE id = 1 {clause} NOWAIT")
            b.execute("ROLLBACK TO s")
        a.execute("ROLLBACK")
        b.execute("ROLLBACK")
        a.execute("BEGIN")
        a.execute("SELECT v FROM rl5 WHERE id = 1 FOR NO KEY UPDATE")
        b.execute("BEGIN")
        assert b.execute("SELECT v FROM rl5 WHERE id = 1 FOR KEY SHARE NOWAIT").fetchall() == [("x",)]
        a.execute("ROLLBACK")
        b.execute("ROLLBACK")


def test_a_deadlock_fails_one_transaction_and_the_other_goes_on(pg):
    with pg.connect() as a, pg.connect() as b:
        a.execute("CREATE TABLE rl6 (id bigint PRIMARY KEY, v bigint)")
        a.execute("INSERT INTO rl6 VALUES (1, 0), (2, 0)")
        a.execute("BEGIN")
        b.execute("BEGIN")
        a.execute("UPDATE rl6 SET v = 1 WHERE id = 1")
        b.execute("UPDATE rl6 SET v = 2 WHERE id = 2")
        def a_second_update():
            try:
                a.execute("UPDATE rl6 SET v = 1 WHERE id = 2")
            except psycopg.errors.DeadlockDetected:
                a.execute("ROLLBACK")  # lets the other go on
                raise

        t, out = run_in_thread(a_second_update)
        time.sleep(WAIT_S)
        b_error = None
        try:
            b.execute("UPDATE rl6 SET v = 2 WHERE id = 1")
        except psycopg.errors.DeadlockDetected as e:
            b_error = e
            b.execute("ROLLBACK")
        t.join(10)
        a_error = out.get("error")
        failed = [e for e in (a_error, b_error) if e is not None]
        assert len(failed) == 1 and isinstance(failed[0], psycopg.errors.DeadlockDetected), (a_error, b_error)
        if b_error is None:
            b.execute("COMMIT")
            assert a.execute("SELECT v FROM rl6 ORDER BY id").fetchall() == [(2,), (2,)]
        else:
            a.execute("COMMIT")
            assert a.execute("SELECT v FROM rl6 ORDER BY id").fetchall() == [(1,), (1,)]


def test_statement_timeout_ends_a_lock_wait(pg):
    with pg.connect() as a, pg.connect() as b:
        a.execute("CREATE TABLE rl7 (id bigint PRIMARY KEY, v bigint)")
        a.execute("INSERT INTO rl7 VALUES (1, 0)")
        a.execute("BEGIN")
        a.execute("SELECT * FROM rl7 FOR UPDATE")
        b.execute("SET statement_timeout = '300ms'")
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            b.execute("UPDATE rl7 SET v = 1 WHERE id = 1")
        assert time.monotonic() - started < 5
        a.execute("ROLLBACK")
        b.execute("SET statement_timeout = 0")
        assert b.execute("UPDATE rl7 SET v = 1 WHERE id = 1").rowcount == 1


def test_limit_offset_apply_after_locking_and_clause_errors(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE rl8 (id bigint PRIMARY KEY, g int)")
        conn.execute("INSERT INTO rl8 SELECT i, i % 2 FROM generate_series(1, 5) AS g(i)")
        assert conn.execute("SELECT id FROM rl8 ORDER BY id LIMIT 2 OFFSET 1 FOR UPDATE").fetchall() == [(2,), (3,)]
        assert conn.execute("SELECT id FROM rl8 AS r WHERE g = %s ORDER BY id DESC LIMIT %s FOR UPDATE OF r",
                            (1, 2)).fetchall() == [(5,), (3,)]
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            conn.execute("SELECT g, count(*) FROM rl8 GROUP BY g FOR UPDATE")
        assert "FOR UPDATE is not allowed with GROUP BY clause" in str(e.value)
        with pytest.raises(psycopg.errors.UndefinedTable) as e:
            conn.execute("SELECT id FROM rl8 AS r FOR SHARE OF rl8")
        assert 'relation "rl8" in FOR SHARE clause not found in FROM clause' in str(e.value)


def test_more_waiting_sessions_than_worker_threads(pg):
    waiters = 12  # more than the server's default --pg-worker-threads (8)
    with pg.connect() as holder:
        holder.execute("CREATE TABLE rl9 (id bigint PRIMARY KEY, n bigint)")
        holder.execute("INSERT INTO rl9 VALUES (1, 0)")
        holder.execute("BEGIN")
        holder.execute("UPDATE rl9 SET n = n + 1 WHERE id = 1")

        def bump():
            with pg.connect() as c:
                return c.execute("UPDATE rl9 SET n = n + 1 WHERE id = 1").rowcount

        threads = [run_in_thread(bump) for _ in range(waiters)]
        time.sleep(WAIT_S)
        assert all(t.is_alive() for t, _ in threads)
        holder.execute("COMMIT")  # needs a worker thread while all the others wait
        for t, out in threads:
            t.join(60)
            assert out.get("value") == 1, out
        assert holder.execute("SELECT n FROM rl9").fetchone() == (waiters + 1,)


def test_strata_refuses_what_it_cannot_lock(pg):
    pg.require_strata("log tables and the join refusal are Strata's")
    with pg.connect() as conn:
        conn.execute("CREATE TABLE rl10 (id bigint, v text)")
        conn.execute("CREATE TABLE rl11 (id bigint PRIMARY KEY)")
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            conn.execute("SELECT * FROM rl10 FOR UPDATE")
        assert "log table" in str(e.value)
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            conn.execute("SELECT * FROM rl11 a JOIN rl11 b USING (id) FOR UPDATE")
        assert "one table only" in str(e.value)
        conn.execute("CREATE TEMP TABLE rl_temp (id int)")
        conn.execute("INSERT INTO rl_temp VALUES (1)")
        assert conn.execute("SELECT id FROM rl_temp FOR UPDATE").fetchall() == [(1,)]
