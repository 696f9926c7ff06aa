"""Command line: ``python -m pipeline COMMAND``. The Makefile calls these."""
from __future__ import annotations

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


@app.command()
def audit(
    raw: Path = typer.Option(config.RAW_DIR, "--raw", help="Folder of articles (.txt, .md, .html)."),
    out_dir: Path = typer.Option(config.PROCESSED_DIR, "--out", help="Folder for the outputs."),
    strict: bool = typer.Option(False, "--strict", help="Fail when any article has a problem."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write the HTML report."),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Run the expectation suites."),
) -> None:
    """Audit every article in --raw and write tables, validation and report into --out."""
    from .audit import run_audit
    from .io import InputError
    from .rules import RuleError
    from .validate import ValidationFailed

    try:
        result = run_audit(raw, out_dir, validate=validate, report=report)
    except (RuleError, FileNotFoundError, InputError) as exc:
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
