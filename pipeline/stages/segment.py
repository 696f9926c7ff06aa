"""Segment: documents in, blocks out (headings, list items, paragraphs) with offsets.

Blocks are found on the ``visible`` text (markup blanked, typography normalised, same length
as the source), so every offset points into the source text. Sentences inside blocks are split
later by spaCy's sentencizer in ``extract``, in the same pass that finds the cues.

Web text rarely marks its structure, so for plain text a line is classified by its shape:

- heading: short (at most HEADING_MAX_WORDS words), no final full stop, or a question that
  stands alone on its line; it gives the section to the claims below it;
- list item: starts with a bullet or number, or a short label, a colon and a capital ("Skin
  Trauma: The ..."; "Let's be honest: nothing ..." is a sentence); a labelled line of several
  sentences ("Answer: ... . ... . ...") is a paragraph, split into sentences;
- list item too: two or more short lines, one per line, right after a lead-in ending in a
  colon ("Here are some tips:");
- paragraph: anything else. Hard-wrapped lines (a line not ending a sentence followed by one
  starting in lower case) are joined into one paragraph.
"""
from __future__ import annotations

import re

import pandas as pd

from .. import config

_BULLET = re.compile(r"^\s*(?:[-*+\u2022\u00b7\u25aa\u25cf\u2013\u2014>]|\d{1,3}[.)]|[a-z][.)])\s+")
_LABEL = re.compile(r"^\s*([A-Z][^:.!?]{0,60}?):\s+[\"'(]?[A-Z0-9]")  # "Skin Trauma: The ..."
_END_PUNCT = re.compile(r"[.!?:;\"')\]]\s*$")
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_SHAPE_CHARS = 2000   # a line's shape is judged on its first characters
_SENT_END = re.compile(r"[.!?][\"')\]]*\s+")


def _lines(visible: str):
    """(start, end) of each non-blank line, stripped of surrounding whitespace."""
    pos = 0
    for line in visible.split("\n"):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            yield pos + lead, pos + lead + len(stripped)
        pos += len(line) + 1


def _kind_of_line(line: str) -> str:
    """heading, list_item or paragraph for one line of plain text."""
    words = _WORD.findall(line[:_SHAPE_CHARS])  # only small counts matter; keeps huge lines cheap
    if _BULLET.match(line):
        return "list_item"
    label = _LABEL.match(line)
    if (label and len(_WORD.findall(label.group(1))) <= 6
            and len(words) > len(_WORD.findall(label.group(1))) + 2
            and (_END_PUNCT.search(line) or len(words) > config.HEADING_MAX_WORDS)
            and len(_SENT_END.findall(line[:_SHAPE_CHARS])) < config.LABEL_ITEM_MAX_SENTENCES):
        return "list_item"
    if len(words) <= config.HEADING_MAX_WORDS and (not _END_PUNCT.search(line) or line.endswith("?")):
        if line.endswith("?") and len(words) > config.HEADING_MAX_WORDS:
            return "paragraph"
        return "heading"
    return "paragraph"


_SPACES = re.compile(r"\s*")


def _cut(start: int, end: int, visible: str, limit: int):
    """Cut [start, end) into pieces of at most ``limit`` characters at sentence ends.

    Why: a paragraph of megabytes (a file without newlines) would otherwise be one spaCy doc,
    past nlp.max_length, and cue lookups per sentence would grow with the square of its size.
    Pieces end after sentence-final punctuation, else at a space, else at the limit.
    """
    while end - start > limit:
        window = visible[start:start + limit]
        cut = 0
        for m in _SENT_END.finditer(window, limit // 2):
            cut = m.end()
        if not cut:
            cut = window.rfind(" ", limit // 2) + 1 or limit
        piece_end = start + cut
        yield start, start + len(visible[start:piece_end].rstrip())
        start = _SPACES.match(visible, piece_end, end).end()
    if end > start:
        yield start, end


class _HintScan:
    """The first hint (in the given order) that covers a line, for lines asked in document
    order: hints enter when the lines reach their start and leave once a line ends past them,
    so a document with 100,000 list items costs linear time, not lines x hints."""

    def __init__(self, hints):
        self.todo = sorted(enumerate(hints), key=lambda ih: ih[1][0])
        self.next = 0
        self.active: list[tuple[int, tuple]] = []

    def kind(self, start: int, end: int) -> str | None:
        while self.next < len(self.todo) and self.todo[self.next][1][0] <= start:
            self.active.append(self.todo[self.next])
            self.next += 1
        self.active = [(i, h) for i, h in self.active if end <= h[1] + 1]
        return min(self.active)[1][2] if self.active else None


def _lead_in_lists(raw_blocks: list[list], visible: str) -> None:
    """Lines after a lead-in ("Here are some tips:") are list items even without bullets or
    full stops: a run of at least two short lines, one per line, right after a block ending
    in a colon (one short line there is a heading: "When to Seek Professional Help")."""
    for i in range(1, len(raw_blocks)):
        if not visible[raw_blocks[i - 1][0]:raw_blocks[i - 1][1]].rstrip().endswith(":"):
            continue
        run = i
        while (run < len(raw_blocks) and raw_blocks[run][2] == "heading"
               and (run == i or visible[raw_blocks[run - 1][1]:raw_blocks[run][0]].count("\n") == 1)):
            run += 1
        if run - i >= 2:
            for b in raw_blocks[i:run]:
                b[2] = "list_item"


def blocks_of(source_id: str, visible: str, shown: str, hints) -> list[dict]:
    """Blocks of one document, in order, each with kind, offsets and the section it sits in."""
    raw_blocks: list[list] = []   # [start, end, kind]
    prev_end = None
    scan = _HintScan(hints) if hints else None
    for start, end in _lines(visible):
        line = visible[start:end]
        hint = scan.kind(start, end) if scan else None
        kind = hint or ("list_item" if hints and _BULLET.match(line) else None) or _kind_of_line(line)
        if kind == "list_item" and (b := _BULLET.match(line)):
            start += b.end()
        # join a hard-wrapped continuation line into the block before it
        if (raw_blocks and hint is None and kind in ("paragraph", "heading")
                and visible[prev_end:start].count("\n") == 1
                and not _END_PUNCT.search(visible[max(raw_blocks[-1][0], prev_end - 64):prev_end])
                and line[:1].islower()):
            raw_blocks[-1][1] = end
            if raw_blocks[-1][2] == "heading":
                raw_blocks[-1][2] = "paragraph"
        else:
            raw_blocks.append([start, end, kind])
        prev_end = end
    _lead_in_lists(raw_blocks, visible)
    out = []
    section = ""
    raw_blocks = [[s, e, kind] for start, end, kind in raw_blocks
                  for s, e in (_cut(start, end, visible, config.MAX_BLOCK_CHARS)
                               if end - start > config.MAX_BLOCK_CHARS else [(start, end)])]
    for i, (start, end, kind) in enumerate(raw_blocks):
        if kind == "heading":
            section = re.sub(r"\s+", " ", shown[start:end]).strip()
        out.append({"source_id": source_id, "block": i, "kind": kind, "start": start, "end": end,
                    "section": section if kind != "heading" else ""})
    return out


def segment(docs: pd.DataFrame) -> pd.DataFrame:
    """All blocks of all documents: source_id, block, kind, start, end, section."""
    rows = []
    for d in docs.itertuples(index=False):
        rows.extend(blocks_of(d.source_id, d.visible, d.shown, d.hints))
    return pd.DataFrame(rows, columns=["source_id", "block", "kind", "start", "end", "section"])
