"""The Kafka admin APIs for records, groups and the cluster: DeleteRecords
(surviving kill -9), DeleteGroups and OffsetDelete (surviving a restart),
DescribeCluster, DescribeLogDirs and DescribeProducers.

kafka-python's KafkaAdminClient sends DeleteGroups; confluent-kafka 1.7
commits offsets and reads watermarks. Neither sends the other APIs, so those
go over a raw socket (kafka_wire)."""

import time

from confluent_kafka import Consumer, TopicPartition
from kafka.admin import KafkaAdminClient

import kafka_wire as kw
from clients import producer, produce_all
from strata_server import wait_until

NONE, OFFSET_OUT_OF_RANGE, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC = 0, 1, 68, 69, 86


def fill(server, topic, partition, count, **config):
    produce_all(producer(server, **config),
                [(topic, partition, f"k{i}".encode(), f"v{i}".encode(), None) for i in range(count)])


def watermarks(server, topic, partition):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "e2e-watermarks"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


def first_offset_read(server, topic, partition):
    """The offset of the first record a consumer reading from the earliest offset gets."""
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "e2e-first", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, partition, -2)])  # OFFSET_BEGINNING
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                return msg.offset()
        raise AssertionError("no record read within 30s")
    finally:
        c.close()


def commit(server, group, offsets):
    """Commits {(topic, partition): offset} for `group` outside group management."""
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    finally:
        c.close()


def committed(server, group, topic, partition):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, partition)], timeout=10)[0].offset
    finally:
        c.close()


def live_member(server, group, topic):
    """A consumer that has joined `group`, subscribed to `topic`."""
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c.subscribe([topic])
    deadline = time.monotonic() + 30
    while not c.assignment():
        assert time.monotonic() < deadline, "the consumer got no assignment within 30s"
        c.poll(0.1)
    return c


def test_delete_records_moves_the_start_and_survives_kill9(strata):
    strata.create_topic("dr", 2)
    fill(strata, "dr", 0, 10)
    fill(strata, "dr", 1, 3)
    assert kw.delete_records(strata.kafka_port, "dr", {0: 4}, version=0) == {0: (4, NONE)}
    assert kw.delete_records(strata.kafka_port, "dr", {0: 11, 1: 1}) == {0: (4, OFFSET_OUT_OF_RANGE), 1: (1, NONE)}
    assert watermarks(strata, "dr", 0) == (4, 10)
    assert first_offset_read(strata, "dr", 0) == 4

    strata.restart(hard=True)
    assert watermarks(strata, "dr", 0) == (4, 10)
    assert watermarks(strata, "dr", 1) == (1, 3)
    assert first_offset_read(strata, "dr", 0) == 4
    assert kw.delete_records(strata.kafka_port, "dr", {0: -1}, version=1) == {0: (10, NONE)}
    fill(strata, "dr", 0, 2)
    assert watermarks(strata, "dr", 0) == (10, 12)
    assert first_offset_read(strata, "dr", 0) == 10


def test_delete_groups_and_offsets(strata):
    strata.create_topic("ga", 1)
    strata.create_topic("gb", 1)
    fill(strata, "ga", 0, 5)
    fill(strata, "gb", 0, 5)
    commit(strata, "idle", {("ga", 0): 3})
    commit(strata, "busy", {("ga", 0): 2, ("gb", 0): 4})
    member = live_member(strata, "busy", "ga")
    admin = KafkaAdminClient(bootstrap_servers=strata.bootstrap, request_timeout_ms=10000)
    try:
        results = dict((g, e.errno) for g, e in admin.delete_consumer_groups(["idle", "busy", "nobody"]))
        assert results == {"idle": NONE, "busy": NON_EMPTY_GROUP, "nobody": GROUP_ID_NOT_FOUND}

        assert kw.offset_delete(strata.kafka_port, "busy", "ga", [0]) == (NONE, {0: GROUP_SUBSCRIBED_TO_TOPIC})
        assert kw.offset_delete(strata.kafka_port, "busy", "gb", [0]) == (NONE, {0: NONE})
        assert kw.offset_delete(strata.kafka_port, "nobody", "gb", [0]) == (GROUP_ID_NOT_FOUND, {})
    finally:
        admin.close()
        member.close()

    strata.restart(hard=True)
    assert committed(strata, "idle", "ga", 0) < 0
    assert committed(strata, "busy", "gb", 0) < 0
    assert committed(strata, "busy", "ga", 0) == 2


def test_describe_cluster_and_log_dirs(strata):
    strata.create_topic("sizes", 2)
    fill(strata, "sizes", 1, 20)
    for version in (0, 1):
        cluster = kw.describe_cluster(strata.kafka_port, version=version, include_operations=True)
        assert cluster["error"] == NONE
        assert cluster["cluster_id"]
        assert cluster["brokers"] == [(cluster["controller"], "127.0.0.1", strata.kafka_port)]
    for version in (0, 1, 2, 3, 4):
        top, dirs = kw.describe_log_dirs(strata.kafka_port, version=version)
        assert top in (None, NONE)
        assert len(dirs) == 1
        d = dirs[0]
        assert d["error"] == NONE
        assert d["partitions"][("sizes", 0)] == 0
        assert d["partitions"][("sizes", 1)] > 20 * 4
        if version >= 4:
            assert 0 < d["usable"] <= d["total"]


def test_describe_producers_lists_idempotent_producers(strata):
    strata.create_topic("idem", 2)
    fill(strata, "idem", 0, 3, enable_idempotence=True)
    fill(strata, "idem", 1, 2)

    def described():
        return kw.describe_producers(strata.kafka_port, "idem", [0, 1, 5])

    wait_until(lambda: described()[0][1], 10, what="the idempotent producer to be listed")
    out = described()
    error, producers = out[0]
    assert error == NONE
    assert len(producers) == 1
    pid, epoch, last_sequence, last_ts = producers[0]
    assert pid >= 0 and epoch >= 0
    assert last_sequence == 2
    assert last_ts > 0
    assert out[1] == (NONE, [])
    assert out[5][0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
