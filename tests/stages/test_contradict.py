"""Contradictions on tiny literal claim tables (assertions given as the pipeline writes them)."""
import pandas as pd

from conftest import split_assertions

from pipeline.nlp import RuleSet
from pipeline.stages.contradict import find_contradictions as _find


def find_contradictions(claims):
    return _find(*split_assertions(claims), RuleSet.load())

COLS = ["claim_id", "family_id", "source_id", "start", "text", "treatment", "certainty", "assertions"]


def frame(rows):
    return pd.DataFrame(rows, columns=COLS)


def test_pairs_need_same_treatment_and_conflicting_values():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Microneedling has virtually no side effects.", "microneedling", "hedged", "side_effects=none|virtually no side effects"),
        ("c000000000002", "f2", "b", 5, "Microneedling may cause breakouts.", "microneedling", "hedged", "side_effects=named:breakouts|breakouts"),
        ("c000000000003", "f3", "b", 9, "Peels may cause redness.", "chemical_peel", "hedged", "side_effects=named:redness|redness"),
        ("c000000000004", "f4", "c", 1, "Microneedling can cause mild pain.", "microneedling", "hedged", "pain=some|pain"),
    ])
    out = find_contradictions(claims)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.claim_a, row.claim_b, row.scope, row.aspect) == ("c000000000001", "c000000000002", "cross_source", "side_effects")
    assert "virtually no side effects" in row.rationale and "breakouts" in row.rationale
    assert row.rationale.startswith("Microneedling, side effects:")
    assert row.severity == "high" and row.repeats == 1


def test_absence_is_not_a_contradiction():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Peels are painless.", "chemical_peel", "absolute", "pain=none|painless"),
        ("c000000000002", "f2", "a", 9, "Peels reduce pores.", "chemical_peel", "absolute", "effect=improves:pores|reduce pores"),
    ])
    assert find_contradictions(claims).empty


def test_within_source_scope_and_severity_of_hedged_efficacy_clash():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Microderm might not change pore size.", "microdermabrasion", "hedged", "effect=no_effect:pores|not change pore size"),
        ("c000000000002", "f2", "a", 90, "Large pores tend to shrink.", "microdermabrasion", "hedged", "effect=improves:pores|pores tend to shrink"),
    ])
    out = find_contradictions(claims)
    assert list(out["scope"]) == ["within_source"] and list(out["severity"]) == ["low"]
    assert "the same article also says" in out.at[0, "rationale"]


def test_repeated_claims_collapse_per_scope():
    none = "side_effects=none|no side effects"
    named = "side_effects=named:bruising|bruising"
    claims = frame([
        ("c000000000001", "fA", "a", 0, "Botox has no side effects.", "botox", "absolute", none),
        ("c000000000002", "fA", "a", 50, "Botox has no side effects.", "botox", "absolute", none),
        ("c000000000003", "fB", "a", 90, "Botox may cause bruising.", "botox", "hedged", named),
        ("c000000000004", "fB", "b", 10, "Botox may cause bruising.", "botox", "hedged", named),
    ])
    out = find_contradictions(claims)
    assert sorted(zip(out["scope"], out["repeats"])) == [("cross_source", 2), ("within_source", 2)]
    within = out[out["scope"] == "within_source"].iloc[0]
    assert (within.claim_a, within.claim_b) == ("c000000000001", "c000000000003")


def test_ranking_conflict_is_blocked_by_outcome_across_treatments():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "A TCA peel is the best treatment for enlarged pores.", "chemical_peel", "absolute", "ranking=best:pores|the best"),
        ("c000000000002", "f2", "b", 0, "Fraxel is the gold standard for enlarged pores.", "laser", "absolute", "ranking=best:pores|gold standard"),
        ("c000000000003", "f3", "b", 60, "Fraxel is the best for acne.", "laser", "absolute", "ranking=best:acne|the best"),
        ("c000000000004", "f4", "c", 0, "HydraFacial is the safest way to treat enlarged pores.", "hydrafacial", "absolute", "ranking=safest:pores|the safest"),
    ])
    out = find_contradictions(claims)
    assert list(zip(out["treatment"], out["aspect"])) == [("chemical_peel|laser", "ranking")]
    assert "cannot both be the best for pores" in out.at[0, "rationale"]


def test_candidacy_groups_must_meet_and_general_claims_join_universal_aspects():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Peels suit all skin types.", "chemical_peel", "absolute", "candidacy=suitable:all_skin_types|suit"),
        ("c000000000002", "f2", "a", 40, "Not for sensitive skin.", "chemical_peel", "absolute", "candidacy=unsuitable:sensitive_skin|not for you"),
        ("c000000000003", "f3", "a", 80, "Not for darker skin if peel is strong.", "chemical_peel", "conditional", "candidacy=unsuitable:darker_skin|not for"),
        ("c000000000007", "f7", "a", 90, "Not during pregnancy.", "chemical_peel", "absolute", "candidacy=unsuitable:pregnant|not for"),
        ("c000000000004", "f4", "b", 0, "Nothing can permanently shrink pores.", "none", "absolute", "durability=temporary|nothing permanently shrink"),
        ("c000000000005", "f5", "c", 0, "Strips permanently shrink pores.", "pore_strips", "absolute", "durability=permanent|permanently shrink"),
        ("c000000000006", "f6", "c", 50, "Acne can cause scarring.", "none", "hedged", "side_effects=named:scarring|scarring"),
    ])
    out = find_contradictions(claims)
    got = sorted(zip(out["claim_a"], out["claim_b"], out["aspect"], out["treatment"]))
    assert got == [("c000000000001", "c000000000002", "candidacy", "chemical_peel"),
                   ("c000000000001", "c000000000003", "candidacy", "chemical_peel"),
                   ("c000000000004", "c000000000005", "durability", "pore_strips")]


def test_different_named_subtypes_do_not_pair():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Glycolic peels have no downtime.", "chemical_peel", "absolute", "downtime=none|no downtime"),
        ("c000000000002", "f2", "a", 40, "TCA peels need a week of recovery time.", "chemical_peel", "absolute", "downtime=some|recovery time"),
        ("c000000000003", "f3", "a", 90, "After a glycolic peel expect 5 days of peeling.", "chemical_peel", "absolute", "downtime=some|5 days of peeling"),
    ])
    out = find_contradictions(claims)
    assert list(zip(out["claim_a"], out["claim_b"])) == [("c000000000001", "c000000000003")]


def test_absolute_efficacy_claim_contradicted_is_high():
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Microderm does not change pore size.", "microdermabrasion", "absolute", "effect=no_effect:pores|not change pore size"),
        ("c000000000002", "f2", "a", 90, "Large pores tend to shrink.", "microdermabrasion", "hedged", "effect=improves:pores|pores tend to shrink"),
        ("c000000000003", "f3", "b", 0, "It is painless if numbed.", "microdermabrasion", "conditional", "pain=none|painless"),
        ("c000000000004", "f4", "b", 40, "It may sting.", "microdermabrasion", "hedged", "pain=some|sting"),
    ])
    out = find_contradictions(claims)
    assert dict(zip(out["aspect"], out["severity"])) == {"effect": "high", "pain": "medium"}


def test_a_family_claim_meets_its_members_but_members_never_meet_each_other():
    """'Lasers can cause burns' speaks of every laser; laser hair removal is not resurfacing."""
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Laser hair removal has no side effects.", "laser_hair_removal", "absolute", "side_effects=none|no side effects"),
        ("c000000000002", "f2", "b", 0, "Laser resurfacing can cause burns.", "laser_resurfacing", "hedged", "side_effects=serious:burns|burns"),
        ("c000000000003", "f3", "c", 0, "Lasers can cause burns.", "laser", "hedged", "side_effects=serious:burns|burns"),
    ])
    out = find_contradictions(claims)
    assert sorted(zip(out["claim_a"], out["claim_b"], out["treatment"])) == [
        ("c000000000001", "c000000000003", "laser_hair_removal")]


def test_minimal_side_effects_clash_only_with_serious_ones():
    """Decided in docs/contradictions.md: 'minimal side effects' is consistent with transient
    redness, not with burns or scarring; 'no side effects' clashes with both."""
    claims = frame([
        ("c000000000001", "f1", "a", 0, "It has minimal side effects.", "ipl", "absolute", "side_effects=minimal|minimal side effects"),
        ("c000000000002", "f2", "a", 40, "Some redness may occur.", "ipl", "hedged", "side_effects=named:redness|redness"),
        ("c000000000003", "f3", "a", 80, "Burns may occur.", "ipl", "hedged", "side_effects=serious:burns|burns"),
        ("c000000000004", "f4", "b", 0, "It has no side effects.", "ipl", "absolute", "side_effects=none|no side effects"),
    ])
    out = find_contradictions(claims)
    pairs = {frozenset((a, b)) for a, b in zip(out["claim_a"], out["claim_b"])}
    assert pairs == {frozenset(("c000000000001", "c000000000003")), frozenset(("c000000000002", "c000000000004")),
                     frozenset(("c000000000003", "c000000000004"))}


def test_coordinated_subjects_each_meet_their_own_treatment(rules, nlp):
    """'Chemical peels and lasers can make pores bigger' speaks of both treatments."""
    from conftest import raw_frame

    from pipeline.analyse import analyse

    text = ("Chemical peels and laser resurfacing can make your pores bigger.\n\n"
            "A glycolic peel shrinks pores for good.\n\nFraxel laser resurfacing shrinks pores.\n")
    t = analyse(raw_frame({"a.txt": text}), rules, nlp=nlp)
    assert sorted(set(t.contradictions["treatment"])) == ["chemical_peel", "laser_resurfacing"]


def test_safe_clashes_with_a_serious_harm_on_the_same_page_only():
    """docs/contradictions.md: a page that calls a treatment safe and names a serious harm of it
    contradicts itself; another page naming the harm only differs in tone."""
    claims = frame([
        ("c000000000001", "f1", "a", 0, "Fillers are among the safest treatments.", "dermal_filler", "absolute", "side_effects=safe|safest"),
        ("c000000000002", "f2", "a", 50, "Nine patients went blind.", "dermal_filler", "absolute", "side_effects=serious:went_blind|went blind"),
        ("c000000000003", "f3", "b", 0, "Fillers can cause blindness.", "dermal_filler", "hedged", "side_effects=serious:blindness|blindness"),
        ("c000000000004", "f4", "a", 90, "Some bruising may occur.", "dermal_filler", "hedged", "side_effects=named:bruising|bruising"),
    ])
    out = find_contradictions(claims)
    assert list(zip(out["claim_a"], out["claim_b"], out["scope"])) == [("c000000000001", "c000000000002", "within_source")]


def test_families_of_a_within_article_clash_are_paired_only_through_their_articles():
    """A clash that holds within one article only ("safe" against a named serious effect) pairs
    the families that share an article, in the order a full product would give, without
    walking every family against every other."""
    from itertools import product
    from types import SimpleNamespace

    from pipeline.stages.contradict import _sharing_an_article

    def fam(*sources):
        return SimpleNamespace(per_source={s: [s] for s in sources})

    fas = [fam("a", "b"), fam("c"), fam("d", "a")]
    fbs = [fam("b"), fam("x"), fam("a", "c"), fam("d")]
    brute = [(x, y) for x, y in product(fas, fbs) if x.per_source.keys() & y.per_source.keys()]
    assert list(_sharing_an_article(fas, fbs)) == brute


def test_assertions_of_claims_none_of_which_assert_anything_is_an_empty_table(rules):
    """No assertion belongs to the given claims (a check's corpus read for other treatments):
    an empty table with the contract columns, not a table without columns."""
    from pipeline.stages.contradict import ASSERTED_COLUMNS, assertions_of

    claims = pd.DataFrame({"claim_id": ["c1"], "source_id": ["a"], "start": [0], "treatment": ["laser"],
                           "text": ["Laser is painless."], "certainty": ["absolute"],
                           "family_id": ["f1"], "claim_type": ["safety"]})
    assertions = pd.DataFrame({"claim_id": ["other"], "aspect": ["pain"], "value": ["none"],
                               "qualifier": [""], "words": ["painless"], "absolute": [True]})
    out = assertions_of(claims, assertions, rules.aspects)
    assert out.empty and list(out.columns) == ASSERTED_COLUMNS


def test_source_subtypes_of_no_rows_and_of_articles_naming_one_or_two():
    from pipeline.nlp import RuleSet
    from pipeline.stages.contradict import source_subtypes

    index = RuleSet.load().aspects
    assert source_subtypes(pd.DataFrame(columns=["source_id", "treatment", "text"]), index) == {}
    rows = pd.DataFrame({
        "source_id": ["a", "a", "b", "b", "c"],
        "treatment": ["laser_resurfacing", "laser_resurfacing", "laser_resurfacing", "laser_resurfacing",
                      "microneedling"],
        "text": ["Fraxel heals fast.", "It heals in days.", "Fraxel is gentle.", "CO2 is ablative.",
                 "Non-ablative needles."]})
    assert source_subtypes(rows, index) == {("a", "laser_resurfacing"): frozenset({"non_ablative"})}
