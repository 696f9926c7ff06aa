"""End to end: audit the five source articles into a temporary folder, twice."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline import config
from pipeline.audit import run_audit
from pipeline.stages.ingest import decode


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = run_audit(config.RAW_DIR, out, validate=True, report=True)
    return out, result


def row(claims: pd.DataFrame, startswith: str) -> pd.Series:
    hits = claims[claims["text"].str.startswith(startswith)]
    assert len(hits) >= 1, startswith
    return hits.iloc[0]


def test_every_output_is_written(audited):
    out, result = audited
    for name in (config.CLAIMS_CSV, config.CLAIMS_PARQUET, config.CONTRADICTIONS_CSV,
                 config.VALIDATION_JSON, config.REPORT_HTML):
        assert (out / name).stat().st_size > 0, name
    assert all(v["success"] for v in result.validation.values())
    claims = pd.read_csv(out / config.CLAIMS_CSV, keep_default_na=False)
    assert list(claims.columns[:10]) == ["claim_id", "source_id", "start", "end", "text", "kind",
                                        "section", "treatment", "treatments", "subjects"]
    assert set(claims["source_id"]) == {p.stem for p in config.RAW_DIR.glob("*.txt")}


def test_offsets_point_at_the_claim_text(audited):
    out, _ = audited
    claims = pd.read_parquet(out / config.CLAIMS_PARQUET)
    texts = {p.stem: decode(p.read_bytes())[0] for p in config.RAW_DIR.glob("*.txt")}
    for c in claims.itertuples():
        assert texts[c.source_id][c.start:c.end] == c.text


def test_known_claims_are_tagged(audited):
    out, _ = audited
    claims = pd.read_csv(out / config.CLAIMS_CSV, keep_default_na=False)
    c = row(claims, "Microneedling\u00a0has virtually no side effects")
    assert (c.treatment, c.claim_type, c.negated) == ("microneedling", "safety", True)
    c = row(claims, "Microderm does not have any direct impact on the size of pores")
    assert (c.treatment, bool(c.negated)) == ("microdermabrasion", True)


def test_microderm_pore_claims_are_a_within_source_contradiction(audited):
    out, _ = audited
    claims = pd.read_csv(out / config.CLAIMS_CSV, keep_default_na=False).set_index("claim_id")
    contra = pd.read_csv(out / config.CONTRADICTIONS_CSV, keep_default_na=False)
    texts = {(claims.loc[r.claim_a, "text"], claims.loc[r.claim_b, "text"], r.scope)
             for r in contra.itertuples()}
    assert any(a.startswith("Microderm does not have any direct impact") and "large pores tend to shrink" in b
               and scope == "within_source" for a, b, scope in texts)
    assert all(len(r) > 40 for r in contra["rationale"])


def test_report_holds_the_sections(audited):
    out, result = audited
    page = (out / config.REPORT_HTML).read_text(encoding="utf-8")
    for heading in ("Summary", "Claims by treatment and claim type", "Contradictions", "All claims"):
        assert heading in page
    assert "data:image/png;base64" in page
    assert "<script src=\"http" not in page and "cdnjs" not in page


def test_second_run_is_byte_identical(audited, tmp_path):
    out, result = audited
    run_audit(config.RAW_DIR, tmp_path, validate=False, report=False)
    for name in (config.CLAIMS_CSV, config.CONTRADICTIONS_CSV, config.CLAIMS_PARQUET,
                 config.CLAIMS_REVIEW_XLSX, config.REVIEW_STATUS_CSV):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_the_audit_command_freezes_the_heap_only_once_its_outputs_are_written(tmp_path, monkeypatch):
    """The command skips the exit's last collection (lifecycle.quiet_exit), and only after the
    output set is committed: a frozen object is never collected, so no file may still be open."""
    import gc

    from typer.testing import CliRunner

    from pipeline import lifecycle
    from pipeline.cli import app

    seen = []
    monkeypatch.setattr(lifecycle, "quiet_exit", lambda: (
        seen.append(sorted(p.name for p in tmp_path.iterdir())), gc.freeze()))
    res = CliRunner().invoke(app, ["audit", "--raw", str(config.RAW_DIR), "--out", str(tmp_path),
                                   "--no-report", "--no-workbook", "--no-validate",
                                   "--decisions", str(tmp_path / "none.csv")])
    assert res.exit_code == 0, res.output
    assert len(seen) == 1 and config.CLAIMS_CSV in seen[0]
    assert not [n for n in seen[0] if n.startswith(".") and n != config.OUT_LOCK_FILE]   # nothing staged
    assert gc.get_freeze_count() > 0
