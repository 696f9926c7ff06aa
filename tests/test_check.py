"""Compliance rules (pipeline.flag), the check command (pipeline.check, `python -m pipeline
check`) and the rule evaluation (pipeline.eval_rules), on small literal drafts."""
from __future__ import annotations

import gc
import json
import subprocess
import sys

import jsonschema
import pandas as pd

import pytest
from typer.testing import CliRunner

from pipeline import config, tables
from pipeline.dev import eval_rules
from pipeline.nlp import RuleSet
from pipeline.nlp import ruleset as rules
from pipeline.stages import flag
from pipeline.analyse import analyse
from pipeline.audit import run_audit
from pipeline.check import CheckError, check, line_col
from pipeline.cli import app
from conftest import raw_frame

SARIF_SUBSET = config.ROOT / "tests" / "schemas" / "sarif-2.1.0-subset.schema.json"
SARIF_OFFICIAL = config.ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
NO_SUPPRESSIONS = {"allow": None, "ignore": None}


def draft(tmp_path, text: str, name: str = "draft.txt"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def rule_ids(tmp_path, text: str) -> set[str]:
    report = check([draft(tmp_path, text)], corpus_dir=tmp_path, **NO_SUPPRESSIONS)  # no claims.csv there
    return {f["rule_id"] for f in report["findings"]}


def cli(*args, input=None):
    return CliRunner().invoke(app, ["check", *args], input=input)


# --- rules as data ----------------------------------------------------------------------------

def test_every_family_has_a_rule_and_every_rule_has_both_kinds_of_example():
    shipped = RuleSet.load().compliance
    assert {r.family for r in shipped} == set(config.COMPLIANCE_FAMILIES)
    examples = eval_rules.load_examples()
    for r in shipped:
        kinds = {e["fires"] for e in examples if e["rule"] == r.id}
        assert kinds == {True, False}, r.id


@pytest.fixture(scope="module")
def example_results(rules, nlp):
    examples = eval_rules.load_examples()
    return list(zip(examples, eval_rules.example_hits(examples, rules, nlp)))


@pytest.mark.parametrize("i", range(len(eval_rules.load_examples())))
def test_each_rule_example(example_results, i):
    example, fired = example_results[i]
    assert (example["rule"] in fired) == example["fires"], example


BASE = ('{"id": "pain_free.x", "family": "pain_free", "severity": "medium", "phrases": ["painless"], '
        '"message": "m", "reason": "r", "reference": "ref"')


@pytest.mark.parametrize("line, message", [
    (BASE.replace('"pain_free", "sev', '"pain", "sev') + "}", "'family' must be one of"),
    (BASE.replace('"medium"', '"critical"') + "}", "'severity' must be one of"),
    (BASE.replace('"pain_free.x"', '"superlative.x"') + "}", "must start with its family"),
    (BASE.replace('"message": "m", ', "") + "}", "'message' must be a non-empty string"),
    (BASE + ', "colour": "red"}', "unknown keys ['colour']"),
    (BASE + ', "treatments": ["needlework"]}', "unknown treatments ['needlework']"),
    (BASE + ', "patterns": [[{"LOWR": "x"}]]}', "invalid token pattern"),
    (BASE.replace('"phrases": ["painless"], ', "") + "}", "give 'phrases', 'patterns' and/or 'when'"),
    (BASE + ', "unless_negated": "yes"}', "'unless_negated' must be true or false"),
    (BASE + ', "requires_family": ["vibes"]}', "unknown families"),
])
def test_bad_compliance_lines_name_file_and_line(tmp_path, line, message):
    p = tmp_path / "compliance.jsonl"
    p.write_text("# rules\n" + BASE.replace("pain_free.x", "pain_free.ok") + "}\n" + line + "\n", encoding="utf-8")
    with pytest.raises(rules.RuleError) as exc:
        rules.load_compliance(p, {t.id for t in RuleSet.load().treatments})
    assert f"{p}:3:" in str(exc.value) and message in str(exc.value)


# --- rules fire on claims, not on mentions ----------------------------------------------------

@pytest.mark.parametrize("text, rule, fires", [
    ("Microneedling is painless.", "pain_free.painless", True),
    ("Microneedling is not painless.", "pain_free.painless", False),
    ('Regulators object to the word "painless" in microneedling ads.', "pain_free.painless", False),
    ("Avoid clinics that promise no side effects after microneedling.", "absolute_safety.no_side_effects", False),
    ("That microneedling has no side effects is a myth.", "absolute_safety.no_side_effects", False),
    # the claim's own negation ("no side effects") does not deny its other risky phrases
    ("Botox has no side effects and the injections are pain-free.", "pain_free.painless", True),
    # a restricted rule: non-invasive is only a problem for needling and ablative lasers
    ("Microneedling is a non-invasive treatment for acne scars.", "non_invasive_needling.non_invasive", True),
    ("A chemical peel is a non-invasive treatment for dull skin.", "non_invasive_needling.non_invasive", False),
])
def test_negation_quotes_and_reporting_suppress(tmp_path, text, rule, fires):
    assert (rule in rule_ids(tmp_path, text)) == fires


def test_qualifier_needs_an_absolute_claim_in_the_same_sentence(tmp_path):
    assert "qualifier_does_not_cure.results_vary" in rule_ids(
        tmp_path, "Laser treatment removes pores permanently, although results may vary.")
    assert "qualifier_does_not_cure.results_vary" not in rule_ids(
        tmp_path, "Laser treatment removes pores permanently. A peel can brighten dull skin, although results may vary.")


def test_claims_get_flags_and_risk_and_flags_table(rules, nlp):
    text = ("Microneedling has virtually no side effects. Microderm is the best option for oily skin. "
            "A chemical peel can brighten dull skin.")
    claims = analyse(raw_frame({"a.txt": text}), rules, nlp=nlp).claims
    by_text = dict(zip(claims["text"], zip(claims["flags"], claims["risk"])))
    assert by_text["Microneedling has virtually no side effects."] == (("absolute_safety.no_side_effects",), "high")
    assert by_text["Microderm is the best option for oily skin."] == (("superlative.best",), "medium")
    assert by_text["A chemical peel can brighten dull skin."] == ((), "none")
    table = flag.flags_view(claims, rules)
    assert list(table.columns) == tables.FLAGS
    assert set(table["rule_id"]) == {"absolute_safety.no_side_effects", "superlative.best"}
    assert table["message"].str.len().min() > 20


def test_audit_writes_flags_csv_and_flag_columns(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("Microneedling is painless and permanent.\n\nPeels can cause redness.\n", encoding="utf-8")
    run_audit(raw, tmp_path / "out", validate=False, report=False)
    claims = pd.read_csv(tmp_path / "out" / config.CLAIMS_CSV, keep_default_na=False)
    flags = pd.read_csv(tmp_path / "out" / config.FLAGS_CSV, keep_default_na=False)
    assert {"flags", "risk"} <= set(claims.columns)
    assert set(flags["rule_id"]) == {"pain_free.painless", "permanence.permanent"}
    assert set(flags["claim_id"]) <= set(claims["claim_id"])


# --- the check command ------------------------------------------------------------------------

def test_locations_are_line_and_column_of_the_match(tmp_path):
    text = "Our Clinic\n\nPeels can brighten skin. Microneedling is\npainless for everyone.\n"
    report = check([draft(tmp_path, text)], corpus_dir=tmp_path, **NO_SUPPRESSIONS)
    [f] = [f for f in report["findings"] if f["rule_id"] == "pain_free.painless"]
    assert (f["line"], f["column"], f["end_line"], f["end_column"]) == (4, 1, 4, 9)
    assert f["match"] == "painless" and f["claim"].startswith("Microneedling is")
    assert line_col(text, text.index("Microneedling")) == (3, 26)


@pytest.mark.parametrize("name, text", [
    ("page.md", "# Our peels\n\nA *glycolic* peel is **completely painless** and safe.\n"),
    ("page.html", "<html><body><h1>Peels</h1><p>A <b>glycolic</b> peel is completely\n painless.</p></body></html>"),
])
def test_locations_point_into_the_markup_source(tmp_path, name, text):
    [f] = check([draft(tmp_path, text, name)], corpus_dir=tmp_path, **NO_SUPPRESSIONS)["findings"]
    line = text.split("\n")[f["line"] - 1]
    assert line[f["column"] - 1:f["end_column"] - 1] == f["match"] == "painless"


def audited_corpus(folder, text: str, rules, nlp):
    """Write what the audit writes for check's corpus: claims.csv and assertions.csv."""
    t = analyse(raw_frame({"src.txt": text}), rules, nlp=nlp)
    folder.mkdir()
    tables.claims_for_people(t.claims, t.assertions).to_csv(folder / config.CLAIMS_CSV, index=False)
    t.assertions.to_csv(folder / config.ASSERTIONS_CSV, index=False)
    return folder


@pytest.fixture()
def corpus(tmp_path, rules, nlp):
    """A tiny audited corpus: one article naming microneedling's side effects."""
    return audited_corpus(tmp_path / "corpus", "Microneedling can cause redness and swelling for two days.", rules, nlp)


MN06 = {"evidence_id": "MN-06", "treatment": "microneedling", "applies_to": "treatment", "aspect": "side_effects",
        "value": "named", "qualifier": "redness,pain", "level": "systematic_review",
        "statement": "Microneedling commonly causes transient redness and pain.", "quote": "q",
        "source_title": "Safety Profile", "publisher": "Dermatologic Surgery", "url": "https://example.org/x",
        "date": "2021", "is_mirror": "yes", "note": ""}


def test_contradicting_corpus_claims_and_evidence_are_attached(tmp_path, corpus):
    evidence = tmp_path / "evidence.csv"
    pd.DataFrame([MN06]).to_csv(evidence, index=False)
    report = check([draft(tmp_path, "Microneedling has virtually no side effects.")], corpus_dir=corpus,
                   evidence_file=evidence, **NO_SUPPRESSIONS)
    [f] = report["findings"]
    assert f["rule_id"] == "absolute_safety.no_side_effects"
    [c] = f["contradicting_claims"]
    # values carry qualifiers: "named:redness,swelling"; "virtually no side effects" is none
    assert c["source_id"] == "src" and (c["aspect"], c["value"].split(":")[0], c["claim_value"].split(":")[0]) == ("side_effects", "named", "none")
    [e] = f["contradicting_evidence"]
    assert e["evidence_id"] == "MN-06" and e["is_mirror"] is True and e["level"] == "systematic_review"
    assert (e["aspect"], e["value"].split(":")[0], e["claim_value"].split(":")[0]) == ("side_effects", "named", "none")


def test_a_value_is_asserted_by_its_own_negative_words(tmp_path, rules, nlp):
    """'non-invasive' and 'painless' are negation cues and aspect values at once: they assert
    their value (extract fix), so the corpus contradiction reaches the finding."""
    folder = audited_corpus(tmp_path / "corpus", "Microneedling needles puncture the skin. Microneedling can be painful.",
                            rules, nlp)
    report = check([draft(tmp_path, "Microneedling is non-invasive. Microneedling is painless.")],
                   corpus_dir=folder, **NO_SUPPRESSIONS)
    against = {f["rule_id"]: {(c["aspect"], c["value"], c["claim_value"]) for c in f["contradicting_claims"]}
               for f in report["findings"]}
    assert against == {"non_invasive_needling.non_invasive": {("invasiveness", "breaks_skin", "non_invasive")},
                       "pain_free.painless": {("pain", "some", "none")}}


def test_check_reads_the_corpus_rows_its_claims_can_meet_and_finds_what_the_whole_corpus_gives(tmp_path,
                                                                                               monkeypatch):
    """An audited corpus is read for the flagged claims' treatments and aspects only (from the
    audit's Parquet copy when claims.csv is large: a 10,000-article corpus took 20 s read
    whole); the findings equal those from the whole claims.csv."""
    from pipeline.check import read_corpus

    monkeypatch.setattr(config, "CHECK_PARQUET_MIN_BYTES", 0)   # this small corpus read as a large one

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("Microneedling can cause redness and swelling for two days. "
                               "Laser hair removal is painful for some.", encoding="utf-8")
    (raw / "b.txt").write_text("Chemical peels can cause peeling for a week. Microneedling can be painful.",
                               encoding="utf-8")
    out = tmp_path / "out"
    run_audit(raw, out, validate=False, report=False, workbook=False)
    claims_all, assertions_all = read_corpus(out)
    claims, assertions = read_corpus(out, {"microneedling"}, {"side_effects"})
    assert set(claims["treatment"]) == {"microneedling"} and set(assertions["aspect"]) == {"side_effects"}
    assert len(claims) < len(claims_all) and len(assertions) < len(assertions_all)
    assert claims["claim_id"].tolist() == claims_all.loc[claims_all["treatment"] == "microneedling", "claim_id"].tolist()
    text = draft(tmp_path, "Microneedling has no side effects. Microneedling is painless.")
    from_parquet = check([text], corpus_dir=out, **NO_SUPPRESSIONS)
    (out / config.CLAIMS_PARQUET).unlink()
    from_csv = check([text], corpus_dir=out, **NO_SUPPRESSIONS)
    assert from_parquet == from_csv
    assert {c["aspect"] for f in from_csv["findings"] for c in f["contradicting_claims"]} == {"side_effects", "pain"}


def test_missing_default_corpus_and_evidence_are_reported_not_fatal(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "PROCESSED_DIR", tmp_path / "never-audited")
    report = check([draft(tmp_path, "Microneedling is painless.")], evidence_file=tmp_path / "nope.csv",
                   **NO_SUPPRESSIONS)
    assert report["corpus"] is None and report["evidence"] is None
    assert report["findings"][0]["contradicting_claims"] == []
    result = cli(draft(tmp_path, "Microneedling is painless."), "--allow", str(tmp_path / "a"))
    assert result.exit_code == 1 and "note: no audited corpus found" in result.stdout


def test_a_corpus_folder_given_and_missing_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nonexistent"
    with pytest.raises(CheckError, match="nonexistent: no such folder"):
        check([draft(tmp_path, "Microneedling is painless.")], corpus_dir=missing, **NO_SUPPRESSIONS)
    result = cli(draft(tmp_path, "Microneedling is painless."), "--corpus", str(missing))
    assert result.exit_code == 2 and f"error: {missing}: no such folder" in result.output


def test_json_output_validates_against_its_schema(tmp_path, corpus):
    path = draft(tmp_path, "Microneedling has no side effects and is the best treatment for scars.")
    result = cli(path, "--format", "json", "--corpus", str(corpus), "--allow", str(tmp_path / "a"),
                 "--ignore", str(tmp_path / "i"))
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    jsonschema.validate(report, json.loads(config.CHECK_SCHEMA_FILE.read_text(encoding="utf-8")))
    assert {f["rule_id"] for f in report["findings"]} == {"absolute_safety.no_side_effects", "superlative.best"}


def test_sarif_output_validates_against_sarif_2_1_0(tmp_path):
    allow = tmp_path / "approved.txt"
    allow.write_text("Microderm is the best option for oily skin.\n", encoding="utf-8")
    path = draft(tmp_path, "Microneedling is painless. Microderm is the best option for oily skin.")
    result = cli(path, "--format", "sarif", "--allow", str(allow), "--corpus", str(tmp_path))
    log = json.loads(result.stdout)
    schemas = [SARIF_SUBSET] + ([SARIF_OFFICIAL] if SARIF_OFFICIAL.exists() else [])
    for schema in schemas:
        jsonschema.validate(log, json.loads(schema.read_text(encoding="utf-8")),
                            format_checker=jsonschema.FormatChecker())
    run = log["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["pain_free.painless"]["level"] == "warning"
    assert ids[by_rule["pain_free.painless"]["ruleIndex"]] == "pain_free.painless"
    assert by_rule["pain_free.painless"]["locations"][0]["physicalLocation"]["region"]["startColumn"] == 18
    assert by_rule["superlative.best"]["suppressions"] == [
        {"kind": "external", "state": "accepted", "justification": f"approved wording in {allow}"}]


def test_sarif_subset_schema_refuses_what_sarif_refuses():
    schema = json.loads(SARIF_SUBSET.read_text(encoding="utf-8"))
    ok = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "level": "error"}]}]}
    jsonschema.validate(ok, schema)
    for bad in ({"version": "2.0.0", "runs": []},
                {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]},
                {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
                    {"message": {"text": "m"}, "level": "high"}]}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


@pytest.mark.parametrize("text, fail_on, code", [
    ("A chemical peel can brighten dull skin.", "low", 0),
    ("Microderm is the best option for oily skin.", "low", 1),      # medium finding
    ("Microderm is the best option for oily skin.", "medium", 1),
    ("Microderm is the best option for oily skin.", "high", 0),
    ("Microneedling has no side effects.", "high", 1),
])
def test_exit_codes_follow_fail_on(tmp_path, text, fail_on, code):
    result = cli(draft(tmp_path, text), "--fail-on", fail_on, "--corpus", str(tmp_path))
    assert result.exit_code == code, result.output


def test_check_starts_without_collections_and_leaves_collection_on(tmp_path, monkeypatch):
    """The command builds its pipeline with collection off, freezes what start-up made, and ends
    frozen (no last collection at exit), with collection on; also when it fails."""
    seen = []
    real = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (seen.append(gc.isenabled()), real()))
    for args in ([draft(tmp_path, "Microneedling has no side effects."), "--corpus", str(tmp_path)],
                 [str(tmp_path / "missing.txt")]):
        seen.clear()
        result = CliRunner().invoke(app, ["check", *args])
        assert result.exit_code in (1, 2), result.output
        assert seen == [False, True] and gc.isenabled() and gc.get_freeze_count() > 0
        gc.unfreeze()   # (the conftest thaws after the test too)


def test_input_and_usage_errors_exit_2_naming_the_file(tmp_path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\x00\x00\x01binary")
    for args, needle in (([str(tmp_path / "missing.txt")], "missing.txt: no such file"),
                         ([str(binary)], "photo.txt: binary file"),
                         ([str(tmp_path)], "is a folder"),
                         ([draft(tmp_path, "Peels help."), "--format", "xml"], "xml"),
                         ([draft(tmp_path, "Peels help."), "--fail-on", "critical"], "critical")):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output, result.output
    assert CliRunner().invoke(app, ["check"]).exit_code == 2
    empty = cli("-", input="")
    assert empty.exit_code == 2 and "standard input: empty file" in empty.output


def test_stdin_is_read_for_dash(tmp_path):
    result = cli("-", "--format", "json", "--corpus", str(tmp_path), input="Our laser facial is completely painless.\n")
    assert result.exit_code == 1, result.output
    [f] = json.loads(result.stdout)["findings"]
    assert f["file"] == "-" and f["rule_id"] == "pain_free.painless" and (f["line"], f["column"]) == (1, 32)


def test_ignore_file_suppresses_one_finding_and_keeps_its_reason(tmp_path):
    path = draft(tmp_path, "Microneedling is painless. Microderm is the best option for oily skin.")
    first = check([path], corpus_dir=tmp_path, **NO_SUPPRESSIONS)
    fp = next(f["fingerprint"] for f in first["findings"] if f["rule_id"] == "pain_free.painless")
    ignore = tmp_path / "ignored.jsonl"
    entry = {"fingerprint": fp, "rule_id": "pain_free.painless", "reason": "numbing cream claim approved by legal",
             "who": "jd", "date": "2026-11-01"}
    ignore.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    before = ignore.read_bytes()
    report = check([path], corpus_dir=tmp_path, allow=None, ignore=ignore)
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    assert by_rule["pain_free.painless"]["suppressed"]["reason"] == entry["reason"]
    assert by_rule["superlative.best"]["suppressed"] is None
    assert report["summary"] == {"findings": 1, "high": 0, "medium": 1, "low": 0, "suppressed": 1}
    assert ignore.read_bytes() == before
    # the same wording in another draft is ignored too (fingerprint = wording + rule)
    other = check([draft(tmp_path, "Intro line here.\n\nMicroneedling is painless.", "b.txt")],
                  corpus_dir=tmp_path, allow=None, ignore=ignore)
    assert other["summary"]["findings"] == 0


def test_a_corpus_that_is_not_a_claims_table_is_an_input_error(tmp_path):
    (tmp_path / config.CLAIMS_CSV).write_text("a,b\n1,2\n", encoding="utf-8")
    result = cli(draft(tmp_path, "Microneedling is painless."), "--corpus", str(tmp_path))
    assert result.exit_code == 2 and "not an audited claims table" in result.output


def test_baseline_fails_only_on_new_findings(tmp_path):
    old = draft(tmp_path, "Microneedling is painless.", "old.txt")
    baseline = tmp_path / "baseline.json"
    result = cli(old, "--format", "json", "--corpus", str(tmp_path))
    baseline.write_text(result.stdout, encoding="utf-8")
    new = draft(tmp_path, "Microneedling is painless.\n\nIt gives permanent results.", "new.txt")
    result = cli(new, "--format", "json", "--corpus", str(tmp_path), "--baseline", str(baseline))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    kinds = {f["rule_id"]: (f["suppressed"] or {}).get("kind") for f in report["findings"]}
    assert kinds == {"pain_free.painless": "baseline", "permanence.permanent": None}
    jsonschema.validate(report, json.loads(config.CHECK_SCHEMA_FILE.read_text(encoding="utf-8")))
    assert cli(old, "--corpus", str(tmp_path), "--baseline", str(baseline)).exit_code == 0
    assert cli(old, "--baseline", str(tmp_path / "none.json")).exit_code == 2


def test_bad_ignore_line_is_a_usage_error(tmp_path):
    ignore = tmp_path / "ignored.jsonl"
    ignore.write_text('{"fingerprint": "abc", "reason": "x"}\n', encoding="utf-8")
    result = cli(draft(tmp_path, "Peels help."), "--ignore", str(ignore))
    assert result.exit_code == 2 and f"{ignore}:1:" in result.output


def test_text_output_is_linter_like(tmp_path, corpus):
    path = draft(tmp_path, "Microneedling has virtually no side effects.")
    result = cli(path, "--corpus", str(corpus), "--allow", str(tmp_path / "a"), "--ignore", str(tmp_path / "i"))
    lines = result.stdout.splitlines()
    assert lines[0] == f'{path}, line 1: "Microneedling has virtually no side effects."'
    assert lines[1] == f'{path}:1:19: high absolute_safety.no_side_effects "virtually no side effects"'
    assert "instead: Name the common side effects" in result.stdout
    assert "src: \"Microneedling can cause redness and swelling for two days.\"" in result.stdout
    assert "1 finding(s): 1 high" in result.stdout




def test_text_output_groups_findings_by_claim_with_corpus_and_evidence_once(tmp_path, corpus):
    evidence = tmp_path / "evidence.csv"
    pd.DataFrame([MN06]).to_csv(evidence, index=False)
    text = ("Microneedling has virtually no side effects and is completely painless.\n\n"
            "Results are permanent after one session.\n")
    path = draft(tmp_path, text)
    result = cli(path, "--corpus", str(corpus), "--evidence", str(evidence), "--allow", str(tmp_path / "a"),
                 "--ignore", str(tmp_path / "i"))
    out = result.stdout
    report = check([path], corpus_dir=corpus, evidence_file=evidence, **NO_SUPPRESSIONS)
    first_claim = [f for f in report["findings"] if f["line"] == 1]
    assert len(first_claim) >= 2   # two rules fire on the first sentence: the case this groups
    assert out.count(f'{path}, line 1: "Microneedling has virtually no side effects') == 1
    assert out.count(f'{path}, line 3: "Results are permanent') == 1
    assert out.count("evidence MN-06 (systematic review):") == 1 and out.count("corpus:") == 1
    for f in report["findings"]:
        assert out.count(f"{path}:{f['line']}:{f['column']}: {f['severity']} {f['rule_id']}") == 1
    # the claim line, then its findings, then what speaks against it, then the next claim
    block = out.split(f"{path}, line 3:")[0]
    assert block.index("instead:") < block.index("corpus:") < block.index("evidence MN-06 (")
    assert "evidence MN-06" not in out.split(f"{path}, line 3:")[1]


def test_explain_prints_the_rule_and_its_examples(rules):
    result = cli("--explain", "pain_free.painless")
    assert result.exit_code == 0, result.output
    rule = rules.compliance_by_id["pain_free.painless"]
    for part in (rule.family, rule.message, rule.reason, rule.reference):
        assert part in result.stdout
    examples = [json.loads(line) for line in config.COMPLIANCE_EXAMPLES_FILE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    mine = [e for e in examples if e["rule"] == "pain_free.painless"]
    assert mine and all(e["text"] in result.stdout for e in mine)
    assert f'flags: "{next(e["text"] for e in mine if e["fires"])}"' in result.stdout
    assert f'passes: "{next(e["text"] for e in mine if not e["fires"])}"' in result.stdout


def test_explain_a_family_lists_its_rules_and_uses_the_rules_folder(tmp_path, rules):
    family = [r.id for r in rules.compliance if r.family == "absolute_safety"]
    result = cli("--explain", "absolute_safety")
    assert result.exit_code == 0 and all(rid in result.stdout for rid in family)
    assert cli("--explain", "pain_free.painless", "--rules", str(tmp_path / "none")).exit_code == 2


def test_explain_an_unknown_rule_suggests_the_closest_ids():
    result = cli("--explain", "absolute_safety.no_side_effect")
    assert result.exit_code == 2
    assert "unknown rule 'absolute_safety.no_side_effect'" in result.output
    assert "did you mean absolute_safety.no_side_effects" in result.output


def test_check_is_deterministic(tmp_path):
    path = draft(tmp_path, "Microneedling is painless, risk-free and the gold standard for scars.")
    runs = [cli(path, "--format", "sarif", "--corpus", str(tmp_path)).stdout for _ in range(2)]
    assert runs[0] == runs[1]


def test_check_imports_no_heavy_reporting_or_validation_modules(tmp_path):
    code = ("import sys; from pipeline.check import check; "
            f"check([{draft(tmp_path, 'Microneedling is painless.')!r}], allow=None, ignore=None); "
            "print(sorted(m for m in ('great_expectations', 'papermill', 'nbconvert', 'nbformat', "
            "'jupyter_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=config.ROOT, check=True)
    assert out.stdout.strip() == "[]"


# --- evaluation floors ------------------------------------------------------------------------

def test_rule_evaluation_floors():
    """Examples are the rules' specification: every rule must get all of its own right. On the
    ten labelled articles (five sources, five test articles) precision and recall overall must
    stay >= 0.9 and >= 0.85: today 1.00 and 0.96 (two known misses: a heading and a quoted
    endorsement, which are not claims); the margin leaves room for one or two changes in claim
    extraction (issue 3) without hiding a broken rule."""
    lines: list[str] = []
    result = eval_rules.run(lines.append)
    for rule, s in result["examples"].items():
        assert s["precision"] == 1.0 and s["recall"] == 1.0, rule
    overall = result["articles"]["all"]
    assert overall["precision"] >= 0.9 and overall["recall"] >= 0.85, overall
    assert any("precision" in line for line in lines)


def test_a_benefit_stated_as_fact_on_weak_evidence_is_reported_overclaimed(tmp_path):
    evidence = tmp_path / "evidence.csv"
    pd.DataFrame([{**MN06, "evidence_id": "LZ-01", "treatment": "laser_resurfacing", "aspect": "effect",
                   "value": "improves", "qualifier": "pores", "level": "uncontrolled_study",
                   "statement": "Three fractional laser sessions reduced enlarged pores in 32 people."}]
                 ).to_csv(evidence, index=False)
    path = draft(tmp_path, "Laser skin resurfacing shrinks enlarged pores.")
    report = check([path], corpus_dir=tmp_path, evidence_file=evidence, **NO_SUPPRESSIONS)
    [f] = [f for f in report["findings"] if f["rule_id"] == "off_label_use.unauthorised_outcome"]
    assert f["evidence"]["status"] == "overclaimed" and f["evidence"]["evidence_ids"] == ["LZ-01"]
    assert "best support is uncontrolled study (LZ-01)" in f["evidence"]["reason"]
    out = cli(path, "--evidence", str(evidence), "--corpus", str(tmp_path), "--allow", str(tmp_path / "a"),
              "--ignore", str(tmp_path / "i")).stdout
    assert out.count("evidence: overclaimed: The claim is stated as fact") == 1


def test_a_bad_evidence_file_stops_check_naming_it(tmp_path):
    evidence = tmp_path / "evidence.csv"
    pd.DataFrame([{**MN06, "level": "blog post"}]).to_csv(evidence, index=False)
    with pytest.raises(CheckError, match=r"evidence.csv: row 2 \(MN-06\): level must be one of") as exc:
        check([draft(tmp_path, "Microneedling is painless.")], corpus_dir=tmp_path, evidence_file=evidence,
              **NO_SUPPRESSIONS)
    assert str(exc.value).startswith(str(evidence))
