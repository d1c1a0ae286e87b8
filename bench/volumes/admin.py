"""A small client for Strata's admin API (/v1/volumes, /v1/snapshots, /v1/clones)."""

import http.client
import json
import time

from procs import BenchError, wait_until_ready

REQUEST_TIMEOUT_S = 60.0


class Admin:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None):
        """Returns (status, parsed JSON or None, wall seconds) on one new connection.

        The time covers connect, request and the whole reply, as a user's
        client sees it.
        """
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
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

    def expect(self, method, path, body, statuses, what):
        status, doc, seconds = self.request(method, path, body)
        if status not in statuses:
            raise BenchError(f"{what}: {method} {path} answered {status}: {doc}")
        return doc, seconds

    def wait_healthy(self, child, timeout_s):
        def healthy():
            try:
                return self.request("GET", "/health")[0] == 200
            except BenchError:
                return False
        wait_until_ready(child, healthy, timeout_s, "answer 200 on /health", interval_s=0.1)

    def usage(self):
        """The server's write accounting: GET /v1/volumes' "usage" object."""
        doc, _ = self.expect("GET", "/v1/volumes", None, (200,), "reading volume usage")
        return doc["usage"]

    def create_volume(self, name, size_bytes):
        status, doc, _ = self.request("POST", "/v1/volumes",
                                      {"name": name, "size_bytes": size_bytes})
        if status in (404, 405, 503):
            raise BenchError(f"this strata binary has no volumes face (POST /v1/volumes "
                             f"answered {status}: {doc}); build the server with volumes "
                             f"and NBD, or leave strata out with --systems")
        if status not in (200, 201):
            raise BenchError(f"creating volume {name}: POST /v1/volumes answered {status}: {doc}")
        return doc

    def create_snapshot(self, volume, name):
        _, seconds = self.expect("POST", "/v1/snapshots", {"volume": volume, "name": name},
                                 (200, 201), f"snapshot {volume}@{name}")
        return seconds

    def create_clone(self, snapshot, name):
        _, seconds = self.expect("POST", "/v1/clones", {"snapshot": snapshot, "name": name},
                                 (200, 201), f"clone {snapshot} -> {name}")
        return seconds
