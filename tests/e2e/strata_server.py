"""Runs the real `strata` binary for end-to-end tests.

A StrataServer owns one data dir and its loopback ports (Kafka, admin HTTP,
PostgreSQL wire, NBD, and optionally an NBD unix socket). It can be started, stopped with SIGTERM (which must exit 0),
killed with SIGKILL and restarted on the same data dir and ports, so that
clients reconnect to the same address. Everything the server prints goes to
a log file per server, which the pytest hooks in conftest.py attach to the
report of a failed test.
"""

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


def strata_binary():
    """The binary under test: $STRATA_BIN, else build/strata in the repo."""
    path = Path(os.environ.get("STRATA_BIN", REPO_ROOT / "build" / "strata"))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"strata binary not found at {path}; build it with `make build` or set STRATA_BIN")
    return path


# Listening ports come from below the kernel's ephemeral range (32768 and up
# on Debian), so no outgoing connection can take one between this check and
# the server's bind, and below pg_source's 20000-30000 blocks for database
# clones. Each port goes out at most once per test process.
LISTEN_PORTS = range(10000, 20000)
_handed_out = set()


def free_port():
    """A loopback port that nothing listens on right now, not handed out before."""
    for _ in range(2000):
        port = random.choice(LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise AssertionError(f"no free loopback port left in {LISTEN_PORTS.start}-{LISTEN_PORTS.stop - 1}")


def wait_until(predicate, timeout_s, interval_s=0.05, what="condition"):
    """Polls predicate until it returns a truthy value; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


class LogFile:
    """log_text/log_tail over self.log_path, for every process a test starts."""

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=200):
        return "\n".join(self.log_text().splitlines()[-lines:])


class StrataServer(LogFile):
    def __init__(self, workdir, extra_args=(), data_dir=None, name="strata", nbd_unix_socket=None,
                 wait_for_nbd=False):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.kafka_port = free_port()
        self.http_port = free_port()
        self.pg_port = free_port()
        self.nbd_port = free_port()
        # Unix socket paths are limited to 107 bytes: callers pass a short one.
        self.nbd_unix_socket = str(nbd_unix_socket) if nbd_unix_socket else None
        # wait_ready() also waits for the NBD port (and socket) to accept.
        self.wait_for_nbd = wait_for_nbd
        self.extra_args = list(extra_args)
        self.name = name
        self.log_path = self.workdir / f"{name}.log"
        self.proc = None
        self.starts = 0
        self.binary = strata_binary()

    # --- addresses ---------------------------------------------------------
    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        return [
            str(self.binary), "server",
            "--data-dir", str(self.data_dir),
            "--kafka-listen", self.bootstrap,
            "--http-listen", f"127.0.0.1:{self.http_port}",
            "--pg-listen", f"127.0.0.1:{self.pg_port}",
            "--nbd-listen", f"127.0.0.1:{self.nbd_port}",
            "--group-initial-rebalance-delay-ms", "0",
            *(["--nbd-unix-socket", self.nbd_unix_socket] if self.nbd_unix_socket else []),
            *self.extra_args,
        ]

    def nbd_url(self, export):
        """nbd:// URL of an export ("VOL" or "VOL@SNAP"; '@' is percent-encoded,
        which qemu and libnbd both decode)."""
        return f"nbd://127.0.0.1:{self.nbd_port}/{urllib.parse.quote(export, safe='')}"

    def nbd_unix_url(self, export):
        assert self.nbd_unix_socket, "server was started without an NBD unix socket"
        return f"nbd+unix:///{urllib.parse.quote(export, safe='')}?socket={self.nbd_unix_socket}"

    # --- lifecycle ---------------------------------------------------------
    def spawn(self):
        """Starts the process without waiting for it to serve."""
        assert not self.running(), "server is already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        return self.proc

    def start(self, timeout_s=START_TIMEOUT_S):
        self.spawn()
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s=START_TIMEOUT_S):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"strata exited with code {self.proc.returncode} during start; log:\n{self.log_tail()}")
            return self.health_ok() and self.kafka_accepts() and (not self.wait_for_nbd or self.nbd_accepts())
        wait_until(ready, timeout_s, what="strata /health, the Kafka port" + (" and NBD" if self.wait_for_nbd else ""))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM, then waits; returns the exit code (None if it had to be killed)."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill9(self):
        if self.running():
            self.proc.kill()
        self.proc.wait()

    def restart(self, hard=False, timeout_s=START_TIMEOUT_S):
        """Stops (SIGKILL if hard, else SIGTERM that must exit 0) and starts again."""
        if hard:
            self.kill9()
        else:
            code = self.stop()
            assert code == 0, f"SIGTERM exit code was {code}, expected 0; log:\n{self.log_tail()}"
        return self.start(timeout_s)

    # --- probes ------------------------------------------------------------
    def kafka_accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.kafka_port), timeout=1):
                return True
        except OSError:
            return False

    def nbd_accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.nbd_port), timeout=1):
                pass
            if self.nbd_unix_socket:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect(self.nbd_unix_socket)
            return True
        except OSError:
            return False

    def health_ok(self):
        try:
            status, _ = self.http("GET", "/health", timeout_s=1)
            return status == 200
        except OSError:
            return False

    def http(self, method, path, body=None, timeout_s=10):
        """(status, text) of an admin API call; body is sent as JSON."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.admin_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, text = self.http("GET", "/metrics")
        assert status == 200, f"/metrics answered {status}: {text}"
        return text

    def create_topic(self, name, partitions, configs=None):
        """Creates a topic through the admin HTTP API (not under test here)."""
        body = {"name": name, "partitions": partitions, "configs": configs or {}}
        status, text = self.http("POST", "/v1/topics", body)
        assert status == 201, f"POST /v1/topics {name} answered {status}: {text}"
        return json.loads(text)

    def describe_topic(self, name):
        status, text = self.http("GET", f"/v1/topics/{name}")
        return status, (json.loads(text) if text.strip().startswith("{") else text)

    # --- volumes (admin HTTP API) ---------------------------------------------
    def api(self, method, path, body=None, expect=200):
        """JSON of an admin API call that must answer `expect`."""
        status, text = self.http(method, path, body)
        assert status == expect, f"{method} {path} {body or ''} answered {status}, expected {expect}: {text}"
        return json.loads(text) if text.strip() else None

    def create_volume(self, name, size_bytes):
        return self.api("POST", "/v1/volumes", {"name": name, "size_bytes": size_bytes}, expect=201)

    def volume(self, name):
        return self.api("GET", f"/v1/volumes/{urllib.parse.quote(name, safe='')}")

    def volumes(self):
        """{"volumes": [...], "usage": {...}}"""
        return self.api("GET", "/v1/volumes")

    def volume_usage(self):
        return self.volumes()["usage"]

    def wait_usage(self, predicate, what, timeout_s=30):
        """Polls GET /v1/volumes until predicate(usage) holds (background
        reclaim); fails with the last usage seen."""
        last = {}

        def check():
            last.update(self.volume_usage())
            return predicate(last)
        try:
            wait_until(check, timeout_s, interval_s=0.2, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; last usage: {last}") from None
        return last

    def resize_volume(self, name, size_bytes):
        return self.api("POST", f"/v1/volumes/{urllib.parse.quote(name, safe='')}/resize",
                        {"size_bytes": size_bytes})

    def delete_volume(self, name):
        return self.http("DELETE", f"/v1/volumes/{urllib.parse.quote(name, safe='')}")

    def create_snapshot(self, volume, name):
        return self.api("POST", "/v1/snapshots", {"volume": volume, "name": name}, expect=201)

    def snapshots(self, volume=None):
        query = f"?volume={urllib.parse.quote(volume, safe='')}" if volume else ""
        return self.api("GET", f"/v1/snapshots{query}")["snapshots"]

    def delete_snapshot(self, export):
        """DELETE /v1/snapshots/VOL@SNAP; returns (status, text)."""
        return self.http("DELETE", f"/v1/snapshots/{urllib.parse.quote(export, safe='@')}")

    def create_clone(self, snapshot_export, name):
        return self.api("POST", "/v1/clones", {"snapshot": snapshot_export, "name": name}, expect=201)

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc/PID/status")

    def sanitized(self):
        """True for an ASan build: its allocator keeps freed blocks in a
        quarantine (256 MiB by default), so RSS bounds must allow for it."""
        with open(f"/proc/{self.pid}/maps") as f:
            return any("libasan" in line for line in f)

    def cli(self, *args, admin=True, timeout_s=30):
        """Runs `strata ARGS... [--admin URL]` and returns the CompletedProcess."""
        cmd = [str(self.binary), *args]
        if admin:
            cmd += ["--admin", self.admin_url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
