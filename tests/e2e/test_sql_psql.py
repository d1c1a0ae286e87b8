"""psql against the real binary, as a new user would use it: statements with
-c (several in one -c, several -c), scripts on stdin, \\copy in and out in
text and CSV, and errors that carry their SQLSTATE (VERBOSITY verbose).
The \\d family lives in test_sql_psql_meta.py."""

import csv

from pg_wire import pg  # noqa: F401  (fixture)


def rows_of(stdout):
    """psql -At output as a list of lists (| separated)."""
    return [line.split("|") for line in stdout.splitlines() if line]


def test_create_insert_select(pg):
    pg.psql("-c", "CREATE TABLE people (id integer PRIMARY KEY, name text, born date)")
    out = pg.psql("-c", "INSERT INTO people VALUES (1, 'Ada', '1815-12-10'), (2, 'Alan', '1912-06-23')")
    assert out.stdout.strip() == "INSERT 0 2"
    out = pg.psql("-At", "-c", "SELECT id, name, born FROM people ORDER BY id")
    assert rows_of(out.stdout) == [["1", "Ada", "1815-12-10"], ["2", "Alan", "1912-06-23"]]
    # The aligned default format, with its header and row count footer.
    out = pg.psql("-c", "SELECT name FROM people WHERE id = 2")
    lines = [line.strip() for line in out.stdout.splitlines()]
    assert lines[0] == "name" and lines[2] == "Alan" and lines[3] == "(1 row)", out.stdout


def test_several_statements_in_one_c(pg):
    out = pg.psql("-At", "-c",
                  "CREATE TABLE m (k integer); INSERT INTO m VALUES (1); INSERT INTO m VALUES (2), (3); "
                  "SELECT sum(k) FROM m")
    # psql 15 prints every result of a multi-statement -c.
    assert out.stdout.splitlines() == ["CREATE TABLE", "INSERT 0 1", "INSERT 0 2", "6"], out.stdout
    out = pg.psql("-At", "-c", "INSERT INTO m VALUES (4)", "-c", "SELECT count(*) FROM m", "-c", "SELECT max(k) FROM m")
    assert out.stdout.split() == ["INSERT", "0", "1", "4", "4"], out.stdout


def test_script_on_stdin_with_variables(pg):
    script = """
\\set n 5
CREATE TABLE s (i integer, t text);
INSERT INTO s VALUES (:n, 'five');
SELECT i, t FROM s WHERE i = :n;
"""
    out = pg.psql("-At", "-v", "ON_ERROR_STOP=1", input=script)
    assert "5|five" in out.stdout.splitlines(), out.stdout


def test_error_output_has_sqlstate_and_exit_code(pg):
    script = "\\set VERBOSITY verbose\nSELECT * FROM no_such_table;\n"
    out = pg.psql("-v", "ON_ERROR_STOP=1", input=script, check=False)
    assert out.returncode == 3, (out.returncode, out.stderr)
    assert "ERROR:  42P01:" in out.stderr, out.stderr
    assert "no_such_table" in out.stderr, out.stderr

    pg.psql("-c", "CREATE TABLE u (id integer PRIMARY KEY)", "-c", "INSERT INTO u VALUES (1)")
    out = pg.psql("-c", "\\set VERBOSITY verbose", "-c", "INSERT INTO u VALUES (1)", check=False)
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "ERROR:  23505:" in out.stderr, out.stderr

    # Without ON_ERROR_STOP the script goes on after the error.
    out = pg.psql("-At", input="SELECT * FROM still_no_such_table;\nSELECT 'after';\n", check=False)
    assert "after" in out.stdout, out.stdout
    assert "ERROR" in out.stderr, out.stderr


def test_syntax_error_position(pg):
    out = pg.psql("-c", "\\set VERBOSITY verbose", "-c", "SELEC 1", check=False)
    assert out.returncode == 1
    assert "ERROR:  42601:" in out.stderr, out.stderr


def write_text_copy(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write("\t".join("\\N" if v is None else v for v in r) + "\n")


def test_copy_text_in_and_out(pg, tmp_path):
    pg.psql("-c", "CREATE TABLE ct (id bigint PRIMARY KEY, name text, amount numeric(10,2), seen timestamp, ok boolean)")
    rows = [[str(i), f"name {i}" if i % 7 else None, f"{i}.{i % 100:02d}", f"2024-01-01 00:{i % 60:02d}:00",
             "t" if i % 2 else "f"] for i in range(1, 5001)]
    rows[3][1] = "tab\\there, newline\\nthere, backslash \\\\"  # escapes in COPY text
    src = tmp_path / "in.tsv"
    write_text_copy(src, rows)
    out = pg.psql("-c", f"\\copy ct FROM '{src}'")
    assert out.stdout.strip() == "COPY 5000", out.stdout
    out = pg.psql("-At", "-c", "SELECT count(*), sum(id), sum(amount), count(name) FROM ct")
    named = sum(1 for r in rows if r[1] is not None)
    assert rows_of(out.stdout) == [["5000", "12502500", _sum_money(rows), str(named)]], out.stdout
    out = pg.psql("-At", "-c", "SELECT length(name), position(chr(9) in name), position(chr(10) in name) FROM ct WHERE id = 4")
    assert rows_of(out.stdout) == [["36", "4", "18"]], out.stdout

    dst = tmp_path / "out.tsv"
    out = pg.psql("-c", f"\\copy (SELECT * FROM ct ORDER BY id) TO '{dst}'")
    assert out.stdout.strip() == "COPY 5000", out.stdout
    assert dst.read_text() == src.read_text()

    dst2 = tmp_path / "out2.tsv"
    pg.psql("-c", f"\\copy ct TO '{dst2}'")
    assert sorted(dst2.read_text().splitlines()) == sorted(src.read_text().splitlines())


def _sum_money(rows):
    cents = sum(int(r[2].split(".")[0]) * 100 + int(r[2].split(".")[1]) for r in rows)
    return f"{cents // 100}.{cents % 100:02d}"


def test_copy_csv_in_and_out(pg, tmp_path):
    pg.psql("-c", "CREATE TABLE cc (id integer, label text, price double precision, day date, doc json)")
    src = tmp_path / "in.csv"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "price", "day", "doc"])
        w.writerow([1, "plain", 1.5, "2024-02-29", '{"a": 1}'])
        w.writerow([2, 'has "quotes", commas', -0.25, "1999-12-31", "[1, 2]"])
        w.writerow([3, "multi\nline", 1e100, "", ""])
        w.writerow([4, "", 0, "2000-01-01", "null"])
    out = pg.psql("-c", f"\\copy cc FROM '{src}' WITH (FORMAT csv, HEADER true)")
    assert out.stdout.strip() == "COPY 4", out.stdout
    out = pg.psql("-At", "-c",
                  "SELECT id, replace(label, chr(10), '<NL>'), price, day, doc, label IS NULL FROM cc ORDER BY id")
    assert rows_of(out.stdout) == [
        ["1", "plain", "1.5", "2024-02-29", '{"a": 1}', "f"],
        ["2", 'has "quotes", commas', "-0.25", "1999-12-31", "[1, 2]", "f"],
        ["3", "multi<NL>line", "1e+100", "", "", "f"],
        # An unquoted empty CSV field is NULL; "" would be the empty string.
        ["4", "", "0", "2000-01-01", "null", "t"],
    ], out.stdout

    out = pg.psql("-At", "-c", "SELECT count(day), count(doc), count(label) FROM cc")
    assert rows_of(out.stdout) == [["3", "3", "3"]], out.stdout

    dst = tmp_path / "out.csv"
    pg.psql("-c", f"\\copy (SELECT id, label, price FROM cc ORDER BY id) TO '{dst}' WITH (FORMAT csv, HEADER true)")
    with open(dst, newline="") as f:
        got = list(csv.reader(f))
    assert got == [["id", "label", "price"], ["1", "plain", "1.5"], ["2", 'has "quotes", commas', "-0.25"],
                   ["3", "multi\nline", "1e+100"], ["4", "", "0"]], got


def test_copy_errors_keep_the_table_usable(pg, tmp_path):
    pg.psql("-c", "CREATE TABLE ce (id integer PRIMARY KEY, v integer)")
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t10\n2\tnot-a-number\n")
    out = pg.psql("-c", "\\set VERBOSITY verbose", "-c", f"\\copy ce FROM '{bad}'", check=False)
    assert out.returncode != 0
    assert "22P02" in out.stderr, out.stderr
    extra = tmp_path / "extra.tsv"
    extra.write_text("3\t30\t300\n")
    out = pg.psql("-c", "\\set VERBOSITY verbose", "-c", f"\\copy ce FROM '{extra}'", check=False)
    assert out.returncode != 0 and "22P04" in out.stderr, out.stderr
    good = tmp_path / "good.tsv"
    good.write_text("5\t50\n6\t60\n")
    pg.psql("-c", f"\\copy ce FROM '{good}'")
    out = pg.psql("-At", "-c", "SELECT id, v FROM ce WHERE id >= 5 ORDER BY id")
    assert rows_of(out.stdout) == [["5", "50"], ["6", "60"]]


def test_copy_with_column_list(pg, tmp_path):
    pg.psql("-c", "CREATE TABLE cl (a integer, b text, c integer)")
    src = tmp_path / "cols.csv"
    src.write_text("x,1\ny,2\n")
    pg.psql("-c", f"\\copy cl (b, c) FROM '{src}' CSV")
    out = pg.psql("-At", "-c", "SELECT a IS NULL, b, c FROM cl ORDER BY c")
    assert rows_of(out.stdout) == [["t", "x", "1"], ["t", "y", "2"]]
