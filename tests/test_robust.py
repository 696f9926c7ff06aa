"""Bad input, atomic outputs, determinism and workers: whole audits of small tmp folders."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import config, io
from pipeline.audit import run_audit, screen_raw
from pipeline.cli import app
from pipeline.stages.segment import blocks_of

ARTICLE = (
    "Microneedling aftercare\n\n"
    "Microneedling has virtually no side effects. Avoid direct sun for a week after treatment.\n"
    "Most people need three sessions spaced four weeks apart. It may cause mild redness.\n"
)
PEEL = (
    "Chemical peels\r\n\r\n"
    "A chemical peel \u201cremoves dead skin\u201d and improves the texture of the skin.\r\n"
    "Peels can cause redness and peeling for a few days.\r\n"
)
FRENCH = ("Le microneedling est une technique qui consiste \u00e0 piquer la peau avec de fines "
          "aiguilles pour stimuler la production de collag\u00e8ne. Les r\u00e9sultats sont visibles "
          "apr\u00e8s quelques s\u00e9ances et la peau devient plus ferme et plus lumineuse, selon "
          "les dermatologues interrog\u00e9s par notre r\u00e9daction cette ann\u00e9e.\n")
HTML = ("<html><head><title>Laser</title><style>p{color:red} .safe{}</style>"
        "<script>var claim = 'laser has no side effects';</script></head><body>"
        "<h1>Laser resurfacing</h1><p>Laser treatment reduces fine lines and improves tone.</p>"
        "<p>Laser resurfacing can cause swelling for a few days.</p></body></html>")


def hostile_folder(root: Path) -> Path:
    """A folder with one of every kind of bad input beside good articles."""
    raw = root / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (raw / "empty.txt").write_bytes(b"")
    (raw / "binary.txt").write_bytes(random.Random(0).randbytes(4096) + b"\x00\x01\x02")
    (raw / "cp1252.txt").write_bytes(PEEL.replace("\r\n", "\n").replace("Chemical peels", "Peels at home")
                                     .encode("cp1252"))
    (raw / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ARTICLE.replace("Microneedling", "Dermarolling")
                                  .encode("utf-8"))
    (raw / "crlf.txt").write_bytes(PEEL.encode("utf-8"))
    (raw / "page.html").write_text(HTML, encoding="utf-8")
    with open(raw / "huge.txt", "wb") as fh:   # 20 MB, one line: refused by size, at once
        fh.write(b"Microneedling is safe. " * (20 * 2**20 // 23 + 1))
    (raw / "headings.txt").write_text("Microneedling\n\nAftercare\n\nCost\n", encoding="utf-8")
    (raw / "folder.txt").mkdir()                              # cannot be read: a directory
    os.symlink(raw / "missing-target.txt", raw / "dangling.txt")  # cannot be read: broken link
    os.mkfifo(raw / "pipe.txt")                               # would block a naive reader
    (raw / "copy.txt").write_text(ARTICLE, encoding="utf-8")  # identical to good.txt
    outside = root / "secret.txt"
    outside.write_text(ARTICLE.replace("Microneedling", "Botox"), encoding="utf-8")
    os.symlink(outside, raw / "escape.txt")
    (raw / "Peeling \u00e0 l'acide gly\u00e7olique.txt").write_text(
        PEEL.replace("\r\n", "\n").replace("Chemical peels", "Glycolic peels"), encoding="utf-8")
    (raw / "francais.txt").write_text(FRENCH, encoding="utf-8")
    return raw


EXPECTED_PROBLEMS = {
    "empty.txt": "empty file",
    "binary.txt": "binary file",
    "huge.txt": "file too large (20.0 MB",
    "headings.txt": "no sentence",
    "folder.txt": "is a folder",
    "dangling.txt": "broken symlink",
    "pipe.txt": "not a regular file",
    "good.txt": "duplicate of copy.txt",   # the first in name order is audited
    "escape.txt": "symlink points outside the folder",
    "francais.txt": "does not look like English",
}
AUDITED = {"copy", "cp1252", "bom", "crlf", "page", "Peeling \u00e0 l'acide gly\u00e7olique"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    raw = hostile_folder(root)
    return raw, root / "out", run_audit(raw, root / "out", validate=True, report=False)


def test_every_bad_file_is_named_with_its_problem(hostile):
    _, out, _ = hostile
    problems = pd.read_csv(out / config.PROBLEMS_CSV, keep_default_na=False)
    found = dict(zip(problems["file"], problems["problem"]))
    assert set(found) == set(EXPECTED_PROBLEMS)
    for name, words in EXPECTED_PROBLEMS.items():
        assert words in found[name], (name, found[name])


def test_the_other_articles_are_audited(hostile):
    raw, out, result = hostile
    claims = pd.read_csv(out / config.CLAIMS_CSV, keep_default_na=False)
    assert set(claims["source_id"]) == AUDITED
    assert all(v["success"] for v in result.validation.values())
    texts = set(claims["text"])
    assert "A chemical peel \u201cremoves dead skin\u201d and improves the texture of the skin." in texts
    assert "Laser treatment reduces fine lines and improves tone." in texts
    assert not any("var claim" in t or "color" in t for t in texts)


def test_offsets_hold_for_bom_crlf_and_cp1252(hostile):
    from pipeline.stages.ingest import decode

    raw, out, _ = hostile
    claims = pd.read_parquet(out / config.CLAIMS_PARQUET)
    for c in claims[claims["source_id"].isin(["bom", "crlf", "cp1252"])].itertuples():
        text = decode((raw / f"{c.source_id}.txt").read_bytes())[0]
        assert text[c.start:c.end] == c.text


def test_cli_warns_per_file_and_strict_fails(hostile, tmp_path):
    raw, _, _ = hostile
    runner = CliRunner()
    args = ["audit", "--raw", str(raw), "--out", str(tmp_path), "--no-report", "--no-validate"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    for name in EXPECTED_PROBLEMS:
        assert f"{name}:" in res.output.replace("\n", "")
    strict = runner.invoke(app, args + ["--strict"])
    assert strict.exit_code == 1 and "--strict" in strict.output


def test_duplicates_and_clashing_ids_are_screened(tmp_path):
    for name, body in (("a.md", "y"), ("a.txt", "x"), ("b.txt", "y"), ("c.txt", "x")):
        (tmp_path / name).write_text(body)
    screened = {f.path.name: f.problem for f in screen_raw(io.iter_articles(tmp_path))}
    assert screened["a.md"] is None and screened["c.txt"] is None
    assert screened["a.txt"].startswith("same source id 'a' as a.md")
    assert screened["b.txt"].startswith("duplicate of a.md")


def test_a_20_mb_paragraph_is_cut_into_bounded_blocks():
    text = "Microneedling is safe and it works. " * (20 * 2**20 // 36)
    blocks = blocks_of("x", text, text, [])
    assert max(b["end"] - b["start"] for b in blocks) <= config.MAX_BLOCK_CHARS
    assert blocks[0]["start"] == 0 and blocks[-1]["end"] == len(text.rstrip())
    assert all(text[b["start"]:b["end"]].endswith(".") for b in blocks)
    assert all(a["end"] < b["start"] for a, b in zip(blocks, blocks[1:]))


# --- atomic outputs -------------------------------------------------------------------------

TABLES = (config.CLAIMS_CSV, config.CLAIMS_PARQUET, config.CONTRADICTIONS_CSV, config.PROBLEMS_CSV,
          config.CONTRADICTION_GROUPS_CSV, config.ARTICLES_CSV)


@pytest.fixture()
def previous(tmp_path):
    """A folder audited once, and a changed folder that would give different tables."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    run_audit(raw, out, validate=False, report=False)
    before = {n: (out / n).read_bytes() for n in TABLES}
    (raw / "b.txt").write_text(PEEL, encoding="utf-8")
    return raw, out, before


def _assert_untouched(out: Path, before: dict) -> None:
    assert {n: (out / n).read_bytes() for n in TABLES} == before
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".staging")]


def test_failed_validation_keeps_the_previous_outputs(previous, stub_validator):
    import pipeline.outputs.validate as validate

    raw, out, before = previous
    stub_validator(fail=True)
    with pytest.raises(validate.ValidationFailed, match="tables not written"):
        run_audit(raw, out, validate=True, report=False)
    _assert_untouched(out, before)


def test_crash_while_writing_keeps_the_previous_outputs(previous, monkeypatch):
    raw, out, before = previous
    real = io.ChunkedTable._write_parquet

    def disk_full(self, df):
        self.fh.write(b"PAR1 half a file")
        raise OSError(28, "disk full")

    monkeypatch.setattr(io.ChunkedTable, "_write_parquet", disk_full)
    with pytest.raises(io.OutputError, match="claims.parquet: cannot be written .disk full"):
        run_audit(raw, out, validate=False, report=False)
    _assert_untouched(out, before)
    monkeypatch.setattr(io.ChunkedTable, "_write_parquet", real)

    calls = []

    def replace_then_crash(src, dst):
        calls.append(dst)
        raise OSError("crash during rename")

    monkeypatch.setattr(io.os, "replace", replace_then_crash)
    with pytest.raises(io.OutputError, match="claims.csv: cannot be replaced .crash during rename"):
        run_audit(raw, out, validate=False, report=False)
    assert calls
    _assert_untouched(out, before)


# --- determinism ----------------------------------------------------------------------------

OUTPUTS = TABLES + ("claims_review.xlsx",)


def _audit_shuffled(raw: Path, out: Path, seed: int, monkeypatch, **kw) -> dict[str, bytes]:
    real = Path.iterdir

    def shuffled(self):
        items = list(real(self))
        random.Random(seed).shuffle(items)
        return iter(items)

    real_listdir = os.listdir

    def listdir(path="."):
        names = real_listdir(path)
        random.Random(seed).shuffle(names)
        return names

    monkeypatch.setattr(Path, "iterdir", shuffled)
    monkeypatch.setattr(os, "listdir", listdir)
    try:
        run_audit(raw, out, validate=False, report=False, **kw)
    finally:
        monkeypatch.undo()
    return {n: (out / n).read_bytes() for n in OUTPUTS if (out / n).exists()}


def _xlsx_content(data: bytes) -> list:
    """Cell values of every sheet: the workbook's content, without zip timestamps."""
    import io as stdio

    import openpyxl

    book = openpyxl.load_workbook(stdio.BytesIO(data), read_only=True)
    return [(ws.title, [tuple(r) for r in ws.iter_rows(values_only=True)]) for ws in book.worksheets]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Ten articles: the five seeds and five test articles."""
    raw = tmp_path_factory.mktemp("corpus")
    for p in sorted(config.RAW_DIR.glob("*.txt")) + sorted((Path(__file__).parent / "articles").iterdir()):
        (raw / p.name).write_bytes(p.read_bytes())
    return raw


def test_listing_order_does_not_change_a_byte(corpus, tmp_path, monkeypatch):
    first = _audit_shuffled(corpus, tmp_path / "a", 1, monkeypatch)
    second = _audit_shuffled(corpus, tmp_path / "b", 2, monkeypatch, batch_size=3)
    assert set(TABLES) <= set(first)
    for name in TABLES:
        assert first[name] == second[name], name
    if "claims_review.xlsx" in first:
        assert _xlsx_content(first["claims_review.xlsx"]) == _xlsx_content(second["claims_review.xlsx"])


def test_workers_give_the_output_of_one_process(corpus, tmp_path, monkeypatch):
    one = _audit_shuffled(corpus, tmp_path / "one", 3, monkeypatch)
    two = _audit_shuffled(corpus, tmp_path / "two", 4, monkeypatch, workers=2, batch_size=2)
    for name in TABLES:
        assert one[name] == two[name], name


def test_the_audit_builds_its_validator_while_the_workers_run(corpus, tmp_path):
    """With worker processes, the main process makes the validator (seconds of importing
    great-expectations) once its first batches are out, before it waits for any result; in
    one process, only when it validates. The validation is the same either way."""
    from pipeline.audit import _run_batches, article_batches
    from pipeline.nlp import RuleSet
    from pipeline.stages.evidence import Evidence

    rules, seen = RuleSet.load(), []

    def files():
        return screen_raw(io.iter_articles(corpus))

    for workers, size in ((2, 2), (2, 50), (1, 2)):
        events: list[str] = []
        _run_batches(article_batches(files(), size), rules, {}, workers,
                     lambda t, timings, n: events.append("batch"), Evidence.empty(),
                     meanwhile=lambda: events.append("meanwhile"))
        seen.append(events)
    in_twos = -(-len(io.list_articles(corpus)) // 2)   # batches of two articles
    assert in_twos > 4
    assert seen[0] == ["meanwhile"] + ["batch"] * in_twos   # 4 batches out, then wait
    assert seen[1] == ["meanwhile", "batch"]                # one batch for two workers
    assert seen[2] == ["batch"] * in_twos                   # nothing to wait for
    one = run_audit(corpus, tmp_path / "one", report=False, workbook=False)
    run_audit(corpus, tmp_path / "two", report=False, workbook=False, workers=2, batch_size=2)
    assert one.validation["claims"]["success"] and one.timings["validate"] > 0
    assert (tmp_path / "one" / config.VALIDATION_JSON).read_bytes() == \
        (tmp_path / "two" / config.VALIDATION_JSON).read_bytes()


def test_an_audit_leaves_nothing_frozen_out_of_collection(corpus, monkeypatch):
    """The audit freezes each batch's survivors (gc.freeze: full collections skip them), and
    unfreezes them when it ends, normally or on an error, so a long-lived process (tests, a
    notebook) collects them afterwards."""
    import gc

    import pipeline.audit as audit
    from pipeline.nlp import RuleSet

    frozen = []
    real = audit.lifecycle.freeze_survivors

    def freeze():
        real()
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(audit.lifecycle, "freeze_survivors", freeze)
    audit.audit_folder(corpus, RuleSet.load(), batch_size=3)
    in_threes = -(-len(io.list_articles(corpus)) // 3)
    assert len(frozen) == in_threes > 1 and all(n > 0 for n in frozen) and gc.get_freeze_count() == 0

    def fail_second(*args, **kwargs):
        if frozen:
            raise RuntimeError("batch failed")
        return analyse(*args, **kwargs)

    analyse, frozen[:] = audit.analyse_articles, []
    monkeypatch.setattr(audit, "analyse_articles", fail_second)
    with pytest.raises(RuntimeError, match="batch failed"):
        audit.audit_folder(corpus, RuleSet.load(), batch_size=3)
    assert len(frozen) == 1 and gc.get_freeze_count() == 0
