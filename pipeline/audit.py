"""The whole audit: read a folder of articles, run every stage, validate, write, report.

This is the only place that wires stages together; each stage stays a pure function, and
reading and writing go through ``pipeline.io``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import config, io
from .assertions import annotate_claims
from .contradict import find_contradictions
from .evidence import check_evidence, normalise_evidence
from .extract import extract
from .flag import add_flags, flags_table
from .ingest import ingest
from .nlp import build_nlp
from .segment import segment
from .tag import claims_table, tag


@dataclass
class AuditResult:
    """What an audit produced, for the CLI and tests."""

    claims: pd.DataFrame
    contradictions: pd.DataFrame
    problems: pd.DataFrame
    validation: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    review: pd.DataFrame | None = None  # status of every review decision (unchanged, stale, ...)


def read_raw(raw_dir: Path) -> pd.DataFrame:
    """Raw files as a table (source_id, file, data, problem), in name order."""
    rows = [{"source_id": r.source_id, "file": r.path.name, "data": r.data, "problem": r.problem}
            for r in io.iter_articles(raw_dir)]
    return pd.DataFrame(rows, columns=["source_id", "file", "data", "problem"])


def analyse(raw: pd.DataFrame, sources: pd.DataFrame | None = None, nlp=None,
            timings: dict | None = None, evidence: pd.DataFrame | None = None,
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stages from raw bytes to (claims, contradictions, problems); no I/O. ``evidence`` is the
    curated evidence table (None or empty: every claim is no_evidence)."""
    timings = {} if timings is None else timings
    nlp = nlp or build_nlp()

    def timed(name, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return out

    docs, problems = timed("ingest", ingest, raw)
    blocks = timed("segment", segment, docs)
    units = timed("extract", extract, docs, blocks, nlp)
    main = {}
    if sources is not None and "main_treatment" in sources:
        main = dict(zip(sources["source_id"], sources["main_treatment"]))
    tagged = timed("tag", tag, units, main)
    claims = claims_table(tagged) if len(tagged) else pd.DataFrame(columns=config.CLAIM_COLUMNS)
    claims = timed("assertions", annotate_claims, claims, nlp)
    evidence = timed("evidence", normalise_evidence, evidence, nlp)
    claims = timed("evidence", check_evidence, claims, evidence)
    claims = timed("flag", add_flags, claims, docs, nlp)
    contradictions = timed("contradict", find_contradictions, claims)
    return claims, contradictions, problems


def merge_review(claims: pd.DataFrame, decisions_path: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims with review_status/review_note from the reviewers' decisions file (read, never
    written here), and the status of every decision (unchanged, stale, orphaned, superseded)."""
    from .review import ReviewError, check_decisions, empty_decisions, merge_decisions

    try:
        decisions = io.read_decisions(decisions_path) if decisions_path else None
    except ValueError as exc:
        raise ReviewError(str(exc)) from None
    decisions = (empty_decisions() if decisions is None
                 else check_decisions(decisions, str(decisions_path)))
    return merge_decisions(claims, decisions)


def run_audit(raw_dir: Path, out_dir: Path, *, validate: bool = True, report: bool = True,
              decisions: Path | None = config.DECISIONS_FILE) -> AuditResult:
    """Audit every article in raw_dir into out_dir. Raises ValidationFailed before writing tables
    when a table breaks its expectations (the previous outputs stay); ReviewError when the
    decisions file is malformed."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    raw = read_raw(raw_dir)
    timings["read"] = time.perf_counter() - t0
    evidence = io.read_evidence(raw_dir)
    claims, contradictions, problems = analyse(raw, io.read_sources(raw_dir), timings=timings,
                                               evidence=evidence)
    claims, review_status = merge_review(claims, decisions)
    result = AuditResult(claims, contradictions, problems, timings=timings, review=review_status)
    if validate:
        from .validate import ValidationFailed, failures, validate_tables

        t0 = time.perf_counter()
        result.validation = validate_tables({"claims": claims, "contradictions": contradictions,
                                             "evidence": evidence})
        timings["validate"] = time.perf_counter() - t0
        io.write_json(out_dir / config.VALIDATION_JSON, result.validation)
        failed = failures(result.validation)
        if failed:
            raise ValidationFailed("validation failed, tables not written:\n  " + "\n  ".join(failed))
    t0 = time.perf_counter()
    io.write_csv(out_dir / config.CLAIMS_CSV, claims)
    io.write_parquet(out_dir / config.CLAIMS_PARQUET, claims)
    io.write_csv(out_dir / config.CONTRADICTIONS_CSV, contradictions)
    io.write_csv(out_dir / config.PROBLEMS_CSV, problems)
    io.write_csv(out_dir / config.EVIDENCE_CSV, evidence)
    io.write_csv(out_dir / config.FLAGS_CSV, flags_table(claims))
    io.write_csv(out_dir / config.REVIEW_STATUS_CSV, review_status)
    timings["write"] = time.perf_counter() - t0
    result.outputs = [out_dir / n for n in (config.CLAIMS_CSV, config.CLAIMS_PARQUET,
                                            config.CONTRADICTIONS_CSV, config.PROBLEMS_CSV,
                                            config.EVIDENCE_CSV, config.FLAGS_CSV,
                                            config.REVIEW_STATUS_CSV)]
    from .workbook import build_workbook

    t0 = time.perf_counter()
    io.write_xlsx(out_dir / config.CLAIMS_REVIEW_XLSX, build_workbook(io.read_output_tables(out_dir)))
    timings["workbook"] = time.perf_counter() - t0
    result.outputs.append(out_dir / config.CLAIMS_REVIEW_XLSX)
    if report:
        from .report import render_report

        t0 = time.perf_counter()
        io.write_text(out_dir / config.REPORT_HTML, render_report(out_dir, out_dir))
        timings["report"] = time.perf_counter() - t0
        result.outputs.append(out_dir / config.REPORT_HTML)
    return result
