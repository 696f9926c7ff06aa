"""Shared fixtures: the real rule-based pipeline on spacy.blank("en"), and small helpers."""
from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile

# the tests' own rule cache (config.CACHE_DIR), not the user's; set before pipeline is imported
if "CLAIMS_AUDIT_CACHE" not in os.environ:
    os.environ["CLAIMS_AUDIT_CACHE"] = tempfile.mkdtemp(prefix="claims-audit-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CLAIMS_AUDIT_CACHE"], True)

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pipeline import tables  # noqa: E402
from pipeline import config  # noqa: E402
from pipeline.analyse import label_units  # noqa: E402
from pipeline.nlp import RuleSet, build_nlp  # noqa: E402

SEEDS = config.RAW_DIR


@pytest.fixture(autouse=True)
def thaw():
    """The audit and check commands freeze the heap as they end (lifecycle.quiet_exit): run in
    this process, they would leave it frozen for the tests after them."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return RuleSet.load()


@pytest.fixture(scope="session")
def nlp(rules):
    return build_nlp(rules)


def raw_frame(articles: dict[str, str | bytes]) -> pd.DataFrame:
    """A raw-files table from {file name: text or bytes}."""
    rows = []
    for name, body in articles.items():
        data = body.encode("utf-8") if isinstance(body, str) else body
        rows.append({"source_id": name.rsplit(".", 1)[0], "file": name, "data": data, "problem": None})
    return pd.DataFrame(rows)


@pytest.fixture()
def run_text(rules, nlp):
    """Tag literal articles through the audit's wiring: run_text({"a.txt": "..."}) -> all
    units (claims and not), labelled."""
    def run(articles: dict[str, str | bytes], main: dict | None = None) -> pd.DataFrame:
        lab = label_units(raw_frame(articles), rules, main, nlp)
        assert lab.problems.empty, lab.problems.to_dict("records")
        return lab.units
    return run


def claim(units: pd.DataFrame, startswith: str) -> pd.Series:
    """The one claim unit whose text starts with the given words."""
    hits = units[units["is_claim"] & units["text"].str.startswith(startswith)]
    assert len(hits) == 1, (startswith, units[["text", "is_claim"]].to_string())
    return hits.iloc[0]


def split_assertions(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A literal claims table whose ``assertions`` column is written as people read it
    ("side_effects=named:redness|redness;pain=painless|painless") -> (claims, long assertions
    table). For tiny test fixtures only: the pipeline itself never parses this text."""
    rows = []
    for cid, spec in zip(frame["claim_id"], frame["assertions"]):
        for item in filter(None, str(spec).split(";")):
            head, _, words = item.partition("|")
            aspect, _, value = head.partition("=")
            base, _, qualifier = value.partition(":")
            rows.append((cid, aspect, base, qualifier, words, False))
    from pipeline import tables
    return frame.drop(columns="assertions"), pd.DataFrame(rows, columns=tables.ASSERTIONS)


FAILED_CHECK = {"expectation": "expect_x", "column": "text", "success": False,
                "unexpected_count": 1, "examples": []}


@pytest.fixture()
def stub_validator(monkeypatch):
    """Put a stand-in for great-expectations (seconds to import) in the audit's place:
    stub_validator(run="one") gives every table {"success": True, ..., "run": "one"};
    stub_validator(fail=True) fails every table on one expectation (FAILED_CHECK)."""
    import pipeline.outputs.validate as validate

    def install(run: str = "", fail: bool = False) -> None:
        class Stub:
            def __init__(self, *args, **kwargs):
                pass

            def validate(self, name: str, df: pd.DataFrame) -> dict:
                return {"success": not fail, "rows": len(df),
                        "results": [FAILED_CHECK] if fail else [], "run": run}

            def close(self) -> None:   # a ValidatorProcess's
                pass

        monkeypatch.setattr(validate, "Validator", Stub)
        monkeypatch.setattr(validate, "ValidatorProcess", Stub)   # the Dask engine's
    return install
