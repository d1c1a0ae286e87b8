"""The systems under test: the local disk, qemu-nbd, nbdkit and Strata, and
the reference nbd-null (nbdkit's null plugin: an NBD server with no storage,
so its figures are the limit of the NBD client path on this machine).

Each system is made for one cache mode (modes.py), which decides how it runs.
Each `start()` returns the fio target for the system and leaves its server
(if any) running until `stop()`. Every system keeps its files under its own
directory of the work dir (`<name>-<mode>`), all on one filesystem.
"""

import os
import shlex
import subprocess

import fio
from admin import Admin
from bench_procs import BenchError, free_port, wait_for_port, log_tail

START_TIMEOUT_S = 30.0
EXPORT = "bench"


def _make_sparse_file(path, size_bytes):
    with open(path, "wb") as f:
        f.truncate(size_bytes)


def probe_local_engine(work_dir, direct=True):
    """io_uring if this kernel and seccomp policy allow it, else libaio."""
    path = os.path.join(work_dir, "engine-probe.img")
    try:
        for engine in ("io_uring", "libaio"):
            out = subprocess.run(
                ["fio", "--name=probe", f"--filename={path}", "--size=1M", "--rw=read",
                 "--bs=4k", f"--direct={1 if direct else 0}", f"--ioengine={engine}",
                 "--eta=never", "--output-format=json"], capture_output=True, text=True, timeout=60)
            if out.returncode == 0:
                return engine
        what = "O_DIRECT" if direct else "buffered"
        raise BenchError(f"fio cannot do {what} I/O in {work_dir} with io_uring or "
                         f"libaio:\n{out.stderr[-2000:]}")
    finally:
        if os.path.exists(path):
            os.remove(path)


def _system_dir(ctx, name, mode):
    return os.path.join(ctx.work_dir, f"{name}-{mode.name}")


class _System:
    """What every system keeps: the run's context, its cache mode, its own
    directory in the work dir, and the server process it runs (if any)."""

    def __init__(self, ctx, mode):
        self.ctx = ctx
        self.mode = mode
        self.dir = _system_dir(ctx, self.name, mode)
        self.child = None

    def stop(self):
        _stop_child(self)


class LocalDisk(_System):
    name = "local"

    def __init__(self, ctx, mode):
        super().__init__(ctx, mode)
        self.engine = None

    def describe(self):
        engine = self.engine or "io_uring, else libaio"
        return (f"fio on a file in the work dir, direct={1 if self.mode.local_direct else 0}, "
                f"ioengine={engine}")

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.engine = probe_local_engine(self.dir, self.mode.local_direct)
        return fio.LocalTarget(os.path.join(self.dir, "disk.img"), self.engine,
                               self.mode.local_direct)

    def stop(self):
        pass


class QemuNbd(_System):
    name = "qemu-nbd"

    def __init__(self, ctx, mode):
        super().__init__(ctx, mode)
        self.aio = None

    def describe(self):
        aio = self.aio or ", else ".join(self.mode.qemu_aio)
        return (f"qemu-nbd -f raw -t --cache={self.mode.qemu_cache} --aio={aio} "
                f"--shared={self._shared()} on a raw file")

    def _shared(self):
        return max(4, self.ctx.opts.numjobs + 2)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        image = os.path.join(self.dir, "disk.img")
        _make_sparse_file(image, self.ctx.opts.size_bytes)
        last_error = None
        for aio in self.mode.qemu_aio:
            port = free_port()
            argv = ["qemu-nbd", "-f", "raw", "-t", f"--cache={self.mode.qemu_cache}", f"--aio={aio}",
                    "-b", "127.0.0.1", "-p", str(port), "-x", EXPORT,
                    f"--shared={self._shared()}", image]
            log = os.path.join(self.dir, f"qemu-nbd-{aio}.log")
            self.child = self.ctx.children.start("qemu-nbd", argv, log)
            try:
                wait_for_port(self.child, port, START_TIMEOUT_S)
                self.aio = aio
                return fio.NbdTarget(f"nbd://127.0.0.1:{port}/{EXPORT}")
            except BenchError as e:
                last_error = e
                self.ctx.children.stop(self.child)
                self.child = None
        raise BenchError(f"qemu-nbd would not start with aio={' or '.join(self.mode.qemu_aio)}: "
                         f"{last_error}")


class Nbdkit(_System):
    name = "nbdkit"

    def describe(self):
        return f"nbdkit -f file FILE cache={self.mode.nbdkit_cache} (default threads)"

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        image = os.path.join(self.dir, "disk.img")
        _make_sparse_file(image, self.ctx.opts.size_bytes)
        return _start_nbdkit(self, ["file", image, f"cache={self.mode.nbdkit_cache}"])


class Strata:
    name = "strata"

    def __init__(self, ctx, mode, dir_name=None):
        self.ctx = ctx
        self.mode = mode
        self.dir = (os.path.join(ctx.work_dir, dir_name) if dir_name
                    else _system_dir(ctx, self.name, mode))
        self.child = None
        self.admin = None
        self.nbd_port = None

    def describe(self):
        extra = f" {self.ctx.opts.strata_args}" if self.ctx.opts.strata_args else ""
        return (f"{self.ctx.opts.strata_bin} server --volume-io {self.mode.strata_volume_io}{extra}; "
                f"volume via POST /v1/volumes")

    def start(self):
        """Starts the server and creates the fio volume (`bench`, --size)."""
        self.start_server()
        self.admin.create_volume(EXPORT, self.ctx.opts.size_bytes)
        return fio.NbdTarget(self.uri(EXPORT))

    def start_server(self):
        binary = os.path.abspath(self.ctx.opts.strata_bin)
        if not os.access(binary, os.X_OK):
            raise BenchError(f"{binary} is missing; build it first (make build) "
                             f"or pass --strata-bin")
        os.makedirs(self.dir, exist_ok=True)
        data_dir = os.path.join(self.dir, "data")
        kafka, pg, nbd, http = (free_port() for _ in range(4))
        argv = [binary, "server", "--data-dir", data_dir,
                "--kafka-listen", f"127.0.0.1:{kafka}", "--pg-listen", f"127.0.0.1:{pg}",
                "--nbd-listen", f"127.0.0.1:{nbd}", "--http-listen", f"127.0.0.1:{http}",
                "--volume-io", self.mode.strata_volume_io]
        argv += shlex.split(self.ctx.opts.strata_args)
        self.child = self.ctx.children.start("strata", argv, os.path.join(self.dir, "strata.log"))
        self.admin = Admin(http)
        try:
            self.admin.wait_healthy(self.child, START_TIMEOUT_S)
        except BenchError as e:
            if "volume-io" in log_tail(self.child.log_path):
                raise BenchError(f"{binary} does not take --volume-io "
                                 f"{self.mode.strata_volume_io}; build a server that has it, "
                                 f"or leave strata out with --systems:\n{e}") from e
            raise
        wait_for_port(self.child, nbd, START_TIMEOUT_S)
        self.nbd_port = nbd

    def uri(self, export):
        return f"nbd://127.0.0.1:{self.nbd_port}/{export}"

    def check_alive(self):
        if self.child is None or not self.child.running():
            code = None if self.child is None else self.child.popen.returncode
            tail = "" if self.child is None else log_tail(self.child.log_path)
            raise BenchError(f"strata exited (status {code}):\n{tail}")

    def stop(self):
        if self.child is not None:
            self.ctx.children.stop(self.child)
            if self.child.popen.returncode not in (0, None):
                print(f"  strata exited with status {self.child.popen.returncode} on SIGTERM; "
                      f"log: {self.child.log_path}", flush=True)
            self.child = None


class NbdNull(_System):
    """`nbdkit null size=--size`: reads return zeros, writes and FLUSHes are
    accepted and discarded, nothing touches a disk. The same fio jobs over
    NBD against it measure the client path alone (fio's nbd engine, libnbd,
    loopback TCP, a minimal server), which bounds what any NBD server can
    reach on this machine. It is the same in every mode, and a reference,
    not a peer: no target compares Strata with it."""
    name = "nbd-null"

    def describe(self):
        return (f"nbdkit -f null size={self.ctx.opts.size_bytes} (default threads; no storage: "
                f"the NBD client limit)")

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        return _start_nbdkit(self, ["null", f"size={self.ctx.opts.size_bytes}"])


def _start_nbdkit(system, plugin_args):
    """Starts nbdkit with a plugin and its arguments on a free loopback port
    as system.child. The plugins used serve one disk under any export name."""
    port = free_port()
    argv = ["nbdkit", "-f", "-i", "127.0.0.1", "-p", str(port), *plugin_args]
    system.child = system.ctx.children.start("nbdkit", argv, os.path.join(system.dir, "nbdkit.log"))
    wait_for_port(system.child, port, START_TIMEOUT_S)
    return fio.NbdTarget(f"nbd://127.0.0.1:{port}/{EXPORT}")


def _stop_child(system):
    if system.child is not None:
        system.ctx.children.stop(system.child)
        system.child = None


SYSTEMS = {cls.name: cls for cls in (LocalDisk, QemuNbd, Nbdkit, Strata, NbdNull)}
ORDER = ("local", "qemu-nbd", "nbdkit", "strata", "nbd-null")
# Systems that keep no files of --size on disk (check_space leaves them out).
DISKLESS = ("nbd-null",)
