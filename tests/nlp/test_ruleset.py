"""The rule set: every vocabulary of a folder, validated on load with file:line errors."""
import shutil

import pytest

from pipeline import config
from pipeline.nlp import RuleSet, build_nlp, lemmas
from pipeline.nlp import ruleset as rules


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def rules_copy(tmp_path, **appended: str):
    """A copy of the default rules folder with lines appended to some files."""
    folder = tmp_path / "rules"
    shutil.copytree(config.RULES_DIR, folder)
    for stem, lines in appended.items():
        with open(folder / f"{stem}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(lines)
    return folder


def test_shipped_rule_files_load():
    r = RuleSet.load()
    assert {t.id for t in r.treatments} >= {"microneedling", "microdermabrasion"}
    assert any(c.category == "negation" for c in r.cues)
    assert any(a.category == "conflict" for a in r.aspect_rules)
    assert r.compliance and r.context


def test_unknown_keys_are_rejected_in_every_file(tmp_path):
    for stem, line in (("treatments", '{"id": "x", "names": ["x"], "colour": "red"}'),
                       ("cues", '{"id": "x", "category": "hedge", "direction": "forward", "phrases": ["x"], "strenght": true}'),
                       ("aspects", '{"id": "x", "category": "pseudo_negation", "phrases": ["x"], "aspect": "pain"}'),
                       ("compliance", '{"id": "guarantee.x", "family": "guarantee", "severity": "high", "phrases": ["x"], "message": "m", "reason": "r", "reference": "f", "sevrity": 1}'),
                       ("compliance_context", '{"id": "x", "category": "denial", "direction": "forward", "phrases": ["x"], "why": "y"}')):
        folder = rules_copy(tmp_path / stem, **{stem: line + "\n"})
        with pytest.raises(rules.RuleError, match=r"\.jsonl:\d+: unknown keys"):
            RuleSet.load(folder)


def test_a_folder_that_is_not_there_is_an_error(tmp_path):
    with pytest.raises(rules.RuleError, match="not a folder of rule files"):
        RuleSet.load(tmp_path / "missing")


@pytest.mark.parametrize("line, message", [
    ('{"id": "x", "category": "hedge", "phrases": ["may"]', "not valid JSON"),
    ('{"id": "x", "category": "hedging", "direction": "forward", "phrases": ["may"]}', "unknown category 'hedging'"),
    ('{"id": "x", "category": "hedge", "direction": "sideways", "phrases": ["may"]}', "needs 'direction'"),
    ('{"id": "x", "category": "claim_type", "type": "magic", "phrases": ["may"]}', "needs 'type'"),
    ('{"id": "X Y", "category": "anaphor", "phrases": ["it"]}', "'id' must be"),
    ('{"id": "x", "category": "anaphor", "phrases": []}', "non-empty list"),
    ('{"id": "x", "category": "anaphor", "pattern": [{"LOWR": "it"}]}', "invalid token pattern"),
    ('{"id": "x", "category": "hedge", "direction": "forward", "position": "end", "phrases": ["may"]}', "'position' can only be"),
    ('{"id": "x", "category": "claim_type", "type": "safety", "strong": "yes", "phrases": ["risk"]}', "'strong' must be true or false"),
    ('{"id": "x", "category": "anaphor", "phrases": ["it", "this", "It"]}', "'phrases' lists 'It' twice"),
])
def test_bad_cue_lines_name_file_and_line(tmp_path, line, message):
    p = write(tmp_path, "cues.jsonl", '# comment\n{"id": "ok", "category": "anaphor", "phrases": ["it"]}\n' + line + "\n")
    with pytest.raises(rules.RuleError) as exc:
        rules.load_cues(p)
    assert f"{p}:3:" in str(exc.value) and message in str(exc.value)


def test_duplicate_ids_and_shared_names_are_refused(tmp_path):
    p = write(tmp_path, "t.jsonl", '{"id": "a", "names": ["peel"]}\n{"id": "b", "names": ["Peel"]}\n')
    with pytest.raises(rules.RuleError, match=r"t.jsonl:2: name 'Peel' already belongs"):
        rules.load_treatments(p)
    p = write(tmp_path, "c.jsonl", '{"id": "a", "category": "anaphor", "phrases": ["it"]}\n' * 2)
    with pytest.raises(rules.RuleError, match="duplicate id 'a'"):
        rules.load_cues(p)


def test_new_synonym_is_one_line_of_data(tmp_path):
    folder = rules_copy(tmp_path, treatments='{"id": "mesotherapy", "names": ["mesotherapy", "meso therapy"]}\n')
    nlp = build_nlp(RuleSet.load(folder))
    doc = nlp("Meso therapy may cause bruising.")
    assert [t for _, _, t in doc._.treatments] == ["mesotherapy"]
    assert [(s.text, s.label_) for s in doc.spans["treatments"]] == [("Meso therapy", "mesotherapy")]


def test_lemma_rules_match_inflections(nlp):
    doc = nlp("The laser reduced the pores. Lasers reducing redness.")
    ids = {rid for _, _, rid in doc._.cues}
    assert "type.efficacy" in ids
    assert lemmas.lemma("Reduces") == "reduce"


def test_a_new_vocabulary_entry_is_one_line_in_one_data_file(tmp_path):
    """README "Adding a vocabulary entry": a new treatment and a new hedge, no code change."""
    from conftest import raw_frame

    from pipeline.analyse import label_units

    folder = rules_copy(
        tmp_path,
        treatments='{"id": "mesotherapy", "label": "Mesotherapy", "names": ["mesotherapy", "meso therapy"]}\n',
        cues='{"id": "hedge.reportedly", "category": "hedge", "direction": "forward", "phrases": ["reportedly"]}\n')
    c = label_units(raw_frame({"a.txt": "Meso therapy reportedly reduces pore size.\n"}), RuleSet.load(folder)).units.iloc[0]
    assert (c.is_claim, c.treatment, c.claim_type, c.certainty) == (True, "mesotherapy", "efficacy", "hedged")
@pytest.mark.parametrize("line, message", [
    ('{"id": "v", "category": "value", "aspect": "colour", "value": "red", "phrases": ["red"]}', "aspect 'colour' is not declared"),
    ('{"id": "v", "category": "value", "aspect": "pain", "value": "agony", "phrases": ["agony"]}', "value 'agony' is not one of aspect 'pain'"),
    ('{"id": "c", "category": "conflict", "aspect": "pain", "values": ["painless"]}', "a conflict needs 'values'"),
    ('{"id": "a", "category": "aspect", "aspect": "x", "kind": "fun", "values": ["a"], "qualifier": "none", "block": "treatment"}', "needs 'kind'"),
    ('{"id": "q", "category": "qualifier", "aspect": "pain", "qualifier": "all", "phrases": ["all"]}', "takes no qualifier groups"),
    ('{"id": "s", "category": "subtype", "treatment": "laser", "phrases": ["ipl"]}', "needs 'treatment' and 'subtype'"),
])
def test_bad_aspect_lines_name_file_and_line(tmp_path, line, message):
    decl = ('{"id": "aspect.pain", "category": "aspect", "aspect": "pain", "kind": "safety", '
            '"values": ["painless", "painful"], "qualifier": "none", "block": "treatment"}\n')
    p = write(tmp_path, "aspects.jsonl", "# comment\n" + decl + line + "\n")
    with pytest.raises(rules.RuleError) as exc:
        rules.load_aspects(p)
    assert f"{p}:3:" in str(exc.value) and message in str(exc.value)


@pytest.mark.parametrize("line, message", [
    ('{"id": "reg.x", "treatment": "needlework", "status": "cleared", "uses": [], "regulator": "r", "reference": "f"}', "unknown treatment 'needlework'"),
    ('{"id": "reg.x", "treatment": "prp", "status": "blessed", "uses": [], "regulator": "r", "reference": "f"}', "status"),
    ('{"id": "reg.x", "treatment": "prp", "status": "approved", "uses": "wrinkles", "regulator": "r", "reference": "f"}', "'uses' must be a list"),
    ('{"id": "reg.y", "treatment": "botox", "status": "approved", "uses": [], "regulator": "r", "reference": "f"}', "already has a line"),
])
def test_bad_regulatory_lines_name_file_and_line(tmp_path, line, message):
    ok = '{"id": "reg.botox", "treatment": "botox", "status": "approved", "uses": ["wrinkles"], "regulator": "US FDA", "reference": "f"}\n'
    p = write(tmp_path, "regulatory.jsonl", "# comment\n" + ok + line + "\n")
    with pytest.raises(rules.RuleError) as exc:
        rules.load_regulation(p, {t.id for t in RuleSet.load().treatments})
    assert f"{p}:3:" in str(exc.value) and message in str(exc.value)


def test_regulation_is_loaded_per_treatment():
    reg = RuleSet.load().regulation
    assert reg["botox"].status == "approved" and reg["microneedling"].status == "cleared"
    assert "pores" not in reg["microneedling"].uses and "scars" in reg["microneedling"].uses


def test_phrase_patterns_are_tokenized_as_the_tokenizer_would(nlp):
    """Plain words skip the tokenizer when the matcher is built (start-up time of ``check``);
    every other word goes through it, so a special case ("cannot") and punctuation
    ("post-treatment", "3-5") still give the tokenizer's tokens."""
    from pipeline.nlp.matcher import text_tokens

    phrases = ("cannot shrink", "post-treatment care", "3-5 sessions", "Gonna hurt", "retinol")
    for phrase, words in zip(phrases, text_tokens(nlp, list(phrases))):
        assert words == [t.text for t in nlp.make_doc(phrase)], phrase


def test_a_rule_reads_its_own_attributes_after_pickling_and_copying(rules):
    """Rules travel to worker processes (pickle) and may be copied: ``get`` stays the rule's
    own attribute lookup."""
    import copy
    import pickle

    rule = next(r for r in rules.cues if r.attrs)
    key, value = next(iter(rule.attrs.items()))
    for other in (pickle.loads(pickle.dumps(rule)), copy.deepcopy(rule), copy.copy(rule)):
        assert other == rule and other.get(key) == value and other.get("no such key", 7) == 7
        assert other.get.__self__ is other.attrs


def test_a_value_phrase_that_a_cancel_always_holds_is_refused(tmp_path):
    """'less downtime' listed as minimal downtime and as a comparison that states no amount:
    the value line can never assert, so the rule set says which two lines disagree."""
    folder = rules_copy(tmp_path, aspects=(
        '{"id": "downtime.test_value", "category": "value", "aspect": "downtime", "value": "minimal", '
        '"phrases": ["hardly any downtime", "less downtime"]}\n'))
    with pytest.raises(rules.RuleError, match=r"aspects.jsonl:\d+: phrase 'less downtime' of "
                                              r"downtime.test_value never asserts: cancel.downtime_comparative"):
        RuleSet.load(folder)


def test_subtypes_are_named_by_whole_words_of_their_own_treatment():
    index = RuleSet.load().aspects
    assert index.subtypes_of("laser_resurfacing", "A non-ablative laser heals in days.") == {"non_ablative"}
    assert index.subtypes_of("laser_resurfacing", "CO2 lasers are ablative.") == {"ablative"}
    assert index.subtypes_of("chemical_peel", "A Glycolic or TCA peel") == {"glycolic", "tca"}
    assert index.subtypes_of("chemical_peel", "A CO2 laser peel") == frozenset()      # another treatment's
    assert index.subtypes_of("microneedling", "non-ablative") == frozenset()          # none declared


# --- the rule cache (config.CACHE_DIR) -------------------------------------------------------

def _fresh_load(folder):
    """RuleSet.load as a new process makes it: nothing kept in this process."""
    rules._load.cache_clear()
    return RuleSet.load(folder)


def test_a_cached_rule_set_is_the_rule_set_the_files_give(tmp_path, monkeypatch):
    """The second load reads the cache instead of the files and gives the same rules (every
    attribute of every line), forms and lemmas."""
    import dataclasses

    def content(rs):
        lines = [dataclasses.astuple(r) for group in (rs.treatments, rs.cues, rs.aspect_rules, rs.compliance,
                                                      rs.context) for r in group]
        return lines, rs.regulation, rs.synonyms, rs.forms, rs.lemmas, rs.folder

    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
    folder = rules_copy(tmp_path)
    first = _fresh_load(folder)
    assert len(list((tmp_path / "cache").glob("rules-*.pickle"))) == 1
    monkeypatch.setattr(rules, "_read", lambda folder: pytest.fail("the files were read again"))
    second = _fresh_load(folder)
    assert second is not first
    assert content(second) == content(first)
    phrase = next(iter(first.forms))
    assert second.lemmas and second.forms_of(phrase) == first.forms_of(phrase) == lemmas.phrase_forms(phrase)


def test_an_edited_rule_file_is_read_again_and_a_bad_one_is_never_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
    folder = rules_copy(tmp_path)
    assert "mesotherapy" not in _fresh_load(folder).treatment_ids()
    with open(folder / "treatments.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"id": "mesotherapy", "label": "Mesotherapy", "names": ["mesotherapy"]}\n')
    assert "mesotherapy" in _fresh_load(folder).treatment_ids()
    with open(folder / "cues.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"id": "hedge.x", "category": "hedging", "phrases": ["x"]}\n')
    for _ in range(2):   # the error each time, from the files
        with pytest.raises(rules.RuleError, match=r"cues.jsonl:\d+: unknown category 'hedging'"):
            _fresh_load(folder)
    assert len(list((tmp_path / "cache").glob("rules-*.pickle"))) == 2


def test_a_damaged_or_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
    folder = rules_copy(tmp_path)
    expected = {r.id for r in _fresh_load(folder).cues}
    [entry] = (tmp_path / "cache").glob("rules-*.pickle")
    entry.write_bytes(entry.read_bytes()[:100])   # cut short, as by a full disk
    assert {r.id for r in _fresh_load(folder).cues} == expected
    assert len(entry.read_bytes()) > 100         # and stored whole again
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setattr(config, "CACHE_DIR", blocked)
    assert {r.id for r in _fresh_load(folder).cues} == expected


def test_no_cache_is_read_or_written_when_it_is_turned_off(tmp_path, monkeypatch):
    """CLAIMS_AUDIT_CACHE= (empty) turns the cache off; CLAIMS_AUDIT_CACHE=DIR moves it."""
    import subprocess
    import sys

    code = "from pipeline import config; print(config.CACHE_DIR)"
    for value, expected in (("", "None"), (str(tmp_path / "c"), str(tmp_path / "c"))):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=config.ROOT, env={**__import__("os").environ, "CLAIMS_AUDIT_CACHE": value})
        assert out.stdout.strip() == expected
    monkeypatch.setattr(config, "CACHE_DIR", None)
    _fresh_load(rules_copy(tmp_path))
    assert not (tmp_path / "c").exists()


def test_a_machine_without_a_home_folder_runs_without_a_cache():
    """A service account may have neither HOME nor a password entry (Path.home() raises): the
    commands still start, with no cache."""
    import os
    import subprocess
    import sys

    code = ("import pathlib\n"
            "def no_home(cls): raise RuntimeError('Could not determine home directory.')\n"
            "pathlib.Path.home = classmethod(no_home)\n"
            "from pipeline import config; print(config.CACHE_DIR)")
    env = {k: v for k, v in os.environ.items() if k not in ("CLAIMS_AUDIT_CACHE", "XDG_CACHE_HOME", "HOME")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=config.ROOT, env=env)
    assert (out.returncode, out.stdout.strip()) == (0, "None"), out.stderr


def test_the_cache_keeps_the_newest_rule_sets(tmp_path):
    from pipeline import io

    for n in range(4):
        io.write_cache(tmp_path / "cache" / f"rules-{n}.pickle", n, keep=2)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["rules-2.pickle", "rules-3.pickle"]
    assert io.read_cache(tmp_path / "cache" / "rules-3.pickle") == 3
    assert io.read_cache(tmp_path / "cache" / "rules-0.pickle") is None


def test_a_cached_rule_set_needs_no_lemma_table(tmp_path, monkeypatch, nlp):
    """What a cached rule set is for: building the pipeline and checking a text with it reads no
    lemma table (half of the rule set's load time), yet lemma rules still find inflections."""
    from pipeline.nlp import read_statements

    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
    folder = rules_copy(tmp_path)
    _fresh_load(folder)
    for cached in (lemmas.lemma_table, lemmas.inflections, lemmas.phrase_forms):
        cached.cache_clear()
    fresh = build_nlp(_fresh_load(folder))
    texts = ["Microneedling reduces pores.", "Peels reduced the pores and caused redness.",
             "Laser hair removal is painless and permanently removes hair."]
    found = read_statements(fresh, texts)
    assert found == read_statements(nlp, texts)
    assert "effect" in {a.aspect for a in found[0][0]}   # "reduces pores": a rule written "reduce pore"
    assert lemmas.lemma_table.cache_info().currsize == 0 and lemmas.phrase_forms.cache_info().currsize == 0
