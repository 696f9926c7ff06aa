import pandas as pd

from pipeline.contradict import find_contradictions


def frame(rows):
    cols = ["claim_id", "source_id", "start", "text", "treatment", "certainty", "assertions"]
    return pd.DataFrame(rows, columns=cols)


def test_pairs_need_same_treatment_and_conflicting_values():
    claims = frame([
        ("c000000000001", "a", 0, "Microneedling has virtually no side effects.", "microneedling", "absolute", "side_effects=none"),
        ("c000000000002", "b", 5, "Microneedling may cause breakouts.", "microneedling", "hedged", "side_effects=named"),
        ("c000000000003", "b", 9, "Peels may cause redness.", "chemical_peel", "hedged", "side_effects=named"),
        ("c000000000004", "c", 1, "Microneedling can cause mild pain.", "microneedling", "hedged", "pain=painful"),
    ])
    out = find_contradictions(claims)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.claim_a, row.claim_b, row.scope, row.aspect) == ("c000000000001", "c000000000002", "cross_source", "side_effects")
    assert "no side effects" in row.rationale and "breakouts" in row.rationale


def test_absence_is_not_a_contradiction():
    claims = frame([
        ("c000000000001", "a", 0, "Peels are painless.", "chemical_peel", "absolute", "pain=painless"),
        ("c000000000002", "a", 9, "Peels reduce pores.", "chemical_peel", "absolute", "pore_size_effect=reduces"),
    ])
    assert find_contradictions(claims).empty


def test_within_source_scope():
    claims = frame([
        ("c000000000001", "a", 0, "Microderm does not change pore size.", "microdermabrasion", "absolute", "pore_size_effect=no_effect"),
        ("c000000000002", "a", 90, "Large pores tend to shrink.", "microdermabrasion", "hedged", "pore_size_effect=reduces"),
    ])
    out = find_contradictions(claims)
    assert list(out["scope"]) == ["within_source"]
