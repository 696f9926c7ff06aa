"""Shared fixtures: the real rule-based pipeline on spacy.blank("en"), and small helpers."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline import config
from pipeline.extract import extract
from pipeline.ingest import ingest
from pipeline.nlp import build_nlp
from pipeline.segment import segment
from pipeline.tag import tag

SEEDS = config.RAW_DIR


@pytest.fixture(scope="session")
def nlp():
    return build_nlp()


def raw_frame(articles: dict[str, str | bytes]) -> pd.DataFrame:
    """A raw-files table from {file name: text or bytes}."""
    rows = []
    for name, body in articles.items():
        data = body.encode("utf-8") if isinstance(body, str) else body
        rows.append({"source_id": name.rsplit(".", 1)[0], "file": name, "data": data, "problem": None})
    return pd.DataFrame(rows)


@pytest.fixture()
def run_text(nlp):
    """Tag literal articles: run_text({"a.txt": "..."}) -> all units, labelled."""
    def run(articles: dict[str, str | bytes], main: dict | None = None) -> pd.DataFrame:
        docs, problems = ingest(raw_frame(articles))
        assert problems.empty, problems.to_dict("records")
        units = extract(docs, segment(docs), nlp)
        return tag(units, main or {})
    return run


def claim(units: pd.DataFrame, startswith: str) -> pd.Series:
    """The one claim unit whose text starts with the given words."""
    hits = units[units["is_claim"] & units["text"].str.startswith(startswith)]
    assert len(hits) == 1, (startswith, units[["text", "is_claim"]].to_string())
    return hits.iloc[0]
