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

Transactions come from librdkafka's transactional producer and a
read_committed consumer, and from hand-encoded sequences of the transaction
APIs at their lowest and highest versions (raw_txn_sequences). Those are for
the fuzz target's fresh state, where the first InitProducerId gets producer
id 0 epoch 0, so they go deep there (commit, abort, fencing); against the
server here, which handed out producer ids before, most of them fail.

Files named regress-* are inputs that once crashed the target (the fuzzer's
artifact, and a hand-made minimal form); they are not client traffic, so
this script leaves them in place.

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
TARGET_FRAMES_MAX = 8  # frames_per_input_max in fuzz_kafka_request.cc: raw-txn sequences are kept whole
REGRESSION_PREFIX = "regress-"  # inputs that once crashed the target: kept as they are when seeds are regenerated
TXN_ID = "tx"
TXN_PRODUCER_ID, TXN_EPOCH = 0, 0  # what the fuzz target's first InitProducerId hands out


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


def i8(n):
    return struct.pack(">b", n)


def i16(n):
    return struct.pack(">h", n)


def i32(n):
    return struct.pack(">i", n)


def i64(n):
    return struct.pack(">q", n)


def string(s, flex):
    return compact_string(s) if flex else i16(len(s.encode())) + s.encode()


def nullable_string(s, flex):
    if s is None:
        return uvarint(0) if flex else i16(-1)
    return string(s, flex)


def array(items, flex):
    return (uvarint(len(items) + 1) if flex else i32(len(items))) + b"".join(items)


def tags(flex):
    return uvarint(0) if flex else b""


def varint(n):
    """A zigzag varint, as in record batches."""
    return uvarint((n << 1) ^ (n >> 63))


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


FUTURE_TIMESTAMP_MS = 4_102_444_800_000  # 2100-01-01


def record_batch(values, producer_id, epoch, base_sequence, transactional=True, timestamp=FUTURE_TIMESTAMP_MS):
    """A magic-2 RecordBatch of one record per value (key b"k"). Its time is
    in the future: retention (7 days by the wall clock, checked every 4 frames
    in the fuzz target) would delete a batch of today before the frames that
    read it."""
    records = b""
    for i, v in enumerate(values):
        r = i8(0) + varint(0) + varint(i) + varint(1) + b"k" + varint(len(v)) + v + varint(0)
        records += varint(len(r)) + r
    after_crc = (i16(0x10 if transactional else 0) + i32(len(values) - 1) + i64(timestamp) + i64(timestamp) +
                 i64(producer_id) + i16(epoch) + i32(base_sequence) + i32(len(values)) + records)
    after_length = i32(-1) + i8(2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


class TxnFrames:
    """Hand-encoded requests of the transaction APIs and of those that read
    around transactions, at any version, for transactional id TXN_ID."""

    def __init__(self):
        self.correlation_id = 100

    def frame(self, api_key, version, body, flex):
        self.correlation_id += 1
        return raw_frame(api_key, version, self.correlation_id, body, flex)

    def init_producer_id(self, v, producer_id=-1, epoch=-1, timeout_ms=60000):
        flex = v >= 2
        body = nullable_string(TXN_ID, flex) + i32(timeout_ms)
        if v >= 3:
            body += i64(producer_id) + i16(epoch)
        return self.frame(22, v, body + tags(flex), flex)

    def add_partitions(self, v, partitions, epoch=TXN_EPOCH):
        flex = v >= 3
        topics = [string("t", flex) + array([i32(p) for p in partitions], flex) + tags(flex)]
        body = string(TXN_ID, flex) + i64(TXN_PRODUCER_ID) + i16(epoch) + array(topics, flex) + tags(flex)
        return self.frame(24, v, body, flex)

    def add_offsets(self, v, epoch=TXN_EPOCH):
        flex = v >= 3
        body = string(TXN_ID, flex) + i64(TXN_PRODUCER_ID) + i16(epoch) + string("g", flex) + tags(flex)
        return self.frame(25, v, body, flex)

    def end_txn(self, v, commit, epoch=TXN_EPOCH):
        flex = v >= 3
        body = string(TXN_ID, flex) + i64(TXN_PRODUCER_ID) + i16(epoch) + i8(1 if commit else 0) + tags(flex)
        return self.frame(26, v, body, flex)

    def txn_offset_commit(self, v, offsets, epoch=TXN_EPOCH):
        """offsets: [(partition, offset)] of topic "t" for group "g"."""
        flex = v >= 3
        body = string(TXN_ID, flex) + string("g", flex) + i64(TXN_PRODUCER_ID) + i16(epoch)
        if v >= 3:
            body += i32(-1) + string("", flex) + nullable_string(None, flex)  # no membership check (KIP-447)
        partitions = [i32(p) + i64(o) + (i32(-1) if v >= 2 else b"") + nullable_string("", flex) + tags(flex)
                      for p, o in offsets]
        body += array([string("t", flex) + array(partitions, flex) + tags(flex)], flex) + tags(flex)
        return self.frame(28, v, body, flex)

    def produce(self, v, partition, batch):
        flex = v >= 9
        records = (uvarint(len(batch) + 1) if flex else i32(len(batch))) + batch
        topic = string("t", flex) + array([i32(partition) + records + tags(flex)], flex) + tags(flex)
        body = nullable_string(TXN_ID, flex) + i16(-1) + i32(30000) + array([topic], flex) + tags(flex)
        return self.frame(0, v, body, flex)

    def fetch(self, v, partition, offset=0, read_committed=True):
        body = i32(-1) + i32(100) + i32(1) + i32(1 << 20) + i8(1 if read_committed else 0)
        if v >= 7:
            body += i32(0) + i32(-1)  # no fetch session
        p = i32(partition) + (i32(-1) if v >= 9 else b"") + i64(offset) + (i64(-1) if v >= 5 else b"") + i32(1 << 20)
        body += array([string("t", False) + array([p], False)], False)
        if v >= 7:
            body += array([], False)  # forgotten topics
        if v >= 11:
            body += string("", False)  # rack
        return self.frame(1, v, body, False)

    def list_offsets(self, v, partition, timestamp, read_committed=True):
        flex = v >= 6
        p = i32(partition) + (i32(-1) if v >= 4 else b"") + i64(timestamp) + tags(flex)
        body = i32(-1) + i8(1 if read_committed else 0)
        body += array([string("t", flex) + array([p], flex) + tags(flex)], flex) + tags(flex)
        return self.frame(2, v, body, flex)

    def offset_fetch(self, v, partitions, require_stable=True):
        flex = v >= 6
        body = string("g", flex) + array([string("t", flex) + array([i32(p) for p in partitions], flex) + tags(flex)],
                                         flex)
        if v >= 7:
            body += i8(1 if require_stable else 0)
        return self.frame(9, v, body + tags(flex), flex)

    def describe_transactions(self, ids):
        return self.frame(65, 0, array([compact_string(i) for i in ids], True) + tags(True), True)

    def list_transactions(self, states, producer_ids):
        body = array([compact_string(s) for s in states], True) + array([i64(p) for p in producer_ids], True)
        return self.frame(66, 0, body + tags(True), True)


def raw_txn_sequences():
    """Whole transactions for the fuzz target's fresh state, one connection
    (and so one seed) each: commit at the highest versions, abort at the
    lowest, KIP-360's epoch bump and a new session fencing an open
    transaction, and offsets-only commits at the versions between."""
    f = TxnFrames()
    batch = record_batch([b"txn 0", b"txn 1"], TXN_PRODUCER_ID, TXN_EPOCH, 0)
    commit_max = [
        f.init_producer_id(4),
        f.add_partitions(3, [0, 1]),
        f.produce(9, 0, batch),
        f.add_offsets(3),
        f.txn_offset_commit(3, [(0, 2)]),
        f.offset_fetch(7, [0]),               # UNSTABLE_OFFSET_COMMIT: pending in the transaction
        f.end_txn(3, commit=True),
        f.fetch(11, 0),                       # read_committed: the batch and its COMMIT marker
    ]
    abort_min = [
        f.init_producer_id(0),
        f.add_partitions(0, [1]),
        f.produce(3, 1, batch),
        f.add_offsets(0),
        f.txn_offset_commit(0, [(1, 1)]),
        f.list_offsets(2, 1, -1),             # latest read_committed: the last stable offset, 0
        f.end_txn(0, commit=False),
        f.fetch(4, 1),                        # read_committed: aborted_transactions [(0, 0)]
    ]
    fencing = [
        f.init_producer_id(3),
        f.init_producer_id(3, TXN_PRODUCER_ID, TXN_EPOCH),  # KIP-360: epoch 1
        f.add_partitions(2, [0], epoch=TXN_EPOCH + 1),
        f.describe_transactions([TXN_ID, "unknown"]),
        f.list_transactions(["Ongoing", "NoSuchState"], [TXN_PRODUCER_ID]),
        f.init_producer_id(2),                # a new session: aborts, CONCURRENT_TRANSACTIONS
        f.end_txn(1, commit=True, epoch=TXN_EPOCH + 1),  # fenced: INVALID_PRODUCER_EPOCH for v1
        f.list_transactions([], []),
    ]
    offsets_only = [
        f.init_producer_id(1),
        f.add_offsets(1),
        f.add_partitions(1, [0]),
        f.txn_offset_commit(1, [(0, 5)]),
        f.txn_offset_commit(2, [(1, 7)]),
        f.end_txn(2, commit=True),
        f.offset_fetch(7, [0, 1]),            # stable again: 5 and 7
        f.describe_transactions([TXN_ID]),    # CompleteCommit
    ]
    return {"commit-max": commit_max, "abort-min": abort_min, "fencing": fencing, "offsets": offsets_only}


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


def drive_raw(bootstrap, frames=None):
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        for frame in raw_admin_frames() if frames is None else frames:
            s.sendall(frame)
            (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
            s.recv(size, socket.MSG_WAITALL)


def drive_transactions(bootstrap, label):
    """librdkafka's transactional producer (InitProducerId with a
    transactional id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
    EndTxn) and a read_committed consumer (Fetch and ListOffsets isolation,
    OffsetFetch require_stable). Client "txn" in the seed names, so these
    versions are kept beside the plain rdkafka ones."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    label("txn-rdkafka-producer")
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": TXN_ID, "transaction.timeout.ms": 60000,
                  "linger.ms": 5})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(10):
        p.produce("t", key=b"tk", value=f"committed {i}".encode(), partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(4):
        p.produce("t", key=b"tk", value=f"aborted {i}".encode(), partition=i % 2)
    p.flush(10)
    p.abort_transaction(30)

    label("txn-rdkafka-consumer")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 300})
    c.subscribe(["t"])
    got, deadline = 0, time.monotonic() + 20
    while got < 10 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got += 1
    p.begin_transaction()
    p.produce("t", key=b"tk", value=b"with offsets", partition=0)
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    c.committed(c.assignment(), timeout=10)
    c.get_watermark_offsets(TopicPartition("t", 0), timeout=10)
    c.offsets_for_times([TopicPartition("t", 1, 1_700_000_000_005)], timeout=10)
    c.close()
    p.flush(10)


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
    # read_uncommitted, librdkafka's default being read_committed (the "txn" consumer below)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest",
                  "isolation.level": "read_uncommitted",
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

    drive_transactions(bootstrap, label)
    # Last, so that whatever the hand-made transactions leave open here (they
    # are meant for the fuzz target's state) holds up no client above.
    for name, frames in raw_txn_sequences().items():
        label(f"raw-txn-{name}")
        drive_raw(bootstrap, frames)


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
        if not old.name.startswith(REGRESSION_PREFIX):
            old.unlink()
    seen = set()
    digests = set()  # a frame two clients sent byte for byte alike is kept once
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
            if digest in digests:
                continue
            digests.add(digest)
            (out_dir / f"api{key:02d}-v{version}-{client}-{digest}").write_bytes(frame)
            written += 1
        if len(frames) > 1:
            kept = TARGET_FRAMES_MAX if label_name.startswith("raw-txn") else SEQUENCE_FRAMES
            seq = b"".join(frames[:kept])
            digest = hashlib.sha1(seq).hexdigest()[:10]
            (out_dir / f"seq-{label_name}-{digest}").write_bytes(seq)
            written += 1
    print(f"wrote {written} seeds to {out_dir} ({len(seen)} distinct API/version/client requests)")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
