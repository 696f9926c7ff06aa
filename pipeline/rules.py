"""Load and validate the rule and vocabulary files (JSONL, one rule a line, each with an id).

A compliance reviewer edits these files, not code. Every entry is checked on load; a bad
entry raises RuleError naming the file, the line and what is wrong, e.g.::

    pipeline/rules/cues.jsonl:12: unknown category 'hedging' (allowed: anaphor, ...)
"""
from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .io import read_jsonl


class RuleError(ValueError):
    """A rule file entry that is malformed; the message names file and line."""


CUE_CATEGORIES = {
    "negation": "asserts absence or denial; needs direction",
    "pseudo_negation": "looks like a negation, hedge or condition but is not one ('not only', 'as if')",
    "hedge": "lowers certainty ('may', 'can', 'often')",
    "conditional": "makes the claim true only under a condition ('if', 'unless')",
    "terminator": "ends the scope of a negation or hedge ('but', 'however')",
    "clause_break": "a place where a sentence may split into two claims (', but')",
    "anaphor": "refers to the treatment without naming it ('it', 'the procedure')",
    "claim_type": "a trigger for one claim type; needs type",
    "not_claim": "marks text that is not a claim (calls to action, bylines, lead-ins)",
    "skin_subject": "a subject about skin, pores or a condition rather than a treatment",
    "mitigation": "a verb whose object is a harm prevented ('prevent', 'minimize the risk of'): "
                  "safety words in its scope do not make a safety claim; needs direction",
    "imperative": "a verb that, opening a sentence or clause, makes it an instruction (advice)",
    "intro": "opens an introductory phrase ending at a comma ('However,', 'After a peel,'); "
             "the subject follows it; optional demote: claim-type words inside count weakly",
    "predicate": "an auxiliary or modal that ends the subject ('is', 'can', 'will')",
    "answer": "a whole sentence that answers the question before it ('No.', 'The short answer is "
              "yes.'); needs polarity (yes or no)",
}
DIRECTIONS = ("forward", "backward", "bidirectional")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class Rule:
    """One validated rule line: id, category, phrases or token pattern, and its attributes."""

    id: str
    category: str
    phrases: tuple[str, ...] = ()
    pattern: tuple = ()
    match: str = "lower"            # lower: exact words, case-insensitive; lemma: any inflection
    attrs: dict = field(default_factory=dict, hash=False, compare=False)
    where: str = ""                 # file:line, for messages

    def get(self, key: str, default=None):
        return self.attrs.get(key, default)


def _parse_lines(path: Path) -> list[tuple[str, dict]]:
    out = []
    for n, line in read_jsonl(path):
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RuleError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise RuleError(f"{where}: each line must be a JSON object")
        out.append((where, obj))
    return out


def _check_id(where: str, obj: dict, seen: set[str]) -> str:
    rid = obj.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise RuleError(f"{where}: 'id' must be lower-case letters, digits, '_', '.', '-' (got {rid!r})")
    if rid in seen:
        raise RuleError(f"{where}: duplicate id {rid!r}")
    seen.add(rid)
    return rid


def _string_list(where: str, obj: dict, key: str, required: bool = True) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None and not required:
        return ()
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)):
        raise RuleError(f"{where}: {key!r} must be a non-empty list of non-empty strings")
    return tuple(v.strip() for v in value)


@dataclass(frozen=True)
class Treatment:
    id: str
    label: str
    names: tuple[str, ...]


@functools.lru_cache(maxsize=8)
def load_treatments(path: Path = config.TREATMENTS_FILE) -> tuple[Treatment, ...]:
    """Treatments with their names; a name may belong to one treatment only."""
    path = Path(path)
    seen: set[str] = set()
    owner: dict[str, str] = {}
    out = []
    for where, obj in _parse_lines(path):
        unknown = set(obj) - {"id", "label", "names", "note"}
        if unknown:
            raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
        tid = _check_id(where, obj, seen)
        if not re.match(r"^[a-z][a-z0-9_]*$", tid):
            raise RuleError(f"{where}: treatment id must be lower case with underscores (got {tid!r})")
        names = _string_list(where, obj, "names")
        for name in names:
            key = name.lower()
            if key in owner and owner[key] != tid:
                raise RuleError(f"{where}: name {name!r} already belongs to treatment {owner[key]!r}")
            owner[key] = tid
        out.append(Treatment(tid, str(obj.get("label") or tid), names))
    if not out:
        raise RuleError(f"{path}: no treatments defined")
    return tuple(out)


def _validate_pattern(where: str, pattern) -> tuple:
    if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
        raise RuleError(f"{where}: 'pattern' must be a non-empty list of token objects (spaCy Matcher)")
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    try:
        Matcher(Vocab(), validate=True).add("x", [pattern])
    except Exception as exc:  # spaCy raises MatchPatternError / ValueError with details
        first = str(exc).strip().splitlines()
        raise RuleError(f"{where}: invalid token pattern: {' '.join(first)[:300]}") from None
    return tuple(pattern)


def _phrases_or_pattern(where: str, obj: dict) -> tuple[str, tuple, tuple]:
    """A rule's match mode, phrases and token pattern (exactly one of phrases or pattern)."""
    match = obj.get("match", "lower")
    if match not in ("lower", "lemma"):
        raise RuleError(f"{where}: 'match' must be 'lower' or 'lemma' (got {match!r})")
    phrases = _string_list(where, obj, "phrases", required=False)
    pattern = _validate_pattern(where, obj["pattern"]) if "pattern" in obj else ()
    if bool(phrases) == bool(pattern):
        raise RuleError(f"{where}: give exactly one of 'phrases' or 'pattern'")
    return match, phrases, pattern


def _load_cue_file(path: Path, allowed: dict[str, str], required_by_category: dict[str, dict]) -> tuple[Rule, ...]:
    seen: set[str] = set()
    rules = []
    for where, obj in _parse_lines(path):
        rid = _check_id(where, obj, seen)
        cat = obj.get("category")
        if cat not in allowed:
            raise RuleError(f"{where}: unknown category {cat!r} (allowed: {', '.join(sorted(allowed))})")
        for key, values in required_by_category.get(cat, {}).items():
            if obj.get(key) not in values:
                raise RuleError(f"{where}: category {cat!r} needs {key!r} in {list(values)} (got {obj.get(key)!r})")
        match, phrases, pattern = _phrases_or_pattern(where, obj)
        if obj.get("position", "start") != "start":
            raise RuleError(f"{where}: 'position' can only be 'start' (got {obj['position']!r})")
        for flag in ("strong", "weak", "dominant", "pronoun", "negative", "demote", "concessive",
                     "unmitigated"):
            if not isinstance(obj.get(flag, False), bool):
                raise RuleError(f"{where}: {flag!r} must be true or false (got {obj[flag]!r})")
        attrs = {k: v for k, v in obj.items() if k not in {"id", "category", "phrases", "pattern", "match"}}
        rules.append(Rule(rid, cat, phrases, pattern, match, attrs, where))
    return tuple(rules)


@functools.lru_cache(maxsize=8)
def load_cues(path: Path = config.CUES_FILE) -> tuple[Rule, ...]:
    """Cue rules for claims: negation, hedges, conditions, claim-type triggers, anaphors ..."""
    required = {
        "negation": {"direction": DIRECTIONS},
        "hedge": {"direction": DIRECTIONS},
        "conditional": {"direction": DIRECTIONS},
        "mitigation": {"direction": DIRECTIONS},
        "answer": {"polarity": ("yes", "no")},
        "claim_type": {"type": config.CLAIM_TYPES},
    }
    return _load_cue_file(Path(path), CUE_CATEGORIES, required)


@functools.lru_cache(maxsize=1)
def lemma_table() -> dict[str, str]:
    """English lookup lemmas from spacy-lookups-data (word -> lemma), loaded once."""
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


@functools.lru_cache(maxsize=1)
def inflections() -> dict[str, frozenset[str]]:
    """lemma -> the word forms that have it, so a rule written as 'reduce' finds 'reduces'."""
    out: dict[str, set[str]] = {}
    for word, lemma in lemma_table().items():
        out.setdefault(lemma.lower(), set()).add(word.lower())
    return {k: frozenset(v) for k, v in out.items()}


@functools.lru_cache(maxsize=None)
def phrase_forms(phrase: str, limit: int = 256) -> tuple[str, ...]:
    """Every inflected form of a phrase written with lemmas, for "match": "lemma" rules, so a
    plain case-insensitive phrase matcher finds them ("side effect" -> "side effects", ...).

    >>> {"reduce pores", "reduced pore", "reducing pores"} <= set(phrase_forms("reduce pore"))
    True
    """
    forms: list[str] = [""]
    table = inflections()
    for word in phrase.lower().split():
        variants = sorted(table.get(lemma(word), frozenset()) | {word, lemma(word)})
        forms = [f"{f} {v}".strip() for f in forms for v in variants][:limit]
    return tuple(dict.fromkeys(forms))


_WORD_TOKENS: dict[tuple[int, str], list[str]] = {}


def phrase_patterns(nlp, rule_phrases: tuple[str, ...], match: str) -> list:
    """Pattern docs for a phrase matcher on LOWER: the phrases, or all their forms for "lemma".

    The tokenizer splits on spaces before anything else, so a phrase's tokens are its words'
    tokens: each distinct word is tokenized once and the thousands of inflected forms are built
    from them (a third of the start-up time of `check` otherwise)."""
    from spacy.tokens import Doc

    texts = [f for p in rule_phrases for f in phrase_forms(p)] if match == "lemma" else list(rule_phrases)
    key = id(nlp.tokenizer)
    docs = []
    for text in dict.fromkeys(texts):
        words: list[str] = []
        for word in text.split():
            tokens = _WORD_TOKENS.get((key, word))
            if tokens is None:
                tokens = _WORD_TOKENS[(key, word)] = [t.text for t in nlp.make_doc(word)]
            words.extend(tokens)
        docs.append(Doc(nlp.vocab, words=words))
    return docs


def lemma(word: str) -> str:
    """The lookup lemma of a word, lower case ('Reduces' -> 'reduce')."""
    w = word.lower()
    return lemma_table().get(w, w).lower()


ASPECT_CATEGORIES = {
    "aspect": "declares an aspect: label, kind, allowed values, qualifier and blocking",
    "value": "a phrase that asserts a value of an aspect; optional negated_value when negated",
    "conflict": "two values of one aspect that exclude each other",
    "qualifier": "a group or outcome named near a candidacy/ranking cue",
    "pseudo_negation": "contains a negation word but negates no aspect value ('not without')",
    "cancel": "cancels an overlapping value cue of its aspect ('one of the best')",
    "subtype": "a named sub-type of a treatment ('glycolic' peel); needs treatment and subtype",
}
ASPECT_KINDS = ("safety", "efficacy", "other")
ASPECT_QUALIFIERS = ("none", "words", "group")
ASPECT_BLOCKS = ("treatment", "qualifier")


def _check_aspect_decl(where: str, obj: dict) -> None:
    for key, allowed in (("kind", ASPECT_KINDS), ("qualifier", ASPECT_QUALIFIERS), ("block", ASPECT_BLOCKS)):
        if obj.get(key) not in allowed:
            raise RuleError(f"{where}: an aspect needs {key!r} in {list(allowed)} (got {obj.get(key)!r})")
    _string_list(where, obj, "values")


def _check_aspect_refs(out: list[Rule]) -> None:
    """Cross-checks: every rule names a declared aspect and only its declared values."""
    decl = {r.get("aspect"): r for r in out if r.category == "aspect"}
    for r in out:
        if r.category in ("aspect", "pseudo_negation", "subtype"):
            continue
        aspect = r.get("aspect")
        if aspect not in decl:
            raise RuleError(f"{r.where}: aspect {aspect!r} is not declared (declare it with a category 'aspect' line)")
        allowed = set(decl[aspect].get("values"))
        used = {"value": [r.get("value"), r.get("negated_value")], "conflict": r.get("values") or []}
        for v in used.get(r.category, []):
            if v is not None and v not in allowed:
                raise RuleError(f"{r.where}: value {v!r} is not one of aspect {aspect!r}'s values {sorted(allowed)}")
        if r.category == "qualifier" and decl[aspect].get("qualifier") != "group":
            raise RuleError(f"{r.where}: aspect {aspect!r} takes no qualifier groups (its qualifier is "
                            f"{decl[aspect].get('qualifier')!r})")


@functools.lru_cache(maxsize=8)
def load_aspects(path: Path = config.ASPECTS_FILE) -> tuple[Rule, ...]:
    """Aspect declarations, value cues, conflicts, qualifiers and blockers (same line format as cues)."""
    path = Path(path)
    seen: set[str] = set()
    out = []
    for where, obj in _parse_lines(path):
        rid = _check_id(where, obj, seen)
        cat = obj.get("category")
        if cat not in ASPECT_CATEGORIES:
            raise RuleError(f"{where}: unknown category {cat!r} (allowed: {', '.join(sorted(ASPECT_CATEGORIES))})")
        if cat == "subtype" and not all(isinstance(obj.get(k), str) and obj[k] for k in ("treatment", "subtype")):
            raise RuleError(f"{where}: a subtype rule needs 'treatment' and 'subtype'")
        if cat not in ("pseudo_negation", "subtype") and (not isinstance(obj.get("aspect"), str) or not obj["aspect"]):
            raise RuleError(f"{where}: 'aspect' must be a non-empty string")
        attrs = {k: v for k, v in obj.items() if k not in {"id", "category", "phrases", "pattern", "match"}}
        if cat in ("aspect", "conflict"):
            if cat == "aspect":
                _check_aspect_decl(where, obj)
            else:
                values = obj.get("values")
                if not (isinstance(values, list) and len(values) == 2 and all(isinstance(v, str) for v in values)):
                    raise RuleError(f"{where}: a conflict needs 'values': [value_a, value_b]")
            out.append(Rule(rid, cat, (), (), "lower", attrs, where))
            continue
        if cat == "value" and not isinstance(obj.get("value"), str):
            raise RuleError(f"{where}: a value rule needs 'value'")
        if cat == "qualifier" and not (isinstance(obj.get("qualifier"), str) and _ID.match(obj["qualifier"])):
            raise RuleError(f"{where}: a qualifier rule needs 'qualifier' (a lower-case slug)")
        match, phrases, pattern = _phrases_or_pattern(where, obj)
        out.append(Rule(rid, cat, phrases, pattern, match, attrs, where))
    _check_aspect_refs(out)
    return tuple(out)
