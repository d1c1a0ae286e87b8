"""The admin API secured (docs/formats/admin-api.md): a server started with
--http-token-file and --http-tls-cert/--http-tls-key answers only HTTPS,
refuses requests without the token (401, WWW-Authenticate: Bearer) except
GET /health, and serves them with it, /metrics included. The CLI, given
STRATA_TOKEN and STRATA_CA_FILE, creates, lists, re-passwords and deletes
SASL users over https; without the token it says to set STRATA_TOKEN, and
without the CA it says to set STRATA_CA_FILE. A listener on a non-loopback
address without authentication stops the server at start unless
--allow-insecure is given, and so do bad security files.
"""

import json
import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest

from strata_server import REPO_ROOT, StrataServer, free_port, strata_binary

SKIP = None if shutil.which("openssl") else "the openssl command line is missing"
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

MAKE_CERTS = REPO_ROOT / "scripts" / "make-cluster-certs.sh"
TOKEN = "e2e-admin-token-0123456789abcdef"
PASSWORD = "pw-that-must-never-be-logged"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """ca.crt and admin.{crt,key} naming 127.0.0.1 and localhost; a token file."""
    root = tmp_path_factory.mktemp("admin-certs")
    out = subprocess.run(["bash", str(MAKE_CERTS), str(root), "admin=IP:127.0.0.1,DNS:localhost"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    (root / "tokens").write_text(f"# admin API tokens\n\n{TOKEN}\n")
    return root


class SecureServer(StrataServer):
    """A StrataServer whose admin API takes HTTPS and a bearer token."""

    def __init__(self, workdir, certs):
        super().__init__(workdir, extra_args=[
            "--http-token-file", str(certs / "tokens"),
            "--http-tls-cert", str(certs / "admin.crt"), "--http-tls-key", str(certs / "admin.key")])
        self.certs_dir = certs
        self.tls = ssl.create_default_context(cafile=str(certs / "ca.crt"))

    @property
    def admin_url(self):
        return f"https://127.0.0.1:{self.http_port}"

    def request(self, method, path, token=None, body=None, timeout_s=10):
        """(status, headers, text); token None sends no Authorization header."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.admin_url + path, data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout_s, context=self.tls) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def http(self, method, path, body=None, timeout_s=10):
        status, _, text = self.request(method, path, token=TOKEN, body=body, timeout_s=timeout_s)
        return status, text


@pytest.fixture
def secure(tmp_path, certs, request):
    server = SecureServer(tmp_path / "secure", certs)
    request.node._strata_servers = [server]
    server.start()
    yield server
    if server.running():
        assert server.stop() == 0, f"strata did not stop cleanly on SIGTERM; log:\n{server.log_tail()}"


def cli(server, *args, token=TOKEN, ca=True, env=None):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("STRATA_TOKEN", "STRATA_CA_FILE", "STRATA_PASSWORD", "STRATA_ADMIN")}
    if token is not None:
        environment["STRATA_TOKEN"] = token
    if ca:
        environment["STRATA_CA_FILE"] = str(server.certs_dir / "ca.crt")
    environment.update(env or {})
    cmd = [str(server.binary), *args, "--admin", server.admin_url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=environment)


def test_token_required_except_for_health(secure):
    status, _, text = secure.request("GET", "/health")
    assert (status, json.loads(text)) == (200, {"status": "ok"})

    for path in ("/v1/topics", "/metrics", "/v1/users"):
        status, headers, text = secure.request("GET", path)
        assert status == 401, f"GET {path} without a token answered {status}: {text}"
        assert headers["WWW-Authenticate"].startswith("Bearer"), headers
        error = json.loads(text)["error"]
        assert error["code"] == "unauthorized"
        assert "Authorization: Bearer TOKEN" in error["message"] and "STRATA_TOKEN" in error["message"], error

    status, headers, _ = secure.request("GET", "/v1/topics", token="a-wrong-token-of-enough-length")
    assert status == 401 and "invalid_token" in headers["WWW-Authenticate"]

    assert secure.request("GET", "/v1/topics", token=TOKEN)[0] == 200
    status, _, metrics = secure.request("GET", "/metrics", token=TOKEN)
    assert status == 200 and 'route="unauthorized"' in metrics, metrics[:500]


def test_plain_http_is_not_served_on_the_tls_port(secure):
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{secure.http_port}/health", timeout=5).read()
    assert secure.request("GET", "/health")[0] == 200


def test_cli_manages_users_over_https(secure, tmp_path):
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")

    created = cli(secure, "user", "create", "alice", "--password-file", str(password_file))
    assert created.returncode == 0, created.stderr
    assert "Created user alice" in created.stdout

    from_env = cli(secure, "user", "create", "bob", env={"STRATA_PASSWORD": PASSWORD})
    assert from_env.returncode == 0, from_env.stderr

    again = cli(secure, "user", "create", "alice", "--password", "other")
    assert again.returncode == 1 and again.stderr.startswith("strata: "), again.stderr

    listed = cli(secure, "user", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "MECHANISMS"], listed.stdout
    assert [line.split()[0] for line in lines[1:]] == ["alice", "bob"], listed.stdout
    assert "SCRAM-SHA-256" in lines[1] and "SCRAM-SHA-512" in lines[1], listed.stdout

    changed = cli(secure, "user", "set-password", "alice", "--password", "pw-new-0123")
    assert changed.returncode == 0, changed.stderr

    deleted = cli(secure, "user", "delete", "alice")
    assert deleted.returncode == 0 and "Deleted user alice" in deleted.stdout, deleted.stderr
    missing = cli(secure, "user", "delete", "alice")
    assert missing.returncode == 1, missing.stdout

    no_token = cli(secure, "user", "list", token=None)
    assert no_token.returncode == 1
    assert "set STRATA_TOKEN" in no_token.stderr, no_token.stderr
    wrong_token = cli(secure, "user", "list", token="not-the-right-token-at-all")
    assert wrong_token.returncode == 1 and "refused the token in STRATA_TOKEN" in wrong_token.stderr

    untrusted = cli(secure, "user", "list", ca=False)
    assert untrusted.returncode == 1
    assert "STRATA_CA_FILE" in untrusted.stderr and "certificate verify failed" in untrusted.stderr, untrusted.stderr

    no_password = cli(secure, "user", "create", "carol")
    assert no_password.returncode == 1 and "STRATA_PASSWORD" in no_password.stderr, no_password.stderr

    log = secure.log_text()
    assert PASSWORD not in log and "pw-new-0123" not in log
    assert TOKEN not in log


def start_fails(tmp_path, *flags):
    """Runs `strata server` with flags on fresh loopback ports (flags given later win); its output once it exits."""
    argv = [str(strata_binary()), "server", "--data-dir", str(tmp_path / "data"),
            *[arg for flag in ("--kafka-listen", "--http-listen", "--pg-listen", "--nbd-listen")
              for arg in (flag, f"127.0.0.1:{free_port()}")], *flags]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, f"strata started with {flags}:\n{out.stdout}{out.stderr}"
    return out.stdout + out.stderr


def test_non_loopback_listeners_need_authentication_or_allow_insecure(tmp_path, certs):
    out = start_fails(tmp_path, "--nbd-listen", f"0.0.0.0:{free_port()}")
    assert "--nbd-listen listens on 0.0.0.0" in out and "--allow-insecure" in out, out

    out = start_fails(tmp_path, "--http-listen", f"0.0.0.0:{free_port()}")
    assert "--http-listen listens on 0.0.0.0" in out and "--http-token-file" in out, out

    out = start_fails(tmp_path, "--pg-listen", f"0.0.0.0:{free_port()}")
    assert "--pg-listen listens on 0.0.0.0" in out and "--pg-auth" in out, out

    # With a token file the admin API may listen beyond loopback; NBD may with --allow-insecure.
    server = StrataServer(tmp_path / "exposed", extra_args=[
        "--http-token-file", str(certs / "tokens"), "--allow-insecure"])
    argv = server.command()
    argv[argv.index("--http-listen") + 1] = f"0.0.0.0:{server.http_port}"
    argv[argv.index("--nbd-listen") + 1] = f"0.0.0.0:{server.nbd_port}"
    server.command = lambda: argv
    server.start()
    try:
        assert "without authentication (--allow-insecure)" in server.log_text()
    finally:
        assert server.stop() == 0


def test_bad_security_files_stop_the_server(tmp_path, certs):
    empty = tmp_path / "empty-tokens"
    empty.write_text("# nothing yet\n\n")
    out = start_fails(tmp_path, "--http-token-file", str(empty))
    assert f"--http-token-file {empty} holds no token" in out, out

    out = start_fails(tmp_path, "--http-token-file", str(tmp_path / "missing"))
    assert f"--http-token-file {tmp_path / 'missing'}: cannot open it" in out, out

    out = start_fails(tmp_path, "--http-tls-cert", str(certs / "admin.crt"))
    assert "--http-tls-cert needs --http-tls-key" in out, out

    out = start_fails(tmp_path, "--http-tls-cert", str(certs / "admin.key"), "--http-tls-key", str(certs / "admin.key"))
    assert f"--http-tls-cert {certs / 'admin.key'}" in out, out
