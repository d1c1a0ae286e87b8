"""Volumes survive restarts: a clean SIGTERM restart keeps every acknowledged
write, snapshot and clone; after kill -9, every flushed (or FUA) write is
back, and so are snapshots and clones created before the kill."""

import nbd

import nbd_wire as w

KiB = 1 << 10
MiB = 1 << 20


def read_export(server, export):
    h = w.connect(server.nbd_port, export)
    try:
        return w.read_all(h)
    finally:
        w.close(h)


def populate(server):
    """Writes, a snapshot, a clone; returns {export: expected bytes}. Every
    write is flushed or FUA before this returns."""
    size = 32 * MiB
    server.create_volume("r", size)
    h = w.connect(server.nbd_port, "r")
    model = bytearray(size)

    def put(handle, m, offset, data, flags=0):
        handle.pwrite(data, offset, flags)
        m[offset:offset + len(data)] = data

    try:
        put(h, model, 0, w.pattern(1, 4 * MiB))
        put(h, model, 9 * MiB + 333, w.pattern(2, 5555))
        h.flush()
        server.create_snapshot("r", "s")
        snap = bytes(model)
        put(h, model, 1 * MiB, w.pattern(3, 1 * MiB), nbd.CMD_FLAG_FUA)
        put(h, model, 20 * MiB + 1, b"\x5a" * 3, nbd.CMD_FLAG_FUA)
        h.trim(1 * MiB, 2 * MiB)
        model[2 * MiB:3 * MiB] = bytes(1 * MiB)
        h.flush()
    finally:
        w.close(h)
    server.create_clone("r@s", "c")
    clone = bytearray(snap)
    hc = w.connect(server.nbd_port, "c")
    try:
        put(hc, clone, 5 * MiB, w.pattern(4, 256 * KiB))
        hc.flush()
    finally:
        w.close(hc)
    return {"r": bytes(model), "r@s": snap, "c": bytes(clone)}


def check_all(server, expected, when):
    listing = {v["name"]: v for v in server.volumes()["volumes"]}
    assert set(listing) == {"r", "c"}, f"{when}: volumes {sorted(listing)}"
    assert listing["c"]["origin"] == "r@s" and listing["r"]["snapshots"] == ["s"]
    for export, data in expected.items():
        got = read_export(server, export)
        if got != data:
            i = next(i for i in range(len(data)) if got[i] != data[i])
            raise AssertionError(f"{when}: {export} byte {i} is {got[i]:#x}, expected {data[i]:#x}")


def test_sigterm_restart_keeps_everything(nbd_strata):
    expected = populate(nbd_strata)
    # An acknowledged but unflushed write: a clean shutdown must keep it too.
    h = w.connect(nbd_strata.nbd_port, "r")
    h.pwrite(b"unflushed", 30 * MiB)
    w.close(h)
    r = bytearray(expected["r"])
    r[30 * MiB:30 * MiB + 9] = b"unflushed"
    expected["r"] = bytes(r)
    nbd_strata.restart()
    check_all(nbd_strata, expected, "after a SIGTERM restart")
    # And the restarted server takes new writes.
    h = w.connect(nbd_strata.nbd_port, "c")
    try:
        h.pwrite(b"after", 0)
        h.flush()
        assert h.pread(5, 0) == b"after"
    finally:
        w.close(h)


def test_kill9_after_flush_keeps_flushed_writes(nbd_strata):
    expected = populate(nbd_strata)
    # Leave a connection open with writes in it: the kill lands mid-session.
    h = w.connect(nbd_strata.nbd_port, "r")
    h.pwrite(w.pattern(9, 64 * KiB), 12 * MiB, nbd.CMD_FLAG_FUA)
    r = bytearray(expected["r"])
    r[12 * MiB:12 * MiB + 64 * KiB] = w.pattern(9, 64 * KiB)
    expected["r"] = bytes(r)
    nbd_strata.kill9()
    del h
    nbd_strata.start()
    check_all(nbd_strata, expected, "after kill -9")
    nbd_strata.restart(hard=True)
    check_all(nbd_strata, expected, "after a second kill -9")
