"""Contradict: claims in, contradicting pairs out, each with severity and a readable rationale.

Each claim's assertions are rows of the assertions table (aspect, value, qualifier, words; the
``aspect_assertions`` component; the aspect vocabulary, value cues and conflicts are data in
pipeline/rules/aspects.jsonl). Two claims contradict when they assert values of one aspect that
a conflict rule declares exclusive:

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

Severity: high when an absolute safety or efficacy claim is contradicted: a side asserts an
absolute value (no side effects, painless, non-invasive, no downtime, permanent, one session,
suits everyone, best/safest: ``absolute`` in the data) without a condition, or states a safety or
efficacy value as plain fact (certainty absolute); medium for other clashes on a safety aspect
or against an absolute value under a condition; low otherwise.
"""
from __future__ import annotations

import hashlib
from itertools import product

import numpy as np
import pandas as pd

from .. import config, tables
from ..nlp.ruleset import AspectIndex, RuleSet

_ASSERTED = ["claim_id", "family_id", "source_id", "start", "treatment", "certainty", "text",
             "aspect", "value", "base", "qualifier", "words", "absolute", "named"]
ASSERTED_COLUMNS = _ASSERTED   # the columns of ``assertions_of``
# the columns whose values repeat across a block's rows (one string object each, not one per row)
_REPEATED = ("family_id", "source_id", "treatment", "certainty", "text", "aspect", "value", "base",
             "qualifier", "words", "via")


def full_value(base: str, qualifier: str) -> str:
    """The value as shown to reviewers: the base value and its qualifier ('named:breakout')."""
    return f"{base}:{qualifier}" if qualifier else base


def about_no_treatment(treatments: pd.Series) -> pd.Series:
    """Whether each row is about no treatment in particular (pores or skin in general)."""
    return treatments.isin(["", config.NO_TREATMENT])


def assertions_of(claims: pd.DataFrame, assertions: pd.DataFrame, index: AspectIndex,
                  keep_no_treatment: bool = False) -> pd.DataFrame:
    """One row per (claim, subject treatment, aspect, value) with the claim's columns: a claim
    about coordinated treatments ("chemical peels and lasers can ...") asserts for each of them.
    ``named``: whether the claim names any treatment at all. Claims without a treatment drop
    unless asked to keep them."""
    absolute = index.absolute_values()
    if not len(assertions) or not len(claims):
        return pd.DataFrame(columns=_ASSERTED)
    cols = ["claim_id", "source_id", "start", "treatment", "text"]
    subjects = claims["subjects"] if "subjects" in claims else [(t,) for t in claims["treatment"]]
    info = claims[cols].assign(
        family_id=claims["family_id"] if "family_id" in claims else claims["claim_id"],
        certainty=claims["certainty"] if "certainty" in claims else "",
        named=([bool(t) for t in claims["treatments"]] if "treatments" in claims
               else ~about_no_treatment(claims["treatment"])),
        treatment=[tuple(s) or (t,) for s, t in zip(list(subjects), claims["treatment"].tolist())])
    if "claim_type" in claims:
        info = info.assign(claim_type=claims["claim_type"])
    info = info.explode("treatment")
    rows = assertions.merge(info, on="claim_id", how="inner", sort=False)
    if "claim_type" in rows:
        counted = [index.counts_in(a, v, t) for a, v, t in zip(
            rows["aspect"].tolist(), rows["value"].tolist(), rows["claim_type"].tolist())]
        rows = rows[np.array(counted, dtype=bool)]   # a mask, even when empty (a list would pick columns)
    if not keep_no_treatment:
        rows = rows[~about_no_treatment(rows["treatment"])]
    fam = rows["family_id"].where(rows["family_id"].astype(bool), rows["claim_id"])
    out = pd.DataFrame({
        "claim_id": rows["claim_id"], "family_id": fam, "source_id": rows["source_id"],
        "start": rows["start"].astype(int), "treatment": rows["treatment"],
        "certainty": rows["certainty"], "text": rows["text"], "aspect": rows["aspect"],
        "value": [full_value(b, q) for b, q in zip(rows["value"].tolist(), rows["qualifier"].tolist())],
        "base": rows["value"], "qualifier": rows["qualifier"], "words": rows["words"],
        "absolute": [(a, b) in absolute for a, b in zip(rows["aspect"].tolist(), rows["value"].tolist())],
        "named": rows["named"].astype(bool),
    }, columns=_ASSERTED)
    return out.reset_index(drop=True)


def _say(value: str) -> str:
    return value.replace("_", " ").replace(":", ": ")


def rationale(index: AspectIndex, aspect: str, a, b) -> str:
    """One sentence a reviewer can read without opening the articles: treatment, aspect and the
    clashing words on each side."""
    first = f"{a.source_id} says"
    second = f"{b.source_id} says" if a.source_id != b.source_id else "the same article also says"
    wa, wb = a.words or _say(a.value), b.words or _say(b.value)
    if index.by_qualifier(aspect):
        outcome = _say(a.qualifier) or "the same outcome"
        return (f"Ranking for {outcome}: {first} {a.treatment} is \u201c{wa}\u201d, {second} "
                f"{b.treatment} is \u201c{wb}\u201d; two different treatments cannot both be "
                f"the {_say(a.base)} for {outcome}.")
    return (f"{a.treatment.replace('_', ' ').capitalize()}, {index.label(aspect)}: {first} "
            f"\u201c{wa}\u201d ({_say(a.value)}) but {second} \u201c{wb}\u201d ({_say(b.value)}); "
            f"both cannot be true.")


def severity(index: AspectIndex, aspect: str, a, b) -> str:
    """high: an absolute safety or efficacy claim is contradicted, i.e. a side asserts an absolute
    value ("no side effects", "non-invasive", "the best") without a condition, or states a safety
    or efficacy value as fact (certainty absolute); medium: other clashes on a safety aspect or
    against an absolute value under a condition; low: the rest (hedged efficacy clashes)."""
    kind = index.kind(aspect)
    for s in (a, b):
        if s.absolute and s.certainty != "conditional":
            return "high"
        if s.certainty == "absolute" and kind in ("safety", "efficacy"):
            return "high"
    if a.absolute or b.absolute or kind == "safety":
        return "medium"
    return "low"


def _families_clash(index: AspectIndex, aspect: str, fa: "_Family", fb: "_Family") -> bool:
    """Per pair of families: not the same family, not two claims that joined the block from
    elsewhere (two general claims, two claims about a whole family), different treatments for
    ranking, and no disjoint sub-types of one treatment (Fraxel vs CO2 laser)."""
    if fa.key[3] == fb.key[3] or (fa.via and fb.via):
        return False
    a, b = fa.rep, fb.rep
    if index.by_qualifier(aspect):
        return a.treatment != b.treatment
    if a.treatment == b.treatment and fa.subtypes and fb.subtypes and not fa.subtypes & fb.subtypes:
        return False
    return True


def _blocks_joined(asserted: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """The rows with those that join other treatments' blocks (``via`` says from where):

    - a claim about a whole family ("lasers can leave pores exposed") joins the block of each
      member that other claims speak of (laser resurfacing, laser hair removal), and stays in
      its own; two members never meet (hair removal is not resurfacing);
    - a claim about pores or skin in general (treatment none, no treatment named) joins every
      treatment's block on a 'universal' aspect ("nothing can permanently shrink pores" vs
      "strips permanently shrink pores"); on other aspects it pairs with nothing.
    """
    index = rules.aspects
    about_none = about_no_treatment(asserted["treatment"])
    out = [asserted[~about_none].assign(via="")]
    specific = asserted[~about_none]
    present = {(a, t) for a, t in zip(specific["aspect"].tolist(), specific["treatment"].tolist())}
    for (fam, aspect), rows in specific[specific["treatment"].map(rules.is_family).astype(bool)].groupby(
            ["treatment", "aspect"], sort=True):
        for m in rules.members(fam):
            if (aspect, m) in present:
                out.append(rows.assign(treatment=m, via=fam))
    universal = index.universal()
    for aspect, values in sorted(universal.items()):
        rows = asserted[about_none & ~asserted["named"] & (asserted["aspect"] == aspect)]
        if values is not None:
            rows = rows[rows["base"].isin(values)]
        others = sorted({t for a, t in present if a == aspect})
        for t in others:
            out.append(rows.assign(treatment=t, via="*"))
    return pd.concat(out, ignore_index=True)


def _source_subtypes(asserted: pd.DataFrame, index: AspectIndex) -> dict[tuple, frozenset]:
    """(source, treatment) -> the one sub-type the article names for that treatment, if it names
    exactly one: its other claims about the treatment inherit it ("it heals in days" in a page
    about Fraxel is about non-ablative lasers)."""
    named: dict[tuple, set] = {}
    with_subtypes = asserted[np.array(tables.within(asserted["treatment"], set(index.subtypes)), dtype=bool)]
    rows = with_subtypes[["source_id", "treatment", "text"]].drop_duplicates()   # a claim asserts often
    for sid, t, text in zip(*(rows[c].tolist() for c in ("source_id", "treatment", "text"))):
        named.setdefault((sid, t), set()).update(index.subtypes_of(t, text))
    return {k: frozenset(v) for k, v in named.items() if len(v) == 1}


class _Family:
    """The occurrences of one claim family asserting one (aspect, value) for one treatment."""

    __slots__ = ("key", "rows", "rep", "per_source", "subtypes", "via")

    def __init__(self, key: tuple, rows: list, index: AspectIndex, inherited: dict):
        self.key, self.rows, self.rep = key, rows, rows[0]
        self.per_source: dict[str, list] = {}
        for r in rows:
            self.per_source.setdefault(r.source_id, []).append(r)
        self.subtypes = (index.subtypes_of(self.rep.treatment, self.rep.text)
                         or inherited.get((self.rep.source_id, self.rep.treatment), frozenset()))
        self.via = self.rep.via


def _families(asserted: pd.DataFrame, index: AspectIndex, inherited: dict) -> dict[tuple, dict[str, list]]:
    """Blocks -> value -> families. A block is (treatment, aspect), or (outcome, aspect) for
    aspects blocked by qualifier (ranking)."""
    members: dict[tuple, list] = {}
    for row in tables.records(asserted, repeated=_REPEATED):
        members.setdefault((row.aspect, row.value, row.treatment, row.family_id), []).append(row)
    blocks: dict[tuple, dict[str, list]] = {}
    for key, rows in members.items():
        aspect, value, treatment, _ = key
        block = ("*" + rows[0].qualifier if index.by_qualifier(aspect) else treatment, aspect)
        blocks.setdefault(block, {}).setdefault(value, []).append(_Family(key, rows, index, inherited))
    return blocks


def _family_pairs(asserted: pd.DataFrame, index: AspectIndex, inherited: dict):
    """Yield (aspect, family a, family b) for every clashing pair of families inside a block:
    value pairs are checked once per block, families only within clashing values."""
    for (_, aspect), by_value in sorted(_families(asserted, index, inherited).items()):
        values = sorted(by_value)
        for i, v1 in enumerate(values):
            for v2 in values[i:]:
                r1, r2 = by_value[v1][0].rep, by_value[v2][0].rep
                if not index.values_clash(aspect, r1.base, r1.qualifier, r2.base, r2.qualifier):
                    continue
                # a clash that holds within one article only: pair only families sharing one
                # (not every family with every other, to drop the cross-article pairs later)
                pairs = (_sharing_an_article(by_value[v1], by_value[v2])
                         if index.within_source_only(aspect, r1.base, r2.base)
                         else product(by_value[v1], by_value[v2]))
                for fa, fb in pairs:
                    if (v1 != v2 or fa.key[3] < fb.key[3]) and _families_clash(index, aspect, fa, fb):
                        yield aspect, fa, fb


def _sharing_an_article(fas: list, fbs: list):
    """The (fa, fb) of ``product(fas, fbs)``, in its order, whose families occur in one article:
    linear in the occurrences plus the pairs found."""
    where: dict[str, list[int]] = {}
    for k, fb in enumerate(fbs):
        for sid in fb.per_source:
            where.setdefault(sid, []).append(k)
    for fa in fas:
        for k in sorted({k for sid in fa.per_source for k in where.get(sid, ())}):
            yield fa, fbs[k]


def _occurrence_pairs(fa: _Family, fb: _Family) -> dict:
    """Per scope: (first pair of occurrences, count of occurrence pairs) for two families."""
    pa, pb = fa.per_source, fb.per_source
    shared = [s for s in pa if s in pb]
    within = sum(len(pa[s]) * len(pb[s]) for s in shared)
    out = {}
    if within:
        s = min(shared)
        out["within_source"] = ((pa[s][0], pb[s][0]), within)
    cross = len(fa.rows) * len(fb.rows) - within
    if cross:
        a = fa.rep
        b = next((y for y in fb.rows if y.source_id != a.source_id), None)
        if b is None:
            b = fb.rep
            a = next(x for x in fa.rows if x.source_id != b.source_id)
        out["cross_source"] = ((a, b), cross)
    return out


SORT = ["treatment", "aspect", "source_a", "start_a", "source_b", "start_b", "contradiction_id"]


def find_contradictions(claims: pd.DataFrame, assertions: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Pairs of claims whose assertions exclude each other, one row per pair of claim families
    and scope, with severity, rationale and the number of claim pairs it stands for."""
    asserted = assertions_of(claims, assertions, rules.aspects, keep_no_treatment=True)
    inherited = source_subtypes(asserted, rules.aspects)
    return sort_contradictions(contradictions_in(asserted, rules, inherited))


def source_subtypes(asserted: pd.DataFrame, index: AspectIndex) -> dict[tuple, frozenset]:
    """``_source_subtypes``: per article, so any set of whole articles gives its part of it."""
    return _source_subtypes(asserted, index)


_ROW_COLUMNS = tables.CONTRADICTIONS + ["start_a", "start_b"]   # contradictions_in's rows


def contradictions_in(asserted: pd.DataFrame, rules: RuleSet, inherited: dict) -> pd.DataFrame:
    """The pairs among rows of ``assertions_of`` (unsorted, with start_a and start_b for
    ``sort_contradictions``). Pairs never leave a block, so it may run on any rows that hold
    whole blocks after joining (the Dask engine runs it per block)."""
    index = rules.aspects
    asserted = _blocks_joined(asserted, rules)
    asserted = asserted.sort_values(["source_id", "start", "claim_id"], kind="stable")
    rows = []
    for aspect, fa, fb in _family_pairs(asserted, index, inherited):
        within_only = index.within_source_only(aspect, fa.rep.base, fb.rep.base)
        for scope, ((a, b), count) in _occurrence_pairs(fa, fb).items():
            if within_only and scope != "within_source":
                continue
            if (a.source_id, a.start) > (b.source_id, b.start):
                a, b = b, a
            ranking = index.by_qualifier(aspect)
            key = (a.claim_id, b.claim_id, aspect, a.value, b.value)
            rows.append((   # in the order of _ROW_COLUMNS
                "x" + hashlib.sha1("\x1f".join(key).encode()).hexdigest()[:12],
                a.claim_id, b.claim_id, a.source_id, b.source_id, scope,
                f"{a.treatment}|{b.treatment}" if ranking else a.treatment,
                aspect, a.value, b.value, a.text, b.text,
                rationale(index, aspect, a, b), severity(index, aspect, a, b), count,
                a.start, b.start,
            ))
    return pd.DataFrame(rows, columns=_ROW_COLUMNS)


def sort_contradictions(found: pd.DataFrame, keys: bool = False) -> pd.DataFrame:
    """Rows of ``contradictions_in`` (of one call, or of many blocks concatenated) as the table:
    one row per id (the first), in a fixed order. ``keys``: keep start_a and start_b, the sort
    keys the table drops (the Dask engine merges sorted runs by them)."""
    out = found.drop_duplicates("contradiction_id").sort_values(SORT, kind="stable")
    return (out if keys else out[tables.CONTRADICTIONS]).reset_index(drop=True)
