"""Unit tests for fio command lines and JSON parsing."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fio  # noqa: E402


def fio_json(side="read", iops=1000.0, bw=4096000, p99_ns=2_500_000, io_bytes=1 << 20,
             error=0, other_side_iops=0.0):
    other = "write" if side == "read" else "read"
    job = {
        "jobname": "x", "error": error,
        side: {"iops": iops, "bw_bytes": bw, "io_bytes": io_bytes,
               "clat_ns": {"mean": 800_000.0, "percentile": {"99.000000": p99_ns}}},
        other: {"iops": other_side_iops, "bw_bytes": 0, "io_bytes": 0,
                "clat_ns": {"mean": 0.0, "percentile": {"99.000000": 0}}},
    }
    return json.dumps({"fio version": "fio-3.33", "jobs": [job]})


class ParseOutput(unittest.TestCase):
    def test_reads_the_side_of_the_workload(self):
        r = fio.parse_output(fio_json("read", iops=1234.5, bw=5_000_000, p99_ns=2_500_000), True)
        self.assertEqual(r.iops, 1234.5)
        self.assertEqual(r.bytes_per_s, 5_000_000)
        self.assertAlmostEqual(r.p99_ms, 2.5)
        self.assertAlmostEqual(r.mean_ms, 0.8)

    def test_write_workload_reads_write_side(self):
        r = fio.parse_output(fio_json("write", iops=77.0, other_side_iops=999.0), False)
        self.assertEqual(r.iops, 77.0)

    def test_skips_warnings_before_json(self):
        text = "fio: some warning\n" + fio_json("read", iops=10.0)
        self.assertEqual(fio.parse_output(text, True).iops, 10.0)

    def test_job_error_is_an_error(self):
        with self.assertRaises(ValueError):
            fio.parse_output(fio_json("read", error=5), True)

    def test_no_io_is_an_error(self):
        with self.assertRaises(ValueError):
            fio.parse_output(fio_json("read", io_bytes=0), True)

    def test_no_json_is_an_error(self):
        with self.assertRaises(ValueError):
            fio.parse_output("fio: connection refused\n", True)


class CommandLines(unittest.TestCase):
    def shape(self, numjobs=1, fsync=0):
        return fio.JobShape(size_bytes=fio.GIB, runtime_s=20, ramp_s=2, iodepth=32,
                            numjobs=numjobs, fsync_every=fsync)

    def by_key(self, workload_key):
        return next(w for w in fio.WORKLOADS if w.key == workload_key)

    def test_nbd_target_uses_uri_and_same_job(self):
        local = fio.timed_args(fio.LocalTarget("/d/f", "io_uring"), self.by_key("randread"),
                               self.shape(), "/o.json")
        nbd = fio.timed_args(fio.NbdTarget("nbd://127.0.0.1:1/bench"), self.by_key("randread"),
                             self.shape(), "/o.json")
        self.assertIn("--uri=nbd://127.0.0.1:1/bench", nbd)
        self.assertIn("--ioengine=nbd", nbd)
        self.assertIn("--direct=1", local)
        common = [a for a in local if a not in fio.LocalTarget("/d/f", "io_uring").args()]
        self.assertEqual(common, nbd[:len(common)])
        self.assertIn("--bs=4096", nbd)
        self.assertIn("--iodepth=32", nbd)
        self.assertIn(f"--size={fio.GIB}", nbd)

    def test_jobs_get_disjoint_slices(self):
        args = fio.timed_args(fio.NbdTarget("nbd://h/e"), self.by_key("seqread"),
                              self.shape(numjobs=2), "/o.json")
        self.assertIn(f"--size={fio.GIB // 2}", args)
        self.assertIn(f"--offset_increment={fio.GIB // 2}", args)
        self.assertIn("--group_reporting", args)

    def test_fsync_only_on_writes(self):
        w = fio.timed_args(fio.NbdTarget("u"), self.by_key("randwrite"), self.shape(fsync=8), "o")
        r = fio.timed_args(fio.NbdTarget("u"), self.by_key("randread"), self.shape(fsync=8), "o")
        self.assertIn("--fsync=8", w)
        self.assertNotIn("--fsync=8", r)

    def test_run_order_covers_every_workload_once(self):
        self.assertEqual(sorted(fio.RUN_ORDER), sorted(w.key for w in fio.WORKLOADS))


if __name__ == "__main__":
    unittest.main()
