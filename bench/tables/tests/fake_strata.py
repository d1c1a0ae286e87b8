#!/usr/bin/python3
"""Stands in for `strata server` in the orchestrator's end-to-end test: it
serves the PostgreSQL protocol on --pg-listen by running a throwaway
PostgreSQL 15 whose superuser and database are both named `strata`. Its
figures mean nothing; it proves the Strata path of the benchmark (start,
DDL, COPY, queries, result checks, freshness, stop) works."""

import argparse
import os
import pwd
import subprocess
import sys

PG_BIN = "/usr/lib/postgresql/15/bin"


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--pg-listen", required=True)
    p.add_argument("--kafka-listen")
    p.add_argument("--nbd-listen")
    p.add_argument("--http-listen")
    opts = p.parse_args(argv)
    if opts.command != "server":
        sys.exit("fake_strata: only `server` is supported")
    host, port = opts.pg_listen.rsplit(":", 1)
    data = os.path.abspath(opts.data_dir)
    as_pg = []
    os.makedirs(data, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
        # The benchmark's work dir is private (mkdtemp); postgres must reach the data dir.
        for d in (os.path.dirname(data), os.path.dirname(os.path.dirname(data))):
            os.chmod(d, 0o755)
        as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_pg + [f"{PG_BIN}/initdb", "-D", data, "-U", "strata", "-A", "trust",
                            "--locale=C", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(as_pg + [f"{PG_BIN}/postgres", "--single", "-D", data, "postgres"],
                   input=b"CREATE DATABASE strata\n", check=True, stdout=subprocess.DEVNULL)
    os.execvp(as_pg[0] if as_pg else f"{PG_BIN}/postgres",
              as_pg + [f"{PG_BIN}/postgres", "-D", data, "-p", port, "-k", data,
                       "-c", f"listen_addresses={host}", "-c", "fsync=off"])


if __name__ == "__main__":
    main(sys.argv[1:])
