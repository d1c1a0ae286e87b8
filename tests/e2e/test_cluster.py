"""Cluster mode (etcd-coordinated nodes, replicated Kafka partitions with an
ISR, leader epochs and a high watermark) with real clients: confluent-kafka
(librdkafka) and kcat against three `strata server` nodes and one etcd
(cluster_harness.py). Each test starts its own cluster and stops it; the
checker (cluster_checker.py) decides whether anything acknowledged was lost
or anything seen went away.

- an RF3 topic has three replicas and a full ISR everywhere (/v1/cluster,
  Kafka Metadata, the CLI, the topic config);
- kill -9 of a partition leader under produce and group-consume load: a new
  leader with a higher epoch, producers and consumers move on, the node
  rejoins the ISR after its restart, nothing acknowledged is lost;
- SIGSTOP of a follower shrinks the ISR within replica-lag-time-max-ms plus
  a margin, acks=all produce goes on; SIGCONT expands it again;
- min.insync.replicas=2 with two of three nodes down: acks=all produce is
  refused (NOT_ENOUGH_REPLICAS) and nothing is acknowledged; after the
  restarts produce succeeds;
- kcat produces and consumes through each node's bootstrap address;
- SIGTERM of a leader moves its leadership away before the node leaves the
  cluster (etcd's revision order says which came first), with no produce
  error that is not retriable.

Skipped when the binary has no cluster mode or etcd is missing. Timing:
nodes use 1 s leases (--cluster-session-ttl-ms 1000) and
--replica-lag-time-max-ms 2000.
"""

import json
import subprocess
import time
from collections import defaultdict

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from cluster_checker import ConsumeLoad, History, ProduceLoad, check_history, explain, read_all, running
from cluster_harness import REPLICA_LAG_TIME_MAX_MS, cluster_support, find_partition, wait_until
from cluster_harness import cluster_factory  # noqa: F401  (fixture)

SKIP = cluster_support()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

PARTITIONS = 3


def final_check(cluster, topic, partitions, history):
    verdict = check_history(history, read_all(cluster.bootstrap, topic, partitions))
    print(verdict.summary())
    verdict.assert_ok()
    return verdict


def produce_batch(bootstrap, topic, values, partition=0, timeout_s=30, **config):
    """Produces values to one partition and waits for every delivery report.
    Returns ([(offset, value)] acknowledged, [(KafkaError, value)] failed)."""
    acked, failed = [], []

    def on_delivery(err, msg):
        if err is None:
            acked.append((msg.offset(), msg.value().decode()))
        else:
            failed.append((err, msg.value().decode()))

    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "message.timeout.ms": 20000,
            "reconnect.backoff.max.ms": 250, **config}
    p = Producer(conf)
    for v in values:
        p.produce(topic, value=v.encode(), partition=partition, on_delivery=on_delivery)
        p.poll(0)
    remaining = p.flush(timeout_s)
    assert remaining == 0, f"{remaining} delivery reports missing after {timeout_s}s (hung producer)"
    return acked, failed


@pytest.mark.timeout_s(120)
def test_rf3_topic_has_three_replicas_and_a_full_isr(cluster_factory):
    c = cluster_factory()
    topic = "rf3"
    c.create_topic(topic, PARTITIONS, replication_factor=3, configs={"min.insync.replicas": "2"})
    c.wait_full_isr(topic, range(PARTITIONS))

    for node in c.nodes:  # every node answers for the whole cluster (each re-reads etcd on its own)
        st = c.wait_full_isr(topic, range(PARTITIONS), timeout_s=10, via=node)
        assert st["mode"] == "cluster" and st["node_id"] == node.node_id, st
        nodes = {n["id"]: n for n in st["nodes"]}
        assert sorted(nodes) == [1, 2, 3], st["nodes"]
        for n in c.nodes:
            listed = nodes[n.node_id]
            assert listed["alive"] is True, listed
            assert (listed["host"], listed["kafka_port"]) == (n.host, n.kafka_port), listed
        assert st["controller"] in nodes, st
        for i in range(PARTITIONS):
            p = find_partition(st, topic, i)
            assert p is not None, f"node {node.node_id} does not list {topic}/{i}: {st['partitions']}"
            assert sorted(p["replicas"]) == [1, 2, 3], p
            assert sorted(p["isr"]) == [1, 2, 3], p
            assert p["leader"] in p["replicas"] and p["leader_epoch"] >= 0, p
        assert not [p for p in st["under_replicated"] if p["topic"] == topic], st["under_replicated"]
        led = defaultdict(int)
        for p in st["partitions"]:
            if p["leader"] and p["leader"] > 0:
                led[p["leader"]] += 1
        assert {int(k): v for k, v in st["leaders_per_node"].items() if v} == dict(led), \
            f"leaders_per_node {st['leaders_per_node']} disagrees with the partitions {dict(led)}"

    st = c.status()
    for node in c.nodes:  # Kafka Metadata through each node
        md = AdminClient({"bootstrap.servers": node.bootstrap}).list_topics(topic=topic, timeout=15)
        brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
        assert brokers == {n.node_id: (n.host, n.kafka_port) for n in c.nodes}, brokers
        t = md.topics[topic]
        assert t.error is None, t.error
        assert sorted(t.partitions) == list(range(PARTITIONS))
        for i, pm in t.partitions.items():
            assert sorted(pm.replicas) == [1, 2, 3] and sorted(pm.isrs) == [1, 2, 3], (i, pm.replicas, pm.isrs)
            assert pm.leader == find_partition(st, topic, i)["leader"], (i, pm.leader, find_partition(st, topic, i))

    admin = c.admin()
    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    described = list(configs.values())[0].result(timeout=15)
    assert described["min.insync.replicas"].value == "2", described["min.insync.replicas"]

    cli = c.cli_status(c.nodes[1])  # the same, as text
    assert cli.returncode == 0, cli.stderr
    assert "cluster" in cli.stdout, cli.stdout
    for n in c.nodes:
        assert f"{n.host}:{n.kafka_port}" in cli.stdout, f"node {n.node_id} missing from:\n{cli.stdout}"


@pytest.mark.timeout_s(180)
def test_kill9_of_a_leader_under_load(cluster_factory):
    c = cluster_factory()
    topic = "failover"
    c.create_topic(topic, PARTITIONS)
    c.wait_full_isr(topic, range(PARTITIONS))

    h = History()
    prod = ProduceLoad(c.bootstrap, topic, PARTITIONS, h, name="p", rate=300)
    cons = ConsumeLoad(c.bootstrap, topic, h, group="failover-group", name="c")
    with running(prod, cons):
        wait_until(lambda: h.acked_count(partition=0) >= 100 and h.seen_count(partition=0) >= 50, 30,
                   "acks and consumed records on partition 0 before the kill", explain=explain(h, prod, cons))
        before = c.partition(topic, 0)
        victim = c.node(before["leader"])
        acked_at_kill = h.acked_count(partition=0)
        last_offset_at_kill = h.max_acked_offset(0)
        killed_at = time.monotonic()
        c.kill9(victim)

        after = c.wait_leader(topic, 0, timeout_s=20, not_in=(victim.node_id,))
        elected_s = time.monotonic() - killed_at
        assert after["leader_epoch"] > before["leader_epoch"], (before, after)
        assert after["leader"] in before["isr"], f"new leader {after['leader']} was not in the ISR {before['isr']}"
        wait_until(lambda: h.acked_count(partition=0) >= acked_at_kill + 200, 30,
                   "producer acks on partition 0 after the kill", explain=explain(h, prod, cons))
        acked_s = time.monotonic() - killed_at
        wait_until(lambda: h.max_seen_offset(0) > last_offset_at_kill + 50, 30,
                   f"the consumer reading partition 0 past offset {last_offset_at_kill} (the end at the kill)",
                   explain=explain(h, prod, cons))
        print(f"kill -9 of node {victim.node_id}: new leader {after['leader']} (epoch {after['leader_epoch']}) "
              f"seen after {elected_s:.2f}s, 200 more acks after {acked_s:.2f}s")

        c.restart(victim)
        c.wait_full_isr(topic, range(PARTITIONS), timeout_s=45)
        acked_now = h.acked_count()
        wait_until(lambda: h.acked_count() >= acked_now + 100, 30, "acks after the node rejoined",
                   explain=explain(h, prod, cons))

    assert not prod.fatal, f"fatal producer errors: {prod.fatal}"
    assert prod.unflushed == 0, f"{prod.unflushed} records without a delivery report"
    _, failed, _ = h.snapshot()
    assert not failed, f"{len(failed)} deliveries failed (timeout 60 s), first: {failed[:5]}"
    final_check(c, topic, range(PARTITIONS), h)


@pytest.mark.timeout_s(150)
def test_sigstop_of_a_follower_shrinks_then_expands_the_isr(cluster_factory):
    c = cluster_factory()
    topic = "lagging"
    c.create_topic(topic, 1)
    c.wait_full_isr(topic, [0])

    h = History()
    prod = ProduceLoad(c.bootstrap, topic, 1, h, name="p", rate=200)
    with running(prod):
        wait_until(lambda: h.acked_count() >= 100, 30, "acks before the SIGSTOP", explain=explain(h, prod))
        before = c.partition(topic, 0)
        leader = c.node(before["leader"])
        follower = next(n for n in c.nodes if n.node_id != leader.node_id)
        stopped_at = time.monotonic()
        c.sigstop(follower)  # the fixture's cleanup sends SIGCONT if the test fails before it does
        margin_s = 4
        limit_s = REPLICA_LAG_TIME_MAX_MS / 1000 + margin_s

        def without_follower():
            p = c.partition(topic, 0)
            return p if follower.node_id not in p["isr"] else None
        shrunk = wait_until(
            without_follower, limit_s,
            f"node {follower.node_id} (SIGSTOPped) to leave the ISR within replica-lag-time-max-ms "
            f"({REPLICA_LAG_TIME_MAX_MS} ms) + {margin_s} s")
        shrink_s = time.monotonic() - stopped_at
        assert sorted(shrunk["isr"]) == sorted(set(before["replicas"]) - {follower.node_id}), shrunk
        assert shrunk["leader"] == leader.node_id, f"the leader changed although only a follower stopped: {shrunk}"
        st = c.status()
        assert [p for p in st["under_replicated"] if p["topic"] == topic], \
            f"/v1/cluster lists no under-replicated partition: {st['under_replicated']}"
        cli = c.cli_status(leader)
        assert cli.returncode == 0 and topic in cli.stdout, \
            f"`strata cluster status` does not name the under-replicated {topic}:\n{cli.stdout}{cli.stderr}"
        acked = h.acked_count()
        wait_until(lambda: h.acked_count() >= acked + 100, 20,
                   "acks=all produce with 2 of 3 in the ISR (min.insync.replicas=2)", explain=explain(h, prod))

        continued_at = time.monotonic()
        c.sigcont(follower)
        c.wait_full_isr(topic, [0], timeout_s=30)
        print(f"ISR shrank {shrink_s:.2f}s after SIGSTOP, expanded {time.monotonic() - continued_at:.2f}s "
              f"after SIGCONT")

    _, failed, _ = h.snapshot()
    assert not failed, f"{len(failed)} deliveries failed, first: {failed[:5]}"
    final_check(c, topic, [0], h)


@pytest.mark.timeout_s(150)
def test_min_insync_replicas_refuses_acks_all_with_two_nodes_down(cluster_factory):
    c = cluster_factory()
    topic = "min-isr"
    c.create_topic(topic, 1, configs={"min.insync.replicas": "2"})
    c.wait_full_isr(topic, [0])
    first, failed = produce_batch(c.bootstrap, topic, ["before-0", "before-1"])
    assert len(first) == 2 and not failed, failed

    leader = c.node(c.leader_of(topic, 0))
    others = [n for n in c.nodes if n is not leader]
    for n in others:
        c.kill9(n)

    def alone_in_isr():
        p = c.partition(topic, 0, node=leader)
        return p["leader"] == leader.node_id and p["isr"] == [leader.node_id]
    wait_until(alone_in_isr, 20,
               f"node {leader.node_id} to stay the leader with the ISR shrunk to itself")

    # retries=0: the broker's first answer is the delivery report.
    refused_values = [f"refused-{i}" for i in range(10)]
    acked, refused = produce_batch(leader.bootstrap, topic, refused_values, retries=0,
                                   **{"enable.idempotence": False})
    assert not acked, f"acknowledged with 1 in-sync replica and min.insync.replicas=2: {acked}"
    codes = sorted({e.code() for e, _ in refused})
    assert codes == [KafkaError.NOT_ENOUGH_REPLICAS], \
        f"expected NOT_ENOUGH_REPLICAS for every record, got {[str(e) for e, _ in refused[:3]]}"
    # With retries (and idempotence) the client keeps trying until it times out.
    acked, timed_out = produce_batch(c.bootstrap, topic, [f"retried-{i}" for i in range(5)],
                                     **{"enable.idempotence": True, "message.timeout.ms": 5000})
    assert not acked, f"acknowledged with 1 in-sync replica and min.insync.replicas=2: {acked}"
    assert {e.code() for e, _ in timed_out} <= {KafkaError.NOT_ENOUGH_REPLICAS, KafkaError._MSG_TIMED_OUT,
                                                KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND}, \
        [str(e) for e, _ in timed_out[:3]]

    for n in others:
        c.restart(n)
    c.wait_full_isr(topic, [0], timeout_s=45)
    after_values = [f"after-{i}" for i in range(100)]
    acked_after, failed = produce_batch(c.bootstrap, topic, after_values, **{"enable.idempotence": True})
    assert len(acked_after) == 100 and not failed, f"produce after the restarts: {failed[:3]}"

    final = read_all(c.bootstrap, topic, [0])[0]
    values = [v for _, v in final]
    for offset, v in first + acked_after:
        assert (offset, v) in final, f"acknowledged {v!r} at offset {offset} is not in the final read"
    stray = [v for v in values if v in refused_values]
    assert not stray, f"records refused with NOT_ENOUGH_REPLICAS were stored after all: {stray}"


@pytest.mark.timeout_s(150)
def test_kcat_through_any_node(cluster_factory):
    c = cluster_factory()
    topic = "kcat-cluster"
    c.create_topic(topic, PARTITIONS)
    c.wait_full_isr(topic, range(PARTITIONS))
    per_node = 300

    def kcat(node, *args, stdin=None):
        return subprocess.run(["kcat", "-b", node.bootstrap, "-X", "api.version.request=true", *args],
                              input=stdin, capture_output=True, timeout=60)

    for node in c.nodes:
        lines = "".join(f"n{node.node_id}-{j:04d}:value-{node.node_id}-{j}\n" for j in range(per_node))
        out = kcat(node, "-P", "-t", topic, "-K:", "-X", "acks=all", stdin=lines.encode())
        assert out.returncode == 0, f"kcat -P via node {node.node_id}: {out.stderr.decode()}"
        assert b"ERROR" not in out.stderr and b"Failed" not in out.stderr, out.stderr.decode()

    expected = {f"n{n.node_id}-{j:04d}" for n in c.nodes for j in range(per_node)}
    for node in c.nodes:
        out = kcat(node, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p|%o|%k|%s\n")
        assert out.returncode == 0, f"kcat -C via node {node.node_id}: {out.stderr.decode()}"
        keys, offsets = [], defaultdict(list)
        for line in out.stdout.decode().splitlines():
            partition, offset, key, value = line.split("|", 3)
            keys.append(key)
            offsets[int(partition)].append(int(offset))
            n, j = key[1:].split("-")
            assert value == f"value-{n}-{int(j)}", line
        assert len(keys) == len(set(keys)), f"via node {node.node_id}: duplicates"
        assert set(keys) == expected, \
            f"via node {node.node_id}: {len(expected - set(keys))} missing, first {sorted(expected - set(keys))[:5]}"
        for partition, offs in offsets.items():
            assert offs == list(range(len(offs))), f"via node {node.node_id}: partition {partition} offsets have gaps"


@pytest.mark.timeout_s(150)
def test_sigterm_of_a_leader_moves_leadership_first(cluster_factory):
    c = cluster_factory()
    topic = "handoff"
    c.create_topic(topic, 1)
    c.wait_full_isr(topic, [0])

    h = History()
    prod = ProduceLoad(c.bootstrap, topic, 1, h, name="p", rate=200)
    with running(prod):
        wait_until(lambda: h.acked_count() >= 100, 30, "acks before the SIGTERM", explain=explain(h, prod))
        before = c.partition(topic, 0)
        leader = c.node(before["leader"])
        revision = c.etcd.revision()
        acked = h.acked_count()
        code = c.stop(leader)
        assert code == 0, f"node {leader.node_id} exited {code} on SIGTERM"
        after = c.wait_leader(topic, 0, timeout_s=20, not_in=(leader.node_id,))
        assert after["leader_epoch"] > before["leader_epoch"], (before, after)
        wait_until(lambda: h.acked_count() >= acked + 100, 30, "acks after the SIGTERM", explain=explain(h, prod))

        # etcd's revisions order the two events: the partition's new leader
        # (key /strata/partitions/T/0) and the node leaving (/strata/nodes/N).
        node_key = f"/strata/nodes/{leader.node_id}"
        wait_until(lambda: node_key not in c.etcd.get_prefix("/strata/nodes/"), 10,
                   f"{node_key} to go away after the node exited")
        events = c.etcd.history("/strata/", revision + 1)
        part_key = f"/strata/partitions/{topic}/0"
        moved = [e["revision"] for e in events if e["key"] == part_key and e["type"] == "put"
                 and json.loads(e["value"]).get("leader") != leader.node_id]
        left = [e["revision"] for e in events if e["key"] == node_key and e["type"] == "delete"]
        assert moved and left, f"missing events in etcd's history: moved {moved}, left {left}; {events[:20]}"
        assert moved[0] < left[0], (
            f"leadership moved at revision {moved[0]}, after node {leader.node_id} left at revision {left[0]}: "
            f"the SIGTERM was not a controlled shutdown")

        c.restart(leader)
        c.wait_full_isr(topic, [0], timeout_s=45)

    assert not prod.fatal, prod.fatal
    _, failed, _ = h.snapshot()
    assert not failed, f"{len(failed)} deliveries failed, first: {failed[:5]}"
    final_check(c, topic, [0], h)
