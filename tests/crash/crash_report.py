"""What every kill -9 crash test reports the same way: named checks, and the
end of a run (stop the server, show its log on failure, clean up on success)."""

import shutil


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
