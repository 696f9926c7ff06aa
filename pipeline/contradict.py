"""Contradict: claims in, contradicting pairs out, each with severity and a readable rationale.

Each claim carries assertions ``aspect=value|words`` (pipeline/assertions.py; the aspect
vocabulary, value cues and conflicts are data in pipeline/rules/aspects.jsonl). Two claims
contradict when they assert values of one aspect that a conflict rule declares exclusive:

- for aspects blocked by treatment (side effects, pain, invasiveness, ...) both claims are about
  the same treatment; for candidacy the groups must meet (same group, or one side says "all");
- for ranking (block "qualifier") two *different* treatments are each called the best (or the
  safest) for the same outcome: the pair is blocked by outcome, not by treatment;
- absence is never a contradiction: only asserted values pair.

Pairing is blocked (by (treatment, aspect), or (aspect, outcome) for ranking) and runs on claim
families, not claims: repeated identical claims (one family_id) are paired once per scope, the
earliest occurrences shown, and ``repeats`` counts the claim pairs the row stands for. A reviewer
sees each clash once; the cost grows with the distinct families inside a block, never with the
square of all claims.

Severity: high when a side that asserts an absolute value (no side effects, painless,
non-invasive, no downtime, permanent, one session, suits everyone, best/safest: ``absolute`` in
the data) is stated without a condition; medium for other clashes on a safety aspect or against
an absolute value; low otherwise.
"""
from __future__ import annotations

import hashlib
from itertools import product

import pandas as pd

from . import config
from .assertions import AspectIndex, aspect_index, base, parse, qualifier

_ASSERTED = ["claim_id", "family_id", "source_id", "start", "treatment", "certainty", "text",
             "aspect", "value", "base", "qualifier", "words", "absolute"]


def conflicts(index: AspectIndex | None = None) -> dict[str, set[frozenset]]:
    """aspect -> the value pairs that exclude each other, from the conflict rules."""
    return (index or aspect_index()).conflicts


def _absolute_values(index: AspectIndex) -> set[tuple[str, str]]:
    return {(r.get("aspect"), r.get("value")) for r in index.values.values() if r.get("absolute")}


def assertions_of(claims: pd.DataFrame, index: AspectIndex | None = None,
                  keep_no_treatment: bool = False) -> pd.DataFrame:
    """One row per (claim, aspect, value); claims without a treatment drop unless asked to keep them."""
    index = index or aspect_index()
    absolute = _absolute_values(index)
    families = claims["family_id"] if "family_id" in claims else claims["claim_id"]
    certainty = claims["certainty"] if "certainty" in claims else pd.Series("", index=claims.index)
    rows = []
    for cid, fam, sid, start, treat, cert, text, items in zip(
            claims["claim_id"], families, claims["source_id"], claims["start"], claims["treatment"],
            certainty, claims["text"], claims["assertions"]):
        if not items or (not keep_no_treatment and treat in ("", config.NO_TREATMENT)):
            continue
        for item in str(items).split(";"):
            aspect, value, words = parse(item)
            b = base(value)
            rows.append((cid, fam or cid, sid, int(start), treat, cert, text, aspect, value, b,
                         qualifier(value), words, (aspect, b) in absolute))
    return pd.DataFrame(rows, columns=_ASSERTED)


def _label(index: AspectIndex, aspect: str) -> str:
    decl = index.decl.get(aspect)
    return decl.get("label") if decl is not None else aspect.replace("_", " ")


def _say(value: str) -> str:
    return value.replace("_", " ").replace(":", ": ")


def rationale(index: AspectIndex, aspect: str, a, b) -> str:
    """One sentence a reviewer can read without opening the articles: treatment, aspect and the
    clashing words on each side."""
    first = f"{a.source_id} says"
    second = f"{b.source_id} says" if a.source_id != b.source_id else "the same article also says"
    wa, wb = a.words or _say(a.value), b.words or _say(b.value)
    decl = index.decl.get(aspect)
    if decl is not None and decl.get("block") == "qualifier":
        outcome = _say(a.qualifier) or "the same outcome"
        return (f"Ranking for {outcome}: {first} {a.treatment} is \u201c{wa}\u201d, {second} "
                f"{b.treatment} is \u201c{wb}\u201d; two different treatments cannot both be "
                f"the {_say(a.base)} for {outcome}.")
    return (f"{a.treatment.replace('_', ' ').capitalize()}, {_label(index, aspect)}: {first} "
            f"\u201c{wa}\u201d ({_say(a.value)}) but {second} \u201c{wb}\u201d ({_say(b.value)}); "
            f"both cannot be true.")


def severity(index: AspectIndex, aspect: str, a, b) -> str:
    """high: an unconditional absolute claim is contradicted; medium: safety aspect or absolute
    claim under a condition; low: the rest."""
    if any(s.absolute and s.certainty != "conditional" for s in (a, b)):
        return "high"
    decl = index.decl.get(aspect)
    if a.absolute or b.absolute or (decl is not None and decl.get("kind") == "safety"):
        return "medium"
    return "low"


def _compatible(index: AspectIndex, aspect: str, a, b) -> bool:
    """Values exclude each other: a conflict rule on the bases, groups that meet, ranking rules."""
    if not index.conflicting(aspect, a.base, b.base):
        return False
    if a.treatment == b.treatment:
        sa, sb = index.subtypes_of(a.treatment, a.text), index.subtypes_of(b.treatment, b.text)
        if sa and sb and not sa & sb:
            return False
    decl = index.decl.get(aspect)
    if decl is None or decl.get("qualifier") != "group":
        return True
    if decl.get("block") == "qualifier":
        return a.treatment != b.treatment and a.qualifier == b.qualifier
    return index.groups_meet(a.qualifier, b.qualifier)


def _with_universal(asserted: pd.DataFrame, index: AspectIndex) -> pd.DataFrame:
    """Claims about pores in general (treatment none) join every treatment's block on a
    'universal' aspect ("nothing can permanently shrink pores" vs "strips permanently shrink
    pores"); on other aspects they pair with nothing."""
    universal = {a for a, d in index.decl.items() if d.get("universal")}
    general = asserted["treatment"].isin(["", config.NO_TREATMENT])
    out = [asserted[~general].assign(universal=False)]
    for aspect in sorted(universal):
        rows = asserted[general & (asserted["aspect"] == aspect)]
        others = sorted(set(asserted.loc[~general & (asserted["aspect"] == aspect), "treatment"]))
        for t in others:
            out.append(rows.assign(treatment=t, universal=True))
    return pd.concat(out, ignore_index=True)


def _family_pairs(asserted: pd.DataFrame, index: AspectIndex):
    """Yield (aspect, family-row a, family-row b) for every clashing pair of families in a block."""
    blocks = index.decl
    is_rank = asserted["aspect"].map(lambda a: blocks.get(a) is not None and blocks[a].get("block") == "qualifier")
    key = asserted["treatment"].where(~is_rank, "*" + asserted["qualifier"])
    reps = (asserted.assign(_block=key)
            .drop_duplicates(["_block", "aspect", "value", "family_id", "treatment"]))
    for (_, aspect), block in reps.groupby(["_block", "aspect"], sort=True):
        by_value = {v: list(g.itertuples(index=False)) for v, g in block.groupby("value", sort=True)}
        values = sorted(by_value)
        for i, v1 in enumerate(values):
            for v2 in values[i:]:
                for a, b in product(by_value[v1], by_value[v2]):
                    if a.family_id != b.family_id and (v1 != v2 or a.family_id < b.family_id) \
                            and not (a.universal and b.universal) and _compatible(index, aspect, a, b):
                        yield aspect, a, b


def _occurrence_pairs(members: dict, fa: str, fb: str):
    """Per scope: (first pair of occurrences, count of occurrence pairs) for two families."""
    oa, ob = members[fa], members[fb]
    per_a: dict[str, list] = {}
    for o in oa:
        per_a.setdefault(o.source_id, []).append(o)
    per_b: dict[str, list] = {}
    for o in ob:
        per_b.setdefault(o.source_id, []).append(o)
    within = sum(len(per_a[s]) * len(per_b[s]) for s in per_a if s in per_b)
    out = {}
    if within:
        s = min(x for x in per_a if x in per_b)
        out["within_source"] = ((per_a[s][0], per_b[s][0]), within)
    cross = len(oa) * len(ob) - within
    if cross:
        pair = next((x, y) for x in oa for y in ob if x.source_id != y.source_id)
        out["cross_source"] = (pair, cross)
    return out


def find_contradictions(claims: pd.DataFrame, index: AspectIndex | None = None) -> pd.DataFrame:
    """Pairs of claims whose assertions exclude each other, one row per pair of claim families
    and scope, with severity, rationale and the number of claim pairs it stands for."""
    index = index or aspect_index()
    asserted = _with_universal(assertions_of(claims, index, keep_no_treatment=True), index)
    asserted = asserted.sort_values(["source_id", "start", "claim_id"], kind="stable")
    members: dict[tuple, list] = {}
    for row in asserted.itertuples(index=False):
        members.setdefault((row.aspect, row.value, row.treatment, row.family_id), []).append(row)
    rows = []
    for aspect, fa, fb in _family_pairs(asserted, index):
        found = _occurrence_pairs({"a": members[(aspect, fa.value, fa.treatment, fa.family_id)],
                                   "b": members[(aspect, fb.value, fb.treatment, fb.family_id)]}, "a", "b")
        for scope, ((a, b), count) in found.items():
            if (a.source_id, a.start) > (b.source_id, b.start):
                a, b = b, a
            ranking = index.decl[aspect].get("block") == "qualifier"
            key = (a.claim_id, b.claim_id, aspect, a.value, b.value)
            rows.append({
                "contradiction_id": "x" + hashlib.sha1("\x1f".join(key).encode()).hexdigest()[:12],
                "claim_a": a.claim_id, "claim_b": b.claim_id,
                "source_a": a.source_id, "source_b": b.source_id, "scope": scope,
                "treatment": f"{a.treatment}|{b.treatment}" if ranking else a.treatment,
                "aspect": aspect, "value_a": a.value, "value_b": b.value,
                "text_a": a.text, "text_b": b.text,
                "rationale": rationale(index, aspect, a, b),
                "severity": severity(index, aspect, a, b), "repeats": count,
                "start_a": a.start, "start_b": b.start,
            })
    out = pd.DataFrame(rows, columns=config.CONTRADICTION_COLUMNS + ["start_a", "start_b"])
    out = out.drop_duplicates("contradiction_id")
    out = out.sort_values(["treatment", "aspect", "source_a", "start_a", "source_b", "start_b", "contradiction_id"],
                          kind="stable")
    return out[config.CONTRADICTION_COLUMNS].reset_index(drop=True)
