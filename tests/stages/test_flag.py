"""The flag stage: a rule's match holds for a claim only for its treatments, types and the
regulator's record of the claim's treatment (regulatory.jsonl)."""
import pytest

from pipeline.dev.eval_rules import example_hits
from pipeline.nlp import RuleSet


def fired(text: str) -> set[str]:
    """The rules that fire on one draft, through ingest, tag and the flag stage."""
    return example_hits([{"text": text}], RuleSet.load())[0]


@pytest.mark.parametrize("text, expected", [
    ("Our microneedling pen is FDA-approved.", True),          # devices are cleared, not approved
    ("Botox is FDA-approved for frown lines.", False),          # a medicine the FDA approved
    ("Our laser hair removal is FDA-cleared.", False),          # the right word
])
def test_approved_fires_only_where_the_regulator_did_not_approve(text, expected):
    assert ("regulatory_misstatement.approved" in fired(text)) is expected


@pytest.mark.parametrize("text, expected", [
    ("Microneedling shrinks enlarged pores.", True),            # pores are not an authorised use
    ("Microneedling improves acne scars.", False),              # an authorised use
    ("Microneedling can improve fine lines and wrinkles.", False),
    ("Botox reduces the size of large pores.", True),
    ("Retinol reduces the size of large pores.", False),        # no device or medicine record
    ("Microneedling does not shrink pores.", False),            # denied, not promoted
])
def test_off_label_fires_on_outcomes_outside_the_authorised_uses(text, expected):
    assert ("off_label_use.unauthorised_outcome" in fired(text)) is expected
