#!/usr/bin/python3
"""Strata's sqllogictest-style runner: runs .test files against a PostgreSQL-wire
server (Strata, or a real PostgreSQL to check that the expected answers are
PostgreSQL's) through libpq (psycopg's pgconn), autocommit.

File format (one record per blank-line-separated block; '#' starts a comment line):

    statement ok
    SQL...

    statement error [SQLSTATE] [regex]      the statement must fail; with a
    SQL...                                   five-character code the SQLSTATE
                                             must match, a regex must match the
                                             message (re.search)

    query <types> [nosort|rowsort|valuesort]
    SQL...
    ----
    expected rows, values separated by a tab or runs of spaces

  - <types> has one letter per column: I integer and T text compare the
    server's text exactly; R compares as a float (relative error 1e-9).
    NULL is written NULL, the empty string (empty).
  - `skipif ENGINE` / `onlyif ENGINE` before a record (engines: strata,
    postgres) skip it on that engine / everywhere else.
  - `connection NAME` before a record runs it on a named connection, opened
    on first use (the default connection is `default`).
  - `pushdown both` (a line of its own) makes every later query run twice,
    after `SET strata.pushdown = on` and after `... = off`, and both answers
    must be the expected one; `pushdown default` ends that.
  - `require strata` anywhere in a file skips the whole file on other engines.
  - `halt` stops the file.

Every query is sent twice: as a simple Query and through the extended
protocol (Parse/Bind/Execute, text results), and both must match.
A mismatch prints file:line, the SQL, what was expected and what came back.

    usage: run_sqllogic.py [--host H] [--port P] [--user U] [--dbname D]
                           [--engine strata|postgres] [--fresh-db] FILE.test...
Exits 0 when every record of every file passed.
"""

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import pq

FLOAT_REL_TOLERANCE = 1e-9
ENGINES = ("strata", "postgres")


@dataclass
class Record:
    kind: str                 # "statement" or "query"
    line: int
    sql: str
    expect_ok: bool = True
    error_code: str = ""
    error_regex: str = ""
    types: str = ""
    sort: str = "nosort"
    expected: list = field(default_factory=list)  # rows of strings
    skipif: list = field(default_factory=list)
    onlyif: list = field(default_factory=list)
    connection: str = "default"
    result_lines: tuple = (0, 0)  # [first, end) line indexes of the expected rows


@dataclass
class Directive:
    kind: str   # "pushdown" or "halt"
    line: int
    value: str = ""


class ParseError(Exception):
    pass


def split_values(line, columns):
    """A row of expected values: a single-column row is the whole line (it may
    hold spaces); otherwise tab-separated if there is a tab, else space-separated."""
    if columns == 1:
        return [line.strip()]
    if "\t" in line:
        return [v.strip() for v in line.split("\t")]
    return line.split()


def parse_file(text, path="<text>"):
    """Records and directives in file order; raises ParseError on a malformed file."""
    lines = text.split("\n")
    items = []
    i = 0
    pending_skip, pending_only, pending_conn = [], [], "default"
    requires = set()
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        lineno = i + 1
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        words = stripped.split()
        head = words[0]
        if head == "skipif":
            pending_skip.append(words[1])
            i += 1
            continue
        if head == "onlyif":
            pending_only.append(words[1])
            i += 1
            continue
        if head == "connection":
            pending_conn = words[1]
            i += 1
            continue
        if head == "require":
            requires.add(words[1])
            i += 1
            continue
        if head == "pushdown":
            if len(words) != 2 or words[1] not in ("both", "default"):
                raise ParseError(f"{path}:{lineno}: expected `pushdown both` or `pushdown default`")
            items.append(Directive("pushdown", lineno, words[1]))
            i += 1
            continue
        if head == "halt":
            items.append(Directive("halt", lineno))
            i += 1
            continue
        if head not in ("statement", "query"):
            raise ParseError(f"{path}:{lineno}: unknown record type {head!r}")
        rec = Record(kind=head, line=lineno, sql="", skipif=pending_skip, onlyif=pending_only,
                     connection=pending_conn)
        pending_skip, pending_only, pending_conn = [], [], "default"
        if head == "statement":
            if len(words) < 2 or words[1] not in ("ok", "error"):
                raise ParseError(f"{path}:{lineno}: expected `statement ok` or `statement error`")
            rec.expect_ok = words[1] == "ok"
            rest = stripped.split(None, 2)[2] if len(words) > 2 else ""
            if not rec.expect_ok and rest:
                first = rest.split(None, 1)
                if re.fullmatch(r"[0-9A-Z]{5}", first[0]):
                    rec.error_code = first[0]
                    rec.error_regex = first[1] if len(first) > 1 else ""
                else:
                    rec.error_regex = rest
        else:
            if len(words) < 2 or not re.fullmatch(r"[ITRB]+", words[1]):
                raise ParseError(f"{path}:{lineno}: expected `query <types>` with types from I, T, R, B")
            rec.types = words[1]
            rec.sort = words[2] if len(words) > 2 else "nosort"
            if rec.sort not in ("nosort", "rowsort", "valuesort"):
                raise ParseError(f"{path}:{lineno}: unknown sort mode {rec.sort!r}")
        i += 1
        sql_lines = []
        while i < len(lines) and lines[i].strip() and lines[i].strip() != "----":
            sql_lines.append(lines[i])
            i += 1
        rec.sql = "\n".join(sql_lines).strip()
        if not rec.sql:
            raise ParseError(f"{path}:{lineno}: record without SQL")
        if head == "query":
            if i >= len(lines) or lines[i].strip() != "----":
                raise ParseError(f"{path}:{lineno}: query without a ---- line")
            i += 1
            first = i
            while i < len(lines) and lines[i].strip():
                row = split_values(lines[i], 0 if rec.sort == "valuesort" else len(rec.types))
                if rec.sort != "valuesort" and len(row) != len(rec.types):
                    raise ParseError(f"{path}:{i + 1}: expected {len(rec.types)} values, found {len(row)}")
                rec.expected.append(row)
                i += 1
            rec.result_lines = (first, i)
        items.append(rec)
    return items, requires


# --- execution ---------------------------------------------------------------

class Outcome:
    def __init__(self, ok, rows=None, sqlstate="", message="", ncols=0):
        self.ok, self.rows, self.sqlstate, self.message, self.ncols = ok, rows or [], sqlstate, message, ncols

    def describe(self):
        if self.ok:
            return "\n".join("\t".join(r) for r in self.rows) or "(no rows)"
        return f"ERROR {self.sqlstate}: {self.message}"


def cell_text(value):
    if value is None:
        return "NULL"
    text = value.decode("utf-8", errors="replace")
    return text if text != "" else "(empty)"


def outcome_of(res):
    status = res.status
    if status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE):
        rows = [[cell_text(res.get_value(r, c)) for c in range(res.nfields)] for r in range(res.ntuples)]
        return Outcome(True, rows, ncols=res.nfields)
    if status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY):
        return Outcome(True)
    sqlstate = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or res.error_message or b"").decode(
        errors="replace").strip()
    return Outcome(False, sqlstate=sqlstate, message=message)


def run_simple(pgconn, sql):
    """A simple Query; with several statements, libpq keeps the last result
    (or the first error)."""
    try:
        return outcome_of(pgconn.exec_(sql.encode()))
    except psycopg.OperationalError as e:
        return Outcome(False, sqlstate="08000", message=f"connection failed: {e}")


def run_extended(pgconn, sql):
    try:
        return outcome_of(pgconn.exec_params(sql.encode(), [], result_format=0))
    except psycopg.OperationalError as e:
        return Outcome(False, sqlstate="08000", message=f"connection failed: {e}")


def normalize_float(text):
    try:
        return float(text)
    except ValueError:
        return None


def values_equal(kind, expected, got):
    if expected == got:
        return True
    if kind == "R":
        e, g = normalize_float(expected), normalize_float(got)
        if e is None or g is None:
            return False
        if e == g:
            return True
        return abs(e - g) <= FLOAT_REL_TOLERANCE * max(abs(e), abs(g))
    return False


def sorted_rows(rows, mode):
    if mode == "rowsort":
        return sorted(rows)
    if mode == "valuesort":
        return [[v] for v in sorted(v for r in rows for v in r)]
    return rows


def compare_query(rec, got):
    """None when `got` matches the record, else a reason."""
    if not got.ok:
        return "the query failed"
    if got.ncols != len(rec.types):
        return f"expected {len(rec.types)} columns, got {got.ncols}"
    expected = sorted_rows(rec.expected, rec.sort)
    actual = sorted_rows(got.rows, rec.sort)
    if len(expected) != len(actual):
        return f"expected {len(expected)} rows, got {len(actual)}"
    for r, (erow, arow) in enumerate(zip(expected, actual)):
        kinds = rec.types if rec.sort != "valuesort" else "T"
        if len(erow) != len(arow):
            return f"row {r + 1}: expected {len(erow)} values, got {len(arow)}"
        for c, (e, a) in enumerate(zip(erow, arow)):
            kind = kinds[c] if c < len(kinds) else "T"
            if rec.sort == "valuesort":
                kind = "R" if "R" in rec.types else "T"
            if not values_equal(kind, e, a):
                return f"row {r + 1} column {c + 1}: expected {e!r}, got {a!r}"
    return None


def compare_statement(rec, got):
    if rec.expect_ok:
        return None if got.ok else "the statement failed"
    if got.ok:
        return "the statement succeeded but an error was expected"
    if rec.error_code and got.sqlstate != rec.error_code:
        return f"expected SQLSTATE {rec.error_code}, got {got.sqlstate}"
    if rec.error_regex and not re.search(rec.error_regex, got.message, re.IGNORECASE):
        return f"the error message does not match /{rec.error_regex}/"
    return None


class Runner:
    def __init__(self, conninfo, engine, out=sys.stdout):
        self.conninfo, self.engine, self.out = conninfo, engine, out
        self.connections = {}
        self.failures = 0
        self.actual = {}  # record line -> rows the server returned (for --rewrite)

    def connection(self, name):
        conn = self.connections.get(name)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.conninfo, autocommit=True)
            self.connections[name] = conn
        return conn.pgconn

    def close(self):
        for conn in self.connections.values():
            try:
                conn.close()
            except Exception:
                pass
        self.connections.clear()

    def applies(self, rec):
        if self.engine in rec.skipif:
            return False
        if rec.onlyif and self.engine not in rec.onlyif:
            return False
        return True

    def fail(self, path, rec, reason, expected, got, how):
        self.failures += 1
        print(f"FAIL {path}:{rec.line} ({how}): {reason}", file=self.out)
        print("  SQL:\n    " + rec.sql.replace("\n", "\n    "), file=self.out)
        print("  expected:\n    " + expected.replace("\n", "\n    "), file=self.out)
        print("  got:\n    " + got.describe().replace("\n", "\n    "), file=self.out)

    def run_record(self, path, rec, pushdown_both):
        pgconn = self.connection(rec.connection)
        if rec.kind == "statement":
            got = run_simple(pgconn, rec.sql)
            reason = compare_statement(rec, got)
            if reason:
                want = "ok" if rec.expect_ok else f"error {rec.error_code} {rec.error_regex}".strip()
                self.fail(path, rec, reason, want, got, "simple query")
                return False
            return True
        settings = ["on", "off"] if pushdown_both else [None]
        ok = True
        for setting in settings:
            if setting is not None:
                res = run_simple(pgconn, f"SET strata.pushdown = {setting}")
                if not res.ok:
                    self.fail(path, rec, "SET strata.pushdown failed", "ok", res, f"pushdown {setting}")
                    return False
            for how, run in (("simple query", run_simple), ("extended protocol", run_extended)):
                got = run(pgconn, rec.sql)
                if got.ok and how == "simple query":
                    self.actual[rec.line] = (rec, got.rows)
                reason = compare_query(rec, got)
                if reason:
                    label = how if setting is None else f"{how}, pushdown {setting}"
                    expected = "\n".join("\t".join(r) for r in rec.expected) or "(no rows)"
                    self.fail(path, rec, reason, expected, got, label)
                    ok = False
                    break
            if not ok:
                break
        if pushdown_both:
            run_simple(pgconn, "SET strata.pushdown = on")
        return ok

    def run_file(self, path):
        """Runs one file; returns (passed, failed, skipped) record counts."""
        text = Path(path).read_text()
        items, requires = parse_file(text, str(path))
        if requires and self.engine not in requires:
            print(f"SKIP {path}: requires {', '.join(sorted(requires))}", file=self.out)
            return 0, 0, len(items)
        failures_before = self.failures
        passed = skipped = 0
        pushdown_both = False
        for item in items:
            if isinstance(item, Directive):
                if item.kind == "halt":
                    break
                pushdown_both = item.value == "both"
                continue
            if not self.applies(item):
                skipped += 1
                continue
            if self.run_record(path, item, pushdown_both):
                passed += 1
        failed = self.failures - failures_before
        print(f"{'ok  ' if not failed else 'FAIL'} {path}: {passed} passed, {failed} failed, {skipped} skipped",
              file=self.out)
        return passed, failed, skipped


def rewrite_file(path, actual):
    """Replaces the expected rows of every query that ran with what the server
    returned (to record a reference engine's answers; review the diff)."""
    lines = Path(path).read_text().split("\n")
    for rec, rows in sorted(actual.values(), key=lambda x: -x[0].line):
        first, end = rec.result_lines
        if rec.sort == "valuesort":
            new = [v for r in rows for v in r]
        else:
            new = ["\t".join(r) for r in rows]
        lines[first:end] = new
    Path(path).write_text("\n".join(lines))


def fresh_database(args, name):
    """Drops and creates database `name` (for a real PostgreSQL, so each file
    starts empty) and returns its conninfo."""
    admin = psycopg.connect(conninfo(args, args.dbname), autocommit=True)
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return conninfo(args, name)


def conninfo(args, dbname):
    parts = [f"host={args.host}", f"port={args.port}", f"user={args.user}", f"dbname={dbname}"]
    if args.engine == "postgres":
        parts.append("options='-c TimeZone=UTC'")
    return " ".join(parts)


def run_files(args, files, out=sys.stdout):
    total_failed = 0
    for index, path in enumerate(files):
        info = conninfo(args, args.dbname)
        if args.fresh_db:
            info = fresh_database(args, f"sqllogic_{index}")
        runner = Runner(info, args.engine, out)
        try:
            _, failed, _ = runner.run_file(path)
            if args.rewrite:
                rewrite_file(path, runner.actual)
        except ParseError as e:
            print(f"FAIL {e}", file=out)
            failed = 1
        finally:
            runner.close()
        total_failed += failed
    return total_failed


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5433)
    ap.add_argument("--user", default="strata")
    ap.add_argument("--dbname", default="strata")
    ap.add_argument("--engine", choices=ENGINES, default="strata")
    ap.add_argument("--fresh-db", action="store_true",
                    help="run each file in a new database (real PostgreSQL only)")
    ap.add_argument("--rewrite", action="store_true",
                    help="write the server's answers into the files as the expected rows")
    ap.add_argument("files", nargs="+")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    failed = run_files(args, args.files)
    print(f"{'all files passed' if not failed else f'{failed} records failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
