"""Flag: claims in, compliance findings out (risky marketing language, rule by rule).

Rules are data (pipeline/rules/compliance.jsonl, one rule a line: id, family, severity,
phrases and/or token patterns, message, reason, reference), validated on load with file:line
errors. They fire on claims, not on raw strings: each claim is parsed again with the audit's
spaCy pipeline, so the same negation cues as ``extract`` are found, and a match does not fire
when (unless the rule says ``"unless_negated": false``)

- it sits inside the scope of a negation cue that is not part of the match itself
  ("Microneedling is not painless"; whereas "no side effects" is the claim and fires);
- it sits inside quotation marks ('the word "painless"');
- a denial or report cue governs it ("it is not true that ...", "avoid clinics that promise
  ...", "... is a myth"), from pipeline/rules/compliance_context.jsonl.

``findings`` gives one row per (claim, rule) with the match's offsets in the source text;
``add_flags`` adds the ``flags`` and ``risk`` columns to the claims table; ``flags_table`` is
the flags.csv view. All three are pure.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import config, rules
from .extract import context_scope, parse_claims
from .tag import text_key

_SEVERITY_RANK = {s: i for i, s in enumerate(config.SEVERITIES)}
_CONTEXT_CATEGORIES = {
    "denial": "the claim says the matched wording is false ('it is not true that', 'myth')",
    "report": "the claim reports or warns about someone's wording ('avoid clinics that promise')",
}
_RULE_KEYS = {"id", "family", "severity", "phrases", "patterns", "match", "message", "reason",
              "reference", "treatments", "unless_negated", "requires_family", "note"}


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
    where: str = ""


def _text_field(where: str, obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise rules.RuleError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _one_of(where: str, obj: dict, key: str, allowed) -> str:
    value = obj.get(key)
    if value not in allowed:
        raise rules.RuleError(f"{where}: {key!r} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _compliance_rule(where: str, obj: dict, seen: set[str], treatment_ids: set[str]) -> ComplianceRule:
    """Validate one line of compliance.jsonl into a rule; RuleError names file:line."""
    unknown = set(obj) - _RULE_KEYS
    if unknown:
        raise rules.RuleError(f"{where}: unknown keys {sorted(unknown)}")
    rid = rules._check_id(where, obj, seen)
    family = _one_of(where, obj, "family", config.COMPLIANCE_FAMILIES)
    if not rid.startswith(family + "."):
        raise rules.RuleError(f"{where}: id {rid!r} must start with its family '{family}.'")
    phrases = rules._string_list(where, obj, "phrases", required=False)
    raw_patterns = obj.get("patterns", [])
    if not isinstance(raw_patterns, list):
        raise rules.RuleError(f"{where}: 'patterns' must be a list of token patterns")
    patterns = tuple(rules._validate_pattern(where, p) for p in raw_patterns)
    if not phrases and not patterns:
        raise rules.RuleError(f"{where}: give 'phrases' and/or 'patterns'")
    treatments = rules._string_list(where, obj, "treatments", required=False)
    bad = sorted(set(treatments) - treatment_ids)
    if bad:
        raise rules.RuleError(f"{where}: unknown treatments {bad} (see {config.TREATMENTS_FILE.name})")
    requires = rules._string_list(where, obj, "requires_family", required=False)
    bad = sorted(set(requires) - set(config.COMPLIANCE_FAMILIES))
    if bad:
        raise rules.RuleError(f"{where}: unknown families in 'requires_family': {bad}")
    unless_negated = obj.get("unless_negated", True)
    if not isinstance(unless_negated, bool):
        raise rules.RuleError(f"{where}: 'unless_negated' must be true or false")
    return ComplianceRule(
        id=rid, family=family, severity=_one_of(where, obj, "severity", config.SEVERITIES),
        message=_text_field(where, obj, "message"), reason=_text_field(where, obj, "reason"),
        reference=_text_field(where, obj, "reference"), phrases=phrases, patterns=patterns,
        match=_one_of(where, {"match": obj.get("match", "lower")}, "match", ("lower", "lemma")),
        treatments=treatments, unless_negated=unless_negated, requires_family=requires,
        where=where)


@functools.lru_cache(maxsize=8)
def load_compliance(path: Path = config.COMPLIANCE_FILE) -> tuple[ComplianceRule, ...]:
    """The compliance rules, validated (file:line errors); at least one rule."""
    path = Path(path)
    treatment_ids = {t.id for t in rules.load_treatments()}
    seen: set[str] = set()
    out = tuple(_compliance_rule(where, obj, seen, treatment_ids)
                for where, obj in rules._parse_lines(path))
    if not out:
        raise rules.RuleError(f"{path}: no compliance rules defined")
    return out


@functools.lru_cache(maxsize=8)
def load_context(path: Path = config.COMPLIANCE_CONTEXT_FILE) -> tuple[rules.Rule, ...]:
    """Denial and report cues that turn a rule match into a mention (same format as cues)."""
    required = {c: {"direction": ("forward", "bidirectional")} for c in _CONTEXT_CATEGORIES}
    return rules._load_cue_file(Path(path), _CONTEXT_CATEGORIES, required)


class ComplianceMatcher:
    """Token-level matchers for the compliance rules and context cues, built once per nlp."""

    def __init__(self, nlp, rule_set: tuple[ComplianceRule, ...], context: tuple[rules.Rule, ...]):
        from spacy.matcher import PhraseMatcher

        from .nlp import GatedMatcher

        self.rules = {r.id: r for r in rule_set}
        self.context = {c.id: c for c in context}
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.matcher = GatedMatcher(nlp.vocab)
        for key, match, phrases, patterns in (
                [("R:" + r.id, r.match, r.phrases, r.patterns) for r in rule_set]
                + [("X:" + c.id, c.match, c.phrases, (c.pattern,) if c.pattern else ()) for c in context]):
            if phrases:
                self.lower.add(key, rules.phrase_patterns(nlp, phrases, match))
            if patterns:
                self.matcher.add(key, list(patterns))

    def __call__(self, doc) -> tuple[list, list]:
        """(rule matches, context matches) as [(start_token, end_token, id)], sorted."""
        found_r, found_x = set(), set()
        strings = doc.vocab.strings
        for m in (self.lower, self.matcher):
            for key, s, e in m(doc):
                name = strings[key]
                (found_r if name[0] == "R" else found_x).add((s, e, name[2:]))
        return sorted(found_r), sorted(found_x)


@functools.lru_cache(maxsize=4)
def build_matcher(nlp, rules_path: str = str(config.COMPLIANCE_FILE),
                  context_path: str = str(config.COMPLIANCE_CONTEXT_FILE)) -> ComplianceMatcher:
    """The compliance matcher for one nlp object and one pair of rule files."""
    return ComplianceMatcher(nlp, load_compliance(Path(rules_path)), load_context(Path(context_path)))


def negation_scopes(doc, cue_by_id: dict) -> list[tuple[int, int, frozenset]]:
    """ConText negation scopes as [(cue_start, cue_end, scope tokens)], as extract computes them:
    forward/backward windows of NEGATION_WINDOW tokens that stop at a terminator; cues inside a
    pseudo-negation ("not only") do not count."""
    cues = [(s, e, cue_by_id[rid]) for s, e, rid in doc._.cues if rid in cue_by_id]
    pseudo = [(s, e) for s, e, r in cues if r.category == "pseudo_negation"]
    terms = sorted(s for s, e, r in cues if r.category in ("terminator", "clause_break"))
    out = []
    for cs, ce, r in cues:
        if r.category != "negation" or any(ps <= cs and ce <= pe for ps, pe in pseudo):
            continue
        out.append((cs, ce, frozenset(context_scope(cs, ce, r.get("direction"), 0, len(doc), terms))))
    return out


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Character spans between pairs of double quotes (text already normalised to '"').

    >>> quoted_spans('the word "painless" is banned')
    [(9, 19)]
    """
    marks = [m.start() for m in re.finditer('"', text)]
    return [(a, b + 1) for a, b in zip(marks[::2], marks[1::2])]


def suppressed_by(doc, s: int, e: int, scopes, context_hits, context_rules, quotes) -> str:
    """Why a rule match over tokens [s, e) is a mention rather than a claim ('' if it is a claim)."""
    for cs, ce, scope in scopes:
        outside = ce <= s or cs >= e
        if outside and any(i in scope for i in range(s, e)):
            return "negated"
    a, b = doc[s].idx, doc[e - 1].idx + len(doc[e - 1].text)
    if any(qa <= a and b <= qb for qa, qb in quotes):
        return "quoted"
    for xs, xe, xid in context_hits:
        if context_rules[xid].get("direction") == "bidirectional" or xe <= s:
            return context_rules[xid].category
    return ""


FINDING_COLUMNS = ["claim_id", "source_id", "rule_id", "family", "severity", "message", "reason",
                   "reference", "start", "end", "match", "text", "treatment", "assertions",
                   "fingerprint"]


def fingerprint(text: str, rule_id: str) -> str:
    """Stable id of one finding: normalised claim text + rule id (not file or offsets), so an
    ignore survives moving the sentence or pasting it into another draft."""
    return hashlib.sha1(f"{text_key(text)}\x1f{rule_id}".encode()).hexdigest()[:16]


def _claim_matches(doc, claim, matcher: ComplianceMatcher, cue_by_id: dict) -> list[tuple]:
    """[(rule, start_token, end_token)] of the rules that fire on one parsed claim, the longest
    match of each rule (requires_family is applied by the caller, which sees the whole sentence)."""
    rule_hits, context_hits = matcher(doc)
    # A negation cue that is part of some rule's wording ("no side effects", "pain-free") is
    # that claim's own negation; it does not turn the claim's other risky phrases into denials.
    scopes = [(cs, ce, scope) for cs, ce, scope in negation_scopes(doc, cue_by_id)
              if not any(s <= cs and ce <= e for s, e, _ in rule_hits)]
    quotes = quoted_spans(doc.text)
    fired: dict[str, tuple] = {}
    for s, e, rid in rule_hits:
        r = matcher.rules[rid]
        if r.treatments and claim.treatment not in r.treatments:
            continue
        if r.unless_negated and suppressed_by(doc, s, e, scopes, context_hits, matcher.context, quotes):
            continue
        if rid not in fired or e - s > fired[rid][2] - fired[rid][1]:
            fired[rid] = (r, s, e)      # the longest wording of each rule is the one shown
    return sorted(fired.values(), key=lambda h: (h[1], h[0].id))


def _same_sentence(visible: str, prev, claim) -> bool:
    """True when two claims of one source are clauses of one sentence (no sentence end between)."""
    return (prev is not None and prev.source_id == claim.source_id
            and not re.search(r"[.!?]", visible[max(prev.end - 1, 0):claim.start]))


def _with_requirements(hits: list, neighbour_families: set[str]) -> list:
    """Drop rules whose requires_family did not fire on the claim or its sentence."""
    families = {r.family for r, _, _ in hits} | neighbour_families
    return [(r, s, e) for r, s, e in hits if not r.requires_family or families & set(r.requires_family)]


def findings(claims: pd.DataFrame, docs: pd.DataFrame, nlp, matcher: ComplianceMatcher | None = None,
             parsed: list | None = None) -> pd.DataFrame:
    """One row per (claim, fired rule): rule metadata, the match's source offsets and text.
    ``parsed``: ``extract.parse_claims(claims, docs, nlp)`` when the caller has it already."""
    matcher = matcher or build_matcher(nlp)
    cue_by_id = {r.id: r for r in nlp.get_pipe("claim_matcher").cues}
    visible = dict(zip(docs["source_id"], docs["visible"])) if len(docs) else {}
    parsed = parsed if parsed is not None else parse_claims(claims, docs, nlp)
    rows = []
    prev, prev_families = None, set()
    for c, (doc, to_source) in zip(claims.itertuples(index=False), parsed):
        hits = _claim_matches(doc, c, matcher, cue_by_id)
        near = prev_families if _same_sentence(visible[c.source_id], prev, c) else set()
        hits = _with_requirements(hits, near)
        prev, prev_families = c, {r.family for r, _, _ in hits}
        for r, s, e in hits:
            a = doc[s].idx
            b = doc[e - 1].idx + len(doc[e - 1].text)
            rows.append({
                "claim_id": c.claim_id, "source_id": c.source_id, "rule_id": r.id,
                "family": r.family, "severity": r.severity, "message": r.message,
                "reason": r.reason, "reference": r.reference,
                "start": to_source(a), "end": to_source(b - 1) + 1,
                "match": doc.text[a:b], "text": c.text, "treatment": c.treatment,
                "assertions": c.assertions, "fingerprint": fingerprint(c.text, r.id),
            })
    out = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return out.sort_values(["source_id", "start", "rule_id"], kind="stable").reset_index(drop=True)


def risk_of(severities) -> str:
    """The claim's risk: its most severe finding, or 'none'."""
    ranked = sorted(severities, key=_SEVERITY_RANK.__getitem__)
    return ranked[0] if ranked else "none"


def add_flags(claims: pd.DataFrame, docs: pd.DataFrame, nlp, parsed: list | None = None) -> pd.DataFrame:
    """The claims table with ``flags`` (';'-joined rule ids, in rule-file order) and ``risk``."""
    found = (findings(claims, docs, nlp, parsed=parsed) if len(claims)
             else pd.DataFrame(columns=FINDING_COLUMNS))
    order = {r.id: i for i, r in enumerate(load_compliance())}
    by_claim: dict[str, list] = {}
    for f in found.itertuples(index=False):
        by_claim.setdefault(f.claim_id, []).append((order.get(f.rule_id, len(order)), f.rule_id, f.severity))
    out = claims.copy()
    hits = [sorted(by_claim.get(cid, [])) for cid in out["claim_id"]]
    out["flags"] = [";".join(h[1] for h in hit) for hit in hits]
    out["risk"] = [risk_of([h[2] for h in hit]) for hit in hits]
    return out


def flags_table(claims: pd.DataFrame, rule_set: tuple[ComplianceRule, ...] | None = None) -> pd.DataFrame:
    """flags.csv: one row per (claim, rule id in its flags column) with the rule's message."""
    by_id = {r.id: r for r in (rule_set or load_compliance())}
    rows = []
    for c in claims.itertuples(index=False):
        for rid in filter(None, str(c.flags).split(";")):
            r = by_id[rid]
            rows.append({"claim_id": c.claim_id, "rule_id": rid, "family": r.family,
                         "severity": r.severity, "message": r.message, "text": c.text})
    return pd.DataFrame(rows, columns=config.FLAG_COLUMNS)
