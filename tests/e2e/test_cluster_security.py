"""Cluster mode with SASL and ACLs: users and ACLs live in etcd and every node
enforces them; Metadata sends a client to the other nodes' listener of the
protocol it came in on."""

import json
import time
import urllib.request

import pytest
from confluent_kafka import KafkaError, Producer
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient, ResourcePattern, \
    ResourceType

from cluster_harness import cluster_factory, cluster_support  # noqa: F401 (fixture)
from strata_server import free_port

SKIP = cluster_support()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

PASSWORD = "secret-password-1"


def sasl_conf(bootstrap, user):
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": user, "sasl.password": PASSWORD}


def produce_errors(conf, topic, timeout_s=20):
    errors = []
    p = Producer({**conf, "acks": "all", "message.timeout.ms": timeout_s * 1000})
    p.produce(topic, value=b"v", on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(timeout_s + 10) == 0
    return errors


@pytest.mark.timeout_s(120)
def test_users_and_acls_are_shared_by_every_node(cluster_factory):  # noqa: F811
    sasl_ports = {i: free_port() for i in (1, 2)}
    c = cluster_factory(size=2, default_replication_factor=2, per_node_args=lambda i: [
        f"--kafka-listen=SASL_PLAINTEXT://127.0.0.1:{sasl_ports[i]}", f"--replication-listen=127.0.0.1:{free_port()}",
        # The harness's PLAINTEXT listener (topic creation, status) stays open to anonymous clients.
        "--super-users", "User:admin;User:ANONYMOUS"])
    node1, node2 = c.node(1), c.node(2)
    for user in ("admin", "alice"):
        req = urllib.request.Request(f"{node1.admin_url}/v1/users", method="POST",
                                     data=json.dumps({"name": user, "password": PASSWORD}).encode())
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201

    # A user made on node 1 logs in on node 2 within the reload interval.
    deadline = time.monotonic() + 15
    while True:
        try:
            meta = Producer(sasl_conf(f"127.0.0.1:{sasl_ports[2]}", "admin")).list_topics(timeout=3)
            break
        except Exception:
            assert time.monotonic() < deadline, "node 2 never accepted the user made on node 1"
    assert {b.port for b in meta.brokers.values()} == set(sasl_ports.values())  # SASL ports, not PLAINTEXT ones

    topic = "shared-acl"
    c.create_topic(topic, 2, replication_factor=2)
    assert [e.code() for e in produce_errors(sasl_conf(f"127.0.0.1:{sasl_ports[2]}", "alice"), topic, 10)] == \
        [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{sasl_ports[1]}", security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="admin", sasl_plain_password=PASSWORD)
    made = admin.create_acls([ACL("User:alice", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                                  ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL))])
    admin.close()
    assert made["failed"] == []
    time.sleep(2.5)  # both nodes reload the ACLs
    for i in (1, 2):
        assert produce_errors(sasl_conf(f"127.0.0.1:{sasl_ports[i]}", "alice"), topic) == [], f"node {i}"
