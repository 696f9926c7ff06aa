"""Evidence: the curated table is derived by the claim code; claims get a status, never a guess."""
import pandas as pd
import pytest

from conftest import split_assertions

from pipeline import config, io, tables
from pipeline.nlp import RuleSet
from pipeline.stages import evidence as stage
from pipeline.stages.evidence import normalise_evidence


def check_evidence(claims, ev):
    return stage.check_evidence(*split_assertions(claims), ev, RuleSet.load().aspects)


def evidence_links(claims, ev):
    return stage.evidence_links(*split_assertions(claims), ev, RuleSet.load().aspects)


def evidence_frame(rows):
    df = pd.DataFrame(rows, columns=["evidence_id", "statement"])
    for c in tables.EVIDENCE:
        if c not in df:
            df[c] = ""
    return df[tables.EVIDENCE]


def claims_frame(rows):
    return pd.DataFrame(rows, columns=["claim_id", "source_id", "start", "text", "treatment", "assertions"])


def test_curated_columns_are_what_the_claim_code_derives(nlp):
    ev = normalise_evidence(io.read_evidence(config.RAW_DIR), nlp)
    assert len(ev.table) >= 30 and ev.table["evidence_id"].is_unique
    for r in ev.table.itertuples():
        curated = sorted(f"{a}={v}" for a, v in zip(r.aspect.split(";"), r.value.split(";")) if a)
        mine = ev.assertions[ev.assertions["claim_id"] == r.evidence_id]
        derived = sorted({f"{a}={v}" for a, v in zip(mine["aspect"], mine["value"])})
        assert derived == curated, (r.evidence_id, r.statement)
        if curated:
            assert RuleSet.load().covers(r.derived_treatment, r.treatment), r.evidence_id


def test_statuses_from_tiny_tables(nlp):
    ev = normalise_evidence(evidence_frame([
        ("E1", "Microneedling commonly causes transient erythema and pain."),
        ("E2", "Reviews describe microneedling as a minimally invasive procedure."),
        ("E3", "The palms and soles have sweat pores."),
    ]), nlp)
    claims = claims_frame([
        ("c1", "a", 0, "Microneedling has no side effects.", "microneedling", "side_effects=none|no side effects"),
        ("c2", "a", 9, "Microneedling is non-invasive.", "microneedling", "invasiveness=non_invasive|non-invasive"),
        ("c3", "a", 20, "Microneedling can cause erythema.", "microneedling", "side_effects=named:erythema|erythema"),
        ("c4", "a", 30, "Microneedling can cause breakouts.", "microneedling", "side_effects=named:breakouts|breakouts"),
        ("c5", "a", 40, "Palms don't have pores.", "microneedling", "palms_soles_pores=absent|palms pores"),
        ("c6", "a", 50, "Laser has no side effects.", "laser", "side_effects=none|no side effects"),
        ("c7", "a", 60, "Pores are openings.", "none", ""),
    ])
    out = check_evidence(claims, ev)
    got = dict(zip(out["claim_id"], zip(out["evidence_status"], out["evidence_ids"])))
    assert got == {"c1": ("contradicted", ("E1",)), "c2": ("contradicted", ("E2",)), "c3": ("supported", ("E1",)),
                   "c4": ("no_evidence", ()), "c5": ("contradicted", ("E3",)), "c6": ("no_evidence", ()),
                   "c7": ("no_evidence", ())}
    links = evidence_links(claims, ev)
    assert set(links["relation"]) == {"supported", "contradicted"}


def test_no_evidence_file_means_no_evidence(tmp_path, nlp):
    ev = io.read_evidence(tmp_path)
    assert list(ev.columns) == tables.EVIDENCE and ev.empty
    claims = claims_frame([("c1", "a", 0, "Botox has no side effects.", "botox", "side_effects=none|no side effects")])
    out = check_evidence(claims, normalise_evidence(ev, nlp))
    assert list(out["evidence_status"]) == ["no_evidence"]


def test_bad_evidence_file_names_file_and_columns(tmp_path):
    (tmp_path / config.EVIDENCE_CSV).write_text("evidence_id,statement\nE1,x\n", encoding="utf-8")
    with pytest.raises(io.InputError, match=r"evidence.csv: missing columns \['topic'"):
        io.read_evidence(tmp_path)
