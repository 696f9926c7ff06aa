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

from .. import config, io, lifecycle


class ValidationFailed(RuntimeError):
    """A table broke its expectations; the message names the table and the expectations."""


def vocabularies(rules) -> dict[str, list]:
    """The named value sets suites may refer to as "$name", from a RuleSet."""
    return {
        "treatments": sorted(rules.treatment_ids() | {config.NO_TREATMENT, ""}),
        "aspects": sorted(rules.aspects.decl),
        "claim_types": list(config.CLAIM_TYPES),
        "families": sorted(config.COMPLIANCE_FAMILIES),
        "treatments_and_none": sorted(rules.treatment_ids() | {config.NO_TREATMENT}),
        "evidence_levels": list(config.EVIDENCE_LEVELS),
        "evidence_levels_or_empty": [*config.EVIDENCE_LEVELS, ""],
        "evidence_statuses": list(config.EVIDENCE_STATUSES),
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


class Validator:
    """The suites of expectations/, in one great-expectations context, ready to validate
    tables one at a time or in chunks (a table too large to hold: ``merge_results``)."""

    def __init__(self, rules=None, folder: Path = config.EXPECTATIONS_DIR):
        from ..nlp import RuleSet

        self.names = vocabularies(rules or RuleSet.load())
        self.folder = Path(folder)
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx

        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine as engine

        # great-expectations fingerprints every DataFrame under HASH_THRESHOLD bytes (a hash of
        # every cell, kept in the batch's metadata, which nothing here reads): 0.5 s for the
        # claims of 10,000 articles. No fingerprint is made.
        if hasattr(engine, "HASH_THRESHOLD"):
            engine.HASH_THRESHOLD = 0

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_or_update_pandas("audit")
        self.definitions: dict[str, object] = {}

    def _definition(self, name: str):
        """The validation definition of a table's suite, made on first use."""
        if name not in self.definitions:
            gx = self.gx
            suite = self.context.suites.add_or_update(
                gx.ExpectationSuite(**load_suite(name, self.folder, self.names)))
            batch_def = self.source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
            self.definitions[name] = self.context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        return self.definitions[name]

    def validate(self, name: str, df: pd.DataFrame) -> dict:
        """One table (or chunk) against its suite: {success, rows, results}, results sorted."""
        result = self._definition(name).run(batch_parameters={"dataframe": df})
        self._forget_results()
        rows = []
        for r in result.results:
            cfg = r.expectation_config
            rows.append({
                "expectation": cfg.type,
                "column": cfg.kwargs.get("column", ""),
                "success": bool(r.success),
                "unexpected_count": r.result.get("unexpected_count"),
                "examples": [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:EXAMPLES]],
            })
        rows.sort(key=lambda x: (x["expectation"], x["column"]))
        return {"success": bool(result.success), "rows": len(df), "results": rows}

    def _forget_results(self) -> None:
        """Drop the results great-expectations keeps of every run (its context stores each in
        memory): the audit keeps its own summary, and the Dask engine's finish validates a
        chunk at a time, a stored result per chunk for the whole run."""
        store = self.context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)


EXAMPLES = 5   # unexpected values shown per failed expectation

_APART: dict = {}   # the Validator of a validator process (``ValidatorProcess``)


def _start_apart(rules_folder: str, folder: str, parent_pid: int) -> None:
    """A validator process's start: it exits with the audit; its Validator is made here."""
    from ..nlp import RuleSet

    lifecycle.exit_with_parent(parent_pid)
    _APART["validator"] = Validator(RuleSet.load(rules_folder), Path(folder))


def _validate_apart(name: str, df: pd.DataFrame) -> dict:
    return _APART["validator"].validate(name, df)


class ValidatorProcess:
    """A ``Validator`` in a process of its own, for a finish that validates chunk by chunk
    (the Dask engine's): the audit reads, formats and writes the next chunk while this process
    validates the last one, on another core, and great-expectations (its import, context and
    working set) never enters the audit's process. ``submit`` hands over a chunk and returns a
    future; ``validate`` waits for the answer, as ``Validator.validate`` does. Starting it
    returns at once: the process imports great-expectations while the audit goes on."""

    def __init__(self, rules, folder: Path = config.EXPECTATIONS_DIR):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_apart,
                                        initargs=(str(rules.folder), str(folder), os.getpid()))
        self.pool.submit(int)   # the process starts now (a pool starts it on the first task)

    def submit(self, name: str, df: pd.DataFrame):
        """A future of ``Validator.validate(name, df)`` in the validator process."""
        return self.pool.submit(_validate_apart, name, df)

    def validate(self, name: str, df: pd.DataFrame) -> dict:
        return self.submit(name, df).result()

    def close(self) -> float | None:
        """Stop the process; returns its peak memory in MB (None when it died)."""
        try:
            peak = self.pool.submit(lifecycle.peak_mb).result()
        except Exception:   # a broken pool: its fault was raised where a result was awaited
            peak = None
        self.pool.shutdown(wait=True, cancel_futures=True)
        return peak


def hashes(values: pd.Series):
    """64-bit hashes of a column's values as text (``repeated_hashes`` compares them)."""
    return pd.util.hash_array(values.astype(str).to_numpy(object))


def repeated_hashes(chunks: list) -> tuple[int, set[int]]:
    """(rows whose value repeats, the repeated hashes) over the hashes (``hashes``) of one
    column's chunks together: what ``expect_column_values_to_be_unique`` counts on the whole
    column, for 8 bytes a row. The chunks are consumed (the list is emptied) and the hashes
    sorted in place, so the test holds one copy of them, not four."""
    import numpy as np

    if not chunks:
        return 0, set()
    values = np.concatenate(chunks)
    chunks.clear()
    values.sort()
    repeat = values[1:] == values[:-1]
    if not repeat.any():
        return 0, set()
    twice = np.unique(values[1:][repeat])
    lo, hi = np.searchsorted(values, twice, side="left"), np.searchsorted(values, twice, side="right")
    return int((hi - lo).sum()), set(twice.tolist())


def merge_results(chunks: list[dict], unique: dict[str, tuple[int, list[str]]] | None = None) -> dict:
    """The result of one table validated in chunks, as ``Validator.validate`` gives it on the
    whole table: counts summed, the first examples in row order, and for a column expected
    unique (``unique``: column -> (count, examples), from ``repeated_hashes``) the repeats
    across chunks instead of the chunks' own."""
    if len(chunks) == 1:
        return chunks[0]
    results = []
    for rows in zip(*(c["results"] for c in chunks)):
        counts = [r["unexpected_count"] for r in rows if r["unexpected_count"] is not None]
        row = {**rows[0], "success": all(r["success"] for r in rows),
               "unexpected_count": sum(counts) if counts else None,
               "examples": [e for r in rows for e in r["examples"]][:EXAMPLES]}
        if row["expectation"] == "expect_column_values_to_be_unique" and row["column"] in (unique or {}):
            count, shown = unique[row["column"]]
            row.update(success=count == 0, unexpected_count=count, examples=shown)
        results.append(row)
    return {"success": all(r["success"] for r in results), "rows": sum(c["rows"] for c in chunks),
            "results": results}


class ChunkedValidation:
    """One table validated a chunk at a time (``add``), giving what ``Validator.validate`` gives
    on the whole table (``result``): counts merged (``merge_results``) and each id column unique
    across chunks, checked on 8-byte hashes, the ids read again only to name a repeat. A table
    of one chunk (the local engine's) is validated as a whole: its ids are never hashed.
    ``repeats``: id column -> its repeats as ``repeated_hashes`` gives them, counted where the
    rows are (the Dask engine's cluster counts the claim ids and the groups' ids): then no
    chunk's ids are hashed here."""

    def __init__(self, validator: Validator, table: str, id_columns: tuple[str, ...],
                 repeats: dict[str, tuple[int, set[int]]] | None = None):
        self.validator, self.table, self.id_columns = validator, table, tuple(id_columns)
        self.repeats = repeats
        self.checked: list[dict] = []
        self.pending = None   # the future of the last chunk handed to a validator apart
        self.added = 0        # chunks added so far
        self.ids: dict[str, list] = {c: [] for c in self.id_columns}
        self.first: dict[str, pd.Series] | None = None   # the first chunk's ids, hashed when a second comes

    def add(self, chunk: pd.DataFrame) -> None:
        """Validate a chunk; with a validator apart (``ValidatorProcess``), hand it over and
        wait only for the chunk before it, so one chunk at a time is in the other process."""
        submit = getattr(self.validator, "submit", None)
        self._settle()
        if submit is None:
            self.checked.append(self.validator.validate(self.table, chunk))
        else:
            self.pending = submit(self.table, chunk)
        self.added += 1
        if self.repeats is not None:
            return
        if self.added == 1:
            self.first = {column: chunk[column] for column in self.id_columns}
            return
        for ids in ([self.first] if self.first is not None else []) + [chunk]:
            for column in self.id_columns:
                self.ids[column].append(hashes(ids[column]))
        self.first = None

    def _settle(self) -> None:
        """The answer of the chunk handed to a validator apart, waited for."""
        if self.pending is not None:
            self.checked.append(self.pending.result())
            self.pending = None

    def result(self, chunks) -> dict:
        """The merged result; ``chunks``: a callable giving the chunks again (read only when an
        id repeats across them)."""
        self._settle()
        if len(self.checked) < 2:
            return merge_results(self.checked)
        unique = {}
        for column in self.id_columns:
            count, twice = self.repeats[column] if self.repeats is not None else repeated_hashes(self.ids[column])
            shown = [] if not twice else [v for chunk in chunks() for v, h in zip(
                chunk[column].astype(str).tolist(), hashes(chunk[column]).tolist()) if h in twice]
            unique[column] = (count, shown[:EXAMPLES])
        return merge_results(self.checked, unique)


def validate_tables(tables: dict[str, pd.DataFrame], rules=None,
                    folder: Path = config.EXPECTATIONS_DIR) -> dict:
    """Run each table's suite; returns a deterministic summary {table: {success, rows, results}}.
    ``rules``: the RuleSet whose vocabularies "$name" values stand for (default rules)."""
    validator = Validator(rules, folder)
    return {name: validator.validate(name, df) for name, df in sorted(tables.items())}


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
