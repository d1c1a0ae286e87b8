"""Server behaviour: start-up log, data dir lock, metrics, clean shutdown,
topic auto-creation, restart keeping data."""

import re
import signal
import struct
import subprocess

import pytest
from confluent_kafka import KafkaError, Producer

import kafka_wire as kw
from clients import producer, produce_all, read_partitions


def test_start_logs_listeners_and_sigterm_exits_zero(strata):
    log = strata.log_text()
    assert re.search(rf"kafka: PLAINTEXT listening on .*{strata.kafka_port}", log), log
    assert re.search(rf"admin: listening on .*{strata.http_port}", log), log
    assert strata.stop() == 0
    assert not strata.kafka_accepts()


def test_sigint_exits_zero(strata):
    strata.proc.send_signal(signal.SIGINT)
    assert strata.proc.wait(30) == 0


def test_second_server_on_same_data_dir_is_refused(strata, strata_factory):
    second = strata_factory(data_dir=strata.data_dir, start=False, name="second")
    proc = second.spawn()
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("a second server on a locked data dir kept running")
    assert code != 0
    message = second.log_text().split("===== start #1")[-1]
    assert str(strata.data_dir) in message, f"the refusal does not name the data dir: {message}"
    assert "in use" in message or "lock" in message.lower(), message
    assert strata.health_ok(), "the first server stopped answering"

    strata.create_topic("still-mine", 1)  # the first server still owns its data dir
    assert strata.stop() == 0
    second.start()  # and once it has stopped, the lock is free
    assert second.describe_topic("still-mine")[0] == 200


def test_metrics_count_requests_and_bytes(strata):
    strata.create_topic("metered", 1)
    produce_all(producer(strata), [("metered", 0, b"k", b"v" * 100, None)] * 50)
    read_partitions(strata, "metered", [0], 50)

    text = strata.metrics()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)

    def value(pattern):
        matches = [v for k, v in samples.items() if re.fullmatch(pattern, k)]
        assert matches, f"no metric matches {pattern}"
        return sum(matches)

    assert value(r'strata_kafka_requests_total\{.*api="Produce".*\}') >= 1
    assert value(r'strata_kafka_requests_total\{.*api="Fetch".*\}') >= 1
    assert value(r'strata_kafka_requests_total\{.*api="Metadata".*\}') >= 1
    assert value(r"strata_kafka_received_bytes_total(\{.*\})?") > 50 * 100
    assert value(r"strata_kafka_sent_bytes_total(\{.*\})?") > 50 * 100
    assert value(r"strata_kafka_request_latency_ms_count(\{.*\})?") >= 3
    assert value(r'strata_kafka_request_latency_ms_bucket\{.*le="\+Inf".*\}') >= 3
    assert "# TYPE strata_kafka_request_latency_ms histogram" in text


@pytest.mark.strata_args("--default-partitions", "3")
def test_metadata_auto_creates_topics(strata):
    p = Producer({"bootstrap.servers": strata.bootstrap, "acks": "all"})
    produce_all(p, [("auto-made", None, b"k", b"v", None)])
    status, body = strata.describe_topic("auto-made")
    assert status == 200, body
    assert len(body["partitions"]) == 3


@pytest.mark.strata_args("--auto-create-topics", "false")
def test_auto_create_can_be_disabled(strata):
    p = Producer({"bootstrap.servers": strata.bootstrap, "acks": "all", "message.timeout.ms": 3000})
    errors = []
    p.produce("not-made", b"v", on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert len(errors) == 1 and errors[0] is not None, errors
    assert errors[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                                KafkaError._MSG_TIMED_OUT), errors[0]
    assert strata.describe_topic("not-made")[0] == 404


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "kill9"])
def test_restart_keeps_acknowledged_records(strata, hard):
    strata.create_topic("kept", 2)
    produce_all(producer(strata), [("kept", i % 2, str(i).encode(), b"v", None) for i in range(1000)])
    strata.restart(hard=hard)
    got = read_partitions(strata, "kept", [0, 1], 1000)
    assert sorted(int(m.key()) for m in got) == list(range(1000))
    produce_all(producer(strata), [("kept", 0, b"after", b"v", None)])
    got = read_partitions(strata, "kept", [0], 501)
    assert got[-1].key() == b"after" and got[-1].offset() == 500


def metadata_v4(port, topic, allow_auto_create):
    """Sends Metadata v4 for one topic and waits for the answer."""
    name = topic.encode()
    body = struct.pack(">ih", 1, len(name)) + name + struct.pack(">b", 1 if allow_auto_create else 0)
    with kw.connect(port) as s:
        s.sendall(kw.request_frame(kw.API_METADATA, 4, 77, body))
        (correlation_id,) = struct.unpack_from(">i", kw.read_response(s), 0)
        assert correlation_id == 77


def test_metadata_honours_allow_auto_topic_creation(strata):
    metadata_v4(strata.kafka_port, "asked-not-to-create", allow_auto_create=False)
    assert strata.describe_topic("asked-not-to-create")[0] == 404
    metadata_v4(strata.kafka_port, "asked-to-create", allow_auto_create=True)
    assert strata.describe_topic("asked-to-create")[0] == 200
