"""The rule set: every vocabulary of one rules folder, loaded and validated once.

A compliance reviewer edits the JSONL files of ``pipeline/rules/`` (or of a copy given with
``--rules DIR``), not code. ``RuleSet.load(folder)`` reads all of them, checks every line
(unknown keys, categories, values, cross-references between files) and raises RuleError naming
the file, the line and the problem, e.g.::

    pipeline/rules/cues.jsonl:12: unknown category 'hedging' (allowed: anaphor, ...)

The RuleSet is the only source of rules for every stage: the spaCy components are built from
it, and contradiction, evidence and flag stages read their vocabularies from the same object.

Files (one rule a line, ``#`` comments allowed):

- ``treatments.jsonl``: treatment ids with their names;
- ``cues.jsonl``: negation, hedge, condition, claim-type ... cues (categories below);
- ``aspects.jsonl``: aspects, their values, conflicts, qualifiers (see ``nlp.aspects``);
- ``compliance.jsonl``: compliance rules (family, severity, wording, message, reference);
- ``compliance_context.jsonl``: denial and report cues that turn a rule match into a mention;
- ``lexicons.jsonl``: named word lists (harms, outcomes, durations ...) that any rule may use:
  ``"@harms"`` in a phrases list or in a token pattern's ``IN`` list stands for every word of
  the lexicon ``harms`` (all inflections when the lexicon says ``"match": "lemma"``).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..io import read_cache, read_jsonl, write_cache
from .lemmas import lemma, phrase_forms


class RuleError(ValueError):
    """A rule file entry that is malformed; the message names file and line."""


CUE_CATEGORIES = {
    "negation": "asserts absence or denial; needs direction",
    "pseudo_negation": "looks like a negation, hedge, condition or claim word but is not one ('not only', "
                       "'as if', 'the best results'): cues inside it do not count; optional blocks: the "
                       "categories it cancels (default: all)",
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
_MATCH_KEYS = {"id", "category", "phrases", "pattern", "match", "position", "note"}
_SCOPE_KEYS = {"direction", "window", "list", "stops_at"}
_CUE_EXTRA = {
    "negation": _SCOPE_KEYS, "hedge": _SCOPE_KEYS, "conditional": _SCOPE_KEYS,
    "mitigation": _SCOPE_KEYS, "claim_type": {"type", "strong", "weak", "dominant", "unmitigated"},
    "anaphor": {"pronoun"}, "imperative": {"negative"}, "intro": {"demote", "concessive"},
    "answer": {"polarity"}, "pseudo_negation": {"blocks"},
}
_BOOL_FLAGS = ("strong", "weak", "dominant", "pronoun", "negative", "demote", "concessive",
               "unmitigated", "absolute", "negation_inside", "nearest", "list",
               "mitigable", "requires_quantity")
QUANTITIES = ("duration",)


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

    def __post_init__(self) -> None:
        # ``rule.get(key, default)`` is the attrs dict's own get: the components ask rules for
        # their attributes about a million times per 500 articles, and a Python method frame
        # per call was a tenth of the rule components' time
        object.__setattr__(self, "get", self.attrs.get)

    def get(self, key: str, default=None):   # replaced per instance by attrs.get (above)
        return self.attrs.get(key, default)

    def __deepcopy__(self, memo) -> "Rule":
        """A copy whose ``get`` reads its own attrs (copy would keep the original's bound get)."""
        import copy

        return dataclasses.replace(self, attrs=copy.deepcopy(self.attrs, memo))


@dataclass(frozen=True)
class Treatment:
    """A treatment id (or a family of treatments) with its label and the names that refer to it."""

    id: str
    label: str
    names: tuple[str, ...]
    family: str = ""               # the family id; a family's own line has its own id here
    is_family: bool = False


@dataclass(frozen=True)
class ComplianceRule:
    """One validated compliance rule."""

    id: str
    family: str
    severity: str
    message: str
    reason: str
    reference: str
    phrases: tuple[str, ...] = ()
    patterns: tuple = ()
    match: str = "lower"
    treatments: tuple[str, ...] = ()
    unless_negated: bool = True
    requires_family: tuple[str, ...] = ()
    when: dict | None = field(default=None, hash=False, compare=False)   # an assertion that fires it
    claim_types: tuple[str, ...] = ()       # fires only on claims of these types
    certainty: tuple[str, ...] = ()         # fires only on claims of this certainty
    regulatory: str = ""                    # "status": unless the treatment's status is approved;
                                            # "uses": when the outcome is not an authorised use
    where: str = ""


# --- line-level validation -------------------------------------------------------------------

def _parse_lines(path: Path) -> list[tuple[str, dict]]:
    out = []
    try:
        lines = read_jsonl(path)
    except FileNotFoundError:
        raise RuleError(f"{path}: rule file not found") from None
    for n, line in lines:
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RuleError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise RuleError(f"{where}: each line must be a JSON object")
        out.append((where, obj))
    return out


def _check_keys(where: str, obj: dict, allowed: set[str]) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise RuleError(f"{where}: unknown keys {unknown} (allowed: {', '.join(sorted(allowed))})")


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
    seen: set[str] = set()
    for v in value:
        if v.strip().lower() in seen:
            raise RuleError(f"{where}: {key!r} lists {v.strip()!r} twice")
        seen.add(v.strip().lower())
    return tuple(v.strip() for v in value)


def _check_flags(where: str, obj: dict) -> None:
    for flag in _BOOL_FLAGS:
        if not isinstance(obj.get(flag, False), bool):
            raise RuleError(f"{where}: {flag!r} must be true or false (got {obj[flag]!r})")


_LEXICONS: dict[str, tuple[str, ...]] = {}   # set by RuleSet loading, read by the expanders


def _expand_words(where: str, values) -> list:
    """A list of words with "@name" lexicon references replaced by the lexicon's words."""
    out = []
    for v in values:
        if isinstance(v, str) and v.startswith("@"):
            if v[1:] not in _LEXICONS:
                raise RuleError(f"{where}: unknown lexicon {v!r} (declare it in lexicons.jsonl)")
            out.extend(_LEXICONS[v[1:]])
        else:
            out.append(v)
    return list(dict.fromkeys(out))


def _expand_pattern(where: str, pattern: list) -> list:
    """A token pattern with lexicon references expanded ({"LOWER": {"IN": "@harms"}})."""
    out = []
    for token in pattern:
        t = {}
        for attr, value in token.items():
            if isinstance(value, dict):
                value = {k: (_expand_words(where, [v] if isinstance(v, str) else v)
                             if k in ("IN", "NOT_IN") else v) for k, v in value.items()}
            t[attr] = value
        out.append(t)
    return out


def _validate_pattern(where: str, pattern) -> tuple:
    if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
        raise RuleError(f"{where}: 'pattern' must be a non-empty list of token objects (spaCy Matcher)")
    pattern = _expand_pattern(where, pattern)
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
    phrases = tuple(_expand_words(where, _string_list(where, obj, "phrases", required=False)))
    pattern = _validate_pattern(where, obj["pattern"]) if "pattern" in obj else ()
    if bool(phrases) == bool(pattern):
        raise RuleError(f"{where}: give exactly one of 'phrases' or 'pattern'")
    return match, phrases, pattern


def _attrs(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in {"id", "category", "phrases", "pattern", "match"}}


# --- the files ---------------------------------------------------------------------------------

def load_treatments(path: Path) -> tuple[Treatment, ...]:
    """Treatments and families with their names; a name may belong to one of them only; every
    treatment's family is declared (a family line) or is the treatment itself."""
    path = Path(path)
    seen: set[str] = set()
    owner: dict[str, str] = {}
    out, wheres = [], {}
    for where, obj in _parse_lines(path):
        _check_keys(where, obj, {"id", "label", "names", "note", "family", "kind"})
        tid = _check_id(where, obj, seen)
        if not re.match(r"^[a-z][a-z0-9_]*$", tid):
            raise RuleError(f"{where}: treatment id must be lower case with underscores (got {tid!r})")
        kind = obj.get("kind", "treatment")
        if kind not in ("treatment", "family"):
            raise RuleError(f"{where}: 'kind' must be 'treatment' or 'family' (got {kind!r})")
        names = _string_list(where, obj, "names", required=kind == "treatment")
        for name in names:
            key = name.lower()
            if key in owner and owner[key] != tid:
                raise RuleError(f"{where}: name {name!r} already belongs to treatment {owner[key]!r}")
            owner[key] = tid
        family = tid if kind == "family" else obj.get("family", tid)
        if not isinstance(family, str) or not family:
            raise RuleError(f"{where}: 'family' must be a family id (got {family!r})")
        out.append(Treatment(tid, str(obj.get("label") or tid), names, family, kind == "family"))
        wheres[tid] = where
    families = {t.id for t in out if t.is_family or t.family == t.id}
    for t in out:
        if not t.is_family and t.family not in families | {t.id}:
            raise RuleError(f"{wheres[t.id]}: family {t.family!r} is not declared (add a line "
                            f'{{"id": "{t.family}", "kind": "family", ...}})')
    if not any(not t.is_family for t in out):
        raise RuleError(f"{path}: no treatments defined")
    return tuple(out)


def _load_cue_file(path: Path, allowed: dict[str, str], required_by_category: dict[str, dict],
                   extra_keys: dict[str, set]) -> tuple[Rule, ...]:
    seen: set[str] = set()
    rules = []
    for where, obj in _parse_lines(Path(path)):
        rid = _check_id(where, obj, seen)
        cat = obj.get("category")
        if cat not in allowed:
            raise RuleError(f"{where}: unknown category {cat!r} (allowed: {', '.join(sorted(allowed))})")
        _check_keys(where, obj, _MATCH_KEYS | extra_keys.get(cat, set()))
        for key, values in required_by_category.get(cat, {}).items():
            if obj.get(key) not in values:
                raise RuleError(f"{where}: category {cat!r} needs {key!r} in {list(values)} (got {obj.get(key)!r})")
        match, phrases, pattern = _phrases_or_pattern(where, obj)
        if obj.get("position", "start") != "start":
            raise RuleError(f"{where}: 'position' can only be 'start' (got {obj['position']!r})")
        _check_flags(where, obj)
        blocks = obj.get("blocks", [])
        if not (isinstance(blocks, list) and set(blocks) <= set(allowed)):
            raise RuleError(f"{where}: 'blocks' must list cue categories (got {blocks!r})")
        if "window" in obj and not (isinstance(obj["window"], int) and 0 < obj["window"] <= 40):
            raise RuleError(f"{where}: 'window' must be a number of tokens from 1 to 40 (got {obj['window']!r})")
        if "stops_at" in obj:
            obj["stops_at"] = [w.lower() for w in _string_list(where, obj, "stops_at")]
        rules.append(Rule(rid, cat, phrases, pattern, match, _attrs(obj), where))
    return tuple(rules)


def load_cues(path: Path) -> tuple[Rule, ...]:
    """Cue rules for claims: negation, hedges, conditions, claim-type triggers, anaphors ..."""
    required = {
        "negation": {"direction": DIRECTIONS},
        "hedge": {"direction": DIRECTIONS},
        "conditional": {"direction": DIRECTIONS},
        "mitigation": {"direction": DIRECTIONS},
        "answer": {"polarity": ("yes", "no")},
        "claim_type": {"type": config.CLAIM_TYPES},
    }
    return _load_cue_file(Path(path), CUE_CATEGORIES, required, _CUE_EXTRA)


CONTEXT_CATEGORIES = {
    "denial": "the claim says the matched wording is false ('it is not true that', 'myth')",
    "report": "the claim reports or warns about someone's wording ('avoid clinics that promise')",
}


def load_context(path: Path) -> tuple[Rule, ...]:
    """Denial and report cues that turn a compliance rule match into a mention (cue format)."""
    required = {c: {"direction": ("forward", "bidirectional")} for c in CONTEXT_CATEGORIES}
    return _load_cue_file(Path(path), CONTEXT_CATEGORIES, required,
                          {c: {"direction"} for c in CONTEXT_CATEGORIES})


ASPECT_CATEGORIES = {
    "aspect": "declares an aspect: label, kind, allowed values, qualifier and blocking",
    "value": "a phrase that asserts a value of an aspect; optional negated_value when negated",
    "conflict": "two values of one aspect that exclude each other",
    "qualifier": "a group or outcome named near a candidacy/ranking cue",
    "pseudo_negation": "contains a negation word but negates no aspect value ('not without')",
    "cancel": "cancels an overlapping value cue of its aspect ('one of the best')",
    "subtype": "a named sub-type of a treatment ('glycolic' peel); needs treatment and subtype",
}
_ASPECT_KEYS = {
    "aspect": {"id", "category", "aspect", "label", "kind", "values", "qualifier", "block",
               "universal", "nearest", "note", "mitigable", "words_values", "claim_types",
               "claim_type", "benefits"},
    "value": _MATCH_KEYS | {"aspect", "value", "negated_value", "absolute", "negation_inside",
                            "qualifier_suffix", "quantity", "long_value", "short_value",
                            "requires_quantity", "mitigable", "window"},
    "conflict": {"id", "category", "aspect", "values", "note", "scope"},
    "qualifier": _MATCH_KEYS | {"aspect", "qualifier", "covers"},
    "cancel": _MATCH_KEYS | {"aspect", "window", "values"},
    "subtype": _MATCH_KEYS | {"treatment", "subtype"},
    "pseudo_negation": _MATCH_KEYS,
}
ASPECT_KINDS = ("safety", "efficacy", "other")
ASPECT_QUALIFIERS = ("none", "words", "group")
ASPECT_BLOCKS = ("treatment", "qualifier")


def _check_aspect_decl(where: str, obj: dict) -> None:
    for key, allowed in (("kind", ASPECT_KINDS), ("qualifier", ASPECT_QUALIFIERS), ("block", ASPECT_BLOCKS)):
        if obj.get(key) not in allowed:
            raise RuleError(f"{where}: an aspect needs {key!r} in {list(allowed)} (got {obj.get(key)!r})")
    _string_list(where, obj, "values")


def rule_aspects(r: Rule) -> tuple[str, ...]:
    """The aspects a rule serves (a qualifier may serve several: "aspect": ["effect", "ranking"])."""
    a = r.get("aspect")
    return tuple(a) if isinstance(a, list) else (a,)


def _check_aspect_refs(out: list[Rule]) -> None:
    """Cross-checks: every rule names a declared aspect and only its declared values."""
    decl = {r.get("aspect"): r for r in out if r.category == "aspect"}
    for r in out:
        if r.category == "aspect":
            u = r.get("universal", False)
            if not (isinstance(u, bool) or isinstance(u, list) and set(u) <= set(r.get("values"))):
                raise RuleError(f"{r.where}: 'universal' must be true, false or a list of the aspect's values (got {u!r})")
            t = r.get("claim_type")
            if t is not None and not (t in config.CLAIM_TYPES or isinstance(t, dict) and set(t) <= set(r.get("values"))
                                      and set(t.values()) <= set(config.CLAIM_TYPES)):
                raise RuleError(f"{r.where}: 'claim_type' must be a claim type, or map values of the aspect "
                                f"to claim types (got {t!r})")
            ct = r.get("claim_types") or []
            lists = ct.values() if isinstance(ct, dict) else [ct]
            if not all(isinstance(x, list) and set(x) <= set(config.CLAIM_TYPES) for x in lists) or (
                    isinstance(ct, dict) and not set(ct) <= set(r.get("values"))):
                raise RuleError(f"{r.where}: 'claim_types' must list claim types of the guide, or map "
                                f"values of the aspect to such lists (got {ct!r})")
            for key in ("words_values", "benefits"):
                vals = r.get(key) or []
                if not (isinstance(vals, list) and set(vals) <= set(r.get("values"))):
                    raise RuleError(f"{r.where}: {key!r} must be a list of the aspect's values (got {vals!r})")
        if r.category in ("aspect", "pseudo_negation", "subtype"):
            continue
        for aspect in rule_aspects(r):
            if aspect not in decl:
                raise RuleError(f"{r.where}: aspect {aspect!r} is not declared (declare it with a category 'aspect' line)")
            allowed = set(decl[aspect].get("values"))
            used = {"value": [r.get("value"), r.get("negated_value"), r.get("long_value"), r.get("short_value")],
                    "conflict": r.get("values") or [], "cancel": r.get("values") or []}
            for v in used.get(r.category, []):
                if v and v not in allowed:
                    raise RuleError(f"{r.where}: value {v!r} is not one of aspect {aspect!r}'s values {sorted(allowed)}")
            if r.category == "qualifier" and decl[aspect].get("qualifier") != "group":
                raise RuleError(f"{r.where}: aspect {aspect!r} takes no qualifier groups (its qualifier is "
                                f"{decl[aspect].get('qualifier')!r})")
        if r.category == "value" and r.get("quantity") not in (None, *QUANTITIES):
            raise RuleError(f"{r.where}: 'quantity' must be one of {list(QUANTITIES)} (got {r.get('quantity')!r})")
    _check_dead_values(out)


def _check_dead_values(out: list[Rule]) -> None:
    """A value phrase that a cancel of its aspect lists too can never assert (the cancel holds
    it wherever it occurs): a contradiction between two lines a reviewer should settle."""
    values = [r for r in out if r.category == "value"]
    for c in (r for r in out if r.category == "cancel"):
        for v in values:
            if v.get("aspect") != c.get("aspect") or (c.get("values") and v.get("value") not in c.get("values")) \
                    or not (c.match == v.match or c.match == "lemma"):
                continue
            for phrase in v.phrases:
                if phrase in c.phrases:
                    raise RuleError(f"{v.where}: phrase {phrase!r} of {v.id} never asserts: {c.id} "
                                    f"({c.where}) cancels it wherever it occurs; remove it from one of them")


def load_aspects(path: Path) -> tuple[Rule, ...]:
    """Aspect declarations, value cues, conflicts, qualifiers and blockers (cue line format)."""
    path = Path(path)
    seen: set[str] = set()
    out = []
    for where, obj in _parse_lines(path):
        rid = _check_id(where, obj, seen)
        cat = obj.get("category")
        if cat not in ASPECT_CATEGORIES:
            raise RuleError(f"{where}: unknown category {cat!r} (allowed: {', '.join(sorted(ASPECT_CATEGORIES))})")
        _check_keys(where, obj, _ASPECT_KEYS[cat])
        _check_flags(where, obj)
        if cat == "subtype" and not all(isinstance(obj.get(k), str) and obj[k] for k in ("treatment", "subtype")):
            raise RuleError(f"{where}: a subtype rule needs 'treatment' and 'subtype'")
        aspect = obj.get("aspect")
        if cat not in ("pseudo_negation", "subtype") and not (
                isinstance(aspect, str) and aspect
                or cat == "qualifier" and isinstance(aspect, list) and aspect
                and all(isinstance(a, str) and a for a in aspect)):
            raise RuleError(f"{where}: 'aspect' must be a non-empty string"
                            + (" or list of strings" if cat == "qualifier" else ""))
        if cat in ("aspect", "conflict"):
            if cat == "aspect":
                _check_aspect_decl(where, obj)
            else:
                values = obj.get("values")
                if not (isinstance(values, list) and len(values) == 2 and all(isinstance(v, str) for v in values)):
                    raise RuleError(f"{where}: a conflict needs 'values': [value_a, value_b]")
                if obj.get("scope", "any") not in ("any", "within_source"):
                    raise RuleError(f"{where}: a conflict's 'scope' must be 'any' or 'within_source' (got {obj['scope']!r})")
            out.append(Rule(rid, cat, (), (), "lower", _attrs(obj), where))
            continue
        if cat == "value" and not isinstance(obj.get("value"), str):
            raise RuleError(f"{where}: a value rule needs 'value' (\"\" when it asserts only its negated_value)")
        if cat == "qualifier" and not (isinstance(obj.get("qualifier"), str) and _ID.match(obj["qualifier"])):
            raise RuleError(f"{where}: a qualifier rule needs 'qualifier' (a lower-case slug)")
        match, phrases, pattern = _phrases_or_pattern(where, obj)
        out.append(Rule(rid, cat, phrases, pattern, match, _attrs(obj), where))
    _check_aspect_refs(out)
    return tuple(out)


_COMPLIANCE_KEYS = {"id", "family", "severity", "phrases", "patterns", "match", "message", "reason",
                    "reference", "treatments", "unless_negated", "requires_family", "note", "when",
                    "claim_types", "certainty", "regulatory"}


def _text_field(where: str, obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _one_of(where: str, obj: dict, key: str, allowed) -> str:
    value = obj.get(key)
    if value not in allowed:
        raise RuleError(f"{where}: {key!r} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _when(where: str, obj: dict, index: AspectIndex) -> dict | None:
    """A rule's assertion condition: {"aspect", "values", optional "qualifiers"}, checked against
    the aspect vocabulary."""
    when = obj.get("when")
    if when is None:
        return None
    if not isinstance(when, dict) or set(when) - {"aspect", "values", "qualifiers"}:
        raise RuleError(f"{where}: 'when' must be an object with aspect, values and optional qualifiers")
    aspect = when.get("aspect")
    if aspect not in index.decl:
        raise RuleError(f"{where}: 'when' names aspect {aspect!r}, which aspects.jsonl does not declare")
    values = when.get("values")
    allowed = set(index.decl[aspect].get("values"))
    if not (isinstance(values, list) and values and set(values) <= allowed):
        raise RuleError(f"{where}: 'when' needs 'values' among {sorted(allowed)} (got {values!r})")
    quals = when.get("qualifiers", [])
    if not isinstance(quals, list):
        raise RuleError(f"{where}: 'when' qualifiers must be a list")
    return {"aspect": aspect, "values": tuple(values), "qualifiers": tuple(quals)}


def _compliance_rule(where: str, obj: dict, seen: set[str], treatment_ids: set[str],
                     index: AspectIndex | None = None) -> ComplianceRule:
    """Validate one line of compliance.jsonl into a rule; RuleError names file:line."""
    _check_keys(where, obj, _COMPLIANCE_KEYS)
    rid = _check_id(where, obj, seen)
    family = _one_of(where, obj, "family", config.COMPLIANCE_FAMILIES)
    if not rid.startswith(family + "."):
        raise RuleError(f"{where}: id {rid!r} must start with its family '{family}.'")
    phrases = tuple(_expand_words(where, _string_list(where, obj, "phrases", required=False)))
    raw_patterns = obj.get("patterns", [])
    if not isinstance(raw_patterns, list):
        raise RuleError(f"{where}: 'patterns' must be a list of token patterns")
    patterns = tuple(_validate_pattern(where, p) for p in raw_patterns)
    when = _when(where, obj, index) if index is not None else None
    if not phrases and not patterns and not when:
        raise RuleError(f"{where}: give 'phrases', 'patterns' and/or 'when'")
    claim_types = _string_list(where, obj, "claim_types", required=False)
    if set(claim_types) - set(config.CLAIM_TYPES):
        raise RuleError(f"{where}: unknown claim types {sorted(set(claim_types) - set(config.CLAIM_TYPES))}")
    certainty = _string_list(where, obj, "certainty", required=False)
    if set(certainty) - set(config.CERTAINTIES):
        raise RuleError(f"{where}: 'certainty' must list {list(config.CERTAINTIES)}")
    regulatory = obj.get("regulatory", "")
    if regulatory not in ("", "status", "uses"):
        raise RuleError(f"{where}: 'regulatory' must be 'status' or 'uses' (got {regulatory!r})")
    treatments = _string_list(where, obj, "treatments", required=False)
    bad = sorted(set(treatments) - treatment_ids)
    if bad:
        raise RuleError(f"{where}: unknown treatments {bad} (see treatments.jsonl)")
    requires = _string_list(where, obj, "requires_family", required=False)
    bad = sorted(set(requires) - set(config.COMPLIANCE_FAMILIES))
    if bad:
        raise RuleError(f"{where}: unknown families in 'requires_family': {bad}")
    unless_negated = obj.get("unless_negated", True)
    if not isinstance(unless_negated, bool):
        raise RuleError(f"{where}: 'unless_negated' must be true or false")
    return ComplianceRule(
        id=rid, family=family, severity=_one_of(where, obj, "severity", config.SEVERITIES),
        message=_text_field(where, obj, "message"), reason=_text_field(where, obj, "reason"),
        reference=_text_field(where, obj, "reference"), phrases=phrases, patterns=patterns,
        match=_one_of(where, {"match": obj.get("match", "lower")}, "match", ("lower", "lemma")),
        treatments=treatments, unless_negated=unless_negated, requires_family=requires,
        when=when, claim_types=claim_types, certainty=certainty, regulatory=regulatory, where=where)


def load_compliance(path: Path, treatment_ids: set[str], index: AspectIndex | None = None) -> tuple[ComplianceRule, ...]:
    """The compliance rules, validated (file:line errors); at least one rule."""
    path = Path(path)
    seen: set[str] = set()
    out = tuple(_compliance_rule(where, obj, seen, treatment_ids, index) for where, obj in _parse_lines(path))
    if not out:
        raise RuleError(f"{path}: no compliance rules defined")
    return out


# --- the aspect vocabulary, prepared for lookups ------------------------------------------------

def _words(text: str) -> str:
    """Lower-case words joined by single spaces, hyphenated words kept whole."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("-", "")).strip()


def _subtypes(aspects: tuple[Rule, ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    """treatment -> its sub-types' phrases as words ((sub-type, phrase), ...), in rule order."""
    out: dict[str, list] = {}
    for r in aspects:
        if r.category == "subtype":
            out.setdefault(r.get("treatment"), []).extend((r.get("subtype"), _words(p)) for p in r.phrases)
    return {t: tuple(v) for t, v in out.items()}


@dataclass(frozen=True, eq=False)
class AspectIndex:
    """The aspect rules prepared once: declarations, value rules, conflicts, extra rules."""

    decl: dict
    values: dict
    conflicts: dict
    extra: dict
    covers: dict
    subtypes: dict = field(default_factory=dict)      # treatment -> ((sub-type, phrase words), ...)
    within_only: dict = field(default_factory=dict)   # aspect -> value pairs that clash in one source only
    absolutes: frozenset = frozenset()                # (aspect, value) said by absolute wordings only

    @classmethod
    def build(cls, aspects: tuple[Rule, ...]) -> "AspectIndex":
        conflicts: dict[str, set] = {}
        within: dict[str, set] = {}
        for r in aspects:
            if r.category == "conflict":
                conflicts.setdefault(r.get("aspect"), set()).add(frozenset(r.get("values")))
                if r.get("scope") == "within_source":
                    within.setdefault(r.get("aspect"), set()).add(frozenset(r.get("values")))
        return cls(
            decl={r.get("aspect"): r for r in aspects if r.category == "aspect"},
            values={r.id: r for r in aspects if r.category == "value"},
            conflicts=conflicts,
            extra={r.id: r for r in aspects if r.category in ("qualifier", "pseudo_negation", "cancel")},
            covers={r.get("qualifier"): tuple(r.get("covers") or ()) for r in aspects
                    if r.category == "qualifier"},
            subtypes=_subtypes(aspects),
            within_only=within,
            absolutes=frozenset((r.get("aspect"), r.get("value")) for r in aspects
                                if r.category == "value" and r.get("absolute")),
        )

    def label(self, aspect: str) -> str:
        decl = self.decl.get(aspect)
        return decl.get("label") if decl is not None else aspect.replace("_", " ")

    def kind(self, aspect: str) -> str:
        decl = self.decl.get(aspect)
        return decl.get("kind") if decl is not None else "other"

    def by_qualifier(self, aspect: str) -> bool:
        """Whether pairs of this aspect are blocked by qualifier (ranking) instead of treatment."""
        decl = self.decl.get(aspect)
        return decl is not None and decl.get("block") == "qualifier"

    def qualifier_kind(self, aspect: str) -> str:
        decl = self.decl.get(aspect)
        return decl.get("qualifier") if decl is not None else "none"

    def words_values(self, aspect: str) -> tuple[str, ...]:
        """The values of a 'words' aspect that carry the matched words ("named:redness")."""
        decl = self.decl.get(aspect)
        return tuple(decl.get("words_values") or ("named",)) if decl is not None else ()

    def claim_type_of(self, aspect: str, value: str) -> str:
        """The claim type an assertion speaks for (the aspect's claim_type: one type, or a map
        from value to type), '' when the aspect names none."""
        decl = self.decl.get(aspect)
        t = decl.get("claim_type") if decl is not None else None
        if isinstance(t, dict):
            t = t.get(value)
        return t or ""

    def counts_in(self, aspect: str, value: str, claim_type: str) -> bool:
        """Whether an assertion counts in a claim of this type: the aspect's claim_types (a list
        for every value, or value -> list: "improves" only in efficacy-like claims)."""
        decl = self.decl.get(aspect)
        allowed = decl.get("claim_types") if decl is not None else None
        if isinstance(allowed, dict):
            allowed = allowed.get(value)
        return not allowed or not claim_type or claim_type in allowed

    def mitigable(self, aspect: str) -> bool:
        decl = self.decl.get(aspect)
        return bool(decl is not None and decl.get("mitigable"))

    def universal(self) -> dict[str, frozenset | None]:
        """Aspects on which a claim about pores in general meets every treatment, with the
        values that do (None: every value; "oil makes pores look bigger" is no claim about
        treatments, "pore size cannot be changed" is)."""
        out = {}
        for a, d in self.decl.items():
            u = d.get("universal")
            if u:
                out[a] = frozenset(u) if isinstance(u, list) else None
        return out

    def benefit(self, aspect: str, value: str) -> bool:
        """Whether a value promises a benefit (no side effects, permanent, improves ...): such a
        claim stated as fact needs strong evidence (the aspect's "benefits")."""
        decl = self.decl.get(aspect)
        return decl is not None and value in (decl.get("benefits") or ())

    def absolute(self, aspect: str, value: str) -> bool:
        """Whether a value is stated by absolute wordings only ("no side effects", "painless",
        "permanent", "non-invasive"): an unqualified promise."""
        return (aspect, value) in self.absolutes

    def absolute_values(self) -> set[tuple[str, str]]:
        return set(self.absolutes)

    def subtypes_of(self, treatment: str, text: str) -> frozenset:
        """Sub-types of a treatment a text names (whole words, case-insensitive; "non-ablative"
        is one word, so it does not name "ablative")."""
        named = self.subtypes.get(treatment)
        if not named:   # most treatments have no sub-types: no text to read
            return frozenset()
        low = f" {_words(text)} "
        return frozenset(sub for sub, phrase in named if f" {phrase} " in low)

    def groups_meet(self, q1: str, q2: str) -> bool:
        """Two candidacy groups meet: equal, or one covers the other ("all skin types" covers
        "sensitive skin"; "all skin tones" covers "darker skin" only)."""
        def covers(a: str, b: str) -> bool:
            c = self.covers.get(a, ())
            return "*" in c or b in c
        return q1 == q2 or covers(q1, q2) or covers(q2, q1)

    def conflicting(self, aspect: str, v1: str, v2: str) -> bool:
        """Whether two base values of an aspect exclude each other (a conflict rule)."""
        return frozenset((v1, v2)) in self.conflicts.get(aspect, set()) or (
            v1 == v2 and frozenset((v1,)) in self.conflicts.get(aspect, set()))

    def within_source_only(self, aspect: str, v1: str, v2: str) -> bool:
        """Whether two values clash only inside one source (a conflict rule with "scope":
        "within_source": a page that calls a treatment safe and then names a serious harm
        contradicts itself; two pages that do so only differ in tone)."""
        return frozenset((v1, v2)) in self.within_only.get(aspect, set())

    def values_clash(self, aspect: str, v1: str, q1: str, v2: str, q2: str) -> bool:
        """Two asserted (value, qualifier) pairs exclude each other: a conflict rule on the
        values and, for groups, qualifiers that meet (ranking: the same outcome)."""
        if not self.conflicting(aspect, v1, v2):
            return False
        if self.qualifier_kind(aspect) != "group":
            return True
        if self.by_qualifier(aspect):
            return q1 == q2
        return self.groups_meet(q1, q2)


# --- the rule set -------------------------------------------------------------------------------

def load_lexicons(path: Path) -> dict[str, tuple[str, ...]]:
    """Named word lists: {"id", "words", optional "match": "lemma" (all inflections), "note",
    "synonyms": true (the words name one thing: "erythema" is "redness")}."""
    seen: set[str] = set()
    out: dict[str, tuple[str, ...]] = {}
    for where, obj in _parse_lines(Path(path)):
        _check_keys(where, obj, {"id", "words", "match", "note", "synonyms"})
        if not isinstance(obj.get("synonyms", False), bool):
            raise RuleError(f"{where}: 'synonyms' must be true or false")
        lid = _check_id(where, obj, seen)
        match = obj.get("match", "lower")
        if match not in ("lower", "lemma"):
            raise RuleError(f"{where}: 'match' must be 'lower' or 'lemma' (got {match!r})")
        words = [w.lower() for w in _string_list(where, obj, "words")]
        if match == "lemma":
            words = [f for w in words for f in phrase_forms(w)]
        out[lid] = tuple(dict.fromkeys(words))
    return out


def load_synonyms(path: Path) -> dict[str, str]:
    """word -> the first word of its synonym lexicon (lexicons marked "synonyms": true), for
    every inflection of each word ("erythema" -> "redness")."""
    out: dict[str, str] = {}
    for _, obj in _parse_lines(Path(path)):
        if obj.get("synonyms"):
            head = obj["words"][0].lower()
            for w in obj["words"]:
                for f in phrase_forms(w.lower()):
                    out.setdefault(f, head)
    return out


@dataclass(frozen=True)
class Regulation:
    """What a regulator has done with a treatment: its status and its authorised uses."""

    treatment: str
    status: str                     # approved | cleared | exempt | not_reviewed | not_approved
    uses: tuple[str, ...]           # outcomes it is authorised for (qualifier slugs of "effect")
    regulator: str
    reference: str


REGULATORY_STATUSES = ("approved", "cleared", "exempt", "not_reviewed", "not_approved")


def load_regulation(path: Path, treatment_ids: set[str]) -> dict[str, Regulation]:
    """treatment -> Regulation, from regulatory.jsonl (one treatment a line)."""
    seen: set[str] = set()
    out: dict[str, Regulation] = {}
    for where, obj in _parse_lines(Path(path)):
        _check_keys(where, obj, {"id", "treatment", "status", "uses", "regulator", "reference", "note"})
        _check_id(where, obj, seen)
        t = obj.get("treatment")
        if t not in treatment_ids:
            raise RuleError(f"{where}: unknown treatment {t!r}")
        if t in out:
            raise RuleError(f"{where}: treatment {t!r} already has a line")
        status = _one_of(where, obj, "status", REGULATORY_STATUSES)
        uses = obj.get("uses", [])
        if not (isinstance(uses, list) and all(isinstance(u, str) for u in uses)):
            raise RuleError(f"{where}: 'uses' must be a list of outcomes")
        out[t] = Regulation(t, status, tuple(uses), _text_field(where, obj, "regulator"),
                            _text_field(where, obj, "reference"))
    return out


FILES = {
    "lexicons": "lexicons.jsonl",
    "regulatory": "regulatory.jsonl",
    "treatments": "treatments.jsonl",
    "cues": "cues.jsonl",
    "aspects": "aspects.jsonl",
    "compliance": "compliance.jsonl",
    "context": "compliance_context.jsonl",
}


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Every vocabulary of one rules folder, validated; the only source of rules."""

    folder: Path
    treatments: tuple[Treatment, ...]
    cues: tuple[Rule, ...]
    aspect_rules: tuple[Rule, ...]
    compliance: tuple[ComplianceRule, ...]
    context: tuple[Rule, ...]
    regulation: dict = field(default_factory=dict)   # treatment -> Regulation
    synonyms: dict = field(default_factory=dict)     # word -> the head word of its synonym set
    forms: dict = field(default_factory=dict)        # phrase written with lemmas -> its inflected forms
    lemmas: dict = field(default_factory=dict)       # qualifier word -> its lemma (evidence matching)
    aspects: AspectIndex = field(init=False)
    cue_by_id: dict = field(init=False)
    compliance_by_id: dict = field(init=False)
    assertion_rules: tuple = field(init=False)
    context_by_id: dict = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "aspects", AspectIndex.build(self.aspect_rules))
        object.__setattr__(self, "_family", {t.id: t.family for t in self.treatments})
        object.__setattr__(self, "_family_ids", frozenset(t.id for t in self.treatments if t.is_family))
        members: dict[str, list] = {}
        for t in self.treatments:
            if not t.is_family:
                members.setdefault(t.family, []).append(t.id)
        object.__setattr__(self, "_members", {f: tuple(m) for f, m in members.items()})
        object.__setattr__(self, "cue_by_id", {r.id: r for r in self.cues})
        object.__setattr__(self, "compliance_by_id", {r.id: r for r in self.compliance})
        object.__setattr__(self, "assertion_rules", tuple(r for r in self.compliance if r.when))
        object.__setattr__(self, "context_by_id", {r.id: r for r in self.context})

    @classmethod
    def load(cls, folder: Path | str = config.RULES_DIR) -> "RuleSet":
        """Load and validate every rule file of a folder (cached per folder and file times)."""
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise RuleError(f"{folder}: not a folder of rule files")
        stamp = tuple((name, (folder / name).stat().st_mtime_ns if (folder / name).exists() else 0)
                      for name in FILES.values())
        return _load(folder, stamp)

    def forms_of(self, phrase: str) -> tuple[str, ...]:
        """Every inflected form of a phrase written with lemmas ("reduce pore" -> "reduces
        pores", ...): computed when the rule set is loaded, so a cached rule set needs no
        lemma table."""
        found = self.forms.get(phrase)
        return found if found is not None else phrase_forms(phrase)

    def lemma(self, word: str) -> str:
        """The lookup lemma of a word, lower case: the rule set's qualifier words are looked up
        when it is loaded, any other word in the lemma table."""
        w = word.lower()
        found = self.lemmas.get(w)
        return found if found is not None else lemma(w)

    def treatment_ids(self) -> set[str]:
        """Every id a claim can be about: treatments and families."""
        return {t.id for t in self.treatments}

    def family_of(self, treatment: str) -> str:
        """The family of a treatment id (a family's own id for a family; '' for unknown/none)."""
        return self._family.get(treatment, "")

    def is_family(self, treatment: str) -> bool:
        """Whether an id names a whole family ("laser") rather than one treatment. A treatment
        that is its own family ("topical": other creams and serums) is a treatment here."""
        return treatment in self._family_ids

    def members(self, family: str) -> tuple[str, ...]:
        """The treatment ids of a family (for a treatment id: that id alone)."""
        return self._members.get(family, (family,))

    def same_word(self, word: str) -> str:
        """The head word of a word's synonym set (the word itself when it has none)."""
        return self.synonyms.get(word.lower(), word.lower())

    def covers(self, general: str, specific: str) -> bool:
        """Whether a claim or fact about ``general`` speaks about ``specific`` too: the same id,
        or ``general`` is the family of ``specific``."""
        return general == specific or (self.is_family(general) and self.family_of(specific) == general)


@functools.lru_cache(maxsize=8)
def _load(folder: Path, stamp: tuple) -> RuleSet:
    """The rule set of a folder: from the disk cache when the same files were loaded by the
    same code before (``config.CACHE_DIR``), else read, validated and stored there."""
    path = config.CACHE_DIR / f"rules-{_cache_key(folder)}.pickle" if config.CACHE_DIR else None
    cached = read_cache(path) if path else None
    if isinstance(cached, RuleSet):
        return cached
    rules = _read(folder)
    if path:
        write_cache(path, rules)
    return rules


def _cache_key(folder: Path) -> str:
    """What a loaded rule set depends on: the folder and the bytes of its files, the code that
    reads them (this package's nlp modules and config), the lemma table and the Python version.
    Any change is another key, so a stale rule set is never read."""
    h = hashlib.sha256(f"{sys.version}|{folder}".encode())
    code = Path(__file__).parent
    for path in (*sorted(code.glob("*.py")), Path(config.__file__)):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in FILES.values():
        path = folder / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"\0missing"))
    spec = importlib.util.find_spec("spacy_lookups_data")
    table = Path(spec.origin).parent / "data" / "en_lemma_lookup.json.gz" if spec and spec.origin else None
    if table and table.exists():
        st = table.stat()
        h.update(f"{table}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def _inflected(*groups) -> dict[str, tuple[str, ...]]:
    """phrase -> its inflected forms, for every phrase of a rule written with lemmas."""
    return {p: phrase_forms(p) for rules in groups for r in rules if r.match == "lemma" for p in r.phrases}


def _qualifier_lemmas(aspect_rules, forms: dict) -> dict[str, str]:
    """word -> lemma for every word an aspect rule can give as a qualifier: its qualifier slugs
    and the words of its phrases, which "words" qualifiers carry ("named" side effects such as
    redness). Evidence matching compares their lemmas."""
    words = set()
    for r in aspect_rules:
        for key in ("qualifier", "qualifier_suffix"):
            value = r.get(key)
            if isinstance(value, str):
                words.update(value.replace("_", " ").lower().split())
        for p in r.phrases:
            for text in forms.get(p, (p,)):
                words.update(text.lower().split())
    return {w: lemma(w) for w in sorted(words)}


def _read(folder: Path) -> RuleSet:
    """Read and validate every rule file of a folder (RuleError naming file and line)."""
    _LEXICONS.clear()
    _LEXICONS.update(load_lexicons(folder / FILES["lexicons"]))
    treatments = load_treatments(folder / FILES["treatments"])
    ids = {t.id for t in treatments}
    aspects = load_aspects(folder / FILES["aspects"])
    for r in aspects:
        if r.category == "subtype" and r.get("treatment") not in ids:
            raise RuleError(f"{r.where}: unknown treatment {r.get('treatment')!r} (see {FILES['treatments']})")
    index = AspectIndex.build(aspects)
    cues = load_cues(folder / FILES["cues"])
    compliance = load_compliance(folder / FILES["compliance"], ids, index)
    context = load_context(folder / FILES["context"])
    forms = _inflected(cues, aspects, compliance, context)
    return RuleSet(folder=folder, treatments=treatments, cues=cues, aspect_rules=aspects,
                   compliance=compliance, context=context,
                   regulation=load_regulation(folder / FILES["regulatory"], ids),
                   synonyms=load_synonyms(folder / FILES["lexicons"]),
                   forms=forms, lemmas=_qualifier_lemmas(aspects, forms))
