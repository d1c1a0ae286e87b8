"""ListOffsets: lookups by timestamp and the earliest/latest offsets."""

import pytest
from confluent_kafka import Consumer, TopicPartition

from clients import producer

T0_MS = 1_700_000_000_000
RECORDS = 200
STEP_MS = 1000


# Kafka answers with the exact record even inside a compressed batch.
@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_offsets_for_times_and_watermarks(strata, codec):
    topic = f"list-offsets-{codec}"
    strata.create_topic(topic, 2)

    # Several records per batch (linger), so lookups must land inside batches.
    p = producer(strata, **{"linger.ms": 50, "compression.type": codec})
    errors = []
    for i in range(RECORDS):
        p.produce(topic, partition=0, key=str(i).encode(), value=b"x", timestamp=T0_MS + i * STEP_MS,
                  on_delivery=lambda err, msg: err and errors.append(err))
    assert p.flush(30) == 0
    assert not errors, errors

    c = Consumer({"bootstrap.servers": strata.bootstrap, "group.id": "list-offsets-unused"})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, RECORDS)
        assert c.get_watermark_offsets(TopicPartition(topic, 1), timeout=10) == (0, 0)

        cases = {
            T0_MS - 5000: 0,                    # before the first record
            T0_MS: 0,                           # exactly the first
            T0_MS + 57 * STEP_MS: 57,           # exactly a record in the middle
            T0_MS + 57 * STEP_MS + 1: 58,       # between two records: the later one
            T0_MS + 123 * STEP_MS - 1: 123,
            T0_MS + (RECORDS - 1) * STEP_MS: RECORDS - 1,  # the last
            T0_MS + RECORDS * STEP_MS: -1,      # after the last: no such offset
        }
        for ts, want in cases.items():
            [tp] = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)
            assert tp.error is None, f"offsets_for_times({ts}) failed: {tp.error}"
            assert tp.offset == want, f"timestamp {ts - T0_MS:+} ms from T0: offset {tp.offset}, expected {want}"

        [empty] = c.offsets_for_times([TopicPartition(topic, 1, T0_MS)], timeout=10)
        assert empty.error is None and empty.offset == -1, f"empty partition lookup: {empty}"

        # The record found by timestamp is the one with that timestamp.
        c.assign([TopicPartition(topic, 0, 57)])
        msg = c.poll(10)
        assert msg is not None and not msg.error(), msg and msg.error()
        assert (msg.offset(), msg.key(), msg.timestamp()[1]) == (57, b"57", T0_MS + 57 * STEP_MS)
    finally:
        c.close()
