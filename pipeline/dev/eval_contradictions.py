"""Score contradictions against the hand-made gold (tests/gold/contradictions.csv).

The pipeline runs on the five articles (data/raw) and the project's own test articles
(tests/articles). A gold pair and a predicted pair match when the aspect is equal and each
gold claim span overlaps one predicted claim span (either order). Predicted rows stand for
families of repeated claims, so each is expanded to every occurrence pair of its two families
in its scope before matching.

Sets: ``seeds`` = pairs whose two claims are both in the five articles (the pipeline run on the
five alone); ``own`` = pairs with at least one claim in a test article (run on all ten).
Precision and recall are given per set, per scope and per aspect, with misses and false alarms.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import config, io
from ..nlp import RuleSet

GOLD_FILE = config.ROOT / "tests" / "gold" / "contradictions.csv"
OWN_ARTICLES = config.ROOT / "tests" / "articles"
FLOORS = {"seeds": {"precision": 0.80, "recall": 0.90}, "own": {"precision": 0.70, "recall": 0.70}}


def _raw(folders: list[Path]) -> pd.DataFrame:
    from ..sources import read_raw

    frames = [read_raw(f) for f in folders]
    raw = pd.concat(frames, ignore_index=True)
    return raw[~raw["file"].str.lower().str.startswith("readme")].reset_index(drop=True)


def predict(folders: list[Path], rules: RuleSet | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, contradictions) of the pipeline on the articles of some folders (no evidence)."""
    from ..analyse import analyse
    from ..sources import main_treatments

    sources = pd.concat([io.read_sources(f) for f in folders], ignore_index=True)
    t = analyse(_raw(folders), rules, main=main_treatments(sources))
    return t.claims, t.contradictions


def expand(claims: pd.DataFrame, contradictions: pd.DataFrame) -> pd.DataFrame:
    """Predicted pairs as occurrence pairs: (row, aspect, source/start/end of both sides)."""
    spans = claims.set_index("claim_id")[["source_id", "start", "end", "family_id", "text"]]
    members = {f: g for f, g in spans.reset_index().groupby("family_id")}
    rows = []
    for i, x in enumerate(contradictions.itertuples(index=False)):
        fa, fb = spans.at[x.claim_a, "family_id"], spans.at[x.claim_b, "family_id"]
        for a in members[fa].itertuples(index=False):
            for b in members[fb].itertuples(index=False):
                same = a.source_id == b.source_id
                if (x.scope == "within_source") == same and a.claim_id != b.claim_id:
                    rows.append((i, x.aspect, x.scope, a.source_id, a.start, a.end, a.text,
                                 b.source_id, b.start, b.end, b.text))
    return pd.DataFrame(rows, columns=["row", "aspect", "scope", "source_a", "start_a", "end_a", "text_a",
                                       "source_b", "start_b", "end_b", "text_b"])


def _hit(g, p) -> bool:
    def over(src, s, e, psrc, ps, pe):
        return src == psrc and s < pe and ps < e

    ga = (g.source_a, g.start_a, g.start_a + len(g.text_a))
    gb = (g.source_b, g.start_b, g.start_b + len(g.text_b))
    pa, pb = (p.source_a, p.start_a, p.end_a), (p.source_b, p.start_b, p.end_b)
    return g.aspect == p.aspect and ((over(*ga, *pa) and over(*gb, *pb)) or (over(*ga, *pb) and over(*gb, *pa)))


def score(gold: pd.DataFrame, pairs: pd.DataFrame, predicted: pd.DataFrame) -> dict:
    """Matched gold rows and predicted rows, and the figures per scope and aspect."""
    gold_hit = [any(_hit(g, p) for p in pairs.itertuples(index=False)) for g in gold.itertuples(index=False)]
    pred_hit = set()
    for p in pairs.itertuples(index=False):
        if any(_hit(g, p) for g in gold.itertuples(index=False)):
            pred_hit.add(p.row)
    gold = gold.assign(found=gold_hit)
    pred = predicted.reset_index(drop=True).assign(correct=[i in pred_hit for i in range(len(predicted))])

    def figures(g, p):
        prec = p["correct"].mean() if len(p) else 1.0
        rec = g["found"].mean() if len(g) else 1.0
        return {"precision": round(float(prec), 3), "recall": round(float(rec), 3),
                "gold": int(len(g)), "predicted": int(len(p))}

    out = {"all": figures(gold, pred), "scope": {}, "aspect": {}}
    for key, col in (("scope", "scope"), ("aspect", "aspect")):
        for v in sorted(set(gold[col]) | set(pred[col])):
            out[key][v] = figures(gold[gold[col] == v], pred[pred[col] == v])
    out["misses"] = gold[~gold["found"]][["aspect", "source_a", "text_a", "source_b", "text_b"]].to_dict("records")
    out["false_alarms"] = pred[~pred["correct"]][["aspect", "source_a", "text_a", "source_b", "text_b"]].to_dict("records")
    return out


def _own(source_id: str, seeds: set[str]) -> bool:
    return source_id not in seeds


def run(echo=print, rules: RuleSet | None = None) -> dict:
    """Score both sets, print a readable section through echo, return the figures."""
    gold = io.read_csv(GOLD_FILE).astype({"start_a": int, "start_b": int})
    seeds = {p.stem for p in io.list_articles(config.RAW_DIR)}
    results = {}
    for name, folders in (("seeds", [config.RAW_DIR]), ("own", [config.RAW_DIR, OWN_ARTICLES])):
        claims, contra = predict(folders, rules)
        is_own_g = gold["source_a"].map(lambda s: _own(s, seeds)) | gold["source_b"].map(lambda s: _own(s, seeds))
        is_own_p = contra["source_a"].map(lambda s: _own(s, seeds)) | contra["source_b"].map(lambda s: _own(s, seeds))
        g = gold[is_own_g] if name == "own" else gold[~is_own_g]
        p = (contra[is_own_p] if name == "own" else contra).reset_index(drop=True)
        results[name] = score(g.reset_index(drop=True), expand(claims, p), p)
    _print(results, echo)
    return results


def _print(results: dict, echo) -> None:
    echo("Contradictions vs gold (tests/gold/contradictions.csv)")
    for name, r in results.items():
        a = r["all"]
        echo(f"  {name}: precision {a['precision']:.2f}  recall {a['recall']:.2f}  "
             f"(gold {a['gold']}, predicted {a['predicted']}; floors {FLOORS[name]})")
        for key in ("scope", "aspect"):
            for v, f in r[key].items():
                echo(f"    {key} {v:<18} P {f['precision']:.2f}  R {f['recall']:.2f}  gold {f['gold']:>3}  pred {f['predicted']:>3}")
        for label, items in (("miss", r["misses"]), ("false alarm", r["false_alarms"])):
            for m in items:
                echo(f"    {label}: [{m['aspect']}] {m['source_a']}: {m['text_a'][:70]!r} <> "
                     f"{m['source_b']}: {m['text_b'][:70]!r}")
