"""Evaluate the compliance rules: per-rule precision and recall on their examples and on the
labelled articles.

- Examples (tests/rules/compliance_examples.jsonl, written for tests): each line names a rule,
  a one-sentence draft and whether the rule must fire. Each example is checked as its own
  draft; a rule is scored only on its own examples (others may fire legitimately).
- Articles: tests/gold/flags.csv lists the expected findings (file, rule_id, the claim's first
  words) of the five source articles and the test articles. A finding matches a gold row with
  the same file and rule whose claim starts with the gold words.

``run(echo)`` prints both tables through ``echo`` and returns the figures; the lead wires it
into ``python -m pipeline eval``.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from .. import config, io
from ..nlp import RuleSet, build_nlp


def load_examples(path: Path = config.COMPLIANCE_EXAMPLES_FILE) -> list[dict]:
    """The rule examples: [{"rule", "text", "fires"}]."""
    return [json.loads(line) for _, line in io.read_jsonl(path)]


def example_hits(examples: list[dict], rules: RuleSet, nlp=None) -> list[set[str]]:
    """The rule ids that fire on each example, each example checked as its own draft."""
    from ..check import analyse_drafts

    raw = pd.DataFrame([{"source_id": f"e{i:04d}", "file": f"e{i:04d}.txt", "name": f"e{i:04d}",
                         "data": e["text"].encode("utf-8"), "problem": None}
                        for i, e in enumerate(examples)])
    found = analyse_drafts(raw, rules, nlp)[1].findings
    fired: dict[str, set] = {}
    for f in found.itertuples(index=False):
        fired.setdefault(f.source_id, set()).add(f.rule_id)
    return [fired.get(f"e{i:04d}", set()) for i in range(len(examples))]


def _pr(tp: int, fp: int, fn: int) -> dict:
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


def score_examples(examples: list[dict], hits: list[set[str]]) -> dict[str, dict]:
    """rule id -> tp/fp/fn, precision, recall on that rule's own examples."""
    counts: dict[str, Counter] = {}
    for e, fired in zip(examples, hits):
        c = counts.setdefault(e["rule"], Counter())
        got = e["rule"] in fired
        c["tp" if got and e["fires"] else "fp" if got else "fn" if e["fires"] else "tn"] += 1
    return {r: _pr(c["tp"], c["fp"], c["fn"]) for r, c in sorted(counts.items())}


def article_findings(rules: RuleSet, nlp=None, folders=config.FLAGS_GOLD_ARTICLES) -> pd.DataFrame:
    """Findings (file, rule_id, text) of every article in the labelled folders."""
    from ..check import analyse_drafts

    rows = [{"source_id": f"{i}:{r.path.name}", "file": r.path.name, "name": r.path.name,
             "data": r.data, "problem": r.problem}
            for folder in folders for i, r in enumerate(io.iter_articles(folder))
            if r.path.name != "README.md"]   # the folder's description, not an article
    raw = pd.DataFrame(rows)
    t = analyse_drafts(raw[raw["problem"].isna()], rules, nlp)[1]
    found = t.findings.merge(t.claims[["claim_id", "text"]], on="claim_id")
    found["file"] = found["source_id"].str.split(":", n=1).str[1]
    return found[["file", "rule_id", "text"]].drop_duplicates().reset_index(drop=True)


def score_articles(found: pd.DataFrame, gold: pd.DataFrame) -> dict[str, dict]:
    """rule id -> tp/fp/fn, precision, recall against the gold findings (and 'all')."""
    from ..text import text_key

    gold_keys = {(g.file, g.rule_id, text_key(g.claim)) for g in gold.itertuples(index=False)}
    matched: set = set()
    counts: dict[str, Counter] = {}
    for f in found.itertuples(index=False):
        key = text_key(f.text)
        hit = next((g for g in gold_keys if g[:2] == (f.file, f.rule_id) and key.startswith(g[2])), None)
        counts.setdefault(f.rule_id, Counter())["tp" if hit else "fp"] += 1
        if hit:
            matched.add(hit)
    for g in gold_keys - matched:
        counts.setdefault(g[1], Counter())["fn"] += 1
    total = sum(counts.values(), Counter())
    out = {r: _pr(c["tp"], c["fp"], c["fn"]) for r, c in sorted(counts.items())}
    out["all"] = _pr(total["tp"], total["fp"], total["fn"])
    return out


def _table(echo, title: str, scores: dict[str, dict]) -> None:
    echo(title)
    echo(f"  {'rule':45} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7}")
    for rule, s in scores.items():
        p = "-" if s["precision"] is None else f"{s['precision']:.2f}"
        r = "-" if s["recall"] is None else f"{s['recall']:.2f}"
        echo(f"  {rule:45} {s['tp']:>3} {s['fp']:>3} {s['fn']:>3} {p:>9} {r:>7}")


def run(echo=print, rules: RuleSet | None = None) -> dict:
    """Score the rules on their examples and on the labelled articles; print and return."""
    rules = rules or RuleSet.load()
    nlp = build_nlp(rules)
    examples = load_examples()
    by_example = score_examples(examples, example_hits(examples, rules, nlp))
    by_article = score_articles(article_findings(rules, nlp), io.read_csv(config.FLAGS_GOLD_FILE))
    _table(echo, "Compliance rules on their examples (tests/rules/compliance_examples.jsonl)", by_example)
    _table(echo, "Compliance rules on the labelled articles (tests/gold/flags.csv)", by_article)
    return {"examples": by_example, "articles": by_article}
