"""Unit tests for the clones benchmark's flags."""

import argparse
import io
import os
import sys
import unittest
from contextlib import redirect_stderr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_clones  # noqa: E402


class Options(unittest.TestCase):
    def test_defaults(self):
        opts = bench_clones.parse_args([], environ={})
        self.assertEqual(opts.scales, [70, 700])
        self.assertEqual(opts.repeats, 5)
        self.assertEqual(opts.many, 20)
        self.assertEqual(opts.systems, ["strata", "basebackup", "cp"])

    def test_env_sets_scales_and_flag_wins(self):
        self.assertEqual(bench_clones.parse_args([], environ={"BENCH_CLONES_SCALES": "10 70"}).scales, [10, 70])
        opts = bench_clones.parse_args(["--scales", "5"], environ={"BENCH_CLONES_SCALES": "10 70"})
        self.assertEqual(opts.scales, [5])

    def test_systems_keep_canonical_order(self):
        self.assertEqual(bench_clones.parse_systems("cp,strata"), ["strata", "cp"])
        with self.assertRaises(argparse.ArgumentTypeError):
            bench_clones.parse_systems("strata,zfs")

    def test_bad_values_exit(self):
        for argv in (["--scales", "0"], ["--repeats", "0"], ["--many", "-1"], ["--systems", ""]):
            with self.subTest(argv=argv):
                with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
                    bench_clones.parse_args(argv, environ={})


if __name__ == "__main__":
    unittest.main()
