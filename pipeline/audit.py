"""The whole audit: read a folder of articles, run every stage, validate, write, report.

The stages are wired once, in ``pipeline.analyse``; this module streams a folder through them
in batches (in this process or in worker processes), then validates and writes the outputs.
Reading and writing go through ``pipeline.io``.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd

from . import config, io, lifecycle, tables
from .analyse import analyse_articles, cross_check, merge
from .nlp import RuleSet, build_nlp
from .sources import main_treatments, raw_frame, screen_raw, with_source_titles
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
    files: dict[str, io.Content] = field(default_factory=dict)  # output bytes or writers by name, until written

    @property
    def claims(self) -> pd.DataFrame:
        return self.tables.claims

    @property
    def contradictions(self) -> pd.DataFrame:
        return self.tables.contradictions

    @property
    def problems(self) -> pd.DataFrame:
        return self.tables.problems


def _batches(files: Iterable[io.RawFile], size: int) -> Iterator[pd.DataFrame]:
    """Raw-file tables of at most ``size`` articles, in order (only one batch of bytes in memory)."""
    chunk: list[io.RawFile] = []
    for f in files:
        chunk.append(f)
        if len(chunk) >= size:
            yield raw_frame(chunk)
            chunk = []
    if chunk:
        yield raw_frame(chunk)


# --- worker processes ----------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(rules_folder: str, parent_pid: int) -> None:
    """Build the rule set and spaCy pipeline once per worker process (spawn-safe); the worker
    exits when the audit process dies, even by SIGKILL (no orphans holding memory)."""
    lifecycle.exit_with_parent(parent_pid)
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
                             initargs=(str(rules.folder), os.getpid())) as pool:
        try:
            pending: deque = deque()
            for raw in batches:
                sub = {sid: main[sid] for sid in raw["source_id"].tolist() if sid in main}
                pending.append((pool.submit(_work, raw, sub, evidence), len(raw)))
                while len(pending) >= 2 * workers:
                    future, n = pending.popleft()
                    on_batch(*future.result(), n)
            while pending:
                future, n = pending.popleft()
                on_batch(*future.result(), n)
        except BaseException:
            _stop(pool)
            raise


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now, on an error or a signal: drop queued batches and end the workers
    instead of waiting for the batches in flight."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def audit_folder(raw_dir: Path, rules: RuleSet, *, workers: int = 1,
                 batch_size: int = config.AUDIT_BATCH_ARTICLES,
                 progress: Callable[[int, int], None] | None = None,
                 timings: dict | None = None, evidence: pd.DataFrame | None = None,
                 recursive: bool = False, sources: pd.DataFrame | None = None) -> tables.Tables:
    """Stream the articles of raw_dir in batches through the per-article stages, then find
    contradictions once over all claims. Only the per-claim rows are kept between batches.
    ``sources``: the folder's sources.csv as read (read here when not given)."""
    timings = {} if timings is None else timings
    ev = normalise_evidence(evidence, rules, where=str(Path(raw_dir) / config.EVIDENCE_CSV))
    total = len(io.list_articles(raw_dir, recursive))
    sources = io.read_sources(raw_dir) if sources is None else sources
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

    files = screen_raw(io.iter_articles(raw_dir, recursive))
    _run_batches(_batches(files, max(1, batch_size)), rules, main, workers, on_batch, ev)
    merged = merge(parts)
    del parts[:]
    merged.articles = with_source_titles(merged.articles, sources)
    return cross_check(merged, rules, timings, evidence)


def folder_engine(engine: str, scheduler: str | None, staged: io.OutputSet) -> Callable[..., tables.Tables]:
    """The function that analyses a folder (``audit_folder``'s signature): in this process and
    its worker processes (local), or on a Dask cluster (dask; pipeline/dask_engine.py), which
    also leaves the claims as a Parquet dataset, staged with the other outputs. Both give the
    same tables; a local run removes the dataset an earlier Dask run left in the out folder."""
    if engine == "local":
        if _is_dataset(staged.folder / config.DATASET_DIR):
            staged.remove_on_commit(config.DATASET_DIR)
        return audit_folder
    if engine == "dask":
        from functools import partial

        from .dask_engine import audit_folder_dask

        return partial(audit_folder_dask, scheduler=scheduler, dataset=staged.add_folder(config.DATASET_DIR))
    raise ValueError(f"unknown engine {engine!r} (allowed: {', '.join(config.ENGINES)})")


def _is_dataset(folder: Path) -> bool:
    """A folder the Dask engine wrote (its table folders and nothing else), never anything else."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    names = {p.name for p in folder.iterdir()}
    return bool(names) and names <= set(config.DATASET_TABLES)


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


def check_articles(raw_dir: Path, recursive: bool = False) -> None:
    """Stop before anything is analysed or written when raw_dir holds no article (InputError
    ``no articles in DIR``; FileNotFoundError when it is not a folder)."""
    if io.list_articles(raw_dir, recursive):
        return
    skipped = io.skipped_folders(raw_dir, recursive)
    hint = f" (only in subfolders: {skipped[0][0]}...; audit them with --recursive)" if skipped and \
        not recursive else f" (no {', '.join(config.ARTICLE_SUFFIXES)} file)"
    raise io.InputError(f"no articles in {raw_dir}{hint}")


def run_audit(raw_dir: Path, out_dir: Path, *, rules_dir: Path = config.RULES_DIR,
              validate: bool = True, report: bool = True, workbook: bool = True,
              decisions: Path | None = config.DECISIONS_FILE, workers: int = 1,
              batch_size: int = config.AUDIT_BATCH_ARTICLES,
              progress: Callable[[int, int], None] | None = None,
              recursive: bool = False, engine: str = "local", scheduler: str | None = None) -> AuditResult:
    """Audit every article in raw_dir into out_dir with the rules of rules_dir.

    Before any analysis: the rules, the articles folder (``no articles in DIR``), sources.csv
    and evidence.csv are read (InputError naming file and line) and the out folder is checked
    and locked (io.OutputError, io.OutputBusy when another run writes it). The whole output set
    (tables, workbook, validation.json, report.html) is written as one (io.output_set): every
    file complete in a staging folder, the report rendered from the staged tables, then all
    renamed; any failure before that (ValidationFailed, a full disk, a signal) leaves the
    previous outputs as they were. ReviewError when the decisions file is malformed.
    ``report`` and ``workbook`` switch off the two reviewer-facing outputs (the benchmark
    times the audit without them). ``engine`` (local or dask, with the address of a Dask
    ``scheduler`` or none for a LocalCluster of ``workers`` processes) only changes where the
    stages run (``folder_engine``)."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    rules = RuleSet.load(rules_dir)
    check_articles(raw_dir, recursive)
    io.check_out_apart(out_dir, raw_dir)
    evidence = io.read_evidence(raw_dir)
    sources = io.read_sources(raw_dir)   # a malformed sources.csv stops the run here, naming the line
    with lifecycle.terminate_as_exception(), io.output_set(out_dir) as staged:
        result = _audit(raw_dir, rules, evidence, sources, validate=validate, workbook=workbook,
                        decisions=decisions, workers=workers, batch_size=batch_size,
                        progress=progress, recursive=recursive,
                        analyse_folder=folder_engine(engine, scheduler, staged))
        t0 = time.perf_counter()
        for name, data in result.files.items():
            staged.add(name, data)
        if report:
            from .outputs.report import render_report

            t1 = time.perf_counter()
            # the staged folder holds this run's files under their final names: the report
            # reads its tables there and lists them as the outputs beside it
            html = render_report(staged.staging, staged.staging, workdir=staged.path(".report"))
            staged.add(config.REPORT_HTML, html.encode("utf-8"))
            result.timings["report"] = time.perf_counter() - t1
        result.outputs = staged.commit()
        result.timings["write"] = time.perf_counter() - t0 - result.timings.get("report", 0.0)
    result.files = {}
    return result


def _audit(raw_dir: Path, rules: RuleSet, evidence: pd.DataFrame, sources: pd.DataFrame, *,
           validate: bool, workbook: bool,
           decisions: Path | None, workers: int, batch_size: int,
           progress: Callable[[int, int], None] | None, recursive: bool,
           analyse_folder: Callable[..., tables.Tables] = audit_folder) -> AuditResult:
    """Analyse, merge the review decisions, validate, and prepare every output file
    (AuditResult.files, by file name: its bytes, or a writer that formats a large table straight
    into the staged file); raises ValidationFailed before any file is written."""
    from .outputs.workbook import build_workbook
    from .stages.flag import flags_view

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    result_tables = analyse_folder(raw_dir, rules, workers=workers, batch_size=batch_size,
                                   progress=progress, timings=timings, evidence=evidence,
                                   recursive=recursive, sources=sources)
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
        failed = failures(result.validation)
        if failed:
            raise ValidationFailed("validation failed, tables not written (the previous outputs "
                                   "are unchanged):\n  " + "\n  ".join(failed))
    files = {
        config.CLAIMS_CSV: io.people_csv(people),
        config.CLAIMS_PARQUET: io.parquet_writer(people),
        config.ASSERTIONS_CSV: io.people_csv(result_tables.assertions),
        config.CONTRADICTIONS_CSV: io.people_csv(contradictions),
        config.CONTRADICTION_GROUPS_CSV: io.people_csv(groups),
        config.ARTICLES_CSV: io.people_csv(result_tables.articles),
        config.PROBLEMS_CSV: io.people_csv(problems),
        config.EVIDENCE_CSV: io.people_csv(evidence),
        config.FLAGS_CSV: io.people_csv(flags),
        config.REVIEW_STATUS_CSV: io.people_csv(review_status),
    }
    if workbook:
        t0 = time.perf_counter()
        files[config.CLAIMS_REVIEW_XLSX] = io.xlsx_bytes(build_workbook({
            "claims": people, "contradictions": contradictions, "problems": problems,
            "evidence": evidence, "flags": flags, "review_status": review_status,
            "contradiction_groups": groups}))
        timings["workbook"] = time.perf_counter() - t0
    if validate:
        files[config.VALIDATION_JSON] = io.json_bytes(result.validation)
    result.files = files
    return result
