"""Check marketing copy: drafts in, compliance findings out (text, JSON or SARIF), like a linter.

``python -m pipeline check FILE...`` runs the audit's own stages on each draft (ingest, segment,
extract, tag), so rules fire on claims with their negation scopes, then the compliance rules
(pipeline.flag). Each finding gets its line and column in the file, the rule's message, and what
the audited corpus (the last ``audit``'s claims.csv) and the curated evidence table
(data/raw/evidence.csv, when present) say against the claim: same treatment and aspect,
excluding values (the conflict rules of pipeline.contradict).

Suppression without turning a rule off:

- an allow-list (claims library) of approved wordings, one a line: an approved claim passes
  everywhere (matched on normalised text, pipeline.tag.text_key);
- an ignore file, JSONL, one ignored finding a line: {"fingerprint", "rule_id", "reason", "who",
  "date"}; the fingerprint (pipeline.flag.fingerprint) is printed with every finding. The file is
  read, never rewritten.

- a baseline (``--baseline``): an earlier JSON report whose findings are known, so CI fails on
  new text only.

Suppressed findings stay in JSON and SARIF (SARIF ``suppressions``) but never fail the run.
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error (CheckError): a
missing draft, a bad suppression file, a ``--corpus`` folder that does not exist (the default
folder may be missing: then a note says there was no corpus), an unknown ``--explain`` rule.

The text output reads like a linter's, grouped by claim: the claim once, each finding on it as
``file:line:column: severity rule "match"`` with what to write instead, then what the corpus
and the evidence say against the claim, once. ``explain`` prints one rule with its examples.

Only what checking needs is imported: no great-expectations, papermill or nbconvert.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from . import config, io, tables
from .nlp import RuleSet
from .stages.contradict import about_no_treatment, assertions_of
from .stages.evidence import Evidence, claims_proof, evidence_links, evidence_reason, level_rank, normalise_evidence
from .terminal import shown_tree
from .text import text_key

SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}
TOOL_NAME = "claims-audit-check"
TOOL_VERSION = "1.0.0"
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_CORPUS_COLUMNS = ("claim_id", "source_id", "start", "text", "treatment", "certainty")
_CORPUS_OPTIONAL = ("family_id", "claim_type")   # read when the table has them (assertions_of)


class CheckError(Exception):
    """A usage or input problem (missing or binary file, bad suppression file): exit code 2."""


@dataclass
class Suppressions:
    """Approved wordings (normalised text keys) and ignored findings by fingerprint."""

    approved: set[str] = field(default_factory=set)
    ignored: dict[str, dict] = field(default_factory=dict)
    approved_file: str = ""
    baseline: set[str] = field(default_factory=set)
    baseline_file: str = ""
    ignored_file: str = ""


def load_baseline(path: Path) -> set[str]:
    """Fingerprints of the findings in an earlier JSON report (``--format json``), so CI can fail
    on new findings only; a file that is not such a report is a CheckError."""
    try:
        report = json.loads(io.read_text(path))
        return {f["fingerprint"] for f in report["findings"]}
    except FileNotFoundError:
        raise CheckError(f"{path}: no such file") from None
    except (ValueError, KeyError, TypeError):
        raise CheckError(f"{path}: not a JSON report of `check --format json`") from None


def load_suppressions(allow: Path | None, ignore: Path | None, baseline: Path | None = None) -> Suppressions:
    """Read the allow-list, the ignore file and the baseline report (all optional); bad lines
    raise CheckError naming file:line."""
    out = Suppressions(approved_file=str(allow or ""), ignored_file=str(ignore or ""),
                       baseline=load_baseline(baseline) if baseline else set(),
                       baseline_file=str(baseline or ""))
    for _, line in io.read_lines(allow) if allow else []:
        out.approved.add(text_key(line))
    for n, line in io.read_lines(ignore) if ignore else []:
        where = f"{ignore}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CheckError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not _FINGERPRINT.match(str(obj.get("fingerprint", ""))):
            raise CheckError(f"{where}: needs 'fingerprint' (16 hex digits, as printed by check)")
        if not isinstance(obj.get("reason"), str) or not obj["reason"].strip():
            raise CheckError(f"{where}: needs a non-empty 'reason' (why this finding is accepted)")
        out.ignored[obj["fingerprint"]] = obj
    return out


def read_drafts(names: list[str]) -> pd.DataFrame:
    """The drafts as a raw-files table; a missing, unreadable or folder argument is a CheckError."""
    rows = []
    for i, name in enumerate(names):
        raw = io.read_input(name)
        if raw.problem:
            raise CheckError(f"{name}: {raw.problem}")
        rows.append({"source_id": f"d{i}", "file": raw.path.name, "data": raw.data,
                     "problem": None, "name": "-" if name == "-" else name})
    return pd.DataFrame(rows, columns=["source_id", "file", "data", "problem", "name"])


def analyse_drafts(raw: pd.DataFrame, rules: RuleSet, nlp=None, evidence=None) -> tuple[pd.DataFrame, tables.Tables]:
    """(documents, tables) of the drafts, through the audit's own wiring (``evidence``: the
    normalised evidence table, for each claim's evidence status); bad input -> CheckError."""
    from .analyse import analyse_articles
    from .stages.ingest import ingest

    docs, problems = ingest(raw)
    if len(problems):
        names = dict(zip(raw["file"], raw["name"]))
        p = problems.iloc[0]
        name = names.get(p.file, p.file)
        raise CheckError(f"{'standard input' if name == '-' else name}: {p.problem}")
    return docs, analyse_articles(raw, rules, evidence, nlp=nlp)


def corpus_conflicts(mine: pd.DataFrame, corpus: tuple | None, rules: RuleSet) -> dict[str, list]:
    """claim_id -> corpus claims on the same treatment and aspect whose value excludes the
    claim's, by the same rules as the audit's contradictions (pipeline.stages.contradict).
    ``mine``: what the checked claims assert (``assertions_of``); ``corpus``: (claims,
    assertions) of the last audit."""
    if corpus is None or not len(mine) or not len(corpus[0]):
        return {}
    index = rules.aspects
    blocks: dict[tuple[str, str], list] = {}   # (treatment, aspect) -> the corpus's assertions, in order
    for b in tables.records(assertions_of(*corpus, index)):
        blocks.setdefault((b.treatment, b.aspect), []).append(b)
    out: dict[str, list] = {}
    for a in tables.records(mine):
        for b in blocks.get((a.treatment, a.aspect), ()):
            if index.values_clash(a.aspect, a.base, a.qualifier, b.base, b.qualifier) and \
                    not index.within_source_only(a.aspect, a.base, b.base):   # another page: tone, not a clash
                out.setdefault(a.claim_id, []).append({
                    "source_id": b.source_id, "claim_id": b.claim_id, "text": b.text,
                    "treatment": b.treatment, "aspect": a.aspect, "value": b.value,
                    "claim_value": a.value})
    return {cid: _spread(items) for cid, items in out.items()}


def _spread(items: list[dict]) -> list[dict]:
    """Each corpus claim once, the first claim of every source first (corpus order), so the few
    shown span the corpus."""
    ids: set[str] = set()
    unique = [i for i in items if not (i["claim_id"] in ids or ids.add(i["claim_id"]))]
    seen: set[str] = set()
    first, rest = [], []
    for item in unique:
        (rest if item["source_id"] in seen else first).append(item)
        seen.add(item["source_id"])
    return first + rest


EVIDENCE_FIELDS = ["evidence_id", "treatment", "aspect", "value", "level", "statement", "quote",
                   "source_title", "publisher", "url", "date", "is_mirror"]


def evidence_conflicts(asserted: pd.DataFrame, evidence: Evidence, rules: RuleSet) -> dict[str, list]:
    """claim_id -> evidence rows that contradict the claim, strongest first, by the audit's
    evidence check (pipeline.stages.evidence: the facts' curated treatment, aspect and value).
    ``asserted``: what the claims assert (``assertions_of``, claims without a treatment kept)."""
    if not len(evidence.table) or not len(asserted):
        return {}
    links = evidence_links(asserted, evidence, rules)
    links = links[links["relation"] == "contradicted"]
    links = links.assign(_r=links["level"].map(level_rank))
    links = links.sort_values(["claim_id", "_r", "evidence_id"], kind="stable")
    table = evidence.table[evidence.table["evidence_id"].astype(str).isin(set(links["evidence_id"].astype(str)))]
    rows = {str(e["evidence_id"]): e for e in table.to_dict("records")}   # the facts cited, not all
    out: dict[str, list] = {}
    for link in tables.records(links):
        e = rows[str(link.evidence_id)]
        item = {k: str(e.get(k, "")) for k in EVIDENCE_FIELDS}
        item.update(aspect=link.aspect, value=link.evidence_value, claim_value=link.claim_value,
                    is_mirror=str(e.get("is_mirror", "")).lower() in ("true", "1", "yes"))
        out.setdefault(link.claim_id, []).append(item)
    return out


def read_corpus(corpus_dir: Path, treatments: set[str] | None = None,
                aspects: set[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(claims, assertions) of the last audit in corpus_dir, or None when there is none.

    Given ``treatments`` and ``aspects`` (those the drafts' flagged claims assert), only what a check
    can meet: the assertions of those aspects and the claims of those treatments. The claims
    come from the audit's Parquet copy (typed and columnar, read with the treatment filter) when
    it wrote one and claims.csv is large (config.CHECK_PARQUET_MIN_BYTES), else from claims.csv:
    a check against a 10,000-article audit read every claim of its claims.csv, 17 s."""
    folder = Path(corpus_dir)
    csv_path, parquet = folder / config.CLAIMS_CSV, folder / config.CLAIMS_PARQUET
    if not csv_path.is_file():
        return None
    use_parquet = parquet.is_file() and csv_path.stat().st_size > config.CHECK_PARQUET_MIN_BYTES
    names = io.parquet_columns(parquet) if use_parquet else list(io.read_csv_header(csv_path))
    missing = sorted(set(_CORPUS_COLUMNS) - set(names))
    assertions = io.read_optional_csv(folder / config.ASSERTIONS_CSV)
    if missing or assertions is None:
        raise CheckError(f"{csv_path}: not an audited claims table "
                         f"(missing {missing or [config.ASSERTIONS_CSV]}); run `make audit` again")
    assertions = assertions.fillna("").astype({"qualifier": str, "words": str})
    if aspects is not None:
        assertions = assertions[assertions["aspect"].isin(sorted(aspects))]
    # the file lists (subjects, treatments) are text for people: the corpus pairs on each
    # claim's treatment
    columns = [c for c in (*_CORPUS_COLUMNS, *_CORPUS_OPTIONAL) if c in names]
    where = ("treatment", sorted(treatments)) if treatments is not None else None
    if use_parquet:
        claims = io.read_parquet(parquet, columns, where)
    else:
        claims = io.read_csv(csv_path)[columns]
        if where is not None:
            claims = claims[claims["treatment"].isin(where[1])]
    return claims.reset_index(drop=True), assertions.reset_index(drop=True)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of an offset.

    >>> line_col("ab\\ncd", 4)
    (2, 2)
    """
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _suppression(f, key: str, sup: Suppressions) -> dict | None:
    if key in sup.approved:
        return {"kind": "approved", "reason": f"approved wording in {sup.approved_file}"}
    ignored = sup.ignored.get(f.fingerprint)
    if ignored and ignored.get("rule_id", f.rule_id) == f.rule_id:
        return {"kind": "ignored", "reason": ignored["reason"], "who": str(ignored.get("who", "")),
                "date": str(ignored.get("date", ""))}
    if f.fingerprint in sup.baseline:
        return {"kind": "baseline", "reason": f"already in the baseline {sup.baseline_file}"}
    return None


def corpus_folder(corpus_dir: Path | None) -> Path:
    """The corpus folder to read: the default (the last audit's, may be missing) when None;
    a folder given explicitly must exist (a mistyped path is an error, not 'no corpus')."""
    if corpus_dir is None:
        return config.PROCESSED_DIR
    if not Path(corpus_dir).is_dir():
        raise CheckError(f"{corpus_dir}: no such folder (--corpus names the output folder of an audit)")
    return Path(corpus_dir)


def check(names: list[str], *, corpus_dir: Path | None = None,
          evidence_file: Path = config.EVIDENCE_FILE, allow: Path | None = config.APPROVED_CLAIMS_FILE,
          ignore: Path | None = config.IGNORED_FINDINGS_FILE, baseline: Path | None = None,
          rules_dir: Path = config.RULES_DIR, nlp=None) -> dict:
    """Check the named drafts ('-' = standard input); returns the report (the JSON output).
    ``corpus_dir``: an audit's output folder; None = the default one, if there is one."""
    from .nlp import build_nlp

    corpus_dir = corpus_folder(corpus_dir)
    sup = load_suppressions(allow, ignore, baseline)
    raw = read_drafts(names)
    rules = RuleSet.load(rules_dir)
    nlp = nlp or build_nlp(rules)
    try:   # a bad evidence file stops the check with its name and problem (exit 2)
        evidence = io.read_evidence_file(evidence_file) if Path(evidence_file).is_file() else None
        facts = normalise_evidence(evidence, rules, where=str(evidence_file))
    except io.InputError as exc:
        raise CheckError(str(exc)) from None
    docs, t = analyse_drafts(raw, rules, nlp, facts)
    claims, found = t.claims, t.findings
    flagged = claims[claims["claim_id"].isin(set(found["claim_id"]))]
    # per subject treatment and aspect; a claim without a treatment can still meet evidence
    asserted = assertions_of(flagged, t.assertions, rules.aspects, keep_no_treatment=True)
    mine = asserted[~about_no_treatment(asserted["treatment"])]
    corpus = read_corpus(corpus_dir, set(mine["treatment"]), set(mine["aspect"]))
    against = corpus_conflicts(mine, corpus, rules)
    cited = evidence_conflicts(asserted, facts, rules)
    texts = dict(zip(docs["source_id"], docs["text"]))
    shown = dict(zip(raw["source_id"], raw["name"]))
    by_claim = {c.claim_id: c for c in tables.records(claims)}
    items = []
    for f in tables.records(found):
        r, c = rules.compliance_by_id[f.rule_id], by_claim[f.claim_id]
        line, col = line_col(texts[f.source_id], f.start)
        end_line, end_col = line_col(texts[f.source_id], f.end)
        items.append({
            "file": shown[f.source_id], "line": line, "column": col,
            "end_line": end_line, "end_column": end_col,
            "rule_id": f.rule_id, "family": f.family, "severity": f.severity,
            "claim": c.text, "match": f.match, "message": r.message, "reason": r.reason,
            "reference": r.reference, "treatment": c.treatment, "fingerprint": f.fingerprint,
            "suppressed": _suppression(f, text_key(c.text), sup),
            "contradicting_claims": against.get(f.claim_id, []),
            "contradicting_evidence": cited.get(f.claim_id, []),
            "evidence": {"status": c.evidence_status, "evidence_ids": list(c.evidence_ids),
                         "level": c.evidence_level,
                         "reason": evidence_reason(c.evidence_status, c.evidence_level, c.evidence_ids,
                                                   c.certainty, claims_proof(c.flags))},
        })
    return {
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "files": [shown[s] for s in raw["source_id"]],
        "corpus": str(Path(corpus_dir) / config.CLAIMS_CSV) if corpus is not None else None,
        "evidence": str(evidence_file) if evidence is not None else None,
        "claims_checked": int(len(claims)),
        "findings": items,
        "summary": summarise(items),
    }


def summarise(items: list[dict]) -> dict:
    """Counts of active findings by severity, and of suppressed ones."""
    active = [i for i in items if not i["suppressed"]]
    counts = {s: sum(1 for i in active if i["severity"] == s) for s in config.SEVERITIES}
    return {"findings": len(active), **counts, "suppressed": len(items) - len(active)}


def exit_code(report: dict, fail_on: str) -> int:
    """1 when an active finding is at or above fail_on (high > medium > low), else 0."""
    levels = config.SEVERITIES[:config.SEVERITIES.index(fail_on) + 1]
    return int(any(report["summary"][s] for s in levels))


# --- output formats -------------------------------------------------------------------------

def _claims_of(findings: list[dict]) -> list[list[dict]]:
    """Active findings grouped by claim (same file and claim sentence, next to each other),
    in file order."""
    groups: list[list[dict]] = []
    for f in findings:
        if f["suppressed"]:
            continue
        if groups and (groups[-1][0]["file"], groups[-1][0]["claim"]) == (f["file"], f["claim"]):
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


def _against(first: dict, max_related: int) -> list[str]:
    """What the corpus and the evidence say against one claim (shown once per claim)."""
    out = []
    related = first["contradicting_claims"]
    if related:
        sources = len({r["source_id"] for r in related})
        out.append(f"  corpus: {len(related)} audited claim(s) in {sources} source(s) contradict this claim, e.g.")
        for r in related[:max_related]:
            out.append(f"    - {r['source_id']}: \"{r['text']}\" ({r['aspect']}: {r['value']}; "
                       f"the draft: {r['claim_value']})")
    ids: set[str] = set()
    evidence = [e for e in first["contradicting_evidence"]    # a row once, on its first aspect
                if not (e["evidence_id"] in ids or ids.add(e["evidence_id"]))]
    for e in evidence[:max_related]:
        mirror = ", mirror" if e["is_mirror"] else ""
        out.append(f"  evidence {e['evidence_id']} ({e['level'].replace('_', ' ')}): {e['statement']} "
                   f"({e['publisher']}{mirror}; {e['url']}) "
                   f"({e['aspect']}: {e['value']}; the draft: {e['claim_value']})")
    if len(evidence) > max_related:
        out.append(f"  evidence: {len(evidence) - max_related} more row(s): "
                   + ", ".join(e["evidence_id"] for e in evidence[max_related:]))
    if first["evidence"]["status"] == "overclaimed":
        out.append(f"  evidence: overclaimed: {first['evidence']['reason']}")
    return out


def render_text(report: dict, max_related: int = 3) -> str:
    """Linter-style text, one block per claim: the claim line once ('file, line N: "..."'),
    each finding as 'file:line:column: severity rule_id "match"' with what to write instead and
    the fingerprint to ignore it with, then what the corpus and the evidence say against the
    claim, once; a summary line last. Text from the drafts, the corpus and the rules is shown
    with control characters as escapes."""
    report = shown_tree(report)
    out = []
    for findings in _claims_of(report["findings"]):
        first = findings[0]
        out.append(f"{first['file']}, line {first['line']}: \"{first['claim']}\"")
        for i in findings:
            out.append(f"{i['file']}:{i['line']}:{i['column']}: {i['severity']} {i['rule_id']} \"{i['match']}\"")
            out.append(f"    instead: {i['message']}")
            out.append(f"    fingerprint: {i['fingerprint']}")
        out.extend(_against(first, max_related))
        out.append("")
    s = report["summary"]
    out.append(f"{s['findings']} finding(s): {s['high']} high, {s['medium']} medium, {s['low']} low; "
               f"{s['suppressed']} suppressed; {report['claims_checked']} claim(s) in "
               f"{len(report['files'])} file(s)")
    if report["corpus"] is None:
        out.append("note: no audited corpus found (run `make audit`), so no corpus contradictions")
    return "\n".join(out) + "\n"


# --- explaining a rule ----------------------------------------------------------------------

def load_examples(path: Path = config.COMPLIANCE_EXAMPLES_FILE) -> list[dict]:
    """The rules' examples ({"rule", "text", "fires"} a line); none when the file is absent."""
    path = Path(path)
    return [json.loads(line) for _, line in io.read_jsonl(path)] if path.is_file() else []


def explain(rule: str, rules: RuleSet, examples: list[dict] | None = None) -> str:
    """A rule (or every rule of a family) in words: family, severity, message, reason, reference
    and its examples. An unknown id is a CheckError naming the closest ids (rapidfuzz)."""
    chosen = ([rules.compliance_by_id[rule]] if rule in rules.compliance_by_id
              else [r for r in rules.compliance if r.family == rule])
    if not chosen:
        from rapidfuzz import process

        ids = [r.id for r in rules.compliance] + sorted({r.family for r in rules.compliance})
        close = [m for m, _, _ in process.extract(rule, ids, limit=3)]
        raise CheckError(f"unknown rule {rule!r}; did you mean {', '.join(close)}?")
    examples = load_examples() if examples is None else examples
    blocks = []
    for r in chosen:
        mine = [e for e in examples if e.get("rule") == r.id]
        lines = [f"{r.id}",
                 f"  family:    {r.family} ({r.family.replace('_', ' ')})",
                 f"  severity:  {r.severity}",
                 f"  message:   {r.message}",
                 f"  reason:    {r.reason}",
                 f"  reference: {r.reference}"]
        if mine:
            lines.append("  examples:")
            lines += [f"    {'flags' if e.get('fires') else 'passes'}: \"{e['text']}\"" for e in mine]
        else:
            lines.append("  examples:  none written for this rule")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def render_json(report: dict) -> str:
    """The report as JSON (schema: pipeline/schemas/check.schema.json)."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _sarif_rules(rules: RuleSet) -> tuple[list[dict], dict[str, int]]:
    descriptors, index = [], {}
    for r in rules.compliance:
        index[r.id] = len(descriptors)
        descriptors.append({
            "id": r.id, "name": r.id.replace(".", "_"),
            "shortDescription": {"text": f"{r.family.replace('_', ' ')}: {r.reason}"},
            "fullDescription": {"text": f"{r.reason} Reference: {r.reference}"},
            "help": {"text": r.message},
            "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
            "properties": {"family": r.family, "severity": r.severity, "reference": r.reference,
                           "tags": ["compliance", r.family]},
        })
    return descriptors, index


def render_sarif(report: dict, rules: RuleSet | None = None) -> str:
    """SARIF 2.1.0, one run; columns count Unicode code points; suppressed findings carry
    SARIF suppressions so review tools hide them."""
    descriptors, index = _sarif_rules(rules or RuleSet.load())
    results = []
    for i in report["findings"]:
        result = {
            "ruleId": i["rule_id"], "ruleIndex": index[i["rule_id"]],
            "level": SARIF_LEVEL[i["severity"]],
            "message": {"text": f"\u201c{i['match']}\u201d: {i['message']}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": quote(Path(i["file"]).as_posix()) if i["file"] != "-" else "stdin"},
                "region": {"startLine": i["line"], "startColumn": i["column"],
                           "endLine": i["end_line"], "endColumn": i["end_column"],
                           "snippet": {"text": i["match"]}}}}],
            "partialFingerprints": {"claimFingerprint/v1": i["fingerprint"]},
            "properties": {"family": i["family"], "severity": i["severity"], "claim": i["claim"],
                           "contradictingClaims": i["contradicting_claims"],
                           "contradictingEvidence": i["contradicting_evidence"]},
        }
        if i["suppressed"]:
            result["suppressions"] = [{"kind": "external", "state": "accepted",
                                       "justification": i["suppressed"]["reason"]}]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "version": TOOL_VERSION, "rules": descriptors}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


RENDER = {"text": render_text, "json": render_json, "sarif": render_sarif}


def render(report: dict, fmt: str, rules: RuleSet | None = None) -> str:
    """The report in one of CHECK_FORMATS (SARIF describes the rules of ``rules``)."""
    return render_sarif(report, rules) if fmt == "sarif" else RENDER[fmt](report)


def cold_check_seconds(files: list[str], repeat: int = 3, fmt: str = "json", env: dict | None = None) -> list[dict]:
    """Wall and CPU seconds of ``python -m pipeline check FILES`` in fresh processes (what a user
    or CI job waits for, imports included), one dict per run; for ``make bench``. CPU time is
    the figure to compare when other jobs share the machine. ``env``: the processes' environment
    (default: this one's)."""
    import resource
    import subprocess
    import sys
    import time

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    runs = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), cpu()
        subprocess.run([sys.executable, "-m", "pipeline", "check", *files, "--format", fmt],
                       cwd=config.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
        runs.append({"wall": time.perf_counter() - t0, "cpu": cpu() - c0})
    return runs
