"""Just enough of the Kafka wire format to send hand-made (and malformed)
requests over a raw socket: non-flexible request header v1, ApiVersions v0
response decoding, Fetch v4 requests (with a replica id) and responses, and
the admin APIs the installed clients lack (DescribeCluster, DeleteRecords,
DescribeLogDirs, DescribeProducers, OffsetDelete), built with `Body` and read
with `Cursor`."""

import socket
import struct
import time

API_PRODUCE = 0
API_FETCH = 1
API_METADATA = 3
API_API_VERSIONS = 18
UNSUPPORTED_VERSION = 35
CLUSTER_AUTHORIZATION_FAILED = 31


def request_frame(api_key, api_version, correlation_id, body=b"", client_id="e2e-raw"):
    """A size-prefixed request with header v1 (non-flexible)."""
    cid = client_id.encode()
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(cid)) + cid
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def connect(port, timeout_s=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_ignoring_reset(sock, data):
    """Sends data; the server may close mid-way, which is an allowed answer."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def read_response(sock):
    """One size-prefixed response frame (without the size)."""
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    assert 0 <= size <= 64 << 20, f"response size {size} is implausible"
    return recv_exact(sock, size)


def outcome(sock, timeout_s=10):
    """What the server did with a bad request: ('closed', None) if it closed
    the connection, ('response', frame) if it answered; fails if neither
    happens within timeout_s."""
    sock.settimeout(timeout_s)
    deadline = time.monotonic() + timeout_s
    try:
        first = sock.recv(4)
    except ConnectionResetError:
        return "closed", None
    except socket.timeout:
        raise AssertionError(f"the server neither answered nor closed the connection within {timeout_s}s")
    if not first:
        return "closed", None
    try:
        rest = recv_exact(sock, 4 - len(first)) if len(first) < 4 else b""
        (size,) = struct.unpack(">i", first + rest)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        return "response", recv_exact(sock, size)
    except (EOFError, ConnectionResetError):
        return "closed", None


def decode_api_versions_v0(frame):
    """(correlation_id, error_code, {api_key: (min, max)}) of an ApiVersions v0 response."""
    correlation_id, error_code, count = struct.unpack_from(">ihi", frame, 0)
    pos = 10
    apis = {}
    assert 0 <= count <= 1000, f"implausible ApiVersions array length {count}"
    for _ in range(count):
        key, lo, hi = struct.unpack_from(">hhh", frame, pos)
        apis[key] = (lo, hi)
        pos += 6
    assert pos == len(frame), f"ApiVersions v0 response has {len(frame) - pos} trailing bytes"
    return correlation_id, error_code, apis


def fetch_v4_frame(correlation_id, topic, partitions, replica_id=-1, fetch_offset=0, max_bytes=1 << 20):
    """A Fetch v4 request for partitions of one topic, from fetch_offset,
    answered at once (max_wait_ms 0); replica_id >= 0 is a follower's fetch."""
    name = topic.encode()
    body = struct.pack(">iiiib", replica_id, 0, 1, max_bytes, 0)
    body += struct.pack(">ih", 1, len(name)) + name + struct.pack(">i", len(partitions))
    for p in partitions:
        body += struct.pack(">iqi", p, fetch_offset, max_bytes)
    return request_frame(API_FETCH, 4, correlation_id, body)


def decode_fetch_v4(frame):
    """(correlation_id, {(topic, partition): (error_code, records_bytes)}) of a Fetch v4 response."""
    correlation_id, _throttle, topics = struct.unpack_from(">iii", frame, 0)
    pos = 12
    out = {}
    for _ in range(topics):
        (name_len,) = struct.unpack_from(">h", frame, pos)
        topic = frame[pos + 2:pos + 2 + name_len].decode()
        pos += 2 + name_len
        (parts,) = struct.unpack_from(">i", frame, pos)
        pos += 4
        for _ in range(parts):
            partition, error, _hw, _lso, aborted = struct.unpack_from(">ihqqi", frame, pos)
            pos += 26 + max(aborted, 0) * 16
            (records,) = struct.unpack_from(">i", frame, pos)
            pos += 4 + max(records, 0)
            out[(topic, partition)] = (error, max(records, 0))
    assert pos == len(frame), f"Fetch v4 response has {len(frame) - pos} trailing bytes"
    return correlation_id, out


# --- flexible encoding and the admin APIs no installed client sends ----------

API_DELETE_RECORDS = 21
API_DESCRIBE_LOG_DIRS = 35
API_OFFSET_DELETE = 47
API_DESCRIBE_CLUSTER = 60
API_DESCRIBE_PRODUCERS = 61


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Body:
    """A request body; `flex` picks compact strings/arrays."""

    def __init__(self, flex):
        self.flex = flex
        self.buf = bytearray()

    def pack(self, fmt, *values):
        self.buf += struct.pack(">" + fmt, *values)
        return self

    def string(self, s):
        raw = s.encode()
        self.buf += uvarint(len(raw) + 1) if self.flex else struct.pack(">h", len(raw))
        self.buf += raw
        return self

    def array(self, n):
        self.buf += uvarint(n + 1) if self.flex else struct.pack(">i", n)
        return self

    def tags(self):
        if self.flex:
            self.buf += b"\x00"
        return self


class Cursor:
    """Reads a response body; `flex` as in Body."""

    def __init__(self, frame, flex, pos=0):
        self.frame, self.flex, self.pos = frame, flex, pos

    def unpack(self, fmt):
        values = struct.unpack_from(">" + fmt, self.frame, self.pos)
        self.pos += struct.calcsize(">" + fmt)
        return values if len(values) > 1 else values[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.frame[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7

    def nullable_string(self):
        n = self.uvarint() - 1 if self.flex else self.unpack("h")
        if n < 0:
            return None
        s = self.frame[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def string(self):
        return self.nullable_string()

    def array(self):
        return self.uvarint() - 1 if self.flex else self.unpack("i")

    def tags(self):
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.pos += self.uvarint()

    def done(self):
        assert self.pos == len(self.frame), f"{len(self.frame) - self.pos} trailing bytes in the response"


def call(port, api_key, version, body, flex, correlation_id=7):
    """Sends one request (header v2 when flex) and returns a Cursor at the
    response body."""
    cid = b"e2e-raw"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(cid)) + cid + (b"\x00" if flex else b"")
    payload = header + bytes(body.buf)
    with connect(port) as s:
        s.sendall(struct.pack(">i", len(payload)) + payload)
        frame = read_response(s)
    cur = Cursor(frame, flex)
    assert cur.unpack("i") == correlation_id
    cur.tags()
    return cur


def describe_cluster(port, version=1, include_operations=False):
    """{error, cluster_id, controller, brokers: [(id, host, port)], operations}."""
    b = Body(True).pack("?", include_operations)
    if version >= 1:
        b.pack("b", 1)
    c = call(port, API_DESCRIBE_CLUSTER, version, b.tags(), True)
    c.unpack("i")
    out = {"error": c.unpack("h"), "message": c.nullable_string()}
    if version >= 1:
        c.unpack("b")
    out["cluster_id"] = c.string()
    out["controller"] = c.unpack("i")
    out["brokers"] = []
    for _ in range(c.array()):
        broker = (c.unpack("i"), c.string(), c.unpack("i"))
        c.nullable_string()
        c.tags()
        out["brokers"].append(broker)
    out["operations"] = c.unpack("i")
    c.tags()
    c.done()
    return out


def delete_records(port, topic, offsets, version=2):
    """{partition: (low_watermark, error)} after asking to delete below offsets[partition]."""
    flex = version >= 2
    b = Body(flex).array(1).string(topic).array(len(offsets))
    for partition, offset in offsets.items():
        b.pack("iq", partition, offset).tags()
    b.tags().pack("i", 10000).tags()
    c = call(port, API_DELETE_RECORDS, version, b, flex)
    c.unpack("i")
    out = {}
    for _ in range(c.array()):
        c.string()
        for _ in range(c.array()):
            partition, low, error = c.unpack("iqh")
            c.tags()
            out[partition] = (low, error)
        c.tags()
    c.tags()
    c.done()
    return out


def describe_log_dirs(port, version=4):
    """(top error or None, [{error, path, partitions: {(topic, p): size}, total, usable}])."""
    flex = version >= 2
    c = call(port, API_DESCRIBE_LOG_DIRS, version, Body(flex).array(-1).tags(), flex)
    c.unpack("i")
    top = c.unpack("h") if version >= 3 else None
    dirs = []
    for _ in range(c.array()):
        d = {"error": c.unpack("h"), "path": c.string(), "partitions": {}}
        for _ in range(c.array()):
            topic = c.string()
            for _ in range(c.array()):
                partition, size, lag, future = c.unpack("iqq?")
                c.tags()
                d["partitions"][(topic, partition)] = size
            c.tags()
        if version >= 4:
            d["total"], d["usable"] = c.unpack("qq")
        c.tags()
        dirs.append(d)
    c.tags()
    c.done()
    return top, dirs


def describe_producers(port, topic, partitions):
    """{partition: (error, [(producer_id, epoch, last_sequence, last_timestamp)])}."""
    b = Body(True).array(1).string(topic).array(len(partitions))
    for p in partitions:
        b.pack("i", p)
    c = call(port, API_DESCRIBE_PRODUCERS, 0, b.tags().tags(), True)
    c.unpack("i")
    out = {}
    for _ in range(c.array()):
        c.string()
        for _ in range(c.array()):
            partition, error = c.unpack("ih")
            c.nullable_string()
            producers = []
            for _ in range(c.array()):
                pid, epoch, seq, ts, _coordinator_epoch, _txn_start = c.unpack("qiiqiq")
                c.tags()
                producers.append((pid, epoch, seq, ts))
            c.tags()
            out[partition] = (error, producers)
        c.tags()
    c.tags()
    c.done()
    return out


def offset_delete(port, group, topic, partitions):
    """(group error, {partition: error})."""
    b = Body(False).string(group).array(1).string(topic).array(len(partitions))
    for p in partitions:
        b.pack("i", p)
    c = call(port, API_OFFSET_DELETE, 0, b, False)
    error = c.unpack("h")
    c.unpack("i")
    out = {}
    for _ in range(c.array()):
        c.string()
        for _ in range(c.array()):
            partition, perr = c.unpack("ih")
            out[partition] = perr
    c.done()
    return error, out


API_DESCRIBE_CLIENT_QUOTAS = 48
API_ALTER_CLIENT_QUOTAS = 49


def _string(s):
    data = s.encode()
    return struct.pack(">h", len(data)) + data


def _nullable_string(s):
    return struct.pack(">h", -1) if s is None else _string(s)


def alter_client_quotas_v0_frame(correlation_id, entity, ops, validate_only=False):
    """entity: [(type, name or None)]; ops: [(key, value, remove)]."""
    body = struct.pack(">i", 1)
    body += struct.pack(">i", len(entity)) + b"".join(_string(t) + _nullable_string(n) for t, n in entity)
    body += struct.pack(">i", len(ops)) + b"".join(_string(k) + struct.pack(">d?", v, r) for k, v, r in ops)
    body += struct.pack(">?", validate_only)
    return request_frame(API_ALTER_CLIENT_QUOTAS, 0, correlation_id, body)


def decode_alter_client_quotas_v0(frame):
    """(correlation_id, [(error_code, message)])."""
    (correlation_id, _throttle, count) = struct.unpack_from(">iii", frame, 0)
    at, out = 12, []
    for _ in range(count):
        (error,) = struct.unpack_from(">h", frame, at)
        at += 2
        (size,) = struct.unpack_from(">h", frame, at)
        at += 2
        message = None if size < 0 else frame[at:at + size].decode()
        at += max(size, 0)
        (parts,) = struct.unpack_from(">i", frame, at)
        at += 4
        for _ in range(parts):
            for _field in range(2):
                (size,) = struct.unpack_from(">h", frame, at)
                at += 2 + max(size, 0)
        out.append((error, message))
    return correlation_id, out
