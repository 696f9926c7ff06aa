"""Review decisions: the merge rules on tiny literal tables, import refusal, and the workbook."""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline import tables
from pipeline import config, io
from pipeline.review import (ReviewError, changed_decisions, check_decisions, imported_decisions,
                             merge_decisions)
from pipeline.text import claim_id
from pipeline.outputs.workbook import build_workbook

TEXTS = {
    "keep": "Microneedling has virtually no side effects.",
    "edited": "Laser treatment can significantly reduce pore size in most patients.",
    "other": "Chemical peels should be avoided by people with sensitive skin.",
}


def claims_frame(texts: dict[str, str], source: str = "s1") -> pd.DataFrame:
    rows = [{"claim_id": claim_id(source, t, 0), "source_id": source, "text": t} for t in texts.values()]
    return pd.DataFrame(rows)


def decision(cid: str, text: str, verdict: str = "approved", source: str = "s1", note: str = "") -> dict:
    return {"claim_id": cid, "decision": verdict, "reviewer": "ann", "date": "2026-01-02", "note": note,
            "source_id": source, "claim_text": text}


def test_unchanged_stale_orphaned_and_superseded_are_all_kept():
    old = claims_frame({**TEXTS, "gone": "Pore strips permanently shrink pores after one use."})
    new_texts = {**TEXTS, "edited": "Laser treatment can noticeably reduce pore size in most patients."}
    new = claims_frame(new_texts)
    ids = dict(zip(list(TEXTS) + ["gone"], old["claim_id"]))
    decisions = check_decisions(pd.DataFrame([
        decision(ids["keep"], TEXTS["keep"], "rejected", note="first look"),
        decision(ids["keep"], TEXTS["keep"], "approved", note="cited study"),
        decision(ids["edited"], TEXTS["edited"], "needs_evidence"),
        decision(ids["gone"], "Pore strips permanently shrink pores after one use.", "rejected"),
    ]), "decisions.csv")
    merged, status = merge_decisions(new, decisions)
    assert list(status["status"]) == ["superseded", "unchanged", "stale", "orphaned"]
    assert len(status) == len(decisions)  # nothing dropped
    by_text = merged.set_index("text")
    assert by_text.loc[TEXTS["keep"], ["review_status", "review_note"]].tolist() == ["approved", "cited study"]
    assert by_text.loc[new_texts["edited"], "review_status"] == "stale: needs_evidence"
    assert by_text.loc[TEXTS["other"], "review_status"] == "unreviewed"
    stale = status[status["status"] == "stale"].iloc[0]
    assert stale["current_claim_id"] == claim_id("s1", new_texts["edited"], 0)
    assert stale["similarity"] >= config.STALE_MIN_SIMILARITY


def test_stale_matches_only_within_the_same_source():
    new = claims_frame({"edited": "Laser treatment can noticeably reduce pore size in most patients."}, "s2")
    decisions = check_decisions(pd.DataFrame([decision("cdeadbeef0000", TEXTS["edited"])]), "d.csv")
    _, status = merge_decisions(new, decisions)
    assert status["status"].tolist() == ["orphaned"]


def test_a_current_decision_outranks_a_stale_one_on_the_same_claim():
    new = claims_frame({"edited": "Laser treatment can noticeably reduce pore size in most patients."})
    decisions = check_decisions(pd.DataFrame([
        decision("cold000000000", TEXTS["edited"], "rejected"),
        decision(new["claim_id"][0], new["text"][0], "approved"),
    ]), "d.csv")
    merged, status = merge_decisions(new, decisions)
    assert status["status"].tolist() == ["stale", "unchanged"]
    assert merged["review_status"].tolist() == ["approved"]


def test_malformed_decisions_name_the_file_and_row():
    bad = pd.DataFrame([decision("c1", "x"), decision("c2", "y", "maybe")])
    with pytest.raises(ReviewError, match=r"decisions.csv: row 3: decision 'maybe'"):
        check_decisions(bad, "decisions.csv")
    with pytest.raises(ReviewError, match="missing column"):
        check_decisions(bad.drop(columns=["reviewer"]), "decisions.csv")


def test_import_refuses_unknown_ids_and_decisions_naming_each_row():
    claims = claims_frame(TEXTS)
    good = claims["claim_id"][0]
    rows = [(2, {"claim_id": good, "decision": "approved", "reviewer": "ann"}),
            (3, {"claim_id": "cnope", "decision": "approved", "reviewer": "ann"}),
            (4, {"claim_id": good, "decision": "fine by me", "reviewer": "ann"}),
            (5, {"claim_id": claims["claim_id"][1], "decision": None})]  # no decision: skipped
    with pytest.raises(ReviewError) as exc:
        imported_decisions(rows, claims, "book.xlsx", "2026-01-05")
    assert "row 3: unknown claim id 'cnope'" in str(exc.value)
    assert "row 4: decision 'fine by me'" in str(exc.value)
    assert "row 2" not in str(exc.value)
    with pytest.raises(ReviewError, match="no decision column"):
        imported_decisions([(2, {"claim_id": good, "verdict": "approved"})], claims, "b.xlsx", "2026-01-05")


def test_import_appends_only_changed_decisions():
    claims = claims_frame(TEXTS)
    cid = claims["claim_id"][0]
    current = check_decisions(pd.DataFrame([decision(cid, TEXTS["keep"])]), "d.csv")
    rows = [(2, {"claim_id": cid, "decision": "approved", "reviewer": "ann", "note": ""}),
            (3, {"claim_id": claims["claim_id"][1], "decision": "rejected", "reviewer": ""})]
    new = imported_decisions(rows, claims, "b.xlsx", "2026-01-05", reviewer="bob")
    added = changed_decisions(current, new)
    assert added[["decision", "reviewer", "date", "claim_text"]].values.tolist() == [
        ["rejected", "bob", "2026-01-05", TEXTS["edited"]]]


def test_append_decisions_keeps_existing_bytes(tmp_path):
    path = tmp_path / "decisions.csv"
    first = pd.DataFrame([decision("c1", "Text, with a comma")])
    io.append_decisions(path, first)
    before = path.read_bytes()
    io.append_decisions(path, pd.DataFrame([decision("c2", "Other")]))
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 3


def full_tables() -> dict:
    """A literal run with every optional column and table (evidence, flags, severity, risk)."""
    claims = claims_frame(TEXTS).assign(
        section="", treatment=["microneedling", "laser", "chemical_peel"], claim_type="safety",
        certainty="absolute", negated=[True, False, False], family_id=["f1", "f2", "f3"],
        evidence_status=["contradicted", "supported", "no_evidence"], evidence_ids=["e1", "e2", ""],
        flags=["absolute_safety", "", "guarantee;absolute_safety"], risk=["high", "none", "medium"],
        review_status=["approved", "unreviewed", "stale: rejected"], review_note=["ok", "", ""])
    c = claims["claim_id"]
    contra = pd.DataFrame([{
        "contradiction_id": "x1", "claim_a": c[0], "claim_b": c[2], "source_a": "s1", "source_b": "s2",
        "scope": "cross_source", "treatment": "microneedling", "aspect": "side_effects", "value_a": "none",
        "value_b": "named", "text_a": TEXTS["keep"], "text_b": TEXTS["other"], "rationale": "because",
        "severity": "high"}])
    flags = pd.DataFrame([
        {"claim_id": c[0], "rule_id": "absolute_safety", "family": "safety", "severity": "high",
         "message": "m", "text": TEXTS["keep"]},
        {"claim_id": c[2], "rule_id": "guarantee", "family": "efficacy", "severity": "medium",
         "message": "m", "text": TEXTS["other"]},
        {"claim_id": c[2], "rule_id": "absolute_safety", "family": "safety", "severity": "high",
         "message": "m", "text": TEXTS["other"]}])
    evidence = pd.DataFrame([dict(zip(tables.EVIDENCE, [
        "e1", "Microneedling: side effects", "microneedling", "side_effects", "named",
        "Microneedling causes transient redness.", "a quote", "A title", "A publisher",
        "https://example.org/e1", "no", ""]))])
    status = pd.DataFrame([{**decision(c[0], TEXTS["keep"]), "status": "unchanged", "current_claim_id": c[0],
                            "current_text": TEXTS["keep"], "similarity": 100.0}])
    return {"claims": claims, "contradictions": contra, "problems": pd.DataFrame(columns=["file", "problem"]),
            "evidence": evidence, "flags": flags, "review_status": status}


def test_workbook_sheets_filters_dropdown_highlight_and_prefill(tmp_path):
    tables = full_tables()
    path = tmp_path / "book.xlsx"
    io.write_xlsx(path, build_workbook(tables))
    wb = load_workbook(path)
    assert wb.sheetnames == ["claims", "contradictions", "evidence", "flags"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref, ws.title
    ws = wb["claims"]
    header = [c.value for c in ws[1]]
    assert header[-4:] == ["decision", "reviewer", "date", "note"]
    assert ws.cell(2, header.index("decision") + 1).value == "approved"  # decision in force prefilled
    assert ws.cell(3, header.index("decision") + 1).value is None
    (dv,) = ws.data_validations.dataValidation
    assert dv.formula1 == '"approved,rejected,needs_evidence"'
    assert str(dv.sqref).startswith(ws.cell(2, header.index("decision") + 1).coordinate)
    fills = [ws.cell(r, 1).fill.fgColor.rgb for r in (2, 3, 4)]  # risk high, none, medium
    assert fills[0] != fills[1] and fills[2] != fills[1] and fills[0] != fills[2]
    assert ws.column_dimensions["D"].width > ws.column_dimensions["B"].width  # text is wider than source
    path2 = tmp_path / "again.xlsx"
    io.write_xlsx(path2, build_workbook(tables))
    assert path2.read_bytes() == path.read_bytes()


def test_workbook_says_when_a_table_is_missing(tmp_path):
    tables = {**full_tables(), "evidence": None, "flags": None}
    io.write_xlsx(tmp_path / "b.xlsx", build_workbook(tables))
    wb = load_workbook(tmp_path / "b.xlsx")
    assert "not available in this run" in wb["flags"]["A1"].value
    assert "evidence.csv" in wb["evidence"]["A1"].value


def test_audit_refuses_a_malformed_decisions_file_naming_it(tmp_path):
    from pipeline.audit import merge_review

    path = tmp_path / "decisions.csv"
    path.write_text("claim_id,decision,reviewer,date,note\nc1,approved,ann,2026-01-01,\nc2,ok,ann,,\n")
    with pytest.raises(ReviewError, match=r"decisions.csv: row 3: decision 'ok'"):
        merge_review(claims_frame(TEXTS), path)
    merged, status = merge_review(claims_frame(TEXTS), tmp_path / "absent.csv")
    assert set(merged["review_status"]) == {"unreviewed"} and status.empty


def test_claim_ids_survive_an_unrelated_edit_of_the_article(run_text):
    before = ("Microneedling has virtually no side effects. Laser treatment can reduce pore size. "
              "Chemical peels should be avoided by people with sensitive skin.")
    after = ("Welcome to our clinic blog!\n\nMicroneedling has virtually no side effects. Laser treatment "
             "can noticeably reduce pore size. Chemical peels should be avoided by people with sensitive skin.")
    ids = [run_text({"a.txt": t}).query("is_claim").set_index("text")["claim_id"] for t in (before, after)]
    kept = "Microneedling has virtually no side effects."
    assert ids[0][kept] == ids[1][kept]
    assert ids[0]["Chemical peels should be avoided by people with sensitive skin."] == \
        ids[1]["Chemical peels should be avoided by people with sensitive skin."]
    assert ids[0]["Laser treatment can reduce pore size."] not in set(ids[1])  # the edited claim is new
