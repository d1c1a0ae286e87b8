#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): acknowledged means durable.

An idempotent acks=all producer (confluent-kafka) writes numbered records to
a 3-partition topic while the server is SIGKILLed and restarted again and
again. The producer notes every record whose delivery report came back
without an error. After the last restart everything is read back and checked:
every acknowledged record is there exactly once, at the offset it was
acknowledged at, and each partition holds its records in produce order.

    usage: tests/crash/kafka_crash_test.py [--cycles 10] [--gap-min-s 1] [--gap-max-s 3] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.) Also runs under pytest.
"""

import argparse
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from crash_report import check, run_with_server  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402

TOPIC = "crash"
PARTITIONS = 3
RECORDS_MAX = 1_000_000
FLUSH_TIMEOUT_S = 120


class Killer(threading.Thread):
    """Kills the server with SIGKILL and restarts it, `cycles` times."""

    def __init__(self, server, cycles, gap_min_s, gap_max_s, rng):
        super().__init__(daemon=True)
        self.server, self.cycles, self.rng = server, cycles, rng
        self.gap = (gap_min_s, gap_max_s)
        self.done_cycles = 0
        self.error = None

    def run(self):
        try:
            for _ in range(self.cycles):
                time.sleep(self.rng.uniform(*self.gap))
                self.server.kill9()
                self.server.start()
                self.done_cycles += 1
        except Exception as e:  # reported by the main thread
            self.error = e


def produce_during_kills(server, args, rng):
    acked = {}   # (partition, seq) -> offset
    failed = []  # delivery errors (allowed, but counted)
    fatal = []

    def on_delivery(err, msg):
        if err is None:
            partition, seq = msg.key().decode().split(":")
            acked[(int(partition), int(seq))] = msg.offset()
        else:
            failed.append(str(err))

    def on_error(err):
        if err.fatal():
            fatal.append(str(err))

    p = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 2, "message.timeout.ms": FLUSH_TIMEOUT_S * 1000,
                  "queue.buffering.max.messages": 20000, "reconnect.backoff.max.ms": 200,
                  "error_cb": on_error})
    killer = Killer(server, args.cycles, args.gap_min_s, args.gap_max_s, rng)
    killer.start()
    next_seq = [0] * PARTITIONS
    produced = 0
    started = time.monotonic()
    while killer.is_alive() and produced < RECORDS_MAX and not fatal:
        partition = produced % PARTITIONS
        seq = next_seq[partition]
        try:
            p.produce(TOPIC, key=f"{partition}:{seq}".encode(), value=f"record {produced} p{partition} s{seq}".encode(),
                      partition=partition, on_delivery=on_delivery)
        except BufferError:
            p.poll(0.05)
            continue
        next_seq[partition] += 1
        produced += 1
        p.poll(0)
        # A steady rate, so that records are in flight at every kill.
        ahead_s = produced / args.rate - (time.monotonic() - started)
        if ahead_s > 0:
            p.poll(ahead_s)
    killer.join()
    remaining = p.flush(FLUSH_TIMEOUT_S)
    return {"acked": acked, "failed": failed, "fatal": fatal, "produced": produced,
            "unflushed": remaining, "killer": killer}


def read_back(server):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "crash-reader-unused",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    out = defaultdict(list)  # partition -> [(offset, seq, value)]
    try:
        ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=20)[1] for p in range(PARTITIONS)}
        c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        pending = {p for p in range(PARTITIONS) if ends[p] > 0}
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        pending.discard(m.partition())
                    continue
                raise RuntimeError(f"consumer error: {m.error()}")
            partition, seq = m.key().decode().split(":")
            assert int(partition) == m.partition()
            out[m.partition()].append((m.offset(), int(seq), m.value().decode()))
            if m.offset() + 1 >= ends[m.partition()]:
                pending.discard(m.partition())
        if pending:
            raise RuntimeError(f"partitions {sorted(pending)} not read to their end {ends} within 120s")
    finally:
        c.close()
    return out



def run(args):
    rng = random.Random(args.seed)
    def body(server, results):
        server.create_topic(TOPIC, PARTITIONS)
        prod = produce_during_kills(server, args, rng)
        killer = prod["killer"]
        check(results, f"server restarted after each of {args.cycles} SIGKILLs",
              killer.error is None and killer.done_cycles == args.cycles,
              f"{killer.done_cycles} restarts done; error: {killer.error}")
        check(results, "no fatal producer error", not prod["fatal"], "; ".join(prod["fatal"][:3]))
        check(results, "every produced record got a delivery report", prod["unflushed"] == 0,
              f"{prod['unflushed']} still queued after {FLUSH_TIMEOUT_S}s")

        stored = read_back(server)
        acked = prod["acked"]
        where = {}
        dupes, misplaced, out_of_order, corrupt = [], [], [], []
        for partition, rows in stored.items():
            last = -1
            for offset, seq, value in rows:
                if (partition, seq) in where:
                    dupes.append((partition, seq))
                where[(partition, seq)] = offset
                if seq <= last:
                    out_of_order.append((partition, offset, seq, last))
                last = seq
                if not value.endswith(f" p{partition} s{seq}"):
                    corrupt.append((partition, offset, value))
        for key, offset in acked.items():
            if key in where and where[key] != offset:
                misplaced.append((key, offset, where[key]))
        lost = sorted(k for k in acked if k not in where)
        records_checked = sum(len(rows) for rows in stored.values())

        check(results, "every acknowledged record is present", not lost,
              f"{len(lost)} lost, first {lost[:10]}")
        check(results, "no record is stored twice", not dupes, f"{len(dupes)} duplicates, first {dupes[:10]}")
        check(results, "per-partition sequence numbers increase", not out_of_order,
              f"{len(out_of_order)} out of order, first {out_of_order[:5]}")
        check(results, "acknowledged records sit at their acknowledged offsets", not misplaced,
              f"{len(misplaced)} moved, first {misplaced[:5]}")
        check(results, "record contents are intact", not corrupt, f"first {corrupt[:3]}")
        check(results, "records were acknowledged at all", len(acked) > 0, "nothing was acknowledged")
        print(f"produced: {prod['produced']}, acknowledged: {len(acked)}, "
              f"delivery errors: {len(prod['failed'])}")
        print(f"kill cycles: {killer.done_cycles}, records checked: {records_checked}")

    return run_with_server("kafka-crash", ["--fsync", "per-batch"], "crash", body)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--gap-min-s", type=float, default=1.0)
    ap.add_argument("--gap-max-s", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--rate", type=float, default=5000, help="records per second")
    args = ap.parse_args(argv)
    print(f"kafka crash test: {args.cycles} cycles, {args.gap_min_s}-{args.gap_max_s}s apart, seed {args.seed}")
    return args


def test_kafka_kill9_loses_no_acknowledged_record():
    assert run(parse_args([]))


if __name__ == "__main__":
    sys.exit(0 if run(parse_args(sys.argv[1:])) else 1)
