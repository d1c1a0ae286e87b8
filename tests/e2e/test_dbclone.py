"""Database clones (issue 9), the fast cases: a real PostgreSQL 15 source
(pg_source.PgSource, pgbench scale 1) copied into Strata, prepared
snapshots, clones on their own ports with their own user and password, reset,
branches, kill -9 of Strata, bad input, and a clone's postgres crashing.

Most tests share one server (the module fixture `env`) that holds a physical
source `prod` on the btrfs backend and its first snapshot. Tests that need
other server flags (a 2-port pool, a 3-second idle timeout) start their own.
The kill -9 test runs last on the shared server. Slow cases (volume backend,
schedules, kill -9 during create) are in test_dbclone_slow.py.

The contract is docs/formats/admin-api-db.md.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import time

import pytest

from pg_source import (PG_BIN, DbServer, PgSource, cli_ok, free_port_range, clone_scalar, clone_sql, connect_clone, parse_time,
                       postmaster_pid_for_port, skip_reason, wait_accepting, wait_clone_running, wait_clone_status,
                       wait_exclusive)
from strata_server import wait_until

SKIP = skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

SCALE = 1
ACCOUNTS = SCALE * 100_000
USER, PASSWORD = "dev", "dev-Secret-4711"
MiB = 1 << 20
IDLE_CLONE_MAX_BYTES = 5 * MiB   # the target for an idle clone's own disk

# Servers whose logs go into the report of a failed test (conftest's hook).
SERVERS = []


@pytest.fixture(autouse=True)
def _attach_server_logs(request):
    request.node._strata_servers = SERVERS


class Env:
    def __init__(self, server, source, snapshot):
        self.server = server
        self.source = source
        self.snapshot = snapshot


@pytest.fixture(scope="module")
def pg_src():
    src = PgSource(scale=SCALE).start()
    yield src
    src.stop()


def start_db_server(workdir, extra_args=(), ports=10, name="strata"):
    server = DbServer(workdir, extra_args=extra_args, ports=ports, name=name)
    SERVERS.append(server)
    server.start(timeout_s=60)
    return server


def close_db_server(server):
    problems = server.close()
    assert not problems, "; ".join(problems) + "\n" + server.log_tail(80)


@pytest.fixture(scope="module")
def env(tmp_path_factory, pg_src):
    # The data dir is under pytest's root-only (0700) tmp dir on purpose: the
    # clones (OS user postgres) must still start, through the pool mount.
    server = start_db_server(tmp_path_factory.mktemp("dbclone") / "strata", ports=20)
    try:
        src = server.create_source("prod", "physical", pg_src.physical_conninfo)
        assert src["name"] == "prod" and src["mode"] == "physical", src
        server.wait_source_ready("prod")
        snapshot = server.take_snapshot("prod")
        yield Env(server, pg_src, snapshot)
    finally:
        close_db_server(server)


def accounts_marked(clone, mark, user=USER, password=PASSWORD):
    return clone_scalar(clone, user, password, "SELECT count(*) FROM pgbench_accounts WHERE abalance = %s",
                        (mark,))


def table_exists(target, name, user=USER, password=PASSWORD):
    """Whether a table exists in a PgSource or a clone (its API object)."""
    query = "SELECT to_regclass(%s) IS NOT NULL"
    if isinstance(target, PgSource):
        return target.scalar(query, (name,))
    return clone_scalar(target, user, password, query, (name,))


def check_clone_doc(clone, server, clone_id, snapshot_id=None):
    assert clone["id"] == clone_id
    assert clone["status"] == "OK", clone
    assert clone["host"] == "127.0.0.1", clone
    lo, hi = server.clone_ports
    assert lo <= clone["port"] <= hi, f"port {clone['port']} outside --db-clone-ports {lo}-{hi}"
    if snapshot_id:
        assert clone["snapshot"] == snapshot_id, clone
    assert clone["user"] == USER, clone
    assert "password" not in clone, f"the API returned a password: {clone}"
    assert PASSWORD not in str(clone)
    assert isinstance(clone["exclusive_bytes"], int) and clone["exclusive_bytes"] >= 0, clone
    parse_time(clone["created_at"])


# --- the scenario: three clones, isolation, reset -----------------------------------
@pytest.mark.timeout_s(180)
def test_three_clones_are_isolated_and_reset_keeps_port(env):
    import psycopg
    s, src, snap = env.server, env.source, env.snapshot
    assert snap["source"] == "prod" and snap["status"] == "ready", snap
    clones = [s.create_db_clone(f"iso{i}", USER, PASSWORD, snapshot=snap["id"]) for i in range(3)]
    for i, c in enumerate(clones):
        check_clone_doc(c, s, f"iso{i}", snap["id"])
    assert len({c["port"] for c in clones}) == 3, f"clones share a port: {clones}"

    for c in clones:
        assert clone_scalar(c, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
        # Connections authenticate: a wrong password is refused.
        with pytest.raises(psycopg.OperationalError):
            connect_clone(c, USER, "not-the-password").close()

    # Writes in iso0: an update, a new table, and ~20 MB of new rows.
    a = clones[0]
    clone_sql(a, USER, PASSWORD, "UPDATE pgbench_accounts SET abalance = 4242 WHERE aid <= 10")
    clone_sql(a, USER, PASSWORD, "CREATE TABLE only_in_iso0 AS "
                                 "SELECT g AS id, repeat('x', 1000) AS pad FROM generate_series(1, 20000) g")
    assert accounts_marked(a, 4242) == 10
    assert table_exists(a, "only_in_iso0")

    # ... are invisible to the other clones and to the source.
    for c in clones[1:]:
        assert accounts_marked(c, 4242) == 0, f"{c['id']} sees iso0's update"
        assert not table_exists(c, "only_in_iso0"), f"{c['id']} sees iso0's table"
        assert clone_scalar(c, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
    assert src.scalar("SELECT count(*) FROM pgbench_accounts WHERE abalance = 4242") == 0
    assert not table_exists(src, "only_in_iso0")

    # An idle clone owns almost no disk; the written one owns its writes.
    idle = wait_exclusive(s, "iso2", lambda b: b < IDLE_CLONE_MAX_BYTES,
                          f"iso2's exclusive_bytes under {IDLE_CLONE_MAX_BYTES}")
    busy = wait_exclusive(s, "iso0", lambda b: b > 10 * MiB, "iso0's exclusive_bytes to count its ~20 MB")
    assert busy > idle

    # Reset: same port and credentials, the change is gone.
    reset = s.reset_clone("iso0")
    assert reset["status"] == "OK", reset
    assert reset["port"] == a["port"] and reset["host"] == a["host"], (a, reset)
    assert reset["snapshot"] == snap["id"], reset
    assert reset["reset_at"], reset
    assert accounts_marked(reset, 4242) == 0
    assert not table_exists(reset, "only_in_iso0")
    assert clone_scalar(reset, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
    wait_exclusive(s, "iso0", lambda b: b < IDLE_CLONE_MAX_BYTES, "iso0's exclusive_bytes to drop after reset")

    # The list shows all three with their ports.
    listed = {c["id"]: c for c in s.db_clones()}
    for c in clones:
        assert listed[c["id"]]["port"] == c["port"] and listed[c["id"]]["status"] == "OK", listed


# --- branches, through the CLI --------------------------------------------------------------
@pytest.mark.timeout_s(180)
def test_branch_commit_and_clone_from_branch_with_cli(env):
    s, src, snap = env.server, env.source, env.snapshot
    out = cli_ok(s, "db", "clone", "create", "br1", "--snapshot", snap["id"], "--user", USER,
                 "--password", PASSWORD)
    assert "br1" in out, out
    assert PASSWORD not in out, f"the CLI printed the password: {out}"
    br1 = s.db_clone("br1")
    check_clone_doc(br1, s, "br1", snap["id"])
    assert str(br1["port"]) in out, f"`db clone create` should print the port: {out}"

    branch = s.db("POST", "/branches", {"name": "feature", "snapshot": snap["id"]}, expect=201)
    assert branch["name"] == "feature" and branch["head"] == snap["id"] and branch["source"] == "prod", branch

    clone_sql(br1, USER, PASSWORD, "CREATE TABLE feature_t AS SELECT g AS id FROM generate_series(1, 7) g")
    clone_sql(br1, USER, PASSWORD, "UPDATE pgbench_branches SET bbalance = 99")
    out = cli_ok(s, "db", "branch", "commit", "feature", "--clone", "br1", "--message", "add feature_t")

    branches = {b["name"]: b for b in s.db("GET", "/branches")["branches"]}
    head = branches["feature"]["head"]
    assert head != snap["id"], branches
    assert head in out, f"`db branch commit` should print the new snapshot {head}: {out}"
    log = s.db("GET", "/branches/feature/log")
    assert log["branch"] == "feature"
    ids = [e["id"] for e in log["log"]]
    assert ids == [head, snap["id"]], f"log should be the commit then the base snapshot: {log}"
    top = log["log"][0]
    assert top["message"] == "add feature_t" and top["branch"] == "feature" and top["parent"] == snap["id"], top
    out = cli_ok(s, "db", "branch", "log", "feature")
    assert head in out and snap["id"] in out and "add feature_t" in out, out

    # The committed clone keeps running and keeps its data.
    assert clone_scalar(br1, USER, PASSWORD, "SELECT count(*) FROM feature_t") == 7
    clone_sql(br1, USER, PASSWORD, "INSERT INTO feature_t VALUES (8)")

    # A clone of the branch's head sees the commit (and not what came after).
    br2 = s.create_db_clone("br2", USER, PASSWORD, branch="feature")
    assert br2["snapshot"] == head, br2
    assert br2["port"] != br1["port"]
    assert clone_scalar(br2, USER, PASSWORD, "SELECT count(*) FROM feature_t") == 7
    assert clone_scalar(br2, USER, PASSWORD, "SELECT sum(bbalance) FROM pgbench_branches") == 99 * SCALE
    assert clone_scalar(br2, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
    # The source and the snapshot the branch started from are unchanged.
    assert not table_exists(src, "feature_t")
    assert s.db("GET", f"/snapshots/{snap['id']}")["id"] == snap["id"]

    listing = cli_ok(s, "db", "clone", "list")
    for c in (br1, br2):
        line = next((ln for ln in listing.splitlines() if ln.split()[:1] == [c["id"]]), None)
        assert line is not None, f"{c['id']} missing from `db clone list`:\n{listing}"
        assert str(c["port"]) in line, f"{c['id']}'s port missing from its row: {line}"


# --- physical: the source's new data shows up in the next snapshot --------------------------
@pytest.mark.timeout_s(150)
def test_new_source_data_appears_in_next_snapshot(env):
    s, src, first = env.server, env.source, env.snapshot
    doc = s.source("prod")
    assert doc["status"] == "ready", doc
    assert doc["sync"]["pid"] > 0, f"a physical source has a sync instance: {doc}"
    assert src.replication_password not in str(doc) and "********" in doc["conninfo"], doc["conninfo"]

    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    src.sql("CREATE TABLE fresh (id int PRIMARY KEY, note text)")
    src.sql("INSERT INTO fresh SELECT g, 'new' FROM generate_series(1, 42) g")
    src.wait_replayed(what="the sync instance to replay the insert")

    snap = s.take_snapshot("prod", message="after fresh")
    assert snap["id"] != first["id"]
    assert parse_time(snap["data_state_at"]) >= before, \
        f"data_state_at {snap['data_state_at']} is older than the insert at {before}"
    assert snap["size_bytes"] > 0, snap
    listed = s.snapshots("prod")
    assert listed[0]["id"] == snap["id"], f"snapshots are newest first: {[x['id'] for x in listed]}"
    assert first["id"] in [x["id"] for x in listed]
    assert s.source("prod")["latest_snapshot"] == snap["id"]

    # The default snapshot of a source is its latest.
    new = s.create_db_clone("fresh1", USER, PASSWORD, source="prod")
    assert new["snapshot"] == snap["id"], new
    assert clone_scalar(new, USER, PASSWORD, "SELECT count(*) FROM fresh") == 42
    old = s.create_db_clone("old1", USER, PASSWORD, snapshot=first["id"])
    assert not table_exists(old, "fresh")
    # Reset to the latest snapshot brings the new data into the old clone.
    moved = s.reset_clone("old1", latest=True)
    assert moved["snapshot"] == snap["id"] and moved["port"] == old["port"], moved
    assert clone_scalar(moved, USER, PASSWORD, "SELECT count(*) FROM fresh") == 42
    for clone_id in ("fresh1", "old1"):
        s.delete_db_clone(clone_id)
        assert s.http("GET", f"/v1/db/clones/{clone_id}")[0] == 404
    assert old["port"] not in s.clone_postmasters(), "a deleted clone's postgres still runs"


# --- logical source, psql --------------------------------------------------------------------
@pytest.mark.timeout_s(180)
def test_logical_source_clone_with_psql(env):
    s, src = env.server, env.source
    created = s.create_source("logi", "logical", src.logical_conninfo, databases=["app"])
    assert created["mode"] == "logical" and created["databases"] == ["app"], created
    s.wait_source_ready("logi")
    snap = s.take_snapshot("logi")
    assert snap["source"] == "logi"
    clone = s.create_db_clone("logi1", USER, PASSWORD, snapshot=snap["id"])
    check_clone_doc(clone, s, "logi1", snap["id"])
    assert clone["source"] == "logi"

    env_vars = {**os.environ, "PGPASSWORD": PASSWORD, "PGCONNECT_TIMEOUT": "10"}
    conninfo = f"host={clone['host']} port={clone['port']} user={USER} dbname=app"
    psql = subprocess.run([str(PG_BIN / "psql"), conninfo, "-At", "-c", "SELECT count(*) FROM pgbench_accounts",
                           "-c", "SELECT count(*) FROM pgbench_branches"],
                          capture_output=True, text=True, env=env_vars, timeout=30)
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.split() == [str(ACCOUNTS), str(SCALE)], psql.stdout
    # Writes work and stay in the clone.
    psql = subprocess.run([str(PG_BIN / "psql"), conninfo, "-At", "-v", "ON_ERROR_STOP=1", "-c",
                           "CREATE TABLE via_psql (x int); INSERT INTO via_psql VALUES (1), (2); "
                           "SELECT sum(x) FROM via_psql"],
                          capture_output=True, text=True, env=env_vars, timeout=30)
    assert psql.returncode == 0 and psql.stdout.split()[-1] == "3", psql.stdout + psql.stderr
    assert not table_exists(src, "via_psql")
    bad = subprocess.run([str(PG_BIN / "psql"), conninfo, "-At", "-c", "SELECT 1"], capture_output=True,
                         text=True, env={**env_vars, "PGPASSWORD": "wrong"}, timeout=30)
    assert bad.returncode != 0 and "password authentication failed" in bad.stderr, bad.stderr


# --- async create, delete -------------------------------------------------------------------
def test_async_create_then_delete(env):
    s = env.server
    status, text = s.http("POST", "/v1/db/clones?async=true",
                          {"id": "async1", "user": USER, "password": PASSWORD, "snapshot": env.snapshot["id"]})
    assert status == 202, f"?async=true answered {status}: {text}"
    doc = json.loads(text)
    assert doc["id"] == "async1" and doc["status"] in ("CREATING", "OK"), doc
    done = wait_clone_status(s, "async1", {"OK", "FATAL"}, timeout_s=60)
    assert done["status"] == "OK", done
    wait_accepting(done, USER, PASSWORD)
    s.delete_db_clone("async1")
    assert s.http("GET", "/v1/db/clones/async1")[0] == 404
    assert done["port"] not in s.clone_postmasters()


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.timeout_s(150)
def test_bad_input_gets_clear_errors_and_harms_nothing(env):
    s, snap = env.server, env.snapshot
    keeper = s.create_db_clone("keeper", USER, PASSWORD, snapshot=snap["id"])
    clone_sql(keeper, USER, PASSWORD, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")

    def keeper_fine():
        assert clone_scalar(keeper, USER, PASSWORD, "SELECT sum(x) FROM kept") == 1
        assert s.db_clone("keeper")["status"] == "OK"

    def expect(method, path, body, status, code, mentions=None):
        got_status, got_code, message = s.db_error(method, path, body)
        assert (got_status, got_code) == (status, code), \
            f"{method} {path} {body}: got {got_status} {got_code} ({message}), expected {status} {code}"
        assert message.strip(), f"{method} {path}: empty error message"
        if mentions:
            assert mentions in message, f"{method} {path}: message {message!r} should name {mentions!r}"
        keeper_fine()

    base = {"user": USER, "password": PASSWORD}
    # Unknown objects: 404 naming what is missing.
    expect("GET", "/clones/nope", None, 404, "not_found", "nope")
    expect("DELETE", "/clones/nope", None, 404, "not_found", "nope")
    expect("POST", "/clones/nope/reset", {}, 404, "not_found", "nope")
    expect("POST", "/clones", {"id": "x1", "snapshot": "no-such-snap", **base}, 404, "not_found", "no-such-snap")
    expect("POST", "/clones", {"id": "x2", "branch": "no-such-branch", **base}, 404, "not_found", "no-such-branch")
    expect("POST", "/clones", {"id": "x3", "source": "no-such-source", **base}, 404, "not_found", "no-such-source")
    expect("POST", "/clones/keeper/reset", {"snapshot": "no-such-snap"}, 404, "not_found", "no-such-snap")
    expect("GET", "/snapshots/no-such-snap", None, 404, "not_found", "no-such-snap")
    expect("DELETE", "/snapshots/no-such-snap", None, 404, "not_found", "no-such-snap")
    expect("POST", "/sources/no-such-source/snapshots", {}, 404, "not_found", "no-such-source")
    expect("GET", "/sources/no-such-source", None, 404, "not_found", "no-such-source")
    expect("GET", "/branches/no-such-branch/log", None, 404, "not_found", "no-such-branch")
    expect("POST", "/branches/no-such-branch/commit", {"clone": "keeper", "message": "m"}, 404, "not_found",
           "no-such-branch")
    expect("POST", "/branches", {"name": "b-missing", "snapshot": "no-such-snap"}, 404, "not_found", "no-such-snap")
    for x in ("x1", "x2", "x3"):
        assert s.http("GET", f"/v1/db/clones/{x}")[0] == 404, f"a refused clone {x} was recorded"

    # Invalid ids: 400.
    for bad in ("Upper", "a" * 64, "a/b", "", "-lead", "_lead", "with space", "dot.ted", "caf\u00e9", "a\nb"):
        expect("POST", "/clones", {"id": bad, "snapshot": snap["id"], **base}, 400, "invalid_argument")
        expect("POST", "/branches", {"name": bad, "snapshot": snap["id"]}, 400, "invalid_argument")
        expect("POST", "/sources", {"name": bad, "mode": "physical", "conninfo": env.source.physical_conninfo},
               400, "invalid_argument")
    # Other malformed requests.
    expect("POST", "/clones", {"id": "nouser", "snapshot": snap["id"]}, 400, "invalid_argument")
    expect("POST", "/clones", {"id": "two", "snapshot": snap["id"], "branch": "main", **base}, 400,
           "invalid_argument")
    expect("POST", "/sources", {"name": "m1", "mode": "sideways", "conninfo": "host=x"}, 400, "invalid_argument")
    expect("POST", "/sources", {"name": "m2", "mode": "logical", "conninfo": env.source.logical_conninfo}, 400,
           "invalid_argument")  # logical needs databases
    expect("POST", "/sources", {"name": "m3", "mode": "physical", "conninfo": env.source.physical_conninfo,
                                "backend": "zfs"}, 400, "invalid_argument")
    expect("POST", "/sources", {"name": "m4", "mode": "physical", "conninfo": env.source.physical_conninfo,
                                "snapshot_schedule": "every tuesday"}, 400, "invalid_argument")
    status, text = s.http("POST", "/v1/db/clones", None)
    assert status == 400, f"a POST without a body answered {status}: {text}"
    keeper_fine()

    # Duplicates: 409, and the first one keeps its password.
    expect("POST", "/clones", {"id": "keeper", "snapshot": snap["id"], "user": USER, "password": "other-pw"}, 409,
           "already_exists", "keeper")
    expect("POST", "/sources", {"name": "prod", "mode": "physical", "conninfo": env.source.physical_conninfo},
           409, "already_exists", "prod")
    s.db("POST", "/branches", {"name": "dup-branch", "snapshot": snap["id"]}, expect=201)
    expect("POST", "/branches", {"name": "dup-branch", "snapshot": snap["id"]}, 409, "already_exists", "dup-branch")
    # A snapshot in use cannot be deleted.
    got_status, got_code, _ = s.db_error("DELETE", f"/snapshots/{snap['id']}")
    assert got_status == 409, f"deleting a snapshot with clones answered {got_status} {got_code}"
    keeper_fine()


def test_longest_valid_id_works(env):
    s = env.server
    longest = "a" * 63
    try:
        c = s.create_db_clone(longest, USER, PASSWORD, snapshot=env.snapshot["id"])
        assert clone_scalar(c, USER, PASSWORD, "SELECT 1") == 1
        branch = s.db("POST", "/branches", {"name": longest, "snapshot": env.snapshot["id"]}, expect=201)
        assert branch["name"] == longest
    finally:
        if s.http("GET", f"/v1/db/clones/{longest}")[0] == 200:
            s.delete_db_clone(longest)


# --- a clone's postgres crashes --------------------------------------------------------------
@pytest.mark.timeout_s(120)
def test_clone_postgres_crash_is_fatal_with_reason(env):
    s = env.server
    crashy = s.create_db_clone("crashy", USER, PASSWORD, snapshot=env.snapshot["id"])
    other = s.create_db_clone("bystander", USER, PASSWORD, snapshot=env.snapshot["id"])
    pid = crashy.get("pid") or postmaster_pid_for_port(crashy["port"], under=s.pool_mount.path)
    assert pid, f"cannot find the postmaster of clone crashy on port {crashy['port']}"
    assert postmaster_pid_for_port(crashy["port"], under=s.pool_mount.path) == pid, \
        f"the API's pid {pid} is not the postmaster on port {crashy['port']}"
    with open(f"/proc/{pid}/status") as f:
        uid_line = next(line for line in f if line.startswith("Uid:"))
    assert uid_line.split()[1] != "0", f"a clone's postgres runs as root: {uid_line}"
    os.kill(pid, signal.SIGKILL)

    fatal = wait_clone_status(s, "crashy", {"FATAL"}, timeout_s=30)
    assert fatal["reason"].strip(), f"FATAL without a reason: {fatal}"
    # The others are unharmed.
    assert clone_scalar(other, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
    assert s.source("prod")["status"] == "ready"
    s.delete_db_clone("crashy")
    s.delete_db_clone("bystander")
    assert s.http("GET", "/v1/db/clones/crashy")[0] == 404


# --- metrics ----------------------------------------------------------------------------------
def test_metrics_report_clones(env):
    s = env.server
    s.create_db_clone("metered", USER, PASSWORD, snapshot=env.snapshot["id"])
    text = s.metrics()
    families = sorted({line.split("{")[0].split()[0] for line in text.splitlines()
                       if line.startswith("strata_db_")})
    # clones by status, cloning time, exclusive bytes, pool used/free, snapshot
    # count, newest snapshot lag, sync replay lag (bytes, seconds).
    assert len(families) >= 6, f"few strata_db_ metrics: {families}"
    lines = [line for line in text.splitlines() if line.startswith("strata_db_")]
    assert any("OK" in line for line in lines), f"no clone count by status OK: {families}"
    assert any('"metered"' in line for line in lines), "no per-clone line for clone 'metered':\n" + "\n".join(lines)


def test_passwords_never_returned_or_logged(env):
    s, src = env.server, env.source
    everything = "".join(s.http("GET", f"/v1/db/{what}")[1] for what in ("sources", "snapshots", "clones",
                                                                          "branches"))
    for secret in (PASSWORD, src.replication_password, src.superuser_password, "other-pw"):
        assert secret not in everything, "the API returned a password"
        assert secret not in s.log_text(), "the server log holds a password"


# --- port pool exhausted, idle destroy (own server) -------------------------------------------
@pytest.mark.timeout_s(180)
def test_port_pool_exhausted_and_idle_clones_destroyed(tmp_path, pg_src):
    s = start_db_server(tmp_path / "strata", ports=2, name="strata-2ports",
                        extra_args=["--db-clone-max-idle-minutes", "0.05"])
    try:
        out = cli_ok(s, "db", "source", "create", "prod", "--mode", "physical",
                     "--conninfo", pg_src.physical_conninfo, timeout_s=180)
        assert pg_src.replication_password not in out, "the CLI printed the source's password"
        assert s.source("prod")["status"] == "ready"
        out = cli_ok(s, "db", "snapshot", "create", "prod")
        snap = s.snapshots("prod")[0]
        assert snap["id"] in out, out

        kept = s.create_db_clone("kept", USER, PASSWORD, snapshot=snap["id"], protected=True)
        assert kept["protected"] is True
        idle = s.create_db_clone("idle", USER, PASSWORD, snapshot=snap["id"])
        assert {kept["port"], idle["port"]} == set(range(s.clone_ports[0], s.clone_ports[1] + 1))
        session = connect_clone(idle, USER, PASSWORD)   # an open session: not idle
        try:
            status, code, message = s.db_error("POST", "/clones",
                                               {"id": "third", "snapshot": snap["id"], "user": USER,
                                                "password": PASSWORD})
            assert (status, code) == (409, "limit_exceeded"), (status, code, message)
            assert message.strip()
            assert s.http("GET", "/v1/db/clones/third")[0] == 404
            for c in (kept, idle):
                assert clone_scalar(c, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
            # Well past the 3 s idle limit, but with a session open.
            time.sleep(5)
            assert session.execute("SELECT 1").fetchone()[0] == 1
            assert s.db_clone("idle")["status"] == "OK"
        finally:
            session.close()

        # No session: the unprotected clone goes, the protected one stays.
        wait_until(lambda: s.http("GET", "/v1/db/clones/idle")[0] == 404, 30, interval_s=0.5,
                   what="the idle unprotected clone to be destroyed")
        assert idle["port"] not in s.clone_postmasters(), "the destroyed clone's postgres still runs"
        assert s.db_clone("kept")["status"] == "OK"
        assert clone_scalar(kept, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
        # Its port is free again.
        third = s.create_db_clone("third", USER, PASSWORD, snapshot=snap["id"], protected=True)
        assert third["port"] == idle["port"]
        assert clone_scalar(third, USER, PASSWORD, "SELECT 1") == 1
    finally:
        close_db_server(s)


# --- a source that cannot be reached, or goes away ---------------------------------------------
@pytest.mark.timeout_s(240)
def test_unreachable_or_vanished_source_shows_why_and_harms_no_clone(env):
    s = env.server
    bystander = s.create_db_clone("bystander", USER, PASSWORD, snapshot=env.snapshot["id"])

    # Nothing listens there: the copy fails and the status says why.
    dead_port = free_port_range(1)[0]
    s.create_source("nowhere", "physical", f"host=127.0.0.1 port={dead_port} user=replicator password=x")
    wait_until(lambda: s.source("nowhere")["status"] == "error", 60, interval_s=0.2,
               what="the unreachable source to fail")
    reason = s.source("nowhere")["reason"]
    assert "pg_basebackup" in reason and str(dead_port) in reason, reason
    status, code, _ = s.db_error("POST", "/sources/nowhere/snapshots")
    assert (status, code) == (409, "unavailable")
    s.db("DELETE", "/sources/nowhere", expect=204)

    # A source that goes away after its copy: the sync instance says it is
    # not streaming; snapshots and clones of what it holds keep working.
    gone = PgSource(scale=1, name="pgsrc-gone").start()
    try:
        s.create_source("gone", "physical", gone.physical_conninfo)
        s.wait_source_ready("gone")
        first = s.take_snapshot("gone")
        gone.stop(cleanup=False)
        wait_until(lambda: "not streaming" in s.source("gone")["reason"], 60, interval_s=0.5,
                   what="the vanished source's status to say why")
        assert s.source("gone")["status"] == "ready"
        later = s.take_snapshot("gone")
        clone = s.create_db_clone("from-gone", USER, PASSWORD, snapshot=later["id"])
        assert clone_scalar(clone, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == 100_000
        assert clone_scalar(bystander, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
        s.delete_db_clone("from-gone")
        for snap in (later, first):
            s.db("DELETE", "/snapshots/" + snap["id"], expect=204)
        s.db("DELETE", "/sources/gone", expect=204)
    finally:
        gone.stop()
    s.delete_db_clone("bystander")


# --- kill -9 of Strata (last: it restarts the shared server) ----------------------------------
@pytest.mark.timeout_s(240)
def test_kill9_restart_brings_every_clone_back(env):
    s, snap = env.server, env.snapshot
    k1 = s.create_db_clone("k1", USER, PASSWORD, snapshot=snap["id"])
    s.create_db_clone("k2", USER, PASSWORD, source="prod", protected=True)
    clone_sql(k1, USER, PASSWORD, "CREATE TABLE before_kill (x int); INSERT INTO before_kill VALUES (1), (2)")

    everything = s.db_clones()
    assert not [c for c in everything if c["status"] in ("CREATING", "RESETTING", "DELETING")], everything
    # (A FATAL clone left by an earlier failing test is not this test's business.)
    clones = {c["id"]: c for c in everything if c["status"] == "OK"}
    ports = {cid: c["port"] for cid, c in clones.items()}
    postmasters = s.clone_postmasters()
    assert set(postmasters) == set(ports.values()), f"postmasters {postmasters} vs clones {ports}"
    subvolumes = s.subvolumes()
    snapshots = {x["id"] for x in s.snapshots()}

    s.kill9()
    s.start(timeout_s=120)

    for cid, port in ports.items():
        c = wait_clone_running(s, cid, timeout_s=60)
        assert c["status"] == "OK", f"clone {cid} after kill -9: {c}"
        assert c["port"] == port, f"clone {cid} moved from port {port} to {c['port']}"
        wait_accepting(c, USER, PASSWORD)
    assert clone_scalar(clones["k1"], USER, PASSWORD, "SELECT sum(x) FROM before_kill") == 3
    assert {x["id"] for x in s.snapshots()} == snapshots
    s.wait_source_ready("prod")
    after = s.clone_postmasters()
    assert set(after) == set(ports.values()), f"orphan or missing clone postgres: {after} vs {ports}"
    assert s.subvolumes() == subvolumes, "datasets differ after kill -9 and restart (orphans?)"
    # Everything still works.
    c = s.create_db_clone("k3", USER, PASSWORD, snapshot=snap["id"])
    assert clone_scalar(c, USER, PASSWORD, "SELECT count(*) FROM pgbench_accounts") == ACCOUNTS
    reset = s.reset_clone("k1")
    assert reset["port"] == ports["k1"] and not table_exists(reset, "before_kill")
