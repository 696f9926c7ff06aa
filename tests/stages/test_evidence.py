"""Evidence: claims meet the curated facts on treatment (or its family), aspect and value; each
gets supported, overclaimed, contradicted or no_evidence, never a guess."""
import pandas as pd
import pytest

from conftest import split_assertions

from pipeline import config, io, tables
from pipeline.nlp import RuleSet
from pipeline.stages import evidence as stage
from pipeline.stages.evidence import normalise_evidence

RULES = RuleSet.load()


def fact(eid, treatment, aspect, value, qualifier="", level="systematic_review", applies_to="treatment"):
    return {"evidence_id": eid, "treatment": treatment, "applies_to": applies_to, "aspect": aspect,
            "value": value, "qualifier": qualifier, "level": level,
            "statement": f"{treatment} {aspect} {value} {qualifier}", "quote": "a quoted sentence",
            "source_title": "t", "publisher": "p", "url": "https://example.org/x", "date": "",
            "is_mirror": "no", "note": ""}


def evidence(*facts):
    return normalise_evidence(pd.DataFrame(list(facts), columns=tables.EVIDENCE), RULES)


def claims_frame(rows):
    """(claim_id, text, treatment, certainty, assertions[, flags])"""
    out = pd.DataFrame([(r[0], "a", i * 10, r[1], r[2], r[3], r[4], tuple(r[5]) if len(r) > 5 else ())
                        for i, r in enumerate(rows)],
                       columns=["claim_id", "source_id", "start", "text", "treatment", "certainty",
                                "assertions", "flags"])
    return out


def statuses(rows, ev):
    out = stage.check_evidence(*split_assertions(claims_frame(rows)), ev, RULES)
    return {c: (s, i, lv) for c, s, i, lv in zip(out["claim_id"], out["evidence_status"],
                                                 out["evidence_ids"], out["evidence_level"])}


MICRONEEDLING = evidence(
    fact("MN-01", "microneedling", "side_effects", "serious", "erythema,postinflammatory_hyperpigmentation"),
    fact("MN-02", "microneedling", "invasiveness", "breaks_skin", level="regulator"),
    fact("MN-03", "microneedling", "effect", "improves", "scars", level="systematic_review"),
    fact("MN-04", "microneedling", "effect", "improves", "pores", level="uncontrolled_study"),
    fact("PO-01", "none", "palms_soles_pores", "present", level="textbook"),
    fact("LS-01", "laser", "candidacy", "at_risk", "darker_skin", level="expert_opinion", applies_to="family"),
)


def test_each_status_on_literal_claims():
    got = statuses([
        ("c1", "Microneedling has no side effects.", "microneedling", "absolute", "side_effects=none|no side effects"),
        ("c2", "Microneedling is non-invasive.", "microneedling", "absolute", "invasiveness=non_invasive|non-invasive"),
        ("c3", "Microneedling may cause redness.", "microneedling", "hedged", "side_effects=named:redness|redness"),
        ("c4", "Microneedling may cause breakouts.", "microneedling", "hedged", "side_effects=named:breakouts|breakouts"),
        ("c5", "Microneedling improves acne scars.", "microneedling", "absolute", "effect=improves:scars|improves"),
        ("c6", "Microneedling shrinks pores.", "microneedling", "absolute", "effect=improves:pores|shrinks"),
        ("c7", "Microneedling may shrink pores.", "microneedling", "hedged", "effect=improves:pores|shrink"),
        ("c8", "Microneedling can clear acne.", "microneedling", "hedged", "effect=improves:acne|clear"),
        ("c9", "Palms don't have pores.", "none", "absolute", "palms_soles_pores=absent|palms pores"),
    ], MICRONEEDLING)
    assert got == {
        "c1": ("contradicted", ("MN-01",), "systematic_review"),      # a named serious effect
        "c2": ("contradicted", ("MN-02",), "regulator"),
        "c3": ("supported", ("MN-01",), "systematic_review"),         # erythema is redness
        "c4": ("no_evidence", (), ""),                                # no fact names breakouts
        "c5": ("supported", ("MN-03",), "systematic_review"),         # strong enough as fact
        "c6": ("overclaimed", ("MN-04",), "uncontrolled_study"),      # a benefit as fact, weak support
        "c7": ("supported", ("MN-04",), "uncontrolled_study"),        # hedged: weak support will do
        "c8": ("no_evidence", (), ""),                                # acne is not pores or scars
        "c9": ("contradicted", ("PO-01",), "textbook"),               # a universal aspect
    }


def test_a_claim_of_proof_needs_strong_evidence_even_when_hedged():
    got = statuses([("c1", "Clinically proven: microneedling may shrink pores.", "microneedling", "hedged",
                     "effect=improves:pores|shrink", ["unsupported_evidence_term.proven"])], MICRONEEDLING)
    assert got["c1"][0] == "overclaimed"


def test_facts_meet_their_treatment_or_a_family_that_says_so_only():
    got = statuses([
        ("c1", "Laser hair removal suits darker skin.", "laser_hair_removal", "absolute",
         "candidacy=suitable:darker_skin|suits darker skin"),
        ("c2", "RF microneedling improves scars.", "rf_microneedling", "absolute", "effect=improves:scars|improves"),
        ("c3", "Lasers suit darker skin.", "laser", "absolute", "candidacy=suitable:darker_skin|suit"),
        ("c4", "Peels suit darker skin.", "chemical_peel", "absolute", "candidacy=suitable:darker_skin|suit"),
    ], MICRONEEDLING)
    assert got["c1"][:2] == ("contradicted", ("LS-01",))   # a family fact meets each member
    assert got["c2"][0] == "no_evidence"                   # a fact about microneedling is not about RF microneedling
    assert got["c3"][:2] == ("contradicted", ("LS-01",))   # and the family itself
    assert got["c4"][0] == "no_evidence"


def test_a_stronger_support_outranks_a_weaker_contradiction():
    ev = evidence(fact("A-01", "botox", "durability", "temporary", level="expert_opinion"),
                  fact("A-02", "botox", "durability", "permanent", level="regulator"))
    got = statuses([("c1", "Botox results are permanent.", "botox", "absolute", "durability=permanent|permanent")], ev)
    assert got["c1"][:2] == ("supported", ("A-02",))
    ev = evidence(fact("A-01", "botox", "durability", "temporary", level="regulator"),
                  fact("A-02", "botox", "durability", "permanent", level="regulator"))
    got = statuses([("c1", "Botox results are permanent.", "botox", "absolute", "durability=permanent|permanent")], ev)
    assert got["c1"][:2] == ("contradicted", ("A-01",))   # equal strength: the reviewer must look


def test_no_evidence_file_means_no_evidence(tmp_path):
    ev = io.read_evidence(tmp_path)
    assert list(ev.columns) == tables.EVIDENCE and ev.empty
    got = statuses([("c1", "Botox has no side effects.", "botox", "absolute", "side_effects=none|no side effects")],
                   normalise_evidence(ev, RULES))
    assert got["c1"] == ("no_evidence", (), "")


def test_bad_evidence_file_names_file_and_columns(tmp_path):
    (tmp_path / config.EVIDENCE_CSV).write_text("evidence_id,statement\nE1,x\n", encoding="utf-8")
    with pytest.raises(io.InputError, match=r"evidence.csv: missing columns \['treatment'"):
        io.read_evidence(tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"treatment": "needlework"}, "unknown treatment 'needlework'"),
    ({"applies_to": "family"}, "does not fit 'microneedling'"),
    ({"level": "blog"}, "level must be one of"),
    ({"aspect": "colour"}, "unknown aspect 'colour'"),
    ({"value": "huge"}, "value 'huge' is not one of effect"),
    ({"qualifier": "pores,freckles"}, "unknown effect qualifier(s) ['freckles']"),
    ({"qualifier": ""}, "needs the outcomes or groups"),
])
def test_a_bad_fact_names_the_file_row_and_problem(change, message):
    row = {**fact("MN-09", "microneedling", "effect", "improves", "pores"), **change}
    with pytest.raises(io.InputError) as exc:
        evidence(fact("MN-08", "microneedling", "pain", "some"), row)
    assert str(exc.value).startswith("evidence.csv: row 3 (MN-09): ") and message in str(exc.value)


def test_the_shipped_evidence_covers_every_treatment_with_cited_levelled_facts():
    ev = normalise_evidence(io.read_evidence(config.RAW_DIR), RULES)
    t = ev.table
    assert t["evidence_id"].is_unique and (t["quote"].str.len() <= 300).all()
    assert set(t["level"]) <= set(config.EVIDENCE_LEVELS) and (t["url"].str.startswith("http")).all()
    treatments = {tr.id for tr in RULES.treatments if not tr.is_family}
    counts = t["treatment"].value_counts()
    thin = {tr: int(counts.get(tr, 0)) for tr in treatments if counts.get(tr, 0) < 3}
    assert not thin, thin


def test_a_fact_about_a_treatment_named_like_its_family_is_not_a_family_fact():
    # home_care is a treatment and the name of the family pore strips belong to
    ev = evidence(fact("HC-03", "home_care", "effect", "worsens", "pores", level="guideline"))
    got = statuses([("c1", "Pore strips make pores bigger.", "pore_strips", "absolute", "effect=worsens:pores|bigger"),
                    ("c2", "Scrubbing makes pores bigger.", "home_care", "absolute", "effect=worsens:pores|bigger")], ev)
    assert got["c1"][0] == "no_evidence" and got["c2"][:2] == ("supported", ("HC-03",))
