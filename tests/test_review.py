"""Review decisions: the merge rules on tiny literal tables, import refusal, and the workbook."""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline import tables
from pipeline import config, io
from pipeline.review import (ReviewError, check_decisions, merge_decisions, plan_import, review_columns,
                             review_labels, review_subjects)
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


def test_review_columns_are_the_labels_of_each_claim_or_one_value_when_none_is_decided():
    new = claims_frame({**TEXTS, "edited": "Laser treatment can noticeably reduce pore size in most patients."})
    ids = claims_frame(TEXTS)["claim_id"].tolist()
    decisions = check_decisions(pd.DataFrame([
        decision(ids[0], TEXTS["keep"], "approved", note="cited"),
        decision(ids[1], TEXTS["edited"], "rejected"),
        decision("cgone00000000", "Pore strips permanently shrink pores after one use.", "rejected"),
    ]), "d.csv")
    _, status = merge_decisions(new, decisions)
    columns = review_columns("claim", new["claim_id"], status)
    labels = review_labels("claim", new["claim_id"].tolist(), status)
    assert [columns["review_status"], columns["review_note"]] == list(labels)
    assert labels[0] == ["approved", "stale: rejected", "unreviewed"]
    orphaned_only = status[status["status"] == "orphaned"]
    assert review_columns("claim", new["claim_id"], orphaned_only) == {
        "review_status": "unreviewed", "review_note": ""}


def test_malformed_decisions_name_the_file_and_row():
    bad = pd.DataFrame([decision("c1", "x"), decision("c2", "y", "maybe")])
    with pytest.raises(ReviewError, match=r"decisions.csv: row 3: decision 'maybe'"):
        check_decisions(bad, "decisions.csv")
    with pytest.raises(ReviewError, match="missing column"):
        check_decisions(bad.drop(columns=["reviewer"]), "decisions.csv")


def plan(rows, claims, log=None, **kw):
    """plan_import of a claims sheet's rows against literal claims and a literal log."""
    log = check_decisions(pd.DataFrame(log or [], columns=tables.DECISIONS), "d.csv")
    return plan_import({"claims": rows}, review_subjects(claims), log, "book.xlsx", "d.csv",
                       kw.pop("reviewer", "bob"), "2026-01-05", **kw)


def test_import_refuses_unknown_ids_and_decisions_naming_each_row():
    claims = claims_frame(TEXTS)
    good = claims["claim_id"][0]
    rows = [(2, {"claim_id": good, "decision": "approved"}),
            (3, {"claim_id": "cnope", "decision": "approved"}),
            (4, {"claim_id": claims["claim_id"][2], "decision": "fine by me"}),
            (5, {"claim_id": claims["claim_id"][1], "decision": None})]  # no decision: skipped
    with pytest.raises(ReviewError) as exc:
        plan(rows, claims)
    assert "row 3: unknown claim 'cnope'" in str(exc.value)
    assert "row 4: decision 'fine by me'" in str(exc.value)
    assert "row 2" not in str(exc.value)
    with pytest.raises(ReviewError, match="no decision column"):
        plan([(2, {"claim_id": good, "verdict": "approved"})], claims)


def test_import_records_only_changes_with_the_importing_reviewer():
    claims = claims_frame(TEXTS)
    cid = claims["claim_id"][0]
    log = [decision(cid, TEXTS["keep"])]
    in_force = check_decisions(pd.DataFrame(log), "d.csv")["decision_id"][0]
    rows = [(2, {"claim_id": cid, "decision": "approved", "reviewer": "ann", "note": "", "decision_id": in_force}),
            (3, {"claim_id": claims["claim_id"][1], "decision": "rejected", "reviewer": "ann",
                 "date": "2020-01-01"})]
    result = plan(rows, claims, log)
    assert result.unchanged == 1 and result.decided == 2
    assert result.new[["decision", "reviewer", "date", "claim_text", "kind"]].values.tolist() == [
        ["rejected", "bob", "2026-01-05", TEXTS["edited"], "claim"]]


def test_append_decisions_appends_bytes_and_rewrites_an_older_header_once(tmp_path):
    path = tmp_path / "decisions.csv"
    first = check_decisions(pd.DataFrame([decision("c1", "Text, with a comma")]), "d.csv")
    io.append_decisions(path, first)
    before = path.read_bytes()
    second = check_decisions(pd.DataFrame([decision("c2", "Other")]), "d.csv")
    io.append_decisions(path, second)
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 3
    old = tmp_path / "old.csv"
    old.write_text("claim_id,decision,reviewer,date,note\nc1,approved,ann,2026-01-01,\n")
    current = check_decisions(io.read_decisions(old), "old.csv")
    io.append_decisions(old, second, current)
    rewritten = io.read_decisions(old)
    assert list(rewritten.columns) == tables.DECISION_LOG
    assert rewritten["decision_id"].tolist() == [current["decision_id"][0], second["decision_id"][0]]


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
    _, status = merge_decisions(claims, check_decisions(pd.DataFrame([decision(c[0], TEXTS["keep"])]), "d.csv"))
    return {"claims": claims, "contradictions": contra, "problems": pd.DataFrame(columns=["file", "problem"]),
            "evidence": evidence, "flags": flags, "review_status": status}


def test_workbook_sheets_filters_dropdown_highlight_and_prefill(tmp_path):
    tables = full_tables()
    path = tmp_path / "book.xlsx"
    io.write_xlsx(path, build_workbook(tables))
    wb = load_workbook(path)
    assert wb.sheetnames == ["claims", "contradictions", "evidence", "flags"]
    for ws in wb.worksheets:
        assert ws.freeze_panes != "A2" and ws.freeze_panes.endswith("2") and ws.auto_filter.ref, ws.title
    ws = wb["claims"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["claim_id", "text", "decision", "note", "reviewer", "date"]
    assert header[-1] == "decision_id" and ws.freeze_panes == "C2"
    assert ws.cell(2, header.index("decision") + 1).value == "approved"  # decision in force prefilled
    assert ws.cell(3, header.index("decision") + 1).value is None
    (dv,) = ws.data_validations.dataValidation
    assert dv.formula1 == '"approved,rejected,needs_evidence"'
    assert str(dv.sqref).startswith(ws.cell(2, header.index("decision") + 1).coordinate)
    fills = [ws.cell(r, 1).fill.fgColor.rgb for r in (2, 3, 4)]  # risk high, none, medium
    assert fills[0] != fills[1] and fills[2] != fills[1] and fills[0] != fills[2]
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width  # text is wider than the id
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
    from pipeline.audit import read_review_log

    path = tmp_path / "decisions.csv"
    path.write_text("claim_id,decision,reviewer,date,note\nc1,approved,ann,2026-01-01,\nc2,ok,ann,,\n")
    with pytest.raises(ReviewError, match=r"decisions.csv: row 3: decision 'ok'"):
        read_review_log(path)
    merged, status = merge_decisions(claims_frame(TEXTS), read_review_log(tmp_path / "absent.csv"))
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


# --- issue 12: a workbook to decide in; decisions on contradiction groups and flags ---------

def groups_frame(claims: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """A literal contradiction_groups table (the review's contract: group_id, claim_id, text),
    one group per named claim, with a severity and a count as the real table has."""
    rows = claims.set_index(claims["text"].map({v: k for k, v in TEXTS.items()}))
    return pd.DataFrame([{"group_id": f"g{k}", "claim_id": rows.loc[k, "claim_id"], "text": rows.loc[k, "text"],
                          "severity": "high", "n_against": 2} for k in keys if k in rows.index])


def test_every_decision_sheet_has_its_decisions_beside_the_id_and_text_in_view(tmp_path):
    t = full_tables()
    t["claims"].loc[0, "text"] = "Microneedling has virtually no side effects. " * 8   # a long claim
    t["contradiction_groups"] = groups_frame(claims_frame(TEXTS), ["keep", "other"])
    path = tmp_path / "book.xlsx"
    io.write_xlsx(path, build_workbook(t))
    wb = load_workbook(path)
    assert wb.sheetnames == ["claims", "contradiction_groups", "contradictions", "evidence", "flags"]
    for title, ids, allowed in (("claims", ["claim_id"], config.DECISIONS),
                                ("contradiction_groups", ["group_id"], config.GROUP_DECISIONS),
                                ("flags", ["fingerprint", "rule_id"], config.FLAG_DECISIONS)):
        ws = wb[title]
        header = [c.value for c in ws[1]]
        lead = ids + ["text"]
        assert header[:len(lead) + 2] == lead + ["decision", "note"], title
        assert header.index("decision") < 5 and header[-1] == "decision_id"
        assert ws.freeze_panes == f"{chr(ord('A') + len(lead))}2", title   # ids and text stay in view
        text = ws.cell(2, header.index("text") + 1)
        assert text.alignment.wrap_text, title
        (dv,) = ws.data_validations.dataValidation
        assert dv.formula1 == '"' + ",".join(allowed) + '"'
    assert wb["claims"].row_dimensions[2].height >= 45   # the long claim shows several lines
    assert wb["claims"].row_dimensions[3].height < wb["claims"].row_dimensions[2].height  # a shorter one
    for title, first in (("contradictions", ["contradiction_id", "text_a", "text_b"]),
                         ("evidence", ["evidence_id", "statement"])):
        ws = wb[title]
        assert [c.value for c in ws[1]][:len(first)] == first
        assert ws.freeze_panes == f"{chr(ord('A') + len(first))}2"


def test_flag_and_group_decisions_are_kept_across_reruns_like_claim_decisions(tmp_path):
    from pipeline.stages.flag import fingerprint

    before = claims_frame(TEXTS)
    log = []
    for k, rule in (("keep", "absolute_safety"), ("edited", "guarantee"), ("other", "guarantee")):
        log.append({**decision("", TEXTS[k], "dismissed", note="quoted, not claimed"), "kind": "flag",
                    "claim_id": before["claim_id"][list(TEXTS).index(k)],
                    "fingerprint": fingerprint(TEXTS[k], rule), "rule_id": rule})
    for k in ("keep", "edited", "other"):
        log.append({**decision(before["claim_id"][list(TEXTS).index(k)], TEXTS[k], "confirmed"),
                    "kind": "group", "group_id": f"g{k}"})
    log = check_decisions(pd.DataFrame(log), "decisions.csv")

    edited = "Laser treatment can noticeably reduce pore size in most patients."
    after_texts = {"keep": TEXTS["keep"], "edited": edited}
    after = claims_frame(after_texts)
    flags = pd.DataFrame([
        {"claim_id": after["claim_id"][0], "rule_id": "absolute_safety", "family": "f", "severity": "high",
         "message": "m", "text": TEXTS["keep"], "fingerprint": fingerprint(TEXTS["keep"], "absolute_safety")},
        {"claim_id": after["claim_id"][1], "rule_id": "guarantee", "family": "f", "severity": "medium",
         "message": "m", "text": edited, "fingerprint": fingerprint(edited, "guarantee")}])
    groups = pd.DataFrame([{"group_id": "gkeep", "claim_id": after["claim_id"][0], "text": TEXTS["keep"]},
                           {"group_id": "gnew", "claim_id": after["claim_id"][1], "text": edited}])
    merged, status = merge_decisions(after, log, flags, groups)
    assert len(status) == len(log)                                    # nothing dropped
    got = {(s.kind, s.claim_text): (s.status, s.current_id) for s in status.itertuples()}
    assert got[("flag", TEXTS["keep"])] == ("unchanged", f"{fingerprint(TEXTS['keep'], 'absolute_safety')}/absolute_safety")
    assert got[("flag", TEXTS["edited"])] == ("stale", f"{fingerprint(edited, 'guarantee')}/guarantee")
    assert got[("flag", TEXTS["other"])][0] == "orphaned"
    assert got[("group", TEXTS["keep"])] == ("unchanged", "gkeep")
    assert got[("group", TEXTS["edited"])] == ("stale", "gnew")
    assert got[("group", TEXTS["other"])][0] == "orphaned"

    io.write_xlsx(tmp_path / "b.xlsx", build_workbook({
        "claims": merged, "contradictions": tables.empty(tables.CONTRADICTIONS), "evidence": None,
        "flags": flags, "review_status": status, "contradiction_groups": groups}))
    wb = load_workbook(tmp_path / "b.xlsx")
    for title, key in (("flags", "rule_id"), ("contradiction_groups", "group_id")):
        ws = wb[title]
        col = {c.value: c.column - 1 for c in ws[1]}
        rows = {r[col[key]]: r for r in ws.iter_rows(min_row=2, values_only=True)}
        fresh, stale = (rows["absolute_safety"], rows["guarantee"]) if key == "rule_id" else (rows["gkeep"], rows["gnew"])
        assert fresh[col["decision"]] in ("dismissed", "confirmed") and fresh[col["decision_id"]]
        assert stale[col["decision"]] is None and stale[col["review_status"]].startswith("stale: ")


def test_decisions_matched_against_claims_in_chunks_get_the_status_of_all_claims_at_once():
    """The Dask finish reads claims a chunk at a time and keeps only the subjects decisions can
    read: every status is the one all claims at once give, a flag's wording flagged again in a
    later chunk (another source) stays the first chunk's subject, and a decision without a
    source is matched in its whole kind."""
    from pipeline.review import SubjectsInChunks, decision_status
    from pipeline.stages.flag import fingerprint

    first = claims_frame(TEXTS, "s1")
    second = claims_frame({"again": TEXTS["keep"], "more": "Peels are painless for everyone."}, "s2")
    claims = pd.concat([first, second], ignore_index=True)
    flags = pd.DataFrame([{"claim_id": c, "rule_id": "absolute_safety", "text": t,
                           "fingerprint": fingerprint(t, "absolute_safety")}
                          for c, t in zip(claims["claim_id"], claims["text"]) if t == TEXTS["keep"]])
    groups = pd.DataFrame([{"group_id": "g1", "claim_id": second["claim_id"][1], "source_id": "s2",
                            "text": second["text"][1]}])
    log = check_decisions(pd.DataFrame([
        decision(first["claim_id"][0], TEXTS["keep"]),
        decision("c000000000009", "Laser treatment can reduce pore size in most patients.", source="s1"),
        decision("c000000000008", "Peels are painless for nearly everyone.", source=""),
        decision("c000000000007", "Nothing of the kind.", source="s3"),
        {**decision("", TEXTS["keep"], "dismissed", source="s2", note="quoted"), "kind": "flag",
         "fingerprint": fingerprint(TEXTS["keep"], "absolute_safety"), "rule_id": "absolute_safety"},
        {**decision(second["claim_id"][1], second["text"][1], "confirmed", source="s2"), "kind": "group",
         "group_id": "g1"},
    ]), "decisions.csv")
    whole = decision_status(review_subjects(claims, flags, groups), log)
    chunked = SubjectsInChunks(log)
    for part in (first, second):
        chunked.add(part, flags[flags["claim_id"].isin(part["claim_id"])])
    for part in (groups.iloc[:1], groups.iloc[1:]):   # the groups a chunk at a time too
        chunked.add_groups(part)
    pd.testing.assert_frame_equal(decision_status(chunked.subjects(), log), whole)
    assert list(whole["status"]) == ["unchanged", "stale", "stale", "orphaned", "unchanged", "unchanged"]
    # without the sourceless decision, the other source's claims are not kept
    narrow = SubjectsInChunks(log[log["source_id"] != ""])
    for part in (first, second):
        narrow.add(part, flags[flags["claim_id"].isin(part["claim_id"])])
    narrow.add_groups(groups)
    kept = narrow.subjects()
    assert set(kept.loc[kept["kind"] == "claim", "source_id"]) == {"s1"}


def test_dismissing_a_flag_or_a_group_needs_a_reason():
    claims = claims_frame(TEXTS)
    from pipeline.stages.flag import fingerprint

    fp = fingerprint(TEXTS["keep"], "absolute_safety")
    flags = pd.DataFrame([{"claim_id": claims["claim_id"][0], "rule_id": "absolute_safety", "text": TEXTS["keep"],
                           "fingerprint": fp}])
    groups = pd.DataFrame([{"group_id": "g1", "claim_id": claims["claim_id"][0], "text": TEXTS["keep"]}])
    subjects = review_subjects(claims, flags, groups)
    sheets = {"claims": [], "flags": [(2, {"fingerprint": fp, "rule_id": "absolute_safety", "decision": "dismissed"})],
              "contradiction_groups": [(4, {"group_id": "g1", "decision": "dismissed", "note": " "})]}
    with pytest.raises(ReviewError) as exc:
        plan_import(sheets, subjects, check_decisions(pd.DataFrame(columns=tables.DECISIONS), "d"), "b.xlsx",
                    "d.csv", "ann", "2026-01-05")
    assert "sheet flags, row 2: dismissed needs a reason" in str(exc.value)
    assert "sheet contradiction_groups, row 4: dismissed needs a reason" in str(exc.value)
    sheets["flags"][0][1]["note"] = "a patient's quote, not our claim"
    sheets["contradiction_groups"][0][1]["note"] = "different treatments"
    new = plan_import(sheets, subjects, check_decisions(pd.DataFrame(columns=tables.DECISIONS), "d"), "b.xlsx",
                      "d.csv", "ann", "2026-01-05").new
    assert new[["kind", "fingerprint", "rule_id", "group_id", "claim_id", "reviewer"]].values.tolist() == [
        ["group", "", "", "g1", claims["claim_id"][0], "ann"],
        ["flag", fp, "absolute_safety", "", claims["claim_id"][0], "ann"]]


def test_a_decisions_file_saved_by_a_spreadsheet_with_a_bom_is_read_and_appended_to(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_bytes("\ufeffclaim_id,decision,reviewer,date,note\r\nc1,approved,ann,2026-01-01,ok\r\n".encode())
    log = check_decisions(io.read_decisions(path), str(path))
    assert log[["claim_id", "decision", "note"]].values.tolist() == [["c1", "approved", "ok"]]
    new = check_decisions(pd.DataFrame([decision("c2", "Other")]), "d.csv")
    io.append_decisions(path, new, log)
    io.append_decisions(path, check_decisions(pd.DataFrame([decision("c3", "More")]), "d.csv"))
    assert io.read_decisions(path)["claim_id"].tolist() == ["c1", "c2", "c3"]


def test_the_decisions_log_keeps_formula_like_notes_safe_on_disk_and_raw_when_read(tmp_path):
    path = tmp_path / "decisions.csv"
    new = pd.DataFrame([{"decision_id": "d000000000001", "kind": "claim", "claim_id": "c000000000001",
                         "decision": "rejected", "reviewer": "ann", "date": "2026-01-02",
                         "note": '=HYPERLINK("http://evil","x")', "claim_text": "+1 happy client"}])
    io.append_decisions(path, new)
    io.append_decisions(path, new.assign(decision_id="d000000000002", note="@SUM(A1)"))
    on_disk = path.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in on_disk and "'@SUM(A1)" in on_disk and "'+1 happy client" in on_disk
    log = io.read_decisions(path)
    assert list(log["note"]) == ['=HYPERLINK("http://evil","x")', "@SUM(A1)"]
    assert set(log["claim_text"]) == {"+1 happy client"}
