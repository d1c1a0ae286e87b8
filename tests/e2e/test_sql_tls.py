"""TLS on the PostgreSQL listener (--pg-tls-cert, --pg-tls-key): libpq
(psql, psycopg 3, psycopg2) and asyncpg with sslmode=require and
verify-full, SCRAM passwords inside TLS, clients in the clear alongside, and
bad input: bytes sent after SSLRequest before the handshake (which must never
be read as if TLS had protected them), a client that is not speaking TLS, and
incomplete settings."""

import asyncio
import shutil
import ssl
import subprocess
import time

import asyncpg
import psycopg
import psycopg2
import pytest

from pg_wire import connect_raw, ssl_request, startup_packet
from strata_server import REPO_ROOT, StrataServer

SKIP = None if shutil.which("openssl") else "the openssl command line is missing"
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

MAKE_CERTS = REPO_ROOT / "scripts" / "make-cluster-certs.sh"
PASSWORD = "tls-secret-pw"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """ca.crt and pg.{crt,key} naming 127.0.0.1 and localhost; other/ca.crt, a CA that signed nothing here."""
    root = tmp_path_factory.mktemp("pg-certs")
    for where, names in ((root, "pg=IP:127.0.0.1,DNS:localhost"), (root / "other", "x=DNS:x")):
        out = subprocess.run(["bash", str(MAKE_CERTS), str(where), names], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    return root


@pytest.fixture
def server(strata_factory, certs):
    return strata_factory(extra_args=["--pg-tls-cert", str(certs / "pg.crt"), "--pg-tls-key", str(certs / "pg.key"),
                                      "--pg-auth", "scram-sha-256", "--pg-user", f"alice:{PASSWORD}"], name="strata")


def conninfo(server, **extra):
    fields = {"host": "127.0.0.1", "port": server.pg_port, "user": "alice", "password": PASSWORD, "dbname": "strata",
              "connect_timeout": 10}
    fields.update(extra)
    return " ".join(f"{k}={v}" for k, v in fields.items())


def test_libpq_clients_require_and_verify_full(server, certs):
    ca = certs / "ca.crt"
    with psycopg.connect(conninfo(server, sslmode="require"), autocommit=True) as conn:
        assert conn.info.pgconn.ssl_in_use
        conn.execute("CREATE TABLE tls_t (id integer PRIMARY KEY, v text)")
        with conn.cursor() as cur:
            with cur.copy("COPY tls_t FROM STDIN") as copy:
                for i in range(20000):
                    copy.write_row((i, f"row {i}"))
        # A result far larger than one TLS record, read in pieces.
        assert len(conn.execute("SELECT * FROM tls_t ORDER BY id").fetchall()) == 20000
    with psycopg.connect(conninfo(server, host="localhost", sslmode="verify-full", sslrootcert=ca)) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT count(*) FROM tls_t").fetchone() == (20000,)
    with psycopg2.connect(conninfo(server, sslmode="verify-full", sslrootcert=ca)) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT v FROM tls_t WHERE id = %s", (7,))
            assert cur.fetchone() == ("row 7",)
    out = subprocess.run(["psql", conninfo(server, sslmode="verify-full", sslrootcert=ca), "-c", "\\conninfo"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "SSL connection (protocol: TLSv1." in out.stdout, out.stdout + out.stderr
    # A client in the clear is still served (the server does not demand TLS).
    with psycopg.connect(conninfo(server, sslmode="disable")) as conn:
        assert not conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_wrong_ca_and_wrong_password_are_refused(server, certs):
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(conninfo(server, sslmode="verify-full", sslrootcert=certs / "other" / "ca.crt"))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(conninfo(server, sslmode="require", password="wrong"))


def test_asyncpg_over_tls(server, certs):
    async def body():
        context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        conn = await asyncpg.connect(host="127.0.0.1", port=server.pg_port, user="alice", password=PASSWORD,
                                     database="strata", ssl=context)
        try:
            assert await conn.fetchval("SELECT $1::integer + 1", 41) == 42
        finally:
            await conn.close()
    asyncio.run(asyncio.wait_for(body(), 30))


def test_bytes_after_ssl_request_are_never_read(server):
    # A StartupMessage glued to the SSLRequest arrives before the handshake:
    # answering it would let a man in the middle speak for the client.
    s = connect_raw(server.pg_port)
    s.sendall(ssl_request() + startup_packet(user="alice"))
    assert s.recv(1) == b"S"
    s.settimeout(5)
    assert s.recv(100) == b""  # closed, nothing answered
    s.close()
    # Garbage where the TLS handshake belongs ends that connection only.
    s = connect_raw(server.pg_port)
    s.sendall(ssl_request())
    assert s.recv(1) == b"S"
    s.sendall(b"\x00" * 64)
    s.settimeout(5)
    received = b""
    while chunk := s.recv(100):  # at most a TLS alert, then the server hangs up
        received += chunk
    assert len(received) < 100
    s.close()
    with psycopg.connect(conninfo(server, sslmode="require")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_without_a_certificate_ssl_is_declined(strata_factory):
    plain = strata_factory(name="plain")
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(f"host=127.0.0.1 port={plain.pg_port} user=strata dbname=strata sslmode=require")
    with psycopg.connect(f"host=127.0.0.1 port={plain.pg_port} user=strata dbname=strata sslmode=prefer") as conn:
        assert not conn.info.pgconn.ssl_in_use


def test_incomplete_or_bad_tls_settings_stop_the_server(tmp_path, certs):
    cases = [(["--pg-tls-cert", str(certs / "pg.crt")], "--pg-tls-cert needs --pg-tls-key"),
             (["--pg-tls-key", str(certs / "pg.key")], "--pg-tls-key needs --pg-tls-cert"),
             (["--pg-tls-cert", str(tmp_path / "missing.crt"), "--pg-tls-key", str(certs / "pg.key")], "--pg-tls-cert")]
    for i, (args, words) in enumerate(cases):
        s = StrataServer(tmp_path / f"bad{i}", extra_args=args, name=f"bad{i}")
        s.spawn()
        deadline = time.monotonic() + 30
        while s.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert s.proc.returncode not in (None, 0)
        assert words in s.log_tail(), s.log_tail()
