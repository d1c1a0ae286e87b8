"""Bad input on the Kafka port is harmless: the bad connection gets an error
response or is closed, a well-behaved client keeps working (both a
connection opened before the attack and a new one), and memory stays bounded."""

import random
import socket
import struct

import pytest

import kafka_wire as kw
from clients import producer, produce_all, read_partitions

RSS_BYTES_MAX = 500 << 20
TOPIC = "bystander"


@pytest.fixture
def bystander(strata):
    """A topic and a producer connected before the bad input arrives."""
    strata.create_topic(TOPIC, 1)
    p = producer(strata)
    produce_all(p, [(TOPIC, 0, b"before", b"v", None)])
    state = {"producer": p, "count": 1}

    def check():
        assert strata.running(), f"strata exited with code {strata.proc.returncode}"
        n = state["count"]
        produce_all(state["producer"], [(TOPIC, 0, f"old-conn-{n}".encode(), b"v", None)])
        produce_all(producer(strata), [(TOPIC, 0, f"new-conn-{n}".encode(), b"v", None)])
        state["count"] += 2
        got = read_partitions(strata, TOPIC, [0], state["count"])
        assert [m.key() for m in got[-2:]] == [f"old-conn-{n}".encode(), f"new-conn-{n}".encode()]
        assert len(got) == state["count"], f"{len(got)} records, expected {state['count']}"
        rss = strata.rss_bytes()
        assert rss < RSS_BYTES_MAX, f"strata RSS is {rss >> 20} MiB"
        assert strata.health_ok()

    return check


def assert_closed_or_error(sock, correlation_id):
    kind, frame = kw.outcome(sock)
    if kind == "response":
        (got_id,) = struct.unpack_from(">i", frame, 0)
        assert got_id == correlation_id, f"response has correlation id {got_id}, expected {correlation_id}"


def test_truncated_frame_then_close(strata, bystander):
    for cut in (1, 3, 4, 10, 20):
        frame = kw.request_frame(kw.API_METADATA, 1, 7, struct.pack(">i", -1))
        with kw.connect(strata.kafka_port) as s:
            s.sendall(frame[:cut])
    # A frame whose size prefix promises more than is ever sent.
    with kw.connect(strata.kafka_port) as s:
        s.sendall(struct.pack(">i", 100) + b"\x00\x03\x00\x01" + b"\x00" * 16)
    bystander()


@pytest.mark.parametrize("size", [0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0, 7], ids=hex)
def test_bad_length_prefix_closes_connection(strata, bystander, size):
    with kw.connect(strata.kafka_port) as s:
        kw.send_ignoring_reset(s, struct.pack(">I", size) + b"\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff")
        kind, _ = kw.outcome(s)
        assert kind == "closed", "the server answered a frame with an impossible size"
    bystander()


def test_many_oversized_frames_keep_memory_bounded(strata, bystander):
    socks = []
    try:
        for _ in range(100):
            s = kw.connect(strata.kafka_port)
            kw.send_ignoring_reset(s, struct.pack(">i", 0x7FFFFFF0) + b"\x00" * 1024)
            socks.append(s)
        for s in socks:
            assert kw.outcome(s)[0] == "closed"
    finally:
        for s in socks:
            s.close()
    bystander()


def test_unknown_api_key(strata, bystander):
    with kw.connect(strata.kafka_port) as s:
        kw.send_ignoring_reset(s, kw.request_frame(999, 0, 11))
        assert_closed_or_error(s, 11)
    with kw.connect(strata.kafka_port) as s:
        kw.send_ignoring_reset(s, kw.request_frame(-5, 0, 12))
        assert_closed_or_error(s, 12)
    bystander()


# Produce is served at v0-v9 (v0-v2 only to refuse old message formats), so 10 is the first unsupported version.
@pytest.mark.parametrize("version", [99, 10, -1])
def test_unsupported_produce_version(strata, bystander, version):
    with kw.connect(strata.kafka_port) as s:
        kw.send_ignoring_reset(s, kw.request_frame(kw.API_PRODUCE, version, 21, b"\x00" * 32))
        assert_closed_or_error(s, 21)
    bystander()


def test_api_versions_v99_gets_v0_error_and_api_list(strata, bystander):
    with kw.connect(strata.kafka_port) as s:
        s.sendall(kw.request_frame(kw.API_API_VERSIONS, 99, 31, b"\x01\x02\x03"))
        correlation_id, error, apis = kw.decode_api_versions_v0(kw.read_response(s))
        assert correlation_id == 31
        assert error == kw.UNSUPPORTED_VERSION
        for key in (0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 22):
            assert key in apis, f"API {key} missing from the ApiVersions list: {sorted(apis)}"
        lo, hi = apis[kw.API_API_VERSIONS]
        assert lo == 0 and 3 <= hi < 99
        for key, (lo, hi) in apis.items():
            assert 0 <= lo <= hi, f"API {key} has range {lo}..{hi}"

        # The connection stays usable: the client retries with a version it can use.
        s.sendall(kw.request_frame(kw.API_API_VERSIONS, 0, 32))
        correlation_id, error, apis_v0 = kw.decode_api_versions_v0(kw.read_response(s))
        assert (correlation_id, error) == (32, 0)
        assert apis_v0 == apis
    bystander()


def test_undecodable_bodies(strata, bystander):
    rng = random.Random(7)
    bodies = [b"", b"\xff" * 3, bytes(rng.randrange(256) for _ in range(200))]
    corr = 100
    for key, version in ((0, 3), (0, 9), (1, 11), (2, 5), (3, 9), (3, 12), (8, 8), (11, 7), (19, 5), (32, 4), (37, 2)):
        for body in bodies:
            corr += 1
            with kw.connect(strata.kafka_port) as s:
                kw.send_ignoring_reset(s, kw.request_frame(key, version, corr, body))
                assert_closed_or_error(s, corr)
    bystander()


def test_one_mib_of_random_bytes(strata, bystander):
    rng = random.Random(20240229)
    for _ in range(3):
        garbage = rng.randbytes(1 << 20)
        with kw.connect(strata.kafka_port) as s:
            kw.send_ignoring_reset(s, garbage)
            kind, frame = kw.outcome(s, timeout_s=10)
            assert kind == "closed" or len(frame) >= 4
    bystander()


def test_garbage_after_valid_request_on_same_connection(strata, bystander):
    with kw.connect(strata.kafka_port) as s:
        s.sendall(kw.request_frame(kw.API_API_VERSIONS, 0, 1) + b"\x00\x00\x00\x09garbage!!")
        correlation_id, error, _ = kw.decode_api_versions_v0(kw.read_response(s))
        assert (correlation_id, error) == (1, 0)
        assert kw.outcome(s)[0] == "closed"
    bystander()


def test_admin_port_survives_garbage(strata, bystander):
    for payload in (b"\x00" * 4096, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
                    b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n", random.Random(3).randbytes(1 << 16)):
        with socket.create_connection(("127.0.0.1", strata.http_port), timeout=5) as s:
            kw.send_ignoring_reset(s, payload)
            try:
                s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                pass
    bystander()


@pytest.mark.strata_args("--request-bytes-max", str(4 << 20), "--inflight-bytes-max", str(8 << 20))
def test_stalled_large_frames_do_not_starve_other_clients(strata, bystander):
    """Clients that announce big frames and then stall must not hold the
    shared in-flight budget hostage: everyone else keeps being served."""
    socks = []
    try:
        for _ in range(4):
            s = kw.connect(strata.kafka_port)
            s.sendall(struct.pack(">i", (4 << 20) - 16) + kw.request_frame(kw.API_PRODUCE, 7, 1)[4:])
            socks.append(s)
        bystander()
    finally:
        for s in socks:
            s.close()


def test_produce_v2_with_an_old_message_set_is_refused_per_partition(strata, bystander):
    """Produce v0-v2 is listed for librdkafka's compression check; old formats still get an error."""
    strata.create_topic("legacy", 1)
    # A magic-1 message set: offset, size, crc, magic=1, attributes, timestamp, key, value.
    message = b"\x01\x00" + b"\x00" * 8 + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x01x"
    message = b"\x00\x00\x00\x00" + message  # crc (not checked before the magic)
    message_set = b"\x00" * 8 + len(message).to_bytes(4, "big") + message
    body = (
        (1).to_bytes(2, "big", signed=True)          # acks
        + (1000).to_bytes(4, "big")                  # timeout_ms
        + (1).to_bytes(4, "big")                     # topics
        + len("legacy").to_bytes(2, "big") + b"legacy"
        + (1).to_bytes(4, "big")                     # partitions
        + (0).to_bytes(4, "big")                     # partition 0
        + len(message_set).to_bytes(4, "big") + message_set
    )
    with kw.connect(strata.kafka_port) as s:
        s.sendall(kw.request_frame(kw.API_PRODUCE, 2, 41, body))
        response = kw.read_response(s)
    assert int.from_bytes(response[0:4], "big") == 41
    # topics[1] name partitions[1] index error_code
    name_len = int.from_bytes(response[8:10], "big")
    at = 10 + name_len + 4 + 4
    error = int.from_bytes(response[at:at + 2], "big", signed=True)
    assert error == 43, f"expected UNSUPPORTED_FOR_MESSAGE_FORMAT, got {error}"
    status, topic = strata.describe_topic("legacy")
    assert status == 200
    assert topic["partitions"][0]["log_end_offset"] == 0
    bystander()
