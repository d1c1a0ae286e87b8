"""A client for Strata's admin API (JSON over HTTP on loopback), shared by the
benchmarks. Each benchmark adds the routes it uses (bench/volumes/admin.py,
bench/clones/bench_clones.py)."""

import http.client
import json
import time

from bench_procs import BenchError, wait_until_ready


class AdminClient:
    def __init__(self, port, timeout_s):
        self.port = port
        self.timeout_s = timeout_s

    def request(self, method, path, body=None):
        """Returns (status, parsed JSON or None, wall seconds) on one new connection.

        The time covers connect, request and the whole reply, as a user's
        client sees it.
        """
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
        try:
            conn.request(method, path, body=payload, headers=headers)
            reply = conn.getresponse()
            raw = reply.read()
        except OSError as e:
            raise BenchError(f"admin API {method} {path} failed: {e}") from e
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = {"raw": raw.decode("utf-8", "replace")}
        return reply.status, doc, seconds

    def wait_healthy(self, child, timeout_s, interval_s=0.1):
        """Waits until GET /health answers 200; fails if the child exits first."""
        def healthy():
            try:
                return self.request("GET", "/health")[0] == 200
            except BenchError:
                return False
        wait_until_ready(child, healthy, timeout_s, "answer 200 on /health", interval_s=interval_s)
