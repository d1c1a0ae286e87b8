"""PostgreSQL 15 for the clones benchmark: the source database (initdb +
pgbench), instances started directly with `postgres -D` (as Strata starts
its clones), the "accepts connections" probe, and process memory.

PostgreSQL refuses to run as root, so when the benchmark runs as root every
postgres tool runs as the OS user `postgres` through `setpriv`, which execs
the tool in place (no extra parent process, nothing added to a timed start).
"""

import os
import pwd
import secrets
import shutil
import time

from bench_procs import BenchError, free_port, log_tail, pids, process_stats, wait_until_ready
import report

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_USER = "postgres"
INITDB_TIMEOUT_S = 300.0
PGBENCH_INIT_TIMEOUT_S = 4 * 3600.0
START_TIMEOUT_S = 600.0   # a copy that needs crash recovery can take a while
PROBE_INTERVAL_S = 0.005


def as_pg_user(argv):
    if os.geteuid() != 0:
        return list(argv)
    entry = pwd.getpwnam(PG_USER)
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups",
            "--pdeathsig=SIGKILL", "--", *argv]


def chown_pg(path):
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def make_pg_dir(path):
    """A directory the postgres user owns (its parents must be enterable)."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    chown_pg(path)
    return path


def check_installed():
    for tool in ("postgres", "initdb", "pgbench", "pg_basebackup"):
        if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
            raise BenchError(f"{PG_BIN}/{tool} is missing; apt-get install postgresql-15")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            raise BenchError(f"there is no OS user {PG_USER} to run PostgreSQL as") from None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise BenchError("python3-psycopg is missing; run scripts/install-deps.sh --bench") from None


def instance_argv(data_dir, port, socket_dir, extra=()):
    return [f"{PG_BIN}/postgres", "-D", data_dir, "-c", f"port={port}", "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={socket_dir}", *extra]


def accepts(host, port, user, password, dbname="app"):
    """True when a new TCP connection with this password runs SELECT 1."""
    import psycopg
    try:
        with psycopg.connect(host=host, port=port, user=user, password=password, dbname=dbname,
                             connect_timeout=5) as conn:
            return conn.execute("SELECT 1").fetchone()[0] == 1
    except psycopg.Error:
        return False


def wait_accepting(host, port, user, password, timeout_s, child=None, what="accept connections"):
    """Polls accepts() every 5 ms; fails when the child exits or time runs out."""
    if child is not None:
        wait_until_ready(child, lambda: accepts(host, port, user, password), timeout_s, what,
                         interval_s=PROBE_INTERVAL_S)
        return
    deadline = time.monotonic() + timeout_s
    while not accepts(host, port, user, password):
        if time.monotonic() > deadline:
            raise BenchError(f"{host}:{port} did not {what} within {timeout_s:.0f} s")
        time.sleep(PROBE_INTERVAL_S)


class Source:
    """The source PostgreSQL: pgbench data at `scale` in database `app`."""

    def __init__(self, children, base_dir, scale):
        self.children = children
        self.dir = make_pg_dir(base_dir)
        self.data = os.path.join(self.dir, "data")
        self.scale = scale
        self.port = free_port()
        self.superuser = PG_USER
        self.password = "bench-" + secrets.token_hex(8)
        self.replication_user = "replicator"
        self.replication_password = "repl-" + secrets.token_hex(8)
        self.child = None

    def conninfo(self, user=None, password=None, dbname="app"):
        return (f"host=127.0.0.1 port={self.port} user={user or self.superuser} "
                f"password={password or self.password} dbname={dbname}")

    @property
    def physical_conninfo(self):
        return self.conninfo(self.replication_user, self.replication_password, "postgres")

    def _run(self, name, argv, timeout_s):
        log = os.path.join(self.dir, f"{name}.log")
        status = self.children.run(name, as_pg_user(argv), log, timeout_s)
        if status != 0:
            raise BenchError(f"{name} failed (status {status}):\n{log_tail(log)}")

    def start(self):
        pwfile = os.path.join(self.dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        chown_pg(pwfile)
        self._run("initdb", [f"{PG_BIN}/initdb", "-D", self.data, "-U", self.superuser, f"--pwfile={pwfile}",
                             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                             "--no-sync"], INITDB_TIMEOUT_S)
        os.remove(pwfile)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# strata clones bench source\nwal_level = replica\nmax_wal_senders = 10\n"
                    "max_replication_slots = 10\nhot_standby = on\n")
        self.start_postmaster()
        self.sql(f"CREATE ROLE {self.replication_user} LOGIN REPLICATION PASSWORD '{self.replication_password}'",
                 dbname="postgres")
        self.sql(f"GRANT pg_monitor TO {self.replication_user}", dbname="postgres")
        self.sql("CREATE DATABASE app", dbname="postgres")
        # Server-side generation (G) is the quickest way to load a large scale.
        self._run("pgbench-init", [f"{PG_BIN}/pgbench", "-i", "-q", "-I", "dtGvp", "-s", str(self.scale),
                                   "-h", self.dir, "-p", str(self.port), "-U", self.superuser, "app"],
                  PGBENCH_INIT_TIMEOUT_S)
        self.sql("CHECKPOINT", dbname="postgres")
        return self

    def start_postmaster(self):
        # fsync=off on the command line speeds up the load; pg_basebackup
        # does not copy command-line settings into the copies.
        argv = instance_argv(self.data, self.port, self.dir, ["-c", "fsync=off", "-c", "max_wal_size=4GB"])
        self.child = self.children.start("source postgres", as_pg_user(argv), os.path.join(self.dir, "postgres.log"))
        wait_until_ready(self.child, lambda: accepts("127.0.0.1", self.port, self.superuser, self.password,
                                                     "postgres"),
                         120, "accept connections")

    def sql(self, query, dbname="app"):
        import psycopg
        with psycopg.connect(self.conninfo(dbname=dbname), autocommit=True) as conn:
            cur = conn.execute(query)
            return cur.fetchall() if cur.description else []

    def db_bytes(self):
        return self.sql("SELECT pg_database_size('app')")[0][0]

    def stop(self, remove=True):
        if self.child is not None:
            self.children.stop(self.child)
            self.child = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- process memory -----------------------------------------------------------
def tree_memory(root_pids):
    """(RSS sum, PSS sum, process count) over root_pids and their descendants."""
    rss = pss = count = 0
    parents = {pid: int(fields[1]) for pid, fields in process_stats()}
    for pid in report.descendants(parents, root_pids):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                r, p = report.parse_smaps_rollup(f.read())
        except OSError:
            continue
        rss += r
        pss += p
        count += 1
    return rss, pss, count


def postmasters_under(path):
    """{port: pid} of postgres postmasters whose -D lies under path."""
    found = {}
    for pid in pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if not argv or not argv[0].endswith("postgres") or "-D" not in argv:
            continue
        if not argv[argv.index("-D") + 1].startswith(path):
            continue
        for a in argv:
            if a.startswith("port="):
                found[int(a.split("=", 1)[1])] = pid
    return found
