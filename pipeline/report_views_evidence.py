"""Report views for contradictions and evidence (issue 4), for the notebook to display.

Pure functions: tables in (as read from the --out folder), DataFrames or HTML strings out.
The notebook wires them in, e.g.::

    from pipeline.report_views_evidence import contradictions_grouped_html, evidence_section_html
    display(HTML(contradictions_grouped_html(contradictions)))
    display(HTML(evidence_section_html(claims, evidence)))
"""
from __future__ import annotations

import html

import pandas as pd

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_STYLE = ("<style>table.ev{border-collapse:collapse;width:100%}table.ev td,table.ev th{border:1px solid"
          " #ccc;padding:4px;vertical-align:top;text-align:left;font-size:12px}.sev-high{color:#b00020;"
          "font-weight:bold}.sev-medium{color:#b36b00}.sev-low{color:#555}</style>")


def contradiction_summary(contra: pd.DataFrame) -> pd.DataFrame:
    """Counts per treatment and aspect: pairs by severity and scope, most severe first."""
    if contra.empty:
        return pd.DataFrame(columns=["treatment", "aspect", "pairs", "high", "medium", "low",
                                     "within_source", "cross_source"])
    g = contra.groupby(["treatment", "aspect"])
    out = pd.DataFrame({"pairs": g.size()})
    for sev in ("high", "medium", "low"):
        out[sev] = g["severity"].apply(lambda s, v=sev: int((s == v).sum()))
    for scope in ("within_source", "cross_source"):
        out[scope] = g["scope"].apply(lambda s, v=scope: int((s == v).sum()))
    out = out.reset_index()
    return out.sort_values(["high", "medium", "pairs", "treatment", "aspect"],
                           ascending=[False, False, False, True, True], kind="stable").reset_index(drop=True)


def contradictions_grouped(contra: pd.DataFrame) -> pd.DataFrame:
    """Pairs ordered for review: by treatment and aspect, most severe first, both texts side by side."""
    cols = ["treatment", "aspect", "severity", "scope", "source_a", "text_a", "value_a",
            "source_b", "text_b", "value_b", "rationale", "repeats"]
    if contra.empty:
        return pd.DataFrame(columns=cols)
    order = contra.assign(_s=contra["severity"].map(_SEVERITY_ORDER))
    order = order.sort_values(["treatment", "aspect", "_s", "source_a", "source_b"], kind="stable")
    return order[[c for c in cols if c in order.columns]].reset_index(drop=True)


def _e(x) -> str:
    return html.escape(str(x))


def contradictions_grouped_html(contra: pd.DataFrame) -> str:
    """HTML: one table per (treatment, aspect), pairs most severe first, sentences side by side."""
    if contra.empty:
        return "<p>No contradictions found.</p>"
    rows = contradictions_grouped(contra)
    parts = [_STYLE]
    for (treatment, aspect), group in rows.groupby(["treatment", "aspect"], sort=False):
        worst = group["severity"].iloc[0]
        parts.append(f"<h3>{_e(treatment.replace('|', ' vs '))} \u2014 {_e(aspect.replace('_', ' '))} "
                     f"<span class='sev-{_e(worst)}'>({len(group)} pair(s), worst: {_e(worst)})</span></h3>"
                     "<table class='ev'><tr><th>Severity</th><th>Claim A</th><th>Claim B</th><th>Why</th></tr>")
        for r in group.itertuples(index=False):
            more = f" <i>(stands for {int(r.repeats)} repeated pairs)</i>" if int(r.repeats) > 1 else ""
            parts.append(
                f"<tr><td class='sev-{_e(r.severity)}'>{_e(r.severity)}<br>{_e(r.scope.replace('_', ' '))}</td>"
                f"<td><b>{_e(r.source_a)}</b> ({_e(r.value_a)})<br>{_e(r.text_a)}</td>"
                f"<td><b>{_e(r.source_b)}</b> ({_e(r.value_b)})<br>{_e(r.text_b)}</td>"
                f"<td>{_e(r.rationale)}{more}</td></tr>")
        parts.append("</table>")
    return "".join(parts)


def evidence_status_counts(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims per treatment by evidence status (supported, contradicted, no_evidence)."""
    if "evidence_status" not in claims or claims.empty:
        return pd.DataFrame(columns=["treatment", "supported", "contradicted", "no_evidence"])
    t = pd.crosstab(claims["treatment"], claims["evidence_status"])
    for col in ("supported", "contradicted", "no_evidence"):
        if col not in t:
            t[col] = 0
    return t[["supported", "contradicted", "no_evidence"]].reset_index()


def contradicted_by_evidence(claims: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per (claim contradicted by evidence, evidence row), with the full citation."""
    cols = ["claim_id", "source_id", "treatment", "text", "evidence_id", "statement", "quote",
            "source_title", "publisher", "url", "is_mirror"]
    if "evidence_status" not in claims or evidence is None or evidence.empty:
        return pd.DataFrame(columns=cols)
    bad = claims[claims["evidence_status"] == "contradicted"]
    rows = bad.assign(evidence_id=bad["evidence_ids"].str.split(";")).explode("evidence_id")
    merged = rows.merge(evidence, on="evidence_id", how="left", suffixes=("", "_ev"))
    return merged[cols].sort_values(["source_id", "claim_id", "evidence_id"], kind="stable").reset_index(drop=True)


def evidence_section_html(claims: pd.DataFrame, evidence: pd.DataFrame) -> str:
    """HTML: status counts, then each claim contradicted by evidence with its citations."""
    if evidence is None or evidence.empty:
        return "<p>No evidence table was given (data/raw/evidence.csv): every claim is no_evidence.</p>"
    table = contradicted_by_evidence(claims, evidence)
    parts = [_STYLE, evidence_status_counts(claims).to_html(index=False, classes="ev")]
    if table.empty:
        parts.append("<p>No claim is contradicted by the evidence table.</p>")
        return "".join(parts)
    parts.append("<h3>Claims contradicted by evidence</h3><table class='ev'><tr><th>Claim</th>"
                 "<th>Evidence</th><th>Citation</th></tr>")
    for (cid, sid, text), group in table.groupby(["claim_id", "source_id", "text"], sort=False):
        first = True
        for r in group.itertuples(index=False):
            mirror = " (mirror or index copy)" if r.is_mirror == "yes" else ""
            claim_cell = f"<td rowspan='{len(group)}'><b>{_e(sid)}</b><br>{_e(text)}</td>" if first else ""
            parts.append(
                f"<tr>{claim_cell}<td><b>{_e(r.evidence_id)}</b>: {_e(r.statement)}</td>"
                f"<td>{_e(r.source_title)}, {_e(r.publisher)}{_e(mirror)}<br>"
                f"<a href='{_e(r.url)}'>{_e(r.url)}</a><br>\u201c{_e(r.quote)}\u201d</td></tr>")
            first = False
    parts.append("</table>")
    return "".join(parts)
