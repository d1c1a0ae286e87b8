"""The PostgreSQL protocol byte by byte with a well-behaved client: the
startup parameters, BackendKeyData, simple queries with several statements
and EmptyQueryResponse, the extended protocol with named statements and
portals, Describe, Execute with a row limit (PortalSuspended), Close, Flush,
and a CancelRequest on a second connection."""

import struct
import threading
import time

import pytest

import pg_wire as w
from pg_wire import pg  # noqa: F401  (fixture)


def test_startup_parameters_and_backend_key(pg):
    sess = w.open_session(pg, application_name="wire-test")
    try:
        p = sess.parameters
        for name in ("server_version", "client_encoding", "DateStyle", "integer_datetimes",
                     "standard_conforming_strings", "TimeZone", "application_name"):
            assert name in p, f"no ParameterStatus {name}: {p}"
        assert p["client_encoding"] == "UTF8"
        assert p["DateStyle"].startswith("ISO")
        assert p["integer_datetimes"] == "on"
        assert p["standard_conforming_strings"] == "on"
        assert p["application_name"] == "wire-test"
        assert int(p["server_version"].split(".")[0].split()[0]) >= 9, p["server_version"]
        assert sess.pid is not None and sess.key is not None
    finally:
        sess.close()


def test_simple_query_several_statements(pg):
    sess = w.open_session(pg)
    try:
        msgs = sess.simple("CREATE TABLE sq (i integer); INSERT INTO sq VALUES (1), (2); SELECT i FROM sq ORDER BY i;")
        assert w.kinds(msgs) == b"CCTDDCZ", msgs
        tags = [p.rstrip(b"\0") for k, p in msgs if k == b"C"]
        assert tags == [b"CREATE TABLE", b"INSERT 0 2", b"SELECT 2"]
        assert msgs[-1][1] == b"I"
        # An error stops the rest of the string.
        msgs = sess.simple("SELECT 1; SELECT * FROM missing_table; INSERT INTO sq VALUES (4)")
        assert w.kinds(msgs) == b"TDCEZ", msgs
        assert w.errors(msgs)[0]["C"] == "42P01"
        msgs = sess.simple("SELECT count(*) FROM sq")
        assert w.data_row(msgs[1][1]) == [b"2"]
        # Empty queries.
        for empty in ("", "   ", ";", "-- just a comment"):
            msgs = sess.simple(empty)
            assert w.kinds(msgs) == b"IZ", (empty, msgs)
    finally:
        sess.close()


def test_query_string_is_one_implicit_transaction(pg):
    """PostgreSQL runs a multi-statement Query as one implicit transaction:
    an error undoes the statements before it in the same string."""
    sess = w.open_session(pg)
    try:
        sess.simple("CREATE TABLE imp (i integer)")
        msgs = sess.simple("INSERT INTO imp VALUES (1); SELECT * FROM missing_table; INSERT INTO imp VALUES (2)")
        assert w.kinds(msgs) == b"CEZ", msgs
        msgs = sess.simple("SELECT count(*) FROM imp")
        assert w.data_row(msgs[1][1]) == [b"0"], "the INSERT before the error in the same query string was kept"
    finally:
        sess.close()


def test_row_description_of_types(pg):
    sess = w.open_session(pg)
    try:
        sess.simple("CREATE TABLE rd (a smallint, b integer, c bigint, d real, e double precision, f numeric(10,3), "
                    "g text, h varchar(7), i date, j timestamp, k timestamptz, l boolean, m bytea, n json)")
        msgs = sess.simple("SELECT * FROM rd")
        cols = w.row_description(msgs[0][1])
        assert [c[0] for c in cols] == list("abcdefghijklmn")
        assert [c[3] for c in cols] == [21, 23, 20, 700, 701, 1700, 25, 1043, 1082, 1114, 1184, 16, 17, 114]
        assert [c[4] for c in cols][:6] == [2, 4, 8, 4, 8, -1]
        assert cols[5][5] == ((10 << 16) | 3) + 4, "numeric(10,3) typmod"
        assert cols[7][5] == 7 + 4, "varchar(7) typmod"
        assert all(c[6] == 0 for c in cols), "simple query results are text"
    finally:
        sess.close()


def test_extended_named_statements_portals_and_limits(pg):
    sess = w.open_session(pg)
    try:
        sess.simple("CREATE TABLE ext (i integer, t text)")
        sess.simple("INSERT INTO ext SELECT g, 'r' || CAST(g AS text) FROM generate_series(1, 10) AS s(g)")
        sess.send(w.parse("SELECT i, t FROM ext WHERE i > $1 ORDER BY i", "stmt", [23]),
                  w.describe(b"S", "stmt"), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"1tTZ", msgs
        (nparams,) = struct.unpack_from("!H", msgs[1][1])
        assert nparams == 1 and struct.unpack_from("!I", msgs[1][1], 2)[0] == 23
        # A portal with a row limit: PortalSuspended, then the rest.
        sess.send(w.bind("p1", "stmt", [b"4"]), w.execute("p1", 2), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"2DDsZ", msgs
        assert [w.data_row(p) for k, p in msgs if k == b"D"] == [[b"5", b"r5"], [b"6", b"r6"]]
        # The portal dies at Sync outside a transaction block; use one.
        sess.simple("BEGIN")
        sess.send(w.bind("p2", "stmt", [b"4"]), w.execute("p2", 3), w.execute("p2", 3), w.execute("p2", 0),
                  w.sync())
        msgs = sess.until_ready()
        # PostgreSQL suspends when the limit is reached and completes on the
        # next Execute ("SELECT 0"); completing as soon as the rows run out
        # (the last Execute then repeats CommandComplete) is fine too.
        assert w.kinds(msgs) in (b"2DDDsDDDsCZ", b"2DDDsDDDCCZ"), msgs
        assert [w.data_row(p)[0] for k, p in msgs if k == b"D"] == [str(i).encode() for i in range(5, 11)]
        assert msgs[-2][1].rstrip(b"\0") in (b"SELECT 0", b"SELECT 6"), msgs[-2]
        assert msgs[-1][1] == b"T"
        sess.simple("COMMIT")
        # Binary parameter and binary result.
        sess.send(w.bind("", "stmt", [struct.pack("!i", 8)], param_formats=[1], result_formats=[1]),
                  w.describe(b"P", ""), w.execute(), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"2TDDCZ", msgs
        assert [c[6] for c in w.row_description(msgs[1][1])] == [1, 1]
        rows = [w.data_row(p) for k, p in msgs if k == b"D"]
        assert rows == [[struct.pack("!i", 9), b"r9"], [struct.pack("!i", 10), b"r10"]]
        # Close the statement; using it afterwards is 26000.
        sess.send(w.close(b"S", "stmt"), w.sync())
        assert w.kinds(sess.until_ready()) == b"3Z"
        sess.send(w.bind("", "stmt", [b"1"]), w.execute(), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ" and w.errors(msgs)[0]["C"] == "26000"
        # A command through the extended protocol: NoData on Describe.
        sess.send(w.parse("INSERT INTO ext VALUES ($1, $2)"), w.bind(params=[b"11", b"r11"]), w.describe(b"P"),
                  w.execute(), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"12nCZ", msgs
        assert msgs[3][1].rstrip(b"\0") == b"INSERT 0 1"
        # Flush sends what is ready without a Sync.
        sess.send(w.parse("SELECT 1", "flushme"), w.flush())
        kind, _ = w.read_message(sess.sock)
        assert kind == b"1"
        sess.send(w.sync())
        assert w.kinds(sess.until_ready()) == b"Z"
    finally:
        sess.close()


def test_error_in_extended_skips_to_sync(pg):
    sess = w.open_session(pg)
    try:
        sess.send(w.parse("SELECT * FROM nope_table"), w.bind(), w.execute(), w.parse("SELECT 1"), w.bind(),
                  w.execute(), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ", msgs
        assert w.errors(msgs)[0]["C"] == "42P01"
        sess.send(w.parse("SELECT 1"), w.bind(), w.execute(), w.sync())
        assert w.kinds(sess.until_ready()) == b"12DCZ"
    finally:
        sess.close()


def test_copy_in_protocol(pg):
    sess = w.open_session(pg)
    try:
        sess.simple("CREATE TABLE wc (i integer, t text)")
        sess.send(w.query("COPY wc FROM STDIN"))
        kind, payload = w.read_message(sess.sock)
        assert kind == b"G", (kind, payload)
        fmt, ncols = struct.unpack_from("!bH", payload)
        assert fmt == 0 and ncols == 2
        sess.send(w.copy_data(b"1\tone\n2\t"), w.copy_data(b"two\n3\t\\N\n"), w.copy_done())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"CZ" and msgs[0][1].rstrip(b"\0") == b"COPY 3", msgs
        # CopyFail aborts: nothing of it is stored.
        sess.send(w.query("COPY wc FROM STDIN"))
        assert w.read_message(sess.sock)[0] == b"G"
        sess.send(w.copy_data(b"4\tfour\n"), w.copy_fail("changed my mind"))
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ" and w.errors(msgs)[0]["C"] == "57014", msgs
        msgs = sess.simple("SELECT count(*), count(t) FROM wc")
        assert w.data_row(msgs[1][1]) == [b"3", b"2"]
        # COPY TO STDOUT.
        sess.send(w.query("COPY (SELECT i, t FROM wc ORDER BY i) TO STDOUT"))
        msgs = w.read_until(sess.sock, (b"Z",))
        assert w.kinds(msgs) == b"H" + b"d" * (len(msgs) - 4) + b"cCZ", msgs
        data = b"".join(p for k, p in msgs if k == b"d")
        assert data == b"1\tone\n2\ttwo\n3\t\\N\n"
        # "Messages sent from the backend will always correspond to single
        # data rows" (protocol docs, COPY); psycopg's Copy.rows() relies on it.
        assert [p for k, p in msgs if k == b"d"] == [b"1\tone\n", b"2\ttwo\n", b"3\t\\N\n"], msgs
    finally:
        sess.close()


@pytest.mark.timeout_s(60)
def test_cancel_request_on_a_second_connection(pg):
    sess = w.open_session(pg)
    try:
        # DuckDB counted range(10^10) in under a second at times, so the query
        # is a 10^12-row join that hashes every row: hours, whatever the machine.
        long_query = ("SELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b"
                      if pg.is_strata else "SELECT pg_sleep(60)")
        sess.send(w.query(long_query))
        time.sleep(1.0)
        # A CancelRequest with the wrong key does nothing.
        with w.connect_raw(pg.port) as c:
            c.sendall(w.cancel_request(sess.pid, (sess.key + 1) & 0xFFFFFFFF))
            assert w.closed_after(c)
        sess.sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sess.sock.recv(1, 0x2)  # MSG_PEEK: nothing yet, the query still runs
        sess.sock.settimeout(w.SOCKET_TIMEOUT_S)
        started = time.monotonic()
        with w.connect_raw(pg.port) as c:
            c.sendall(w.cancel_request(sess.pid, sess.key))
            assert w.closed_after(c)
        msgs = sess.until_ready()
        assert w.errors(msgs) and w.errors(msgs)[0]["C"] == "57014", msgs
        assert time.monotonic() - started < 15
        assert w.kinds(sess.simple("SELECT 1")) == b"TDCZ"
    finally:
        sess.close()


def test_terminate_closes(pg):
    sess = w.open_session(pg)
    sess.sock.sendall(w.terminate())
    assert w.closed_after(sess.sock)
    sess.sock.close()


def test_concurrent_sessions(pg):
    with pg.connect() as conn:
        conn.execute("CREATE TABLE conc (worker integer, n integer)")
    errors = []

    def work(k):
        try:
            with pg.connect() as c:
                for n in range(50):
                    c.execute("INSERT INTO conc VALUES (%s, %s)", (k, n))
                    assert c.execute("SELECT count(*) FROM conc WHERE worker = %s", (k,)).fetchone() == (n + 1,)
        except Exception as e:  # reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*), sum(n) FROM conc").fetchone() == (400, 8 * sum(range(50)))
