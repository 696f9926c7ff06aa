"""The suites' vocabularies: "$name" values and "{$name}" inside a regex come from the rule set."""
import re

import pytest

from pipeline.outputs.validate import load_suite, vocabularies
from pipeline.nlp import RuleSet


def _regex(suite: dict, column: str) -> str:
    return next(e["kwargs"]["regex"] for e in suite["expectations"]
                if e["type"] == "expect_column_values_to_match_regex" and e["kwargs"]["column"] == column)


def test_aspect_lists_are_checked_against_the_rule_sets_aspects():
    suite = load_suite("evidence", names=vocabularies(RuleSet.load()))
    rx = re.compile(_regex(suite, "aspect"))
    assert rx.match("side_effects;effect") and rx.match("")
    assert not rx.match("pore_size_effect") and not rx.match("effect;") and not rx.match("effects")


def test_an_unknown_vocabulary_names_itself(tmp_path):
    (tmp_path / "t.json").write_text('{"name": "t", "expectations": [{"type": "x", "kwargs": {"regex": "^{$colours}$"}}]}')
    with pytest.raises(ValueError, match=r"\$colours"):
        load_suite("t", tmp_path, vocabularies(RuleSet.load()))
