"""End-to-end run of the benchmark's Strata path against fake_strata.py.

fake_strata.py answers the admin routes and serves sparse files through
nbdkit, so this checks the orchestration (start, volume creation, fio over
NBD, snapshot and clone timing, JSON, cleanup), not Strata. Takes ~30 s.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "bench_volumes.py")
FAKE = os.path.join(HERE, "fake_strata.py")


@unittest.skipUnless(shutil.which("fio") and shutil.which("nbdkit"), "needs fio and nbdkit")
class FakeStrataRun(unittest.TestCase):
    def test_full_strata_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "figures.json")
            work = os.path.join(tmp, "work")
            run = subprocess.run(
                [sys.executable, BENCH, "--systems", "strata", "--strata-bin", FAKE,
                 "--size", "64M", "--runtime", "1", "--ramp", "0", "--snap-repeats", "2",
                 "--snap-scatter-ios", "64", "--work-dir", work, "--json", out],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            doc = json.load(open(out))
            self.assertEqual(sorted(doc["results"]["strata"]),
                             ["randread", "randwrite", "seqread", "seqwrite"])
            self.assertTrue(all(r["iops"] > 0 for r in doc["results"]["strata"].values()))
            ops = [(s["volume"], s["op"], len(s["seconds"])) for s in doc["snapshots"]]
            self.assertEqual(ops, [("1 GiB", "snapshot", 2), ("1 GiB", "clone", 2),
                                   ("100 GiB", "snapshot", 2), ("100 GiB", "clone", 2)])
            self.assertIn("snapshot and clone creation", run.stdout)
            self.assertEqual(os.listdir(work), [], "the work dir must be removed")

    def test_missing_binary_fails_the_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = subprocess.run(
                [sys.executable, BENCH, "--systems", "strata", "--strata-bin",
                 os.path.join(tmp, "nope"), "--work-dir", tmp],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 1)
            self.assertIn("is missing", run.stderr)


if __name__ == "__main__":
    unittest.main()
