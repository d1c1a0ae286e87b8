"""Just enough of the Kafka wire format to send hand-made (and malformed)
requests over a raw socket: non-flexible request header v1, ApiVersions v0
response decoding."""

import socket
import struct
import time

API_PRODUCE = 0
API_METADATA = 3
API_API_VERSIONS = 18
UNSUPPORTED_VERSION = 35


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
