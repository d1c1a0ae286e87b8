"""Unit tests for the benchmark's flags."""

import argparse
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_volumes  # noqa: E402


class Sizes(unittest.TestCase):
    def test_suffixes_are_binary(self):
        self.assertEqual(bench_volumes.parse_size("1G"), 1 << 30)
        self.assertEqual(bench_volumes.parse_size("512M"), 512 << 20)
        self.assertEqual(bench_volumes.parse_size("2GiB"), 2 << 30)
        self.assertEqual(bench_volumes.parse_size("1t"), 1 << 40)
        self.assertEqual(bench_volumes.parse_size("1048576"), 1 << 20)

    def test_garbage_and_tiny_are_refused(self):
        for text in ("", "G", "1X", "-1G", "1.5G", "1K"):
            with self.subTest(text=text):
                with self.assertRaises(argparse.ArgumentTypeError):
                    bench_volumes.parse_size(text)


class Systems(unittest.TestCase):
    def test_subset_keeps_canonical_order(self):
        self.assertEqual(bench_volumes.parse_systems("strata,local"), ["local", "strata"])

    def test_unknown_is_refused(self):
        with self.assertRaises(argparse.ArgumentTypeError):
            bench_volumes.parse_systems("local,ceph")
        with self.assertRaises(argparse.ArgumentTypeError):
            bench_volumes.parse_systems(",")


if __name__ == "__main__":
    unittest.main()
