"""Volumes through the NBD tools users run: qemu-img, qemu-io, nbdinfo,
nbdcopy and fio (nbd engine, multi-conn), over TCP and the unix socket.

Each test checks what the tool reports against what the volume holds, read
back independently with libnbd on a fresh connection."""

import json
import shutil
import tempfile
from pathlib import Path

import nbd_wire as w

KiB = 1 << 10
MiB = 1 << 20


def write_file(path, size, pieces):
    """A raw image of `size` bytes: zeros except `pieces` [(offset, bytes)]."""
    image = bytearray(size)
    for offset, data in pieces:
        image[offset:offset + len(data)] = data
    Path(path).write_bytes(image)
    return bytes(image)


def volume_bytes(server, export):
    h = w.connect(server.nbd_port, export)
    try:
        return w.read_all(h)
    finally:
        w.close(h)


def qemu_img_info(url):
    return json.loads(w.run_tool(["qemu-img", "info", "--output=json", url]).stdout)


def first_difference(a, b):
    if len(a) != len(b):
        return f"lengths differ: {len(a)} vs {len(b)}"
    for i in range(0, len(a), 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            j = next(k for k in range(i, min(i + 4096, len(a))) if a[k] != b[k])
            return f"first difference at byte {j}: {a[j]:#x} vs {b[j]:#x}"
    return None


def test_qemu_img_info_sees_size_and_resize(nbd_strata):
    nbd_strata.create_volume("img", 48 * MiB)
    info = qemu_img_info(nbd_strata.nbd_url("img"))
    assert info["virtual-size"] == 48 * MiB
    assert info["format"] == "raw"
    nbd_strata.resize_volume("img", 80 * MiB)
    assert qemu_img_info(nbd_strata.nbd_url("img"))["virtual-size"] == 80 * MiB


def test_qemu_img_convert_both_ways(nbd_strata, tmp_path):
    size = 16 * MiB
    src = tmp_path / "src.raw"
    image = write_file(src, size, [(0, w.pattern(1, 3 * MiB)),
                                   (8 * MiB, w.pattern(2, 12345)),      # unaligned end
                                   (size - 4 * KiB, w.pattern(3, 4 * KiB))])
    nbd_strata.create_volume("conv", size)
    url = nbd_strata.nbd_url("conv")

    w.run_tool(["qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, url])
    problem = first_difference(volume_bytes(nbd_strata, "conv"), image)
    assert problem is None, f"volume after `qemu-img convert file -> nbd`: {problem}"
    w.run_tool(["qemu-img", "compare", "-f", "raw", "-F", "raw", src, url])

    out = tmp_path / "out.raw"
    w.run_tool(["qemu-img", "convert", "-f", "raw", "-O", "raw", url, out])
    problem = first_difference(out.read_bytes(), image)
    assert problem is None, f"file after `qemu-img convert nbd -> file`: {problem}"

    allocated = nbd_strata.volume("conv")["allocated_bytes"]
    assert 3 * MiB + 16 * KiB + 4 * KiB <= allocated <= size, f"allocated_bytes {allocated}"


# (pattern byte, offset, length), applied in order; later writes overlap earlier ones.
QEMU_IO_WRITES = [
    (0xA1, 0, 64 * KiB),
    (0xB2, 1 * MiB, 4 * KiB),
    (0xC3, 513, 512),              # unaligned 512-byte write inside the first block run
    (0xD4, 4095, 2),               # straddles a 4 KiB block boundary
    (0xE5, 7 * MiB + 1, 1),        # a single byte
    (0x11, 2 * MiB, 64 * KiB),
    (0x22, 2 * MiB + 1000, 100),   # overwrites the middle of the previous write
    (0xF6, 63 * MiB - 512, 1 * MiB + 512),  # runs to the end of the volume
    (0x33, 5 * MiB + 4 * KiB, 3 * MiB),     # several MiB in one request
]
QEMU_IO_ZEROES = [(2 * MiB + 8 * KiB, 4 * KiB), (5 * MiB + 512 * KiB, 100)]


def constant_runs(model, boundaries):
    """[(byte, offset, length)] over the intervals between the boundaries
    (every write is a constant byte, so each interval holds one value)."""
    points = sorted(set(boundaries) | {0, len(model)})
    runs = []
    for a, b in zip(points, points[1:]):
        value = model[a]
        assert model[a:b] == bytes([value]) * (b - a)
        runs.append((value, a, b - a))
    return runs


def test_qemu_io_patterns_and_zeroes(nbd_strata):
    size = 64 * MiB
    nbd_strata.create_volume("qio", size)
    url = nbd_strata.nbd_url("qio")
    model = bytearray(size)
    commands, bounds = [], []
    for value, offset, length in QEMU_IO_WRITES:
        commands += ["-c", f"write -P {value:#x} {offset} {length}"]
        model[offset:offset + length] = bytes([value]) * length
        bounds += [offset, offset + length]
    for offset, length in QEMU_IO_ZEROES:
        commands += ["-c", f"write -z {offset} {length}"]
        model[offset:offset + length] = bytes(length)
        bounds += [offset, offset + length]
    out = w.run_tool(["qemu-io", "-f", "raw", url, *commands]).stdout
    assert out.count("wrote ") == len(QEMU_IO_WRITES) + len(QEMU_IO_ZEROES), out

    # A second qemu-io (a new connection) verifies every run, zeros included.
    verify = []
    for value, offset, length in constant_runs(model, bounds):
        verify += ["-c", f"read -P {value:#x} {offset} {length}"]
    proc = w.run_tool(["qemu-io", "-f", "raw", "-r", url, *verify], check=False)
    assert "Pattern verification failed" not in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr

    problem = first_difference(volume_bytes(nbd_strata, "qio"), bytes(model))
    assert problem is None, f"volume read back with libnbd: {problem}"


def test_qemu_io_verify_catches_a_wrong_pattern(nbd_strata):
    """The verification above can fail: a wrong pattern is reported."""
    nbd_strata.create_volume("neg", 4 * MiB)
    url = nbd_strata.nbd_url("neg")
    w.run_tool(["qemu-io", "-f", "raw", url, "-c", "write -P 0x5a 4096 4096"])
    proc = w.run_tool(["qemu-io", "-f", "raw", "-r", url, "-c", "read -P 0x5b 4096 4096"], check=False)
    assert "Pattern verification failed" in proc.stdout and proc.returncode != 0


def test_nbdinfo_lists_every_export(nbd_strata):
    nbd_strata.create_volume("a", 8 * MiB)
    nbd_strata.create_volume("b", 16 * MiB)
    w.run_tool(["qemu-io", "-f", "raw", nbd_strata.nbd_url("a"), "-c", "write -P 0x61 0 1M"])
    nbd_strata.create_snapshot("a", "s1")
    nbd_strata.create_clone("a@s1", "c")

    listing = json.loads(w.run_tool(["nbdinfo", "--list", "--json", f"nbd://127.0.0.1:{nbd_strata.nbd_port}"]).stdout)
    exports = {e["export-name"]: e for e in listing["exports"]}
    assert set(exports) == {"a", "b", "a@s1", "c"}, f"exports listed: {sorted(exports)}"
    sizes = {name: e["export-size"] for name, e in exports.items()}
    assert sizes == {"a": 8 * MiB, "b": 16 * MiB, "a@s1": 8 * MiB, "c": 8 * MiB}
    assert exports["a@s1"]["is_read_only"] is True
    for name in ("a", "b", "c"):
        e = exports[name]
        assert e["is_read_only"] is False, name
        for capability in ("can_flush", "can_fua", "can_trim", "can_zero", "can_multi_conn"):
            assert e[capability] is True, f"{name}: {capability} is {e[capability]}"
        assert "base:allocation" in e.get("contexts", []), f"{name}: contexts {e.get('contexts')}"

    # The snapshot's own URL ('@' percent-encoded) opens read-only, with A's data.
    one = json.loads(w.run_tool(["nbdinfo", "--json", nbd_strata.nbd_url("a@s1")]).stdout)
    assert one["exports"][0]["is_read_only"] is True
    w.run_tool(["qemu-io", "-f", "raw", "-r", nbd_strata.nbd_url("a@s1"), "-c", "read -P 0x61 0 1M"])


def data_ranges(entries):
    """Coalesced (offset, length) of map entries without the hole bit."""
    out = []
    for e in entries:
        if e["type"] & 1:
            continue
        if out and out[-1][0] + out[-1][1] == e["offset"]:
            out[-1] = (out[-1][0], out[-1][1] + e["length"])
        else:
            out.append((e["offset"], e["length"]))
    return out


def nbd_map(url):
    entries = json.loads(w.run_tool(["nbdinfo", "--map", "--json", url]).stdout)
    pos = 0
    for e in entries:
        assert e["offset"] == pos, f"map has a gap or overlap at {pos}: {entries}"
        pos += e["length"]
        if e["type"] & 1:
            assert e["type"] & 2, f"a hole that does not read as zeros: {e}"
    return entries, pos


def test_nbdinfo_map_shows_holes_and_data(nbd_strata):
    size = 16 * MiB
    nbd_strata.create_volume("map", size)
    url = nbd_strata.nbd_url("map")
    entries, end = nbd_map(url)
    assert end == size and data_ranges(entries) == [], f"a new volume should be one hole: {entries}"

    h = w.connect(nbd_strata.nbd_port, "map")
    try:
        h.pwrite(w.pattern(7, 64 * KiB), 1 * MiB)
        h.pwrite(w.pattern(8, 4 * KiB), 8 * MiB)
        h.pwrite(b"\x01", 12 * MiB + 100)            # allocates the whole 4 KiB block
        h.flush()
        entries, end = nbd_map(url)
        assert end == size
        assert data_ranges(entries) == [(1 * MiB, 64 * KiB), (8 * MiB, 4 * KiB), (12 * MiB, 4 * KiB)], entries

        h.trim(64 * KiB, 1 * MiB)                    # whole blocks: released, read as zeros
        h.flush()
        entries, _ = nbd_map(url)
        assert data_ranges(entries) == [(8 * MiB, 4 * KiB), (12 * MiB, 4 * KiB)], entries
        assert h.pread(64 * KiB, 1 * MiB) == bytes(64 * KiB)
    finally:
        w.close(h)


def test_nbdcopy_both_directions(nbd_strata, tmp_path):
    size = 8 * MiB
    src = tmp_path / "src.raw"
    image = write_file(src, size, [(0, w.pattern(11, 1 * MiB)), (5 * MiB + 3, w.pattern(12, 70000))])
    nbd_strata.create_volume("cp", size)
    w.run_tool(["nbdcopy", src, nbd_strata.nbd_url("cp")])
    problem = first_difference(volume_bytes(nbd_strata, "cp"), image)
    assert problem is None, f"volume after nbdcopy file -> nbd: {problem}"

    out = tmp_path / "out.raw"
    out.touch()
    w.run_tool(["nbdcopy", nbd_strata.nbd_url("cp"), out])
    problem = first_difference(out.read_bytes(), image)
    assert problem is None, f"file after nbdcopy nbd -> file: {problem}"

    # NBD to NBD: a snapshot export copied into a new volume.
    nbd_strata.create_snapshot("cp", "s")
    nbd_strata.create_volume("cp2", size)
    w.run_tool(["nbdcopy", nbd_strata.nbd_url("cp@s"), nbd_strata.nbd_url("cp2")])
    assert volume_bytes(nbd_strata, "cp2") == image
    # And a read-only snapshot cannot be a destination.
    proc = w.run_tool(["nbdcopy", src, nbd_strata.nbd_url("cp@s")], check=False)
    assert proc.returncode != 0, "nbdcopy wrote into a read-only snapshot export"
    assert volume_bytes(nbd_strata, "cp@s") == image


FIO_JOBS = 4
FIO_SLICE_BYTES = 32 * MiB


def fio(url, workdir, *extra):
    cmd = ["fio", "--name=multi", "--ioengine=nbd", f"--uri={url}", "--rw=randwrite", "--bsrange=4k-64k",
           "--iodepth=16", f"--numjobs={FIO_JOBS}", f"--size={FIO_SLICE_BYTES}",
           f"--offset_increment={FIO_SLICE_BYTES}", "--verify=crc32c", "--verify_fatal=1", "--randrepeat=1",
           "--randseed=4242", "--verify_state_save=0", "--group_reporting", "--output-format=json", *extra]
    proc = w.run_tool(cmd, timeout_s=100, cwd=workdir)
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    job = report["jobs"][0]
    assert job["error"] == 0, f"fio job error {job['error']}: {proc.stdout[-2000:]}"
    return job


def test_fio_multi_conn_randwrite_then_verify(nbd_strata, tmp_path):
    """Four fio jobs, one NBD connection each, write their own slice of one
    volume with crc32c verify headers, verify them, and a second fio run
    (new connections) verifies them again."""
    nbd_strata.create_volume("fio", FIO_JOBS * FIO_SLICE_BYTES)
    url = nbd_strata.nbd_url("fio")
    job = fio(url, tmp_path)
    assert job["write"]["io_bytes"] == FIO_JOBS * FIO_SLICE_BYTES, job["write"]
    assert job["read"]["io_bytes"] == FIO_JOBS * FIO_SLICE_BYTES, "fio's verify pass did not read everything back"
    again = fio(url, tmp_path, "--verify_only=1")
    assert again["read"]["io_bytes"] == FIO_JOBS * FIO_SLICE_BYTES, again["read"]
    # The volume holds exactly what fio wrote (every block of every slice).
    assert nbd_strata.volume("fio")["allocated_bytes"] == FIO_JOBS * FIO_SLICE_BYTES


def test_unix_socket_serves_the_same_volumes(strata_factory):
    sock_dir = Path(tempfile.mkdtemp(prefix="strata-nbd-", dir="/tmp"))
    try:
        server = strata_factory(name="unix", nbd_unix_socket=sock_dir / "nbd.sock", wait_for_nbd=True)
        server.create_volume("ux", 8 * MiB)
        w.run_tool(["qemu-io", "-f", "raw", server.nbd_unix_url("ux"), "-c", "write -P 0x7e 12345 100000"])
        data = volume_bytes(server, "ux")   # over TCP
        assert data[12345:112345] == b"\x7e" * 100000 and data[:12345] == bytes(12345)
        listing = json.loads(w.run_tool(["nbdinfo", "--list", "--json",
                                         f"nbd+unix:///?socket={server.nbd_unix_socket}"]).stdout)
        assert [e["export-name"] for e in listing["exports"]] == ["ux"]
        h = w.connect(None, "ux", unix_path=server.nbd_unix_socket)
        try:
            assert h.pread(100000, 12345) == b"\x7e" * 100000
            h.flush()
        finally:
            w.close(h)
        # kill -9 leaves the socket file behind; the restarted server replaces it.
        server.restart(hard=True)
        h = w.connect(None, "ux", unix_path=server.nbd_unix_socket)
        try:
            assert h.pread(100000, 12345) == b"\x7e" * 100000
        finally:
            w.close(h)
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
