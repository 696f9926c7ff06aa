"""Score the audit on a real-world corpus: pages nobody on the team wrote, gold made by hand.

A corpus folder holds ``pages/`` (article bodies) and ``gold/`` with three tables (see
``../shared/corpus/INDEX.md``):

- ``key_claims.csv`` (source, text, treatment, claim_type, negated): the most important claims;
  ``text`` is an exact substring of the page; ``claim_type`` may list alternatives joined by
  ``|``; ``treatment`` may be a family id, matched by any member;
- ``contradictions.csv`` (id, tier, ..., a_source, a_text, b_source, b_any_text): pairs that
  cannot both be true, by tier (must, should, could); any ``|``-separated text and source on
  side b counts;
- ``flags.csv`` (source, text, rule, why): claims a reviewer would flag, by rule family;
- optionally ``evidence_status.csv`` (source, text, status, why): the evidence status a key
  claim should get from the project's evidence table (for the development corpus it lives in
  tests/gold/, labelled before reading any output).

A gold text is found when a predicted claim covers at least half of it (or it covers at least
half of the claim); a source is named by its number prefix ("04" is 04_elitemedspaaz...).
The pages are audited exactly as ``make audit`` would (``pipeline.analyse`` with the project's
evidence table, no sources.csv). Figures: key claims found, treatment, claim type and negated on the found ones;
contradictions found by tier; flags found by family; evidence status accuracy; and, for
precision, what was raised per article. Every miss is listed.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import config, io
from ..nlp import RuleSet
from .eval_contradictions import expand
from .evaluate import label_matches

TIERS = ("must", "should", "could")


def _src(source_id: str) -> str:
    """A page's short source id: its number prefix ("04_elite..." -> "04")."""
    return source_id.split("_", 1)[0]


class Locator:
    """Finds which predicted claims cover a gold text of a page."""

    def __init__(self, claims: pd.DataFrame, texts: dict[str, str]):
        self.texts = texts        # short source -> page text
        self.by_source = {s: g for s, g in claims.assign(_s=claims["source_id"].map(_src)).groupby("_s")}

    def span(self, source: str, text: str) -> tuple[int, int] | None:
        page = self.texts.get(source, "")
        i = page.find(text)
        if i < 0:
            norm = lambda s: s.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
            i = norm(page).find(norm(text))
        return (i, i + len(text)) if i >= 0 else None

    def claims(self, source: str, text: str) -> pd.DataFrame:
        """The predicted claims covering the gold text (best first); empty when none does."""
        g = self.by_source.get(source)
        span = self.span(source, text)
        if g is None or span is None:
            return pd.DataFrame(columns=["claim_id"])
        s, e = span
        inter = (g["end"].clip(upper=e) - g["start"].clip(lower=s)).clip(lower=0)
        ok = (inter >= 0.5 * (e - s)) | (inter >= 0.5 * (g["end"] - g["start"]))
        keep = ok & (inter > 0)
        hit = g[keep].copy()
        hit["_inter"] = inter[keep]
        return hit.sort_values("_inter", ascending=False, kind="stable")


def _bool(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def score_key_claims(gold: pd.DataFrame, loc: Locator, rules: RuleSet) -> dict:
    found, right, misses = 0, Counter(), []
    for g in gold.itertuples(index=False):
        hit = loc.claims(str(g.source), g.text)
        if not len(hit):
            misses.append(("missed", g.source, g.text, ""))
            continue
        found += 1
        c = hit.iloc[0]
        checks = {"treatment": label_matches("treatment", g.treatment, c["treatment"], rules),
                  "claim_type": label_matches("claim_type", g.claim_type, c["claim_type"], rules),
                  "negated": _bool(g.negated) == bool(c["negated"])}
        right.update(k for k, ok in checks.items() if ok)
        wrong = [f"{k}: gold {getattr(g, k)} got {c[k]}" for k, ok in checks.items() if not ok]
        if wrong:
            misses.append(("wrong", g.source, g.text, "; ".join(wrong)))
    n = len(gold)
    return {"n": n, "found": found, **{k: right[k] for k in ("treatment", "claim_type", "negated")},
            "misses": misses}


def score_contradictions(gold: pd.DataFrame, loc: Locator, pairs: pd.DataFrame) -> dict:
    linked = {(a, b) for a, b in zip(pairs["claim_a"], pairs["claim_b"])}
    linked |= {(b, a) for a, b in linked}
    by_tier: dict[str, list] = {t: [] for t in TIERS}
    misses = []
    for g in gold.itertuples(index=False):
        a_ids = set(loc.claims(str(g.a_source), g.a_text)["claim_id"])
        b_ids = {cid for s in str(g.b_source).split("|") for t in str(g.b_any_text).split("|")
                 for cid in loc.claims(s.strip(), t.strip())["claim_id"]}
        ok = any((a, b) in linked for a in a_ids for b in b_ids)
        by_tier.setdefault(g.tier, []).append(ok)
        if not ok:
            why = ("side a not found as a claim" if not a_ids else
                   "side b not found as a claim" if not b_ids else "not paired")
            misses.append((g.id, g.tier, g.aspect, g.a_source, g.a_text, why))
    return {"tiers": {t: (sum(v), len(v)) for t, v in by_tier.items() if v}, "misses": misses}


def score_flags(gold: pd.DataFrame, loc: Locator, findings: pd.DataFrame) -> dict:
    families = {}
    for cid, fam in zip(findings["claim_id"], findings["family"]):
        families.setdefault(cid, set()).add(fam)
    by_family: dict[str, list] = {}
    misses = []
    for g in gold.itertuples(index=False):
        ids = list(loc.claims(str(g.source), g.text)["claim_id"])
        got = set().union(*(families.get(i, set()) for i in ids)) if ids else set()
        ok = g.rule in got
        by_family.setdefault(g.rule, []).append(ok)
        if not ok:
            misses.append((g.source, g.rule, g.text, sorted(got) if ids else "claim not found"))
    return {"families": {f: (sum(v), len(v)) for f, v in sorted(by_family.items())},
            "found": sum(sum(v) for v in by_family.values()), "n": len(gold), "misses": misses}


def score_evidence(gold: pd.DataFrame, loc: Locator, claims: pd.DataFrame) -> dict:
    """Evidence status of the labelled key claims: right / labelled, and each miss."""
    status = dict(zip(claims["claim_id"], claims["evidence_status"]))
    right, misses = 0, []
    for g in gold.itertuples(index=False):
        hit = loc.claims(str(g.source), g.text)
        got = status.get(hit.iloc[0]["claim_id"], "") if len(hit) else "claim not found"
        if got == g.status:
            right += 1
        else:
            misses.append((g.source, g.text, g.status, got))
    return {"right": right, "n": len(gold), "misses": misses}


def evidence_gold(folder: Path) -> pd.DataFrame | None:
    """A corpus's expected evidence statuses, or None when it has none."""
    own = Path(folder) / "gold" / "evidence_status.csv"
    if own.is_file():
        return io.read_csv(own, text=True)
    if Path(folder).resolve() == config.DEV_CORPUS_DIR.resolve() and config.EVIDENCE_GOLD_FILE.is_file():
        return io.read_csv(config.EVIDENCE_GOLD_FILE, text=True)
    return None


def audit_pages(folder: Path, rules: RuleSet):
    """(tables, page texts by short source) of a corpus's pages, audited as `make audit` does."""
    from ..analyse import analyse
    from ..sources import read_raw
    from ..stages.evidence import normalise_evidence

    raw = read_raw(Path(folder) / "pages")
    t = analyse(raw, rules, normalise_evidence(io.read_evidence(config.RAW_DIR), rules))
    texts = {_src(sid): data.decode("utf-8-sig") for sid, data in zip(raw["source_id"], raw["data"])
             if data is not None}
    return t, texts


def evaluate_corpus(folder: Path, rules: RuleSet | None = None) -> dict:
    """Every figure for one corpus folder (pages/ and gold/)."""
    rules = rules or RuleSet.load()
    folder = Path(folder)
    t, texts = audit_pages(folder, rules)
    loc = Locator(t.claims, texts)
    gold = {n: io.read_csv(folder / "gold" / f"{n}.csv", text=True)
            for n in ("key_claims", "contradictions", "flags")}
    raised = pd.DataFrame({
        "contradictions": pd.concat([t.contradictions["source_a"], t.contradictions["source_b"]]).map(_src).value_counts(),
        "findings": t.findings["source_id"].map(_src).value_counts(),
        "claims": t.claims["source_id"].map(_src).value_counts(),
    }).fillna(0).astype(int).sort_index()
    return {
        "corpus": str(folder),
        "key_claims": score_key_claims(gold["key_claims"], loc, rules),
        "contradictions": score_contradictions(gold["contradictions"], loc, t.contradictions),
        "flags": score_flags(gold["flags"], loc, t.findings),
        "evidence": (score_evidence(ev, loc, t.claims) if (ev := evidence_gold(folder)) is not None else None),
        "raised": raised,
        "totals": {"claims": len(t.claims), "contradictions": len(t.contradictions), "flags": len(t.findings)},
    }


def _r(a: int, b: int) -> str:
    return f"{a}/{b} = {a / b:.2f}" if b else "-"


def format_corpus(r: dict, details: bool = True) -> list[str]:
    k, c, f = r["key_claims"], r["contradictions"], r["flags"]
    lines = [f"== real-world corpus {r['corpus']} ==",
             f"key claims found {_r(k['found'], k['n'])}; on all key claims: treatment {_r(k['treatment'], k['n'])}"
             f"  claim type {_r(k['claim_type'], k['n'])}  negated {_r(k['negated'], k['n'])}",
             "contradictions found: " + "  ".join(f"{t} {_r(*c['tiers'][t])}" for t in TIERS if t in c["tiers"]),
             f"flags found {_r(f['found'], f['n'])}: " + ", ".join(f"{fam} {a}/{b}" for fam, (a, b) in f["families"].items()),
             f"raised: {r['totals']['claims']} claims, {r['totals']['contradictions']} contradictions, "
             f"{r['totals']['flags']} flags; per article (claims / contradictions involving it / flags):",
             "  " + "  ".join(f"{s}: {row.claims}/{row.contradictions}/{row.findings}" for s, row in r["raised"].iterrows())]
    e = r.get("evidence")
    if e:
        lines.insert(4, f"evidence status right {_r(e['right'], e['n'])} (floor {config.EVIDENCE_MIN_ACCURACY})")
    if details:
        lines += [f"  {kind} claim {src}: {text[:90]!r} {why}" for kind, src, text, why in k["misses"]]
        lines += [f"  missed contradiction {i} [{tier}, {aspect}] {src}: {text[:70]!r} ({why})"
                  for i, tier, aspect, src, text, why in c["misses"]]
        lines += [f"  missed flag {src} {rule}: {text[:70]!r} (got {got})" for src, rule, text, got in f["misses"]]
        lines += [f"  evidence {src}: {text[:70]!r} expected {want}, got {got}"
                  for src, text, want, got in (e["misses"] if e else [])]
    return lines


def corpora() -> list[Path]:
    """The real-world corpora present here: the shared development corpus, then the wider one."""
    return [p for p in (config.DEV_CORPUS_DIR, config.WIDER_CORPUS_DIR) if (p / "gold").is_dir()]


def judged_precision() -> dict[str, tuple[int, int]]:
    """(right, judged) of each hand-judged sample of raised contradictions and flags."""
    out = {}
    for name, path in config.JUDGED_SAMPLES.items():
        if path.is_file():
            v = io.read_csv(path, text=True)["verdict"]
            out[name] = (int((v == "right").sum()), len(v))
    return out


def run(echo: Callable[[str], None] = print, details: bool = True, rules: RuleSet | None = None) -> dict:
    """Score every corpus present; say so in one line when there is none."""
    out = {}
    found = corpora()
    judged = judged_precision()
    if judged:
        echo("judged precision on the development corpus (random samples, tests/gold/precision_*.csv): "
             + ", ".join(f"{name} {_r(*rw)}" for name, rw in judged.items()))
    for folder in (config.DEV_CORPUS_DIR, config.WIDER_CORPUS_DIR):
        if folder not in found:
            echo(f"real-world corpus {folder} is absent here: skipped")
    for folder in found:
        out[str(folder)] = r = evaluate_corpus(folder, rules)
        for line in format_corpus(r, details):
            echo(line)
        echo("")
    return out
