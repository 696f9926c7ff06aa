"""Evidence: every claim checked against the curated evidence table (data/raw/evidence.csv).

Each row is one cited fact restated in the project's own words (``statement``), with a short
quote, title, publisher, address, date, whether the address is a mirror, and the strength of
its source (``level``, strongest first: regulator, guideline, systematic_review, rct,
uncontrolled_study, case_report, textbook, expert_opinion). Its curated columns say which claims
it meets: ``treatment`` (an id; a family id with ``applies_to`` "family" when the source speaks
of the whole family, "lasers can ..."; ``none`` for skin and pores in general), ``aspect``,
``value`` and ``qualifier`` (outcomes or groups; named side effects) in the vocabulary of
aspects.jsonl. The statement is for people: nothing is read from it.

A claim's assertion (treatment T, aspect A) meets a fact on A when the fact is about T, about
T's family, or about no treatment on a universal aspect ("pore size cannot be changed
permanently" meets every treatment). A claim about a family ("lasers") meets family facts only:
a fact about laser resurfacing says nothing of laser hair removal. Outcomes and groups must meet
("acne" is not "pores"). Then

- contradicted: the values exclude each other (the conflict rules of claim pairs);
- supported: the same value (side effects: both name effects and share one, synonyms counted).

A claim is ``contradicted`` when a contradicting fact is at least as strong as its best support
(a regulator outranks a clinic's study); else ``no_evidence`` when a benefit it promises has no
supporting fact (support for scars does not cover a promise about pores); else ``overclaimed``
when it promises a benefit (the
aspect's "benefits": no side effects, permanent, improves ...) stated as fact (certainty
absolute) or with proof claimed ("clinically proven": a finding of unsupported_evidence_term)
and its best support for that benefit is weaker than config.STRONG_EVIDENCE_LEVELS (FTC:
competent and reliable scientific evidence, generally randomised trials); a hedged claim with
weak support stays ``supported``; with no fact at all it is ``no_evidence`` (absence of evidence
is never a contradiction). ``evidence_ids`` lists the facts behind the status, ``evidence_level``
the strongest of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import config, tables
from ..io import InputError
from ..nlp.ruleset import RuleSet
from .contradict import assertions_of

LINK_COLUMNS = ["claim_id", "evidence_id", "treatment", "aspect", "claim_value", "evidence_value",
                "relation", "level"]
FACT_COLUMNS = ["evidence_id", "treatment", "applies_to", "aspect", "value", "qualifier", "rank"]
PROOF_FAMILY = "unsupported_evidence_term"   # a claim that says it is proven
_RANK = {lv: i for i, lv in enumerate(config.EVIDENCE_LEVELS)}
_STRONG = max(_RANK[lv] for lv in config.STRONG_EVIDENCE_LEVELS)


@dataclass
class Evidence:
    """The curated evidence table, and its facts prepared for matching: one row per fact with an
    aspect, the qualifier as a tuple, the level as a rank (0 = strongest)."""

    table: pd.DataFrame
    facts: pd.DataFrame

    @classmethod
    def empty(cls) -> "Evidence":
        return cls(pd.DataFrame(columns=tables.EVIDENCE), pd.DataFrame(columns=FACT_COLUMNS))


def _problems(r, rules: RuleSet) -> list[str]:
    """What is wrong with one row's matching columns (empty: nothing)."""
    idx, out = rules.aspects, []
    known = rules.treatment_ids() | {config.NO_TREATMENT}
    if r.treatment not in known:
        out.append(f"unknown treatment {r.treatment!r}")
    elif r.applies_to not in config.EVIDENCE_APPLIES_TO:
        out.append(f"applies_to must be one of {list(config.EVIDENCE_APPLIES_TO)}, not {r.applies_to!r}")
    elif (r.applies_to == "family") != rules.is_family(r.treatment):
        out.append(f"applies_to {r.applies_to!r} does not fit {r.treatment!r} "
                   f"({'a family' if rules.is_family(r.treatment) else 'one treatment'})")
    if r.level not in _RANK:
        out.append(f"level must be one of {list(config.EVIDENCE_LEVELS)}, not {r.level!r}")
    if not r.aspect:
        if r.value or r.qualifier:
            out.append("value or qualifier without an aspect")
        return out
    if r.aspect not in idx.decl:
        return out + [f"unknown aspect {r.aspect!r}"]
    if r.value not in idx.decl[r.aspect].get("values"):
        out.append(f"value {r.value!r} is not one of {r.aspect}'s {list(idx.decl[r.aspect].get('values'))}")
    kind = idx.qualifier_kind(r.aspect)
    groups = [q for q in r.qualifier.split(",") if q]
    if kind == "group" and not groups:
        out.append(f"aspect {r.aspect!r} needs the outcomes or groups in 'qualifier'")
    unknown = [g for g in groups if g not in idx.covers] if kind == "group" else []
    if unknown:
        out.append(f"unknown {r.aspect} qualifier(s) {unknown} (see the qualifier lines of aspects.jsonl)")
    if kind == "none" and groups:
        out.append(f"aspect {r.aspect!r} takes no qualifier")
    return out


def normalise_evidence(evidence: pd.DataFrame | None, rules: RuleSet,
                       where: str = config.EVIDENCE_CSV) -> Evidence:
    """The evidence table and its facts; InputError naming the file and rows whose matching
    columns are not in the rule set's vocabulary (the expectation suite checks the citations)."""
    if evidence is None or not len(evidence):
        return Evidence.empty()
    table = evidence.fillna("").astype(str)
    bad = [f"row {i + 2} ({r.evidence_id}): {p}" for i, r in enumerate(tables.records(table))
           for p in _problems(r, rules)]
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InputError(f"{where}: " + "; ".join(bad[:5]) + more)
    with_aspect = table[table["aspect"] != ""]
    facts = pd.DataFrame({
        "evidence_id": with_aspect["evidence_id"], "treatment": with_aspect["treatment"],
        "applies_to": with_aspect["applies_to"], "aspect": with_aspect["aspect"], "value": with_aspect["value"],
        "qualifier": [tuple(q for q in s.split(",") if q) for s in with_aspect["qualifier"]],
        "rank": with_aspect["level"].map(_RANK),
    }, columns=FACT_COLUMNS).reset_index(drop=True)
    return Evidence(table.reset_index(drop=True), facts)


def _effect_key(word: str, rules: RuleSet) -> str:
    """A named side effect as a comparable word: its synonym set's head word ("erythema" and
    "transient oedema" -> "redness", "swelling"), else the lemma of its last word."""
    phrase = word.replace("_", " ").strip()
    head = rules.same_word(phrase)
    return head if head != phrase else rules.same_word(rules.lemma(phrase.split()[-1]))


def _effects(words, rules: RuleSet) -> set[str]:
    return {_effect_key(w, rules) for w in words if w.strip("_ ")}


def _relation(rules: RuleSet, aspect: str, base: str, qualifier: str, fact) -> str | None:
    """supported / contradicted / None for one claim assertion against one fact."""
    idx = rules.aspects
    if idx.within_source_only(aspect, base, fact.value):
        return None   # a clash that counts only inside one page
    kind = idx.qualifier_kind(aspect)
    if kind == "group":
        meets = [g for g in fact.qualifier if idx.groups_meet(qualifier, g)]
        if not meets:
            return None
        if any(idx.values_clash(aspect, base, qualifier, fact.value, g) for g in meets):
            return "contradicted"
        return "supported" if base == fact.value else None
    if idx.values_clash(aspect, base, qualifier, fact.value, ""):
        return "contradicted"
    if kind == "words" and base in idx.words_values(aspect) and fact.value in idx.words_values(aspect):
        mine = _effects([q for q in qualifier.split(",") if q], rules)
        theirs = _effects(fact.qualifier, rules)
        return "supported" if not mine or not theirs or mine & theirs else None
    return "supported" if base == fact.value else None


def _candidates(by_key: dict, treatment: str, aspect: str, rules: RuleSet, universal: dict) -> list:
    """The facts a claim about ``treatment`` meets on ``aspect`` (see the module docstring)."""
    found = list(by_key.get((treatment, aspect), ()))
    family = rules.family_of(treatment)
    if family and family != treatment and not rules.is_family(treatment):
        # only what a source says of the whole family: "home_care" is also a treatment of its
        # own family, and a fact about home remedies says nothing of pore strips
        found += [f for f in by_key.get((family, aspect), ()) if f.applies_to == "family"]
    if aspect in universal and treatment != config.NO_TREATMENT:
        values = universal[aspect]
        found += [f for f in by_key.get((config.NO_TREATMENT, aspect), ()) if values is None or f.value in values]
    return found


def evidence_links(asserted: pd.DataFrame, evidence: Evidence, rules: RuleSet) -> pd.DataFrame:
    """Every (claim assertion, fact) pair that meets with a relation, with the fact's level; one
    row per claim assertion and fact (``benefit``: whether the claim's value promises a benefit).
    ``asserted``: what the claims assert, claims without a treatment kept
    (``assertions_of(..., keep_no_treatment=True)``)."""
    if not len(evidence.facts) or not len(asserted):
        return pd.DataFrame(columns=LINK_COLUMNS + ["benefit"])
    by_key: dict[tuple, list] = {}
    for f in evidence.facts.itertuples(index=False):
        by_key.setdefault((f.treatment, f.aspect), []).append(f)
    universal = rules.aspects.universal()
    rows = []
    for c in tables.records(asserted):
        for f in _candidates(by_key, c.treatment, c.aspect, rules, universal):
            rel = _relation(rules, c.aspect, c.base, c.qualifier, f)
            if rel:
                rows.append((c.claim_id, f.evidence_id, c.treatment, c.aspect, c.value,
                             f.value + (":" + ",".join(f.qualifier) if f.qualifier else ""), rel,
                             config.EVIDENCE_LEVELS[f.rank], rules.aspects.benefit(c.aspect, c.base)))
    return pd.DataFrame(rows, columns=LINK_COLUMNS + ["benefit"]).drop_duplicates().reset_index(drop=True)


def claims_proof(flags) -> bool:
    """Whether a claim's flags (rule ids, validated as ``family.name``) include a claim of proof
    ("clinically proven", "studies show")."""
    return any(str(r).split(".", 1)[0] == PROOF_FAMILY for r in flags or ())


def level_rank(level: str) -> int:
    """A level's strength rank (0 = regulator, the strongest)."""
    return _RANK[level]


def _status(links: list[tuple], promises: set, stated_as_fact: bool) -> tuple[str, tuple[str, ...], str]:
    """(status, evidence ids, strongest level) of one claim from its links, given as
    (relation, evidence_id, rank, (aspect, claim value)); ``promises``: the (aspect, value) of
    each benefit the claim promises."""
    contra = [x for x in links if x[0] == "contradicted"]
    support = [x for x in links if x[0] == "supported"]

    def out(status, rows):
        return status, tuple(sorted({x[1] for x in rows})), config.EVIDENCE_LEVELS[min(x[2] for x in rows)]

    best_c = min((x[2] for x in contra), default=None)
    best_s = min((x[2] for x in support), default=None)
    if best_c is not None and (best_s is None or best_c <= best_s):
        return out("contradicted", contra)
    if best_s is None or promises - {x[3] for x in support}:
        return "no_evidence", (), ""   # a promise no fact backs: support for the rest does not cover it
    if stated_as_fact:
        best: dict[tuple, int] = {}
        for x in support:
            if x[3] in promises:
                best[x[3]] = min(best.get(x[3], x[2]), x[2])
        weak = {k for k, r in best.items() if r > _STRONG}
        if weak:
            return out("overclaimed", [x for x in support if x[3] in weak])
    return out("supported", support)


def check_evidence(claims: pd.DataFrame, assertions: pd.DataFrame, evidence: Evidence,
                   rules: RuleSet) -> pd.DataFrame:
    """Claims with evidence_status (supported | overclaimed | contradicted | no_evidence),
    evidence_ids and evidence_level (see the module docstring)."""
    out = claims.copy()
    asserted = (assertions_of(claims, assertions, rules.aspects, keep_no_treatment=True)
                if len(evidence.facts) and len(claims) and len(assertions) else pd.DataFrame(columns=["claim_id"]))
    links = evidence_links(asserted, evidence, rules)
    by_claim: dict[str, list] = {}
    for cid, rel, eid, level, a, v in zip(links["claim_id"], links["relation"], links["evidence_id"],
                                         links["level"], links["aspect"], links["claim_value"]):
        by_claim.setdefault(cid, []).append((rel, eid, _RANK[level], (a, v)))
    promises: dict[str, set] = {}
    for cid, a, b, v in zip(asserted["claim_id"], asserted.get("aspect", ()), asserted.get("base", ()),
                            asserted.get("value", ())):
        if rules.aspects.benefit(a, b):
            promises.setdefault(cid, set()).add((a, v))
    flags = out["flags"] if "flags" in out else [()] * len(out)
    certainty = out["certainty"] if "certainty" in out else [""] * len(out)
    status, ids, level = [], [], []
    for cid, cert, fl in zip(out["claim_id"], certainty, flags):
        g = by_claim.get(cid)
        st = (_status(g, promises.get(cid, set()), cert == "absolute" or claims_proof(fl))
              if g else ("no_evidence", (), ""))
        status.append(st[0])
        ids.append(st[1])
        level.append(st[2])
    out["evidence_status"], out["evidence_ids"], out["evidence_level"] = status, ids, level
    return out


def evidence_reason(status: str, level: str, ids, certainty: str, proof: bool) -> str:
    """One sentence for people: why a claim has its evidence status."""
    cited = ", ".join(ids)
    say = level.replace("_", " ")
    if status == "contradicted":
        return f"Contradicted by {cited} (strongest: {say})."
    if status == "overclaimed":
        why = "claims proof" if proof else "is stated as fact"
        return (f"The claim {why}, but its best support is {say} ({cited}); a benefit stated as fact "
                f"needs a regulator, a guideline, a systematic review or randomised trials.")
    if status == "supported":
        return f"Supported by {cited} (strongest: {say})."
    return "No fact in the evidence table about this treatment and aspect."
