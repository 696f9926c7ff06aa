"""Hostile text in names and claims: no live formula in a CSV a reviewer opens (issue 15,
item 6), no markup or control sequence reaching the terminal (issue 15, item 8)."""
from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import config, io
from pipeline.cli import app

ARTICLE = ("Microneedling aftercare\n\nMicroneedling has virtually no side effects. Microneedling "
           "is completely painless.\nMicroneedling can cause redness and swelling for a few days.\n")
FORMULAS = ['=HYPERLINK("http:evil","x")', "=cmd|' -C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]
PEOPLE_CSVS = (config.CLAIMS_CSV, config.ASSERTIONS_CSV, config.CONTRADICTIONS_CSV, config.PROBLEMS_CSV,
               config.FLAGS_CSV, config.REVIEW_STATUS_CSV, config.EVIDENCE_CSV,
               config.CONTRADICTION_GROUPS_CSV, config.ARTICLES_CSV)
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    """Articles named like formulas, a claim whose text starts with one, and a decision whose
    note is one; audited into out."""
    from pipeline.audit import run_audit

    root = tmp_path_factory.mktemp("injected")
    raw = root / "raw"
    raw.mkdir()
    for i, name in enumerate(FORMULAS):
        (raw / f"{name}.txt").write_text(ARTICLE.replace("a few days", f"{i + 2} days"), encoding="utf-8")
    (raw / "-list.md").write_text("# Peels\n\n- =1+1 Chemical peels are completely safe for everyone.\n"
                                  "- @home peels are completely painless.\n", encoding="utf-8")
    (raw / "=empty.txt").write_bytes(b"")
    decisions = root / "decisions.csv"
    decisions.write_text('claim_id,decision,reviewer,date,note\nc000000000000,approved,=ann,2026-01-01,'
                         '"=HYPERLINK(""http:evil"",""x"")"\n', encoding="utf-8")
    out = root / "out"
    result = run_audit(raw, out, validate=False, report=False, decisions=decisions)
    return raw, out, result


def cells(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [c for row in csv.reader(fh) for c in row]


def test_no_cell_of_a_csv_for_people_starts_a_formula(injected):
    _, out, _ = injected
    seen = []
    for name in PEOPLE_CSVS:
        for c in cells(out / name):
            assert not c.startswith(DANGEROUS), (name, c)
            seen.append(c)
    assert "'" + FORMULAS[0] in seen and "'@SUM(A1)" in seen and "'-2+3" in seen   # source ids
    assert any(c.startswith("'=HYPERLINK") for c in cells(out / config.REVIEW_STATUS_CSV))  # the note


def test_parquet_and_the_pipelines_own_readers_keep_the_raw_text(injected):
    _, out, result = injected
    raw_ids = set(pd.read_parquet(out / config.CLAIMS_PARQUET)["source_id"])
    assert set(FORMULAS) <= raw_ids
    assert set(io.read_csv(out / config.CLAIMS_CSV)["source_id"]) == raw_ids
    assert list(io.read_csv(out / config.CLAIMS_CSV)["text"]) == list(result.claims["text"])


def test_neutralising_is_undone_exactly():
    for text in ["=1", "'=1", "''=1", "'", "'x", "-", "plain", "\tx", "'\r", ""]:
        assert io.unneutralise(io.neutralise(text)) == text
        assert not str(io.neutralise(text)).startswith(DANGEROUS)


def test_the_workbook_stores_formula_like_text_as_text(injected):
    import openpyxl

    _, out, _ = injected
    book = openpyxl.load_workbook(out / config.CLAIMS_REVIEW_XLSX)
    texts = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(DANGEROUS)]
    assert texts and all(c.data_type == "s" for c in texts)
    with zipfile.ZipFile(out / config.CLAIMS_REVIEW_XLSX) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any(b"<f>" in s or b"<f " in s for s in sheets)   # not one formula cell


# --- the terminal --------------------------------------------------------------------------

def test_markup_in_names_and_problems_is_printed_literally(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (raw / "[blink]hidden.txt").write_bytes(b"")
    target = tmp_path / "x[" / "old]"
    target.mkdir(parents=True)
    (target / "t.txt").write_text(ARTICLE, encoding="utf-8")
    os.symlink(target / "t.txt", raw / "evil.txt")            # problem text holds "[/old]"
    res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(tmp_path / "out"),
                                   "--no-report", "--no-validate", "--decisions", str(tmp_path / "none.csv")])
    assert res.exit_code == 0, res.output
    assert "[blink]hidden.txt: empty file" in res.output
    assert "x[/old]/t.txt" in res.output


def test_control_characters_from_data_are_shown_as_escapes(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (raw / "\x1b[2Jclear.txt").write_bytes(b"")
    (raw / "rtl\u202eexe.txt").write_bytes(b"")
    res = CliRunner().invoke(app, ["audit", "--raw", str(raw), "--out", str(tmp_path / "out"),
                                   "--no-report", "--no-validate", "--decisions", str(tmp_path / "none.csv")])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\u202e" not in res.output
    assert "\\x1b[2Jclear.txt: empty file" in res.output and "rtl\\u202eexe.txt" in res.output


def test_check_prints_escape_sequences_of_drafts_and_names_as_escapes(tmp_path):
    draft = tmp_path / "\x1b[31mred.txt"
    draft.write_text("Microneedling is \x1b[2Jcompletely painless and totally safe for everyone.\n",
                     encoding="utf-8")
    res = CliRunner().invoke(app, ["check", str(draft), "--evidence", str(tmp_path / "none.csv")])
    assert res.exit_code == 1, res.output
    assert "\x1b" not in res.output
    assert "\\x1b[31mred.txt:1:" in res.output and "\\x1b[2Jcompletely painless" in res.output
    missing = CliRunner().invoke(app, ["check", str(tmp_path / "\x1b[2Jgone.txt")])
    assert missing.exit_code == 2 and "\x1b" not in missing.output and "\\x1b[2Jgone.txt" in missing.output


def test_review_import_errors_print_markup_literally(tmp_path):
    (tmp_path / config.CLAIMS_CSV).write_text("claim_id,text\nc000000000001,Peels are safe.\n")
    res = CliRunner().invoke(app, ["review", "import", str(tmp_path / "[red]x[/red].xlsx"),
                                   "--processed", str(tmp_path), "--decisions", str(tmp_path / "d.csv"), "--reviewer", "ann"])
    assert res.exit_code == 2
    assert "[red]x[/red].xlsx" in res.output


def test_people_csv_neutralises_text_of_every_dtype_the_same_way():
    """pandas' Arrow-backed text columns take a vectorised test, object columns a per-cell
    one: both give the same CSV, and a table with nothing to neutralise is written as is."""
    cells = ["=1+1", "plain", None, "''@x", "-", "\tx", "ok"]
    as_str = pd.DataFrame({"text": pd.Series(cells, dtype="str"), "n": range(len(cells))})
    as_object = pd.DataFrame({"text": pd.Series(cells, dtype=object), "n": range(len(cells))})
    written = io.people_csv_bytes(as_str)
    assert written == io.people_csv_bytes(as_object)
    assert written.decode().splitlines()[1:] == ["'=1+1,0", "plain,1", ",2", "'''@x,3", "'-,4", "'\tx,5", "ok,6"]
    safe = pd.DataFrame({"text": ["a", "b"], "n": [1, 2]})
    assert io.people_csv_bytes(safe) == io.csv_bytes(safe)
