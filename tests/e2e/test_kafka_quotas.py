"""Client quotas: AlterClientQuotas sets a producer byte rate for a client id;
a producer over it gets throttle_time_ms back and is slowed down, another
client id is not."""

import json
import time

from confluent_kafka import Producer

import kafka_wire
from strata_server import StrataServer

RATE_BYTES_PER_S = 200_000


def set_quota(server, entity, ops):
    with kafka_wire.connect(server.kafka_port) as s:
        s.sendall(kafka_wire.alter_client_quotas_v0_frame(9, entity, ops))
        correlation_id, results = kafka_wire.decode_alter_client_quotas_v0(kafka_wire.read_response(s))
    assert correlation_id == 9
    return results


def produce_for(server, client_id, total_bytes):
    """Produces total_bytes in 10 KB records; returns (seconds, largest throttle ms librdkafka saw)."""
    throttles = []

    def on_stats(text):
        for broker in json.loads(text)["brokers"].values():
            throttles.append(broker["throttle"]["max"])

    # Small requests, one at a time: the throttle of each answer paces the
    # next, instead of a few 1 MB requests all landing before the first answer.
    p = Producer({"bootstrap.servers": server.bootstrap, "client.id": client_id, "linger.ms": 5,
                  "batch.size": 100_000, "max.in.flight.requests.per.connection": 1,
                  "statistics.interval.ms": 200, "stats_cb": on_stats})
    started = time.monotonic()
    for _ in range(total_bytes // 10_000):
        while True:
            try:
                p.produce("quota-topic", value=b"x" * 10_000)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(120) == 0
    elapsed = time.monotonic() - started
    p.poll(0.5)
    return elapsed, max(throttles, default=0)


def test_a_producer_over_its_quota_is_throttled(tmp_path):
    server = StrataServer(tmp_path).start()
    try:
        assert set_quota(server, [("client-id", "slow")], [("producer_byte_rate", RATE_BYTES_PER_S, False)]) == \
            [(0, None)]
        error, message = set_quota(server, [("client-id", "slow")], [("request_percentage", 5.0, False)])[0]
        assert error == 42 and "not supported" in message
        error, message = set_quota(server, [("client-id", "slow")], [("producer_byte_rate", -1.0, False)])[0]
        assert error == 42 and "positive" in message

        server.restart()  # the quota is durable
        fast_s, fast_throttle = produce_for(server, "fast", 3_000_000)
        assert fast_throttle == 0
        slow_s, slow_throttle = produce_for(server, "slow", 3_000_000)
        assert slow_throttle > 0, "librdkafka saw no throttle time"
        # 3 MB at 200 KB/s: the first 2 MB pass in the young 10 s window, the rest is paced.
        assert slow_s > 3, f"the throttled producer took {slow_s:.1f}s (unthrottled {fast_s:.1f}s)"

        assert set_quota(server, [("client-id", "slow")], [("producer_byte_rate", 0.0, True)]) == [(0, None)]
        _, throttle = produce_for(server, "slow", 500_000)
        assert throttle == 0
    finally:
        assert server.stop() == 0
