"""The ``rule_matcher`` component: every phrase and token pattern of the rule set, in one pass.

One PhraseMatcher (case-insensitive, on LOWER; ``LazyPhrases``: a pattern's Doc is made when a
text first holds its first word) holds the treatment names and the phrases of every rule file;
one GatedMatcher holds the token patterns. Each match is sorted into the Doc
extension of its file, as plain tuples (token start, token end, id or rule):

- ``doc._.treatments``: [(start, end, treatment_id)], longest match wins;
- ``doc._.cues``: [(start, end, cue_id)] (negation, hedges, claim-type triggers, ...);
- ``doc._.aspect_hits``: [(start, end, Rule)] (aspect values, qualifiers, cancels, ...);
- ``doc._.compliance_hits``: [(start, end, rule_id)]; ``doc._.context_hits``: [(start, end, id)].

The treatment mentions are also on ``doc.spans["treatments"]`` (label: treatment id).
Per-token flags read once with ``Doc.to_array`` are kept in ``doc._.tok`` (``Tokens``), so the
components after this one index Python lists instead of creating Token objects.
"""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from functools import cached_property

import numpy
from spacy.attrs import IS_ALPHA, IS_PUNCT, IS_SPACE, IS_STOP, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from .. import config
from .lemmas import phrase_forms
from .ruleset import RuleSet

for _name in ("treatments", "cues", "aspect_hits", "compliance_hits", "context_hits", "tok"):
    Doc.set_extension(_name, default=None, force=True)


@dataclass(frozen=True)
class Tokens:
    """Per-token flags and texts of one Doc as plain lists (read with C-level ``to_array``), and
    its sentences as (start, end) token bounds (``sentence_bounds``; read once here, after the
    sentencizer and ``block_bounds``, for the matcher, the context scopes and the claim units)."""

    alpha: list
    stop: list
    punct: list
    space: list
    text: list
    lower: list
    lower_id: list   # the LOWER hashes, as patterns' required words are stored
    sentences: list  # (start, end) of each sentence

    @cached_property
    def present(self) -> set[int]:
        """The LOWER hashes the Doc holds (each once): which patterns can match at all."""
        return set(self.lower_id)

    @classmethod
    def of(cls, doc: Doc) -> "Tokens":
        arr = doc.to_array([IS_ALPHA, IS_STOP, IS_PUNCT, IS_SPACE, ORTH, LOWER])
        strings = doc.vocab.strings
        lower_id = arr[:, 5].tolist()
        return cls(arr[:, 0].astype(bool).tolist(), arr[:, 1].astype(bool).tolist(),
                   arr[:, 2].astype(bool).tolist(), arr[:, 3].astype(bool).tolist(),
                   [strings[o] for o in arr[:, 4].tolist()], [strings[o] for o in lower_id], lower_id,
                   sentence_bounds(doc))


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
    """spaCy token patterns run only on the sentences that hold every word a pattern requires.
    Same matches as one Matcher with all patterns run on each sentence (a token pattern never
    matches across two sentences here), at a fraction of the cost: the Matcher tests every
    pattern's predicates at every token, and most sentences can match few patterns. Each pattern
    is indexed under the words of its first required token. The patterns a sentence needs run
    in one Matcher call, built once per set of patterns (sentences share a few hundred sets):
    each call walks the sentence's tokens in Python, so one call per pattern cost more."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.entries: list[tuple[list[frozenset[int]], Matcher]] = []
        self.sources: list[tuple[str, list]] = []   # (key, pattern) of each entry
        self.always: list[int] = []              # patterns that require no particular word
        self.by_word: dict[int, list[int]] = {}  # word hash -> patterns requiring it first
        self.combined: dict[tuple[int, ...], Matcher] = {}

    def add(self, key: str, patterns: list) -> None:
        for pattern in patterns:
            matcher = Matcher(self.vocab, validate=True)
            matcher.add(key, [list(pattern)])
            required = _required_words(self.vocab, pattern)
            n = len(self.entries)
            self.entries.append((required, matcher))
            self.sources.append((key, list(pattern)))
            if required:
                for word in required[0]:
                    self.by_word.setdefault(word, []).append(n)
            else:
                self.always.append(n)

    def _matcher_for(self, patterns: tuple[int, ...]) -> Matcher | None:
        """One Matcher holding these patterns (cached), or None past config.COMBINED_MATCHERS sets."""
        if len(patterns) == 1:
            return self.entries[patterns[0]][1]
        matcher = self.combined.get(patterns)
        if matcher is None and len(self.combined) < config.COMBINED_MATCHERS:
            matcher = self.combined[patterns] = Matcher(self.vocab)
            for n in patterns:
                key, pattern = self.sources[n]
                matcher.add(key, [pattern])
        return matcher

    def __call__(self, doc: Doc, tok: Tokens) -> list[tuple[int, int, int]]:
        """Matches of every pattern, each run only on the sentences that hold its first
        required word and every other required word (patterns do not cross sentences);
        ``tok``: the Doc's token table (LOWER hashes, whitespace flags, sentences)."""
        lowers, space, present = tok.lower_id, tok.space, tok.present
        candidates = set(self.always)
        for word in present & self.by_word.keys():
            candidates.update(self.by_word[word])
        if not candidates:
            return []
        bounds = tok.sentences
        where: dict[int, set[int]] | None = None    # word hash -> sentences holding it, when asked
        runs: dict[int, list[int]] = {}             # sentence -> the patterns to run on it
        one = len(bounds) == 1
        for n in sorted(candidates):
            required = self.entries[n][0]
            for words in required:               # the doc lacks one of the pattern's words
                if words.isdisjoint(present):
                    break
            else:
                if not required:                 # any sentence with a word (not a block separator)
                    sents = [i for i, (s, e) in enumerate(bounds) if not all(space[s:e])]
                elif one:
                    sents = range(len(bounds))
                else:                            # the sentences holding all of them
                    if where is None:
                        where = {}
                        for i, (s, e) in enumerate(bounds):
                            for w in set(lowers[s:e]):
                                where.setdefault(w, set()).add(i)
                    sents = None
                    for words in required:
                        holding = set().union(*map(where.__getitem__, words & present))
                        sents = holding if sents is None else sents & holding
                for i in sents:
                    runs.setdefault(i, []).append(n)
        found = []
        for i in sorted(runs):
            s, e = bounds[i]
            span = doc[s:e]
            matcher = self._matcher_for(tuple(runs[i]))
            for m in ([matcher] if matcher is not None else [self.entries[n][1] for n in runs[i]]):
                found.extend((key, s + a, s + b) for key, a, b in m(span))
        return found


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) of each sentence, as ``doc.sents`` gives them, read from one C-level array
    instead of a Span per sentence; the whole Doc when no sentence boundaries are set."""
    if not len(doc):
        return []
    if not doc.has_annotation("SENT_START"):
        return [(0, len(doc))]
    starts = [0, *(numpy.flatnonzero(doc.to_array(SENT_START)[1:] == 1) + 1).tolist()]
    return list(zip(starts, starts[1:] + [len(doc)]))


_WORD_TOKENS: dict[int, dict[str, list[str]]] = {}   # tokenizer id -> word -> its tokens
_WORD_GAP = " \n "   # between words tokenized together (_tokenize_words)
_SPECIAL: dict[int, frozenset[str]] = {}


def _special_cases(nlp) -> frozenset[str]:
    """The tokenizer's special-case strings ("cannot", "gonna", ...), read once per tokenizer."""
    key = id(nlp.tokenizer)
    if key not in _SPECIAL:
        _SPECIAL[key] = frozenset(nlp.tokenizer.rules)
    return _SPECIAL[key]


def pattern_texts(rule_phrases: tuple[str, ...], match: str, forms=None) -> list[str]:
    """The texts a phrase matcher needs for one rule: its phrases, or all their forms for
    "lemma" (``forms``: phrase -> its forms, the rule set's ``forms_of``), each distinct text once."""
    if match != "lemma":
        return list(dict.fromkeys(rule_phrases))
    forms = forms or phrase_forms
    return list(dict.fromkeys(f for p in rule_phrases for f in forms(p)))


def text_tokens(nlp, texts: list[str]) -> list[list[str]]:
    """The tokens of each pattern text. The tokenizer splits on spaces before anything else, so
    a text's tokens are its words' tokens: each distinct word is tokenized once
    (``_tokenize_words``) and the thousands of inflected forms are built from them (a third of
    the start-up time of `check` otherwise)."""
    known = _WORD_TOKENS.setdefault(id(nlp.tokenizer), {})
    try:
        return [[t for word in text.split() for t in known[word]] for text in texts]
    except KeyError:   # words not tokenized yet
        _tokenize_words(nlp, {w for text in texts for w in text.split()})
        return [[t for word in text.split() for t in known[word]] for text in texts]


def _tokenize_words(nlp, words: set[str], per_call: int = 5000) -> None:
    """Put the tokens of each word (no whitespace in it) in _WORD_TOKENS. Plain ASCII letters
    are one token unless a special case splits them ("cannot"); the others ("anti-aging",
    "skin's") are tokenized together, one Doc for many words instead of a Doc each. They are
    joined by a line break between spaces: the tokenizer splits on spaces first, and the line
    break's own token keeps a special case from matching across two words (":" ending one word
    and "(" opening the next would otherwise make the emoticon ":("), so each word gets the
    tokens it gets alone."""
    known = _WORD_TOKENS.setdefault(id(nlp.tokenizer), {})
    special = _special_cases(nlp)
    rest = []
    for word in sorted(words - known.keys()):
        if word.isascii() and word.isalpha() and word not in special:
            known[word] = [word]
        else:
            rest.append(word)
    for i in range(0, len(rest), per_call):
        batch = rest[i:i + per_call]
        starts, at = [], 0
        for word in batch:
            starts.append(at)
            at += len(word) + len(_WORD_GAP)
        tokens: list[list[str]] = [[] for _ in batch]
        for t in nlp.make_doc(_WORD_GAP.join(batch)):
            w = bisect.bisect_right(starts, t.idx) - 1
            if t.idx < starts[w] + len(batch[w]):   # not the gap's own token
                tokens[w].append(t.text)
        known.update(zip(batch, tokens))


class LazyPhrases:
    """A PhraseMatcher on LOWER whose patterns are added when a Doc first holds the pattern's
    first word. Same matches as adding every pattern up front (a pattern cannot match a Doc
    lacking its first word), but a short run (``check`` on one draft) adds the few hundred
    patterns its text can match instead of all eight thousand inflected forms: making them was a
    tenth of a second of every start. A long run ends up with the ones its texts use. A lock
    keeps a thread's additions from meeting another thread's matching (a Dask worker may be
    started with several threads).

    A pattern is given to the PhraseMatcher as its tokens' LOWER hashes, which is what the
    matcher keeps of a pattern Doc (and what it adds back when unpickled), so no Doc and no
    lexeme is made per pattern (a Doc each was most of the first text's matching)."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.matcher = PhraseMatcher(vocab, attr="LOWER")
        self.pending: dict[int, list[tuple[str, list[str]]]] = {}   # LOWER hash of first token -> (key, tokens)
        self.lock = threading.Lock()

    def add(self, key: str, patterns: list[list[str]]) -> None:
        """Patterns as token lists, added to the matcher when first needed."""
        strings = self.vocab.strings
        for words in patterns:
            if words:
                self.pending.setdefault(strings.add(words[0].lower()), []).append((key, words))

    def __call__(self, doc: Doc, tok: Tokens) -> list[tuple[int, int, int]]:
        """The matches in ``doc``; ``tok``: its token table (the LOWER hashes it holds)."""
        with self.lock:
            if self.pending:
                add = self.vocab.strings.add   # a string's hash, as a lexeme's LOWER holds it
                by_key: dict[str, list[list[int]]] = {}   # one add a key: each add call has a fixed cost
                for word in self.pending.keys() & tok.present:
                    for key, words in self.pending.pop(word):
                        by_key.setdefault(key, []).append([add(w.lower()) for w in words])
                for key, patterns in by_key.items():
                    self.matcher.add(key, patterns)
            return self.matcher(doc)


def _longest_first(spans: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (start, end) spans ``spacy.util.filter_spans`` keeps, on plain tuples: longest first,
    then earliest, none overlapping a kept one (no Span objects made)."""
    seen: set[int] = set()
    keep = set()
    for s, e in sorted(spans, key=lambda m: (m[1] - m[0], -m[0]), reverse=True):
        if s not in seen and e - 1 not in seen:
            keep.add((s, e))
            seen.update(range(s, e))
    return keep


class RuleMatcher:
    """Finds every rule of the rule set in a Doc (see the module docstring)."""

    def __init__(self, nlp: Language, rules: RuleSet):
        self.rules = rules
        self.phrases = LazyPhrases(nlp.vocab)
        self.patterns = GatedMatcher(nlp.vocab)
        self.keys: dict[int, tuple[str, object]] = {}   # match key -> (kind, id or Rule)
        self.aspect_rules = {**rules.aspects.values, **rules.aspects.extra}

        phrased: list[tuple[str, tuple[str, ...], str]] = []

        def add(kind: str, ident: str, payload, phrases, match: str, patterns) -> None:
            key = f"{kind}:{ident}"
            self.keys[nlp.vocab.strings.add(key)] = (kind, payload)
            if phrases:
                phrased.append((key, phrases, match))
            if patterns:
                self.patterns.add(key, list(patterns))

        for t in rules.treatments:
            add("T", t.id, t.id, t.names, "lower", ())
        for r in rules.cues:
            add("C", r.id, r.id, r.phrases, r.match, (r.pattern,) if r.pattern else ())
        for r in rules.aspect_rules:
            if r.category in ("value", "qualifier", "cancel", "pseudo_negation"):
                add("A", r.id, r, r.phrases, r.match, (r.pattern,) if r.pattern else ())
        for r in rules.compliance:
            add("R", r.id, r.id, r.phrases, r.match, r.patterns)
        for r in rules.context:
            add("X", r.id, r.id, r.phrases, r.match, (r.pattern,) if r.pattern else ())
        # every rule's words tokenized in one go, then each rule's patterns from them
        texts = [(key, pattern_texts(phrases, match, rules.forms_of)) for key, phrases, match in phrased]
        _tokenize_words(nlp, {w for _, ts in texts for text in ts for w in text.split()})
        for key, ts in texts:
            self.phrases.add(key, text_tokens(nlp, ts))

    def __call__(self, doc: Doc) -> Doc:
        tok = Tokens.of(doc)
        doc._.tok = tok
        found: dict[str, list] = {"T": [], "C": [], "A": set(), "R": set(), "X": set()}
        keys = self.keys
        for key, start, end in [*self.phrases(doc, tok), *self.patterns(doc, tok)]:
            kind, payload = keys[key]
            if kind in ("T", "C"):
                found[kind].append((start, end, payload))
            elif kind == "A":
                found[kind].add((start, end, payload.id))
            else:
                found[kind].add((start, end, payload))
        treatments = found["T"]
        if len(treatments) > 1:
            keep = _longest_first([(s, e) for s, e, _ in treatments])
            treatments = [m for m in treatments if (m[0], m[1]) in keep]
        treatments.sort()
        doc._.treatments = treatments
        doc._.cues = sorted(found["C"])
        aspect_rules = self.aspect_rules
        doc._.aspect_hits = [(s, e, aspect_rules[rid]) for s, e, rid in sorted(found["A"])
                             if rid in aspect_rules]
        doc._.compliance_hits = sorted(found["R"])
        doc._.context_hits = sorted(found["X"])
        doc.spans["treatments"] = [Span(doc, s, e, label=tid) for s, e, tid in treatments]
        return doc


@Language.factory("rule_matcher", default_config={"rules": ""})
def make_rule_matcher(nlp: Language, name: str, rules: str) -> RuleMatcher:
    """spaCy factory: config ``rules`` is the rules folder (empty: the default folder)."""
    return RuleMatcher(nlp, RuleSet.load(rules) if rules else RuleSet.load())
