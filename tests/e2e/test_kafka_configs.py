"""Topic configs through the Kafka admin APIs: AlterConfigs (confluent-kafka,
kafka-python), IncrementalAlterConfigs (raw wire), and their effect on
produce, retention and what consumers read; configs survive a restart."""

import struct
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, TIMESTAMP_LOG_APPEND_TIME
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

import kafka_wire
from clients import read_partitions
from cluster_harness import cluster_factory  # noqa: F401  (fixture)

API_INCREMENTAL_ALTER_CONFIGS = 44
TOPIC_RESOURCE = 2


def admin_client(server):
    return AdminClient({"bootstrap.servers": server.bootstrap})


def create(admin, name, config=None):
    admin.create_topics([NewTopic(name, 1, 1, config=config or {})])[name].result(10)


def alter(admin, name, configs):
    """AlterConfigs: `configs` becomes the topic's whole set."""
    admin.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, name, set_config=configs)])[
        ConfigResource(ConfigResource.Type.TOPIC, name)].result(10)


def describe(admin, name):
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    return admin.describe_configs([resource])[resource].result(10)


def produce_one_by_one(server, topic, values, **config):
    """Each value in its own batch; returns the delivery errors (None for success)."""
    conf = {"bootstrap.servers": server.bootstrap, "acks": "all", "linger.ms": 0, "compression.type": "none"}
    conf.update(config)
    p = Producer(conf)
    results = []
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, msg: results.append(err))
        p.flush(30)
    assert len(results) == len(values)
    return results


def watermarks(server, topic):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "e2e-configs-unused"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        c.close()


def first_batch_attributes(server, topic):
    """The attributes of the first stored batch of partition 0, by a raw Fetch v4."""
    name = topic.encode()
    body = struct.pack(">iiiib", -1, 0, 1, 1 << 20, 0)
    body += struct.pack(">ih", 1, len(name)) + name + struct.pack(">iiqi", 1, 0, 0, 1 << 20)
    with kafka_wire.connect(server.kafka_port) as s:
        s.sendall(kafka_wire.request_frame(kafka_wire.API_FETCH, 4, 1, body))
        frame = kafka_wire.read_response(s)
    pos = 4 + 4 + 4 + 2 + len(name) + 4  # correlation id, throttle, topics, name, partitions
    _partition, error, _hw, _lso, aborted = struct.unpack_from(">ihqqi", frame, pos)
    assert error == 0, f"fetch error {error}"
    pos += 26 + max(aborted, 0) * 16
    (size,) = struct.unpack_from(">i", frame, pos)
    records = frame[pos + 4:pos + 4 + size]
    assert len(records) >= 61, "no batch stored"
    (attributes,) = struct.unpack_from(">h", records, 21)
    return attributes


def incremental_alter_v0(server, topic, ops, validate_only=False):
    """IncrementalAlterConfigs v0 on one topic; ops are (name, op, value). Returns (error, message)."""
    def s(text):
        b = text.encode()
        return struct.pack(">h", len(b)) + b

    body = struct.pack(">i", 1) + struct.pack(">b", TOPIC_RESOURCE) + s(topic) + struct.pack(">i", len(ops))
    for name, op, value in ops:
        body += s(name) + struct.pack(">b", op) + (struct.pack(">h", -1) if value is None else s(value))
    body += struct.pack(">b", 1 if validate_only else 0)
    with kafka_wire.connect(server.kafka_port) as sock:
        sock.sendall(kafka_wire.request_frame(API_INCREMENTAL_ALTER_CONFIGS, 0, 7, body))
        frame = kafka_wire.read_response(sock)
    correlation_id, _throttle, count, error, msg_len = struct.unpack_from(">iiihh", frame, 0)
    assert correlation_id == 7 and count == 1
    message = None if msg_len < 0 else frame[18:18 + msg_len].decode()
    return error, message


def test_alter_retention_and_max_message_bytes_take_effect(strata):
    admin = admin_client(strata)
    create(admin, "cfg-retention", {"segment.bytes": "1024"})
    assert all(err is None for err in produce_one_by_one(strata, "cfg-retention", [b"x" * 300] * 12))
    assert watermarks(strata, "cfg-retention") == (0, 12)

    alter(admin, "cfg-retention", {"segment.bytes": "1024", "retention.bytes": "1", "max.message.bytes": "1000"})
    low, high = watermarks(strata, "cfg-retention")
    assert high == 12 and low > 0, f"retention did not run with the new limit: {low}-{high}"

    errors = produce_one_by_one(strata, "cfg-retention", [b"y" * 2000, b"small"])
    assert errors[0] is not None and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, errors[0]
    assert errors[1] is None

    configs = describe(admin, "cfg-retention")
    assert configs["max.message.bytes"].value == "1000"
    assert configs["max.message.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["retention.ms"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value


def test_bad_configs_are_refused_by_name(strata):
    admin = admin_client(strata)
    create(admin, "cfg-bad")
    for configs, word in [({"compression.type": "brotli"}, "compression.type"),
                          ({"remote.storage.enable": "true"}, "tiered storage"),
                          ({"no.such.config": "1"}, "no.such.config")]:
        with pytest.raises(Exception) as refused:
            alter(admin, "cfg-bad", configs)
        assert word in str(refused.value), str(refused.value)
    bad = admin.create_topics([NewTopic("cfg-bad2", 1, 1, config={"unclean.leader.election.enable": "true"})])
    with pytest.raises(Exception) as refused:
        bad["cfg-bad2"].result(10)
    assert "in-sync" in str(refused.value)


def test_compression_type_zstd_recompresses(strata):
    admin = admin_client(strata)
    create(admin, "cfg-zstd", {"compression.type": "zstd"})
    values = [(b"v%d-" % i) * 50 for i in range(5)]
    assert all(err is None for err in produce_one_by_one(strata, "cfg-zstd", values))
    assert first_batch_attributes(strata, "cfg-zstd") & 0x7 == 4, "the stored batch is not zstd"
    got = read_partitions(strata, "cfg-zstd", [0], len(values))
    assert [m.value() for m in got] == values


def test_log_append_time_sets_the_brokers_time(strata):
    admin = admin_client(strata)
    create(admin, "cfg-lat")
    alter(admin, "cfg-lat", {"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    p = Producer({"bootstrap.servers": strata.bootstrap, "acks": "all"})
    p.produce("cfg-lat", value=b"old", timestamp=1_600_000_000_000)
    assert p.flush(30) == 0
    after = int(time.time() * 1000)
    (msg,) = read_partitions(strata, "cfg-lat", [0], 1)
    kind, ts = msg.timestamp()
    assert kind == TIMESTAMP_LOG_APPEND_TIME
    assert before - 1000 <= ts <= after + 1000, (before, ts, after)
    assert first_batch_attributes(strata, "cfg-lat") & 0x8


def test_incremental_alter_configs_and_restart(strata):
    admin = admin_client(strata)
    create(admin, "cfg-inc", {"retention.ms": "3600000", "segment.ms": "600000"})
    assert incremental_alter_v0(strata, "cfg-inc", [("compression.type", 0, "lz4")], validate_only=True) == (0, None)
    assert "compression.type" not in {k for k, v in describe(admin, "cfg-inc").items()
                                      if v.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value}
    assert incremental_alter_v0(strata, "cfg-inc", [("compression.type", 0, "lz4"), ("segment.ms", 1, None)]) == (0, None)
    error, message = incremental_alter_v0(strata, "cfg-inc", [("retention.ms", 2, "5")])
    assert error == 40 and "not a list" in message  # INVALID_CONFIG

    strata.restart()
    configs = describe(admin_client(strata), "cfg-inc")
    overridden = {k: v.value for k, v in configs.items() if v.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value}
    assert overridden == {"retention.ms": "3600000", "compression.type": "lz4"}
    assert configs["segment.ms"].value == "604800000"


def test_kafka_python_alter_configs(strata):
    from kafka.admin import ConfigResource as KpResource, ConfigResourceType, KafkaAdminClient

    admin = admin_client(strata)
    create(admin, "cfg-kp")
    kp = KafkaAdminClient(bootstrap_servers=strata.bootstrap, request_timeout_ms=10000)
    try:
        response = kp.alter_configs([KpResource(ConfigResourceType.TOPIC, "cfg-kp", configs={"retention.ms": "120000"})])
        assert [r[0] for r in response.resources] == [0], response
    finally:
        kp.close()
    assert describe(admin, "cfg-kp")["retention.ms"].value == "120000"


def test_broker_configs_are_refused_with_the_flag(strata):
    admin = admin_client(strata)
    broker = ConfigResource(ConfigResource.Type.BROKER, "0", set_config={"log.retention.ms": "1000"})
    with pytest.raises(Exception) as refused:
        admin.alter_configs([broker])[broker].result(10)
    assert "--retention-ms" in str(refused.value)


def test_cluster_mode_configs_live_in_the_cluster_state(cluster_factory):
    from cluster_harness import cluster_support, http_json, wait_until

    reason = cluster_support()
    if reason is not None:
        pytest.skip(reason)
    c = cluster_factory()
    c.create_topic("cfg-cluster", 1, replication_factor=3, configs={"min.insync.replicas": "2"})
    alter(admin_client(c.nodes[0]), "cfg-cluster",
          {"min.insync.replicas": "2", "message.timestamp.type": "LogAppendTime", "compression.type": "zstd"})

    def seen_everywhere():  # each node's own view (Kafka clients may send DescribeConfigs to any node)
        for node in c.nodes:
            configs = http_json(node.admin_url + "/v1/topics/cfg-cluster")["configs"]
            if configs["message.timestamp.type"] != "LogAppendTime" or configs["compression.type"] != "zstd":
                return False
        return True

    wait_until(seen_everywhere, 20, what="every node applies the altered configs")
    assert describe(admin_client(c.nodes[2]), "cfg-cluster")["compression.type"].value == "zstd"
    p = Producer({"bootstrap.servers": c.nodes[1].bootstrap, "acks": "all", "compression.type": "none"})
    delivered = []
    p.produce("cfg-cluster", value=b"x" * 500, timestamp=1_600_000_000_000,
              on_delivery=lambda err, msg: delivered.append((err, msg.timestamp())))
    assert p.flush(30) == 0
    assert len(delivered) == 1 and delivered[0][0] is None, delivered
    (msg,) = read_partitions(c.nodes[2], "cfg-cluster", [0], 1)
    assert msg.value() == b"x" * 500
    assert msg.timestamp()[0] == TIMESTAMP_LOG_APPEND_TIME, msg.timestamp()
