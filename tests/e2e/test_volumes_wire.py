"""The NBD transmission phase byte by byte, with a well-behaved client:
structured READ replies (data and hole chunks that tile the request, DF),
many requests in flight on one connection with replies matched by handle,
FAST_ZERO and NO_HOLE, CACHE, and BLOCK_STATUS after zeroing."""

import pytest

import nbd_wire as w

KiB = 1 << 10
MiB = 1 << 20
TF_SEND_FAST_ZERO = 1 << 11
CMD_CACHE = 5
CMD_FLAG_FAST_ZERO = 1 << 4


@pytest.fixture
def vol(nbd_strata):
    nbd_strata.create_volume("w", 16 * MiB)
    return nbd_strata


def covered(ranges, start, end):
    """True if the union of (offset, length) ranges covers [start, end)."""
    pos = start
    for off, n in sorted(ranges):
        if off > pos:
            break
        pos = max(pos, off + n)
    return pos >= end


def test_structured_read_sends_holes_for_unwritten_ranges(vol):
    sess = w.open_session(vol.nbd_port, "w")
    assert sess.write(64 * KiB, w.pattern(1, 64 * KiB)) == 0
    assert sess.write(1 * MiB + 100, b"\x77" * 100) == 0
    expected = bytearray(2 * MiB)
    expected[64 * KiB:128 * KiB] = w.pattern(1, 64 * KiB)
    expected[1 * MiB + 100:1 * MiB + 200] = b"\x77" * 100

    reply = sess.call(w.CMD_READ, 0, 2 * MiB)
    assert reply.error == 0
    assert reply.tiling_problem(0, 2 * MiB) is None, reply.tiling_problem(0, 2 * MiB)
    assert reply.read_bytes(0, 2 * MiB) == bytes(expected)
    assert covered(reply.holes, 0, 64 * KiB) and covered(reply.holes, 128 * KiB, 1 * MiB) \
        and covered(reply.holes, 1 * MiB + 4 * KiB, 2 * MiB), f"unwritten ranges not sent as holes: {reply.holes}"
    assert reply.chunks[-1][1] & w.REPLY_FLAG_DONE
    assert all(not flags & w.REPLY_FLAG_DONE for _, flags in reply.chunks[:-1])

    # An unaligned read that starts and ends inside blocks.
    error, data = sess.read(64 * KiB - 3, 4 * KiB + 7)
    assert error == 0 and data == bytes(expected[64 * KiB - 3:68 * KiB + 4])

    # DF: one data chunk, zeros included.
    assert sess.info.flags & w.TF_SEND_DF, "SEND_DF is not advertised with structured replies"
    reply = sess.call(w.CMD_READ, 0, 2 * MiB, flags=w.CMD_FLAG_DF)
    assert reply.error == 0 and not reply.holes and len(reply.data) == 1, reply.chunks
    assert reply.read_bytes(0, 2 * MiB) == bytes(expected)
    sess.disconnect()

    simple = w.open_session(vol.nbd_port, "w", structured=False)
    assert not simple.info.flags & w.TF_SEND_DF, "SEND_DF advertised without structured replies"
    error, data = simple.read(0, 2 * MiB)
    assert error == 0 and data == bytes(expected)
    simple.disconnect()


@pytest.mark.parametrize("structured", [True, False], ids=["structured", "simple"])
def test_many_requests_in_flight_on_one_connection(vol, structured):
    """More requests than the server runs at once (64), sent before reading
    any reply; every reply comes back once, matched by its handle."""
    sess = w.open_session(vol.nbd_port, "w", structured=structured)
    count = 150
    blocks = {}
    for i in range(count):
        offset = (i * 7 % count) * 8 * KiB + (i % 3) * 512
        blocks[sess.request(w.CMD_WRITE, offset, 4 * KiB, data=w.pattern(100 + i, 4 * KiB))] = (offset, i)
    flush = sess.request(w.CMD_FLUSH)
    got = {}
    for _ in range(count + 1):
        reply = sess.reply()
        assert reply.handle not in got, f"two replies for handle {reply.handle}"
        got[reply.handle] = reply.error
    assert set(got) == set(blocks) | {flush}
    assert all(e == 0 for e in got.values()), {h: w.errno_name(e) for h, e in got.items() if e}

    reads = {sess.request(w.CMD_READ, offset, 4 * KiB): (offset, i) for offset, i in blocks.values()}
    for _ in range(count):
        reply = sess.reply()
        offset, i = reads.pop(reply.handle)
        assert reply.error == 0
        if structured:
            assert reply.tiling_problem(offset, 4 * KiB) is None
        assert reply.read_bytes(offset, 4 * KiB) == w.pattern(100 + i, 4 * KiB), f"block of write {i}"
    assert not reads
    sess.disconnect()


def test_fast_zero_and_no_hole(vol):
    sess = w.open_session(vol.nbd_port, "w", meta_contexts=("base:allocation",))
    assert sess.info.flags & TF_SEND_FAST_ZERO, "SEND_FAST_ZERO is not advertised"
    data = w.pattern(5, 256 * KiB)
    assert sess.write(0, data) == 0
    current = bytearray(data)

    def check_zeroing(offset, length, flags):
        error = sess.call(w.CMD_WRITE_ZEROES, offset, length, flags).error
        assert error in (0, w.ENOTSUP), f"WRITE_ZEROES {offset}+{length} flags {flags:#x}: {w.errno_name(error)}"
        if error == 0:
            current[offset:offset + length] = bytes(length)
        err, got = sess.read(0, len(current))
        assert err == 0 and got == bytes(current), \
            f"WRITE_ZEROES {offset}+{length} flags {flags:#x} answered {w.errno_name(error)} and left other bytes"
        return error

    # Whole blocks can be punched: a fast zero must be possible.
    assert check_zeroing(0, 64 * KiB, CMD_FLAG_FAST_ZERO) == 0
    check_zeroing(64 * KiB + 100, 5000, CMD_FLAG_FAST_ZERO)               # partial blocks: may refuse
    check_zeroing(128 * KiB, 64 * KiB, CMD_FLAG_FAST_ZERO | w.CMD_FLAG_NO_HOLE)
    assert check_zeroing(192 * KiB, 64 * KiB, w.CMD_FLAG_NO_HOLE) == 0    # without FAST_ZERO: never ENOTSUP

    status = sess.call(w.CMD_BLOCK_STATUS, 0, 64 * KiB)
    assert status.error == 0 and status.extents[0][1][0] == (64 * KiB, 3), \
        f"a punched range should be a hole that reads zeros: {status.extents}"
    status = sess.call(w.CMD_BLOCK_STATUS, 192 * KiB, 64 * KiB)
    assert status.extents[0][1][0][1] & 1 == 0, f"NO_HOLE left a hole: {status.extents}"

    assert sess.call(CMD_CACHE, 0, 64 * KiB).error == 0
    assert sess.call(w.CMD_FLUSH, flags=w.CMD_FLAG_FUA).error == 0
    sess.disconnect()
