"""Unit tests for fio command lines and JSON parsing."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fio  # noqa: E402


# fio 3.33's "sync" object after a write job with --fsync=32 (trimmed from a
# real run: percentiles are present when there were fsyncs).
SYNC_WITH_FLUSHES = {
    "total_ios": 10090,
    "lat_ns": {"min": 13345, "max": 4132648, "mean": 106734.999604, "stddev": 96565.690218,
               "N": 10090, "percentile": {"50.000000": 86528, "99.000000": 489472,
                                          "99.900000": 1187840}},
}
# ... and without any fsync: no percentiles at all.
SYNC_NONE = {"total_ios": 0, "lat_ns": {"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "N": 0}}


# The job-level CPU fields of fio 3.33's JSON, with the keys and layout a
# 4 KiB randread over the nbd engine prints (usr_cpu and sys_cpu are percent
# of one CPU; the values are made up).
CPU_ONE_JOB = {"job options": {"name": "randread", "ioengine": "nbd", "rw": "randread",
                               "bs": "4096", "iodepth": "32", "numjobs": "1"},
               "job_runtime": 5000, "usr_cpu": 31.4, "sys_cpu": 64.9, "ctx": 1893,
               "majf": 0, "minf": 12}


def fio_json(side="read", iops=1000.0, bw=4096000, p99_ns=2_500_000, io_bytes=1 << 20,
             error=0, other_side_iops=0.0, sync=None, total_ios=256, cpu=None):
    other = "write" if side == "read" else "read"
    job = {
        **(cpu or {}),
        "jobname": "x", "error": error,
        side: {"iops": iops, "bw_bytes": bw, "io_bytes": io_bytes, "total_ios": total_ios,
               "clat_ns": {"mean": 800_000.0, "percentile": {"99.000000": p99_ns}}},
        other: {"iops": other_side_iops, "bw_bytes": 0, "io_bytes": 0, "total_ios": 0,
                "clat_ns": {"mean": 0.0, "percentile": {"99.000000": 0}}},
    }
    if sync is not None:
        job["sync"] = sync
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

    def test_counts_the_workloads_ios(self):
        self.assertEqual(fio.parse_output(fio_json("write", total_ios=777), False).ios, 777)


class FlushCost(unittest.TestCase):
    def test_fsyncs_give_count_mean_and_p99(self):
        r = fio.parse_output(fio_json("write", sync=SYNC_WITH_FLUSHES), False)
        self.assertEqual(r.flushes, 10090)
        self.assertAlmostEqual(r.flush_mean_ms, 0.106735, places=6)
        self.assertAlmostEqual(r.flush_p99_ms, 0.489472)

    def test_no_fsyncs(self):
        for sync in (SYNC_NONE, None):
            with self.subTest(sync=sync):
                r = fio.parse_output(fio_json("write", sync=sync), False)
                self.assertEqual((r.flushes, r.flush_mean_ms, r.flush_p99_ms), (0, None, None))

    def test_fsyncs_without_percentiles_have_no_p99(self):
        sync = {"total_ios": 3, "lat_ns": {"mean": 2_000_000.0, "N": 3}}
        self.assertEqual(fio.parse_flush({"sync": sync}), (3, 2.0, None))


class ClientCpu(unittest.TestCase):
    def test_usr_and_sys_of_one_job(self):
        r = fio.parse_output(fio_json("read", cpu=CPU_ONE_JOB), True)
        self.assertAlmostEqual(r.client_usr_pct, 31.4)
        self.assertAlmostEqual(r.client_sys_pct, 64.9)
        self.assertAlmostEqual(r.client_cpu_pct, 96.3)

    def test_group_reporting_is_summed_over_the_jobs(self):
        # With group_reporting fio divides the jobs' summed CPU time by their
        # summed run time: the mean per job. Two jobs at 45% each are 90%.
        cpu = dict(CPU_ONE_JOB, usr_cpu=40.0, sys_cpu=5.0,
                   **{"job options": {"numjobs": "2", "group_reporting": "1"}})
        self.assertEqual(fio.parse_cpu(cpu), (80.0, 10.0, 90.0))

    def test_no_cpu_figures(self):
        r = fio.parse_output(fio_json("read"), True)
        self.assertEqual((r.client_usr_pct, r.client_sys_pct, r.client_cpu_pct), (None, None, None))
        self.assertEqual(fio.parse_cpu({"usr_cpu": 1.0}), (None, None, None))

    def test_bad_numjobs_counts_as_one(self):
        self.assertEqual(fio.parse_cpu({"usr_cpu": 1.0, "sys_cpu": 2.0,
                                        "job options": {"numjobs": "x"}}), (1.0, 2.0, 3.0))


class FsWrite(unittest.TestCase):
    def test_command_line(self):
        args = fio.fs_write_args("/m/fio.dat", 1 << 30, "/o.json")
        for a in ("--filename=/m/fio.dat", "--rw=write", "--bs=1M", f"--size={1 << 30}",
                  "--direct=0", "--end_fsync=1", "--output=/o.json"):
            self.assertIn(a, args)
        self.assertTrue(any(a in args for a in ("--ioengine=psync", "--ioengine=io_uring")))

    def test_parse(self):
        self.assertEqual(fio.parse_fs_write(fio_json("write", bw=9_000_000, io_bytes=1 << 30)),
                         (1 << 30, 9_000_000.0))
        with self.assertRaises(ValueError):
            fio.parse_fs_write(fio_json("write", io_bytes=0))


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

    def test_local_target_direct_follows_the_mode(self):
        self.assertIn("--direct=1", fio.LocalTarget("/f", "io_uring", True).args())
        self.assertIn("--direct=0", fio.LocalTarget("/f", "io_uring", False).args())

    def test_fill_ends_with_an_fsync(self):
        self.assertIn("--end_fsync=1", fio.fill_args(fio.NbdTarget("u"), fio.GIB, 32, "o"))

    def test_no_fsync_when_zero(self):
        w = fio.timed_args(fio.NbdTarget("u"), self.by_key("randwrite"), self.shape(fsync=0), "o")
        self.assertFalse(any(a.startswith("--fsync") for a in w))

    def test_fsync_only_on_writes(self):
        w = fio.timed_args(fio.NbdTarget("u"), self.by_key("randwrite"), self.shape(fsync=8), "o")
        r = fio.timed_args(fio.NbdTarget("u"), self.by_key("randread"), self.shape(fsync=8), "o")
        self.assertIn("--fsync=8", w)
        self.assertNotIn("--fsync=8", r)

    def test_run_order_covers_every_workload_once(self):
        self.assertEqual(sorted(fio.RUN_ORDER), sorted(w.key for w in fio.WORKLOADS))


if __name__ == "__main__":
    unittest.main()
