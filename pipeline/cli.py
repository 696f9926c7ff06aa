"""Command line: ``python -m pipeline COMMAND``. The Makefile calls these."""
from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.console import Console

from . import config

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Claims audit: extract, tag and cross-check health claims in articles.")
err = Console(stderr=True)
out = Console()


RULES_OPTION = typer.Option(config.RULES_DIR, "--rules",
                            help="Folder of rule files (a copy of pipeline/rules, edited).")


@app.callback()
def main() -> None:
    """Claims audit: extract, tag and cross-check health claims in articles."""


@contextlib.contextmanager
def progress_bar(raw: Path):
    """A progress callback (done, total) drawn on stderr for long runs, else None.

    Shown when stderr is a terminal or the folder holds many articles, never on stdout, so
    scripted runs keep clean output.
    """
    from . import io

    try:
        total = len(io.list_articles(raw))
    except FileNotFoundError:
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
    workers: int = typer.Option(1, "--workers", min=1, help="Processes for the per-article stages "
                                "(output identical to one process)."),
    rules: Path = RULES_OPTION,
) -> None:
    """Audit every article in --raw and write tables, validation and report into --out."""
    from .audit import run_audit
    from .io import InputError
    from .nlp import RuleError
    from .outputs.validate import ValidationFailed
    from .review import ReviewError

    try:
        with progress_bar(raw) as progress:
            result = run_audit(raw, out_dir, rules_dir=rules, validate=validate, report=report,
                               workbook=workbook, decisions=decisions,
                               workers=workers, progress=progress)
    except (RuleError, FileNotFoundError, ReviewError, InputError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ValidationFailed as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    for p in result.problems.itertuples(index=False):
        err.print(f"[yellow]warning:[/yellow] {Path(raw) / p.file}: {p.problem}")
    n_sources = result.claims["source_id"].nunique()
    out.print(f"audited {n_sources} article(s): {len(result.claims)} claims, "
              f"{len(result.contradictions)} contradictions, {len(result.problems)} problem file(s)")
    if result.review is not None and len(result.review):
        counts = result.review["status"].value_counts()
        out.print("review decisions: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                                    ("unchanged", "stale", "orphaned", "superseded")))
    for path in result.outputs:
        out.print(f"  wrote {path}")
    if strict and len(result.problems):
        err.print("[red]error:[/red] --strict: some articles had problems (see above)")
        raise typer.Exit(1)


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
    from rich.markup import escape

    from .review import ReviewError, import_workbook

    try:
        plan = import_workbook(workbook, processed, decisions, reviewer, force=force)
    except (ReviewError, ValueError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    forced = f" ({plan.forced} over a later decision, --force)" if plan.forced else ""
    where = f"appended to {decisions}" if len(plan.new) else "nothing appended"
    out.print(escape(f"imported {workbook} as {reviewer.strip()}: {plan.decided} decided row(s), "
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
        err.print(f"[red]error:[/red] unknown --part {unknown} (allowed: {', '.join(EVAL_PARTS)})")
        raise typer.Exit(2)
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
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
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

    from .check import CheckError, check as run_check, exit_code, explain as explain_rule, render
    from .nlp import RuleError, RuleSet

    try:
        if explain:
            sys.stdout.write(explain_rule(explain, RuleSet.load(rules)))
            return
        if not files:
            raise CheckError("no FILE given (a draft to check, '-' for standard input; or --explain RULE)")
        report = run_check(files, corpus_dir=corpus, evidence_file=evidence, allow=allow, ignore=ignore,
                           baseline=baseline, rules_dir=rules)
        text = render(report, fmt, RuleSet.load(rules))
    except (CheckError, RuleError) as exc:
        sys.stderr.write(f"error: {exc}\n")   # unwrapped, so editors and CI logs keep file:line
        raise typer.Exit(2) from None
    sys.stdout.write(text)
    raise typer.Exit(exit_code(report, fail_on))


@app.command()
def bench() -> None:
    """Benchmark: synthetic corpora of 100, 1,000 and 10,000 articles; writes BENCHMARKS.md."""
    from .dev.bench import main as run_bench

    run_bench(echo=typer.echo)  # plain text: the Markdown table must not be wrapped
