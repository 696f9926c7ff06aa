"""Flag: compliance matches in, findings out (risky marketing language, rule by rule).

The ``compliance_findings`` component has already kept, per unit, the rule wordings that are
claimed rather than mentioned (negation scopes, quotes, denial and report cues). This stage
applies what needs the tagged claim:

- a rule with ``treatments`` fires only on claims about one of them (or a member of a family
  it names);
- a rule with ``requires_family`` fires only when a rule of one of those families fired on the
  same claim or on another clause of the same sentence ("permanent results; results may vary").

``findings`` gives one row per (claim, rule) with the match's source offsets; ``add_flags``
adds the ``flags`` (rule ids, in rule-file order) and ``risk`` columns to the claims table.
Both are pure.
"""
from __future__ import annotations

import hashlib
import re

import pandas as pd

from .. import config, tables
from ..nlp.ruleset import RuleSet
from ..text import text_key

_SEVERITY_RANK = {s: i for i, s in enumerate(config.SEVERITIES)}
FINDING_COLUMNS = tables.FINDINGS


def fingerprint(text: str, rule_id: str) -> str:
    """Stable id of one finding: normalised claim text + rule id (not file or offsets), so an
    ignore survives moving the sentence or pasting it into another draft."""
    return key_fingerprint(text_key(text), rule_id)


def key_fingerprint(key: str, rule_id: str) -> str:
    """``fingerprint`` of a text already normalised (``text_key``)."""
    return hashlib.sha1(f"{key}\x1f{rule_id}".encode()).hexdigest()[:16]


def _same_sentence(visible: str, prev, claim) -> bool:
    """True when two claims of one source are clauses of one sentence (no sentence end between)."""
    return (prev is not None and prev.source_id == claim.source_id
            and not re.search(r"[.!?]", visible[max(prev.end - 1, 0):claim.start]))


def _applies(r, m, c, rules: RuleSet) -> bool:
    """Whether a rule's match holds for this claim: its treatments, claim types and certainty,
    and for regulatory rules what the regulator has done with the claim's treatment."""
    if r.treatments and not any(rules.covers(t, c.treatment) for t in r.treatments):
        return False
    if (r.claim_types and c.claim_type not in r.claim_types) or (r.certainty and c.certainty not in r.certainty):
        return False
    reg = rules.regulation.get(c.treatment)
    if r.regulatory == "status":        # "FDA-approved" said of a treatment that is not approved
        return reg is not None and reg.status != "approved"
    if r.regulatory == "uses":          # an outcome outside the authorised uses
        outcomes = set(m.detail.partition(":")[2].split(",")) - {""}
        return reg is not None and bool(reg.uses) and bool(outcomes - set(reg.uses))
    return True


def findings(claims: pd.DataFrame, matches: pd.DataFrame, visible: dict[str, str],
             rules: RuleSet) -> pd.DataFrame:
    """One row per (claim, fired rule). ``matches``: the component's matches keyed by claim_id
    (rule_id, start, end, match); ``visible``: each source's matching text (sentence ends)."""
    by_claim: dict[str, list] = {}
    for m in tables.records(matches):
        by_claim.setdefault(m.claim_id, []).append(m)
    rows = []
    prev, prev_families = None, set()
    for c in tables.records(claims):
        hits = [(rules.compliance_by_id[m.rule_id], m) for m in by_claim.get(c.claim_id, ())]
        hits = [(r, m) for r, m in hits if _applies(r, m, c, rules)]
        near = prev_families if _same_sentence(visible.get(c.source_id, ""), prev, c) else set()
        families = {r.family for r, _ in hits} | near
        hits = [(r, m) for r, m in hits if not r.requires_family or families & set(r.requires_family)]
        prev, prev_families = c, {r.family for r, _ in hits}
        for r, m in hits:
            rows.append((c.claim_id, c.source_id, r.id, r.family, r.severity, m.start, m.end,
                         m.match, m.detail, fingerprint(c.text, r.id)))
    out = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return out.sort_values(["source_id", "start", "rule_id"], kind="stable").reset_index(drop=True)


def risk_of(severities) -> str:
    """The claim's risk: its most severe finding, or 'none'."""
    ranked = sorted(severities, key=_SEVERITY_RANK.__getitem__)
    return ranked[0] if ranked else "none"


def add_flags(claims: pd.DataFrame, found: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """The claims table with ``flags`` (rule ids, in rule-file order) and ``risk``."""
    order = {r.id: i for i, r in enumerate(rules.compliance)}
    by_claim: dict[str, list] = {}
    for cid, rid, sev in zip(found["claim_id"], found["rule_id"], found["severity"]):
        by_claim.setdefault(cid, []).append((order.get(rid, len(order)), rid, sev))
    out = claims.copy()
    hits = [sorted(by_claim.get(cid, [])) for cid in out["claim_id"]]
    out["flags"] = [tuple(h[1] for h in hit) for hit in hits]
    out["risk"] = [risk_of([h[2] for h in hit]) for hit in hits]
    return out


def flags_view(claims: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """flags.csv: one row per (claim, rule in its flags) with the rule's message and the
    finding's fingerprint (what a reviewer's decision on the flag is keyed by), claims order.
    Only the flagged claims' ids and texts are read, and each text is normalised once."""
    by_id = rules.compliance_by_id
    flags = claims["flags"].tolist()
    flagged = [i for i, f in enumerate(flags) if f]
    rows = []
    for i, cid, text in zip(flagged, claims["claim_id"].take(flagged).tolist(),
                            claims["text"].take(flagged).tolist()):
        key = text_key(text)
        rows.extend((cid, rid, by_id[rid].family, by_id[rid].severity, by_id[rid].message, text,
                     key_fingerprint(key, rid)) for rid in flags[i])
    return pd.DataFrame(rows, columns=tables.FLAGS)
