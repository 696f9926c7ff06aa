"""Evaluate: score extracted claims against the hand-labelled gold set (tests/gold/claims).

The articles are run through the real stages (``pipeline.analyse``), then predicted claims are
matched to gold claims by span overlap: gold and pipeline may split a sentence differently, so a
predicted claim matches the gold claim it overlaps most, when the overlap covers at least
EVAL_MIN_OVERLAP of the shorter span; each gold and each predicted claim is matched at most once.

Figures, per group of articles (the seed articles in data/raw, the articles written for tests in
tests/articles): precision, recall and F1 of claim detection; accuracy of treatment, claim_type,
certainty and negated on matched claims; a claim_type confusion table; and the misses and false
alarms with their text, so a developer sees what to fix. ``run(echo)`` prints them and returns
them as a dict (the floor test asserts on it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from .. import config, io
from ..nlp import RuleSet

ATTRIBUTES = ("treatment", "claim_type", "certainty", "negated")
GOLD_COLUMNS = ["source_id", "start", "end", "kind", "text", "is_claim",
                "treatment", "claim_type", "certainty", "negated"]


def load_gold(folder: Path = config.GOLD_CLAIMS_DIR) -> pd.DataFrame:
    """Gold units (all rows, claims and not) with typed columns: offsets int, flags bool."""
    gold = io.read_csv_folder(folder)
    missing = [c for c in GOLD_COLUMNS if c not in gold.columns]
    if missing:
        raise ValueError(f"{folder}: gold CSVs lack columns {missing}")
    gold = gold[GOLD_COLUMNS].copy()
    gold["start"] = gold["start"].astype(int)
    gold["end"] = gold["end"].astype(int)
    gold["is_claim"] = gold["is_claim"].isin(["1", "true", "True"])
    gold["negated"] = gold["negated"].isin(["1", "true", "True"])
    return gold


def match_spans(pred: pd.DataFrame, gold: pd.DataFrame,
                min_overlap: float = config.EVAL_MIN_OVERLAP) -> list[tuple[int, int]]:
    """Pairs (pred index, gold index) of matching spans of the same source.

    Candidates are pairs whose overlap is at least ``min_overlap`` of the shorter span; they are
    taken greedily, largest overlap first (ties by position, so the result is deterministic), and
    each side is used at most once.
    """
    candidates = []
    gold_by_source = {sid: g for sid, g in gold.groupby("source_id", sort=False)}
    for pi, p in pred.iterrows():
        g = gold_by_source.get(p["source_id"])
        if g is None:
            continue
        inter = (g["end"].clip(upper=p["end"]) - g["start"].clip(lower=p["start"])).clip(lower=0)
        shorter = (g["end"] - g["start"]).clip(upper=p["end"] - p["start"]).clip(lower=1)
        frac = inter / shorter
        for gi in frac.index[(frac >= min_overlap) & (inter > 0)]:
            candidates.append((-float(frac[gi]), -int(inter[gi]), int(p["start"]),
                               int(g.at[gi, "start"]), pi, gi))
    candidates.sort(key=lambda c: c[:4] + (str(c[4]), str(c[5])))
    used_p, used_g, pairs = set(), set(), []
    for *_, pi, gi in candidates:
        if pi not in used_p and gi not in used_g:
            used_p.add(pi)
            used_g.add(gi)
            pairs.append((pi, gi))
    return sorted(pairs, key=lambda pg: (str(pred.at[pg[0], "source_id"]), int(pred.at[pg[0], "start"])))


def label_matches(attr: str, gold, pred, rules: RuleSet) -> bool:
    """Whether a predicted label counts as the gold one: equal; for claim_type, one of the
    '|'-separated alternatives; for treatment, also any member of a gold family ("laser" is
    matched by laser_resurfacing)."""
    if attr == "claim_type":
        return str(pred) in str(gold).split("|")
    if attr == "treatment":
        return any(g == pred or rules.family_of(str(pred)) == g for g in str(gold).split("|"))
    return gold == pred


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 1.0


def score(pred: pd.DataFrame, gold: pd.DataFrame, rules: RuleSet | None = None) -> dict:
    """Detection and attribute figures of predicted claims against gold units.

    ``pred``: claims (source_id, start, end, text and the ATTRIBUTES); ``gold``: gold units as
    ``load_gold`` returns them (non-claims included: they name what a false alarm hit).
    """
    rules = rules or RuleSet.load()
    pred = pred.reset_index(drop=True)
    gold = gold.reset_index(drop=True)
    gold_claims = gold[gold["is_claim"]]
    pairs = match_spans(pred, gold_claims)
    tp = len(pairs)
    fp, fn = len(pred) - tp, len(gold_claims) - tp
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    matched = pd.DataFrame({
        "source_id": [pred.at[p, "source_id"] for p, _ in pairs],
        "text": [pred.at[p, "text"] for p, _ in pairs],
        **{f"pred_{a}": [pred.at[p, a] for p, _ in pairs] for a in ATTRIBUTES},
        **{f"gold_{a}": [gold_claims.at[g, a] for _, g in pairs] for a in ATTRIBUTES},
    })
    if len(matched):
        matched["pred_negated"] = matched["pred_negated"].astype(bool)
    accuracy, wrong = {}, {}
    for a in ATTRIBUTES:
        ok = (pd.Series([label_matches(a, g, p, rules) for g, p in zip(matched[f"gold_{a}"], matched[f"pred_{a}"])],
                        index=matched.index, dtype=bool)
              if len(matched) else pd.Series(dtype=bool))
        accuracy[a] = _ratio(int(ok.sum()), len(matched))
        wrong[a] = matched.loc[~ok, ["source_id", "text", f"gold_{a}", f"pred_{a}"]].to_dict("records")
    confusion = (pd.crosstab(matched["gold_claim_type"], matched["pred_claim_type"])
                 if len(matched) else pd.DataFrame())
    matched_p = {p for p, _ in pairs}
    matched_g = {g for _, g in pairs}
    false_alarms = []
    for pi in pred.index.difference(sorted(matched_p)):
        p = pred.loc[pi]
        false_alarms.append({"source_id": p["source_id"], "start": int(p["start"]), "text": p["text"],
                             "claim_type": p["claim_type"], "gold": _gold_label_at(gold, p)})
    misses = [{"source_id": g["source_id"], "start": int(g["start"]), "text": g["text"],
               "claim_type": g["claim_type"]}
              for gi, g in gold_claims.iterrows() if gi not in matched_g]
    return {
        "claims": {"precision": precision, "recall": recall, "f1": f1,
                   "tp": tp, "fp": fp, "fn": fn, "gold": len(gold_claims), "predicted": len(pred)},
        "accuracy": accuracy,
        "n_matched": tp,
        "confusion": {g: {p: int(n) for p, n in row.items() if n} for g, row in confusion.iterrows()},
        "false_alarms": false_alarms,
        "misses": misses,
        "wrong": wrong,
    }


def _gold_label_at(gold: pd.DataFrame, p) -> str:
    """What the gold says about the text a false alarm covers ('not a claim', 'split', ...)."""
    g = gold[(gold["source_id"] == p["source_id"]) & (gold["start"] < p["end"]) & (gold["end"] > p["start"])]
    if g.empty:
        return "no gold unit"
    labels = sorted({"claim" if c else "not a claim" for c in g["is_claim"]})
    return " + ".join(labels) if len(g) == 1 else f"{len(g)} gold units: " + " + ".join(labels)


def predict(raw_dir: Path, rules: RuleSet | None = None) -> pd.DataFrame:
    """Claims of every article in raw_dir, through the real stages (as ``make audit`` runs them)."""
    from ..analyse import analyse
    from ..sources import main_treatments, read_raw

    t = analyse(read_raw(raw_dir), rules, main=main_treatments(io.read_sources(raw_dir)))
    if len(t.problems):
        raise ValueError(f"{raw_dir}: articles could not be read: {t.problems.to_dict('records')}")
    return t.claims


GROUPS = {"seed articles": config.RAW_DIR, "test articles": config.TEST_ARTICLES_DIR}


def evaluate(groups: dict[str, Path] | None = None, gold_dir: Path = config.GOLD_CLAIMS_DIR,
             rules: RuleSet | None = None) -> dict:
    """Scores per group of articles: {group: score(...)}; only sources with a gold file count."""
    gold = load_gold(gold_dir)
    out = {}
    for name, folder in (groups or GROUPS).items():
        pred = predict(folder, rules)
        ids = sorted(p.stem for p in io.list_articles(folder)
                     if p.stem.lower() not in config.EVAL_SKIP_STEMS)
        unlabelled = [i for i in ids if i not in set(gold["source_id"])]
        if unlabelled:
            raise ValueError(f"{gold_dir}: no gold file for {unlabelled} (articles in {folder})")
        out[name] = score(pred[pred["source_id"].isin(ids)], gold[gold["source_id"].isin(ids)], rules)
        out[name]["sources"] = ids
    return out


def _short(text: str, width: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def format_group(name: str, s: dict, details: bool = True) -> list[str]:
    """Printable lines for one group's scores."""
    c, a = s["claims"], s["accuracy"]
    lines = [f"== {name} ({len(s.get('sources', []))} articles, {c['gold']} gold claims, "
             f"{c['predicted']} predicted) ==",
             f"claim detection: precision {c['precision']:.3f}  recall {c['recall']:.3f}  "
             f"F1 {c['f1']:.3f}  (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})",
             f"on {s['n_matched']} matched claims: " + "  ".join(f"{k} {v:.3f}" for k, v in a.items())]
    types = [t for t in config.CLAIM_TYPES
             if t in s["confusion"] or any(t in row for row in s["confusion"].values())]
    if types:
        lines.append("claim_type confusion (rows gold, columns predicted):")
        head = "".join(f"{t[:6]:>7}" for t in types)
        lines.append(f"  {'':12}{head}")
        for g in types:
            row = s["confusion"].get(g, {})
            lines.append(f"  {g:12}" + "".join(f"{row.get(p, 0) or '.':>7}" for p in types))
    if not details:
        return lines
    lines.append(f"misses ({len(s['misses'])}): gold claims not found")
    lines += [f"  {m['source_id']}@{m['start']} [{m['claim_type']}] {_short(m['text'])}" for m in s["misses"]]
    lines.append(f"false alarms ({len(s['false_alarms'])}): predicted claims the gold does not have")
    lines += [f"  {f['source_id']}@{f['start']} [{f['claim_type']}; gold: {f['gold']}] {_short(f['text'])}"
              for f in s["false_alarms"]]
    for attr in ATTRIBUTES:
        wrong = s["wrong"][attr]
        lines.append(f"wrong {attr} ({len(wrong)}): gold -> predicted")
        lines += [f"  {w['source_id']}: {w['gold_' + attr]} -> {w['pred_' + attr]}: {_short(w['text'], 90)}"
                  for w in wrong]
    return lines


HELDOUT = "held-out articles (never used to tune the rules; no floor)"


def run(echo: Callable[[str], None] = print, details: bool = True, rules: RuleSet | None = None) -> dict:
    """Evaluate every group, print the figures through echo, return them. The held-out
    articles are scored too, so a reader sees how the rules do on text nobody tuned them on."""
    results = evaluate(rules=rules)
    if config.HELDOUT_GOLD_DIR.is_dir():
        results.update(evaluate({HELDOUT: config.HELDOUT_DIR}, config.HELDOUT_GOLD_DIR, rules))
    for name, s in results.items():
        for line in format_group(name, s, details):
            echo(line)
        echo("")
    return results
