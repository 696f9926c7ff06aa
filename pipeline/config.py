"""All paths, file names, vocabularies of allowed values and tunable constants in one place.

Stages import from here instead of spelling paths or magic numbers themselves, so a reader
finds every knob of the audit on one page.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
RULES_DIR = PACKAGE / "rules"
# Where start-up keeps what it derives from the rule files (the validated rule set with its
# inflected forms), so a short run does not derive it again. CLAIMS_AUDIT_CACHE names another
# folder; set to an empty value, no cache is read or written.
try:
    _USER_CACHE: Path | None = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claims-audit"
except RuntimeError:   # no home folder (a service account without one): no cache
    _USER_CACHE = None
CACHE_DIR = (Path(os.environ["CLAIMS_AUDIT_CACHE"]) if os.environ.get("CLAIMS_AUDIT_CACHE")
             else None if "CLAIMS_AUDIT_CACHE" in os.environ else _USER_CACHE)
CACHE_KEEP = 8   # cached rule sets kept (one per rules folder and version of the code); older ones go

RAW_DIR = ROOT / "data" / "raw"
PROCESSED_DIR = ROOT / "data" / "processed"
REVIEW_DIR = ROOT / "data" / "review"
EXPECTATIONS_DIR = ROOT / "expectations"
NOTEBOOKS_DIR = ROOT / "notebooks"
REPORT_NOTEBOOK = NOTEBOOKS_DIR / "audit_report.ipynb"
GOLD_CLAIMS_DIR = ROOT / "tests" / "gold" / "claims"   # hand-labelled units, one CSV per article
HELDOUT_DIR = ROOT / "tests" / "heldout" / "articles"  # articles never used to tune the rules
HELDOUT_GOLD_DIR = ROOT / "tests" / "heldout" / "gold"
TEST_ARTICLES_DIR = ROOT / "tests" / "articles"        # articles written for tests (labelled too)
DEV_CORPUS_DIR = ROOT.parent / "shared" / "corpus"    # real-world pages with hand gold (not in the repo)
WIDER_CORPUS_DIR = ROOT / "tests" / "wider"           # pages on wider treatments, written for tests
# Expected evidence status of key claims of the development corpus, labelled before reading output
# (a corpus's own gold/evidence_status.csv takes precedence).
EVIDENCE_GOLD_FILE = ROOT / "tests" / "gold" / "evidence_status.csv"
EVIDENCE_MIN_ACCURACY = 0.8   # floor of the evidence check on those claims
# Random samples of what the audit raised on the development corpus, judged by hand against the
# claims guide (verdict right/wrong, why): the precision `make eval` reports.
JUDGED_SAMPLES = {"contradictions": ROOT / "tests" / "gold" / "precision_contradictions.csv",
                  "flags": ROOT / "tests" / "gold" / "precision_flags.csv"}

SOURCES_FILE = "sources.csv"           # optional metadata beside the articles
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_ARTICLE_BYTES = 5 * 1024 * 1024    # ~800,000 words; larger files are refused with a message

# Output file names inside the --out folder.
CLAIMS_CSV = "claims.csv"
CLAIMS_PARQUET = "claims.parquet"
ASSERTIONS_CSV = "assertions.csv"       # what each claim asserts (aspect, value, qualifier, words)
CONTRADICTIONS_CSV = "contradictions.csv"
CONTRADICTION_GROUPS_CSV = "contradiction_groups.csv"  # one row per claim under attack (stages/groups.py)
ARTICLES_CSV = "articles.csv"           # source_id, file and title of every article read
PROBLEMS_CSV = "problems.csv"
VALIDATION_JSON = "validation.json"
REPORT_HTML = "report.html"
OUT_LOCK_FILE = ".audit.lock"       # held by the run writing the folder (a second run stops)
OUT_STAGING_PREFIX = ".staging-"    # a run's private folder of complete files before the renames

# Allowed label values (the claims guide is the spec).
CLAIM_TYPES = (
    "safety", "regulatory", "comparative", "durability", "efficacy", "candidacy",
    "regimen", "mechanism", "advice", "etiology",
)  # in priority order: when two fit, the earlier wins
CERTAINTIES = ("absolute", "hedged", "conditional")
SCOPES = ("within_source", "cross_source")
NO_TREATMENT = "none"


# Segmentation heuristics.
HEADING_MAX_WORDS = 14      # a line without final punctuation and at most this many words
INTRO_MAX_TOKENS = 16      # an introductory phrase ("After a glycolic peel,") ends at a comma this near
LABEL_MAX_TOKENS = 7       # "Avoid sun exposure: ..." a label before a colon this near the start
LABEL_ITEM_MAX_SENTENCES = 3  # a "Label: text" line with this many sentence ends is a paragraph
SUBJECT_MAX_TOKENS = 12    # the subject is read up to the first auxiliary, at most this many tokens
# A subject opening with these is the reader's or the previous sentence's, not skin in general
# ("Your skin may look pink", "It hydrates the pores").
NOT_SKIN_SUBJECT_STARTS = ("your", "it", "they", "this", "these")
MAX_BLOCK_CHARS = 4000      # longer paragraphs are cut at sentence ends (keeps a 20 MB line linear)
NEGATION_WINDOW = 8         # tokens a negation or hedge cue reaches (ConText default is 8)
LONG_DURATION_DAYS = 7      # a recovery of this many days or more clashes with "minimal downtime"

# Bad input and scale.
ENGLISH_MIN_SHARE = 0.12    # below this share of English function words an article is not audited
ENGLISH_MIN_WORDS = 30      # shorter texts are not judged for language
ARTICLE_DOC_CHARS = 100_000  # an article is parsed as one spaCy Doc of its blocks, in chunks of at most this many characters
COMBINED_MATCHERS = 512      # cached Matchers for sets of token patterns that run on one sentence together (nlp/matcher.py)
AUDIT_BATCH_ARTICLES = 200  # articles per streamed batch (and per worker task)
WORKERS_AUTO = "auto"       # audit --workers auto (the default): a process per CPU, at most one per batch
PROGRESS_MIN_ARTICLES = 500 # show progress when stderr is a terminal or the folder is this large
# Dask engine (audit --engine dask, docs/dask.md): partitions are the batches above.
ENGINES = ("local", "dask")
DATASET_DIR = "dataset"     # --out/dataset/<table>/part-NNNNN.parquet, one folder per table:
DATASET_TABLES = ("claims", "assertions", "findings")
DATASET_CONTRADICTIONS = "contradictions"  # --out/dataset/contradictions/: one sorted run per block shuffle partition
DATASET_FILES = "files"        # --out/dataset/files/: each partition's screened article files (the workers list and screen)
DATASET_ARTICLES = "articles"  # --out/dataset/articles/: each partition's articles table (the finish reads them back)
DATASET_GROUPS = "groups"      # --out/dataset/groups/part-00000.parquet: the contradiction groups (one task makes them; the finish reads them a chunk at a time)
DATASET_FOLDERS = (*DATASET_TABLES, DATASET_CONTRADICTIONS, DATASET_FILES, DATASET_ARTICLES,
                   DATASET_GROUPS)  # all a dataset holds
FINISH_CHUNK_CLAIMS = 50_000  # claims the Dask engine's finish holds at once (whole articles)
FINISH_CHUNK_CONTRADICTIONS = 10_000  # contradictions it holds at once (rows several times a claim's; 20,000 grew with the runs merged)
FINISH_CHUNK_GROUPS = 10_000  # contradiction groups it holds at once (and the row groups of dataset/groups)
FINISH_CHUNK_ARTICLES = 10_000  # articles it holds at once (articles.csv, a row per article)
MERGE_FANIN = 64            # sorted contradiction runs the finish merges at once (more: merged in passes)
SCREEN_CHUNK_ARTICLES = 2000  # files read and hashed per task when looking for duplicates
# Dask settings of the LocalCluster the engine starts (docs/dask.md gives them for a cluster of
# one's own): no statistical profiler in the workers (it samples the running task's stack every
# 10 ms), and the nanny's pre-spawn MALLOC_TRIM_THRESHOLD_ left out (set, it pins glibc's mmap
# threshold, so every array over 128 KB is mapped and unmapped anew)
DASK_SETTINGS = {"distributed.worker.profile.enabled": False}
DASK_UNSET_WORKER_ENVIRON = ("MALLOC_TRIM_THRESHOLD_",)

SEVERITIES = ("high", "medium", "low")  # most severe first
BENCH_TARGETS = {"wall_10k_s": 90, "memory_10k_mb": 1536, "real_text_ratio": 7, "check_s": 1.0,  # make bench
                 "flat_mb": 20}  # Dask client "flat" from 10,000 to 50,000 articles: grows by at most a peak's run-to-run noise
REPORT_MAX_ROWS = 2000      # rows of a long report table (claims, pairs, families); every row stays in the CSVs

# Evidence: the curated evidence table beside the articles (one cited fact a row), copied into --out.
EVIDENCE_CSV = "evidence.csv"
EVIDENCE_STATUSES = ("supported", "overclaimed", "contradicted", "no_evidence")
EVIDENCE_LEVELS = ("regulator", "guideline", "systematic_review", "rct", "uncontrolled_study",
                   "case_report", "textbook", "expert_opinion")   # strongest first
STRONG_EVIDENCE_LEVELS = EVIDENCE_LEVELS[:4]   # what a benefit stated as fact needs (FTC: RCT-level)
EVIDENCE_APPLIES_TO = ("treatment", "family")  # a fact about one treatment id, or a whole family

# Review decisions and the reviewer's workbook (issues 6, 12, 15).
DECISIONS_FILE = REVIEW_DIR / "decisions.csv"  # the reviewers' log; only `review import` writes it
DECISIONS = ("approved", "rejected", "needs_evidence")        # on a claim
GROUP_DECISIONS = ("confirmed", "dismissed", "needs_evidence")  # on a contradiction group
FLAG_DECISIONS = ("confirmed", "dismissed")                    # on a flag (a rule fired on a wording)
DECISIONS_BY_KIND = {"claim": DECISIONS, "group": GROUP_DECISIONS, "flag": FLAG_DECISIONS}
REASON_REQUIRED = ("dismissed",)   # decisions that need a note saying why
# Workbook sheet -> kind of decision it takes (the sheets `review import` reads).
REVIEW_SHEETS = {"claims": "claim", "contradiction_groups": "group", "flags": "flag"}
CONTRADICTION_GROUPS_CSV = "contradiction_groups.csv"  # one row per claim under attack (issue 12)
DECISIONS_LOCK_TIMEOUT = 60  # seconds an import or audit waits while another import holds the log
# Limits on a workbook given to `review import`, checked before openpyxl parses it.
MAX_WORKBOOK_BYTES = 50 * 2**20                 # the .xlsx file on disk
MAX_WORKBOOK_UNCOMPRESSED_BYTES = 500 * 2**20   # all its zip entries expanded
MAX_WORKBOOK_EXPANSION = 100   # one zip entry (over 1 MB) expanding more than this many times: a zip bomb
MAX_CELL_CHARS = 32_767        # the longest cell a spreadsheet program writes
REVIEW_STATUS_CSV = "review_status.csv"   # one row per decision: unchanged, stale, orphaned, superseded
STALE_MIN_SIMILARITY = 80  # rapidfuzz ratio (0-100) for an edited claim to inherit a stale decision
CLAIMS_REVIEW_XLSX = "claims_review.xlsx"
FLAGS_CSV = "flags.csv"         # written by the compliance rules stage (issue 5) when it exists
RISKY_LEVELS = ("high", "medium")  # risk values a reviewer's workbook highlights
FIXED_TIMESTAMP = (2000, 1, 1, 0, 0, 0)  # workbook properties and zip entries: stable bytes
# Evaluation and claim families.
EVAL_SKIP_STEMS = ("readme",)  # files beside the test articles that are not articles
EVAL_MIN_OVERLAP = 0.5      # a predicted and a gold unit match when they share this much of the shorter
FAMILY_MIN_SIMILARITY = 90  # rapidfuzz token_set_ratio of two claims' text_key to join one family
FAMILY_MIN_LENGTH_RATIO = 0.5  # ... and the shorter text at least this share of the longer
FAMILY_MAX_CANDIDATES = 128  # earlier claims one claim is compared with at most (stages/families.py)
# Compliance flags (issue 5): rules, allowed values, outputs and the `check` command's defaults.
COMPLIANCE_FAMILIES = (
    "absolute_safety", "no_downtime", "pain_free", "permanence", "superlative", "guarantee",
    "unsupported_evidence_term", "non_invasive_needling", "off_label_use", "testimonial_as_proof",
    "qualifier_does_not_cure", "regulatory_misstatement", "cure_claim", "urgency_pressure",
)  # docs/compliance-sources.md
EVIDENCE_FILE = RAW_DIR / EVIDENCE_CSV       # curated evidence table, optional
APPROVED_CLAIMS_FILE = REVIEW_DIR / "approved_claims.txt"     # claims library: approved wordings
IGNORED_FINDINGS_FILE = REVIEW_DIR / "ignored_findings.jsonl"  # per-finding ignores with reasons
CHECK_SCHEMA_FILE = PACKAGE / "schemas" / "check.schema.json"
CHECK_FORMATS = ("text", "json", "sarif")
# check reads a corpus's claims from its Parquet copy above this claims.csv size (importing the
# Parquet reader costs about 10 ms, more than reading a few thousand claims from the CSV)
CHECK_PARQUET_MIN_BYTES = 2_000_000
COMPLIANCE_EXAMPLES_FILE = ROOT / "tests" / "rules" / "compliance_examples.jsonl"  # per-rule examples
FLAGS_GOLD_FILE = ROOT / "tests" / "gold" / "flags.csv"     # expected findings in labelled articles
FLAGS_GOLD_ARTICLES = (RAW_DIR, ROOT / "tests" / "articles")
