"""An article as one Doc of blocks, and the ``block_bounds`` component that keeps them apart.

The blocks of an article (headings, paragraphs, list items) are parsed together, one Doc per
article (or per chunk of ARTICLE_DOC_CHARS characters of a long one), not one Doc per block:
each Doc costs a fixed amount in every component, and an article has dozens of blocks. The
blocks are joined by a newline, which the tokenizer makes a whitespace token of its own, so no
phrase of the rule set matches across two blocks. ``doc._.blocks`` holds each block's token
range, kind and character start; ``block_bounds`` (after the sentencizer) starts a sentence at
every block and at every separator, so no sentence, and therefore no token pattern, context
scope or claim unit, crosses a block. A Doc without ``doc._.blocks`` (``nlp(text)``,
``make_block``) is one block of kind ``doc._.block_kind``.
"""
from __future__ import annotations

from typing import NamedTuple

from spacy.attrs import ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc

Doc.set_extension("block_kind", default="paragraph", force=True)
Doc.set_extension("blocks", default=None, force=True)

SEPARATOR = "\n"


class Block(NamedTuple):
    """One block of a Doc: tokens [start, end), its kind, the character offset in the Doc
    where the block's text (as given, before its edges were stripped) would begin, and its
    position in the list given to ``make_article``."""

    start: int
    end: int
    kind: str
    char: int
    index: int


def make_block(nlp: Language, text: str, kind: str = "paragraph") -> Doc:
    """A Doc for one block of text, tokenized and marked with its block kind, ready for
    ``nlp.pipe``: the claim-unit component reads the kind (a heading or list item is one unit)."""
    doc = nlp.make_doc(text)
    doc._.block_kind = kind
    return doc


def make_article(nlp: Language, blocks: list[tuple[str, str]]) -> Doc:
    """One Doc for several (text, kind) blocks, ready for ``nlp.pipe``. A block's text has no
    newline (``text.compact`` made its whitespace single spaces); its edges are stripped, and a
    block of only whitespace is left out (it holds no unit), so each block is one run of
    tokens between two separator tokens.

    Each block is tokenized on its own and the Doc is built from the tokens: the text of the
    Doc is the blocks joined by SEPARATOR, as if that had been tokenized, but spaCy's tokenizer
    stops caching its chunks for the rest of a text after the first special case ("don't"),
    which in a long text made tokenizing several times slower."""
    words: list[str] = []
    spaces: list[bool] = []
    parsed: list[Block] = []
    strings, pos = nlp.vocab.strings, 0
    for index, (text, kind) in enumerate(blocks):
        body = text.strip()
        if not body:
            continue
        if words:
            words.append(SEPARATOR)
            spaces.append(False)
            pos += len(SEPARATOR)
        arr = nlp.make_doc(body).to_array([ORTH, SPACY]).tolist()
        start = len(words)
        words.extend(strings[o] for o, _ in arr)
        spaces.extend(bool(sp) for _, sp in arr)
        lead = len(text) - len(text.lstrip())
        parsed.append(Block(start, len(words), kind, pos - lead, index))
        pos += len(body)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    doc._.blocks = parsed
    return doc


def blocks_of(doc: Doc) -> list[Block]:
    """The blocks of a Doc: ``doc._.blocks``, or the whole Doc as one block."""
    return doc._.blocks or [Block(0, len(doc), doc._.block_kind, 0, 0)]


class BlockBounds:
    """Starts a sentence at the first token of every block and at every separator (one array
    read and written: setting ``Token.is_sent_start`` one by one scans the Doc each time)."""

    def __call__(self, doc: Doc) -> Doc:
        blocks = doc._.blocks
        if blocks:
            starts = doc.to_array(SENT_START)
            for b in blocks:
                starts[b.start] = 1
                if b.end < len(doc):
                    starts[b.end] = 1
            doc.from_array([SENT_START], starts.reshape(-1, 1))
        return doc


@Language.factory("block_bounds")
def make_block_bounds(nlp: Language, name: str) -> BlockBounds:
    """spaCy factory: no configuration."""
    return BlockBounds()
