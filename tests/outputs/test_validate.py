"""The suites' vocabularies: "$name" values and "{$name}" inside a regex come from the rule set."""
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pandas as pd

from pipeline.outputs import validate
from pipeline.outputs.validate import (ChunkedValidation, Validator, ValidatorProcess, hashes, load_suite,
                                       merge_results, repeated_hashes, vocabularies)
from pipeline.nlp import RuleSet


def _regex(suite: dict, column: str) -> str:
    return next(e["kwargs"]["regex"] for e in suite["expectations"]
                if e["type"] == "expect_column_values_to_match_regex" and e["kwargs"]["column"] == column)


def test_aspects_are_checked_against_the_rule_sets_aspects():
    suite = load_suite("evidence", names=vocabularies(RuleSet.load()))
    rx = re.compile(_regex(suite, "aspect"))
    assert rx.match("side_effects") and rx.match("effect") and rx.match("")
    assert not rx.match("pore_size_effect") and not rx.match("effect;pain") and not rx.match("effects")


def test_an_unknown_vocabulary_names_itself(tmp_path):
    (tmp_path / "t.json").write_text('{"name": "t", "expectations": [{"type": "x", "kwargs": {"regex": "^{$colours}$"}}]}')
    with pytest.raises(ValueError, match=r"\$colours"):
        load_suite("t", tmp_path, vocabularies(RuleSet.load()))


CONTRADICTION = {"contradiction_id": "x1", "claim_a": "c000000000001", "claim_b": "c000000000002",
                 "source_a": "a", "source_b": "b", "scope": "cross-source", "treatment": "microneedling",
                 "aspect": "pain", "value_a": "none", "value_b": "some", "text_a": "t", "text_b": "u",
                 "rationale": "painless vs painful", "severity": "high", "repeats": 1}


def test_a_table_validated_in_chunks_gives_the_whole_tables_result():
    """The Dask finish validates the claims a chunk at a time: merged, the results are those of
    the whole table, failures counted over every chunk and a value repeated across two chunks
    caught (here: contradiction ids, with a bad scope in each chunk)."""
    rows = [dict(CONTRADICTION, contradiction_id=f"x{i}") for i in range(6)]
    rows[1]["scope"] = rows[4]["scope"] = "nowhere"
    rows[5]["contradiction_id"] = "x0"
    table = pd.DataFrame(rows)
    v = Validator()
    whole = v.validate("contradictions", table)
    chunks = [table.iloc[:3], table.iloc[3:]]
    count, twice = repeated_hashes([hashes(c["contradiction_id"]) for c in chunks])
    merged = merge_results([v.validate("contradictions", c) for c in chunks],
                           {"contradiction_id": (count, ["x0", "x0"])})
    assert not whole["success"] and count == 2 and len(twice) == 1
    assert merged == whole


@pytest.mark.parametrize("apart", [False, True])
def test_chunked_validation_of_one_chunk_or_three_gives_the_whole_tables_result(apart):
    """Also with the chunks validated in a process apart (``ValidatorProcess``: the Dask finish
    writes the next chunk meanwhile); a fault there is raised here."""
    rows = [dict(CONTRADICTION, contradiction_id=f"x{i}") for i in range(6)]
    rows[1]["scope"] = "nowhere"
    rows[5]["contradiction_id"] = "x0"
    table = pd.DataFrame(rows)
    whole = Validator().validate("contradictions", table)
    v = ValidatorProcess(RuleSet.load()) if apart else Validator()
    try:
        for chunks in ([table], [table.iloc[:2], table.iloc[2:4], table.iloc[4:]]):
            checks = ChunkedValidation(v, "contradictions", ("contradiction_id",))
            for chunk in chunks:
                checks.add(chunk)
            assert checks.result(lambda: iter(chunks)) == whole
        with pytest.raises(FileNotFoundError, match="nosuchtable"):
            v.validate("nosuchtable", table)
    finally:
        if apart:
            v.close()
    assert {"contradiction_id", "scope"} <= {r["column"] for r in whole["results"] if not r["success"]}


GROUP = {"group_id": "g000000000001", "severity": "high", "claim_id": "c000000000001", "source_id": "s1",
         "text": "Microneedling is painless.", "treatment": "microneedling", "certainty": "absolute",
         "aspects": "pain", "contradicting_claims": 2, "contradicting_sources": 1, "evidence_ids": "",
         "counter_1_source": "s2", "counter_1_text": "It hurts.", "counter_2_source": "", "counter_2_text": "",
         "counter_3_source": "", "counter_3_text": "", "counter_claim_ids": "c000000000002",
         "contradiction_ids": "x000000000001"}


def test_a_table_of_two_unique_columns_in_chunks_gives_the_whole_tables_result():
    """The contradiction groups are unique by group and by claim: a repeat of either across
    chunks is found, counted and named as on the whole table, whether the chunks' ids are
    hashed here or their repeats counted elsewhere."""
    rows = [dict(GROUP, group_id=f"g{i:012x}", claim_id=f"c{i:012x}") for i in range(6)]
    rows[4]["group_id"] = rows[0]["group_id"]      # chunk 3 repeats chunk 1's group
    rows[5]["claim_id"] = rows[2]["claim_id"]      # and chunk 2's claim
    table = pd.DataFrame(rows)
    v = Validator()
    whole = v.validate("contradiction_groups", table)
    assert [r["unexpected_count"] for r in whole["results"]
            if r["expectation"] == "expect_column_values_to_be_unique"] == [2, 2]
    chunks = [table.iloc[:2], table.iloc[2:4], table.iloc[4:]]
    counted = {c: repeated_hashes([hashes(table[c])]) for c in ("group_id", "claim_id")}
    for repeats in (None, counted):
        checks = ChunkedValidation(v, "contradiction_groups", ("group_id", "claim_id"), repeats)
        for chunk in chunks:
            checks.add(chunk)
        assert checks.result(lambda: iter(chunks)) == whole


def test_the_validator_keeps_no_result_of_its_runs():
    """great-expectations' context stores every run's result in memory; a finish that validates
    a chunk at a time would hold one per chunk for the whole run. The results stay right."""
    table = pd.DataFrame([dict(CONTRADICTION, contradiction_id=f"x{i}") for i in range(3)])
    v = Validator()
    results = [v.validate("contradictions", table) for _ in range(4)]
    assert results[0]["rows"] == 3 and results.count(results[0]) == 4
    assert v.context.validation_results_store.list_keys() == []


def test_one_chunk_is_never_hashed_nor_fingerprinted(monkeypatch):
    """A table validated whole (the local engine's) needs no id hashes, and great-expectations
    is kept from hashing every cell of the batch for its metadata."""
    def hashed(*args, **kwargs):
        raise AssertionError("hashed")

    v = Validator()
    table = pd.DataFrame([CONTRADICTION])
    expected = v.validate("contradictions", table)
    monkeypatch.setattr(validate, "hashes", hashed)
    monkeypatch.setattr(pd.util, "hash_pandas_object", hashed)
    checks = ChunkedValidation(v, "contradictions", ("contradiction_id",))
    checks.add(table)
    assert checks.result(lambda: iter([])) == expected


def test_repeats_counted_elsewhere_give_the_whole_tables_result_without_hashing(monkeypatch):
    """The Dask engine counts the claim ids' repeats on its cluster: given them, the chunks'
    ids are never hashed here and the result is still the whole table's."""
    rows = [dict(CONTRADICTION, contradiction_id=f"x{i}") for i in range(6)]
    rows[5]["contradiction_id"] = "x0"
    table = pd.DataFrame(rows)
    v = Validator()
    whole = v.validate("contradictions", table)
    repeats = repeated_hashes([hashes(table["contradiction_id"])])
    checks = ChunkedValidation(v, "contradictions", ("contradiction_id",), {"contradiction_id": repeats})
    chunks = [table.iloc[:2], table.iloc[2:4], table.iloc[4:]]
    with monkeypatch.context() as m:
        m.setattr(validate, "hashes", lambda values: pytest.fail("hashed"))
        for chunk in chunks:
            checks.add(chunk)
    # naming a repeat reads the ids again, as without counted repeats
    assert checks.result(lambda: iter(chunks)) == whole


@given(st.lists(st.lists(st.integers(0, 6), max_size=6), max_size=4))
def test_repeated_hashes_count_every_row_of_a_repeated_value(chunks):
    """As ``expect_column_values_to_be_unique`` counts: every row whose value occurs more than
    once, over all chunks (a value thrice is three rows); the chunks are consumed."""
    import numpy as np
    from collections import Counter

    arrays = [np.array(c, dtype=np.uint64) for c in chunks]
    counts = Counter(v for c in chunks for v in c)
    count, twice = repeated_hashes(arrays)
    assert count == sum(n for n in counts.values() if n > 1)
    assert twice == {v for v, n in counts.items() if n > 1}
    assert arrays == []


def test_a_heading_that_makes_a_claim_passes_the_claims_suite(tmp_path):
    """A heading that asserts something is a claim (claims-guide: "a heading-like line that does
    assert something"), so an audit of a page with one validates and writes its outputs; the
    suite once allowed only sentences and list items, and the whole audit failed."""
    from pipeline.audit import run_audit

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "page.txt").write_text("Laser Tattoo Removal Is Painless\n\nMost clients need six to ten "
                                  "sessions. Each session takes about ten minutes.\n", encoding="utf-8")
    result = run_audit(raw, tmp_path / "out", report=False, workbook=False)
    assert "heading" in set(result.claims["kind"])
    assert result.validation["claims"]["success"]
