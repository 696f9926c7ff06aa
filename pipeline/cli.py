"""Command line: ``python -m pipeline COMMAND``. The Makefile calls these."""
from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.console import Console

from . import config
from .terminal import markup, markup_lines, shown_lines

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Claims audit: extract, tag and cross-check health claims in articles.")
err = Console(stderr=True)
out = Console()


RULES_OPTION = typer.Option(config.RULES_DIR, "--rules",
                            help="Folder of rule files (a copy of pipeline/rules, edited).")

# Exit codes of every command (README "Exit codes"): 0 clean, 1 findings (check), a failed
# validation or --strict problems (audit), 2 usage or input error (one line on stderr).
EXIT_FINDINGS, EXIT_USAGE = 1, 2


def fail(exc: BaseException | str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: MESSAGE`` on stderr (data in it escaped: no markup, no control
    characters) and return the Exit to raise."""
    err.print(f"[red]error:[/red] {markup_lines(exc)}", soft_wrap=True)
    return typer.Exit(code)


def stopped(exc) -> typer.Exit:
    """A run stopped by SIGTERM or SIGHUP: say so, and exit as the signal would (128 + n)."""
    err.print(f"[red]error:[/red] {markup(exc)}; nothing was written", soft_wrap=True)
    return typer.Exit(128 + exc.signum)


@app.callback()
def main() -> None:
    """Claims audit: extract, tag and cross-check health claims in articles."""


@contextlib.contextmanager
def progress_bar(raw: Path, recursive: bool = False):
    """A progress callback (done, total) drawn on stderr for long runs, else None.

    Shown when stderr is a terminal or the folder holds many articles, never on stdout, so
    scripted runs keep clean output.
    """
    from . import io

    try:
        total = len(io.list_articles(raw, recursive))
    except (FileNotFoundError, io.InputError):
        total = 0
    if not (err.is_terminal or total >= config.PROGRESS_MIN_ARTICLES):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    with Progress("auditing", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err, transient=False) as bar:
        task = bar.add_task("articles", total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command()
def audit(
    raw: Path = typer.Option(config.RAW_DIR, "--raw", help="Folder of articles (.txt, .md, .html)."),
    out_dir: Path = typer.Option(config.PROCESSED_DIR, "--out", help="Folder for the outputs."),
    strict: bool = typer.Option(False, "--strict", help="Fail when any article has a problem."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write the HTML report."),
    workbook: bool = typer.Option(True, "--workbook/--no-workbook", help="Write the review workbook (claims_review.xlsx)."),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Run the expectation suites."),
    decisions: Path = typer.Option(config.DECISIONS_FILE, "--decisions",
                                   help="Reviewers' decisions to merge (read only)."),
    workers: str = typer.Option(config.WORKERS_AUTO, "--workers", callback=lambda v: _workers(v),
                                help="Processes for the per-article stages (output identical to one "
                                "process): a number, or auto, one per CPU but no more than batches of "
                                f"{config.AUDIT_BATCH_ARTICLES} articles (one batch: this process alone); "
                                "with --engine dask and no --scheduler, the LocalCluster's worker processes."),
    recursive: bool = typer.Option(False, "--recursive", help="Audit the articles of subfolders too "
                                   "(source id: the path inside --raw)."),
    engine: str = typer.Option("local", "--engine", callback=lambda v: _choice(config.ENGINES)(v),
                               help="local (this machine's processes) or dask (a Dask cluster; "
                               "same outputs, see docs/dask.md)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786) "
                                  "for --engine dask; without it a LocalCluster of --workers processes starts."),
    rules: Path = RULES_OPTION,
) -> None:
    """Audit every article in --raw and write tables, validation and report into --out.

    Exit 0 when written, 1 when validation failed or (--strict) an article had a problem,
    2 on a usage or input error (nothing written)."""
    from .audit import run_audit
    from .dask_engine import EngineError
    from .io import InputError, OutputError
    from .lifecycle import Terminated, quiet_exit
    from .nlp import RuleError
    from .outputs.validate import ValidationFailed
    from .review import ReviewError

    if scheduler and engine != "dask":
        raise fail("--scheduler needs --engine dask")
    try:
        with progress_bar(raw, recursive) as progress:
            result = run_audit(raw, out_dir, rules_dir=rules, validate=validate, report=report,
                               workbook=workbook, decisions=decisions, recursive=recursive,
                               workers=workers if workers == config.WORKERS_AUTO else int(workers),
                               progress=progress, engine=engine,
                               scheduler=scheduler)
    except (RuleError, FileNotFoundError, ReviewError, InputError, OutputError, EngineError) as exc:
        raise fail(exc) from None
    except ValidationFailed as exc:
        raise fail(exc, EXIT_FINDINGS) from None
    except Terminated as exc:
        raise stopped(exc) from None
    quiet_exit()   # every output is written and closed: the exit need not walk the tables
    for p in result.problems.itertuples(index=False):
        err.print(f"[yellow]warning:[/yellow] {markup(Path(raw) / p.file)}: {markup(p.problem)}",
                  soft_wrap=True)
    out.print(f"audited {result.source_count} article(s): {result.claim_count} claims, "
              f"{result.contradiction_count} contradictions, {len(result.problems)} problem file(s)")
    if result.review is not None and len(result.review):
        counts = result.review["status"].value_counts()
        out.print("review decisions: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                                    ("unchanged", "stale", "orphaned", "superseded")))
    for path in result.outputs:
        out.print(f"  wrote {markup(path)}", soft_wrap=True)
    if strict and len(result.problems):
        raise fail("--strict: some articles had problems (see above)", EXIT_FINDINGS)


review_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Reviewers' decisions: read them back from the review workbook.")
app.add_typer(review_app, name="review")


@review_app.command("import")
def review_import(
    workbook: Path = typer.Argument(..., help="The edited claims_review.xlsx."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who made these decisions: recorded with "
                                 "today's date on each new one (the workbook's reviewer and date cells are not read)."),
    force: bool = typer.Option(False, "--force", help="Record rows whose decision was changed by someone "
                               "else since the workbook was made (refused otherwise)."),
    processed: Path = typer.Option(config.PROCESSED_DIR, "--processed",
                                   help="Audit output folder whose claims.csv the workbook was made from."),
    decisions: Path = typer.Option(config.DECISIONS_FILE, "--decisions", help="The decisions log to append to."),
) -> None:
    """Append the workbook's new decisions (claims, contradiction groups, flags) to the decisions
    log, all or nothing. Exit 0 done, 2 refused (nothing written)."""
    from .review import ReviewError, import_workbook

    try:
        plan = import_workbook(workbook, processed, decisions, reviewer, force=force)
    except (ReviewError, ValueError, FileNotFoundError) as exc:
        raise fail(exc) from None
    forced = f" ({plan.forced} over a later decision, --force)" if plan.forced else ""
    where = f"appended to {decisions}" if len(plan.new) else "nothing appended"
    out.print(markup(f"imported {workbook} as {reviewer.strip()}: {plan.decided} decided row(s), "
                     f"{len(plan.new)} new decision(s){forced}, {plan.unchanged} already in force; {where}"),
              soft_wrap=True)


EVAL_PARTS = ("claims", "contradictions", "rules", "corpus")


@app.command("eval")
def eval_(details: bool = typer.Option(True, "--details/--summary",
                                      help="List misses, false alarms and wrong labels."),
          part: list[str] = typer.Option(list(EVAL_PARTS), "--part",
                                         help="claims, contradictions, rules or corpus (repeatable; default all).")) -> None:
    """Score claims, labels, contradictions and compliance rules against the hand-labelled gold.

    Claims and their labels against tests/gold/claims (and the held-out articles), contradictions
    against tests/gold/contradictions.csv, the compliance rules against their examples and
    tests/gold/flags.csv."""
    from .nlp import RuleError

    unknown = sorted(set(part) - set(EVAL_PARTS))
    if unknown:
        raise fail(f"unknown --part {unknown} (allowed: {', '.join(EVAL_PARTS)})")
    try:
        if "claims" in part:
            from .dev.evaluate import run as run_claims
            run_claims(typer.echo, details=details)
        if "contradictions" in part:
            from .dev.eval_contradictions import run as run_contradictions
            typer.echo("")
            run_contradictions(typer.echo)
        if "rules" in part:
            from .dev.eval_rules import run as run_rules
            typer.echo("")
            run_rules(typer.echo)
        if "corpus" in part:
            from .dev.eval_corpus import run as run_corpus
            typer.echo("")
            run_corpus(typer.echo, details=details)
    except (RuleError, FileNotFoundError, ValueError) as exc:
        raise fail(exc) from None


def _workers(value: str) -> str:
    """--workers: auto or a whole number from 1."""
    if value != config.WORKERS_AUTO and not (value.isdigit() and int(value) >= 1):
        raise typer.BadParameter(f"{value!r} is not {config.WORKERS_AUTO} or a number from 1")
    return value


def _choice(allowed: tuple[str, ...]):
    def check_value(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
        return value
    return check_value


@app.command()
def check(
    files: list[str] = typer.Argument(None, metavar="FILE...", help="Drafts to check ('-' reads standard input)."),
    fmt: str = typer.Option("text", "--format", callback=_choice(config.CHECK_FORMATS),
                            help="text | json | sarif (SARIF 2.1.0)."),
    fail_on: str = typer.Option("low", "--fail-on", callback=_choice(config.SEVERITIES),
                                help="Exit 1 when a finding is at or above this severity: high | medium | low."),
    corpus: Path = typer.Option(None, "--corpus", help="Output folder of an audit (claims.csv); an error when "
                                "given and missing. Default: data/processed, if an audit wrote it."),
    evidence: Path = typer.Option(config.EVIDENCE_FILE, "--evidence", help="Curated evidence table (optional)."),
    allow: Path = typer.Option(config.APPROVED_CLAIMS_FILE, "--allow", help="Approved claim wordings, one a line."),
    ignore: Path = typer.Option(config.IGNORED_FINDINGS_FILE, "--ignore", help="Ignored findings (JSONL, with reasons)."),
    baseline: Path = typer.Option(None, "--baseline", help="An earlier JSON report: its findings do not fail the run (fail on new text only)."),
    explain: str = typer.Option(None, "--explain", metavar="RULE",
                                help="Print a rule (or every rule of a family) with its examples, and exit."),
    rules: Path = RULES_OPTION,
) -> None:
    """Check marketing copy for risky claims, like a linter. Exit 0 clean, 1 findings, 2 error."""
    import sys

    from .lifecycle import quiet_exit, quiet_start

    try:
        with quiet_start():   # imports and the pipeline's build: kept to the end, never collected
            from .check import CheckError, check as run_check, exit_code, explain as explain_rule, render
            from .nlp import RuleError, RuleSet, build_nlp

            ruleset = RuleSet.load(rules)
            nlp = build_nlp(ruleset) if files and not explain else None
        if explain:
            sys.stdout.write(shown_lines(explain_rule(explain, ruleset)))
            return
        if not files:
            raise CheckError("no FILE given (a draft to check, '-' for standard input; or --explain RULE)")
        report = run_check(files, corpus_dir=corpus, evidence_file=evidence, allow=allow, ignore=ignore,
                           baseline=baseline, rules_dir=rules, nlp=nlp)
        text = render(report, fmt, ruleset)
    except (CheckError, RuleError) as exc:
        sys.stderr.write(f"error: {shown_lines(exc)}\n")   # unwrapped, so editors and CI logs keep file:line
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        quiet_exit()
    sys.stdout.write(text)
    raise typer.Exit(exit_code(report, fail_on))


@app.command()
def bench(large: bool = typer.Option(False, "--large", help="Also the 50,000-article Dask run (about 45 min more)."),
          rewrite: bool = typer.Option(False, "--rewrite", help="Run nothing: write BENCHMARKS.md again from the figures of the last run (bench/figures.json)."),
          ) -> None:
    """Benchmark: synthetic corpora of 100, 1,000 and 10,000 articles, real text, check's cold
    start, the Dask engine; writes BENCHMARKS.md."""
    from .dev import bench as dev_bench

    if rewrite:
        dev_bench.rewrite(echo=typer.echo)
        return
    dev_bench.main(echo=typer.echo, large=large)  # plain text: the Markdown table must not be wrapped
