"""Ingest: bytes in, text out, with offsets that always point into the decoded source text.

For each article we keep three strings of the same length:

- ``text``: the decoded file (what offsets refer to; BOM removed);
- ``shown``: ``text`` with markup (HTML tags, script/style, Markdown syntax) blanked to spaces;
  it is what reviewers read for .md/.html files;
- ``visible``: ``shown`` with typography normalised for matching (non-breaking spaces to spaces,
  curly quotes to straight ones, CR to space). Never shown to reviewers.

Keeping the lengths equal is what makes offsets exact without an offset map: a character at
index i in ``visible`` is the character at index i in ``text``. We scan markup with regular
expressions because neither selectolax nor trafilatura expose source offsets.
"""
from __future__ import annotations

import codecs
import html
import re

import pandas as pd

from .. import config, tables
from ..text import normalise


class IngestError(ValueError):
    """An article that cannot be turned into text (empty, binary, undecodable)."""


def utf16_without_bom(data: bytes, sample: int = 65536) -> str | None:
    """'utf-16-le' or 'utf-16-be' when bytes without a byte-order mark look like UTF-16 text
    (mostly Latin script: one of every two bytes is NUL, always on the same side), else None.

    >>> utf16_without_bom("Peels are safe.".encode("utf-16-le")), utf16_without_bom(b"ab")
    ('utf-16-le', None)
    """
    head = data[:min(sample, len(data)) // 2 * 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    if odd >= 0.6 * half and even <= 0.02 * half:
        return "utf-16-le"
    if even >= 0.6 * half and odd <= 0.02 * half:
        return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Decode article bytes: UTF-8 (with or without BOM), UTF-32 with BOM, UTF-16 with BOM or
    without it (``utf16_without_bom``), else the charset charset-normalizer finds. Raises IngestError
    for empty or binary files."""
    if not data.strip():
        raise IngestError("empty file")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc).lstrip("\ufeff"), enc
            except UnicodeDecodeError as exc:
                raise IngestError(f"starts with a {enc} byte-order mark but does not decode: {exc}") from None
    if b"\x00" in data[:65536]:
        encoding = utf16_without_bom(data)
        try:   # a cut-off last byte (odd length) is dropped
            text = data[:len(data) // 2 * 2].decode(encoding) if encoding else None
        except UnicodeDecodeError:
            text = None
        if text is None or _control_share(text) > 0.01 or "\x00" in text:
            raise IngestError("binary file (contains NUL bytes), not an article")
        return text, encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise IngestError("not text: no character encoding decodes it")
    text = str(best)
    if _control_share(text) > 0.01:
        raise IngestError("binary file (control characters), not an article")
    return text, best.encoding


def _control_share(text: str, sample: int = 65536) -> float:
    """Share of control characters (other than line breaks, tab, form feed) in the text's start."""
    head = text[:sample]
    return sum(1 for ch in head if ord(ch) < 32 and ch not in "\r\n\t\f") / max(1, len(head))


# --- markup -------------------------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "tr", "td", "th", "table", "thead", "tbody", "section", "article", "header", "footer", "nav",
    "aside", "main", "blockquote", "pre", "figure", "figcaption", "form", "body", "html", "title",
    "address", "details", "summary",
}
_HINT_TAGS = {"h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading",
              "h5": "heading", "h6": "heading", "li": "list_item", "dt": "heading"}
_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|head|noscript|template|svg)\b[^>]*>.*?(?:</\1\s*>|\Z)"
    r"|<!\[CDATA\[.*?\]\]>|<![^>]*>|<\?.*?\?>"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
    r"|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});",
    re.S | re.I,
)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)


def _blank(s: str, newline: bool = False) -> str:
    """Spaces of the same length as s, keeping its newlines; a block boundary starts with two."""
    out = re.sub(r"[^\n]", " ", s)
    if newline and len(out) >= 2:
        out = "\n\n" + out[2:]
    return out


def mask_html(text: str) -> tuple[str, list[tuple[int, int, str]], str]:
    """Blank HTML markup to spaces (block tags to a paragraph break), decode entities in place.

    Returns the masked text, hints [(start, end, kind)] for headings and list items, and the
    page title (metadata, not a claim).
    """
    out: list[str] = []
    hints: list[tuple[int, int, str]] = []
    open_at: dict[str, int] = {}
    pos = 0
    for m in _HTML_TOKEN.finditer(text):
        out.append(text[pos:m.start()])
        tok = m.group()
        if tok.startswith("&"):
            ch = html.unescape(tok)
            out.append(ch + " " * (len(tok) - len(ch)) if len(ch) <= len(tok) else _blank(tok))
        else:
            name = (m.group(3) or m.group(1) or "").lower()
            closing = m.group(2) == "/"
            out.append(_blank(tok, newline=name in _BLOCK_TAGS))
            kind = _HINT_TAGS.get(name)
            if kind and not closing:
                open_at[name] = m.end()
            elif kind and closing and name in open_at:
                hints.append((open_at.pop(name), m.start(), kind))
        pos = m.end()
    out.append(text[pos:])
    title_match = _TITLE.search(text)
    title = html.unescape(re.sub(r"\s+", " ", title_match.group(1))).strip() if title_match else ""
    return "".join(out), sorted(hints), title


_MD_HEADING = re.compile(r"^( {0,3}#{1,6}[ \t]+)(.*?)([ \t]+#+)?[ \t]*$")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_MD_LIST = re.compile(r"^([ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+)")
_MD_QUOTE = re.compile(r"^([ \t]*>[ \t]?)")
_MD_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_MD_INLINE = re.compile(
    r"!\[[^\]]*\]\([^)]*\)"          # images: blank whole
    r"|(\[)([^\]]*)(\]\([^)]*\))"     # links: keep the text
    r"|(\*\*|__|\*|_(?=\w)|(?<=\w)_|`+)"  # emphasis and code markers
    r"|<[^>\n]+>",                     # inline HTML
)


def _mask_md_inline(line: str) -> str:
    def repl(m: re.Match) -> str:
        if m.group(2) is not None:
            return " " * len(m.group(1)) + m.group(2) + " " * len(m.group(3))
        return " " * len(m.group())
    return _MD_INLINE.sub(repl, line)


def mask_markdown(text: str) -> tuple[str, list[tuple[int, int, str]], str]:
    """Blank Markdown syntax to spaces; headings and list items become hints.

    Returns the masked text, hints [(start, end, kind)] and the first heading as title.
    """
    out: list[str] = []
    hints: list[tuple[int, int, str]] = []
    title = ""
    offset = 0
    in_fence = False
    lines = text.splitlines(keepends=True)
    for i, raw_line in enumerate(lines):
        line = raw_line.rstrip("\r\n")
        ending = raw_line[len(line):]
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            out.append(_blank(line) + ending)
        elif in_fence:
            out.append(_blank(line) + ending)
        elif (h := _MD_HEADING.match(line)):
            body_start = len(h.group(1))
            body_end = body_start + len(h.group(2))
            masked = _blank(line[:body_start]) + _mask_md_inline(line[body_start:body_end]) + _blank(line[body_end:])
            hints.append((offset + body_start, offset + body_end, "heading"))
            title = title or h.group(2).strip()
            out.append(masked + ending)
        elif _MD_SETEXT.match(line) and i > 0 and lines[i - 1].strip() and out:
            prev_start = offset - len(lines[i - 1])
            hints.append((prev_start, prev_start + len(lines[i - 1].rstrip("\r\n")), "heading"))
            out.append(_blank(line) + ending)
        else:
            prefix = ""
            if (q := _MD_QUOTE.match(line)):
                prefix = q.group(1)
            rest = line[len(prefix):]
            if (li := _MD_LIST.match(rest)):
                prefix += li.group(1)
                hints.append((offset + len(prefix), offset + len(line), "list_item"))
            out.append(_blank(prefix) + _mask_md_inline(line[len(prefix):]) + ending)
        offset += len(raw_line)
    return "".join(out), hints, title


def file_format(name: str) -> str:
    """'html', 'markdown' or 'text', from the file suffix."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    return {"html": "html", "htm": "html", "md": "markdown", "markdown": "markdown"}.get(suffix, "text")


def ingest_one(source_id: str, file: str, data: bytes) -> dict:
    """Decode and unmark one article; raises IngestError with the problem in plain words."""
    text, encoding = decode(data)
    fmt = file_format(file)
    if fmt == "html":
        shown, hints, title = mask_html(text)
    elif fmt == "markdown":
        shown, hints, title = mask_markdown(text)
    else:
        shown, hints, title = text, [], ""
    assert len(shown) == len(text)
    visible = normalise(shown)
    if not re.search(r"[^\W\d_]{2,}", visible):
        raise IngestError("no text: the file has no words")
    return {
        "source_id": source_id, "file": file, "format": fmt, "encoding": encoding,
        "text": text, "shown": shown, "visible": visible, "hints": hints, "title": title,
    }


_FUNCTION_WORDS = frozenset("""
the a an and or but of to in on at for with by from as is are was were be been it its this that
these those not no can may will would should do does did have has had you your we our they their
he she his her if than then so which who what when how there more most also all any some into
""".split())
_WORDS = re.compile(r"[^\W\d_]+")


def english_share(visible: str, sample: int = 20000) -> tuple[float, int]:
    """Share of English function words among the words of the first ``sample`` characters.

    English prose runs at 35-50 %; other languages, code and word lists stay near zero.
    Cheap (no model) and good enough to refuse text the English rules cannot read.

    >>> english_share("The peel is safe and it works for most skin types.")[0] > 0.3
    True
    """
    words = _WORDS.findall(visible[:sample].lower())
    if not words:
        return 0.0, 0
    return sum(w in _FUNCTION_WORDS for w in words) / len(words), len(words)


def check_language(doc: dict) -> None:
    """Raise IngestError when a long enough article does not look like English."""
    share, n = english_share(doc["visible"])
    if n >= config.ENGLISH_MIN_WORDS and share < config.ENGLISH_MIN_SHARE:
        raise IngestError(f"does not look like English ({share:.0%} English function words, "
                          f"expected at least {config.ENGLISH_MIN_SHARE:.0%}); not audited, "
                          f"the rules are English")


def ingest(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn raw files (source_id, file, data, problem) into documents; problems go aside.

    Returns (documents, problems): one bad file never stops the others.
    """
    docs, problems = [], []
    for row in raw.itertuples(index=False):
        if isinstance(row.problem, str) and row.problem:  # NaN (pandas' missing string) is no problem
            problems.append({"file": row.file, "problem": row.problem})
            continue
        try:
            doc = ingest_one(row.source_id, row.file, row.data)
            check_language(doc)
            docs.append(doc)
        except IngestError as exc:
            problems.append({"file": row.file, "problem": str(exc)})
    cols = ["source_id", "file", "format", "encoding", "text", "shown", "visible", "hints", "title"]
    return (pd.DataFrame(docs, columns=cols),
            pd.DataFrame(problems, columns=tables.PROBLEMS))
