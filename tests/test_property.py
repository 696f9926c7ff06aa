"""Property test: arbitrary text through ingest -> segment -> extract -> tag never raises, and
every unit's offsets point at its text."""
from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.stages.extract import extract
from pipeline.stages.ingest import IngestError, ingest_one
from pipeline.stages.segment import segment
from pipeline.nlp import RuleSet
from pipeline.stages.tag import tag

# Pieces that stress offsets and markup: typography, line ends, markup, emoji, rule words.
PIECES = [
    "Microneedling", "chemical peel", " is ", " has no side effects", " may cause redness",
    " not ", "painless", ".", "?", "!", ":", ";", ", but ", "\n", "\r\n", "\r", "\n\n", "  ",
    "\u00a0", "\u2019", "\u201c", "\u201d", "\u2014", "\u2026", "\ufeff", "\u200b", "\t",
    "<p>", "</p>", "<h2>", "</h2>", "<script>x</script>", "&amp;", "&nbsp;", "<li>", "# ", "- ",
    "**", "[link](http://x)", "```", "\U0001f600", "\u00e9t\u00e9", "1.", " avoid sun ",
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_arbitrary_text_never_raises_and_offsets_hold(nlp, text, suffix):
    name = "x" + suffix
    try:
        doc = ingest_one("x", name, text.encode("utf-8"))
    except IngestError:
        return  # empty, binary or wordless: reported as a problem, not an exception
    docs = pd.DataFrame([doc])
    units = extract(docs, segment(docs), nlp).units
    tagged = tag(units, RuleSet.load(), {})
    source = doc["text"]
    for u in tagged.itertuples(index=False):
        assert 0 <= u.start < u.end <= len(source)
        if suffix == ".txt":
            assert source[u.start:u.end] == u.text
        else:
            assert u.text.split() == doc["shown"][u.start:u.end].split()
