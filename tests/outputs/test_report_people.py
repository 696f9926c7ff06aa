"""The report for people, on tiny literal tables: articles by title, a 'start here' list,
contradiction groups first, axis titles, a claims table that fits the page, relative outputs."""
from __future__ import annotations

import pandas as pd
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from pipeline import config, tables
from pipeline.outputs import report
from pipeline.stages.groups import contradiction_groups

ARTICLES = pd.DataFrame({"source_id": ["s1", "s2", "s3"], "file": ["s1.txt", "s2.html", "s3.md"],
                         "title": ["Microneedling myths", "Our clinic's microneedling", "Peel guide"]})
CLAIM_COLS = ["claim_id", "source_id", "start", "end", "text", "section", "treatment", "claim_type",
              "certainty", "negated", "assertions", "family_id", "evidence_status", "evidence_ids", "flags",
              "risk", "review_status", "review_note"]


def claim(cid, sid, start, text, certainty="absolute", evidence="", flags="", risk="none"):
    return (cid, sid, start, start + len(text), text, "", "microneedling", "safety", certainty, False, "",
            "f" + cid, "contradicted" if evidence else "no_evidence", evidence, flags, risk, "unreviewed", "")


def literal_tables() -> dict:
    """Three articles; 'no side effects' (s2) is contradicted by three claims and by evidence and
    flagged high; 'painless' (s2) by one absolute claim; a hedged pair in s3."""
    claims = pd.DataFrame([
        claim("c000000000001", "s2", 0, "Microneedling has no side effects.", evidence="MN-05",
              flags="absolute_safety.no_side_effects", risk="high"),
        claim("c000000000002", "s2", 40, "Microneedling is painless."),
        claim("c000000000003", "s1", 0, "Microneedling causes redness.", "absolute"),
        claim("c000000000004", "s1", 30, "Microneedling may cause breakouts.", "hedged"),
        claim("c000000000005", "s1", 70, "Microneedling hurts.", "absolute"),
        claim("c000000000006", "s3", 0, "Microneedling may cause swelling.", "hedged"),
        claim("c000000000007", "s3", 40, "Microneedling may be painless.", "hedged"),
        claim("c000000000008", "s3", 80, "Microneedling can hurt a little.", "hedged"),
    ], columns=CLAIM_COLS)
    pairs = [("c000000000001", "c000000000003", "side_effects"), ("c000000000001", "c000000000004", "side_effects"),
             ("c000000000001", "c000000000006", "side_effects"), ("c000000000002", "c000000000005", "pain"),
             ("c000000000007", "c000000000008", "pain")]
    src = dict(zip(claims["claim_id"], claims["source_id"]))
    text = dict(zip(claims["claim_id"], claims["text"]))
    contra = pd.DataFrame([{
        "contradiction_id": f"x{i:012x}", "claim_a": a, "claim_b": b, "source_a": src[a], "source_b": src[b],
        "scope": "within_source" if src[a] == src[b] else "cross_source", "treatment": "microneedling",
        "aspect": asp, "value_a": "v", "value_b": "w", "text_a": text[a], "text_b": text[b],
        "rationale": "they cannot both be true", "severity": "high", "repeats": 1}
        for i, (a, b, asp) in enumerate(pairs)], columns=tables.CONTRADICTIONS)
    evidence = pd.DataFrame([dict(zip(tables.EVIDENCE, [
        "MN-05", "t", "microneedling", "side_effects", "named", "FDA reports burns and scarring.", "q",
        "A title", "FDA", "https://example.org/mn05", "no", ""]))])
    flags = pd.DataFrame([{"claim_id": "c000000000001", "rule_id": "absolute_safety.no_side_effects",
                           "family": "absolute_safety", "severity": "high",
                           "message": "Name the common side effects.", "text": text["c000000000001"]}])
    groups = tables.groups_for_people(contradiction_groups(claims, contra, evidence))
    return {"claims": claims, "contradictions": contra, "groups": groups, "articles": ARTICLES,
            "problems": pd.DataFrame(columns=tables.PROBLEMS), "evidence": evidence, "flags": flags,
            "review_status": None}


def test_titles_come_from_the_articles_table_else_the_source_id():
    t = literal_tables()
    assert report.article_titles(t)["s2"] == "Our clinic's microneedling"
    assert report.article_titles({**t, "articles": None}) == {}
    view = report.claims_view(t["claims"], report.article_titles(t))
    assert view.loc[0, "article"] == "Our clinic's microneedling"
    assert report.claims_view(t["claims"]).loc[0, "article"] == "s2"


def test_start_here_ranks_claims_by_how_many_kinds_of_risk_and_says_why():
    t = literal_tables()
    found = report.start_here(t)
    first = found[0]
    assert first["claim_id"] == "c000000000001" and first["article"] == "Our clinic's microneedling"
    assert first["kinds"] == ["contradiction", "evidence", "risk"]
    assert first["why"][0].startswith("Contradicted by 3 claims in 2 articles, e.g.")
    assert "MN-05: FDA reports burns and scarring." in first["why"][1]
    assert "Name the common side effects. (absolute_safety.no_side_effects)" in first["why"][2]
    listed = {f["claim_id"] for f in found}
    # high groups only: the hedged pair in s3 (low) and claims attacked only by hedged ones stay out
    assert "c000000000007" not in listed and "c000000000008" not in listed
    assert "c000000000002" in listed and "c000000000005" in listed   # absolute against absolute
    html = report.start_here_html(t)
    items = HTMLParser(html).css("#start-here-list > li")
    assert [i.attributes["data-claim"] for i in items] == [f["claim_id"] for f in found]
    assert items[0].css_first("b").text() == "Our clinic's microneedling"


def test_start_here_shows_ten_and_says_how_many_more():
    t = literal_tables()
    many = pd.DataFrame([claim(f"c{i:012d}", "s1", i * 10, f"Claim number {i} is risky.", risk="high")
                         for i in range(100, 112)], columns=CLAIM_COLS)
    t = {**t, "claims": many, "groups": t["groups"].iloc[0:0]}
    html = report.start_here_html(t)
    assert len(HTMLParser(html).css("#start-here-list > li")) == report.START_HERE_MAX == 10
    assert "2 more below" in html
    quiet = {**t, "claims": many.assign(risk="none")}
    assert "Nothing to start with" in report.start_here_html(quiet)


def test_groups_come_first_by_severity_then_count_and_pairs_fold_below():
    t = literal_tables()
    html = report.groups_html(t)
    tree = HTMLParser(html)
    rows = tree.css("tr[data-group]")
    severities = [r.attributes["data-severity"] for r in rows]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)
    top = rows[0]
    assert "Microneedling has no side effects." in top.css_first("td[data-col='claim']").text()
    assert top.css_first("td[data-col='claim'] b").text() == "Our clinic's microneedling"
    assert top.css_first("td[data-col='against']").text() == "3 claims in 2 articles and evidence MN-05"
    counters = [li.text() for li in top.css("td[data-col='counters'] li")]
    assert counters[0].startswith("Microneedling myths") and "causes redness" in counters[0]   # absolute first
    assert counters[-1].startswith("evidence MN-05")
    assert html.index("id='groups'") < html.index("class='all-pairs'")   # groups, then the pairs
    assert not tree.css_first("details.all-pairs").attributes.get("open")
    assert "s1" not in top.text() and "s2" not in top.text()


def test_long_medium_and_low_lists_fold():
    t = literal_tables()
    g = t["groups"]
    many = pd.concat([g[g["severity"] == "medium"]] * (report.OPEN_GROUP_MAX + 1), ignore_index=True)
    many = many.assign(group_id=[f"g{i:012d}" for i in range(len(many))])
    tree = HTMLParser(report.groups_html({**t, "groups": pd.concat([g, many], ignore_index=True)}))
    assert "open" in tree.css_first("details.severity-high").attributes
    assert "open" not in tree.css_first("details.severity-medium").attributes


def test_groups_missing_or_empty_say_so():
    t = literal_tables()
    assert report.NOT_AVAILABLE in report.groups_html({**t, "groups": None})
    assert "No claim is contradicted" in report.groups_html({**t, "groups": t["groups"].iloc[0:0]})


def test_every_chart_has_axis_titles():
    t = literal_tables()
    counts = report.counts_by_treatment_and_type(t["claims"])
    figures = [report.heatmap(counts), report.risky_chart(report.risky_by_rule(t)),
               report.evidence_chart(pd.crosstab(t["claims"]["treatment"], t["claims"]["evidence_status"]))]
    for fig in figures:
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
    assert (figures[0].axes[0].get_xlabel(), figures[0].axes[0].get_ylabel()) == ("claim type", "treatment")


def test_source_graph_names_articles_by_title():
    t = literal_tables()
    html = report.source_graph_html(t)
    links = HTMLParser(html).css("#source-links td")
    shown = {n.text() for n in links}
    assert "Microneedling myths" in shown and "s1" not in shown
    fig = report.source_graph(["s1", "s2", "s3"], report.source_links(t["contradictions"]), report.article_titles(t))
    labels = " ".join(x.get_text() for x in fig.axes[0].texts)
    assert "Microneedling myths" in labels and "s1" not in labels


def test_claims_table_fits_the_page_and_keeps_the_rest_behind_a_toggle():
    t = literal_tables()
    html = report.claims_table_html(t["claims"], report.article_titles(t))
    tree = HTMLParser(html)
    heads = [th.text() for th in tree.css("#claims-table thead tr:first-child th")]
    assert heads == ["article", "claim", "treatment", "type", "risk", "evidence", "review", "more"]
    widths = [int(c.attributes["style"].split(":")[1].rstrip("%")) for c in tree.css("#claims-table col")]
    assert len(widths) == len(heads) and sum(widths) == 100
    assert len(tree.css("#claims-table thead input")) == len(heads)
    row = tree.css_first("tr[data-claim='c000000000001']")
    assert row.css_first("td[data-col='article']").text() == "Our clinic's microneedling"
    assert row.css_first("td[data-col='risk']").text() == "high"
    more = row.css_first("td[data-col='more'] details")
    assert more is not None and "c000000000001" in more.text() and "absolute_safety.no_side_effects" in more.text()
    assert row.css_first("td[data-col='claim_id']") is None   # not a column of its own


def test_outputs_are_listed_by_name_relative_to_the_output_folder(tmp_path):
    for name in (config.CLAIMS_REVIEW_XLSX, config.CONTRADICTION_GROUPS_CSV, config.CLAIMS_CSV):
        (tmp_path / name).write_text("x")
    html = report.outputs_html(tmp_path)
    names = [c.text() for c in HTMLParser(html).css("li code")]
    assert names == [config.REPORT_HTML, config.CLAIMS_REVIEW_XLSX, config.CONTRADICTION_GROUPS_CSV, config.CLAIMS_CSV]
    assert str(tmp_path) not in html and str(config.ROOT) not in html
    assert "data/review/decisions.csv" in html


def test_summary_counts_groups_by_severity_in_blocks():
    t = literal_tables()
    f = report.summary_figures(t)
    assert f["claims under attack (contradiction groups)"] == len(t["groups"])
    assert f["groups of high severity"] == int((t["groups"]["severity"] == "high").sum()) >= 1
    tree = HTMLParser(report.summary_html(t))
    captions = [c.text() for c in tree.css("#summary-table caption")]
    assert captions[:3] == ["Articles and claims", "Contradictions", "Risk and evidence"]
    assert len(tree.css("#summary-table tr[data-key]")) == len(f)
    assert report.summary_figures({**t, "groups": None})["groups of high severity"] == report.NOT_AVAILABLE
