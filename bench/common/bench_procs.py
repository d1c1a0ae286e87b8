"""Child processes, ports and interrupts, shared by the benchmarks.

Every server and tool run goes through one `Children` object, which stops
them all when the benchmark ends, fails or is interrupted. Children run in
their own session (a terminal's Ctrl-C reaches only the benchmark, which then
stops them in order) and die with the benchmark if it is killed with SIGKILL
(PR_SET_PDEATHSIG).
"""

import ctypes
import os
import signal
import socket
import subprocess
import time

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT_S = 30.0
LOG_TAIL_BYTES = 4000


class BenchError(Exception):
    """A failure that ends one system's run; the message says what to do."""


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def install_signal_handlers():
    """SIGTERM and SIGHUP end the run like Ctrl-C: through the cleanup path."""
    def raise_interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, raise_interrupt)
    signal.signal(signal.SIGHUP, raise_interrupt)


def log_tail(path, limit_bytes=LOG_TAIL_BYTES):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit_bytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Child:
    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.log_path = log_path

    def running(self):
        return self.popen.poll() is None


class Children:
    def __init__(self):
        self._children = []

    def start(self, name, argv, log_path, env=None, stdout_path=None):
        """Starts argv; stderr (and stdout unless stdout_path) go to log_path."""
        log = open(log_path, "ab")
        out = open(stdout_path, "wb") if stdout_path else log
        try:
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=log if stdout_path else subprocess.STDOUT,
                env=env, start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as e:
            raise BenchError(f"cannot start {argv[0]}: {e}") from e
        finally:
            log.close()
            if out is not log:
                out.close()
        child = Child(name, popen, log_path)
        self._children.append(child)
        return child

    def run(self, name, argv, log_path, timeout_s, stdout_path=None):
        """Runs argv to completion; returns its exit status."""
        child = self.start(name, argv, log_path, stdout_path=stdout_path)
        try:
            return child.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise BenchError(f"{name} did not finish within {timeout_s:.0f} s; "
                             f"see {log_path}") from e
        finally:
            self.stop(child)

    def stop(self, child, timeout_s=STOP_TIMEOUT_S):
        if child.running():
            _signal_group(child, signal.SIGTERM)
            try:
                child.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.popen.wait()
        if child in self._children:
            self._children.remove(child)

    def stop_all(self):
        for child in reversed(list(self._children)):
            self.stop(child)


def _signal_group(child, sig):
    try:
        os.killpg(child.popen.pid, sig)
    except ProcessLookupError:
        pass


def pids():
    """The ids of the processes running now (the numeric entries of /proc)."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process_stats():
    """(pid, fields) of every process, fields being /proc/PID/stat after the
    command name: state (0), ppid (1), pgrp (2), ..., utime (11), stime (12).
    Processes that end while they are read are left out."""
    for pid in pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield pid, fields


def _group_cpu_s(pgid):
    """CPU seconds used so far by every process of the process group."""
    ticks = 0
    for _, fields in process_stats():
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_idle(child, idle_cpu_fraction=0.05, window_s=1.0, timeout_s=300.0):
    """Waits until the child's processes (its process group) use less than
    idle_cpu_fraction of one CPU over window_s, so that work a server does in
    the background after a load (compactions, checkpoints) does not land in
    the timed runs that follow. Returns the seconds waited."""
    started = time.perf_counter()
    last = _group_cpu_s(child.popen.pid)
    while time.perf_counter() - started < timeout_s:
        time.sleep(window_s)
        now = _group_cpu_s(child.popen.pid)
        if now - last < idle_cpu_fraction * window_s:
            break
        last = now
    return time.perf_counter() - started


def free_port():
    """A loopback port that was free a moment ago (the usual small race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(child, ready, timeout_s, what, interval_s=0.05):
    """Polls ready() until it returns True; fails if the child exits first or time runs out.

    `what` completes "... did not <what>" and "exited ... before <what>"."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.running():
            raise BenchError(f"{child.name} exited with status {child.popen.returncode} "
                             f"before it would {what}:\n{log_tail(child.log_path)}")
        if ready():
            return
        time.sleep(interval_s)
    raise BenchError(f"{child.name} did not {what} within {timeout_s:.0f} s:\n"
                     f"{log_tail(child.log_path)}")


def wait_for_port(child, port, timeout_s):
    def accepts():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_until_ready(child, accepts, timeout_s, f"listen on port {port}")


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"
