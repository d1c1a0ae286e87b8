"""pgbench from Debian's postgresql-client-15, unchanged, against the real
binary: `pgbench -i` with its default steps (drop, create WITH (fillfactor),
client-side generate with TRUNCATE and COPY in one block, VACUUM, ALTER
TABLE ADD PRIMARY KEY), then the tpcb-like and select-only scripts with no
failed transaction and balances that add up. Four tpcb-like clients update
the one branch row at once: row locks make them take turns, so no update is
lost. Server-side generation (`-I dtGvp`) works too."""

import re
import subprocess

from pg_wire import pg  # noqa: F401  (fixture)


def pgbench(pg, *args, timeout_s=120):
    r = subprocess.run(["pgbench", *args], env=pg.psql_env(), capture_output=True, text=True, timeout=timeout_s)
    assert r.returncode == 0, f"pgbench {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


def processed_and_failed(out):
    processed = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))
    return processed, failed


def test_pgbench_initializes_and_runs_both_builtin_scripts(pg):
    out = pgbench(pg, "-i", "-s", "1")
    assert "creating primary keys..." in out and "done in" in out
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pgbench_accounts").fetchone() == (100000,)
        assert conn.execute("SELECT count(*), sum(bbalance) FROM pgbench_branches").fetchone() == (1, 0)

    processed, failed = processed_and_failed(pgbench(pg, "-T", "5", "-c", "4"))
    assert processed > 0 and failed == 0
    with pg.connect() as conn:
        sums = conn.execute("SELECT (SELECT sum(abalance) FROM pgbench_accounts), "
                            "(SELECT sum(bbalance) FROM pgbench_branches), "
                            "(SELECT sum(tbalance) FROM pgbench_tellers), "
                            "(SELECT sum(delta) FROM pgbench_history), "
                            "(SELECT count(*) FROM pgbench_history)").fetchone()
        assert sums[0] == sums[1] == sums[2] == sums[3], sums
        assert sums[4] == processed
        # The key ALTER TABLE added is enforced.
        assert conn.execute("INSERT INTO pgbench_branches VALUES (2, 0, '') ON CONFLICT DO NOTHING").rowcount == 1
        assert conn.execute("INSERT INTO pgbench_branches VALUES (2, 0, '') ON CONFLICT DO NOTHING").rowcount == 0

    processed, failed = processed_and_failed(pgbench(pg, "-S", "-T", "3", "-c", "2"))
    assert processed > 0 and failed == 0


def test_pgbench_server_side_generation(pg):
    """`-I dtGvp`: the rows come from INSERT ... SELECT over
    generate_series(...) aliased as a column, as PostgreSQL reads it."""
    out = pgbench(pg, "-i", "-I", "dtGvp", "-s", "1")
    assert "server-side generate" in out
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT aid), min(aid), max(aid), sum(abalance) "
                            "FROM pgbench_accounts").fetchone() == (100000, 100000, 1, 100000, 0)
        assert conn.execute("SELECT count(*), sum(bid) FROM pgbench_tellers").fetchone() == (10, 10)
    processed, failed = processed_and_failed(pgbench(pg, "-T", "2"))
    assert processed > 0 and failed == 0
