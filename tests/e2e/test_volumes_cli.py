"""The volume lifecycle as a new user meets it: the `strata volume|snapshot|
clone` CLI for the lifecycle, qemu-io for the data, nbdinfo for the listing.
Create, write patterns, snapshot, write more, clone; each export sees its own
data; delete while exported is a clear error; resize; delete everything and
the space comes back."""

import json
import re

import nbd_wire as w
from strata_server import wait_until

MiB = 1 << 20


def ok(server, *args):
    proc = server.cli(*args)
    assert proc.returncode == 0, f"strata {' '.join(args)} exited {proc.returncode}: {proc.stderr}{proc.stdout}"
    return proc.stdout


def refused(server, *args):
    proc = server.cli(*args)
    assert proc.returncode != 0, f"strata {' '.join(args)} succeeded but should not have: {proc.stdout}"
    assert proc.stderr.strip(), f"strata {' '.join(args)} failed without saying why"
    return proc.stderr


def row(listing, name):
    """The table row whose first column is `name`."""
    for line in listing.splitlines():
        cells = line.split()
        if cells and cells[0] == name:
            return line
    raise AssertionError(f"no row for {name} in:\n{listing}")


def qemu_io(server, export, *commands, read_only=False):
    args = ["qemu-io", "-f", "raw", *(["-r"] if read_only else []), server.nbd_url(export)]
    for c in commands:
        args += ["-c", c]
    proc = w.run_tool(args, check=False)
    assert proc.returncode == 0 and "verification failed" not in proc.stdout, \
        f"qemu-io on {export} {commands}: {proc.stdout}{proc.stderr}"


def test_new_user_volume_lifecycle(nbd_strata):
    s = nbd_strata
    assert "No volumes" in ok(s, "volume", "list")
    assert "vm1" in ok(s, "volume", "create", "vm1", "--size", "64M")
    assert "64 MiB" in row(ok(s, "volume", "list"), "vm1")

    qemu_io(s, "vm1", "write -P 0xaa 0 1M", "write -P 0xab 10M 4k")
    assert "vm1@s1" in ok(s, "snapshot", "create", "vm1", "s1")
    qemu_io(s, "vm1", "write -P 0xbb 0 512k", "write -P 0xbc 20M 1")
    assert "vm1@s1" in ok(s, "snapshot", "list")
    assert "vm1@s1" in ok(s, "snapshot", "list", "vm1")
    assert "vm2" in ok(s, "clone", "create", "vm1@s1", "vm2")
    assert "vm1@s1" in row(ok(s, "volume", "list"), "vm2")
    qemu_io(s, "vm2", "write -P 0xcc 512k 4k")

    # Each export sees its own data.
    qemu_io(s, "vm1", "read -P 0xbb 0 512k", "read -P 0xaa 512k 512k", "read -P 0xab 10M 4k",
            "read -P 0xbc 20M 1", "read -P 0 1M 9M", read_only=True)
    qemu_io(s, "vm1@s1", "read -P 0xaa 0 1M", "read -P 0xab 10M 4k", "read -P 0 20M 1", read_only=True)
    qemu_io(s, "vm2", "read -P 0xaa 0 512k", "read -P 0xcc 512k 4k", "read -P 0xaa 516k 508k",
            "read -P 0 20M 1", read_only=True)
    listing = json.loads(w.run_tool(["nbdinfo", "--list", "--json", f"nbd://127.0.0.1:{s.nbd_port}"]).stdout)
    assert sorted(e["export-name"] for e in listing["exports"]) == ["vm1", "vm1@s1", "vm2"]

    # Resize grows; the new space reads zeros.
    assert "128 MiB" in ok(s, "volume", "resize", "vm1", "--size", "128M")
    assert "128 MiB" in row(ok(s, "volume", "list"), "vm1")
    qemu_io(s, "vm1", "read -P 0 64M 64M", "read -P 0xbb 0 512k", read_only=True)

    # Bad input is a clear error, not a crash.
    assert "10X" in refused(s, "volume", "create", "bad", "--size", "10X")
    assert "vm1" in refused(s, "volume", "create", "vm1", "--size", "1G")
    assert "nope" in refused(s, "volume", "delete", "nope")
    assert "vm1s1" in refused(s, "snapshot", "delete", "vm1s1")
    refused(s, "volume", "resize", "vm1", "--size", "32M")       # volumes only grow

    # Delete while exported: refused with a message that names the cause.
    h = w.connect(s.nbd_port, "vm1")
    hs = w.connect(s.nbd_port, "vm1@s1")
    try:
        message = refused(s, "volume", "delete", "vm1")
        assert "vm1" in message and re.search(r"(?i)export|open|connect|in use|busy", message), message
        message = refused(s, "snapshot", "delete", "vm1@s1")
        assert re.search(r"(?i)export|open|connect|in use|busy", message), message
        assert h.pread(4, 0) == b"\xbb" * 4
    finally:
        w.close(h)
        w.close(hs)
    wait_until(lambda: s.volume("vm1")["open_exports"] == 0, 10, what="vm1's exports to close")

    # The clone outlives its parent volume and the parent's snapshot.
    ok(s, "volume", "delete", "vm1")
    assert "vm1" not in [v["name"] for v in s.volumes()["volumes"]]
    qemu_io(s, "vm2", "read -P 0xaa 0 512k", "read -P 0xcc 512k 4k", "read -P 0xab 10M 4k", read_only=True)
    ok(s, "volume", "delete", "vm2")
    assert "No volumes" in ok(s, "volume", "list")
    s.wait_usage(lambda u: u["allocated_bytes"] == 0 and u["layers"] == 0,
                 "every deleted volume's space and layers to be reclaimed")


def test_snapshot_delete_through_the_cli(nbd_strata):
    s = nbd_strata
    ok(s, "volume", "create", "v", "--size", "16M")
    qemu_io(s, "v", "write -P 0x11 0 2M")
    ok(s, "snapshot", "create", "v", "a")
    ok(s, "snapshot", "create", "v", "b")
    assert [x["name"] for x in s.snapshots("v")] == ["a", "b"]
    assert "Deleted" in ok(s, "snapshot", "delete", "v@a")
    assert [x["name"] for x in s.snapshots("v")] == ["b"]
    assert "v@b" in ok(s, "snapshot", "list")
    assert "v@a" not in ok(s, "snapshot", "list")
    qemu_io(s, "v@b", "read -P 0x11 0 2M", read_only=True)
    refused(s, "clone", "create", "v@a", "x")                    # the deleted snapshot is gone
    assert s.http("GET", "/v1/volumes/x")[0] == 404
