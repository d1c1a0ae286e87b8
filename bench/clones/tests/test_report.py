"""Unit tests for the clones benchmark's figures, ratios and verdicts."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))

import report  # noqa: E402
from report import BASEBACKUP, COPY, GIB, MIB, RESET, STRATA, SizeResult  # noqa: E402


def size(scale, db_bytes, strata, reset=(0.3,), basebackup=None, cp=None, idle=(MIB,)):
    r = SizeResult(scale=scale, db_bytes=db_bytes)
    r.seconds[STRATA] = list(strata)
    r.seconds[RESET] = list(reset)
    if basebackup:
        r.seconds[BASEBACKUP] = list(basebackup)
    if cp:
        r.seconds[COPY] = list(cp)
    r.idle_exclusive_bytes = list(idle)
    return r


def by_what(results):
    return {v.what: v for v in report.verdicts(results)}


class Scales(unittest.TestCase):
    def test_spaces_and_commas(self):
        self.assertEqual(report.parse_scales("70 700"), [70, 700])
        self.assertEqual(report.parse_scales(" 10,70 "), [10, 70])
        self.assertEqual(report.parse_scales("70 70 5"), [70, 5])

    def test_garbage_is_refused(self):
        for text in ("", " ", "0", "-1", "1.5", "ten", "70 x"):
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    report.parse_scales(text)


class Medians(unittest.TestCase):
    def test_median_of_odd_and_missing(self):
        r = size(70, GIB, [0.5, 0.4, 3.0, 0.45, 0.42])
        self.assertAlmostEqual(r.median(STRATA), 0.45)
        self.assertIsNone(r.median(BASEBACKUP))

    def test_ratio(self):
        self.assertAlmostEqual(report.ratio(50.0, 0.5), 100.0)
        self.assertIsNone(report.ratio(None, 0.5))
        self.assertIsNone(report.ratio(1.0, 0.0))

    def test_labels(self):
        self.assertEqual(report.size_label(GIB + GIB // 10, 70), "1.1 GiB")
        self.assertEqual(report.size_label(20 * MIB, 1), "20 MiB")
        self.assertEqual(report.size_label(0, 7), "scale 7")


class Verdicts(unittest.TestCase):
    def test_all_met(self):
        small = size(70, GIB, [0.40], basebackup=[8.0])
        large = size(700, 10 * GIB, [0.45], basebackup=[60.0])
        v = by_what([small, large])
        self.assertTrue(all(x.met for x in v.values()), v)
        self.assertEqual(v["faster than pg_basebackup + start, 10.0 GiB"].value, "133.3x")
        self.assertEqual(v["clone time 10.0 GiB vs 1.0 GiB"].value, "1.1x")

    def test_each_goal_can_miss(self):
        small = size(70, GIB, [0.40], reset=[1.2], idle=[MIB, 6 * MIB])
        large = size(700, 10 * GIB, [0.99], basebackup=[40.0])
        v = by_what([small, large])
        self.assertTrue(v["clone accepts connections, 10.0 GiB"].met)      # 0.99 s < 1 s
        self.assertFalse(v["clone time 10.0 GiB vs 1.0 GiB"].met)          # 2.5x
        self.assertFalse(v["faster than pg_basebackup + start, 10.0 GiB"].met)  # 40.4x
        self.assertFalse(v["idle clone's own disk, 1.0 GiB"].met)          # the max counts
        self.assertFalse(v["reset, 1.0 GiB"].met)
        self.assertTrue(v["reset, 10.0 GiB"].met)

    def test_one_second_is_a_miss(self):
        v = by_what([size(70, GIB, [1.0])])
        self.assertFalse(v["clone accepts connections, 1.0 GiB"].met)

    def test_missing_figures_are_missed(self):
        r = SizeResult(scale=70, db_bytes=GIB)
        r.failures[STRATA] = "boom"
        v = by_what([r])
        self.assertTrue(v)
        self.assertFalse(any(x.met for x in v.values()))

    def test_scaling_compares_by_size_not_order(self):
        v = by_what([size(700, 10 * GIB, [0.5]), size(70, GIB, [0.45])])
        self.assertIn("clone time 10.0 GiB vs 1.0 GiB", v)
        self.assertTrue(v["clone time 10.0 GiB vs 1.0 GiB"].met)


class Tables(unittest.TestCase):
    def test_timing_table_has_ratio_for_peers(self):
        r = size(70, GIB, [0.5], basebackup=[10.0, 12.0, 11.0], cp=[5.0])
        text = report.timing_table([r])
        bb = next(line for line in text.splitlines() if "pg_basebackup" in line)
        self.assertIn("22.0x", bb)
        self.assertIn("11.0 s", bb)
        cp = next(line for line in text.splitlines() if "cp -a" in line)
        self.assertIn("10.0x", cp)

    def test_failed_system_is_named(self):
        r = size(70, GIB, [0.5])
        r.failures[BASEBACKUP] = "no space"
        text = report.timing_table([r])
        self.assertIn("failed", next(line for line in text.splitlines() if "pg_basebackup" in line))
        self.assertIn("not run", next(line for line in text.splitlines() if "cp -a" in line))

    def test_json_round_trip(self):
        import json
        r = size(70, GIB, [0.5], basebackup=[10.0])
        doc = json.loads(json.dumps(report.to_json([r], {"cpus": 2}, {"repeats": 1})))
        self.assertAlmostEqual(doc["sizes"][0]["ratios"][BASEBACKUP], 20.0)
        self.assertTrue(doc["verdicts"])


class Memory(unittest.TestCase):
    def test_smaps_rollup(self):
        text = ("55d0c-7ffd [rollup]\nRss:               14336 kB\nPss:                3210 kB\n"
                "Pss_Anon:           100 kB\nShared_Clean:       9000 kB\n")
        self.assertEqual(report.parse_smaps_rollup(text), (14336 * 1024, 3210 * 1024))
        self.assertEqual(report.parse_smaps_rollup(""), (0, 0))

    def test_descendants(self):
        parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}
        self.assertEqual(report.descendants(parents, [10]), {10, 11, 12, 13})
        self.assertEqual(report.descendants(parents, [10, 20]), {10, 11, 12, 13, 20, 21})
        self.assertEqual(report.descendants(parents, [99]), {99})


if __name__ == "__main__":
    unittest.main()
