"""Strata's volume routes (/v1/volumes, /v1/snapshots, /v1/clones) on the
shared admin API client (bench/common/bench_admin.py)."""

from bench_admin import AdminClient
from bench_procs import BenchError

REQUEST_TIMEOUT_S = 60.0


class Admin(AdminClient):
    def __init__(self, port):
        super().__init__(port, REQUEST_TIMEOUT_S)

    def expect(self, method, path, body, statuses, what):
        status, doc, seconds = self.request(method, path, body)
        if status not in statuses:
            raise BenchError(f"{what}: {method} {path} answered {status}: {doc}")
        return doc, seconds

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
