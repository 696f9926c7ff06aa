"""The whole audit: read a folder of articles, run every stage, validate, write, report.

The stages are wired once, in ``pipeline.analyse``; this module streams a folder through them
in batches (in this process or in worker processes), then validates and writes the outputs.
Reading and writing go through ``pipeline.io``.
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd

from . import config, io, lifecycle, tables
from .analyse import analyse_articles, cross_check, merge, timed
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
    claim_count: int = 0     # claims written (the Dask engine's tables do not hold them)
    contradiction_count: int = 0   # contradictions written (idem)
    source_count: int = 0    # articles with at least one claim
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


def article_batches(files: Iterable[io.RawFile], size: int) -> Iterator[pd.DataFrame]:
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
    lifecycle.freeze_survivors()   # the rule set and pipeline live as long as the worker


def _work(raw: pd.DataFrame, main: dict[str, str], evidence: Evidence) -> tuple[tables.Tables, dict]:
    timings: dict[str, float] = {}
    out = analyse_articles(raw, _WORKER["rules"], evidence, main, _WORKER["nlp"], timings)
    return out, timings


def _run_batches(batches: Iterator[pd.DataFrame], rules: RuleSet, main: dict[str, str], workers: int,
                 on_batch: Callable[[tables.Tables, dict, int], None], evidence: Evidence,
                 meanwhile: Callable[[], object] | None = None) -> None:
    """Run analyse_articles over the batches, in this process or in ``workers`` processes.

    Results are handed to ``on_batch`` in batch order whatever order workers finish in, and at
    most 2 x workers batches are in flight, so memory stays bounded on any corpus size.
    Workers return plain tables, never spaCy Docs. ``meanwhile``: work this process does once
    its first batches are with the workers, instead of waiting (the audit builds its validator
    there: importing great-expectations takes seconds).
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
                if meanwhile and len(pending) >= 2 * workers:
                    _quietly(meanwhile)
                    meanwhile = None
                while len(pending) >= 2 * workers:
                    future, n = pending.popleft()
                    on_batch(*future.result(), n)
            if meanwhile:   # fewer batches than workers can hold
                _quietly(meanwhile)
            while pending:
                future, n = pending.popleft()
                on_batch(*future.result(), n)
        except BaseException:
            _stop(pool)
            raise


def _quietly(work: Callable[[], object]) -> None:
    """Run set-up work (importing great-expectations, building its context) without garbage
    collection, its objects frozen after: they live as long as the audit, and collections
    walking them while they were made took CPU from the workers."""
    with lifecycle.quiet_start():
        work()


def auto_workers(articles: int, batch_size: int = config.AUDIT_BATCH_ARTICLES) -> int:
    """Worker processes for ``--workers auto``: one per CPU this process may use, no more than
    there are batches; 1 (this process alone) for one batch, where starting a worker (importing
    spaCy, building the pipeline) costs more than it saves. Outputs do not depend on it."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, -(-articles // max(1, batch_size))))


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
                 recursive: bool = False, sources: pd.DataFrame | None = None,
                 meanwhile: Callable[[], object] | None = None) -> tables.Tables:
    """Stream the articles of raw_dir in batches through the per-article stages, then find
    contradictions once over all claims. Only the per-claim rows are kept between batches.
    ``sources``: the folder's sources.csv as read (read here when not given); ``meanwhile``:
    what this process does while worker processes run its first batches (``_run_batches``)."""
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
        lifecycle.freeze_survivors()   # the batches so far: out of every later collection
        for k, v in batch_timings.items():
            timings[k] = timings.get(k, 0.0) + v
        done += n
        if progress:
            progress(done, total)

    files = screen_raw(io.iter_articles(raw_dir, recursive))
    try:
        _run_batches(article_batches(files, max(1, batch_size)), rules, main, workers, on_batch, ev, meanwhile)
        merged = merge(parts)
        del parts[:]
        merged.articles = with_source_titles(merged.articles, sources)
        return cross_check(merged, rules, timings, evidence)
    finally:
        gc.unfreeze()   # nothing stays out of collection after the audit, also on an error


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
    return bool(names) and names <= set(config.DATASET_FOLDERS)


def read_review_log(decisions_path: Path | None) -> pd.DataFrame:
    """The reviewers' decisions log, checked (ReviewError naming the file and the rows); an
    empty log when there is none."""
    from .review import ReviewError, check_decisions, empty_decisions

    try:
        decisions = io.read_decisions(decisions_path) if decisions_path else None
    except ValueError as exc:
        raise ReviewError(str(exc)) from None
    return (empty_decisions() if decisions is None
            else check_decisions(decisions, str(decisions_path)))


def review_status(analysed: tables.Tables, log: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """The status of every decision of the log against this run's claims, flags and
    contradiction groups (unchanged, stale, orphaned, superseded); the claims are read a chunk
    at a time, keeping only what the decisions can be matched with (none when the log is empty)."""
    from .review import SubjectsInChunks, decision_status
    from .stages.flag import flags_view

    subjects = SubjectsInChunks(log)
    if len(log):
        for claims, _ in analysed.claim_chunks():
            subjects.add(claims, flags_view(claims, rules))
        if (log["kind"] == "group").any():
            for groups in analysed.group_chunks():
                subjects.add_groups(groups)
    return decision_status(subjects.subjects(), log)


def check_articles(raw_dir: Path, recursive: bool = False) -> int:
    """How many articles raw_dir holds; stops before anything is analysed or written when it
    holds none (InputError ``no articles in DIR``; FileNotFoundError when it is not a folder)."""
    found = len(io.list_articles(raw_dir, recursive))
    if found:
        return found
    skipped = io.skipped_folders(raw_dir, recursive)
    hint = f" (only in subfolders: {skipped[0][0]}...; audit them with --recursive)" if skipped and \
        not recursive else f" (no {', '.join(config.ARTICLE_SUFFIXES)} file)"
    raise io.InputError(f"no articles in {raw_dir}{hint}")


def run_audit(raw_dir: Path, out_dir: Path, *, rules_dir: Path = config.RULES_DIR,
              validate: bool = True, report: bool = True, workbook: bool = True,
              decisions: Path | None = config.DECISIONS_FILE, workers: int | str = 1,
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
    stages run (``folder_engine``). ``workers``: a number, or ``config.WORKERS_AUTO``
    (``auto_workers`` for the articles found)."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    rules = RuleSet.load(rules_dir)
    articles = check_articles(raw_dir, recursive)
    if workers == config.WORKERS_AUTO:
        workers = auto_workers(articles, batch_size)
    io.check_out_apart(out_dir, raw_dir)
    evidence = io.read_evidence(raw_dir)
    sources = io.read_sources(raw_dir)   # a malformed sources.csv stops the run here, naming the line
    with lifecycle.terminate_as_exception(), io.output_set(out_dir) as staged, \
            contextlib.ExitStack() as closing:
        result = _audit(raw_dir, rules, evidence, sources, validate=validate, workbook=workbook,
                        decisions=decisions, workers=workers, batch_size=batch_size,
                        progress=progress, recursive=recursive, staged=staged,
                        analyse_folder=folder_engine(engine, scheduler, staged),
                        validate_apart=closing if engine == "dask" else None)
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
        result.timings["write"] = (result.timings.get("write", 0.0) + time.perf_counter() - t0
                                   - result.timings.get("report", 0.0))
    result.files = {}
    return result


def _audit(raw_dir: Path, rules: RuleSet, evidence: pd.DataFrame, sources: pd.DataFrame, *,
           validate: bool, workbook: bool,
           decisions: Path | None, workers: int, batch_size: int,
           progress: Callable[[int, int], None] | None, recursive: bool,
           staged: io.OutputSet, analyse_folder: Callable[..., tables.Tables] = audit_folder,
           validate_apart: contextlib.ExitStack | None = None) -> AuditResult:
    """Analyse, merge the review decisions, validate, and stage every output file: the claim
    tables (claims, assertions, flags) straight into the output set, a chunk of claims at a
    time (``claim_tables``), the others in AuditResult.files (by file name: bytes, or a writer
    that formats a table into the staged file); raises ValidationFailed before the set commits.
    ``validate_apart``: given when the engine leaves the claims in a dataset, read back a chunk
    at a time (the Dask engine): the chunks are validated in a process of their own
    (``ValidatorProcess``, stopped when this stack closes) while this one writes them."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    make_validator = _validator(rules, timings, validate_apart) if validate else None
    analysed = analyse_folder(raw_dir, rules, workers=workers, batch_size=batch_size,
                              progress=progress, timings=timings, evidence=evidence,
                              recursive=recursive, sources=sources, meanwhile=make_validator)
    timings["analyse_wall"] = time.perf_counter() - t0
    status = review_status(analysed, read_review_log(decisions), rules)
    result = AuditResult(analysed, evidence, timings=timings, review=status)
    problems = analysed.problems
    validator = make_validator() if make_validator else None
    if validator:
        with timed(timings, "validate"):
            result.validation = {"evidence": validator.validate("evidence", evidence)}
    t0, before = time.perf_counter(), timings.get("validate", 0.0)
    held = claim_tables(analysed, status, rules, staged, result, validator, keep=workbook)
    contradictions = contradiction_table(analysed, staged, result, validator, keep=workbook)
    groups = group_table(analysed, staged, result, validator, keep=workbook)
    chunked_output(config.ARTICLES_CSV, "articles", (), analysed.article_chunks, analysed, staged, result)
    result.validation = dict(sorted(result.validation.items()))
    timings["write"] = time.perf_counter() - t0 - (timings.get("validate", 0.0) - before)
    if validate:
        from .outputs.validate import ValidationFailed, failures

        failed = failures(result.validation)
        if failed:
            raise ValidationFailed("validation failed, tables not written (the previous outputs "
                                   "are unchanged):\n  " + "\n  ".join(failed))
    files = {
        config.PROBLEMS_CSV: io.people_csv(problems),
        config.EVIDENCE_CSV: io.people_csv(evidence),
        config.REVIEW_STATUS_CSV: io.people_csv(status),
    }
    if workbook:
        from .outputs.workbook import build_workbook   # openpyxl: imported only to make one

        t0 = time.perf_counter()
        people, flags = held
        files[config.CLAIMS_REVIEW_XLSX] = io.xlsx_bytes(build_workbook({
            "claims": people, "contradictions": contradictions, "problems": problems,
            "evidence": evidence, "flags": flags, "review_status": status,
            "contradiction_groups": groups}))
        timings["workbook"] = time.perf_counter() - t0
    if validate:
        files[config.VALIDATION_JSON] = io.json_bytes(result.validation)
    result.files = files
    return result


def _validator(rules: RuleSet, timings: dict, apart: contextlib.ExitStack | None = None) -> Callable[[], object]:
    """The audit's validator, made on the first call (importing great-expectations takes
    seconds: the engines call this while their workers run, or the audit when it validates).
    ``apart``: a ``ValidatorProcess`` (stopped when the stack closes), for claims validated a
    chunk at a time; the local engine's claims are one chunk in memory, which a process apart
    would hold a second time."""
    from functools import cache

    @cache
    def made():
        from .outputs.validate import Validator, ValidatorProcess

        with timed(timings, "validate"):
            if apart is None:
                return Validator(rules)
            validator = ValidatorProcess(rules)
            apart.callback(lambda: timings.update(validator_peak_mb=validator.close()))
            return validator

    return made


def claim_tables(analysed: tables.Tables, status: pd.DataFrame, rules: RuleSet, staged: io.OutputSet,
                 result: AuditResult, validator=None, keep: bool = False):
    """Stage claims.csv, claims.parquet, assertions.csv and flags.csv in one pass over the
    claims, a chunk of whole articles at a time (the Dask engine's finish holds one chunk, not
    every claim), validating each chunk of claims as people read them; counts the claims and
    their sources into ``result``. ``keep``: also return the claims for people and the flags
    whole (the workbook shows every claim). The local engine's claims are one chunk, kept in
    ``result.tables`` with their review status."""
    from .outputs.validate import ChunkedValidation
    from .review import review_columns
    from .stages.flag import flags_view

    held: tuple[list, list] = ([], [])
    checks = (ChunkedValidation(validator, "claims", ("claim_id",), analysed.id_repeats.get("claims"))
              if validator is not None else None)
    with contextlib.ExitStack() as stack:
        out = {name: stack.enter_context(staged.table(name)) for name in (
            config.CLAIMS_CSV, config.CLAIMS_PARQUET, config.ASSERTIONS_CSV, config.FLAGS_CSV)}
        # files are formatted by Arrow, which frees the interpreter: one thread writes a chunk
        # while this one validates it; it is done before the next chunk and before the files
        # close (leaving the block waits for it first)
        writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="claim-tables"))
        written = None
        for claims, assertions in analysed.claim_chunks():
            with lifecycle.collect_after():   # a chunk makes millions of cells, few cycles
                flags = flags_view(claims, rules)
                claims = claims.assign(**review_columns("claim", claims["claim_id"], status))
                people = tables.claims_for_people(claims, assertions)
                if written is not None:
                    written.result()
                written = writer.submit(_write_claim_tables, out, people.copy(deep=False),
                                        assertions, flags)
                if checks:
                    with timed(result.timings, "validate"):
                        checks.add(people)
            result.claim_count += len(claims)
            result.source_count += claims["source_id"].nunique()   # an article is in one chunk
            if keep:
                held[0].append(people)
                held[1].append(flags)
            if not analysed.streamed:
                result.tables.claims = claims
            # the chunk's tables go before the next is read: the writer and the validator hold
            # what they still need
            del claims, assertions, flags, people
        if written is not None:
            written.result()   # raises what the writer raised (a full disk: OutputError)
    if checks:
        with timed(result.timings, "validate"):
            result.validation["claims"] = checks.result(lambda: (c for c, _ in analysed.claim_chunks()))
    if keep:
        return tuple(pd.concat(h, ignore_index=True) if len(h) > 1 else h[0] for h in held)
    return None


def _write_claim_tables(out: dict[str, io.ChunkedTable], people: pd.DataFrame,
                        assertions: pd.DataFrame, flags: pd.DataFrame) -> None:
    """Append one chunk to claims.csv, claims.parquet, assertions.csv and flags.csv."""
    out[config.CLAIMS_CSV].write(people)
    out[config.CLAIMS_PARQUET].write(people)
    out[config.ASSERTIONS_CSV].write(assertions)
    out[config.FLAGS_CSV].write(flags)


def contradiction_table(analysed: tables.Tables, staged: io.OutputSet, result: AuditResult,
                        validator=None, keep: bool = False) -> pd.DataFrame | None:
    """Stage contradictions.csv a chunk at a time (the Dask engine's finish never holds every
    contradiction), validating each chunk and counting the rows into ``result``. ``keep``: also
    return the whole table (the workbook's sheet)."""
    table, rows = chunked_output(config.CONTRADICTIONS_CSV, "contradictions", ("contradiction_id",),
                                 analysed.contradiction_chunks, analysed, staged, result, validator, keep)
    result.contradiction_count += rows
    return table


def group_table(analysed: tables.Tables, staged: io.OutputSet, result: AuditResult,
                validator=None, keep: bool = False) -> pd.DataFrame | None:
    """Stage contradiction_groups.csv a chunk at a time as people read it (the Dask engine's
    finish never holds every group: one row per claim under attack, a number that grows with
    the corpus), validating each chunk. ``keep``: also return the whole table (the workbook's
    sheet)."""
    def chunks():
        return map(tables.groups_for_people, analysed.group_chunks())

    return chunked_output(config.CONTRADICTION_GROUPS_CSV, "contradiction_groups", tables.GROUP_IDS,
                          chunks, analysed, staged, result, validator, keep)[0]


def chunked_output(file: str, table: str, ids: tuple[str, ...], chunks: Callable[[], Iterator[pd.DataFrame]],
                   analysed: tables.Tables, staged: io.OutputSet, result: AuditResult, validator=None,
                   keep: bool = False) -> tuple[pd.DataFrame | None, int]:
    """Stage one output ``file`` from ``chunks()`` (called again only to name an id that
    repeats across chunks), validating each chunk as the suite ``table`` with ``ids`` unique
    (their repeats counted where the rows are, when the engine did: ``analysed.id_repeats``).
    Returns (the whole table when ``keep``, else None; its row count)."""
    from .outputs.validate import ChunkedValidation

    held, rows = [], 0
    checks = (ChunkedValidation(validator, table, ids, analysed.id_repeats.get(table))
              if validator is not None else None)
    with staged.table(file) as out:
        for chunk in chunks():
            if checks:
                with timed(result.timings, "validate"):
                    checks.add(chunk)
            out.write(chunk)
            rows += len(chunk)
            if keep:
                held.append(chunk)
    if checks:
        with timed(result.timings, "validate"):
            result.validation[table] = checks.result(chunks)
    whole = (pd.concat(held, ignore_index=True) if len(held) > 1 else held[0]) if keep else None
    return whole, rows
