"""Claim families: the same claim repeated, verbatim or nearly, within or across articles.

Two claims of the same treatment join one family when their normalised texts (``text_key``)
are identical or have a rapidfuzz ``token_set_ratio`` of at least FAMILY_MIN_SIMILARITY and
the shorter is at least FAMILY_MIN_LENGTH_RATIO of the longer
(so "Microneedling has virtually no side effects" and "Microneedling has virtually no side
effects unlike many other treatments" are one family). Grouping is single-link over the claims
in a fixed order, so it is deterministic; a family's id is a hash of its first member's text,
stable when unrelated claims change (treatment and text of the first member).

Cost is near-linear, never n x n (a 100,000-item list in one article is one treatment block):
a text is compared only with earlier candidates found by prefix filtering (as in
set-similarity joins), which finds every pair the rule joins, by either of rapidfuzz's two
ways to reach the threshold:

- the shared words carry one of the texts ("I" against "I D"): they hold over 9/11 of its
  characters, so one of its rarest words making up 2/11 (``word_share``) is in the other text;
- the differing words are spelled nearly alike ("I D" against "I E": "mask" and "masks",
  "retinol" and "retinoid"): the two texts' character pairs mostly coincide, so their prefixes
  of rarest pairs (``gram_share``, in one global order) meet.

A candidate is scored only when a bound on its score reaches the threshold (``score_bound``:
from the texts' lengths, word counts, shared letters and shared words, computed for the
candidates of a window of texts at once, since a text's candidates do not depend on the joins
made before it); on the benchmark's corpus it spares 95% of the scorer calls, and it never
drops a pair the scorer would join.

At most FAMILY_MAX_CANDIDATES candidates are compared per text (rarer keys first, the most
recent first), so cost stays bounded on hostile input where every text shares every word;
below that bound the grouping is the rule applied to every pair
(tests/stages/test_families_scale.py).
"""
from __future__ import annotations

import hashlib
import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
from rapidfuzz import fuzz, process

from .. import config
from ..text import text_key

FAMILY_COLUMNS = ["family_id", "size", "sources", "treatment", "representative", "claim_ids"]


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    """Join the sets of a and b; the smaller position becomes the root (deterministic)."""
    ra, rb = _find(parent, a), _find(parent, b)
    parent[max(ra, rb)] = min(ra, rb)


def word_share(min_similarity: int) -> float:
    """The share of a text's weight (characters plus one separator per distinct word) its
    prefix of rarest words must reach so that any text with which it reaches min_similarity
    through shared words (rapidfuzz compares "I" with "I D", I the shared words, D the rest
    of the text) holds one of them: that needs weight(I) > s / (2 - s) of the text, so a
    shared word lies in any prefix heavier than (2 - 2s) / (2 - s): 2/11 for s = 0.9.

    >>> round(word_share(90), 4)
    0.1818
    """
    s = min_similarity / 100
    return (2 - 2 * s) / (2 - s)


def gram_share(min_similarity: int) -> float:
    """The share of a text's character pairs (of its sorted distinct words, each padded with
    spaces) its prefix of rarest pairs must exceed so that any text with which it reaches
    min_similarity through near-identical spellings (rapidfuzz compares "I D" with "I E", D and
    E the differing words, by indel distance d) has one of them in its own prefix too: a
    text of length n keeps all but 2d of its n + 1 pairs, and d <= (1 - s) * 2n / s, so the
    two share more than 1 - 4(1 - s)/s of either text's pairs: a prefix of 4/9 for s = 0.9.

    >>> round(gram_share(90), 4)
    0.4444
    """
    s = min_similarity / 100
    return min(1.0, 4 * (1 - s) / s)


def _words(texts: list[str], min_similarity: int) -> tuple[list[list[str]], list[int]]:
    """Each text's distinct words, rarest first (fewest texts of the block, ties by spelling),
    and how many of them make its prefix: the rarest words up to word_share of its weight."""
    words = [set(t.split()) for t in texts]
    df = Counter(w for ws in words for w in ws)
    share = word_share(min_similarity)
    ranked, sizes = [], []
    for ws in words:
        order = sorted(ws, key=lambda w: (df[w], w))
        need, acc, k = share * sum(len(w) + 1 for w in order), 0, 0
        while k < len(order) and (k == 0 or acc < need):
            acc += len(order[k]) + 1
            k += 1
        ranked.append(order)
        sizes.append(k)
    return ranked, sizes


def _gram_prefixes(words: list[list[str]], min_similarity: int) -> list[list[int]]:
    """Each text's rarest character pairs, more than gram_share of them, as ranks in one global
    order (fewest texts first, ties by pair): the pairs of " w1 w2 ... " (its distinct words,
    each padded with spaces), a pair's k-th repeat a token of its own, so the list is a
    multiset written as a set.

    Computed for all texts at once with numpy, a few sorts of the block's pairs (the same walk
    in Python cost a quarter of the grouping); each array is dropped once read, and the ranks
    are shared int objects, so a block of 20,000 claims stays within tens of MB."""
    if not words:
        return []
    texts = [" " + " ".join(ws) + " " for ws in words]
    n_pairs = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) - 1
    chars = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    inside = np.ones(len(chars), dtype=bool)
    inside[np.cumsum(n_pairs + 1) - 1] = False      # no pair across two texts
    at = np.flatnonzero(inside)
    del texts, inside
    _, pair = np.unique((chars[at].astype(np.int64) << 21) | chars[at + 1], return_inverse=True)
    del chars, at
    # k: how many times the pair came before in its text (grouped by text, then pair)
    key = np.repeat(np.arange(len(words), dtype=np.int64) * (int(pair.max()) + 1), n_pairs) + pair
    by = np.argsort(key, kind="stable")
    key = key[by]
    new = np.empty(len(key), dtype=bool)
    new[0], new[1:] = True, key[1:] != key[:-1]
    del key
    k = np.empty(len(by), dtype=np.int64)
    k[by] = np.arange(len(by)) - np.flatnonzero(new)[np.cumsum(new) - 1]
    del by, new
    tokens, token = np.unique(pair * (int(k.max()) + 1) + k, return_inverse=True)
    del pair, k
    rank = np.empty(len(tokens), dtype=np.int64)
    rank[np.argsort(np.bincount(token), kind="stable")] = np.arange(len(tokens))
    ranks = rank[token]
    del token, rank
    # each text's ranks in order; the first ``keep`` of each
    text = np.repeat(np.arange(len(words), dtype=np.int64), n_pairs)
    ranks = ranks[np.argsort(text * len(tokens) + ranks, kind="stable")]
    keep = np.minimum((n_pairs * gram_share(min_similarity)).astype(np.int64) + 1, n_pairs)
    starts = np.cumsum(n_pairs) - n_pairs
    ranks = ranks[np.arange(len(ranks)) - np.repeat(starts, n_pairs) < np.repeat(keep, n_pairs)]
    shared = list(range(len(tokens)))                # one int object a rank, as before
    kept = list(map(shared.__getitem__, ranks.tolist()))
    ends = np.cumsum(keep).tolist()
    return [kept[e - q:e] for e, q in zip(ends, keep.tolist())]


BINS = 64   # letters (by code point, a-z each apart) and words are counted in 64 bins; sharing a bin only loosens the bound
COARSE_BINS = (16,)   # the same counts in fewer bins: a looser bound, 4 times cheaper, tried first


def _binned(counts: list[int], items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """One row per text: the weight (1 each when not given) of its items in each of BINS bins;
    ``items`` holds every text's items in turn, ``counts[k]`` of them text k's."""
    at = np.repeat(np.arange(len(counts)) * BINS, counts) + items % BINS
    return np.bincount(at, weights, minlength=len(counts) * BINS).astype(np.int32).reshape(len(counts), BINS)


class Shape:
    """What ``score_bound`` needs of each text (its distinct words, as rapidfuzz's token set
    takes them): the length of the words joined by single spaces, their number, their letters
    counted in bins, and their weights (length plus one) summed in bins by word; the bins also
    summed into COARSE_BINS, for a cheaper, looser first bound (``score_bound``)."""

    def __init__(self, words: list[list[str]]):
        ids: dict[str, int] = {}
        flat = [w for ws in words for w in ws]
        self.count = np.array([len(ws) for ws in words], dtype=np.int64)
        self.length = np.array([sum(map(len, ws)) for ws in words], dtype=np.int64) + self.count - 1
        fine = np.hstack([   # word weights, then letters: one gather and minimum for both
            _binned(self.count, np.array([ids.setdefault(w, len(ids)) for w in flat], dtype=np.int64),
                    np.array([len(w) + 1 for w in flat], dtype=np.float64)),
            _binned([sum(map(len, ws)) for ws in words],
                    np.frombuffer("".join(flat).encode("utf-32-le"), dtype=np.uint32).astype(np.int64))])
        n = len(words)
        self.bins = [fine.reshape(n, 2, k, BINS // k).sum(axis=3, dtype=np.int32).reshape(n, 2 * k)
                     for k in COARSE_BINS] + [fine]   # coarsest first; each row: words, then letters


def score_bound(shape: Shape, texts, cands, min_similarity: int) -> np.ndarray:
    """Which pairs (texts[k], cands[k]) may reach min_similarity by rapidfuzz's
    ``token_set_ratio``, as a mask over the pairs; a pair left out cannot (the scorer would not
    join it). ``texts`` is one text's position or one per pair: the pairs of many texts are
    bounded in one call, since the bound of a pair depends only on its two texts.

    With A and B the two texts' distinct words joined in order (lengths La, Lb), I their shared
    words joined (length S) and DA, DB the rest, the scorer takes the best of:
    - I + DA against I (I + DB against I): at least s only when S >= s / (2 - s) La (Lb), or
      100 when DA or DB is empty (then S = La or Lb). S + 1 is at most W, the smaller weight
      of the two texts' words in each bin, summed over the bins;
    - DA against DB: 1 - d / (La + Lb), with d their indel distance, at least |La - Lb| and at
      least La + Lb + 2 - 2 M: DA and DB share at most the letters the two texts share less
      I's, and the spaces of the one with fewer words, so M is the shared letters (summed
      over bins) plus the smaller word count.
    Half a letter of slack absorbs the scorer's rounding.

    Summing bins before taking the smaller of two texts' counts can only raise W and M, so the
    bound on the coarse bins is looser: the pairs it drops, the fine bins drop too. It runs
    first and the fine bins bound only the pairs it keeps (on the benchmark's corpus it keeps
    a sixth of them)."""
    c = np.asarray(cands, dtype=np.int64)
    i = np.broadcast_to(np.asarray(texts, dtype=np.int64), c.shape)
    at = np.arange(len(c))
    for bins in shape.bins:
        at = at[_bound(shape, bins, i[at], c[at], min_similarity)]
    keep = np.zeros(len(c), dtype=bool)
    keep[at] = True
    return keep


def _bound(shape: Shape, bins: np.ndarray, i: np.ndarray, c: np.ndarray, min_similarity: int) -> np.ndarray:
    """``score_bound``'s test of the pairs (i[k], c[k]) on one set of bins (words, then letters)."""
    s = min_similarity / 100
    k = bins.shape[1] // 2
    la, lb = shape.length[i], shape.length[c]
    both = np.minimum(bins[c], bins[i])
    w = both[:, :k].sum(axis=1)
    m = both[:, k:].sum(axis=1) + np.minimum(shape.count[c], shape.count[i])
    carried = w - 1 >= s / (2 - s) * np.minimum(la, lb) - 0.5
    close = np.maximum(np.abs(la - lb), la + lb + 2 - 2 * m) <= (1 - s) * (la + lb) + 0.5
    return carried | close


def _recent(index: dict, keys, limit: int) -> list[int]:
    """Earlier texts filed under any of ``keys`` (in key order, the most recent first for each
    key), without repeats, at most ``limit``."""
    pool: dict[int, None] = {}
    get = index.get
    for key in keys:
        filed = get(key)
        if filed:   # most keys are rare: filed under no earlier text
            pool.update(dict.fromkeys(filed[:-limit - 1:-1]))
            if len(pool) >= limit:
                return list(pool)[:limit]
    return list(pool)


BOUND_PAIRS = 16_384   # candidate pairs bounded in one numpy call (bins of both texts: 16 MB)
GROUP_WINDOW = 2_048   # texts whose candidates are gathered before they are scored


def _candidates(words: list[list[str]], sizes: list[int], grams: list[list[int]], limit: int):
    """Each text's blocked candidates, in turn (see the module docstring): earlier texts
    sharing one of its prefix words, holding one of its words in their prefix, or sharing
    one of its rarest character pairs, at most ``limit`` of each kind. The texts are filed
    as they come, so a text's candidates are earlier texts, whatever has been joined."""
    by_word: dict[str, list[int]] = {}       # word -> texts holding it
    by_prefix: dict[str, list[int]] = {}     # word -> texts whose word prefix holds it
    by_gram: dict[int, list[int]] = {}       # pair -> texts whose pair prefix holds it
    for i, ws in enumerate(words):
        # the shared words carry one of the two texts: a prefix word of one is in the other
        by_words = list(dict.fromkeys(_recent(by_word, ws[:sizes[i]], limit) +
                                      _recent(by_prefix, ws, limit)))[:limit]
        # the differing words are spelled nearly alike: the pair prefixes meet
        yield list(dict.fromkeys(by_words + _recent(by_gram, grams[i], limit)))
        for w in ws:
            by_word.setdefault(w, []).append(i)
        for w in ws[:sizes[i]]:
            by_prefix.setdefault(w, []).append(i)
        for g in grams[i]:
            by_gram.setdefault(g, []).append(i)


def _scorable(shape: Shape, lengths: np.ndarray, owners: np.ndarray, cands: np.ndarray,
              min_similarity: int) -> np.ndarray:
    """The mask of candidate pairs worth scoring: the shorter text at least
    FAMILY_MIN_LENGTH_RATIO of the longer (a short claim, "It is safe", is not the same claim
    as a long one containing it) and the score bound reached; a slice of pairs at a time."""
    ratio = config.FAMILY_MIN_LENGTH_RATIO
    lo, hi = ratio * lengths[owners], lengths[owners] / ratio
    keep = (lo <= lengths[cands]) & (lengths[cands] <= hi)
    for a in range(0, len(cands), BOUND_PAIRS):
        part = slice(a, a + BOUND_PAIRS)
        kept = np.flatnonzero(keep[part]) + a
        keep[kept] = score_bound(shape, owners[kept], cands[kept], min_similarity)
    return keep


def _near_duplicate_groups(texts: list[str], min_similarity: int) -> list[int]:
    """Group distinct texts (in order) by the family rule, comparing each only with blocked
    candidates (see the module docstring), at most FAMILY_MAX_CANDIDATES of them, minus those
    failing the length ratio or the score bound.

    A text's candidates do not depend on the joins, so a window of texts is gathered first,
    their pairs filtered by length and bounded in vectorised calls, and only then scored and
    joined in order. Returns the groups as a union-find parent list over the texts (``_find``
    gives a text's root, the group's first text)."""
    words, sizes = _words(texts, min_similarity)
    grams = _gram_prefixes(words, min_similarity)
    shape = Shape(words)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    parent = list(range(len(texts)))
    limit = max(1, config.FAMILY_MAX_CANDIDATES // 2)   # per kind of candidate
    gathered = _candidates(words, sizes, grams, limit)
    for start in range(0, len(texts), GROUP_WINDOW):
        window = [next(gathered) for _ in range(min(GROUP_WINDOW, len(texts) - start))]
        counts = np.fromiter(map(len, window), dtype=np.int64, count=len(window))
        owners = np.repeat(np.arange(start, start + len(window), dtype=np.int64), counts)
        cands = np.fromiter(itertools.chain.from_iterable(window), dtype=np.int64, count=int(counts.sum()))
        keep = _scorable(shape, lengths, owners, cands, min_similarity)
        owners, cands = owners[keep], cands[keep]
        ends = np.cumsum(np.bincount(owners - start, minlength=len(window))).tolist()
        cands = cands.tolist()
        for k, end in enumerate(ends):
            begin = ends[k - 1] if k else 0
            if begin == end:
                continue
            i, mine = start + k, cands[begin:end]
            # scored in one call (rapidfuzz prepares the text once)
            for _, _, n in process.extract(texts[i], [texts[j] for j in mine], scorer=fuzz.token_set_ratio,
                                           score_cutoff=min_similarity, limit=None):
                _union(parent, i, mine[n])
    return parent


def family_ids(claims: pd.DataFrame, min_similarity: int = config.FAMILY_MIN_SIMILARITY) -> pd.Series:
    """A family id per claim (index aligned with ``claims``): near-duplicates share one.

    Claims are compared only within one treatment, and there only with blocked candidates
    (see the module docstring); order is (source_id, start) so ids do not depend on the row
    order given.
    """
    if claims.empty:
        return pd.Series([], index=claims.index, dtype=str)
    order = claims.sort_values(["source_id", "start", "end"], kind="stable").index
    at = claims.index.get_indexer(order)   # row n of the ordered claims is row at[n] of claims
    texts, treatments = claims["text"].tolist(), claims["treatment"].astype(str).tolist()
    keys = [text_key(texts[r]) for r in at]
    parent = list(range(len(order)))
    by_treatment: dict[str, list[int]] = {}
    for n, r in enumerate(at):
        by_treatment.setdefault(treatments[r], []).append(n)
    for treatment in sorted(by_treatment):
        # identical texts join at once; only distinct texts are compared
        first: dict[str, int] = {}
        for n in by_treatment[treatment]:
            if keys[n] in first:
                _union(parent, first[keys[n]], n)
            else:
                first[keys[n]] = n
        distinct = list(first)
        near = _near_duplicate_groups(distinct, min_similarity)
        for t in range(len(distinct)):
            _union(parent, first[distinct[_find(near, t)]], first[distinct[t]])
    ids = {}
    for n in range(len(order)):
        r = _find(parent, n)
        if r not in ids:
            ids[r] = "f" + hashlib.sha1(f"{treatments[at[r]]}\x1f{keys[r]}".encode()).hexdigest()[:10]
    by_row = [""] * len(order)
    for n, r in enumerate(at):
        by_row[r] = ids[_find(parent, n)]
    return pd.Series(by_row, index=claims.index, dtype=str)


def unify_families(claims: pd.DataFrame) -> pd.Series:
    """Family ids made consistent across separately grouped batches: families that share an
    identical claim (same treatment and normalised text) become one, under the smallest id.
    Linear in the claims; near-duplicates are grouped within each batch by ``family_ids``.

    Only distinct (family, treatment, text) rows are read (a repeated claim joins nothing
    new), and each distinct text is normalised once; the smallest id of a joined set is its
    root whatever the order of the joins, so the ids do not depend on that order."""
    if claims.empty:
        return claims["family_id"].astype(str) if "family_id" in claims else pd.Series([], dtype=str)
    codes, fams = pd.factorize(claims["family_id"].astype(str), sort=True)
    parent = list(range(len(fams)))
    distinct = pd.DataFrame({"family": codes, "treatment": claims["treatment"].astype(str).to_numpy(),
                             "text": claims["text"].to_numpy()}).drop_duplicates()
    first: dict[tuple[str, str], int] = {}
    keys: dict[str, str] = {}
    for fam, treatment, text in zip(*(distinct[c].tolist() for c in ("family", "treatment", "text"))):
        key = keys.get(text)
        if key is None:
            key = keys[text] = text_key(text)
        if (treatment, key) in first:
            _union(parent, first[(treatment, key)], fam)
        else:
            first[(treatment, key)] = fam
    names = fams.tolist()
    roots = pa.array([names[_find(parent, n)] for n in range(len(names))], type=pa.large_string())
    return pd.Series(roots.take(pa.array(codes)), dtype="str", index=claims.index)


def families(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim family: family_id, size, sources (';'-joined), treatment,
    representative (the text of its first occurrence) and claim_ids (';'-joined, in order).

    Pure: takes the claims table (with family_id; computed here when absent), returns a new
    table sorted by size (largest first) then family_id. The report shows each family once.
    """
    if claims.empty:
        return pd.DataFrame(columns=FAMILY_COLUMNS)
    c = claims.sort_values(["source_id", "start", "end"], kind="stable").copy()
    if "family_id" not in c or (c["family_id"] == "").any():
        c["family_id"] = family_ids(c)
    rows = []
    for fid, g in c.groupby("family_id", sort=False):
        rows.append({
            "family_id": fid, "size": len(g),
            "sources": ";".join(dict.fromkeys(g["source_id"])),
            "treatment": g["treatment"].iloc[0],
            "representative": g["text"].iloc[0],
            "claim_ids": ";".join(g["claim_id"]),
        })
    out = pd.DataFrame(rows, columns=FAMILY_COLUMNS)
    return out.sort_values(["size", "family_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
