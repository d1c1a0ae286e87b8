"""The systems under test: the local disk, qemu-nbd, nbdkit and Strata.

Each `start()` returns the fio target for the system and leaves its server
(if any) running until `stop()`. Every system keeps its files under its own
directory of the work dir, all on one filesystem.
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


def probe_local_engine(work_dir):
    """io_uring if this kernel and seccomp policy allow it, else libaio."""
    path = os.path.join(work_dir, "engine-probe.img")
    try:
        for engine in ("io_uring", "libaio"):
            out = subprocess.run(
                ["fio", "--name=probe", f"--filename={path}", "--size=1M", "--rw=read",
                 "--bs=4k", "--direct=1", f"--ioengine={engine}", "--eta=never",
                 "--output-format=json"], capture_output=True, text=True, timeout=60)
            if out.returncode == 0:
                return engine
        raise BenchError(f"fio cannot do O_DIRECT I/O in {work_dir} with io_uring or "
                         f"libaio:\n{out.stderr[-2000:]}")
    finally:
        if os.path.exists(path):
            os.remove(path)


class LocalDisk:
    name = "local"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "local")
        self.engine = None

    def describe(self):
        engine = self.engine or "io_uring, else libaio"
        return f"fio on a file in the work dir, direct=1, ioengine={engine}"

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.engine = probe_local_engine(self.dir)
        return fio.LocalTarget(os.path.join(self.dir, "disk.img"), self.engine)

    def stop(self):
        pass


class QemuNbd:
    name = "qemu-nbd"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "qemu-nbd")
        self.aio = None
        self.child = None

    def describe(self):
        aio = self.aio or "io_uring, else native"
        return (f"qemu-nbd -f raw -t --cache=none --aio={aio} "
                f"--shared={self._shared()} on a raw file")

    def _shared(self):
        return max(4, self.ctx.opts.numjobs + 2)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        image = os.path.join(self.dir, "disk.img")
        _make_sparse_file(image, self.ctx.opts.size_bytes)
        last_error = None
        for aio in ("io_uring", "native"):
            port = free_port()
            argv = ["qemu-nbd", "-f", "raw", "-t", "--cache=none", f"--aio={aio}",
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
        raise BenchError(f"qemu-nbd would not start with aio=io_uring or native: {last_error}")

    def stop(self):
        if self.child is not None:
            self.ctx.children.stop(self.child)
            self.child = None


class Nbdkit:
    name = "nbdkit"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "nbdkit")
        self.child = None

    def describe(self):
        return f"nbdkit -f file FILE cache={self.ctx.opts.nbdkit_cache} (default threads)"

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        image = os.path.join(self.dir, "disk.img")
        _make_sparse_file(image, self.ctx.opts.size_bytes)
        port = free_port()
        argv = ["nbdkit", "-f", "-i", "127.0.0.1", "-p", str(port), "file", image,
                f"cache={self.ctx.opts.nbdkit_cache}"]
        self.child = self.ctx.children.start("nbdkit", argv, os.path.join(self.dir, "nbdkit.log"))
        wait_for_port(self.child, port, START_TIMEOUT_S)
        # The file plugin serves the one file under any export name.
        return fio.NbdTarget(f"nbd://127.0.0.1:{port}/{EXPORT}")

    def stop(self):
        if self.child is not None:
            self.ctx.children.stop(self.child)
            self.child = None


class Strata:
    name = "strata"

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work_dir, "strata")
        self.child = None
        self.admin = None
        self.nbd_port = None

    def describe(self):
        extra = f" {self.ctx.opts.strata_args}" if self.ctx.opts.strata_args else ""
        return f"{self.ctx.opts.strata_bin} server (defaults){extra}; volume via POST /v1/volumes"

    def start(self):
        binary = os.path.abspath(self.ctx.opts.strata_bin)
        if not os.access(binary, os.X_OK):
            raise BenchError(f"{binary} is missing; build it first (make build) "
                             f"or pass --strata-bin")
        os.makedirs(self.dir, exist_ok=True)
        data_dir = os.path.join(self.dir, "data")
        kafka, pg, nbd, http = (free_port() for _ in range(4))
        argv = [binary, "server", "--data-dir", data_dir,
                "--kafka-listen", f"127.0.0.1:{kafka}", "--pg-listen", f"127.0.0.1:{pg}",
                "--nbd-listen", f"127.0.0.1:{nbd}", "--http-listen", f"127.0.0.1:{http}"]
        argv += shlex.split(self.ctx.opts.strata_args)
        self.child = self.ctx.children.start("strata", argv, os.path.join(self.dir, "strata.log"))
        self.admin = Admin(http)
        self.admin.wait_healthy(self.child, START_TIMEOUT_S)
        self.admin.create_volume(EXPORT, self.ctx.opts.size_bytes)
        wait_for_port(self.child, nbd, START_TIMEOUT_S)
        self.nbd_port = nbd
        return fio.NbdTarget(self.uri(EXPORT))

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


SYSTEMS = {cls.name: cls for cls in (LocalDisk, QemuNbd, Nbdkit, Strata)}
ORDER = ("local", "qemu-nbd", "nbdkit", "strata")
