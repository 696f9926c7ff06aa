"""The rule_matcher component's own helpers (pipeline/nlp/matcher.py)."""
from __future__ import annotations

import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.util import filter_spans

from pipeline.nlp.matcher import Tokens, _longest_first, sentence_bounds

_DOC = spacy.blank("en").make_doc(" ".join(["word"] * 30))
_SPAN = st.integers(0, 29).flatmap(lambda s: st.tuples(st.just(s), st.integers(s + 1, min(30, s + 6))))


@settings(max_examples=300, deadline=None)
@given(st.lists(_SPAN, min_size=2, max_size=10))
def test_longest_first_keeps_what_spacy_filter_spans_keeps(spans):
    """Overlapping treatment names: the longest wins, then the earliest ("chemical peel" over
    "peel"), exactly as spaCy's filter_spans, without making Span objects."""
    kept = {(sp.start, sp.end) for sp in filter_spans([_DOC[s:e] for s, e in spans])}
    assert _longest_first(spans) == kept


def test_the_token_patterns_find_what_they_found_before(nlp):
    """A pattern runs only on sentences holding its words: a sentence without them gives no
    match, a sentence with them gives the match, in a block of several sentences."""
    doc = nlp("Results are good. It is not only safe but effective. Nothing else.")
    hits = [(doc[s:e].text, cid) for s, e, cid in doc._.cues]
    assert hits, hits
    single = nlp("It is not only safe but effective.")
    same = {(doc[s:e].text, c) for s, e, c in doc._.cues if doc[s].sent.text.startswith("It is")}
    assert same == {(single[s:e].text, c) for s, e, c in single._.cues}


_SENTENCIZED = spacy.blank("en")
_SENTENCIZED.add_pipe("sentencizer")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Safe", "and", "painless", ".", "!", "?", "\n", " ", "No", "...", "Dr."]),
                max_size=25))
def test_sentence_bounds_are_the_sentences_spacy_gives(words):
    """The sentence bounds read from one token array are doc.sents, empty Docs and a Doc of
    one sentence included."""
    doc = _SENTENCIZED(" ".join(words))
    assert sentence_bounds(doc) == [(s.start, s.end) for s in doc.sents]


def test_sentence_bounds_without_a_sentencizer_are_the_whole_doc():
    doc = spacy.blank("en")("One. Two.")
    assert sentence_bounds(doc) == [(0, len(doc))]


def _every_pattern_on_every_sentence(gated, doc):
    """The reference: each pattern's own Matcher on each sentence."""
    out = []
    for s, e in sentence_bounds(doc):
        for _, matcher in gated.entries:
            out += [(key, s + a, s + b) for key, a, b in matcher(doc[s:e])]
    return sorted(out)


def test_patterns_run_together_on_a_sentence_find_what_each_finds_alone(nlp, monkeypatch):
    """The patterns a sentence needs run in one Matcher call: the same matches as each
    pattern alone on each sentence, cached or not (past the cache's size)."""
    from pipeline import config
    from pipeline.nlp import matcher as matcher_module

    text = ("It is not only safe but effective for 30 minutes every 4 weeks. Results vary. "
            "Three to five sessions are needed, each lasting 45 minutes, once a month. Nothing else.")
    rm = nlp.get_pipe("rule_matcher")
    doc = nlp(text)
    tok = doc._.tok
    expected = _every_pattern_on_every_sentence(rm.patterns, doc)
    assert len({k for k, _, _ in expected}) >= 3, expected   # several patterns share sentences
    assert sorted(rm.patterns(doc, tok)) == expected
    assert any(len(k) > 1 for k in rm.patterns.combined)   # some sentence ran patterns together
    monkeypatch.setattr(config, "COMBINED_MATCHERS", 0)
    fresh = matcher_module.GatedMatcher(nlp.vocab)
    for key, pattern in rm.patterns.sources:
        fresh.add(key, [pattern])
    assert sorted(fresh(doc, tok)) == expected and not fresh.combined


_WORDS = ["laser", "Hair", "removal", "peel", "no", "pain", "pain-free", "can't", "ÉCLAT", "éclat", "İnce"]
_PHRASES = st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join),
                    min_size=1, max_size=8)


_BLANK = spacy.blank("en")
_SPECIAL_CASES = sorted(s for s in _BLANK.tokenizer.rules if not any(c.isspace() for c in s))
_RULE_WORD = st.one_of(st.text(st.sampled_from("aZ-'.,%3(/)\"\u2019!?:;&+e\u00e9@#"), min_size=1, max_size=8),
                       st.text(st.sampled_from(":;()-'<3"), min_size=1, max_size=3),   # emoticon parts
                       st.sampled_from(_SPECIAL_CASES))


@settings(max_examples=200, deadline=None)
@given(st.sets(_RULE_WORD, min_size=1, max_size=40))
def test_words_tokenized_together_get_the_tokens_each_gets_alone(words):
    """The rule matcher tokenizes the words of every rule phrase in one Doc, joined by spaces:
    each word must get exactly what the tokenizer gives it alone (special cases, prefixes,
    suffixes, infixes, and special cases that could span two words: ":" then "(")."""
    from pipeline.nlp import matcher

    nlp = _BLANK
    matcher._WORD_TOKENS.pop(id(nlp.tokenizer), None)     # tokenize every word of this example
    matcher._tokenize_words(nlp, set(words), per_call=7)   # several Docs, one word cut by none
    known = matcher._WORD_TOKENS[id(nlp.tokenizer)]
    for word in words:
        assert known[word] == [t.text for t in nlp.make_doc(word)], word


@settings(max_examples=150, deadline=None)
@given(_PHRASES, st.lists(st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join), min_size=1, max_size=5))
def test_lazy_phrases_find_what_one_phrase_matcher_with_every_pattern_finds(phrases, texts):
    """Patterns added (as their tokens' LOWER hashes) when a text first holds a pattern's first
    word: every text of a run, the first or a later one, gets the matches of a PhraseMatcher
    given every pattern as a Doc up front, in any case and script."""
    from spacy.matcher import PhraseMatcher

    from pipeline.nlp.matcher import LazyPhrases, text_tokens

    nlp = spacy.blank("en")
    eager, lazy = PhraseMatcher(nlp.vocab, attr="LOWER"), LazyPhrases(nlp.vocab)
    for i, phrase in enumerate(phrases):
        eager.add(f"k{i % 3}", [nlp.make_doc(phrase)])
        lazy.add(f"k{i % 3}", text_tokens(nlp, [phrase]))
    for text in texts:
        doc = nlp.make_doc(text)
        assert sorted(lazy(doc, Tokens.of(doc))) == sorted(eager(doc)), text


def test_the_rule_matcher_makes_no_pattern_doc_until_a_text_needs_it(nlp):
    """Building the matcher adds none of the rule set's thousands of patterns (a tenth of a
    second of every check's start); a text adds those starting with its words, and only
    those."""
    component = nlp.get_pipe("rule_matcher")
    fresh = type(component)(nlp, component.rules).phrases
    pending = sum(map(len, fresh.pending.values()))
    assert len(fresh.matcher) == 0 and pending > 1000
    doc = nlp.make_doc("Laser hair removal is painless.")
    assert fresh(doc, Tokens.of(doc))
    made = pending - sum(map(len, fresh.pending.values()))
    assert 0 < made < pending / 10


def test_a_thread_matching_while_another_adds_patterns_waits_for_them():
    """Two threads share one pipeline (a Dask worker with several threads): while one adds the
    patterns a text needs, another text with the same words waits, then finds the match,
    instead of matching before the patterns are in."""
    import threading

    from pipeline.nlp import matcher as M

    nlp = spacy.blank("en")
    lazy = M.LazyPhrases(nlp.vocab)
    lazy.add("peel", M.text_tokens(nlp, ["chemical peel"]))
    inside, release = threading.Event(), threading.Event()

    class SlowAdd:   # the first thread stops while adding the pattern
        def __init__(self, real):
            self.real = real

        def add(self, *args):
            if threading.current_thread().name == "first":
                inside.set()
                release.wait(5)
            self.real.add(*args)

        def __call__(self, doc):
            return self.real(doc)

    lazy.matcher = SlowAdd(lazy.matcher)
    found = {}

    def run(name):
        doc = nlp.make_doc("A chemical peel today.")
        found[name] = lazy(doc, Tokens.of(doc))

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=run, args=("second",), name="second")
    second.start()
    second.join(0.5)
    release.set()
    first.join(5)
    second.join(5)
    assert len(found["first"]) == len(found["second"]) == 1
