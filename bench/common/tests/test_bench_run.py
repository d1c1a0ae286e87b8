"""Unit tests for bench/common/bench_run.py: the run's end, flag checks, space check."""

import argparse
import os
import shutil
import sys
import tempfile
import types
import unittest
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_run  # noqa: E402
from bench_procs import BenchError  # noqa: E402


class RunEnd(unittest.TestCase):
    def setUp(self):
        self.parent = tempfile.mkdtemp(prefix="bench-run-test-")
        self.addCleanup(shutil.rmtree, self.parent, True)

    def opts(self, keep=False):
        return types.SimpleNamespace(work_dir=self.parent, keep=keep)

    def test_interrupt_stops_in_order_and_removes_the_work_dir(self):
        seen = []
        with redirect_stderr(StringIO()) as err:
            with bench_run.Run(self.opts(), "t") as run:
                work_dir = run.work_dir
                child = run.children.start("sleep", ["sleep", "60"], os.path.join(work_dir, "log"))
                run.at_exit(lambda: seen.append(("first", child.running())))
                run.at_exit(lambda: seen.append(("second", os.path.isdir(work_dir))))
                raise KeyboardInterrupt
        self.assertTrue(run.interrupted)
        self.assertIn("interrupted; stopping servers", err.getvalue())
        self.assertEqual(seen, [("second", True), ("first", True)])  # last added first, before the children
        self.assertFalse(child.running())
        self.assertFalse(os.path.exists(work_dir))

    def test_other_errors_pass_through_after_cleanup(self):
        with self.assertRaises(BenchError):
            with bench_run.Run(self.opts(), "t") as run:
                raise BenchError("boom")
        self.assertFalse(run.interrupted)
        self.assertFalse(os.path.exists(run.work_dir))

    def test_keep(self):
        with redirect_stdout(StringIO()) as out:
            with bench_run.Run(self.opts(keep=True), "t") as run:
                system = types.SimpleNamespace(dir=os.path.join(run.work_dir, "s"), stop=lambda: None)
                os.makedirs(system.dir)
                run.end_system(system)
        self.assertTrue(os.path.isdir(system.dir))
        self.assertEqual(out.getvalue(), f"kept {run.work_dir}\n")


class Flags(unittest.TestCase):
    def test_parse_systems(self):
        self.assertEqual(bench_run.parse_systems("c, a", ("a", "b", "c")), ["a", "c"])
        for text in ("a,x", ",", ""):
            with self.subTest(text=text), self.assertRaises(argparse.ArgumentTypeError):
                bench_run.parse_systems(text, ("a", "b", "c"))

    def test_positive(self):
        self.assertEqual(bench_run.positive("3"), 3)
        with self.assertRaises(argparse.ArgumentTypeError):
            bench_run.positive("0")

    def test_settings_leave_out_the_json_path(self):
        opts = argparse.Namespace(keep=True, json_path="x.json")
        self.assertEqual(bench_run.settings(opts), {"keep": True})


class Space(unittest.TestCase):
    def test_message(self):
        with self.assertRaises(BenchError) as e:
            bench_run.check_space("/", 1 << 62, lambda b: "N", "the run", "use less")
        self.assertEqual(str(e.exception), "/ has N free and the run needs about N; use less")
        bench_run.check_space("/", 0, str, "the run", "use less")


class Machine(unittest.TestCase):
    def test_line(self):
        machine = bench_run.machine_info("/")
        line = bench_run.machine_line(dict(machine, load_1min=2.0))
        self.assertTrue(line.startswith(f"machine: {machine['cpus_usable']} of {machine['cpus']} CPUs usable"))
        self.assertTrue(line.endswith("1-min load at start 2.00 (busy: treat as noise)"))


if __name__ == "__main__":
    unittest.main()
