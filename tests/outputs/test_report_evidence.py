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


def test_evidence_section_lists_contradicted_claims_with_citation():
    claims = pd.DataFrame([
        dict(claim_id="c1", source_id="a", treatment="botox", text="Botox has no side effects.",
             evidence_status="contradicted", evidence_ids="E1;E2"),
        dict(claim_id="c2", source_id="a", treatment="botox", text="Botox lasts 4 months.",
             evidence_status="supported", evidence_ids="E2"),
    ])
    evidence = pd.DataFrame([dict(zip(tables.EVIDENCE, [eid, "t", "botox", "side_effects", "named",
                                                                f"Statement {eid}", "a quote", "A title", "A publisher",
                                                                f"https://example.org/{eid}", mirror, ""]))
                             for eid, mirror in (("E1", "yes"), ("E2", "no"))])
    table = contradicted_by_evidence(claims, evidence)
    assert list(table["evidence_id"]) == ["E1", "E2"] and set(table["claim_id"]) == {"c1"}
    page = evidence_html({"claims": claims, "evidence": evidence})
    assert "https://example.org/E1" in page and "(mirror or index copy)" in page
    assert "Botox lasts 4 months." not in page.split("Claims contradicted by evidence")[1]


def test_families_show_each_repeated_claim_once():
    claims = pd.DataFrame([
        dict(claim_id=f"c{i}", source_id=s, start=i, end=i + 5, treatment="botox", family_id=f,
             text=t) for i, (s, f, t) in enumerate([("a", "f1", "Botox is safe."), ("b", "f1", "Botox is safe."),
                                                    ("a", "f2", "Botox lasts months.")])])
    page = families_html(claims)
    assert page.count("Botox is safe.") == 1 and "Botox lasts months." not in page and "a;b" in page
