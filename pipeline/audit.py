"""The whole audit: read a folder of articles, run every stage, validate, write, report.

The stages are wired once, in ``pipeline.analyse``; this module streams a folder through them
in batches (in this process or in worker processes), then validates and writes the outputs.
Reading and writing go through ``pipeline.io``.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd

from . import config, io, tables
from .analyse import analyse_articles, cross_check, merge
from .nlp import RuleSet, build_nlp
from .stages.evidence import Evidence, normalise_evidence


@dataclass
class AuditResult:
    """What an audit produced, for the CLI and tests."""

    tables: tables.Tables
    evidence: pd.DataFrame
    validation: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    review: pd.DataFrame | None = None  # status of every review decision (unchanged, stale, ...)

    @property
    def claims(self) -> pd.DataFrame:
        return self.tables.claims

    @property
    def contradictions(self) -> pd.DataFrame:
        return self.tables.contradictions

    @property
    def problems(self) -> pd.DataFrame:
        return self.tables.problems


def read_raw(raw_dir: Path) -> pd.DataFrame:
    """Raw files as a table (source_id, file, data, problem), in name order (small folders, tests)."""
    return _frame(list(screen_raw(io.iter_articles(raw_dir))))


def _frame(files: list[io.RawFile]) -> pd.DataFrame:
    rows = [{"source_id": r.source_id, "file": r.path.name, "data": r.data, "problem": r.problem}
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
                by_digest[digest] = f.path.name
        by_source.setdefault(f.source_id, f.path.name)
        yield f


def _batches(files: Iterable[io.RawFile], size: int) -> Iterator[pd.DataFrame]:
    """Raw-file tables of at most ``size`` articles, in order (only one batch of bytes in memory)."""
    chunk: list[io.RawFile] = []
    for f in files:
        chunk.append(f)
        if len(chunk) >= size:
            yield _frame(chunk)
            chunk = []
    if chunk:
        yield _frame(chunk)


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


# --- worker processes ----------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(rules_folder: str) -> None:
    """Build the rule set and spaCy pipeline once per worker process (spawn-safe)."""
    rules = RuleSet.load(rules_folder)
    _WORKER.update(rules=rules, nlp=build_nlp(rules))


def _work(raw: pd.DataFrame, main: dict[str, str], evidence: Evidence) -> tuple[tables.Tables, dict]:
    timings: dict[str, float] = {}
    out = analyse_articles(raw, _WORKER["rules"], evidence, main, _WORKER["nlp"], timings)
    return out, timings


def _run_batches(batches: Iterator[pd.DataFrame], rules: RuleSet, main: dict[str, str], workers: int,
                 on_batch: Callable[[tables.Tables, dict, int], None], evidence: Evidence) -> None:
    """Run analyse_articles over the batches, in this process or in ``workers`` processes.

    Results are handed to ``on_batch`` in batch order whatever order workers finish in, and at
    most 2 x workers batches are in flight, so memory stays bounded on any corpus size.
    Workers return plain tables, never spaCy Docs.
    """
    if workers <= 1:
        nlp = build_nlp(rules)
        for raw in batches:
            timings: dict[str, float] = {}
            on_batch(analyse_articles(raw, rules, evidence, main, nlp, timings), timings, len(raw))
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(str(rules.folder),)) as pool:
        pending: deque = deque()
        for raw in batches:
            sub = {k: v for k, v in main.items() if k in set(raw["source_id"])}
            pending.append((pool.submit(_work, raw, sub, evidence), len(raw)))
            while len(pending) >= 2 * workers:
                future, n = pending.popleft()
                on_batch(*future.result(), n)
        while pending:
            future, n = pending.popleft()
            on_batch(*future.result(), n)


def audit_folder(raw_dir: Path, rules: RuleSet, *, workers: int = 1,
                 batch_size: int = config.AUDIT_BATCH_ARTICLES,
                 progress: Callable[[int, int], None] | None = None,
                 timings: dict | None = None, evidence: pd.DataFrame | None = None) -> tables.Tables:
    """Stream the articles of raw_dir in batches through the per-article stages, then find
    contradictions once over all claims. Only the per-claim rows are kept between batches."""
    timings = {} if timings is None else timings
    ev = normalise_evidence(evidence, rules, where=str(Path(raw_dir) / config.EVIDENCE_CSV))
    total = len(io.list_articles(raw_dir))
    sources = io.read_sources(raw_dir)
    main = main_treatments(sources)
    parts: list[tables.Tables] = []
    done = 0

    def on_batch(t: tables.Tables, batch_timings: dict, n: int) -> None:
        nonlocal done
        parts.append(t)
        for k, v in batch_timings.items():
            timings[k] = timings.get(k, 0.0) + v
        done += n
        if progress:
            progress(done, total)

    files = screen_raw(io.iter_articles(raw_dir))
    _run_batches(_batches(files, max(1, batch_size)), rules, main, workers, on_batch, ev)
    merged = merge(parts)
    del parts[:]
    merged.articles = with_source_titles(merged.articles, sources)
    return cross_check(merged, rules, timings, evidence)


def merge_review(claims: pd.DataFrame, decisions_path: Path | None, flags: pd.DataFrame | None = None,
                 groups: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims with review_status/review_note from the reviewers' decisions file (read, never
    written here), and the status of every decision on a claim, flag or contradiction group
    (unchanged, stale, orphaned, superseded)."""
    from .review import ReviewError, check_decisions, empty_decisions, merge_decisions

    try:
        decisions = io.read_decisions(decisions_path) if decisions_path else None
    except ValueError as exc:
        raise ReviewError(str(exc)) from None
    decisions = (empty_decisions() if decisions is None
                 else check_decisions(decisions, str(decisions_path)))
    return merge_decisions(claims, decisions, flags, groups)


def run_audit(raw_dir: Path, out_dir: Path, *, rules_dir: Path = config.RULES_DIR,
              validate: bool = True, report: bool = True, workbook: bool = True,
              decisions: Path | None = config.DECISIONS_FILE, workers: int = 1,
              batch_size: int = config.AUDIT_BATCH_ARTICLES,
              progress: Callable[[int, int], None] | None = None) -> AuditResult:
    """Audit every article in raw_dir into out_dir with the rules of rules_dir. Raises
    ValidationFailed before writing tables when a table breaks its expectations (the previous
    outputs stay); ReviewError when the decisions file is malformed. The tables and the workbook
    are written together (io.write_all): every one is complete on disk before the first is
    renamed. ``report`` and ``workbook`` switch off the two reviewer-facing outputs (the
    benchmark times the audit without them)."""
    from .outputs.workbook import build_workbook
    from .stages.flag import flags_view

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    rules = RuleSet.load(rules_dir)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    evidence = io.read_evidence(raw_dir)
    result_tables = audit_folder(raw_dir, rules, workers=workers, batch_size=batch_size,
                                 progress=progress, timings=timings, evidence=evidence)
    timings["analyse_wall"] = time.perf_counter() - t0
    flags = flags_view(result_tables.claims, rules)
    claims, review_status = merge_review(result_tables.claims, decisions, flags, result_tables.groups)
    result_tables.claims = claims
    result = AuditResult(result_tables, evidence, timings=timings, review=review_status)
    people = tables.claims_for_people(claims, result_tables.assertions)
    contradictions, problems = result_tables.contradictions, result_tables.problems
    groups = tables.groups_for_people(result_tables.groups)
    if validate:
        from .outputs.validate import ValidationFailed, failures, validate_tables

        t0 = time.perf_counter()
        result.validation = validate_tables({"claims": people, "contradictions": contradictions,
                                             "contradiction_groups": groups, "evidence": evidence}, rules)
        timings["validate"] = time.perf_counter() - t0
        io.write_json(out_dir / config.VALIDATION_JSON, result.validation)
        failed = failures(result.validation)
        if failed:
            raise ValidationFailed("validation failed, tables not written:\n  " + "\n  ".join(failed))
    t0 = time.perf_counter()
    files = {
        out_dir / config.CLAIMS_CSV: io.csv_bytes(people),
        out_dir / config.CLAIMS_PARQUET: io.parquet_bytes(people),
        out_dir / config.ASSERTIONS_CSV: io.csv_bytes(result_tables.assertions),
        out_dir / config.CONTRADICTIONS_CSV: io.csv_bytes(contradictions),
        out_dir / config.CONTRADICTION_GROUPS_CSV: io.csv_bytes(groups),
        out_dir / config.ARTICLES_CSV: io.csv_bytes(result_tables.articles),
        out_dir / config.PROBLEMS_CSV: io.csv_bytes(problems),
        out_dir / config.EVIDENCE_CSV: io.csv_bytes(evidence),
        out_dir / config.FLAGS_CSV: io.csv_bytes(flags),
        out_dir / config.REVIEW_STATUS_CSV: io.csv_bytes(review_status),
    }
    if workbook:
        t1 = time.perf_counter()
        files[out_dir / config.CLAIMS_REVIEW_XLSX] = io.xlsx_bytes(build_workbook({
            "claims": people, "contradictions": contradictions, "problems": problems,
            "evidence": evidence, "flags": flags, "review_status": review_status,
            "contradiction_groups": groups}))
        timings["workbook"] = time.perf_counter() - t1
    io.write_all(files)
    timings["write"] = time.perf_counter() - t0
    result.outputs = list(files)
    if report:
        from .outputs.report import render_report

        t0 = time.perf_counter()
        io.write_text(out_dir / config.REPORT_HTML, render_report(out_dir, out_dir))
        timings["report"] = time.perf_counter() - t0
        result.outputs.append(out_dir / config.REPORT_HTML)
    return result
