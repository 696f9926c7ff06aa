"""Extract: blocks in, units out (one row per heading, sentence or claim clause) with cues.

One pass of ``nlp.pipe`` over all blocks splits sentences and finds treatment names and cue
phrases. Each sentence becomes a unit; a sentence that joins two claims of different type or
treatment at a clause break (", but may cause ...") becomes two units with their own offsets.

Negation follows the ConText algorithm (as in medspaCy): a negation cue has a direction and a
scope of at most NEGATION_WINDOW tokens that stops at a terminator ("but", "however"); the unit
is negated when a scope reaches a content word. Pseudo-negations ("not only") do not count.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import pandas as pd

from . import config

_WS_RUN = re.compile(r"\s{2,}|[\n\r\t]")


def compact(s: str) -> tuple[str, list[tuple[int, int]] | None]:
    """Collapse whitespace runs to one space; return the text and a map for offsets back.

    >>> compact("a \\n  b")
    ('a b', [(0, 0), (2, 5)])
    """
    if not _WS_RUN.search(s):
        return s, None
    out, anchors, pos, cpos = [], [(0, 0)], 0, 0
    for m in _WS_RUN.finditer(s):
        piece = s[pos:m.start()] + " "
        out.append(piece)
        cpos += len(piece)
        pos = m.end()
        anchors.append((cpos, pos))
    out.append(s[pos:])
    return "".join(out), anchors


def _back(anchors, i: int) -> int:
    """Map an offset in the compacted text back to the original block text."""
    if anchors is None:
        return i
    k = bisect.bisect_right(anchors, (i, float("inf"))) - 1
    c0, o0 = anchors[k]
    return o0 + (i - c0)


@dataclass(frozen=True)
class CueIndex:
    """Rules by id with the attributes extract needs, prepared once."""

    by_id: dict

    @classmethod
    def build(cls, cues) -> "CueIndex":
        return cls({r.id: r for r in cues})


_PRIORITY = {t: i for i, t in enumerate(config.CLAIM_TYPES)}


def _features(doc, s: int, e: int, cue_index: CueIndex) -> dict:
    """Cue-derived features of tokens [s, e) of a parsed block."""
    by_id = cue_index.by_id
    treatments: list[str] = []
    for ts, te, tid in doc._.treatments:
        if s <= ts and te <= e and tid not in treatments:
            treatments.append(tid)
    cues = [(cs, ce, by_id[rid]) for cs, ce, rid in doc._.cues if s <= cs and ce <= e]
    pseudo = [(cs, ce) for cs, ce, r in cues if r.category == "pseudo_negation"]
    terms = sorted(cs for cs, ce, r in cues if r.category in ("terminator", "clause_break"))
    treat_tokens = {i for ts, te, _ in doc._.treatments for i in range(ts, te)}
    negated = hedged = conditional = anaphor = not_claim = skin_subject = False
    in_scope: list[tuple[int, int, set]] = []   # (cue start, cue end, tokens it negates)
    for cs, ce, r in cues:
        if r.category != "negation" or any(ps <= cs and ce <= pe for ps, pe in pseudo):
            continue
        direction = r.get("direction")
        scope = list(range(cs, ce))
        if direction in ("forward", "bidirectional"):
            stop = min([t for t in terms if t >= ce] + [e, ce + config.NEGATION_WINDOW])
            scope.extend(range(ce, stop))
        if direction in ("backward", "bidirectional"):
            stop = max([t + 1 for t in terms if t < cs] + [s, cs - config.NEGATION_WINDOW])
            scope.extend(range(stop, cs))
        if any((doc[i].is_alpha and not doc[i].is_stop) or i in treat_tokens
               for i in scope if not cs <= i < ce):
            negated = True
            in_scope.append((cs, ce, set(scope)))
    types: dict[str, bool] = {}
    assertions: list[str] = []
    for cs, ce, r in cues:
        cat = r.category
        if cat == "claim_type":
            t = r.get("type")
            types[t] = types.get(t, False) or bool(r.get("strong"))
        elif cat == "value":
            # negated only by a cue outside the value's own words ("non-invasive", "pain-free",
            # "no side effects" assert their value; "not painless" negates it)
            negated_here = any(not (cs <= ns and ne <= ce) and any(i in sc for i in range(cs, ce))
                               for ns, ne, sc in in_scope)
            value = r.get("negated_value") if negated_here else r.get("value")
            if value:
                item = f"{r.get('aspect')}={value}"
                if item not in assertions:
                    assertions.append(item)
        elif cat == "hedge":
            hedged = True
        elif cat == "conditional":
            conditional = True
        elif cat == "anaphor":
            anaphor = True
        elif cat == "not_claim":
            not_claim = True
        elif cat == "skin_subject":
            first_treat = min((ts for ts, te, _ in doc._.treatments if s <= ts < e), default=e)
            if cs - s <= 3 and cs < first_treat:
                skin_subject = True
    words = [t for t in doc[s:e] if t.is_alpha]
    last = next((t for t in reversed(doc[s:e]) if not t.is_space), None)
    ordered = sorted(types, key=_PRIORITY.__getitem__)
    strong = [t for t in ordered if types[t]]
    return {
        "treatments_found": tuple(treatments),
        "types_found": tuple(ordered),
        "strong_types": tuple(strong),
        "negated": negated, "hedged": hedged, "conditional": conditional,
        "anaphor": anaphor, "not_claim": not_claim, "skin_subject": skin_subject,
        "assertions": tuple(assertions),
        "cue_ids": tuple(sorted({r.id for _, _, r in cues})),
        "n_words": len(words),
        "question": last is not None and last.text == "?",
        "lead_in": last is not None and last.text == ":",
    }


def _split_points(doc, s: int, e: int, cue_index: CueIndex) -> list[tuple[int, int]]:
    by_id = cue_index.by_id
    return [(cs, ce) for cs, ce, rid in doc._.cues
            if s < cs and ce < e - 1 and by_id[rid].category == "clause_break"]


def _trim(doc, s: int, e: int) -> tuple[int, int]:
    """Drop leading/trailing spaces and punctuation that do not belong to a clause."""
    while s < e and (doc[s].is_space or doc[s].is_punct and doc[s].text not in "\"'(" ):
        s += 1
    while e > s and (doc[e - 1].is_space or doc[e - 1].text in {",", ";", ":", "-"}):
        e -= 1
    return s, e


def _units_of_block(doc, block, cue_index: CueIndex):
    """Yield (token_start, token_end, features, clause_no) for each unit of one block."""
    if block.kind == "heading":
        yield 0, len(doc), _features(doc, 0, len(doc), cue_index), 0
        return
    for sent in doc.sents:
        s, e = _trim(doc, sent.start, sent.end)
        if s >= e:
            continue
        whole = _features(doc, s, e, cue_index)
        whole["lead_in"] = any(t.text == ":" for t in doc[e:sent.end])
        for bs, be in _split_points(doc, s, e, cue_index):
            ls, le = _trim(doc, s, bs)
            rs, re_ = _trim(doc, be, e)
            if le - ls < 3 or re_ - rs < 2:
                continue
            left = _features(doc, ls, le, cue_index)
            right = _features(doc, rs, re_, cue_index)
            if not (left["types_found"] and right["types_found"]):
                continue
            lt = (left["strong_types"] or left["types_found"])[0]
            rt = (right["strong_types"] or right["types_found"])[0]
            differs = lt != rt or (right["treatments_found"]
                                   and right["treatments_found"] != left["treatments_found"])
            if differs:
                yield ls, le, left, 1
                yield rs, re_, right, 2
                break
        else:
            yield s, e, whole, 0


def extract(docs: pd.DataFrame, blocks: pd.DataFrame, nlp, batch_size: int = 256) -> pd.DataFrame:
    """Units (headings, sentences, clauses) of all blocks, with offsets and cue features."""
    cue_index = CueIndex.build(nlp.get_pipe("claim_matcher").cues)
    by_source = {d.source_id: d for d in docs.itertuples(index=False)}

    def texts():
        for b in blocks.itertuples(index=False):
            d = by_source[b.source_id]
            text, anchors = compact(d.visible[b.start:b.end])
            yield text, (b, anchors)

    rows = []
    for doc, (b, anchors) in nlp.pipe(texts(), as_tuples=True, batch_size=batch_size):
        d = by_source[b.source_id]
        for ts, te, feats, clause in _units_of_block(doc, b, cue_index):
            c_start = doc[ts].idx
            c_end = doc[te - 1].idx + len(doc[te - 1].text)
            start = b.start + _back(anchors, c_start)
            end = b.start + _back(anchors, c_end - 1) + 1
            if d.format == "text":
                shown = d.text[start:end]
            else:
                shown = re.sub(r"\s+", " ", d.shown[start:end]).strip()
            rows.append({
                "source_id": b.source_id, "block": b.block, "clause": clause,
                "kind": "sentence" if b.kind == "paragraph" else b.kind,
                "start": start, "end": end, "text": shown, "section": b.section, **feats,
            })
    cols = ["source_id", "block", "clause", "kind", "start", "end", "text", "section",
            "treatments_found", "types_found", "strong_types", "negated", "hedged", "conditional",
            "anaphor", "not_claim", "skin_subject", "assertions", "cue_ids", "n_words", "question", "lead_in"]
    return pd.DataFrame(rows, columns=cols)
