"""Kafka listeners with TLS and SASL, and ACLs, through real clients.

One server has four Kafka listeners: the harness's PLAINTEXT one, a
SASL_PLAINTEXT, a SASL_SSL and an SSL one that asks for client certificates.
ACLs are enforced (a listener authenticates, so --kafka-authorization auto
turns them on) and User:admin is a super user. Users are made through the
admin API; ACLs through kafka-python's KafkaAdminClient, as the admin
(Debian's confluent-kafka 1.7 has no ACL calls).
"""

import json
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                         ResourcePattern, ResourcePatternFilter, ResourceType)
from kafka.errors import ClusterAuthorizationFailedError

import kafka_wire
from strata_server import REPO_ROOT, StrataServer, free_port

MAKE_CERTS = REPO_ROOT / "scripts" / "make-cluster-certs.sh"
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PASSWORDS = {"admin": "admin-secret-1", "alice": "alice-secret-1", "bob": "bob-secret-1"}


def make_certs(directory, days, *names):
    env = {"STRATA_CERT_DAYS": str(days), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(["bash", str(MAKE_CERTS), str(directory), *[f"{n}=IP:127.0.0.1" for n in names]],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """ca, server and client certificates, and an expired client one from the same CA."""
    root = tmp_path_factory.mktemp("kafka-certs")
    make_certs(root, 30, "server", "client")
    make_certs(root, -1, "expired")
    return root


class SecureServer:
    def __init__(self, server, ports, certs):
        self.server = server
        self.ports = ports
        self.certs = certs

    def address(self, protocol):
        return f"127.0.0.1:{self.ports[protocol]}"

    def client_config(self, protocol, user=None, mechanism="SCRAM-SHA-256", password=None, cert=None):
        conf = {"bootstrap.servers": self.address(protocol), "security.protocol": protocol}
        if protocol.startswith("SASL"):
            conf.update({"sasl.mechanisms": mechanism, "sasl.username": user,
                         "sasl.password": password if password is not None else PASSWORDS[user]})
        if protocol.endswith("SSL"):
            conf["ssl.ca.location"] = str(self.certs / "ca.crt")
        if cert:
            conf["ssl.certificate.location"] = str(self.certs / f"{cert}.crt")
            conf["ssl.key.location"] = str(self.certs / f"{cert}.key")
        return conf


def create_user(server, name, password):
    body = json.dumps({"name": name, "password": password}).encode()
    req = urllib.request.Request(f"{server.admin_url}/v1/users", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


@pytest.fixture(scope="module")
def secure(tmp_path_factory, certs):
    ports = {"SASL_PLAINTEXT": free_port(), "SASL_SSL": free_port(), "SSL": free_port()}
    args = [f"--kafka-listen={protocol}://127.0.0.1:{port}" for protocol, port in ports.items()]
    args += ["--kafka-tls-cert", str(certs / "server.crt"), "--kafka-tls-key", str(certs / "server.key"),
             "--kafka-tls-client-ca", str(certs / "ca.crt"), "--super-users", "User:admin"]
    server = StrataServer(tmp_path_factory.mktemp("kafka-security"), extra_args=args).start()
    for name, password in PASSWORDS.items():
        create_user(server, name, password)
    yield SecureServer(server, ports, certs)
    assert server.stop() == 0


def produce(conf, topic, values, timeout_s=30):
    """Produces values; returns the delivery errors (empty when all arrived)."""
    errors = []
    p = Producer({**conf, "message.timeout.ms": timeout_s * 1000, "acks": "all"})
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(timeout_s + 10) == 0
    return errors


def consume(conf, topic, count, group, timeout_s=30):
    """Reads `count` values as a member of `group`; a consumer error is returned instead."""
    c = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                return msg.error()
            out.append(msg.value())
    finally:
        c.close()
    return out


def admin(secure, user="admin"):
    return KafkaAdminClient(bootstrap_servers=secure.address("SASL_PLAINTEXT"), security_protocol="SASL_PLAINTEXT",
                            sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user,
                            sasl_plain_password=PASSWORDS[user], request_timeout_ms=15000)


def allow(principal, resource_type, name, operation, pattern=ACLResourcePatternType.LITERAL):
    return ACL(principal=principal, host="*", operation=operation, permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(resource_type, name, pattern))


def create_acls(secure, bindings, user="admin"):
    client = admin(secure, user)
    try:
        return client.create_acls(bindings)
    finally:
        client.close()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_each_sasl_mechanism_logs_in_and_round_trips(secure, mechanism):
    topic = unique("admin-mech")
    conf = secure.client_config("SASL_PLAINTEXT", "admin", mechanism)
    assert produce(conf, topic, [b"one", b"two"]) == []
    assert consume(conf, topic, 2, unique("admin-group")) == [b"one", b"two"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_wrong_password_is_refused(secure, mechanism):
    errors = []
    conf = secure.client_config("SASL_PLAINTEXT", "alice", mechanism, password="not-her-password")
    p = Producer({**conf, "error_cb": errors.append})
    with pytest.raises(KafkaException):
        p.list_topics(timeout=5)
    p.poll(1)  # error_cb runs from poll
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
    assert "Authentication failed" in str(errors[0])
    log = secure.server.log_text()
    assert "not-her-password" not in log


def test_kcat_works_over_sasl_ssl(secure):
    topic = unique("kcat-sasl-ssl")
    base = ["kcat", "-b", secure.address("SASL_SSL"), "-X", "security.protocol=SASL_SSL",
            "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin",
            "-X", f"sasl.password={PASSWORDS['admin']}", "-X", f"ssl.ca.location={secure.certs / 'ca.crt'}"]
    put = subprocess.run(base + ["-P", "-t", topic], input="first\nsecond\n", capture_output=True, text=True,
                         timeout=60)
    assert put.returncode == 0, put.stderr
    got = subprocess.run(base + ["-C", "-t", topic, "-o", "beginning", "-e", "-q"], capture_output=True, text=True,
                         timeout=60)
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["first", "second"]


def test_a_scram_user_with_acls_reads_one_topic_and_is_refused_another(secure):
    mine, theirs, group = unique("alice-orders"), unique("bob-orders"), unique("alice-group")
    admin_conf = secure.client_config("SASL_PLAINTEXT", "admin")
    assert produce(admin_conf, mine, [b"a1", b"a2"]) == []
    assert produce(admin_conf, theirs, [b"b1"]) == []
    made = create_acls(secure, [allow("User:alice", ResourceType.TOPIC, "alice-", ACLOperation.ALL,
                                      ACLResourcePatternType.PREFIXED),
                                allow("User:alice", ResourceType.GROUP, group, ACLOperation.READ)])
    assert made["failed"] == []
    alice = secure.client_config("SASL_SSL", "alice", "SCRAM-SHA-256")
    assert consume(alice, mine, 2, group) == [b"a1", b"a2"]
    assert produce(alice, mine, [b"a3"]) == []

    refused = produce(alice, theirs, [b"nope"], timeout_s=10)
    assert [e.code() for e in refused] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    error = consume(alice, theirs, 1, group, timeout_s=15)
    assert isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    error = consume(alice, mine, 1, unique("not-her-group"), timeout_s=15)
    assert isinstance(error, KafkaError) and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error

    bob = secure.client_config("SASL_PLAINTEXT", "bob", "PLAIN")
    topics = Producer(bob).list_topics(timeout=10).topics
    assert mine not in topics and theirs not in topics  # Metadata lists only what bob may describe


def test_a_transactional_id_needs_its_own_acl(secure):
    topic, txn_id = unique("alice-txn"), unique("alice-txn-id")
    made = create_acls(secure, [allow("User:alice", ResourceType.TOPIC, topic, ACLOperation.ALL)])
    assert made["failed"] == []
    alice = secure.client_config("SASL_PLAINTEXT", "alice", "SCRAM-SHA-512")

    refused = Producer({**alice, "transactional.id": txn_id})
    with pytest.raises(KafkaException) as denied:
        refused.init_transactions(15)
    assert denied.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, denied.value.args[0]

    made = create_acls(secure, [allow("User:alice", ResourceType.TRANSACTIONAL_ID, txn_id, ACLOperation.WRITE)])
    assert made["failed"] == []
    p = Producer({**alice, "transactional.id": txn_id})
    p.init_transactions(15)
    p.begin_transaction()
    p.produce(topic, value=b"in-a-transaction")
    p.commit_transaction(15)
    group = unique("alice-txn-group")
    assert create_acls(secure, [allow("User:alice", ResourceType.GROUP, group, ACLOperation.READ)])["failed"] == []
    assert consume({**alice, "isolation.level": "read_committed"}, topic, 1, group) == [b"in-a-transaction"]


def test_acls_are_listed_and_deleted_through_the_admin_client(secure):
    topic = unique("listed")
    assert create_acls(secure, [allow("User:bob", ResourceType.TOPIC, topic, ACLOperation.READ)])["failed"] == []
    flt = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                    resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, topic, ACLResourcePatternType.ANY))
    client = admin(secure)
    try:
        found, _ = client.describe_acls(flt)
        assert [(a.principal, a.operation) for a in found] == [("User:bob", ACLOperation.READ)]
        [(_, deleted, error)] = client.delete_acls([flt])
        assert error.errno == 0 and len(deleted) == 1
        assert client.describe_acls(flt)[0] == []
    finally:
        client.close()


def test_bob_may_not_manage_acls(secure):
    result = create_acls(secure, [allow("User:bob", ResourceType.TOPIC, "*", ACLOperation.ALL)], user="bob")
    assert [error for _, error in result["failed"]] == [ClusterAuthorizationFailedError]


def kcat_ssl(secure, cert, *args, stdin=None):
    cmd = ["kcat", "-b", secure.address("SSL"), "-X", "security.protocol=SSL",
           "-X", f"ssl.ca.location={secure.certs / 'ca.crt'}",
           "-X", f"ssl.certificate.location={secure.certs / cert}.crt",
           "-X", f"ssl.key.location={secure.certs / cert}.key", "-m", "15", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)


def test_a_tls_client_certificate_names_the_principal(secure):
    topic = unique("cert-topic")
    assert create_acls(secure, [allow("User:CN=client", ResourceType.TOPIC, topic, ACLOperation.ALL)])["failed"] == []
    put = kcat_ssl(secure, "client", "-P", "-t", topic, stdin="by-certificate\n")
    assert put.returncode == 0, put.stderr
    got = kcat_ssl(secure, "client", "-C", "-t", topic, "-o", "beginning", "-e", "-q")
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["by-certificate"]


def test_an_expired_client_certificate_is_refused(secure):
    out = kcat_ssl(secure, "expired", "-L")
    assert out.returncode != 0
    assert "expired" in secure.server.log_text()


def test_kafka_python_logs_in_with_plain_and_scram(secure):
    from kafka import KafkaConsumer, KafkaProducer
    topic = unique("kafka-python")
    for mechanism in MECHANISMS:
        producer = KafkaProducer(bootstrap_servers=secure.address("SASL_PLAINTEXT"), security_protocol="SASL_PLAINTEXT",
                                 sasl_mechanism=mechanism, sasl_plain_username="admin",
                                 sasl_plain_password=PASSWORDS["admin"], api_version_auto_timeout_ms=10000)
        producer.send(topic, mechanism.encode()).get(timeout=30)
        producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=secure.address("SASL_PLAINTEXT"),
                             security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                             sasl_plain_username="admin", sasl_plain_password=PASSWORDS["admin"],
                             auto_offset_reset="earliest", consumer_timeout_ms=10000)
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [m.encode() for m in MECHANISMS]


def test_a_request_before_login_closes_the_connection(secure):
    with kafka_wire.connect(secure.ports["SASL_PLAINTEXT"]) as s:
        s.sendall(kafka_wire.request_frame(kafka_wire.API_METADATA, 1, 5, body=b"\xff\xff\xff\xff"))
        assert kafka_wire.outcome(s)[0] == "closed"
    assert "before SASL authentication" in secure.server.log_text()


def test_anonymous_clients_are_bound_by_acls_too(secure):
    plain = {"bootstrap.servers": secure.server.bootstrap}
    refused = produce(plain, unique("anonymous"), [b"x"], timeout_s=10)
    assert [e.code() for e in refused] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_listener_flags_that_do_not_fit_stop_the_server(tmp_path, certs):
    cases = [
        (["--kafka-listen=SSL://127.0.0.1:0"], "--kafka-tls-cert"),
        (["--kafka-listen=BOGUS://127.0.0.1:0"], "unknown security protocol"),
        ([f"--kafka-listen=SASL_PLAINTEXT://127.0.0.1:{free_port()}", f"--kafka-listen=SASL_PLAINTEXT://127.0.0.1:{free_port()}"],
         "used by two listeners"),
        ([f"--kafka-listen=SSL://127.0.0.1:{free_port()}", "--kafka-tls-cert", str(certs / "server.crt"),
          "--kafka-tls-key", str(certs / "client.key")], "--kafka-tls-key"),
    ]
    for i, (flags, message) in enumerate(cases):
        server = StrataServer(tmp_path / f"case{i}", extra_args=flags)
        server.spawn()
        assert server.proc.wait(30) != 0
        assert message in server.log_text(), server.log_tail()
