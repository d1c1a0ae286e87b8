"""What volumes, snapshots and clones hold, and what they cost, seen through
libnbd and the admin API: each export sees its own data, unwritten ranges
read as zeros, the space accounting adds up, deletes of exported volumes are
refused, and a resize grows the volume with zeros."""

import os
import random
import struct
import threading

import nbd
import pytest

import nbd_wire as w
from strata_server import wait_until

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
BLOCK = 4 * KiB
RECLAIM_TIMEOUT_S = 30


class Volume:
    """A libnbd connection plus a byte model of what the export must hold."""

    def __init__(self, server, export, model=None):
        self.server = server
        self.export = export
        self.h = w.connect(server.nbd_port, export)
        self.model = bytearray(self.h.get_size()) if model is None else bytearray(model)
        assert len(self.model) == self.h.get_size()

    def write(self, offset, data, flags=0):
        self.h.pwrite(data, offset, flags)
        self.model[offset:offset + len(data)] = data

    def zero(self, offset, length, flags=0):
        self.h.zero(length, offset, flags)
        self.model[offset:offset + length] = bytes(length)

    def check(self, what=None):
        """The export read on a new connection equals the model."""
        h = w.connect(self.server.nbd_port, self.export)
        try:
            got = w.read_all(h)
        finally:
            w.close(h)
        if got != self.model:
            i = next(i for i in range(len(got)) if got[i] != self.model[i])
            pytest.fail(f"{what or self.export}: byte {i} is {got[i]:#x}, expected {self.model[i]:#x}")

    def close(self):
        w.close(self.h)


def allocated(server, name):
    return server.volume(name)["allocated_bytes"]


def snapshot_info(server, volume, name):
    [snap] = [s for s in server.snapshots(volume) if s["name"] == name]
    return snap


def test_snapshot_and_clone_each_see_their_own_data(nbd_strata):
    s = nbd_strata
    s.create_volume("base", 16 * MiB)
    base = Volume(s, "base")
    base.write(0, w.pattern(1, 1 * MiB))                       # A
    base.write(5 * MiB + 100, w.pattern(2, 10000))
    base.write(15 * MiB + 4095, b"\xaa")
    model_a = bytes(base.model)

    snap = s.create_snapshot("base", "s1")
    assert snap["export"] == "base@s1" and snap["size_bytes"] == 16 * MiB
    base.write(512 * KiB, w.pattern(3, 1 * MiB))               # B: overlaps A
    base.write(5 * MiB + 150, b"\x42")                         # sub-block, inside A's data
    base.write(10 * MiB, w.pattern(4, 64 * KiB))               # where A wrote nothing
    base.h.flush()
    base.check("the volume after writing B")

    snap_view = Volume(s, "base@s1", model_a)
    assert snap_view.h.is_read_only(), "a snapshot export must be read-only"
    snap_view.check("the snapshot (must still show A)")

    clone_info = s.create_clone("base@s1", "cl")
    assert clone_info["origin"] == "base@s1" and clone_info["size_bytes"] == 16 * MiB
    clone = Volume(s, "cl", model_a)
    assert not clone.h.is_read_only()
    clone.check("the clone (must show A)")
    clone.write(0, w.pattern(5, 8 * KiB))                     # C
    clone.write(5 * MiB + 101, b"xyz")
    clone.write(12 * MiB, w.pattern(6, 3 * BLOCK))
    clone.h.flush()
    clone.check("the clone after writing C")
    base.check("the parent volume after writes to its clone")
    snap_view.check("the snapshot after writes to its clone")

    # A snapshot of the clone and a clone of that: the chain reads through.
    s.create_snapshot("cl", "t")
    s.create_clone("cl@t", "cl2")
    cl2 = Volume(s, "cl2", clone.model)
    cl2.check("a clone of the clone")
    cl2.write(12 * MiB + 1, b"\x00\x01")
    cl2.check()
    clone.check("the first clone after writes to its own clone")

    volumes = {v["name"]: v for v in s.volumes()["volumes"]}
    assert volumes["cl"]["origin"] == "base@s1" and volumes["cl2"]["origin"] == "cl@t"
    assert volumes["base"]["origin"] == "" and volumes["base"]["snapshots"] == ["s1"]
    assert snapshot_info(s, "base", "s1")["clones"] == 1
    for v in (base, snap_view, clone, cl2):
        v.close()


def test_unwritten_ranges_read_zeros_and_report_holes(nbd_strata):
    size = 10 * GiB
    nbd_strata.create_volume("sparse", size)
    h = w.connect(nbd_strata.nbd_port, "sparse")
    try:
        assert h.get_size() == size
        for offset, length in [(0, 4 * KiB), (5 * GiB - 1, 2), (size - 1 * MiB, 1 * MiB), (3 * GiB + 7, 100000)]:
            assert h.pread(length, offset) == bytes(length), f"unwritten range at {offset} is not zeros"
        assert w.allocation_map(h) == [(0, size, nbd.STATE_HOLE | nbd.STATE_ZERO)]
        h.pwrite(b"\x01" * 10, 7 * GiB + 4090)              # touches two blocks
        h.flush()
        assert w.allocation_map(h, 7 * GiB - 1 * MiB, 2 * MiB) == [
            (7 * GiB - 1 * MiB, 1 * MiB, 3), (7 * GiB, 2 * BLOCK, 0), (7 * GiB + 2 * BLOCK, 1 * MiB - 2 * BLOCK, 3)]
        got = h.pread(2 * BLOCK, 7 * GiB)
        assert got == bytes(4090) + b"\x01" * 10 + bytes(2 * BLOCK - 4100)
    finally:
        w.close(h)
    assert allocated(nbd_strata, "sparse") == 2 * BLOCK


def test_space_accounting(nbd_strata):
    s = nbd_strata
    s.create_volume("acct", 64 * MiB)
    assert allocated(s, "acct") == 0 and s.volume_usage()["allocated_bytes"] == 0
    v = Volume(s, "acct")
    for i in range(8):
        v.write(i * MiB, w.pattern(100 + i, 1 * MiB))
    v.write(20 * MiB, b"\x01")                         # 1 byte: one block
    v.write(30 * MiB + 100, w.pattern(9, 5000))        # inside two blocks
    v.write(40 * MiB + BLOCK - 256, w.pattern(10, 512))  # straddles two blocks
    v.h.flush()
    expected = 8 * MiB + 5 * BLOCK
    assert allocated(s, "acct") == expected
    assert s.volume_usage()["allocated_bytes"] == expected

    v.h.trim(2 * MiB, 2 * MiB)                                 # whole blocks: released
    v.model[2 * MiB:4 * MiB] = bytes(2 * MiB)
    v.h.trim(2 * BLOCK, 6 * MiB + 100)                         # only the middle block is whole
    v.model[6 * MiB + BLOCK:6 * MiB + 2 * BLOCK] = bytes(BLOCK)
    v.zero(4 * MiB, 1 * MiB)                                   # may punch: released
    v.h.flush()
    expected -= 2 * MiB + BLOCK + 1 * MiB
    assert allocated(s, "acct") == expected, "TRIM and WRITE_ZEROES did not release whole blocks"
    v.check("after trim and write_zeroes")

    # NO_HOLE: the range reads as zeros and stays (or becomes) allocated.
    v.zero(7 * MiB, 64 * KiB, nbd.CMD_FLAG_NO_HOLE)
    v.zero(50 * MiB, 64 * KiB, nbd.CMD_FLAG_NO_HOLE)
    v.h.flush()
    expected += 64 * KiB
    assert allocated(s, "acct") == expected, "WRITE_ZEROES with NO_HOLE must leave the range allocated"
    assert w.allocation_map(v.h, 50 * MiB, 64 * KiB)[0][2] & nbd.STATE_HOLE == 0
    v.check("after write_zeroes with NO_HOLE")

    # A snapshot holds the old blocks; an overwrite costs only what it overwrites.
    before = s.volume_usage()
    snap = s.create_snapshot("acct", "s")
    assert snap["allocated_bytes"] == expected
    assert allocated(s, "acct") == 0
    v.write(0, w.pattern(200, 1 * MiB))
    v.h.flush()
    usage0 = s.volume_usage()
    v.write(7 * MiB + 3 * BLOCK + 17, b"!")             # 1 byte into a snapshotted block
    v.h.flush()
    usage1 = s.volume_usage()
    assert allocated(s, "acct") == 1 * MiB + BLOCK
    assert usage1["allocated_bytes"] == before["allocated_bytes"] + 1 * MiB + BLOCK
    cow_bytes = usage1["disk_write_bytes"] - usage0["disk_write_bytes"]
    assert 1 <= cow_bytes <= 2 * BLOCK, f"a 1-byte copy-on-write wrote {cow_bytes} bytes to disk"
    assert usage1["client_write_bytes"] - usage0["client_write_bytes"] == 1

    # Deleting the snapshot reclaims the overwritten blocks in the background.
    status, text = s.delete_snapshot("acct@s")
    assert status == 204, f"DELETE /v1/snapshots/acct@s answered {status}: {text}"
    s.wait_usage(lambda u: u["allocated_bytes"] == expected and u["hidden_layers"] == 0,
                 f"the deleted snapshot's overwritten blocks to be reclaimed (allocated_bytes back to {expected})",
                 RECLAIM_TIMEOUT_S)
    v.check("after the snapshot's space was reclaimed")
    v.close()

    assert s.delete_volume("acct")[0] == 204
    s.wait_usage(lambda u: u["allocated_bytes"] == 0 and u["layers"] == 0,
                 "the deleted volume's space to be reclaimed", RECLAIM_TIMEOUT_S)


def disk_usage_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def test_thin_10g_volume_uses_disk_for_written_blocks_only(nbd_strata):
    s = nbd_strata
    # The first catalog write makes RocksDB preallocate its WAL (about 70 MiB
    # with the default write buffer); that is a one-time cost of the metadata
    # store, not of volumes, so the baseline is taken after it.
    s.create_volume("warmup", 1 * MiB)
    baseline = disk_usage_bytes(s.data_dir)
    s.create_volume("thin", 10 * GiB)
    h = w.connect(s.nbd_port, "thin")
    try:
        h.pwrite(w.pattern(1, 1 * MiB), 9 * GiB)
        h.flush()
        grown = disk_usage_bytes(s.data_dir) - baseline
        assert allocated(s, "thin") == 1 * MiB
        assert grown < 1 * MiB + 16 * MiB, f"a 10 GiB volume with 1 MiB written grew the data dir by {grown >> 20} MiB"
        for i in range(32):
            h.pwrite(w.pattern(2 + i, 1 * MiB), i * 256 * MiB)
        h.flush()
        grown = disk_usage_bytes(s.data_dir) - baseline
        held = allocated(s, "thin")
        assert held == 33 * MiB
        assert 0.95 * held <= grown <= held + 16 * MiB, f"data dir grew {grown} bytes for {held} allocated"
    finally:
        w.close(h)


def test_resize_grows_with_zeros(nbd_strata):
    s = nbd_strata
    s.create_volume("grow", 8 * MiB)
    v = Volume(s, "grow")
    v.write(8 * MiB - BLOCK, w.pattern(3, BLOCK))
    v.close()
    assert s.resize_volume("grow", 24 * MiB)["size_bytes"] == 24 * MiB
    bigger = Volume(s, "grow", bytes(v.model) + bytes(16 * MiB))
    bigger.check("the grown volume (old data, then zeros)")
    bigger.write(20 * MiB, w.pattern(4, 64 * KiB))
    bigger.write(24 * MiB - 1, b"\xff")
    bigger.h.flush()
    bigger.check()
    bigger.close()
    status, text = s.http("POST", "/v1/volumes/grow/resize", {"size_bytes": 4 * MiB})
    assert status == 400, f"shrinking answered {status}: {text}"
    assert s.volume("grow")["size_bytes"] == 24 * MiB


def test_delete_refused_while_exported(nbd_strata):
    s = nbd_strata
    s.create_volume("busy", 4 * MiB)
    s.create_snapshot("busy", "s")
    h = w.connect(s.nbd_port, "busy")
    hs = w.connect(s.nbd_port, "busy@s")
    try:
        assert s.volume("busy")["open_exports"] >= 1
        status, text = s.delete_volume("busy")
        assert status == 409, f"deleting an exported volume answered {status}: {text}"
        status, text = s.delete_snapshot("busy@s")
        assert status == 409, f"deleting an exported snapshot answered {status}: {text}"
        assert h.pread(4, 0) == bytes(4), "the export stopped working after a refused delete"
    finally:
        w.close(h)
        w.close(hs)
    wait_until(lambda: s.volume("busy")["open_exports"] == 0, 10, what="open_exports to drop to 0")
    wait_until(lambda: s.delete_snapshot("busy@s")[0] == 204, 10, what="the snapshot delete to succeed")
    assert s.delete_volume("busy")[0] == 204
    assert s.http("GET", "/v1/volumes/busy")[0] == 404
    with pytest.raises(nbd.Error):
        w.connect(s.nbd_port, "busy")


def test_deleted_snapshot_stays_readable_through_its_clone(nbd_strata):
    s = nbd_strata
    s.create_volume("p", 8 * MiB)
    vol = Volume(s, "p")
    vol.write(0, w.pattern(1, 2 * MiB))
    vol.h.flush()
    s.create_snapshot("p", "s")
    s.create_clone("p@s", "kid")
    kid_model = bytes(vol.model)
    vol.write(1 * MiB, w.pattern(2, 512 * KiB))
    vol.h.flush()
    vol.close()

    status, text = s.delete_snapshot("p@s")
    assert status == 204, f"deleting a snapshot with a live clone answered {status}: {text}"
    assert s.snapshots("p") == []
    with pytest.raises(nbd.Error):
        w.connect(s.nbd_port, "p@s")
    usage = s.volume_usage()
    assert usage["hidden_layers"] == 1, usage
    assert usage["allocated_bytes"] == 2 * MiB + 512 * KiB, usage

    s.restart()
    assert s.volume_usage()["hidden_layers"] == 1
    Volume(s, "kid", kid_model).check("the clone of a deleted snapshot, after a restart")
    Volume(s, "p", vol.model).check("the volume whose snapshot was deleted, after a restart")

    assert s.delete_volume("kid")[0] == 204
    s.wait_usage(lambda u: u["hidden_layers"] == 0 and u["allocated_bytes"] == 2 * MiB,
                 "the hidden layer to be reclaimed once only the volume read through it", RECLAIM_TIMEOUT_S)
    Volume(s, "p", vol.model).check("the volume after the reclaim")


@pytest.mark.parametrize("body", [
    {"name": "", "size_bytes": 4096},
    {"name": "a@b", "size_bytes": 4096},
    {"name": "a/b", "size_bytes": 4096},
    {"name": "sp ace", "size_bytes": 4096},
    {"name": "x" * 129, "size_bytes": 4096},
    {"name": "ok", "size_bytes": 0},
    {"name": "ok", "size_bytes": 4097},
    {"name": "ok", "size_bytes": 9 << 40},
    {"name": "ok", "size": "10X"},
    {"name": "ok"},
], ids=["empty", "at", "slash", "space", "too-long", "zero-size", "unaligned-size", "too-big", "bad-size-text",
        "no-size"])
def test_bad_volume_requests_are_400(nbd_strata, body):
    status, text = nbd_strata.http("POST", "/v1/volumes", body)
    assert status == 400, f"POST /v1/volumes {body} answered {status}: {text}"
    assert nbd_strata.volumes()["volumes"] == []


def test_names_and_conflicts(nbd_strata):
    s = nbd_strata
    longest = "v" * 128
    assert s.create_volume(longest, 4096)["name"] == longest
    assert s.api("POST", "/v1/volumes", {"name": "a.b-c_D9", "size": "1M"}, expect=201)["size_bytes"] == 1 * MiB
    h = w.connect(s.nbd_port, longest)
    w.close(h)
    assert s.http("POST", "/v1/volumes", {"name": "a.b-c_D9", "size_bytes": 4096})[0] == 409
    assert s.http("POST", "/v1/snapshots", {"volume": "nope", "name": "s"})[0] == 404
    assert s.http("POST", "/v1/snapshots", {"volume": "a.b-c_D9", "name": "bad@name"})[0] == 400
    s.create_snapshot("a.b-c_D9", "s")
    assert s.http("POST", "/v1/snapshots", {"volume": "a.b-c_D9", "name": "s"})[0] == 409
    assert s.http("POST", "/v1/clones", {"snapshot": "a.b-c_D9@nope", "name": "c"})[0] == 404
    assert s.http("POST", "/v1/clones", {"snapshot": "a.b-c_D9", "name": "c"})[0] == 400
    assert s.http("POST", "/v1/clones", {"snapshot": "a.b-c_D9@s", "name": longest})[0] == 409
    assert s.http("DELETE", "/v1/snapshots/a.b-c_D9@nope")[0] == 404
    assert s.http("POST", "/v1/volumes/nope/resize", {"size_bytes": 8192})[0] == 404
    names = sorted(v["name"] for v in s.volumes()["volumes"])
    assert names == sorted([longest, "a.b-c_D9"])


def sector_pattern(owner, sector, gen):
    return struct.pack("<IIQ", owner, sector, gen) * 32


@pytest.mark.parametrize("with_snapshot", [False, True], ids=["fresh-blocks", "copy-on-write"])
def test_concurrent_sub_block_writes_lose_nothing(nbd_strata, with_snapshot):
    """Eight connections write 512-byte sectors that share 4 KiB blocks (each
    connection owns one sector of every block), so the read-modify-write of
    partial blocks races on every block. No sector may lose its last write."""
    s = nbd_strata
    size, writers, rounds = 1 * MiB, 8, 3
    s.create_volume("race", size)
    if with_snapshot:  # every other block comes from the parent layer
        h = w.connect(s.nbd_port, "race")
        for b in range(0, size // BLOCK, 2):
            h.pwrite(w.pattern(b, BLOCK), b * BLOCK)
        w.close(h)
        s.create_snapshot("race", "base")
    errors = []

    def writer(owner):
        try:
            h = w.connect(s.nbd_port, "race")
            rng = random.Random(owner)
            for gen in range(1, rounds + 1):
                blocks = list(range(size // BLOCK))
                rng.shuffle(blocks)
                for b in blocks:
                    sector = b * 8 + owner
                    h.pwrite(sector_pattern(owner, sector, gen), sector * 512)
            h.flush()
            w.close(h)
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    h = w.connect(s.nbd_port, "race")
    try:
        data = w.read_all(h)
    finally:
        w.close(h)
    lost = [sector for sector in range(size // 512)
            if data[sector * 512:(sector + 1) * 512] != sector_pattern(sector % 8, sector, rounds)]
    assert not lost, f"{len(lost)} sectors lost their last write, first {lost[:8]}"


def test_snapshot_depth_limit_is_a_clean_error(nbd_strata):
    """Stacking snapshots ends at a named limit with a 4xx, and every snapshot
    made until then still reads right."""
    s = nbd_strata
    s.create_volume("deep", 64 * KiB)
    h = w.connect(s.nbd_port, "deep")
    made = 0
    try:
        for i in range(300):
            h.pwrite(struct.pack("<I", i) * 1024, (i % 16) * BLOCK)
            status, text = s.http("POST", "/v1/snapshots", {"volume": "deep", "name": f"s{i}"})
            if status != 201:
                assert 400 <= status < 500, f"snapshot {i} answered {status}: {text}"
                break
            made += 1
        h.pwrite(b"still writable", 0)
        h.flush()
    finally:
        w.close(h)
    assert made >= 16, f"only {made} snapshots could be stacked"
    for i in (0, made // 2, made - 1):
        snap = w.connect(s.nbd_port, f"deep@s{i}")
        try:
            assert snap.pread(4, (i % 16) * BLOCK) == struct.pack("<I", i), f"snapshot s{i}"
        finally:
            w.close(snap)
