"""Report: the audit notebook executed headlessly (papermill) and exported to one HTML file.

The notebook (notebooks/audit_report.ipynb) holds no logic: it calls the view functions below,
which turn the processed tables into small frames, figures and HTML. The exported page embeds
its images and styles and has every external <script> removed, so it opens offline.
"""
from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

import pandas as pd

from . import config


# --- views used by the notebook ---------------------------------------------------------

def load_tables(processed_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The audit's output tables, read from a processed folder."""
    d = Path(processed_dir)
    out = {"claims": pd.read_parquet(d / config.CLAIMS_PARQUET),
           "contradictions": pd.read_csv(d / config.CONTRADICTIONS_CSV, keep_default_na=False)}
    problems = d / config.PROBLEMS_CSV
    out["problems"] = (pd.read_csv(problems, keep_default_na=False) if problems.exists()
                       else pd.DataFrame(columns=config.PROBLEM_COLUMNS))
    return out


def summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Headline figures: articles, claims, claim families, contradictions by scope, problems."""
    claims, contra = tables["claims"], tables["contradictions"]
    figures = {
        "articles audited": claims["source_id"].nunique(),
        "claims": len(claims),
        "claim families": claims["family_id"].nunique() if "family_id" in claims else len(claims),
        "negated claims": int(claims["negated"].sum()),
        "contradictions": len(contra),
        "within one source": int((contra["scope"] == "within_source").sum()),
        "across sources": int((contra["scope"] == "cross_source").sum()),
        "files with problems": len(tables["problems"]),
    }
    return pd.DataFrame({"figure": list(figures), "value": list(figures.values())}).set_index("figure")


def counts_by_treatment_and_type(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims per treatment (rows) and claim type (columns, in the guide's order)."""
    table = pd.crosstab(claims["treatment"], claims["claim_type"])
    cols = [t for t in config.CLAIM_TYPES if t in table.columns]
    table = table.reindex(columns=cols, fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.sort_values("total", ascending=False)


def heatmap(counts: pd.DataFrame):
    """A heatmap figure of claims by treatment and claim type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = counts.drop(columns=["total"], errors="ignore")
    fig, ax = plt.subplots(figsize=(1.1 * max(4, len(data.columns)) + 2, 0.5 * max(3, len(data)) + 1.5))
    im = ax.imshow(data.values, cmap="YlOrRd", aspect="auto")
    ax.set_xticks(range(len(data.columns)), data.columns, rotation=35, ha="right")
    ax.set_yticks(range(len(data.index)), data.index)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data.values[i, j]
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=9)
    ax.set_title("Claims by treatment and claim type")
    fig.colorbar(im, ax=ax, shrink=0.8, label="claims")
    fig.tight_layout()
    return fig


def contradictions_html(contra: pd.DataFrame) -> str:
    """Contradictions grouped by treatment and aspect, both sentences side by side."""
    if contra.empty:
        return "<p>No contradictions found.</p>"
    parts = []
    for (treatment, aspect), group in contra.groupby(["treatment", "aspect"], sort=True):
        parts.append(f"<h3>{html.escape(treatment)} \u2014 {html.escape(aspect.replace('_', ' '))}"
                     f" ({len(group)})</h3><table class='pairs'><tr><th>Claim A</th><th>Claim B</th>"
                     "<th>Why</th></tr>")
        for r in group.itertuples(index=False):
            parts.append(
                f"<tr><td><b>{html.escape(r.source_a)}</b> ({html.escape(r.value_a)})<br>{html.escape(r.text_a)}</td>"
                f"<td><b>{html.escape(r.source_b)}</b> ({html.escape(r.value_b)})<br>{html.escape(r.text_b)}</td>"
                f"<td>{html.escape(r.scope.replace('_', ' '))}: {html.escape(r.rationale)}</td></tr>")
        parts.append("</table>")
    style = ("<style>table.pairs{border-collapse:collapse;width:100%}table.pairs td,table.pairs th"
             "{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left;font-size:12px}</style>")
    return style + "".join(parts)


def claims_view(claims: pd.DataFrame) -> pd.DataFrame:
    """The full claims table with the columns a reviewer reads first."""
    cols = [c for c in ["claim_id", "source_id", "section", "text", "treatment", "claim_type",
                        "certainty", "negated"] if c in claims.columns]
    return claims[cols]


# --- rendering ----------------------------------------------------------------------------

_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.I)
_EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref=[\"']https?://[^>]*>", re.I)
_CDN_SCRIPT_BLOCK = re.compile(r"<script\b[^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>", re.S | re.I)
_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)


def offline_html(page: str) -> str:
    """Remove every script or stylesheet the page would fetch from the network."""
    page = _MATHJAX.sub("", page)
    page = _EXTERNAL_SCRIPT.sub("", page)
    page = _CDN_SCRIPT_BLOCK.sub("", page)
    return _EXTERNAL_LINK.sub("", page)


def render_report(processed_dir: Path, notebook: Path = config.REPORT_NOTEBOOK) -> str:
    """Execute the report notebook against processed_dir and return self-contained HTML."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / "report.ipynb"
        papermill.execute_notebook(
            str(notebook), str(executed), parameters={"processed_dir": str(Path(processed_dir).resolve())},
            cwd=str(config.ROOT), progress_bar=False, log_output=False, kernel_name="python3",
        )
        nb = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return offline_html(body)
