"""The checker of the cluster tests: what was acknowledged stays, and what was
seen never goes away.

Under load, producers record every ACKNOWLEDGED record (partition, offset,
value) from their delivery reports, and consumers record every record they
see (partition, offset, value), both into one `History`. After the faults, a
fresh consumer reads every partition in full from offset 0 (`read_all`), and
`check(history, final)` decides, per partition:

1. every acknowledged value is in the final read exactly once
   (else "lost" or "duplicated"), at the offset its acknowledgement gave
   ("moved"), and the acknowledged values of one producer sit in the order
   they were acknowledged ("reordered");
2. every record a consumer ever saw is in the final read at the same offset
   with the same value (else "seen, then gone" or "seen, then changed").

Values must be unique across the test (the load generators below write
"<producer>-<sequence>"). The verdict lists each kind of violation with a
count and its first few cases.

`ProduceLoad` and `ConsumeLoad` are background threads (confluent-kafka) that
feed a History; `read_all` is the final read. The check itself is pure and
unit-tested in test_cluster_checker.py.
"""

import contextlib
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

EXAMPLES = 5


class History:
    """What producers had acknowledged and what consumers saw; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.acked = []  # (producer, partition, offset, value), in acknowledgement order
        self.failed = []  # (producer, partition, value, error text): not acknowledged
        self.seen = []  # (consumer, partition, offset, value)

    def ack(self, producer, partition, offset, value):
        with self._lock:
            self.acked.append((producer, partition, offset, value))

    def fail(self, producer, partition, value, error):
        with self._lock:
            self.failed.append((producer, partition, value, error))

    def saw(self, consumer, partition, offset, value):
        with self._lock:
            self.seen.append((consumer, partition, offset, value))

    def describe(self):
        """Counts per partition, for failure messages."""
        with self._lock:
            acked, seen = defaultdict(int), defaultdict(int)
            for _, part, _, _ in self.acked:
                acked[part] += 1
            for _, part, _, _ in self.seen:
                seen[part] += 1
            failed = [f"p{part} {err}" for _, part, _, err in self.failed[-3:]]
        return (f"acked per partition {dict(sorted(acked.items()))}, seen {dict(sorted(seen.items()))}, "
                f"{len(self.failed)} delivery failures (last: {failed})")

    def acked_count(self, partition=None, producer=None):
        with self._lock:
            return sum(1 for p, part, _, _ in self.acked
                       if (partition is None or part == partition) and (producer is None or p == producer))

    def seen_count(self, partition=None):
        with self._lock:
            return sum(1 for _, part, _, _ in self.seen if partition is None or part == partition)

    def max_acked_offset(self, partition):
        with self._lock:
            return max((o for _, part, o, _ in self.acked if part == partition), default=-1)

    def max_seen_offset(self, partition):
        with self._lock:
            return max((o for _, part, o, _ in self.seen if part == partition), default=-1)

    def snapshot(self):
        with self._lock:
            return list(self.acked), list(self.failed), list(self.seen)


@dataclass
class Verdict:
    acked: int = 0
    seen: int = 0
    final: int = 0
    problems: list = field(default_factory=list)  # one line per kind of violation

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        head = f"{self.acked} acknowledged, {self.seen} seen by consumers, {self.final} in the final read"
        if self.ok:
            return head + ": every acknowledged record is there once, in order, and nothing seen went away"
        return head + "; violations:\n  " + "\n  ".join(self.problems)

    def assert_ok(self):
        assert self.ok, self.summary()


def _examples(items):
    shown = ", ".join(items[:EXAMPLES])
    return shown + (f", ... ({len(items) - EXAMPLES} more)" if len(items) > EXAMPLES else "")


def check(acked, seen, final):
    """acked: [(producer, partition, offset, value)] in acknowledgement order;
    seen: [(consumer, partition, offset, value)]; final: {partition:
    [(offset, value)]} as read from offset 0. Values are compared with ==
    (bytes or str, as long as the three agree). Returns a Verdict."""
    v = Verdict(acked=len(acked), seen=len(seen), final=sum(len(rows) for rows in final.values()))
    found = defaultdict(lambda: defaultdict(list))  # partition -> value -> [offsets]
    at = defaultdict(dict)  # partition -> offset -> value
    final_dupe_offsets = []
    for partition, rows in final.items():
        for offset, value in rows:
            if offset in at[partition]:
                final_dupe_offsets.append(f"p{partition}@{offset}")
            at[partition][offset] = value
            found[partition][value].append(offset)

    lost, duplicated, moved, reordered, acked_twice = [], [], [], [], []
    last = {}  # (producer, partition) -> (final offset, value) of the previous acknowledged record
    ack_count = defaultdict(int)
    for producer, partition, offset, value in acked:
        ack_count[(partition, value)] += 1
        if ack_count[(partition, value)] == 2:
            acked_twice.append(f"{value!r} (p{partition})")
        offsets = found[partition].get(value, [])
        if not offsets:
            lost.append(f"{value!r} acked at p{partition}@{offset}")
            continue
        if len(offsets) > 1 and ack_count[(partition, value)] == 1:
            duplicated.append(f"{value!r} at p{partition}@{sorted(offsets)}")
        if offset >= 0 and offset not in offsets:
            moved.append(f"{value!r} acked at p{partition}@{offset}, found at {sorted(offsets)}")
        where = min(offsets)
        prev = last.get((producer, partition))
        if prev is not None and where <= prev[0]:
            reordered.append(f"{value!r} (acked after {prev[1]!r}) at p{partition}@{where}, "
                             f"before it at @{prev[0]}")
        last[(producer, partition)] = (where, value)

    gone, changed = [], []
    reported = set()
    for consumer, partition, offset, value in seen:
        if (partition, offset, value) in reported:
            continue
        have = at[partition].get(offset, _MISSING)
        if have is _MISSING:
            gone.append(f"{value!r} seen by {consumer} at p{partition}@{offset}")
            reported.add((partition, offset, value))
        elif have != value:
            changed.append(f"p{partition}@{offset} was {value!r} for {consumer}, is {have!r}")
            reported.add((partition, offset, value))

    for name, items, what in (
            ("lost", lost, "acknowledged records are missing from the final read"),
            ("duplicated", duplicated, "acknowledged records are in the final read more than once"),
            ("moved", moved, "acknowledged records are not at the offset their acknowledgement gave"),
            ("reordered", reordered, "acknowledged records of one producer are out of acknowledgement order"),
            ("acked twice", acked_twice, "values were acknowledged twice (the test's values must be unique)"),
            ("seen, then gone", gone, "records a consumer saw are no longer in the final read"),
            ("seen, then changed", changed, "offsets a consumer read now hold another value"),
            ("offset twice", final_dupe_offsets, "offsets appear twice in the final read")):
        if items:
            v.problems.append(f"{name}: {len(items)} {what}: {_examples(items)}")
    return v


_MISSING = object()


def check_history(history, final):
    acked, _, seen = history.snapshot()
    return check(acked, seen, final)


# --- Kafka side (confluent-kafka) ------------------------------------------

def _kafka():
    import confluent_kafka
    return confluent_kafka


class ProduceLoad(threading.Thread):
    """Produces "<name>-<seq>" to partition seq % partitions at about `rate`
    records/s (acks=all, idempotent by default) until stop(); every delivery
    report goes into the History. Client errors are kept in `errors`, fatal
    ones also in `fatal`."""

    def __init__(self, bootstrap, topic, partitions, history, name="producer", rate=300, config=None):
        super().__init__(daemon=True, name=f"produce-{name}")
        self.topic, self.partitions, self.history, self.rate = topic, partitions, history, rate
        self.producer_name = name
        self.config = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                       "linger.ms": 5, "message.timeout.ms": 60000, "reconnect.backoff.max.ms": 250,
                       "retry.backoff.ms": 50, "topic.metadata.refresh.interval.ms": 1000,
                       "queue.buffering.max.messages": 20000, **(config or {})}
        self.sent = 0
        self.errors = []
        self.fatal = []
        self.unflushed = None
        self.crash = None
        self._halt = threading.Event()
        self.flush_timeout_s = 60

    def _on_delivery(self, err, msg):
        value = msg.value().decode()
        if err is None:
            self.history.ack(self.producer_name, msg.partition(), msg.offset(), value)
        else:
            self.history.fail(self.producer_name, msg.partition(), value, str(err))

    def _on_error(self, err):
        self.errors.append(str(err))
        if err.fatal():
            self.fatal.append(str(err))

    def run(self):
        try:
            p = _kafka().Producer({**self.config, "error_cb": self._on_error})
            started = time.monotonic()
            while not self._halt.is_set() and not self.fatal:
                seq = self.sent
                try:
                    p.produce(self.topic, value=f"{self.producer_name}-{seq:08d}".encode(),
                              partition=seq % self.partitions, on_delivery=self._on_delivery)
                except BufferError:
                    p.poll(0.05)
                    continue
                self.sent += 1
                p.poll(0)
                ahead_s = self.sent / self.rate - (time.monotonic() - started)
                if ahead_s > 0:
                    p.poll(min(ahead_s, 0.2))
            self.unflushed = p.flush(self.flush_timeout_s)
        except Exception as e:  # reported by stop()
            self.crash = e

    def describe(self):
        return (f"producer {self.producer_name}: sent {self.sent}, last client errors {self.errors[-5:]}, "
                f"fatal {self.fatal}")

    def abort(self):
        """Stops quickly (a test that already failed): 3 s for the flush."""
        self.flush_timeout_s = 3
        self._halt.set()
        self.join(15)

    def stop(self, timeout_s=None):
        """Stops producing, waits for the outstanding delivery reports (at
        most flush_timeout_s) and fails if the thread hangs or crashed."""
        self._halt.set()
        self.join(timeout_s or self.flush_timeout_s + 30)
        assert not self.is_alive(), f"producer {self.producer_name} did not finish (hung client)"
        assert self.crash is None, f"producer {self.producer_name} crashed: {self.crash!r}"
        return self


class ConsumeLoad(threading.Thread):
    """A group consumer (auto commit, from the earliest offset) that records
    every record it sees into the History until stop()."""

    def __init__(self, bootstrap, topic, history, group, name="consumer", config=None):
        super().__init__(daemon=True, name=f"consume-{name}")
        self.topic, self.history, self.consumer_name = topic, history, name
        self.config = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                       "auto.offset.reset": "earliest", "enable.auto.commit": True,
                       "auto.commit.interval.ms": 500, "session.timeout.ms": 10000,
                       "heartbeat.interval.ms": 500, "reconnect.backoff.max.ms": 250,
                       "topic.metadata.refresh.interval.ms": 1000, "enable.partition.eof": False,
                       **(config or {})}
        self.errors = []
        self.crash = None
        self._halt = threading.Event()

    def run(self):
        try:
            c = _kafka().Consumer(self.config)
            try:
                c.subscribe([self.topic])
                while not self._halt.is_set():
                    msg = c.poll(0.2)
                    if msg is None:
                        continue
                    if msg.error():
                        self.errors.append(str(msg.error()))
                        continue
                    self.history.saw(self.consumer_name, msg.partition(), msg.offset(), msg.value().decode())
            finally:
                c.close()
        except Exception as e:  # reported by stop()
            self.crash = e

    def describe(self):
        return f"consumer {self.consumer_name}: last errors {self.errors[-5:]}"

    def abort(self):
        self._halt.set()
        self.join(15)

    def stop(self, timeout_s=40):
        self._halt.set()
        self.join(timeout_s)
        assert not self.is_alive(), f"consumer {self.consumer_name} did not finish within {timeout_s}s (hung close?)"
        assert self.crash is None, f"consumer {self.consumer_name} crashed: {self.crash!r}"
        return self


def explain(history, *loads):
    """A callable describing the clients' state, for wait_until(explain=...)."""
    return lambda: "; ".join([history.describe(), *(load.describe() for load in loads)])


@contextlib.contextmanager
def running(*loads):
    """Starts the load threads for the block. Leaving it normally stops them
    cleanly (every delivery report; a hung or crashed thread fails); leaving
    it with an exception stops them quickly and lets the exception through."""
    for load in loads:
        load.start()
    try:
        yield loads
    except BaseException:
        for load in loads:
            load.abort()
        raise
    failures = []
    for load in loads:
        try:
            load.stop()
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "; ".join(failures)


def read_all(bootstrap, topic, partitions, timeout_s=60):
    """The final read: a fresh consumer (no group state) reads each partition
    from offset 0 to its high watermark. Returns {partition: [(offset, value)]}."""
    ck = _kafka()
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "cluster-checker-final-read",
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "topic.metadata.refresh.interval.ms": 1000})
    out = {p: [] for p in partitions}
    deadline = time.monotonic() + timeout_s
    try:
        ends = {}
        for p in partitions:
            while True:
                try:
                    ends[p] = c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)[1]
                    break
                except ck.KafkaException as e:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"final read: no high watermark for {topic}/{p}: {e}") from None
                    time.sleep(0.5)
        c.assign([ck.TopicPartition(topic, p, 0) for p in partitions])
        pending = {p for p in partitions if ends[p] > 0}
        errors = []
        while pending:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"final read: partitions {sorted(pending)} not read to their ends {ends} within {timeout_s}s "
                    f"(read so far: { {p: len(r) for p, r in out.items()} }; errors: {errors[:5]})")
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == ck.KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        pending.discard(m.partition())
                else:
                    errors.append(str(m.error()))
                continue
            out[m.partition()].append((m.offset(), m.value().decode()))
            if m.offset() + 1 >= ends[m.partition()]:
                pending.discard(m.partition())
    finally:
        c.close()
    return out
