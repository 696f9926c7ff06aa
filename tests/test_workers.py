"""Worker processes end with their audit (issue 15, item 5): kill -9 of `audit --workers 2`
must not leave the workers (and multiprocessing's resource tracker) running as orphans."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from pipeline import config
from pipeline.lifecycle import exit_with_parent

ARTICLE = ("Microneedling aftercare {n}\n\nMicroneedling has virtually no side effects. Avoid direct "
           "sun for {n} days after treatment.\nMost people need three sessions spaced four weeks "
           "apart. It may cause mild redness.\n")


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def _kill_all(procs) -> None:
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree with psutil on Linux")
def test_killing_the_audit_ends_its_workers(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for n in range(2 * config.AUDIT_BATCH_ARTICLES + 1):   # three batches: both workers start
        (raw / f"a{n:03d}.txt").write_text(ARTICLE.format(n=n), encoding="utf-8")
    audit = subprocess.Popen([sys.executable, "-m", "pipeline", "audit", "--raw", str(raw), "--out",
                              str(tmp_path / "out"), "--workers", "2", "--no-report", "--no-validate",
                              "--decisions", str(tmp_path / "none.csv")],
                             cwd=config.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        parent = psutil.Process(audit.pid)
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and audit.poll() is None and len(workers) < 2:
            children = parent.children(recursive=True)
            workers = [c for c in children if "spawn_main" in _cmdline(c)]
            time.sleep(0.1)
        assert len(workers) >= 2, "the workers never started"
        audit.send_signal(signal.SIGKILL)
        audit.wait()
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [_cmdline(p) for p in alive]
    finally:
        _kill_all(children)
        if audit.poll() is None:
            audit.kill()
            audit.wait()


CHILD = """
import os, sys, time
from pipeline.lifecycle import exit_with_parent
exit_with_parent(int(sys.argv[1]))
print(os.getpid(), flush=True)
time.sleep(120)
"""

MIDDLE = """
import subprocess, sys, os, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())], stdout=sys.stdout)
time.sleep(120)
"""


def test_exit_with_parent_ends_a_process_whose_parent_was_killed(tmp_path):
    """The portable guarantee under the Linux death signal: a grandchild made by a parent that
    is then killed exits by itself."""
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, CHILD], cwd=config.ROOT, stdout=subprocess.PIPE,
                              text=True)
    child = None
    try:
        child = psutil.Process(int(middle.stdout.readline()))
        middle.send_signal(signal.SIGKILL)
        middle.wait()
        gone, alive = psutil.wait_procs([child], timeout=30)
        assert not alive
    finally:
        if child is not None:
            _kill_all([child])
        if middle.poll() is None:
            middle.kill()
            middle.wait()


def test_exit_with_parent_refuses_a_process_already_orphaned():
    code = subprocess.run([sys.executable, "-c",
                           "from pipeline.lifecycle import exit_with_parent; exit_with_parent(1)\n"
                           "print('still here')"], cwd=config.ROOT, capture_output=True, text=True)
    assert code.returncode == 1 and "still here" not in code.stdout
    assert os.getppid() != 1   # (the test itself has a live parent)
    exit_with_parent  # imported at module level: the module loads without side effects


def test_auto_workers_are_one_per_cpu_and_at_most_one_per_batch(monkeypatch):
    """--workers auto (the CLI's default): this process alone for one batch (a worker costs
    more than it saves), then a process per batch up to the CPUs this process may use."""
    from pipeline.audit import auto_workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    size = config.AUDIT_BATCH_ARTICLES
    assert [auto_workers(n) for n in (0, 1, size, size + 1, 3 * size, 100 * size)] == [1, 1, 1, 2, 3, 4]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert auto_workers(100 * size) == 1


def test_the_cli_audits_with_auto_workers_by_default(tmp_path, monkeypatch):
    """The CLI's audit resolves auto from the folder and runs its stages in that many processes."""
    from typer.testing import CliRunner

    import pipeline.audit
    from pipeline.cli import app

    raw = tmp_path / "raw"
    raw.mkdir()
    for n in range(config.AUDIT_BATCH_ARTICLES + 1):   # two batches
        (raw / f"a{n:03d}.txt").write_text(ARTICLE.format(n=n), encoding="utf-8")
    asked = []

    def audit_folder(*args, **kw):
        asked.append(kw["workers"])
        raise pipeline.audit.io.InputError("stop here")

    monkeypatch.setattr(pipeline.audit, "audit_folder", audit_folder)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    for extra, workers in (([], 2), (["--workers", "auto"], 2), (["--workers", "3"], 3)):
        res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(tmp_path / "out"), *extra])
        assert res.exit_code == 2 and "stop here" in res.output
        assert asked.pop() == workers
