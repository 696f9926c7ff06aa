"""Claim families stay near-linear: one article with a huge bulleted list must not build n x n
matrices (issue 15, item 3). The cost is asserted as scorer calls and traced memory, never time."""
from __future__ import annotations

import random
import tracemalloc

import pandas as pd
import pytest
from rapidfuzz import fuzz

from pipeline import config
from pipeline.stages import families
from pipeline.stages.families import family_ids

WORDS = ("skin collagen redness peel laser results weeks sessions swelling safe gentle "
         "pores tone texture scars acne downtime needles serum glow firm lines spots "
         "healing barrier itching dryness sunscreen aftercare clinic booking price").split()


def bulleted_list(n: int, seed: int = 0) -> pd.DataFrame:
    """n list items of one article and treatment: half numbered variants of a few template
    sentences (near-duplicates of each other), half random sentences of common words."""
    rnd = random.Random(seed)
    templates = ["Microneedling session {} reduces fine lines and wrinkles",
                 "Item {} of the aftercare plan keeps the treated skin calm",
                 "Microneedling is safe for skin type {} with no downtime"]
    texts = []
    for i in range(n):
        if i % 2:
            texts.append(rnd.choice(templates).format(i))
        else:
            texts.append("Microneedling " + " ".join(rnd.sample(WORDS, rnd.randint(4, 9))))
    starts = [i * 80 for i in range(n)]
    return pd.DataFrame({"claim_id": [f"c{i:012x}" for i in range(n)], "source_id": "list",
                         "start": starts, "end": [s + 70 for s in starts],
                         "treatment": "microneedling", "text": texts})


def brute_force_ids(claims: pd.DataFrame) -> list[set]:
    """The grouping rule applied to every pair (the specification): single-link groups of
    claim ids, as a sorted list of sets."""
    from pipeline.text import text_key

    rows = list(claims.sort_values(["source_id", "start", "end"], kind="stable").itertuples())
    parent = list(range(len(rows)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            ra, rb = rows[a], rows[b]
            if ra.treatment != rb.treatment:
                continue
            ka, kb = text_key(ra.text), text_key(rb.text)
            same = ka == kb or (
                min(len(ka), len(kb)) >= config.FAMILY_MIN_LENGTH_RATIO * max(len(ka), len(kb))
                and fuzz.token_set_ratio(ka, kb) >= config.FAMILY_MIN_SIMILARITY)
            if same:
                parent[max(find(a), find(b))] = min(find(a), find(b))
    groups: dict[int, set] = {}
    for n, r in enumerate(rows):
        groups.setdefault(find(n), set()).add(r.claim_id)
    return sorted(groups.values(), key=min)


def groups_of(claims: pd.DataFrame) -> list[set]:
    ids = family_ids(claims)
    groups: dict[str, set] = {}
    for cid, fid in zip(claims["claim_id"], ids):
        groups.setdefault(fid, set()).add(cid)
    return sorted(groups.values(), key=min)


class Budget(Exception):
    pass


def test_20000_claims_in_one_article_cost_a_bounded_number_of_comparisons(monkeypatch):
    claims = bulleted_list(20_000)
    limit = config.FAMILY_MAX_CANDIDATES * len(claims)   # all pairs would be n * n / 2
    calls = 0
    real = fuzz.token_set_ratio

    def counted(a, b, **kw):
        nonlocal calls
        calls += 1
        if calls > limit:
            raise Budget(f"more than {limit} comparisons for {len(claims)} claims")
        return real(a, b, **kw)

    monkeypatch.setattr(families.fuzz, "token_set_ratio", counted)
    tracemalloc.start()
    try:
        ids = family_ids(claims)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert calls <= limit
    assert peak < 150 * 2**20, f"{peak / 2**20:.0f} MB traced for {len(claims)} claims"
    # the numbered variants of each template are one family each
    for template in (r"Microneedling session \d", r"Item \d", r"Microneedling is safe for skin type \d"):
        assert ids[claims["text"].str.match(template)].nunique() == 1, template


def edited_claims() -> pd.DataFrame:
    """800 claims (few enough to compare every pair) made of the seed articles' words: 400
    texts, each with a copy whose words are dropped, added, reordered, respelled, contained in
    a longer text, or replaced."""
    import re

    vocab = sorted({w for p in sorted(config.RAW_DIR.glob("*.txt"))
                    for w in re.findall(r"[a-z]+", p.read_text(encoding="utf-8").lower())})
    rnd = random.Random(1)
    texts = []
    for _ in range(400):
        words = rnd.sample(vocab, rnd.randint(4, 14))
        texts.append(" ".join(words))
        op = rnd.choice(("drop", "add", "reorder", "contain", "respell", "other"))
        if op == "respell":          # mask -> masks, dermaroller -> derma-roller
            for k in rnd.sample(range(len(words)), min(len(words), rnd.randint(1, 3))):
                w = words[k]
                words[k] = rnd.choice((w + "s", w[:-1] or w, w[:len(w) // 2] + "-" + w[len(w) // 2:]))
        elif op == "drop":
            del words[rnd.randrange(len(words))]
        elif op == "add":
            words.insert(rnd.randrange(len(words)), rnd.choice(vocab))
        elif op == "reorder":
            rnd.shuffle(words)
        elif op == "contain":
            words += rnd.sample(vocab, len(words) // 2)
        else:
            words = rnd.sample(vocab, len(words))
        texts.append(" ".join(words))
    order = list(range(len(texts)))
    rnd.shuffle(order)
    claims = pd.DataFrame({"claim_id": [f"c{i:012x}" for i in range(len(texts))],
                           "source_id": [f"s{i % 9}" for i in range(len(texts))],
                           "start": [o * 100 for o in order], "end": [o * 100 + 90 for o in order],
                           "treatment": ["laser" if i % 7 == 0 else "peel" for i in range(len(texts))],
                           "text": texts})
    return claims


def test_blocking_finds_the_pairs_every_pair_comparison_finds():
    """The blocked grouping equals the rule applied to all pairs."""
    claims = edited_claims()
    expected = brute_force_ids(claims)
    assert sum(len(g) > 1 for g in expected) > 100   # the set has many near-duplicates
    assert groups_of(claims) == expected


def test_small_windows_and_slices_group_the_same(monkeypatch):
    """Candidates gathered a window of texts at a time and bounded a slice of pairs at a time:
    the grouping does not depend on either size."""
    claims = edited_claims()
    expected = groups_of(claims)
    monkeypatch.setattr(families, "GROUP_WINDOW", 7)
    monkeypatch.setattr(families, "BOUND_PAIRS", 5)
    assert groups_of(claims) == expected


def test_the_seed_claims_group_as_every_pair_comparison_groups(rules, nlp):
    from pipeline.analyse import analyse
    from pipeline.sources import read_raw

    claims = analyse(read_raw(config.RAW_DIR), rules, nlp=nlp).claims
    assert len(claims)
    assert groups_of(claims) == brute_force_ids(claims)
