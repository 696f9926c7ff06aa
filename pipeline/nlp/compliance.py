"""The ``compliance_findings`` component: the compliance rules that fire on each claim unit.

A rule fires on its wording (phrases, token patterns: the ``rule_matcher`` finds them) or on
an assertion (``when``: {"aspect": "downtime", "values": ["none", "minimal"]}, so "requires no
downtime", "back to work right away" and "little to no recovery time" are one concept). For
each span of ``doc.spans["claims"]`` this component keeps the matches that are claims being
made rather than mentioned (``span._.findings``: [(rule_id, token_start, token_end, detail)],
the longest wording of each rule; detail is the assertion an assertion rule fired on; an
assertion finding yields to a worded finding of its family on the same words).
A match is a mention (unless the rule says ``"unless_negated": false``) when

- it sits inside the scope of a negation cue that is not part of some rule's own wording
  ("Microneedling is not painless"; whereas "no side effects" is the claim and fires);
  assertions carry their own negation ("not painless" asserts no "none" value);
- it is quoted as a word ('the word "painless"', 'claims like "permanent"'): quotation marks
  alone do not make a mention (a "gold standard" in scare quotes, a testimonial in quotes is
  still a claim that needs evidence);
- a denial or report cue governs it ("it is not true that ...", "avoid clinics that promise
  ...", "... is a myth", "manufacturers may not claim"), from ``compliance_context.jsonl``.

What needs the tagged claim (which treatment, certainty and type it has, whether an approval
or a use is authorised, rules that need another family on the same sentence) is decided by the
flag stage.
"""
from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

from .context import DocView, contexts_in, within_sorted
from .ruleset import RuleSet
from .units import Unit, unit_extension

Span.set_extension("findings", getter=unit_extension("findings"), force=True)


_MENTION_CUES = re.compile(
    r"\b(words?|terms?|phrases?|labels?|claims?|called|so-called|like|such as|promises?|"
    r"advertised as|marketed as|described as|slogans?|buzzwords?)\W*$", re.I)


def mentioned_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of quotations that name a wording rather than claim it: a pair of double
    quotes (text normalised to '"') right after "the word", "claims like", "so-called" ...

    >>> mentioned_spans('the word "painless" is banned; it is the "gold standard"')
    [(9, 19)]
    """
    marks = [m.start() for m in re.finditer('"', text)]
    return [(a, b + 1) for a, b in zip(marks[::2], marks[1::2]) if _MENTION_CUES.search(text[max(0, a - 24):a])]


def suppressed_by(doc: Doc, unit: Unit, s: int, e: int, scopes, context_hits, context_rules,
                  quotes) -> str:
    """Why a rule match over tokens [s, e) is a mention rather than a claim ('' if it is a claim)."""
    for cs, ce, scope in scopes:
        outside = ce <= s or cs >= e
        if outside and any(i in scope for i in range(s, e)):
            return "negated"
    a, b = doc[s].idx - unit.start_char, doc[e - 1].idx + len(doc[e - 1].text) - unit.start_char
    if any(qa <= a and b <= qb for qa, qb in quotes):
        return "quoted as a word"
    for xs, xe, xid in context_hits:
        if context_rules[xid].get("direction") == "bidirectional" or xe <= s:
            return context_rules[xid].category
    return ""


def _assertion_hits(unit: Unit, rules: RuleSet) -> list[tuple[int, int, str, str]]:
    """[(start, end, rule_id, detail)] of the assertion rules the unit's assertions meet."""
    out = []
    assertions = unit.assertions or ()
    if not assertions:
        return out
    for r in rules.assertion_rules:
        w = r.when
        for a in assertions:
            if a.aspect == w["aspect"] and a.value in w["values"] and a.start >= 0 and (
                    not w["qualifiers"] or set(a.qualifier.split(",")) & set(w["qualifiers"])):
                out.append((a.start, a.end, r.id, f"{a.aspect}={a.value}" + (f":{a.qualifier}" if a.qualifier else "")))
    return out


def unit_findings(v: DocView, unit: Unit, rules: RuleSet) -> list[tuple[str, int, int, str]]:
    """[(rule_id, start, end, detail)] of the rules the unit claims (see the module docstring)."""
    s, e = unit.start, unit.end
    rule_hits = [(hs, he, rid, "") for hs, he, rid in within_sorted(v.compliance_hits, s, e)]
    rule_hits += _assertion_hits(unit, rules)
    if not rule_hits:
        return []
    context_hits = within_sorted(v.context_hits, s, e)
    # A negation cue that is part of some rule's wording ("no side effects", "pain-free") is
    # that claim's own negation; it does not turn the claim's other risky phrases into denials.
    scopes = [(n.start, n.end, frozenset(i for i in n.scope if s <= i < e))
              for ctx in contexts_in(v.context, s, e) for n in ctx.negations
              if s <= n.start and n.end <= e
              and not any(hs <= n.start and n.end <= he for hs, he, _, d in rule_hits if not d)]
    quotes = mentioned_spans(v.doc[s:e].text)
    fired: dict[str, tuple] = {}
    for hs, he, rid, detail in rule_hits:
        r = rules.compliance_by_id[rid]
        if r.unless_negated and suppressed_by(v.doc, unit, hs, he, [] if detail else scopes, context_hits,
                                              rules.context_by_id, quotes):
            continue
        # each rule shows its own wording before an assertion, and its longest wording
        if rid not in fired or (not detail, he - hs) > (not fired[rid][3], fired[rid][2] - fired[rid][1]):
            fired[rid] = (rid, hs, he, detail)
    family = {rid: rules.compliance_by_id[rid].family for rid in fired}
    # one finding per family and wording: a rule fired by an assertion ("no need to worry" read as
    # side_effects=none) yields to a rule of its family whose own wording matched the same words
    worded = [(f[1], f[2], family[f[0]]) for f in fired.values() if not f[3]]
    kept = [f for f in fired.values() if not f[3] or not any(
        fam == family[f[0]] and ws < f[2] and f[1] < we for ws, we, fam in worded)]
    return sorted(kept, key=lambda h: (h[1], h[0]))


class ComplianceFindings:
    """Sets the findings of every unit (``doc._.units``; ``span._.findings`` on the spans of
    ``doc.spans["claims"]``)."""

    def __init__(self, rules: RuleSet):
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        view = DocView.of(doc)
        for unit in doc._.units or ():
            unit.findings = unit_findings(view, unit, self.rules)
        return doc


@Language.factory("compliance_findings", default_config={"rules": ""})
def make_compliance_findings(nlp: Language, name: str, rules: str) -> ComplianceFindings:
    """spaCy factory: config ``rules`` is the rules folder (empty: the default folder)."""
    return ComplianceFindings(RuleSet.load(rules) if rules else RuleSet.load())
