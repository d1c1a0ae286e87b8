"""Unit tests for the benchmark's flags."""

import argparse
import os
import sys
import unittest
from contextlib import redirect_stderr
from io import StringIO

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_volumes  # noqa: E402
import fs_workload  # noqa: E402
import modes  # noqa: E402
import systems  # noqa: E402


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

    def test_nbd_null_is_in_by_default_last_and_removable(self):
        self.assertEqual(bench_volumes.parse_args([]).systems,
                         ["local", "qemu-nbd", "nbdkit", "strata", "nbd-null"])
        self.assertEqual(bench_volumes.parse_systems("nbd-null,strata,local"),
                         ["local", "strata", "nbd-null"])
        self.assertEqual(bench_volumes.parse_args(["--systems", "local,strata"]).systems,
                         ["local", "strata"])

    def test_nbd_null_needs_no_disk_space(self):
        self.assertIn("nbd-null", systems.DISKLESS)
        self.assertNotIn("nbd-null", fs_workload.rows(bench_volumes.parse_args([])))

    def test_unknown_is_refused(self):
        with self.assertRaises(argparse.ArgumentTypeError):
            bench_volumes.parse_systems("local,ceph")
        with self.assertRaises(argparse.ArgumentTypeError):
            bench_volumes.parse_systems(",")


class Modes(unittest.TestCase):
    def test_default_is_both_in_run_order(self):
        self.assertEqual(bench_volumes.parse_args([]).modes, ["cached", "durable"])
        self.assertEqual(bench_volumes.parse_args(["--modes", "durable,cached"]).modes,
                         ["cached", "durable"])
        self.assertEqual(bench_volumes.parse_args(["--modes", "durable"]).modes, ["durable"])

    def test_unknown_or_empty_is_refused(self):
        for text in ("fast", ",", "cached,direct"):
            with self.subTest(text=text), self.assertRaises(argparse.ArgumentTypeError):
                bench_volumes.parse_modes(text)

    def test_fsync_defaults_per_mode_and_override(self):
        opts = bench_volumes.parse_args([])
        self.assertIsNone(opts.fsync_every)
        self.assertEqual(modes.CACHED.fsync_every(opts.fsync_every), 0)
        self.assertEqual(modes.DURABLE.fsync_every(opts.fsync_every), 32)
        opts = bench_volumes.parse_args(["--fsync", "8"])
        self.assertEqual(modes.CACHED.fsync_every(opts.fsync_every), 8)
        self.assertEqual(modes.DURABLE.fsync_every(opts.fsync_every), 8)
        self.assertEqual(modes.DURABLE.fsync_every(0), 0)

    def test_job_shape_takes_the_modes_fsync(self):
        opts = bench_volumes.parse_args([])
        ctx = bench_volumes.Context(opts, "/w", None)
        self.assertEqual(ctx.shape(modes.CACHED).fsync_every, 0)
        self.assertEqual(ctx.shape(modes.DURABLE).fsync_every, 32)

    def test_what_each_system_runs_with(self):
        self.assertEqual((modes.CACHED.local_direct, modes.CACHED.qemu_cache, modes.CACHED.nbdkit_cache,
                          modes.CACHED.strata_volume_io), (False, "writeback", "default", "buffered"))
        self.assertEqual((modes.DURABLE.local_direct, modes.DURABLE.qemu_cache,
                          modes.DURABLE.nbdkit_cache, modes.DURABLE.strata_volume_io),
                         (True, "none", "none", "direct"))
        self.assertNotIn("native", modes.CACHED.qemu_aio)  # qemu's aio=native needs O_DIRECT

    def test_nbdkit_cache_flag_is_gone(self):
        with self.assertRaises(SystemExit), redirect_stderr(StringIO()):
            bench_volumes.parse_args(["--nbdkit-cache", "none"])

    def test_snapshots_run_in_the_durable_mode_when_it_runs(self):
        self.assertEqual(bench_volumes.snapshot_mode(bench_volumes.parse_args([])), "durable")
        self.assertEqual(bench_volumes.snapshot_mode(bench_volumes.parse_args(["--modes", "cached"])),
                         "cached")


class SystemsPerMode(unittest.TestCase):
    def ctx(self, *argv):
        return bench_volumes.Context(bench_volumes.parse_args(list(argv)), "/w", None)

    def test_each_mode_has_its_own_dir_and_settings(self):
        ctx = self.ctx()
        cached = systems.Nbdkit(ctx, modes.CACHED)
        durable = systems.Nbdkit(ctx, modes.DURABLE)
        self.assertNotEqual(cached.dir, durable.dir)
        self.assertIn("cache=default", cached.describe())
        self.assertIn("cache=none", durable.describe())
        self.assertIn("--cache=writeback", systems.QemuNbd(ctx, modes.CACHED).describe())
        self.assertIn("--cache=none", systems.QemuNbd(ctx, modes.DURABLE).describe())
        self.assertIn("direct=0", systems.LocalDisk(ctx, modes.CACHED).describe())
        self.assertIn("direct=1", systems.LocalDisk(ctx, modes.DURABLE).describe())
        self.assertIn("--volume-io buffered", systems.Strata(ctx, modes.CACHED).describe())
        self.assertIn("--volume-io direct", systems.Strata(ctx, modes.DURABLE).describe())

    def test_nbd_null_serves_size_bytes_of_nothing(self):
        ctx = self.ctx("--size", "512M")
        null = systems.NbdNull(ctx, modes.DURABLE)
        self.assertIn(f"null size={512 << 20}", null.describe())
        self.assertNotEqual(null.dir, systems.NbdNull(ctx, modes.CACHED).dir)
        self.assertIs(systems.SYSTEMS["nbd-null"], systems.NbdNull)


class FsOptions(unittest.TestCase):
    def test_defaults(self):
        opts = bench_volumes.parse_args([])
        self.assertTrue(opts.fs)
        self.assertFalse(opts.only_fs)
        self.assertEqual(opts.fs_size_bytes, 4 << 30)
        self.assertEqual(opts.fs_write_bytes, 1 << 30)
        self.assertEqual(opts.pgbench_scale, 50)
        self.assertEqual(opts.fs_strata_modes, ["durable"])
        self.assertEqual(fs_workload.rows(opts), ["local", "loop-file", "strata"])

    def test_no_fs_and_rows(self):
        self.assertEqual(fs_workload.rows(bench_volumes.parse_args(["--no-fs"])), [])
        opts = bench_volumes.parse_args(["--systems", "local,nbdkit"])
        self.assertEqual(fs_workload.rows(opts), ["local", "loop-file"])
        opts = bench_volumes.parse_args(["--fs-strata-modes", "cached,durable"])
        self.assertEqual(fs_workload.rows(opts), ["local", "loop-file", "strata", "strata-cached"])

    def test_sizes(self):
        opts = bench_volumes.parse_args(["--fs-size", "2G", "--fs-write-size", "256M",
                                         "--pgbench-scale", "5"])
        self.assertEqual((opts.fs_size_bytes, opts.fs_write_bytes, opts.pgbench_scale),
                         (2 << 30, 256 << 20, 5))

    def test_contradictions_are_refused(self):
        for argv in (["--only-fs", "--no-fs"], ["--fs-size", "1G", "--fs-write-size", "1G"],
                     ["--pgbench-scale", "0"]):
            with self.subTest(argv=argv), self.assertRaises(SystemExit), redirect_stderr(StringIO()):
                bench_volumes.parse_args(argv)


if __name__ == "__main__":
    unittest.main()
