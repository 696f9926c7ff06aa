"""The output set of an audit is written as one (issue 15, item 4): a lock on the out folder,
every file (tables, workbook, validation.json, report.html) complete before any is renamed,
what killed runs left removed, the out folder checked before the analysis, and disk or
permission errors as one line naming the path (issue 15, item 9)."""
from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import config, io
from pipeline.outputs import csv_text
from pipeline.audit import run_audit
from pipeline.cli import app

ARTICLE = ("Microneedling aftercare\n\nMicroneedling has virtually no side effects. Avoid direct sun "
           "for a week after treatment.\nMost people need three sessions spaced four weeks apart.\n")
PEEL = ("Chemical peels\n\nA chemical peel removes dead skin and improves the texture of the skin.\n"
        "Peels can cause redness and peeling for a few days.\n")
SET = (config.CLAIMS_CSV, config.CLAIMS_PARQUET, config.CONTRADICTIONS_CSV, config.PROBLEMS_CSV,
       config.CLAIMS_REVIEW_XLSX, config.VALIDATION_JSON, config.REPORT_HTML)
NO_DECISIONS = ["--decisions", "/nonexistent/decisions.csv"]


def folder(root: Path, **articles: str) -> Path:
    raw = root / "raw"
    raw.mkdir(exist_ok=True)
    for name, text in articles.items():
        (raw / f"{name}.txt").write_text(text, encoding="utf-8")
    return raw


def fake_validation_and_report(monkeypatch, tag: str) -> None:
    """Stand-ins for the two slow steps (great-expectations, the notebook kernel), each
    stamping its output with ``tag`` so a test sees which run wrote it."""
    import pipeline.outputs.report as report
    import pipeline.outputs.validate as validate

    class Stamped:
        def __init__(self, *args, **kwargs):
            pass

        def validate(self, name, df):
            return {"success": True, "rows": len(df), "results": [], "run": tag}

    monkeypatch.setattr(validate, "Validator", Stamped)
    monkeypatch.setattr(report, "render_report", lambda *a, **k: f"<html>{tag}</html>")


def snapshot(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in SET}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()
                  if p.name.endswith(".tmp") or p.name.startswith(config.OUT_STAGING_PREFIX))


@pytest.fixture()
def audited(tmp_path, monkeypatch):
    """A folder audited once (run 'one'), then changed so a rerun gives other tables."""
    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    fake_validation_and_report(monkeypatch, "one")
    run_audit(raw, out, decisions=None)
    before = snapshot(out)
    folder(tmp_path, b=PEEL)
    return raw, out, before


def test_a_failing_report_leaves_the_whole_previous_set(audited, monkeypatch):
    import pipeline.outputs.report as report

    raw, out, before = audited
    fake_validation_and_report(monkeypatch, "two")

    def kernel_died(*a, **k):
        raise RuntimeError("kernel died")

    monkeypatch.setattr(report, "render_report", kernel_died)
    with pytest.raises(RuntimeError, match="kernel died"):
        run_audit(raw, out, decisions=None)
    assert snapshot(out) == before          # tables, workbook and validation.json of run one
    assert leftovers(out) == []


def test_the_report_and_validation_are_of_the_same_run_as_the_tables(audited, monkeypatch):
    raw, out, before = audited
    fake_validation_and_report(monkeypatch, "two")
    run_audit(raw, out, decisions=None)
    after = snapshot(out)
    assert b'"run": "two"' in after[config.VALIDATION_JSON] and after[config.REPORT_HTML] == b"<html>two</html>"
    assert after[config.CLAIMS_CSV] != before[config.CLAIMS_CSV]
    assert leftovers(out) == []


def test_the_report_is_rendered_from_the_tables_of_its_own_run(audited, monkeypatch):
    import pipeline.outputs.report as report

    raw, out, _ = audited
    seen = {}

    def render(processed_dir, output_dir=None, **kw):
        seen["sources"] = set(io.read_csv(Path(processed_dir) / config.CLAIMS_CSV)["source_id"])
        seen["listed"] = {p.name for p in Path(output_dir).iterdir() if p.is_file()}
        return "<html>three</html>"

    monkeypatch.setattr(report, "render_report", render)
    run_audit(raw, out, decisions=None)
    assert seen["sources"] == {"a", "b"}
    assert {config.CLAIMS_CSV, config.CLAIMS_REVIEW_XLSX, config.VALIDATION_JSON} <= seen["listed"]


def test_stale_temporary_files_of_killed_runs_are_removed(audited, monkeypatch):
    raw, out, _ = audited
    (out / ".claims.csv.k1ll3d_x.tmp").write_bytes(b"x" * 4096)       # io's atomic temp file
    (out / f"{config.OUT_STAGING_PREFIX}abc123").mkdir()             # a killed run's staging
    (out / f"{config.OUT_STAGING_PREFIX}abc123" / "kernel-1.json").write_text("{}")
    (out / "notes.tmp.txt").write_text("mine")                        # not ours: kept
    run_audit(raw, out, decisions=None)
    assert leftovers(out) == []
    assert (out / "notes.tmp.txt").read_text() == "mine"


HOLD_LOCK = """
import sys, time
from pipeline import io
with io.output_set(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_run_on_the_same_out_folder_stops_at_once(tmp_path, monkeypatch):
    import pipeline.audit as audit

    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], cwd=config.ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()

        def must_not_run(*a, **k):
            raise AssertionError("the analysis ran although another audit holds the folder")

        monkeypatch.setattr(audit, "audit_folder", must_not_run)
        res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(out), "--no-report",
                                       "--no-validate", *NO_DECISIONS])
    finally:
        holder.kill()
        holder.wait()
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "another audit is writing" in lines[0]
    assert not (out / config.CLAIMS_CSV).exists()


def test_the_lock_is_released_when_the_holder_is_killed(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], cwd=config.ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with io.output_set(out) as staged:     # taken at once, and the killed run's staging removed
        assert [p.name for p in out.iterdir() if p.name.startswith(config.OUT_STAGING_PREFIX)] \
            == [staged.staging.name]


def _one_line_error(res, *words: str) -> str:
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2, res.output
    assert len(lines) == 1, res.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture()
def no_analysis(monkeypatch):
    """Fail the test if the analysis starts (the checks must come first)."""
    import pipeline.audit as audit

    def must_not_run(*a, **k):
        raise AssertionError("the analysis ran before the out folder was checked")

    monkeypatch.setattr(audit, "audit_folder", must_not_run)


def test_an_out_folder_that_is_a_file_stops_before_the_analysis(tmp_path, no_analysis):
    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    out.write_text("not a folder")
    res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(out), *NO_DECISIONS])
    _one_line_error(res, str(out), "not a folder")
    res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(out / "sub"), *NO_DECISIONS])
    _one_line_error(res, str(out / "sub"), "cannot be created")


@pytest.mark.parametrize("sub", [".", "processed"])
def test_an_out_folder_inside_the_articles_folder_stops_before_the_analysis(tmp_path, no_analysis, sub):
    """Its report.html would be audited as an article by the next run, and its evidence.csv
    would replace the curated one."""
    raw = folder(tmp_path, a=ARTICLE)
    (raw / config.EVIDENCE_CSV).write_text("curated", encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(raw / sub), *NO_DECISIONS])
    _one_line_error(res, "inside the articles folder")
    assert sorted(p.name for p in raw.iterdir()) == ["a.txt", config.EVIDENCE_CSV]


def test_an_out_folder_that_cannot_be_written_stops_before_the_analysis(tmp_path, no_analysis, monkeypatch):
    """Permission denied inside the out folder (simulated: the tests may run as root, who may
    write anywhere)."""
    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    out.mkdir()
    real_open = os.open

    def denied(path, *a, **k):
        if str(path).startswith(str(out)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", denied)
    res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(out), *NO_DECISIONS])
    _one_line_error(res, str(out), "Permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_out_folder_stops_before_the_analysis(tmp_path, no_analysis):
    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(out), *NO_DECISIONS])
    finally:
        out.chmod(0o755)
    _one_line_error(res, str(out), "not writable")


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("workbook", ["--no-workbook", "--workbook"])
def test_a_full_disk_names_the_path_and_keeps_the_previous_outputs(tmp_path, workbook):
    """A file-size limit on the audit process makes writes fail as on a full disk: in the
    out folder, or (building the workbook) in the temporary folder."""
    import tempfile

    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "pipeline", "audit", "--raw", str(raw), "--out", str(out),
            "--no-report", "--no-validate", workbook, *NO_DECISIONS]
    subprocess.run(args, cwd=config.ROOT, check=True, capture_output=True)
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    folder(tmp_path, b=PEEL * 40)
    res = subprocess.run(args, cwd=config.ROOT, capture_output=True, text=True,
                         preexec_fn=_limit_file_size(8 * 1024))
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    where = str(out / config.CLAIMS_CSV) if workbook == "--no-workbook" else tempfile.gettempdir()
    assert len(lines) == 1 and where in lines[0] and "File too large" in lines[0], res.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")} == before
    assert leftovers(out) == []


SLOW_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None,
         "outputs": [], "source": "input_dir = ''\noutput_dir = ''"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import time\ntime.sleep(120)"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}

RENDER = """
import sys
from pipeline.outputs.report import render_report
render_report(sys.argv[1], sys.argv[1], notebook=sys.argv[2])
"""


def connection_files(root: Path) -> list[Path]:
    """Jupyter kernel connection files (they hold the kernel's key) anywhere under root."""
    return [p for p in root.rglob("*.json") if p.is_file() and b'"signature_scheme"' in p.read_bytes()]


def test_a_terminated_report_leaves_no_kernel_connection_file(tmp_path, monkeypatch):
    """SIGTERM while the notebook kernel runs: the kernel's connection file (it holds the
    kernel's key) and the temporary folder are removed, and the kernel exits."""
    import json

    import psutil

    raw = folder(tmp_path, a=ARTICLE)
    processed = tmp_path / "processed"
    run_audit(raw, processed, validate=False, report=False, workbook=False, decisions=None)
    nb = tmp_path / "slow.ipynb"
    nb.write_text(json.dumps(SLOW_NOTEBOOK), encoding="utf-8")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen([sys.executable, "-c", RENDER, str(processed), str(nb)], cwd=config.ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kernels: list = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not connection_files(tmp_path):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        assert connection_files(tmp_path), "the kernel never started"
        time.sleep(1)   # let the kernel start running the sleeping cell
        kernels = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        gone, alive = psutil.wait_procs(kernels, timeout=30)
        assert not alive, "the kernel outlived the run"
        assert not connection_files(tmp_path)
        assert not list((tmp_path / "tmp").iterdir())
    finally:
        for p in [proc, *kernels]:
            try:
                p.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        proc.wait()


def test_a_writer_is_staged_like_bytes_and_a_failing_one_changes_nothing(tmp_path):
    """Large tables are formatted straight into the staged file (a writer, not bytes held in
    memory); a writer that fails leaves the previous outputs as they were."""
    out = tmp_path / "out"
    with io.output_set(out) as staged:
        staged.add("a.csv", b"old\n")
        staged.commit()
    with io.output_set(out) as staged:
        staged.add("a.csv", io.csv_writer(pd.DataFrame({"x": [1, 2]})))
        staged.commit()
    assert (out / "a.csv").read_bytes() == b"x\n1\n2\n"

    def broken(fh):
        fh.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(io.OutputError, match="a.csv: cannot be written"):
        with io.output_set(out) as staged:
            staged.add("a.csv", broken)
            staged.commit()
    assert (out / "a.csv").read_bytes() == b"x\n1\n2\n"


TABLE = pd.DataFrame({"claim_id": ["c1", "c2", "c3"], "text": ["=1+1 is safe", "b", "c"],
                      "start": [0, 10, 20], "flags": ["", "x;y", ""]})


@pytest.mark.parametrize("cut", [[3], [1, 2], [1, 1, 1]], ids=["one chunk", "two", "three"])
def test_a_table_staged_in_chunks_is_the_table_written_at_once(tmp_path, cut):
    """The Dask engine's finish writes the claim tables a chunk at a time: the CSV is the
    people CSV of the whole table byte for byte (formulas neutralised, one header), and the
    Parquet file holds its rows (one chunk: the bytes of one write)."""
    chunks, at = [], 0
    for n in cut:
        chunks.append(TABLE.iloc[at:at + n])
        at += n
    with io.output_set(tmp_path) as staged:
        with staged.table("t.csv") as csv_file, staged.table("t.parquet") as parquet_file:
            for chunk in chunks:
                csv_file.write(chunk)
                parquet_file.write(chunk)
        staged.commit()
    assert (tmp_path / "t.csv").read_bytes() == io.people_csv_bytes(TABLE)
    assert b"'=1+1 is safe" in (tmp_path / "t.csv").read_bytes()
    pd.testing.assert_frame_equal(io.read_parquet(tmp_path / "t.parquet"), io.read_parquet(
        _write(tmp_path / "whole.parquet", io.parquet_bytes(TABLE))))
    if len(cut) == 1:
        assert (tmp_path / "t.parquet").read_bytes() == io.parquet_bytes(TABLE)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_chunked_table_that_fails_names_its_file_and_changes_nothing(tmp_path, monkeypatch):
    with io.output_set(tmp_path) as staged:
        staged.add("t.csv", b"old\n")
        staged.commit()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(io.OutputError, match="t.csv: cannot be written .No space left"):
        with io.output_set(tmp_path) as staged:
            with staged.table("t.csv") as t:
                t.write(TABLE.iloc[:1])
                monkeypatch.setattr(csv_text, "write", full)   # the disk fills up
                t.write(TABLE.iloc[1:])
            staged.commit()
    assert (tmp_path / "t.csv").read_bytes() == b"old\n"


def test_an_output_folder_replaces_the_previous_one_only_on_commit(tmp_path):
    """An output folder (the Dask engine's dataset) is staged like a file: a run that fails
    before the commit leaves the previous folder whole; a committed one replaces it entirely
    (no file of the old folder survives) and a stale one is removed with the commit."""
    out = tmp_path / "out"
    with io.output_set(out) as staged:
        (staged.add_folder("dataset") / "old.parquet").write_bytes(b"old")
        staged.add("a.csv", b"a\n")
        staged.commit()
    with pytest.raises(RuntimeError):
        with io.output_set(out) as staged:
            (staged.add_folder("dataset") / "new.parquet").write_bytes(b"new")
            raise RuntimeError("validation failed")
    assert [p.name for p in (out / "dataset").iterdir()] == ["old.parquet"]
    with io.output_set(out) as staged:
        (staged.add_folder("dataset") / "new.parquet").write_bytes(b"new")
        assert staged.commit() == [out / "dataset"]
    assert [p.name for p in (out / "dataset").iterdir()] == ["new.parquet"]
    with io.output_set(out) as staged:
        staged.remove_on_commit("dataset")
        staged.add("a.csv", b"b\n")
        staged.commit()
    assert not (out / "dataset").exists() and (out / "a.csv").read_bytes() == b"b\n"
    assert sorted(p.name for p in out.iterdir()) == [config.OUT_LOCK_FILE, "a.csv"]


def test_an_output_folder_where_a_file_is_stops_the_commit(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset").write_bytes(b"not a folder")
    with pytest.raises(io.OutputError, match="dataset: is not a folder"):
        with io.output_set(out) as staged:
            staged.add_folder("dataset")
            staged.add("a.csv", b"a\n")
            staged.commit()
    assert (out / "dataset").read_bytes() == b"not a folder" and not (out / "a.csv").exists()


def test_a_local_run_keeps_a_dataset_folder_it_did_not_make(tmp_path):
    """Only a folder holding the Dask engine's table folders counts as a stale dataset: an
    empty folder of that name is left alone."""
    raw = folder(tmp_path, a=ARTICLE)
    out = tmp_path / "out"
    (out / config.DATASET_DIR).mkdir(parents=True)
    run_audit(raw, out, validate=False, report=False, workbook=False, decisions=None)
    assert (out / config.DATASET_DIR).is_dir() and (out / config.CLAIMS_CSV).is_file()


def test_read_parquet_filters_rows_as_it_reads_and_no_value_gives_the_typed_columns(tmp_path):
    """``where``: the rows holding one of the values; none wanted: no row, the same columns and
    types (a check whose draft flags nothing reads no claim of a large corpus)."""
    path = tmp_path / "t.parquet"
    io.write_parquet(path, pd.DataFrame({"id": ["a", "b", "c"], "n": [1, 2, 3], "t": ["x", "y", "x"]}))
    some = io.read_parquet(path, ["id", "n"] + ["t"], ("t", ["x"]))
    none = io.read_parquet(path, ["id", "n", "t"], ("t", []))
    assert some["id"].tolist() == ["a", "c"] and none.empty
    assert list(none.columns) == ["id", "n", "t"] and none.dtypes.to_dict() == some.dtypes.to_dict()


def test_an_audit_whose_claim_tables_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    """claims.csv is written by a thread while the audit validates the chunk: a full disk there
    still stops the run naming the file, and the previous outputs stay as they were."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("Microneedling is painless.\n\nLaser hair removal is permanent.\n",
                               encoding="utf-8")
    out = tmp_path / "out"
    run_audit(raw, out, report=False, workbook=False, decisions=None)

    def files() -> dict:
        return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}

    before = files()
    real = csv_text.write

    def full(df, fh, header=True):
        if "assertions" in df.columns:   # the claims table for people
            raise OSError(errno.ENOSPC, "No space left on device")
        real(df, fh, header)

    monkeypatch.setattr(csv_text, "write", full)
    with pytest.raises(io.OutputError, match="claims.csv: cannot be written .No space left"):
        run_audit(raw, out, report=False, workbook=False, decisions=None)
    assert files() == before and "claims.csv" in before
