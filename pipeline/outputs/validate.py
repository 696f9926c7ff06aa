"""Validate: every output table against its great-expectations suite in expectations/.

Suites are plain JSON (``{"name": ..., "expectations": [{"type": ..., "kwargs": ...}]}``), one
per table, so reviewers can read and extend them. A value written ``"$name"`` (or ``{$name}`` inside a regex) is a vocabulary of
the rule set the audit ran with (``vocabularies``: treatment ids, aspects, claim types, ...), so a
rule folder given with ``--rules`` validates against its own vocabulary. great_expectations is
imported here only (it takes seconds to import), and runs in an ephemeral context: no network,
no files of its own.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from .. import config, io


class ValidationFailed(RuntimeError):
    """A table broke its expectations; the message names the table and the expectations."""


def vocabularies(rules) -> dict[str, list]:
    """The named value sets suites may refer to as "$name", from a RuleSet."""
    return {
        "treatments": sorted(rules.treatment_ids() | {config.NO_TREATMENT, ""}),
        "aspects": sorted(rules.aspects.decl),
        "claim_types": list(config.CLAIM_TYPES),
        "families": sorted(config.COMPLIANCE_FAMILIES),
    }


def _named(name: str, names: dict[str, list]) -> list:
    if name not in names:
        raise ValueError(f"unknown vocabulary '${name}' in an expectation suite (known: {sorted(names)})")
    return names[name]


def _fill(value, names: dict[str, list]):
    """Replace "$name" strings of a suite by the named vocabulary, and "{$name}" inside a regex
    by an alternation of its words (recursively)."""
    if isinstance(value, str) and value.startswith("$"):
        return _named(value[1:], names)
    if isinstance(value, str) and "{$" in value:
        return re.sub(r"\{\$(\w+)\}", lambda m: "(?:" + "|".join(
            re.escape(str(w)) for w in _named(m.group(1), names) if w) + ")", value)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def load_suite(table: str, folder: Path = config.EXPECTATIONS_DIR, names: dict | None = None) -> dict:
    """The suite JSON for a table (expectations/<table>.json), vocabularies filled in."""
    path = Path(folder) / f"{table}.json"
    return _fill(io.read_json(path), names or {})


def validate_tables(tables: dict[str, pd.DataFrame], rules=None,
                    folder: Path = config.EXPECTATIONS_DIR) -> dict:
    """Run each table's suite; returns a deterministic summary {table: {success, results}}.
    ``rules``: the RuleSet whose vocabularies "$name" values stand for (default rules)."""
    from ..nlp import RuleSet

    names = vocabularies(rules or RuleSet.load())
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("audit")
    summary = {}
    for name, df in sorted(tables.items()):
        suite = context.suites.add_or_update(gx.ExpectationSuite(**load_suite(name, folder, names)))
        asset = source.add_dataframe_asset(name=name)
        batch_def = asset.add_batch_definition_whole_dataframe(name)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        result = definition.run(batch_parameters={"dataframe": df})
        rows = []
        for r in result.results:
            cfg = r.expectation_config
            rows.append({
                "expectation": cfg.type,
                "column": cfg.kwargs.get("column", ""),
                "success": bool(r.success),
                "unexpected_count": r.result.get("unexpected_count"),
                "examples": [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
            })
        rows.sort(key=lambda x: (x["expectation"], x["column"]))
        summary[name] = {"success": bool(result.success), "rows": len(df), "results": rows}
    return summary


def failures(summary: dict) -> list[str]:
    """Readable lines for every failed expectation: 'claims: expect_... (column x): 2 unexpected'."""
    out = []
    for table, res in sorted(summary.items()):
        for r in res["results"]:
            if not r["success"]:
                col = f" (column {r['column']})" if r["column"] else ""
                ex = f", e.g. {r['examples']}" if r["examples"] else ""
                out.append(f"{table}: {r['expectation']}{col} failed: "
                           f"{r['unexpected_count']} unexpected{ex}")
    return out
