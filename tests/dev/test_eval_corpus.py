"""The real-world corpora: pages nobody on the team wrote (the development corpus, when present
beside the checkout) and the wider-treatment pages in tests/wider, scored against hand gold.
Floors sit a little under today's figures, so a change that loses ground fails here."""
import pandas as pd
import pytest

from pipeline import config
from pipeline.dev.eval_corpus import Locator, evaluate_corpus, score_evidence

FLOORS = {   # corpus -> figure -> floor (fractions of the gold)
    "dev": {"key_claims": 0.9, "treatment": 0.85, "claim_type": 0.8, "must": 0.8, "flags": 0.85,
            "evidence": config.EVIDENCE_MIN_ACCURACY},
    "wider": {"key_claims": 0.9, "treatment": 0.85, "claim_type": 0.7, "must": 0.8, "flags": 0.8},
}


def figures(r: dict) -> dict:
    k, c, f, e = r["key_claims"], r["contradictions"], r["flags"], r["evidence"]
    must = c["tiers"].get("must", (0, 0))
    out = {"key_claims": k["found"] / k["n"], "treatment": k["treatment"] / k["n"],
           "claim_type": k["claim_type"] / k["n"], "must": must[0] / must[1] if must[1] else 1.0,
           "flags": f["found"] / f["n"]}
    if e:
        out["evidence"] = e["right"] / e["n"]
    return out


@pytest.mark.parametrize("name, folder", [("dev", config.DEV_CORPUS_DIR), ("wider", config.WIDER_CORPUS_DIR)])
def test_floors_on_the_real_world_corpora(name, folder):
    if not (folder / "gold").is_dir():
        pytest.skip(f"{folder} is absent here")
    got = figures(evaluate_corpus(folder))
    low = {k: round(got.get(k, 0.0), 3) for k, floor in FLOORS[name].items() if got.get(k, 0.0) < floor}
    assert not low, (low, FLOORS[name])


def test_evidence_scoring_counts_right_statuses_and_lists_misses():
    claims = pd.DataFrame({"claim_id": ["c1", "c2"], "source_id": ["01_a", "01_a"], "start": [0, 20],
                           "end": [18, 40], "evidence_status": ["supported", "no_evidence"]})
    loc = Locator(claims, {"01": "Botox is approved. Botox cures acne for ever."})
    gold = pd.DataFrame({"source": ["01", "01", "01"], "text": ["Botox is approved", "Botox cures acne", "Not here"],
                         "status": ["supported", "contradicted", "no_evidence"], "why": ["", "", ""]})
    r = score_evidence(gold, loc, claims)
    assert r["right"] == 1 and r["n"] == 3
    assert [m[3] for m in r["misses"]] == ["no_evidence", "claim not found"]


def test_an_absent_corpus_is_skipped_with_one_line(monkeypatch, tmp_path):
    from pipeline.dev import eval_corpus
    monkeypatch.setattr(config, "DEV_CORPUS_DIR", tmp_path / "no-such-corpus")
    monkeypatch.setattr(config, "WIDER_CORPUS_DIR", tmp_path / "none-either")
    lines: list[str] = []
    assert eval_corpus.run(echo=lines.append) == {}
    assert [ln for ln in lines if "is absent here: skipped" in ln] == [
        f"real-world corpus {tmp_path / 'no-such-corpus'} is absent here: skipped",
        f"real-world corpus {tmp_path / 'none-either'} is absent here: skipped"]
