#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): flushed volume writes survive kill -9.

Several writer threads, one NBD connection each (python libnbd), write runs of
512-byte sectors to one volume. Every sector written carries a pattern derived
from (sector, generation), so its content names the write it came from. The
writers FLUSH now and then and some writes are FUA; the test notes which
writes a successful FLUSH covered. Because the export is CAN_MULTI_CONN, a
FLUSH on any connection covers the writes acknowledged on every connection
before it was sent. In each cycle a snapshot (and a clone of it) is taken
while the writers run, an older snapshot is deleted (its space is reclaimed
in the background, sometimes just before the kill), every third cycle the
volume grows, and then the server is SIGKILLed mid-write and restarted.

After each restart every sector is read back and must hold exactly:
  - the last durable write to it (flushed or FUA), or a later write to it
    (acknowledged or still in flight at the kill) -- never anything older,
    never a mix within a sector, never garbage;
  - zeros if it was never written.
A snapshot must hold, per sector, the write acknowledged before the snapshot
was requested or one in flight while it was taken, never a write issued after
it returned; and it must never change afterwards. A clone of it, never
written, must read exactly like it.

    usage: tests/crash/volume_crash_test.py [--cycles 10] [--writers 4] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.) Also runs under pytest.
"""

import argparse
import random
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from strata_server import StrataServer  # noqa: E402
from crash_report import check, finish  # noqa: E402

SECTOR = 512
BLOCK = 4096
MAGIC = 0x564F4C43  # "VOLC"
CHUNK_SECTORS = 128  # 64 KiB; each chunk belongs to one writer
RUN_SECTORS_MAX = 24
VOLUME = "crash"
SNAPSHOTS_KEPT = 2
GROW_BYTES = 1 << 20
JOIN_TIMEOUT_S = 30


def sector_bytes(sector, gen):
    return struct.pack("<IIQ", MAGIC, sector, gen) * (SECTOR // 16)


ZERO_SECTOR = bytes(SECTOR)


def decode(data, first_sector=0):
    """Generation held by each sector: 0 for zeros, -1 for anything that is
    not exactly one write's pattern (torn, corrupt or misplaced)."""
    gens = []
    for i in range(len(data) // SECTOR):
        chunk = data[i * SECTOR:(i + 1) * SECTOR]
        if chunk == ZERO_SECTOR:
            gens.append(0)
            continue
        magic, sector, gen = struct.unpack_from("<IIQ", chunk)
        ok = magic == MAGIC and sector == first_sector + i and chunk == sector_bytes(sector, gen)
        gens.append(gen if ok else -1)
    return gens


class Ledger:
    """What was issued, acknowledged and made durable, per sector, this cycle."""

    def __init__(self, base_gens):
        self.lock = threading.Lock()
        self.base = list(base_gens)           # verified and flushed at the cycle start
        self.history = [[] for _ in base_gens]  # per sector: [gen, ack_seq or None, fua]
        self.ack_counter = 0
        self.durable_seq = 0
        self.writes_acked = 0
        self.flushes = 0

    def issue(self, first, count, gen, fua):
        entries = []
        with self.lock:
            for s in range(first, first + count):
                entry = [gen, None, fua]
                self.history[s].append(entry)
                entries.append(entry)
        return entries

    def acked(self, entries):
        with self.lock:
            self.ack_counter += 1
            for e in entries:
                e[1] = self.ack_counter
            self.writes_acked += 1

    def flush_begins(self):
        with self.lock:
            return self.ack_counter

    def flush_done(self, covered_seq):
        with self.lock:
            self.durable_seq = max(self.durable_seq, covered_seq)
            self.flushes += 1

    def durable(self, entry):
        return entry[1] is not None and (entry[2] or entry[1] <= self.durable_seq)

    def allowed_after_crash(self, s):
        hist = self.history[s]
        last = -1
        for i, e in enumerate(hist):
            if self.durable(e):
                last = i
        allowed = {hist[last][0]} if last >= 0 else {self.base[s]}
        allowed.update(e[0] for e in hist[last + 1:])
        return allowed

    def snapshot_start(self):
        """Per sector, the index of the last acknowledged write (-1: the base)."""
        with self.lock:
            marks = []
            for hist in self.history:
                idx = -1
                for i, e in enumerate(hist):
                    if e[1] is not None:
                        idx = i
                marks.append(idx)
            return marks

    def snapshot_allowed(self, start_marks, end_lengths):
        allowed = []
        for s, hist in enumerate(self.history):
            begin = start_marks[s]
            gens = {self.base[s]} if begin < 0 else set()
            gens.update(e[0] for e in hist[max(begin, 0):end_lengths[s]])
            allowed.append(gens)
        return allowed


class Writer(threading.Thread):
    def __init__(self, index, server, ledger, chunks, gen_source, rng):
        super().__init__(daemon=True)
        self.index, self.server, self.ledger, self.chunks = index, server, ledger, chunks
        self.gen_source, self.rng = gen_source, rng
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            h = nbd.NBD()
            h.set_export_name(VOLUME)
            h.connect_tcp("127.0.0.1", str(self.server.nbd_port))
            assert h.can_multi_conn(), "the volume export does not advertise CAN_MULTI_CONN"
        except Exception as e:  # reported by the main thread
            self.error = e
            return
        try:
            while not self.stop.is_set():
                if self.rng.random() < 0.05:
                    covered = self.ledger.flush_begins()
                    h.flush()
                    self.ledger.flush_done(covered)
                    continue
                chunk = self.rng.choice(self.chunks)
                start = self.rng.randrange(CHUNK_SECTORS)
                count = self.rng.randint(1, min(RUN_SECTORS_MAX, CHUNK_SECTORS - start))
                first = chunk * CHUNK_SECTORS + start
                gen = next(self.gen_source)
                fua = self.rng.random() < 0.05
                entries = self.ledger.issue(first, count, gen, fua)
                data = b"".join(sector_bytes(s, gen) for s in range(first, first + count))
                h.pwrite(data, first * SECTOR, nbd.CMD_FLAG_FUA if fua else 0)
                self.ledger.acked(entries)
        except nbd.Error:
            pass  # the server was killed under us: expected


def read_export(server, export):
    h = nbd.NBD()
    h.set_export_name(export)
    h.connect_tcp("127.0.0.1", str(server.nbd_port))
    try:
        size = h.get_size()
        out = bytearray()
        while len(out) < size:
            out += h.pread(min(8 << 20, size - len(out)), len(out))
        return bytes(out)
    finally:
        h.shutdown()


def flush_volume(server):
    h = nbd.NBD()
    h.set_export_name(VOLUME)
    h.connect_tcp("127.0.0.1", str(server.nbd_port))
    h.flush()
    h.shutdown()


def mismatches(gens, allowed):
    if len(gens) != len(allowed):
        return [("size in sectors", len(gens), len(allowed))]
    return [(s, gens[s], sorted(allowed[s])[:4]) for s in range(len(gens)) if gens[s] not in allowed[s]]


class GenSource:
    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0

    def __next__(self):
        with self.lock:
            self.value += 1
            return self.value



def retire_oldest(server, snapshots):
    """Deletes the oldest snapshots (and their clones) past SNAPSHOTS_KEPT;
    their space is then reclaimed in the background."""
    while len(snapshots) > SNAPSHOTS_KEPT:
        old = snapshots.pop(0)
        status, text = server.delete_volume(old["clone"])
        assert status == 204, f"DELETE clone {old['clone']}: {status} {text}"
        status, text = server.delete_snapshot(f"{VOLUME}@{old['name']}")
        assert status == 204, f"DELETE snapshot {old['name']}: {status} {text}"


def run_cycle(server, cycle, args, rng, base, gens, snapshots, results):
    """One write phase with a snapshot (and every third cycle a resize) in it,
    kill -9, restart and verification. Odd cycles retire old snapshots right
    after the new one, even cycles just before the kill, so that the kill
    lands in the middle of their reclaim."""
    sectors = len(base)
    ledger = Ledger(base)
    chunks = list(range(sectors // CHUNK_SECTORS))
    writers = [Writer(i, server, ledger, [c for c in chunks if c % args.writers == i], gens,
                      random.Random(rng.random())) for i in range(args.writers)]
    for wr in writers:
        wr.start()
    time.sleep(rng.uniform(0.3, 1.0))
    new_sectors = sectors
    if cycle % 3 == 0:  # grow while the writers write (their connections keep the old size)
        new_sectors = sectors + GROW_BYTES // SECTOR
        server.resize_volume(VOLUME, new_sectors * SECTOR)
    snap = {"name": f"s{cycle}", "clone": f"c{cycle}", "start": ledger.snapshot_start(), "sectors": new_sectors}
    admin_started = time.monotonic()
    acked_before_admin = ledger.writes_acked
    server.create_snapshot(VOLUME, snap["name"])
    with ledger.lock:
        snap["end"] = [len(h) for h in ledger.history]
    server.create_clone(f"{VOLUME}@{snap['name']}", snap["clone"])
    snapshots.append(snap)
    if cycle % 2:
        retire_oldest(server, snapshots)
    admin_s = time.monotonic() - admin_started
    acked_during_admin = ledger.writes_acked - acked_before_admin
    time.sleep(rng.uniform(args.gap_min_s, args.gap_max_s))
    if cycle % 2 == 0:
        retire_oldest(server, snapshots)
        time.sleep(rng.uniform(0, 0.05))
    server.kill9()
    print(f"cycle {cycle}: snapshot, clone and retire took {admin_s * 1000:.0f} ms "
          f"({acked_during_admin} writes acked meanwhile); {ledger.writes_acked} writes acked before the kill")
    for wr in writers:
        wr.stop.set()
        wr.join(JOIN_TIMEOUT_S)
    errors = [repr(wr.error) for wr in writers if wr.error or wr.is_alive()]
    check(results, f"cycle {cycle}: writers ran until the kill", not errors, "; ".join(errors))
    server.start()

    data = read_export(server, VOLUME)
    check(results, f"cycle {cycle}: the volume has its size after the restart", len(data) == new_sectors * SECTOR,
          f"{len(data)} bytes, expected {new_sectors * SECTOR}")
    got = decode(data)
    allowed = [ledger.allowed_after_crash(s) for s in range(sectors)] + [{0}] * (new_sectors - sectors)
    bad = mismatches(got, allowed)
    check(results, f"cycle {cycle}: every flushed write is back, nothing older or torn "
                   f"({ledger.writes_acked} writes acked, {ledger.flushes} flushes)",
          not bad, f"{len(bad)} sectors wrong; first (sector, got gen, allowed gens): {bad[:5]}")
    checked = len(got) * SECTOR // BLOCK

    if "content" not in snap:
        snap["allowed"] = (ledger.snapshot_allowed(snap["start"], snap["end"])
                           + [{0}] * (new_sectors - sectors))
    for s in snapshots:
        export = f"{VOLUME}@{s['name']}"
        snap_gens = decode(read_export(server, export))
        if "content" not in s:
            bad = mismatches(snap_gens, s["allowed"]) if len(snap_gens) == s["sectors"] else ["size"]
            check(results, f"cycle {cycle}: snapshot {export} holds what was acknowledged when it was taken",
                  not bad, f"{len(bad)} sectors wrong; first {bad[:5]}")
            s["content"] = snap_gens
            del s["allowed"]
        else:
            changed = [i for i in range(len(snap_gens)) if snap_gens[i] != s["content"][i]]
            check(results, f"cycle {cycle}: snapshot {export} is unchanged",
                  not changed and len(snap_gens) == len(s["content"]),
                  f"{len(changed)} sectors changed; first {changed[:5]}")
        clone_gens = decode(read_export(server, s["clone"]))
        check(results, f"cycle {cycle}: clone {s['clone']} reads like its snapshot", clone_gens == s["content"])
        checked += 2 * len(snap_gens) * SECTOR // BLOCK

    flush_volume(server)  # what we just verified is now the durable base
    return got, checked


def run(args):
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="strata-volume-crash-"))
    server = StrataServer(workdir, name="volcrash", wait_for_nbd=True, extra_args=("--volume-io", args.volume_io))
    results = []
    cycles_done = 0
    blocks_checked = 0
    try:
        server.start()
        size = args.volume_mib << 20
        server.create_volume(VOLUME, size)
        base = [0] * (size // SECTOR)
        gens = GenSource()
        snapshots = []
        for cycle in range(1, args.cycles + 1):
            base, checked = run_cycle(server, cycle, args, rng, base, gens, snapshots, results)
            if any(g < 0 for g in base):
                break  # already reported; later cycles would only repeat it
            cycles_done += 1
            blocks_checked += checked
        print(f"kill cycles: {cycles_done}, blocks checked: {blocks_checked}")
    except Exception as e:
        check(results, "test ran to completion", False, repr(e))
    finally:
        passed = finish(results, server, workdir)
    return passed and cycles_done == args.cycles


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--volume-mib", type=int, default=16)
    ap.add_argument("--gap-min-s", type=float, default=0.5, help="time from the snapshot to the kill")
    ap.add_argument("--gap-max-s", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--volume-io", choices=("buffered", "direct"), default="buffered",
                    help="the server's --volume-io: layer files through the page cache or O_DIRECT")
    args = ap.parse_args(argv)
    print(f"volume crash test: {args.cycles} cycles, {args.writers} writers, {args.volume_mib} MiB, "
          f"seed {args.seed}, --volume-io {args.volume_io}")
    return args


def test_volume_kill9_keeps_every_flushed_write():
    assert run(parse_args([]))


if __name__ == "__main__":
    sys.exit(0 if run(parse_args(sys.argv[1:])) else 1)
