"""Contradiction scorer: matching on tiny literal tables, and the floors on the gold."""
import pandas as pd

from pipeline.dev import eval_contradictions as ev


def test_matching_by_span_overlap_and_aspect():
    gold = pd.DataFrame([
        dict(source_a="a", start_a=0, text_a="No side effects.", source_b="b", start_b=10,
             text_b="May cause redness.", scope="cross_source", aspect="side_effects"),
        dict(source_a="a", start_a=40, text_a="Painless.", source_b="a", start_b=60,
             text_b="It stings.", scope="within_source", aspect="pain"),
    ])
    claims = pd.DataFrame([
        ("c1", "a", 0, 16, "f1", "No side effects."), ("c2", "b", 5, 30, "f2", "It may cause redness."),
        ("c3", "b", 50, 70, "f2", "It may cause redness."), ("c4", "a", 40, 49, "f3", "Painless."),
    ], columns=["claim_id", "source_id", "start", "end", "family_id", "text"])
    predicted = pd.DataFrame([
        dict(claim_a="c1", claim_b="c2", scope="cross_source", aspect="side_effects", source_a="a",
             source_b="b", text_a="No side effects.", text_b="It may cause redness."),
        dict(claim_a="c1", claim_b="c2", scope="cross_source", aspect="pain", source_a="a",
             source_b="b", text_a="No side effects.", text_b="It may cause redness."),
    ])
    pairs = ev.expand(claims, predicted)
    assert len(pairs) == 4          # each row stands for both occurrences of family f2
    r = ev.score(gold, pairs, predicted)
    assert r["all"] == {"precision": 0.5, "recall": 0.5, "gold": 2, "predicted": 2}
    assert r["aspect"]["pain"]["recall"] == 0.0
    assert [m["text_a"] for m in r["misses"]] == ["Painless."]
    assert [m["aspect"] for m in r["false_alarms"]] == ["pain"]


def test_floors_on_the_gold():
    lines = []
    r = ev.run(lines.append)
    assert any(line.startswith("  seeds: precision") for line in lines)
    for name, floor in ev.FLOORS.items():
        assert r[name]["all"]["precision"] >= floor["precision"], (name, r[name]["all"])
        assert r[name]["all"]["recall"] >= floor["recall"], (name, r[name]["all"])
