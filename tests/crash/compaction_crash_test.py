#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): kill -9 during log compaction
loses nothing that should stay.

An idempotent acks=all producer writes new versions of a few hundred keys to
a compacted topic (cleanup.policy=compact, small segments, any dirty ratio)
while the server is SIGKILLed and restarted again and again. Each kill aims
at a compaction: the killer watches the partition directory and kills a
random time (up to 1.5 s) after staged files (*.cleaned) appear, or at once
when the swap marker does (or after 8 s if neither does). After the last restart and one
more compaction, everything is read back and checked: for every key the
newest acknowledged version (or a newer one) is there, every acknowledged
record still read sits at the offset it was acknowledged at, versions of a
key increase with the offset, and values are intact.

    usage: tests/crash/compaction_crash_test.py [--cycles 10] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.) Also runs under pytest.
"""

import argparse
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from crash_report import check, run_with_server  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "compact-crash"
KEYS = 20_000  # many survivors, so that a rewrite takes long enough to be hit
PADDING = "x" * 400
FLUSH_TIMEOUT_S = 120
COMPACTION_CHECK_S = 5


class Killer(threading.Thread):
    def __init__(self, server, cycles, rng):
        super().__init__(daemon=True)
        self.server, self.cycles, self.rng = server, cycles, rng
        self.done_cycles = 0
        self.error = None

    def compaction_files(self):
        return list((Path(self.server.data_dir) / "topics").glob("*/0/*.cleaned")) or self.swapping()

    def swapping(self):
        return list((Path(self.server.data_dir) / "topics").glob("*/0/swap"))

    def run(self):
        try:
            for _ in range(self.cycles):
                deadline = time.monotonic() + 8
                while not self.compaction_files() and time.monotonic() < deadline:
                    time.sleep(0.001)
                # Some time into the rewrite, or at once when its swap begins.
                until = time.monotonic() + self.rng.uniform(0, 1.5)
                while time.monotonic() < until and not self.swapping():
                    time.sleep(0.0005)
                self.server.kill9()
                self.server.start()
                self.done_cycles += 1
        except Exception as e:  # reported by the main thread
            self.error = e


def produce_during_kills(server, cycles, rng, rate):
    acked = {}  # (key, version) -> offset
    fatal = []
    failed = []

    def on_delivery(err, msg):
        if err is None:
            key, version = msg.key().decode(), int(msg.value().decode().split(":")[1])
            acked[(key, version)] = msg.offset()
        else:
            failed.append(str(err))

    def on_error(err):
        if err.fatal():
            fatal.append(str(err))

    p = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5, "message.timeout.ms": FLUSH_TIMEOUT_S * 1000,
                  "reconnect.backoff.max.ms": 200, "error_cb": on_error})
    killer = Killer(server, cycles, rng)
    killer.start()
    version = [0] * KEYS
    produced = 0
    started = time.monotonic()
    while killer.is_alive() and not fatal:
        k = rng.randrange(KEYS)
        try:
            p.produce(TOPIC, key=f"key-{k}".encode(), value=f"key-{k}:{version[k]}:{PADDING}".encode(), partition=0,
                      on_delivery=on_delivery)
        except BufferError:
            p.poll(0.05)
            continue
        version[k] += 1
        produced += 1
        p.poll(0)
        ahead_s = produced / rate - (time.monotonic() - started)
        if ahead_s > 0:
            p.poll(ahead_s)
    killer.join()
    remaining = p.flush(FLUSH_TIMEOUT_S)
    return {"acked": acked, "fatal": fatal, "failed": failed, "produced": produced, "unflushed": remaining,
            "killer": killer}


def read_back(server):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "compaction-crash-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    rows = []  # (offset, key, version, value)
    try:
        end = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=20)[1]
        c.assign([TopicPartition(TOPIC, 0, 0)])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF and m.offset() >= end:
                    return rows, end
                if m.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"consumer error: {m.error()}")
                continue
            value = m.value().decode()
            rows.append((m.offset(), m.key().decode(), int(value.split(":")[1]), value))
        raise RuntimeError(f"partition not read to its end {end} within 120s")
    finally:
        c.close()


def run(args):
    rng = random.Random(args.seed)
    def body(server, results):
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        configs = {"cleanup.policy": "compact", "segment.bytes": "262144", "min.cleanable.dirty.ratio": "0.01"}
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1, config=configs)])[TOPIC].result(10)
        prod = produce_during_kills(server, args.cycles, rng, args.rate)
        killer = prod["killer"]
        check(results, f"server restarted after each of {args.cycles} SIGKILLs",
              killer.error is None and killer.done_cycles == args.cycles,
              f"{killer.done_cycles} restarts done; error: {killer.error}")
        check(results, "no fatal producer error", not prod["fatal"], "; ".join(prod["fatal"][:3]))
        check(results, "every produced record got a delivery report", prod["unflushed"] == 0,
              f"{prod['unflushed']} still queued after {FLUSH_TIMEOUT_S}s")
        time.sleep(COMPACTION_CHECK_S + 3)  # one more compaction, undisturbed

        rows, end = read_back(server)
        acked = prod["acked"]
        newest_acked = {}
        for (key, version) in acked:
            newest_acked[key] = max(version, newest_acked.get(key, -1))
        newest_read, last_version = {}, {}
        misplaced, out_of_order, corrupt = [], [], []
        for offset, key, version, value in rows:
            if (key, version) in acked and acked[(key, version)] != offset:
                misplaced.append((key, version, acked[(key, version)], offset))
            if version <= last_version.get(key, -1):
                out_of_order.append((offset, key, version))
            last_version[key] = version
            newest_read[key] = version
            if value != f"{key}:{version}:{PADDING}":
                corrupt.append((offset, value[:40]))
        lost = sorted(k for k, v in newest_acked.items() if newest_read.get(k, -1) < v)
        log = server.log_text()
        finished = log.count("finishing an interrupted compaction swap")
        abandoned = log.count("removed the staged files of a compaction")
        compactions = log.count("compacted " + TOPIC)

        check(results, "the newest acknowledged version of every key is there", not lost,
              f"{len(lost)} keys lost their newest value, first {lost[:10]}")
        check(results, "records sit at their acknowledged offsets", not misplaced,
              f"{len(misplaced)} moved, first {misplaced[:5]}")
        check(results, "versions of a key increase with the offset", not out_of_order,
              f"{len(out_of_order)} out of order, first {out_of_order[:5]}")
        check(results, "record contents are intact", not corrupt, f"first {corrupt[:3]}")
        check(results, "compaction ran", compactions > 0, "no 'compacted' line in the server log")
        check(results, "compaction removed records", len(rows) < len(acked), f"{len(rows)} read, {len(acked)} acked")
        print(f"produced: {prod['produced']}, acknowledged: {len(acked)}, delivery errors: {len(prod['failed'])}, "
              f"read back: {len(rows)} of offsets [0, {end})")
        print(f"kill cycles: {killer.done_cycles}, compactions finished: {compactions}, "
              f"kills during a swap: {finished}, kills during a rewrite: {abandoned}")

    return run_with_server("compaction-crash", ["--fsync", "per-batch"], "compaction-crash", body)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--rate", type=float, default=4000, help="records per second")
    args = ap.parse_args(argv)
    print(f"compaction crash test: {args.cycles} cycles, seed {args.seed}")
    return args


def test_kill9_during_compaction_loses_nothing():
    assert run(parse_args([]))


if __name__ == "__main__":
    sys.exit(0 if run(parse_args(sys.argv[1:])) else 1)
