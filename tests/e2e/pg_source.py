"""A real PostgreSQL 15 source for the database-clone tests, and the pieces
every database-clone test server needs.

- `PgSource`: `initdb` in a fresh directory under /tmp (readable by the OS
  user `postgres`, since pytest's own tmp dirs are 0700 root), run as
  `postgres` (never as root), on a free loopback port, with pgbench data in
  the database `app`. It has a replication role for physical sources, the
  superuser's password for logical ones, SQL over psycopg 3, and stop +
  cleanup.
- `PoolMount`: a unique `--db-pool-mount` directory per test server, and a
  teardown check that nothing stays mounted there and that no process (a
  clone's postgres, an nbdfuse) still runs on the test's directories.
- `DbServer`: a `StrataServer` with the database-clone flags set (its own
  pool mount, its own clone port range), stopped with SIGTERM (exit 0) and
  checked for leftovers.
- Small admin API helpers for `/v1/db/...` (docs/formats/admin-api-db.md).
"""

import datetime as dt
import json
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import warnings
from pathlib import Path

from strata_server import StrataServer, free_port, wait_until

PG_BIN = Path(os.environ.get("STRATA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
PGBENCH_ROWS_PER_SCALE = 100_000
MiB = 1 << 20


def skip_reason():
    """Why the database-clone tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "database clones need root (loop-mounted btrfs pool, clones run as the OS user postgres)"
    if not (PG_BIN / "postgres").is_file():
        return f"PostgreSQL 15 is not installed ({PG_BIN}/postgres missing; apt-get install postgresql-15)"
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return f"there is no OS user {OS_USER!r} to run PostgreSQL as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg 3 is missing (apt-get install python3-psycopg)"
    if not shutil.which("mkfs.btrfs"):
        return "mkfs.btrfs is missing (apt-get install btrfs-progs)"
    return None


def _as_user(name):
    """Popen keyword arguments that run a child as OS user `name`."""
    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _chown(path, name=OS_USER):
    entry = pwd.getpwnam(name)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class PgSource:
    """One PostgreSQL 15 instance run as OS user postgres.

    Usage: `src = PgSource(scale=1).start()`; `src.physical_conninfo`,
    `src.logical_conninfo`, `src.sql("select ...")`, `src.stop()`.
    """

    def __init__(self, scale=1, dbname="app", port=None, fsync=False, name="pgsrc"):
        self.scale = scale
        self.dbname = dbname
        self.port = port or free_port()
        self.fsync = fsync
        self.name = name
        self.superuser = "postgres"
        self.superuser_password = "su-" + secrets.token_hex(8)
        self.replication_user = "replicator"
        self.replication_password = "repl-" + secrets.token_hex(8)
        self.base = None
        self.proc = None

    # --- paths ---------------------------------------------------------------
    @property
    def data_dir(self):
        return self.base / "data"

    @property
    def socket_dir(self):
        return self.base

    @property
    def log_path(self):
        return self.base / "postgres.log"

    # --- conninfo ------------------------------------------------------------
    def conninfo(self, user, password, dbname=None):
        return (f"host=127.0.0.1 port={self.port} user={user} password={password} "
                f"dbname={dbname or self.dbname}")

    @property
    def physical_conninfo(self):
        """A role with REPLICATION (pg_basebackup, the streaming standby)."""
        return self.conninfo(self.replication_user, self.replication_password, "postgres")

    @property
    def logical_conninfo(self):
        """The superuser (pg_dump of every object of `app`)."""
        return self.conninfo(self.superuser, self.superuser_password)

    # --- lifecycle -----------------------------------------------------------
    def _run(self, argv, timeout_s=300, **kwargs):
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.base),
               "PGHOST": str(self.socket_dir), "PGPORT": str(self.port), "PGUSER": self.superuser}
        proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env,
                              cwd=self.base, timeout=timeout_s, **_as_user(OS_USER), **kwargs)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, argv))} exited {proc.returncode}:\n"
                                 f"{proc.stdout}{proc.stderr}\n{self.log_tail()}")
        return proc

    def start(self, timeout_s=60):
        # Under /tmp, not pytest's 0700 tmp dirs, so that postgres can enter it.
        self.base = Path(tempfile.mkdtemp(prefix="strata-pgsrc-", dir="/tmp"))
        os.chmod(self.base, 0o755)
        _chown(self.base)
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        _chown(pwfile)
        self._run([PG_BIN / "initdb", "-D", self.data_dir, "-U", self.superuser, f"--pwfile={pwfile}",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                   "--no-sync", "--no-instructions"])
        pwfile.unlink()
        with open(self.data_dir / "postgresql.conf", "a") as f:
            f.write("\n# strata e2e source\n"
                    "wal_level = replica\n"
                    "max_wal_senders = 10\n"
                    "max_replication_slots = 10\n"
                    "hot_standby = on\n"
                    "password_encryption = 'scram-sha-256'\n")
        (self.data_dir / "pg_hba.conf").write_text(
            "# strata e2e source: trust on the unix socket, scram over TCP\n"
            "local   all           all                  trust\n"
            "local   replication   all                  trust\n"
            "host    all           all    127.0.0.1/32  scram-sha-256\n"
            "host    replication   all    127.0.0.1/32  scram-sha-256\n"
            "host    all           all    ::1/128       scram-sha-256\n"
            "host    replication   all    ::1/128       scram-sha-256\n")
        _chown(self.data_dir / "pg_hba.conf")
        self._start_postmaster(timeout_s)
        self.sql(f"CREATE ROLE {self.replication_user} WITH LOGIN REPLICATION "
                 f"PASSWORD '{self.replication_password}'", dbname="postgres")
        self.sql(f"GRANT pg_monitor TO {self.replication_user}", dbname="postgres")
        self.sql(f"CREATE DATABASE {self.dbname}", dbname="postgres")
        if self.scale:
            self.pgbench_init(self.scale)
        return self

    def _start_postmaster(self, timeout_s=60):
        argv = [str(PG_BIN / "postgres"), "-D", str(self.data_dir), "-c", f"port={self.port}",
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.socket_dir}"]
        if not self.fsync:
            # On the command line, not in postgresql.conf: pg_basebackup copies
            # that file into every clone.
            argv += ["-c", "fsync=off"]
        log = open(self.log_path, "ab")
        _chown(self.log_path)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.base, env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
                                     start_new_session=True, **_as_user(OS_USER))
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"source postgres exited with {self.proc.returncode}:\n{self.log_tail()}")
            return subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", str(self.socket_dir),
                                   "-p", str(self.port)]).returncode == 0
        wait_until(ready, timeout_s, interval_s=0.1, what="the source postgres to accept connections")

    def pgbench_init(self, scale):
        self._run([PG_BIN / "pgbench", "-i", "-q", "-s", scale, self.dbname], timeout_s=3600)

    def restart(self):
        self.stop(cleanup=False)
        self._start_postmaster()

    def stop(self, cleanup=True, timeout_s=60):
        """Fast shutdown (SIGINT), SIGKILL if it hangs; then removes the dir."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if cleanup and self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, TypeError):
            return ""

    # --- SQL -----------------------------------------------------------------
    def connect(self, dbname=None, **kwargs):
        import psycopg  # noqa: F401
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.superuser,
                               password=self.superuser_password, dbname=dbname or self.dbname,
                               autocommit=True, connect_timeout=10, **kwargs)

    def sql(self, query, params=None, dbname=None):
        """Rows of `query` (autocommit), or [] for a statement without rows."""
        with self.connect(dbname) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def scalar(self, query, params=None, dbname=None):
        return self.sql(query, params, dbname)[0][0]

    def wait_replayed(self, timeout_s=30, what="a standby to replay the source's latest WAL"):
        """Waits until some standby (the sync instance) reports it replayed
        everything the source had written when this was called. A standby
        reports its replay position when it receives new WAL, so this keeps
        writing a little WAL while it waits."""
        target = self.scalar("SELECT pg_current_wal_lsn()::text", dbname="postgres")

        def replayed():
            rows = self.sql("SELECT count(*) FROM pg_stat_replication "
                            "WHERE replay_lsn >= %s::pg_lsn", (target,), dbname="postgres")
            if rows[0][0] > 0:
                return True
            self.sql("SELECT txid_current()", dbname="postgres")  # a commit: new WAL, flushed
            return False
        wait_until(replayed, timeout_s, interval_s=0.2, what=what)


# --- clone connections --------------------------------------------------------
def connect_clone(clone, user, password, dbname="app", timeout_s=10):
    """A psycopg connection over TCP to a clone (host and port from the API)."""
    import psycopg
    return psycopg.connect(host=clone["host"], port=clone["port"], user=user, password=password,
                           dbname=dbname, autocommit=True, connect_timeout=timeout_s)


def clone_sql(clone, user, password, query, params=None, dbname="app"):
    with connect_clone(clone, user, password, dbname) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def clone_scalar(clone, user, password, query, params=None, dbname="app"):
    return clone_sql(clone, user, password, query, params, dbname)[0][0]


def port_accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# --- processes and mounts -----------------------------------------------------
def processes_mentioning(*needles):
    """[(pid, argv)] of live processes whose command line contains any of the
    needles (paths), this process excluded."""
    found = []
    needles = [str(n) for n in needles if n]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not argv:
            continue
        line = " ".join(argv)
        if any(n in line for n in needles):
            found.append((int(entry), argv))
    return found


def postmasters_under(path):
    """{pid: argv} of postgres postmasters whose -D lies under path."""
    result = {}
    for pid, argv in processes_mentioning(path):
        if not argv[0].endswith("/postgres") and argv[0] != "postgres":
            continue
        if "-D" in argv and str(argv[argv.index("-D") + 1]).startswith(str(path)):
            result[pid] = argv
    # A postmaster's child keeps its parent's argv from fork until it sets its
    # process title, so a child caught in that window is not a second postmaster.
    return {pid: argv for pid, argv in result.items() if result.get(parent_pid(pid)) != argv}


def parent_pid(pid):
    """The parent of a live process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def postmaster_port(argv):
    """The port a postmaster was started with (-c port=N or -p N), or None."""
    for i, a in enumerate(argv):
        m = re.fullmatch(r"(?:--)?port=(\d+)", a)
        if m:
            return int(m.group(1))
        if a == "-p" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
    return None


def postmaster_pid_for_port(port, under=None):
    """The pid of the postmaster started on `port` (its argv), or None."""
    candidates = postmasters_under(under) if under else {
        pid: argv for pid, argv in processes_mentioning(f"port={port}") if argv[0].endswith("postgres")}
    for pid, argv in candidates.items():
        if postmaster_port(argv) == port:
            return pid
    return None


def mounts_under(path):
    """Mount points at or below path, deepest first."""
    path = str(path).rstrip("/")
    points = []
    with open("/proc/self/mounts") as f:
        for line in f:
            point = line.split()[1].replace("\\040", " ")
            if point == path or point.startswith(path + "/"):
                points.append(point)
    return sorted(set(points), key=len, reverse=True)


def loop_devices_backed_by(path):
    """Loop devices whose backing file lies under path."""
    out = subprocess.run(["losetup", "--list", "--noheadings", "-O", "NAME,BACK-FILE"],
                         capture_output=True, text=True).stdout
    devices = []
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].strip().startswith(str(path)):
            devices.append(parts[0])
    return devices


def free_port_range(count, low=20000, high=30000, attempts=200):
    """(first, last) of `count` consecutive loopback ports that are free now."""
    for _ in range(attempts):
        first = random.randrange(low, high - count)
        ok = True
        for port in range(first, first + count):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return first, first + count - 1
    raise AssertionError(f"no {count} consecutive free ports in {low}-{high}")


class PoolMount:
    """A unique --db-pool-mount for one test server, under /tmp (outside
    pytest's root-only dirs, as the issue requires), and its teardown check."""

    def __init__(self, prefix="strata-pool-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        os.chmod(self.path, 0o755)

    @property
    def run_dir(self):
        """Where the server keeps its instances' sockets and configs (<mount>-run)."""
        return Path(str(self.path) + "-run")

    @property
    def volumes_dir(self):
        """Where the volume backend mounts its datasets (<mount>-volumes)."""
        return Path(str(self.path) + "-volumes")

    @property
    def trees(self):
        return (self.path, self.run_dir, self.volumes_dir)

    def args(self):
        return ["--db-pool-mount", str(self.path)]

    def leftovers(self, *extra_paths):
        """What a stopped server left behind: mounts, processes, loop devices."""
        found = []
        for tree in self.trees:
            for point in mounts_under(tree):
                found.append(f"still mounted: {point}")
        for pid, argv in processes_mentioning(*self.trees, *extra_paths):
            found.append(f"process {pid} still running: {' '.join(argv)[:200]}")
        for path in (*self.trees, *extra_paths):
            for dev in loop_devices_backed_by(path):
                found.append(f"loop device {dev} still attached to a file under {path}")
        for tree in (self.run_dir, self.volumes_dir):
            if tree.exists():
                files = sorted(p.name for p in tree.iterdir())
                found.append(f"{tree} still exists (holding {', '.join(files[:8]) or 'nothing'})")
        return found

    def cleanup(self, *extra_paths):
        """Removes what leftovers() finds (SIGKILL by pid, umount -l, losetup
        -d) and the directory. Returns the leftovers found (empty when the
        server cleaned up after itself)."""
        found = self.leftovers(*extra_paths)
        for pid, _ in processes_mentioning(*self.trees, *extra_paths):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for tree in self.trees:
            for point in mounts_under(tree):
                subprocess.run(["umount", "-l", point], capture_output=True)
        for path in (*self.trees, *extra_paths):
            for dev in loop_devices_backed_by(path):
                subprocess.run(["losetup", "-d", dev], capture_output=True)
        for tree in self.trees:
            if not mounts_under(tree):
                shutil.rmtree(tree, ignore_errors=True)
        return found


# --- a Strata server with the database-clone flags ----------------------------
class DbServer(StrataServer):
    """StrataServer plus its own pool mount and clone port range.

    `close()` stops it with SIGTERM and returns a list of problems: a non-zero
    exit, and anything it left mounted or running (which is then removed)."""

    def __init__(self, workdir, extra_args=(), ports=10, name="strata", **kwargs):
        self.pool_mount = PoolMount()
        self.clone_ports = free_port_range(ports)
        args = [*self.pool_mount.args(),
                "--db-clone-ports", f"{self.clone_ports[0]}-{self.clone_ports[1]}",
                *extra_args]
        try:
            super().__init__(workdir, extra_args=args, name=name, **kwargs)
        except Exception:
            self.pool_mount.cleanup()
            raise

    def close(self):
        problems = []
        if self.running():
            code = self.stop(timeout_s=60)
            if code != 0:
                problems.append(f"{self.name}: exit code {code} after SIGTERM")
        elif self.proc is not None and self.proc.returncode not in (0, -signal.SIGKILL):
            problems.append(f"{self.name}: exited with code {self.proc.returncode}")
        left = self.pool_mount.cleanup(self.data_dir)
        if left:
            warnings.warn(f"{self.name} left behind after SIGTERM (removed now): " + "; ".join(left))
        return problems

    # --- /v1/db helpers ------------------------------------------------------
    def db(self, method, path, body=None, expect=200, timeout_s=120):
        status, text = self.http(method, "/v1/db" + path, body, timeout_s=timeout_s)
        assert status == expect, f"{method} /v1/db{path} answered {status}, expected {expect}: {text}"
        return json.loads(text) if text.strip() else None

    def db_error(self, method, path, body=None, timeout_s=60):
        """(status, error code, message) of a call that must fail in the
        admin API's one error shape."""
        status, text = self.http(method, "/v1/db" + path, body, timeout_s=timeout_s)
        assert status >= 400, f"{method} /v1/db{path} {body or ''} answered {status}, expected an error: {text}"
        try:
            doc = json.loads(text)
            err = doc["error"]
            return status, err["code"], err["message"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"{method} /v1/db{path} answered {status} without the error shape "
                                 f"{{\"error\": {{\"code\", \"message\"}}}}: {text!r}") from None

    def create_source(self, name, mode, conninfo, expect=201, **fields):
        return self.db("POST", "/sources", {"name": name, "mode": mode, "conninfo": conninfo, **fields},
                       expect=expect)

    def source(self, name):
        return self.db("GET", f"/sources/{q(name)}")

    def wait_source_ready(self, name, timeout_s=180):
        last = {}

        def ready():
            last.clear()
            last.update(self.source(name))
            if last.get("status") == "error":
                raise AssertionError(f"source {name} failed: {last.get('reason')}")
            return last.get("status") == "ready"
        try:
            wait_until(ready, timeout_s, interval_s=0.2, what=f"source {name} to be ready")
        except AssertionError as e:
            raise AssertionError(f"{e}; last: {last}") from None
        return dict(last)

    def take_snapshot(self, source, message=None, timeout_s=180):
        body = {"message": message} if message else {}
        return self.db("POST", f"/sources/{q(source)}/snapshots", body, expect=201, timeout_s=timeout_s)

    def snapshots(self, source=None):
        query = f"?source={q(source)}" if source else ""
        return self.db("GET", f"/snapshots{query}")["snapshots"]

    def create_db_clone(self, clone_id, user, password, expect=201, **fields):
        return self.db("POST", "/clones", {"id": clone_id, "user": user, "password": password, **fields},
                       expect=expect)

    def db_clone(self, clone_id):
        return self.db("GET", f"/clones/{q(clone_id)}")

    def db_clones(self):
        return self.db("GET", "/clones")["clones"]

    def reset_clone(self, clone_id, **fields):
        return self.db("POST", f"/clones/{q(clone_id)}/reset", fields)

    def delete_db_clone(self, clone_id):
        return self.db("DELETE", f"/clones/{q(clone_id)}", expect=204)

    def clone_postmasters(self):
        """{port: pid} of the postmasters under the pool mount on a clone port."""
        lo, hi = self.clone_ports
        found = {}
        for pid, argv in postmasters_under(self.pool_mount.path).items():
            port = postmaster_port(argv)
            if port is not None and lo <= port <= hi:
                assert port not in found, f"two postmasters on clone port {port}: {found[port]} and {pid}"
                found[port] = pid
        return found

    def subvolumes(self):
        """Paths of the btrfs subvolumes in the pool (relative to its top)."""
        proc = subprocess.run(["btrfs", "subvolume", "list", "-o", str(self.pool_mount.path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            proc = subprocess.run(["btrfs", "subvolume", "list", str(self.pool_mount.path)],
                                  capture_output=True, text=True)
        return sorted(line.split(" path ", 1)[1] for line in proc.stdout.splitlines() if " path " in line)


def q(name):
    return urllib.parse.quote(name, safe="")


def wait_clone_status(server, clone_id, statuses, timeout_s=60):
    """Polls GET /v1/db/clones/ID until its status is one of `statuses`."""
    last = {}

    def check():
        status, text = server.http("GET", f"/v1/db/clones/{q(clone_id)}")
        if status == 200:
            last.clear()
            last.update(json.loads(text))
            return last.get("status") in statuses
        return False
    try:
        wait_until(check, timeout_s, interval_s=0.2, what=f"clone {clone_id} to reach {statuses}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last: {last}") from None
    return dict(last)


def wait_clone_running(server, clone_id, timeout_s=90):
    """After a (re)start: waits until the clone is FATAL, or OK with the pid
    of a live postmaster (not just an OK record the server has not yet
    recovered), and checks that pid is the postmaster on the clone's port."""
    last = {}

    def check():
        status, text = server.http("GET", f"/v1/db/clones/{q(clone_id)}")
        if status != 200:
            return False
        last.clear()
        last.update(json.loads(text))
        return last.get("status") == "FATAL" or (last.get("status") == "OK" and last.get("pid", 1) > 0)
    try:
        wait_until(check, timeout_s, interval_s=0.2, what=f"clone {clone_id} to run (OK with a pid) or be FATAL")
    except AssertionError as e:
        raise AssertionError(f"{e}; last: {last}") from None
    if last["status"] == "OK" and "pid" in last:
        actual = postmaster_pid_for_port(last["port"], under=server.pool_mount.path) or \
            postmaster_pid_for_port(last["port"])
        assert actual == last["pid"], \
            f"clone {clone_id}: the API says pid {last['pid']}, the postmaster on port {last['port']} is {actual}"
    return dict(last)


def wait_accepting(clone, user, password, timeout_s=30, dbname="app"):
    """Waits until a clone answers SELECT 1 with these credentials."""
    last = []

    def ok():
        try:
            return clone_scalar(clone, user, password, "SELECT 1", dbname=dbname) == 1
        except Exception as e:  # psycopg.OperationalError and friends
            last[:] = [repr(e)]
            return False
    try:
        wait_until(ok, timeout_s, interval_s=0.2, what=f"clone {clone.get('id')} on port {clone.get('port')}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last error: {last}") from None


def parse_time(text):
    """An RFC 3339 UTC time of the API as an aware datetime."""
    assert text, "empty time"
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def flush_pool(server):
    """Commits what the pool's file systems hold, so exclusive bytes are current."""
    os.sync()
    subprocess.run(["btrfs", "filesystem", "sync", str(server.pool_mount.path)], capture_output=True)


def wait_exclusive(server, clone_id, predicate, what, timeout_s=20):
    """Polls the clone's exclusive_bytes (after a flush) until predicate holds."""
    last = {}

    def check():
        flush_pool(server)
        last.update(server.db_clone(clone_id))
        return predicate(last["exclusive_bytes"])
    try:
        wait_until(check, timeout_s, interval_s=0.5, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; last exclusive_bytes {last.get('exclusive_bytes')}") from None
    return last["exclusive_bytes"]


def cli_ok(server, *args, timeout_s=120):
    """stdout of `strata ARGS --admin URL`, which must exit 0."""
    proc = server.cli(*args, timeout_s=timeout_s)
    assert proc.returncode == 0, f"strata {' '.join(args)} exited {proc.returncode}: {proc.stderr}{proc.stdout}"
    return proc.stdout


def sleep_until_next_minute(margin_s=2.0):
    """Sleeps until margin_s after the next wall-clock minute starts."""
    now = time.time()
    time.sleep(60 - now % 60 + margin_s)
