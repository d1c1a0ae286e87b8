"""Fixtures for the end-to-end tests: the real strata binary on free loopback
ports with a temporary data dir.

- `strata`: a started server, stopped with SIGTERM after the test (a non-zero
  exit fails the test). Extra flags: @pytest.mark.strata_args("--flag", "v").
- `strata_factory(extra_args=(), data_dir=None, start=True, **server_kwargs)`:
  more servers (server_kwargs go to StrataServer, e.g. nbd_unix_socket).
- `nbd_strata`: like `strata`, but start() also waits for the NBD port.
- Each test runs under an alarm (default 120 s, @pytest.mark.timeout_s(N)),
  so a hung client fails the test instead of the whole run.
- When a test fails, the logs of its servers are attached to the report.
"""

import signal

import pytest

from strata_server import StrataServer

DEFAULT_TEST_TIMEOUT_S = 120


def pytest_configure(config):
    config.addinivalue_line("markers", "strata_args(*args): extra flags for the `strata` fixture's server")
    config.addinivalue_line("markers", "timeout_s(n): fail the test if it runs longer than n seconds")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in getattr(item, "_strata_servers", []):
            report.sections.append((f"strata server log ({server.name}, {server.log_path})", server.log_tail(300)))


class _TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _test_timeout(request):
    marker = request.node.get_closest_marker("timeout_s")
    seconds = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT_S

    def on_alarm(signum, frame):
        raise _TestTimeout(f"test ran longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def strata_factory(request, tmp_path):
    servers = []
    request.node._strata_servers = servers

    def make(extra_args=(), data_dir=None, start=True, name=None, **server_kwargs):
        server = StrataServer(tmp_path / (name or f"strata{len(servers)}"), extra_args=extra_args,
                              data_dir=data_dir, name=name or f"strata{len(servers)}", **server_kwargs)
        servers.append(server)
        if start:
            server.start()
        return server

    yield make

    bad_exits = []
    for server in servers:
        if server.running():
            code = server.stop()
            if code != 0:
                bad_exits.append(f"{server.name}: exit code {code} after SIGTERM")
    if bad_exits:
        pytest.fail("strata did not stop cleanly on SIGTERM: " + "; ".join(bad_exits))


@pytest.fixture
def strata(request, strata_factory):
    marker = request.node.get_closest_marker("strata_args")
    return strata_factory(extra_args=marker.args if marker else (), name="strata")


# Every volume test runs against both ways a layer file is read and written:
# through the page cache and with O_DIRECT (aligned bounce buffers included).
@pytest.fixture(params=["buffered", "direct"], ids=["io-buffered", "io-direct"])
def nbd_strata(request, strata_factory):
    marker = request.node.get_closest_marker("strata_args")
    extra_args = (marker.args if marker else ()) + ("--volume-io", request.param)
    return strata_factory(extra_args=extra_args, name="strata", wait_for_nbd=True)
