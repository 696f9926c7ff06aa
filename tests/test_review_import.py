"""`review import` against hostile and concurrent use: who decided, what was in force when the
workbook was made, two imports at once, formulas, lying sheet dimensions, oversized workbooks.

Every test drives the command line on a tiny literal audit (three claims) and real .xlsx files.
"""
from __future__ import annotations

import datetime as dt
import io as _io
import multiprocessing
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipeline import config, io, tables
from pipeline.audit import read_review_log
from pipeline.cli import app
from pipeline.outputs.workbook import build_workbook
from pipeline.review import merge_decisions
from pipeline.text import claim_id

TEXTS = ["Microneedling has virtually no side effects.",
         "Laser treatment can significantly reduce pore size in most patients.",
         "Chemical peels should be avoided by people with sensitive skin."]


def write_claims(processed: Path, texts: list[str]) -> list[str]:
    """A literal audit output folder: claims.csv with one claim per text (source s1); the ids."""
    ids = [claim_id("s1", t, 0) for t in texts]
    processed.mkdir(parents=True, exist_ok=True)
    io.write_csv(processed / config.CLAIMS_CSV,
                 pd.DataFrame({"claim_id": ids, "source_id": "s1", "text": texts}))
    return ids


@pytest.fixture()
def audit_dir(tmp_path):
    """(processed folder, claim ids, decisions path) of a three-claim audit, no decisions yet."""
    processed = tmp_path / "processed"
    return processed, write_claims(processed, TEXTS), tmp_path / "review" / "decisions.csv"


def export(processed: Path, decisions: Path, path: Path) -> Path:
    """The review workbook the audit would write now (decisions merged as they stand)."""
    claims = io.read_csv(processed / config.CLAIMS_CSV)
    merged, status = merge_decisions(claims, read_review_log(decisions))
    io.write_xlsx(path, build_workbook({"claims": merged, "contradictions": tables.empty(tables.CONTRADICTIONS),
                                        "evidence": None, "flags": None, "review_status": status}))
    return path


def edit(book: Path, out: Path, changes: dict[str, dict], sheet: str = "claims", key: str = "claim_id") -> Path:
    """A copy of the workbook with {row key: {column: value}} typed into the matching rows."""
    wb = load_workbook(book)
    ws = wb[sheet]
    col = {c.value: c.column for c in ws[1]}
    for row in range(2, ws.max_row + 1):
        for name, value in changes.get(ws.cell(row, col[key]).value, {}).items():
            ws.cell(row, col[name]).value = value
    wb.save(out)
    return out


def cell_of(book: Path, cid: str, column: str, sheet: str = "claims") -> str:
    """The coordinate (e.g. C3) of a claim's cell in a column."""
    ws = load_workbook(book)[sheet]
    col = {c.value: c.column for c in ws[1]}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["claim_id"]).value == cid)
    return ws.cell(row, col[column]).coordinate


def run_import(book: Path, processed: Path, decisions: Path, *args: str):
    return CliRunner().invoke(app, ["review", "import", str(book), "--processed", str(processed),
                                    "--decisions", str(decisions), *args])


def log(decisions: Path) -> pd.DataFrame:
    return pd.read_csv(decisions, dtype=str, keep_default_na=False)


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


# --- item 1: who decided, and what was in force when the workbook was made ------------------

def test_the_reviewer_and_date_come_from_the_import_not_the_prefilled_cells(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    decisions.parent.mkdir(parents=True)
    decisions.write_text("claim_id,decision,reviewer,date,note\n"
                         f"{ids[0]},approved,alice,2020-01-02,cited study\n")
    book = export(processed, decisions, tmp_path / "bob.xlsx")
    assert load_workbook(book)["claims"][cell_of(book, ids[0], "reviewer")].value == "alice"  # context
    bob = edit(book, tmp_path / "bob-edited.xlsx", {ids[0]: {"decision": "rejected"}})
    result = run_import(bob, processed, decisions, "--reviewer", "bob")
    assert result.exit_code == 0, result.output
    last = log(decisions).iloc[-1]
    assert (last["claim_id"], last["decision"], last["reviewer"], last["date"]) == (ids[0], "rejected", "bob", today())
    assert log(decisions).iloc[0]["reviewer"] == "alice"  # the earlier decision is kept as it was


def test_reviewer_is_required_even_when_the_reviewer_cells_are_filled(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    book = export(processed, decisions, tmp_path / "b.xlsx")
    book = edit(book, tmp_path / "e.xlsx", {ids[0]: {"decision": "approved", "reviewer": "ann"}})
    result = run_import(book, processed, decisions)
    assert result.exit_code == 2
    assert "--reviewer" in result.output
    assert not decisions.exists()


@pytest.mark.parametrize("name", ["  ", "ann\nbob", "a\x1b[2Jb"])
def test_a_blank_or_control_character_reviewer_is_refused(audit_dir, tmp_path, name):
    processed, ids, decisions = audit_dir
    book = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "e.xlsx", {ids[0]: {"decision": "approved"}})
    result = run_import(book, processed, decisions, "--reviewer", name)
    assert result.exit_code == 2 and "--reviewer" in result.output
    assert not decisions.exists()


def test_an_untouched_prefilled_row_is_context_and_never_becomes_a_new_decision(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    first = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "a1.xlsx",
                 {ids[0]: {"decision": "approved", "note": "fine"}})
    assert run_import(first, processed, decisions, "--reviewer", "alice").exit_code == 0
    before = decisions.read_bytes()
    book = export(processed, decisions, tmp_path / "b.xlsx")   # prefilled with alice's decision
    result = run_import(book, processed, decisions, "--reviewer", "bob")
    assert result.exit_code == 0, result.output
    assert decisions.read_bytes() == before


def test_an_old_workbook_cannot_silently_revert_a_later_decision(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    alice = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "alice.xlsx",
                 {ids[0]: {"decision": "approved"}})
    assert run_import(alice, processed, decisions, "--reviewer", "alice").exit_code == 0
    bob = edit(export(processed, decisions, tmp_path / "b.xlsx"), tmp_path / "bob.xlsx",
               {ids[0]: {"decision": "rejected"}})
    assert run_import(bob, processed, decisions, "--reviewer", "bob").exit_code == 0
    before = decisions.read_bytes()

    result = run_import(alice, processed, decisions, "--reviewer", "alice")   # alice's old workbook
    assert result.exit_code == 2, result.output
    assert "conflict" in result.output and ids[0] in result.output and "bob" in result.output
    assert "--force" in result.output
    assert decisions.read_bytes() == before
    assert log(decisions).iloc[-1][["decision", "reviewer"]].tolist() == ["rejected", "bob"]

    forced = run_import(alice, processed, decisions, "--reviewer", "alice", "--force")
    assert forced.exit_code == 0, forced.output
    assert log(decisions).iloc[-1][["decision", "reviewer"]].tolist() == ["approved", "alice"]
    assert len(log(decisions)) == 3   # every event kept


def test_the_workbook_carries_the_id_of_the_decision_in_force(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    book = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "a1.xlsx",
                {ids[1]: {"decision": "needs_evidence"}})
    assert run_import(book, processed, decisions, "--reviewer", "ann").exit_code == 0
    (decision_id,) = log(decisions)["decision_id"]
    assert re.fullmatch(r"d[0-9a-f]{12}", decision_id)
    again = export(processed, decisions, tmp_path / "b.xlsx")
    ws = load_workbook(again)["claims"]
    assert ws[cell_of(again, ids[1], "decision_id")].value == decision_id
    assert ws[cell_of(again, ids[0], "decision_id")].value is None


def test_a_claim_decided_twice_in_one_workbook_is_refused_naming_both_rows(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    book = export(processed, decisions, tmp_path / "a.xlsx")
    wb = load_workbook(book)
    ws = wb["claims"]
    col = {c.value: c.column for c in ws[1]}
    ws.cell(2, col["decision"]).value = "approved"
    ws.append([c.value for c in ws[2]])                       # the same claim pasted below
    ws.cell(ws.max_row, col["decision"]).value = "rejected"
    wb.save(tmp_path / "twice.xlsx")
    result = run_import(tmp_path / "twice.xlsx", processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2
    assert f"rows 2 and {ws.max_row}" in result.output and ws.cell(2, col["claim_id"]).value in result.output
    assert not decisions.exists()


def test_an_old_decisions_file_is_read_with_stable_ids_and_kept_on_the_first_import(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    decisions.parent.mkdir(parents=True)
    legacy = ("claim_id,decision,reviewer,date,note,source_id,claim_text\n"
              f"{ids[0]},rejected,ann,2025-01-01,first look,s1,{TEXTS[0]}\n"
              f"{ids[0]},approved,ann,2025-02-01,cited study,s1,{TEXTS[0]}\n"
              f"{ids[0]},approved,ann,2025-02-01,cited study,s1,{TEXTS[0]}\n")   # an exact repeat
    decisions.write_text(legacy)
    book = export(processed, decisions, tmp_path / "a.xlsx")
    shown = load_workbook(book)["claims"][cell_of(book, ids[0], "decision_id")].value
    assert re.fullmatch(r"d[0-9a-f]{12}", shown)
    assert decisions.read_text() == legacy                      # reading never rewrites
    book = edit(book, tmp_path / "b.xlsx", {ids[2]: {"decision": "rejected"}})
    assert run_import(book, processed, decisions, "--reviewer", "bob").exit_code == 0
    d = log(decisions)
    assert d["decision_id"].is_unique and len(d) == 4
    assert d.iloc[:3][["claim_id", "decision", "reviewer", "date", "note"]].values.tolist() == [
        [ids[0], "rejected", "ann", "2025-01-01", "first look"],
        [ids[0], "approved", "ann", "2025-02-01", "cited study"],
        [ids[0], "approved", "ann", "2025-02-01", "cited study"]]
    assert d.iloc[2]["decision_id"] == shown                    # the id the workbook showed


# --- item 2: two imports at once -------------------------------------------------------------

def _import_all(books: list[str], processed: str, decisions: str, reviewer: str, barrier) -> None:
    """Child process: import each workbook in turn, each one started together with the other's."""
    for book in books:
        barrier.wait()
        result = run_import(Path(book), Path(processed), Path(decisions), "--reviewer", reviewer)
        if result.exit_code != 0:
            raise SystemExit(f"{book}: {result.output}")


def test_two_concurrent_imports_lose_no_decision(tmp_path):
    per_process, filler = 6, 20_000
    texts = [f"Treatment number {i} removes wrinkles for good in every patient." for i in range(2 * per_process)]
    processed = tmp_path / "processed"
    ids = write_claims(processed, texts)
    decisions = tmp_path / "decisions.csv"
    old = pd.DataFrame({"claim_id": [f"cold{i:09d}" for i in range(filler)], "decision": "approved",
                        "reviewer": "old", "date": "2025-01-01", "note": "",
                        "source_id": "s0", "claim_text": "An old claim that is gone. " * 80})  # a 40 MB log
    io.write_csv(decisions, old)
    blank = export(processed, decisions, tmp_path / "blank.xlsx")
    books = [str(edit(blank, tmp_path / f"b{i}.xlsx", {cid: {"decision": "rejected"}}))
             for i, cid in enumerate(ids)]
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_import_all, args=(books[k::2], str(processed), str(decisions), who, barrier))
             for k, who in enumerate(("ann", "bob"))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    d = log(decisions)
    assert len(d) == filler + len(ids)
    assert sorted(d["claim_id"][filler:]) == sorted(ids)


# --- item 7: hostile workbooks ---------------------------------------------------------------

@pytest.mark.parametrize("column, value", [
    ("decision", '=IF(1,"approved","rejected")'),
    ("note", '=HYPERLINK("http://evil.example","x")'),
    ("reviewer", '=CONCATENATE("a","nn")'),
])
def test_a_formula_in_a_decision_note_or_reviewer_cell_is_refused_naming_the_cell(audit_dir, tmp_path, column, value):
    processed, ids, decisions = audit_dir
    book = export(processed, decisions, tmp_path / "a.xlsx")
    changes = {"decision": "approved", column: value} if column != "decision" else {"decision": value}
    bad = edit(book, tmp_path / "bad.xlsx", {ids[1]: changes})
    result = run_import(bad, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2, result.output
    assert f"cell {cell_of(bad, ids[1], column)}" in result.output and "formula" in result.output
    assert "bad.xlsx" in result.output
    assert not decisions.exists()


def _rewrite_entry(book: Path, out: Path, name: str, change) -> Path:
    """A copy of an .xlsx with one zip entry's text changed by change(text)."""
    src = zipfile.ZipFile(book)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, change(data.decode()).encode() if info.filename == name else data)
    return out


def test_rows_are_read_even_when_the_sheet_dimension_tag_lies(tmp_path):
    texts = [f"Peel number {i} gives flawless skin to everyone who tries it." for i in range(200)]
    processed = tmp_path / "processed"
    ids = write_claims(processed, texts)
    decisions = tmp_path / "decisions.csv"
    book = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "b.xlsx",
                {cid: {"decision": "approved"} for cid in ids})
    lying = _rewrite_entry(book, tmp_path / "lying.xlsx", "xl/worksheets/sheet1.xml",
                           lambda xml: re.sub(r'<dimension ref="A1:([A-Z]+)\d+"', r'<dimension ref="A1:\g<1>2"', xml))
    assert re.search(r'<dimension ref="A1:[A-Z]+2"', zipfile.ZipFile(lying).read("xl/worksheets/sheet1.xml").decode())
    result = run_import(lying, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 0, result.output
    assert sorted(log(decisions)["claim_id"]) == sorted(ids)


def test_a_cell_longer_than_a_spreadsheet_allows_is_refused(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    long_note = " ".join(f"word{i}" for i in range(7000))   # about 60,000 characters
    book = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "b.xlsx",
                {ids[0]: {"decision": "approved", "note": "PLACEHOLDER"}})
    # openpyxl cuts what it writes at 32,767 characters; other programs need not
    bad = _rewrite_entry(book, tmp_path / "long.xlsx", "xl/worksheets/sheet1.xml",
                         lambda xml: xml.replace("PLACEHOLDER", long_note))
    result = run_import(bad, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2
    assert "long.xlsx" in result.output and cell_of(bad, ids[0], "note") in result.output
    assert f"{config.MAX_CELL_CHARS:,}" in result.output
    assert not decisions.exists()


def test_a_zip_bomb_workbook_is_refused_before_it_is_opened(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    book = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "b.xlsx",
                {ids[0]: {"decision": "approved", "note": "PLACEHOLDER"}})
    bomb = _rewrite_entry(book, tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml",
                          lambda xml: xml.replace("PLACEHOLDER", "A" * 30_000_000))
    assert bomb.stat().st_size < 200_000
    result = run_import(bomb, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2
    assert "bomb.xlsx" in result.output and "uncompressed" in result.output
    assert not decisions.exists()


@pytest.mark.parametrize("limit, words", [("MAX_WORKBOOK_BYTES", "too large"),
                                          ("MAX_WORKBOOK_UNCOMPRESSED_BYTES", "uncompressed")])
def test_workbook_size_limits_name_the_file(audit_dir, tmp_path, monkeypatch, limit, words):
    processed, ids, decisions = audit_dir
    book = edit(export(processed, decisions, tmp_path / "a.xlsx"), tmp_path / "big.xlsx",
                {ids[0]: {"decision": "approved"}})
    monkeypatch.setattr(config, limit, 1000)
    result = run_import(book, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2
    assert "big.xlsx" in result.output and words in result.output
    assert not decisions.exists()


def test_a_decisions_file_that_is_not_a_zip_or_xlsx_is_refused(audit_dir, tmp_path):
    processed, _, decisions = audit_dir
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    result = run_import(fake, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2 and "fake.xlsx" in result.output
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    fake.write_bytes(buf.getvalue())
    result = run_import(fake, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 2 and "fake.xlsx" in result.output


# --- issue 12: decisions on contradiction groups, through the command ------------------------

def test_group_decisions_are_imported_from_their_sheet(audit_dir, tmp_path):
    processed, ids, decisions = audit_dir
    groups = pd.DataFrame({"group_id": ["g-a", "g-b"], "claim_id": ids[:2], "text": TEXTS[:2],
                           "severity": ["high", "medium"]})
    claims = io.read_csv(processed / config.CLAIMS_CSV)
    merged, status = merge_decisions(claims, read_review_log(decisions))
    book = tmp_path / "groups.xlsx"
    io.write_xlsx(book, build_workbook({"claims": merged, "contradictions": tables.empty(tables.CONTRADICTIONS),
                                        "evidence": None, "flags": None, "review_status": status,
                                        "contradiction_groups": groups}))
    book = edit(book, tmp_path / "decided.xlsx", {"g-b": {"decision": "dismissed", "note": "different areas"}},
                sheet="contradiction_groups", key="group_id")
    refused = run_import(book, processed, decisions, "--reviewer", "ann")   # no groups in this audit
    assert refused.exit_code == 2 and "unknown contradiction group 'g-b'" in refused.output
    io.write_csv(processed / config.CONTRADICTION_GROUPS_CSV, groups)
    result = run_import(book, processed, decisions, "--reviewer", "ann")
    assert result.exit_code == 0, result.output
    (row,) = log(decisions).itertuples(index=False)
    assert (row.kind, row.group_id, row.claim_id, row.decision, row.note, row.reviewer) == (
        "group", "g-b", ids[1], "dismissed", "different areas", "ann")
