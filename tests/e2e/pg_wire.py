"""PostgreSQL wire helpers for the SQL tests: raw protocol and the SQL target.

Raw side: frontend messages encoded byte by byte (PostgreSQL manual, chapter
"Frontend/Backend Protocol", Message Formats), so a test can send what no
real client would: garbage, wrong versions, huge lengths, truncated frames,
messages out of order. Everything is big-endian; a message is a type byte,
an int32 length that counts itself, and the payload (startup-phase packets
have no type byte).

Target side: the `pg` fixture is the server under test. By default it is the
real strata binary (a StrataServer from the `strata_factory` fixture, with
its PostgreSQL listener on `pg_port`). With STRATA_TEST_PG="HOST:PORT" the
same tests run against a real PostgreSQL instead (each test in a fresh
database), which is how their expectations were checked; tests that need
Strata itself (restart, kill -9, Strata syntax) skip there.
"""

import os
import shutil
import socket
import struct
import subprocess
import time
import uuid

import psycopg
import pytest

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
PSQL = shutil.which("psql") or "/usr/bin/psql"
PG_READY_TIMEOUT_S = 30
SOCKET_TIMEOUT_S = 10


# --- frontend messages --------------------------------------------------------

def cstr(text):
    return (text.encode() if isinstance(text, str) else text) + b"\0"


def startup_packet(user="strata", database="strata", version=PROTOCOL_3_0, **params):
    body = struct.pack("!I", version)
    fields = {"user": user, "database": database, **params}
    for key, value in fields.items():
        if value is not None:
            body += cstr(key) + cstr(value)
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def version_code(major, minor):
    return (major << 16) | minor


def ssl_request():
    return struct.pack("!II", 8, SSL_REQUEST_CODE)


def gssenc_request():
    return struct.pack("!II", 8, GSSENC_REQUEST_CODE)


def cancel_request(pid, key):
    return struct.pack("!IIII", 16, CANCEL_REQUEST_CODE, pid, key)


def message(kind, payload=b""):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def query(sql):
    return message(b"Q", cstr(sql))


def parse(sql, name="", param_oids=()):
    return message(b"P", cstr(name) + cstr(sql) + struct.pack("!H", len(param_oids))
                   + b"".join(struct.pack("!I", o) for o in param_oids))


def bind(portal="", statement="", params=(), param_formats=(), result_formats=()):
    """params: bytes (or None for NULL) already in the chosen format."""
    body = cstr(portal) + cstr(statement)
    body += struct.pack("!H", len(param_formats)) + b"".join(struct.pack("!H", f) for f in param_formats)
    body += struct.pack("!H", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            p = p.encode() if isinstance(p, str) else p
            body += struct.pack("!i", len(p)) + p
    body += struct.pack("!H", len(result_formats)) + b"".join(struct.pack("!H", f) for f in result_formats)
    return message(b"B", body)


def describe(kind, name=""):
    return message(b"D", kind + cstr(name))


def execute(portal="", rows_max=0):
    return message(b"E", cstr(portal) + struct.pack("!I", rows_max))


def close(kind, name=""):
    return message(b"C", kind + cstr(name))


def sync():
    return message(b"S")


def flush():
    return message(b"H")


def terminate():
    return message(b"X")


def copy_data(data):
    return message(b"d", data)


def copy_done():
    return message(b"c")


def copy_fail(reason):
    return message(b"f", cstr(reason))


# --- backend messages -----------------------------------------------------------

class Closed(Exception):
    """The server closed the connection."""


def recv_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(f"connection closed after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def read_message(sock):
    """(type byte, payload) of the next backend message."""
    kind = recv_exact(sock, 1)
    (length,) = struct.unpack("!I", recv_exact(sock, 4))
    assert 4 <= length <= 1 << 30, f"backend message {kind!r} has length {length}"
    return kind, recv_exact(sock, length - 4)


def error_fields(payload):
    """ErrorResponse / NoticeResponse fields: {'C': sqlstate, 'M': message, 'S': severity, ...}."""
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return fields


def read_until(sock, kinds=(b"Z",)):
    """Messages up to and including the first one whose type is in `kinds`."""
    out = []
    while True:
        kind, payload = read_message(sock)
        out.append((kind, payload))
        if kind in kinds:
            return out


def read_v2_error(sock, first):
    """The rest of a protocol-2.0 ErrorResponse ('E' + NUL-terminated text,
    no length), which a server may use to refuse a 2.0 startup."""
    text = bytearray(first)
    while b"\0" not in text and len(text) < 65536:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        text += chunk
    return {"S": "FATAL", "M": bytes(text).split(b"\0")[0].decode(errors="replace"), "v2": "1"}


def outcome(sock, timeout_s=SOCKET_TIMEOUT_S):
    """What the server does next: ("error", fields) for an ErrorResponse,
    ("closed", None) for EOF/reset, ("timeout", None), or ("message", (kind, payload))."""
    sock.settimeout(timeout_s)
    try:
        kind = recv_exact(sock, 1)
        raw_length = recv_exact(sock, 4)
        (length,) = struct.unpack("!I", raw_length)
        if kind == b"E" and not 4 <= length <= 1 << 20:
            return "error", read_v2_error(sock, raw_length)
        if not 4 <= length <= 1 << 30:
            raise AssertionError(f"backend message {kind!r} has length {length}")
        payload = recv_exact(sock, length - 4)
    except Closed:
        return "closed", None
    except socket.timeout:
        return "timeout", None
    if kind == b"E":
        return "error", error_fields(payload)
    return "message", (kind, payload)


def closed_after(sock, timeout_s=SOCKET_TIMEOUT_S):
    """True when the server closes the connection (EOF) within timeout_s,
    reading and discarding anything it still sends."""
    sock.settimeout(timeout_s)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def drain(sock, quiet_s=0.3):
    """Reads and drops whatever the server sends until it is quiet for quiet_s."""
    sock.settimeout(quiet_s)
    try:
        while sock.recv(65536):
            pass
    except socket.timeout:
        pass
    finally:
        sock.settimeout(SOCKET_TIMEOUT_S)


def send_ignoring_reset(sock, data):
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def row_description(payload):
    """[(name, table_oid, column, type_oid, typlen, typmod, format)]."""
    (count,) = struct.unpack_from("!H", payload)
    pos, cols = 2, []
    for _ in range(count):
        end = payload.index(b"\0", pos)
        name = payload[pos:end].decode()
        pos = end + 1
        cols.append((name, *struct.unpack_from("!IhIhih", payload, pos)))
        pos += 18
    return cols


def data_row(payload):
    (count,) = struct.unpack_from("!H", payload)
    pos, values = 2, []
    for _ in range(count):
        (n,) = struct.unpack_from("!i", payload, pos)
        pos += 4
        if n < 0:
            values.append(None)
        else:
            values.append(payload[pos:pos + n])
            pos += n
    return values


class Session:
    """A raw protocol-3.0 session past authentication (trust)."""

    def __init__(self, sock, parameters, pid, key):
        self.sock, self.parameters, self.pid, self.key = sock, parameters, pid, key

    def send(self, *messages):
        self.sock.sendall(b"".join(messages))

    def until_ready(self):
        return read_until(self.sock, (b"Z",))

    def simple(self, sql):
        self.send(query(sql))
        return self.until_ready()

    def close(self):
        try:
            self.sock.sendall(terminate())
        except OSError:
            pass
        self.sock.close()


def connect_raw(port, host="127.0.0.1", timeout_s=SOCKET_TIMEOUT_S):
    sock = socket.create_connection((host, port), timeout=timeout_s)
    sock.settimeout(timeout_s)
    return sock


def open_session(target, **params):
    """Connects, sends a v3 startup packet and reads up to ReadyForQuery.
    Fails unless authentication is trust (AuthenticationOk)."""
    sock = connect_raw(target.port, target.host)
    sock.sendall(startup_packet(user=target.user, database=target.dbname, **params))
    parameters, pid, key = {}, None, None
    while True:
        kind, payload = read_message(sock)
        if kind == b"R":
            (code,) = struct.unpack_from("!I", payload)
            assert code == 0, f"authentication request {code}: the tests expect trust on loopback"
        elif kind == b"S":
            name, value, _ = payload.split(b"\0", 2)
            parameters[name.decode()] = value.decode()
        elif kind == b"K":
            pid, key = struct.unpack("!II", payload)
        elif kind == b"E":
            raise AssertionError(f"startup failed: {error_fields(payload)}")
        elif kind == b"Z":
            return Session(sock, parameters, pid, key)


def kinds(messages):
    return b"".join(k for k, _ in messages)


def errors(messages):
    return [error_fields(p) for k, p in messages if k == b"E"]


# --- the server under test ---------------------------------------------------------

class PgTarget:
    """Where the SQL tests connect: strata (server set) or an external PostgreSQL."""

    def __init__(self, host, port, user, dbname, engine, server=None):
        self.host, self.port, self.user, self.dbname = host, port, user, dbname
        self.engine, self.server = engine, server

    @property
    def is_strata(self):
        return self.engine == "strata"

    def require_strata(self, why="this test needs Strata itself"):
        if not self.is_strata:
            pytest.skip(why)

    def conninfo(self, **overrides):
        fields = {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname,
                  "connect_timeout": 10}
        if not self.is_strata:
            fields["options"] = "-c TimeZone=UTC"
        fields.update(overrides)
        return psycopg.conninfo.make_conninfo(**fields)

    def connect(self, autocommit=True, **kwargs):
        return psycopg.connect(self.conninfo(), autocommit=autocommit, **kwargs)

    def psql_env(self):
        env = dict(os.environ)
        env.update({"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user,
                    "PGDATABASE": self.dbname, "PGCONNECT_TIMEOUT": "10", "PSQLRC": "/dev/null"})
        env.pop("PGTZ", None)
        if not self.is_strata:
            env["PGTZ"] = "UTC"
        return env

    def psql(self, *args, input=None, timeout_s=120, check=True):
        """Runs psql (no psqlrc, -X) against the target; with check, a non-zero
        exit fails with psql's output."""
        proc = subprocess.run([PSQL, "-X", *args], input=input, capture_output=True, text=True,
                              env=self.psql_env(), timeout=timeout_s)
        if check:
            assert proc.returncode == 0, (
                f"psql {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def wait_ready(self, timeout_s=PG_READY_TIMEOUT_S):
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            if self.server is not None and not self.server.running():
                raise AssertionError(f"strata exited with code {self.server.proc.returncode}; log:\n"
                                     f"{self.server.log_tail()}")
            try:
                with psycopg.connect(self.conninfo(connect_timeout=2), autocommit=True) as conn:
                    conn.execute("SELECT 1").fetchone()
                return
            except psycopg.Error as e:
                last = e
                time.sleep(0.1)
        raise AssertionError(f"the PostgreSQL port {self.port} did not answer within {timeout_s}s: {last}")

    def restart(self, hard=False):
        """Restarts strata on the same data dir and ports (kill -9 when hard)."""
        self.require_strata("restarts need the strata binary")
        self.server.restart(hard=hard)
        self.wait_ready()

    def alive(self):
        return self.server is None or self.server.running()


def external_postgres():
    """(host, port) from STRATA_TEST_PG=HOST:PORT, or None."""
    spec = os.environ.get("STRATA_TEST_PG")
    if not spec:
        return None
    host, _, port = spec.rpartition(":")
    return host or "127.0.0.1", int(port)


@pytest.fixture
def pg(strata_factory, request):
    """The PostgreSQL-wire server under test, ready to accept connections."""
    ext = external_postgres()
    if ext is None:
        marker = request.node.get_closest_marker("strata_args")
        server = strata_factory(extra_args=marker.args if marker else (), name="strata")
        target = PgTarget("127.0.0.1", server.pg_port, "strata", "strata", "strata", server)
        target.wait_ready()
        yield target
        return
    host, port = ext
    user = os.environ.get("STRATA_TEST_PG_USER", "postgres")
    dbname = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    target = PgTarget(host, port, user, dbname, "postgres")
    try:
        yield target
    finally:
        with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
