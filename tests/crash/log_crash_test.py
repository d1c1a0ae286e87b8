#!/usr/bin/python3
"""Slow crash test of the storage log (make test-slow, not the default suite).

Runs log_crash_writer on a real directory, SIGKILLs it at a random moment,
and checks with the writer's verify mode that every entry it acknowledged
("acked <offset>", printed only after flush() returned) is present, intact
and in order, and that nothing half-written is served. Repeats for --cycles
cycles on the same log, so each start also recovers the previous kill.

    usage: tests/crash/log_crash_test.py --writer build/tests/crash/log_crash_writer
                                         [--cycles 20] [--seed S] [--keep]
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def run_writer_until_killed(writer, data_dir, segment_bytes, run_s):
    """Starts the writer, kills it with SIGKILL after run_s; returns its acked offsets."""
    proc = subprocess.Popen([writer, "write", data_dir, str(segment_bytes)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    acked = []
    out = {}

    def drain():
        # Only whole lines count: a line cut by the kill was never fully acknowledged.
        for raw in proc.stdout:
            if not raw.endswith(b"\n"):
                break
            parts = raw.split()
            if len(parts) == 2 and parts[0] == b"acked":
                acked.append(int(parts[1]))
        out["stderr"] = proc.stderr.read()

    reader = threading.Thread(target=drain)
    reader.start()
    time.sleep(run_s)
    exited_early = proc.poll() is not None
    proc.kill()
    proc.wait()
    reader.join()
    if exited_early:
        raise SystemExit("writer exited on its own (code %s): %s" % (proc.returncode, out.get("stderr", b"").decode()))
    return acked


def verify(writer, data_dir, acked_through):
    done = subprocess.run([writer, "verify", data_dir, str(acked_through)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("verify failed (acked through %d): %s%s" % (acked_through, done.stdout, done.stderr))
    # "verified <n> entries, end <offset>" (recovery may log warnings before it)
    for line in done.stdout.splitlines():
        if line.startswith("verified "):
            return int(line.split()[1])
    raise SystemExit("verify printed no result: %s" % done.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writer", required=True, help="path to the log_crash_writer binary")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--min-run-s", type=float, default=0.05)
    ap.add_argument("--max-run-s", type=float, default=1.5)
    ap.add_argument("--segment-bytes", type=int, default=256 * 1024)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    data_dir = tempfile.mkdtemp(prefix="strata-log-crash-")
    log_dir = os.path.join(data_dir, "log")
    print("log crash test: seed %d, dir %s" % (seed, log_dir), flush=True)

    acked_through = -1
    checked_total = 0
    for cycle in range(1, args.cycles + 1):
        run_s = rng.uniform(args.min_run_s, args.max_run_s)
        acked = run_writer_until_killed(args.writer, log_dir, args.segment_bytes, run_s)
        if acked:
            # Unacknowledged entries may survive a kill, so a run may start past acked_through + 1.
            if acked[0] <= acked_through or acked != list(range(acked[0], acked[-1] + 1)):
                raise SystemExit("cycle %d: acks overlap earlier ones or have gaps (acked through %d)"
                                 % (cycle, acked_through))
            acked_through = acked[-1]
        entries = verify(args.writer, log_dir, acked_through)
        checked_total += entries
        print("cycle %d: killed after %.2f s, %d new acks, acked through %d, %d entries verified"
              % (cycle, run_s, len(acked), acked_through, entries), flush=True)

    print("log crash test passed: %d cycles, %d entries checked in all, %d acknowledged"
          % (args.cycles, checked_total, acked_through + 1))
    if not args.keep:
        shutil.rmtree(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
