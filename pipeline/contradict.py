"""Contradict: claims in, contradicting pairs out.

Each claim carries assertions "aspect=value" (found by the aspect rules in
pipeline/rules/aspects.jsonl, negation-aware: "no side effects" asserts side_effects=none,
"does not have any direct impact on the size of pores" asserts pore_size_effect=no_effect).
Two claims contradict when they assert excluding values (a "conflict" rule) of the same aspect
for the same treatment. Pairing is blocked by (treatment, aspect): the cost grows with the
claims inside a block, never with the square of all claims.
"""
from __future__ import annotations

import hashlib
from itertools import product

import pandas as pd

from . import config, rules

_VALUE_WORDS = {"none": "no {a}", "named": "named {a}"}


def conflicts(aspect_rules=None) -> dict[str, set[frozenset]]:
    """aspect -> the value pairs that exclude each other, from the conflict rules."""
    out: dict[str, set[frozenset]] = {}
    for r in aspect_rules if aspect_rules is not None else rules.load_aspects():
        if r.category == "conflict":
            out.setdefault(r.get("aspect"), set()).add(frozenset(r.get("values")))
    return out


def assertions_of(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per (claim, aspect, value) with the claim's treatment; claims without treatment drop."""
    rows = []
    for c in claims.itertuples(index=False):
        if not c.assertions or c.treatment in ("", config.NO_TREATMENT):
            continue
        for item in c.assertions.split(";"):
            aspect, value = item.split("=", 1)
            rows.append((c.claim_id, c.source_id, c.start, c.treatment, aspect, value, c.text, c.certainty))
    return pd.DataFrame(rows, columns=["claim_id", "source_id", "start", "treatment", "aspect",
                                       "value", "text", "certainty"])


def _rationale(treatment: str, aspect: str, a, b) -> str:
    return (f"Both claims are about {treatment} and its {aspect.replace('_', ' ')}: "
            f"{a.source_id} says {a.value.replace('_', ' ')} (\u201c{a.text}\u201d), "
            f"{b.source_id} says {b.value.replace('_', ' ')} (\u201c{b.text}\u201d); "
            f"both cannot be true.")


def find_contradictions(claims: pd.DataFrame, conflict_rules: dict | None = None) -> pd.DataFrame:
    """Pairs of claims on the same treatment and aspect whose values exclude each other."""
    table = conflict_rules if conflict_rules is not None else conflicts()
    asserted = assertions_of(claims)
    rows = []
    seen: set[tuple] = set()
    for (treatment, aspect), block in asserted.groupby(["treatment", "aspect"], sort=True):
        pairs = table.get(aspect)
        if not pairs:
            continue
        by_value = {v: g for v, g in block.groupby("value", sort=True)}
        for pair in sorted(pairs, key=sorted):
            v1, v2 = sorted(pair)
            if v1 not in by_value or v2 not in by_value:
                continue
            for a, b in product(by_value[v1].itertuples(index=False), by_value[v2].itertuples(index=False)):
                if a.claim_id == b.claim_id:
                    continue
                if (a.source_id, a.start) > (b.source_id, b.start):
                    a, b = b, a
                key = (a.claim_id, b.claim_id, aspect)
                if key in seen:
                    continue
                seen.add(key)
                cid = "x" + hashlib.sha1("\x1f".join(key).encode()).hexdigest()[:12]
                rows.append({
                    "contradiction_id": cid, "claim_a": a.claim_id, "claim_b": b.claim_id,
                    "source_a": a.source_id, "source_b": b.source_id,
                    "scope": "within_source" if a.source_id == b.source_id else "cross_source",
                    "treatment": treatment, "aspect": aspect, "value_a": a.value, "value_b": b.value,
                    "text_a": a.text, "text_b": b.text,
                    "rationale": _rationale(treatment, aspect, a, b),
                })
    out = pd.DataFrame(rows, columns=config.CONTRADICTION_COLUMNS)
    return out.sort_values(["treatment", "aspect", "source_a", "claim_a", "claim_b"],
                           kind="stable").reset_index(drop=True)
