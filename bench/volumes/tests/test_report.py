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


def res(iops, p99_ms=1.0, flushes=0, flush_mean_ms=None, flush_p99_ms=None, ios=0, cpu=None):
    return Result(iops=iops, bytes_per_s=iops * 4096, p99_ms=p99_ms, mean_ms=0.5, io_bytes=1,
                  ios=ios, flushes=flushes, flush_mean_ms=flush_mean_ms, flush_p99_ms=flush_p99_ms,
                  client_cpu_pct=cpu)


ALL = ["local", "qemu-nbd", "nbdkit", "strata"]
WITH_NULL = ALL + ["nbd-null"]
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
        results = with_null(1, 1, 1)
        for mode in ("cached", "durable"):
            for text in (report.results_table(mode, results, WITH_NULL, set()),
                         report.ratio_table(mode, results, WITH_NULL),
                         report.client_limit_line(mode, results, WITH_NULL)):
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


def with_null(strata, local, null, peers=1000):
    """uniform() plus an nbd-null row; qemu-nbd and nbdkit at `peers`."""
    results = uniform(strata, peers, peers, local)
    results["nbd-null"] = {k: res(null, cpu=97.4) for k in KEYS}
    return results


class ClientCpuColumn(unittest.TestCase):
    def test_results_table_has_fio_cpu(self):
        results = {"strata": {"randread": res(1000, cpu=96.6)}, "local": {"randread": res(2000)}}
        lines = report.results_table("durable", results, ["local", "strata"], set()).splitlines()
        self.assertTrue(lines[0].endswith("fio cpu%"), lines[0])
        self.assertEqual(lines[0].split()[:6], ["mode", "workload", "system", "IOPS", "MB/s", "p99"])
        self.assertEqual(lines[1].split()[-1], "-")    # local: no figure given
        self.assertEqual(lines[2].split()[-1], "97")   # strata, rounded


class ClientLimit(unittest.TestCase):
    """nbd-null (nbdkit null) is the NBD client's limit, not a peer."""

    def verdicts(self, results, systems=WITH_NULL, mode="durable"):
        return {v.what: v for v in report.fio_verdicts(mode, results, systems)}

    def test_ratio_table_has_strata_over_nbd_null(self):
        lines = report.ratio_table("durable", with_null(710, 1000, 500), WITH_NULL).splitlines()
        # Header and rows both start with three words ("IOPS ratio", "4k randread").
        self.assertEqual(lines[0].split(), ["mode", "IOPS", "ratio", "strata/qemu-nbd", "strata/nbdkit",
                                            "strata/local", "strata/nbd-null", "p99", "strata/local"])
        self.assertEqual(lines[1].split(), ["durable", "4k", "randread", "0.71x", "0.71x", "0.71x",
                                            "1.42x", "1.00x"])

    def test_ratio_table_with_nbd_null_as_the_only_other(self):
        results = {"strata": {"randread": res(300)}, "nbd-null": {"randread": res(600)}}
        lines = report.ratio_table("cached", results, ["strata", "nbd-null"]).splitlines()
        self.assertEqual(lines[0].split()[-1], "strata/nbd-null")
        self.assertEqual(lines[1].split(), ["cached", "4k", "randread", "0.50x"])
        self.assertEqual(lines[2].split()[-1], "-")

    def test_missed_below_the_client_limit_is_explained(self):
        # local 1000, nbd-null 380 (38% of local), strata 270 (27% of local, 71% of nbd-null)
        v = self.verdicts(with_null(270, 1000, 380))
        for what in ("durable 4k randread IOPS vs local disk", "durable 1M seqwrite MB/s vs local disk"):
            self.assertFalse(v[what].met)
            self.assertEqual(v[what].note, "NBD client limit: nbd-null reaches 38% of local; "
                                            "strata is 71% of nbd-null")
        line = [x for x in report.verdict_lines(list(v.values())).splitlines()
                if "4k randread IOPS vs local disk" in x][0]
        self.assertTrue(line.endswith("MISSED (NBD client limit: nbd-null reaches 38% of local; "
                                      "strata is 71% of nbd-null)"), line)

    def test_missed_above_the_client_limit_has_no_explanation(self):
        # nbd-null reaches 90% of local: the goal is in reach of an NBD server.
        v = self.verdicts(with_null(500, 1000, 900))
        what = "durable 4k randwrite IOPS vs local disk"
        self.assertFalse(v[what].met)
        self.assertEqual(v[what].note, "")
        line = [x for x in report.verdict_lines(list(v.values())).splitlines() if what in x][0]
        self.assertTrue(line.endswith("MISSED"), line)

    def test_met_and_other_targets_get_no_note(self):
        v = self.verdicts(with_null(700, 1000, 380, peers=800))
        self.assertTrue(v["durable 4k randread IOPS vs local disk"].met)
        self.assertFalse(v["durable 4k randread IOPS vs qemu-nbd"].met)
        self.assertTrue(all(x.note == "" for x in v.values()), v)

    def test_no_note_when_nbd_null_did_not_run(self):
        v = self.verdicts(with_null(270, 1000, 380), systems=ALL)
        self.assertEqual(v["durable 4k randread IOPS vs local disk"].note, "")
        results = with_null(270, 1000, 380)
        del results["nbd-null"]["randread"]   # nbd-null in the run, but failed there
        self.assertEqual(self.verdicts(results)["durable 4k randread IOPS vs local disk"].note, "")

    def test_failed_strata_keeps_the_limit_half_of_the_note(self):
        results = with_null(1, 1000, 380)
        del results["strata"]
        v = self.verdicts(results)["durable 4k randread IOPS vs local disk"]
        self.assertEqual(v.note, "NBD client limit: nbd-null reaches 38% of local")

    def test_nbd_null_is_not_a_peer(self):
        v = self.verdicts(with_null(1, 1000, 1))
        self.assertEqual(len(v), 10)   # the same targets as without nbd-null
        self.assertFalse([w for w in v if "nbd-null" in w])
        self.assertEqual(report.fio_verdicts("durable", with_null(1, 1, 1), ["nbd-null"]), [])

    def test_client_limit_line(self):
        line = report.client_limit_line("durable", with_null(270, 1000, 380), WITH_NULL)
        self.assertEqual(len(line.splitlines()), 1)
        self.assertTrue(line.startswith("durable  NBD client limit (nbd-null"), line)
        self.assertIn("4k randread 380 IOPS (38% of local)", line)
        self.assertIn("4k randwrite 380 IOPS (38% of local)", line)
        self.assertIn("1M seqread 1.6 MB/s (38% of local)", line)   # 380 x 4096 bytes/s
        self.assertIn("1M seqwrite 1.6 MB/s", line)

    def test_client_limit_line_without_local_or_nbd_null(self):
        results = {"nbd-null": {"randread": res(500)}}
        line = report.client_limit_line("cached", results, ["nbd-null"])
        self.assertIn("4k randread 500 IOPS,", line)
        self.assertIn("4k randwrite -", line)
        self.assertEqual(report.client_limit_line("cached", with_null(1, 1, 1), ALL), "")


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

    def test_carries_the_client_limit(self):
        runs = {"durable": with_null(270, 1000, 380)}
        doc = report.to_json(runs, WITH_NULL, {}, [], "durable", {}, [], {}, {}, {"durable": {}})
        mode = doc["modes"]["durable"]
        self.assertAlmostEqual(mode["ratios"]["randread"]["nbd-null"], 270 / 380)
        self.assertAlmostEqual(mode["ratios"]["randread"]["qemu-nbd"], 0.27)
        limit = mode["client_limit"]["randread"]
        self.assertEqual(limit["iops"], 380)
        self.assertAlmostEqual(limit["vs_local_iops"], 0.38)
        self.assertEqual(limit["client_cpu_pct"], 97.4)
        self.assertEqual(mode["results"]["nbd-null"]["randread"]["client_cpu_pct"], 97.4)
        self.assertIn("client_usr_pct", mode["results"]["strata"]["randread"])
        notes = {v["what"]: v["note"] for v in doc["verdicts"]}
        self.assertTrue(notes["durable 4k randread IOPS vs local disk"].startswith("NBD client limit"))
        self.assertEqual(notes["durable 4k randread IOPS vs qemu-nbd"], "")
        self.assertNotIn("nbd-null", {v["what"] for v in doc["verdicts"]})
        runs = {"durable": uniform(1, 1, 1, 1)}
        doc = report.to_json(runs, ALL, {}, [], "durable", {}, [], {}, {}, {"durable": {}})
        self.assertIsNone(doc["modes"]["durable"]["client_limit"]["randread"])


if __name__ == "__main__":
    unittest.main()
