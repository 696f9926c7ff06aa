"""Text helpers (pipeline/text.py): typography normalisation keeps every offset and reads as
the plain definition: each typographic character replaced (str.translate over the table), and
a word with a dot glued between lower-case words ungluing unless it is a web or file name."""
from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import config, text

_TABLE = str.maketrans(text._TYPOGRAPHY)
_WORD = re.compile(r"\S*[a-z]{3}\.[a-z]{3,}\S*")


def plain_normalise(s: str) -> str:
    """The definition, written the direct (slow) way: translate every character, then try the
    glued-dot word pattern from every position."""
    s = re.sub(r"\r\n?", lambda m: " \n" if len(m.group()) == 2 else "\n", s)
    return _WORD.sub(text._unglue, s.translate(_TABLE))


_ALPHABET = st.sampled_from([*"abcdefghijklmnop", "abc", "rash", "A", "Z", ".", ".", " ", "\n", "\r", "/", "@", "www",
                             ".com", ".pdf", "1", "-", *text._TYPOGRAPHY])


@settings(max_examples=500, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_normalise_is_the_plain_definition(s):
    out = text.normalise(s)
    assert out == plain_normalise(s)
    assert len(out) == len(s.replace("\r\n", " \n"))


def test_normalise_on_real_pages_is_the_plain_definition():
    pages = sorted(config.RAW_DIR.glob("*.txt")) + sorted((Path(__file__).parent / "articles").iterdir())
    for page in pages:
        s = page.read_text(encoding="utf-8", errors="replace")
        assert text.normalise(s) == plain_normalise(s), page.name


def test_glued_list_items_come_apart_and_web_names_stay():
    assert text.normalise("redness.rash.pain, itch.dry and www.clinic.com or results.pdf") == \
        "redness rash pain, itch dry and www.clinic.com or results.pdf"
    assert text.normalise("\u201cPainless\u201d\u00a0\u2014 so they say\u2026") == '"Painless" - so they say.'
