"""Unit tests for the per-mode tables, ratios, flush cost and verdicts against
the brief's targets."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))

import report  # noqa: E402
from fio import Result  # noqa: E402
from fs_workload import FsResult  # noqa: E402
from snapshots import Timing  # noqa: E402


def res(iops, p99_ms=1.0, flushes=0, flush_mean_ms=None, flush_p99_ms=None, ios=0):
    return Result(iops=iops, bytes_per_s=iops * 4096, p99_ms=p99_ms, mean_ms=0.5, io_bytes=1,
                  ios=ios, flushes=flushes, flush_mean_ms=flush_mean_ms, flush_p99_ms=flush_p99_ms)


ALL = ["local", "qemu-nbd", "nbdkit", "strata"]
KEYS = ("randread", "randwrite", "seqread", "seqwrite")


def uniform(strata, qemu, nbdkit, local, p99=None):
    """Every workload gets the same figure per system; p99 = {system: ms}."""
    p99 = p99 or {}
    results = {}
    for name, iops in (("strata", strata), ("qemu-nbd", qemu), ("nbdkit", nbdkit), ("local", local)):
        results[name] = {k: res(iops, p99.get(name, 1.0)) for k in KEYS}
    return results


class Ratios(unittest.TestCase):
    def test_ratio_is_strata_over_peer(self):
        results = {"strata": {"randread": res(300)}, "qemu-nbd": {"randread": res(200)}}
        self.assertAlmostEqual(report.ratio(results, "randread", "qemu-nbd"), 1.5)
        self.assertAlmostEqual(report.ratio(results, "randread", "qemu-nbd", "bytes_per_s"), 1.5)

    def test_missing_side_gives_none(self):
        results = {"qemu-nbd": {"randread": res(200)}}
        self.assertIsNone(report.ratio(results, "randread", "qemu-nbd"))
        self.assertIsNone(report.ratio({"strata": {"randread": res(1)}}, "randread", "nbdkit"))

    def test_p99_ratio(self):
        results = {"strata": {"seqread": res(1, p99_ms=6.0)}, "local": {"seqread": res(1, p99_ms=3.0)}}
        self.assertAlmostEqual(report.p99_ratio(results, "seqread"), 2.0)
        self.assertIsNone(report.p99_ratio(results, "seqwrite"))


class Tables(unittest.TestCase):
    def test_every_line_names_its_mode(self):
        results = uniform(1, 1, 1, 1)
        for mode in ("cached", "durable"):
            for text in (report.results_table(mode, results, ALL, set()),
                         report.ratio_table(mode, results, ALL)):
                for line in text.splitlines():
                    self.assertTrue(line.startswith(mode) or line.startswith("mode"), line)

    def test_failed_and_not_run(self):
        text = report.results_table("durable", {"local": {"randread": res(1)}}, ["local", "strata"],
                                    {"strata"})
        self.assertIn("failed", [line for line in text.splitlines() if "strata" in line][0])
        self.assertIn("not run", [line for line in text.splitlines() if "4k randwrite" in line][0])

    def test_ratio_table_has_p99_vs_local(self):
        text = report.ratio_table("cached", uniform(2, 1, 1, 1, {"strata": 3.0, "local": 1.5}), ALL)
        self.assertIn("p99 strata/local", text.splitlines()[0])
        self.assertTrue(text.splitlines()[1].endswith("2.00x"))


class FlushTable(unittest.TestCase):
    def test_rows_for_write_workloads_with_flushes(self):
        results = {
            "strata": {"randwrite": res(1, flushes=100, flush_mean_ms=1.5, flush_p99_ms=4.25, ios=3200),
                       "seqwrite": res(1, flushes=10, flush_mean_ms=20.0, flush_p99_ms=None, ios=320),
                       "randread": res(1, flushes=5, flush_mean_ms=1.0)},
            "local": {"randwrite": res(1)},
        }
        lines = report.flush_table("durable", results, ALL).splitlines()
        self.assertEqual(len(lines), 3)   # header + strata's two write workloads
        self.assertEqual(lines[1].split(), ["durable", "strata", "4k", "randwrite", "100", "32.0",
                                            "1.50", "4.25"])
        self.assertEqual(lines[2].split()[-2:], ["20.00", "-"])

    def test_empty_without_flushes(self):
        self.assertEqual(report.flush_table("cached", uniform(1, 1, 1, 1), ALL), "")


class Verdicts(unittest.TestCase):
    def verdicts(self, mode, strata, qemu, nbdkit, local, p99=None, systems=ALL):
        return {v.what: v for v in report.fio_verdicts(mode, uniform(strata, qemu, nbdkit, local, p99),
                                                       systems)}

    def test_every_verdict_names_its_mode(self):
        for mode in ("cached", "durable"):
            for what in self.verdicts(mode, 1, 1, 1, 1):
                self.assertTrue(what.startswith(mode + " "), what)

    def test_random_targets_only_in_the_durable_mode(self):
        durable = self.verdicts("durable", 700, 700, 700, 1000)
        cached = self.verdicts("cached", 700, 700, 700, 1000)
        self.assertIn("durable 4k randread IOPS vs qemu-nbd", durable)
        self.assertIn("durable 4k randwrite IOPS vs local disk", durable)
        self.assertFalse([w for w in cached if "4k" in w])
        for mode, v in (("durable", durable), ("cached", cached)):
            for w in ("1M seqread MB/s vs nbdkit", "1M seqwrite MB/s vs local disk",
                      "1M seqread p99 vs local disk", "1M seqwrite p99 vs local disk"):
                self.assertIn(f"{mode} {w}", v)
        self.assertEqual(len(durable), 10)
        self.assertEqual(len(cached), 6)

    def test_meets_at_the_boundary(self):
        v = self.verdicts("durable", 700, 700, 700, 1000, {"strata": 2.0, "local": 1.0})
        self.assertTrue(all(x.met for x in v.values()), [x for x in v.values() if not x.met])
        self.assertEqual(v["durable 4k randread IOPS vs local disk"].value, "70%")
        self.assertEqual(v["durable 1M seqwrite MB/s vs nbdkit"].value, "1.00x")
        self.assertEqual(v["durable 1M seqread p99 vs local disk"].value, "2.00x")

    def test_misses_just_past(self):
        v = self.verdicts("cached", 699, 700, 700, 1000, {"strata": 2.01, "local": 1.0})
        self.assertFalse(v["cached 1M seqread MB/s vs nbdkit"].met)
        self.assertFalse(v["cached 1M seqwrite MB/s vs local disk"].met)
        self.assertFalse(v["cached 1M seqread p99 vs local disk"].met)
        v = self.verdicts("durable", 699, 700, 699, 1000)
        self.assertFalse(v["durable 4k randwrite IOPS vs qemu-nbd"].met)
        self.assertFalse(v["durable 4k randwrite IOPS vs local disk"].met)
        self.assertTrue(v["durable 1M seqwrite MB/s vs nbdkit"].met)

    def test_only_the_peers_that_ran(self):
        v = self.verdicts("durable", 1, 1, 1, 1, systems=["nbdkit", "strata"])
        self.assertEqual(sorted(v), ["durable 1M seqread MB/s vs nbdkit", "durable 1M seqwrite MB/s vs nbdkit"])

    def test_failed_strata_is_missed_not_met(self):
        results = {"qemu-nbd": {"randread": res(1)}, "local": {"randread": res(1)}}
        verdicts = report.fio_verdicts("durable", results, ALL)
        self.assertTrue(verdicts)
        self.assertFalse(any(v.met for v in verdicts))

    def test_no_verdicts_without_strata(self):
        self.assertEqual(report.fio_verdicts("durable", {}, ["local", "qemu-nbd"]), [])


class SnapshotVerdicts(unittest.TestCase):
    def test_median_decides(self):
        fast = Timing("1 GiB", 1 << 30, "snapshot", [0.010, 0.012, 0.500])
        slow = Timing("100 GiB", 100 << 30, "clone", [0.049, 0.051, 0.052])
        v = report.snapshot_verdicts([fast, slow], "durable")
        self.assertTrue(v[0].met)
        self.assertAlmostEqual(fast.median_ms, 12.0)
        self.assertFalse(v[1].met)
        self.assertTrue(v[0].what.startswith("durable "))

    def test_table_lists_every_timing(self):
        t = [Timing("1 GiB", 1 << 30, "snapshot", [0.001]), Timing("1 GiB", 1 << 30, "clone", [0.002])]
        lines = report.snapshot_table(t).splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("2.00", lines[2])


def fs_row(name, mbps, pg_s):
    r = FsResult(name, "how")
    r.write_bytes = 1 << 30
    r.write_bytes_per_s = mbps * 1e6
    r.write_fio_bytes_per_s = 2 * mbps * 1e6
    r.pgbench_init_s = pg_s
    return r


class FsReport(unittest.TestCase):
    ORDER = ["local", "loop-file", "strata"]

    def test_table_and_ratios(self):
        rows = {"local": fs_row("local", 200, 40.0), "strata": fs_row("strata", 100, 50.0)}
        lines = report.fs_table(rows, self.ORDER, {"loop-file"}).splitlines()
        self.assertEqual(lines[1].split(), ["local", "200.0", "400.0", "1.00x", "40.0", "1.00x"])
        self.assertEqual(lines[2].split(), ["loop-file", "failed"])
        self.assertEqual(lines[3].split(), ["strata", "100.0", "200.0", "0.50x", "50.0", "1.25x"])

    def test_verdict_at_the_boundary(self):
        rows = {"local": fs_row("local", 1, 40.0), "strata": fs_row("strata", 1, 60.0)}
        (v,) = report.fs_verdicts(rows, self.ORDER)
        self.assertTrue(v.met)
        self.assertEqual(v.value, "1.50x")
        self.assertTrue(v.what.startswith("durable pgbench -i on a Strata volume"))
        rows["strata"] = fs_row("strata", 1, 60.1)
        self.assertFalse(report.fs_verdicts(rows, self.ORDER)[0].met)

    def test_failed_strata_row_is_missed(self):
        (v,) = report.fs_verdicts({"local": fs_row("local", 1, 40.0)}, self.ORDER)
        self.assertFalse(v.met)
        self.assertEqual(v.value, "-")

    def test_no_verdict_without_a_strata_row(self):
        self.assertEqual(report.fs_verdicts({}, ["local", "loop-file"]), [])


class Json(unittest.TestCase):
    def test_carries_the_mode(self):
        runs = {"cached": uniform(1, 1, 1, 1), "durable": uniform(1, 1, 1, 1)}
        timings = [Timing("1 GiB", 1 << 30, "snapshot", [0.001])]
        fs_rows = {"local": fs_row("local", 1, 1.0), "strata": fs_row("strata", 1, 1.0)}
        doc = report.to_json(runs, ALL, {"cached/nbdkit": "boom"}, timings, "durable", fs_rows,
                             ["local", "loop-file", "strata"], {}, {}, {"cached": {}, "durable": {}})
        self.assertEqual(sorted(doc["modes"]), ["cached", "durable"])
        self.assertEqual(doc["modes"]["cached"]["mode"], "cached")
        self.assertEqual(sorted(doc["modes"]["durable"]["results"]["strata"]), sorted(KEYS))
        self.assertEqual({v["mode"] for v in doc["verdicts"]}, {"cached", "durable"})
        self.assertTrue(all(v["what"].startswith(v["mode"]) for v in doc["verdicts"]))
        self.assertEqual(doc["snapshots"][0]["mode"], "durable")
        self.assertEqual(doc["fs"]["vs_local"]["strata"]["pgbench_init_s"], 1.0)
        self.assertEqual(doc["failures"], {"cached/nbdkit": "boom"})


if __name__ == "__main__":
    unittest.main()
