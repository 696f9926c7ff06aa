"""The tables the stages pass to each other, and their column contracts, in one place.

In memory the tables are typed: lists stay tuples (a claim's treatments, cues, evidence ids,
flags), assertions and findings are long tables keyed by claim_id. Only the writers of files
for people (CSV, the workbook, the report's Parquet copy) join lists into text, with
``claims_for_people``; no stage ever parses a joined string back.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Iterator

import pandas as pd

CLAIMS = [
    "claim_id", "source_id", "start", "end", "text", "kind", "section",
    "treatment", "treatments", "subjects", "claim_type", "certainty", "negated", "family_id", "cues",
    "evidence_status", "evidence_ids", "evidence_level", "flags", "risk",
]
REVIEW = ["review_status", "review_note"]                   # added by the review merge
ASSERTIONS = ["claim_id", "aspect", "value", "qualifier", "words", "absolute"]
FINDINGS = ["claim_id", "source_id", "rule_id", "family", "severity", "start", "end", "match",
            "detail", "fingerprint"]
CONTRADICTIONS = [
    "contradiction_id", "claim_a", "claim_b", "source_a", "source_b", "scope",
    "treatment", "aspect", "value_a", "value_b", "text_a", "text_b", "rationale",
    "severity", "repeats",
]
PROBLEMS = ["file", "problem"]
# One row per claim under attack (pipeline.stages.groups; contradiction_groups.csv): the claim,
# how many claims in how many sources contradict it, the three strongest counter-claims, the
# contradicting evidence rows and a severity that ranks. List columns are tuples in memory.
GROUPS = [
    "group_id", "severity", "claim_id", "source_id", "text", "treatment", "certainty", "aspects",
    "contradicting_claims", "contradicting_sources", "evidence_ids",
    "counter_1_source", "counter_1_text", "counter_2_source", "counter_2_text",
    "counter_3_source", "counter_3_text", "counter_claim_ids", "contradiction_ids",
]
GROUP_LIST_COLUMNS = ("aspects", "evidence_ids", "counter_claim_ids", "contradiction_ids")  # ";"-joined
GROUP_IDS = ("group_id", "claim_id")   # each unique in the table (expectations/contradiction_groups.json)
# One row per audited article (articles.csv): its title for people, from sources.csv, else the
# first heading (HTML <title>, Markdown's first heading, a text file's first heading line), else
# the file name.
ARTICLES = ["source_id", "file", "title"]
# evidence.csv: one cited fact a row; treatment/applies_to/aspect/value/qualifier are what claims
# meet (aspect empty: a fact no claim aspect meets, kept for reviewers and the report).
EVIDENCE = [
    "evidence_id", "treatment", "applies_to", "aspect", "value", "qualifier", "level", "statement",
    "quote", "source_title", "publisher", "url", "date", "is_mirror", "note",
]
FLAGS = ["claim_id", "rule_id", "family", "severity", "message", "text", "fingerprint"]  # flags.csv

# The reviewers' decisions log (data/review/decisions.csv): one row per event, appended, never
# edited. ``kind`` says what was decided and which columns key it (DECISION_KEYS); claim_id,
# source_id and claim_text record the claim and its wording when it was decided (for every kind).
DECISION_LOG = ["decision_id", "kind", "claim_id", "group_id", "fingerprint", "rule_id",
                "decision", "reviewer", "date", "note", "source_id", "claim_text"]
DECISIONS = ["claim_id", "decision", "reviewer", "date", "note"]   # required in an older log
DECISION_KEYS = {"claim": ["claim_id"], "group": ["group_id"], "flag": ["fingerprint", "rule_id"]}
REVIEW_STATUS = DECISION_LOG + ["status", "current_id", "current_claim_id", "current_text", "similarity"]

# What the review needs of contradiction_groups.csv (issue 12; built elsewhere): one row per
# claim under attack with a stable ``group_id``, the attacked ``claim_id`` and its ``text``.
# Other columns are shown in the workbook as they come. ``review.review_subjects`` reads only these.
GROUPS_FOR_REVIEW = ["group_id", "claim_id", "text"]

# Claims columns a person reads in a file: lists joined with their separator, and the
# assertions shown as aspect=value:qualifier|words after ``negated``.
LIST_SEPARATORS = {"treatments": ";", "subjects": ";", "cues": " ", "evidence_ids": ";", "flags": ";"}
CLAIMS_FOR_PEOPLE = [
    "claim_id", "source_id", "start", "end", "text", "kind", "section",
    "treatment", "treatments", "subjects", "claim_type", "certainty", "negated", "assertions", "family_id",
    "cues", "evidence_status", "evidence_ids", "evidence_level", "flags", "risk",
]


def records(df: pd.DataFrame, repeated: tuple[str, ...] = ()) -> Iterator[tuple]:
    """The rows of a table as named tuples, like ``itertuples(index=False)``, read column by
    column with ``tolist``: walking an Arrow-backed text column (pandas' default ``str``) one
    element at a time costs about seven times more, and the stages that see every claim walk
    hundreds of thousands of rows. ``repeated``: columns of few distinct values, whose equal
    values become one object (``shared``; ``tolist`` makes a new string per cell), for rows
    that are kept (a contradiction block keeps every row of the block)."""
    row = namedtuple("Row", df.columns, rename=True)
    return map(row._make, zip(*(shared(df[c]) if c in repeated else df[c].tolist()
                                for c in df.columns)))


def shared(values: pd.Series) -> list:
    """The values of a column as a list in which equal ones are one object: a column of tuples
    ("microneedling",) repeated over hundreds of thousands of claims then holds a few thousand
    tuples, not one per row (the main process of an audit holds every claim). A text column's
    distinct values are found by ``pd.factorize`` (in Arrow: half the time of a dict per cell,
    and one string made per distinct value instead of per cell)."""
    if isinstance(values.dtype, pd.StringDtype):
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        return list(map(list(distinct).__getitem__, codes.tolist()))
    seen: dict = {}
    return [seen.setdefault(v, v) for v in values.tolist()]


def within(values: pd.Series, members: set) -> list[bool]:
    """``values.isin(members)`` for a large set: pandas turns the set into a list on every
    call, which costs more than the test itself when a set of many ids meets many tables."""
    return [v in members for v in values.tolist()]


def empty(columns: list[str]) -> pd.DataFrame:
    """An empty table with the given columns."""
    return pd.DataFrame(columns=columns)


@dataclass
class Tables:
    """What the analysis of a set of articles gives: typed long tables, no text formatting."""

    claims: pd.DataFrame = field(default_factory=lambda: empty(CLAIMS))
    assertions: pd.DataFrame = field(default_factory=lambda: empty(ASSERTIONS))
    findings: pd.DataFrame = field(default_factory=lambda: empty(FINDINGS))
    contradictions: pd.DataFrame = field(default_factory=lambda: empty(CONTRADICTIONS))
    problems: pd.DataFrame = field(default_factory=lambda: empty(PROBLEMS))
    groups: pd.DataFrame = field(default_factory=lambda: empty(GROUPS))
    articles: pd.DataFrame = field(default_factory=lambda: empty(ARTICLES))

    # the claims, assertions and contradictions are held here (False), or read a chunk at a
    # time (the Dask engine's tables, whose rows stay in its dataset: ``claim_chunks``,
    # ``contradiction_chunks``)
    streamed = False
    # table -> {id column -> its repeats (``outputs.validate.repeated_hashes``)}, for the tables
    # whose ids were counted where the rows are (the Dask engine's cluster: claims, groups);
    # a table not named here has its ids counted by validation from the chunks
    id_repeats = MappingProxyType({})   # not a field: not a table of rows

    def claim_chunks(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """The claims and their assertions in chunks of whole articles, in claims order: here
        one chunk, the tables themselves."""
        yield self.claims, self.assertions

    def contradiction_chunks(self) -> Iterator[pd.DataFrame]:
        """The contradictions in chunks, in the table's order: here one chunk, the table."""
        yield self.contradictions

    def group_chunks(self) -> Iterator[pd.DataFrame]:
        """The contradiction groups in chunks, in the table's order: here one chunk, the table."""
        yield self.groups

    def article_chunks(self) -> Iterator[pd.DataFrame]:
        """The articles in chunks, in the table's order: here one chunk, the table."""
        yield self.articles

    @classmethod
    def concat(cls, parts: list["Tables"]) -> "Tables":
        """The tables of several batches as one (row order: batch order)."""
        out = cls()
        for f in fields(cls):
            frames = [getattr(p, f.name) for p in parts if len(getattr(p, f.name))]
            if frames:
                setattr(out, f.name, pd.concat(frames, ignore_index=True))
        return out


def groups_for_people(groups: pd.DataFrame) -> pd.DataFrame:
    """The contradiction groups as files for people show them: list columns joined with ';'."""
    out = groups.copy()
    for col in GROUP_LIST_COLUMNS:
        out[col] = [";".join(v) for v in out[col]]
    return out[GROUPS]


def assertion_text(aspect: str, value: str, qualifier: str, words: str) -> str:
    """One assertion as people read it: ``side_effects=named:redness|redness``."""
    shown = " ".join(words.replace("|", " ").replace(";", " ").replace("=", " ").split())
    return f"{aspect}={value}{':' + qualifier if qualifier else ''}|{shown}"


def claims_for_people(claims: pd.DataFrame, assertions: pd.DataFrame) -> pd.DataFrame:
    """The claims table as files for people show it: lists joined, assertions as text.

    A claims chunk holds hundreds of thousands of rows but few distinct lists and assertions:
    each distinct list is joined once (``pd.factorize``) and each distinct assertion written
    once, and the joined columns go to Arrow text whole (1.5 -> 0.8 s for the claims of 10,000
    articles)."""
    import pyarrow as pa

    out = claims.copy(deep=False)
    shown: dict[str, list[str]] = {}
    written: dict[tuple, str] = {}
    for cid, *assertion in zip(*(assertions[c].tolist() for c in ("claim_id", "aspect", "value",
                                                                     "qualifier", "words"))):
        key = tuple(assertion)
        text = written.get(key)
        if text is None:
            text = written[key] = assertion_text(*key)
        shown.setdefault(cid, []).append(text)
    out["assertions"] = _text([";".join(shown[cid]) if cid in shown else "" for cid in
                               out["claim_id"].tolist()], out.index)
    for col, sep in LIST_SEPARATORS.items():
        if col in out:
            codes, lists = pd.factorize(out[col], use_na_sentinel=False)
            joined = pa.array([sep.join(v) for v in lists], type=pa.large_string())
            out[col] = pd.Series(joined.take(pa.array(codes)), dtype="str", index=out.index)
    extra = [c for c in out.columns if c not in CLAIMS_FOR_PEOPLE]
    return out[CLAIMS_FOR_PEOPLE + extra]


def _text(values: list[str], index: pd.Index) -> pd.Series:
    """A column of pandas' text type made from Python strings through Arrow at once."""
    import pyarrow as pa

    return pd.Series(pa.array(values, type=pa.large_string()), dtype="str", index=index)
