#!/usr/bin/python3
"""Clones benchmark: a writable copy of a PostgreSQL database that accepts
connections, from Strata (POST /v1/db/clones) against what a user does
without it (pg_basebackup + start, cp -a of a stopped data dir + start).

For each source size (pgbench scale; default 70 and 700, about 1 and 10 GiB):
  - Strata: the time from the POST until a new TCP connection with the
    clone's password runs SELECT 1 (median of --repeats); reset time; each
    idle clone's own disk (exclusive bytes after --idle-wait and a btrfs
    commit); --many clones created at once: total time, and the RSS and PSS
    of all their postgres processes;
  - pg_basebackup -X stream -c fast into a new directory, then `postgres -D`
    until the same connection works (median of --peer-repeats);
  - cp -a of a cleanly stopped data dir, then the same start.
It prints the table, the ratios and the verdicts against issue 9's targets.

Run through bench/clones/run.sh (or `make bench-clones`). Needs root (the
pool is a loop-mounted btrfs image; postgres runs as the OS user postgres).
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "common"))  # bench_*.py, shared by the benchmarks

import bench_run  # noqa: E402
from bench_admin import AdminClient  # noqa: E402
from bench_procs import BenchError, free_port, log_tail, tool_version  # noqa: E402
from bench_run import positive  # noqa: E402
import postgres as pg  # noqa: E402
import report  # noqa: E402

USER, PASSWORD = "bench", "bench-clone-pw"
REQUEST_TIMEOUT_S = 600.0
SOURCE_READY_TIMEOUT_S = 4 * 3600.0
BYTES_PER_SCALE = 16 * report.MIB      # pgbench: about 15 MiB of data and indexes per scale unit
COPIES_AT_ONCE = 5                     # source, Strata's base, a peer copy, the cp golden copy, a cp copy
SPACE_SLACK_BYTES = 4 * report.GIB


def scales_arg(text):
    try:
        return report.parse_scales(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv, environ=os.environ):
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    p = argparse.ArgumentParser(
        prog="bench/clones/run.sh",
        description="Database clones: Strata vs pg_basebackup and cp -a, time to a connection.")
    p.add_argument("--scales", metavar="LIST", type=scales_arg,
                   default=scales_arg(environ.get("BENCH_CLONES_SCALES", "70 700")),
                   help="pgbench scales of the source databases, e.g. \"10 70\" "
                        "(default $BENCH_CLONES_SCALES or \"70 700\": about 1 and 10 GiB)")
    p.add_argument("--repeats", metavar="N", type=positive, default=5,
                   help="Strata clones (and resets) timed per size; the median counts (default 5)")
    p.add_argument("--peer-repeats", metavar="N", type=positive, default=3,
                   help="pg_basebackup and cp -a runs per size (default 3)")
    p.add_argument("--many", metavar="N", type=positive, default=20,
                   help="clones created at once for the total time and memory (default 20)")
    p.add_argument("--idle-wait", metavar="SECONDS", type=float, default=60.0, dest="idle_wait_s",
                   help="how long clones sit idle before their own disk is read (default 60)")
    p.add_argument("--systems", metavar="LIST", default="strata,basebackup,cp",
                   type=lambda t: parse_systems(t),
                   help="comma-separated subset of strata,basebackup,cp (default all)")
    p.add_argument("--drop-caches", action="store_true",
                   help="sync and drop the page cache before every timed run (all systems alike)")
    p.add_argument("--work-dir", metavar="DIR", default=environ.get("TMPDIR", "/tmp"),
                   help="parent of the temp work dir (default $TMPDIR or /tmp); must not be under a "
                        "directory the postgres user cannot enter")
    p.add_argument("--strata-bin", metavar="PATH", default=os.path.join(repo, "build", "strata"))
    p.add_argument("--strata-args", metavar="FLAGS", default="", help="extra flags for `strata server`")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    p.add_argument("--json", metavar="FILE", dest="json_path", help="also write every figure to this file")
    return p.parse_args(argv)


SYSTEM_NAMES = ("strata", "basebackup", "cp")


def parse_systems(text):
    return bench_run.parse_systems(text, SYSTEM_NAMES)


def drop_caches(opts):
    if opts.drop_caches:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")


# --- Strata ---------------------------------------------------------------------------------
class Strata:
    def __init__(self, opts, work_dir, children):
        self.opts = opts
        self.children = children
        self.dir = os.path.join(work_dir, "strata")
        os.makedirs(self.dir, exist_ok=True)
        self.mount = os.path.join(work_dir, "pool-mount")
        os.makedirs(self.mount, exist_ok=True)
        os.chmod(self.mount, 0o755)
        self.admin = AdminClient(free_port(), REQUEST_TIMEOUT_S)
        count = opts.repeats + opts.many + 10
        first = free_port_block(count)
        self.ports = (first, first + count - 1)
        self.child = None

    def start(self):
        if not os.access(self.opts.strata_bin, os.X_OK):
            raise BenchError(f"{self.opts.strata_bin} is missing; build it with `make build`")
        argv = [self.opts.strata_bin, "server", "--data-dir", os.path.join(self.dir, "data"),
                "--kafka-listen", f"127.0.0.1:{free_port()}", "--http-listen", f"127.0.0.1:{self.admin.port}",
                "--pg-listen", f"127.0.0.1:{free_port()}", "--nbd-listen", f"127.0.0.1:{free_port()}",
                "--db-pool-mount", self.mount, "--db-clone-ports", f"{self.ports[0]}-{self.ports[1]}",
                *shlex.split(self.opts.strata_args)]
        self.child = self.children.start("strata", argv, os.path.join(self.dir, "strata.log"))
        self.admin.wait_healthy(self.child, 60, interval_s=0.05)

    def check_alive(self):
        if self.child is None or not self.child.running():
            raise BenchError(f"strata exited:\n{log_tail(os.path.join(self.dir, 'strata.log'))}")

    def request(self, method, path, body=None):
        status, doc, _ = self.admin.request(method, path, body)
        return status, doc

    def expect(self, method, path, body=None, status=200):
        got, doc = self.request(method, path, body)
        if got != status:
            self.check_alive()
            raise BenchError(f"{method} {path} answered {got}, expected {status}: {doc}")
        return doc

    def wait_source_ready(self, name):
        deadline = time.monotonic() + SOURCE_READY_TIMEOUT_S
        last_line = 0.0
        while True:
            self.check_alive()
            doc = self.expect("GET", f"/v1/db/sources/{name}")
            if doc.get("status") == "ready":
                return doc
            if doc.get("status") == "error":
                raise BenchError(f"source {name} failed: {doc.get('reason')}")
            if time.monotonic() > deadline:
                raise BenchError(f"source {name} not ready after {SOURCE_READY_TIMEOUT_S:.0f} s: {doc}")
            if time.monotonic() - last_line > 30:
                progress = doc.get("progress") or {}
                print(f"    copying: {report.fmt_bytes(progress.get('done_bytes'))} of "
                      f"{report.fmt_bytes(progress.get('total_bytes'))}", flush=True)
                last_line = time.monotonic()
            time.sleep(0.5)

    def create_clone(self, clone_id, snapshot):
        """Seconds from the POST until a new connection runs SELECT 1, and the clone."""
        started = time.perf_counter()
        clone = self.expect("POST", "/v1/db/clones",
                            {"id": clone_id, "snapshot": snapshot, "user": USER, "password": PASSWORD},
                            status=201)
        pg.wait_accepting(clone["host"], clone["port"], USER, PASSWORD, 60, what=f"accept on clone {clone_id}")
        return time.perf_counter() - started, clone

    def reset_clone(self, clone):
        started = time.perf_counter()
        doc = self.expect("POST", f"/v1/db/clones/{clone['id']}/reset", {})
        pg.wait_accepting(doc["host"], doc["port"], USER, PASSWORD, 60, what=f"accept on reset {clone['id']}")
        return time.perf_counter() - started

    def delete_clone(self, clone_id):
        self.request("DELETE", f"/v1/db/clones/{clone_id}")

    def clone_postmasters(self, clones):
        pids = [c.get("pid") for c in clones if c.get("pid")]
        if len(pids) == len(clones):
            return pids
        by_port = pg.postmasters_under(self.mount)
        return [by_port[c["port"]] for c in clones if c["port"] in by_port]

    def stop(self):
        if self.child is not None:
            self.children.stop(self.child, timeout_s=120)
            self.child = None
        leftovers = []
        for point in mounts_under(self.mount):
            leftovers.append(point)
            subprocess.run(["umount", "-l", point], capture_output=True)
        if leftovers:
            print(f"warning: strata left mounted: {leftovers} (unmounted now)", file=sys.stderr)


def mounts_under(path):
    points = []
    with open("/proc/self/mounts") as f:
        for line in f:
            point = line.split()[1]
            if point == path or point.startswith(path.rstrip("/") + "/"):
                points.append(point)
    return sorted(set(points), key=len, reverse=True)


def free_port_block(count, low=20000, high=30000):
    import random
    import socket
    for _ in range(200):
        first = random.randrange(low, high - count)
        try:
            socks = []
            for port in range(first, first + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise BenchError(f"no {count} consecutive free ports in {low}-{high}")


def run_threads(threads):
    """Starts every thread, then waits for all of them."""
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def measure_strata(opts, strata, source, result):
    name = f"s{source.scale}"
    print("  strata: copying the source (physical, pg_basebackup + sync instance)", flush=True)
    strata.expect("POST", "/v1/db/sources", {"name": name, "mode": "physical",
                                             "conninfo": source.physical_conninfo}, status=201)
    strata.wait_source_ready(name)
    snapshot = strata.expect("POST", f"/v1/db/sources/{name}/snapshots", {}, status=201)
    print(f"  strata: snapshot {snapshot['id']} ready", flush=True)

    clones = []
    times = result.seconds.setdefault(report.STRATA, [])
    try:
        for i in range(opts.repeats):
            drop_caches(opts)
            seconds, clone = strata.create_clone(f"{name}-c{i}", snapshot["id"])
            clones.append(clone)
            times.append(seconds)
            result.api_ms.append(clone.get("clone_ms"))
            print(f"    clone {i + 1}: {report.fmt_s(seconds)} (API clone_ms {clone.get('clone_ms')})", flush=True)

        print(f"  strata: {len(clones)} clones idle for {opts.idle_wait_s:.0f} s", flush=True)
        time.sleep(opts.idle_wait_s)
        os.sync()
        subprocess.run(["btrfs", "filesystem", "sync", strata.mount], capture_output=True)
        time.sleep(6)  # the server refreshes exclusive bytes on its own beat (every 5 s)
        for c in clones:
            doc = strata.expect("GET", f"/v1/db/clones/{c['id']}")
            result.idle_exclusive_bytes.append(doc["exclusive_bytes"])
        print(f"    own disk per idle clone: {[report.fmt_bytes(b) for b in result.idle_exclusive_bytes]}",
              flush=True)

        resets = result.seconds.setdefault(report.RESET, [])
        for c in clones:
            drop_caches(opts)
            resets.append(strata.reset_clone(c))
        print(f"    reset: {[report.fmt_s(s) for s in resets]}", flush=True)
    finally:
        for c in clones:
            strata.delete_clone(c["id"])

    many = [None] * opts.many
    errors = []

    def make(i):
        try:
            many[i] = strata.create_clone(f"{name}-m{i}", snapshot["id"])[1]
        except BenchError as e:
            errors.append(str(e))
    threads = [threading.Thread(target=make, args=(i,)) for i in range(opts.many)]
    drop_caches(opts)
    started = time.perf_counter()
    run_threads(threads)
    total = time.perf_counter() - started
    made = [c for c in many if c]
    try:
        if errors:
            raise BenchError(f"{len(errors)} of {opts.many} concurrent clones failed: {errors[0]}")
        result.many_count = len(made)
        result.many_total_s = total
        rss, pss, procs = pg.tree_memory(strata.clone_postmasters(made))
        result.many_rss_bytes, result.many_pss_bytes = rss, pss
        print(f"  strata: {len(made)} clones at once in {report.fmt_s(total)}; {procs} postgres processes, "
              f"RSS {report.fmt_bytes(rss)}, PSS {report.fmt_bytes(pss)}", flush=True)
    finally:
        run_threads([threading.Thread(target=strata.delete_clone, args=(c["id"],)) for c in made])
        strata.request("DELETE", f"/v1/db/snapshots/{snapshot['id']}")
        strata.request("DELETE", f"/v1/db/sources/{name}")


# --- peers ------------------------------------------------------------------------------------
def start_copy(children, data_dir, port, socket_dir, source):
    """Starts postgres on a copied data dir and waits for a connection; the child."""
    argv = pg.as_pg_user(pg.instance_argv(data_dir, port, socket_dir))
    child = children.start(f"postgres {os.path.basename(data_dir)}", argv, data_dir + ".log")
    pg.wait_accepting("127.0.0.1", port, source.superuser, source.password, pg.START_TIMEOUT_S, child=child)
    return child


def basebackup(children, data, source):
    """pg_basebackup -X stream -c fast of the source into data."""
    log = data + "-basebackup.log"
    status = children.run("pg_basebackup", pg.as_pg_user(
        [f"{pg.PG_BIN}/pg_basebackup", "-D", data, "-X", "stream", "-c", "fast", "-d", source.physical_conninfo]),
        log, pg.PGBENCH_INIT_TIMEOUT_S)
    if status != 0:
        raise BenchError(f"pg_basebackup failed ({status}):\n{log_tail(log)}")


def timed_copy(opts, children, peer_dir, source, data, copy):
    """Seconds from the start of copy() until the copy in data accepts a
    connection; the copy is then stopped cleanly (SIGTERM: a smart shutdown,
    no sessions left)."""
    port = free_port()
    drop_caches(opts)
    started = time.perf_counter()
    copy()
    child = start_copy(children, data, port, peer_dir, source)
    seconds = time.perf_counter() - started
    children.stop(child)
    return seconds


def measure_basebackup(opts, children, peer_dir, source, result):
    """pg_basebackup + start, --peer-repeats times; returns a cleanly stopped
    copy (the golden data dir for cp -a)."""
    times = result.seconds.setdefault(report.BASEBACKUP, [])
    golden = None
    for i in range(opts.peer_repeats):
        data = os.path.join(peer_dir, f"bb{i}")
        times.append(timed_copy(opts, children, peer_dir, source, data, lambda: basebackup(children, data, source)))
        print(f"    pg_basebackup + start {i + 1}: {report.fmt_s(times[-1])}", flush=True)
        if golden is None:
            golden = data
        else:
            shutil.rmtree(data, ignore_errors=True)
    return golden


def measure_cp(opts, children, peer_dir, golden, source, result):
    times = result.seconds.setdefault(report.COPY, [])
    for i in range(opts.peer_repeats):
        data = os.path.join(peer_dir, f"cp{i}")

        def copy():
            proc = subprocess.run(["cp", "-a", golden, data], capture_output=True, text=True)
            if proc.returncode != 0:
                raise BenchError(f"cp -a failed: {proc.stderr}")
        times.append(timed_copy(opts, children, peer_dir, source, data, copy))
        shutil.rmtree(data, ignore_errors=True)
        print(f"    cp -a + start {i + 1}: {report.fmt_s(times[-1])}", flush=True)


def make_golden(opts, children, peer_dir, source):
    """A cleanly stopped copy for cp -a when pg_basebackup is not measured."""
    data = os.path.join(peer_dir, "golden")
    basebackup(children, data, source)
    children.stop(start_copy(children, data, free_port(), peer_dir, source))
    return data


# --- the run ----------------------------------------------------------------------------------
def check_space(opts, work_dir):
    need = max(opts.scales) * BYTES_PER_SCALE * COPIES_AT_ONCE + SPACE_SLACK_BYTES
    bench_run.check_space(work_dir, need, report.fmt_bytes, f"scale {max(opts.scales)}",
                          "use smaller --scales or another --work-dir")


def machine_info(work_dir):
    return dict(bench_run.machine_info(work_dir), postgres=tool_version([f"{pg.PG_BIN}/postgres", "--version"]))


def run_size(opts, work_dir, children, strata, scale):
    result = report.SizeResult(scale=scale)
    size_dir = pg.make_pg_dir(os.path.join(work_dir, f"scale{scale}"))
    print(f"== scale {scale}: loading the source (pgbench -i -s {scale})", flush=True)
    started = time.monotonic()
    source = pg.Source(children, os.path.join(size_dir, "source"), scale).start()
    try:
        result.db_bytes = source.db_bytes()
        print(f"  source: {report.fmt_bytes(result.db_bytes)} in {time.monotonic() - started:.0f} s", flush=True)
        if strata is not None:
            try:
                measure_strata(opts, strata, source, result)
            except BenchError as e:
                result.failures[report.STRATA] = str(e)
                print(f"  strata FAILED: {str(e).splitlines()[0]}", flush=True)
        peer_dir = pg.make_pg_dir(os.path.join(size_dir, "peers"))
        golden = None
        if "basebackup" in opts.systems:
            try:
                golden = measure_basebackup(opts, children, peer_dir, source, result)
            except BenchError as e:
                result.failures[report.BASEBACKUP] = str(e)
                print(f"  pg_basebackup FAILED: {str(e).splitlines()[0]}", flush=True)
        if "cp" in opts.systems:
            try:
                golden = golden or make_golden(opts, children, peer_dir, source)
                measure_cp(opts, children, peer_dir, golden, source, result)
            except BenchError as e:
                result.failures[report.COPY] = str(e)
                print(f"  cp -a FAILED: {str(e).splitlines()[0]}", flush=True)
        shutil.rmtree(peer_dir, ignore_errors=True)
    finally:
        source.stop(remove=not opts.keep)
    return result


def print_report(opts, machine, results):
    print()
    print("== clones bench: a writable copy of a PostgreSQL database, time until it accepts a connection ==")
    print(bench_run.machine_line(machine))
    print(f"{machine['postgres']}; each time runs from the request (or the copy's start) until a new TCP "
          f"connection with a password runs SELECT 1; page cache "
          f"{'dropped before each run' if opts.drop_caches else 'warm (not dropped)'}")
    print(f"strata: median of {opts.repeats}; peers: median of {opts.peer_repeats}")
    print()
    print(report.timing_table(results))
    print()
    print(report.resource_table(results))
    print()
    print("targets (issue 9, clones):")
    print(report.verdict_lines(report.verdicts(results)))
    for r in results:
        for system, why in r.failures.items():
            print(f"\n{r.label} {system} FAILED: {why}", file=sys.stderr)


def main(argv):
    opts = parse_args(argv)
    results = []
    failed = False
    with bench_run.Run(opts, "clones") as run:
        work_dir, children = run.work_dir, run.children
        os.chmod(work_dir, 0o755)  # the postgres user enters it
        machine = machine_info(work_dir)
        started = time.monotonic()
        strata = None
        try:
            pg.check_installed()
            if os.geteuid() != 0:
                raise BenchError("run as root: the pool is a loop-mounted btrfs image and clones run as postgres")
            check_space(opts, work_dir)
            print(f"work dir {work_dir}; scales {opts.scales}", flush=True)
            if "strata" in opts.systems:
                strata = Strata(opts, work_dir, children)
                run.at_exit(strata.stop)
                strata.start()
            for scale in opts.scales:
                results.append(run_size(opts, work_dir, children, strata, scale))
        except BenchError as e:
            failed = True
            print(f"bench FAILED: {e}", file=sys.stderr, flush=True)
    if run.interrupted:
        return 130
    if results:
        print_report(opts, machine, results)
    print(f"\ntook {time.monotonic() - started:.0f} s")
    if opts.json_path:
        bench_run.write_json(opts.json_path, report.to_json(results, machine, bench_run.settings(opts)))
    return 1 if failed or any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
