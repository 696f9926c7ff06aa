"""Assertions from literal sentences: negation scope, hedges, cancels, qualifiers."""
import pytest

from pipeline.nlp import make_block, read_statements
from pipeline.stages.contradict import full_value


def items(nlp, text):
    (found, _), = read_statements(nlp, [text])
    return {(a.aspect, full_value(a.value, a.qualifier)) for a in found}


@pytest.mark.parametrize("text, expected", [
    ("Microneedling has virtually no side effects.", {("side_effects", "none")}),
    ("It freezes fat without causing any trauma to the skin.", {("effect", "improves:fat"), ("side_effects", "none")}),
    ("Overuse will not burn or damage the skin.", {("side_effects", "none")}),   # both cues of "burn" negated
    ("Overuse can permanently damage your tooth enamel.", {("side_effects", "serious:damage_your_tooth_enamel")}),
    ("Microneedling creates controlled damage in the skin.", {("invasiveness", "breaks_skin")}),   # how it works, no harm named
    ("The risks of older lasers are no longer an issue.", {("side_effects", "none")}),   # not cancelled by "the risks"
    ("Fillers rank among the safest treatments.", {("side_effects", "safe")}),
    ("The laser gets a safe and customized setting.", set()),
    ("Extensive testing has shown it to be safe.", {("side_effects", "safe")}),
    ("People with dark skin can heal to a hypopigmented shade.",
     {("candidacy", "at_risk:darker_skin"), ("side_effects", "serious:hypopigmented")}),
    ("Laser resurfacing for acne scarring requires light skin.", set()),
    ("Risks include inflammation.redness.tenderness.", {("side_effects", "named:inflammation,redness,tenderness")}),
    ("Botox has no side effects.", {("side_effects", "none")}),
    ("Laser treatment may cause hyperpigmentation.", {("side_effects", "serious:hyperpigmentation")}),
    ("Fillers may cause mild bruising.", {("side_effects", "named:bruising")}),
    ("Side effects are usually mild and temporary.", {("side_effects", "minimal")}),
    ("It's not without its side effects.", {("side_effects", "named:side_effects")}),
    ("The peel does not cause irritation.", set()),
    ("Microneedling improves acne scarring.", {("effect", "improves:scars")}),
    ("In people who have acne scars, Botox may help.", set()),
    ("Microderm does not have any direct impact on the size of pores.", {("effect", "no_effect:pores")}),
    ("Pore size cannot be permanently minimized.", {("durability", "temporary"), ("effect", "improves:pores")}),
    ("The strips permanently shrink pores.", {("durability", "permanent"), ("effect", "improves:pores")}),
    ("Using it near the eyes can cause permanent injury.", {("side_effects", "serious:permanent_injury")}),
    ("Laser hair removal gives a permanent hair reduction.", {("effect", "improves:hair")}),
    ("Results last 3-4 months.", {("durability", "temporary:3 - 4 months")}),
    ("The strips make your pores bigger.", {("effect", "worsens:pores")}),
    ("Micro-needling is a non-invasive method.", {("invasiveness", "non_invasive")}),
    ("Microdermabrasion is minimally invasive.", {("invasiveness", "minimally_invasive")}),
    ("It is an invasive procedure.", {("invasiveness", "invasive")}),
    ("The needles create micro-injuries in the skin.", {("invasiveness", "breaks_skin")}),
    ("To minimize the risk of breakouts, cleanse gently.", set()),
    ("If the breakouts persist, see a doctor.", set()),
    ("The peel is painless and has no downtime.", {("pain", "none"), ("downtime", "none")}),
    ("A numbing cream is applied first.", {("pain", "some")}),
    ("Expect 5 to 7 days of peeling.", {("downtime", "long:5 to 7 days"), ("side_effects", "named:peeling")}),
    ("Redness usually clears up within a few days.", {("downtime", "some:few days"), ("side_effects", "named:redness")}),
    ("Full recovery may take 3-4 months.", {("downtime", "long:3 - 4 months")}),
    ("It needs minimal downtime.", {("downtime", "minimal")}),
    ("It requires no downtime or aftercare.", {("downtime", "none"), ("aftercare", "none")}),
    ("The procedure lasts about 30 minutes.", set()),
    ("One treatment is all it takes.", {("sessions", "single")}),
    ("Most clients need three to six sessions.", {("sessions", "multiple")}),
    ("It can only be performed by a trained professional.", {("setting", "medical_only")}),
    ("You can do it at home.", {("setting", "non_medical")}),
    ("It is FDA-approved.", {("regulatory", "approved")}),
    ("The device is FDA-cleared.", {("regulatory", "cleared")}),
    ("It suits every skin type.", {("candidacy", "suitable:all_skin_types")}),
    ("If you have sensitive skin, these peels are not for you.", {("candidacy", "unsuitable:sensitive_skin")}),
    ("Darker skin has a greater risk of hyperpigmentation.", {("candidacy", "at_risk:darker_skin"), ("side_effects", "serious:hyperpigmentation")}),
    ("It is the best treatment for clogged pores.", {("ranking", "best:clogged_pores"), ("effect", "improves:clogged_pores")}),
    ("It is an effective treatment.", set()),   # praise with no outcome named asserts no effect
    ("Laser hair removal is uncomfortable.", {("pain", "some")}),   # a name asserts nothing
    ("Peels are not permanent.", {("durability", "temporary")}),
    ("It is one of the best treatments for enlarged pores.", {("effect", "improves:pores")}),
    ("Does it reduce pores?", set()),
    ("The palms and soles are the only parts that don\u2019t have pores.", {("palms_soles_pores", "absent")}),
])
def test_assertions_of_literal_sentences(nlp, text, expected):
    assert items(nlp, text) == expected


def test_qualifier_goes_to_the_nearest_cue(nlp):
    got = items(nlp, "It is the best treatment for clogged pores and the safest way to treat enlarged pores.")
    assert {a for a in got if a[0] == "ranking"} == {("ranking", "best:clogged_pores"), ("ranking", "safest:pores")}


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
    assert {(a.aspect, a.value) for a in spans[0]._.assertions} == {("side_effects", "none"), ("pain", "none")}
    assert [(a.aspect, a.value, a.qualifier) for a in spans[1]._.assertions] == [("side_effects", "named", "bruising")]


def test_span_extensions_read_the_unit_records(nlp):
    """The components write one record per unit (doc._.units, in span order); a claim span's
    extensions read its record, and a span that is no unit reads the defaults."""
    doc = nlp(make_block(nlp, "Fillers may cause bruising. Laser skin resurfacing can treat enlarged pores, "
                               "but may cause hyperpigmentation."))
    spans, units = list(doc.spans["claims"]), doc._.units
    assert [(s.start, s.end) for s in spans] == [(u.start, u.end) for u in units]
    assert [s.text for s in spans] == [doc.text[u.start_char:u.end_char] for u in units]
    for span, unit in zip(spans, units):
        assert span._.assertions is unit.assertions and span._.findings is unit.findings
        assert span._.features is unit.features and span._.clause == unit.clause
    assert [s._.clause for s in spans] == [0, 1, 2]   # the second sentence split at ", but"
    assert [(a.aspect, a.qualifier) for a in spans[2]._.assertions] == [("side_effects", "hyperpigmentation")]
    other = doc[1:3]
    assert (other._.assertions, other._.findings, other._.features, other._.clause) == (None, None, None, 0)
