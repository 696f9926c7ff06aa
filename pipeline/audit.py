"""The whole audit: read a folder of articles, run every stage, validate, write, report.

This is the only place that wires stages together; each stage stays a pure function, and
reading and writing go through ``pipeline.io``.
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

from . import config, io
from .assertions import annotate_claims
from .contradict import find_contradictions
from .evidence import check_evidence, normalise_evidence
from .extract import extract, parse_claims
from .families import unify_families
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


def _no_sentence(docs: pd.DataFrame, tagged: pd.DataFrame) -> pd.DataFrame:
    """Problems for articles whose text gave no sentence or list item (only headings/fragments)."""
    with_text = set(tagged.loc[tagged["kind"] != "heading", "source_id"]) if len(tagged) else set()
    files = [f for sid, f in zip(docs["source_id"], docs["file"]) if sid not in with_text]
    return pd.DataFrame({"file": files, "problem": ["no sentence: only headings or fragments "
                                                    "without sentence punctuation; no claims"] * len(files)},
                        columns=config.PROBLEM_COLUMNS)


def analyse_batch(raw: pd.DataFrame, main: dict[str, str] | None = None, nlp=None,
                  timings: dict | None = None, evidence: pd.DataFrame | None = None,
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-article stages for one batch of raw files: (claims, problems). No I/O.

    Every stage here works article by article, so batches can run in any process and in any
    grouping and still give the same rows. ``evidence`` is the normalised evidence table
    (``normalise_evidence``; None: every claim is no_evidence).
    """
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
    tagged = timed("tag", tag, units, main or {})
    claims = claims_table(tagged) if len(tagged) else pd.DataFrame(columns=config.CLAIM_COLUMNS)
    parsed = timed("parse_claims", parse_claims, claims, docs, nlp)
    claims = timed("assertions", annotate_claims, claims, nlp, [d for d, _ in parsed])
    claims = timed("evidence", check_evidence, claims, evidence)
    claims = timed("flag", add_flags, claims, docs, nlp, parsed)
    problems = pd.concat([problems, _no_sentence(docs, tagged)], ignore_index=True)
    return claims, problems


def _main_treatments(sources: pd.DataFrame | None) -> dict[str, str]:
    if sources is not None and "main_treatment" in sources:
        return dict(zip(sources["source_id"], sources["main_treatment"]))
    return {}


def _merge(claims: list[pd.DataFrame], problems: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Batch results into one claims and one problems table, in an order no scheduling changes."""
    c = pd.concat(claims, ignore_index=True) if claims else pd.DataFrame(columns=config.CLAIM_COLUMNS)
    c = c.sort_values(["source_id", "start", "end"], kind="stable").reset_index(drop=True)
    if len(claims) > 1:
        c["family_id"] = unify_families(c)
    p = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(columns=config.PROBLEM_COLUMNS)
    p = p.sort_values(["file", "problem"], kind="stable").reset_index(drop=True)
    return c, p


def analyse(raw: pd.DataFrame, sources: pd.DataFrame | None = None, nlp=None,
            timings: dict | None = None, evidence: pd.DataFrame | None = None,
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stages from raw bytes to (claims, contradictions, problems) in memory; no I/O.
    ``evidence`` is the curated evidence table (None or empty: every claim is no_evidence)."""
    timings = {} if timings is None else timings
    nlp = nlp or build_nlp()
    claims, problems = analyse_batch(raw, _main_treatments(sources), nlp, timings,
                                     normalise_evidence(evidence, nlp))
    claims, problems = _merge([claims], [problems])
    t0 = time.perf_counter()
    contradictions = find_contradictions(claims)
    timings["contradict"] = timings.get("contradict", 0.0) + time.perf_counter() - t0
    return claims, contradictions, problems


# --- worker processes ----------------------------------------------------------------------

_WORKER_NLP = None


def _init_worker() -> None:
    """Build the spaCy pipeline once per worker process (spawn-safe: nothing inherited)."""
    global _WORKER_NLP
    _WORKER_NLP = build_nlp()


def _work(raw: pd.DataFrame, main: dict[str, str], evidence: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    timings: dict[str, float] = {}
    claims, problems = analyse_batch(raw, main, _WORKER_NLP, timings, evidence)
    return claims, problems, timings


def _run_batches(batches: Iterator[pd.DataFrame], main: dict[str, str], workers: int,
                 on_batch: Callable[[pd.DataFrame, pd.DataFrame, dict, int], None],
                 evidence: pd.DataFrame) -> None:
    """Run analyse_batch over the batches, in this process or in ``workers`` processes.

    Results are handed to ``on_batch`` in batch order whatever order workers finish in, and at
    most 2 x workers batches are in flight, so memory stays bounded on any corpus size.
    """
    if workers <= 1:
        nlp = build_nlp()
        for raw in batches:
            timings: dict[str, float] = {}
            claims, problems = analyse_batch(raw, main, nlp, timings, evidence)
            on_batch(claims, problems, timings, len(raw))
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
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


def audit_folder(raw_dir: Path, *, workers: int = 1, batch_size: int = config.AUDIT_BATCH_ARTICLES,
                 progress: Callable[[int, int], None] | None = None,
                 timings: dict | None = None, evidence: pd.DataFrame | None = None,
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stream the articles of raw_dir in batches through the per-article stages, then find
    contradictions once over all claims. Only the per-claim rows are kept between batches."""
    timings = {} if timings is None else timings
    evidence = normalise_evidence(evidence, build_nlp())
    total = len(io.list_articles(raw_dir))
    main = _main_treatments(io.read_sources(raw_dir))
    claims: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    done = 0

    def on_batch(c, p, t, n):
        nonlocal done
        claims.append(c)
        problems.append(p)
        for k, v in t.items():
            timings[k] = timings.get(k, 0.0) + v
        done += n
        if progress:
            progress(done, total)

    files = screen_raw(io.iter_articles(raw_dir))
    _run_batches(_batches(files, max(1, batch_size)), main, workers, on_batch, evidence)
    all_claims, all_problems = _merge(claims, problems)
    del claims[:], problems[:]
    t0 = time.perf_counter()
    contradictions = find_contradictions(all_claims)
    timings["contradict"] = time.perf_counter() - t0
    return all_claims, contradictions, all_problems


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
              workbook: bool = True, decisions: Path | None = config.DECISIONS_FILE, workers: int = 1,
              batch_size: int = config.AUDIT_BATCH_ARTICLES,
              progress: Callable[[int, int], None] | None = None) -> AuditResult:
    """Audit every article in raw_dir into out_dir. Raises ValidationFailed before writing tables
    when a table breaks its expectations (the previous outputs stay); ReviewError when the
    decisions file is malformed. The tables and the workbook are written together
    (io.write_all): every one is complete on disk before the first is renamed. ``report`` and
    ``workbook`` switch off the two reviewer-facing outputs (the benchmark times the audit
    without them)."""
    from .workbook import build_workbook

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    evidence = io.read_evidence(raw_dir)
    claims, contradictions, problems = audit_folder(raw_dir, workers=workers, batch_size=batch_size,
                                                    progress=progress, timings=timings,
                                                    evidence=evidence)
    timings["analyse_wall"] = time.perf_counter() - t0
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
    flags = flags_table(claims)
    tables = {
        out_dir / config.CLAIMS_CSV: io.csv_bytes(claims),
        out_dir / config.CLAIMS_PARQUET: io.parquet_bytes(claims),
        out_dir / config.CONTRADICTIONS_CSV: io.csv_bytes(contradictions),
        out_dir / config.PROBLEMS_CSV: io.csv_bytes(problems),
        out_dir / config.EVIDENCE_CSV: io.csv_bytes(evidence),
        out_dir / config.FLAGS_CSV: io.csv_bytes(flags),
        out_dir / config.REVIEW_STATUS_CSV: io.csv_bytes(review_status),
    }
    if workbook:
        t1 = time.perf_counter()
        tables[out_dir / config.CLAIMS_REVIEW_XLSX] = io.xlsx_bytes(build_workbook({
            "claims": claims, "contradictions": contradictions, "problems": problems,
            "evidence": evidence, "flags": flags, "review_status": review_status}))
        timings["workbook"] = time.perf_counter() - t1
    io.write_all(tables)
    timings["write"] = time.perf_counter() - t0
    result.outputs = list(tables)
    if report:
        from .report import render_report

        t0 = time.perf_counter()
        io.write_text(out_dir / config.REPORT_HTML, render_report(out_dir, out_dir))
        timings["report"] = time.perf_counter() - t0
        result.outputs.append(out_dir / config.REPORT_HTML)
    return result
