"""The compliance staff's workbook: one sheet per table, ready to filter, read and decide.

``build_workbook`` turns the audit's tables into an openpyxl Workbook (no I/O; ``io.write_xlsx``
saves it with fixed timestamps so the same tables give the same bytes). Every sheet has a frozen
header, filters and sized columns; risky rows are filled; the claims sheet ends with the
reviewer's columns (decision with a drop-down of the allowed values, reviewer, date, note),
prefilled with the decision in force, which ``python -m pipeline review import`` reads back.
A table this run did not produce (evidence, flags) gets a sheet that says so.
"""
from __future__ import annotations

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .. import config

CLAIM_SHEET_COLUMNS = ["claim_id", "source_id", "section", "text", "treatment", "treatments",
                       "claim_type", "certainty", "negated", "family_id", "evidence_status",
                       "evidence_ids", "flags", "risk", "review_status", "review_note"]
REVIEWER_COLUMNS = ["decision", "reviewer", "date", "note"]
FILLS = {"high": PatternFill("solid", fgColor="F8CBAD"), "medium": PatternFill("solid", fgColor="FFE699")}
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
DECISION_FILL = PatternFill("solid", fgColor="E2EFDA")
MAX_WIDTH, WIDE_WIDTH = 50, 90


def _value(v):
    """A cell value: numbers and booleans as such, text without control characters."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    return ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v


def _write_table(ws, df: pd.DataFrame) -> None:
    """Header + rows, frozen header, filters on, columns sized to their content."""
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([_value(v) for v in row])
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for i, col in enumerate(df.columns, start=1):
        longest = max([len(str(col))] + [len(str(v)) for v in df[col].head(500)])
        wide = col in ("text", "text_a", "text_b", "message", "rationale", "current_text", "note")
        ws.column_dimensions[get_column_letter(i)].width = min(longest + 2, WIDE_WIDTH if wide else MAX_WIDTH)


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


def claims_sheet_frame(claims: pd.DataFrame, status: pd.DataFrame | None) -> pd.DataFrame:
    """The claims sheet: reviewer-facing columns, then decision columns prefilled with the
    decision in force (unchanged only; a stale one shows in review_status until re-decided)."""
    cols = [c for c in CLAIM_SHEET_COLUMNS if c in claims.columns]
    out = claims[cols].copy()
    current = {}
    if status is not None and len(status):
        for s in status[status["status"] == "unchanged"].fillna("").itertuples(index=False):
            current[s.current_claim_id] = (s.decision, s.reviewer, str(s.date), s.note)
    for i, col in enumerate(REVIEWER_COLUMNS):
        out[col] = [current.get(c, ("", "", "", ""))[i] for c in out["claim_id"]]
    return out


def claim_levels(claims: pd.DataFrame, contradictions: pd.DataFrame) -> list[str]:
    """Risk level per claim: the compliance risk when this run has it, else 'medium' for a claim
    in a contradiction or with contradicting evidence."""
    if "risk" in claims.columns:
        return [str(r) for r in claims["risk"]]
    contra = set(contradictions["claim_a"]) | set(contradictions["claim_b"])
    evid = claims["evidence_status"] if "evidence_status" in claims.columns else [""] * len(claims)
    return ["medium" if c in contra or e == "contradicted" else "none"
            for c, e in zip(claims["claim_id"], evid)]


def _decision_validation(ws, column: int, n_rows: int) -> None:
    """A drop-down of the allowed decisions on the decision column."""
    dv = DataValidation(type="list", formula1='"' + ",".join(config.DECISIONS) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle="Unknown decision",
                        error="Choose one of: " + ", ".join(config.DECISIONS))
    letter = get_column_letter(column)
    dv.add(f"{letter}2:{letter}{max(2, n_rows + 1)}")
    ws.add_data_validation(dv)


def build_workbook(tables: dict[str, pd.DataFrame | None]) -> Workbook:
    """The review workbook from the audit tables (claims, contradictions, evidence, flags,
    review_status); evidence, flags and review_status may be None."""
    wb = Workbook()
    ws = wb.active
    ws.title = "claims"
    claims, contra = tables["claims"], tables["contradictions"]
    frame = claims_sheet_frame(claims, tables.get("review_status"))
    _write_table(ws, frame)
    _highlight(ws, claim_levels(claims, contra))
    first = len(frame.columns) - len(REVIEWER_COLUMNS) + 1
    for col in range(first, len(frame.columns) + 1):
        ws.cell(1, col).fill = DECISION_FILL
        ws.column_dimensions[get_column_letter(col)].width = max(
            ws.column_dimensions[get_column_letter(col)].width, 16)
    _decision_validation(ws, first, len(frame))
    ws = wb.create_sheet("contradictions")
    _write_table(ws, contra)
    _highlight(ws, list(contra["severity"]) if "severity" in contra.columns else [])
    for name, file_name, level_col in (("evidence", config.EVIDENCE_CSV, None),
                                        ("flags", config.FLAGS_CSV, "severity")):
        df = tables.get(name)
        if df is None:
            _not_available(wb, name, file_name)
            continue
        ws = wb.create_sheet(name)
        _write_table(ws, df)
        _highlight(ws, [str(v) for v in df[level_col]] if level_col in df.columns else [])
    for ws in wb.worksheets:
        for cell in ws[1]:
            cell.alignment = Alignment(vertical="top")
    return wb
