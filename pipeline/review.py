"""Review decisions: the log, its merge into the audit's tables, and the workbook import.

Reviewers' decisions are the most valuable data the audit holds, so the rules are conservative.
Everything here is pure (DataFrames in, DataFrames out) except ``import_workbook`` at the end,
which reads and appends through ``io``.

The log (data/review/decisions.csv, columns tables.DECISION_LOG) is a list of events, appended,
never edited. Each has a ``decision_id`` and a ``kind``: a decision on a ``claim`` (keyed by
claim_id), on a contradiction ``group`` (group_id) or on a ``flag`` (the finding's fingerprint
+ rule_id). The last event for a subject is the decision in force; earlier ones are
``superseded`` but kept. An older file without ids is read as it is: each row without an id
gets a stable one (a hash of its content and of how many identical rows precede it), the same
on every read, written into the file by the first import that appends to it.

Merging never drops or edits a decision. Each one gets a status against the current tables:
``unchanged``  its subject exists and the claim's normalised text is the one decided;
``stale``      the text was edited: the subject is gone (claim ids and fingerprints hash the
               text) but one of the same kind and source (and rule, for a flag) has similar
               text (rapidfuzz ratio >= STALE_MIN_SIMILARITY); it shows ``stale: <decision>``
               until a reviewer decides it again;
``orphaned``   nothing similar remains; the decision is listed in the report.

Import (``plan_import``): the reviewer and the date come from the import, never from the
workbook (its reviewer and date cells are context). Each workbook row carries the id of the
decision in force when the workbook was made; a row equal to that decision is context and
writes nothing; a changed row whose subject was decided again since is a named conflict,
refused unless ``force``. Unknown ids or decisions, formulas, a dismissal without a reason and
two decided rows for one subject refuse the whole workbook; nothing is written.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from . import config, tables
from .text import text_key

UNREVIEWED = "unreviewed"
MAX_LISTED_PROBLEMS = 30   # a refusal lists this many rows, then counts the rest
KIND_NAMES = {"claim": "claim", "group": "contradiction group", "flag": "flag"}


class ReviewError(ValueError):
    """Bad decisions input; the message names the file and every offending row."""


def empty_decisions() -> pd.DataFrame:
    """A decisions log with no rows and every column."""
    return pd.DataFrame(columns=tables.DECISION_LOG, dtype=object)


def subject_keys(frame: pd.DataFrame) -> list[str]:
    """What each decision (or reviewable row) is about: the claim id, the group id, or
    ``fingerprint/rule_id`` for a flag, by the row's kind."""
    cols = [frame[c].tolist() for c in ("kind", "claim_id", "group_id", "fingerprint", "rule_id")]
    return [cid if kind == "claim" else gid if kind == "group" else f"{fp}/{rid}"
            for kind, cid, gid, fp, rid in zip(*cols)]


def _listed(problems: list[str]) -> str:
    """Problems one per line, at most MAX_LISTED_PROBLEMS of them, then how many more."""
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    return "\n  ".join(shown + ([f"... and {more} more"] if more else []))


# --- the log ---------------------------------------------------------------------------------

def decision_ids(log: pd.DataFrame) -> list[str]:
    """Every row's decision_id; a row without one gets ``d`` + 12 hex digits hashing its content
    and the number of identical rows before it. Rows are only ever appended, so an id given on
    one read is given on every later read; a clash with an id in the file takes the next number."""
    out = log["decision_id"].tolist()
    todo = [i for i, d in enumerate(out) if not d]
    if not todo:
        return out
    content = [log[c].tolist() for c in tables.DECISION_LOG if c != "decision_id"]
    used = set(out) - {""}
    seen: dict[tuple, int] = {}
    for i in todo:
        row = tuple(col[i] for col in content)
        n = seen.get(row, 0)
        while True:
            new = "d" + hashlib.sha1("\x1f".join(row + (str(n),)).encode()).hexdigest()[:12]
            n += 1
            if new not in used:
                break
        seen[row] = n
        used.add(new)
        out[i] = new
    return out


def _log_problems(out: pd.DataFrame, name: str) -> list[str]:
    """A message per log row with an unknown kind, an empty key or a decision not allowed for
    its kind (rows numbered as a spreadsheet shows them, header = row 1)."""
    cols = {c: out[c].tolist() for c in ("kind", "decision", "claim_id", "group_id", "fingerprint", "rule_id")}
    problems = []
    for i, kind in enumerate(cols["kind"]):
        allowed = config.DECISIONS_BY_KIND.get(kind)
        if allowed is None:
            problems.append(f"{name}: row {i + 2}: kind {kind!r} is not one of {', '.join(config.DECISIONS_BY_KIND)}")
            continue
        empty = [k for k in tables.DECISION_KEYS[kind] if not cols[k][i].strip()]
        if empty:
            problems.append(f"{name}: row {i + 2}: empty {' and '.join(empty)}")
        if cols["decision"][i] not in allowed:
            problems.append(f"{name}: row {i + 2}: decision {cols['decision'][i]!r} is not one of {', '.join(allowed)}")
    return problems


def check_decisions(decisions: pd.DataFrame, name: str) -> pd.DataFrame:
    """The decisions log with every column as text and every row with an id (an older file
    without ids or kinds is read as claim decisions). Raises ReviewError naming each bad row."""
    missing = [c for c in tables.DECISIONS if c not in decisions.columns]
    if missing:
        raise ReviewError(f"{name}: missing column(s) {', '.join(missing)} "
                          f"(expected {', '.join(tables.DECISION_LOG)})")
    # object columns of Python str: row loops over pandas' Arrow-backed strings are ~10x slower
    out = decisions.fillna("").astype(str).astype(object).reset_index(drop=True)
    for col in tables.DECISION_LOG:
        if col not in out.columns:
            out[col] = pd.Series([""] * len(out), dtype=object)
    out["kind"] = [k or "claim" for k in out["kind"].tolist()]
    problems = _log_problems(out, name)
    if problems:
        raise ReviewError(_listed(problems))
    out["decision_id"] = decision_ids(out)
    dupes = out["decision_id"][out["decision_id"].duplicated()]
    if len(dupes):
        rows = [str(i + 2) for i in out.index[out["decision_id"].isin(set(dupes))]]
        raise ReviewError(f"{name}: rows {', '.join(rows[:MAX_LISTED_PROBLEMS])}: "
                          "the same decision_id more than once")
    return out[tables.DECISION_LOG + [c for c in out.columns if c not in tables.DECISION_LOG]]


# --- what can be decided, and the status of every decision -----------------------------------

def review_subjects(claims: pd.DataFrame, flags: pd.DataFrame | None = None,
                    groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """Everything a reviewer can decide in this run, one row each: kind, subject (its key),
    claim_id, source_id, text (the claim's wording), rule_id, plus the key columns.

    Flags are one row per (fingerprint, rule_id): the fingerprint hashes the wording, so one
    decision covers that wording wherever it appears (its first claim gives claim and source).
    Groups need only tables.GROUPS_FOR_REVIEW; their source comes from the claims."""
    from .stages.flag import fingerprint

    source = dict(zip(claims["claim_id"].astype(str).tolist(), claims["source_id"].astype(str).tolist()))
    parts = [pd.DataFrame({"kind": "claim", "claim_id": claims["claim_id"].astype(str),
                           "source_id": claims["source_id"].astype(str),
                           "text": claims["text"].astype(str), "group_id": "", "fingerprint": "",
                           "rule_id": ""})]
    if flags is not None and len(flags):
        f = flags.astype({"claim_id": str, "rule_id": str, "text": str})
        fps = (f["fingerprint"].astype(str) if "fingerprint" in f.columns
               else [fingerprint(t, r) for t, r in zip(f["text"], f["rule_id"])])
        f = f.assign(fingerprint=fps).drop_duplicates(["fingerprint", "rule_id"])
        parts.append(pd.DataFrame({"kind": "flag", "claim_id": f["claim_id"],
                                   "source_id": [source.get(c, "") for c in f["claim_id"].tolist()],
                                   "text": f["text"], "group_id": "", "fingerprint": f["fingerprint"],
                                   "rule_id": f["rule_id"]}))
    if groups is not None and len(groups):
        g = groups[tables.GROUPS_FOR_REVIEW].astype(str)
        # a group's source is its claim's (contradiction_groups.csv names it)
        sources = (groups["source_id"].astype(str).tolist() if "source_id" in groups
                   else [source.get(c, "") for c in g["claim_id"].tolist()])
        parts.append(pd.DataFrame({"kind": "group", "claim_id": g["claim_id"],
                                   "source_id": sources,
                                   "text": g["text"], "group_id": g["group_id"], "fingerprint": "",
                                   "rule_id": ""}))
    out = pd.concat(parts, ignore_index=True)
    out["subject"] = subject_keys(out)
    return out


class _Pools:
    """Current subjects of one kind, source and rule, with their text keys, built on demand so
    that matching a gone decision costs one pass over its own pool (rapidfuzz, in C)."""

    def __init__(self, subjects: pd.DataFrame):
        self.subjects = subjects
        self.keys: dict[tuple, list[str]] = {}

    # grouped on the first gone decision only (most runs have none)
    @functools.cached_property
    def by_source(self) -> dict:
        return {k: v for k, v in self.subjects.groupby(["kind", "source_id", "rule_id"], sort=False)}

    @functools.cached_property
    def by_kind(self) -> dict:
        return {k: v for k, v in self.subjects.groupby(["kind", "rule_id"], sort=False)}

    def best(self, d) -> tuple[str, str, str, float]:
        """(subject, claim_id, text, score) of the most similar current text, or blanks."""
        if not d.claim_text.strip():
            return "", "", "", 0.0
        key = (d.kind, d.source_id, d.rule_id) if d.source_id else (d.kind, d.rule_id)
        pool = self.by_source.get(key) if d.source_id else self.by_kind.get(key)
        if pool is None:
            return "", "", "", 0.0
        if key not in self.keys:
            self.keys[key] = [text_key(t) for t in pool["text"]]
        hit = process.extractOne(text_key(d.claim_text), self.keys[key], scorer=fuzz.ratio,
                                 score_cutoff=config.STALE_MIN_SIMILARITY)
        if hit is None:
            return "", "", "", 0.0
        row = pool.iloc[hit[2]]
        return row["subject"], row["claim_id"], row["text"], float(hit[1])


def readable_subjects(subjects: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``subjects`` (``review_subjects``) that ``decision_status`` can read for these
    decisions: the subjects they name, and the pools where a gone one is matched (its kind,
    source and rule; its kind and rule when it names no source). ``decision_status`` on these
    rows gives what it gives on all, so a run that reads its claims in chunks keeps only these."""
    named = set(zip(decisions["kind"], subject_keys(decisions)))
    pools = {(k, s, r) for k, s, r in zip(decisions["kind"], decisions["source_id"], decisions["rule_id"]) if s}
    kind_pools = {(k, r) for k, s, r in zip(decisions["kind"], decisions["source_id"], decisions["rule_id"]) if not s}
    keep = [(k, sub) in named or (k, src, r) in pools or (k, r) in kind_pools
            for k, sub, src, r in zip(subjects["kind"].tolist(), subjects["subject"].tolist(),
                                      subjects["source_id"].tolist(), subjects["rule_id"].tolist())]
    return subjects[keep]


class SubjectsInChunks:
    """``review_subjects`` of claims read a chunk of whole articles at a time, in order, keeping
    only the rows the decisions can read (``readable_subjects``): ``add`` each chunk, then
    ``subjects``. A flag is one subject per wording (its first claim), across chunks too."""

    def __init__(self, decisions: pd.DataFrame):
        self.decisions = decisions
        self.flags_decided = bool((decisions["kind"] == "flag").any())
        self.seen_flags: set[str] = set()
        self.parts: list[pd.DataFrame] = []
        self.groups: list[pd.DataFrame] = []

    def add(self, claims: pd.DataFrame, flags: pd.DataFrame | None) -> None:
        """One chunk's claims and flags (flags only matter when a decision is on a flag)."""
        s = review_subjects(claims, flags if self.flags_decided else None)
        flag = s["kind"] == "flag"
        if flag.any():   # a wording flagged in an earlier chunk is that chunk's subject
            again = flag & s["subject"].isin(self.seen_flags)
            self.seen_flags.update(s.loc[flag, "subject"].tolist())
            s = s[~again]
        self.parts.append(readable_subjects(s, self.decisions))

    def add_groups(self, groups: pd.DataFrame) -> None:
        """One chunk of the contradiction groups (a group is its own subject: no state across
        chunks)."""
        if len(groups):
            self.groups.append(readable_subjects(review_subjects(_NO_CLAIMS, None, groups), self.decisions))

    def subjects(self) -> pd.DataFrame:
        """Every readable subject: claims, then flags, then groups (each kind in table order)."""
        frames = self.parts + self.groups
        if not frames:
            return review_subjects(_NO_CLAIMS)
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values("kind", key=lambda k: k.map(_KIND_ORDER), kind="stable").reset_index(drop=True)


_NO_CLAIMS = pd.DataFrame({c: pd.Series(dtype=object) for c in ("claim_id", "source_id", "text")})
_KIND_ORDER = {"claim": 0, "flag": 1, "group": 2}


def decision_status(subjects: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per decision (log order) with its status and the subject it now applies to.

    ``subjects``: review_subjects(...), or a plain claims table (claim_id, source_id, text)."""
    if "subject" not in subjects.columns:
        subjects = review_subjects(subjects)
    current = {(k, s): (c, t) for k, s, c, t in zip(*(subjects[c].tolist() for c in
                                                       ("kind", "subject", "claim_id", "text")))}
    pools = _Pools(subjects)
    keys = subject_keys(decisions)
    last = {(k, s): i for i, (k, s) in enumerate(zip(decisions["kind"], keys))}
    rows = []
    for i, d in enumerate(decisions[tables.DECISION_LOG].itertuples(index=False)):
        subject, cid, text, score = "", "", "", 0.0
        if last[(d.kind, keys[i])] != i:
            status = "superseded"
        elif (d.kind, keys[i]) in current:
            subject, (cid, text) = keys[i], current[(d.kind, keys[i])]
            same = not d.claim_text or text_key(d.claim_text) == text_key(text)
            status, score = ("unchanged", 100.0) if same else (
                "stale", fuzz.ratio(text_key(d.claim_text), text_key(text)))
        else:
            subject, cid, text, score = pools.best(d)
            status = "stale" if subject else "orphaned"
        rows.append((*d, status, subject, cid, text, round(float(score), 1)))
    return pd.DataFrame(rows, columns=tables.REVIEW_STATUS)


def _labels_by_subject(kind: str, status: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """subject -> (review_status, review_note) of the decisions of one kind in force or stale:
    an unchanged decision outranks a stale one on the same subject; among stale ones the
    latest wins."""
    by_subject: dict[str, tuple[str, str]] = {}
    mine = status[status["kind"] == kind]
    for s in mine[mine["status"] == "stale"].itertuples(index=False):
        by_subject[s.current_id] = (f"stale: {s.decision}", s.note)
    for s in mine[mine["status"] == "unchanged"].itertuples(index=False):
        by_subject[s.current_id] = (s.decision, s.note)
    return by_subject


def review_labels(kind: str, subjects: list[str], status: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(review_status, review_note) per subject of one kind: the decision in force, ``stale:
    <decision>`` for an edited subject that inherits an older decision, or ``unreviewed``."""
    return _labels(_labels_by_subject(kind, status), subjects)


def _labels(by_subject: dict[str, tuple[str, str]], subjects: list[str]) -> tuple[list[str], list[str]]:
    found = [by_subject.get(s, (UNREVIEWED, "")) for s in subjects]
    return [f[0] for f in found], [f[1] for f in found]


def review_columns(kind: str, subjects: pd.Series, status: pd.DataFrame) -> dict[str, object]:
    """``review_labels`` as the columns review_status and review_note to assign: one value
    each when no decision of the kind is in force or stale (every claim of a first audit;
    most claims of any), else a label per subject."""
    by_subject = _labels_by_subject(kind, status)
    if not by_subject:
        return dict(zip(tables.REVIEW, (UNREVIEWED, "")))
    return dict(zip(tables.REVIEW, _labels(by_subject, subjects.astype(str).tolist())))


def in_force(status: pd.DataFrame, kind: str) -> dict[str, tuple]:
    """{subject: status row} of the unchanged decisions in force of one kind (what the workbook
    prefills; a stale one is shown in review_status until someone decides again)."""
    mine = status[(status["kind"] == kind) & (status["status"] == "unchanged")].fillna("")
    return {s.current_id: s for s in mine.itertuples(index=False)}


def merge_decisions(claims: pd.DataFrame, decisions: pd.DataFrame, flags: pd.DataFrame | None = None,
                    groups: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims with review_status and review_note, and the status of every decision (claims,
    and the flags and contradiction groups of this run when given)."""
    decisions = decisions if "kind" in decisions.columns else check_decisions(decisions, "decisions")
    status = decision_status(review_subjects(claims, flags, groups), decisions)
    out = claims.copy()
    out["review_status"], out["review_note"] = review_labels("claim", list(out["claim_id"].astype(str)), status)
    return out, status


# --- import ----------------------------------------------------------------------------------

@dataclass
class ImportPlan:
    """What an import found: the events to append, and counts for the summary line."""

    new: pd.DataFrame
    decided: int = 0        # rows with a decision
    unchanged: int = 0      # rows equal to the decision they were exported with, or to the one in force
    forced: int = 0         # conflicts recorded because of --force
    conflicts: list[str] = field(default_factory=list)


def _cell(value) -> str:
    """A workbook cell as text: dates as YYYY-MM-DD, None as ''."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


READ_COLUMNS = ("decision", "note", "reviewer", "date", "decision_id")


def _formulas(row: dict, columns: list[str], where: str) -> list[str]:
    """A problem per formula in a column the import reads (the cell named)."""
    from .io import Formula

    return [f"{where}, cell {row[c].coordinate} ({c}): a formula ({row[c].text[:60]}) is not read; "
            "type the value itself" for c in columns if isinstance(row.get(c), Formula)]


def _sheet_plan(sheet: str, rows: list[tuple[int, dict]], subjects: dict, log_by_id: dict,
                last: dict, name: str, reviewer: str, today: str, plan: ImportPlan,
                problems: list[str]) -> list[dict]:
    """The events one sheet adds; problems and conflicts are collected, not raised."""
    kind = config.REVIEW_SHEETS[sheet]
    keys, allowed, what = tables.DECISION_KEYS[kind], config.DECISIONS_BY_KIND[kind], KIND_NAMES[kind]
    header = set(rows[0][1]) if rows else set()
    missing = [c for c in keys + ["decision"] if rows and c not in header]
    if missing:
        problems.append(f"{name}: sheet {sheet} has no {' or '.join(missing)} column")
        return []
    seen: dict[str, int] = {}
    events = []
    for n, row in rows:
        where = f"{name}: sheet {sheet}, row {n}"
        bad = _formulas(row, keys + list(READ_COLUMNS), where)
        if bad:
            problems.extend(bad)
            continue
        decision, note, base = (_cell(row.get(c)) for c in ("decision", "note", "decision_id"))
        if not decision:
            continue   # a cleared cell never deletes a decision
        plan.decided += 1
        key_values = {k: _cell(row.get(k)) for k in keys}
        subject = key_values["claim_id"] if kind == "claim" else key_values["group_id"] if kind == "group" \
            else f"{key_values['fingerprint']}/{key_values['rule_id']}"
        if subject in seen:
            problems.append(f"{name}: sheet {sheet}, rows {seen[subject]} and {n} both decide {what} {subject!r}")
            continue
        seen[subject] = n
        if subject not in subjects:
            problems.append(f"{where}: unknown {what} {subject!r} (not in the audit's tables)")
            continue
        if decision not in allowed:
            problems.append(f"{where}: decision {decision!r} is not one of {', '.join(allowed)}")
            continue
        if decision in config.REASON_REQUIRED and not note:
            problems.append(f"{where}: {decision} needs a reason in the note column")
            continue
        exported = log_by_id.get(base)
        if exported is not None and exported["subject"] != subject:
            problems.append(f"{where}: decision_id {base!r} belongs to another {what}; "
                            "the row was altered (re-export the workbook)")
            continue
        if exported is not None and (exported["decision"], exported["note"].strip()) == (decision, note):
            plan.unchanged += 1   # the prefilled decision, untouched: context, not a new decision
            continue
        now = last.get((kind, subject))
        if now is not None and (now["decision"], now["note"].strip()) == (decision, note):
            plan.unchanged += 1   # already the decision in force
            continue
        if (now["decision_id"] if now is not None else "") != base:
            plan.conflicts.append(
                f"{where}: {what} {subject!r}: the workbook was made with "
                + (f"decision {base}" if base else "no decision") + " in force; now in force: "
                + (f"{now['decision']} by {now['reviewer']} on {now['date']} ({now['decision_id']})"
                   if now is not None else "none")
                + ("" if base in log_by_id or not base else " (that decision is not in the log)"))
        subj = subjects[subject]
        events.append({"decision_id": "", "kind": kind, "claim_id": subj["claim_id"],
                       "group_id": key_values.get("group_id", ""), "fingerprint": key_values.get("fingerprint", ""),
                       "rule_id": key_values.get("rule_id", ""), "decision": decision, "reviewer": reviewer,
                       "date": today, "note": note, "source_id": subj["source_id"], "claim_text": subj["text"]})
    return events


def _log_index(log: pd.DataFrame) -> tuple[dict, dict]:
    """({decision_id: row}, {(kind, subject): row in force}) over the log; a row is built only
    when looked at, so indexing a 100,000-row log costs two passes over column lists."""
    cols = {c: log[c].tolist() for c in tables.DECISION_LOG}
    keys = subject_keys(log)

    def row(i: int) -> dict:
        return {**{c: cols[c][i] for c in tables.DECISION_LOG}, "subject": keys[i]}

    by_id = {d: i for i, d in enumerate(cols["decision_id"])}
    last = {(k, s): i for i, (k, s) in enumerate(zip(cols["kind"], keys))}
    return _Rows(by_id, row), _Rows(last, row)


class _Rows:
    """A read-only mapping key -> log row, the row built on access."""

    def __init__(self, index: dict, row):
        self.index, self.row = index, row

    def get(self, key, default=None):
        i = self.index.get(key)
        return default if i is None else self.row(i)

    def __contains__(self, key) -> bool:
        return key in self.index


def plan_import(sheets: dict[str, list[tuple[int, dict]]], subjects: pd.DataFrame, log: pd.DataFrame,
                name: str, log_name: str, reviewer: str, today: str, force: bool = False) -> ImportPlan:
    """The events a workbook adds to the log (ids given), or ReviewError naming every bad row
    and, unless ``force``, every conflict. ``sheets``: io.read_xlsx_rows of config.REVIEW_SHEETS;
    the claims sheet is required, the others are read when they take decisions."""
    if "claims" not in sheets:
        raise ReviewError(f"{name}: no sheet named 'claims'; nothing written")
    by_subject = {s: {"claim_id": c, "source_id": src, "text": t} for s, c, src, t in
                  zip(subjects["subject"], subjects["claim_id"], subjects["source_id"], subjects["text"])}
    kinds = dict(zip(subjects["subject"], subjects["kind"]))
    log_by_id, last = _log_index(log)
    plan, problems, events = ImportPlan(new=empty_decisions()), [], []
    for sheet, kind in config.REVIEW_SHEETS.items():
        rows = sheets.get(sheet)
        if rows is None or (sheet != "claims" and rows and "decision" not in rows[0][1]):
            continue   # a sheet this workbook does not have, or one that takes no decisions
        mine = {s: v for s, v in by_subject.items() if kinds[s] == kind}
        events += _sheet_plan(sheet, rows, mine, log_by_id, last, name, reviewer, today, plan, problems)
    if problems:
        raise ReviewError("refused, nothing written:\n  " + _listed(problems))
    if plan.conflicts and not force:
        raise ReviewError(
            f"refused, nothing written: {len(plan.conflicts)} row(s) conflict with the decisions in "
            f"force in {log_name}:\n  " + _listed(plan.conflicts)
            + "\nre-export the workbook (make audit) and decide again, or pass --force to record "
              "these decisions over the later ones")
    plan.forced = len(plan.conflicts)
    new = pd.DataFrame(events, columns=tables.DECISION_LOG)
    if len(new):
        ids = decision_ids(pd.concat([log[tables.DECISION_LOG], new], ignore_index=True))
        new["decision_id"] = ids[len(log):]
    plan.new = new
    return plan


def import_workbook(book: Path, processed: Path, decisions: Path, reviewer: str,
                    force: bool = False, today: str | None = None) -> ImportPlan:
    """Read a reviewed workbook and append its new decisions to the log, all or nothing.

    The log is read, checked against the workbook and appended to under its lock, so two
    imports at once never lose a decision nor miss each other's conflicts."""
    from . import io

    reviewer = reviewer.strip()
    if not reviewer:
        raise ReviewError("--reviewer is required: who made these decisions (the workbook's "
                          "reviewer cells are not read)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in reviewer):
        raise ReviewError("--reviewer: a name without control characters (tabs, new lines, escapes)")
    today = today or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    io.check_workbook_file(Path(book))   # a missing or hostile workbook is named before anything is read
    processed = Path(processed)
    claims = io.read_csv(processed / config.CLAIMS_CSV)
    missing = sorted({"claim_id", "text", "source_id"} - set(claims.columns))
    if missing:
        raise ReviewError(f"{processed / config.CLAIMS_CSV}: not an audited claims table (missing {missing}); "
                          "run `make audit` again")
    claims = claims.astype({"claim_id": str, "text": str, "source_id": str})
    subjects = review_subjects(claims, io.read_optional_csv(processed / config.FLAGS_CSV),
                               io.read_optional_csv(processed / config.CONTRADICTION_GROUPS_CSV))
    keys = {k for cols in tables.DECISION_KEYS.values() for k in cols}
    sheets = io.read_xlsx_rows(book, list(config.REVIEW_SHEETS), keys | set(READ_COLUMNS))
    with io.decisions_lock(decisions):
        raw = io.read_decisions(decisions)
        log = empty_decisions() if raw is None else check_decisions(raw, str(decisions))
        plan = plan_import(sheets, subjects, log, str(book), str(decisions), reviewer, today, force)
        if len(plan.new):
            io.append_decisions(decisions, plan.new, log)
    return plan
