"""Tag: units in, labelled units out (is_claim, treatment, claim_type, certainty, negated).

Pure DataFrame logic over the cue features that ``extract`` found, following the claims guide:

- a claim is a sentence or clause with a claim-type trigger that is not a heading, question,
  call to action or list lead-in;
- claim_type is the most compliance-relevant triggered type (guide order); a "strong" trigger
  (e.g. an imperative that opens a sentence) outranks weak ones;
- certainty: conditional > hedged > absolute;
- treatment: the first treatment the unit names; else, when it refers to one ("it", "the
  procedure") or its type is about a treatment, the treatment of its section heading, else of
  the article (sources.csv main_treatment, or the one the article names most, headings counted
  three times); a unit about skin, pores or a condition stays "none".
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter

import pandas as pd

from . import config
from .ingest import normalise

# Claim types that speak about a treatment even when it is not named.
_TREATMENT_TYPES = {"safety", "comparative", "durability", "efficacy", "candidacy", "regimen",
                    "mechanism", "advice"}


def infer_main_treatments(units: pd.DataFrame) -> dict[str, str]:
    """The treatment each article is about: the one it names most (headings count 3x)."""
    out = {}
    for sid, group in units.groupby("source_id", sort=False):
        counts: Counter = Counter()
        first: dict[str, int] = {}
        for i, (kind, found) in enumerate(zip(group["kind"], group["treatments_found"])):
            for t in found:
                counts[t] += 3 if kind == "heading" or i == 0 else 1
                first.setdefault(t, i)
        out[sid] = (max(counts, key=lambda t: (counts[t], -first[t]))
                    if counts else config.NO_TREATMENT)
    return out


def _claim_type(types_found: tuple, strong: tuple) -> str:
    return (strong or types_found or ("",))[0]


def _certainty(conditional: bool, hedged: bool) -> str:
    return "conditional" if conditional else "hedged" if hedged else "absolute"


def text_key(text: str) -> str:
    """Normalised claim text for ids and families: case, quotes, spaces and end punctuation.

    >>> text_key("Microneedling\u00a0is  \u201csafe\u201d.")
    'microneedling is "safe"'
    """
    return re.sub(r"\s+", " ", normalise(text)).strip().rstrip(".!;:, ").lower()


def claim_id(source_id: str, text: str, occurrence: int) -> str:
    """Stable id from source and normalised text (not offsets), so edits elsewhere keep it."""
    digest = hashlib.sha1(f"{source_id}\x1f{text_key(text)}\x1f{occurrence}".encode()).hexdigest()
    return "c" + digest[:12]


def tag(units: pd.DataFrame, main_treatments: dict[str, str] | None = None) -> pd.DataFrame:
    """Label every unit; claims are the rows with is_claim True."""
    inferred = infer_main_treatments(units)
    main = {**inferred, **{k: v for k, v in (main_treatments or {}).items() if v}}
    rows = []
    for sid, group in units.groupby("source_id", sort=False):
        section_treatment = None
        prev_treatment = config.NO_TREATMENT
        occurrences: Counter = Counter()
        for u in group.itertuples(index=False):
            if u.kind == "heading":
                section_treatment = u.treatments_found[0] if u.treatments_found else None
            is_claim = bool(
                u.kind != "heading" and not u.question and not u.not_claim and not u.lead_in
                and u.n_words >= 3 and u.types_found
            )
            ctype = _claim_type(u.types_found, u.strong_types) if is_claim else ""
            if u.treatments_found:
                treatment = u.treatments_found[0]
            elif u.clause == 2:
                treatment = prev_treatment
            elif u.anaphor or (ctype in _TREATMENT_TYPES and not u.skin_subject):
                treatment = section_treatment or main.get(sid, config.NO_TREATMENT)
            else:
                treatment = config.NO_TREATMENT
            prev_treatment = treatment
            row = u._asdict()
            row.update(
                is_claim=is_claim,
                treatment=treatment if is_claim else "",
                treatments=";".join(dict.fromkeys(
                    ([treatment] if treatment not in ("", config.NO_TREATMENT) else [])
                    + list(u.treatments_found))) if is_claim else "",
                claim_type=ctype,
                certainty=_certainty(u.conditional, u.hedged) if is_claim else "",
                negated=bool(u.negated) if is_claim else False,
                assertions=";".join(u.assertions) if is_claim else "",
                cues=" ".join(u.cue_ids),
            )
            if is_claim:
                key = text_key(u.text)
                row["claim_id"] = claim_id(sid, u.text, occurrences[key])
                occurrences[key] += 1
            else:
                row["claim_id"] = ""
            row["family_id"] = ""  # set over all claims in claims_table (pipeline.families)
            rows.append(row)
    return pd.DataFrame(rows)


def claims_table(tagged: pd.DataFrame) -> pd.DataFrame:
    """The claims contract table: one row per claim, contract columns first, sorted stably."""
    from .families import family_ids  # families imports text_key from here

    claims = tagged[tagged["is_claim"]].copy()
    claims = claims.sort_values(["source_id", "start", "end"], kind="stable")
    claims["family_id"] = family_ids(claims)
    return claims[config.CLAIM_COLUMNS].reset_index(drop=True)
