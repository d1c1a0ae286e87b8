"""psql's \\d family against the real binary: \\d, \\dt, \\dt+, \\d TABLE,
\\d+ TABLE, \\d INDEX, \\di, \\l, \\l+, \\dn, \\dn+, \\du and the empty lists
(\\dv, \\df). psql builds these from catalog queries that Strata answers
itself (src/sql/psql_catalog.cc); the output must read as PostgreSQL's does
and no query may fail.

With STRATA_TEST_PG=HOST:PORT the same tests run against a real PostgreSQL
15 (how the expected lines were checked); Strata-only details (its access
methods, the partitioning footer) are checked on Strata only."""

import pytest

from pg_wire import pg  # noqa: F401  (fixture)


def cells(line):
    return [c.strip() for c in line.split("|")]


def grid(stdout):
    """The rows of psql's aligned output (header and separator excluded) as lists of cells."""
    lines = stdout.splitlines()
    sep = next((i for i, line in enumerate(lines) if line.startswith("-") and "+" in line), None)
    assert sep is not None, stdout
    rows = []
    for line in lines[sep + 1:]:
        if not line or line.startswith("("):
            break
        if "|" not in line:
            break
        rows.append(cells(line))
    return rows


def header(stdout):
    lines = stdout.splitlines()
    sep = next(i for i, line in enumerate(lines) if line.startswith("-") and "+" in line)
    return cells(lines[sep - 1])


def meta(pg, command, *extra):
    """Runs one backslash command; psql must not report a failed query."""
    out = pg.psql(*extra, "-c", command)
    assert "ERROR" not in out.stderr, out.stderr
    assert "invalid" not in out.stderr.lower(), out.stderr
    return out


def create_tables(pg):
    orders = "CREATE TABLE orders (id bigint, region varchar(20) NOT NULL, total numeric(12,2), " \
             "PRIMARY KEY (id, region))"
    if pg.is_strata:
        orders += " PARTITION BY LIST (region) WITH (buckets = 4)"
    pg.psql("-c", "CREATE TABLE events (ts timestamptz NOT NULL, kind text, amount numeric(10,2))", "-c", orders)


def test_list_relations(pg):
    create_tables(pg)
    for command in ("\\d", "\\dt"):
        out = meta(pg, command)
        assert "List of relations" in out.stdout, out.stdout
        assert header(out.stdout) == ["Schema", "Name", "Type", "Owner"], out.stdout
        assert grid(out.stdout) == [["public", "events", "table", pg.user],
                                    ["public", "orders", "table", pg.user]], out.stdout
        assert "(2 rows)" in out.stdout

    out = meta(pg, "\\dt+")
    assert header(out.stdout) == ["Schema", "Name", "Type", "Owner", "Persistence", "Access method", "Size",
                                  "Description"], out.stdout
    rows = grid(out.stdout)
    assert [r[:5] for r in rows] == [["public", "events", "table", pg.user, "permanent"],
                                     ["public", "orders", "table", pg.user, "permanent"]], out.stdout
    assert all(r[6].endswith("bytes") or r[6].endswith("kB") for r in rows), out.stdout
    if pg.is_strata:
        assert [r[5] for r in rows] == ["strata_log", "strata_pk"], out.stdout

    out = meta(pg, "\\di")
    assert grid(out.stdout) == [["public", "orders_pkey", "index", pg.user, "orders"]], out.stdout


def test_patterns(pg):
    create_tables(pg)
    pg.psql("-c", 'CREATE TABLE "MixedCase" (x integer)')
    assert [r[1] for r in grid(meta(pg, "\\dt ord*").stdout)] == ["orders"]
    assert [r[1] for r in grid(meta(pg, "\\dt ev?nts").stdout)] == ["events"]
    assert [r[1] for r in grid(meta(pg, "\\dt public.*").stdout)] == ["MixedCase", "events", "orders"]
    assert [r[1] for r in grid(meta(pg, '\\dt "MixedCase"').stdout)] == ["MixedCase"]
    out = pg.psql("-c", "\\dt mixedcase", check=False)
    assert 'Did not find any relation named "mixedcase".' in out.stderr, out.stderr
    out = pg.psql("-c", "\\dt nosuch.*", check=False)
    assert "Did not find any relation" in out.stderr, out.stderr


def test_describe_table(pg):
    create_tables(pg)
    out = meta(pg, "\\d orders")
    assert 'Table "public.orders"' in out.stdout, out.stdout
    assert header(out.stdout) == ["Column", "Type", "Collation", "Nullable", "Default"], out.stdout
    assert grid(out.stdout) == [["id", "bigint", "", "not null", ""],
                                ["region", "character varying(20)", "", "not null", ""],
                                ["total", "numeric(12,2)", "", "", ""]], out.stdout
    lines = out.stdout.splitlines()
    assert "Indexes:" in lines, out.stdout
    assert '    "orders_pkey" PRIMARY KEY, btree (id, region)' in lines, out.stdout

    out = meta(pg, "\\d events")
    assert 'Table "public.events"' in out.stdout, out.stdout
    assert grid(out.stdout) == [["ts", "timestamp with time zone", "", "not null", ""],
                                ["kind", "text", "", "", ""],
                                ["amount", "numeric(10,2)", "", "", ""]], out.stdout
    assert "Indexes:" not in out.stdout, out.stdout

    out = pg.psql("-c", "\\d nosuch", check=False)
    assert out.returncode == 1
    assert 'Did not find any relation named "nosuch".' in out.stderr, out.stderr


def test_describe_table_shows_defaults_and_identity(pg):
    pg.psql("-c", "DROP TABLE IF EXISTS with_defaults", "-c",
            "CREATE TABLE with_defaults (id serial PRIMARY KEY, name text DEFAULT 'anon', "
            "at_ts timestamptz DEFAULT now(), n bigint GENERATED ALWAYS AS IDENTITY, "
            "m int GENERATED BY DEFAULT AS IDENTITY)")
    out = meta(pg, "\\d with_defaults")
    assert grid(out.stdout) == [["id", "integer", "", "not null", "nextval('with_defaults_id_seq'::regclass)"],
                                ["name", "text", "", "", "'anon'::text" if not pg.is_strata else "'anon'"],
                                ["at_ts", "timestamp with time zone", "", "", "now()"],
                                ["n", "bigint", "", "not null", "generated always as identity"],
                                ["m", "integer", "", "not null", "generated by default as identity"]], out.stdout


def test_list_sequences(pg):
    pg.psql("-c", "DROP TABLE IF EXISTS seq_owner", "-c", "DROP SEQUENCE IF EXISTS free_seq", "-c",
            "CREATE TABLE seq_owner (id bigserial PRIMARY KEY)", "-c", "CREATE SEQUENCE free_seq")
    rows = grid(meta(pg, "\\ds").stdout)
    assert ["public", "free_seq", "sequence", pg.user] in rows, rows
    assert ["public", "seq_owner_id_seq", "sequence", pg.user] in rows, rows
    listed = grid(meta(pg, "\\d").stdout)
    assert ["public", "seq_owner", "table", pg.user] in listed and \
        ["public", "seq_owner_id_seq", "sequence", pg.user] in listed, listed


def test_describe_table_verbose(pg):
    create_tables(pg)
    out = meta(pg, "\\d+ orders")
    assert header(out.stdout) == ["Column", "Type", "Collation", "Nullable", "Default", "Storage", "Compression",
                                  "Stats target", "Description"], out.stdout
    assert [r[:6] for r in grid(out.stdout)] == [["id", "bigint", "", "not null", "", "plain"],
                                                 ["region", "character varying(20)", "", "not null", "", "extended"],
                                                 ["total", "numeric(12,2)", "", "", "", "main"]], out.stdout
    lines = out.stdout.splitlines()
    assert '    "orders_pkey" PRIMARY KEY, btree (id, region)' in lines, out.stdout
    if pg.is_strata:
        assert "Access method: strata_pk" in lines, out.stdout
        assert "Options: partition_by=list(region), buckets=4" in lines, out.stdout
        out = meta(pg, "\\d+ events")
        assert "Access method: strata_log" in out.stdout.splitlines(), out.stdout
        assert "Options:" not in out.stdout, out.stdout


def test_describe_index(pg):
    create_tables(pg)
    out = meta(pg, "\\d orders_pkey")
    assert 'Index "public.orders_pkey"' in out.stdout, out.stdout
    assert grid(out.stdout) == [["id", "bigint", "yes", "id"],
                                ["region", "character varying(20)", "yes", "region"]], out.stdout
    assert 'primary key, btree, for table "public.orders"' in out.stdout.splitlines(), out.stdout
    # \d with a pattern describes every match: the table and its index.
    out = meta(pg, "\\d ord*")
    assert 'Table "public.orders"' in out.stdout and 'Index "public.orders_pkey"' in out.stdout, out.stdout


def test_databases_schemas_roles(pg):
    out = meta(pg, "\\l")
    assert "List of databases" in out.stdout, out.stdout
    assert header(out.stdout)[:3] == ["Name", "Owner", "Encoding"], out.stdout
    rows = [r for r in grid(out.stdout) if r[0] == pg.dbname]
    assert len(rows) == 1 and rows[0][2] == "UTF8", out.stdout
    if pg.is_strata:
        assert rows[0][1] == pg.user, out.stdout

    out = meta(pg, "\\l+")
    assert "Size" in header(out.stdout) and "Tablespace" in header(out.stdout), out.stdout
    assert any(r[0] == pg.dbname for r in grid(out.stdout)), out.stdout

    out = meta(pg, "\\dn")
    assert "List of schemas" in out.stdout, out.stdout
    rows = grid(out.stdout)
    assert [r[0] for r in rows] == ["public"], out.stdout
    if pg.is_strata:
        assert rows[0][1] == pg.user, out.stdout
    out = meta(pg, "\\dn+")
    assert header(out.stdout) == ["Name", "Owner", "Access privileges", "Description"], out.stdout
    assert "standard public schema" in out.stdout, out.stdout

    out = meta(pg, "\\du")
    assert "List of roles" in out.stdout, out.stdout
    rows = [r for r in grid(out.stdout) if r[0] == pg.user]
    assert len(rows) == 1 and "Superuser" in rows[0][1], out.stdout


def test_empty_lists(pg):
    create_tables(pg)
    out = meta(pg, "\\dv")
    assert "Did not find any relations." in out.stderr, (out.stdout, out.stderr)
    out = meta(pg, "\\df")
    assert "List of functions" in out.stdout and "(0 rows)" in out.stdout, out.stdout
    out = meta(pg, "\\ds")
    assert "Did not find any relations." in out.stderr, (out.stdout, out.stderr)


def test_no_tables(pg):
    out = pg.psql("-c", "\\dt", check=False)
    assert "Did not find any relations." in out.stderr, (out.stdout, out.stderr)
    assert "ERROR" not in out.stderr


@pytest.mark.parametrize("command", ["\\d", "\\dt+", "\\d orders", "\\d+ orders", "\\l", "\\dn+", "\\du"])
def test_catalog_queries_in_a_transaction(pg, command):
    """psql's queries also work inside an open transaction (psql sends them there)."""
    create_tables(pg)
    out = pg.psql(input=f"BEGIN;\n{command}\nCOMMIT;\n")
    assert "ERROR" not in out.stderr, out.stderr
    assert "COMMIT" in out.stdout, out.stdout
