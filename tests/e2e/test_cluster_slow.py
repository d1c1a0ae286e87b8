"""Cluster mode, the slow cases: run by `make test-slow`
(scripts/run-slow-tests.sh sets STRATA_SLOW=1), skipped by `make test`.

- Chaos: 50 rounds (STRATA_CLUSTER_ROUNDS) of a random fault under produce
  and group-consume load on an RF3 topic: kill -9 and restart of a node (now
  and then of two), SIGSTOP/SIGCONT of a node, SIGTERM and restart, kill -9
  and restart of etcd, SIGSTOP/SIGCONT of etcd. After each round the
  producers must get acks again (liveness); at the end every node is back in
  every ISR and the checker (cluster_checker.py) finds nothing acknowledged
  lost and nothing seen gone. The seed is printed; STRATA_CLUSTER_SEED
  repeats a run.
- Network partition: etcd and each node run in their own network namespace
  with their own address, joined by veth pairs to a bridge (cluster_harness's
  NetLab, created and removed by the test, also on failure). The leader of a
  partition is cut off from etcd and the other nodes (its clients still reach
  it); a new leader is elected on the majority side, the cut-off node stops
  naming itself the leader in its Kafka Metadata once its lease lapsed,
  produce goes on on the majority side, and after the partition heals the
  old leader rejoins the ISR. Nothing
  acknowledged is lost, nothing seen goes away, and no namespace or link is
  left behind.
"""

import os
import random
import time

import pytest
from confluent_kafka.admin import AdminClient

from cluster_checker import ConsumeLoad, History, ProduceLoad, check_history, explain, read_all, running
from cluster_harness import NetLab, cluster_support, netns_support, wait_until
from cluster_harness import cluster_factory  # noqa: F401  (fixture)

SKIP = cluster_support()
pytestmark = [
    pytest.mark.skipif(os.environ.get("STRATA_SLOW") != "1",
                       reason="slow cluster tests: run with `make test-slow` (STRATA_SLOW=1)"),
    pytest.mark.skipif(SKIP is not None, reason=SKIP or ""),
]

PARTITIONS = 3
ROUNDS = int(os.environ.get("STRATA_CLUSTER_ROUNDS", "50"))
PRODUCER_CONFIG = {"message.timeout.ms": 120000}


class Chaos:
    """One random fault per round, each undone before the round ends."""

    def __init__(self, cluster, rng):
        self.c, self.rng = cluster, rng
        self.log = []

    def pause(self, low, high):
        time.sleep(self.rng.uniform(low, high))

    def round(self, i):
        c, rng = self.c, self.rng
        kind = rng.choices(["kill9", "sigstop", "sigterm", "etcd-kill9", "etcd-sigstop", "kill9-two"],
                           weights=[30, 25, 15, 12, 10, 8])[0]
        nodes = rng.sample(c.nodes, 2)
        node = nodes[0]
        started = time.monotonic()
        if kind == "kill9":
            c.kill9(node)
            self.pause(0.2, 3)
            c.restart(node)
        elif kind == "kill9-two":
            for n in nodes:
                c.kill9(n)
            self.pause(0.2, 2)
            for n in nodes:
                c.restart(n)
        elif kind == "sigstop":
            c.sigstop(node)
            self.pause(0.2, 3)
            c.sigcont(node)
        elif kind == "sigterm":
            code = c.stop(node)
            assert code == 0, f"round {i}: node {node.node_id} exited {code} on SIGTERM"
            self.pause(0.1, 1.5)
            c.restart(node)
        elif kind == "etcd-kill9":
            c.etcd.kill9()
            self.pause(0.2, 2.5)
            c.etcd.start()
        else:
            c.etcd.sigstop()
            self.pause(0.2, 2.5)
            c.etcd.sigcont()
        who = "etcd" if kind.startswith("etcd") else ",".join(str(n.node_id) for n in
                                                               (nodes if kind == "kill9-two" else [node]))
        self.log.append(f"round {i}: {kind} {who} ({time.monotonic() - started:.1f}s)")
        return self.log[-1]


@pytest.mark.timeout_s(1500)
def test_random_faults_under_load_lose_nothing(cluster_factory):
    seed = int(os.environ.get("STRATA_CLUSTER_SEED", time.time_ns() % 1_000_000))
    print(f"seed {seed} (STRATA_CLUSTER_SEED={seed} repeats this run), {ROUNDS} rounds")
    rng = random.Random(seed)
    c = cluster_factory()
    topic = "chaos"
    c.create_topic(topic, PARTITIONS)
    c.wait_full_isr(topic, range(PARTITIONS))

    h = History()
    producers = [ProduceLoad(c.bootstrap, topic, PARTITIONS, h, name=f"p{i}", rate=150, config=PRODUCER_CONFIG)
                 for i in range(2)]
    consumers = [ConsumeLoad(c.bootstrap, topic, h, group="chaos-group", name=f"c{i}") for i in range(2)]
    chaos = Chaos(c, rng)
    with running(*producers, *consumers):
        wait_until(lambda: h.acked_count() >= 200, 30, "acks before the first fault")
        for i in range(ROUNDS):
            acked = h.acked_count()
            print(chaos.round(i), flush=True)
            wait_until(lambda: h.acked_count() >= acked + 50, 90,
                       f"acks again after {chaos.log[-1]} (seed {seed})", interval_s=0.2,
                       explain=explain(h, *producers, *consumers))
            fatal = [f for p in producers for f in p.fatal]
            assert not fatal, f"fatal producer errors after {chaos.log[-1]}: {fatal}"
        c.wait_formed(timeout_s=60)
        c.wait_full_isr(topic, range(PARTITIONS), timeout_s=90)
        seen = h.seen_count()
        wait_until(lambda: h.seen_count() >= seen + 50, 60, "consumers still reading after the last round",
                   explain=explain(h, *producers, *consumers))

    acked, failed, seen = h.snapshot()
    verdict = check_history(h, read_all(c.bootstrap, topic, range(PARTITIONS), timeout_s=120))
    print(verdict.summary())
    print(f"{len(failed)} deliveries failed (allowed, not acknowledged); rounds:\n  " + "\n  ".join(chaos.log))
    assert verdict.ok, f"seed {seed}: {verdict.summary()}\nrounds:\n  " + "\n  ".join(chaos.log)


def kafka_leader(bootstrap, topic, partition):
    """The partition's leader in the Metadata of the broker(s) at bootstrap."""
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic=topic, timeout=5)
    return md.topics[topic].partitions[partition].leader


NETNS_SKIP = netns_support() if SKIP is None and os.environ.get("STRATA_SLOW") == "1" else None


@pytest.fixture
def netlab():
    lab = NetLab(["etcd", "n1", "n2", "n3"])
    try:
        lab.create()
        yield lab
    finally:
        lab.destroy()
    left = lab.leftovers()
    assert not left, f"network namespaces or links left behind: {left}"


@pytest.mark.skipif(NETNS_SKIP is not None, reason=NETNS_SKIP or "")
@pytest.mark.timeout_s(300)
def test_network_partition_of_a_leader(netlab, cluster_factory):
    members = ["n1", "n2", "n3"]
    c = cluster_factory(hosts=[netlab.ip_of(m) for m in members], netns=[netlab.netns(m) for m in members],
                        etcd_host=netlab.ip_of("etcd"), etcd_netns=netlab.netns("etcd"))
    topic = "partitioned"
    c.create_topic(topic, PARTITIONS)
    c.wait_full_isr(topic, range(PARTITIONS))

    h = History()
    prod = ProduceLoad(c.bootstrap, topic, PARTITIONS, h, name="p", rate=200, config=PRODUCER_CONFIG)
    cons = ConsumeLoad(c.bootstrap, topic, h, group="partition-group", name="c")
    with running(prod, cons):
        wait_until(lambda: h.acked_count(partition=0) >= 100 and h.seen_count() >= 50, 30,
                   "acks and consumed records before the partition")
        before = c.partition(topic, 0)
        old = c.node(before["leader"])
        majority = [n for n in c.nodes if n is not old]
        isolated_at = time.monotonic()
        netlab.isolate(f"n{old.node_id}")

        # The majority side (with etcd) elects a new leader from the ISR.
        after = c.wait_leader(topic, 0, timeout_s=30, not_in=(old.node_id,), via=majority[0])
        elected_s = time.monotonic() - isolated_at
        assert after["leader"] in before["isr"], (before, after)
        assert after["leader_epoch"] > before["leader_epoch"], (before, after)
        assert old.node_id not in after["isr"], f"the isolated node is still in the ISR: {after}"
        # The cut-off node cannot renew its lease: once that lapsed it must
        # stop presenting itself as the leader to clients, who still reach it
        # (else they keep sending it records it can never commit).
        ttl_s = c.session_ttl_ms / 1000
        wait_until(lambda: kafka_leader(old.bootstrap, topic, 0) != old.node_id, ttl_s + 5,
                   f"the isolated node {old.node_id} to stop naming itself leader of {topic}/0 in its Kafka "
                   f"Metadata (its {ttl_s:.0f} s lease lapsed)")
        acked0 = h.acked_count(partition=0)
        wait_until(lambda: h.acked_count(partition=0) >= acked0 + 100, 45,
                   "acks on partition 0 from the majority side", explain=explain(h, prod, cons))
        print(f"new leader {after['leader']} (epoch {after['leader_epoch']}) {elected_s:.2f}s after the partition")

        netlab.heal(f"n{old.node_id}")  # (the fixture removes the whole lab if the test fails first)
        healed_at = time.monotonic()
        c.wait_formed(timeout_s=60)
        c.wait_full_isr(topic, range(PARTITIONS), timeout_s=60, via=majority[0])
        # The old leader's own view has caught up: it knows the newer epoch.
        wait_until(lambda: c.partition(topic, 0, node=old)["leader_epoch"] >= after["leader_epoch"]
                   and old.node_id in c.partition(topic, 0, node=old)["isr"], 30,
                   f"node {old.node_id}'s /v1/cluster to show epoch >= {after['leader_epoch']} with itself in the ISR")
        print(f"node {old.node_id} back in the ISR {time.monotonic() - healed_at:.2f}s after healing")
        acked = h.acked_count()
        wait_until(lambda: h.acked_count() >= acked + 100, 30, "acks after healing", explain=explain(h, prod, cons))

    assert not prod.fatal, prod.fatal
    verdict = check_history(h, read_all(c.bootstrap, topic, range(PARTITIONS), timeout_s=120))
    print(verdict.summary())
    verdict.assert_ok()
