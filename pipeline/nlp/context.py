"""The ``context`` component: ConText scopes (as in medspaCy), computed once per sentence.

A cue of category negation, hedge, conditional or mitigation reaches at most NEGATION_WINDOW
tokens in its direction (forward, backward or both) and stops at a terminator ("but", ",",
"which") and at the sentence's edges. Before scopes are drawn, the sentence's cues are cleaned
once, for every later consumer:

- a cue inside a treatment name is part of the name ("peel" in "chemical peel");
- a cue marked ``position: start`` counts only where its sentence or clause starts;
- a cue inside a pseudo-trigger ("not only", "no doubt", "should not", "the best results") is
  no cue (of the categories the pseudo-trigger ``blocks``; all when it names none).

Results, per sentence, on ``doc._.context`` (a list of ``SentenceContext``): the cleaned cues,
the terminators, the negations with their scopes, and the token sets under a condition, a
mitigation ("prevent", "to minimize") and a hedge. Readers: ``Token._.negated``,
``Token._.conditional``, ``Token._.hedged``, ``Token._.mitigated`` and the same on ``Span``.
The claim-unit, aspect and compliance components all read these scopes; none draws its own.
"""
from __future__ import annotations

import bisect
from typing import NamedTuple

from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from .. import config
from .ruleset import Rule, RuleSet

SCOPED = ("negation", "hedge", "conditional", "mitigation")
# after a comma, these open a new clause rather than continue a list
CLAUSE_OPENERS = frozenset({"it", "they", "this", "these", "that", "which", "who", "you", "we", "she",
                            "he", "there", "but", "so", "while", "although", "though", "because",
                            "since", "as", "if", "when", "unless", "however"})


def context_scope(cs: int, ce: int, direction: str, s: int, e: int, terms: list[int],
                  window: int = config.NEGATION_WINDOW) -> list[int]:
    """Tokens a cue at [cs, ce) reaches: at most ``window`` tokens (NEGATION_WINDOW unless the
    rule says) in its direction, stopping at a terminator and at the edges [s, e). The one
    scope rule of the project."""
    out: list[int] = []
    if direction in ("forward", "bidirectional"):
        stop = min([t for t in terms if t >= ce] + [e, ce + window])
        out.extend(range(ce, stop))
    if direction in ("backward", "bidirectional"):
        stop = max([t + 1 for t in terms if t < cs] + [s, cs - window])
        out.extend(range(stop, cs))
    return out


def inside(spans, cs: int, ce: int) -> bool:
    """Whether [cs, ce) lies within one of the spans [(start, end), ...]."""
    return any(ps <= cs and ce <= pe for ps, pe in spans)


@dataclass(frozen=True, slots=True)
class Negation:
    """A negation cue that counts, with the tokens it reaches forward and backward."""

    start: int
    end: int
    rule: Rule
    forward: tuple[int, ...]
    backward: tuple[int, ...]

    @property
    def scope(self) -> tuple[int, ...]:
        return self.forward + self.backward


@dataclass(slots=True)
class SentenceContext:
    """The cleaned cues and ConText scopes of one sentence [start, end)."""

    start: int
    end: int
    cues: list = field(default_factory=list)        # [(start, end, Rule)], cleaned
    pseudo: list = field(default_factory=list)      # [(start, end)] of pseudo-triggers
    terms: list = field(default_factory=list)       # token starts of terminators and clause breaks
    negations: list = field(default_factory=list)   # [Negation]
    conditional: set = field(default_factory=set)   # tokens under a condition (cue included)
    mitigated: set = field(default_factory=set)     # tokens a mitigation verb governs
    hedged: set = field(default_factory=set)        # tokens a hedge reaches


def _clause_starts(cues, start: int) -> set[int]:
    """Where the sentence's clauses start: the sentence start and right after a clause break."""
    return {start} | {ce for cs, ce, r in cues if r.category == "clause_break"}


def within_sorted(items: list, start: int, end: int) -> list:
    """The (s, e, x) items sorted by s that lie within [start, end) (a binary search, so a
    sentence's lookup does not grow with the article)."""
    i = bisect.bisect_left(items, (start,))
    out = []
    while i < len(items) and items[i][0] < end:
        if items[i][1] <= end:
            out.append(items[i])
        i += 1
    return out


def sentence_context(start: int, end: int, rules: RuleSet, doc_cues: list, doc_treatments: list,
                     tok) -> SentenceContext:
    """The SentenceContext of tokens [start, end) of a Doc that ran through ``rule_matcher``:
    ``doc_cues`` and ``doc_treatments`` are its sorted matches, ``tok`` its token columns
    (read once per Doc by the caller: each ``doc._`` access builds an accessor object)."""
    by_id = rules.cue_by_id
    treat_tokens = {i for ts, te, _ in within_sorted(doc_treatments, start, end) for i in range(ts, te)}
    cues = [(cs, ce, by_id[rid]) for cs, ce, rid in within_sorted(doc_cues, start, end)
            if not (treat_tokens and treat_tokens.issuperset(range(cs, ce)))]
    starts = _clause_starts(cues, start)
    cues = [c for c in cues if c[0] in starts or c[2].get("position") != "start"]
    pseudo = [(cs, ce, frozenset(r.get("blocks") or ())) for cs, ce, r in cues if r.category == "pseudo_negation"]
    if pseudo:
        cues = [(cs, ce, r) for cs, ce, r in cues if r.category == "pseudo_negation"
                or not any(ps <= cs and ce <= pe and (not b or r.category in b) for ps, pe, b in pseudo)]
    ctx = SentenceContext(start, end, cues, [(ps, pe) for ps, pe, _ in pseudo])
    ctx.terms = sorted(cs for cs, ce, r in cues if r.category in ("terminator", "clause_break"))
    # a cue marked "list" reaches through the commas of a list ("improve pores, scars and lines"),
    # not through a comma that opens a new clause (", it may cause redness")
    text, low = tok.text, tok.lower
    list_terms = [t for t in ctx.terms if text[t] != "," or (t + 1 < end and low[t + 1] in CLAUSE_OPENERS)]
    for cs, ce, r in cues:
        cat = r.category
        if cat not in SCOPED:
            continue
        direction = r.get("direction")
        terms = list_terms if r.get("list") else ctx.terms
        if r.get("stops_at"):   # words that end this cue's scope ("people with dark skin | can heal ...")
            stops = set(r.get("stops_at"))
            terms = sorted(terms + [i for i in range(start, end) if low[i] in stops])
        window = r.get("window") or config.NEGATION_WINDOW
        if cat == "negation":
            fwd = (context_scope(cs, ce, "forward", start, end, terms, window)
                   if direction in ("forward", "bidirectional") else [])
            bwd = (context_scope(cs, ce, "backward", start, end, terms, window)
                   if direction in ("backward", "bidirectional") else [])
            ctx.negations.append(Negation(cs, ce, r, tuple(fwd), tuple(bwd)))
        elif cat == "conditional":
            ctx.conditional.update(range(cs, ce), context_scope(cs, ce, direction, start, end, terms, window))
        elif cat == "mitigation":
            ctx.mitigated.update(context_scope(cs, ce, direction, start, end, terms, window))
        else:
            ctx.hedged.update(range(cs, ce), context_scope(cs, ce, direction, start, end, terms, window))
    return ctx


class SentenceContexts(list):
    """The sentence contexts of a Doc in order, with their start tokens for binary search."""

    def __init__(self, items=()):
        super().__init__(items)
        self.starts = [c.start for c in self]


class ContextScopes:
    """Computes ``doc._.context`` (one SentenceContext per sentence)."""

    def __init__(self, rules: RuleSet):
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        x = doc._
        cues, treatments, tok = x.cues, x.treatments, x.tok
        x.context = SentenceContexts(sentence_context(s, e, self.rules, cues, treatments, tok)
                                     for s, e in tok.sentences)
        return doc


class DocView(NamedTuple):
    """What the rule components read of a Doc, read once per component call: each ``doc._.x``
    builds an accessor object, and a unit's features, assertions and findings asked for
    several per unit."""

    doc: Doc
    tok: object             # doc._.tok: token columns (``matcher.Tokens``)
    treatments: list        # doc._.treatments: (start, end, treatment id), sorted
    cues: list              # doc._.cues: (start, end, rule id), sorted
    aspect_hits: list       # doc._.aspect_hits: (start, end, Rule), sorted
    compliance_hits: list   # doc._.compliance_hits: (start, end, rule id), sorted
    context_hits: list      # doc._.context_hits: (start, end, rule id), sorted
    context: object         # doc._.context: the sentence contexts (None before ``context``)

    @classmethod
    def of(cls, doc: Doc) -> "DocView":
        x = doc._
        return cls(doc, x.tok, x.treatments or [], x.cues or [], x.aspect_hits or [],
                   x.compliance_hits or [], x.context_hits or [], x.context)


def contexts_in(ctx: SentenceContexts, start: int, end: int) -> list[SentenceContext]:
    """The sentence contexts (a Doc's ``doc._.context``) overlapping tokens [start, end) (a
    binary search: the contexts are in document order, so a unit's lookup does not grow with
    the article)."""
    starts = ctx.starts
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    out = []
    while i < len(ctx) and ctx[i].start < end:
        if start < ctx[i].end:
            out.append(ctx[i])
        i += 1
    return out


def _token_in(attr: str):
    def getter(token: Token) -> bool:
        for c in token.doc._.context or ():
            if c.start <= token.i < c.end:
                if attr == "negated":
                    return any(token.i in n.scope for n in c.negations if n.start not in c.conditional)
                return token.i in getattr(c, attr)
        return False
    return getter


def _span_any(attr: str):
    get = _token_in(attr)
    return lambda span: any(get(t) for t in span)


Doc.set_extension("context", default=None, force=True)
for _attr in ("negated", "conditional", "hedged", "mitigated"):
    Token.set_extension(_attr, getter=_token_in(_attr), force=True)
    Span.set_extension(_attr, getter=_span_any(_attr), force=True)


@Language.factory("context", default_config={"rules": ""})
def make_context(nlp: Language, name: str, rules: str) -> ContextScopes:
    """spaCy factory: config ``rules`` is the rules folder (empty: the default folder)."""
    return ContextScopes(RuleSet.load(rules) if rules else RuleSet.load())
