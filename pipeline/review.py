"""Review decisions: check them, merge them into the claims, import them from the workbook.

Reviewers' decisions (data/review/decisions.csv) are the most valuable data the audit holds, so
the rules here are conservative and pure (DataFrames in, DataFrames out; ``io`` reads/writes):

- decisions.csv is an append-only log: claim_id, decision, reviewer, date, note (required) plus
  source_id and claim_text (what the claim said when it was decided). The last row for a
  claim_id is the decision in force; earlier rows for it are ``superseded`` but kept.
- merging never drops or edits a decision. Each one gets a status against the current claims:
  ``unchanged``  its claim_id exists and the claim's normalised text is the one decided;
  ``stale``      the claim was edited: its id (a hash of the text) is gone, but a claim of the
                 same source with similar text (rapidfuzz ratio >= STALE_MIN_SIMILARITY) exists;
                 that claim shows ``stale: <decision>`` until a reviewer decides it again;
  ``orphaned``   nothing similar remains; the decision is listed in the report.
- ``review import`` appends only rows whose decision differs from the one in force, and refuses
  the whole file (nothing written) when any row names an unknown claim id or decision.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from rapidfuzz import fuzz

from . import config, tables
from .text import text_key

UNREVIEWED = "unreviewed"


class ReviewError(ValueError):
    """Bad decisions input; the message names the file and every offending row."""


def empty_decisions() -> pd.DataFrame:
    """A decisions table with no rows and every column."""
    return pd.DataFrame(columns=tables.DECISIONS + tables.DECISION_CONTEXT, dtype=str)


def check_decisions(decisions: pd.DataFrame, name: str) -> pd.DataFrame:
    """The decisions table with every column as text; raises ReviewError naming bad rows.

    Rows are numbered as a spreadsheet shows them (header = row 1).
    """
    missing = [c for c in tables.DECISIONS if c not in decisions.columns]
    if missing:
        raise ReviewError(f"{name}: missing column(s) {', '.join(missing)} "
                          f"(expected {', '.join(tables.DECISIONS)})")
    out = decisions.fillna("").astype(str)
    for col in tables.DECISION_CONTEXT:
        if col not in out.columns:
            out[col] = ""
    problems = []
    for i, (cid, decision) in enumerate(zip(out["claim_id"], out["decision"]), start=2):
        if not cid.strip():
            problems.append(f"{name}: row {i}: empty claim_id")
        if decision not in config.DECISIONS:
            problems.append(f"{name}: row {i}: decision {decision!r} is not one of "
                            f"{', '.join(config.DECISIONS)}")
    if problems:
        raise ReviewError("\n".join(problems))
    return out.reset_index(drop=True)


def _best_match(decision: pd.Series, claims: pd.DataFrame) -> tuple[str, str, float]:
    """The current claim most similar to a decided text in the same source, or ('', '', 0)."""
    if not decision["claim_text"].strip():
        return "", "", 0.0
    pool = claims[claims["source_id"] == decision["source_id"]] if decision["source_id"] else claims
    key = text_key(decision["claim_text"])
    best = ("", "", 0.0)
    for cid, text in zip(pool["claim_id"], pool["text"]):
        score = fuzz.ratio(key, text_key(text))
        if score > best[2]:
            best = (cid, text, score)
    return best if best[2] >= config.STALE_MIN_SIMILARITY else ("", "", best[2])


def decision_status(claims: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per decision (file order) with its status and the claim it now applies to."""
    texts = dict(zip(claims["claim_id"], claims["text"]))
    last = {cid: i for i, cid in enumerate(decisions["claim_id"])}
    rows = []
    for i, d in decisions.iterrows():
        row = {c: d[c] for c in tables.DECISIONS + tables.DECISION_CONTEXT}
        current, text, score = "", "", 0.0
        if last[d["claim_id"]] != i:
            status = "superseded"
        elif d["claim_id"] in texts:
            current, text = d["claim_id"], texts[d["claim_id"]]
            same = not d["claim_text"] or text_key(d["claim_text"]) == text_key(text)
            status, score = ("unchanged", 100.0) if same else (
                "stale", fuzz.ratio(text_key(d["claim_text"]), text_key(text)))
        else:
            current, text, score = _best_match(d, claims)
            status = "stale" if current else "orphaned"
        row.update(status=status, current_claim_id=current, current_text=text,
                   similarity=round(float(score), 1))
        rows.append(row)
    return pd.DataFrame(rows, columns=tables.REVIEW_STATUS)


def merge_decisions(claims: pd.DataFrame, decisions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims with review_status and review_note, and the status table of every decision.

    review_status is the decision in force (approved, rejected, needs_evidence), ``stale: <decision>``
    for an edited claim that inherits an older decision, or ``unreviewed``. An unchanged decision
    outranks a stale one on the same claim; among stale ones the latest wins.
    """
    status = decision_status(claims, decisions)
    by_claim: dict[str, tuple[str, str]] = {}
    for s in status[status["status"] == "stale"].itertuples(index=False):
        by_claim[s.current_claim_id] = (f"stale: {s.decision}", s.note)  # latest stale wins
    for s in status[status["status"] == "unchanged"].itertuples(index=False):
        by_claim[s.current_claim_id] = (s.decision, s.note)  # a current decision outranks stale ones
    out = claims.copy()
    out["review_status"] = [by_claim.get(c, (UNREVIEWED, ""))[0] for c in out["claim_id"]]
    out["review_note"] = [by_claim.get(c, (UNREVIEWED, ""))[1] for c in out["claim_id"]]
    return out, status


def _cell(value) -> str:
    """A workbook cell as text: dates as YYYY-MM-DD, None as ''."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def imported_decisions(rows: list[tuple[int, dict]], claims: pd.DataFrame, name: str,
                       today: str, reviewer: str = "") -> pd.DataFrame:
    """Decisions from workbook rows [(row number, {column: value})]; raises ReviewError naming
    every row with an unknown claim id, an unknown decision or no reviewer. Rows without a
    decision are skipped (clearing a cell never deletes a decision)."""
    texts = dict(zip(claims["claim_id"], claims["text"]))
    sources = dict(zip(claims["claim_id"], claims["source_id"]))
    out, problems = [], []
    missing = [c for c in ("claim_id", "decision") if rows and c not in rows[0][1]]
    if missing:
        raise ReviewError(f"{name}: sheet claims has no {' or '.join(missing)} column; nothing written")
    for n, r in rows:
        decision, cid = _cell(r.get("decision")), _cell(r.get("claim_id"))
        if not decision:
            continue
        where = f"{name}: sheet claims, row {n}"
        if cid not in texts:
            problems.append(f"{where}: unknown claim id {cid!r} (not in the audited claims)")
        if decision not in config.DECISIONS:
            problems.append(f"{where}: decision {decision!r} is not one of {', '.join(config.DECISIONS)}")
        who = _cell(r.get("reviewer")) or reviewer
        if not who:
            problems.append(f"{where}: no reviewer (fill the reviewer column or pass --reviewer)")
        out.append({"claim_id": cid, "decision": decision, "reviewer": who,
                    "date": _cell(r.get("date")) or today, "note": _cell(r.get("note")),
                    "source_id": sources.get(cid, ""), "claim_text": texts.get(cid, "")})
    if problems:
        raise ReviewError("refused, nothing written:\n  " + "\n  ".join(problems))
    return pd.DataFrame(out, columns=tables.DECISIONS + tables.DECISION_CONTEXT)


def changed_decisions(decisions: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The new rows that change the decision in force (decision, reviewer or note, or the claim
    text it was made on): only these are appended to decisions.csv."""
    in_force = {r.claim_id: (r.decision, r.reviewer, r.note, r.claim_text)
                for r in decisions.itertuples(index=False)}
    keep = [in_force.get(r.claim_id) != (r.decision, r.reviewer, r.note, r.claim_text)
            for r in new.itertuples(index=False)]
    return new[keep].reset_index(drop=True)
