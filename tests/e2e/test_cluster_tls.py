"""Node-to-node TLS in cluster mode (docs/cluster.md, "Node-to-node
security"). A cluster CA and one certificate per node (SAN IP:127.0.0.1) are
made with scripts/make-cluster-certs.sh (the openssl command line), and a
rogue CA of the same name signs one more. Three nodes run with
--replication-listen and --cluster-tls-ca/-cert/-key (cluster_harness.py):

- acks=all produce to an RF3 topic; every partition gets a full ISR, the
  followers fetch over TLS on the leaders' replication listeners (the node
  records in etcd carry replication_port; the fetchers' logs say where they
  connected), and every record is consumed back;
- a raw Fetch with replica_id=1 on a node's public Kafka listener gets
  CLUSTER_AUTHORIZATION_FAILED (31) for every partition and no records, while
  a consumer's Fetch there is served;
- on the replication listener, a client with the rogue CA's certificate, or
  with none, fails the handshake and the node logs why; a client with a node
  certificate gets through;
- a node started with only some of the TLS flags, without
  --replication-listen, without cluster mode, or with a key that is not its
  certificate's, exits at once with a message naming the flags.
"""

import json
import shutil
import socket
import ssl
import subprocess

import pytest
from confluent_kafka import Producer

import kafka_wire
from cluster_checker import read_all
from cluster_harness import cluster_support, find_partition, wait_until
from cluster_harness import cluster_factory  # noqa: F401  (fixture)
from strata_server import REPO_ROOT, free_port, strata_binary

SKIP = cluster_support() or (None if shutil.which("openssl") else "the openssl command line is missing")
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

MAKE_CERTS = REPO_ROOT / "scripts" / "make-cluster-certs.sh"
PARTITIONS = 3
RECORDS = 300


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """cluster/{ca,node1,node2,node3}.{crt,key} and rogue/{ca,rogue}.{crt,key}."""
    root = tmp_path_factory.mktemp("certs")
    for sub, names in (("cluster", ["node1", "node2", "node3"]), ("rogue", ["rogue"])):
        out = subprocess.run(["bash", str(MAKE_CERTS), str(root / sub), *[f"{n}=IP:127.0.0.1" for n in names]],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    return root


def tls_flags(certs, node, replication_port):
    return ["--replication-listen", f"127.0.0.1:{replication_port}",
            "--cluster-tls-ca", str(certs / "cluster" / "ca.crt"),
            "--cluster-tls-cert", str(certs / "cluster" / f"{node}.crt"),
            "--cluster-tls-key", str(certs / "cluster" / f"{node}.key")]


def client_tls(certs, cert=None):
    """A Python TLS client trusting the cluster CA, presenting cert ("cluster/node1", "rogue/rogue") if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(certs / "cluster" / "ca.crt"))
    if cert:
        ctx.load_cert_chain(str(certs / f"{cert}.crt"), str(certs / f"{cert}.key"))
    return ctx


def api_versions_over_tls(port, ctx):
    """Sends ApiVersions v0 over TLS. Returns the response frame, or the
    refusal (a string): a failed handshake, or, with TLS 1.3 (where the
    server checks the client's certificate after the client is done), the
    alert or the close on the first read."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(kafka_wire.request_frame(kafka_wire.API_API_VERSIONS, 0, 1))
                return kafka_wire.read_response(s)
        except (ssl.SSLError, ConnectionError, EOFError) as e:
            return f"{type(e).__name__}: {e}"


def raw_fetch(port, topic, partitions, replica_id):
    with kafka_wire.connect(port) as s:
        s.sendall(kafka_wire.fetch_v4_frame(7, topic, partitions, replica_id=replica_id))
        correlation_id, answers = kafka_wire.decode_fetch_v4(kafka_wire.read_response(s))
    assert correlation_id == 7
    return answers


@pytest.mark.timeout_s(90)
def test_nodes_replicate_over_tls_and_nothing_else_gets_in(cluster_factory, certs):
    ports = {i: free_port() for i in (1, 2, 3)}
    c = cluster_factory(per_node_args=lambda i: tls_flags(certs, f"node{i}", ports[i]))
    records = {i: json.loads(v)["replication_port"] for i, v in
               ((int(k.rsplit("/", 1)[1]), v) for k, v in c.etcd.get_prefix("/strata/nodes/").items())}
    assert records == ports, f"node records in etcd: {records}, replication listeners: {ports}"
    listed = {n["id"]: n.get("replication_port") for n in c.status()["nodes"]}
    assert listed == ports, f"GET /v1/cluster nodes: {listed}, replication listeners: {ports}"

    topic = "tls-rf3"
    c.create_topic(topic, PARTITIONS, replication_factor=3)
    acked, failed = [], []
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "linger.ms": 5, "message.timeout.ms": 20000})
    for n in range(RECORDS):
        p.produce(topic, value=f"v{n}".encode(), partition=n % PARTITIONS,
                  on_delivery=lambda err, msg: (failed if err else acked).append(err or msg.value().decode()))
    assert p.flush(30) == 0, "delivery reports missing"
    assert not failed and len(acked) == RECORDS, f"{len(failed)} failed, e.g. {failed[:3]}"

    c.wait_full_isr(topic, range(PARTITIONS), timeout_s=20)
    read = read_all(c.bootstrap, topic, range(PARTITIONS), timeout_s=30)
    assert sorted(v for part in read.values() for _, v in part) == sorted(acked)
    st = c.status()
    for i in range(PARTITIONS):
        leader = find_partition(st, topic, i)["leader"]
        for follower in c.nodes:
            if follower.node_id != leader:
                line = f"connected to leader node {leader} at 127.0.0.1:{ports[leader]} (TLS)"
                assert line in follower.log_text(), f"node {follower.node_id} log lacks {line!r}"

    for node in c.nodes:  # a client posing as replica 1 on the public Kafka listener
        answers = raw_fetch(node.kafka_port, topic, list(range(PARTITIONS)), replica_id=1)
        assert answers == {(topic, i): (kafka_wire.CLUSTER_AUTHORIZATION_FAILED, 0) for i in range(PARTITIONS)}, answers
    leader = c.leader_node(topic, 0)
    consumer = raw_fetch(leader.kafka_port, topic, [0], replica_id=-1)
    error, records_bytes = consumer[(topic, 0)]
    assert error == 0 and records_bytes > 0, consumer

    node = c.node(2)
    served = api_versions_over_tls(ports[2], client_tls(certs, "cluster/node1"))
    assert isinstance(served, bytes), f"a node certificate was refused: {served}"
    for who in ("rogue/rogue", None):
        refused = api_versions_over_tls(ports[2], client_tls(certs, who))
        assert isinstance(refused, str), f"{who or 'a client without a certificate'} got through: {refused!r}"
    wait_until(lambda: node.log_text().count("kafka: TLS handshake with 127.0.0.1:") >= 2, 10,
               what="the node to log the two refused handshakes")
    assert "certificate verify failed" in node.log_text()


def start_fails(tmp_path, *flags):
    """Runs `strata server` with flags (and throwaway listeners); returns its output once it exits non-zero."""
    argv = [str(strata_binary()), "server", "--data-dir", str(tmp_path / "data"),
            *[arg for flag in ("--kafka-listen", "--http-listen", "--pg-listen", "--nbd-listen")
              for arg in (flag, f"127.0.0.1:{free_port()}")], *flags]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, f"strata started with {flags}:\n{out.stdout}{out.stderr}"
    return out.stdout + out.stderr


def test_a_node_with_incomplete_tls_settings_does_not_start(tmp_path, certs):
    cluster = ["--cluster-etcd", "http://127.0.0.1:1", "--node-id", "1"]
    replication = ["--replication-listen", f"127.0.0.1:{free_port()}"]
    all_tls = tls_flags(certs, "node1", 0)[2:]
    ca_only = all_tls[:2]

    assert "--cluster-tls-cert and --cluster-tls-key missing" in start_fails(tmp_path, *cluster, *replication, *ca_only)
    assert "need --replication-listen" in start_fails(tmp_path, *cluster, *all_tls)
    assert "--cluster-tls-* need cluster mode" in start_fails(tmp_path, *all_tls)
    assert "--replication-listen needs cluster mode" in start_fails(tmp_path, *replication)
    mismatched = [*all_tls[:4], "--cluster-tls-key", str(certs / "cluster" / "node2.key")]
    out = start_fails(tmp_path, *cluster, *replication, *mismatched)
    assert "does not match the certificate in --cluster-tls-cert" in out, out
