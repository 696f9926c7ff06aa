"""Groups: the contradiction pairs and the evidence check folded into one row per claim under attack.

The pair table (``contradictions``) has one row per clashing pair of claim families; one claim
that many others contradict ("Microneedling has virtually no side effects" against every side
effect another article names) fills many rows. A reviewer decides on the claim, so this stage
gives one row per *claim under attack*: a claim that appears in at least one contradiction pair
(either side: in a pair each claim contradicts the other), or that the evidence table
contradicts (``evidence_status`` contradicted; its ``evidence_ids`` are then the contradicting
rows). Each row says:

- ``group_id``: "g" + the first 12 hex digits of sha1(claim id): stable across runs while the
  claim is;
- the claim (id, source, text, treatment, certainty) and the aspect(s) it is contradicted on;
- ``contradicting_claims`` / ``contradicting_sources``: how many claims, in how many sources,
  contradict it. Repeated claims count every time: a counter-claim stands for its whole claim
  family (the same sentence repeated, verbatim or nearly; ``family_id``);
- the three strongest counter-claims, quoted with their source: absolute before hedged, then the
  most repeated (largest family), then corpus order (source, position); ``counter_claim_ids``
  lists every counter-claim of the pairs in that order, ``contradiction_ids`` the pair rows;
- ``evidence_ids``: the evidence rows that contradict it;
- ``severity``, a rank for review.

Severity rule. A claim is *absolute* when it is stated as plain fact (certainty ``absolute``),
*hedged* otherwise (``hedged`` or ``conditional``: "may", "can", "if ..."); a contradicting
evidence row counts as an absolute statement (it states a published fact).

- ``high``: an absolute claim contradicted by at least one absolute claim or by evidence;
- ``medium``: one side absolute, the other hedged (an absolute claim whose every counter-claim
  is hedged, or a hedged claim contradicted by an absolute claim or by evidence);
- ``low``: a hedged claim whose every counter-claim is hedged.

Rows are sorted by severity (high first), then by how many claims contradict the claim (most
first), then by how many evidence rows do, then corpus order. Cost: one pass over the pairs;
the claims table is only filtered and counted column-wise (family sizes and sources for the
families in pairs), and each group unites the source sets of its counter families; no step
compares pairs with pairs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd

from .. import config, tables

COUNTERS_SHOWN = 3
_RANK = {s: i for i, s in enumerate(config.SEVERITIES)}


def group_id(claim_id: str) -> str:
    """The stable id of the group of one claim under attack."""
    return "g" + hashlib.sha1(str(claim_id).encode("utf-8")).hexdigest()[:12]


def is_absolute(certainty: str) -> bool:
    """A claim stated as plain fact (no hedge, no condition)."""
    return certainty == "absolute"


def severity(claim_absolute: bool, counter_absolute: bool, evidence: bool) -> str:
    """high / medium / low by the rule of the module docstring (evidence counts as absolute)."""
    against_absolute = counter_absolute or evidence
    if claim_absolute and against_absolute:
        return "high"
    if claim_absolute or against_absolute:
        return "medium"
    return "low"


def _ids(value) -> tuple[str, ...]:
    """A list column as a tuple, whether typed (tuple/list) or joined for people ('a;b')."""
    if isinstance(value, (tuple, list)):
        return tuple(str(v) for v in value)
    return tuple(v for v in str(value or "").split(";") if v)


def claim_families(claims: pd.DataFrame) -> pd.Series:
    """Each claim's family as groups count it: its ``family_id``, or the claim alone."""
    fam = claims["family_id"] if "family_id" in claims else claims["claim_id"]
    return fam.where(fam.notna() & (fam != ""), claims["claim_id"]).astype(str)


@dataclass
class FamilyCounts:
    """How many claims each family has, and in how many sources: what a group says of its
    counter-claims. Counted over all claims at once (``of``), or over chunks of them and
    ``add``-ed (the Dask engine's finish, which never holds every claim). The sources of a
    family are kept as 64-bit hashes of their ids in one array (8 bytes per family and source,
    not a set of strings: a family repeated across a large corpus has thousands of sources)."""

    size: dict[str, int] = field(default_factory=dict)
    _families: list = field(default_factory=list)   # per counted chunk: family of each distinct (family, source)
    _sources: list = field(default_factory=list)    # ... and the hash of its source id
    _by_family: dict | None = None                  # family -> sorted distinct source hashes, on first use

    @classmethod
    def of(cls, claims: pd.DataFrame, families: set[str]) -> "FamilyCounts":
        """The counts of ``families`` among ``claims`` (column operations only)."""
        fam = claim_families(claims)
        in_family = tables.within(fam, families)
        members = pd.DataFrame({"family": fam[in_family], "source_id": claims["source_id"][in_family]})
        distinct = members.drop_duplicates()
        return cls(size=members["family"].value_counts().to_dict(),
                   _families=[distinct["family"].astype(str).to_numpy(object)],
                   _sources=[pd.util.hash_array(distinct["source_id"].astype(str).to_numpy(object))])

    def add(self, other: "FamilyCounts") -> None:
        """Count another set of claims in (no claim in both)."""
        for f, n in other.size.items():
            self.size[f] = self.size.get(f, 0) + n
        self._families.extend(other._families)
        self._sources.extend(other._sources)
        self._by_family = None

    def n_sources(self, families) -> int:
        """How many distinct sources the claims of ``families`` are in, together."""
        import numpy as np

        if self._by_family is None:
            self._by_family = self._index()
        arrays = [self._by_family[f] for f in families]
        if len(arrays) < 2:   # none, or one family: no copy of a big family's sources
            return len(arrays[0]) if arrays else 0
        return len(np.unique(np.concatenate(arrays)))

    def _index(self) -> dict:
        """family -> its sorted distinct source hashes, from the counted chunks (one sort)."""
        import numpy as np

        if not self._families:
            return {}
        codes, names = pd.factorize(np.concatenate(self._families))
        srcs = np.concatenate(self._sources)
        order = np.lexsort((srcs, codes))
        codes, srcs = codes[order], srcs[order]
        keep = np.ones(len(srcs), dtype=bool)
        keep[1:] = (codes[1:] != codes[:-1]) | (srcs[1:] != srcs[:-1])
        codes, srcs = codes[keep], srcs[keep]
        starts = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()]
        return {names[codes[a]]: srcs[a:b] for a, b in zip(starts, [*starts[1:], len(srcs)])}


class _Claims:
    """The facts the groups need, for the claims under attack and their counter-claims only
    (``wanted``), and the size and sources of their families: column operations over the whole
    claims table, Python loops over the few claims in pairs. ``families``: the counts, when
    counted elsewhere (``FamilyCounts``; the claims table then needs only the wanted claims)."""

    def __init__(self, claims: pd.DataFrame, wanted: set[str], families: FamilyCounts | None = None):
        fam = claim_families(claims)
        mine = claims["claim_id"].isin(wanted)
        cols = [claims[c][mine].tolist() for c in ("claim_id", "source_id", "start", "text", "treatment", "certainty")]
        self.row: dict[str, tuple] = {}
        self.family: dict[str, str] = {}
        for cid, sid, start, text, treatment, cert, f in zip(*cols, fam[mine].tolist()):
            self.row[cid] = (sid, int(start), text, treatment, cert)
            self.family[cid] = f
        self.counts = families or FamilyCounts.of(claims, set(self.family.values()))
        self.size = self.counts.size

    def strength(self, cid: str) -> tuple:
        """Sort key of a counter-claim: absolute first, most repeated, then corpus order."""
        sid, start, _, _, cert = self.row[cid]
        return (not is_absolute(cert), -self.size[self.family[cid]], sid, start, cid)


def _evidence_aspects(evidence: pd.DataFrame | None) -> dict[str, tuple[str, ...]]:
    """evidence_id -> the aspects its curated ``aspect`` column names ('pain;side_effects')."""
    if evidence is None or not len(evidence) or "aspect" not in evidence:
        return {}
    return {str(e): _ids(a) for e, a in zip(evidence["evidence_id"], evidence["aspect"])}


def contradiction_groups(claims: pd.DataFrame, contradictions: pd.DataFrame,
                         evidence: pd.DataFrame | None = None,
                         families: FamilyCounts | None = None) -> pd.DataFrame:
    """One row per claim under attack (columns ``tables.GROUPS``; list columns are tuples),
    sorted for review. ``evidence``: the evidence table, optional, for the aspects of the
    evidence rows (their curated ``aspect`` column). ``families``: the family counts of the
    claims in pairs, when ``claims`` holds only the claims in pairs or contradicted by the
    evidence (``FamilyCounts``); counted from ``claims`` otherwise."""
    if not len(claims):
        return tables.empty(tables.GROUPS)
    known = {c: c for c in claims["claim_id"].tolist()}   # one string object per claim id
    attacked: dict[str, dict] = {}

    def group(cid: str) -> dict:
        return attacked.setdefault(cid, {"counters": {}, "aspects": set(), "pairs": [], "evidence": ()})

    step = config.FINISH_CHUNK_CONTRADICTIONS   # the pairs are read a slice at a time, not all as lists
    for lo in range(0, len(contradictions), step):
        part = contradictions.iloc[lo:lo + step]
        for xid, a, b, aspect in zip(part["contradiction_id"].tolist(), part["claim_a"].tolist(),
                                     part["claim_b"].tolist(), part["aspect"].tolist()):
            a, b = known.get(a), known.get(b)
            if a is None or b is None:
                continue
            for me, other in ((a, b), (b, a)):
                g = group(me)
                g["counters"][other] = None
                g["aspects"].add(aspect)
                g["pairs"].append(xid)
    refuted: list[tuple[str, tuple[str, ...]]] = []
    if "evidence_status" in claims:
        bad = claims[claims["evidence_status"] == "contradicted"]
        refuted = [(c, _ids(i)) for c, i in zip(bad["claim_id"].tolist(), bad["evidence_ids"].tolist()) if _ids(i)]
    info = _Claims(claims, set(attacked) | {c for c, _ in refuted}, families)
    ev_aspects = _evidence_aspects(evidence)
    for cid, ids in refuted:
        g = group(cid)
        g["evidence"] = ids
        for e in ids:
            g["aspects"].update(ev_aspects.get(e, ()))
    rows = sorted((_row(cid, g, info) for cid, g in attacked.items()), key=lambda r: r.pop("_key"))
    return pd.DataFrame(rows, columns=tables.GROUPS)


def _row(cid: str, g: dict, info: _Claims) -> dict:
    """The group row of one claim under attack, with its sort key."""
    sid, start, text, treatment, cert = info.row[cid]
    counters = sorted(g["counters"], key=info.strength)
    families = {info.family[c] for c in counters}
    n_claims = sum(info.size[f] for f in families)
    n_sources = info.counts.n_sources(families)
    counter_absolute = any(is_absolute(info.row[c][4]) for c in counters)
    sev = severity(is_absolute(cert), counter_absolute, bool(g["evidence"]))
    row = {
        "group_id": group_id(cid), "severity": sev, "claim_id": cid, "source_id": sid, "text": text,
        "treatment": treatment, "certainty": cert, "aspects": tuple(sorted(g["aspects"])),
        "contradicting_claims": n_claims, "contradicting_sources": n_sources,
        "evidence_ids": g["evidence"],
        "counter_claim_ids": tuple(counters), "contradiction_ids": tuple(sorted(set(g["pairs"]))),
        "_key": (_RANK[sev], -n_claims, -len(g["evidence"]), sid, start, cid),
    }
    for i in range(COUNTERS_SHOWN):
        c = counters[i] if i < len(counters) else None
        row[f"counter_{i + 1}_source"] = info.row[c][0] if c else ""
        row[f"counter_{i + 1}_text"] = info.row[c][2] if c else ""
    return row
