"""Small helpers around confluent-kafka (librdkafka) used by several tests."""

import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def producer(server, **config):
    conf = {"bootstrap.servers": server.bootstrap, "acks": "all", "linger.ms": 5,
            "message.timeout.ms": 30000}
    conf.update({k.replace("_", "."): v for k, v in config.items()})
    return Producer(conf)


def produce_all(p, messages, timeout_s=60):
    """Produces (topic, partition, key, value, headers) tuples and waits for
    every delivery report. Returns the reports as (key, partition, offset),
    and fails on any delivery error."""
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(f"{msg.key()}: {err}")
        else:
            delivered.append((msg.key(), msg.partition(), msg.offset()))

    for topic, partition, key, value, headers in messages:
        while True:
            try:
                kwargs = {"key": key, "value": value, "on_delivery": on_delivery}
                if partition is not None:
                    kwargs["partition"] = partition
                if headers:
                    kwargs["headers"] = headers
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(timeout_s)
    assert remaining == 0, f"{remaining} messages were not delivered within {timeout_s}s"
    assert not errors, f"{len(errors)} delivery errors, first: {errors[:5]}"
    return delivered


def read_partitions(server, topic, partitions, expected_count, timeout_s=60, **config):
    """Reads `topic` from the beginning of each partition by assignment (no
    group) until expected_count messages arrived. Returns the messages."""
    conf = {"bootstrap.servers": server.bootstrap, "group.id": "e2e-reader-unused",
            "enable.auto.commit": False, "enable.partition.eof": False}
    conf.update(config)
    c = Consumer(conf)
    try:
        c.assign([TopicPartition(topic, p, 0) for p in partitions])
        return drain(c, expected_count, timeout_s)
    finally:
        c.close()


def drain(consumer, expected_count, timeout_s, settle_s=0.5):
    """Polls until expected_count messages arrived, then for settle_s more to
    catch extra (duplicate) messages. Fails on a consumer error or timeout."""
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < expected_count:
        assert time.monotonic() < deadline, f"only {len(out)} of {expected_count} messages after {timeout_s}s"
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise AssertionError(f"consumer error: {msg.error()}")
        out.append(msg)
    settle_until = time.monotonic() + settle_s
    while time.monotonic() < settle_until:
        msg = consumer.poll(0.1)
        if msg is not None and not msg.error():
            out.append(msg)
    return out
