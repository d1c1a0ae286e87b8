"""What every kill -9 crash test does the same way: a run against a server on
a temp work dir, named checks, and the end of a run (stop the server, show
its log on failure, clean up on success)."""

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from strata_server import StrataServer


def crash_cli(doc, argv, **int_options):
    """The command line every crash test takes: --cycles (default 8),
    --seed, and its own integer options (name=default). Prints the seed and
    returns (args, rng)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--cycles", type=int, default=8)
    for name, default in int_options.items():
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}")
    return args, random.Random(seed)


def kill_during(server, threads, wait_s, stop=None):
    """Starts the threads, SIGKILLs the server after wait_s seconds, then sets
    `stop` (if any) and waits for the threads to see the connection drop."""
    for t in threads:
        t.start()
    time.sleep(wait_s)
    server.kill9()
    if stop is not None:
        stop.set()
    for t in threads:
        t.join(30)


def check(results, name, ok, detail=""):
    results.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok else ' -- ' + detail}")


def finish(results, server, workdir):
    """Stops the server (it must exit 0 on SIGTERM), prints the summary line,
    and returns True when every check passed. The work dir is kept on failure."""
    if server.running():
        code = server.stop()
        check(results, "SIGTERM after the test exits 0", code == 0, f"exit code {code}")
    failed = [name for name, ok in results if not ok]
    if failed:
        print(f"server log: {server.log_path} (data dir kept: {server.data_dir})")
        print(server.log_tail(60))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return not failed


def run_with_server(prefix, extra_args, name, body):
    """Starts a server on a new temp work dir, runs body(server, results), and
    ends the run with finish(); an exception from body is a failed check."""
    workdir = Path(tempfile.mkdtemp(prefix=f"strata-{prefix}-"))
    server = StrataServer(workdir, extra_args=extra_args, name=name)
    results = []
    try:
        server.start()
        body(server, results)
    except Exception as e:
        check(results, "test ran to completion", False, repr(e))
    finally:
        passed = finish(results, server, workdir)
    return passed


def pg_conninfo(server, dbname="strata"):
    """libpq conninfo for the server's PostgreSQL listener."""
    return f"host=127.0.0.1 port={server.pg_port} user=strata dbname={dbname} connect_timeout=5"


def wait_pg(server, conninfo=None, timeout_s=60):
    """Waits until the server answers SQL; fails at once if it exited."""
    conninfo = conninfo or pg_conninfo(server)
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        if not server.running():
            raise AssertionError(f"the server exited during start:\n{server.log_tail()}")
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.Error as e:
            last = e
            time.sleep(0.1)
    raise AssertionError(f"no SQL answer within {timeout_s} s: {last}")
