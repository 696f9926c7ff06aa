"""Report: the audit notebook executed headlessly (papermill) and exported to one HTML file.

The notebook (notebooks/audit_report.ipynb) holds no logic: it calls the view functions below,
which turn the processed tables into small frames, figures and HTML. The exported page embeds
its images and styles and has every external <script> removed, so it opens offline.
"""
from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .. import config, io, tables


# --- views used by the notebook ---------------------------------------------------------
# Each *_html view returns one self-contained HTML fragment (tables, and figures as embedded
# PNG) wrapped in <section id=...>, so tests can find every section and its figures.

NOT_AVAILABLE = "not available in this run"
OPEN_GROUP_MAX = 10  # contradiction groups up to this size start unfolded; larger ones fold


def load_tables(processed_dir: str | Path) -> dict[str, pd.DataFrame | None]:
    """The audit's output tables, read from a processed folder (optional ones may be None)."""
    return io.read_output_tables(Path(processed_dir))


def article_titles(tables: dict) -> dict[str, str]:
    """source_id -> the article's title for people (articles.csv: sources.csv title, else the
    first heading, else the file name); the source id when this run has no articles table."""
    articles = tables.get("articles")
    if articles is None:
        return {}
    return {str(s): str(t) for s, t in zip(articles["source_id"], articles["title"]) if str(t).strip()}


def _title(titles: dict | None, source_id) -> str:
    """The title of one source, or its id."""
    return (titles or {}).get(str(source_id), str(source_id))


def _ids(value) -> list[str]:
    """A ';'-joined id list (as written in CSV) as a list."""
    return [v for v in str(value if value is not None else "").split(";") if v and v != "nan"]


def _esc(v) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(v))


def _section(key: str, body: str) -> str:
    """A report section with a stable id (tests and the screenshot check find it by id)."""
    return f"<section class='audit' id='{key}'>{body}</section>"


def _not_available(key: str, what: str) -> str:
    """A section that says plainly this run did not produce its input."""
    return _section(key, f"<p class='na'><b>{_esc(what)}</b>: {NOT_AVAILABLE}.</p>")


def _table(df: pd.DataFrame, table_id: str = "", cls: str = "grid") -> str:
    """A plain escaped HTML table (no index), one data-col attribute per cell."""
    head = "".join(f"<th>{_esc(c)}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td data-col='{_esc(c)}'>{_esc(v)}</td>" for c, v in zip(df.columns, r))
                   + "</tr>" for r in df.itertuples(index=False))
    tid = f" id='{table_id}'" if table_id else ""
    return f"<table{tid} class='{cls}'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def figure_html(fig, fig_id: str, alt: str) -> str:
    """A matplotlib figure as an embedded PNG <img> (no file, no network); closes the figure."""
    import base64
    import io as _io

    import matplotlib.pyplot as plt

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img id='{fig_id}' alt='{_esc(alt)}' src='data:image/png;base64,{data}'>"


def _plt():
    """pyplot on the Agg backend (headless, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_ticks(ax) -> None:
    """Counts on the x axis: whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def flagged_ids(tables: dict) -> set[str] | None:
    """Claims with at least one compliance flag, or None when this run has no flags."""
    claims, flags = tables["claims"], tables.get("flags")
    if "flags" in claims.columns:
        return set(claims.loc[claims["flags"].astype(str).str.strip() != "", "claim_id"])
    if flags is not None:
        return set(flags["claim_id"])
    return None


def summary_figures(tables: dict) -> dict[str, object]:
    """Headline figures: articles, claims, flagged, claims under attack (contradiction groups)
    by severity, contradicting pairs by scope, claims by risk, evidence and review status.
    Missing inputs say so."""
    claims, contra, groups = tables["claims"], tables["contradictions"], tables.get("groups")
    flagged = flagged_ids(tables)
    f: dict[str, object] = {
        "articles audited": claims["source_id"].nunique(),
        "claims": len(claims),
        "claim families": claims["family_id"].nunique() if "family_id" in claims else len(claims),
        "negated claims": int(claims["negated"].astype(bool).sum()),
        "flagged claims": len(flagged) if flagged is not None else NOT_AVAILABLE,
        "claims under attack (contradiction groups)": len(groups) if groups is not None else NOT_AVAILABLE,
    }
    for level in config.SEVERITIES:
        f[f"groups of {level} severity"] = (int((groups["severity"] == level).sum())
                                            if groups is not None else NOT_AVAILABLE)
    f.update({
        "contradicting pairs": len(contra),
        "pairs within one article": int((contra["scope"] == "within_source").sum()),
        "pairs across articles": int((contra["scope"] == "cross_source").sum()),
    })
    for level in config.SEVERITIES:
        f[f"claims of {level} risk"] = (
            int((claims["risk"] == level).sum()) if "risk" in claims.columns else NOT_AVAILABLE)
    f["claims with contradicting evidence"] = (
        int((claims["evidence_status"] == "contradicted").sum())
        if "evidence_status" in claims.columns else NOT_AVAILABLE)
    if "review_status" in claims.columns:
        for s in config.DECISIONS:
            f[f"claims {s}"] = int((claims["review_status"] == s).sum())
        f["claims with a stale decision"] = int(claims["review_status"].str.startswith("stale:").sum())
    status = tables.get("review_status")
    f["orphaned decisions"] = (int((status["status"] == "orphaned").sum())
                               if status is not None else NOT_AVAILABLE)
    f["files with problems"] = len(tables["problems"])
    return f


SUMMARY_BLOCKS = {
    "Articles and claims": ("articles audited", "claims", "claim families", "negated claims", "files with problems"),
    "Contradictions": ("claims under attack (contradiction groups)", "groups of high severity",
                       "groups of medium severity", "groups of low severity", "contradicting pairs",
                       "pairs within one article", "pairs across articles"),
    "Risk and evidence": ("flagged claims", "claims of high risk", "claims of medium risk", "claims of low risk",
                          "claims with contradicting evidence"),
}  # every other figure: "Review"


def summary_html(tables: dict) -> str:
    """The summary as small two-column tables side by side (articles and claims,
    contradictions, risk and evidence, review); each row carries data-key for tests and scripts."""
    figures = summary_figures(tables)
    blocks: dict[str, list[str]] = {title: [] for title in [*SUMMARY_BLOCKS, "Review"]}
    for key in figures:
        blocks[next((t for t, keys in SUMMARY_BLOCKS.items() if key in keys), "Review")].append(key)
    body = "".join(
        f"<table class='grid summary'><caption>{_esc(title)}</caption>"
        + "".join(f"<tr data-key='{_esc(k)}'><th>{_esc(k)}</th><td>{_esc(figures[k])}</td></tr>" for k in keys)
        + "</table>" for title, keys in blocks.items() if keys)
    return _section("summary", f"<div id='summary-table' class='blocks'>{body}</div>")


def summary(tables: dict) -> pd.DataFrame:
    """Headline figures as a frame (figure -> value)."""
    f = summary_figures(tables)
    return pd.DataFrame({"figure": list(f), "value": list(f.values())}).set_index("figure")


def counts_by_treatment_and_type(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims per treatment (rows) and claim type (columns, in the guide's order)."""
    table = pd.crosstab(claims["treatment"], claims["claim_type"])
    cols = [t for t in config.CLAIM_TYPES if t in table.columns]
    table = table.reindex(columns=cols, fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.sort_values(["total"], ascending=False, kind="stable")


def heatmap(counts: pd.DataFrame):
    """A heatmap figure of claims by treatment and claim type."""
    plt = _plt()
    data = counts.drop(columns=["total"], errors="ignore")
    fig, ax = plt.subplots(figsize=(1.1 * max(4, len(data.columns)) + 2, 0.5 * max(3, len(data)) + 1.5))
    im = ax.imshow(data.values, cmap="YlOrRd", aspect="auto")
    ax.set_xticks(range(len(data.columns)), data.columns, rotation=35, ha="right")
    ax.set_yticks(range(len(data.index)), data.index)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data.values[i, j]
            if v:
                dark = v > 0.6 * data.values.max()
                ax.text(j, i, str(v), ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_title("Claims by treatment and claim type")
    ax.set_xlabel("claim type")
    ax.set_ylabel("treatment")
    fig.colorbar(im, ax=ax, shrink=0.8, label="claims")
    fig.tight_layout()
    return fig


def heatmap_html(claims: pd.DataFrame) -> str:
    """The heatmap image and its counts table."""
    if claims.empty:
        return _section("heatmap-section", "<p>No claims in this run.</p>")
    counts = counts_by_treatment_and_type(claims)
    table = counts.reset_index().rename(columns={"treatment": "treatment"})
    return _section("heatmap-section", figure_html(heatmap(counts), "heatmap",
                                                   "Heatmap of claims by treatment and claim type")
                    + _table(table, "heatmap-counts"))


def contradictions_html(contra: pd.DataFrame, titles: dict | None = None) -> str:
    """Every contradicting pair, grouped by treatment and aspect, both sentences side by side
    (the pair table, contradictions.csv; people read the groups first)."""
    if contra.empty:
        return _section("contradictions", "<p>No contradictions found.</p>")
    has_sev = "severity" in contra.columns
    parts = []
    if len(contra) > config.REPORT_MAX_ROWS:   # the most severe pairs; every pair is in the CSV
        parts.append(f"<p>The {config.REPORT_MAX_ROWS:,} most severe of {len(contra):,} pairs; every pair is "
                     f"in <code>{_esc(config.CONTRADICTIONS_CSV)}</code>.</p>")
        rank = contra["severity"].map(_SEVERITY_ORDER) if has_sev else 0
        contra = contra.assign(_s=rank).sort_values("_s", kind="stable").head(config.REPORT_MAX_ROWS).drop(columns="_s")
    if has_sev:
        contra = contradictions_grouped(contra)
    for (treatment, aspect), group in contra.groupby(["treatment", "aspect"], sort=True):
        opened = " open" if len(group) <= OPEN_GROUP_MAX else ""
        parts.append(f"<details{opened}><summary><h3 class='pair-group' data-treatment='{_esc(treatment)}'"
                     f" data-aspect='{_esc(aspect)}' style='display:inline'>{_esc(treatment)} \u2014 "
                     f"{_esc(aspect.replace('_', ' '))} ({len(group)} pairs)</h3></summary>"
                     "<table class='pairs'><tr><th>Claim A</th><th>Claim B</th><th>Why</th></tr>")
        for r in group.itertuples(index=False):
            sev = f"<b>severity {_esc(r.severity)}</b><br>" if has_sev else ""
            more = getattr(r, "repeats", 1)
            more = f" <i>(stands for {int(more)} repeated pairs)</i>" if str(more).isdigit() and int(more) > 1 else ""
            parts.append(
                f"<tr data-id='{_esc(r.contradiction_id)}'>"
                f"<td class='a'><b>{_esc(_title(titles, r.source_a))}</b> ({_esc(r.value_a)})<br>{_esc(r.text_a)}</td>"
                f"<td class='b'><b>{_esc(_title(titles, r.source_b))}</b> ({_esc(r.value_b)})<br>{_esc(r.text_b)}</td>"
                f"<td>{sev}{_esc(r.scope.replace('_', ' '))}: {_esc(r.rationale)}{more}</td></tr>")
        parts.append("</table></details>")
    return _section("contradictions", "".join(parts))


_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def contradictions_grouped(contra: pd.DataFrame) -> pd.DataFrame:
    """Pairs ordered for review: by treatment and aspect, most severe first."""
    order = contra.assign(_s=contra["severity"].map(_SEVERITY_ORDER))
    order = order.sort_values(["treatment", "aspect", "_s", "source_a", "source_b"], kind="stable")
    return order.drop(columns="_s").reset_index(drop=True)


def groups_view(groups: pd.DataFrame) -> pd.DataFrame:
    """The contradiction groups in review order: severity (high first), then how many claims
    contradict the claim, then how many evidence rows (the stage writes them so; sorted again
    here so an edited or older table reads the same)."""
    if groups.empty:
        return groups
    g = groups.assign(_s=groups["severity"].map(_SEVERITY_ORDER),
                      _e=[len(_ids(v)) for v in groups["evidence_ids"]])
    g = g.sort_values(["_s", "contradicting_claims", "_e"], ascending=[True, False, False], kind="stable")
    return g.drop(columns=["_s", "_e"]).reset_index(drop=True)


def _statement(evidence: pd.DataFrame | None) -> dict[str, str]:
    """evidence_id -> its statement (empty without an evidence table)."""
    if evidence is None or evidence.empty:
        return {}
    return dict(zip(evidence["evidence_id"].astype(str), evidence["statement"].astype(str)))


EVIDENCE_SHOWN = 2  # evidence statements quoted per contradiction group (the rest by id)
_GROUP_WIDTHS = (7, 36, 15, 42)  # percent: severity, claim, contradicted by, counter-claims


def _group_row(r, titles: dict, statements: dict[str, str]) -> str:
    """One claim under attack: the claim, who contradicts it, the strongest counter-claims."""
    n, m = int(r.contradicting_claims), int(r.contradicting_sources)
    against = [f"{n} claim{'s' if n != 1 else ''} in {m} article{'s' if m != 1 else ''}"] if n else []
    ev = _ids(r.evidence_ids)
    if ev:
        against.append(f"evidence {', '.join(ev)}")
    counters = "".join(
        f"<li><b>{_esc(_title(titles, src))}</b>: \u201c{_esc(text)}\u201d</li>"
        for src, text in ((getattr(r, f"counter_{i}_source"), getattr(r, f"counter_{i}_text")) for i in (1, 2, 3))
        if str(text).strip())
    cited = [e for e in ev if e in statements]
    counters += "".join(f"<li><b>evidence {_esc(e)}</b>: {_esc(statements[e])}</li>" for e in cited[:EVIDENCE_SHOWN])
    if len(cited) > EVIDENCE_SHOWN:
        counters += f"<li>and evidence {_esc(', '.join(cited[EVIDENCE_SHOWN:]))} (see Evidence status)</li>"
    return (f"<tr data-group='{_esc(r.group_id)}' data-severity='{_esc(r.severity)}'>"
            f"<td data-col='severity'><b>{_esc(r.severity)}</b></td>"
            f"<td data-col='claim'><b>{_esc(_title(titles, r.source_id))}</b><br>\u201c{_esc(r.text)}\u201d"
            f"<br><i>{_esc(r.treatment.replace('_', ' '))}; {_esc(str(r.aspects).replace('_', ' ').replace(';', ', '))};"
            f" stated as {_esc(r.certainty)}</i></td>"
            f"<td data-col='against'>{_esc(' and '.join(against))}</td>"
            f"<td data-col='counters'><ul>{counters}</ul></td></tr>")


def groups_html(tables: dict) -> str:
    """Claims under attack (contradiction_groups.csv), one row each, by severity then count;
    medium and low fold when long. The pair table follows, folded, for the detail."""
    groups, contra = tables.get("groups"), tables["contradictions"]
    pairs = contradictions_html(contra, article_titles(tables))
    pairs = (f"<details class='all-pairs'><summary>Every contradicting pair ({len(contra)}, "
             f"{_esc(config.CONTRADICTIONS_CSV)})</summary>{pairs}</details>") if len(contra) else pairs
    if groups is None:
        return _not_available("groups", "Contradiction groups (no contradiction_groups.csv)") + pairs
    if groups.empty:
        return _section("groups", "<p>No claim is contradicted by another claim or by the evidence.</p>") + pairs
    titles, statements = article_titles(tables), _statement(tables.get("evidence"))
    view = groups_view(groups)
    parts = []
    for level in config.SEVERITIES:
        rows = view[view["severity"] == level]
        if rows.empty:
            continue
        opened = " open" if level == "high" or len(rows) <= OPEN_GROUP_MAX else ""
        parts.append(f"<details{opened} class='severity-{level}'><summary><h3 style='display:inline'>"
                     f"Severity {level}: {len(rows)} claim{'s' if len(rows) != 1 else ''}</h3></summary>"
                     f"<table class='groups' id='groups-{level}'><colgroup>"
                     + "".join(f"<col style='width:{w}%'>" for w in _GROUP_WIDTHS)
                     + "</colgroup><tr><th>Severity</th><th>Claim</th>"
                     "<th>Contradicted by</th><th>Strongest counter-claims and evidence</th></tr>"
                     + "".join(_group_row(r, titles, statements) for r in rows.itertuples(index=False))
                     + "</table></details>")
    return _section("groups", "".join(parts)) + pairs


EVIDENCE_ATTENTION = ("contradicted", "overclaimed")   # the statuses the report lists claim by claim


def contradicted_by_evidence(claims: pd.DataFrame, evidence: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (claim the evidence contradicts or finds over-claimed, evidence row), with the
    level and the full citation, contradicted first."""
    cols = ["claim_id", "source_id", "treatment", "text", "evidence_status", "evidence_level",
            "certainty", "flags", "evidence_ids", "evidence_id", "level", "statement", "quote",
            "source_title", "publisher", "url", "date", "is_mirror"]
    if "evidence_status" not in claims or evidence is None or evidence.empty:
        return pd.DataFrame(columns=cols)
    bad = claims[claims["evidence_status"].isin(EVIDENCE_ATTENTION)].copy()
    for c in ("evidence_level", "certainty", "flags"):
        if c not in bad:
            bad[c] = ""
    rows = bad.assign(evidence_id=bad["evidence_ids"].astype(str).str.split(";")).explode("evidence_id")
    merged = rows.merge(evidence.astype({"evidence_id": str}), on="evidence_id", how="left",
                        suffixes=("", "_ev"))
    for c in cols:
        if c not in merged:
            merged[c] = ""
    merged["_s"] = merged["evidence_status"].map({s: i for i, s in enumerate(EVIDENCE_ATTENTION)})
    return (merged.sort_values(["_s", "source_id", "claim_id", "evidence_id"], kind="stable")[cols]
            .reset_index(drop=True))


def _reason(r) -> str:
    """Why a claim has its status, for people (pipeline.stages.evidence.evidence_reason)."""
    from ..stages.evidence import claims_proof, evidence_reason

    ids = [i for i in str(r.evidence_ids).split(";") if i]
    return evidence_reason(r.evidence_status, str(r.evidence_level), ids, str(r.certainty),
                           claims_proof(str(r.flags or "").split(";")))


def evidence_citations_html(claims: pd.DataFrame, evidence: pd.DataFrame | None,
                            titles: dict | None = None) -> str:
    """Each claim the evidence contradicts or finds over-claimed: why, then each fact with its
    level and citation."""
    table = contradicted_by_evidence(claims, evidence)
    if table.empty:
        return "<p>No claim is contradicted or over-claimed by the evidence table.</p>"
    parts = ["<h3>Claims contradicted or over-claimed by the evidence</h3>"
             "<table class='pairs' id='evidence-citations'>"
             "<tr><th>Claim</th><th>Status</th><th>Evidence (level)</th><th>Citation</th></tr>"]
    for (cid, sid, text), group in table.groupby(["claim_id", "source_id", "text"], sort=False):
        first = group.iloc[0]
        for i, r in enumerate(group.itertuples(index=False)):
            mirror = " (mirror or index copy)" if str(r.is_mirror).lower() in ("yes", "true", "1") else ""
            date = f", {_esc(r.date)}" if str(r.date or "") else ""
            head = (f"<td rowspan='{len(group)}'><b>{_esc(_title(titles, sid))}</b><br>{_esc(text)}</td>"
                    f"<td rowspan='{len(group)}'><b>{_esc(first.evidence_status)}</b><br>{_esc(_reason(first))}</td>"
                    if i == 0 else "")
            parts.append(
                f"<tr>{head}<td><b>{_esc(r.evidence_id)}</b> <i>({_esc(str(r.level).replace('_', ' '))})</i>: "
                f"{_esc(r.statement)}</td>"
                f"<td>{_esc(r.source_title)}, {_esc(r.publisher)}{date}{_esc(mirror)}<br>"
                f"<a href='{_esc(r.url)}'>{_esc(r.url)}</a><br>\u201c{_esc(r.quote)}\u201d</td></tr>")
    parts.append("</table>")
    return "".join(parts)


def families_html(claims: pd.DataFrame, titles: dict | None = None) -> str:
    """Claims repeated verbatim or nearly (one family), each family once with its occurrences."""
    from ..stages.families import families

    fams = families(claims)
    fams = fams[fams["size"] > 1]
    if fams.empty:
        return _section("families", "<p>No claim is repeated.</p>")
    view = fams[["size", "treatment", "representative", "sources", "claim_ids"]].head(config.REPORT_MAX_ROWS)
    if titles:
        view = view.assign(sources=["; ".join(_title(titles, s) for s in _ids(v)) for v in view["sources"]])
    return _section("families", f"<p>{len(fams)} claims occur more than once.</p>" + _table(view, "families-table"))


def source_links(contra: pd.DataFrame) -> pd.DataFrame:
    """Pairs of sources with the number of contradictions between them (a == b: within one)."""
    if contra.empty:
        return pd.DataFrame(columns=["source_a", "source_b", "contradictions"])
    pairs = pd.DataFrame({"source_a": contra[["source_a", "source_b"]].min(axis=1),
                          "source_b": contra[["source_a", "source_b"]].max(axis=1)})
    return (pairs.groupby(["source_a", "source_b"]).size().rename("contradictions")
            .reset_index().sort_values(["source_a", "source_b"], kind="stable"))


def short_title(title: str, width: int = 26, lines: int = 2) -> str:
    """A title wrapped to a few short lines for a chart label ('...' when cut)."""
    import textwrap

    return "\n".join(textwrap.wrap(title, width, max_lines=lines, placeholder="\u2026")) or title


def source_graph(sources: list[str], links: pd.DataFrame, titles: dict | None = None):
    """Sources as nodes on a circle (labelled by title), a line per pair of sources that
    contradict each other (width and label: how many contradictions), and each node's
    within-source count."""
    import math

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 7))
    n = max(1, len(sources))
    pos = {s: (math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)) for i, s in enumerate(sources)}
    within = {r.source_a: r.contradictions for r in links.itertuples() if r.source_a == r.source_b}
    top = max([1] + list(links["contradictions"]))
    for r in links.itertuples():
        if r.source_a == r.source_b:
            continue
        (x1, y1), (x2, y2) = pos[r.source_a], pos[r.source_b]
        ax.plot([x1, x2], [y1, y2], color="#c0392b", alpha=0.6, lw=1 + 6 * r.contradictions / top, zorder=1)
        ax.text((x1 + x2) / 2, (y1 + y2) / 2, str(r.contradictions), fontsize=9, ha="center",
                bbox={"boxstyle": "round", "fc": "white", "ec": "#c0392b"}, zorder=3)
    for s, (x, y) in pos.items():
        ax.scatter([x], [y], s=min(400 + 40 * within.get(s, 0), 2500), color="#2e86c1", zorder=2)
        ax.text(x * 1.32, y * 1.32, f"{short_title(_title(titles, s))}\n{within.get(s, 0)} within itself",
                ha="center", va="center", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.6, 1.6)
    ax.set_axis_off()
    ax.set_title("Articles linked by their contradictions")
    fig.text(0.5, 0.01, "node: an article (under it, its contradictions within itself); line: contradictions "
             "between two articles (width and label: how many pairs)", ha="center", fontsize=8, color="#555")
    fig.tight_layout()
    return fig


def source_graph_html(tables: dict) -> str:
    """The graph of sources and the table of links it draws."""
    contra = tables["contradictions"]
    if contra.empty:
        return _section("source-graph", "<p>No contradictions, so no links between sources.</p>")
    links = source_links(contra)
    sources = sorted(set(tables["claims"]["source_id"]) | set(links["source_a"]) | set(links["source_b"]))
    titles = article_titles(tables)
    shown = links.assign(source_a=[_title(titles, s) for s in links["source_a"]],
                         source_b=[_title(titles, s) for s in links["source_b"]])
    shown = shown.rename(columns={"source_a": "article", "source_b": "other article"})
    return _section("source-graph", figure_html(source_graph(sources, links, titles), "graph",
                                                "Graph of articles linked by contradictions")
                    + _table(shown, "source-links"))


def risky_by_rule(tables: dict) -> pd.DataFrame | None:
    """Flagged claims per compliance rule (rule, family, severity, claims, example), or None."""
    flags = tables.get("flags")
    if flags is None:
        claims = tables["claims"]
        if "flags" not in claims.columns:
            return None
        rows = [{"claim_id": c, "rule_id": r, "text": t} for c, f, t in
                zip(claims["claim_id"], claims["flags"].astype(str), claims["text"]) for r in f.split(";") if r]
        flags = pd.DataFrame(rows, columns=["claim_id", "rule_id", "text"])
    if flags.empty:
        return pd.DataFrame(columns=["rule_id", "claims", "example"])
    keys = [c for c in ("rule_id", "family", "severity") if c in flags.columns]
    example = next((c for c in ("text", "message") if c in flags.columns), "claim_id")
    out = (flags.groupby(keys, sort=True)
           .agg(claims=("claim_id", "nunique"), example=(example, "first")).reset_index())
    return out.sort_values(["claims", "rule_id"], ascending=[False, True], kind="stable")


def risky_chart(table: pd.DataFrame):
    """Horizontal bars: flagged claims per compliance rule."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(table) + 1.5))
    ax.barh(table["rule_id"][::-1], table["claims"][::-1], color="#e67e22")
    ax.set_xlabel("claims flagged")
    ax.set_ylabel("compliance rule")
    _integer_ticks(ax)
    ax.set_title("Risky claims by rule")
    fig.tight_layout()
    return fig


def risky_html(tables: dict) -> str:
    """Risky claims by rule: a bar chart and the table, or 'not available'."""
    table = risky_by_rule(tables)
    if table is None:
        return _not_available("risky", "Risky claims by rule (no flags.csv or flags column)")
    if table.empty:
        return _section("risky", "<p>No claim was flagged.</p>")
    return _section("risky", figure_html(risky_chart(table), "risky-chart", "Risky claims by rule")
                    + _table(table, "risky-table"))


EVIDENCE_COLOURS = {"supported": "#27ae60", "overclaimed": "#e67e22", "contradicted": "#c0392b",
                    "no_evidence": "#bdc3c7"}


def evidence_chart(counts: pd.DataFrame):
    """Stacked horizontal bars: claims per treatment by evidence status."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(counts) + 2.2))
    left = pd.Series(0, index=counts.index)
    for status in counts.columns:
        ax.barh(counts.index, counts[status], left=left, label=status, color=EVIDENCE_COLOURS.get(status))
        left = left + counts[status]
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="evidence status")
    ax.set_xlabel("claims")
    ax.set_ylabel("treatment")
    _integer_ticks(ax)
    ax.set_title("Evidence status by treatment")
    fig.tight_layout()
    return fig


def evidence_html(tables: dict) -> str:
    """Evidence status per treatment: a stacked bar chart and the counts, or 'not available'."""
    claims = tables["claims"]
    if "evidence_status" not in claims.columns:
        return _not_available("evidence", "Evidence status (no evidence_status column)")
    counts = pd.crosstab(claims["treatment"], claims["evidence_status"])
    counts = counts[[s for s in config.EVIDENCE_STATUSES if s in counts.columns]]
    evidence = tables.get("evidence")
    note = ""
    if evidence is not None and len(evidence):
        levels = evidence["level"].value_counts() if "level" in evidence else pd.Series(dtype=int)
        by_level = ", ".join(f"{levels[lv]} {lv.replace('_', ' ')}" for lv in config.EVIDENCE_LEVELS if lv in levels)
        note = (f"<p>{len(evidence)} cited facts about {evidence['treatment'].nunique()} treatments "
                f"and families ({by_level}). <b>supported</b>: a fact says the same; <b>overclaimed</b>: "
                "a benefit stated as fact (or 'clinically proven') whose best support is weaker than a "
                "regulator, a guideline, a systematic review or randomised trials; <b>contradicted</b>: "
                "a fact at least as strong as any support says otherwise; <b>no_evidence</b>: no fact "
                "about that treatment and aspect (never a contradiction).</p>")
    return _section("evidence", figure_html(evidence_chart(counts), "evidence-chart", "Evidence status by treatment")
                    + _table(counts.reset_index(), "evidence-table") + note
                    + evidence_citations_html(claims, evidence, article_titles(tables)))


def review_html(tables: dict) -> str:
    """Review decisions: how many per status, the stale ones (decided vs current text) and
    every orphaned decision, kept so nobody's work is lost."""
    status = tables.get("review_status")
    if status is None:
        return _not_available("review", "Review decisions (no review_status.csv)")
    if status.empty:
        return _section("review", "<p>No review decisions yet (data/review/decisions.csv is empty).</p>")
    counts = status["status"].value_counts().reindex(
        ["unchanged", "stale", "orphaned", "superseded"], fill_value=0).rename_axis("status").reset_index(name="decisions")
    stale = status[status["status"] == "stale"][["claim_id", "decision", "reviewer", "date", "claim_text",
                                                 "current_claim_id", "current_text", "similarity"]]
    orphaned = status[status["status"] == "orphaned"][["claim_id", "decision", "reviewer", "date", "note",
                                                       "source_id", "claim_text"]]
    body = (_table(counts, "review-counts")
            + "<h3>Stale decisions (the claim's text changed)</h3>"
            + (_table(stale, "review-stale") if len(stale) else "<p>None.</p>")
            + "<h3>Orphaned decisions (the claim is gone)</h3>"
            + (_table(orphaned, "review-orphaned") if len(orphaned) else "<p>None.</p>"))
    return _section("review", body)


# The claims table shows what a reviewer decides on; the rest of each row is behind a toggle
# (and in the workbook): (column, heading) pairs, and the columns of the toggle.
CLAIMS_SHOWN = [("article", "article"), ("text", "claim"), ("treatment", "treatment"),
                ("claim_type", "type"), ("risk", "risk"), ("evidence_status", "evidence"),
                ("review_status", "review")]
CLAIMS_MORE = ["claim_id", "section", "certainty", "negated", "assertions", "flags", "evidence_ids",
               "review_note", "family_id"]
_CLAIMS_WIDTHS = {"article": 15, "text": 39, "treatment": 10, "claim_type": 8, "risk": 6,
                  "evidence_status": 8, "review_status": 8, "more": 6}  # percent of the page
_FILTER_JS = """<script>
(function(){var t=document.getElementById('claims-table');if(!t)return;
var ins=t.querySelectorAll('thead input'),rows=t.querySelectorAll('tbody tr'),c=document.getElementById('claims-shown');
function f(){var n=0;rows.forEach(function(r){var ok=true;ins.forEach(function(i){var v=i.value.toLowerCase();
if(v&&r.cells[+i.dataset.i].textContent.toLowerCase().indexOf(v)<0)ok=false;});r.style.display=ok?'':'none';if(ok)n++;});
if(c)c.textContent=n;}
ins.forEach(function(i){i.addEventListener('input',f);});})();
</script>"""


def claims_view(claims: pd.DataFrame, titles: dict | None = None) -> pd.DataFrame:
    """The claims as the report shows them: the shown columns (article by title), then the
    columns behind the toggle that this run has."""
    view = claims.assign(article=[_title(titles, s) for s in claims["source_id"]])
    cols = [c for c, _ in CLAIMS_SHOWN if c in view.columns] + [c for c in CLAIMS_MORE if c in view.columns]
    return view[cols]


def claims_table_html(claims: pd.DataFrame, titles: dict | None = None) -> str:
    """The claims table, fitted to the page width: article, claim, treatment, type, risk,
    evidence and review status in columns, the rest behind a <details> toggle per row; one
    filter box per column (inline script, works offline)."""
    total = len(claims)
    if total > config.REPORT_MAX_ROWS:   # a page stays readable; every row is in the workbook and claims.csv
        rank = claims["risk"].map(_SEVERITY_ORDER).fillna(len(_SEVERITY_ORDER)) if "risk" in claims else 0
        claims = claims.assign(_r=rank).sort_values("_r", kind="stable").head(config.REPORT_MAX_ROWS).drop(columns="_r")
    view = claims_view(claims, titles)
    shown = [(c, h) for c, h in CLAIMS_SHOWN if c in view.columns]
    more = [c for c in CLAIMS_MORE if c in view.columns]
    cols = [c for c, _ in shown] + ["more"]
    heads = [h for _, h in shown] + ["more"]
    colgroup = "<colgroup>" + "".join(f"<col style='width:{_CLAIMS_WIDTHS.get(c, 8)}%'>" for c in cols) + "</colgroup>"
    head = "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in heads) + "</tr>"
    filters = "<tr class='filters'>" + "".join(
        f"<th><input data-i='{i}' placeholder='filter' aria-label='filter {_esc(h)}'></th>"
        for i, h in enumerate(heads)) + "</tr>"
    body = []
    for r in view.to_dict("records"):
        cells = "".join(f"<td data-col='{_esc(c)}'>{_esc(r[c])}</td>" for c, _ in shown)
        details = "".join(f"<dt>{_esc(c.replace('_', ' '))}</dt><dd>{_esc(r[c])}</dd>" for c in more
                          if str(r[c]).strip())
        body.append(f"<tr data-claim='{_esc(r.get('claim_id', ''))}'>{cells}<td data-col='more'>"
                    f"<details><summary>more</summary><dl>{details}</dl></details></td></tr>")
    table = (f"<table id='claims-table' class='grid fit'>{colgroup}<thead>{head}{filters}</thead>"
             f"<tbody>{''.join(body)}</tbody></table>")
    cut = (f" The {len(view):,} riskiest of {total:,} claims are listed here; every claim is in "
           f"<code>{_esc(config.CLAIMS_CSV)}</code> and the workbook." if total > len(view) else "")
    return _section("all-claims", f"<p><span id='claims-shown'>{len(view)}</span> of {len(view)} claims shown;"
                    " type in a box to filter that column. Every column is in the review workbook"
                    f" (<code>{_esc(config.CLAIMS_REVIEW_XLSX)}</code>).{cut}</p>" + table + _FILTER_JS)


# --- start here: the highest-risk findings ------------------------------------------------

START_HERE_MAX = 10
START_HERE_KINDS = ("contradiction", "evidence", "risk")  # why a claim is listed


def _flag_reasons(tables: dict) -> dict[str, list[str]]:
    """claim_id -> 'message (rule)' of its high-severity flags (flags.csv), or of every rule in
    its flags column when there is no flags table."""
    flags = tables.get("flags")
    out: dict[str, list[str]] = {}
    if flags is not None and len(flags):
        high = flags[flags["severity"] == "high"] if "severity" in flags else flags
        message = high["message"] if "message" in high else high["rule_id"]
        for cid, rule, msg in zip(high["claim_id"], high["rule_id"], message):
            out.setdefault(str(cid), []).append(f"{msg} ({rule})")
        return out
    claims = tables["claims"]
    if "flags" in claims:
        for cid, f in zip(claims["claim_id"], claims["flags"]):
            if _ids(f):
                out[str(cid)] = [", ".join(_ids(f))]
    return out


def start_here(tables: dict, limit: int = START_HERE_MAX) -> list[dict]:
    """The highest-risk findings, one per claim: a claim in a high-severity contradiction group,
    contradicted by evidence, or of high risk (a high-severity compliance flag). Each says why
    in words. Ranked by how many of those three it has, then how many claims contradict it,
    then how many evidence rows, then corpus order."""
    claims, titles = tables["claims"], article_titles(tables)
    groups = tables.get("groups")
    high = groups[groups["severity"] == "high"] if groups is not None and len(groups) else None
    by_group = {str(r.claim_id): r for r in high.itertuples(index=False)} if high is not None else {}
    statements = _statement(tables.get("evidence"))
    flag_reasons = _flag_reasons(tables)
    found = []
    for order, c in enumerate(claims.to_dict("records")):
        cid, why, kinds = str(c["claim_id"]), [], []
        g = by_group.get(cid)
        n = int(g.contradicting_claims) if g is not None else 0
        if n:
            m = int(g.contradicting_sources)
            e = f", e.g. \u201c{g.counter_1_text}\u201d ({_title(titles, g.counter_1_source)})" if g.counter_1_text else ""
            why.append(f"Contradicted by {n} claim{'s' if n != 1 else ''} in {m} article{'s' if m != 1 else ''}{e}.")
            kinds.append("contradiction")
        ev = _ids(c.get("evidence_ids")) if c.get("evidence_status") == "contradicted" else []
        if ev:
            first = f": {statements[ev[0]]}" if ev[0] in statements else ""
            rest = f" (and {', '.join(ev[1:])})" if len(ev) > 1 else ""
            why.append(f"The evidence contradicts it: {ev[0]}{first}{rest}")
            kinds.append("evidence")
        if c.get("risk") == "high":
            why.append("High-risk wording: " + "; ".join(flag_reasons.get(cid, ["a high-severity compliance rule"])))
            kinds.append("risk")
        if kinds:
            found.append({"claim_id": cid, "source_id": c["source_id"], "article": _title(titles, c["source_id"]),
                          "text": c["text"], "why": why, "kinds": kinds,
                          "_key": (-len(kinds), -n, -len(ev), order)})
    found.sort(key=lambda f: f.pop("_key"))
    return found[:limit] if limit else found


def start_here_html(tables: dict) -> str:
    """The 'start here' list: the ten highest-risk findings, each with its article and why."""
    every = start_here(tables, limit=0)
    if not every:
        return _section("start-here", "<p>Nothing to start with: no claim is in a high-severity "
                        "contradiction, contradicted by evidence or of high risk.</p>")
    items = "".join(
        f"<li data-claim='{_esc(f['claim_id'])}' data-kinds='{_esc(' '.join(f['kinds']))}'>"
        f"<b>{_esc(f['article'])}</b>: \u201c{_esc(f['text'])}\u201d<ul>"
        + "".join(f"<li>{_esc(w)}</li>" for w in f["why"]) + "</ul></li>" for f in every[:START_HERE_MAX])
    more = (f"<p>{len(every) - START_HERE_MAX} more below (contradictions, evidence, risky claims).</p>"
            if len(every) > START_HERE_MAX else "")
    return _section("start-here", f"<ol id='start-here-list'>{items}</ol>{more}")


def style_html() -> str:
    """The page's small inline stylesheet: tables fit the page (no sideways scrolling), text wraps."""
    return ("<style>section.audit table{border-collapse:collapse;font-size:12px;margin:6px 0}"
            "section.audit td,section.audit th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;"
            "text-align:left !important;overflow-wrap:break-word}"
            "table.pairs,table.groups,table.fit{width:100%;table-layout:fixed}"
            "table.groups td,table.fit td{overflow-wrap:anywhere}"
            "table.pairs td{width:40%}table.pairs td:last-child{width:20%}"
            "table.groups ul{margin:0;padding-left:16px}"
            "table.fit input{width:100%;box-sizing:border-box}table.fit dl{margin:2px 0}"
            "table.fit dt{font-weight:bold}table.fit dd{margin:0 0 2px 6px}"
            "#summary-table{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}"
            "table.summary caption{font-weight:bold;text-align:left;padding:2px 0}"
            "#start-here-list>li{margin:0 0 8px 0;font-size:13px}#start-here-list ul{margin:2px 0;color:#444}"
            "section.audit img{max-width:100%}p.na{color:#7f8c8d}</style>")


def problems_html(problems: pd.DataFrame) -> str:
    """Files that could not be audited, and why."""
    body = _table(problems, "problems-table") if len(problems) else "<p>None.</p>"
    return _section("problems", body)


OUTPUT_FILES = (
    (config.REPORT_HTML, "this report"),
    (config.CLAIMS_REVIEW_XLSX, "the review workbook: decide on claims there, then import it with `review import`"),
    (config.CONTRADICTION_GROUPS_CSV, "one row per claim under attack, most severe first"),
    (config.CLAIMS_CSV, "every claim with its labels, evidence status, flags, risk and review status"),
    (config.CLAIMS_PARQUET, "the same claims for scripts"),
    (config.FLAGS_CSV, "every compliance flag with its rule and message"),
    (config.EVIDENCE_CSV, "the evidence table the claims were checked against"),
    (config.REVIEW_STATUS_CSV, "every review decision and its status (unchanged, stale, orphaned, superseded)"),
    (config.CONTRADICTIONS_CSV, "every contradicting pair of claims (for scripts)"),
    (config.ASSERTIONS_CSV, "what each claim asserts (aspect, value)"),
    (config.ARTICLES_CSV, "each article's file and title"),
    (config.PROBLEMS_CSV, "files that could not be audited, and why"),
    (config.VALIDATION_JSON, "the result of the table checks"),
)


def outputs_html(output_dir: str | Path) -> str:
    """The output files by name, relative to the output folder (this report is in it), and the
    decisions file relative to the project: no local absolute path."""
    out = Path(output_dir)
    items = "".join(f"<li><code>{_esc(name)}</code>: {_esc(what)}</li>" for name, what in OUTPUT_FILES
                    if name == config.REPORT_HTML or (out / name).exists())
    decisions = config.DECISIONS_FILE.relative_to(config.ROOT).as_posix()
    return _section("outputs", "<p>In the output folder, beside this report:</p>"
                    f"<ul>{items}</ul><p>Reviewers' decisions are kept in <code>{_esc(decisions)}</code> "
                    "(in the project); <code>review import</code> adds the workbook's decisions to it.</p>")


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


@contextlib.contextmanager
def _kernel_stderr_captured():
    """Keep the notebook kernel's start-up chatter (it writes to the inherited stderr, e.g.
    ipykernel's "running over TCP without encryption" warning) off the user's terminal; it is
    printed after all when the execution fails, so nothing useful is lost."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def empty_report_html(tables: dict, output_dir: str | Path) -> str:
    """The page for a run without a single claim (every article had a problem): it says so
    and why, file by file, instead of charts of nothing."""
    problems = tables["problems"]
    why = (f"None of the {len(problems)} file(s) could be audited; each one's problem is listed "
           "below. Fix them (or remove them) and run the audit again."
           if len(problems) else "The articles gave no claim: no sentence states something "
           "about a treatment.")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Claims audit report: no claims</title>" + style_html() + "</head><body>"
            "<h1>Claims audit report</h1>"
            + _section("no-claims", f"<h2>No claims</h2><p>{_esc(why)}</p>")
            + "<h2>Files with problems</h2>" + problems_html(problems)
            + "<h2>Outputs</h2>" + outputs_html(output_dir) + "</body></html>\n")


def _private_kernel_manager(folder: Path):
    """A kernel manager class whose connection file (it holds the kernel's key) is written in
    ``folder`` instead of the shared temporary folder, so it is removed with the render's
    folder on every exit, and by the next audit after a SIGKILL."""
    from jupyter_client import AsyncKernelManager
    from traitlets import default

    class PrivateKernelManager(AsyncKernelManager):
        @default("connection_file")
        def _connection_file_default(self) -> str:
            return str(Path(folder) / "kernel-connection.json")

    return PrivateKernelManager


def render_report(processed_dir: Path, output_dir: Path | None = None,
                  notebook: Path = config.REPORT_NOTEBOOK, workdir: Path | None = None) -> str:
    """Execute the report notebook (papermill parameters input_dir, output_dir) against
    processed_dir and return self-contained HTML.

    The executed notebook and the kernel's connection file live in ``workdir`` (a temporary
    folder by default; the audit passes one inside its staging folder), removed on every exit
    path: errors, and SIGTERM or SIGHUP (raised as lifecycle.Terminated, so papermill shuts
    the kernel down). A run without claims gets a
    short page saying why (``empty_report_html``), without starting a kernel."""
    from .. import lifecycle

    tables = load_tables(processed_dir)
    if tables["claims"].empty:
        return empty_report_html(tables, output_dir or processed_dir)
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    with lifecycle.terminate_as_exception(), contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            workdir = Path(workdir)
            workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        executed = workdir / "report.ipynb"
        with _kernel_stderr_captured():
            papermill.execute_notebook(
                str(notebook), str(executed),
                parameters={"input_dir": str(Path(processed_dir).resolve()),
                            "output_dir": str(Path(output_dir or processed_dir).resolve())},
                cwd=str(config.ROOT), progress_bar=False, log_output=False, kernel_name="python3",
                kernel_manager_class=_private_kernel_manager(workdir),
            )
        nb = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return offline_html(body)
