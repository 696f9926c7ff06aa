"""Extract + tag on small literal articles (written for these tests)."""
from conftest import claim

from pipeline.text import claim_id, text_key


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
    assert list(claims["treatment"]) == ["laser_resurfacing", "laser_resurfacing"]
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
    # "mainly" is not a hedge (gold LABELLING.md: "largely determined by genetics" is absolute)
    assert (c.treatment, c.claim_type, c.certainty) == ("none", "etiology", "absolute")


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


def test_prohibitions_are_not_negated_claims_but_denials_are(run_text):
    units = run_text({"a.txt": "Peel Care\nTCA peels should not be used on dark skin tones. "
                               "A lactic peel does not cause irritation.\n"})
    assert bool(claim(units, "TCA peels").negated) is False
    assert bool(claim(units, "A lactic peel").negated) is True


def test_negation_inside_a_condition_does_not_negate_the_claim(run_text):
    units = run_text({"a.txt": "If the skin is not cleaned properly, microneedling can cause infection.\n"})
    c = claim(units, "If the skin")
    assert (c.negated, c.certainty, c.claim_type, c.treatment) == (False, "conditional", "safety", "microneedling")


def test_concession_splits_into_main_and_conceded_claims(run_text):
    text = "While a HydraFacial is effective for congestion, it may cause mild redness.\n"
    units = run_text({"a.txt": text})
    claims = units[units["is_claim"]]
    assert list(claims["claim_type"]) == ["efficacy", "safety"]
    assert list(claims["treatment"]) == ["hydrafacial", "hydrafacial"]
    assert claims.iloc[1]["text"] == "it may cause mild redness."


def test_imperatives_are_advice_about_the_section_treatment(run_text):
    text = ("After your Fraxel session\n"
            "Unless your doctor says otherwise, avoid retinoids for a week.\n"
            "Firstly, ensure that your practitioner is qualified.\n")
    units = run_text({"a.txt": text})
    for start in ("Unless your doctor", "Firstly"):
        c = claim(units, start)
        assert (c.claim_type, c.treatment, bool(c.negated)) == ("advice", "laser_resurfacing", False), start


def test_lead_in_lines_are_list_items_and_claims(run_text):
    text = ("Using a retinoid\nRetinol can irritate the skin. Here are some tips:\n\n"
            "Apply a pea-sized amount at night\nWear sunscreen every morning\n")
    units = run_text({"a.txt": text})
    items = units[units["kind"] == "list_item"]
    assert list(items["text"]) == ["Apply a pea-sized amount at night", "Wear sunscreen every morning"]
    assert items["is_claim"].all() and set(items["claim_type"]) == {"advice"}


def test_preventing_a_harm_is_a_benefit_not_a_safety_claim(run_text):
    units = run_text({"a.txt": "Sunscreen prevents pigmentation after a peel. A peel can cause pigmentation.\n"})
    assert claim(units, "Sunscreen").claim_type == "efficacy"
    assert claim(units, "A peel").claim_type == "safety"


def test_ipl_is_not_a_laser(run_text):
    units = run_text({"a.txt": "IPL can fade redness and sun spots.\n"})
    assert claim(units, "IPL").treatment == "ipl"


def test_a_short_answer_asserts_what_the_question_asks(run_text):
    units = run_text({"a.txt": "Does a chemical peel hurt?\nNo. Most clients feel a mild tingle.\n"})
    c = claim(units, "No.")
    assert (c.treatment, c.claim_type, c.certainty, bool(c.negated)) == ("chemical_peel", "safety", "absolute", True)
    assert not units[units["text"].str.startswith("Does")]["is_claim"].any()


def test_plain_physiology_is_not_a_claim_but_causes_are(run_text):
    units = run_text({"a.txt": "About pores\nPores produce sebum and release sweat. "
                               "Clogged pores are often caused by excess sebum.\n"})
    assert not units[units["text"].str.startswith("Pores produce")]["is_claim"].any()
    c = claim(units, "Clogged pores")
    assert (c.treatment, c.claim_type) == ("none", "etiology")


def test_a_call_to_action_after_a_claim_leaves_the_claim(run_text):
    units = run_text({"a.txt": "Lip filler gives you fuller lips in minutes, and this offer ends soon, so book now.\n"
                               "Book now for a free consultation.\n"})
    assert list(units[units["is_claim"]]["text"]) == [
        "Lip filler gives you fuller lips in minutes, and this offer ends soon, so book now."]


def test_a_regulatory_claim_or_a_device_without_a_name_is_about_the_topic(run_text):
    units = run_text({"a.txt": "Tattoo removal with PicoSure\nPicoSure laser tattoo removal works fast. "
                               "FDA clearance came in 2012.\n\nCoolSculpting\nCoolSculpting reduces fat. "
                               "A device fixed to the skin freezes the fat cells painlessly. "
                               "A device fixed to the skin freezes the fat cells below it without causing any trauma to the skin.\n"})
    assert claim(units, "FDA clearance").treatment == "laser_tattoo_removal"
    assert claim(units, "A device fixed to the skin freezes the fat cells painlessly").treatment == "cryolipolysis"
    assert claim(units, "A device fixed to the skin freezes the fat cells below").treatment == "cryolipolysis"   # the subject is the device, not skin


def test_a_heading_that_promises_a_benefit_is_a_claim_other_headings_are_not(run_text):
    units = run_text({"a.txt": "Laser Tattoo Removal Is Painless\n\nOur clinic offers laser tattoo removal.\n\n"
                               "Laser Tattoo Removal Side Effects\n\nRedness can last a day.\n\nWhy Choose Us\n"})
    heads = units[units["kind"] == "heading"]
    assert dict(zip(heads["text"], heads["is_claim"])) == {
        "Laser Tattoo Removal Is Painless": True, "Laser Tattoo Removal Side Effects": False, "Why Choose Us": False}
    assert claim(units, "Laser Tattoo Removal Is Painless").treatment == "laser_tattoo_removal"


def test_a_count_of_sessions_in_digits_is_a_regimen(run_text):
    """'3-5 sessions are required' says how many treatments it takes, as 'three sessions' does;
    a number of weeks is not a count of sessions."""
    units = run_text({"a.txt": "Laser hair removal\n3-5 sessions are required to reach the optimum outcome. "
                               "Most people need 6 treatments. Results show in 6 weeks.\n"})
    assert claim(units, "3-5 sessions").claim_type == "regimen"
    assert claim(units, "Most people need 6").claim_type == "regimen"
    assert "type.regimen.count_digits" not in claim(units, "Results show").cue_ids
