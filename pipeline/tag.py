"""Tag: units in, labelled units out (is_claim, treatment, claim_type, certainty, negated).

Pure DataFrame logic over the cue features that ``extract`` found, following the claims guide
and tests/gold/LABELLING.md:

- a claim is a sentence, clause or list item with a claim-type trigger that is not a heading,
  question, call to action, list lead-in or plain physiology of normal skin; a short answer
  ("No.") to the question before it is a claim of the question's type;
- claim_type: a dominant frame ("it is essential to") decides; else strong triggers (an opening
  imperative, "best", "permanently", "non-invasive") outrank ordinary ones; among equals the
  most compliance-relevant type wins (guide order);
- certainty: conditional > hedged > absolute;
- treatment: the treatment named as the subject; a subject about skin or a condition is "none";
  a pronoun subject refers to the paragraph's last subject; otherwise the topic: the treatment
  last named as a subject in the paragraph, else the section heading's, else the article's
  (sources.csv main_treatment, or the one the article names most, headings counted three times).
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


def _section_topic(heading) -> str | None:
    """The treatment a heading puts its section under: the one it names; "none" for a heading
    about a condition ("Factors Contributing to Enlarged Pores"); None when it says neither."""
    if heading.treatments_found:
        return heading.treatments_found[0]
    if heading.skin_terms and "etiology" in heading.types_found:
        return config.NO_TREATMENT
    return None


def _treatment(u, ctype: str, topic: str, subject: str, article: str) -> str:
    """The claim's subject (guide: "Treatment"), from the unit's own words first.

    A treatment named as the subject wins; a subject about skin, pores or a condition is "none"
    when no treatment is named at all; an instruction ("Avoid retinoids for a week") is about
    the topic unless it names what to use; a pronoun subject ("It", "They") or an anaphor ("the
    procedure") refers to the topic; otherwise the first treatment named, else the topic when
    the claim type speaks about a treatment.
    """
    if u.subject_treatments:
        return u.subject_treatments[0]
    if u.imperative:
        return u.treatments_found[0] if u.treatments_found and not u.negative_imperative else topic
    if u.skin_subject and not u.treatments_found and (
            {"etiology", "mechanism"} & set(u.types_found) or "efficacy" not in u.types_found):
        # skin or a condition as the subject: a fact about skin ("Enlarged pores are often caused
        # by ..."), unless it states an outcome ("pores looked 44 percent smaller after ...")
        return config.NO_TREATMENT
    if u.pronoun_subject:
        return subject  # "These openings can become clogged": what the paragraph was about
    if u.anaphor:
        return topic if topic != config.NO_TREATMENT else article
    if u.treatments_found:
        return u.treatments_found[0]
    return topic if ctype in _TREATMENT_TYPES else config.NO_TREATMENT


def tag(units: pd.DataFrame, main_treatments: dict[str, str] | None = None) -> pd.DataFrame:
    """Label every unit; claims are the rows with is_claim True.

    The topic a unit without a named subject refers to is, in order: the treatment last named
    as a subject earlier in the same paragraph, the section's (from its heading), the article's.
    A pronoun subject ("These openings", "It") refers to the paragraph's last subject, which
    may be skin or a condition (then "none").
    """
    inferred = infer_main_treatments(units)
    main = {**inferred, **{k: v for k, v in (main_treatments or {}).items() if v}}
    rows = []
    for sid, group in units.groupby("source_id", sort=False):
        article = main.get(sid, config.NO_TREATMENT)
        section_topic = None
        block, block_topic, block_subject = None, None, None
        prev_treatment = config.NO_TREATMENT
        question = None  # the unit before, when it was a question
        occurrences: Counter = Counter()
        for u in group.itertuples(index=False):
            if u.kind == "heading":
                section_topic = _section_topic(u)
            if u.block != block:
                block, block_topic, block_subject = u.block, None, None
            is_claim = bool(
                u.kind != "heading" and not u.question and not u.not_claim and not u.lead_in
                and not u.physiology and u.n_words >= 2 and u.types_found
            )
            ctype = _claim_type(u.types_found, u.strong_types) if is_claim else ""
            topic = block_topic or section_topic or article
            if u.clause == 2 and not u.subject_treatments:
                treatment = prev_treatment
            else:
                treatment = _treatment(u, ctype, topic, block_subject or topic, article)
            answered = bool(u.answer) and question is not None and bool(question.types_found)
            if answered:
                # "Does a HydraFacial hurt?" "No.": the answer asserts what the question asks
                is_claim = True
                ctype = _claim_type(question.types_found, question.strong_types)
                treatment = (question.subject_treatments or question.treatments_found or (topic,))[0]
            question = u if u.question else None
            if treatment == config.NO_TREATMENT and is_claim and (
                    u.skin_subject or "etiology" in u.types_found) \
                    and not {"durability", "comparative"} & set(u.strong_types):
                ctype = "etiology"  # a claim about skin or a condition: what causes or what it is
            if u.subject_treatments:
                block_topic = block_subject = u.subject_treatments[0]
            elif u.skin_subject and not u.treatments_found:
                block_subject = treatment  # "Pores are tiny openings ...": none
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
                negated=(u.answer == "no" if answered else bool(u.negated)) if is_claim else False,
                assertions="",  # filled by pipeline.assertions.annotate_claims
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
