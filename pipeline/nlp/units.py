"""The ``claim_units`` component: the units a claim can be, with the cue features that tag them.

Each sentence of a paragraph block is a unit; a sentence that joins two claims of different type
or treatment at a clause break (", but may cause ...") becomes two units. A heading or a list
item is one unit whatever its sentences ("Avoid picking at scabs: ... can lead to scarring").
The units are ``doc.spans["claims"]``; each span's ``span._.features`` holds what the tag stage
needs (treatments named, subject, claim-type triggers, negation, hedge, condition, ...), and
``span._.clause`` is 0 for a whole sentence, 1 or 2 for the halves of a split one. The values
live in one ``Unit`` record per span, in span order on ``doc._.units``, where the later
components add their results (``assertions``, ``findings``) and the extract stage reads them:
a Span's ``span._`` builds an accessor and looks each value up by the span's offsets, which
cost a tenth of the per-article stages when every component went through it for every unit.
The span extensions read the same records (``unit_of``).

The Doc is one article's blocks (``nlp.blocks``: paragraph, heading or list_item, each starting
a sentence); units never cross a block.

Negation, conditions and mitigation come from the ``context`` component's scopes: the unit is
negated when a negation scope outside any condition reaches a content word or a treatment name
inside the unit ("should not be used", "not only" are pseudo-triggers there). Mitigation cues
("prevent", "to minimize") keep the harm words they reach from making a safety claim. The
subject is read by position (after a label and introductory phrases, up to the first auxiliary):
it decides imperatives, skin subjects and named subjects.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from operator import attrgetter

from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import config
from .blocks import blocks_of
from .context import DocView, contexts_in, within_sorted
from .ruleset import RuleSet


@dataclass(slots=True)
class Unit:
    """One unit of ``doc.spans["claims"]``: its tokens and characters, clause number and cue
    features (``claim_units``), then what it asserts (``aspect_assertions``) and the compliance
    rules it claims (``compliance_findings``)."""

    start: int
    end: int
    start_char: int
    end_char: int
    clause: int
    features: dict
    assertions: list | None = None
    findings: list | None = None


def unit_of(span: Span) -> Unit | None:
    """The record of a span of ``doc.spans["claims"]`` (None for any other span): the units are
    in token order, so it is found by bisection."""
    units = span.doc._.units or ()
    k = bisect.bisect_left(units, span.start, key=attrgetter("start"))
    while k < len(units) and units[k].start == span.start:
        if units[k].end == span.end:
            return units[k]
        k += 1
    return None


def unit_extension(name: str, default=None):
    """A Span extension's getter reading one field of the span's ``Unit``."""
    def get(span: Span):
        unit = unit_of(span)
        return default if unit is None else getattr(unit, name)
    return get


Doc.set_extension("units", default=None, force=True)
Span.set_extension("features", getter=unit_extension("features"), force=True)
Span.set_extension("clause", getter=unit_extension("clause", 0), force=True)

_PRIORITY = {t: i for i, t in enumerate(config.CLAIM_TYPES)}
_GRADE = {"weak": 0, "normal": 1, "strong": 2, "dominant": 3}
_COORDINATION = {",", "and", "or", "&", "/", "nor"}
_GENERAL_SUBJECTS = {"nothing", "none"}
_GENERAL_NO = {"treatment", "treatments", "product", "products", "procedure", "procedures", "cream",
               "creams", "serum", "serums", "amount", "method", "device", "one", "technique"}
_TIMING = {"before", "after", "prior", "until", "while", "during", "following", "beforehand",
           "afterwards", "afterward", "day", "days", "week", "weeks", "hour", "hours", "month", "months"}


def coordinated(t_spans: list, words: list[str]) -> tuple[str, ...]:
    """The treatments named in one coordination with the first one ("chemical peels and
    lasering", "Botox, fillers or PRP"): what the claim says of one it says of them all."""
    if len(t_spans) < 2:
        return ()
    group = [t_spans[0][2]]
    for (_, e1, _), (s2, _, t2) in zip(t_spans, t_spans[1:]):
        between = words[e1:s2]
        if not between or not all(w in _COORDINATION for w in between):
            break
        group.append(t2)
    return tuple(dict.fromkeys(group)) if len(group) > 1 else ()


def label_colon(tok, s: int, e: int) -> int | None:
    """The first ":" token among the first LABEL_MAX_TOKENS tokens of [s, e), if any (the end of a
    label that opens a unit: "Microdermabrasion: ...")."""
    try:
        return tok.text.index(":", s, min(e, s + config.LABEL_MAX_TOKENS))
    except ValueError:
        return None


def _intro_end(v: DocView, s: int, e: int, intros: dict[int, object]) -> tuple[int, list[range]]:
    """Skip a short label ("Extract: ...") and introductory phrases ("However,", "After a
    Fraxel session,"): the subject follows them. Returns the first token after the
    introductions and the spans of the introductions whose rule says to demote claim words."""
    tok = v.tok
    i, demoted = s, []
    label = label_colon(tok, s, e)
    if label is not None and label + 1 < e:
        i = label + 1  # "Extract: painless suction removes ...": the label is not the subject
    for _ in range(3):
        while i < e and (tok.punct[i] or tok.space[i]):
            i += 1
        rule = intros.get(i)
        if rule is None:
            break
        comma = next((k for k in range(i + 1, min(e, i + config.INTRO_MAX_TOKENS))
                      if tok.text[k] == ","), None)
        if comma is None:
            break
        if rule.get("demote"):
            demoted.append(range(i, comma))
        i = comma + 1
    while i < e and (tok.punct[i] or tok.space[i]):
        i += 1
    return i, demoted


def _unit_cues(contexts: list, s: int, e: int) -> tuple[list, list]:
    """The cleaned cues of the sentence contexts inside [s, e) and the negations that start there."""
    cues, negations = [], []
    for ctx in contexts:
        cues.extend(c for c in ctx.cues if s <= c[0] and c[1] <= e
                    and (c[0] == s or c[2].get("position") != "start"))
        negations.extend((n, ctx) for n in ctx.negations if s <= n.start and n.end <= e)
    return cues, negations


def features(v: DocView, s: int, e: int) -> dict:
    """Cue-derived features of tokens [s, e) of a Doc (see the module docstring)."""
    tok = v.tok
    t_spans = within_sorted(v.treatments, s, e)
    treat_tokens = {i for ts, te, _ in t_spans for i in range(ts, te)}
    treatments = list(dict.fromkeys(tid for _, _, tid in t_spans))
    contexts = contexts_in(v.context, s, e)
    cues, negations = _unit_cues(contexts, s, e)
    # a claim word inside a longer claim phrase belongs to the phrase ("healing" in "wound
    # healing response" is mechanism, not efficacy)
    typed = [(cs, ce) for cs, ce, r in cues if r.category == "claim_type"]
    cues = [(cs, ce, r) for cs, ce, r in cues if r.category != "claim_type"
            or not any(a <= cs and ce <= b and (b - a) > (ce - cs) for a, b in typed)]
    intros = {cs: r for cs, ce, r in cues if r.category == "intro"}
    subj_start, demoted = _intro_end(v, s, e, intros)
    # the subject ends at the first auxiliary, or at the first claim word after its first
    # token ("These injuries | stimulate ...", "Clogged pores | can ...")
    noun_starts = {cs for cs, ce, r in cues if r.category == "skin_subject"} | {ts for ts, _, _ in t_spans}
    subj_end = min([cs for cs, ce, r in cues if cs >= subj_start and (
                        r.category == "predicate" or r.category == "claim_type" and cs > subj_start
                        and not r.pattern and ce not in noun_starts)]  # "large | pores": a modifier
                   + [e, subj_start + config.SUBJECT_MAX_TOKENS])
    in_subject = range(subj_start, subj_end)
    negated = False
    in_scope: set[int] = set()
    mitigated: set[int] = set()
    for ctx in contexts:
        mitigated |= ctx.mitigated
    for n, ctx in negations:
        if n.start in ctx.conditional:
            continue
        scope = [i for i in n.scope if s <= i < e]
        if any((tok.alpha[i] and not tok.stop[i]) or i in treat_tokens for i in scope):
            negated = True
            in_scope.update(scope, range(n.start, n.end))
    hedged = conditional = anaphor = not_claim = skin_subject = skin_terms = False
    imperative = negative_imperative = pronoun_subject = anaphor_subject = False
    types: dict[str, str] = {}     # type -> strongest grade seen: strong > normal > weak
    for cs, ce, r in cues:
        cat = r.category
        if cat == "claim_type":
            t = r.get("type")
            if t == "safety" and cs in mitigated and cs not in in_scope and not r.get("unmitigated"):
                continue  # "prevent infection", "minimize the risk of breakouts": not a risk claim
            g = ("weak" if r.get("weak") or (t != "comparative" and any(cs in d for d in demoted))
                 else "dominant" if r.get("dominant") else "strong" if r.get("strong") else "normal")
            if t not in types or _GRADE[g] > _GRADE[types[t]]:
                types[t] = g
        elif cat == "imperative" and cs == subj_start:
            imperative = True
            negative_imperative = bool(r.get("negative"))
        elif cat == "hedge":
            hedged = True
        elif cat == "conditional":
            conditional = True
        elif cat == "anaphor":
            anaphor = True
            if cs in in_subject:
                pronoun_subject = pronoun_subject or bool(r.get("pronoun"))
                anaphor_subject = anaphor_subject or not r.get("pronoun")
        elif cat == "not_claim":
            not_claim = True
        elif cat == "skin_subject":
            skin_terms = True
            if cs in in_subject and not any(i in in_subject for i in treat_tokens) \
                    and (subj_start >= e or tok.lower[subj_start] not in config.NOT_SKIN_SUBJECT_STARTS):
                skin_subject = True
    if imperative and _GRADE[types.get("advice", "weak")] < _GRADE["strong"]:
        types["advice"] = "strong"
    ordinary = [t for t, g in types.items() if g != "weak"] or list(types)
    ordered = sorted(ordinary, key=_PRIORITY.__getitem__)
    top = max((_GRADE[types[t]] for t in ordered), default=0)
    strong = [t for t in ordered if _GRADE[types[t]] == top and top >= _GRADE["strong"]]
    subject_treatments = () if imperative else tuple(  # an instruction's subject is the reader
        dict.fromkeys(tid for ts, te, tid in t_spans if ts in in_subject))
    # a label that opens the unit ("Microdermabrasion: ..., this is a great way ...") names
    # what the unit is about
    colon = label_colon(tok, s, e)
    label_treatments = tuple(dict.fromkeys(tid for ts, te, tid in t_spans if colon is not None and te <= colon))
    last = next((tok.text[i] for i in range(e - 1, s - 1, -1) if not tok.space[i]), None)
    # a question may end in quotes and a full stop: So "Is it effective?".
    tail = [tok.text[i] for i in range(max(s, e - 3), e) if not tok.space[i]]
    # an answer is a whole sentence: "No.", "The short answer is yes."
    content_end = next((i + 1 for i in range(e - 1, s - 1, -1) if tok.alpha[i]), s)   # after the last word
    answer = next((r.get("polarity") for cs, ce, r in cues
                   if r.category == "answer" and cs == s and ce >= content_end), "")
    return {
        "treatments_found": tuple(treatments),
        "subject_treatments": subject_treatments,
        "label_treatments": label_treatments,
        "types_found": tuple(ordered),
        "strong_types": tuple(strong),
        "negated": negated, "hedged": hedged, "conditional": conditional,
        "anaphor": anaphor, "pronoun_subject": pronoun_subject, "anaphor_subject": anaphor_subject,
        "imperative": imperative, "negative_imperative": negative_imperative,
        "not_claim": not_claim, "skin_subject": skin_subject and not imperative,
        # a skin subject with only how-skin-works words ("Pores produce sebum", "Pores are tiny
        # openings"): plain physiology, not a claim (no cause, condition, outcome, treatment or
        # anaphor of one: "the device freezes the fat cells" is about the treatment)
        "physiology": bool(skin_subject and not imperative and not treatments and not anaphor
                           and set(types) <= {"mechanism", "etiology"}
                           and types.get("etiology", "weak") == "weak"),
        "skin_terms": skin_terms,
        "cue_ids": tuple(sorted({r.id for _, _, r in cues})),
        "n_words": sum(tok.alpha[s:e]),
        "question": "?" in tail,
        "answer": answer,
        "lead_in": last == ":",
        "coordinated": coordinated(t_spans, tok.lower),
        # "Nothing can shrink pores", "No cream will ...": a claim about every treatment
        "general": subj_start < e and (tok.lower[subj_start] in _GENERAL_SUBJECTS or (
            tok.lower[subj_start] == "no" and subj_start + 1 < e and tok.lower[subj_start + 1] in _GENERAL_NO)),
        # an instruction with a time ("avoid retinoids for a week") is about the topic's care
        "timed": not _TIMING.isdisjoint(tok.lower[s:e]),
    }


def _item_features(v: DocView, s: int, e: int, sentences: list[tuple[int, int]]) -> dict:
    """Features of a multi-sentence list item: cues over the whole item, the subject from its
    first sentence, and as types the type each sentence would get on its own, so the item's
    type is the most compliance-relevant of its sentences' types (the guide's priority).
    ``sentences``: the bounds of the item's sentences."""
    whole = features(v, s, e)
    sents = [(max(s, a), min(e, z)) for a, z in sentences if z > s and a < e]
    if len(sents) < 2:
        return whole
    parts = [features(v, start, end) for start, end in sents]
    first = parts[0]
    per_sentence = {(p["strong_types"] or p["types_found"] or (None,))[0] for p in parts} - {None}
    ordered = tuple(sorted(per_sentence, key=_PRIORITY.__getitem__))
    whole.update(types_found=ordered, strong_types=(),
                 **{k: first[k] for k in ("subject_treatments", "label_treatments", "pronoun_subject",
                                          "anaphor_subject", "imperative",
                                          "negative_imperative", "skin_subject")})
    return whole


def _split_points(v: DocView, s: int, e: int, by_id: dict) -> list[tuple[int, int, bool]]:
    """Where a sentence may split into two claims: clause breaks (", but"), and the comma that
    ends a fronted concession ("While it is effective, | it can cause breakouts"). Each point
    is (start, end, concessive): in a concession the main clause is the second one."""
    cues = v.cues
    lo, hi = bisect.bisect_left(cues, (s,)), bisect.bisect_left(cues, (e,))
    points = [(cs, ce, False) for cs, ce, rid in cues[lo:hi]
              if s < cs and ce < e - 1 and by_id[rid].category == "clause_break"]
    intros = {cs: by_id[rid] for cs, ce, rid in cues[lo:hi] if by_id[rid].category == "intro"}
    text = v.tok.text
    i = s
    for _ in range(3):
        rule = intros.get(i)
        if rule is None:
            break
        comma = next((k for k in range(i + 1, min(e - 1, i + config.INTRO_MAX_TOKENS))
                      if text[k] == ","), None)
        if comma is None:
            break
        if rule.get("concessive"):
            points.append((comma, comma + 1, True))
            break
        i = comma + 1
    return sorted(points)


def _trim(v: DocView, s: int, e: int) -> tuple[int, int]:
    """Drop leading/trailing spaces and punctuation that do not belong to a clause."""
    tok = v.tok
    while s < e and (tok.space[s] or tok.punct[s] and tok.text[s] not in "\"'("):
        s += 1
    while e > s and (tok.space[e - 1] or tok.text[e - 1] in {",", ";", ":", "-"}):
        e -= 1
    return s, e


def units_of(doc: Doc, by_id: dict):
    """Yield (token_start, token_end, features, clause) for each unit of the blocks of a Doc."""
    v = DocView.of(doc)
    sentences = v.tok.sentences
    first = 0
    for block in blocks_of(doc):
        # the block's sentences (sentences start at every block: none crosses one)
        first = bisect.bisect_left(sentences, (block.start,), first)
        last = bisect.bisect_left(sentences, (block.end,), first)
        yield from _block_units(v, block, sentences[first:last], by_id)


def _block_units(v: DocView, block, sentences: list[tuple[int, int]], by_id: dict):
    """The units of one block: a heading or list item whole, a paragraph's sentences and clauses."""
    if block.kind in ("heading", "list_item"):
        s, e = _trim(v, block.start, block.end)
        if s < e:
            yield s, e, (_item_features(v, s, e, sentences) if block.kind == "list_item" else features(v, s, e)), 0
        return
    for sent_start, sent_end in sentences:
        s, e = _trim(v, sent_start, sent_end)
        if s >= e:
            continue
        whole = features(v, s, e)
        whole["lead_in"] = ":" in v.tok.text[e:sent_end]
        main = None
        for bs, be, concessive in _split_points(v, s, e, by_id):
            ls, le = _trim(v, s, bs)
            rs, re_ = _trim(v, be, e)
            if le - ls < 3 or re_ - rs < 2:
                continue
            left = features(v, ls, le)
            right = features(v, rs, re_)
            main = main or (right if concessive else left)
            if not (left["types_found"] and right["types_found"]) or left["not_claim"] or right["not_claim"]:
                continue  # a split needs a claim on each side ("..., although results may vary": one)
            lt = (left["strong_types"] or left["types_found"])[0]
            rt = (right["strong_types"] or right["types_found"])[0]
            differs = lt != rt or (right["treatments_found"]
                                   and right["treatments_found"] != left["treatments_found"])
            if differs:
                yield ls, le, left, 1
                yield rs, re_, right, 2
                break
        else:
            if main is not None:
                # one row for clauses of one type: certainty and negation are the main
                # clause's ("A peel does not cause irritation, but may cause redness": absolute)
                whole.update({k: main[k] for k in ("negated", "hedged", "conditional")})
            yield s, e, whole, 0


class ClaimUnits:
    """Sets ``doc.spans["claims"]`` and their records ``doc._.units``: the units of the Doc,
    with features and clause number."""

    def __init__(self, rules: RuleSet):
        self.by_id = rules.cue_by_id

    def __call__(self, doc: Doc) -> Doc:
        spans, units = [], []
        for s, e, feats, clause in units_of(doc, self.by_id):
            span = Span(doc, s, e)
            spans.append(span)
            units.append(Unit(s, e, span.start_char, span.end_char, clause, feats))
        doc.spans["claims"] = spans
        doc._.units = units
        return doc


@Language.factory("claim_units", default_config={"rules": ""})
def make_claim_units(nlp: Language, name: str, rules: str) -> ClaimUnits:
    """spaCy factory: config ``rules`` is the rules folder (empty: the default folder)."""
    return ClaimUnits(RuleSet.load(rules) if rules else RuleSet.load())
