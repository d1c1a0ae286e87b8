#!/usr/bin/python3
"""A stand-in for `strata server` that lets the benchmark's Strata path run
without the real volumes face: the admin routes the benchmark calls, backed by
sparse files that nbdkit's file plugin (dir= mode) serves, one export per file.

Only for the benchmark's own tests; its figures mean nothing.
Usage: fake_strata.py server --data-dir D --nbd-listen H:P --http-listen H:P
--volume-io direct|buffered [...] (direct serves with nbdkit cache=none).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["server"])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--nbd-listen", required=True)
    p.add_argument("--http-listen", required=True)
    p.add_argument("--kafka-listen")
    p.add_argument("--pg-listen")
    p.add_argument("--volume-io", choices=["direct", "buffered"], required=True)
    return p.parse_args(argv)


def copy_sparse(src, dst):
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)


def make_handler(volumes_dir):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, status, doc=None):
            body = b"" if doc is None else json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, {"status": "ok"})
            elif self.path == "/v1/volumes":
                usage = {k: 0 for k in ("client_write_bytes", "disk_write_bytes", "map_write_bytes")}
                self.reply(200, {"volumes": [], "usage": usage})
            else:
                self.reply(404, {"error": "no such path"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            doc = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/v1/volumes":
                path = os.path.join(volumes_dir, doc["name"])
                if os.path.exists(path):
                    return self.reply(409, {"error": "exists"})
                with open(path, "wb") as f:
                    f.truncate(int(doc["size_bytes"]))
                return self.reply(201, {"name": doc["name"], "size_bytes": doc["size_bytes"]})
            if self.path == "/v1/snapshots":
                src = os.path.join(volumes_dir, doc["volume"])
                if not os.path.exists(src):
                    return self.reply(404, {"error": "no such volume"})
                copy_sparse(src, os.path.join(volumes_dir, f"{doc['volume']}@{doc['name']}"))
                return self.reply(201, {"volume": doc["volume"], "name": doc["name"]})
            if self.path == "/v1/clones":
                src = os.path.join(volumes_dir, doc["snapshot"])
                if not os.path.exists(src):
                    return self.reply(404, {"error": "no such snapshot"})
                copy_sparse(src, os.path.join(volumes_dir, doc["name"]))
                return self.reply(201, {"name": doc["name"]})
            return self.reply(404, {"error": "no such path"})
    return Handler


def main(argv):
    opts = parse(argv)
    print(f"fake strata: --volume-io {opts.volume_io}", flush=True)
    volumes_dir = os.path.join(opts.data_dir, "volumes")
    os.makedirs(volumes_dir, exist_ok=True)
    nbd_host, nbd_port = opts.nbd_listen.rsplit(":", 1)
    cache = "none" if opts.volume_io == "direct" else "default"
    nbdkit = subprocess.Popen(["nbdkit", "-f", "-i", nbd_host, "-p", nbd_port,
                               "file", f"dir={volumes_dir}", f"cache={cache}"])
    http_host, http_port = opts.http_listen.rsplit(":", 1)
    httpd = ThreadingHTTPServer((http_host, int(http_port)), make_handler(volumes_dir))

    def stop(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        nbdkit.terminate()
        nbdkit.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
