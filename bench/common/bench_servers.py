"""Starting the servers the SQL benchmarks compare: the strata binary and a
PostgreSQL 15 of its own (initdb as the OS user postgres, which refuses to
run as root). Each returns the child and its PostgreSQL port once `ready(port)`
says the server answers."""

import os
import pwd

from bench_procs import BenchError, free_port, log_tail, wait_until_ready

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_USER = "postgres"
START_TIMEOUT_S = 60.0
INITDB_TIMEOUT_S = 300.0


def start_strata(children, binary, dir, ready, extra_args=()):
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        raise BenchError(f"{binary} is missing; build it first (make build) or pass --strata-bin")
    os.makedirs(dir, exist_ok=True)
    kafka, pg, nbd, http = (free_port() for _ in range(4))
    argv = [binary, "server", "--data-dir", os.path.join(dir, "data"),
            "--kafka-listen", f"127.0.0.1:{kafka}", "--pg-listen", f"127.0.0.1:{pg}",
            "--nbd-listen", f"127.0.0.1:{nbd}", "--http-listen", f"127.0.0.1:{http}", *extra_args]
    child = children.start("strata", argv, os.path.join(dir, "strata.log"))
    wait_until_ready(child, lambda: ready(pg), START_TIMEOUT_S, "answer SELECT 1 on its PostgreSQL port",
                     interval_s=0.2)
    return child, pg


def as_pg_user():
    return ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []


def start_postgres(children, work_dir, dir, settings, ready):
    """initdb in dir/data, then postgres with `settings` ((name, value) pairs)."""
    if not os.access(os.path.join(PG_BIN, "postgres"), os.X_OK):
        raise BenchError(f"{PG_BIN}/postgres is missing; run scripts/install-deps.sh --bench")
    os.makedirs(dir, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_USER)
        os.chmod(work_dir, 0o755)
        os.chown(dir, pw.pw_uid, pw.pw_gid)
    data = os.path.join(dir, "data")
    log = os.path.join(work_dir, "initdb.log")
    status = children.run("initdb", as_pg_user() + [f"{PG_BIN}/initdb", "-D", data, "-U", PG_USER, "-A", "trust",
                                                    "-E", "UTF8", "--locale=C"], log, INITDB_TIMEOUT_S)
    if status != 0:
        raise BenchError(f"initdb failed ({status}):\n{log_tail(log)}")
    port = free_port()
    argv = as_pg_user() + [f"{PG_BIN}/postgres", "-D", data, "-p", str(port), "-k", dir]
    for k, v in settings:
        argv += ["-c", f"{k}={v}"]
    child = children.start("postgres", argv, os.path.join(work_dir, "postgres.log"))
    wait_until_ready(child, lambda: ready(port), START_TIMEOUT_S, "accept connections", interval_s=0.2)
    return child, port
