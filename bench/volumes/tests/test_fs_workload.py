"""Unit tests for the fs workload's pieces that need no root: the cleanup
stack, the tool checks' messages, the rows and the postgres command line."""

import os
import sys
import unittest
from contextlib import redirect_stdout
from io import StringIO
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))

import bench_volumes  # noqa: E402
import fs_workload  # noqa: E402
from bench_procs import BenchError  # noqa: E402


class CleanupStack(unittest.TestCase):
    def test_last_pushed_first_and_once(self):
        seen = []
        c = fs_workload.Cleanup()
        for name in ("strata", "nbdfuse", "loop", "umount", "postgres"):
            c.push(name, lambda n=name: seen.append(n))
        c.close()
        c.close()
        self.assertEqual(seen, ["postgres", "umount", "loop", "nbdfuse", "strata"])

    def test_a_failing_step_does_not_stop_the_rest(self):
        seen = []
        c = fs_workload.Cleanup()
        c.push("a", lambda: seen.append("a"))
        c.push("b", lambda: (_ for _ in ()).throw(BenchError("umount failed")))
        with redirect_stdout(StringIO()) as out:
            c.close()
        self.assertEqual(seen, ["a"])
        self.assertIn("b failed: umount failed", out.getvalue())

    def test_an_interrupt_is_raised_after_every_step(self):
        seen = []

        def interrupted():
            raise KeyboardInterrupt

        c = fs_workload.Cleanup()
        c.push("a", lambda: seen.append("a"))
        c.push("b", interrupted)
        with redirect_stdout(StringIO()), self.assertRaises(KeyboardInterrupt):
            c.close()
        self.assertEqual(seen, ["a"])


class Tools(unittest.TestCase):
    def test_missing_tools_name_their_package(self):
        with mock.patch.object(fs_workload, "_which", return_value=None):
            for tool, package in (("nbdfuse", "libnbd-bin"), ("losetup", "mount"),
                                  ("mkfs.ext4", "e2fsprogs"), ("fusermount3", "fuse3")):
                with self.subTest(tool=tool), self.assertRaises(BenchError) as e:
                    fs_workload.find_tool(tool)
                self.assertIn(f"{tool} is missing; apt-get install {package}", str(e.exception))
                self.assertIn("--no-fs", str(e.exception))

    def test_missing_postgres_names_postgresql_15(self):
        with mock.patch.object(fs_workload, "PG_BIN", "/nonexistent"), \
                self.assertRaises(BenchError) as e:
            fs_workload.check_postgres()
        self.assertIn("apt-get install postgresql-15", str(e.exception))

    def test_postgres_never_runs_as_root(self):
        argv = fs_workload.as_pg(["/usr/lib/postgresql/15/bin/postgres", "-D", "d"])
        self.assertEqual(argv[:4], ["runuser", "-u", "postgres", "--"])

    def test_postgres_settings(self):
        argv = fs_workload.postgres_argv("/d", 5432, "/s")
        for setting in ("fsync=on", "synchronous_commit=on", "port=5432", "unix_socket_directories=/s"):
            self.assertIn(setting, argv)


class Describe(unittest.TestCase):
    def test_rows_say_what_they_run(self):
        opts = bench_volumes.parse_args(["--fs-size", "2G"])
        self.assertIn("nbdfuse -C 1", fs_workload.describe("strata", opts))
        self.assertIn("--volume-io direct", fs_workload.describe("strata", opts))
        self.assertIn("--volume-io buffered", fs_workload.describe("strata-cached", opts))
        self.assertIn("sparse 2 GiB file", fs_workload.describe("loop-file", opts))

    def test_mounts_under(self):
        self.assertEqual(fs_workload.mounts_under("/nonexistent-strata-bench-dir"), [])
        self.assertIn("/proc", fs_workload.mounts_under("/proc"))


if __name__ == "__main__":
    unittest.main()
