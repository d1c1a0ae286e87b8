"""What every benchmark run does the same way: its work dir and children,
its end (cleanup, Ctrl-C), the machine facts in its header, common flag
checks and the --json file. Shared by the benchmarks."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from bench_procs import BenchError, Children, install_signal_handlers


class Run:
    """One run's temp work dir (under opts.work_dir) and its children.

    Use it as a `with` block around the run. Leaving the block calls the
    at_exit functions (last added first), stops every child and removes the
    work dir (unless opts.keep). Ctrl-C, SIGTERM and SIGHUP inside the block
    end it there: it says so and sets `interrupted` (main then returns 130).
    """

    def __init__(self, opts, bench):
        install_signal_handlers()
        os.makedirs(opts.work_dir, exist_ok=True)
        self.work_dir = tempfile.mkdtemp(prefix=f"strata-bench-{bench}-", dir=opts.work_dir)
        self.children = Children()
        self.keep = opts.keep
        self.interrupted = False
        self._at_exit = []

    def at_exit(self, stop):
        """Calls stop() when the run ends, before the remaining children are stopped."""
        self._at_exit.append(stop)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.interrupted = True
            print("\ninterrupted; stopping servers", file=sys.stderr, flush=True)
        for stop in reversed(self._at_exit):
            stop()
        self.children.stop_all()
        if self.keep:
            print(f"kept {self.work_dir}")
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return self.interrupted

    def end_system(self, system):
        """Stops one system (an object with stop() and dir) and removes its
        directory, unless opts.keep."""
        system.stop()
        if not self.keep:
            shutil.rmtree(system.dir, ignore_errors=True)


def machine_info(work_dir):
    """CPUs, RAM, kernel, the work dir's file system and the 1-minute load
    now; each benchmark adds its tools' versions."""
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    fs = subprocess.run(["stat", "-f", "-c", "%T", work_dir], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "load_1min": os.getloadavg()[0],
        "kernel": os.uname().release,
        "work_fs": fs,
    }


def machine_line(machine):
    """The report header's `machine:` line; a load above 1 marks the figures as noise."""
    return (f"machine: {machine['cpus_usable']} of {machine['cpus']} CPUs usable, {machine['mem_gib']} GiB RAM, "
            f"kernel {machine['kernel']}, work dir fs {machine['work_fs']}; 1-min load at start "
            f"{machine['load_1min']:.2f}{' (busy: treat as noise)' if machine['load_1min'] > 1 else ''}")


def free_bytes(path):
    """Bytes an unprivileged user may still write on path's file system."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def check_space(work_dir, need_bytes, fmt, needs, advice):
    """Fails unless work_dir's file system has need_bytes free: "<work_dir> has
    <fmt(free)> free and <needs> needs about <fmt(need_bytes)>; <advice>"."""
    free = free_bytes(work_dir)
    if free < need_bytes:
        raise BenchError(f"{work_dir} has {fmt(free)} free and {needs} needs about {fmt(need_bytes)}; {advice}")


def positive(text):
    """argparse type: a whole number above 0."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def parse_systems(text, order):
    """argparse type helper: 'b,a' -> the named systems in `order`; unknown or none fail."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in order]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown system(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {','.join(order)}")
    return [n for n in order if n in names]


def settings(opts):
    """The run's flags, as the --json file records them."""
    return {k: v for k, v in vars(opts).items() if k != "json_path"}


def write_json(path, doc, default=None):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=default)
