"""Text helpers every layer uses: same-length typography normalisation, whitespace compaction
with a map back to source offsets, the normalised claim key, and stable claim ids.

They sit at the bottom of the package (no imports from it but ``config``), so ingest, the
spaCy components, tagging, families, review and check share one definition of each.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import re

# Same-length typography normalisation (one character in, one character out).
_TYPOGRAPHY = {
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\u3000": " ",
    "\u200b": " ", "\u200c": " ", "\u200d": " ", "\ufeff": " ", "\t": " ", "\x0b": " ", "\x0c": " ",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": ".", "\u2028": "\n", "\u2029": "\n", "\x85": "\n",
}
# few characters of a page change: a regex finds them ten times faster than str.translate walks
# a text with any non-ASCII character (a measured tenth of reading a page)
_TYPOGRAPHIC = re.compile("[" + "".join(map(re.escape, _TYPOGRAPHY)) + "]")
_CR = re.compile(r"\r\n?")
# a list whose items lost their separators when the page was copied ("redness.rash.pain"): the
# dot between two lower-case words reads as a space, unless the dotted word is a web address or
# a file name (a scheme, slash or @ in it, "www." first, or a web or file suffix last)
_GLUED = re.compile(r"(?<=[a-z]{3})\.(?=[a-z]{3,}\b)")
_GLUED_ANYWHERE = re.compile(r"[a-z]{3}\.[a-z]{3}")
# a whole word (a run of non-space) holding a glued dot; tried at word starts only, so a long
# word is not scanned again from each of its characters
_DOTTED = re.compile(r"(?<!\S)(?=\S*?[a-z]{3}\.[a-z]{3})\S+")
_WEB_NAME = re.compile(r"[/@:]|^\W*www\.|\.(?:com|org|net|gov|edu|int|info|biz|shop|io|co|uk|us|eu|de|"
                       r"html?|php|aspx?|jsp|pdf|json|xml|csv|txt|jpe?g|png|gif|svg)\W*$", re.I)


def _unglue(m: re.Match) -> str:
    word = m.group()
    return word if _WEB_NAME.search(word) else _GLUED.sub(" ", word)


def normalise(s: str) -> str:
    """Normalise typography for matching without changing the length.

    >>> normalise("It\u2019s\u00a0\u201cfine\u201d\\r\\n")
    'It\\'s "fine" \\n'
    >>> normalise("redness.rash.pain, see example.com")
    'redness rash pain, see example.com'
    """
    s = _TYPOGRAPHIC.sub(_typography, _CR.sub(lambda m: " \n" if len(m.group()) == 2 else "\n", s))
    return _DOTTED.sub(_unglue, s) if _GLUED_ANYWHERE.search(s) else s


def _typography(m: re.Match) -> str:
    return _TYPOGRAPHY[m.group()]


_WS_RUN = re.compile(r"\s{2,}|[\n\r\t]")


def compact(s: str) -> tuple[str, list[tuple[int, int]] | None]:
    """Collapse whitespace runs to one space; return the text and a map for offsets back.

    >>> compact("a \\n  b")
    ('a b', [(0, 0), (2, 5)])
    """
    if not _WS_RUN.search(s):
        return s, None
    out, anchors, pos, cpos = [], [(0, 0)], 0, 0
    for m in _WS_RUN.finditer(s):
        piece = s[pos:m.start()] + " "
        out.append(piece)
        cpos += len(piece)
        pos = m.end()
        anchors.append((cpos, pos))
    out.append(s[pos:])
    return "".join(out), anchors


def back(anchors, i: int) -> int:
    """Map an offset in the compacted text back to the text before compaction.

    >>> back([(0, 0), (2, 5)], 2)
    5
    """
    if anchors is None:
        return i
    k = bisect.bisect_right(anchors, (i, float("inf"))) - 1
    c0, o0 = anchors[k]
    return o0 + (i - c0)


_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=1 << 15)
def text_key(text: str) -> str:
    """Normalised claim text for ids, families, review and suppressions: case, quotes, spaces
    and end punctuation do not count. Cached: a claim's key is asked for by its id, its family,
    the merge of families and its findings' ids, and a batch's claims fit in the cache.

    >>> text_key("Microneedling\u00a0is  \u201csafe\u201d.")
    'microneedling is "safe"'
    """
    return _SPACES.sub(" ", normalise(text)).strip().rstrip(".!;:, ").lower()


def claim_id(source_id: str, text: str, occurrence: int) -> str:
    """Stable id from source and normalised text (not offsets), so edits elsewhere keep it."""
    digest = hashlib.sha1(f"{source_id}\x1f{text_key(text)}\x1f{occurrence}".encode()).hexdigest()
    return "c" + digest[:12]


def slug(text: str) -> str:
    """Lower-case underscore slug of a phrase ('Acne-like symptoms' -> 'acne_like_symptoms')."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
