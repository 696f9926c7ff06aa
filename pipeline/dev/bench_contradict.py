"""Synthetic claims for benchmarking contradiction pairing (make bench calls these).

``synthetic_claims(n, seed)`` builds a claims table shaped like the pipeline's: a dozen
treatments, each claim one assertion (5% two) drawn from the aspect vocabulary (values that
conflict included), a few phrasings per assertion (so repeated claims form families, as in real
articles, where the same marketing sentence recurs), spread over n / 40 sources. ``time_pairing(n, seed)`` times ``find_contradictions``.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd

from .. import tables
from ..nlp import RuleSet
from ..stages.contradict import find_contradictions

TREATMENTS = ("microneedling", "microdermabrasion", "laser", "chemical_peel", "botox", "hydrafacial",
              "topical", "home_care", "pore_strips", "photodynamic_therapy", "ipl", "none")
PHRASINGS = 4
EFFECTS = ("redness", "swelling", "breakouts", "bruising", "peeling", "scarring")
GROUPS = ("all", "sensitive_skin", "darker_skin", "active_acne")
OUTCOMES = ("enlarged_pores", "clogged_pores", "blackheads", "acne")


def _values() -> list[tuple[str, str]]:
    """(aspect, value) pairs the vocabulary allows, qualifiers filled in."""
    out = []
    for aspect, decl in sorted(RuleSet.load().aspects.decl.items()):
        for v in decl.get("values"):
            if aspect == "side_effects" and v == "named":
                out += [(aspect, f"named:{e}") for e in EFFECTS]
            elif aspect == "candidacy":
                out += [(aspect, f"{v}:{g}") for g in GROUPS]
            elif aspect == "ranking":
                out += [(aspect, f"{v}:{o}") for o in OUTCOMES]
            else:
                out.append((aspect, v))
    return out


def synthetic_claims(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, assertions): n claims with the columns find_contradictions reads and their
    assertions as the long table; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    values = _values()
    t = rng.integers(0, len(TREATMENTS), n)
    v1 = rng.integers(0, len(values), n)
    v2 = (v1 + 7) % len(values)     # a second assertion, when present, follows from the first
    two = rng.random(n) < 0.05
    ph = rng.integers(0, PHRASINGS, n)
    src = rng.integers(0, max(1, n // 40), n)
    rows, asserted = [], []
    for i in range(n):
        items = [values[v1[i]]] + ([values[v2[i]]] if two[i] and values[v2[i]][0] != values[v1[i]][0] else [])
        text = f"{TREATMENTS[t[i]]} " + " and ".join(f"{a} is {v}" for a, v in items) + f" (phrasing {ph[i]})."
        fam = "f" + hashlib.sha1(text.encode()).hexdigest()[:10]
        cid = "c" + hashlib.sha1(f"{i}\x1f{text}".encode()).hexdigest()[:12]
        rows.append({
            "claim_id": cid, "family_id": fam,
            "source_id": f"s{src[i]:06d}", "start": int(i), "text": text, "treatment": TREATMENTS[t[i]],
            "certainty": ("absolute", "hedged", "conditional")[i % 3],
        })
        for a, v in items:
            base, _, qualifier = v.partition(":")
            asserted.append((cid, a, base, qualifier, v.split(":")[-1].replace("_", " "), False))
    return pd.DataFrame(rows), pd.DataFrame(asserted, columns=tables.ASSERTIONS)


def time_pairing(n: int = 100_000, seed: int = 0) -> dict:
    """Seconds to pair n synthetic claims, and the size of the result."""
    claims, assertions = synthetic_claims(n, seed)
    t0 = time.perf_counter()
    out = find_contradictions(claims, assertions, RuleSet.load())
    seconds = time.perf_counter() - t0
    return {"claims": n, "families": int(claims["family_id"].nunique()), "pairs": int(len(out)),
            "claim_pairs_represented": int(out["repeats"].sum()), "seconds": round(seconds, 2)}
