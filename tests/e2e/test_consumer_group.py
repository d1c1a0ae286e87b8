"""Consumer groups with confluent-kafka: assignment across members, handover
when a member leaves, and committed offsets surviving a server restart."""

import time
from collections import defaultdict

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from clients import producer, produce_all

PARTITIONS = 4


def group_consumer(server, group, client_id):
    return Consumer({
        "bootstrap.servers": server.bootstrap,
        "group.id": group,
        "client.id": client_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": "range",
    })


def fill(server, topic, per_partition, start=0):
    """Produces per_partition records to each partition; keys say where they belong."""
    p = producer(server)
    produce_all(p, [(topic, part, f"p{part}-{i}".encode(), f"v{i}".encode(), None)
                    for part in range(PARTITIONS) for i in range(start, start + per_partition)])


def poll_until(consumers, done, timeout_s, what):
    """Polls every consumer in turn until done() holds. Returns the messages
    each consumer received, as {consumer: [msg]}."""
    received = defaultdict(list)
    deadline = time.monotonic() + timeout_s
    while not done(received):
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s waiting for {what}"
        for c in consumers:
            msg = c.poll(0.05)
            if msg is None:
                continue
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, f"consumer error: {msg.error()}"
                continue
            received[c].append(msg)
    return received


def assigned(c):
    return sorted(tp.partition for tp in c.assignment())


def offsets_by_partition(messages):
    out = defaultdict(list)
    for m in messages:
        assert m.key().decode().startswith(f"p{m.partition()}-"), f"{m.key()} read from partition {m.partition()}"
        out[m.partition()].append(m.offset())
    return dict(out)


def commit(c, topic, offsets):
    """Commits {partition: offset} synchronously and checks the reply."""
    result = c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    for tp in result:
        assert tp.error is None, f"commit of partition {tp.partition} failed: {tp.error}"


def committed(c, topic):
    tps = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    return {tp.partition: tp.offset for tp in tps}


def test_two_members_split_partitions_then_one_takes_over(strata):
    topic, group = "group-split", "g-split"
    strata.create_topic(topic, PARTITIONS)
    a = group_consumer(strata, group, "member-a")
    b = group_consumer(strata, group, "member-b")
    try:
        a.subscribe([topic])
        b.subscribe([topic])
        poll_until([a, b], lambda _: len(a.assignment()) == 2 and len(b.assignment()) == 2, 45,
                   "each of two members to be assigned 2 of 4 partitions")
        assert sorted(assigned(a) + assigned(b)) == list(range(PARTITIONS))

        fill(strata, topic, 100)
        got = poll_until([a, b], lambda r: len(r[a]) + len(r[b]) >= 400, 45, "400 records across both members")
        for c in (a, b):
            by_part = offsets_by_partition(got[c])
            assert sorted(by_part) == assigned(c), f"{c} read partitions {sorted(by_part)} but owns {assigned(c)}"
            for part, offsets in by_part.items():
                assert offsets == list(range(100)), f"partition {part}: offsets {offsets[:5]}..., expected 0..99 once"

        commit(a, topic, {p: 60 for p in assigned(a)})
        commit(b, topic, {p: 60 for p in assigned(b)})
        assert committed(b, topic) == {p: 60 for p in range(PARTITIONS)}

        a.close()
        got = poll_until([b], lambda r: len(b.assignment()) == PARTITIONS and len(r[b]) >= 160, 45,
                         "the remaining member to own all 4 partitions and resume each at its commit")
        by_part = offsets_by_partition(got[b])
        for part in range(PARTITIONS):
            assert by_part.get(part) == list(range(60, 100)), \
                f"partition {part}: after the handover read {by_part.get(part)}, expected 60..99"
        commit(b, topic, {p: 100 for p in range(PARTITIONS)})
    finally:
        b.close()


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_group_resumes_from_committed_offsets_after_restart(strata, how):
    topic, group = f"group-restart-{how}", f"g-restart-{how}"
    strata.create_topic(topic, PARTITIONS)
    fill(strata, topic, 100)

    c = group_consumer(strata, group, "before-restart")
    c.subscribe([topic])
    got = poll_until([c], lambda r: len(r[c]) >= 400, 45, "the first consumer to read all 400 records")
    assert all(offs == list(range(100)) for offs in offsets_by_partition(got[c]).values())
    commit(c, topic, {0: 70, 1: 100, 2: 0, 3: 55})
    c.close()
    fill(strata, topic, 30, start=100)  # acks=all: durable before the restart

    strata.restart(hard=(how == "kill9"))

    c = group_consumer(strata, group, "after-restart")
    try:
        assert committed(c, topic) == {0: 70, 1: 100, 2: 0, 3: 55}
        c.subscribe([topic])
        expected = {0: list(range(70, 130)), 1: list(range(100, 130)), 2: list(range(0, 130)),
                    3: list(range(55, 130))}
        total = sum(len(v) for v in expected.values())
        got = poll_until([c], lambda r: len(r[c]) >= total, 45, f"{total} records after the restart")
        time.sleep(0.5)
        extra = c.poll(0.5)
        assert extra is None or extra.error(), f"unexpected extra record {extra.key()} at {extra.offset()}"
        by_part = offsets_by_partition(got[c])
        for part, offsets in expected.items():
            assert by_part.get(part) == offsets, \
                f"partition {part}: read {by_part.get(part, [])[:3]}.. ({len(by_part.get(part, []))}), " \
                f"expected {offsets[0]}..{offsets[-1]}"
    finally:
        c.close()
