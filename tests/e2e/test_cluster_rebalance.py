"""Adding a node to a running cluster, with real clients: `strata cluster
rebalance` moves replicas onto the new node (throttled copies, the
controller finishing each move once the new replica is in sync), nothing
acknowledged is lost, and the nodes that gave up a replica delete their copy.
Also CreateTopics with a manual replica assignment (confluent-kafka
AdminClient), valid and not.

Skipped when the binary has no cluster mode or etcd is missing.
"""

import json
import subprocess

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from cluster_checker import read_all
from cluster_harness import cluster_support, find_partition, http_json, wait_until
from cluster_harness import cluster_factory  # noqa: F401  (fixture)
from test_cluster import produce_batch

SKIP = cluster_support()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def replicas_by_node(status, topic):
    held = {}
    for p in status["partitions"]:
        if p["topic"] == topic:
            for r in p["replicas"]:
                held[r] = held.get(r, 0) + 1
    return held


def partition_dirs(node, topic):
    """The partition indexes whose files sit in node's data dir."""
    topics = node.data_dir / "topics"
    out = set()
    for d in topics.glob(f"{topic}-*"):
        out |= {int(p.name) for p in d.iterdir() if p.is_dir() and p.name.isdigit()}
    return out


def cli(node, *args):
    return subprocess.run([str(node.binary), "cluster", *args, "--admin", node.admin_url],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.timeout_s(180)
def test_rebalance_moves_replicas_onto_a_new_node_and_loses_nothing(cluster_factory):
    c = cluster_factory(size=4, start=False)
    c.etcd.start()
    first_three = c.nodes[:3]
    for node in first_three:
        node.spawn()
    for node in first_three:
        node.wait_ready()
    c.wait_formed()
    topic, partitions = "grow", 6
    c.create_topic(topic, partitions, replication_factor=2, configs={})
    acked = {}
    for p in range(partitions):
        ok, failed = produce_batch(c.nodes[0].bootstrap, topic, [f"{p}-{i}-" + "x" * 900 for i in range(300)],
                                   partition=p)
        assert not failed, failed[:3]
        acked[p] = ok
    assert 4 not in replicas_by_node(c.status(), topic)

    bad_rate = cli(c.nodes[0], "rebalance", "--throttle", "12X")
    assert bad_rate.returncode != 0 and "12X" in bad_rate.stderr, bad_rate

    new = c.nodes[3]
    new.spawn()
    new.wait_ready()
    c.wait_formed()

    dry = cli(c.nodes[1], "rebalance", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "NEW REPLICAS" in dry.stdout, dry.stdout
    assert not c.status()["moving"], "a dry run moves nothing"

    started = cli(c.nodes[1], "rebalance", "--throttle", "2M")
    assert started.returncode == 0, started.stderr
    assert "replica copies" in started.stdout, started.stdout

    def settled():
        st = c.status()
        return not st["moving"] and replicas_by_node(st, topic).get(4, 0) >= 3
    wait_until(settled, 90, what="the moves onto node 4 to finish",
               explain=lambda: json.dumps(c.status()["partitions"]))
    st = c.wait_full_isr(topic, range(partitions))
    held = replicas_by_node(st, topic)
    assert held == {1: 3, 2: 3, 3: 3, 4: 3}, held
    # Each node reads etcd on its own poll: the new node's view catches up within one.
    wait_until(lambda: "Moving partitions" not in c.cli_status(new).stdout, 15,
               what="node 4's strata cluster status to show no move",
               explain=lambda: c.cli_status(new).stdout)
    status_text = c.cli_status(new)
    assert status_text.returncode == 0 and "Moving partitions" not in status_text.stdout, status_text.stdout

    again = cli(c.nodes[2], "rebalance")
    assert again.returncode == 0 and "balanced" in again.stdout, again.stdout

    # The replication throttle goes with the last move.
    wait_until(lambda: not c.etcd.get_prefix("/strata/replication-throttle"), 15, what="the throttle to be removed")

    # Every acknowledged record, once and in order, read through the new layout.
    final = read_all(c.bootstrap, topic, range(partitions))
    for p in range(partitions):
        assert [v for _, v in final[p]] == [v for _, v in acked[p]], f"partition {p} differs"

    # Copies left behind are deleted; node 4 holds exactly its replicas.
    for node in c.nodes:
        mine = {p["partition"] for p in st["partitions"] if p["topic"] == topic and node.node_id in p["replicas"]}
        wait_until(lambda: partition_dirs(node, topic) == mine, 15,
                   what=f"node {node.node_id} to hold files of exactly {sorted(mine)}",
                   explain=lambda: str(sorted(partition_dirs(node, topic))))


@pytest.mark.timeout_s(120)
def test_create_topics_with_a_replica_assignment(cluster_factory):
    c = cluster_factory()
    admin = c.admin()
    futures = admin.create_topics([NewTopic("placed", 3, replica_assignment=[[3, 1], [2, 3], [1, 2]])],
                                  request_timeout=30)
    futures["placed"].result(timeout=30)
    wait_until(lambda: all(find_partition(c.status(), "placed", i) for i in range(3)), 15, what="the topic")
    st = c.wait_full_isr("placed", range(3))
    assert [find_partition(st, "placed", i)["replicas"] for i in range(3)] == [[3, 1], [2, 3], [1, 2]]
    wait_until(lambda: [find_partition(c.status(), "placed", i)["leader"] for i in range(3)] == [3, 2, 1], 15,
               what="each partition led by its first replica")
    ok, failed = produce_batch(c.bootstrap, "placed", ["a", "b"], partition=1)
    assert len(ok) == 2 and not failed

    def refused(topic, assignment, code):
        f = admin.create_topics([NewTopic(topic, len(assignment), replica_assignment=assignment)],
                                request_timeout=30)
        with pytest.raises(KafkaException) as e:
            f[topic].result(timeout=30)
        assert e.value.args[0].code() == code, e.value.args[0]
        return e.value.args[0].str()

    assert "node 9" in refused("unknown-node", [[1, 9]], KafkaError.INVALID_REPLICA_ASSIGNMENT)
    refused("twice", [[1, 1]], KafkaError.INVALID_REPLICA_ASSIGNMENT)
    refused("uneven", [[1, 2], [3]], KafkaError.INVALID_REPLICA_ASSIGNMENT)
    names = {t for t in admin.list_topics(timeout=15).topics}
    assert not names & {"unknown-node", "twice", "uneven"}, names


def test_rebalance_on_a_single_node_says_it_needs_cluster_mode(strata):
    admin_url = f"http://127.0.0.1:{strata.http_port}"
    out = subprocess.run([str(strata.binary), "cluster", "rebalance", "--admin", admin_url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "cluster mode" in out.stderr, out
    body = http_json(admin_url + "/v1/cluster")
    assert body["moving"] == [] and body["mode"] == "single-node"
