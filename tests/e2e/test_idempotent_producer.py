"""An idempotent acks=all producer with compressed batches (confluent-kafka)."""

from collections import Counter, defaultdict

import pytest

from clients import producer, produce_all, read_partitions

RECORDS = 5_000
PARTITIONS = 4
VALUE_PADDING = "abcdefgh" * 32  # compresses well, so stored size shows whether batches stayed compressed


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_idempotent_compressed_produce_is_consumed_exactly_once(strata, codec):
    topic = f"idem-{codec}"
    strata.create_topic(topic, PARTITIONS)

    p = producer(strata, **{"enable.idempotence": True, "compression.type": codec,
                            "linger.ms": 20, "batch.num.messages": 500})
    messages = [(topic, None, f"k{i:05d}".encode(), f"{i}:{VALUE_PADDING}".encode(),
                 [("seq", str(i).encode())]) for i in range(RECORDS)]
    delivered = produce_all(p, messages)
    assert len(delivered) == RECORDS
    delivered_at = {key: (partition, offset) for key, partition, offset in delivered}
    assert len(set(delivered_at.values())) == RECORDS, "two messages were acknowledged at the same offset"

    consumed = read_partitions(strata, topic, range(PARTITIONS), RECORDS)
    counts = Counter(m.key() for m in consumed)
    dupes = [k for k, n in counts.items() if n > 1]
    assert not dupes, f"{len(dupes)} keys consumed more than once, first {dupes[:5]}"
    assert len(consumed) == RECORDS

    last_seq = defaultdict(lambda: -1)
    for m in consumed:
        seq = int(m.key()[1:])
        assert m.value() == f"{seq}:{VALUE_PADDING}".encode(), f"{m.key()} has a wrong value"
        assert m.headers() == [("seq", str(seq).encode())], f"{m.key()} has headers {m.headers()}"
        assert (m.partition(), m.offset()) == delivered_at[m.key()], \
            f"{m.key()} acknowledged at {delivered_at[m.key()]} but read at {(m.partition(), m.offset())}"
        assert seq > last_seq[m.partition()], f"partition {m.partition()}: {m.key()} is out of order"
        last_seq[m.partition()] = seq

    # Batches are stored as produced, so the log holds compressed bytes.
    status, described = strata.describe_topic(topic)
    assert status == 200, described
    stored_bytes = sum(part["size_bytes"] for part in described["partitions"])
    raw_bytes = sum(len(m[3]) for m in messages)
    assert 0 < stored_bytes < raw_bytes / 4, f"{stored_bytes} bytes stored for {raw_bytes} raw bytes of {codec} batches"
