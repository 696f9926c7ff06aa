"""The spaCy pipeline: spacy.blank("en") + sentencizer + one rule-matching component.

No statistical model is loaded (none can be downloaded here). The component ``claim_matcher``
runs a phrase matcher and token-pattern matchers built from the rule files and stores plain
tuples on the Doc:

- ``doc._.treatments``: [(start_token, end_token, treatment_id)], longest match wins;
- ``doc._.cues``: [(start_token, end_token, rule_id)].

Rules with ``"match": "lemma"`` match every inflection: at build time each phrase is expanded
into the forms of its words' lemma families (spacy-lookups-data, ``rules.phrase_forms``), so
one case-insensitive phrase matcher finds them all and nothing is computed per token.
"""
from __future__ import annotations

import functools
from pathlib import Path

import spacy
from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from . import config, rules

Doc.set_extension("treatments", default=None, force=True)
Doc.set_extension("cues", default=None, force=True)


def _required_words(vocab, pattern) -> list[frozenset[int]]:
    """For each token of a pattern that must occur (no optional or negated OP) and is given by
    its lower-case form(s): the LOWER hashes it accepts. A doc lacking any of them cannot match."""
    out = []
    for token in pattern:
        lower = token.get("LOWER")
        if token.get("OP") not in (None, "1", "+") or lower is None:
            continue
        if isinstance(lower, str):
            words = [lower]
        elif isinstance(lower, dict) and set(lower) == {"IN"}:
            words = list(lower["IN"])
        else:
            continue
        out.append(frozenset(vocab.strings.add(w.lower()) for w in words))
    return out


class GatedMatcher:
    """spaCy token patterns, one Matcher each, run only on docs that hold every word a pattern
    requires. Same matches as one Matcher with all patterns, at a fraction of the cost: the
    Matcher tests every pattern's predicates at every token, most docs can match few patterns.
    Each pattern is indexed under the words of its first required token, so a doc looks up
    only the patterns its own words can start."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.entries: list[tuple[list[frozenset[int]], Matcher]] = []
        self.always: list[int] = []              # patterns that require no particular word
        self.by_word: dict[int, list[int]] = {}  # word hash -> patterns requiring it first

    def add(self, key: str, patterns: list) -> None:
        for pattern in patterns:
            matcher = Matcher(self.vocab, validate=True)
            matcher.add(key, [list(pattern)])
            required = _required_words(self.vocab, pattern)
            n = len(self.entries)
            self.entries.append((required, matcher))
            if required:
                for word in required[0]:
                    self.by_word.setdefault(word, []).append(n)
            else:
                self.always.append(n)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        lowers = set(doc.to_array(LOWER).tolist()) if len(doc) else set()
        candidates = set(self.always)
        for word in lowers & self.by_word.keys():
            candidates.update(self.by_word[word])
        found = []
        for n in sorted(candidates):
            required, matcher = self.entries[n]
            if all(not words.isdisjoint(lowers) for words in required[1:]):
                found.extend(matcher(doc))
        return found


class ClaimMatcher:
    """Finds treatment names and cue phrases; results are token spans on the Doc."""

    def __init__(self, nlp: Language, treatments_path: str, cues_path: str):
        self.treatments = rules.load_treatments(Path(treatments_path))
        self.cues = rules.load_cues(Path(cues_path))
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.patterns = GatedMatcher(nlp.vocab)   # token-pattern rules
        self.treatment_keys: dict[int, str] = {}
        self.cue_keys: dict[int, str] = {}
        for t in self.treatments:
            key = nlp.vocab.strings.add("T:" + t.id)
            self.treatment_keys[key] = t.id
            self.lower.add("T:" + t.id, [nlp.make_doc(n) for n in t.names])
        for r in self.cues:
            key = nlp.vocab.strings.add("C:" + r.id)
            self.cue_keys[key] = r.id
            if r.pattern:
                self.patterns.add("C:" + r.id, [r.pattern])
            else:
                self.lower.add("C:" + r.id, rules.phrase_patterns(nlp, r.phrases, r.match))

    def __call__(self, doc: Doc) -> Doc:
        tkeys, ckeys = self.treatment_keys, self.cue_keys
        found_t, found_c = [], []
        for key, start, end in [*self.lower(doc), *self.patterns(doc)]:
            if key in tkeys:
                found_t.append((start, end, tkeys[key]))
            else:
                found_c.append((start, end, ckeys[key]))
        if len(found_t) > 1:
            spans = filter_spans([doc[s:e] for s, e, _ in found_t])
            keep = {(sp.start, sp.end) for sp in spans}
            found_t = [m for m in found_t if (m[0], m[1]) in keep]
        found_t.sort()
        found_c.sort()
        doc._.treatments = found_t
        doc._.cues = found_c
        return doc


@Language.factory("claim_matcher", default_config={
    "treatments_path": str(config.TREATMENTS_FILE), "cues_path": str(config.CUES_FILE)})
def _make_claim_matcher(nlp: Language, name: str, treatments_path: str, cues_path: str):
    return ClaimMatcher(nlp, treatments_path, cues_path)


@functools.lru_cache(maxsize=4)
def build_nlp(treatments_path: str = str(config.TREATMENTS_FILE),
              cues_path: str = str(config.CUES_FILE)) -> Language:
    """spacy.blank("en") + sentencizer + claim_matcher, built once per set of rule files."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("claim_matcher", config={"treatments_path": treatments_path, "cues_path": cues_path})
    return nlp
