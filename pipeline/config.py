"""All paths, file names, vocabularies of allowed values and tunable constants in one place.

Stages import from here instead of spelling paths or magic numbers themselves, so a reader
finds every knob of the audit on one page.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
RULES_DIR = PACKAGE / "rules"

RAW_DIR = ROOT / "data" / "raw"
PROCESSED_DIR = ROOT / "data" / "processed"
REVIEW_DIR = ROOT / "data" / "review"
EXPECTATIONS_DIR = ROOT / "expectations"
NOTEBOOKS_DIR = ROOT / "notebooks"
REPORT_NOTEBOOK = NOTEBOOKS_DIR / "audit_report.ipynb"

SOURCES_FILE = "sources.csv"           # optional metadata beside the articles
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_ARTICLE_BYTES = 5 * 1024 * 1024    # ~800,000 words; larger files are refused with a message

# Output file names inside the --out folder.
CLAIMS_CSV = "claims.csv"
CLAIMS_PARQUET = "claims.parquet"
CONTRADICTIONS_CSV = "contradictions.csv"
PROBLEMS_CSV = "problems.csv"
VALIDATION_JSON = "validation.json"
REPORT_HTML = "report.html"

# Allowed label values (the claims guide is the spec).
CLAIM_TYPES = (
    "safety", "comparative", "durability", "efficacy", "candidacy",
    "regimen", "mechanism", "advice", "etiology",
)  # in priority order: when two fit, the earlier wins
CERTAINTIES = ("absolute", "hedged", "conditional")
UNIT_KINDS = ("heading", "list_item", "sentence")
SCOPES = ("within_source", "cross_source")
NO_TREATMENT = "none"

# Rule files (data, one rule a line, validated on load).
TREATMENTS_FILE = RULES_DIR / "treatments.jsonl"
CUES_FILE = RULES_DIR / "cues.jsonl"
ASPECTS_FILE = RULES_DIR / "aspects.jsonl"

# Segmentation heuristics.
HEADING_MAX_WORDS = 14      # a line without final punctuation and at most this many words
MAX_BLOCK_CHARS = 4000      # longer paragraphs are cut at sentence ends (keeps a 20 MB line linear)
NEGATION_WINDOW = 8         # tokens a negation or hedge cue reaches (ConText default is 8)

# Bad input and scale.
ENGLISH_MIN_SHARE = 0.12    # below this share of English function words an article is not audited
ENGLISH_MIN_WORDS = 30      # shorter texts are not judged for language
AUDIT_BATCH_ARTICLES = 200  # articles per streamed batch (and per worker task)
PROGRESS_MIN_ARTICLES = 500 # show progress when stderr is a terminal or the folder is this large

CLAIM_COLUMNS = [
    "claim_id", "source_id", "start", "end", "text", "kind", "section",
    "treatment", "treatments", "claim_type", "certainty", "negated", "assertions", "family_id",
    "cues",
]
CONTRADICTION_COLUMNS = [
    "contradiction_id", "claim_a", "claim_b", "source_a", "source_b", "scope",
    "treatment", "aspect", "value_a", "value_b", "text_a", "text_b", "rationale",
]
PROBLEM_COLUMNS = ["file", "problem"]
