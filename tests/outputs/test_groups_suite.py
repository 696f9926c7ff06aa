"""The great-expectations suite of contradiction_groups.csv (expectations/contradiction_groups.json)."""
from __future__ import annotations

import pandas as pd

from pipeline import tables
from pipeline.stages.groups import contradiction_groups


def literal_groups() -> pd.DataFrame:
    claims = pd.DataFrame([
        ("c000000000001", "f1", "a", 0, "Microneedling has no side effects.", "microneedling", "absolute",
         "contradicted", ("MN-05",)),
        ("c000000000002", "f2", "b", 4, "Microneedling may cause breakouts.", "microneedling", "hedged",
         "no_evidence", ()),
    ], columns=["claim_id", "family_id", "source_id", "start", "text", "treatment", "certainty",
                "evidence_status", "evidence_ids"])
    pairs = pd.DataFrame([{"contradiction_id": "x00000000000a", "claim_a": "c000000000001",
                           "claim_b": "c000000000002", "aspect": "side_effects"}], columns=tables.CONTRADICTIONS)
    return tables.groups_for_people(contradiction_groups(claims, pairs))


def test_groups_suite_passes_real_groups_and_catches_broken_ones():
    from pipeline.outputs.validate import failures, validate_tables

    good = literal_groups()
    empty = tables.groups_for_people(tables.empty(tables.GROUPS))
    broken = good.assign(severity=["critical", "low"], contradicting_sources=[5, 1],
                         treatment=["microneedling", "not_a_treatment"])
    summary = validate_tables({"contradiction_groups": good})
    assert summary["contradiction_groups"]["success"], failures(summary)
    assert validate_tables({"contradiction_groups": empty})["contradiction_groups"]["success"]
    failed = failures(validate_tables({"contradiction_groups": broken}))
    assert any("(column severity)" in f for f in failed), failed
    assert any("pair_values_a_to_be_greater_than_b" in f for f in failed), failed
    assert any("(column treatment)" in f for f in failed), failed
