"""The tables the stages pass to each other, and their column contracts, in one place.

In memory the tables are typed: lists stay tuples (a claim's treatments, cues, evidence ids,
flags), assertions and findings are long tables keyed by claim_id. Only the writers of files
for people (CSV, the workbook, the report's Parquet copy) join lists into text, with
``claims_for_people``; no stage ever parses a joined string back.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

CLAIMS = [
    "claim_id", "source_id", "start", "end", "text", "kind", "section",
    "treatment", "treatments", "subjects", "claim_type", "certainty", "negated", "family_id", "cues",
    "evidence_status", "evidence_ids", "flags", "risk",
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
# One row per audited article (articles.csv): its title for people, from sources.csv, else the
# first heading (HTML <title>, Markdown's first heading, a text file's first heading line), else
# the file name.
ARTICLES = ["source_id", "file", "title"]
EVIDENCE = [
    "evidence_id", "topic", "treatment", "aspect", "value", "statement", "quote",
    "source_title", "publisher", "url", "is_mirror", "note",
]
FLAGS = ["claim_id", "rule_id", "family", "severity", "message", "text"]   # flags.csv
DECISIONS = ["claim_id", "decision", "reviewer", "date", "note"]          # required, in this order
DECISION_CONTEXT = ["source_id", "claim_text"]   # what the claim said when it was decided
REVIEW_STATUS = ["claim_id", "decision", "reviewer", "date", "note", "source_id",
                 "claim_text", "status", "current_claim_id", "current_text", "similarity"]

# Claims columns a person reads in a file: lists joined with their separator, and the
# assertions shown as aspect=value:qualifier|words after ``negated``.
LIST_SEPARATORS = {"treatments": ";", "subjects": ";", "cues": " ", "evidence_ids": ";", "flags": ";"}
CLAIMS_FOR_PEOPLE = [
    "claim_id", "source_id", "start", "end", "text", "kind", "section",
    "treatment", "treatments", "subjects", "claim_type", "certainty", "negated", "assertions", "family_id",
    "cues", "evidence_status", "evidence_ids", "flags", "risk",
]


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
    """The claims table as files for people show it: lists joined, assertions as text."""
    out = claims.copy()
    shown: dict[str, list[str]] = {}
    for cid, a, v, q, w in zip(assertions["claim_id"], assertions["aspect"], assertions["value"],
                               assertions["qualifier"], assertions["words"]):
        shown.setdefault(cid, []).append(assertion_text(a, v, q, w))
    out["assertions"] = [";".join(shown.get(cid, ())) for cid in out["claim_id"]]
    for col, sep in LIST_SEPARATORS.items():
        if col in out:
            out[col] = [sep.join(v) for v in out[col]]
    extra = [c for c in out.columns if c not in CLAIMS_FOR_PEOPLE]
    return out[CLAIMS_FOR_PEOPLE + extra]
