"""Unit tests for ratios and verdicts against the brief's targets."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))

import report  # noqa: E402
from fio import Result  # noqa: E402
from snapshots import Timing  # noqa: E402


def res(iops):
    return Result(iops=iops, bytes_per_s=iops * 4096, p99_ms=1.0, mean_ms=0.5, io_bytes=1)


ALL = ["local", "qemu-nbd", "nbdkit", "strata"]


class Ratios(unittest.TestCase):
    def test_ratio_is_strata_over_peer(self):
        results = {"strata": {"randread": res(300)}, "qemu-nbd": {"randread": res(200)}}
        self.assertAlmostEqual(report.ratio(results, "randread", "qemu-nbd"), 1.5)

    def test_missing_side_gives_none(self):
        results = {"qemu-nbd": {"randread": res(200)}}
        self.assertIsNone(report.ratio(results, "randread", "qemu-nbd"))
        self.assertIsNone(report.ratio({"strata": {"randread": res(1)}}, "randread", "nbdkit"))


class Verdicts(unittest.TestCase):
    def verdicts(self, strata, qemu, local):
        results = {}
        for name, iops in (("strata", strata), ("qemu-nbd", qemu), ("local", local)):
            results[name] = {"randread": res(iops), "randwrite": res(iops)}
        return {v.what: v for v in report.fio_verdicts(results, ALL)}

    def test_meets_both_at_the_boundary(self):
        v = self.verdicts(strata=700, qemu=700, local=1000)
        self.assertTrue(v["4k randread IOPS vs qemu-nbd"].met)
        self.assertTrue(v["4k randread IOPS vs local disk"].met)
        self.assertEqual(v["4k randread IOPS vs local disk"].value, "70%")

    def test_misses_just_below(self):
        v = self.verdicts(strata=699, qemu=700, local=1000)
        self.assertFalse(v["4k randwrite IOPS vs qemu-nbd"].met)
        self.assertFalse(v["4k randwrite IOPS vs local disk"].met)

    def test_failed_strata_is_missed_not_met(self):
        results = {"qemu-nbd": {"randread": res(1)}, "local": {"randread": res(1)}}
        verdicts = report.fio_verdicts(results, ALL)
        self.assertTrue(verdicts)
        self.assertFalse(any(v.met for v in verdicts))

    def test_no_verdicts_without_strata(self):
        self.assertEqual(report.fio_verdicts({}, ["local", "qemu-nbd"]), [])


class SnapshotVerdicts(unittest.TestCase):
    def test_median_decides(self):
        fast = Timing("1 GiB", 1 << 30, "snapshot", [0.010, 0.012, 0.500])
        slow = Timing("100 GiB", 100 << 30, "clone", [0.049, 0.051, 0.052])
        v = report.snapshot_verdicts([fast, slow])
        self.assertTrue(v[0].met)
        self.assertAlmostEqual(fast.median_ms, 12.0)
        self.assertFalse(v[1].met)

    def test_table_lists_every_timing(self):
        t = [Timing("1 GiB", 1 << 30, "snapshot", [0.001]), Timing("1 GiB", 1 << 30, "clone", [0.002])]
        lines = report.snapshot_table(t).splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("2.00", lines[2])


if __name__ == "__main__":
    unittest.main()
