#!/usr/bin/python3
"""Regenerates the seed corpus of fuzz_kafka_request from real client traffic.

Runs the strata binary, puts a recording TCP proxy in front of it and drives
librdkafka (confluent-kafka) and kafka-python through every API Strata
serves. The server advertises 127.0.0.2, where the proxy listens, so clients
reach the broker only through the proxy. Each distinct (API, version, client)
request becomes one seed file: its frame with the 4-byte size prefix, as the
fuzz target reads it. The first frames of each connection are also kept as
one multi-request seed. Topic "t" (2 partitions) and group "g" match the
state the fuzz target starts from.

    usage: tests/fuzz/make_corpus.py [STRATA_BIN] [OUT_DIR]
"""

import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROXY_HOST = "127.0.0.2"
SEQUENCE_FRAMES = 6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingProxy:
    """Forwards PROXY_HOST:port to 127.0.0.1:port and keeps client bytes."""

    def __init__(self, port):
        self.port = port
        self.streams = []  # (label, bytearray) per connection
        self.label = "init"
        self.lock = threading.Lock()
        self.listener = socket.create_server((PROXY_HOST, port))
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            buf = bytearray()
            with self.lock:
                self.streams.append((self.label, buf))
            threading.Thread(target=self.pump, args=(client, upstream, buf), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, None), daemon=True).start()

    @staticmethod
    def pump(src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def split_frames(stream):
    frames, pos = [], 0
    while pos + 4 <= len(stream):
        (size,) = struct.unpack_from(">i", stream, pos)
        if size < 8 or pos + 4 + size > len(stream):
            break
        frames.append(bytes(stream[pos:pos + 4 + size]))
        pos += 4 + size
    return frames


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def compact_string(s):
    return uvarint(len(s.encode()) + 1) + s.encode()


def raw_frame(api_key, version, correlation_id, body, flexible):
    """A size-prefixed request: header v2 when flexible, else v1."""
    cid = b"raw"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(cid)) + cid
    if flexible:
        header += uvarint(0)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def raw_admin_frames():
    """Requests no installed client sends: the flexible ACL versions, the
    SCRAM credential APIs and the record, group and cluster admin APIs,
    hand-encoded from Kafka's message schemas."""
    acl_filter = (struct.pack(">b", 2) + compact_string("t") + struct.pack(">b", 2) + uvarint(0) + uvarint(0) +
                  struct.pack(">bb", 1, 1))  # topic "t", MATCH, any principal/host/operation/permission
    creation = (struct.pack(">b", 2) + compact_string("t") + struct.pack(">b", 3) + compact_string("User:alice") +
                compact_string("*") + struct.pack(">bb", 3, 3) + uvarint(0))  # literal, READ, ALLOW
    salt, salted = bytes(range(16)), bytes(range(32))
    upsertion = (compact_string("alice") + struct.pack(">bi", 1, 4096) + uvarint(len(salt) + 1) + salt +
                 uvarint(len(salted) + 1) + salted + uvarint(0))
    deletion = compact_string("bob") + struct.pack(">b", 2) + uvarint(0)
    return [
        raw_frame(30, 3, 1, uvarint(2) + creation + uvarint(0), True),                # CreateAcls v3
        raw_frame(29, 3, 2, acl_filter + uvarint(0), True),                           # DescribeAcls v3
        raw_frame(31, 2, 3, uvarint(2) + acl_filter + uvarint(0) + uvarint(0), True),  # DeleteAcls v2
        raw_frame(51, 0, 4, uvarint(2) + deletion + uvarint(2) + upsertion + uvarint(0), True),
        raw_frame(50, 0, 5, uvarint(2) + compact_string("alice") + uvarint(0) + uvarint(0), True),
        raw_frame(50, 0, 6, uvarint(0) + uvarint(0), True),                           # every user
        raw_frame(21, 2, 7, uvarint(2) + compact_string("t") + uvarint(2) + struct.pack(">iq", 0, 1) + uvarint(0) +
                  uvarint(0) + struct.pack(">i", 1000) + uvarint(0), True),           # DeleteRecords v2
        raw_frame(35, 4, 8, uvarint(0) + uvarint(0), True),                           # DescribeLogDirs v4, all
        raw_frame(42, 2, 9, uvarint(2) + compact_string("nobody") + uvarint(0), True),  # DeleteGroups v2
        raw_frame(47, 0, 10, struct.pack(">h", 1) + b"g" + struct.pack(">ih", 1, 1) + b"t" + struct.pack(">ii", 1, 0),
                  False),                                                             # OffsetDelete v0
        raw_frame(60, 1, 11, struct.pack(">bb", 1, 1) + uvarint(0), True),            # DescribeCluster v1
        raw_frame(61, 0, 12, uvarint(2) + compact_string("t") + uvarint(2) + struct.pack(">i", 0) + uvarint(0) +
                  uvarint(0), True),                                                  # DescribeProducers v0
    ]


def drive_raw(bootstrap):
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        for frame in raw_admin_frames():
            s.sendall(frame)
            (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
            s.recv(size, socket.MSG_WAITALL)


def drive_clients(bootstrap, label):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    label("rdkafka-admin")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("t", 2, 1), NewTopic("u", 1, 1, config={"retention.ms": "60000"})]).values():
        f.result(10)
    admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "t")])[
        ConfigResource(ConfigResource.Type.TOPIC, "t")].result(10)
    admin.create_partitions([NewPartitions("u", 3)])["u"].result(10)

    for codec in ("none", "lz4", "zstd", "gzip", "snappy"):
        label(f"rdkafka-producer-{codec}")
        p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                      "compression.type": codec, "linger.ms": 5})
        for i in range(20):
            p.produce("t", key=f"k{i}".encode(), value=f"value {i}".encode(), partition=i % 2,
                      headers=[("h", b"x")], timestamp=1_700_000_000_000 + i)
        p.flush(10)

    label("rdkafka-consumer")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 300})
    c.subscribe(["t"])
    got, deadline = 0, time.monotonic() + 20
    while got < 100 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got += 1
    c.commit(asynchronous=False)
    c.committed([TopicPartition("t", 0), TopicPartition("t", 1)], timeout=10)
    c.offsets_for_times([TopicPartition("t", 0, 1_700_000_000_005)], timeout=10)
    c.get_watermark_offsets(TopicPartition("t", 1), timeout=10)
    time.sleep(1)  # a few heartbeats
    c.close()

    label("rdkafka-admin-groups")
    admin.list_groups(timeout=10)
    admin.delete_topics(["u"])["u"].result(10)

    # ACLs (v1 from kafka-python; answers may be SECURITY_DISABLED without a
    # SASL listener, the requests are what counts) and the hand-made rest.
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             KafkaAdminClient, ResourcePattern, ResourcePatternFilter, ResourceType)
    label("kafka-python-acls")
    ka = KafkaAdminClient(bootstrap_servers=bootstrap)
    acl = ACL(principal="User:alice", host="*", operation=ACLOperation.READ, permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, "t"))
    acl_filter = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                           permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    ka.create_acls([acl])
    try:
        ka.describe_acls(acl_filter)
    except Exception:  # noqa: BLE001 - SECURITY_DISABLED raises
        pass
    ka.delete_acls([acl_filter])
    ka.close()
    label("raw-admin")
    drive_raw(bootstrap)

    from kafka import KafkaConsumer, KafkaProducer
    label("kafka-python-producer")
    kp = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(5):
        kp.send("t", key=b"kp", value=f"kp {i}".encode())
    kp.flush(10)
    kp.close(5)
    label("kafka-python-consumer")
    kc = KafkaConsumer("t", bootstrap_servers=bootstrap, group_id="g", auto_offset_reset="earliest",
                       enable_auto_commit=False, consumer_timeout_ms=3000, session_timeout_ms=6000,
                       heartbeat_interval_ms=500)
    for _ in kc:
        pass
    kc.commit()
    kc.close()


def main():
    binary = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("STRATA_BIN", ROOT / "build" / "strata"))
    out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "tests" / "fuzz" / "corpus" / "kafka_request")
    work = Path(tempfile.mkdtemp(prefix="strata-corpus-"))
    kafka_port, http_port = free_port(), free_port()
    log = open(work / "server.log", "wb")
    server = subprocess.Popen([str(binary), "server", "--data-dir", str(work / "data"),
                               "--kafka-listen", f"127.0.0.1:{kafka_port}",
                               "--kafka-advertised-host", PROXY_HOST,
                               "--http-listen", f"127.0.0.1:{http_port}",
                               "--group-initial-rebalance-delay-ms", "0"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", kafka_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"strata did not start; see {work / 'server.log'}")
                time.sleep(0.1)
        proxy = RecordingProxy(kafka_port)

        def label(name):
            proxy.label = name

        drive_clients(f"{PROXY_HOST}:{kafka_port}", label)
        time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.iterdir():
        old.unlink()
    seen = set()
    written = 0
    for label_name, stream in proxy.streams:
        frames = split_frames(stream)
        for frame in frames:
            key, version = struct.unpack_from(">hh", frame, 4)
            client = label_name.split("-")[0]
            if (key, version, client) in seen:
                continue
            seen.add((key, version, client))
            digest = hashlib.sha1(frame).hexdigest()[:10]
            (out_dir / f"api{key:02d}-v{version}-{client}-{digest}").write_bytes(frame)
            written += 1
        if len(frames) > 1:
            seq = b"".join(frames[:SEQUENCE_FRAMES])
            digest = hashlib.sha1(seq).hexdigest()[:10]
            (out_dir / f"seq-{label_name}-{digest}").write_bytes(seq)
            written += 1
    print(f"wrote {written} seeds to {out_dir} ({len(seen)} distinct API/version/client requests)")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
