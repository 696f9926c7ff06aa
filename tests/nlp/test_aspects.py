"""Assertions from literal sentences: negation scope, hedges, cancels, qualifiers."""
import pytest

from pipeline.nlp import make_block, read_statements
from pipeline.stages.contradict import full_value


def items(nlp, text):
    (found, _), = read_statements(nlp, [text])
    return {(a.aspect, full_value(a.value, a.qualifier)) for a in found}


@pytest.mark.parametrize("text, expected", [
    ("Microneedling has virtually no side effects.", {("side_effects", "minimal")}),
    ("Botox has no side effects.", {("side_effects", "none")}),
    ("Laser treatment may cause hyperpigmentation.", {("side_effects", "named:hyperpigmentation")}),
    ("It's not without its side effects.", {("side_effects", "named:side_effects")}),
    ("The peel does not cause irritation.", set()),
    ("Microderm does not have any direct impact on the size of pores.", {("pore_size_effect", "no_effect")}),
    ("Pore size cannot be permanently minimized.", {("permanence", "not_permanent")}),
    ("Nothing can permanently shrink pores.", {("permanence", "not_permanent")}),
    ("The strips permanently shrink pores.", {("permanence", "permanent"), ("pore_size_effect", "reduces")}),
    ("Micro-needling is a non-invasive method.", {("invasiveness", "non_invasive")}),
    ("Microdermabrasion is minimally invasive.", {("invasiveness", "minimally_invasive")}),
    ("The needles create micro-injuries in the skin.", {("invasiveness", "invasive")}),
    ("The inflammatory response to the micro-injuries helps healing.", set()),
    ("To minimize the risk of breakouts, cleanse gently.", set()),
    ("If the breakouts persist, see a doctor.", set()),
    ("The peel is painless and has no downtime.", {("pain", "painless"), ("downtime", "none")}),
    ("Expect 5 to 7 days of peeling.", {("downtime", "some"), ("side_effects", "named:peeling")}),
    ("One treatment is all it takes.", {("sessions", "single")}),
    ("Most clients need three to six sessions.", {("sessions", "multiple")}),
    ("It can only be performed by a trained professional.", {("setting", "professional_only")}),
    ("You can do it at home.", {("setting", "at_home")}),
    ("It suits every skin type.", {("candidacy", "suitable:all")}),
    ("If you have sensitive skin, these peels are not for you.", {("candidacy", "unsuitable:sensitive_skin")}),
    ("It is the best treatment for clogged pores.", {("ranking", "best:clogged_pores")}),
    ("It is one of the best treatments for enlarged pores.", set()),
    ("Does it reduce pores?", set()),
    ("The palms and soles are the only parts that don\u2019t have pores.", {("palms_soles_pores", "absent")}),
])
def test_assertions_of_literal_sentences(nlp, text, expected):
    assert items(nlp, text) == expected


def test_qualifier_goes_to_the_nearest_cue(nlp):
    got = items(nlp, "It is the best treatment for clogged pores and the safest way to treat enlarged pores.")
    assert got == {("ranking", "best:clogged_pores"), ("ranking", "safest:enlarged_pores")}


def test_named_effects_merge_into_one_assertion_with_words(nlp):
    (found, named), = read_statements(nlp, ["Microneedling can cause redness, swelling and pimples."])
    assert named == ("microneedling",)
    assert [(a.aspect, a.value, a.qualifier) for a in found] == [("side_effects", "named", "redness,swelling,pimples")]
    assert found[0].words == "redness, swelling, pimples"


def test_each_claim_span_carries_its_own_assertions(nlp):
    """One parse of a paragraph: every unit of doc.spans["claims"] has its assertions."""
    doc = nlp(make_block(nlp, "Botox has no side effects and is pain-free. Fillers may cause bruising."))
    spans = list(doc.spans["claims"])
    assert [s.text for s in spans] == ["Botox has no side effects and is pain-free.", "Fillers may cause bruising."]
    assert {(a.aspect, a.value) for a in spans[0]._.assertions} == {("side_effects", "none"), ("pain", "painless")}
    assert [(a.aspect, a.value, a.qualifier) for a in spans[1]._.assertions] == [("side_effects", "named", "bruising")]
