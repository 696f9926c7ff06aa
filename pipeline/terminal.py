"""Text from data made safe for a terminal: control characters shown as escapes, rich markup
escaped.

File names, claim text, rule ids and messages come from files anyone can write. Printed raw,
an escape sequence (``ESC[2J``) clears or rewrites the screen, a bidirectional override
reorders what the reader sees, and with rich a name like ``[blink]x.txt`` or ``[/old]`` is
read as markup (hidden, or a crash). Everything the CLI prints from data goes through ``shown``
(plain text) or ``markup`` (text inside a rich markup string).
"""
from __future__ import annotations

import re

from rich.markup import escape

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 and C1 controls, DEL, and the Unicode bidirectional controls (embeddings, overrides,
# isolates, marks), which can make text read differently from its bytes ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape_char(m: re.Match) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def shown(value) -> str:
    """Any value as one line of plain text with every control character as an escape.

    >>> shown("a\\x1b[2Jb\\nc")
    'a\\\\x1b[2Jb\\\\nc'
    """
    return _UNSAFE.sub(_escape_char, str(value))


def markup(value) -> str:
    """Any value for a rich markup string: controls escaped, then rich's markup escaped.

    >>> markup("[blink]x.txt")
    '\\\\[blink]x.txt'
    """
    return escape(shown(value))


def shown_lines(text) -> str:
    """Text of several lines (the line breaks are its own) with each line passed through
    ``shown``."""
    return "\n".join(shown(line) for line in str(text).split("\n"))


def markup_lines(text) -> str:
    """A message of several lines (the line breaks are the message's own) for a rich markup
    string: each line escaped by ``markup``."""
    return "\n".join(markup(line) for line in str(text).split("\n"))


def shown_tree(obj):
    """A copy of nested dicts, lists and tuples with every string passed through ``shown``
    (for renderers that print a whole report)."""
    if isinstance(obj, str):
        return shown(obj)
    if isinstance(obj, dict):
        return {k: shown_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(shown_tree(v) for v in obj)
    return obj
