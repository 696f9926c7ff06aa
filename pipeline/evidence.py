"""Evidence: every claim checked against the curated evidence table (data/raw/evidence.csv).

Each evidence row restates one published fact in the project's own words, with its citation
(title, publisher, address, short quote, whether the address is a mirror). Its statement is
normalised into assertions by the same code as claims (pipeline/assertions.py); the curated
treatment/aspect/value columns are a check on that code (tests/test_evidence.py).

A claim assertion meets an evidence assertion when treatment and aspect are equal (a statement
about pores in general, treatment none, also meets every treatment on a 'universal' aspect):

- contradicted: the values exclude each other by the same conflict rules as claim pairs;
- supported: the same base value (for named side effects: at least one named effect in common,
  so "breakouts" is not supported by evidence about erythema);
- anything else, or no evidence on that treatment and aspect: no_evidence. Nothing is guessed.

A claim is contradicted when any of its assertions is (the reviewer must look), else supported
when any is, else no_evidence; evidence_ids lists the rows behind that status.
"""
from __future__ import annotations

import pandas as pd

from . import config, rules
from .assertions import AspectIndex, aspect_index, assert_texts, base, qualifier, serialise
from .contradict import assertions_of

LINK_COLUMNS = ["claim_id", "evidence_id", "treatment", "aspect", "claim_value", "evidence_value",
                "relation"]


def normalise_evidence(evidence: pd.DataFrame | None, nlp) -> pd.DataFrame:
    """Evidence rows with ``derived_treatment`` and ``assertions`` computed from the statement."""
    if evidence is None or not len(evidence):
        return pd.DataFrame(columns=config.EVIDENCE_COLUMNS + ["derived_treatment", "assertions"])
    out = evidence.copy()
    found = assert_texts(out["statement"].astype(str).tolist(), nlp)
    out["derived_treatment"] = [named[0] if named else config.NO_TREATMENT for _, named in found]
    out["assertions"] = [serialise(a) for a, _ in found]
    return out


def _evidence_assertions(evidence: pd.DataFrame, index: AspectIndex) -> pd.DataFrame:
    frame = pd.DataFrame({
        "claim_id": evidence["evidence_id"], "family_id": evidence["evidence_id"],
        "source_id": evidence["evidence_id"], "start": 0,
        "treatment": evidence["derived_treatment"], "certainty": "absolute",
        "text": evidence["statement"], "assertions": evidence["assertions"]})
    return assertions_of(frame, index, keep_no_treatment=True)


def _effects(value: str) -> set[str]:
    return {rules.lemma(w.split("_")[-1]) for w in qualifier(value).split(",") if w}


def _relation(index: AspectIndex, aspect: str, claim_value: str, ev_value: str) -> str | None:
    """supported / contradicted / None for one claim assertion against one evidence assertion."""
    cb, eb = base(claim_value), base(ev_value)
    decl = index.decl.get(aspect)
    group = decl is not None and decl.get("qualifier") == "group"
    cq, eq = qualifier(claim_value), qualifier(ev_value)
    if group and not index.groups_meet(cq, eq):
        return None
    if cb != eb and index.conflicting(aspect, cb, eb):
        return "contradicted"
    if cb == eb:
        if decl is not None and decl.get("qualifier") == "words" and cq and eq:
            return "supported" if _effects(claim_value) & _effects(ev_value) else None
        return "supported"
    return None


def evidence_links(claims: pd.DataFrame, evidence: pd.DataFrame,
                   index: AspectIndex | None = None) -> pd.DataFrame:
    """Every (claim, evidence row) pair that meets on treatment and aspect with a relation."""
    index = index or aspect_index()
    if evidence is None or not len(evidence) or not len(claims):
        return pd.DataFrame(columns=LINK_COLUMNS)
    ev = _evidence_assertions(evidence, index)
    universal = {a for a, d in index.decl.items() if d.get("universal")}
    by_key: dict[tuple, list] = {}
    for e in ev.itertuples(index=False):
        by_key.setdefault((e.treatment, e.aspect), []).append(e)
    rows = []
    for c in assertions_of(claims, index, keep_no_treatment=True).itertuples(index=False):
        found = list(by_key.get((c.treatment, c.aspect), []))
        if c.aspect in universal and c.treatment != config.NO_TREATMENT:
            found += by_key.get((config.NO_TREATMENT, c.aspect), [])
        for e in found:
            rel = _relation(index, c.aspect, c.value, e.value)
            if rel:
                rows.append((c.claim_id, e.claim_id, c.treatment, c.aspect, c.value, e.value, rel))
    return pd.DataFrame(rows, columns=LINK_COLUMNS).drop_duplicates().reset_index(drop=True)


def check_evidence(claims: pd.DataFrame, evidence: pd.DataFrame | None,
                   index: AspectIndex | None = None) -> pd.DataFrame:
    """Claims with evidence_status (supported | contradicted | no_evidence) and evidence_ids."""
    out = claims.copy()
    links = evidence_links(claims, evidence, index) if evidence is not None else pd.DataFrame(columns=LINK_COLUMNS)
    found: dict[str, dict[str, set[str]]] = {}   # claim_id -> relation -> evidence ids
    for cid, rel, eid in zip(links["claim_id"], links["relation"], links["evidence_id"]):
        found.setdefault(cid, {}).setdefault(rel, set()).add(str(eid))
    status, ids = [], []
    for cid in out["claim_id"]:
        mine = found.get(cid, {})
        rel = next((r for r in ("contradicted", "supported") if r in mine), None)
        status.append(rel or "no_evidence")
        ids.append(";".join(sorted(mine[rel])) if rel else "")
    out["evidence_status"], out["evidence_ids"] = status, ids
    return out
