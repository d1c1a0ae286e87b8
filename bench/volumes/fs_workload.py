"""A file system on a volume: the path database clones use.

Rows (each in its own directory of the work dir, removed when it is done):
- local: a plain directory on the work dir's own file system;
- loop-file: ext4 on a loop device over a sparse file in the work dir (the
  loop + ext4 cost without NBD);
- strata: ext4 on a loop device over nbdfuse's file of a Strata volume
  (Strata started with --volume-io direct, the durable mode); with
  --fs-strata-modes also `strata-cached` (--volume-io buffered).

The loop devices, mkfs and mount options are those of Strata's volume pool
(src/dbclone/volume_exposure.cc): `nbdfuse -C 1`, `losetup --direct-io=off`,
`mkfs.ext4 -q -F -m 0 -E lazy_itable_init=1,lazy_journal_init=1,nodiscard`,
`mount -o noatime,noinit_itable`.

On each row: fio writes --fs-write-size in 1 MiB buffered writes into a new
file and fsyncs it once (MB/s over the whole run, fsync included); then a
PostgreSQL 15 with its data dir on that file system (fsync=on,
synchronous_commit=on, run as the OS user postgres) loads `pgbench -i -s N`,
timed.

Every mount, loop device, nbdfuse and postgres goes onto a cleanup stack that
undoes them in reverse order when the row ends, fails or is interrupted (and
again from the run's end, should an interrupt cut the first pass short).
"""

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

import fio
import modes
import systems
from bench_procs import BenchError, free_port, log_tail, wait_until_ready

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_USER = "postgres"
FS_VOLUME = "fs"
ROW_ORDER = ("local", "loop-file", "strata", "strata-cached")
STRATA_ROWS = {"durable": "strata", "cached": "strata-cached"}

TOOL_TIMEOUT_S = 60.0
MKFS_TIMEOUT_S = 600.0
INITDB_TIMEOUT_S = 300.0
PG_START_TIMEOUT_S = 120.0
PG_STOP_TIMEOUT_S = 120.0
NBDFUSE_READY_TIMEOUT_S = 15.0
NBDFUSE_EXIT_TIMEOUT_S = 10.0
WRITE_MIN_BYTES_PER_S = 1e6
UNMOUNT_ATTEMPTS = 8
UNMOUNT_WAIT_S = 0.25

MKFS_ARGS = ["-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard"]
MOUNT_OPTIONS = "noatime,noinit_itable"
PG_SETTINGS = (("fsync", "on"), ("synchronous_commit", "on"), ("listen_addresses", ""))

# The Debian 12 package of each tool (there, nbdfuse comes in libnbd-bin;
# Debian 12 has no package named nbdfuse).
PACKAGES = {
    "nbdfuse": "libnbd-bin (Debian 12's package for nbdfuse)",
    "fusermount3": "fuse3",
    "losetup": "mount",
    "mkfs.ext4": "e2fsprogs",
    "mount": "mount",
    "umount": "mount",
    "fusermount": "fuse3",
    "runuser": "util-linux",
}
PG_TOOLS = {"initdb": "postgresql-15", "postgres": "postgresql-15", "pg_ctl": "postgresql-15",
            "pgbench": "postgresql-client-15", "pg_isready": "postgresql-client-15"}


@dataclass
class FsResult:
    row: str
    how: str
    write_bytes: int = 0
    write_s: Optional[float] = None                 # fio's whole run, its final fsync included
    write_bytes_per_s: Optional[float] = None       # write_bytes / write_s
    write_fio_bytes_per_s: Optional[float] = None   # fio's own rate (before the fsync)
    pgbench_scale: int = 0
    pgbench_init_s: Optional[float] = None


def rows(opts):
    """The fs rows this run measures, in table order."""
    if not opts.fs:
        return []
    names = ["local", "loop-file"]
    if "strata" in opts.systems:
        names += [STRATA_ROWS[m] for m in opts.fs_strata_modes]
    return [r for r in ROW_ORDER if r in names]


def space_needed(opts):
    """About what one row at a time writes (the rows' files go between rows)."""
    per_row = opts.fs_write_bytes + opts.pgbench_scale * 40 * fio.MIB + fio.GIB
    return min(per_row, opts.fs_size_bytes + fio.GIB) * (len(rows(opts)) if opts.keep else 1)


# --- tools --------------------------------------------------------------------
def _which(tool):
    for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        path = os.path.join(d, tool)
        if os.access(path, os.X_OK):
            return path
    return shutil.which(tool)


def find_tool(tool):
    path = _which(tool)
    if path is None:
        raise BenchError(f"{tool} is missing; apt-get install {PACKAGES.get(tool, tool)} "
                         f"(or run scripts/install-deps.sh --bench), or skip this part with --no-fs")
    return path


def check_postgres():
    for tool, package in PG_TOOLS.items():
        if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
            raise BenchError(f"{PG_BIN}/{tool} is missing; apt-get install {package} "
                             f"(or run scripts/install-deps.sh --bench), or pass --no-fs")
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        raise BenchError(f"there is no OS user {PG_USER} to run PostgreSQL as; "
                         f"apt-get install postgresql-15 creates it") from None
    find_tool("runuser")


def check_root():
    if os.geteuid() != 0:
        raise BenchError("the fs workload needs root (losetup, mount, and postgres run as the "
                         "OS user postgres); run as root or pass --no-fs")


def check_pg_can_enter(work_dir):
    """postgres (another OS user) keeps its data and socket under the work
    dir, so every directory above it must be searchable for that user."""
    status = subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-x", work_dir],
                            capture_output=True, timeout=30).returncode
    if status != 0:
        raise BenchError(f"the OS user {PG_USER} cannot enter {work_dir}: a directory above it "
                         f"is not searchable for other users; pass a --work-dir whose parents "
                         f"are (e.g. under /tmp), or chmod o+x them")


def as_pg(argv):
    """PostgreSQL never runs as root: every postgres tool runs as the OS user postgres."""
    return ["runuser", "-u", PG_USER, "--", *argv]


def chown_pg(path):
    entry = pwd.getpwnam(PG_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def mounts_under(path):
    """Mount points at or under path (from /proc/self/mountinfo), deepest first."""
    path = os.path.realpath(path)
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].replace("\\040", " ")
                if point == path or point.startswith(path + "/"):
                    found.append(point)
    except OSError:
        pass
    return sorted(found, key=len, reverse=True)


def loop_backing_file(device):
    try:
        with open(f"/sys/block/{os.path.basename(device)}/loop/backing_file") as f:
            return f.read().strip()
    except OSError:
        return None


class Cleanup:
    """Undo steps, run last added first, each at most once. A step that fails
    is reported and the others still run; an interrupt during the steps is
    re-raised after them."""

    def __init__(self):
        self._steps = []

    def push(self, what, undo):
        self._steps.append((what, undo))

    def close(self):
        interrupted = None
        while self._steps:
            what, undo = self._steps.pop()
            try:
                undo()
            except KeyboardInterrupt as e:
                interrupted = e
                print(f"  cleanup: {what} interrupted", flush=True)
            except Exception as e:  # noqa: BLE001 - keep undoing the rest
                print(f"  cleanup: {what} failed: {e}", flush=True)
        if interrupted is not None:
            raise interrupted


class Tools:
    """Runs short tools through the run's Children, logging into `dir`."""

    def __init__(self, ctx, dir):
        self.ctx = ctx
        self.dir = dir

    def run(self, name, argv, timeout_s=TOOL_TIMEOUT_S, check=True):
        log = os.path.join(self.dir, f"{name}.log")
        out = os.path.join(self.dir, f"{name}.out")
        status = self.ctx.children.run(name, argv, log, timeout_s, stdout_path=out)
        if check and status != 0:
            raise BenchError(f"{' '.join(argv)} failed (status {status}):\n{log_tail(log)}")
        with open(out, errors="replace") as f:
            return status, f.read()


# --- the layers under a row's file system ----------------------------------------
def attach_loop(tools, cleanup, image):
    losetup = find_tool("losetup")
    _, out = tools.run("losetup", [losetup, "--find", "--show", "--direct-io=off", image])
    device = out.strip().splitlines()[-1] if out.strip() else ""
    if not device.startswith("/dev/loop"):
        raise BenchError(f"losetup attached {image} but printed {out!r}, no loop device")

    def detach():
        if loop_backing_file(device) == image:
            tools.run("losetup-d", [losetup, "-d", device], check=False)
        deadline = time.monotonic() + 5
        while loop_backing_file(device) == image and time.monotonic() < deadline:
            time.sleep(0.05)
        if loop_backing_file(device) == image:
            raise BenchError(f"loop device {device} still holds {image}")
    cleanup.push(f"losetup -d {device}", detach)
    return device


def make_ext4(tools, cleanup, device, mount_dir):
    tools.run("mkfs", [find_tool("mkfs.ext4"), *MKFS_ARGS, device], MKFS_TIMEOUT_S)
    os.makedirs(mount_dir, exist_ok=True)
    # Pushed first: an interrupt right after the mount still unmounts it
    # (unmount() does nothing when nothing is mounted there).
    cleanup.push(f"umount {mount_dir}", lambda: unmount(tools, mount_dir))
    tools.run("mount", [find_tool("mount"), "-t", "ext4", "-o", MOUNT_OPTIONS, device, mount_dir])
    return mount_dir


def unmount(tools, mount_dir):
    umount = find_tool("umount")
    for _ in range(UNMOUNT_ATTEMPTS):
        if not mounts_under(mount_dir):
            return
        status, _ = tools.run("umount", [umount, mount_dir], check=False)
        if status == 0:
            return
        time.sleep(UNMOUNT_WAIT_S)
    if mounts_under(mount_dir):
        print(f"  cleanup: {mount_dir} is busy; detaching it lazily (umount -l)", flush=True)
        tools.run("umount-lazy", [umount, "-l", mount_dir], check=False)


def start_nbdfuse(ctx, tools, cleanup, uri, fuse_dir):
    """nbdfuse FUSE_DIR URI: the volume as the file FUSE_DIR/nbd."""
    nbdfuse = find_tool("nbdfuse")
    fusermount = _which("fusermount3") or _which("fusermount")
    if fusermount is None:
        find_tool("fusermount3")
    if not os.path.exists("/dev/fuse"):
        raise BenchError("/dev/fuse is missing: this machine (or container) has no FUSE; pass --no-fs")
    os.makedirs(fuse_dir, exist_ok=True)
    pid_file = os.path.join(tools.dir, "nbdfuse.pid")
    argv = [nbdfuse, "-C", "1", "-P", pid_file, fuse_dir, uri]
    child = ctx.children.start("nbdfuse", argv, os.path.join(tools.dir, "nbdfuse.log"))

    def stop():
        # Unmounted, nbdfuse ends by itself; stop it only if it lingers.
        for attempt in range(UNMOUNT_ATTEMPTS):
            if not mounts_under(fuse_dir):
                break
            lazy = ["-z"] if attempt == UNMOUNT_ATTEMPTS - 1 else []
            tools.run("fusermount", [fusermount, "-u", *lazy, fuse_dir], check=False)
            if mounts_under(fuse_dir):
                time.sleep(UNMOUNT_WAIT_S)
        try:
            child.popen.wait(timeout=NBDFUSE_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print("  cleanup: nbdfuse did not exit after its unmount; stopping it", flush=True)
        ctx.children.stop(child)
    cleanup.push(f"fusermount -u {fuse_dir}", stop)

    def ready():
        try:
            return os.path.getsize(pid_file) > 0
        except OSError:
            return False
    wait_until_ready(child, ready, NBDFUSE_READY_TIMEOUT_S, f"serve {uri} at {fuse_dir}")
    image = os.path.join(fuse_dir, "nbd")
    if not os.path.exists(image):
        raise BenchError(f"nbdfuse is up but {image} does not exist")
    return image


# --- the measurements -----------------------------------------------------------
def fio_write(ctx, root, row_dir, result):
    o = ctx.opts
    path = os.path.join(root, "fio.dat")
    out = os.path.join(row_dir, "fswrite.json")
    log = os.path.join(row_dir, "fswrite.log")
    timeout = 120 + o.fs_write_bytes / WRITE_MIN_BYTES_PER_S
    started = time.perf_counter()
    status = ctx.children.run("fio fswrite", fio.fs_write_args(path, o.fs_write_bytes, out), log, timeout)
    seconds = time.perf_counter() - started
    if status != 0:
        raise BenchError(f"fio write on the {result.row} file system failed (status {status}):\n"
                         f"{log_tail(log)}")
    try:
        with open(out) as f:
            written, fio_rate = fio.parse_fs_write(f.read())
    except (OSError, ValueError, KeyError) as e:
        raise BenchError(f"fio write on the {result.row} file system: {e}; see {out}") from e
    os.remove(path)
    result.write_bytes = written
    result.write_s = seconds
    result.write_bytes_per_s = written / seconds
    result.write_fio_bytes_per_s = fio_rate
    print(f"  fio write {written / fio.MIB:.0f} MiB + fsync: {written / seconds / 1e6:.1f} MB/s "
          f"({seconds:.1f} s; fio's rate before the fsync {fio_rate / 1e6:.1f} MB/s)", flush=True)


def postgres_argv(data, port, socket_dir):
    argv = [f"{PG_BIN}/postgres", "-D", data, "-c", f"port={port}",
            "-c", f"unix_socket_directories={socket_dir}"]
    for k, v in PG_SETTINGS:
        argv += ["-c", f"{k}={v}"]
    return argv


def pgbench_init(ctx, tools, cleanup, root, row_dir, result, check_alive):
    o = ctx.opts
    pg_dir = os.path.join(root, "pg")
    socket_dir = os.path.join(row_dir, "sock")
    for d in (pg_dir, socket_dir):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o700)
        chown_pg(d)
    data = os.path.join(pg_dir, "data")
    tools.run("initdb", as_pg([f"{PG_BIN}/initdb", "-D", data, "-U", PG_USER, "-A", "trust",
                               "-E", "UTF8", "--locale=C"]), INITDB_TIMEOUT_S)
    port = free_port()
    child = ctx.children.start("postgres", as_pg(postgres_argv(data, port, socket_dir)),
                               os.path.join(row_dir, "postgres.log"))

    def stop():
        if child.running():
            tools.run("pg_ctl-stop", as_pg([f"{PG_BIN}/pg_ctl", "stop", "-D", data, "-m", "fast",
                                            "-w", "-t", str(int(PG_STOP_TIMEOUT_S))]),
                      PG_STOP_TIMEOUT_S + 10, check=False)
            try:
                child.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        ctx.children.stop(child)
    cleanup.push("pg_ctl stop -m fast", stop)

    def accepting():
        return subprocess.run([f"{PG_BIN}/pg_isready", "-q", "-h", socket_dir, "-p", str(port)],
                              capture_output=True, timeout=10).returncode == 0
    wait_until_ready(child, accepting, PG_START_TIMEOUT_S, "accept connections", interval_s=0.1)

    scale = o.pgbench_scale
    started = time.perf_counter()
    tools.run("pgbench-init", as_pg([f"{PG_BIN}/pgbench", "-i", "-q", "-s", str(scale), "-h", socket_dir,
                                     "-p", str(port), "-U", PG_USER, "postgres"]),
              max(900.0, 60.0 * scale))
    seconds = time.perf_counter() - started
    check_alive()
    if not child.running():
        raise BenchError(f"postgres exited during pgbench -i:\n{log_tail(child.log_path)}")
    result.pgbench_scale = scale
    result.pgbench_init_s = seconds
    print(f"  pgbench -i -s {scale}: {seconds:.1f} s", flush=True)


def measure(ctx, tools, cleanup, root, row_dir, result, check_alive=lambda: None):
    fio_write(ctx, root, row_dir, result)
    check_alive()
    pgbench_init(ctx, tools, cleanup, root, row_dir, result, check_alive)


# --- the rows -------------------------------------------------------------------
def describe(row, opts):
    size = f"{opts.fs_size_bytes / fio.GIB:g} GiB"
    ext4 = f"mkfs.ext4 {' '.join(MKFS_ARGS)}; mount -o {MOUNT_OPTIONS}"
    if row == "local":
        return "a directory on the work dir's own file system"
    if row == "loop-file":
        return f"ext4 on losetup --direct-io=off over a sparse {size} file in the work dir ({ext4})"
    mode = modes.MODES["durable" if row == "strata" else "cached"]
    return (f"ext4 on losetup --direct-io=off over nbdfuse -C 1 DIR nbd://127.0.0.1:PORT/{FS_VOLUME}, "
            f"a {size} Strata volume, strata server --volume-io {mode.strata_volume_io} ({ext4})")


def _run_row(ctx, row, row_dir, cleanup, result):
    tools = Tools(ctx, row_dir)
    check_root()
    check_postgres()
    check_pg_can_enter(ctx.work_dir)
    if row == "local":
        root = os.path.join(row_dir, "root")
        os.makedirs(root, exist_ok=True)
        measure(ctx, tools, cleanup, root, row_dir, result)
        return
    for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
        find_tool(tool)
    mount_dir = os.path.join(row_dir, "mnt")
    if row == "loop-file":
        image = os.path.join(row_dir, "disk.img")
        with open(image, "wb") as f:
            f.truncate(ctx.opts.fs_size_bytes)
        device = attach_loop(tools, cleanup, image)
        make_ext4(tools, cleanup, device, mount_dir)
        measure(ctx, tools, cleanup, mount_dir, row_dir, result)
        return
    find_tool("nbdfuse")
    mode = modes.MODES["durable" if row == "strata" else "cached"]
    strata = systems.Strata(ctx, mode, dir_name=os.path.join(os.path.basename(row_dir), "server"))
    cleanup.push("stop strata", strata.stop)
    strata.start_server()
    strata.admin.create_volume(FS_VOLUME, ctx.opts.fs_size_bytes)
    image = start_nbdfuse(ctx, tools, cleanup, strata.uri(FS_VOLUME), os.path.join(row_dir, "fuse"))
    device = attach_loop(tools, cleanup, image)
    make_ext4(tools, cleanup, device, mount_dir)
    strata.check_alive()
    measure(ctx, tools, cleanup, mount_dir, row_dir, result, strata.check_alive)


def run(ctx, results, failures):
    """Measures every row of rows(opts) into results[row]; a row that fails
    goes into failures["fs/<row>"] and the others still run."""
    if os.geteuid() == 0:
        os.chmod(ctx.work_dir, 0o755)  # postgres (another OS user) enters the rows' dirs
    for row in rows(ctx.opts):
        row_dir = os.path.join(ctx.work_dir, f"fs-{row}")
        os.makedirs(row_dir, exist_ok=True)
        os.chmod(row_dir, 0o755)      # postgres enters it for its socket dir
        result = FsResult(row, describe(row, ctx.opts))
        print(f"fs/{row}: {result.how}", flush=True)
        cleanup = Cleanup()
        ctx.at_exit(cleanup.close)    # again at the run's end, if an interrupt cut this short
        try:
            _run_row(ctx, row, row_dir, cleanup, result)
            results[row] = result
        except BenchError as e:
            failures[f"fs/{row}"] = str(e)
            print(f"fs/{row}: FAILED: {str(e).splitlines()[0]}", flush=True)
        finally:
            cleanup.close()
            left = mounts_under(row_dir)
            if left:
                print(f"fs/{row}: still mounted: {', '.join(left)}; keeping {row_dir}", flush=True)
            elif not ctx.opts.keep:
                shutil.rmtree(row_dir, ignore_errors=True)
