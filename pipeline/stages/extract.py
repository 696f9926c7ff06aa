"""Extract: blocks in, units out, with their assertions and compliance matches; one spaCy pass.

Every article is parsed once by ``nlp.pipe`` (the components of ``pipeline.nlp``), as one Doc of
its blocks (heading, list item, paragraph; ``nlp.make_article``; a long article in chunks of
ARTICLE_DOC_CHARS). Each span of ``doc.spans["claims"]`` (its record on ``doc._.units``) becomes a row of the units table, with
source offsets and the cue features the tag stage reads; its assertions and compliance matches
become rows of two long tables keyed by the unit's number. Offsets are exact source offsets:
a block is parsed with its whitespace runs compacted (``text.compact``) and mapped back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

import pandas as pd

from .. import config, tables
from ..nlp import make_article
from ..text import back, compact

FEATURES = ["treatments_found", "subject_treatments", "label_treatments", "types_found", "strong_types", "negated",
            "hedged", "conditional", "anaphor", "pronoun_subject", "anaphor_subject", "imperative",
            "negative_imperative", "not_claim", "physiology", "skin_subject", "skin_terms",
            "cue_ids", "n_words", "question", "answer", "lead_in", "coordinated", "timed", "general"]
UNIT_COLUMNS = ["unit", "source_id", "block", "clause", "kind", "start", "end", "text", "section",
                *FEATURES, "asserts"]
UNIT_ASSERTION_COLUMNS = ["unit", "aspect", "value", "qualifier", "words", "absolute"]
UNIT_FINDING_COLUMNS = ["unit", "rule_id", "start", "end", "match", "detail"]


@dataclass
class Extracted:
    """The units of a batch of articles, and what each unit asserts and claims (long tables)."""

    units: pd.DataFrame
    assertions: pd.DataFrame
    findings: pd.DataFrame


def _chunks(blocks: pd.DataFrame, by_source: dict):
    """The blocks in table order, as lists of (block row, anchors, compacted text): one list
    per article, cut where it passes ARTICLE_DOC_CHARS characters (a block is never cut)."""
    for _, rows in groupby(tables.records(blocks), key=lambda b: b.source_id):
        chunk, size = [], 0
        for b in rows:
            text, anchors = compact(by_source[b.source_id].visible[b.start:b.end])
            if chunk and size + len(text) > config.ARTICLE_DOC_CHARS:
                yield chunk
                chunk, size = [], 0
            chunk.append((b, anchors, text))
            size += len(text) + 1
        if chunk:
            yield chunk


def extract(docs: pd.DataFrame, blocks: pd.DataFrame, nlp, batch_size: int = 16) -> Extracted:
    """Units (headings, sentences, clauses, list items) of all blocks, parsed in one pass."""
    by_source = {d.source_id: d for d in docs.itertuples(index=False)}

    def inputs():
        for chunk in _chunks(blocks, by_source):
            kinds = [(text, b.kind if b.kind in ("heading", "list_item") else "paragraph")
                     for b, _, text in chunk]
            yield make_article(nlp, kinds), chunk

    rows: list[tuple] = []   # one tuple a unit, in UNIT_COLUMNS order
    feature_values = itemgetter(*FEATURES)
    assertions: list[tuple] = []
    findings: list[tuple] = []
    n = 0
    for doc, chunk in nlp.pipe(inputs(), as_tuples=True, batch_size=batch_size):
        d = by_source[chunk[0][0].source_id]
        parsed = doc._.blocks
        k = 0
        for unit in doc._.units:   # the records of doc.spans["claims"], in order
            while unit.start >= parsed[k].end:   # units come in block order
                k += 1
            b, anchors, text = chunk[parsed[k].index]
            c0 = parsed[k].char

            def source(i: int) -> int:
                return b.start + back(anchors, i - c0)

            start, end = source(unit.start_char), source(unit.end_char - 1) + 1
            shown = d.text[start:end] if d.format == "text" else re.sub(r"\s+", " ", d.shown[start:end]).strip()
            asserted = unit.assertions
            rows.append((n, b.source_id, b.block, unit.clause, "sentence" if b.kind == "paragraph" else b.kind,
                         start, end, shown, b.section, *feature_values(unit.features),
                         tuple((a.aspect, a.value) for a in asserted)))
            assertions.extend((n, a.aspect, a.value, a.qualifier, a.words, a.absolute) for a in asserted)
            for rid, s, e, detail in unit.findings:
                a, z = doc[s].idx, doc[e - 1].idx + len(doc[e - 1].text)
                # the block's own text (Doc.text joins every token again on each call)
                findings.append((n, rid, source(a), source(z - 1) + 1, text[a - c0:z - c0], detail))
            n += 1
    columns = zip(*rows) if rows else [()] * len(UNIT_COLUMNS)   # a list a column, as pandas reads fastest
    units = pd.DataFrame({c: list(v) for c, v in zip(UNIT_COLUMNS, columns)}, columns=UNIT_COLUMNS)
    return Extracted(units,
                     pd.DataFrame(assertions, columns=UNIT_ASSERTION_COLUMNS),
                     pd.DataFrame(findings, columns=UNIT_FINDING_COLUMNS))
