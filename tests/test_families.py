"""Claim families: near-duplicate claims of one treatment share a family_id (tiny literal frames)."""
import pandas as pd

from pipeline.families import families, family_ids


def frame(rows):
    return pd.DataFrame(rows, columns=["claim_id", "source_id", "start", "end", "treatment", "text"])


CLAIMS = frame([
    ("a", "s1", 0, 40, "microneedling", "Microneedling has virtually no side effects."),
    ("b", "s2", 50, 90, "microneedling", "Microneedling has virtually\u00a0no side effects unlike other treatments."),
    ("c", "s1", 60, 80, "microneedling", "It stimulates collagen."),
    ("d", "s2", 0, 40, "laser", "Microneedling has virtually no side effects."),
])


def test_near_duplicates_of_one_treatment_share_a_family():
    ids = family_ids(CLAIMS)
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    assert ids[0] != ids[3]  # same words, different treatment: a different claim


def test_family_ids_do_not_depend_on_row_order():
    shuffled = CLAIMS.iloc[[3, 2, 1, 0]]
    assert list(family_ids(shuffled).sort_index()) == list(family_ids(CLAIMS))


def test_families_table_lists_each_family_once_with_occurrences():
    fam = families(CLAIMS)
    assert list(fam.columns) == ["family_id", "size", "sources", "treatment", "representative", "claim_ids"]
    top = fam.iloc[0]
    assert (top["size"], top["sources"], top["claim_ids"]) == (2, "s1;s2", "a;b")
    assert top["representative"] == "Microneedling has virtually no side effects."
    assert fam["size"].sum() == len(CLAIMS)


def test_a_short_claim_inside_a_long_one_is_another_family():
    claims = frame([("a", "s", 0, 10, "laser", "It is safe."),
                    ("b", "s", 20, 90, "laser", "It is safe for every skin type and leaves no marks at all.")])
    ids = family_ids(claims)
    assert ids[0] != ids[1]
