"""COPY in PostgreSQL's binary format (FORMAT binary), both ways: psycopg 3's
binary write_row and rows() over every column type, the exact bytes
PostgreSQL sends, and bad input (a wrong signature, field count, field size
or value size, data after the trailer, a cut tuple), each refused with
PostgreSQL's SQLSTATE while the connection keeps serving. Runs against a
real PostgreSQL too (STRATA_TEST_PG)."""

import struct

import psycopg
import pytest
from psycopg import errors

from pg_wire import pg  # noqa: F401  (fixture)
from test_sql_psycopg import ALL_TYPES_DDL, COLUMNS, SAMPLE_ROWS, adapt_for_insert, assert_rows_equal, fetch_typed, normalize

TYPES = ["int8", "bool", "int2", "int4", "int8", "float4", "float8", "numeric", "numeric", "text", "varchar",
         "date", "timestamp", "timestamptz", "bytea", "json"]

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)


def tuple_bytes(*fields):
    """One tuple: the field count, then each field's length and bytes (None is NULL)."""
    out = struct.pack("!h", len(fields))
    for f in fields:
        out += struct.pack("!i", -1) if f is None else struct.pack("!i", len(f)) + f
    return out


def copy_in_raw(conn, sql, data, piece_bytes=7):
    with conn.cursor() as cur:
        with cur.copy(sql) as copy:
            for start in range(0, len(data), piece_bytes):
                copy.write(data[start:start + piece_bytes])
        return cur.rowcount


def test_write_row_and_rows_round_trip_every_type(pg):
    with pg.connect() as conn:
        conn.execute(ALL_TYPES_DDL)
        with conn.cursor() as cur:
            with cur.copy(f"COPY typed ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(TYPES)
                for row in SAMPLE_ROWS:
                    copy.write_row(adapt_for_insert(row))
            assert cur.rowcount == len(SAMPLE_ROWS)
        for binary in (False, True):
            assert_rows_equal(fetch_typed(conn, binary), SAMPLE_ROWS)
        with conn.cursor() as cur:
            with cur.copy(f"COPY (SELECT {', '.join(COLUMNS)} FROM typed ORDER BY id) TO STDOUT (FORMAT binary)") as copy:
                copy.set_types(TYPES)
                got = list(copy.rows())
            assert cur.rowcount == len(SAMPLE_ROWS)
        assert_rows_equal([normalize(r) for r in got], SAMPLE_ROWS)


def test_copy_out_sends_postgres_bytes(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE cb_out (id integer PRIMARY KEY, name text, amount numeric(10,2))")
        conn.execute("INSERT INTO cb_out VALUES (1, 'a', 12.50), (2, NULL, -0.05)")
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT * FROM cb_out ORDER BY id) TO STDOUT WITH (FORMAT binary)") as copy:
                messages = [bytes(m) for m in copy]
        # The header travels with the first row; the trailer on its own.
        numeric_12_50 = struct.pack("!hhhhhh", 2, 0, 0, 2, 12, 5000)
        numeric_minus_0_05 = struct.pack("!hhhhh", 1, -1, 0x4000, 2, 500)
        assert messages == [
            HEADER + tuple_bytes(struct.pack("!i", 1), b"a", numeric_12_50),
            tuple_bytes(struct.pack("!i", 2), None, numeric_minus_0_05),
            TRAILER,
        ]
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT * FROM cb_out WHERE id < 0) TO STDOUT (FORMAT binary)") as copy:
                assert [bytes(m) for m in copy] == [HEADER + TRAILER]
            assert cur.rowcount == 0


def test_copy_in_raw_bytes_in_small_pieces(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE cb_in (id bigint, name varchar(5), at_ts timestamptz, doc jsonb)")
        data = (b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 4) + b"\x00\x00\x00\x00"  # a 4-byte extension area
                + tuple_bytes(struct.pack("!q", 7), b"ab   ", struct.pack("!q", 0), b"\x01{\"k\": 1}")
                + tuple_bytes(struct.pack("!q", -1), None, None, None)
                + TRAILER)
        assert copy_in_raw(conn, "COPY cb_in FROM STDIN (FORMAT binary)", data) == 2
        rows = conn.execute("SELECT id, name, at_ts::text, doc::text FROM cb_in ORDER BY id").fetchall()
        # varchar(5) trims its trailing blanks as PostgreSQL's input does; jsonb's version byte is accepted.
        assert rows == [(-1, None, None, None), (7, "ab   ", "2000-01-01 00:00:00+00", '{"k": 1}')]
        # A stream that ends between tuples without its trailer is accepted, as PostgreSQL does.
        assert copy_in_raw(conn, "COPY cb_in (id) FROM STDIN (FORMAT binary)", HEADER + tuple_bytes(struct.pack("!q", 9))) == 1


BAD_INPUTS = [
    ("signature", b"PGCOPX\n\xff\r\n\x00" + struct.pack("!ii", 0, 0), "22P04", "signature not recognized"),
    ("oids", b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 1 << 16, 0), "22P04", "WITH OIDS"),
    ("field count", HEADER + tuple_bytes(struct.pack("!i", 1)) + TRAILER, "22P04", "row field count is 1, expected 2"),
    ("field size", HEADER + struct.pack("!hi", 2, -2), "22P04", "invalid field size"),
    ("value size", HEADER + tuple_bytes(struct.pack("!q", 1), b"x") + TRAILER, "22P03", "binary data format"),
    ("cut tuple", HEADER + tuple_bytes(struct.pack("!i", 1), b"x")[:-1], "22P04", "unexpected EOF"),
    ("after trailer", HEADER + TRAILER + b"\x00", "22P04", "after EOF marker"),
    ("bad utf-8", HEADER + tuple_bytes(struct.pack("!i", 1), b"\xff") + TRAILER, "22021", "UTF8"),
]


@pytest.mark.parametrize("data,sqlstate,words", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused_and_writes_nothing(pg, data, sqlstate, words):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE cb_bad (id integer, name text)")
        good_first = HEADER + tuple_bytes(struct.pack("!i", 5), b"kept?")
        with pytest.raises(psycopg.Error) as failure:
            copy_in_raw(conn, "COPY cb_bad FROM STDIN (FORMAT binary)", good_first + data[len(HEADER):]
                        if data.startswith(HEADER) else data)
        assert failure.value.sqlstate == sqlstate, failure.value
        assert words in str(failure.value)
        assert conn.execute("SELECT count(*) FROM cb_bad").fetchone() == (0,)


def test_options_that_binary_does_not_take(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE cb_opt (id integer)")
        for sql, sqlstate in [("COPY cb_opt FROM STDIN (FORMAT binary, DELIMITER ',')", "42601"),
                              ("COPY cb_opt TO STDOUT (FORMAT binary, NULL 'x')", "42601")]:
            with pytest.raises(psycopg.Error) as failure:
                with conn.cursor() as cur:
                    with cur.copy(sql):
                        pass
            assert failure.value.sqlstate == sqlstate


def test_a_column_without_a_binary_form_is_refused_by_name(pg):
    pg.require_strata("PostgreSQL has a binary form for every type")
    with pg.connect() as conn:
        with pytest.raises(errors.FeatureNotSupported, match='column "span"'):
            with conn.cursor() as cur:
                with cur.copy("COPY (SELECT INTERVAL '1 day' AS span) TO STDOUT (FORMAT binary)"):
                    pass
        assert conn.execute("SELECT 1").fetchone() == (1,)
