"""Tag: units in, labelled units out (is_claim, treatment, claim_type, certainty, negated).

Pure table logic over the cue features the ``claim_units`` component found, following the
claims guide and tests/gold/LABELLING.md:

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
  (``main_treatments``: sources.csv, else inferred from the article's own text);
- a family named without saying which member ("the laser", "injections") is the member the
  paragraph, section or article is about when that member is of the family, else the family
  ("lasers can leave pores exposed" in an article about several treatments).
"""
from __future__ import annotations

from collections import Counter

import pandas as pd

from .. import config, tables
from ..nlp.ruleset import RuleSet
from ..text import claim_id, text_key

# Claim types that speak about a treatment even when it is not named.
_TREATMENT_TYPES = {"safety", "regulatory", "comparative", "durability", "efficacy", "candidacy",
                    "regimen", "mechanism", "advice"}
TAG_COLUMNS = ["is_claim", "treatment", "treatments", "subjects", "claim_type", "certainty",
               "negated", "cues", "claim_id"]


def infer_main_treatments(units: pd.DataFrame, rules: RuleSet) -> dict[str, str]:
    """The treatment each article is about, from its own text: the one it names most, where the
    headings and the opening line count three times. Mentions of a family ("the laser") count
    for the member of that family the article names most, else for the family."""
    out = {}
    articles: dict[str, list] = {}
    for sid, kind, found in zip(units["source_id"].tolist(), units["kind"].tolist(),
                                units["treatments_found"].tolist()):
        articles.setdefault(sid, []).append((kind, found))
    for sid, rows in articles.items():
        counts: Counter = Counter()
        first: dict[str, int] = {}
        for i, (kind, found) in enumerate(rows):
            for t in found:
                counts[t] += 3 if kind == "heading" or i == 0 else 1
                first.setdefault(t, i)
        for fam in [t for t in counts if rules.is_family(t)]:
            members = [m for m in counts if rules.family_of(m) == fam and not rules.is_family(m)]
            if members:
                best = max(members, key=lambda t: (counts[t], -first[t]))
                counts[best] += counts.pop(fam)
        out[sid] = (max(counts, key=lambda t: (counts[t], -first[t]))
                    if counts else config.NO_TREATMENT)
    return out


def _resolve(t: str, topics: tuple, rules: RuleSet) -> str:
    """A family id as the member the topics speak of (the first topic of that family), else as is."""
    if not rules.is_family(t):
        return t
    return next((x for x in topics if x and rules.family_of(x) == t and not rules.is_family(x)), t)


def _asserted_types(asserts: tuple, rules: RuleSet) -> tuple[str, ...]:
    """The claim types the unit's assertions speak for (the aspects' claim_type in the rules):
    "can make your pores bigger" is a safety claim even when no claim word is listed."""
    index = rules.aspects
    found = {index.claim_type_of(a, v) for a, v in asserts} - {""}
    return tuple(sorted(found, key=config.CLAIM_TYPES.index))


def _heading_asserts(u, rules: RuleSet) -> bool:
    """A heading is a title, not a claim, unless it promises something a reviewer must check:
    a treatment named with a benefit value ("Laser Tattoo Removal Is Painless", "Permanent Hair
    Removal in One Session")."""
    return bool(u.treatments_found) and any(rules.aspects.benefit(a, v) and rules.aspects.absolute(a, v)
                                            for a, v in u.asserts)


def _claim_type(strong: tuple, found: tuple, asserted: tuple) -> str:
    """Strong triggers first; else the ordinary triggers; a safety assertion (a worsening, a
    named harm) outranks ordinary triggers; with no trigger at all, the assertions decide."""
    if strong:
        return strong[0]
    if "safety" in asserted and "etiology" not in found:
        return "safety"  # a worsening or a named harm, unless it is what causes a condition
    return (found or asserted or ("",))[0]


def _certainty(conditional: bool, hedged: bool) -> str:
    return "conditional" if conditional else "hedged" if hedged else "absolute"


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
    if u.label_treatments:   # "Microdermabrasion: ..., this is a great way to ..."
        return u.label_treatments[0]
    if u.general and not u.treatments_found:
        return config.NO_TREATMENT  # "Nothing can permanently shrink pores": about every treatment
    if u.imperative:
        # "Use a salicylic cleanser" and "Don't resort to chemical peels" speak about what they
        # name; "Avoid retinoids for a week" is care around the topic treatment
        return u.treatments_found[0] if u.treatments_found and not (u.negative_imperative and u.timed) else topic
    improves = ("effect", "improves") in u.asserts and not u.negated and ("durability", "temporary") not in u.asserts
    if u.anaphor_subject and not u.treatments_found:
        return topic if topic != config.NO_TREATMENT else article   # "The device freezes the fat cells below the skin"
    if u.skin_subject and not u.treatments_found and not improves and (
            {"etiology", "mechanism"} & set(u.types_found) or "efficacy" not in u.types_found):
        # skin or a condition as the subject: a fact about skin ("Enlarged pores are often caused
        # by ..."), unless it states an improvement ("the pores may also get smaller"): then it
        # speaks of the treatment the paragraph is about
        return config.NO_TREATMENT
    if u.pronoun_subject:
        return subject  # "These openings can become clogged": what the paragraph was about
    if u.anaphor:
        return topic if topic != config.NO_TREATMENT else article
    if u.treatments_found:
        return u.treatments_found[0]
    return topic if ctype in _TREATMENT_TYPES else config.NO_TREATMENT


def _label_article(rows: list, article: str, rules: RuleSet) -> dict[str, list]:
    """The tag columns of one article's units (rows of ``tables.records``), in order."""
    out: dict[str, list] = {c: [] for c in TAG_COLUMNS}
    section_topic = None
    block, block_topic, block_subject = None, None, None
    prev_treatment = config.NO_TREATMENT
    question = None  # the unit before, when it was a question
    occurrences: Counter = Counter()
    for u in rows:
        if u.kind == "heading":
            section_topic = _section_topic(u)
            if section_topic:
                section_topic = _resolve(section_topic, (article,), rules)
        if u.block != block:
            block, block_topic, block_subject = u.block, None, None
        asserted = _asserted_types(u.asserts, rules)
        is_claim = bool(
            (u.kind != "heading" or _heading_asserts(u, rules)) and not u.question and not u.not_claim
            and not u.lead_in and not u.physiology and u.n_words >= 2 and (u.types_found or asserted)
        )
        ctype = _claim_type(u.strong_types, u.types_found, asserted) if is_claim else ""
        topic = block_topic or section_topic or article
        if u.clause == 2 and not u.subject_treatments:
            treatment = prev_treatment
        else:
            treatment = _treatment(u, ctype, topic, block_subject or topic, article)
        answered = bool(u.answer) and question is not None and bool(question.types_found)
        if answered:
            # "Does a HydraFacial hurt?" "No.": the answer asserts what the question asks
            is_claim = True
            ctype = (question.strong_types or question.types_found)[0]
            treatment = (question.subject_treatments or question.treatments_found or (topic,))[0]
        topics = (*u.treatments_found, block_topic, section_topic, article)
        treatment = _resolve(treatment, topics, rules)
        question = u if u.question else None
        if treatment == config.NO_TREATMENT and is_claim and (
                u.skin_subject or "etiology" in u.types_found) \
                and not {"durability", "comparative", "regulatory"} & set(u.strong_types):
            ctype = "etiology"  # a claim about skin or a condition: what causes or what it is
        if u.subject_treatments:
            block_topic = block_subject = _resolve(u.subject_treatments[0], topics, rules)
        elif u.skin_subject and not u.treatments_found:
            block_subject = treatment  # "Pores are tiny openings ...": none
        prev_treatment = treatment
        out["is_claim"].append(is_claim)
        out["treatment"].append(treatment if is_claim else "")
        out["treatments"].append(tuple(dict.fromkeys(
            ([treatment] if treatment not in ("", config.NO_TREATMENT) else [])
            + [_resolve(t, topics, rules) for t in u.treatments_found])) if is_claim else ())
        co = [_resolve(t, topics, rules) for t in u.coordinated]
        out["subjects"].append(tuple(dict.fromkeys([treatment] + co)) if is_claim and treatment in co
                               else ((treatment,) if is_claim else ()))
        out["claim_type"].append(ctype)
        out["certainty"].append(_certainty(u.conditional, u.hedged) if is_claim else "")
        out["negated"].append((u.answer == "no" if answered else bool(u.negated)) if is_claim else False)
        out["cues"].append(u.cue_ids)
        if is_claim:
            key = text_key(u.text)
            out["claim_id"].append(claim_id(u.source_id, u.text, occurrences[key]))
            occurrences[key] += 1
        else:
            out["claim_id"].append("")
    return out


def tag(units: pd.DataFrame, rules: RuleSet, main_treatments: dict[str, str] | None = None) -> pd.DataFrame:
    """Label every unit; claims are the rows with is_claim True (units keep their order).

    The topic a unit without a named subject refers to is, in order: the treatment last named
    as a subject earlier in the same paragraph, the section's (from its heading), the article's.
    """
    main = {**infer_main_treatments(units, rules),
            **{k: v for k, v in (main_treatments or {}).items() if v}}
    cols: dict[str, list] = {c: [] for c in TAG_COLUMNS}
    articles: dict[str, list] = {}   # the units of each article, articles in order of appearance
    for u in tables.records(units):
        articles.setdefault(u.source_id, []).append(u)
    for sid, rows in articles.items():
        for c, values in _label_article(rows, main.get(sid, config.NO_TREATMENT), rules).items():
            cols[c].extend(values)
    order = units.groupby("source_id", sort=False).ngroup().sort_values(kind="stable").index
    labelled = units.loc[order].reset_index(drop=True)
    for c in TAG_COLUMNS:
        labelled[c] = cols[c] if len(labelled) else pd.Series([], dtype=object)
    return labelled
