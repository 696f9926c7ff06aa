"""An article parsed as one Doc of blocks (pipeline/nlp/blocks.py) reads as its blocks parsed one
by one: the same units, features, assertions and findings, nothing matched or scoped across
two blocks, and the same extract table when a long article is cut into several Docs."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import config
from pipeline.nlp import make_article, make_block
from pipeline.stages import extract as extract_stage
from pipeline.stages.ingest import ingest
from pipeline.stages.segment import segment
from conftest import raw_frame

BLOCKS = [
    ("Laser hair removal", "heading"),
    ("Laser hair removal is permanent and painless, but it can cause redness. Results vary", "paragraph"),
    ("No downtime: you can return to work at once.", "list_item"),
    ("Microneedling has virtually no side effects. It isn't FDA-approved for scars.", "paragraph"),
    ("Don't wax before your laser", "paragraph"),
    ("hair removal sessions. Botox is safe.", "paragraph"),
]


def units(doc, offset_tokens: int = 0):
    return [(s.start - offset_tokens, s.end - offset_tokens, s.text, s._.clause, s._.features,
             [(a.aspect, a.value, a.qualifier, a.words) for a in s._.assertions],
             [(rid, ts - offset_tokens, te - offset_tokens, d) for rid, ts, te, d in s._.findings])
            for s in doc.spans["claims"]]


def test_an_article_doc_reads_as_its_blocks_one_by_one(nlp):
    doc = nlp(make_article(nlp, BLOCKS))
    assert doc.text == "\n".join(t for t, _ in BLOCKS)
    whole = units(doc)
    one_by_one = []
    for block, (text, kind) in zip(doc._.blocks, BLOCKS):
        assert doc.text[block.char:block.char + len(text)] == text
        assert (block.kind, doc[block.start:block.end].text) == (kind, text)
        one_by_one += [(s + block.start, e + block.start, *rest)
                       for s, e, *rest in units(nlp(make_block(nlp, text, kind)))]
    # token offsets inside a unit's features are not compared: they do not exist there
    assert [(s, e, t, c, f, a) for s, e, t, c, f, a, _ in whole] == \
        [(s, e, t, c, f, a) for s, e, t, c, f, a, _ in one_by_one]
    assert [len(x[-1]) for x in whole] == [len(x[-1]) for x in one_by_one]


def test_nothing_matches_or_runs_across_two_blocks(nlp):
    """'laser' ends one block and 'hair removal' opens the next: no treatment is named by the
    two together, and no sentence holds words of both."""
    doc = nlp(make_article(nlp, BLOCKS[4:]))
    assert [t for _, _, t in doc._.treatments] == ["laser", "botox"]   # not laser_hair_removal
    first = doc._.blocks[0]
    assert all(not (s < first.end < e) for s, e in ((x.start, x.end) for x in doc.sents))
    assert [s.text for s in doc.spans["claims"]][:1] == ["Don't wax before your laser"]


def test_blank_blocks_are_left_out_and_edges_keep_their_offsets(nlp):
    doc = make_article(nlp, [("  Botox is safe. ", "paragraph"), ("   ", "paragraph"), ("Peels sting.", "heading")])
    assert [(b.index, b.kind) for b in doc._.blocks] == [(0, "paragraph"), (2, "heading")]
    first = doc._.blocks[0]
    assert doc.text[first.char + 2:].startswith("Botox is safe.")
    assert doc[first.start:first.end].text == "Botox is safe."


def test_a_long_article_cut_into_several_docs_gives_the_same_units(nlp, monkeypatch):
    text = "Laser hair removal\n\n" + "\n\n".join(
        f"Laser hair removal session {i} is painless and has no downtime. Botox is safe." for i in range(40))
    docs, _ = ingest(raw_frame({"long.txt": text}))
    blocks = segment(docs)
    one = extract_stage.extract(docs, blocks, nlp)
    monkeypatch.setattr(config, "ARTICLE_DOC_CHARS", 300)
    assert len(list(extract_stage._chunks(blocks, {d.source_id: d for d in docs.itertuples()}))) > 5
    cut = extract_stage.extract(docs, blocks, nlp)
    for a, b in ((one.units, cut.units), (one.assertions, cut.assertions), (one.findings, cut.findings)):
        pd.testing.assert_frame_equal(a, b)
    assert len(one.units) > 40 and len(one.findings) > 0


_WORDS = ["Laser", "hair", "removal", "is", "not", "painless", "safe", "no", "downtime", "Botox", "may",
          "cause", "redness", "but", "results", "vary", ".", ",", "!", "?", ":", "Don't", "wax", "before",
          "your", "peel", "FDA-approved", "permanent", "side", "effects", "microneedling", "e.g.", "(", ")"]
_BLOCK = st.tuples(st.lists(st.sampled_from(_WORDS), min_size=0, max_size=14).map(" ".join),
                   st.sampled_from(["paragraph", "heading", "list_item"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_BLOCK, min_size=1, max_size=6))
def test_any_blocks_read_the_same_in_one_doc_as_one_by_one(nlp, blocks):
    """Property: for any blocks made of rule words and punctuation, the article Doc gives each
    block the units, features, assertions and findings it gets alone (token offsets shifted)."""
    doc = nlp(make_article(nlp, blocks))
    expected = []
    for block in doc._.blocks:
        text, kind = blocks[block.index]
        alone = nlp(make_block(nlp, text.strip(), kind))
        expected += [(s + block.start, e + block.start, t, c, f, a, [(r, x + block.start, y + block.start, d)
                                                                    for r, x, y, d in fs])
                     for s, e, t, c, f, a, fs in units(alone)]
    assert units(doc) == expected
    assert [b.index for b in doc._.blocks] == [i for i, (t, _) in enumerate(blocks) if t.strip()]
