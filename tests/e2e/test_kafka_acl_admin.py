"""ACL and SCRAM-credential administration over the Kafka protocol, on a
SASL_PLAINTEXT listener with User:admin as super user.

The installed clients cover part of it: kafka-python's KafkaAdminClient
speaks CreateAcls/DescribeAcls/DeleteAcls (v1), and confluent-kafka logs in
with SCRAM; neither sends DescribeUserScramCredentials or
AlterUserScramCredentials, so those go over a raw socket after SASL PLAIN."""

import hashlib
import struct

import pytest
from confluent_kafka.admin import AdminClient
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                         ResourcePattern, ResourcePatternFilter, ResourceType)
from kafka.errors import ClusterAuthorizationFailedError

import kafka_wire as kw
from strata_server import free_port

ADMIN_PASSWORD = "admin-secret-1"
SHA256, SHA512 = 1, 2
NONE, CLUSTER_AUTHORIZATION_FAILED, RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE = 0, 31, 91, 92


@pytest.fixture
def secured(strata_factory):
    sasl_port = free_port()
    server = strata_factory(extra_args=["--kafka-listen", f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
                                        "--super-users", "User:admin"], name="strata")
    created = server.cli("user", "create", "admin", "--password", ADMIN_PASSWORD)
    assert created.returncode == 0, created.stderr
    server.sasl_bootstrap = f"127.0.0.1:{sasl_port}"
    server.sasl_port = sasl_port
    return server


def kafka_python_admin(server, user="admin", password=ADMIN_PASSWORD):
    return KafkaAdminClient(bootstrap_servers=server.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                            sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user, sasl_plain_password=password,
                            request_timeout_ms=10000)


# --- the raw wire, for the flexible SCRAM APIs ----------------------------------

def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def compact_string(s):
    data = s.encode()
    return uvarint(len(data) + 1) + data


def compact_bytes(b):
    return uvarint(len(b) + 1) + b


def compact_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


class Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, fmt):
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def uvarint(self):
        v, self.pos = read_uvarint(self.buf, self.pos)
        return v

    def compact_string(self):
        n = self.uvarint()
        if n == 0:
            return None
        s = self.buf[self.pos:self.pos + n - 1].decode()
        self.pos += n - 1
        return s

    def skip_tags(self):
        assert self.uvarint() == 0, "unexpected tagged fields"


def flexible_frame(api_key, correlation_id, body):
    """Request header v2 (client id stays a plain string) and a flexible body."""
    cid = b"e2e-acl"
    header = struct.pack(">hhih", api_key, 0, correlation_id, len(cid)) + cid + uvarint(0)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def sasl_plain_connect(port, user, password):
    s = kw.connect(port)
    s.sendall(kw.request_frame(17, 1, 1, struct.pack(">h", 5) + b"PLAIN"))  # SaslHandshake v1
    frame = kw.read_response(s)
    (error,) = struct.unpack_from(">h", frame, 4)
    assert error == 0, f"SaslHandshake error {error}"
    token = b"\0" + user.encode() + b"\0" + password.encode()
    s.sendall(kw.request_frame(36, 0, 2, struct.pack(">i", len(token)) + token))  # SaslAuthenticate v0
    frame = kw.read_response(s)
    (error,) = struct.unpack_from(">h", frame, 4)
    assert error == 0, f"SaslAuthenticate error {error}"
    return s


def call_flexible(sock, api_key, body, correlation_id=7):
    sock.sendall(flexible_frame(api_key, correlation_id, body))
    r = Reader(kw.read_response(sock))
    assert r.take(">i") == correlation_id
    r.skip_tags()
    return r


def describe_scram(sock, users):
    body = (compact_array([compact_string(u) + uvarint(0) for u in users]) if users is not None else uvarint(0))
    r = call_flexible(sock, 50, body + uvarint(0))
    r.take(">i")  # throttle
    top_error, top_message = r.take(">h"), r.compact_string()
    results = {}
    for _ in range(r.uvarint() - 1):
        user, error = r.compact_string(), r.take(">h")
        r.compact_string()  # error message
        creds = []
        for _ in range(r.uvarint() - 1):
            creds.append((r.take(">b"), r.take(">i")))
            r.skip_tags()
        r.skip_tags()
        results[user] = (error, creds)
    r.skip_tags()
    return top_error, top_message, results


def alter_scram(sock, deletions=(), upsertions=()):
    dels = [compact_string(name) + struct.pack(">b", mech) + uvarint(0) for name, mech in deletions]
    ups = []
    for name, mech, iterations, password in upsertions:
        salt = hashlib.sha256(name.encode()).digest()[:16]
        digest = "sha256" if mech == SHA256 else "sha512"
        salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
        ups.append(compact_string(name) + struct.pack(">bi", mech, iterations) + compact_bytes(salt) +
                   compact_bytes(salted) + uvarint(0))
    r = call_flexible(sock, 51, compact_array(dels) + compact_array(ups) + uvarint(0))
    r.take(">i")
    results = {}
    for _ in range(r.uvarint() - 1):
        user, error, message = r.compact_string(), r.take(">h"), r.compact_string()
        r.skip_tags()
        results[user] = (error, message)
    r.skip_tags()
    return results


def scram_login_works(server, user, password, mechanism):
    admin = AdminClient({"bootstrap.servers": server.sasl_bootstrap, "security.protocol": "SASL_PLAINTEXT",
                         "sasl.mechanisms": mechanism, "sasl.username": user, "sasl.password": password})
    try:
        admin.list_topics(timeout=10)
        return True
    except Exception:  # noqa: BLE001 - any failure to log in counts
        return False


# --- tests ------------------------------------------------------------------------

@pytest.mark.timeout_s(90)
def test_acls_create_describe_delete(secured):
    admin = kafka_python_admin(secured)
    try:
        read = ACL(principal="User:alice", host="*", operation=ACLOperation.READ,
                   permission_type=ACLPermissionType.ALLOW,
                   resource_pattern=ResourcePattern(ResourceType.TOPIC, "orders"))
        write = ACL(principal="User:alice", host="*", operation=ACLOperation.WRITE,
                    permission_type=ACLPermissionType.ALLOW,
                    resource_pattern=ResourcePattern(ResourceType.TOPIC, "logs-", ACLResourcePatternType.PREFIXED))
        bad = ACL(principal="User:alice", host="*", operation=ACLOperation.ALTER,
                  permission_type=ACLPermissionType.ALLOW,
                  resource_pattern=ResourcePattern(ResourceType.CLUSTER, "not-kafka-cluster"))
        created = admin.create_acls([read, write, bad])
        assert len(created["succeeded"]) == 2, created
        assert len(created["failed"]) == 1, created

        any_topic = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                              permission_type=ACLPermissionType.ANY,
                              resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, None,
                                                                     ACLResourcePatternType.ANY))
        acls, error = admin.describe_acls(any_topic)
        assert error.errno == 0
        assert {(a.resource_pattern.resource_name, a.operation) for a in acls} == {
            ("orders", ACLOperation.READ), ("logs-", ACLOperation.WRITE)}

        only_orders = ACLFilter(principal="User:alice", host="*", operation=ACLOperation.ANY,
                                permission_type=ACLPermissionType.ANY,
                                resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, "orders",
                                                                       ACLResourcePatternType.LITERAL))
        deleted = admin.delete_acls([only_orders])
        assert len(deleted) == 1
        _filter, matching, error = deleted[0]
        assert error.errno == 0
        assert [a.resource_pattern.resource_name for a, _err in matching] == ["orders"]

        acls, _ = admin.describe_acls(any_topic)
        assert [a.resource_pattern.resource_name for a in acls] == ["logs-"]
    finally:
        admin.close()


@pytest.mark.timeout_s(90)
def test_scram_credentials_describe_alter_and_log_in(secured):
    sock = sasl_plain_connect(secured.sasl_port, "admin", ADMIN_PASSWORD)
    try:
        results = alter_scram(sock, upsertions=[("carol", SHA256, 4096, "carol-pw"),
                                                ("carol", SHA512, 8192, "carol-pw"),
                                                ("dup", SHA256, 4096, "x"), ("dup", SHA256, 4096, "y")])
        assert results["carol"][0] == NONE, results
        assert results["dup"][0] == DUPLICATE_RESOURCE, results

        top_error, _, users = describe_scram(sock, None)
        assert top_error == NONE
        assert set(users) == {"admin", "carol"}
        assert sorted(users["carol"][1]) == [(SHA256, 4096), (SHA512, 8192)]

        _, _, users = describe_scram(sock, ["carol", "nobody"])
        assert users["nobody"][0] == RESOURCE_NOT_FOUND

        assert scram_login_works(secured, "carol", "carol-pw", "SCRAM-SHA-512")
        assert not scram_login_works(secured, "carol", "wrong", "SCRAM-SHA-256")

        results = alter_scram(sock, deletions=[("carol", SHA512)])
        assert results["carol"][0] == NONE, results
        _, _, users = describe_scram(sock, ["carol"])
        assert users["carol"][1] == [(SHA256, 4096)]
        assert not scram_login_works(secured, "carol", "carol-pw", "SCRAM-SHA-512")
        assert scram_login_works(secured, "carol", "carol-pw", "SCRAM-SHA-256")
    finally:
        sock.close()


@pytest.mark.timeout_s(90)
def test_only_authorized_principals_manage_acls_and_users(secured):
    sock = sasl_plain_connect(secured.sasl_port, "admin", ADMIN_PASSWORD)
    try:
        assert alter_scram(sock, upsertions=[("dave", SHA256, 4096, "dave-pw")])["dave"][0] == NONE
    finally:
        sock.close()

    sock = sasl_plain_connect(secured.sasl_port, "dave", "dave-pw")
    try:
        top_error, message, users = describe_scram(sock, None)
        assert top_error == CLUSTER_AUTHORIZATION_FAILED, message
        assert users == {}
        results = alter_scram(sock, upsertions=[("eve", SHA256, 4096, "eve-pw")])
        assert results["eve"][0] == CLUSTER_AUTHORIZATION_FAILED
    finally:
        sock.close()

    dave = kafka_python_admin(secured, "dave", "dave-pw")
    try:
        any_acl = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                            permission_type=ACLPermissionType.ANY,
                            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                                   ACLResourcePatternType.ANY))
        with pytest.raises(ClusterAuthorizationFailedError):
            acls, error = dave.describe_acls(any_acl)
            if error.errno != 0:
                raise error
    finally:
        dave.close()
