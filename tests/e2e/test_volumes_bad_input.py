"""Bad input on the NBD port is harmless: each case gets the answer the NBD
spec names (a closed connection, NBD_REP_ERR_*, or EINVAL/EPERM/ENOSPC), and
a connection opened before the attack, a new connection, the stored data and
the server's memory are all fine afterwards."""

import os
import struct

import pytest

import nbd_wire as w
from strata_server import wait_until

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
VOLUME_BYTES = 4 * GiB     # thin: larger than any oversized request below
RSS_BYTES_MAX = 500 << 20
SEED_BYTES = 64 * KiB


@pytest.fixture
def bystander(nbd_strata):
    """A volume "bad" with known data, its snapshot "bad@s", a libnbd client
    connected before the attack, and check() that proves all is still well."""
    s = nbd_strata
    s.create_volume("bad", VOLUME_BYTES)
    h = w.connect(s.nbd_port, "bad")
    h.pwrite(w.pattern(1, SEED_BYTES), 0)
    h.flush()
    s.create_snapshot("bad", "s")
    state = {"n": 0}

    def check():
        assert s.running(), f"strata exited with code {s.proc.returncode}"
        n = state["n"]
        state["n"] += 1
        data = w.pattern(1000 + n, 4 * KiB)
        h.pwrite(data, 1 * MiB + n * 4 * KiB)            # the old connection
        fresh = w.connect(s.nbd_port, "bad")              # a new one
        try:
            assert fresh.pread(4 * KiB, 1 * MiB + n * 4 * KiB) == data
            assert fresh.pread(SEED_BYTES, 0) == w.pattern(1, SEED_BYTES), "the volume's data changed"
        finally:
            w.close(fresh)
        snap = w.connect(s.nbd_port, "bad@s")
        try:
            assert snap.pread(SEED_BYTES, 0) == w.pattern(1, SEED_BYTES), "the snapshot's data changed"
        finally:
            w.close(snap)
        assert s.health_ok()
        rss = s.rss_bytes()
        assert rss < RSS_BYTES_MAX, f"strata RSS is {rss >> 20} MiB"

    yield check
    w.close(h)


def session(server, export="bad", structured=True, meta_contexts=()):
    return w.open_session(server.nbd_port, export, structured=structured, meta_contexts=meta_contexts)


# --- handshake -----------------------------------------------------------------

@pytest.mark.parametrize("client_flags", [
    b"GET / HTTP/1.1\r\n\r\n",                       # not NBD at all
    struct.pack(">I", 0),                            # no FIXED_NEWSTYLE: refused
    struct.pack(">I", 0xFFFFFFFF),                   # unknown flags: MUST drop
    struct.pack(">I", w.FLAG_C_FIXED_NEWSTYLE | 4),
], ids=["http", "no-fixed-newstyle", "all-flags", "unknown-flag"])
def test_bad_client_flags_close_the_connection(nbd_strata, bystander, client_flags):
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.read_greeting(sock)
        w.send_ignoring_reset(sock, client_flags)
        assert w.is_closed(sock), "the server kept a connection whose client flags are wrong"
    bystander()


def test_garbage_blast_before_the_greeting_is_read(nbd_strata, bystander):
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.send_ignoring_reset(sock, os.urandom(1 * MiB))
        assert w.is_closed(sock)
    bystander()


def test_bad_option_magic_closes(nbd_strata, bystander):
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.handshake(sock)
        w.send_ignoring_reset(sock, struct.pack(">QII", 0x1122334455667788, w.OPT_LIST, 0))
        assert w.is_closed(sock)
    bystander()


def test_oversized_option_is_refused_without_buffering(nbd_strata, bystander):
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.handshake(sock)
        w.send_option(sock, w.OPT_GO, b"x" * (1 * MiB))
        try:
            _, reply_type, _ = w.read_option_reply(sock)
            assert reply_type in (w.REP_ERR_TOO_BIG, w.REP_ERR_INVALID), f"a 1 MiB option answered {reply_type:#x}"
            assert sorted(w.list_exports(sock)) == ["bad", "bad@s"], "the session did not go on"
        except w.Closed:
            pass                                   # hanging up is allowed too
    # A header that claims almost 4 GiB of option data, then the client goes away.
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.handshake(sock)
        w.send_option(sock, w.OPT_GO, b"x" * 64, length=0xFFFFFFF0)
        w.send_ignoring_reset(sock, b"\x00" * (4 * MiB))
    bystander()


def test_unknown_option_is_unsupported_and_the_session_continues(nbd_strata, bystander):
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.handshake(sock)
        replies = w.option_replies(sock, 0x1234, b"z" * 100)
        assert [t for t, _ in replies] == [w.REP_ERR_UNSUP], f"unknown option answered {replies}"
        tls = w.final_reply_type(w.option_replies(sock, w.OPT_STARTTLS))
        assert tls in (w.REP_ERR_POLICY, w.REP_ERR_UNSUP), f"STARTTLS answered {tls:#x}"
        bad_list = w.final_reply_type(w.option_replies(sock, w.OPT_LIST, b"unexpected data"))
        assert bad_list == w.REP_ERR_INVALID, f"NBD_OPT_LIST with data answered {bad_list:#x}"
        assert sorted(w.list_exports(sock)) == ["bad", "bad@s"]
        w.negotiate_structured(sock)
        info = w.info_or_go(sock, w.OPT_GO, "bad")
        assert info.size_bytes == VOLUME_BYTES
        sess = w.Session(sock, info, structured=True)
        error, data = sess.read(0, 4 * KiB)
        assert error == 0 and data == w.pattern(1, SEED_BYTES)[:4 * KiB]
        sess.disconnect()
    bystander()


def test_unknown_export(nbd_strata, bystander):
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.handshake(sock)
        with pytest.raises(w.OptionError) as info:
            w.info_or_go(sock, w.OPT_GO, "no-such-volume")
        assert info.value.reply_type == w.REP_ERR_UNKNOWN
        with pytest.raises(w.OptionError) as info:
            w.info_or_go(sock, w.OPT_INFO, "bad@no-such-snapshot")
        assert info.value.reply_type == w.REP_ERR_UNKNOWN
        snap = w.info_or_go(sock, w.OPT_INFO, "bad@s")     # the session goes on
        assert snap.read_only and snap.size_bytes == VOLUME_BYTES
    with w.open_socket(nbd_strata.nbd_port) as sock:
        w.handshake(sock)
        w.send_option(sock, w.OPT_EXPORT_NAME, b"no-such-volume")   # cannot error: MUST close
        assert w.is_closed(sock)
    bystander()


def test_export_flags_and_block_sizes(nbd_strata, bystander):
    sess = session(nbd_strata)
    f = sess.info.flags
    for flag, name in [(w.TF_HAS_FLAGS, "HAS_FLAGS"), (w.TF_SEND_FLUSH, "SEND_FLUSH"), (w.TF_SEND_FUA, "SEND_FUA"),
                       (w.TF_SEND_TRIM, "SEND_TRIM"), (w.TF_SEND_WRITE_ZEROES, "SEND_WRITE_ZEROES"),
                       (w.TF_CAN_MULTI_CONN, "CAN_MULTI_CONN")]:
        assert f & flag, f"volume export flags {f:#x} lack {name}"
    assert not f & w.TF_READ_ONLY
    assert sess.info.block_sizes is not None, "NBD_INFO_BLOCK_SIZE was requested but not sent"
    minimum, preferred, maximum = sess.info.block_sizes
    assert minimum in (1, 512) and preferred == 4096 and maximum >= 1 * MiB, sess.info.block_sizes
    sess.disconnect()
    snap = session(nbd_strata, "bad@s")
    assert snap.info.flags & w.TF_READ_ONLY
    snap.disconnect()
    bystander()


# --- transmission ----------------------------------------------------------------

@pytest.mark.parametrize("structured", [True, False], ids=["structured", "simple"])
def test_requests_past_the_end_are_einval(nbd_strata, bystander, structured):
    sess = session(nbd_strata, structured=structured)
    end = VOLUME_BYTES
    for offset, length in [(end - 4 * KiB, 8 * KiB), (end, 1), (end + 1 * GiB, 4 * KiB),
                           ((1 << 64) - 4 * KiB, 8 * KiB)]:
        error, _ = sess.read(offset, length)
        assert error == w.EINVAL, f"READ {offset}+{length}: {w.errno_name(error)}"
        error = sess.call(w.CMD_TRIM, offset, length).error
        assert error == w.EINVAL, f"TRIM {offset}+{length}: {w.errno_name(error)}"
    # A write past the end: ENOSPC by the spec's error-values section, EINVAL also accepted.
    error = sess.write(end - 512, b"\xee" * 1024)
    assert error in (w.ENOSPC, w.EINVAL), f"WRITE past the end: {w.errno_name(error)}"
    error = sess.call(w.CMD_WRITE_ZEROES, end - 512, 1024).error
    assert error in (w.ENOSPC, w.EINVAL), f"WRITE_ZEROES past the end: {w.errno_name(error)}"
    error, data = sess.read(end - 4 * KiB, 4 * KiB)       # the session goes on
    assert error == 0 and data == bytes(4 * KiB), "a rejected write past the end changed the last block"
    sess.disconnect()
    bystander()


def test_oversized_read_is_an_error(nbd_strata, bystander):
    sess = session(nbd_strata)
    error, _ = sess.read(0, 1 * GiB)
    assert error in (w.EINVAL, w.EOVERFLOW), f"READ of 1 GiB: {w.errno_name(error)}"
    maximum = sess.info.block_sizes[2] if sess.info.block_sizes else None
    if maximum and maximum < 0xFFFFFFFF:
        error, _ = sess.read(0, maximum + 4 * KiB)
        assert error in (w.EINVAL, w.EOVERFLOW), f"READ of max block size {maximum} + 4 KiB: {w.errno_name(error)}"
        error, data = sess.read(0, maximum)               # exactly the maximum is fine
        assert error == 0 and data[:SEED_BYTES] == w.pattern(1, SEED_BYTES)
    error, data = sess.read(0, 4 * KiB)
    assert error == 0 and data == w.pattern(1, SEED_BYTES)[:4 * KiB]
    sess.disconnect()
    bystander()


def test_oversized_write_is_refused_without_buffering(nbd_strata, bystander):
    sess = session(nbd_strata)
    sess.request(w.CMD_WRITE, 0, 64 * MiB)
    w.send_ignoring_reset(sess.sock, b"\xee" * (64 * MiB))
    try:
        reply = sess.reply()
        assert reply.error in (w.EINVAL, w.EOVERFLOW), f"WRITE of 64 MiB: {w.errno_name(reply.error)}"
        error, data = sess.read(0, SEED_BYTES)             # still in sync with the stream
        assert error == 0 and data == w.pattern(1, SEED_BYTES)
    except w.Closed:
        pass                                               # a hard disconnect is allowed for this one
    sess.sock.close()
    # A header that claims almost 4 GiB, then the client goes away.
    sess = session(nbd_strata)
    sess.request(w.CMD_WRITE, 0, 0xFFFFF000)
    w.send_ignoring_reset(sess.sock, b"\xee" * (8 * MiB))
    sess.sock.close()
    bystander()


def test_writes_to_a_snapshot_are_eperm(nbd_strata, bystander):
    sess = session(nbd_strata, "bad@s")
    assert sess.info.read_only
    assert sess.write(0, b"\xee" * 4096) == w.EPERM
    assert sess.write(0, b"\xee" * 512, w.CMD_FLAG_FUA) == w.EPERM
    assert sess.call(w.CMD_TRIM, 0, 64 * KiB).error == w.EPERM
    assert sess.call(w.CMD_WRITE_ZEROES, 0, 64 * KiB).error == w.EPERM
    error, data = sess.read(0, SEED_BYTES)
    assert error == 0 and data == w.pattern(1, SEED_BYTES)
    sess.disconnect()
    bystander()


def test_unknown_command_and_flags_are_einval(nbd_strata, bystander):
    sess = session(nbd_strata)
    assert sess.call(42).error == w.EINVAL
    assert sess.call(w.CMD_FLUSH, flags=0x4000).error == w.EINVAL
    # BLOCK_STATUS without a negotiated meta context.
    assert sess.call(w.CMD_BLOCK_STATUS, 0, 4 * KiB).error == w.EINVAL
    error, _ = sess.read(0, 4 * KiB)
    assert error == 0
    sess.disconnect()
    bystander()


def test_bad_request_magic_closes(nbd_strata, bystander):
    sess = session(nbd_strata)
    sess.request(w.CMD_READ, 0, 4 * KiB, magic=0xDEADBEEF)
    assert w.is_closed(sess.sock)
    sess.sock.close()
    bystander()


def test_garbage_blast_in_transmission_closes(nbd_strata, bystander):
    sess = session(nbd_strata)
    w.send_ignoring_reset(sess.sock, os.urandom(1 * MiB))
    assert w.is_closed(sess.sock)
    sess.sock.close()
    bystander()


def test_block_status_reports_data_and_holes(nbd_strata, bystander):
    sess = session(nbd_strata, meta_contexts=("base:allocation",))
    reply = sess.call(w.CMD_BLOCK_STATUS, 0, 1 * MiB)
    assert reply.error == 0 and len(reply.extents) == 1
    _, extents = reply.extents[0]
    assert extents[0] == (SEED_BYTES, 0), f"first extent {extents[0]}"
    assert extents[1][1] == 3, f"after the seed data: {extents[1]}"
    reply = sess.call(w.CMD_BLOCK_STATUS, 0, 4 * KiB, flags=w.CMD_FLAG_REQ_ONE)
    assert reply.extents[0][1] == [(4 * KiB, 0)]
    error = sess.call(w.CMD_BLOCK_STATUS, VOLUME_BYTES, 4 * KiB).error
    assert error == w.EINVAL, f"BLOCK_STATUS past the end: {w.errno_name(error)}"
    sess.disconnect()
    bystander()


def test_many_idle_handshakes_do_not_block_others(nbd_strata, bystander):
    socks = []
    try:
        for _ in range(50):
            sock = w.open_socket(nbd_strata.nbd_port)
            w.read_greeting(sock)
            socks.append(sock)
        bystander()
    finally:
        for sock in socks:
            sock.close()
    bystander()


def test_client_gone_mid_payload_changes_nothing(nbd_strata, bystander):
    sess = session(nbd_strata)
    sess.request(w.CMD_WRITE, 0, 64 * KiB)
    w.send_ignoring_reset(sess.sock, b"\xee" * (10 * KiB))   # and never the rest
    sess.sock.close()
    bystander()  # checks that the first 64 KiB still hold the seed data


@pytest.mark.strata_args("--nbd-connections-max", "8")
def test_connection_limit_refuses_extra_connections(nbd_strata):
    nbd_strata.create_volume("lim", 1 * MiB)
    sessions = [session(nbd_strata, "lim") for _ in range(8)]
    try:
        extra = w.open_socket(nbd_strata.nbd_port)
        assert w.is_closed(extra, timeout_s=5), "a connection past --nbd-connections-max was kept open"
        extra.close()
        for sess in sessions:                    # the ones inside the limit work
            assert sess.write(0, b"ok") == 0
        sessions.pop().disconnect()

        def one_more():
            try:
                sess = session(nbd_strata, "lim")
            except (w.Closed, OSError):
                return None
            sessions.append(sess)
            return sess
        wait_until(one_more, 10, interval_s=0.1, what="a slot to free up after a disconnect")
        error, data = sessions[-1].read(0, 2)
        assert error == 0 and data == b"ok"
    finally:
        for sess in sessions:
            sess.sock.close()
