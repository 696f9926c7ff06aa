"""The review loop on the real articles: audit, decide in the workbook, import, edit an article,
audit again; every decision is kept (unchanged, stale or orphaned) and the report shows it all."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook
from rapidfuzz import fuzz
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from typer.testing import CliRunner

from pipeline import config, io
from pipeline.audit import run_audit
from pipeline.cli import app
from pipeline.text import text_key

UNRELATED = "Our clinic opened a second branch downtown last spring.\n\n"


def pick_claims(claims: pd.DataFrame, text: str, source: str, n: int = 3) -> list[pd.Series]:
    """n sentence claims of one source that occur once and resemble no other claim there."""
    own = claims[claims["source_id"] == source]
    keys = [text_key(t) for t in own["text"]]
    picked = []
    for i, c in enumerate(own.itertuples(index=False)):
        if c.kind != "sentence" or len(c.text) < 60 or text.count(c.text) != 1 or " " not in c.text[10:-10]:
            continue
        if max(fuzz.ratio(keys[i], k) for j, k in enumerate(keys) if j != i) < 60:
            picked.append(own.iloc[i])
        if len(picked) == n:
            return picked
    pytest.fail(f"not enough distinct claims in {source}")


def edit_word(sentence: str) -> str:
    """The sentence with one small edit in its middle (a word inserted)."""
    words = sentence.split(" ")
    mid = len(words) // 2
    return " ".join(words[:mid] + ["really"] + words[mid:])


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    base = tmp_path_factory.mktemp("loop")
    raw, decisions = base / "raw", base / "review" / config.DECISIONS_FILE.name
    shutil.copytree(config.RAW_DIR, raw)
    out1, out2 = base / "out1", base / "out2"
    run_audit(raw, out1, validate=False, report=False, decisions=decisions)
    claims1 = io.read_csv(out1 / config.CLAIMS_CSV)
    source = claims1["source_id"].value_counts().index[0]
    path = next(raw.glob(f"{source}.*"))
    text = path.read_text(encoding="utf-8")
    keep, edit, gone = pick_claims(claims1, text, source)

    # the reviewer decides in the workbook
    wb = load_workbook(out1 / config.CLAIMS_REVIEW_XLSX)
    ws = wb["claims"]
    col = {c.value: c.column for c in ws[1]}
    verdicts = {keep.claim_id: "approved", edit.claim_id: "needs_evidence", gone.claim_id: "rejected"}
    for row in range(2, ws.max_row + 1):
        cid = ws.cell(row, col["claim_id"]).value
        if cid in verdicts:
            ws.cell(row, col["decision"]).value = verdicts[cid]
            ws.cell(row, col["reviewer"]).value = "ann"
            ws.cell(row, col["note"]).value = f"note on {cid}"
    edited_book = base / "edited.xlsx"
    wb.save(edited_book)
    result = CliRunner().invoke(app, ["review", "import", str(edited_book), "--processed", str(out1),
                                      "--decisions", str(decisions)])
    assert result.exit_code == 0, result.output
    imported = decisions.read_bytes()

    # the article changes: an unrelated paragraph on top, one claim edited, one deleted
    new_edit = edit_word(edit.text)
    for c, new in sorted([(edit, new_edit), (gone, "")], key=lambda p: -p[0].start):
        assert text[c.start:c.end] == c.text
        text = text[:c.start] + new + text[c.end:]
    path.write_text(UNRELATED + text, encoding="utf-8")
    result2 = run_audit(raw, out2, validate=True, report=True, decisions=decisions)
    return {"keep": keep, "edit": edit, "gone": gone, "new_edit": new_edit, "decisions": decisions,
            "imported": imported, "out1": out1, "out2": out2, "result": result2, "book": edited_book}


def test_import_writes_one_row_per_decision(loop):
    d = io.read_decisions(loop["decisions"])
    assert sorted(d["decision"]) == ["approved", "needs_evidence", "rejected"]
    assert set(d["reviewer"]) == {"ann"} and all(d["date"].str.match(r"\d{4}-\d\d-\d\d$"))
    assert set(d["claim_text"]) == {loop[k].text for k in ("keep", "edit", "gone")}


def test_rerun_keeps_every_decision(loop):
    assert loop["decisions"].read_bytes() == loop["imported"]  # the audit never rewrites decisions
    status = io.read_csv(loop["out2"] / config.REVIEW_STATUS_CSV).set_index("claim_id")
    assert len(status) == 3
    assert status.loc[loop["keep"].claim_id, "status"] == "unchanged"
    assert status.loc[loop["edit"].claim_id, "status"] == "stale"
    assert status.loc[loop["gone"].claim_id, "status"] == "orphaned"
    claims = loop["result"].claims.set_index("claim_id")
    # the unrelated paragraph moved every offset, yet the untouched claim keeps its id
    assert claims.loc[loop["keep"].claim_id, "start"] == loop["keep"].start + len(UNRELATED)
    assert claims.loc[loop["keep"].claim_id, "review_status"] == "approved"
    new_id = status.loc[loop["edit"].claim_id, "current_claim_id"]
    assert claims.loc[new_id, "text"] == loop["new_edit"]
    assert claims.loc[new_id, "review_status"] == "stale: needs_evidence"
    assert loop["gone"].claim_id not in claims.index


def test_rerun_workbook_prefills_current_decisions_only(loop):
    ws = load_workbook(loop["out2"] / config.CLAIMS_REVIEW_XLSX)["claims"]
    col = {c.value: c.column - 1 for c in ws[1]}
    rows = {r[col["claim_id"]]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows[loop["keep"].claim_id][col["decision"]] == "approved"
    stale = [r for r in rows.values() if r[col["review_status"]] == "stale: needs_evidence"]
    assert len(stale) == 1 and stale[0][col["decision"]] is None  # to be decided again


def test_import_refuses_bad_rows_and_writes_nothing(loop, tmp_path):
    decisions = tmp_path / "decisions.csv"
    shutil.copy(loop["decisions"], decisions)
    before = decisions.read_bytes()
    wb = load_workbook(loop["book"])
    ws = wb["claims"]
    col = {c.value: c.column for c in ws[1]}
    ws.cell(2, col["decision"]).value = "looks fine"
    ws.cell(3, col["claim_id"]).value = "cunknown00000"
    ws.cell(3, col["decision"]).value = "approved"
    ws.cell(3, col["reviewer"]).value = "bob"
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    result = CliRunner().invoke(app, ["review", "import", str(bad), "--processed", str(loop["out1"]),
                                      "--decisions", str(decisions)])
    assert result.exit_code == 2
    assert "row 2: decision 'looks fine'" in result.output
    assert "row 3: unknown claim id 'cunknown00000'" in result.output
    assert decisions.read_bytes() == before


def section(tree, key: str):
    node = tree.css_first(f"section#{key}")
    assert node is not None, key
    return node


def test_report_holds_every_section_with_the_run_figures(loop):
    out = loop["out2"]
    page = (out / config.REPORT_HTML).read_text(encoding="utf-8")
    tree = HTMLParser(page)
    claims, contra = loop["result"].claims, loop["result"].contradictions

    summary = {n.css_first("th").text(): n.css_first("td").text() for n in tree.css("#summary-table tr")}
    assert summary["articles audited"] == str(claims["source_id"].nunique())
    assert summary["claims"] == str(len(claims))
    assert summary["contradicting pairs"] == str(len(contra))
    assert summary["claims under attack (contradiction groups)"] == str(len(loop["result"].tables.groups))
    assert summary["claims approved"] == "1" and summary["orphaned decisions"] == "1"

    heat = section(tree, "heatmap-section")
    assert heat.css_first("img#heatmap").attributes["src"].startswith("data:image/png;base64,")
    totals = [int(n.text()) for n in heat.css("td[data-col='total']")]
    assert sum(totals) == len(claims)

    groups = section(tree, "contradictions").css("h3.pair-group")
    assert len(groups) == contra.groupby(["treatment", "aspect"]).ngroups
    assert len(section(tree, "contradictions").css("tr[data-id]")) == len(contra)

    graph = section(tree, "source-graph")
    assert graph.css_first("img#graph") is not None
    assert sum(int(n.text()) for n in graph.css("td[data-col='contradictions']")) == len(contra)

    for key, column in (("risky", "flags"), ("evidence", "evidence_status")):
        text = section(tree, key).text()
        assert (column in claims.columns) != ("not available in this run" in text), key

    review = section(tree, "review")
    assert loop["gone"].claim_id in review.css_first("#review-orphaned").text()
    assert loop["edit"].claim_id in review.css_first("#review-stale").text()

    table = section(tree, "all-claims").css_first("#claims-table")
    assert len(table.css("tbody tr")) == len(claims)
    assert len(table.css("thead input")) == len(table.css("thead tr:first-child th"))

    for node in tree.css("script[src], link[href]"):
        assert not node.attributes.get("src", node.attributes.get("href", "")).startswith("http")
