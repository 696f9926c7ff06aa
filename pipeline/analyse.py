"""The one wiring of the stages: raw articles in, ``Tables`` out. No I/O.

``analyse_articles`` runs the per-article stages on one batch (ingest -> segment -> extract ->
tag -> claims table -> flags -> evidence); every stage works article by article, so batches can
run in any process, in any grouping, and give the same rows. ``cross_check`` runs what needs
every claim at once (claim families across batches, contradictions and their groups). ``analyse`` is both, for
a set of articles that fits in memory. The audit (in batches and in worker processes), ``check``,
``eval`` and the tests all call these functions, so they measure the path the audit runs.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy
import pandas as pd

from . import tables
from .lifecycle import collect_after
from .nlp import RuleSet, build_nlp
from .stages.contradict import find_contradictions
from .stages.evidence import Evidence, check_evidence
from .stages.extract import extract
from .stages.families import family_ids, unify_families
from .stages.flag import add_flags, findings
from .stages.groups import contradiction_groups
from .stages.ingest import ingest
from .stages.segment import segment
from .stages.tag import tag


@contextmanager
def timed(timings: dict | None, name: str):
    """Add the seconds spent in the block to ``timings[name]`` (when timings is a dict)."""
    t0 = time.perf_counter()
    yield
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0


@dataclass
class Labelled:
    """One batch after tagging: documents, every unit (claims and not), and the long tables
    of the units' assertions and compliance matches, keyed by claim_id."""

    docs: pd.DataFrame
    units: pd.DataFrame
    assertions: pd.DataFrame
    matches: pd.DataFrame
    problems: pd.DataFrame


def label_units(raw: pd.DataFrame, rules: RuleSet, main: dict[str, str] | None = None, nlp=None,
                timings: dict | None = None) -> Labelled:
    """Ingest, segment, extract and tag one batch of raw files (source_id, file, data, problem)."""
    nlp = nlp or build_nlp(rules)
    with timed(timings, "ingest"):
        docs, problems = ingest(raw)
    with timed(timings, "segment"):
        blocks = segment(docs)
    with timed(timings, "extract"):
        ex = extract(docs, blocks, nlp)
    with timed(timings, "tag"):
        units = tag(ex.units, rules, main or {})
        claim_of = dict(zip(units["unit"], units["claim_id"]))
        keyed = [ex.assertions, ex.findings]
        for i, t in enumerate(keyed):
            t = t.assign(claim_id=t["unit"].map(claim_of)).drop(columns="unit")
            keyed[i] = t[t["claim_id"].astype(bool)] if len(t) else t
    problems = pd.concat([problems, _no_sentence(docs, units)], ignore_index=True)
    return Labelled(docs, units, keyed[0][tables.ASSERTIONS].reset_index(drop=True),
                    keyed[1].reset_index(drop=True), problems)


def _no_sentence(docs: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Problems for articles whose text gave no sentence or list item (only headings/fragments)."""
    with_text = set(units.loc[units["kind"] != "heading", "source_id"]) if len(units) else set()
    files = [f for sid, f in zip(docs["source_id"], docs["file"]) if sid not in with_text]
    return pd.DataFrame({"file": files, "problem": ["no sentence: only headings or fragments "
                                                    "without sentence punctuation; no claims"] * len(files)},
                        columns=tables.PROBLEMS)


def articles_table(docs: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """One row per article read: its title from the page (HTML <title>, Markdown's first
    heading), else its first heading unit, else its file name (sources.csv titles are applied
    by the audit, which reads that file)."""
    first: dict[str, str] = {}
    if len(units):
        heads = units[units["kind"] == "heading"].sort_values(["source_id", "start"], kind="stable")
        for sid, text in zip(heads["source_id"], heads["text"]):
            first.setdefault(sid, " ".join(str(text).split()))
    titles = [str(t or "").strip() or first.get(sid) or f
              for sid, f, t in zip(docs["source_id"], docs["file"], docs["title"])]
    return pd.DataFrame({"source_id": docs["source_id"], "file": docs["file"], "title": titles},
                        columns=tables.ARTICLES)


def claims_table(units: pd.DataFrame) -> pd.DataFrame:
    """The claims of tagged units, contract columns, sorted stably, with family ids."""
    # astype(bool): in a batch without text (every file a problem) the column is empty object,
    # which pandas would read as a list of column labels
    claims = units[units["is_claim"].astype(bool)].sort_values(["source_id", "start", "end"], kind="stable").copy()
    claims["family_id"] = family_ids(claims) if len(claims) else pd.Series([], dtype=str)
    return claims.reset_index(drop=True)


def analyse_articles(raw: pd.DataFrame, rules: RuleSet, evidence: Evidence | None = None,
                     main: dict[str, str] | None = None, nlp=None,
                     timings: dict | None = None) -> tables.Tables:
    """The per-article stages on one batch of raw files: claims, assertions, findings and
    problems (no contradictions: they need every claim; see ``cross_check``). No garbage
    collection runs within the batch (``lifecycle.collect_after``)."""
    with collect_after():
        return _analyse_articles(raw, rules, evidence, main, nlp, timings)


def _analyse_articles(raw: pd.DataFrame, rules: RuleSet, evidence: Evidence | None,
                      main: dict[str, str] | None, nlp, timings: dict | None) -> tables.Tables:
    """``analyse_articles`` within its collection policy."""
    nlp = nlp or build_nlp(rules)
    lab = label_units(raw, rules, main, nlp, timings)
    if lab.docs.empty:  # every article of the batch is a problem: nothing to tag
        return tables.Tables(problems=lab.problems)
    with timed(timings, "near_duplicates"):   # claim families grouped within the batch
        claims = claims_table(lab.units)
    with timed(timings, "flag"):
        visible = dict(zip(lab.docs["source_id"], lab.docs["visible"]))
        found = findings(claims, lab.matches, visible, rules)
        claims = add_flags(claims, found, rules)
    with timed(timings, "evidence"):   # after the flags: a claim of proof needs strong evidence
        claims = check_evidence(claims, lab.assertions, evidence or Evidence.empty(), rules)
    return tables.Tables(claims=claims[tables.CLAIMS], assertions=lab.assertions,
                         findings=found, problems=lab.problems,
                         articles=articles_table(lab.docs, lab.units))


def merge(parts: list[tables.Tables]) -> tables.Tables:
    """Batch results as one set of tables, in an order no scheduling changes; claim families
    made consistent across batches (near-duplicates are grouped within each batch)."""
    out = tables.Tables.concat(parts)
    c = out.claims.sort_values(["source_id", "start", "end"], kind="stable").reset_index(drop=True)
    for col in tables.LIST_SEPARATORS:   # tuple columns: one object per distinct value
        if col in c:
            c[col] = tables.shared(c[col])
    if len(parts) > 1 and len(c):
        c["family_id"] = unify_families(c)
    out.claims = c
    rows = claim_rows(c["claim_id"])
    for name in ("assertions", "findings"):
        t = getattr(out, name)
        if len(t):
            t = t.iloc[numpy.argsort(rows(t["claim_id"]), kind="stable")]
        setattr(out, name, t.reset_index(drop=True))
    out.problems = out.problems.sort_values(["file", "problem"], kind="stable").reset_index(drop=True)
    out.articles = out.articles.sort_values("source_id", kind="stable").reset_index(drop=True)
    return out


def claim_rows(claim_ids: pd.Series):
    """A function giving the row of ``claim_ids`` each key names, past the end for a key naming
    no claim: one vectorised lookup (a dict of every claim id took most of the merge of 10,000
    articles), the index of the ids built once for every key column. A repeated id, which
    validation reports, names its last row."""
    ids, rows = pd.Index(claim_ids), numpy.arange(len(claim_ids))
    if not ids.is_unique:
        last = ~ids.duplicated(keep="last")
        ids, rows = ids[last], rows[last]

    def positions(keys: pd.Series) -> numpy.ndarray:
        where = ids.get_indexer(keys)
        return numpy.where(where < 0, len(claim_ids), rows[where])
    return positions


def cross_check(t: tables.Tables, rules: RuleSet, timings: dict | None = None,
                evidence: pd.DataFrame | None = None) -> tables.Tables:
    """What needs every claim at once: contradictions between claim families, then one group
    per claim under attack (``evidence``: the evidence table, for the groups' aspects)."""
    if t.claims.empty:   # every article was a problem: nothing to pair (empty tables as they are)
        return t
    with timed(timings, "contradict"), collect_after():
        t.contradictions = find_contradictions(t.claims, t.assertions, rules)
        t.groups = contradiction_groups(t.claims, t.contradictions, evidence)
    return t


def analyse(raw: pd.DataFrame, rules: RuleSet | None = None, evidence: Evidence | None = None,
            main: dict[str, str] | None = None, nlp=None, timings: dict | None = None) -> tables.Tables:
    """Every stage, from raw files to tables, for articles that fit in memory at once."""
    rules = rules or RuleSet.load()
    part = analyse_articles(raw, rules, evidence, main, nlp, timings)
    return cross_check(merge([part]), rules, timings, evidence.table if evidence else None)
