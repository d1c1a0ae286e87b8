"""Just enough of the Kafka wire format to send hand-made (and malformed)
requests over a raw socket: non-flexible request header v1, ApiVersions v0
response decoding, Fetch v4 requests (with a replica id) and responses."""

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
