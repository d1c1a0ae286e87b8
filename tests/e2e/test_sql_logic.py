"""The SQL semantics suite: every tests/sql/*.test file, run by
tests/sql/run_sqllogic.py against a fresh strata server (one per file, so
files are isolated), through the simple and the extended protocol. A file
fails with the runner's report (file:line, SQL, expected, got).

With STRATA_TEST_PG=HOST:PORT the files run against a real PostgreSQL
instead (engine "postgres": `onlyif strata` records and `require strata`
files are skipped), which is how the expected answers were checked.
"""

import io
import sys
from pathlib import Path

import pytest

from pg_wire import pg  # noqa: F401  (fixture)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
sys.path.insert(0, str(SQL_DIR))
import run_sqllogic  # noqa: E402

TEST_FILES = sorted(SQL_DIR.glob("*.test"))


def run_file(target, path):
    out = io.StringIO()
    runner = run_sqllogic.Runner(target.conninfo(), target.engine, out)
    try:
        _, failed, _ = runner.run_file(path)
    finally:
        runner.close()
    return failed, out.getvalue()


@pytest.mark.timeout_s(240)
@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_sql_file(pg, path):
    failed, report = run_file(pg, path)
    print(report)
    assert failed == 0, f"{path.name}: {failed} records failed\n{report}"
    assert pg.alive(), "the server died while running the file"


def test_the_suite_is_not_empty():
    assert len(TEST_FILES) >= 8, [p.name for p in TEST_FILES]


def test_runner_reports_a_wrong_answer(pg, tmp_path):
    """The runner must be able to fail: a wrong row, a wrong SQLSTATE, an
    error where success was expected and a success where an error was."""
    bad = tmp_path / "bad.test"
    bad.write_text("""
query I
SELECT 1
----
2

statement error 42P01
SELECT 1

statement ok
SELECT * FROM no_such_table_here

query II rowsort
SELECT 1, 2
----
1	2
3	4

query T
SELECT 'x'
----
x
""")
    failed, report = run_file(pg, bad)
    assert failed == 4, report
    assert "bad.test:2" in report and "expected '2', got '1'" in report, report
    assert "bad.test:7" in report and "succeeded but an error was expected" in report, report
    assert "bad.test:10" in report and "42P01" in report, report
    assert "bad.test:13" in report, report


def test_runner_parses_every_file():
    for path in TEST_FILES:
        items, _ = run_sqllogic.parse_file(path.read_text(), str(path))
        assert items, f"{path.name} has no records"
