"""The audit's finish over claims and contradictions read in chunks (``audit.claim_tables``,
``audit.contradiction_table``): what the Dask engine's finish does with its dataset, here on
literal articles, one chunk of claims per article and one contradiction per chunk."""
from __future__ import annotations

import json

from conftest import raw_frame
from pipeline import config, io, tables
from pipeline.analyse import analyse
from pipeline.audit import AuditResult, claim_tables, contradiction_table
from pipeline.outputs.validate import Validator
from pipeline.review import empty_decisions, decision_status, review_subjects

ARTICLES = {
    "a.txt": "Microneedling\n\nMicroneedling has virtually no side effects. It is painless.\n",
    "b.txt": "Laser hair removal\n\nLaser hair removal is permanent. Most people need six sessions.\n",
    "c.txt": "Microneedling risks\n\nMicroneedling is painful and causes side effects such as redness.\n",
}


class InChunks(tables.Tables):
    """Tables whose claims come in chunks of one article, and contradictions in chunks of one
    row, as the Dask engine's do."""

    streamed = True

    def claim_chunks(self):
        for sid in sorted(set(self.claims["source_id"])):
            mine = self.claims["source_id"] == sid
            yield (self.claims[mine].reset_index(drop=True),
                   self.assertions[self.assertions["claim_id"].isin(self.claims.loc[mine, "claim_id"])])

    def contradiction_chunks(self):
        for i in range(len(self.contradictions)):
            yield self.contradictions.iloc[i:i + 1].reset_index(drop=True)


def finish(t: tables.Tables, rules, folder) -> AuditResult:
    status = decision_status(review_subjects(t.claims), empty_decisions())
    result = AuditResult(t, None)
    with io.output_set(folder) as staged:
        claim_tables(t, status, rules, staged, result, Validator(rules))
        contradiction_table(t, staged, result, Validator(rules))
        staged.commit()
    return result


def test_claims_in_chunks_are_written_and_validated_as_all_at_once(rules, nlp, tmp_path):
    whole = analyse(raw_frame(ARTICLES), rules, nlp=nlp)
    assert len(whole.contradictions) >= 2
    chunked = InChunks(claims=whole.claims, assertions=whole.assertions, contradictions=whole.contradictions)
    a, b = finish(whole, rules, tmp_path / "whole"), finish(chunked, rules, tmp_path / "chunked")
    for name in (config.CLAIMS_CSV, config.ASSERTIONS_CSV, config.FLAGS_CSV, config.CONTRADICTIONS_CSV):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "chunked" / name).read_bytes(), name
    assert json.dumps(a.validation) == json.dumps(b.validation)
    assert a.validation["claims"]["success"] and a.validation["contradictions"]["success"]
    assert (a.claim_count, a.source_count) == (b.claim_count, b.source_count) == (len(whole.claims), 3)
    assert a.contradiction_count == b.contradiction_count == len(whole.contradictions)


def test_a_claim_id_repeated_across_chunks_fails_validation_naming_it(rules, nlp, tmp_path):
    whole = analyse(raw_frame(ARTICLES), rules, nlp=nlp)
    claims = whole.claims.copy()
    first = claims["claim_id"][0]
    claims.loc[claims.index[-1], "claim_id"] = first   # the last claim of b takes a's first id
    chunked = InChunks(claims=claims, assertions=whole.assertions)
    unique = {(r["expectation"], r["column"]): r for r in
              finish(chunked, rules, tmp_path / "out").validation["claims"]["results"]}
    hit = unique[("expect_column_values_to_be_unique", "claim_id")]
    assert not hit["success"] and hit["unexpected_count"] == 2 and hit["examples"] == [first, first]


def test_a_contradiction_id_repeated_across_chunks_fails_validation_naming_it(rules, nlp, tmp_path):
    whole = analyse(raw_frame(ARTICLES), rules, nlp=nlp)
    contradictions = whole.contradictions.copy()
    first = contradictions["contradiction_id"][0]
    contradictions.loc[contradictions.index[-1], "contradiction_id"] = first
    chunked = InChunks(claims=whole.claims, assertions=whole.assertions, contradictions=contradictions)
    unique = {(r["expectation"], r["column"]): r for r in
              finish(chunked, rules, tmp_path / "out").validation["contradictions"]["results"]}
    hit = unique[("expect_column_values_to_be_unique", "contradiction_id")]
    assert not hit["success"] and hit["unexpected_count"] == 2 and hit["examples"] == [first, first]


def test_each_chunk_of_claims_is_let_go_before_the_next_is_read(rules, nlp, tmp_path):
    """The finish holds one chunk of claims: when it asks for the next chunk, no claims table of
    the last one (as reviewed, with its review columns) is still alive."""
    import gc

    import pandas as pd

    class Watched(InChunks):
        def claim_chunks(self):
            for chunk in super().claim_chunks():
                gc.collect()
                alive.append(sum(1 for o in gc.get_objects() if isinstance(o, pd.DataFrame)
                                 and set(tables.REVIEW) <= set(o.columns) and "assertions" not in o.columns))
                yield chunk

    alive: list[int] = []
    whole = analyse(raw_frame(ARTICLES), rules, nlp=nlp)
    finish(Watched(claims=whole.claims, assertions=whole.assertions, contradictions=whole.contradictions),
           rules, tmp_path / "out")
    assert alive == [0, 0, 0]
