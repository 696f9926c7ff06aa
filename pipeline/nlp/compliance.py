"""The ``compliance_findings`` component: the compliance rules that fire on each claim unit.

The ``rule_matcher`` finds every rule's wording; this component keeps, for each span of
``doc.spans["claims"]``, the matches that are claims being made rather than mentioned
(``span._.findings``: [(rule_id, token_start, token_end)], the longest wording of each rule).
A match is a mention (unless the rule says ``"unless_negated": false``) when

- it sits inside the scope of a negation cue that is not part of some rule's own wording
  ("Microneedling is not painless"; whereas "no side effects" is the claim and fires);
- it sits inside quotation marks ('the word "painless"');
- a denial or report cue governs it ("it is not true that ...", "avoid clinics that promise
  ...", "... is a myth"), from ``compliance_context.jsonl``.

Which rules apply to which treatment, and rules that need another family on the same sentence
(``requires_family``), are decided by the flag stage, which knows the claim's treatment.
"""
from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

from .context import contexts_in
from .ruleset import RuleSet

Span.set_extension("findings", default=None, force=True)


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Character spans between pairs of double quotes (text already normalised to '"').

    >>> quoted_spans('the word "painless" is banned')
    [(9, 19)]
    """
    marks = [m.start() for m in re.finditer('"', text)]
    return [(a, b + 1) for a, b in zip(marks[::2], marks[1::2])]


def suppressed_by(doc: Doc, span: Span, s: int, e: int, scopes, context_hits, context_rules,
                  quotes) -> str:
    """Why a rule match over tokens [s, e) is a mention rather than a claim ('' if it is a claim)."""
    for cs, ce, scope in scopes:
        outside = ce <= s or cs >= e
        if outside and any(i in scope for i in range(s, e)):
            return "negated"
    a, b = doc[s].idx - span.start_char, doc[e - 1].idx + len(doc[e - 1].text) - span.start_char
    if any(qa <= a and b <= qb for qa, qb in quotes):
        return "quoted"
    for xs, xe, xid in context_hits:
        if context_rules[xid].get("direction") == "bidirectional" or xe <= s:
            return context_rules[xid].category
    return ""


def unit_findings(doc: Doc, span: Span, rules: RuleSet) -> list[tuple[str, int, int]]:
    """[(rule_id, start, end)] of the rules whose wording is claimed in one unit."""
    s, e = span.start, span.end
    rule_hits = [h for h in doc._.compliance_hits if s <= h[0] and h[1] <= e]
    if not rule_hits:
        return []
    context_hits = [h for h in doc._.context_hits if s <= h[0] and h[1] <= e]
    # A negation cue that is part of some rule's wording ("no side effects", "pain-free") is
    # that claim's own negation; it does not turn the claim's other risky phrases into denials.
    scopes = [(n.start, n.end, frozenset(i for i in n.scope if s <= i < e))
              for ctx in contexts_in(doc, s, e) for n in ctx.negations
              if s <= n.start and n.end <= e
              and not any(hs <= n.start and n.end <= he for hs, he, _ in rule_hits)]
    quotes = quoted_spans(span.text)
    fired: dict[str, tuple] = {}
    for hs, he, rid in rule_hits:
        r = rules.compliance_by_id[rid]
        if r.unless_negated and suppressed_by(doc, span, hs, he, scopes, context_hits,
                                              rules.context_by_id, quotes):
            continue
        if rid not in fired or he - hs > fired[rid][2] - fired[rid][1]:
            fired[rid] = (rid, hs, he)      # the longest wording of each rule is the one shown
    return sorted(fired.values(), key=lambda h: (h[1], h[0]))


class ComplianceFindings:
    """Sets ``span._.findings`` on every span of ``doc.spans["claims"]``."""

    def __init__(self, rules: RuleSet):
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        for span in doc.spans.get("claims", ()):
            span._.findings = unit_findings(doc, span, self.rules)
        return doc


@Language.factory("compliance_findings", default_config={"rules": ""})
def make_compliance_findings(nlp: Language, name: str, rules: str) -> ComplianceFindings:
    """spaCy factory: config ``rules`` is the rules folder (empty: the default folder)."""
    return ComplianceFindings(RuleSet.load(rules) if rules else RuleSet.load())
