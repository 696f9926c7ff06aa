"""The compliance staff's workbook: one sheet per table, laid out to decide in.

``build_workbook`` turns the audit's tables into an openpyxl Workbook (no I/O; ``io.write_xlsx``
saves it with fixed timestamps so the same tables give the same bytes). On every sheet the id
and text columns come first and stay in view (panes frozen right of them and under the
header), long text wraps and rows are tall enough to show it, filters are on, risky rows are
filled. The sheets that take decisions (claims, contradiction_groups when the run has them,
flags) put them right after the id and the text:

  decision  a drop-down of the kind's values (config.DECISIONS_BY_KIND)   } what the reviewer
  note      why (required to dismiss a flag or a group)                   } types
  reviewer, date, decision_id   the decision in force when the workbook was made: context only;
            ``review import`` takes reviewer and date from the command line and uses
            decision_id to see whether someone decided the row again since.

Flags are shown one row per wording and rule (fingerprint, rule_id), the key a flag decision is
kept under. A table this run did not produce (evidence, flags) gets a sheet that says so.
"""
from __future__ import annotations

import math

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .. import config, review

CLAIM_SHEET_COLUMNS = ["claim_id", "source_id", "section", "text", "treatment", "treatments",
                       "claim_type", "certainty", "negated", "family_id", "evidence_status",
                       "evidence_ids", "flags", "risk", "review_status", "review_note"]
REVIEWER_COLUMNS = ["decision", "note", "reviewer", "date"]   # right after the id and text
CONTEXT_COLUMNS = ("reviewer", "date", "decision_id")            # shown, never imported
# Per sheet, the columns kept in view on the left: its id(s) and the text a reviewer reads.
LEAD_COLUMNS = {
    "claims": ["claim_id", "text"],
    "contradiction_groups": ["group_id", "text"],
    "flags": ["fingerprint", "rule_id", "text"],
    "contradictions": ["contradiction_id", "text_a", "text_b"],
    "evidence": ["evidence_id", "statement"],
}
WRAPPED = ("text", "text_a", "text_b", "statement", "quote", "message", "rationale", "note",
           "review_note", "current_text", "counter_claims")
FILLS = {"high": PatternFill("solid", fgColor="F8CBAD"), "medium": PatternFill("solid", fgColor="FFE699")}
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
DECISION_FILL = PatternFill("solid", fgColor="E2EFDA")
CONTEXT_FONT = Font(italic=True, color="808080")
TOP = Alignment(vertical="top")
WRAP = Alignment(vertical="top", wrap_text=True)
MAX_WIDTH, TEXT_WIDTH, NOTE_WIDTH = 40, 60, 40
LINE_HEIGHT, MAX_LINES = 15, 8   # points per wrapped line; taller rows are capped


def _value(v):
    """A cell value: numbers and booleans as such, text without control characters, no cell
    for an empty value."""
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if v is None or v == "" or (isinstance(v, float) and pd.isna(v)):
        return None
    return ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v


def _widths(df: pd.DataFrame) -> list[int]:
    """Column widths in characters: wrapped text columns fixed, others sized to their content."""
    out = []
    for col in df.columns:
        if col in WRAPPED:
            out.append(NOTE_WIDTH if col in ("note", "review_note") else TEXT_WIDTH)
            continue
        longest = max([len(str(col))] + [len(str(v)) for v in df[col].head(500)])
        out.append(max(min(longest + 2, MAX_WIDTH), 16 if col in REVIEWER_COLUMNS else 0))
    return out


def _write_table(ws, df: pd.DataFrame, lead: int = 1) -> None:
    """Header + rows; the header row and the first ``lead`` columns frozen, filters on, columns
    sized, long text wrapped and its row made tall enough to show it (up to MAX_LINES lines).

    Text cells always wrap; of the other cells, only those a reviewer reads first (ids,
    decision) are aligned to the top, and only in tall rows: styling a cell costs openpyxl a
    hash of the style, so styling every cell would double the time to build the workbook."""
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([_value(v) for v in row])
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = Font(bold=True), HEADER_FILL, WRAP
    widths = _widths(df)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    wrapped = {i for i, c in enumerate(df.columns) if c in WRAPPED}
    topped = set(range(lead)) | {i for i, c in enumerate(df.columns) if c == "decision"}
    lines = [1] * len(df)
    for i in wrapped:
        for r, v in enumerate(df.iloc[:, i]):
            if isinstance(v, str) and len(v) > widths[i]:
                lines[r] = max(lines[r], math.ceil(len(v) / widths[i]))
    for r, row in enumerate(ws.iter_rows(min_row=2), start=0):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
        for i in wrapped:
            if row[i].value is not None:
                row[i].alignment = WRAP
        if lines[r] > 1:
            ws.row_dimensions[r + 2].height = LINE_HEIGHT * min(lines[r], MAX_LINES)
            for i in topped - wrapped:
                row[i].alignment = TOP
    ws.freeze_panes = f"{get_column_letter(lead + 1)}2"
    ws.auto_filter.ref = ws.dimensions


def _highlight(ws, levels: list[str]) -> None:
    """Fill each data row whose level (high, medium) is risky. (Rows are walked once with
    iter_rows: ``ws[r]`` recomputes the sheet's width on every call, quadratic on big sheets.)"""
    if not levels:
        return
    rows = ws.iter_rows(min_row=2, max_row=len(levels) + 1, max_col=ws.max_column)
    for level, row in zip(levels, rows):
        if level in config.RISKY_LEVELS:
            for cell in row:
                cell.fill = FILLS[level]


def _not_available(wb: Workbook, title: str, file_name: str) -> None:
    """A sheet that says this run did not write the table."""
    ws = wb.create_sheet(title)
    ws["A1"] = f"{title}: not available in this run ({file_name} was not written)"
    ws.column_dimensions["A"].width = 80


def _ordered(df: pd.DataFrame, lead: list[str]) -> list[str]:
    """The lead columns (those present) first, the others in their order."""
    first = [c for c in lead if c in df.columns]
    return first + [c for c in df.columns if c not in first]


def decision_frame(df: pd.DataFrame, lead: list[str], kind: str, subjects: list[str],
                   status: pd.DataFrame | None) -> pd.DataFrame:
    """A decision sheet's table: lead columns, the reviewer columns prefilled with the decision
    in force (unchanged only; a stale one shows in review_status until someone decides again),
    the other columns, and decision_id last."""
    found = review.in_force(status, kind) if status is not None and len(status) else {}
    rows = [found.get(s) for s in subjects]
    cols = _ordered(df, lead)
    first = [c for c in lead if c in df.columns]
    out = df[first].copy()
    for col in REVIEWER_COLUMNS:
        out[col] = [str(getattr(r, col)) if r is not None else "" for r in rows]
    for col in cols[len(first):]:
        out[col] = df[col].values
    out["decision_id"] = [r.decision_id if r is not None else "" for r in rows]
    return out


def _decision_columns(ws, frame: pd.DataFrame, kind: str) -> None:
    """Header fills (what to type, what is context), grey context cells and the drop-down."""
    cols = list(frame.columns)
    for name in REVIEWER_COLUMNS + ["decision_id"]:
        i = cols.index(name) + 1
        ws.cell(1, i).fill = DECISION_FILL
        if name in CONTEXT_COLUMNS:
            ws.cell(1, i).font = Font(bold=True, italic=True, color="808080")
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(frame) + 1, min_col=i, max_col=i):
                if cell.value is not None:   # most rows are undecided: style only what is shown
                    cell.font = CONTEXT_FONT
    allowed = config.DECISIONS_BY_KIND[kind]
    dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle="Unknown decision",
                        error="Choose one of: " + ", ".join(allowed))
    letter = get_column_letter(cols.index("decision") + 1)
    dv.add(f"{letter}2:{letter}{max(2, len(frame) + 1)}")
    ws.add_data_validation(dv)


def claims_sheet_frame(claims: pd.DataFrame, status: pd.DataFrame | None) -> pd.DataFrame:
    """The claims sheet: claim_id, text, the decision columns, then the reviewer-facing columns."""
    cols = [c for c in CLAIM_SHEET_COLUMNS if c in claims.columns]
    return decision_frame(claims[cols], LEAD_COLUMNS["claims"], "claim",
                          list(claims["claim_id"].astype(str)), status)


def flags_sheet_frame(flags: pd.DataFrame, status: pd.DataFrame | None) -> pd.DataFrame:
    """The flags sheet: one row per (fingerprint, rule_id), i.e. per wording and rule, with the
    claims it was found on, its review status and the decision columns."""
    from ..stages.flag import fingerprint

    if "fingerprint" not in flags.columns:
        flags = flags.assign(fingerprint=[fingerprint(t, r) for t, r in zip(flags["text"], flags["rule_id"])])
    claims_of = flags.groupby(["fingerprint", "rule_id"], sort=False)["claim_id"].agg(lambda s: ";".join(map(str, s)))
    one = flags.drop_duplicates(["fingerprint", "rule_id"]).drop(columns="claim_id")
    one = one.assign(claim_ids=[claims_of[(f, r)] for f, r in zip(one["fingerprint"], one["rule_id"])])
    subjects = [f"{f}/{r}" for f, r in zip(one["fingerprint"], one["rule_id"])]
    if status is not None:
        one["review_status"], one["review_note"] = review.review_labels("flag", subjects, status)
    return decision_frame(one.reset_index(drop=True), LEAD_COLUMNS["flags"], "flag", subjects, status)


def groups_sheet_frame(groups: pd.DataFrame, status: pd.DataFrame | None) -> pd.DataFrame:
    """The contradiction groups sheet (tables.GROUPS_FOR_REVIEW and any other columns)."""
    subjects = list(groups["group_id"].astype(str))
    groups = groups.copy()
    if status is not None:
        groups["review_status"], groups["review_note"] = review.review_labels("group", subjects, status)
    return decision_frame(groups, LEAD_COLUMNS["contradiction_groups"], "group", subjects, status)


def claim_levels(claims: pd.DataFrame, contradictions: pd.DataFrame) -> list[str]:
    """Risk level per claim: the compliance risk when this run has it, else 'medium' for a claim
    in a contradiction or with contradicting evidence."""
    if "risk" in claims.columns:
        return [str(r) for r in claims["risk"]]
    contra = set(contradictions["claim_a"]) | set(contradictions["claim_b"])
    evid = claims["evidence_status"] if "evidence_status" in claims.columns else [""] * len(claims)
    return ["medium" if c in contra or e == "contradicted" else "none"
            for c, e in zip(claims["claim_id"], evid)]


def _levels(df: pd.DataFrame, column: str) -> list[str]:
    return [str(v) for v in df[column]] if column in df.columns else []


def _sheet(wb: Workbook, title: str, frame: pd.DataFrame, levels: list[str], kind: str | None = None) -> None:
    """One sheet: the table laid out (lead columns frozen), risky rows filled, decision columns."""
    ws = wb.create_sheet(title)
    _write_table(ws, frame, lead=len([c for c in LEAD_COLUMNS.get(title, []) if c in frame.columns]) or 1)
    _highlight(ws, levels)
    if kind:
        _decision_columns(ws, frame, kind)


def build_workbook(tables: dict[str, pd.DataFrame | None]) -> Workbook:
    """The review workbook from the audit tables (claims, contradictions, evidence, flags,
    review_status, contradiction_groups); all but claims and contradictions may be None or absent."""
    wb = Workbook()
    wb.remove(wb.active)
    claims, contra, status = tables["claims"], tables["contradictions"], tables.get("review_status")
    _sheet(wb, "claims", claims_sheet_frame(claims, status), claim_levels(claims, contra), "claim")
    groups = tables.get("contradiction_groups")
    if groups is not None:
        _sheet(wb, "contradiction_groups", groups_sheet_frame(groups, status), _levels(groups, "severity"), "group")
    _sheet(wb, "contradictions", contra[_ordered(contra, LEAD_COLUMNS["contradictions"])],
           _levels(contra, "severity"))
    evidence, flags = tables.get("evidence"), tables.get("flags")
    if evidence is None:
        _not_available(wb, "evidence", config.EVIDENCE_CSV)
    else:
        _sheet(wb, "evidence", evidence[_ordered(evidence, LEAD_COLUMNS["evidence"])], [])
    if flags is None:
        _not_available(wb, "flags", config.FLAGS_CSV)
    else:
        frame = flags_sheet_frame(flags, status)
        _sheet(wb, "flags", frame, _levels(frame, "severity"), "flag")
    return wb
