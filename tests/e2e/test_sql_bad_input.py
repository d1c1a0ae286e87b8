"""Bad input on the PostgreSQL port is harmless: garbage, a 1 GB message
length, wrong protocol versions, messages out of order, truncated frames, an
oversized startup packet, SSLRequest then garbage. Each case gets an
ErrorResponse (or, for bytes that are not the protocol at all, a clean
close), and a session opened before the attack, a session opened after it,
the stored rows and the server's memory are all fine afterwards.

A real PostgreSQL closes some of these connections without an ErrorResponse
(it only logs them); with STRATA_TEST_PG those cases accept a silent close.
"""

import os
import socket
import struct
import time

import pytest

import pg_wire as w
from pg_wire import pg  # noqa: F401  (fixture)

SEED_ROWS = 1000
SEED_SUM = SEED_ROWS * (SEED_ROWS + 1) // 2
RSS_BYTES_MAX = 1 << 30


@pytest.fixture
def bystander(pg):
    """A table with known rows, a psycopg session opened before the attack,
    and check() proving that all is still well."""
    before = pg.connect()
    before.execute("CREATE TABLE guard (id integer PRIMARY KEY, v text)")
    with before.cursor() as cur:
        with cur.copy("COPY guard FROM STDIN") as copy:
            for i in range(1, SEED_ROWS + 1):
                copy.write_row((i, f"v{i}"))
    state = {"n": 0}

    def check():
        assert pg.alive(), f"strata exited with code {pg.server.proc.returncode}:\n{pg.server.log_tail()}"
        state["n"] += 1
        key = SEED_ROWS + state["n"]
        before.execute("INSERT INTO guard VALUES (%s, 'after')", (key,))
        with pg.connect() as after:
            count, total = after.execute(f"SELECT count(*), sum(id) FROM guard WHERE id <= {SEED_ROWS}").fetchone()
            assert (count, total) == (SEED_ROWS, SEED_SUM), "the stored rows changed"
            assert after.execute("SELECT v FROM guard WHERE id = %s", (key,)).fetchone() == ("after",)
        if pg.is_strata:
            assert pg.server.health_ok()
            rss = pg.server.rss_bytes()
            assert rss < RSS_BYTES_MAX, f"strata RSS is {rss >> 20} MiB"

    yield check
    before.close()


def expect_refusal(pg, sock, codes, what):
    """The server answers with an ErrorResponse whose SQLSTATE is in `codes`
    and closes the connection. A real PostgreSQL may just close."""
    kind, detail = w.outcome(sock)
    if kind == "closed" and not pg.is_strata:
        return
    assert kind == "error", f"{what}: expected an ErrorResponse, got {kind} {detail}"
    if codes and "v2" not in detail:
        assert detail.get("C") in codes, f"{what}: SQLSTATE {detail.get('C')} not in {codes}: {detail}"
    assert detail.get("M"), f"{what}: the error has no message: {detail}"
    assert w.closed_after(sock), f"{what}: the connection stayed open after a fatal error"


def expect_error_or_close(sock, what):
    """For bytes that are not the protocol: an ErrorResponse or a clean close,
    never a hang or a crash."""
    kind, detail = w.outcome(sock)
    assert kind in ("error", "closed"), f"{what}: expected an error or a close, got {kind} {detail}"
    if kind == "error":
        assert w.closed_after(sock), f"{what}: the connection stayed open after garbage"


def test_garbage_on_the_port(pg, bystander):
    for garbage in (b"GET / HTTP/1.1\r\nHost: strata\r\n\r\n", os.urandom(4096), b"\x00" * 64,
                    b"\xff" * 8, w.cancel_request(0, 0)):
        with w.connect_raw(pg.port) as s:
            w.send_ignoring_reset(s, garbage)
            expect_error_or_close(s, f"garbage {garbage[:16]!r}")
        bystander()


def test_one_gigabyte_lengths(pg, bystander):
    # In the startup packet.
    with w.connect_raw(pg.port) as s:
        s.sendall(struct.pack("!II", 1 << 30, w.PROTOCOL_3_0))
        expect_error_or_close(s, "1 GB startup length")
    bystander()
    # In a message after startup: refused without reading (or allocating) it.
    for kind in (b"Q", b"P", b"d", b"B"):
        sess = w.open_session(pg)
        started = time.monotonic()
        w.send_ignoring_reset(sess.sock, kind + struct.pack("!I", 1 << 30) + b"SELECT 1")
        expect_refusal(pg, sess.sock, {"08P01", "54000"}, f"1 GB {kind!r} message")
        assert time.monotonic() - started < 10
        sess.sock.close()
        bystander()
    # 0xFFFFFFFF: negative as int32.
    sess = w.open_session(pg)
    w.send_ignoring_reset(sess.sock, b"Q" + b"\xff\xff\xff\xff")
    expect_refusal(pg, sess.sock, {"08P01", "54000"}, "length 0xFFFFFFFF")
    sess.sock.close()
    bystander()


@pytest.mark.parametrize("major,minor", [(2, 0), (9, 9), (1, 0), (0, 0)])
def test_wrong_protocol_version(pg, bystander, major, minor):
    with w.connect_raw(pg.port) as s:
        s.sendall(w.startup_packet(pg.user, pg.dbname, version=w.version_code(major, minor)))
        expect_refusal(pg, s, {"0A000", "08P01"}, f"protocol {major}.{minor}")
    bystander()


def test_oversized_startup_packet(pg, bystander):
    with w.connect_raw(pg.port) as s:
        w.send_ignoring_reset(s, w.startup_packet(pg.user, pg.dbname, padding="x" * 11000))
        expect_error_or_close(s, "startup packet over 10000 bytes")
    bystander()
    # A length that claims 9999 bytes but sends 100 and stops: no crash, and
    # the server is still fine while that connection hangs around.
    s = w.connect_raw(pg.port)
    w.send_ignoring_reset(s, struct.pack("!II", 9999, w.PROTOCOL_3_0) + b"user\0x\0" * 10)
    bystander()
    s.close()
    bystander()


def test_startup_without_user(pg, bystander):
    with w.connect_raw(pg.port) as s:
        s.sendall(w.startup_packet(user=None, database=pg.dbname))
        expect_refusal(pg, s, {"28000", "08P01"}, "startup without a user")
    bystander()


def test_ssl_request_then_garbage(pg, bystander):
    with w.connect_raw(pg.port) as s:
        s.sendall(w.ssl_request())
        assert w.recv_exact(s, 1) == b"N"
        w.send_ignoring_reset(s, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200))
        expect_error_or_close(s, "TLS ClientHello after N")
    bystander()
    # SSLRequest, N, then a real startup works.
    with w.connect_raw(pg.port) as s:
        s.sendall(w.ssl_request())
        assert w.recv_exact(s, 1) == b"N"
        s.sendall(w.startup_packet(pg.user, pg.dbname))
        msgs = w.read_until(s, (b"Z", b"E"))
        assert msgs[-1][0] == b"Z", w.errors(msgs)
    # Two SSLRequests in a row.
    with w.connect_raw(pg.port) as s:
        s.sendall(w.ssl_request())
        assert w.recv_exact(s, 1) == b"N"
        w.send_ignoring_reset(s, w.ssl_request())
        expect_error_or_close(s, "a second SSLRequest")
    bystander()


def test_messages_out_of_order(pg, bystander):
    sess = w.open_session(pg)
    try:
        # Bind to a statement that does not exist.
        sess.send(w.bind(statement="never_parsed"), w.execute(), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ", msgs
        assert w.errors(msgs)[0]["C"] == "26000", msgs
        # Execute of a portal that was never bound.
        sess.send(w.execute("no_portal"), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ" and w.errors(msgs)[0]["C"] == "34000", msgs
        sess.send(w.execute(""), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ" and w.errors(msgs)[0]["C"] == "34000", msgs
        # Describe of missing things.
        sess.send(w.describe(b"S", "nope"), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ" and w.errors(msgs)[0]["C"] == "26000", msgs
        sess.send(w.describe(b"P", "nope"), w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ" and w.errors(msgs)[0]["C"] == "34000", msgs
        # After an error everything up to Sync is skipped, Sync answers once.
        sess.send(w.bind(statement="nope"), w.parse("SELECT 1"), w.bind(), w.execute(), w.query("SELECT 2"),
                  w.sync())
        msgs = sess.until_ready()
        assert w.kinds(msgs) == b"EZ", msgs
        # The session still works.
        msgs = sess.simple("SELECT count(*) FROM guard")
        assert w.kinds(msgs) == b"TDCZ", msgs
        assert w.data_row(msgs[1][1]) == [str(SEED_ROWS).encode()]
    finally:
        sess.close()
    bystander()

    # CopyData / CopyDone / CopyFail outside COPY: an error (Strata) or
    # ignored (PostgreSQL), and the session goes on either way.
    for stray in (w.copy_data(b"1\tx\n"), w.copy_done(), w.copy_fail("nothing to fail")):
        sess = w.open_session(pg)
        try:
            sess.send(stray, w.sync())
            kind, detail = w.outcome(sess.sock)
            if kind == "error":
                assert detail.get("C") == "08P01", detail
                if detail.get("S") == "FATAL":
                    assert w.closed_after(sess.sock)
                    continue
                kind, detail = w.outcome(sess.sock)
            assert (kind, detail[0] if detail else None) == ("message", b"Z"), (kind, detail)
            w.drain(sess.sock)  # the Sync's own ReadyForQuery, when the error had one
            msgs = sess.simple("SELECT 1")
            assert w.kinds(msgs) == b"TDCZ", msgs
        finally:
            sess.close()
        bystander()


def test_unknown_message_type(pg, bystander):
    for kind in (b"\x01", b"z", b"A"):
        sess = w.open_session(pg)
        w.send_ignoring_reset(sess.sock, w.message(kind, b"junk"))
        expect_refusal(pg, sess.sock, {"08P01"}, f"message type {kind!r}")
        sess.sock.close()
    bystander()


def test_malformed_message_bodies(pg, bystander):
    cases = [
        ("Parse without terminators", w.message(b"P", b"no terminator at all")),
        ("Parse with a parameter count past the end", w.message(b"P", b"\0SELECT $1\0" + struct.pack("!H", 50))),
        ("Bind with a negative parameter length", w.message(b"B", b"\0\0" + struct.pack("!HH", 0, 1)
                                                             + struct.pack("!i", -5))),
        ("Bind with a parameter longer than the message", w.message(b"B", b"\0\0" + struct.pack("!HH", 0, 1)
                                                                     + struct.pack("!i", 1 << 20) + b"xx")),
        ("Execute too short", w.message(b"E", b"\0")),
        ("Query without a terminator", w.message(b"Q", b"SELECT 1")),
        ("Describe of an unknown kind", w.message(b"D", b"Xname\0")),
        ("Close of an unknown kind", w.message(b"C", b"Xname\0")),
    ]
    for what, frame in cases:
        sess = w.open_session(pg)
        try:
            w.send_ignoring_reset(sess.sock, frame + w.sync())
            kind, detail = w.outcome(sess.sock)
            assert kind in ("error", "closed"), f"{what}: got {kind} {detail}"
            if kind == "error" and detail.get("S") != "FATAL":
                # A non-fatal protocol error: Sync brings the session back.
                kind, detail = w.outcome(sess.sock)
                assert kind == "message" and detail[0] == b"Z", f"{what}: {kind} {detail}"
                w.drain(sess.sock)
                assert w.kinds(sess.simple("SELECT 1")) == b"TDCZ"
        finally:
            sess.sock.close()
        bystander()


def test_truncated_frames(pg, bystander):
    # A frame cut short, then the client goes away.
    for frame in (w.query("SELECT 1"), w.parse("SELECT 1", "s1"), w.bind(params=[b"x" * 100])):
        for cut in (1, 3, len(frame) // 2, len(frame) - 1):
            sess = w.open_session(pg)
            w.send_ignoring_reset(sess.sock, frame[:cut])
            sess.sock.close()
    bystander()
    # A frame cut short while the client stays: other sessions keep working.
    sess = w.open_session(pg)
    w.send_ignoring_reset(sess.sock, w.query("SELECT count(*) FROM guard")[:7])
    bystander()
    # The rest arrives later: the query then runs.
    w.send_ignoring_reset(sess.sock, w.query("SELECT count(*) FROM guard")[7:])
    msgs = sess.until_ready()
    assert w.kinds(msgs) == b"TDCZ", msgs
    sess.close()
    # Lengths below 4 are invalid.
    for length in (0, 1, 3):
        sess = w.open_session(pg)
        w.send_ignoring_reset(sess.sock, b"Q" + struct.pack("!I", length) + b"SELECT 1\0")
        expect_refusal(pg, sess.sock, {"08P01"}, f"length {length}")
        sess.sock.close()
    bystander()
    # A client that vanishes mid-COPY leaves no half-written rows behind.
    sess = w.open_session(pg)
    sess.send(w.query("COPY guard FROM STDIN"))
    kind, payload = w.read_message(sess.sock)
    assert kind == b"G", (kind, payload)
    sess.send(w.copy_data(b"5001\tpartial\n5002\tpar"))
    sess.sock.shutdown(socket.SHUT_RDWR)
    sess.sock.close()
    time.sleep(0.5)
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM guard WHERE id >= 5001").fetchone() == (0,)
    bystander()


def test_many_bad_connections_at_once(pg, bystander):
    socks = []
    try:
        for i in range(50):
            s = w.connect_raw(pg.port)
            w.send_ignoring_reset(s, os.urandom(64) if i % 2 else struct.pack("!I", 1 << 30))
            socks.append(s)
        bystander()
    finally:
        for s in socks:
            s.close()
    bystander()
