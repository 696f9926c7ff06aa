"""Report views for contradictions and evidence, on tiny literal tables."""
import pandas as pd

from pipeline import config, tables
from pipeline.outputs.report import contradicted_by_evidence, contradictions_html, evidence_html, families_html


def contra():
    base = dict(contradiction_id="x1", claim_a="c1", claim_b="c2", source_a="a", source_b="b",
                scope="cross_source", treatment="botox", aspect="side_effects", value_a="none",
                value_b="named:bruising", text_a="Botox has no side effects.", text_b="Botox may cause <bruising>.",
                rationale="Botox, side effects: a says no side effects but b says bruising.", severity="high", repeats=3)
    low = {**base, "contradiction_id": "x2", "severity": "low", "repeats": 1}
    return pd.DataFrame([low, base])[tables.CONTRADICTIONS]


def test_contradictions_most_severe_first_escaped_with_repeats():
    page = contradictions_html(contra())
    assert "&lt;bruising&gt;" in page and "stands for 3 repeated pairs" in page
    assert page.index("data-id='x1'") < page.index("data-id='x2'")  # high before low


def ev_row(eid, mirror, level="regulator", value="serious"):
    return {"evidence_id": eid, "treatment": "botox", "applies_to": "treatment", "aspect": "side_effects",
            "value": value, "qualifier": "ptosis", "level": level, "statement": f"Statement {eid}",
            "quote": "a quote", "source_title": "A title", "publisher": "A publisher",
            "url": f"https://example.org/{eid}", "date": "2024-05", "is_mirror": mirror, "note": ""}


def test_evidence_section_lists_contradicted_and_overclaimed_claims_with_levels_and_citations():
    claims = pd.DataFrame([
        dict(claim_id="c1", source_id="a", treatment="botox", text="Botox has no side effects.",
             certainty="absolute", flags="", evidence_status="contradicted", evidence_ids="E1;E2",
             evidence_level="regulator"),
        dict(claim_id="c2", source_id="a", treatment="botox", text="Botox lasts 4 months.", certainty="absolute",
             flags="", evidence_status="supported", evidence_ids="E2", evidence_level="regulator"),
        dict(claim_id="c3", source_id="a", treatment="botox", text="Botox shrinks pores.", certainty="absolute",
             flags="", evidence_status="overclaimed", evidence_ids="E3", evidence_level="uncontrolled_study"),
    ])
    evidence = pd.DataFrame([ev_row("E1", "yes"), ev_row("E2", "no", "systematic_review"),
                             ev_row("E3", "no", "uncontrolled_study")])[tables.EVIDENCE]
    table = contradicted_by_evidence(claims, evidence)
    assert list(table["evidence_id"]) == ["E1", "E2", "E3"] and list(table["claim_id"]) == ["c1", "c1", "c3"]
    page = evidence_html({"claims": claims, "evidence": evidence})
    assert "https://example.org/E1" in page and "(mirror or index copy)" in page
    listed = page.split("Claims contradicted or over-claimed by the evidence")[1]
    assert "Botox lasts 4 months." not in listed
    assert "<b>E1</b> <i>(regulator)</i>" in listed and "<i>(uncontrolled study)</i>" in listed
    assert "stated as fact, but its best support is uncontrolled study (E3)" in listed
    assert "3 cited facts" in page and "overclaimed" in page


def test_families_show_each_repeated_claim_once():
    claims = pd.DataFrame([
        dict(claim_id=f"c{i}", source_id=s, start=i, end=i + 5, treatment="botox", family_id=f,
             text=t) for i, (s, f, t) in enumerate([("a", "f1", "Botox is safe."), ("b", "f1", "Botox is safe."),
                                                    ("a", "f2", "Botox lasts months.")])])
    page = families_html(claims)
    assert page.count("Botox is safe.") == 1 and "Botox lasts months." not in page and "a;b" in page


def test_long_tables_are_cut_to_the_most_severe_rows_and_say_so(monkeypatch):
    monkeypatch.setattr(config, "REPORT_MAX_ROWS", 1)
    page = contradictions_html(contra())
    assert "The 1 most severe of 2 pairs" in page
    assert "data-id='x1'" in page and "data-id='x2'" not in page   # high kept, low cut
