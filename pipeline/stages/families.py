"""Claim families: the same claim repeated, verbatim or nearly, within or across articles.

Two claims of the same treatment join one family when their normalised texts (``text_key``)
are identical or have a rapidfuzz ``token_set_ratio`` of at least FAMILY_MIN_SIMILARITY and
the shorter is at least FAMILY_MIN_LENGTH_RATIO of the longer
(so "Microneedling has virtually no side effects" and "Microneedling has virtually no side
effects unlike many other treatments" are one family). Grouping is single-link over the claims
in a fixed order, so it is deterministic; a family's id is a hash of its first member's text,
stable when unrelated claims change (treatment and text of the first member).
"""
from __future__ import annotations

import hashlib

import pandas as pd
import numpy as np
from rapidfuzz import fuzz, process

from .. import config
from ..text import text_key

FAMILY_COLUMNS = ["family_id", "size", "sources", "treatment", "representative", "claim_ids"]


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    """Join the sets of a and b; the smaller position becomes the root (deterministic)."""
    ra, rb = _find(parent, a), _find(parent, b)
    parent[max(ra, rb)] = min(ra, rb)


def family_ids(claims: pd.DataFrame, min_similarity: int = config.FAMILY_MIN_SIMILARITY) -> pd.Series:
    """A family id per claim (index aligned with ``claims``): near-duplicates share one.

    Claims are compared only within one treatment (a few dozen per block), so the cost stays
    small; order is (source_id, start) so ids do not depend on the row order given.
    """
    if claims.empty:
        return pd.Series([], index=claims.index, dtype=str)
    order = claims.sort_values(["source_id", "start", "end"], kind="stable").index
    keys = {i: text_key(t) for i, t in zip(claims.index, claims["text"])}
    pos = {i: n for n, i in enumerate(order)}
    parent = list(range(len(order)))
    for _, group in claims.loc[order].groupby("treatment", sort=True):
        # identical texts join at once; only distinct texts are compared, all pairs in C
        first: dict[str, int] = {}
        for i in group.index:
            k = keys[i]
            if k in first:
                _union(parent, pos[first[k]], pos[i])
            else:
                first[k] = i
        texts = list(first)
        sim = process.cdist(texts, texts, scorer=fuzz.token_set_ratio, dtype=np.uint8,
                            score_cutoff=min_similarity)
        # token_set_ratio is 100 when one text's words are a subset of the other's; a short
        # claim ("It is safe") is not the same claim as a long one that contains it
        lengths = np.array([len(t) for t in texts], dtype=float)
        comparable = np.minimum.outer(lengths, lengths) >= config.FAMILY_MIN_LENGTH_RATIO * np.maximum.outer(lengths, lengths)
        for a, b in zip(*np.nonzero(np.triu((sim >= min_similarity) & comparable, k=1))):
            _union(parent, pos[first[texts[a]]], pos[first[texts[b]]])
    roots = [_find(parent, n) for n in range(len(order))]
    treatment = claims["treatment"].astype(str)
    ids = {n: "f" + hashlib.sha1(f"{treatment[order[r]]}\x1f{keys[order[r]]}".encode()).hexdigest()[:10]
           for n, r in enumerate(roots)}
    return pd.Series([ids[pos[i]] for i in claims.index], index=claims.index, dtype=str)


def unify_families(claims: pd.DataFrame) -> pd.Series:
    """Family ids made consistent across separately grouped batches: families that share an
    identical claim (same treatment and normalised text) become one, under the smallest id.
    Linear in the claims; near-duplicates are grouped within each batch by ``family_ids``."""
    if claims.empty:
        return claims["family_id"].astype(str) if "family_id" in claims else pd.Series([], dtype=str)
    fams = sorted(set(claims["family_id"]))
    index = {f: n for n, f in enumerate(fams)}
    parent = list(range(len(fams)))
    first: dict[tuple[str, str], int] = {}
    for fam, treatment, text in zip(claims["family_id"], claims["treatment"], claims["text"]):
        key = (str(treatment), text_key(text))
        if key in first:
            _union(parent, first[key], index[fam])
        else:
            first[key] = index[fam]
    return pd.Series([fams[_find(parent, index[f])] for f in claims["family_id"]],
                     index=claims.index, dtype=str)


def families(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim family: family_id, size, sources (';'-joined), treatment,
    representative (the text of its first occurrence) and claim_ids (';'-joined, in order).

    Pure: takes the claims table (with family_id; computed here when absent), returns a new
    table sorted by size (largest first) then family_id. The report shows each family once.
    """
    if claims.empty:
        return pd.DataFrame(columns=FAMILY_COLUMNS)
    c = claims.sort_values(["source_id", "start", "end"], kind="stable").copy()
    if "family_id" not in c or (c["family_id"] == "").any():
        c["family_id"] = family_ids(c)
    rows = []
    for fid, g in c.groupby("family_id", sort=False):
        rows.append({
            "family_id": fid, "size": len(g),
            "sources": ";".join(dict.fromkeys(g["source_id"])),
            "treatment": g["treatment"].iloc[0],
            "representative": g["text"].iloc[0],
            "claim_ids": ";".join(g["claim_id"]),
        })
    out = pd.DataFrame(rows, columns=FAMILY_COLUMNS)
    return out.sort_values(["size", "family_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
