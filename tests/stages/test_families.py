"""Claim families: near-duplicate claims of one treatment share a family_id (tiny literal frames)."""
import numpy
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages.families import families, family_ids


def frame(rows):
    return pd.DataFrame(rows, columns=["claim_id", "source_id", "start", "end", "treatment", "text"])


CLAIMS = frame([
    ("a", "s1", 0, 40, "microneedling", "Microneedling has virtually no side effects."),
    ("b", "s2", 50, 90, "microneedling", "Microneedling has virtually\u00a0no side effects unlike other treatments."),
    ("c", "s1", 60, 80, "microneedling", "It stimulates collagen."),
    ("d", "s2", 0, 40, "laser", "Microneedling has virtually no side effects."),
])


def test_near_duplicates_of_one_treatment_share_a_family():
    ids = family_ids(CLAIMS)
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    assert ids[0] != ids[3]  # same words, different treatment: a different claim


def test_family_ids_do_not_depend_on_row_order():
    shuffled = CLAIMS.iloc[[3, 2, 1, 0]]
    assert list(family_ids(shuffled).sort_index()) == list(family_ids(CLAIMS))


def test_families_table_lists_each_family_once_with_occurrences():
    fam = families(CLAIMS)
    assert list(fam.columns) == ["family_id", "size", "sources", "treatment", "representative", "claim_ids"]
    top = fam.iloc[0]
    assert (top["size"], top["sources"], top["claim_ids"]) == (2, "s1;s2", "a;b")
    assert top["representative"] == "Microneedling has virtually no side effects."
    assert fam["size"].sum() == len(CLAIMS)


def test_a_short_claim_inside_a_long_one_is_another_family():
    claims = frame([("a", "s", 0, 10, "laser", "It is safe."),
                    ("b", "s", 20, 90, "laser", "It is safe for every skin type and leaves no marks at all.")])
    ids = family_ids(claims)
    assert ids[0] != ids[1]


def test_batches_grouped_apart_share_families_through_identical_claims():
    """Two batches grouped separately: a claim repeated verbatim ends in one family, even when
    each batch rooted its family at a different member."""
    import pandas as pd

    from pipeline.stages.families import family_ids, unify_families

    a = pd.DataFrame({"claim_id": ["c1", "c2"], "source_id": ["a", "a"], "start": [0, 50], "end": [40, 90],
                      "treatment": ["botox"] * 2,
                      "text": ["Botox results last four months", "Botox results last four months."]})
    b = pd.DataFrame({"claim_id": ["c3", "c4"], "source_id": ["b", "b"], "start": [0, 50], "end": [45, 90],
                      "treatment": ["botox"] * 2,
                      "text": ["Botox results last about four months", "Botox results last four months"]})
    a["family_id"], b["family_id"] = family_ids(a), family_ids(b)
    both = pd.concat([a, b], ignore_index=True)
    assert both["family_id"].nunique() == 2          # each batch rooted its own family
    unified = unify_families(both)
    assert unified.nunique() == 1 and unified.iloc[0] == min(both["family_id"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["f1", "f2", "f3", "f4", "f5"]), st.sampled_from(["botox", "peel"]),
                          st.sampled_from(["Lasts months", "lasts months.", "Heals fast", "No pain"])),
                min_size=1, max_size=25))
def test_unified_families_are_the_smallest_id_of_families_sharing_a_claim(rows):
    """Against the definition, by a different way: each family takes the smallest id among
    the families it reaches through claims of one treatment and normalised text, repeated
    until nothing changes."""
    import pandas as pd

    from pipeline.stages.families import unify_families
    from pipeline.text import text_key

    claims = pd.DataFrame(rows, columns=["family_id", "treatment", "text"])
    label = {f: f for f in claims["family_id"]}
    changed = True
    while changed:
        changed = False
        for _, same in claims.groupby([claims["treatment"], claims["text"].map(text_key)]):
            low = min(label[f] for f in same["family_id"])
            for f in same["family_id"]:
                if label[f] != low:
                    label[f], changed = low, True
    assert unify_families(claims).tolist() == [label[f] for f in claims["family_id"]]


# --- the score bound: never drops a pair the scorer joins --------------------------------------

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from pipeline.stages.families import Shape, _bound, score_bound

# few, similar words ("mask", "masks", "ask"), so that pairs share and nearly share many of them
WORD = st.sampled_from("mask masks ask retinol retinoid skin kin peel peels laser lasers 4 40 é".split())
TEXT = st.lists(WORD, min_size=1, max_size=9).map(" ".join)


@settings(max_examples=600, deadline=None)
@given(st.lists(TEXT, min_size=2, max_size=8), st.integers(min_value=50, max_value=100))
def test_the_score_bound_keeps_every_pair_the_scorer_joins(texts, similarity):
    shape = Shape([sorted(set(t.split())) for t in texts])
    cands = list(range(1, len(texts)))
    kept = [j for j, ok in zip(cands, score_bound(shape, 0, cands, similarity)) if ok]
    for j in cands:
        if fuzz.token_set_ratio(texts[0], texts[j]) >= similarity:
            assert j in kept, (texts[0], texts[j], fuzz.token_set_ratio(texts[0], texts[j]))


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, min_size=2, max_size=12), st.integers(min_value=50, max_value=100), st.randoms())
def test_the_coarse_bins_only_spare_work(texts, similarity, rnd):
    """The bound tried first on fewer bins drops no pair the full bins keep: the mask is the
    full bins' mask, for pairs of many texts at once."""
    shape = Shape([sorted(set(t.split())) for t in texts])
    owners = [rnd.randrange(len(texts)) for _ in range(20)]
    cands = [rnd.randrange(len(texts)) for _ in range(20)]
    full = _bound(shape, shape.bins[-1], numpy.array(owners), numpy.array(cands), similarity)
    assert score_bound(shape, owners, cands, similarity).tolist() == full.tolist()


def test_the_score_bound_drops_pairs_that_share_few_letters():
    texts = ["retinol peels brighten dull skin", "laser sessions remove unwanted hair",
             "retinol peels brighten dull skin quickly"]
    shape = Shape([sorted(set(t.split())) for t in texts])
    assert score_bound(shape, 0, [1, 2], 90).tolist() == [False, True]
    assert score_bound(shape, [0, 2], [1, 0], 90).tolist() == [False, True]   # one text per pair


# --- the pair prefixes: the rarest character pairs of each text ---------------------------------

from collections import Counter

from pipeline.stages.families import _gram_prefixes, gram_share


def _prefixes_by_hand(words: list[list[str]], similarity: int) -> list[list[int]]:
    """The definition, one pair at a time: the pairs of " w1 w2 ... ", the k-th repeat of a pair
    a token (pair, k) of its own; tokens ranked by how many texts hold them, then by pair and k;
    each text's lowest ranks, more than gram_share of its tokens."""
    tokens = []
    for ws in words:
        text = " " + " ".join(ws) + " "
        seen: Counter = Counter()
        mine = []
        for pair in map(str.__add__, text[:-1], text[1:]):
            mine.append((pair, seen[pair]))
            seen[pair] += 1
        tokens.append(mine)
    df = Counter(t for mine in tokens for t in mine)
    rank = {t: r for r, t in enumerate(sorted(df, key=lambda t: (df[t], t)))}
    share = gram_share(similarity)
    return [sorted(rank[t] for t in mine)[:int(share * len(mine)) + 1] for mine in tokens]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from("aa a aaa ab ba retinol é 🙂 4 40".split()), max_size=8),
                max_size=12), st.integers(min_value=50, max_value=100))
def test_pair_prefixes_follow_their_definition(words, similarity):
    """Computed for a block at once with numpy: the ranks the definition gives, repeats ("aaa"),
    texts of no word and characters beyond one byte included."""
    assert _gram_prefixes(words, similarity) == _prefixes_by_hand(words, similarity)
