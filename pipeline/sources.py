"""The articles of a folder and its optional sources.csv, as tables: the raw files screened for
duplicates, the titles sources.csv gives, and its main treatments (an override of the inferred
ones). Shared by the local engine (``audit``) and the Dask engine."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from . import io


def read_raw(raw_dir: Path, recursive: bool = False) -> pd.DataFrame:
    """Raw files as a table (source_id, file, data, problem), in name order (small folders, tests)."""
    return raw_frame(list(screen_raw(io.iter_articles(raw_dir, recursive))))


def raw_frame(files: list[io.RawFile]) -> pd.DataFrame:
    """Raw files as a table: source_id, file, data (bytes or None), problem."""
    rows = [{"source_id": r.source_id, "file": r.name, "data": r.data, "problem": r.problem}
            for r in files]
    return pd.DataFrame(rows, columns=["source_id", "file", "data", "problem"])


def screen_raw(files: Iterable[io.RawFile]) -> Iterator[io.RawFile]:
    """Mark files that would be audited twice: identical bytes, or a source id already used.

    The first file in name order is audited; a later copy becomes a problem naming the first,
    so totals are not counted twice and claim ids stay unique. Streams: keeps only hashes.
    """
    by_digest: dict[str, str] = {}
    by_source: dict[str, str] = {}
    for f in files:
        if f.problem is None:
            digest = hashlib.sha1(f.data).hexdigest()
            if digest in by_digest:
                f = replace(f, data=None, problem=f"duplicate of {by_digest[digest]} "
                                                  f"(identical content); not audited again")
            elif f.source_id in by_source:
                f = replace(f, data=None, problem=f"same source id {f.source_id!r} as "
                                                  f"{by_source[f.source_id]}; rename one; not audited")
            else:
                by_digest[digest] = f.name
        by_source.setdefault(f.source_id, f.name)
        yield f


def with_source_titles(articles: pd.DataFrame, sources: pd.DataFrame | None) -> pd.DataFrame:
    """Articles titled by sources.csv where it gives a title (it outranks the page's own)."""
    if sources is None or "title" not in sources or not len(articles):
        return articles
    given = {s: str(t).strip() for s, t in zip(sources["source_id"], sources["title"]) if str(t).strip()}
    return articles.assign(title=[given.get(s, t) for s, t in zip(articles["source_id"], articles["title"])])


def main_treatments(sources: pd.DataFrame | None) -> dict[str, str]:
    """The optional main treatment per source from sources.csv (an override of the inferred one)."""
    if sources is not None and "main_treatment" in sources:
        return dict(zip(sources["source_id"], sources["main_treatment"]))
    return {}
