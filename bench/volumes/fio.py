"""fio command lines and result parsing.

Every system runs the same jobs; only the target differs: a file for the
local disk (O_DIRECT in the durable mode, buffered in the cached mode), or an
NBD URI (fio's nbd engine, libnbd) for the servers. An fio fsync on the nbd
engine is an NBD FLUSH. Each result also carries fio's own CPU use (the
client's), which shows when the client, not the system, sets the pace.
"""

import json
from dataclasses import dataclass
from typing import Optional

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Workload:
    key: str         # short name used in tables and JSON
    label: str       # what the table prints
    rw: str          # fio's rw=
    block_bytes: int

    @property
    def reads(self):
        return "read" in self.rw


WORKLOADS = (
    Workload("randread", "4k randread", "randread", 4 * KIB),
    Workload("randwrite", "4k randwrite", "randwrite", 4 * KIB),
    Workload("seqread", "1M seqread", "read", 1 * MIB),
    Workload("seqwrite", "1M seqwrite", "write", 1 * MIB),
)

# Reads run first, on the data the fill pass wrote, so every system reads
# the same freshly written layout; the writes come after.
RUN_ORDER = ("randread", "seqread", "randwrite", "seqwrite")

FILL = Workload("fill", "fill", "write", 1 * MIB)


@dataclass(frozen=True)
class LocalTarget:
    path: str
    engine: str      # io_uring or libaio
    direct: bool = True

    def args(self):
        return [f"--filename={self.path}", f"--direct={1 if self.direct else 0}",
                f"--ioengine={self.engine}"]


@dataclass(frozen=True)
class NbdTarget:
    uri: str

    def args(self):
        return ["--ioengine=nbd", f"--uri={self.uri}"]


@dataclass(frozen=True)
class JobShape:
    size_bytes: int
    runtime_s: int
    ramp_s: int
    iodepth: int
    numjobs: int
    fsync_every: int  # fio fsync=N: a FLUSH (fsync) after every N writes; 0 = never


@dataclass
class Result:
    iops: float
    bytes_per_s: float
    p99_ms: float
    mean_ms: float
    io_bytes: int
    ios: int = 0                            # I/Os of the workload's direction
    flushes: int = 0                        # fsyncs (NBD FLUSHes) fio completed
    flush_mean_ms: Optional[float] = None   # their mean latency; None without fsyncs
    flush_p99_ms: Optional[float] = None    # their 99th percentile; None when fio gave none
    # fio's own CPU time over the run, in percent of one CPU, summed over its
    # jobs (see parse_cpu); None when fio gave none. Near 100 per job, the
    # client (fio and, for the servers, libnbd) is the bottleneck, not the system.
    client_usr_pct: Optional[float] = None
    client_sys_pct: Optional[float] = None
    client_cpu_pct: Optional[float] = None  # usr + sys


def _per_job_slice(shape):
    """Each job gets its own slice, so sequential jobs don't read the same blocks."""
    slice_bytes = shape.size_bytes // shape.numjobs
    slice_bytes -= slice_bytes % MIB
    if slice_bytes <= 0:
        raise ValueError("size is smaller than 1 MiB per job")
    args = [f"--size={slice_bytes}", f"--numjobs={shape.numjobs}"]
    if shape.numjobs > 1:
        args += [f"--offset_increment={slice_bytes}", "--group_reporting"]
    return args


def timed_args(target, workload, shape, output_path):
    args = ["fio", f"--name={workload.key}", f"--rw={workload.rw}",
            f"--bs={workload.block_bytes}", f"--iodepth={shape.iodepth}",
            "--time_based", f"--runtime={shape.runtime_s}", f"--ramp_time={shape.ramp_s}",
            "--norandommap", "--randrepeat=1", "--eta=never",
            "--output-format=json", f"--output={output_path}"]
    if not workload.reads and shape.fsync_every > 0:
        args.append(f"--fsync={shape.fsync_every}")
    return args + _per_job_slice(shape) + target.args()


def fill_args(target, size_bytes, iodepth, output_path):
    """Writes every byte once (1 MiB blocks), so reads find data everywhere."""
    return ["fio", "--name=fill", "--rw=write", f"--bs={FILL.block_bytes}",
            f"--iodepth={iodepth}", f"--size={size_bytes}", "--end_fsync=1",
            "--eta=never", "--output-format=json", f"--output={output_path}"] + target.args()


def scatter_args(target, size_bytes, ios, output_path):
    """`ios` 4 KiB writes at random offsets across the whole volume."""
    return ["fio", "--name=scatter", "--rw=randwrite", "--bs=4k", "--iodepth=16",
            f"--size={size_bytes}", f"--number_ios={ios}", "--norandommap",
            "--end_fsync=1", "--eta=never", "--output-format=json",
            f"--output={output_path}"] + target.args()


def fs_write_args(path, size_bytes, output_path):
    """1 MiB sequential buffered writes into a new file on a mounted file
    system, then one fsync (end_fsync), as a database's bulk load does."""
    return ["fio", "--name=fswrite", f"--filename={path}", "--rw=write", "--bs=1M",
            f"--size={size_bytes}", "--ioengine=psync", "--direct=0", "--end_fsync=1",
            "--eta=never", "--output-format=json", f"--output={output_path}"]


def _first_job(text):
    """fio may print warnings before the JSON object; they are skipped."""
    start = text.find("{")
    if start < 0:
        raise ValueError("fio wrote no JSON")
    doc = json.loads(text[start:])
    jobs = doc.get("jobs") or []
    if not jobs:
        raise ValueError("fio JSON has no jobs")
    return jobs[0]


def parse_flush(job):
    """(count, mean ms, p99 ms) of the job's fsyncs (fio's "sync" object:
    total_ios and lat_ns with mean and, when fio has them, percentiles);
    (0, None, None) without fsyncs. p99 is None when fio gave no percentiles.

    With an async engine at a deep queue (io_uring, nbd; iodepth 32), fio
    3.33 issues far more fsyncs than one per fsync=N writes (at each multiple
    of N about as many as the queue has room for; between 1 and 4 writes per
    fsync were measured with N = 32; psync and libaio keep to one per N), so
    the count is reported, not assumed."""
    sync = job.get("sync") or {}
    lat = sync.get("lat_ns") or {}
    count = int(sync.get("total_ios", 0) or lat.get("N", 0) or 0)
    if count <= 0:
        return 0, None, None
    mean = lat.get("mean")
    p99 = (lat.get("percentile") or {}).get("99.000000")
    return (count, None if mean is None else float(mean) / 1e6,
            None if p99 is None else float(p99) / 1e6)


def parse_cpu(job):
    """(usr, sys, usr + sys) of the fio client, in percent of one CPU, summed
    over the job's processes; (None, None, None) when fio gave no CPU figures.

    fio's usr_cpu and sys_cpu are its jobs' CPU time over their run time.
    With group_reporting fio sums both over the jobs, so the figures are the
    mean per job: they are multiplied back by numjobs (from "job options")."""
    usr, sys_ = job.get("usr_cpu"), job.get("sys_cpu")
    if usr is None or sys_ is None:
        return None, None, None
    try:
        jobs = max(1, int((job.get("job options") or {}).get("numjobs", 1)))
    except (TypeError, ValueError):
        jobs = 1
    usr, sys_ = float(usr) * jobs, float(sys_) * jobs
    return usr, sys_, usr + sys_


def parse_output(text, reads):
    """Reads fio's JSON (group_reporting or one job) into a Result.

    Raises ValueError when the run failed or did no I/O.
    """
    job = _first_job(text)
    if job.get("error", 0) != 0:
        raise ValueError(f"fio job failed with error {job['error']}")
    side = job["read" if reads else "write"]
    io_bytes = int(side.get("io_bytes", 0))
    if io_bytes <= 0:
        raise ValueError("fio did no I/O")
    clat = side.get("clat_ns", {})
    percentiles = clat.get("percentile", {})
    p99_ns = percentiles.get("99.000000")
    if p99_ns is None:
        raise ValueError("fio JSON has no 99th percentile of completion latency")
    flushes, flush_mean_ms, flush_p99_ms = parse_flush(job)
    usr, sys_, cpu = parse_cpu(job)
    return Result(iops=float(side["iops"]), bytes_per_s=float(side["bw_bytes"]),
                  p99_ms=float(p99_ns) / 1e6, mean_ms=float(clat.get("mean", 0.0)) / 1e6,
                  io_bytes=io_bytes, ios=int(side.get("total_ios", 0)), flushes=flushes, flush_mean_ms=flush_mean_ms,
                  flush_p99_ms=flush_p99_ms, client_usr_pct=usr, client_sys_pct=sys_,
                  client_cpu_pct=cpu)


def parse_fs_write(text):
    """(bytes written, fio's write bytes/s) of the file system write. fio's
    rate leaves out the end_fsync, so the caller also times the whole run."""
    job = _first_job(text)
    if job.get("error", 0) != 0:
        raise ValueError(f"fio job failed with error {job['error']}")
    written = int(job["write"].get("io_bytes", 0))
    if written <= 0:
        raise ValueError("fio did no I/O")
    return written, float(job["write"].get("bw_bytes", 0.0))
