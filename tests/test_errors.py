"""Errors a user understands (issue 12, item 5; issue 15, item 9): a folder of bad articles
still gives every output, an empty folder stops before anything is written, malformed
sources.csv / evidence.csv name the file and the line, UTF-16 without a BOM is read,
subfolders are audited or reported, and the documented exit codes hold for every command."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import config, tables
from pipeline.cli import app

ARTICLE = ("Microneedling aftercare\n\nMicroneedling has virtually no side effects. Avoid direct sun "
           "for a week after treatment.\nMicroneedling can cause redness and swelling for a few days.\n")
NO_DECISIONS = ["--decisions", "/nonexistent/decisions.csv"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def audit(raw: Path, out: Path, *extra: str):
    return run("audit", "--raw", str(raw), "--out", str(out), *NO_DECISIONS, *extra)


def one_line(res) -> str:
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


def test_a_folder_of_bad_articles_still_gives_every_output_and_a_report_that_says_why(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "empty.txt").write_bytes(b"")
    (raw / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (raw / "headings.md").write_text("# Microneedling\n\n## Cost\n", encoding="utf-8")
    out = tmp_path / "out"
    res = audit(raw, out)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    for name in (config.CLAIMS_CSV, config.CLAIMS_PARQUET, config.CONTRADICTIONS_CSV, config.PROBLEMS_CSV,
                 config.CLAIMS_REVIEW_XLSX, config.VALIDATION_JSON, config.REPORT_HTML):
        assert (out / name).is_file(), name
    claims = pd.read_csv(out / config.CLAIMS_CSV)
    assert claims.empty and "claim_id" in claims.columns
    page = (out / config.REPORT_HTML).read_text(encoding="utf-8")
    assert "No claims" in page
    for name in ("empty.txt", "binary.txt", "headings.md"):
        assert name in page
    assert audit(raw, tmp_path / "strict", "--no-report", "--strict").exit_code == 1


def test_a_batch_of_only_bad_articles_beside_good_batches(tmp_path):
    from pipeline.audit import run_audit

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (raw / "b.txt").write_bytes(b"")
    result = run_audit(raw, tmp_path / "out", validate=False, report=False, decisions=None, batch_size=1)
    assert set(result.claims["source_id"]) == {"a"}
    assert list(result.problems["file"]) == ["b.txt"]


@pytest.mark.parametrize("content", [{}, {"notes.pdf": b"%PDF", "README": b"x"}])
def test_a_folder_without_articles_stops_before_anything_is_written(tmp_path, content):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, data in content.items():
        (raw / name).write_bytes(data)
    out = tmp_path / "out"
    res = audit(raw, out)
    assert res.exit_code == 2
    assert one_line(res).startswith(f"error: no articles in {raw}")
    assert not out.exists()


def test_articles_only_in_subfolders_point_to_recursive(tmp_path):
    raw = tmp_path / "raw"
    (raw / "2024").mkdir(parents=True)
    (raw / "2024" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    res = audit(raw, tmp_path / "out")
    assert res.exit_code == 2 and "--recursive" in one_line(res)


@pytest.mark.parametrize("name,text,where,problem", [
    (config.SOURCES_FILE, "source_id,title,main_treatment\na,Peels,peel\nb,Lasers, old and new,laser\n",
     3, "4 field(s), the header has 3"),
    (config.SOURCES_FILE, 'source_id,title\na,"Peels\nb,Lasers\n', 2, "not valid CSV"),
    (config.SOURCES_FILE, b"source_id,title\na,Peels\nb,Caf\xe9\n", 3, "not UTF-8"),
    (config.EVIDENCE_CSV, ",".join(tables.EVIDENCE) + "\nE1" + "," * (len(tables.EVIDENCE) - 1)
     + "\nE2" + "," * len(tables.EVIDENCE) + "\n",
     3, f"{len(tables.EVIDENCE) + 1} field(s), the header has {len(tables.EVIDENCE)}"),
])
def test_a_malformed_sources_or_evidence_file_names_the_file_line_and_problem(tmp_path, name, text, where, problem):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(ARTICLE, encoding="utf-8")
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    (raw / name).write_bytes(data)
    out = tmp_path / "out"
    res = audit(raw, out)
    assert res.exit_code == 2, res.output
    line = one_line(res)
    assert f"{raw / name}:{where}:" in line and problem in line, line
    assert not out.exists()


@pytest.mark.parametrize("encoding,extra", [("utf-16-le", b""), ("utf-16-be", b""), ("utf-16-le", b"\x00"),
                                            ("utf-32", b"")])
def test_utf16_without_a_byte_order_mark_is_decoded(tmp_path, encoding, extra):
    """UTF-16 without a BOM (also cut off after an odd byte), and UTF-32 with its BOM."""
    from pipeline.audit import run_audit

    raw = tmp_path / "raw"
    raw.mkdir()
    text = ARTICLE.replace("a week", "a week (caf\u00e9 \u201cquotes\u201d)")
    (raw / "wide.txt").write_bytes(text.encode(encoding) + extra)
    result = run_audit(raw, tmp_path / "out", validate=False, report=False, workbook=False, decisions=None)
    assert result.problems.empty, result.problems.to_dict("records")
    assert "Microneedling has virtually no side effects." in set(result.claims["text"])
    for c in result.claims.itertuples():
        assert text[c.start:c.end] == c.text


def test_articles_in_subfolders_are_reported_or_audited_with_recursive(tmp_path):
    from pipeline.audit import run_audit

    raw = tmp_path / "raw"
    (raw / "2024" / "spring").mkdir(parents=True)
    (raw / "top.txt").write_text(ARTICLE, encoding="utf-8")
    (raw / "2024" / "a.txt").write_text(ARTICLE.replace("Microneedling", "Dermarolling"), encoding="utf-8")
    (raw / "2024" / "spring" / "top.txt").write_text(ARTICLE.replace("Microneedling", "Botox"), encoding="utf-8")
    (raw / "assets").mkdir()                 # no article inside: not a problem
    (raw / "assets" / "logo.png").write_bytes(b"\x89PNG")
    flat = run_audit(raw, tmp_path / "flat", validate=False, report=False, workbook=False, decisions=None)
    assert set(flat.claims["source_id"]) == {"top"}
    assert flat.problems.to_dict("records") == [
        {"file": "2024/", "problem": "subfolder with 2 article file(s); not audited (audit them with --recursive)"}]
    deep = run_audit(raw, tmp_path / "deep", validate=False, report=False, workbook=False, decisions=None,
                     recursive=True)
    assert deep.problems.empty
    assert set(deep.claims["source_id"]) == {"top", "2024/a", "2024/spring/top"}
    assert deep.claims["claim_id"].is_unique
    files = set(pd.read_csv(tmp_path / "deep" / config.CLAIMS_CSV)["source_id"])
    assert files == {"top", "2024/a", "2024/spring/top"}
    res = audit(raw, tmp_path / "cli", "--recursive", "--no-report", "--no-validate")
    assert res.exit_code == 0 and "audited 3 article(s)" in res.output


# --- exit codes: 0 clean, 1 findings / failed validation / --strict problems, 2 usage or input

CLEAN_DRAFT = "Book a consultation to discuss whether a chemical peel suits your skin.\n"
RISKY_DRAFT = "Microneedling is completely painless and totally safe for everyone.\n"


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("codes")
    raw = root / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(ARTICLE, encoding="utf-8")
    res = audit(raw, root / "out", "--no-report")
    assert res.exit_code == 0, res.output
    return root


@pytest.mark.parametrize("args,code", [
    (["audit", "--raw", "{root}/raw", "--out", "{root}/again", "--no-report", "--no-validate"], 0),
    (["audit", "--raw", "{root}/missing", "--out", "{root}/x"], 2),
    (["audit", "--raw", "{root}/raw", "--out", "{root}/x", "--rules", "{root}/no-rules"], 2),
    (["audit", "--raw", "{root}/raw", "--out", "{root}/x", "--workers", "0"], 2),
    (["audit", "--raw", "{root}/raw", "--out", "{root}/x", "--workers", "two"], 2),
    (["audit", "--raw", "{root}/missing", "--out", "{root}/x", "--workers", "auto"], 2),
    (["audit", "--raw", "{root}/raw", "--out", "{root}/x", "--no-such-option"], 2),
    (["check", "{root}/clean.txt", "--corpus", "{root}/out"], 0),
    (["check", "{root}/risky.txt", "--corpus", "{root}/out"], 1),
    (["check", "{root}/missing.txt"], 2),
    (["check", "{root}/clean.txt", "--format", "yaml"], 2),
    (["review", "import", "{root}/out/claims_review.xlsx", "--processed", "{root}/out",
      "--decisions", "{root}/decisions.csv", "--reviewer", "ann"], 0),
    (["review", "import", "{root}/missing.xlsx", "--processed", "{root}/out",
      "--decisions", "{root}/decisions.csv"], 2),
    (["review", "import", "{root}/raw/a.txt", "--processed", "{root}/out",
      "--decisions", "{root}/decisions.csv"], 2),
])
def test_exit_codes(audited, args, code):
    (audited / "clean.txt").write_text(CLEAN_DRAFT, encoding="utf-8")
    (audited / "risky.txt").write_text(RISKY_DRAFT, encoding="utf-8")
    args = [a.format(root=audited) for a in args]
    if args[0] == "audit":
        args += NO_DECISIONS
    res = run(*args)
    assert res.exit_code == code, res.output
    if code == 2:
        assert "Traceback" not in res.output


def test_a_failed_validation_exits_1_and_writes_nothing(tmp_path, stub_validator):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(ARTICLE, encoding="utf-8")
    stub_validator(fail=True)
    res = audit(raw, tmp_path / "out", "--no-report")
    assert res.exit_code == 1
    assert "expect_x" in res.output
    assert [p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")] == []
