"""The spaCy pipeline: ``spacy.blank("en")`` and rule components built from one RuleSet.

No statistical model is loaded (none can be downloaded here). An article is parsed once, as
one Doc of its blocks (paragraphs, headings, list items; ``nlp.blocks.make_article``), by these
components in order:

1. ``sentencizer``: sentence boundaries, and ``block_bounds``: a sentence starts at every block
   (``nlp.blocks``), so nothing below crosses two blocks;
2. ``rule_matcher``: every treatment name, cue, aspect phrase, compliance wording and context
   cue of the rule set (``doc._.treatments``, ``doc._.cues``, ...; ``nlp.matcher``);
3. ``context``: ConText scopes of negations, hedges, conditions and mitigations per sentence
   (``doc._.context``, ``Token._.negated``, ...; ``nlp.context``);
4. ``claim_units``: the units a claim can be, with their cue features (``doc.spans["claims"]``,
   ``span._.features``; ``nlp.units``);
5. ``aspect_assertions``: what each unit asserts (``span._.assertions``; ``nlp.aspects``);
6. ``compliance_findings``: the compliance rules each unit claims (``span._.findings``;
   ``nlp.compliance``).
"""
from __future__ import annotations

import functools
from pathlib import Path

import spacy
from spacy.language import Language

from . import aspects, blocks, compliance, context, matcher, units  # noqa: F401  (register factories)
from .blocks import make_article, make_block
from .ruleset import RuleError, RuleSet

COMPONENTS = ("rule_matcher", "context", "claim_units", "aspect_assertions", "compliance_findings")


def build_nlp(rules: RuleSet | None = None) -> Language:
    """spacy.blank("en") + sentencizer + the rule components, built once per rules folder."""
    rules = rules or RuleSet.load()
    return _build(str(rules.folder), id(rules))


@functools.lru_cache(maxsize=4)
def _build(folder: str, _rules_id: int) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("block_bounds")
    for name in COMPONENTS:
        nlp.add_pipe(name, config={"rules": folder})
    return nlp


def read_statements(nlp: Language, texts: list[str], batch_size: int = 256) -> list[tuple[list, tuple]]:
    """For each short text (an evidence statement, a rule example): its assertions as one unit
    and the treatments it names, in order of mention. Typography is normalised first, as for
    articles, so "don\u2019t" meets the cue "n't"."""
    from ..text import normalise

    docs = (make_block(nlp, normalise(t), "list_item") for t in texts)
    out = []
    for doc in nlp.pipe(docs, batch_size=batch_size):
        found = [a for unit in doc._.units for a in unit.assertions]
        out.append((found, tuple(dict.fromkeys(t for _, _, t in doc._.treatments))))
    return out


__all__ = ["COMPONENTS", "RuleError", "RuleSet", "build_nlp", "make_article", "make_block", "read_statements"]
