"""Extract + tag on small literal articles (written for these tests)."""
from conftest import claim

from pipeline.tag import claim_id, text_key


def test_negation_reaches_its_target(run_text):
    units = run_text({"a.txt": "Microneedling has virtually no side effects. Microneedling is painful for some.\n"})
    c = claim(units, "Microneedling has virtually")
    assert (c.treatment, c.claim_type, c.negated) == ("microneedling", "safety", True)
    assert bool(claim(units, "Microneedling is painful").negated) is False


def test_negation_stops_at_terminator(run_text):
    units = run_text({"a.txt": "Chemical peels are not for everyone, but they can reduce fine lines within weeks.\n"})
    parts = units[units["is_claim"]]
    # the clause after "but" is not negated
    assert not parts[parts["text"].str.contains("reduce")]["negated"].any()


def test_compound_sentence_gives_two_claims_with_clause_offsets(run_text):
    text = "Laser skin resurfacing or Fraxel can treat enlarged pores, but may cause hyperpigmentation.\n"
    units = run_text({"a.txt": text})
    claims = units[units["is_claim"]]
    assert list(claims["claim_type"]) == ["efficacy", "safety"]
    assert list(claims["treatment"]) == ["laser", "laser"]
    for c in claims.itertuples():
        assert text[c.start:c.end] == c.text
    assert claims.iloc[1]["text"] == "may cause hyperpigmentation."


def test_implicit_subject_comes_from_section_not_last_noun(run_text):
    text = ("Why choose a HydraFacial\n"
            "Unlike pore strips, it cleans pores without pulling the skin.\n"
            "The procedure takes about 30 minutes per session.\n")
    units = run_text({"a.txt": text})
    assert claim(units, "The procedure").treatment == "hydrafacial"
    assert claim(units, "The procedure").claim_type == "regimen"


def test_skin_claims_stay_without_treatment(run_text):
    units = run_text({"a.txt": "Microneedling Facts\nPore size is mainly determined by genetics.\n"})
    c = claim(units, "Pore size")
    assert (c.treatment, c.claim_type, c.certainty) == ("none", "etiology", "hedged")


def test_questions_headings_and_calls_to_action_are_not_claims(run_text):
    units = run_text({"a.txt": "Does a peel hurt?\nBook a Consultation\nHere are some tips:\nA glycolic peel can sting for a minute.\n"})
    assert list(units[units["is_claim"]]["text"]) == ["A glycolic peel can sting for a minute."]


def test_certainty(run_text):
    units = run_text({"a.txt": "Retinol reduces pores. Retinol may irritate the skin. "
                               "If you have sensitive skin, retinol can cause redness.\n"})
    assert [c for c in units[units["is_claim"]]["certainty"]] == ["absolute", "hedged", "conditional"]


def test_offsets_survive_nbsp_and_curly_quotes(run_text):
    text = "Intro line here\n\u201cMicroneedling\u00a0is\u00a0painless,\u201d they say. It\u2019s safe.\n"
    units = run_text({"a.txt": text})
    for c in units[units["is_claim"]].itertuples():
        assert text[c.start:c.end] == c.text
    assert "\u00a0" in units[units["is_claim"]].iloc[0]["text"]  # shown as in the source


def test_claim_id_depends_on_text_not_offset():
    assert claim_id("s", "It is  safe.", 0) == claim_id("s", "it is safe", 0)
    assert claim_id("s", "It is safe.", 0) != claim_id("s", "It is safe.", 1)
    assert claim_id("s", "It is safe.", 0) != claim_id("t", "It is safe.", 0)
    assert text_key("\u201cSafe\u201d\u00a0claims!") == '"safe" claims'
