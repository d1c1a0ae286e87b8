"""What every kill -9 crash test does the same way: a run against a server on
a temp work dir, named checks, and the end of a run (stop the server, show
its log on failure, clean up on success)."""

import shutil
import tempfile
from pathlib import Path

from strata_server import StrataServer


def check(results, name, ok, detail=""):
    results.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{'' if ok else ' -- ' + detail}")


def finish(results, server, workdir):
    """Stops the server (it must exit 0 on SIGTERM), prints the summary line,
    and returns True when every check passed. The work dir is kept on failure."""
    if server.running():
        code = server.stop()
        check(results, "SIGTERM after the test exits 0", code == 0, f"exit code {code}")
    failed = [name for name, ok in results if not ok]
    if failed:
        print(f"server log: {server.log_path} (data dir kept: {server.data_dir})")
        print(server.log_tail(60))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return not failed


def run_with_server(prefix, extra_args, name, body):
    """Starts a server on a new temp work dir, runs body(server, results), and
    ends the run with finish(); an exception from body is a failed check."""
    workdir = Path(tempfile.mkdtemp(prefix=f"strata-{prefix}-"))
    server = StrataServer(workdir, extra_args=extra_args, name=name)
    results = []
    try:
        server.start()
        body(server, results)
    except Exception as e:
        check(results, "test ran to completion", False, repr(e))
    finally:
        passed = finish(results, server, workdir)
    return passed
