"""Kafka transactions (KIP-98) with confluent-kafka: commit and abort,
read_committed and the last stable offset, fencing by a new session of the
same transactional id, the transaction timeout, and the consume-transform-
produce loop staying exactly-once across kill -9 of the server."""

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from clients import producer, produce_all, read_partitions

PYTHON = "/usr/bin/python3"
WORKER = Path(__file__).parent / "txn_worker.py"


def txn_producer(server, txn_id, **config):
    conf = {"bootstrap.servers": server.bootstrap, "transactional.id": txn_id, "linger.ms": 5}
    conf.update({k.replace("_", "."): v for k, v in config.items()})
    p = Producer(conf)
    p.init_transactions(30)
    return p


def produce_in_txn(p, topic, values, partitions=1):
    p.begin_transaction()
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % partitions)
    p.flush(30)


def read_values(server, topic, partitions, expected, isolation, **config):
    msgs = read_partitions(server, topic, range(partitions), expected, timeout_s=30,
                           **{"isolation.level": isolation, **config})
    return [m.value() for m in msgs]


def nothing_readable(server, topic, partitions, isolation, wait_s=2.0):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "e2e-unused", "enable.auto.commit": False,
                  "isolation.level": isolation})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                return False
        return True
    finally:
        c.close()


def test_committed_records_are_read_and_aborted_ones_skipped(strata):
    strata.create_topic("txn-basic", 2)
    p = txn_producer(strata, "basic")
    produce_in_txn(p, "txn-basic", [f"c1-{i}".encode() for i in range(100)], partitions=2)
    p.commit_transaction(30)
    produce_in_txn(p, "txn-basic", [f"a-{i}".encode() for i in range(50)], partitions=2)
    p.abort_transaction(30)
    produce_in_txn(p, "txn-basic", [f"c2-{i}".encode() for i in range(10)], partitions=2)
    p.commit_transaction(30)

    committed = read_values(strata, "txn-basic", 2, 110, "read_committed")
    assert sorted(committed) == sorted([f"c1-{i}".encode() for i in range(100)] + [f"c2-{i}".encode() for i in range(10)])
    everything = read_values(strata, "txn-basic", 2, 160, "read_uncommitted")
    assert len(everything) == 160, "read_uncommitted sees aborted records too (control batches are not records)"


def test_open_transaction_holds_back_read_committed_until_commit(strata):
    strata.create_topic("txn-lso", 1)
    before = producer(strata)
    produce_all(before, [("txn-lso", 0, None, b"plain-0", None)])
    p = txn_producer(strata, "lso")
    produce_in_txn(p, "txn-lso", [f"open-{i}".encode() for i in range(5)])
    after = produce_all(before, [("txn-lso", 0, None, b"plain-1", None)])
    assert after[0][2] == 6

    c = Consumer({"bootstrap.servers": strata.bootstrap, "group.id": "lso-probe", "isolation.level": "read_committed"})
    low, high = c.get_watermark_offsets(TopicPartition("txn-lso", 0), timeout=10)
    c.close()
    assert (low, high) == (0, 1), "read_committed's end offset is the last stable offset"
    assert read_values(strata, "txn-lso", 1, 1, "read_committed") == [b"plain-0"]
    assert len(read_values(strata, "txn-lso", 1, 7, "read_uncommitted")) == 7

    p.commit_transaction(30)
    values = read_values(strata, "txn-lso", 1, 7, "read_committed")
    assert values == [b"plain-0"] + [f"open-{i}".encode() for i in range(5)] + [b"plain-1"]


def test_a_new_session_aborts_the_old_one_and_fences_its_producer(strata):
    strata.create_topic("txn-fence", 1)
    old = txn_producer(strata, "fenced-id")
    produce_in_txn(old, "txn-fence", [b"zombie-0", b"zombie-1"])
    new = txn_producer(strata, "fenced-id")  # aborts the old session's transaction
    produce_in_txn(new, "txn-fence", [b"new-0"])
    new.commit_transaction(30)
    with pytest.raises(KafkaException) as fenced:
        old.commit_transaction(10)
    assert fenced.value.args[0].fatal(), f"the old producer must be fenced, got {fenced.value.args[0]}"
    assert read_values(strata, "txn-fence", 1, 1, "read_committed") == [b"new-0"]


@pytest.mark.timeout_s(90)
def test_a_transaction_past_its_timeout_is_aborted(strata):
    strata.create_topic("txn-timeout", 1)
    p = txn_producer(strata, "slow", **{"transaction.timeout.ms": 2000})
    produce_in_txn(p, "txn-timeout", [b"late-0", b"late-1"])
    time.sleep(4)
    with pytest.raises(KafkaException):
        p.commit_transaction(10)
    plain = producer(strata)
    produce_all(plain, [("txn-timeout", 0, None, b"after", None)])
    assert read_values(strata, "txn-timeout", 1, 1, "read_committed") == [b"after"]
    assert strata.log_text().count("passed its timeout") >= 1


def start_worker(strata, txn_id, idle_exit_s):
    return subprocess.Popen([PYTHON, str(WORKER), strata.bootstrap, "ctp-in", "ctp-out", "ctp-group", txn_id,
                             str(idle_exit_s)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_commits(worker, count, timeout_s):
    deadline = time.monotonic() + timeout_s
    seen = 0
    lines = []
    while seen < count:
        assert time.monotonic() < deadline, f"worker committed {seen} transactions, wanted {count}: {lines[-20:]}"
        line = worker.stdout.readline()
        assert line, f"worker exited early: {lines[-20:]}"
        lines.append(line.strip())
        if line.startswith("committed "):
            seen = int(line.split()[1])


@pytest.mark.timeout_s(240)
def test_consume_transform_produce_is_exactly_once_across_kill9(strata):
    records = 3000
    strata.create_topic("ctp-in", 2)
    strata.create_topic("ctp-out", 2)
    produce_all(producer(strata, **{"enable.idempotence": True}),
                [("ctp-in", i % 2, f"k{i:05d}".encode(), f"v{i}".encode(), None) for i in range(records)])

    worker = start_worker(strata, "ctp", idle_exit_s=5)
    try:
        wait_for_commits(worker, 5, timeout_s=60)
        strata.kill9()  # mid-stream: a transaction is open or committing
        worker.kill()
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
    strata.start()

    worker = start_worker(strata, "ctp", idle_exit_s=5)
    out, _ = worker.communicate(timeout=180)
    assert worker.returncode == 0, f"worker failed:\n{out[-3000:]}"

    consumed = read_partitions(strata, "ctp-out", range(2), records, timeout_s=60, **{"isolation.level": "read_committed"})
    counts = Counter(m.key() for m in consumed)
    missing = [f"k{i:05d}" for i in range(records) if counts[f"k{i:05d}".encode()] == 0]
    dupes = [k for k, n in counts.items() if n > 1]
    assert not missing, f"{len(missing)} input records never reached the output, first {missing[:5]}"
    assert not dupes, f"{len(dupes)} input records reached the output twice, first {dupes[:5]}"
    assert all(m.value() == b"out:v" + m.key()[1:].lstrip(b"0").rjust(1, b"0") for m in consumed)


def test_kcat_reads_committed_records_only(strata):
    strata.create_topic("txn-kcat", 1)
    p = txn_producer(strata, "kcat-txn")
    produce_in_txn(p, "txn-kcat", [b"kept-1", b"kept-2"])
    p.commit_transaction(30)
    produce_in_txn(p, "txn-kcat", [b"dropped"])
    p.abort_transaction(30)
    produce_in_txn(p, "txn-kcat", [b"kept-3"])
    p.commit_transaction(30)

    def kcat(isolation):
        got = subprocess.run(["kcat", "-b", strata.bootstrap, "-C", "-t", "txn-kcat", "-o", "beginning", "-e", "-q",
                              "-X", f"isolation.level={isolation}"], capture_output=True, text=True, timeout=60)
        assert got.returncode == 0, got.stderr
        return got.stdout.split()

    assert kcat("read_committed") == ["kept-1", "kept-2", "kept-3"]
    assert kcat("read_uncommitted") == ["kept-1", "kept-2", "dropped", "kept-3"]

