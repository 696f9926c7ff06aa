"""Contradiction groups on tiny literal claim and pair tables: one row per claim under attack."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from pipeline import tables
from pipeline.stages.groups import FamilyCounts, contradiction_groups, group_id, severity

CLAIM_COLS = ["claim_id", "family_id", "source_id", "start", "text", "treatment", "certainty",
              "evidence_status", "evidence_ids"]


def claims(*rows) -> pd.DataFrame:
    """Literal claims: (id, family, source, start, text, certainty[, evidence ids]); treatment
    microneedling; evidence_status contradicted when evidence ids are given."""
    out = []
    for cid, fam, sid, start, text, cert, *ev in rows:
        ids = tuple(ev[0]) if ev else ()
        out.append((cid, fam, sid, start, text, "microneedling", cert,
                    "contradicted" if ids else "no_evidence", ids))
    return pd.DataFrame(out, columns=CLAIM_COLS)


def pairs(*rows) -> pd.DataFrame:
    """Literal pair rows: (claim_a, claim_b, aspect); other columns are not read."""
    out = [{"contradiction_id": f"x{i:012x}", "claim_a": a, "claim_b": b, "aspect": asp}
           for i, (a, b, asp) in enumerate(rows)]
    return pd.DataFrame(out, columns=tables.CONTRADICTIONS)


NO_SIDE_EFFECTS = ("cnone00000000", "f1", "a", 0, "Microneedling has no side effects.", "absolute")
BREAKOUTS = ("cbreak0000000", "f2", "b", 10, "Microneedling may cause breakouts.", "hedged")
REDNESS = ("credness00000", "f3", "b", 50, "Microneedling can cause redness.", "hedged")
INFECTION = ("cinfect000000", "f4", "c", 5, "Microneedling causes infections.", "absolute")
SWELLING = ("cswell0000000", "f5", "d", 0, "Swelling may follow microneedling.", "conditional")


def by_claim(groups: pd.DataFrame) -> dict[str, pd.Series]:
    return {r.claim_id: r for _, r in groups.iterrows()}


def test_one_row_per_claim_under_attack_with_counts_and_strongest_counters():
    c = claims(NO_SIDE_EFFECTS, BREAKOUTS, REDNESS, INFECTION, SWELLING)
    p = pairs(("cnone00000000", "cbreak0000000", "side_effects"),
              ("cnone00000000", "credness00000", "side_effects"),
              ("cnone00000000", "cinfect000000", "side_effects"),
              ("cnone00000000", "cswell0000000", "side_effects"))
    g = contradiction_groups(c, p)
    assert list(g.columns) == tables.GROUPS
    assert sorted(g["claim_id"]) == sorted(c["claim_id"])   # both sides of every pair are attacked
    top = by_claim(g)["cnone00000000"]
    assert (top.contradicting_claims, top.contradicting_sources) == (4, 3)
    # absolute before hedged, then corpus order (source, start)
    assert (top.counter_1_text, top.counter_1_source) == (INFECTION[4], "c")
    assert (top.counter_2_text, top.counter_3_text) == (BREAKOUTS[4], REDNESS[4])
    assert top.counter_claim_ids == ("cinfect000000", "cbreak0000000", "credness00000", "cswell0000000")
    assert len(top.contradiction_ids) == 4 and top.aspects == ("side_effects",)
    assert g.iloc[0]["claim_id"] == "cnone00000000"   # high, most contradicted: first
    assert by_claim(g)["cbreak0000000"].counter_1_text == NO_SIDE_EFFECTS[4]


@pytest.mark.parametrize("claim, counter, evidence, expected", [
    ("absolute", "absolute", False, "high"),
    ("absolute", None, True, "high"),          # evidence counts as an absolute statement
    ("absolute", "hedged", False, "medium"),
    ("hedged", "absolute", False, "medium"),
    ("hedged", None, True, "medium"),
    ("hedged", "hedged", False, "low"),
    ("conditional", "hedged", False, "low"),   # a condition is a hedge
    ("absolute", "conditional", False, "medium"),
])
def test_severity_rule(claim, counter, evidence, expected):
    rows = [("c000000000001", "f1", "a", 0, "Microneedling is painless.", claim, ("MN-01",) if evidence else ())]
    if counter:
        rows.append(("c000000000002", "f2", "b", 0, "Microneedling hurts.", counter))
    p = pairs(("c000000000001", "c000000000002", "pain")) if counter else pairs()
    g = by_claim(contradiction_groups(claims(*rows), p))
    assert g["c000000000001"].severity == expected


def test_severity_function_matches_the_documented_rule():
    assert [severity(a, c, e) for a, c, e in [(True, True, False), (True, False, True), (True, False, False),
                                              (False, True, False), (False, False, True), (False, False, False)]] \
        == ["high", "high", "medium", "medium", "medium", "low"]


def test_repeated_counter_claims_count_every_occurrence_and_rank_first():
    """A counter-claim stands for its family: the same sentence in three places is three claims
    (in two sources), and the most repeated hedged counter comes before a single one."""
    c = claims(NO_SIDE_EFFECTS, BREAKOUTS, REDNESS,
               ("crednes2b0000", "f3", "c", 7, REDNESS[4], "hedged"),
               ("crednes3b0000", "f3", "c", 90, REDNESS[4], "hedged"))
    p = pairs(("cnone00000000", "cbreak0000000", "side_effects"),
              ("cnone00000000", "credness00000", "side_effects"))
    top = by_claim(contradiction_groups(c, p))["cnone00000000"]
    assert (top.contradicting_claims, top.contradicting_sources) == (4, 2)
    assert top.counter_claim_ids == ("credness00000", "cbreak0000000")


def test_evidence_alone_makes_a_group_with_its_rows_and_aspects():
    c = claims(("cpalms0000000", "f1", "a", 3, "The palms are the only parts without pores.", "absolute",
                ("PO-05", "PO-06")), BREAKOUTS)
    evidence = pd.DataFrame({"evidence_id": ["PO-05", "PO-06"], "aspect": ["palms_soles_pores", ""]})
    g = contradiction_groups(c, pairs(), evidence)
    assert len(g) == 1
    row = g.iloc[0]
    assert (row.claim_id, row.severity, row.contradicting_claims) == ("cpalms0000000", "high", 0)
    assert row.evidence_ids == ("PO-05", "PO-06") and row.aspects == ("palms_soles_pores",)
    assert row.counter_1_text == "" and row.counter_claim_ids == ()


def test_group_ids_are_a_hash_of_the_claim_id_and_order_does_not_matter():
    c = claims(NO_SIDE_EFFECTS, BREAKOUTS, REDNESS, INFECTION)
    p = pairs(("cnone00000000", "cbreak0000000", "side_effects"),
              ("cnone00000000", "credness00000", "side_effects"),
              ("cinfect000000", "cbreak0000000", "side_effects"))
    g = contradiction_groups(c, p)
    assert g.loc[g["claim_id"] == "cnone00000000", "group_id"].item() == \
        "g" + hashlib.sha1(b"cnone00000000").hexdigest()[:12] == group_id("cnone00000000")
    shuffled = contradiction_groups(c.iloc[::-1].reset_index(drop=True), p.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(g, shuffled)


def test_rows_sort_by_severity_then_count():
    c = claims(NO_SIDE_EFFECTS, BREAKOUTS, REDNESS, INFECTION, SWELLING,
               ("chedged000001", "f6", "e", 0, "Microneedling may be painless.", "hedged"),
               ("chedged000002", "f7", "e", 9, "Microneedling may hurt a little.", "hedged"))
    p = pairs(("cnone00000000", "cbreak0000000", "side_effects"),
              ("cnone00000000", "credness00000", "side_effects"),
              ("cinfect000000", "cswell0000000", "side_effects"),
              ("chedged000001", "chedged000002", "pain"))
    g = contradiction_groups(c, p)
    ranks = [("high", "medium", "low").index(s) for s in g["severity"]]
    assert ranks == sorted(ranks)
    high = g[g["severity"] == "high"]
    assert list(high["contradicting_claims"]) == sorted(high["contradicting_claims"], reverse=True)
    assert g.iloc[-1]["claim_id"] in {"chedged000001", "chedged000002"}


def test_no_claims_or_no_pairs_give_an_empty_table_with_the_contract():
    assert list(contradiction_groups(claims(), pairs()).columns) == tables.GROUPS
    assert contradiction_groups(claims(BREAKOUTS), pairs()).empty


def test_people_form_joins_list_columns():
    c = claims(NO_SIDE_EFFECTS, BREAKOUTS)
    people = tables.groups_for_people(contradiction_groups(c, pairs(("cnone00000000", "cbreak0000000", "side_effects"))))
    assert set(people["counter_claim_ids"]) == {"cbreak0000000", "cnone00000000"}
    assert set(people["aspects"]) == {"side_effects"} and set(people["evidence_ids"]) == {""}


def test_family_counts_added_part_by_part_equal_counts_of_all_claims():
    """The Dask finish counts families part by part (``FamilyCounts.add``): the same sizes and
    source counts as over all claims, a family's sources counted once however many parts and
    claims name them, and several families' sources united, not summed."""
    c = claims(NO_SIDE_EFFECTS, BREAKOUTS, REDNESS,
               ("crednes2b0000", "f3", "c", 7, REDNESS[4], "hedged"),
               ("crednes3b0000", "f3", "c", 90, REDNESS[4], "hedged"),
               ("cbreak2000000", "f2", "c", 3, BREAKOUTS[4], "hedged"))
    wanted = {"f2", "f3"}
    whole = FamilyCounts.of(c, wanted)
    added = FamilyCounts()
    for rows in (c.iloc[:3], c.iloc[3:4], c.iloc[4:]):
        added.add(FamilyCounts.of(rows, wanted))
    for counts in (whole, added):
        assert counts.size == {"f3": 3, "f2": 2}
        assert (counts.n_sources({"f3"}), counts.n_sources({"f2"})) == (2, 2)   # b and c each
        assert counts.n_sources({"f2", "f3"}) == 2 and counts.n_sources(set()) == 0
