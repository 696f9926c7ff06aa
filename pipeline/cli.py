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
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Run the expectation suites."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes for the per-article stages "
                                "(output identical to one process)."),
) -> None:
    """Audit every article in --raw and write tables, validation and report into --out."""
    from .audit import run_audit
    from .rules import RuleError
    from .validate import ValidationFailed

    try:
        with progress_bar(raw) as progress:
            result = run_audit(raw, out_dir, validate=validate, report=report, workers=workers,
                               progress=progress)
    except (RuleError, FileNotFoundError) as exc:
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
    for path in result.outputs:
        out.print(f"  wrote {path}")
    if strict and len(result.problems):
        err.print("[red]error:[/red] --strict: some articles had problems (see above)")
        raise typer.Exit(1)


@app.command()
def bench() -> None:
    """Benchmark: synthetic corpora of 100, 1,000 and 10,000 articles; writes BENCHMARKS.md."""
    from .bench import main as run_bench

    run_bench(echo=typer.echo)  # plain text: the Markdown table must not be wrapped
