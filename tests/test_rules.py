import pytest

from pipeline import rules
from pipeline.nlp import build_nlp


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_rule_files_load():
    assert {t.id for t in rules.load_treatments()} >= {"microneedling", "microdermabrasion", "laser"}
    assert any(r.category == "negation" for r in rules.load_cues())
    assert any(r.category == "conflict" for r in rules.load_aspects())


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
    base = (rules.config.TREATMENTS_FILE).read_text(encoding="utf-8")
    p = write(tmp_path, "treatments.jsonl", base + '{"id": "mesotherapy", "names": ["mesotherapy", "meso therapy"]}\n')
    nlp = build_nlp(str(p))
    doc = nlp("Meso therapy may cause bruising.")
    assert [t for _, _, t in doc._.treatments] == ["mesotherapy"]


def test_lemma_rules_match_inflections(nlp):
    doc = nlp("The laser reduced the pores. Lasers reducing redness.")
    ids = {rid for _, _, rid in doc._.cues}
    assert "type.efficacy" in ids
    assert rules.lemma("Reduces") == "reduce"


def test_a_new_vocabulary_entry_is_one_line_in_one_data_file(tmp_path):
    """README "Adding a vocabulary entry": a new treatment and a new hedge, no code change."""
    from conftest import raw_frame

    from pipeline import config
    from pipeline.extract import extract
    from pipeline.ingest import ingest
    from pipeline.segment import segment
    from pipeline.tag import tag

    treatments = write(tmp_path, "treatments.jsonl", config.TREATMENTS_FILE.read_text(encoding="utf-8")
                       + '{"id": "mesotherapy", "label": "Mesotherapy", "names": ["mesotherapy", "meso therapy"]}\n')
    cues = write(tmp_path, "cues.jsonl", config.CUES_FILE.read_text(encoding="utf-8")
                 + '{"id": "hedge.reportedly", "category": "hedge", "direction": "forward", "phrases": ["reportedly"]}\n')
    nlp = build_nlp(str(treatments), str(cues))
    docs, _ = ingest(raw_frame({"a.txt": "Meso therapy reportedly reduces pore size.\n"}))
    c = tag(extract(docs, segment(docs), nlp)).iloc[0]
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
