"""Evidence: every claim checked against the curated evidence table (data/raw/evidence.csv).

Each evidence row restates one published fact in the project's own words, with its citation
(title, publisher, address, short quote, whether the address is a mirror). Its statement is
normalised into assertions by the same components as claims (``nlp.read_statements``); the
curated treatment/aspect/value columns are a check on them (tests/test_evidence.py).

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

from dataclasses import dataclass

import pandas as pd

from .. import config, tables
from ..nlp import read_statements
from ..nlp.lemmas import lemma
from ..nlp.ruleset import AspectIndex
from .contradict import assertions_of

LINK_COLUMNS = ["claim_id", "evidence_id", "treatment", "aspect", "claim_value", "evidence_value",
                "relation"]
EVIDENCE_ASSERTION_COLUMNS = ["claim_id", "aspect", "value", "qualifier", "words", "absolute"]


@dataclass
class Evidence:
    """The curated evidence table with the treatment and assertions read from each statement
    (the assertions are keyed by evidence_id in their ``claim_id`` column, as claims' are)."""

    table: pd.DataFrame
    assertions: pd.DataFrame

    @classmethod
    def empty(cls) -> "Evidence":
        return cls(pd.DataFrame(columns=tables.EVIDENCE + ["derived_treatment"]),
                   pd.DataFrame(columns=EVIDENCE_ASSERTION_COLUMNS))


def normalise_evidence(evidence: pd.DataFrame | None, nlp) -> Evidence:
    """The evidence rows with ``derived_treatment`` and their assertions, read from the statements."""
    if evidence is None or not len(evidence):
        return Evidence.empty()
    table = evidence.copy()
    found = read_statements(nlp, table["statement"].astype(str).tolist())
    table["derived_treatment"] = [named[0] if named else config.NO_TREATMENT for _, named in found]
    rows = [(eid, a.aspect, a.value, a.qualifier, a.words, a.absolute)
            for eid, (items, _) in zip(table["evidence_id"].astype(str), found) for a in items]
    return Evidence(table, pd.DataFrame(rows, columns=EVIDENCE_ASSERTION_COLUMNS))


def _as_claims(evidence: Evidence) -> pd.DataFrame:
    t = evidence.table
    return pd.DataFrame({
        "claim_id": t["evidence_id"].astype(str), "family_id": t["evidence_id"].astype(str),
        "source_id": t["evidence_id"].astype(str), "start": 0,
        "treatment": t["derived_treatment"], "certainty": "absolute", "text": t["statement"]})


def _effects(qualifier: str) -> set[str]:
    return {lemma(w.split("_")[-1]) for w in qualifier.split(",") if w}


def _relation(index: AspectIndex, aspect: str, c, e) -> str | None:
    """supported / contradicted / None for one claim assertion against one evidence assertion."""
    group = index.qualifier_kind(aspect) == "group"
    if group and not index.groups_meet(c.qualifier, e.qualifier):
        return None
    if c.base != e.base and index.conflicting(aspect, c.base, e.base):
        return "contradicted"
    if c.base == e.base:
        if index.qualifier_kind(aspect) == "words" and c.qualifier and e.qualifier:
            return "supported" if _effects(c.qualifier) & _effects(e.qualifier) else None
        return "supported"
    return None


def evidence_links(claims: pd.DataFrame, assertions: pd.DataFrame, evidence: Evidence,
                   index: AspectIndex) -> pd.DataFrame:
    """Every (claim, evidence row) pair that meets on treatment and aspect with a relation."""
    if not len(evidence.table) or not len(claims):
        return pd.DataFrame(columns=LINK_COLUMNS)
    ev = assertions_of(_as_claims(evidence), evidence.assertions, index, keep_no_treatment=True)
    universal = index.universal()
    by_key: dict[tuple, list] = {}
    for e in ev.itertuples(index=False):
        by_key.setdefault((e.treatment, e.aspect), []).append(e)
    rows = []
    for c in assertions_of(claims, assertions, index, keep_no_treatment=True).itertuples(index=False):
        found = list(by_key.get((c.treatment, c.aspect), []))
        if c.aspect in universal and c.treatment != config.NO_TREATMENT:
            found += by_key.get((config.NO_TREATMENT, c.aspect), [])
        for e in found:
            rel = _relation(index, c.aspect, c, e)
            if rel:
                rows.append((c.claim_id, e.claim_id, c.treatment, c.aspect, c.value, e.value, rel))
    return pd.DataFrame(rows, columns=LINK_COLUMNS).drop_duplicates().reset_index(drop=True)


def check_evidence(claims: pd.DataFrame, assertions: pd.DataFrame, evidence: Evidence,
                   index: AspectIndex) -> pd.DataFrame:
    """Claims with evidence_status (supported | contradicted | no_evidence) and evidence_ids."""
    out = claims.copy()
    links = evidence_links(claims, assertions, evidence, index)
    found: dict[str, dict[str, set[str]]] = {}   # claim_id -> relation -> evidence ids
    for cid, rel, eid in zip(links["claim_id"], links["relation"], links["evidence_id"]):
        found.setdefault(cid, {}).setdefault(rel, set()).add(str(eid))
    status, ids = [], []
    for cid in out["claim_id"]:
        mine = found.get(cid, {})
        rel = next((r for r in ("contradicted", "supported") if r in mine), None)
        status.append(rel or "no_evidence")
        ids.append(tuple(sorted(mine[rel])) if rel else ())
    out["evidence_status"], out["evidence_ids"] = status, ids
    return out
