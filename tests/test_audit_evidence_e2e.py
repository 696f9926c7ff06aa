"""End to end on the five articles: evidence status, evidence.csv output, contradiction columns."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline import tables
from pipeline import config
from pipeline.audit import run_audit


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("out_ev")
    result = run_audit(config.RAW_DIR, out, validate=True, report=False)
    assert all(v["success"] for v in result.validation.values()), result.validation
    return out


def status(claims: pd.DataFrame, startswith: str) -> tuple[str, str]:
    row = claims[claims["text"].str.startswith(startswith)].iloc[0]
    return row.evidence_status, row.evidence_ids


def test_claims_contradicted_by_evidence_with_ids(out):
    claims = pd.read_csv(out / config.CLAIMS_CSV, keep_default_na=False)
    assert set(claims["evidence_status"]) <= set(config.EVIDENCE_STATUSES)
    st, ids = status(claims, "The palms of your hand and sole")
    assert st == "contradicted" and "PO-05" in ids.split(";")
    st, ids = status(claims, "Micro-needling is a non-invasive method")
    assert st == "contradicted" and {"MN-01", "MN-10"} <= set(ids.split(";"))
    st, ids = status(claims, "Microderm does not have any direct impact")
    assert st == "contradicted" and "MD-04" in ids.split(";")
    assert status(claims, "Genetics often play a role") == ("no_evidence", "")


def test_evidence_table_is_copied_and_contradictions_have_severity(out):
    ev = pd.read_csv(out / config.EVIDENCE_CSV, keep_default_na=False)
    src = pd.read_csv(config.RAW_DIR / config.EVIDENCE_CSV, keep_default_na=False)
    assert ev.equals(src)
    contra = pd.read_csv(out / config.CONTRADICTIONS_CSV, keep_default_na=False)
    assert list(contra.columns) == tables.CONTRADICTIONS
    assert set(contra["severity"]) <= {"high", "medium", "low"} and (contra["repeats"] >= 1).all()
    side = contra[(contra["aspect"] == "side_effects") & contra["text_a"].str.contains("virtually no side effects")]
    assert len(side) >= 10 and set(side["severity"]) == {"high"}
