"""Cluster mode for the end-to-end tests: one etcd and N `strata server`
nodes (default 3), each node with its own data dir and ports, coordinated
through etcd (`--cluster-etcd`).

- `Etcd`: etcd 3.4 (/usr/bin/etcd) on free ports with a temp data dir and
  `--heartbeat-interval=25 --election-timeout=250`, so that the nodes'
  1-second leases work. It can be killed (-9), SIGSTOPped and restarted on
  the same data dir, and can replay its key history (`history()`), which
  orders cluster events exactly (etcd revisions are one total order).
- `ClusterNode`: a `StrataServer` (strata_server.py) with the cluster flags,
  optionally on another address and inside a network namespace (the slow
  partition test); everything else (log, start, stop, kill -9, restart on the
  same data dir and ports) is StrataServer's.
- `Cluster`: etcd plus the nodes, and what the tests do to them: `kill9`,
  `stop` (SIGTERM), `sigstop`/`sigcont`, `restart`, `status` (GET
  /v1/cluster), `leader_of`, `wait_until`, `wait_full_isr`, `create_topic`
  (Kafka CreateTopics with a replication factor), `bootstrap` (every node).
  `close()` stops everything it started (also a SIGSTOPped process) and
  removes the data dirs; the logs stay next to them for the report.
- `cluster_factory`: the pytest fixture. Everything a test started is stopped
  and removed after it, even when it failed, and the logs of etcd and every
  node are attached to a failing test's report (conftest.py's hook reads
  `item._strata_servers`). A node that does not exit 0 on SIGTERM at the end
  fails the test, as in conftest.py.

The server's side of the contract: `strata server --cluster-etcd URL
--node-id N --advertise-host H --cluster-session-ttl-ms MS
--replica-lag-time-max-ms MS`, and `GET /v1/cluster` on any node.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from strata_server import LogFile, StrataServer, free_port, strata_binary

ETCD_BIN = os.environ.get("STRATA_ETCD_BIN", "/usr/bin/etcd")
ETCDCTL_BIN = os.environ.get("STRATA_ETCDCTL_BIN", "/usr/bin/etcdctl")
ETCD_START_TIMEOUT_S = 20
NODE_START_TIMEOUT_S = 30
NODE_STOP_TIMEOUT_S = 20
CLUSTER_FORM_TIMEOUT_S = 30
SESSION_TTL_MS = 1000
REPLICA_LAG_TIME_MAX_MS = 2000

_support_cache = {}


def cluster_support():
    """None when the strata binary and etcd can run a cluster, else why not
    (a skip reason)."""
    if "reason" not in _support_cache:
        reason = None
        try:
            binary = strata_binary()
            out = subprocess.run([str(binary), "server", "--help"], capture_output=True, text=True, timeout=30)
            if "--cluster-etcd" not in out.stdout + out.stderr:
                reason = f"{binary} has no cluster mode (`strata server --help` lists no --cluster-etcd)"
        except (OSError, subprocess.TimeoutExpired) as e:
            reason = f"cannot run the strata binary: {e}"
        if reason is None and not os.access(ETCD_BIN, os.X_OK):
            reason = f"etcd not found at {ETCD_BIN} (Debian package etcd-server)"
        _support_cache["reason"] = reason
    return _support_cache["reason"]


def wait_until(predicate, timeout_s, what="condition", interval_s=0.1, explain=None):
    """Polls predicate until it returns something truthy and returns that.
    Exceptions from the predicate (a node that is down, a half-written
    answer) count as "not yet". Fails after timeout_s, naming the last value
    or exception seen, and explain() if given (e.g. the clients' state)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except (OSError, ValueError, KeyError, LookupError, AssertionError) as e:
            last = e
        if time.monotonic() > deadline:
            extra = f"; {explain()}" if explain else ""
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {last!r}"[:3000] + extra)
        time.sleep(interval_s)


def http_json(url, timeout_s=5):
    """GET url and parse its JSON body; raises OSError/ValueError on failure."""
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:
        return json.loads(resp.read().decode())


def _signal(proc, sig):
    if proc is not None and proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass


def _in_netns(netns, argv):
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


class Etcd(LogFile):
    """A one-member etcd 3.4 on free ports with its own data dir."""

    def __init__(self, workdir, host="127.0.0.1", netns=None, name="etcd"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.host = host
        self.netns = netns
        self.name = name
        self.client_port = free_port()
        self.peer_port = free_port()
        self.log_path = self.workdir / f"{name}.log"
        self.proc = None
        self.paused = False
        self.starts = 0

    @property
    def endpoint(self):
        return f"http://{self.host}:{self.client_port}"

    def command(self):
        peer = f"http://{self.host}:{self.peer_port}"
        return _in_netns(self.netns, [
            ETCD_BIN, "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{self.name}={peer}",
            "--heartbeat-interval=25", "--election-timeout=250",
        ])

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout_s=ETCD_START_TIMEOUT_S):
        assert not self.running(), "etcd is already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.paused = False

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with code {self.proc.returncode}; log:\n{self.log_tail(40)}")
            return self.healthy()
        try:
            wait_until(ready, timeout_s, what="etcd /health")
        except RuntimeError as e:
            raise AssertionError(str(e)) from None
        return self

    def healthy(self):
        try:
            return http_json(self.endpoint + "/health", timeout_s=1).get("health") == "true"
        except (OSError, ValueError):
            return False

    def kill9(self):
        if self.proc is not None:
            _signal(self.proc, signal.SIGKILL)
            self.proc.wait()
        self.paused = False

    def stop(self, timeout_s=15):
        """SIGTERM (after SIGCONT if paused); SIGKILL if it does not go."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.sigcont()
        _signal(self.proc, signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def sigstop(self):
        _signal(self.proc, signal.SIGSTOP)
        self.paused = True

    def sigcont(self):
        if self.paused:
            _signal(self.proc, signal.SIGCONT)
            self.paused = False

    def restart(self, hard=True, timeout_s=ETCD_START_TIMEOUT_S):
        if hard:
            self.kill9()
        else:
            self.stop()
        return self.start(timeout_s)

    def remove_data(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- reading the store ------------------------------------------------
    def _post(self, path, body, timeout_s=5):
        req = urllib.request.Request(self.endpoint + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return json.loads(resp.read().decode())

    def revision(self):
        """The store's current revision."""
        doc = self._post("/v3/kv/range", {"key": base64.b64encode(b"\0").decode(), "limit": 1})
        return int(doc["header"]["revision"])

    def get_prefix(self, prefix):
        """{key: value} of every key under prefix, now."""
        start = prefix.encode()
        end = start[:-1] + bytes([start[-1] + 1])
        doc = self._post("/v3/kv/range", {"key": base64.b64encode(start).decode(),
                                          "range_end": base64.b64encode(end).decode()})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in doc.get("kvs", [])}

    def history(self, prefix, start_revision=1, settle_s=1.5):
        """Every change under prefix since start_revision, in revision order:
        [{"key", "type": "put"|"delete", "revision", "value"}]. Replays etcd's
        history with `etcdctl watch --rev` (nothing is compacted in a test)."""
        cmd = [ETCDCTL_BIN, f"--endpoints={self.endpoint}", "watch", "--prefix", prefix,
               f"--rev={start_revision}", "-w", "json"]
        env = dict(os.environ, ETCDCTL_API="3")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            out, _ = proc.communicate(timeout=settle_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        events = []
        for line in out.decode(errors="replace").splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            for ev in doc.get("Events") or []:
                kv = ev.get("kv", {})
                events.append({
                    "key": base64.b64decode(kv.get("key", "")).decode(errors="replace"),
                    "type": "delete" if ev.get("type") == 1 else "put",
                    "revision": int(kv.get("mod_revision", 0)),
                    "value": base64.b64decode(kv.get("value", "")).decode(errors="replace"),
                })
        events.sort(key=lambda e: e["revision"])
        return events


class ClusterNode(StrataServer):
    """One `strata server` in cluster mode. Kafka, admin HTTP, PostgreSQL and
    NBD listen on `host` (default loopback); with `netns` the process runs
    inside that network namespace (`ip netns exec` replaces itself with
    strata, so the pid is the server's)."""

    def __init__(self, workdir, node_id, etcd_endpoints, host="127.0.0.1", netns=None,
                 session_ttl_ms=SESSION_TTL_MS, replica_lag_time_max_ms=REPLICA_LAG_TIME_MAX_MS,
                 default_replication_factor=None, extra_args=()):
        super().__init__(workdir, extra_args=extra_args, name=f"node{node_id}")
        self.node_id = node_id
        self.host = host
        self.netns = netns
        self.etcd_endpoints = etcd_endpoints
        self.session_ttl_ms = session_ttl_ms
        self.replica_lag_time_max_ms = replica_lag_time_max_ms
        self.default_replication_factor = default_replication_factor
        self.paused = False

    @property
    def bootstrap(self):
        return f"{self.host}:{self.kafka_port}"

    @property
    def admin_url(self):
        return f"http://{self.host}:{self.http_port}"

    def command(self):
        argv = super().command()
        # StrataServer listens on loopback; move every listener to our host.
        for flag, port in (("--http-listen", self.http_port), ("--pg-listen", self.pg_port),
                           ("--nbd-listen", self.nbd_port)):
            argv[argv.index(flag) + 1] = f"{self.host}:{port}"
        argv += ["--cluster-etcd", self.etcd_endpoints, "--node-id", str(self.node_id),
                 "--advertise-host", self.host,
                 "--cluster-session-ttl-ms", str(self.session_ttl_ms),
                 "--replica-lag-time-max-ms", str(self.replica_lag_time_max_ms)]
        if self.default_replication_factor:
            argv += ["--default-replication-factor", str(self.default_replication_factor)]
        if not self.host.startswith("127."):
            # Network-namespace clusters listen on 10.x addresses, without authentication on purpose.
            argv.append("--allow-insecure")
        return _in_netns(self.netns, argv)

    def spawn(self):
        self.paused = False
        return super().spawn()

    def kafka_accepts(self):
        try:
            with socket.create_connection((self.host, self.kafka_port), timeout=1):
                return True
        except OSError:
            return False

    def live(self):
        """Running and not SIGSTOPped: it can answer."""
        return self.running() and not self.paused

    def cluster_status(self, timeout_s=5):
        """GET /v1/cluster on this node (raises OSError/ValueError if it cannot answer)."""
        return http_json(self.admin_url + "/v1/cluster", timeout_s=timeout_s)


def find_partition(status, topic, partition):
    for p in status.get("partitions", []):
        if p["topic"] == topic and p["partition"] == partition:
            return p
    return None


class Cluster:
    """etcd plus `size` strata nodes (ids 1..size)."""

    def __init__(self, workdir, size=3, session_ttl_ms=SESSION_TTL_MS,
                 replica_lag_time_max_ms=REPLICA_LAG_TIME_MAX_MS, extra_args=(), hosts=None, netns=None,
                 etcd_host="127.0.0.1", etcd_netns=None, default_replication_factor=None, per_node_args=None):
        """per_node_args(node_id) -> [flags]: extra flags of one node (its
        own certificate, say), after extra_args."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.etcd = Etcd(self.workdir / "etcd", host=etcd_host, netns=etcd_netns)
        hosts = hosts or ["127.0.0.1"] * size
        netns = netns or [None] * size
        self.nodes = [
            ClusterNode(self.workdir / f"node{i + 1}", i + 1, self.etcd.endpoint, host=hosts[i], netns=netns[i],
                        session_ttl_ms=session_ttl_ms, replica_lag_time_max_ms=replica_lag_time_max_ms,
                        default_replication_factor=default_replication_factor,
                        extra_args=[*extra_args, *(per_node_args(i + 1) if per_node_args else [])])
            for i in range(size)]
        self.session_ttl_ms = session_ttl_ms
        self.replica_lag_time_max_ms = replica_lag_time_max_ms
        self.closed = False

    # --- processes -------------------------------------------------------
    def processes(self):
        """etcd and the nodes: what conftest's hook attaches logs of."""
        return [self.etcd, *self.nodes]

    def start(self, timeout_s=NODE_START_TIMEOUT_S):
        self.etcd.start()
        for node in self.nodes:
            node.spawn()
        for node in self.nodes:
            node.wait_ready(timeout_s)
        self.wait_formed()
        return self

    def wait_formed(self, timeout_s=CLUSTER_FORM_TIMEOUT_S):
        """Every live node answers /v1/cluster in cluster mode, with every
        live node alive and a controller."""
        want = {n.node_id for n in self.live_nodes()}

        def formed():
            for node in self.live_nodes():
                st = node.cluster_status()
                alive = {n["id"] for n in st.get("nodes", []) if n.get("alive", True)}
                if st.get("mode") != "cluster" or st.get("node_id") != node.node_id:
                    raise AssertionError(f"node {node.node_id} answered {st}")
                if not want <= alive or st.get("controller") in (None, -1, 0):
                    return False
            return True
        wait_until(formed, timeout_s, what=f"nodes {sorted(want)} to see each other and a controller")

    def node(self, node_id):
        return self.nodes[node_id - 1]

    def live_nodes(self, exclude=()):
        ex = {n if isinstance(n, int) else n.node_id for n in exclude}
        return [n for n in self.nodes if n.live() and n.node_id not in ex]

    @property
    def bootstrap(self):
        """Every node's Kafka address, for bootstrap.servers."""
        return ",".join(n.bootstrap for n in self.nodes)

    def kill9(self, node):
        node.kill9()
        node.paused = False

    def stop(self, node, timeout_s=NODE_STOP_TIMEOUT_S):
        """SIGTERM (a controlled shutdown); returns the exit code (None if it
        had to be killed after timeout_s)."""
        self.sigcont(node)
        return node.stop(timeout_s)

    def sigstop(self, node):
        _signal(node.proc, signal.SIGSTOP)
        node.paused = True

    def sigcont(self, node):
        if node.paused:
            _signal(node.proc, signal.SIGCONT)
            node.paused = False

    def restart(self, node, timeout_s=NODE_START_TIMEOUT_S):
        """Starts the node again on its data dir and ports (SIGTERM first if
        it still runs; that must exit 0)."""
        if node.running():
            code = self.stop(node)
            assert code == 0, f"node {node.node_id}: SIGTERM exit code {code}; log:\n{node.log_tail(60)}"
        node.start(timeout_s)
        return node

    def close(self):
        """Stops everything (nodes one by one with SIGTERM, then etcd) and
        removes the data dirs. Returns the problems seen (unclean exits)."""
        if self.closed:
            return []
        self.closed = True
        problems = []
        try:
            self.etcd.sigcont()
            for node in self.nodes:
                if node.running():
                    self.sigcont(node)
            for node in self.nodes:
                if node.running():
                    code = node.stop(NODE_STOP_TIMEOUT_S)
                    if code != 0:
                        problems.append(f"node {node.node_id}: exit code {code} after SIGTERM"
                                        + (f" (killed after {NODE_STOP_TIMEOUT_S}s)" if code is None else ""))
        finally:
            self.kill_all(etcd=False)  # whatever is still there (an interrupted cleanup)
            self.etcd.stop()
            for node in self.nodes:
                shutil.rmtree(node.data_dir, ignore_errors=True)
            self.etcd.remove_data()
        return problems

    def kill_all(self, etcd=True):
        """SIGKILL of every node (and etcd), for a test that gives up."""
        for node in self.nodes:
            if node.proc is not None:
                _signal(node.proc, signal.SIGKILL)
                node.proc.wait()
            node.paused = False
        if etcd:
            self.etcd.kill9()

    # --- state -----------------------------------------------------------
    def status(self, node=None, timeout_s=5):
        """GET /v1/cluster on `node`, else on the first live node that answers."""
        if node is not None:
            return node.cluster_status(timeout_s)
        last = None
        for n in self.live_nodes():
            try:
                return n.cluster_status(timeout_s)
            except (OSError, ValueError) as e:
                last = e
        raise OSError(f"no live node answered /v1/cluster (last error: {last})")

    def partition(self, topic, partition, node=None):
        st = self.status(node)
        p = find_partition(st, topic, partition)
        if p is None:
            raise LookupError(f"/v1/cluster has no partition {topic}/{partition}")
        return p

    def leader_of(self, topic, partition, node=None):
        """The leader's node id (None if the partition has none now)."""
        leader = self.partition(topic, partition, node)["leader"]
        return leader if leader is not None and leader > 0 else None

    def leader_node(self, topic, partition):
        leader = self.leader_of(topic, partition)
        return self.node(leader) if leader else None

    def wait_until(self, predicate, timeout_s, what="condition", interval_s=0.1, explain=None):
        return wait_until(predicate, timeout_s, what, interval_s, explain)

    def wait_leader(self, topic, partition, timeout_s=30, not_in=(), via=None):
        """Waits until the partition has a leader that is live and not in
        not_in (node ids), as seen by `via` (default: any live node).
        Returns the partition's entry."""
        def ok():
            p = self.partition(topic, partition, via)
            leader = p["leader"]
            if leader is None or leader <= 0 or leader in not_in or not self.node(leader).live():
                return None
            return p
        return wait_until(ok, timeout_s, what=f"a live leader of {topic}/{partition} outside {list(not_in)}")

    def wait_full_isr(self, topic, partitions, timeout_s=30, via=None):
        """Waits until every partition's ISR is its whole replica set with a
        leader (seen by `via`, default any live node). Returns the status."""
        def full():
            st = self.status(via)
            for i in partitions:
                p = find_partition(st, topic, i)
                if p is None or not p["replicas"] or sorted(p["isr"]) != sorted(p["replicas"]) \
                        or p["leader"] not in p["replicas"]:
                    return None
            return st
        return wait_until(full, timeout_s, what=f"full ISR on {topic} partitions {list(partitions)}")

    # --- Kafka -----------------------------------------------------------
    def admin(self, **config):
        from confluent_kafka.admin import AdminClient
        return AdminClient({"bootstrap.servers": self.bootstrap, **config})

    def create_topic(self, name, partitions, replication_factor=3, configs=None, timeout_s=30):
        """Kafka CreateTopics (confluent-kafka AdminClient), then waits until
        /v1/cluster shows every partition with a leader."""
        from confluent_kafka.admin import NewTopic
        configs = {"min.insync.replicas": "2"} if configs is None else configs
        admin = self.admin()  # must outlive the future
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, config=configs)],
            request_timeout=timeout_s, operation_timeout=timeout_s)
        futures[name].result(timeout=timeout_s)
        wait_until(lambda: all(find_partition(self.status(), name, i) is not None
                               and (find_partition(self.status(), name, i)["leader"] or 0) > 0
                               for i in range(partitions)),
                   timeout_s, what=f"leaders for every partition of {name}")
        return name

    def cli_status(self, node):
        """`strata cluster status --admin URL` on node: the CompletedProcess."""
        return subprocess.run([str(node.binary), "cluster", "status", "--admin", node.admin_url],
                              capture_output=True, text=True, timeout=30)


@pytest.fixture
def cluster_factory(request, tmp_path):
    """cluster_factory(size=3, **Cluster kwargs) starts and returns a Cluster.
    Everything is stopped and removed after the test; a node that does not
    exit 0 on SIGTERM then fails it."""
    clusters = []
    if not hasattr(request.node, "_strata_servers"):
        request.node._strata_servers = []
    servers = request.node._strata_servers

    def make(start=True, **kwargs):
        c = Cluster(tmp_path / f"cluster{len(clusters)}", **kwargs)
        clusters.append(c)
        servers.extend(c.processes())
        if start:
            c.start()
        return c

    try:
        yield make
    finally:
        problems = []
        for c in clusters:
            try:
                problems += c.close()
            except Exception as e:  # keep cleaning the others
                problems.append(f"cleanup failed: {e!r}")
                c.kill_all()
    if problems:
        pytest.fail("cluster did not stop cleanly: " + "; ".join(problems))


# --- network namespaces (the slow partition test) ----------------------------

NETNS_PREFIX = "strata-e2e-"


def _ip(*args, check=True):
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {out.stderr.strip()}")
    return out


def netns_support():
    """None when this process may create network namespaces and veth pairs,
    else why not (a skip reason)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"{NETNS_PREFIX}probe-{os.getpid()}"
    try:
        _ip("netns", "add", name)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        return f"cannot create a network namespace: {e}"
    _ip("netns", "del", name, check=False)
    return None


class NetLab:
    """A bridge in this (the test's) network namespace and one network
    namespace per member, each joined to the bridge by a veth pair, with its
    own address in a private /24. The test process reaches every member over
    the bridge (its address is .1). `isolate(member)` cuts a member off from
    the other members (blackhole routes on both sides) while the test's
    clients still reach it; `heal(member)` undoes that. `destroy()` kills
    whatever still runs inside the namespaces and removes the namespaces, the
    veths and the bridge; it runs even when the test failed (the fixture's
    finally) and leftovers of a killed earlier run are removed at create()."""

    def __init__(self, members):
        self.members = list(members)
        self.tag = f"{os.getpid() % 100000:05d}"
        self.bridge = f"stk{self.tag}br"
        self.subnet = None
        self.created_netns = []
        self.created_links = []
        self.isolated = {}  # member -> [(netns, prefix)] routes added

    def netns(self, member):
        return f"{NETNS_PREFIX}{os.getpid()}-{member}"

    def ip_of(self, member):
        return f"{self.subnet}.{10 + self.members.index(member)}"

    @property
    def gateway(self):
        return f"{self.subnet}.1"

    @staticmethod
    def cleanup_stale():
        """Removes namespaces (and their processes) of earlier runs whose
        pytest is gone, and bridges no namespace uses any more."""
        listed = _ip("netns", "list", check=False).stdout.split()
        live_tags = set()
        for name in listed:
            if not name.startswith(NETNS_PREFIX):
                continue
            pid = name[len(NETNS_PREFIX):].split("-")[0]
            if pid.isdigit() and os.path.exists(f"/proc/{pid}"):
                live_tags.add(f"{int(pid) % 100000:05d}")
                continue
            NetLab._kill_inside(name)
            _ip("netns", "del", name, check=False)
        for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
            parts = line.split(": ")
            if len(parts) < 2:
                continue
            link = parts[1].split("@")[0]
            if link.startswith("stk") and link.endswith("br") and link[3:8] not in live_tags:
                _ip("link", "del", link, check=False)

    @staticmethod
    def _kill_inside(netns):
        pids = _ip("netns", "pids", netns, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    def _pick_subnet(self):
        used = _ip("-4", "-o", "addr", check=False).stdout + _ip("-4", "route", check=False).stdout
        for i in range(200):
            candidate = f"10.{200 + (os.getpid() + i) % 50}.{(os.getpid() // 50 + i) % 250}"
            if f" {candidate}." not in used and f"\n{candidate}." not in "\n" + used:
                return candidate
        raise RuntimeError("no free 10.x.y.0/24 for the test network")

    def create(self):
        self.cleanup_stale()
        self.subnet = self._pick_subnet()
        _ip("link", "add", self.bridge, "type", "bridge")
        self.created_links.append(self.bridge)
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, member in enumerate(self.members):
            ns = self.netns(member)
            host_end, ns_end = f"stk{self.tag}h{i}", f"stk{self.tag}c{i}"
            _ip("netns", "add", ns)
            self.created_netns.append(ns)
            _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end, "netns", ns)
            self.created_links.append(host_end)
            _ip("link", "set", host_end, "master", self.bridge)
            _ip("link", "set", host_end, "up")
            _ip("-n", ns, "addr", "add", f"{self.ip_of(member)}/24", "dev", ns_end)
            _ip("-n", ns, "link", "set", ns_end, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return self

    def isolate(self, member, from_members=None):
        """Drops all traffic between member and from_members (default: every
        other member); the test process (the bridge address) still reaches it."""
        others = [m for m in (from_members or self.members) if m != member]
        routes = []
        for other in others:
            routes.append((self.netns(member), f"{self.ip_of(other)}/32"))
            routes.append((self.netns(other), f"{self.ip_of(member)}/32"))
        for ns, prefix in routes:
            _ip("-n", ns, "route", "add", "blackhole", prefix)
        self.isolated.setdefault(member, []).extend(routes)

    def heal(self, member):
        for ns, prefix in self.isolated.pop(member, []):
            _ip("-n", ns, "route", "del", "blackhole", prefix, check=False)

    def destroy(self):
        for ns in self.created_netns:
            self._kill_inside(ns)
        for ns in self.created_netns:
            _ip("netns", "del", ns, check=False)
        for link in reversed(self.created_links):
            if _ip("link", "show", link, check=False).returncode == 0:
                _ip("link", "del", link, check=False)
        self.created_netns, self.created_links, self.isolated = [], [], {}

    def leftovers(self):
        """Namespaces or links of this lab that still exist (should be none)."""
        listed = set(_ip("netns", "list", check=False).stdout.split())
        links = _ip("-o", "link", "show", check=False).stdout
        return [n for n in listed if n.startswith(f"{NETNS_PREFIX}{os.getpid()}-")] + \
            [w for w in links.split() if w.rstrip(":").split("@")[0].startswith(f"stk{self.tag}")]
