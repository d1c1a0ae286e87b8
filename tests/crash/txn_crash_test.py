#!/usr/bin/python3
"""Slow crash test (make test-slow, never in CI): kill -9 keeps transactions
atomic, and aborted ones invisible.

A transactional producer (confluent-kafka, one fixed transactional.id) runs
transaction after transaction against a 3-partition topic while the server
(--fsync per-batch) is SIGKILLed and restarted again and again. Transaction i
writes M records (20-200) "txn-<i>-<j>" over one to three partitions, then
commits or (about one in three) aborts; about one in ten also commits an
offset of the group "crash-group" (send_offsets_to_transaction; the offset is
i + 1, so the group's final offset names the transaction that stored it).
A third of the kills strike anywhere, a third just after the producer calls
commit_transaction or abort_transaction, a third the moment
DescribeTransactions reports PrepareCommit or PrepareAbort (markers being
written, so the restart must finish the transaction); the server then stays
down up to 4 s, often long enough for the producer's calls (3 s timeouts) to
fail. When a call fails, the producer recovers as an application does: it
drops that producer (purged, never flushed), makes a new one with the same
transactional.id and init_transactions(), which aborts the old session's
open transaction (a third of the time only after waiting out
transaction.timeout.ms, so that the server's timeout aborts it instead). The
failed transaction's outcome is unknown if its commit was in flight, else it
was never committed. After the last restart a few transactions must succeed,
then all three partitions are read to their ends with read_committed and
read_uncommitted consumers and checked: committed transactions are whole,
aborted and never-committed ones invisible, every transaction all or nothing,
no record twice, values intact and at their acknowledged offsets, the last
stable offset equal to the high watermark, the group's offset that of the
last visible transaction that carried one, read_uncommitted sees every
acknowledged record, and the coordinator reports the id CompleteCommit.

    usage: tests/crash/txn_crash_test.py [--cycles 10] [--gap-min-s 0.5] [--gap-max-s 3] [--down-max-s 4] [--seed S]
    (STRATA_BIN selects the binary; default build/strata.) Also runs under pytest.
"""

import argparse
import random
import re
import struct
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from crash_report import check, run_with_server  # noqa: E402
from kafka_wire import Body, Cursor, connect, read_response  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "txn-crash"
INPUT = "txn-crash-in"  # the topic whose offsets crash-group commits in transactions
GROUP = "crash-group"
PARTITIONS = 3
TXN_ID = "txn-crash-producer"
TXN_TIMEOUT_MS = 10_000
CALL_TIMEOUT_S = 3          # each transactional call: a kill with a longer downtime fails it
RECOVER_TIMEOUT_S = 120     # to get a new session going after a kill
FINAL_TXNS = 3              # transactions that must succeed after the last restart
READ_TIMEOUT_S = 120
RECORDS = (20, 200)
ABORT_SHARE = 1 / 3
OFFSETS_SHARE = 1 / 10
SLOW_RECOVERY_SHARE = 1 / 3  # recoveries that wait past the transaction timeout first
VALUE = re.compile(r"txn-(\d+)-(\d+)\Z")
API_DESCRIBE_TRANSACTIONS = 65
PREPARE_STATES = ("PrepareCommit", "PrepareAbort")
RESUMED = re.compile(r"transactions: (\d+) transactional ids loaded, (\d+) unfinished commits or aborts resumed")

# What became of a transaction, as the producer saw it.
COMMITTED = "committed"          # commit_transaction returned OK: must be whole
ABORTED = "aborted"              # abort_transaction returned OK: must be invisible
NEVER_COMMITTED = "abandoned"    # failed before commit_transaction (or while aborting): invisible
UNKNOWN = "unknown"              # commit_transaction failed: whole or invisible


class Txn:
    def __init__(self, i, commit, placement, offset):
        self.i = i
        self.commit = commit
        self.placement = placement  # partition of record j
        self.offset = offset        # crash-group's offset committed with it, or None
        self.ending = False         # commit_transaction/abort_transaction called
        self.outcome = None
        self.error = None
        self.delivered = {}         # j -> (partition, offset) of an acknowledged record
        self.delivery_errors = 0

    @property
    def records(self):
        return len(self.placement)


class TxnStateProbe:
    """DescribeTransactions v0 for the producer's transactional id over one
    connection: the coordinator's state of it ("Ongoing", "PrepareCommit", ...)."""

    def __init__(self, port):
        self.sock = connect(port, timeout_s=2)
        self.correlation_id = 0
        self.body = bytes(Body(True).array(1).string(TXN_ID).tags().buf)

    def state(self):
        self.correlation_id += 1
        client = b"txn-crash-killer"
        header = struct.pack(">hhih", API_DESCRIBE_TRANSACTIONS, 0, self.correlation_id, len(client)) + client + b"\x00"
        self.sock.sendall(struct.pack(">i", len(header) + len(self.body)) + header + self.body)
        c = Cursor(read_response(self.sock), True)
        assert c.unpack("i") == self.correlation_id
        c.tags()
        c.unpack("i")  # throttle_time_ms
        assert c.array() == 1
        error, _, state = c.unpack("h"), c.string(), c.string()
        return state if error == 0 else None

    def close(self):
        self.sock.close()


class Killer(threading.Thread):
    """Kills the server with SIGKILL and restarts it, `cycles` times, after a
    random gap; the server stays down a random while (often long enough for
    the producer's calls to time out). A third of the kills strike anywhere; a third
    a few milliseconds after the producer calls commit_transaction or
    abort_transaction; a third the moment the coordinator reports the
    transaction in PrepareCommit or PrepareAbort (markers being written)."""

    AIMS = ("anywhere", "end call", "prepare")

    def __init__(self, server, cycles, gap, down_max_s, rng, ending):
        super().__init__(daemon=True)
        self.server, self.cycles, self.gap, self.rng, self.ending = server, cycles, gap, rng, ending
        self.down_max_s = down_max_s
        self.done_cycles = 0
        self.aims = Counter()  # aim -> kills aimed so
        self.hits = Counter()  # where kills struck: "end call", "PrepareCommit", "PrepareAbort", "anywhere"
        self.error = None

    def wait_for_prepare(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        try:
            probe = TxnStateProbe(self.server.kafka_port)
        except OSError:
            return None
        try:
            while time.monotonic() < deadline:
                state = probe.state()
                if state in PREPARE_STATES:
                    return state
        except (OSError, EOFError):
            return None
        finally:
            probe.close()
        return None

    def run(self):
        try:
            for _ in range(self.cycles):
                time.sleep(self.rng.uniform(*self.gap))
                aim = self.rng.choice(self.AIMS)
                self.aims[aim] += 1
                if aim == "end call":
                    self.ending.clear()
                    if self.ending.wait(2):
                        time.sleep(self.rng.uniform(0, 0.01))
                        self.hits[aim] += 1
                elif aim == "prepare":
                    state = self.wait_for_prepare(3)
                    if state:
                        self.hits[state] += 1
                else:
                    self.hits[aim] += 1
                self.server.kill9()
                time.sleep(self.rng.uniform(0, self.down_max_s))  # long enough, and calls time out
                self.server.start()
                self.done_cycles += 1
        except Exception as e:  # reported by the main thread
            self.error = e


class Session:
    """One transactional producer; replaced by a new one after any failure."""

    def __init__(self, server, txns):
        self.txns = txns
        self.fatal = []  # fatal errors through error_cb; a failed call raises them too
        self.producer = Producer({"bootstrap.servers": server.bootstrap, "transactional.id": TXN_ID,
                                  "transaction.timeout.ms": TXN_TIMEOUT_MS, "linger.ms": 5,
                                  "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 200,
                                  "error_cb": self.on_error})

    def on_error(self, err):
        if err.fatal():
            self.fatal.append(str(err))

    def on_delivery(self, err, msg):
        i, j = (int(x) for x in VALUE.match(msg.value().decode()).groups())
        if err is None:
            self.txns[i].delivered[j] = (msg.partition(), msg.offset())
        else:
            self.txns[i].delivery_errors += 1

    def discard(self):
        """Drops the producer without waiting for a server that may be gone:
        what it still holds is purged, never flushed."""
        try:
            self.producer.purge(in_queue=True, in_flight=True, blocking=False)
        except Exception:  # noqa: BLE001 - a producer in any state is dropped
            pass
        self.producer = None


def start_session(server, txns, stats, killer=None):
    """A new producer with the fixed transactional.id, after init_transactions
    (which aborts the previous session's open transaction)."""
    deadline = time.monotonic() + RECOVER_TIMEOUT_S
    while True:
        s = Session(server, txns)
        try:
            s.producer.init_transactions(2 * CALL_TIMEOUT_S)
            stats["sessions"] += 1
            return s
        except KafkaException as e:
            stats["init_failures"] += 1
            s.discard()
            if killer is not None and killer.error is not None:
                raise RuntimeError(f"the server did not come back after a kill: {killer.error}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"no transactional session within {RECOVER_TIMEOUT_S}s: {e}") from None
            time.sleep(0.2)


def run_txn(s, txn, group_meta, ending):
    p = s.producer
    p.begin_transaction()
    for j, partition in enumerate(txn.placement):
        while True:
            try:
                p.produce(TOPIC, value=f"txn-{txn.i}-{j}".encode(), partition=partition, on_delivery=s.on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    if txn.offset is not None:
        p.send_offsets_to_transaction([TopicPartition(INPUT, 0, txn.offset)], group_meta, CALL_TIMEOUT_S)
    txn.ending = True
    ending.set()
    if txn.commit:
        p.commit_transaction(CALL_TIMEOUT_S)
        txn.outcome = COMMITTED
    else:
        p.abort_transaction(CALL_TIMEOUT_S)
        txn.outcome = ABORTED


def transactions_during_kills(server, args, rng):
    txns = []
    fatal = []
    stats = Counter()
    ending = threading.Event()
    group_consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    group_meta = group_consumer.consumer_group_metadata()  # never subscribes: generation -1, no member
    s = start_session(server, txns, stats)
    killer = Killer(server, args.cycles, (args.gap_min_s, args.gap_max_s), args.down_max_s, random.Random(rng.random()),
                    ending)
    killer.start()
    final_ok = 0
    deadline = None
    while not fatal:
        if not killer.is_alive():
            if final_ok >= FINAL_TXNS:
                break
            deadline = deadline or time.monotonic() + RECOVER_TIMEOUT_S
            if time.monotonic() > deadline:
                break
        i = len(txns)
        parts = rng.sample(range(PARTITIONS), rng.randint(1, PARTITIONS))
        placement = [rng.choice(parts) for _ in range(rng.randint(*RECORDS))]
        after_kills = not killer.is_alive()
        commit = rng.random() >= ABORT_SHARE or after_kills  # the final ones commit
        txn = Txn(i, commit, placement, i + 1 if rng.random() < OFFSETS_SHARE else None)
        txns.append(txn)
        try:
            run_txn(s, txn, group_meta, ending)
            if after_kills and txn.outcome == COMMITTED:
                final_ok += 1
        except KafkaException as e:
            txn.error = str(e)
            txn.outcome = UNKNOWN if txn.commit and txn.ending else NEVER_COMMITTED
            stats["failed_txns"] += 1
            if e.args[0].fatal():
                if not txn.commit and txn.ending and e.args[0].code() == KafkaError.INVALID_TXN_STATE:
                    # librdkafka sends EndTxn(abort) when an AddPartitionsToTxn was lost in a kill
                    # (it cannot know the server never saw it); the coordinator's state is then the
                    # previous transaction's, Empty or CompleteCommit, and Kafka answers that with
                    # INVALID_TXN_STATE too (EndTxn before v5). The application starts over.
                    stats["abort_of_unknown_txn"] += 1
                else:
                    fatal.append(f"txn {txn.i}: {e}")
            s.discard()
            if rng.random() < SLOW_RECOVERY_SHARE:
                # An application slow to come back: the server times the open transaction out first.
                stats["slow_recoveries"] += 1
                time.sleep(TXN_TIMEOUT_MS / 1000 + 2)
            s = start_session(server, txns, stats, killer)
    killer.join()
    s.producer.flush(10)
    fatal += s.fatal  # the last session's: no call of it failed
    group_consumer.close()
    return {"txns": txns, "fatal": fatal, "stats": stats, "killer": killer, "final_ok": final_ok}


def read_all(server, isolation):
    """Every record of the topic under `isolation`, read to the end offset
    ListOffsets gives (the LSO for read_committed): (rows, ends, positions)."""
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": f"txn-crash-reader-{isolation}",
                  "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": isolation})
    rows = []  # (partition, offset, value)
    try:
        ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=20)[1] for p in range(PARTITIONS)}
        c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        done = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(done) < PARTITIONS:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{isolation}: partitions {sorted(set(range(PARTITIONS)) - done)} not read to "
                                   f"their ends {ends} within {READ_TIMEOUT_S}s")
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"{isolation} consumer error: {m.error()}")
                if m.offset() >= ends[m.partition()]:
                    done.add(m.partition())
                continue
            rows.append((m.partition(), m.offset(), m.value().decode(errors="replace")))
        positions = {tp.partition: tp.offset for tp in c.position([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])}
        return rows, ends, positions
    finally:
        c.close()


def committed_group_offset(server):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    try:
        return c.committed([TopicPartition(INPUT, 0)], timeout=20)[0].offset
    finally:
        c.close()


def run(args):
    rng = random.Random(args.seed)
    def body(server, results):
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        for name, fs in admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1),
                                             NewTopic(INPUT, num_partitions=1, replication_factor=1)]).items():
            fs.result(10)
        started = time.monotonic()
        prod = transactions_during_kills(server, args, rng)
        produce_s = time.monotonic() - started
        killer, txns, stats = prod["killer"], prod["txns"], prod["stats"]
        check(results, f"server restarted after each of {args.cycles} SIGKILLs",
              killer.error is None and killer.done_cycles == args.cycles,
              f"{killer.done_cycles} restarts done; error: {killer.error}")
        check(results, "no fatal producer error (but INVALID_TXN_STATE aborting a transaction the server never saw)",
              not prod["fatal"], "; ".join(prod["fatal"][:3]))
        check(results, f"{FINAL_TXNS} transactions committed after the last restart", prod["final_ok"] >= FINAL_TXNS,
              f"{prod['final_ok']} did; last errors: {[t.error for t in txns[-3:]]}")

        committed_rows, lso, committed_pos = read_all(server, "read_committed")
        all_rows, hw, all_pos = read_all(server, "read_uncommitted")

        def parse(rows):
            """{(i, j): [(partition, offset)]} and the rows that are no record of ours."""
            seen, corrupt = {}, []
            for partition, offset, value in rows:
                m = VALUE.match(value)
                i, j = (int(x) for x in m.groups()) if m else (-1, -1)
                if not m or i >= len(txns) or j >= txns[i].records or txns[i].placement[j] != partition:
                    corrupt.append((partition, offset, value[:40]))
                    continue
                seen.setdefault((i, j), []).append((partition, offset))
            return seen, corrupt

        visible, corrupt_c = parse(committed_rows)
        everything, corrupt_u = parse(all_rows)
        visible_per_txn = Counter(i for (i, _) in visible)
        outcomes = Counter(t.outcome for t in txns)

        partial_committed = [(t.i, visible_per_txn[t.i], t.records) for t in txns
                             if t.outcome == COMMITTED and visible_per_txn[t.i] != t.records]
        leaked = [(t.i, t.outcome, visible_per_txn[t.i]) for t in txns
                  if t.outcome in (ABORTED, NEVER_COMMITTED) and visible_per_txn[t.i]]
        torn = [(t.i, t.outcome, visible_per_txn[t.i], t.records) for t in txns
                if visible_per_txn[t.i] not in (0, t.records)]
        dup_c = [(k, v) for k, v in visible.items() if len(v) > 1]
        dup_u = [(k, v) for k, v in everything.items() if len(v) > 1]
        moved = [(i, j, t_at, v[0]) for (i, j), v in visible.items()
                 if (t_at := txns[i].delivered.get(j)) is not None and t_at != v[0]]
        acked = {(t.i, j): at for t in txns for j, at in t.delivered.items()}
        missing_u = [(k, at) for k, at in acked.items() if at not in everything.get(k, [])]
        committed_missing_u = [(t.i, j) for t in txns if t.outcome == COMMITTED for j in range(t.records)
                               if (t.i, j) not in everything]
        not_in_u = [k for k in visible if k not in everything]
        unknown_visible = sum(1 for t in txns if t.outcome == UNKNOWN and visible_per_txn[t.i])

        check(results, "every transaction whose commit returned OK is whole", not partial_committed,
              f"{len(partial_committed)} not, first (txn, visible, records) {partial_committed[:5]}")
        check(results, "no record of an aborted or never-committed transaction is visible", not leaked,
              f"{len(leaked)} leaked, first (txn, outcome, visible) {leaked[:5]}")
        check(results, "every transaction is all or nothing", not torn,
              f"{len(torn)} torn, first (txn, outcome, visible, records) {torn[:5]}")
        check(results, "no record is read twice (read_committed)", not dup_c, f"{len(dup_c)}, first {dup_c[:5]}")
        check(results, "no record is read twice (read_uncommitted)", not dup_u, f"{len(dup_u)}, first {dup_u[:5]}")
        check(results, "record contents are intact", not corrupt_c and not corrupt_u,
              f"read_committed {corrupt_c[:3]}, read_uncommitted {corrupt_u[:3]}")
        check(results, "visible records sit at their acknowledged offsets", not moved,
              f"{len(moved)} moved, first (txn, record, acked at, read at) {moved[:5]}")
        check(results, "the last stable offset is the high watermark (no transaction left open)", lso == hw,
              f"LSO {lso}, high watermark {hw}")
        check(results, "read_committed read every partition to its last stable offset",
              all(committed_pos[p] >= lso[p] for p in range(PARTITIONS)), f"positions {committed_pos}, LSO {lso}")
        check(results, "read_uncommitted sees every acknowledged record, aborted ones too",
              not missing_u and not committed_missing_u and not not_in_u,
              f"{len(missing_u)} acknowledged missing, first {missing_u[:5]}; {len(committed_missing_u)} of committed "
              f"transactions missing, first {committed_missing_u[:5]}; {len(not_in_u)} read_committed only")

        offset_txns = [t for t in txns if t.offset is not None]
        stored = [t.offset for t in offset_txns if visible_per_txn[t.i]]
        expected_offset = max(stored) if stored else None
        group_offset = committed_group_offset(server)
        got_offset = group_offset if group_offset >= 0 else None
        check(results, f"{GROUP}'s offset is that of the last visible transaction that carried one",
              got_offset == expected_offset, f"committed offset {group_offset}, expected {expected_offset}")

        probe = TxnStateProbe(server.kafka_port)
        try:
            final_state = probe.state()
        finally:
            probe.close()
        check(results, f"the coordinator reports {TXN_ID} CompleteCommit at the end", final_state == "CompleteCommit",
              f"DescribeTransactions says {final_state}")

        log = server.log_text()
        starts = log.count("===== start #")
        resumed = [(int(a), int(b)) for a, b in RESUMED.findall(log)]
        timeouts = log.count("passed its timeout")
        check(results, "the server log shows every restart", starts == args.cycles + 1,
              f"{starts} starts logged, expected {args.cycles + 1}")

        print(f"transactions: {len(txns)} ({', '.join(f'{k}: {v}' for k, v in sorted(outcomes.items()))}); "
              f"unknown ones visible: {unknown_visible}; with offsets: {len(offset_txns)} "
              f"(visible {len(stored)}); {stats['failed_txns']} failed, {stats['sessions']} sessions "
              f"({stats['slow_recoveries']} after waiting out the transaction timeout), "
              f"{stats['init_failures']} failed init_transactions, "
              f"{stats['abort_of_unknown_txn']} aborts of a transaction the server never saw (INVALID_TXN_STATE)")
        print(f"records: {sum(t.records for t in txns)} produced, {len(acked)} acknowledged, "
              f"{sum(t.delivery_errors for t in txns)} delivery errors; read_committed {len(committed_rows)}, "
              f"read_uncommitted {len(all_rows)}; LSO {lso}, high watermark {hw}; group offset {got_offset}")
        errors = Counter(re.sub(r"\d+", "N", t.error) for t in txns if t.error)
        print(f"failed transactions' errors: {dict(errors.most_common(5))}")
        print(f"kill cycles: {killer.done_cycles} (aimed: {dict(killer.aims)}, struck: {dict(killer.hits)}) in {produce_s:.1f}s; "
              f"starts logged: {starts}; unfinished commits or aborts resumed per load: {[b for _, b in resumed]} "
              f"(total {sum(b for _, b in resumed)}); transaction timeouts: {timeouts}")

    return run_with_server("txn-crash", ["--fsync", "per-batch"], "txn-crash", body)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--gap-min-s", type=float, default=0.5)
    ap.add_argument("--gap-max-s", type=float, default=3.0)
    ap.add_argument("--down-max-s", type=float, default=4.0, help="the server stays down up to this long")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args(argv)
    print(f"transaction crash test: {args.cycles} cycles, seed {args.seed}")
    return args


def test_kill9_keeps_transactions_atomic():
    assert run(parse_args([]))


if __name__ == "__main__":
    sys.exit(0 if run(parse_args(sys.argv[1:])) else 1)
