"""Lemma lookups for rules written with ``"match": "lemma"`` (spacy-lookups-data, no model).

A rule phrase written with lemmas ("reduce pore") is expanded once, when the matcher is built,
into every inflected form ("reduces pores", "reduced pore", ...), so one case-insensitive
phrase matcher finds them all and nothing is computed per token at run time.
"""
from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path


@functools.lru_cache(maxsize=1)
def lemma_table() -> dict[str, str]:
    """English lookup lemmas from spacy-lookups-data (word -> lemma), loaded once."""
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


@functools.lru_cache(maxsize=1)
def inflections() -> dict[str, list[str]]:
    """lemma -> the word forms that have it (may repeat), so a rule written as 'reduce' finds
    'reduces'. Built in one pass over the table at start-up, so kept as cheap as a loop can be."""
    out: dict[str, list[str]] = {}
    for word, lem in lemma_table().items():
        out.setdefault(lem.lower(), []).append(word.lower())
    return out


def lemma(word: str) -> str:
    """The lookup lemma of a word, lower case ('Reduces' -> 'reduce')."""
    w = word.lower()
    return lemma_table().get(w, w).lower()


@functools.lru_cache(maxsize=None)
def phrase_forms(phrase: str, limit: int = 256) -> tuple[str, ...]:
    """Every inflected form of a phrase written with lemmas, for "match": "lemma" rules.

    >>> {"reduce pores", "reduced pore", "reducing pores"} <= set(phrase_forms("reduce pore"))
    True
    """
    forms: list[str] = [""]
    table = inflections()
    for word in phrase.lower().split():
        variants = sorted({*table.get(lemma(word), ()), word, lemma(word)})
        forms = [f"{f} {v}".strip() for f in forms for v in variants][:limit]
    return tuple(dict.fromkeys(forms))
