"""Log compaction (cleanup.policy=compact) seen by Kafka clients: the newest
value of each key survives at its original offset, offsets show gaps, and a
record without a key is refused with INVALID_RECORD (with KIP-467 record
errors on Produce v8)."""

import struct
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire as kw
from clients import producer, produce_all

KEYS = 10
VERSIONS = 150
INVALID_RECORD = 87


def create_compacted(server, topic, **extra):
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    configs = {"cleanup.policy": "compact", "segment.bytes": "4096", **extra}
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=configs)])
    futures[topic].result(timeout=10)


def read_to_end(server, topic, timeout_s=20):
    """Every record of partition 0 from offset 0 to the end, as (offset, key, value)."""
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "compaction-reader", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        out = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    return out
                raise AssertionError(f"consumer error: {msg.error()}")
            out.append((msg.offset(), msg.key(), msg.value()))
        raise AssertionError(f"no end of partition after {timeout_s}s ({len(out)} records read)")
    finally:
        c.close()


def stored_bytes(server, topic):
    status, described = server.describe_topic(topic)
    assert status == 200, described
    return described["partitions"][0]["size_bytes"]


def test_compaction_keeps_the_newest_value_per_key_at_its_offset(strata):
    topic = "compacted"
    create_compacted(strata, topic)
    p = producer(strata, **{"linger.ms": 0, "batch.num.messages": 5})
    # Key k gets new versions until round (k+1) * VERSIONS / KEYS, so the
    # newest values lie spread over the log and compaction leaves gaps between them.
    keys = [k for r in range(VERSIONS) for k in range(KEYS) if r < (k + 1) * VERSIONS // KEYS]
    messages = [(topic, 0, f"key-{k}".encode(), f"value-{i}".encode(), None) for i, k in enumerate(keys)]
    delivered = produce_all(p, messages)
    assert [offset for _, _, offset in delivered] == list(range(len(keys)))
    end = len(keys)
    newest = {f"key-{k}".encode(): f"value-{i}".encode() for i, k in enumerate(keys)}
    before = stored_bytes(strata, topic)

    # The compactor looks every few seconds; wait until the closed segments are clean.
    deadline = time.monotonic() + 40
    while True:
        records = read_to_end(strata, topic)
        stale = [(o, k, v) for o, k, v in records if newest[k] != v]
        # Only the active segment (4 KiB: well under 200 records) may still hold old values.
        if not [r for r in stale if r[0] < end - 200]:
            break
        assert time.monotonic() < deadline, f"{len(stale)} stale records remain, first {stale[:3]}"
        time.sleep(1)

    assert stored_bytes(strata, topic) < before / 3
    last = {}
    for offset, key, value in records:
        produced = int(value.split(b"-")[1])
        assert offset == produced, f"{key} {value} moved from offset {produced} to {offset}"
        last[key] = value
    assert last == newest, "the newest value of a key was lost"
    read_offsets = [o for o, _, _ in records]
    assert read_offsets == sorted(read_offsets)
    assert any(b - a > 1 for a, b in zip(read_offsets, read_offsets[1:])), "compacted offsets show gaps"
    assert len(records) < end / 5


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def batch(records):
    """An uncompressed magic-2 batch of (key, value) records, None for null."""
    body = b""
    for i, (key, value) in enumerate(records):
        rec = b"\x00" + varint(0) + varint(i)
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(0)
        body += varint(len(rec)) + rec
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, now, now, -1, -1, -1, len(records)) + body
    head = struct.pack(">iBI", 0, 2, crc32c(after_crc))  # partitionLeaderEpoch, magic, crc
    inner = head + after_crc
    return struct.pack(">qi", 0, len(inner)) + inner


def produce_v8(port, topic, records_bytes):
    """Produce v8 (non-flexible), acks=1. Returns (error_code, record_errors, error_message)."""
    t = topic.encode()
    body = struct.pack(">hhi", -1, 1, 10000) + struct.pack(">ih", 1, len(t)) + t
    body += struct.pack(">ii", 1, 0) + struct.pack(">i", len(records_bytes)) + records_bytes
    with kw.connect(port) as s:
        s.sendall(kw.request_frame(kw.API_PRODUCE, 8, 7, body))
        frame = kw.read_response(s)
    pos = 4  # correlation id

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from(fmt, frame, pos)
        pos += struct.calcsize(fmt)
        return values

    def string():
        (n,) = take(">h")
        if n < 0:
            return None
        nonlocal pos
        pos += n
        return frame[pos - n:pos].decode()

    (topics,) = take(">i")
    assert topics == 1
    string()
    (parts,) = take(">i")
    assert parts == 1
    _, code, _, _, _ = take(">ihqqq")
    (n,) = take(">i")
    errors = []
    for _ in range(n):
        (index,) = take(">i")
        errors.append((index, string()))
    return code, errors, string()


def test_records_without_a_key_are_refused(strata):
    topic = "keys-needed"
    create_compacted(strata, topic)

    code, record_errors, message = produce_v8(strata.kafka_port, topic, batch([(b"a", b"1"), (None, b"2")]))
    assert code == INVALID_RECORD
    assert [i for i, _ in record_errors] == [1], record_errors
    assert record_errors[0][1], "the record error says what is wrong"
    assert message and "key" in message, message
    code, record_errors, _ = produce_v8(strata.kafka_port, topic, batch([(b"a", b"1"), (b"b", None)]))
    assert (code, record_errors) == (0, [])

    # librdkafka reports the error to the application.
    failures = []
    p = Producer({"bootstrap.servers": strata.bootstrap, "acks": "all", "message.timeout.ms": 10000, "retries": 0})
    p.produce(topic, key=None, value=b"no key", on_delivery=lambda err, msg: failures.append(err))
    p.flush(15)
    assert len(failures) == 1 and failures[0] is not None
    assert failures[0].code() == INVALID_RECORD, failures[0]

    status, described = strata.describe_topic(topic)
    assert described["partitions"][0]["log_end_offset"] == 2, "only the keyed batch was written"
