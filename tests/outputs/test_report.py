"""Report views on a literal run that has every optional column (evidence, flags, severity, risk)."""
from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from pipeline.outputs import report
from test_review import full_tables


def cells(fragment: str, selector: str) -> list[str]:
    return [n.text(strip=True) for n in HTMLParser(fragment).css(selector)]


def test_summary_counts_flagged_contradicted_and_severity():
    f = report.summary_figures(full_tables())
    assert f["flagged claims"] == 2
    assert f["contradicting pairs"] == 1 and f["pairs across articles"] == 1
    assert f["groups of high severity"] == report.NOT_AVAILABLE  # no contradiction_groups.csv in this run
    assert (f["claims of high risk"], f["claims of medium risk"]) == (1, 1)
    assert f["claims with contradicting evidence"] == 1
    assert (f["claims approved"], f["claims with a stale decision"]) == (1, 1)
    html = report.summary_html(full_tables())
    assert cells(html, "tr[data-key='flagged claims'] td") == ["2"]


def test_risky_claims_are_grouped_by_rule():
    html = report.risky_html(full_tables())
    tree = HTMLParser(html)
    assert tree.css_first("img#risky-chart").attributes["src"].startswith("data:image/png;base64,")
    rules = cells(html, "#risky-table td[data-col='rule_id']")
    counts = cells(html, "#risky-table td[data-col='claims']")
    assert dict(zip(rules, counts)) == {"absolute_safety": "2", "guarantee": "1"}
    assert rules[0] == "absolute_safety"  # most claims first


def test_risky_claims_fall_back_to_the_flags_column():
    tables = {**full_tables(), "flags": None}
    rules = cells(report.risky_html(tables), "#risky-table td[data-col='rule_id']")
    assert sorted(rules) == ["absolute_safety", "guarantee"]


def test_evidence_status_counts_per_treatment():
    html = report.evidence_html(full_tables())
    assert HTMLParser(html).css_first("img#evidence-chart") is not None
    treatments = cells(html, "#evidence-table td[data-col='treatment']")
    contradicted = cells(html, "#evidence-table td[data-col='contradicted']")
    assert dict(zip(treatments, contradicted)) == {"chemical_peel": "0", "laser": "0", "microneedling": "1"}


def test_missing_inputs_say_not_available():
    tables = full_tables()
    tables["claims"] = tables["claims"].drop(columns=["evidence_status", "flags", "risk"])
    tables.update(flags=None, evidence=None, review_status=None)
    for view in (report.risky_html, report.evidence_html, report.review_html):
        assert report.NOT_AVAILABLE in view(tables)
    assert report.summary_figures(tables)["flagged claims"] == report.NOT_AVAILABLE


def test_contradictions_show_severity_and_both_sentences():
    tables = full_tables()
    html = report.contradictions_html(tables["contradictions"])
    tree = HTMLParser(html)
    group = tree.css_first("h3.pair-group")
    assert (group.attributes["data-treatment"], group.attributes["data-aspect"]) == ("microneedling", "side_effects")
    row = tree.css_first("tr[data-id='x1']")
    assert tables["contradictions"]["text_a"][0] in row.css_first("td.a").text()
    assert tables["contradictions"]["text_b"][0] in row.css_first("td.b").text()
    assert "severity high" in row.text()


def test_full_table_has_a_filter_per_column_and_no_network():
    html = report.claims_table_html(full_tables()["claims"])
    tree = HTMLParser(html)
    headers = cells(html, "#claims-table thead tr:first-child th")
    assert len(tree.css("#claims-table thead input")) == len(headers)
    assert "risk" in headers and "review" in headers
    assert "http" not in tree.css_first("script").text()


def test_screenshot_check_needs_ink_and_the_heatmap_colours():
    import numpy as np

    from pipeline.dev.screenshot_check import heatmap_colours, screenshot_problems

    page = np.full((400, 400, 3), 255, np.uint8)
    assert len(screenshot_problems(page)) == 2  # blank, and no heatmap
    page[:100] = 0  # text-like ink but no heatmap
    assert [p.split(":")[0] for p in screenshot_problems(page)] == ["no heatmap visible"]
    page[100:300] = heatmap_colours()[5].astype(np.uint8)  # a 200x400 block of heatmap colour
    assert screenshot_problems(page) == []
