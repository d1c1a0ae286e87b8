"""kafka-python (a second, independent client implementation) round trip."""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

RECORDS = 500
PARTITIONS = 2


def test_kafka_python_produce_consume_commit(strata):
    topic, group = "kafka-python", "kp-group"
    strata.create_topic(topic, PARTITIONS)

    producer = KafkaProducer(bootstrap_servers=strata.bootstrap, acks="all", linger_ms=5,
                             request_timeout_ms=20000)
    futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                             headers=[("i", str(i).encode())]) for i in range(RECORDS)]
    producer.flush(30)
    acked = {}
    for i, f in enumerate(futures):
        md = f.get(timeout=30)
        acked[f"k{i}"] = (md.partition, md.offset)
    producer.close(10)
    assert len(set(acked.values())) == RECORDS

    consumer = KafkaConsumer(topic, bootstrap_servers=strata.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=15000, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    seen = {}
    for msg in consumer:
        key = msg.key.decode()
        assert key not in seen, f"{key} consumed twice"
        i = int(key[1:])
        assert msg.value == f"v{i}".encode()
        assert msg.headers == [("i", str(i).encode())]
        assert (msg.partition, msg.offset) == acked[key]
        seen[key] = msg.offset
        if len(seen) == RECORDS:
            break
    assert len(seen) == RECORDS, f"consumed {len(seen)} of {RECORDS}"
    consumer.commit()
    ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    for p in range(PARTITIONS):
        tp = TopicPartition(topic, p)
        assert consumer.committed(tp) == ends[tp], f"partition {p}: committed {consumer.committed(tp)}, end {ends[tp]}"
    consumer.close()

    # The group's commit is what a new member resumes from: nothing is re-read.
    again = KafkaConsumer(topic, bootstrap_servers=strata.bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          session_timeout_ms=6000, heartbeat_interval_ms=1000)
    try:
        deadline = time.monotonic() + 20
        while not again.assignment():
            assert time.monotonic() < deadline, "kafka-python consumer got no assignment"
            records = again.poll(timeout_ms=200)
            assert not records, f"re-read committed records: {records}"
        records = again.poll(timeout_ms=2000)
        assert not records, f"re-read committed records: {records}"
    finally:
        again.close()
