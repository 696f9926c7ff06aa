"""Assertions: normalise a claim (or an evidence statement) into (aspect, value) pairs.

The vocabulary is data (pipeline/rules/aspects.jsonl). A text is parsed by the project's spaCy
pipeline (``build_nlp``: value cues and negation cues come from the ``claim_matcher``); this
module adds qualifiers (skin groups, outcomes), pseudo-negations and cancels, then decides:

- overlapping value cues of one aspect: the longest wins ("non-invasive" beats "invasive",
  "virtually no side effects" beats "no side effects");
- a cancel phrase removes the value cue it overlaps ("one of the best" is no ranking);
- a negation cue (ConText style: forward or backward, NEGATION_WINDOW tokens, stopped by a
  terminator) governs the *nearest* value cue in its scope only: "cannot be permanently
  minimized" negates permanence, not the reduction; a governed cue asserts its negated_value or
  nothing ("does not cause irritation" says nothing about side effects in general); value cues
  that overlap the governed one are dropped ("nothing can permanently shrink pores");
- a negation word inside a value phrase is part of the phrase ("no side effects", "pain-free"),
  except for rules marked negation_inside (long patterns such as "palms ... don't have pores");
- pseudo-negations ("not without", "without the worry of") negate nothing;
- hedges do not remove assertions: "may cause hyperpigmentation" still names a side effect;
  certainty stays a separate column of the claim;
- aspects with qualifier "group" (candidacy, ranking) assert one value per group or outcome
  named within QUALIFIER_WINDOW tokens; with no group named they assert nothing.

Each assertion is serialised as ``aspect=value|words``: value is the base value or
``base:qualifier`` (``side_effects=named:breakout|breakouts``, ``ranking=best:enlarged_pores|the
best``), words are the clashing words a reviewer reads in the rationale.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from spacy.matcher import PhraseMatcher

from . import config, rules
from .extract import context_scope
from .ingest import normalise

QUALIFIER_WINDOW = 12   # tokens between a candidacy/ranking cue and the group or outcome it names
QUALIFIER_BEFORE = 6    # extra distance for a group/outcome named before its cue


@dataclass(frozen=True)
class Assertion:
    """One normalised assertion: aspect, value (base or base:qualifier), the words, absoluteness."""

    aspect: str
    value: str
    words: str
    absolute: bool = False

    def serialise(self) -> str:
        words = re.sub(r"[|;=\s]+", " ", self.words).strip()
        return f"{self.aspect}={self.value}|{words}"


def parse(item: str) -> tuple[str, str, str]:
    """'aspect=value|words' -> (aspect, value, words); words may be missing (older tables)."""
    aspect, rest = item.split("=", 1)
    value, _, words = rest.partition("|")
    return aspect.strip(), value.strip(), words.strip()


def base(value: str) -> str:
    """The base value without its qualifier ('named:breakout' -> 'named')."""
    return value.split(":", 1)[0]


def qualifier(value: str) -> str:
    """The qualifier of a value ('' when none)."""
    return value.split(":", 1)[1] if ":" in value else ""


def slug(text: str) -> str:
    """Lower-case underscore slug of a phrase ('Acne-like symptoms' -> 'acne_like_symptoms')."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@dataclass(frozen=True, eq=False)
class AspectIndex:
    """The aspect rules prepared once: declarations, value rules, conflicts, extra matcher."""

    decl: dict
    values: dict
    conflicts: dict
    extra: dict
    negations: frozenset
    terminators: frozenset
    covers: dict
    subtypes: tuple = ()

    def subtypes_of(self, treatment: str, text: str) -> frozenset:
        """Sub-types of a treatment a text names (whole words, case-insensitive)."""
        low = f" {re.sub(r'[^a-z0-9]+', ' ', text.lower())} "
        return frozenset(sub for t, sub, phrase in self.subtypes
                         if t == treatment and f" {phrase} " in low)

    def groups_meet(self, q1: str, q2: str) -> bool:
        """Two candidacy groups meet: equal, or one covers the other ("all skin types" covers
        "sensitive skin"; "all skin tones" covers "darker skin" only)."""
        def covers(a: str, b: str) -> bool:
            c = self.covers.get(a, ())
            return "*" in c or b in c
        return q1 == q2 or covers(q1, q2) or covers(q2, q1)

    def conflicting(self, aspect: str, v1: str, v2: str) -> bool:
        """Whether two base values of an aspect exclude each other (a conflict rule)."""
        return frozenset((v1, v2)) in self.conflicts.get(aspect, set()) or (
            v1 == v2 and frozenset((v1,)) in self.conflicts.get(aspect, set()))


@functools.lru_cache(maxsize=8)
def aspect_index(path: Path = config.ASPECTS_FILE, cues_path: Path = config.CUES_FILE) -> AspectIndex:
    """Index of aspects.jsonl (and the negation/terminator cue ids of cues.jsonl)."""
    aspects = rules.load_aspects(Path(path))
    cues = rules.load_cues(Path(cues_path))
    conflicts: dict[str, set] = {}
    for r in aspects:
        if r.category == "conflict":
            conflicts.setdefault(r.get("aspect"), set()).add(frozenset(r.get("values")))
    return AspectIndex(
        decl={r.get("aspect"): r for r in aspects if r.category == "aspect"},
        values={r.id: r for r in aspects if r.category == "value"},
        conflicts=conflicts,
        extra={r.id: r for r in aspects if r.category in ("qualifier", "pseudo_negation", "cancel")},
        negations=frozenset(r.id for r in cues if r.category == "negation"),
        terminators=frozenset(r.id for r in cues if r.category in ("terminator", "clause_break")),
        covers={r.get("qualifier"): tuple(r.get("covers") or ()) for r in aspects if r.category == "qualifier"},
        subtypes=tuple((r.get("treatment"), r.get("subtype"), re.sub(r"[^a-z0-9]+", " ", p.lower()).strip())
                       for r in aspects if r.category == "subtype" for p in r.phrases),
    )


def conflict_table(path: Path = config.ASPECTS_FILE) -> dict[str, set[frozenset]]:
    """aspect -> the value pairs that exclude each other (a one-element set: equal values clash)."""
    return aspect_index(Path(path)).conflicts


class AspectMatcher:
    """Finds the value, qualifier, cancel and pseudo-negation phrases of aspects.jsonl in a Doc.

    Built on the pipeline's vocab; "match": "lemma" rules are expanded to their inflected forms
    as in the claim_matcher (rules.phrase_patterns)."""

    def __init__(self, nlp, index: AspectIndex):
        from .nlp import GatedMatcher

        self.rules = {**index.values, **index.extra}
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.pattern = GatedMatcher(nlp.vocab)
        for r in self.rules.values():
            if r.pattern:
                self.pattern.add(r.id, [r.pattern])
            else:
                self.lower.add(r.id, rules.phrase_patterns(nlp, r.phrases, r.match))

    def __call__(self, doc) -> list[tuple[int, int, object]]:
        found = {(s, e, doc.vocab.strings[k]) for m in (self.lower, self.pattern) for k, s, e in m(doc)}
        return [(s, e, self.rules[rid]) for s, e, rid in sorted(found)]


@functools.lru_cache(maxsize=8)
def aspect_matcher(nlp, index: AspectIndex) -> AspectMatcher:
    """The AspectMatcher of a pipeline, built once."""
    return AspectMatcher(nlp, index)


def _in_question(doc, end: int) -> bool:
    """A cue inside a question ("Does Microderm reduce pores?") asserts nothing: the next
    sentence-ending mark after it is a question mark."""
    for t in doc[end:]:
        if t.text in (".", "!"):
            return False
        if "?" in t.text:
            return True
    return False


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _value_hits(hits: list, extra: list) -> list[tuple[int, int, object]]:
    """Value cues after cancels and the longest-wins rule within each aspect."""
    cancels = [(s, e + int(r.get("window") or 0), r.get("aspect")) for s, e, r in extra
               if r.category == "cancel"]
    hits = [h for h in hits if not any(a == h[2].get("aspect") and _overlaps(h, (s, e))
                                       for s, e, a in cancels)]
    kept: list = []
    for h in sorted(hits, key=lambda h: (-(h[1] - h[0]), h[0], h[2].id)):
        if not any(k[2].get("aspect") == h[2].get("aspect") and _overlaps(h, k) for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: (h[0], h[1], h[2].id))


def _negations(doc, index: AspectIndex, extra: list, hits: list, cue_rules: dict) -> list:
    """Negation cues that count: not inside a pseudo-negation, not part of a value phrase."""
    pseudo = [(s, e) for s, e, r in extra if r.category == "pseudo_negation"]
    pseudo += [(s, e) for s, e, rid in doc._.cues if cue_rules[rid].category == "pseudo_negation"
               and (s == 0 or cue_rules[rid].get("position") != "start")]  # "Do not ..." opens
    out = []
    for s, e, rid in doc._.cues:
        if rid not in index.negations or any(ps <= s and e <= pe for ps, pe in pseudo):
            continue
        if any(_overlaps((s, e), h) and not h[2].get("negation_inside") for h in hits):
            continue
        out.append((s, e, cue_rules[rid].get("direction")))
    return out


def _governed(doc, negs: list, hits: list, terms: list) -> dict[int, str]:
    """Index of each value hit a negation governs -> the negation words."""
    governed: dict[int, str] = {}
    n = len(doc)
    for cs, ce, direction in negs:
        inside = [i for i, h in enumerate(hits) if h[2].get("negation_inside") and h[0] <= cs and ce <= h[1]]
        if inside:
            governed.setdefault(inside[0], doc[cs:ce].text)
            continue
        if direction in ("forward", "bidirectional"):
            reach = set(context_scope(cs, ce, "forward", 0, n, terms))
            ahead = [i for i, h in enumerate(hits) if h[0] in reach]
            if ahead:
                governed.setdefault(ahead[0], doc[cs:ce].text)
                continue
        if direction in ("backward", "bidirectional"):
            reach = set(context_scope(cs, ce, "backward", 0, n, terms))
            behind = [i for i, h in enumerate(hits) if h[1] <= cs and h[0] in reach]
            if behind:
                governed.setdefault(behind[-1], doc[cs:ce].text)
    return governed


def _qualifiers(aspect: str, i: int, hits: list, extra: list, nearest: bool = False) -> list[str]:
    """Groups/outcomes of an aspect named within QUALIFIER_WINDOW tokens of cue i and nearer to
    it than to any other cue of the aspect ("best for clogged pores ... safest for enlarged pores")."""
    def dist(s: int, e: int, h: tuple, before: int = 0) -> int:
        return 0 if _overlaps((s, e), h) else (s - h[1] if s >= h[1] else h[0] - e + before)

    same = [j for j, h in enumerate(hits) if h[2].get("aspect") == aspect]
    out = []
    for s, e, r in extra:
        if r.category != "qualifier" or r.get("aspect") != aspect or _overlaps((s, e), hits[i]):
            continue
        d = dist(s, e, hits[i])
        # a group or outcome usually follows its cue ("best for X"): one before a cue counts as
        # QUALIFIER_BEFORE tokens further away when choosing between two cues
        if d <= QUALIFIER_WINDOW and min(same, key=lambda j: (dist(s, e, hits[j], QUALIFIER_BEFORE), j)) == i \
                and r.get("qualifier") not in out:
            out.append((dist(s, e, hits[i], QUALIFIER_BEFORE), r.get("qualifier")))
    if out and nearest:
        return [min(out)[1]]
    return [q for _, q in out]


def find_assertions(doc, index: AspectIndex, matcher: AspectMatcher, cue_rules: dict) -> list[Assertion]:
    """The assertions of one parsed text (see the module docstring for the rules)."""
    found = matcher(doc)
    values = [x for x in found if x[2].category == "value"]
    extra = [x for x in found if x[2].category != "value"]
    extra = [x for x in extra if not any(
        x[2].category == y[2].category == "qualifier" and x[2].get("aspect") == y[2].get("aspect")
        and _overlaps(x, y)
        and (y[1] - y[0]) > (x[1] - x[0]) for y in extra)]
    hits = [h for h in _value_hits(values, extra) if not _in_question(doc, h[1])]
    terms = sorted(s for s, e, rid in doc._.cues if rid in index.terminators)
    governed = _governed(doc, _negations(doc, index, extra, hits, cue_rules), hits, terms)
    dropped = {j for i in governed for j, h in enumerate(hits)
               if j != i and _overlaps(h, hits[i])}
    out: list[Assertion] = []
    for i, (s, e, r) in enumerate(hits):
        if i in dropped:
            continue
        negated = i in governed
        value = r.get("negated_value") if negated else r.get("value")
        if not value:
            continue
        aspect = r.get("aspect")
        words = (governed[i] + " \u2026 " if negated and governed[i] not in doc[s:e].text else "") + doc[s:e].text
        absolute = bool(r.get("absolute")) and not negated
        kind = index.decl[aspect].get("qualifier")
        if kind == "group":
            suffix = f"_{r.get('qualifier_suffix')}" if r.get("qualifier_suffix") else ""
            values = [f"{value}:{q}{suffix}" for q in _qualifiers(
                aspect, i, hits, extra, bool(index.decl[aspect].get("nearest")))]
        elif kind == "words" and base(value) == "named":
            values = [f"{value}:{slug(doc[s:e].text)}"]
        else:
            values = [value]
        for v in values:
            if not any(a.aspect == aspect and a.value == v for a in out):
                out.append(Assertion(aspect, v, words, absolute))
    return _merge_words(out, index)


def _merge_words(items: list[Assertion], index: AspectIndex) -> list[Assertion]:
    """One assertion per (aspect, base) for 'words' aspects: 'named:redness,swelling'."""
    out: list[Assertion] = []
    for a in items:
        if index.decl[a.aspect].get("qualifier") == "words" and qualifier(a.value):
            prev = next((i for i, o in enumerate(out) if o.aspect == a.aspect
                         and base(o.value) == base(a.value)), None)
            if prev is not None:
                o = out[prev]
                if qualifier(a.value) not in qualifier(o.value).split(","):
                    out[prev] = Assertion(o.aspect, f"{o.value},{qualifier(a.value)}",
                                          f"{o.words}, {a.words}", o.absolute or a.absolute)
                continue
        out.append(a)
    return out


def assert_texts(texts: list[str], nlp, batch_size: int = 256,
                 parsed: list | None = None) -> list[tuple[list[Assertion], tuple[str, ...]]]:
    """For each text: its assertions and the treatments it names (in order of mention).
    ``parsed``: the texts already run through ``nlp`` (e.g. ``extract.parse_claims``)."""
    index = aspect_index()
    extra = aspect_matcher(nlp, index)
    cue_rules = {r.id: r for r in nlp.get_pipe("claim_matcher").cues}
    out = []
    # Typography normalised as for extraction (same length), so "don\u2019t" meets the cue "n't".
    docs = parsed if parsed is not None else nlp.pipe((normalise(t) for t in texts), batch_size=batch_size)
    for doc in docs:
        named = tuple(dict.fromkeys(t for _, _, t in doc._.treatments))
        out.append((find_assertions(doc, index, extra, cue_rules), named))
    return out


def serialise(items: list[Assertion]) -> str:
    """Assertions as the ';'-joined column value."""
    return ";".join(a.serialise() for a in items)


def annotate_claims(claims: pd.DataFrame, nlp, parsed: list | None = None) -> pd.DataFrame:
    """Claims with their ``assertions`` column (re)computed from the claim text by this module.
    ``parsed``: the claims' Docs in row order, when the caller parsed them already."""
    out = claims.copy()
    found = assert_texts(out["text"].astype(str).tolist(), nlp, parsed=parsed) if len(out) else []
    out["assertions"] = [serialise(a) for a, _ in found]
    return out
