"""The ``aspect_assertions`` component: what each claim unit asserts, as (aspect, value) pairs.

The vocabulary is data (``aspects.jsonl``, loaded into the RuleSet); the ``rule_matcher`` finds
its value, qualifier, cancel and pseudo-negation phrases, the ``context`` component draws the
negation scopes. For each span of ``doc.spans["claims"]`` this component decides
(``span._.assertions``, a list of ``Assertion``):

- overlapping value cues of one aspect: the longest wins ("non-invasive" beats "invasive",
  "virtually no side effects" beats "no side effects");
- a cancel phrase removes the value cues it holds ("one of the best" is no ranking);
- a negation governs the *nearest* value cue in its scope only: "cannot be permanently
  minimized" negates permanence, not the reduction; a governed cue asserts its negated_value or
  nothing ("does not cause irritation" says nothing about side effects in general); value cues
  that overlap the governed one are dropped ("nothing can permanently shrink pores");
- a value word inside a treatment's name asserts nothing ("laser hair removal is painful");
- a negation word inside a value phrase is part of the phrase ("no side effects", "pain-free"),
  except for rules marked negation_inside (long patterns such as "palms ... don't have pores");
- pseudo-negations of the aspect vocabulary ("not without", "without the worry of") negate
  nothing; a value cue inside a question asserts nothing, nor does a denying value inside the
  antecedent of a condition ("if it is done without aftercare");
- hedges do not remove assertions: "may cause hyperpigmentation" still names a side effect;
  certainty stays a separate column of the claim;
- aspects with qualifier "group" (candidacy, ranking) assert one value per group or outcome
  named within QUALIFIER_WINDOW tokens; with no group named they assert nothing; aspects with
  qualifier "words" carry the named words ("named" side effects: redness, swelling).
"""
from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import config
from ..text import slug
from .context import DocView, contexts_in, inside, within_sorted
from .ruleset import AspectIndex, RuleSet, rule_aspects
from .units import unit_extension

QUALIFIER_WINDOW = 12   # tokens between a candidacy/ranking cue and the group or outcome it names
QUALIFIER_BEFORE = 6    # extra distance for a group/outcome named before its cue
QUANTITY_BEFORE, QUANTITY_AFTER = 6, 12   # tokens around a value phrase searched for its quantity
_COORDINATION = {",", "or", "and", "nor", "/", "any", "&"}
_CONJUNCTIONS = {"or", "and", "nor", "/", "&"}
_TOTALITY = {"completely", "fully", "entirely", "totally", "all", "always", "100", "100%"}
_UNIT_DAYS = {"minute": 1 / 1440, "minutes": 1 / 1440, "hour": 1 / 24, "hours": 1 / 24, "day": 1,
              "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "month": 30, "months": 30,
              "year": 365, "years": 365}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "fifteen": 15, "twenty": 20, "thirty": 30, "couple": 2}
_VAGUE = {"few": (2, 4), "several": (3, 7), "some": (2, 7), "many": (3, 12)}

Span.set_extension("assertions", getter=unit_extension("assertions"), force=True)


@dataclass(frozen=True)
class Assertion:
    """One normalised assertion: aspect, base value, qualifier (group, outcome or the named
    words, ',' joined), the clashing words a reviewer reads, and whether it is absolute."""

    aspect: str
    value: str
    qualifier: str = ""
    words: str = ""
    absolute: bool = False
    start: int = -1       # token span of the words in the Doc (for findings' offsets)
    end: int = -1


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _number(word: str) -> float | None:
    """A count written in digits or words ("3", "2.5", "three"), else None."""
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[word])
    try:
        return float(word.replace(",", ""))
    except ValueError:
        return None


def duration_days(words: list[str], start: int, end: int) -> tuple[float, float, str] | None:
    """The first duration written in words[start:end] as (min days, max days, its words):
    "3-4 months" (90, 120), "a few days" (2, 4), "within a week" (7, 7), "24 hours" (1, 1),
    "for months" (60, 360). None when there is none.

    >>> duration_days("full recovery may take 3 - 4 months".split(), 0, 8)
    (90.0, 120.0, '3 - 4 months')
    """
    for i in range(max(start, 0), min(end, len(words))):
        unit = _UNIT_DAYS.get(words[i])
        if unit is None:
            continue
        numbers, vague, first = [], None, i
        for k in range(i - 1, max(start, i - 5) - 1, -1):
            w = words[k]
            if w in ("-", "to", "or", "of", "and", "up"):
                continue
            n = _number(w)
            if n is not None:
                numbers.append(n)
                first = k
            elif w in _VAGUE:
                vague, first = _VAGUE[w], k
                break
            else:
                break
        if numbers:
            lo, hi = min(numbers), max(numbers)
        elif vague:
            lo, hi = vague
        elif words[i].endswith("s"):
            lo, hi = 2, 12          # "for months", "takes weeks"
        else:
            lo = hi = 1             # "a day", "per week"
        return lo * unit, hi * unit, " ".join(words[first:i + 1])
    return None


def _quantity_value(v: DocView, s: int, e: int, hs: int, he: int, r) -> tuple[str | None, str]:
    """The value a quantity rule asserts, from the duration next to its phrase, and the
    duration as words ("3-4 months"); (None, "") when the rule requires a quantity and none is
    written."""
    words = v.tok.lower
    lo_hi = (duration_days(words, hs, min(e, he + QUANTITY_AFTER))
             or duration_days(words, max(s, hs - QUANTITY_BEFORE), hs))
    if lo_hi is None:
        return (None, "") if r.get("requires_quantity") else (r.get("value"), "")
    lo, hi, shown = lo_hi
    if hi >= config.LONG_DURATION_DAYS and r.get("long_value"):
        value = r.get("long_value")
    elif hi < 1 and r.get("short_value"):
        value = r.get("short_value")
    else:
        value = r.get("value")
    return value, shown


def _in_question(v: DocView, end: int, stop: int) -> bool:
    """A cue inside a question ("Does Microderm reduce pores?") asserts nothing: the next
    sentence-ending mark after it, before the unit ends, is a question mark."""
    for text in v.tok.text[end:stop]:
        if text in (".", "!"):
            return False
        if "?" in text:
            return True
    return False


def _value_hits(hits: list, extra: list) -> list[tuple[int, int, object]]:
    """Value cues after cancels and the longest-wins rule within each aspect."""
    cancels = [(s, e + int(r.get("window") or 0), r.get("aspect"), r.get("values")) for s, e, r in extra
               if r.category == "cancel"]
    # a cancel removes the value cues it holds ("one of the best"), not a longer value phrase
    # that holds it ("the risks ... are no longer an issue"); "values" limits it to some values
    hits = [h for h in hits if not any(a == h[2].get("aspect") and s <= h[0] and h[1] <= e
                                       and (not vals or h[2].get("value") in vals)
                                       for s, e, a, vals in cancels)]
    kept: list = []
    for h in sorted(hits, key=lambda h: (-(h[1] - h[0]), h[0], h[2].id)):
        if not any(k[2].get("aspect") == h[2].get("aspect") and _overlaps(h, k) for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: (h[0], h[1], h[2].id))


def _coordinated(v: DocView, hits: list, i: int) -> list[int]:
    """The hits after hit i joined to it by coordination only ("no downtime or post-treatment
    care"): a negation of the first reaches them too."""
    text, out, last = v.tok.lower, [], hits[i][1]
    for j in range(i + 1, len(hits)):
        if hits[j][0] < last:
            continue   # a cue of another aspect on the same words ("burn": a harm, a risk)
        between = text[last:hits[j][0]]
        if not between or not all(w in _COORDINATION for w in between) or not _CONJUNCTIONS & set(between):
            break
        out.append(j)
        last = hits[j][1]
    return out


def _governed(v: DocView, s: int, e: int, hits: list, extra: list, contexts: list) -> dict[int, str]:
    """Index of each value hit a negation governs -> the negation words (``contexts``: the
    sentence contexts of [s, e), as ``contexts_in`` gives them)."""
    pseudo = [(ps, pe) for ps, pe, r in extra if r.category == "pseudo_negation"]
    governed: dict[int, str] = {}
    for ctx in contexts:
        for n in ctx.negations:
            cs, ce = n.start, n.end
            if not (s <= cs and ce <= e) or inside(pseudo, cs, ce) or cs in ctx.conditional:
                continue  # "if done without aftercare": a condition, not a denial
            own = [i for i, h in enumerate(hits) if _overlaps((cs, ce), h) and not h[2].get("negation_inside")]
            if own:
                # the negation word is part of a value phrase ("no downtime"); a word before the
                # phrase's head still denies what is coordinated with it ("no downtime or
                # post-treatment care"); a suffix does not ("painless and permanent")
                if ce < hits[own[0]][1]:
                    for k in _coordinated(v, hits, own[0]):
                        governed.setdefault(k, v.doc[cs:ce].text)
                continue
            inside_hits = [i for i, h in enumerate(hits) if h[2].get("negation_inside") and h[0] <= cs and ce <= h[1]]
            if inside_hits:
                governed.setdefault(inside_hits[0], v.doc[cs:ce].text)
                continue
            reach = {i for i in n.forward if s <= i < e}
            ahead = [i for i, h in enumerate(hits) if h[0] in reach]
            if ahead and _TOTALITY & set(v.tok.lower[ce:hits[ahead[0]][0]]):
                continue  # "may not completely eliminate": partial, not no effect
            if ahead:
                first = [k for k in ahead if hits[k][0] == hits[ahead[0]][0]]   # every aspect's cue there
                for k in [*first, *_coordinated(v, hits, first[-1])]:
                    governed.setdefault(k, v.doc[cs:ce].text)
                continue
            reach = {i for i in n.backward if s <= i < e}
            behind = [i for i, h in enumerate(hits) if h[1] <= cs and h[0] in reach]
            if behind:
                governed.setdefault(behind[-1], v.doc[cs:ce].text)
    return governed


def _qualifiers(aspect: str, i: int, hits: list, extra: list, nearest: bool = False) -> list[str]:
    """Groups/outcomes of an aspect named within QUALIFIER_WINDOW tokens of cue i and nearer to
    it than to any other cue of the aspect ("best for clogged pores ... safest for enlarged pores")."""
    def dist(s: int, e: int, h: tuple, before: int = 0) -> int:
        return 0 if _overlaps((s, e), h) else (s - h[1] if s >= h[1] else h[0] - e + before)

    same = [j for j, h in enumerate(hits) if h[2].get("aspect") == aspect
            and (h[2].get("value") or h[2].get("negated_value"))]
    out = []
    for s, e, r in extra:
        if r.category != "qualifier" or aspect not in rule_aspects(r):
            continue
        d = dist(s, e, hits[i])
        # a group or outcome usually follows its cue ("best for X"): one before a cue counts as
        # QUALIFIER_BEFORE tokens further away when choosing between two cues; an adjective
        # value ("smoother") reaches only as far as its rule's window
        if d <= (hits[i][2].get("window") or QUALIFIER_WINDOW) and min(same, key=lambda j: (dist(s, e, hits[j], QUALIFIER_BEFORE), j)) == i:
            out.append((dist(s, e, hits[i], QUALIFIER_BEFORE), r.get("qualifier")))
    if out and nearest:
        return [min(out)[1]]
    return [q for _, q in out]


def find_assertions(v: DocView, s: int, e: int, index: AspectIndex) -> list[Assertion]:
    """The assertions of tokens [s, e) of a Doc (see the module docstring for the rules)."""
    found = within_sorted(v.aspect_hits, s, e)
    if not found:
        return []
    # a treatment's name asserts nothing: "laser hair removal is painful" says nothing of removal
    names = [(ts, te) for ts, te, _ in within_sorted(v.treatments, s, e)]
    values = [x for x in found if x[2].category == "value"
              and not any(ns <= x[0] and x[1] <= ne for ns, ne in names)]
    extra = [x for x in found if x[2].category != "value"]
    extra = [x for x in extra if not any(
        x[2].category == y[2].category == "qualifier" and set(rule_aspects(x[2])) & set(rule_aspects(y[2]))
        and _overlaps(x, y) and (y[1] - y[0]) > (x[1] - x[0]) for y in extra)]
    # a value word that a mitigation governs is a target ("improves acne scarring"), not a claim
    contexts = contexts_in(v.context, s, e)
    mitigated = set().union(*(c.mitigated for c in contexts))
    values = [h for h in values if not (h[0] in mitigated and (
        index.mitigable(h[2].get("aspect")) or h[2].get("mitigable")))]
    # a value whose own words deny ("without aftercare", "no downtime") inside the antecedent of
    # a condition is supposed, not claimed ("risks, particularly if it is done without aftercare")
    supposed = set().union(*(c.conditional for c in contexts))
    denials = [(n.start, n.end) for c in contexts for n in c.negations]
    values = [h for h in values if not (h[0] in supposed and any(h[0] <= a and b <= h[1] for a, b in denials))]
    hits = [h for h in _value_hits(values, extra) if not _in_question(v, h[1], e)]
    governed = _governed(v, s, e, hits, extra, contexts)
    dropped = {j for i in governed for j, h in enumerate(hits) if j != i and _overlaps(h, hits[i])}
    out: list[Assertion] = []
    for i, (hs, he, r) in enumerate(hits):
        if i in dropped:
            continue
        negated = i in governed
        value, amount = r.get("value"), ""
        if r.get("quantity") and not negated:
            value, amount = _quantity_value(v, s, e, hs, he, r)
        value = r.get("negated_value") if negated else value
        if not value:
            continue
        aspect = r.get("aspect")
        text = v.doc[hs:he].text
        words = (governed[i] + " \u2026 " if negated and governed[i] not in text else "") + text
        absolute = bool(r.get("absolute")) and not negated
        kind = index.qualifier_kind(aspect)
        if kind == "group":
            suffix = f"_{r.get('qualifier_suffix')}" if r.get("qualifier_suffix") else ""
            quals = [f"{q}{suffix}" for q in _qualifiers(aspect, i, hits, extra,
                                                          bool(index.decl[aspect].get("nearest")))]
        elif kind == "words" and value in index.words_values(aspect):
            quals = [slug(text)]
        else:
            quals = [amount]
        for q in quals:
            if not any(a.aspect == aspect and a.value == value and a.qualifier == q for a in out):
                out.append(Assertion(aspect, value, q, words, absolute, hs, he))
    return _merge_words(out, index)


def _merge_words(items: list[Assertion], index: AspectIndex) -> list[Assertion]:
    """One assertion per (aspect, value) for aspects without groups: named effects
    'redness,swelling', durations '7 days,90-120 days'."""
    out: list[Assertion] = []
    for a in items:
        if index.qualifier_kind(a.aspect) != "group":
            prev = next((i for i, o in enumerate(out) if o.aspect == a.aspect and o.value == a.value), None)
            if prev is not None:
                o = out[prev]
                if a.qualifier not in o.qualifier.split(","):
                    out[prev] = Assertion(o.aspect, o.value, ",".join(filter(None, (o.qualifier, a.qualifier))),
                                          f"{o.words}, {a.words}", o.absolute or a.absolute, o.start, o.end)
                continue
        out.append(a)
    return out


class AspectAssertions:
    """Sets the assertions of every unit (``doc._.units``; ``span._.assertions`` on the spans of
    ``doc.spans["claims"]``)."""

    def __init__(self, rules: RuleSet):
        self.index = rules.aspects

    def __call__(self, doc: Doc) -> Doc:
        view = DocView.of(doc)
        for unit in doc._.units or ():
            unit.assertions = find_assertions(view, unit.start, unit.end, self.index)
        return doc


@Language.factory("aspect_assertions", default_config={"rules": ""})
def make_aspect_assertions(nlp: Language, name: str, rules: str) -> AspectAssertions:
    """spaCy factory: config ``rules`` is the rules folder (empty: the default folder)."""
    return AspectAssertions(RuleSet.load(rules) if rules else RuleSet.load())
