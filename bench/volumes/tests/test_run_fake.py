"""End-to-end runs of the benchmark's Strata paths against fake_strata.py.

fake_strata.py answers the admin routes and serves sparse files through
nbdkit, so this checks the orchestration (start per mode, volume creation,
fio over NBD, flush parsing, snapshot and clone timing, the fs workload's
nbdfuse/loop/ext4/postgres stack and its cleanup, JSON), not Strata.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "bench_volumes.py")
FAKE = os.path.join(HERE, "fake_strata.py")
PG_BIN = "/usr/lib/postgresql/15/bin"


def fs_stack_missing():
    """Why the fs workload cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("fio", "nbdkit", "nbdfuse", "losetup", "mkfs.ext4", "fusermount3", "runuser"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}") \
                and not os.path.exists(f"/sbin/{tool}"):
            return f"needs {tool}"
    if not os.path.exists(os.path.join(PG_BIN, "postgres")):
        return "needs postgresql-15"
    for dev in ("/dev/fuse", "/dev/loop-control"):
        if not os.path.exists(dev):
            return f"needs {dev}"
    return None


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path)]


def loops_under(path):
    out = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if path in line]


@unittest.skipUnless(shutil.which("fio") and shutil.which("nbdkit"), "needs fio and nbdkit")
class FakeStrataRun(unittest.TestCase):
    def test_both_modes_and_snapshots(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "figures.json")
            work = os.path.join(tmp, "work")
            run = subprocess.run(
                [sys.executable, BENCH, "--systems", "strata", "--strata-bin", FAKE,
                 "--size", "64M", "--runtime", "1", "--ramp", "0", "--snap-repeats", "2",
                 "--snap-scatter-ios", "64", "--no-fs", "--work-dir", work, "--json", out],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            doc = json.load(open(out))
            self.assertEqual(sorted(doc["modes"]), ["cached", "durable"])
            for mode in ("cached", "durable"):
                results = doc["modes"][mode]["results"]["strata"]
                self.assertEqual(sorted(results), ["randread", "randwrite", "seqread", "seqwrite"])
                self.assertTrue(all(r["iops"] > 0 for r in results.values()))
            self.assertEqual(doc["modes"]["cached"]["results"]["strata"]["randwrite"]["flushes"], 0)
            self.assertGreater(doc["modes"]["durable"]["results"]["strata"]["randwrite"]["flushes"], 0)
            self.assertEqual(doc["modes"]["durable"]["settings"]["strata_volume_io"], "direct")
            self.assertEqual(doc["modes"]["cached"]["settings"]["strata_volume_io"], "buffered")
            ops = [(s["mode"], s["volume"], s["op"], len(s["seconds"])) for s in doc["snapshots"]]
            self.assertEqual(ops, [("durable", "1 GiB", "snapshot", 2), ("durable", "1 GiB", "clone", 2),
                                   ("durable", "100 GiB", "snapshot", 2), ("durable", "100 GiB", "clone", 2)])
            self.assertIn("snapshot and clone creation", run.stdout)
            self.assertIn("durable flush cost", run.stdout)
            self.assertNotIn("cached flush cost", run.stdout)
            self.assertIn("== cached mode:", run.stdout)
            self.assertEqual(os.listdir(work), [], "the work dir must be removed")

    def test_the_server_gets_the_modes_volume_io(self):
        with tempfile.TemporaryDirectory() as tmp:
            work = os.path.join(tmp, "work")
            run = subprocess.run(
                [sys.executable, BENCH, "--systems", "strata", "--strata-bin", FAKE, "--modes", "cached",
                 "--fsync", "4", "--size", "16M", "--runtime", "1", "--ramp", "0", "--no-snapshots",
                 "--no-fs", "--keep", "--work-dir", work],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            (kept,) = os.listdir(work)
            log = open(os.path.join(work, kept, "strata-cached", "strata.log")).read()
            self.assertIn("fake strata: --volume-io buffered", log)
            self.assertIn("cached flush cost", run.stdout)   # --fsync 4 flushes in the cached mode too
            self.assertNotIn("== durable mode", run.stdout)

    def test_nbd_null_is_the_client_limit(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "figures.json")
            work = os.path.join(tmp, "work")
            run = subprocess.run(
                [sys.executable, BENCH, "--systems", "strata,nbd-null", "--strata-bin", FAKE,
                 "--modes", "durable", "--size", "16M", "--runtime", "1", "--ramp", "0",
                 "--no-snapshots", "--no-fs", "--work-dir", work, "--json", out],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            doc = json.load(open(out))
            mode = doc["modes"]["durable"]
            null = mode["results"]["nbd-null"]
            self.assertEqual(sorted(null), ["randread", "randwrite", "seqread", "seqwrite"])
            self.assertTrue(all(r["iops"] > 0 for r in null.values()))
            self.assertGreater(null["randwrite"]["flushes"], 0)     # FLUSHes are accepted
            self.assertTrue(all(r["client_cpu_pct"] is not None
                                for per in mode["results"].values() for r in per.values()))
            self.assertIsNotNone(mode["ratios"]["randread"]["nbd-null"])
            self.assertEqual(mode["client_limit"]["randread"]["iops"], null["randread"]["iops"])
            self.assertIn("strata/nbd-null", run.stdout)
            self.assertIn("fio cpu%", run.stdout)
            self.assertIn("durable  NBD client limit (nbd-null", run.stdout)
            self.assertEqual(os.listdir(work), [], "the work dir must be removed")

    def test_missing_binary_fails_the_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = subprocess.run(
                [sys.executable, BENCH, "--systems", "strata", "--strata-bin",
                 os.path.join(tmp, "nope"), "--no-fs", "--work-dir", tmp],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 1)
            self.assertIn("is missing", run.stderr)


@unittest.skipIf(fs_stack_missing(), f"fs workload: {fs_stack_missing()}")
class FakeStrataFs(unittest.TestCase):
    ARGS = ["--only-fs", "--systems", "strata", "--strata-bin", FAKE, "--fs-size", "256M",
            "--fs-write-size", "16M"]

    def test_fs_rows_and_cleanup(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)    # postgres (another OS user) must reach the work dir
            out = os.path.join(tmp, "figures.json")
            work = os.path.join(tmp, "work")
            run = subprocess.run([sys.executable, BENCH, *self.ARGS, "--pgbench-scale", "1",
                                  "--work-dir", work, "--json", out],
                                 capture_output=True, text=True, timeout=600)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            doc = json.load(open(out))
            self.assertEqual(sorted(doc["fs"]["rows"]), ["local", "loop-file", "strata"])
            for row in doc["fs"]["rows"].values():
                self.assertGreater(row["write_bytes_per_s"], 0)
                self.assertGreater(row["pgbench_init_s"], 0)
                self.assertEqual(row["write_bytes"], 16 << 20)
            self.assertEqual([v["what"] for v in doc["verdicts"]],
                             ["durable pgbench -i on a Strata volume vs local disk"])
            self.assertIn("pgbench -i s", run.stdout)
            self.assertEqual(mounts_under(tmp), [])
            self.assertEqual(loops_under(tmp), [])
            self.assertEqual(os.listdir(work), [], "the work dir must be removed")

    def test_unreachable_work_dir_is_a_clear_failure(self):
        with tempfile.TemporaryDirectory() as tmp:   # 0700: postgres cannot enter it
            run = subprocess.run([sys.executable, BENCH, *self.ARGS, "--pgbench-scale", "1",
                                  "--work-dir", os.path.join(tmp, "work")],
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 1)
            self.assertIn("cannot enter", run.stderr)
            self.assertEqual(mounts_under(tmp), [])

    def test_interrupt_undoes_the_stack(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)
            work = os.path.join(tmp, "work")
            proc = subprocess.Popen([sys.executable, BENCH, *self.ARGS, "--pgbench-scale", "20",
                                     "--work-dir", work],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                # Wait until the strata row has its stack up (ext4 mounted over nbdfuse).
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and proc.poll() is None:
                    if any(m.endswith("/fs-strata/mnt") for m in mounts_under(tmp)):
                        break
                    time.sleep(0.2)
                time.sleep(1.0)
                proc.send_signal(signal.SIGTERM)
                output, _ = proc.communicate(timeout=180)
            finally:
                if proc.poll() is None:
                    proc.kill()
            self.assertEqual(proc.returncode, 130, output)
            self.assertIn("interrupted", output)
            self.assertEqual(mounts_under(tmp), [], output)
            self.assertEqual(loops_under(tmp), [], output)
            self.assertFalse(os.path.exists(work) and os.listdir(work), output)


if __name__ == "__main__":
    unittest.main()
