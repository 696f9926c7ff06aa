"""Benchmark: a seeded synthetic corpus at several sizes, audited and timed stage by stage.

``python -m pipeline bench`` (``make bench``) builds corpora of 100, 1,000 and 10,000 articles
of about the seed articles' length, assembled from varied sentence templates over every
treatment in rules/treatments.jsonl (claims of every type, hedges, negations, and contradicting
statements at fixed rates), audits each in a fresh process (report excluded, validation
included), measures bare spaCy on the same text, prints a table and writes BENCHMARKS.md.

Each audit runs in its own process so that peak memory (the process's own high-water mark,
``lifecycle.peak_mb``, and its worker children's) belongs to that run alone.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import config, io, lifecycle
from ..nlp import RuleSet

CORPUS_VERSION = 1
SIZES = (100, 1000, 10000)
SEED = 7
TARGET_WORDS = (550, 900)      # the seed articles run 410-1250 words, about 775 on average

# Sentence templates by kind. {T}: a name of the article's treatment, {U}: any treatment name,
# {n}/{m}: small numbers. Weights give realistic rates: most sentences are neutral or weak
# claims; absolute marketing claims and their contradicting counterparts are rare.
TEMPLATES: dict[str, tuple[int, list[str]]] = {
    "neutral": (30, [
        "Our clinic has offered this service for {n} years in the city centre.",
        "Many readers write to us with questions about their routine.",
        "The appointment starts with a short conversation about your goals.",
        "We will walk you through each step before anything begins.",
        "Prices depend on the size of the area and the number of visits.",
        "The team is happy to answer any question you still have.",
        "This guide explains what to expect before, during and after a visit.",
        "Photos of the results are available on request at the front desk.",
    ]),
    "efficacy": (14, [
        "{T} improves the texture and tone of the skin.",
        "{T} reduces fine lines and the appearance of dark spots.",
        "Studies show that {T} is effective for uneven pigmentation.",
        "{T} can improve skin firmness after a few sessions.",
        "Patients often see a brighter complexion after {T}.",
        "{T} may help calm sensitive skin.",
    ]),
    "mechanism": (8, [
        "{T} works by stimulating collagen production deep in the skin.",
        "The treatment triggers the natural healing process of the skin.",
        "{T} removes the outer layer of dead cells to reveal new skin.",
    ]),
    "safety": (8, [
        "{T} is generally safe for most skin types.",
        "Recovery after {T} is quick for most people.",
        "{T} is not recommended during pregnancy.",
        "{T} is considered safe when done by a trained professional.",
    ]),
    # Contradicting statements (aspect values that exclude each other) are rare: every one of
    # them pairs with its opposites in all other articles on the treatment, so the number of
    # contradictions grows with the square of the corpus (see BENCHMARKS.md).
    "absolute": (0.1, [
        "{T} has no side effects.",
        "{T} is completely painless.",
        "{T} is a non-invasive treatment with no downtime.",
        "{T} shrinks pores for good.",
    ]),
    "counter": (0.3, [
        "{T} can cause side effects such as bruising or scarring.",
        "Mild redness and swelling can occur for a day or two after {T}.",
        "{T} can be painful for people with sensitive skin.",
        "{T} creates controlled micro-injuries in the skin.",
        "{T} will not shrink pores, but it may make them look smaller.",
    ]),
    "regimen": (6, [
        "Most people need {n} sessions spaced {m} weeks apart.",
        "Repeat {T} every {m} weeks for the best result.",
        "A maintenance session once every {n} months keeps the effect.",
    ]),
    "advice": (6, [
        "Avoid direct sun for a week after {T}.",
        "Apply a gentle moisturiser twice a day while the skin heals.",
        "Consult a dermatologist before combining {T} with {U}.",
        "Wear sunscreen every day, even when it is cloudy.",
    ]),
    "comparative": (3, [
        "{T} is one of the most effective treatments for dull skin.",
        "{T} gives better results than {U} for shallow lines.",
    ]),
    "durability": (3, [
        "The effect of {T} lasts for {n} to {m} months.",
        "Results from {T} are long-lasting with good aftercare.",
    ]),
    "hedged_negation": (4, [
        "{T} does not usually need more than one visit.",
        "It is not only effective but also affordable.",
        "There is no evidence that {T} works on deep wrinkles.",
        "You should not expect results after the first week.",
    ]),
    "etiology": (3, [
        "Large pores are mostly caused by genetics and excess oil.",
        "Blackheads are the result of oil trapped in the pores.",
    ]),
    "candidacy": (3, [
        "{T} is suitable for all skin types except very dark skin.",
        "People over {n} years old are good candidates for {T}.",
    ]),
}
HEADINGS = [
    "What is {T}?", "How {T} works", "Benefits of {T}", "Is {T} safe?", "Side effects and risks",
    "How many sessions do you need?", "Aftercare tips", "Who is a good candidate?",
    "{T} versus {U}", "Results and recovery", "Cost of {T}", "Frequently asked questions",
]


def _names() -> list[tuple[str, tuple[str, ...]]]:
    """(treatment id, usable names) for every treatment in the rules."""
    out = []
    for t in RuleSet.load().treatments:
        names = tuple(n for n in t.names if n[:1].isalpha() and len(n) > 3) or (t.label,)
        out.append((t.id, names))
    return out


def _fill(template: str, rng: random.Random, names: tuple[str, ...], others) -> str:
    text = template.format(
        T=rng.choice(names), U=rng.choice(rng.choice(others)[1]),
        n=rng.randint(2, 6), m=rng.randint(6, 12))
    return text[0].upper() + text[1:]


def make_article(rng: random.Random, treatments) -> tuple[str, int]:
    """One synthetic article (plain text, headings and paragraphs) and its sentence count."""
    _, names = rng.choice(treatments)
    kinds = list(TEMPLATES)
    weights = [TEMPLATES[k][0] for k in kinds]
    target = rng.randint(*TARGET_WORDS)
    lines = [_fill(rng.choice(["A guide to {T}", "{T}: what you should know",
                               "Everything about {T}"]), rng, names, treatments), ""]
    words = sentences = 0
    for heading in rng.sample(HEADINGS, len(HEADINGS)):
        if words >= target:
            break
        lines += [_fill(heading, rng, names, treatments), ""]
        for _ in range(rng.randint(1, 3)):
            para = [_fill(rng.choice(TEMPLATES[k][1]), rng, names, treatments)
                    for k in rng.choices(kinds, weights, k=rng.randint(3, 7))]
            sentences += len(para)
            words += sum(len(s.split()) for s in para)
            lines += [" ".join(para), ""]
    return "\n".join(lines), sentences


def build_corpus(folder: Path, n: int, seed: int = SEED) -> dict:
    """Write n articles into folder (reused when already built with the same n, seed, version)."""
    folder = Path(folder)
    stamp = folder / ".corpus.json"
    want = {"n": n, "seed": seed, "version": CORPUS_VERSION}
    if stamp.exists():
        info = json.loads(stamp.read_text())
        if {k: info.get(k) for k in want} == want:
            return info
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    rng = random.Random(seed)
    treatments = _names()
    words = sentences = 0
    for i in range(n):
        text, n_sent = make_article(rng, treatments)
        (folder / f"{article_id(i)}.txt").write_text(text, encoding="utf-8")
        words += len(text.split())
        sentences += n_sent
    info = {**want, "words": words, "sentences": sentences}
    stamp.write_text(json.dumps(info))
    return info


# --- measurements -----------------------------------------------------------------------

def _peak_mb() -> tuple[float, float]:
    """Peak resident memory in MB of this process (its own: ``lifecycle.peak_mb``; ru_maxrss
    would start at the bench's memory, which started it) and of its largest finished child
    (ru_maxrss: at least this process's memory when it started that child)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return lifecycle.peak_mb(), kids


def run_one(raw: Path, out: Path, workers: int) -> dict:
    """Audit one corpus (validation on, report and workbook off) in this process; timings and
    peak memory."""
    from ..audit import run_audit

    t0 = time.perf_counter()
    result = run_audit(raw, out, validate=True, report=False, workbook=False, workers=workers)
    wall = time.perf_counter() - t0
    own, kids = _peak_mb()
    return {"wall": wall, "timings": result.timings, "claims": result.claim_count,
            "contradictions": result.contradiction_count, "problems": len(result.problems),
            "peak_main_mb": own, "peak_worker_mb": kids if workers > 1 else 0.0}


def _tree_rss_mb(proc) -> float:
    """Resident memory in MB of a process and all its descendants, now (psutil)."""
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:   # a worker that just ended
            pass
    return total / 2**20


def run_sampled(cmd: list[str], every: float = 0.1) -> tuple[subprocess.CompletedProcess, float]:
    """Run a command to its end, sampling the summed resident memory of its process tree every
    ``every`` seconds: the peak of all processes together at one moment (per-process peaks
    summed overstate it when the workers have ended before the main process peaks)."""
    import psutil

    peak = 0.0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=config.ROOT) as child:
        tree = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                peak = max(peak, _tree_rss_mb(tree))
            except psutil.Error:
                break
            time.sleep(every)
        stdout, stderr = child.communicate()
    return subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr), peak


def run_isolated(raw: Path, out: Path, workers: int) -> dict:
    """run_one in a fresh Python process, so memory and warm caches are its own; adds the peak
    memory of all its processes together (``run_sampled``)."""
    code = ("import json,sys; from pathlib import Path; from pipeline.dev.bench import run_one; "
            "print(json.dumps(run_one(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))))")
    proc, peak = run_sampled([sys.executable, "-c", code, str(raw), str(out), str(workers)])
    if proc.returncode:
        raise RuntimeError(f"bench run failed on {raw}:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "peak_total_mb": peak}


PAIRED_ROUNDS = 3


def paired_ratio(raw: Path, rounds: int = PAIRED_ROUNDS) -> dict:
    """The per-article stages' speed as a share of bare spaCy's with the same components, both
    timed in this process in turn (bare, stages, bare, stages, ...) on the same articles, the
    stages in the audit's batches: the ratio of each round, and their median. Two figures taken
    minutes apart on a shared machine differ by a fifth when its speed drifts; taken in turn,
    the drift cancels in each round's ratio. Both run with the set-up (pipeline, articles)
    frozen out of Python's collections, as in an audit's worker."""
    import statistics

    import spacy

    from ..analyse import analyse_articles
    from ..audit import article_batches
    from ..nlp import build_nlp
    from ..sources import screen_raw
    from ..stages.evidence import Evidence
    from ..stages.ingest import decode

    files = list(screen_raw(io.iter_articles(raw)))
    texts = [decode(f.data)[0] for f in files if f.data]
    words = sum(len(t.split()) for t in texts)
    rules = RuleSet.load()
    nlp = build_nlp(rules)
    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    batches = list(article_batches(iter(files), config.AUDIT_BATCH_ARTICLES))
    analyse_articles(batches[0].head(5), rules, Evidence.empty(), nlp=nlp)   # warm up
    lifecycle.freeze_survivors()   # both sides as in an audit's worker: its set-up out of collections
    try:
        ratios, bare_wps, stage_wps, blank_wps = [], [], [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in blank.pipe(texts, batch_size=64):
                pass
            blank_wps.append(words / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for _ in nlp.pipe(texts, batch_size=64):
                pass
            bare = time.perf_counter() - t0
            timings: dict[str, float] = {}
            for raw_batch in batches:
                analyse_articles(raw_batch, rules, Evidence.empty(), nlp=nlp, timings=timings)
            stages = sum(timings.get(s, 0.0) for s in PER_ARTICLE_STAGES)
            ratios.append(bare / stages)
            bare_wps.append(words / bare)
            stage_wps.append(words / stages)
    finally:
        gc.unfreeze()   # the bench goes on: what this measure held may be collected again
    return {"articles": len(texts), "words": words, "ratios": ratios, "ratio": statistics.median(ratios),
            "bare_wps": statistics.median(bare_wps), "stages_wps": statistics.median(stage_wps),
            "blank_wps": statistics.median(blank_wps)}


def time_check(repeat: int = 5) -> tuple[float, float]:
    """Wall seconds of ``python -m pipeline check`` on a one-page draft (the first seed article)
    in a fresh process, imports included: what a copywriter or a CI job waits for. Returns
    (median of ``repeat`` runs, the first run): the first run of a new rule cache (an empty
    folder) reads and validates the rule files and stores them; the others read the cache, as
    every run does until the rules or the code change.
    The package's bytecode is compiled first, as Python does on a user's first run (where
    PYTHONDONTWRITEBYTECODE is set, as on some CI machines, every run would compile it again)."""
    import compileall

    from ..check import cold_check_seconds

    compileall.compile_dir(str(config.PACKAGE), quiet=1)
    draft = sorted(config.RAW_DIR.glob("*.txt"))[0]
    with tempfile.TemporaryDirectory(prefix="bench-rule-cache-") as cache:
        env = {**os.environ, "CLAIMS_AUDIT_CACHE": cache}
        [first] = cold_check_seconds([str(draft)], repeat=1, env=env)
        walls = sorted(r["wall"] for r in cold_check_seconds([str(draft)], repeat=repeat, env=env))
    return walls[len(walls) // 2], first["wall"]


# check's own start: no collection while importing (pipeline.lifecycle.quiet_start)
_FLOOR_SCRIPT = ("import gc; gc.disable(); import pandas, spacy, typer, rich.console; "
                 "spacy.blank('en'); gc.freeze()")


def import_floor(repeat: int = 5) -> float:
    """Median wall seconds of a fresh process that only imports pandas, spaCy and the command
    line's typer and rich, and makes ``spacy.blank("en")``, with check's collection policy:
    what any ``check`` pays before its own work, on this machine."""
    walls = sorted(_wall([sys.executable, "-c", _FLOOR_SCRIPT]) for _ in range(repeat))
    return walls[len(walls) // 2]


def machine() -> dict:
    """Cores, CPU model, RAM, Python and spaCy versions of the machine the bench ran on."""
    import spacy

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return {"cores": os.cpu_count(), "cpu": cpu, "ram_gb": round(ram, 1),
            "python": platform.python_version(), "spacy": spacy.__version__,
            "load_1min": round(load, 2), "platform": platform.platform()}


# --- the run and its table ------------------------------------------------------------------

RUNS = ((100, 1), (1000, 1), (1000, 2), (10000, 2))   # (articles, workers)
STAGES = ("ingest", "segment", "extract", "tag", "near_duplicates", "flag", "evidence", "families", "contradict",
          "validate", "write")
PER_ARTICLE_STAGES = ("ingest", "segment", "extract", "tag", "near_duplicates", "flag", "evidence")


# --- real text: the seeds and the development pages, varied, as a whole process ---------------

REAL_TEXT_ARTICLES = 4000
_NUMBER = re.compile(r"\d+")


def real_text_sources() -> list[Path]:
    """The seed articles and, when present, the development corpus's pages."""
    pages = config.DEV_CORPUS_DIR / "pages"
    return sorted(config.RAW_DIR.glob("*.txt")) + (sorted(pages.glob("*.txt")) if pages.is_dir() else [])


def build_real_text(folder: Path, n: int = REAL_TEXT_ARTICLES, seed: int = SEED) -> dict:
    """n articles made of real pages: each a copy of one source with its paragraphs after the
    first shuffled and every number replaced by another of as many digits (so no two articles
    are the same text and repeated claims do not collapse into one family)."""
    folder = Path(folder)
    sources = real_text_sources()
    stamp = folder / ".corpus.json"   # a dot file: not an article
    meta = {"version": CORPUS_VERSION, "articles": n, "seed": seed, "sources": [p.name for p in sources]}
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")).get("meta") == meta:
        return json.loads(stamp.read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8-sig") for p in sources]
    words = 0
    for i in range(n):
        paras = [x for x in texts[i % len(texts)].split("\n\n") if x.strip()]
        head, rest = paras[:1], paras[1:]
        rng.shuffle(rest)
        body = _NUMBER.sub(lambda m: str(rng.randrange(10 ** (len(m.group()) - 1) if len(m.group()) > 1 else 0,
                                                     10 ** len(m.group()))), "\n\n".join(head + rest))
        (folder / f"r{i:05d}.txt").write_text(body + "\n", encoding="utf-8")
        words += len(body.split())
    out = {"meta": meta, "articles": n, "words": words}
    stamp.write_text(json.dumps(out), encoding="utf-8")
    return out


_BLANK_SCRIPT = ("import sys, spacy; from pathlib import Path; nlp = spacy.blank('en'); nlp.add_pipe('sentencizer'); "
                 "texts = [p.read_text(encoding='utf-8') for p in sorted(Path(sys.argv[1]).glob('*.txt'))]; "
                 "[None for _ in nlp.pipe(texts, batch_size=64)]")


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=config.ROOT, check=False)
    if proc.returncode not in (0, 1):   # 1: a validation or --strict outcome, still a full run
        raise RuntimeError(f"bench command failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def real_text_bench(folder: Path = config.ROOT / "bench", echo=print) -> dict | None:
    """Whole-process wall of `audit --no-report --no-workbook` on the real-text corpus against a
    whole process running spacy.blank("en") + sentencizer over the same texts."""
    if len(real_text_sources()) < 2:
        echo("real-text row skipped: no source articles")
        return None
    corpus = build_real_text(Path(folder) / "real")
    from ..audit import auto_workers

    echo(f"real text: auditing {corpus['articles']:,} articles ({corpus['words']:,} words) ...")
    cmd = [sys.executable, "-m", "pipeline", "audit", "--raw", str(Path(folder) / "real"),
           "--out", str(Path(folder) / "out_real"), "--no-report", "--no-workbook"]
    audit = _wall(cmd)                         # the default: --workers auto
    one = _wall([*cmd, "--workers", "1"])      # this process alone
    blank = min(_wall([sys.executable, "-c", _BLANK_SCRIPT, str(Path(folder) / "real")]) for _ in range(2))
    echo(f"  audit {audit:.1f} s (one process: {one:.1f} s), blank + sentencizer {blank:.1f} s")
    return {**corpus, "audit_s": audit, "blank_s": blank, "ratio": audit / blank,
            "workers": auto_workers(corpus["articles"]), "one_process_s": one, "one_process_ratio": one / blank,
            "dev_pages": (config.DEV_CORPUS_DIR / "pages").is_dir()}


def run_bench(folder: Path = config.ROOT / "bench", runs=RUNS, echo=print) -> dict:
    """Build the corpora, audit each, measure bare spaCy; returns every figure."""
    folder = Path(folder)
    corpora = {n: build_corpus(folder / f"c{n}", n) for n in sorted({n for n, _ in runs})}
    base_n = 1000 if 1000 in corpora else min(corpora)
    results, paired = [], None
    for n, workers in runs:
        echo(f"auditing {n} articles with {workers} worker(s) ...")
        load = os.getloadavg()[0]
        r = run_isolated(folder / f"c{n}", folder / f"out{n}_w{workers}", workers)
        r.update(articles=n, workers=workers, words=corpora[n]["words"],
                 sentences=corpora[n]["sentences"], load=round(load, 1))
        results.append(r)
        echo(f"  {r['wall']:.1f} s")
        if paired is None and n == base_n:
            paired = _paired(folder / f"c{base_n}", echo)
    return {"machine": machine(), "runs": results, "paired": paired or _paired(folder / f"c{base_n}", echo),
            "real_text": real_text_bench(folder, echo), **dict(zip(("check_seconds", "check_first_seconds"), time_check())),
            "import_floor_seconds": import_floor()}


def _paired(raw: Path, echo) -> dict:
    echo(f"per-article stages and bare spaCy in turn on {raw.name}, {PAIRED_ROUNDS} rounds ...")
    paired = paired_ratio(raw)
    echo(f"  {paired['ratio']:.2f} (rounds: {', '.join(f'{r:.2f}' for r in paired['ratios'])})")
    return paired


def table(figures: dict) -> str:
    """The Markdown table of a bench run, with the targets below it."""
    head = ("| articles | workers | words | wall s | articles/s | sentences/s | words/s | "
            + " | ".join(f"{s} s" for s in STAGES) + " | peak MB (main + per worker) | peak MB, all processes at once "
            "| claims | contradictions | load at start |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in figures["runs"]:
        t = r["timings"]
        mem = f"{r['peak_main_mb']:.0f}" + (f" + {r['workers']} x {r['peak_worker_mb']:.0f}"
                                             if r["workers"] > 1 else "")
        lines.append(
            f"| {r['articles']:,} | {r['workers']} | {r['words']:,} | {r['wall']:.1f} | "
            f"{r['articles'] / r['wall']:.1f} | {r['sentences'] / r['wall']:,.0f} | "
            f"{r['words'] / r['wall']:,.0f} | "
            + " | ".join(f"{t.get(s, 0.0):.1f}" for s in STAGES)
            + f" | {mem} | {r.get('peak_total_mb', 0.0):.0f} | {r['claims']:,} | {r['contradictions']:,} "
            f"| {r.get('load', '')} |")
    return "\n".join(lines)


def verdicts(figures: dict) -> list[str]:
    """Each speed and memory target with the measured figure and met / NOT met."""
    runs = {(r["articles"], r["workers"]): r for r in figures["runs"]}
    out = []

    def line(ok: bool, text: str) -> None:
        out.append(f"- {'met' if ok else '**NOT met**'}: {text}")

    paired = figures["paired"]
    line(paired["ratio"] >= 0.5, f"pipeline (per-article stages, one process) {paired['stages_wps']:,.0f} "
         f"words/s = {paired['ratio']:.2f} x bare spaCy with the same components "
         f"({paired['bare_wps']:,.0f} words/s; blank + sentencizer alone: {paired['blank_wps']:,.0f} words/s), "
         f"timed in turn in one process on the same {paired['articles']:,} articles, the median of "
         f"{len(paired['ratios'])} rounds ({', '.join(f'{r:.2f}' for r in paired['ratios'])}); target >= 0.5")
    big = max(figures["runs"], key=lambda r: (r["articles"], r["workers"]))
    mem = big.get("peak_total_mb") or big["peak_main_mb"] + big["workers"] * big["peak_worker_mb"]
    line(big["wall"] <= config.BENCH_TARGETS["wall_10k_s"], f"{big['articles']:,} articles audited "
         f"(report and workbook excluded) in {big['wall']:.0f} s with {big['workers']} workers; "
         f"target <= {config.BENCH_TARGETS['wall_10k_s']} s")
    line(mem <= config.BENCH_TARGETS["memory_10k_mb"], f"peak memory of that run {mem:.0f} MB (resident "
         f"memory of the main process and its workers summed at one moment, sampled every 0.1 s; the "
         f"separate peaks are {big['peak_main_mb']:.0f} MB main, {big['peak_worker_mb']:.0f} MB per worker); "
         f"target <= {config.BENCH_TARGETS['memory_10k_mb']} MB")
    real = figures.get("real_text")
    if real:
        pages = "the seeds and the 16 development pages" if real.get("dev_pages") else "the seeds"
        line(real["ratio"] <= config.BENCH_TARGETS["real_text_ratio"],
             f"real text ({pages}, paragraphs shuffled and numbers varied, {real['articles']:,} articles, "
             f"{real['words']:,} words): whole-process `audit --no-report --no-workbook` {real['audit_s']:.1f} s "
             f"= {real['ratio']:.1f}x a whole process of blank + sentencizer ({real['blank_s']:.1f} s); "
             f"target <= {config.BENCH_TARGETS['real_text_ratio']}x" + (
                 f". That is the default, --workers auto: {real['workers']} processes here; in one "
                 f"process (--workers 1) {real['one_process_s']:.1f} s = {real['one_process_ratio']:.1f}x"
                 if "one_process_s" in real else ""))
    small = runs.get((big["articles"] // 10, big["workers"]))
    if small:
        ratio = big["wall"] / small["wall"]
        line(ratio <= 12, f"10x the articles costs {ratio:.1f}x the time "
             f"({small['articles']:,}: {small['wall']:.1f} s, {big['articles']:,}: {big['wall']:.1f} s); "
             f"target <= 12x")
    if (1000, 1) in runs and (1000, 2) in runs:
        out.append(f"- `--workers 2` on 1,000 articles: {runs[(1000, 1)]['wall']:.1f} s -> "
                   f"{runs[(1000, 2)]['wall']:.1f} s with 1 -> 2 processes (about 4 s of it is "
                   f"spawning workers and importing great-expectations; output identical: "
                   f"tests/test_robust.py)")
    return out


def notes(figures: dict) -> list[str]:
    """Where the time goes and how contradictions grow, from the figures."""
    big = max(figures["runs"], key=lambda r: (r["articles"], r["workers"]))
    t = big["timings"]
    total = sum(t.get(s, 0.0) for s in STAGES) or 1.0
    shares = ", ".join(f"{s} {t.get(s, 0.0) / total:.0%}" for s in STAGES)
    out = [f"- Stage shares of the {big['articles']:,}-article run (seconds summed over processes): "
           f"{shares}. extract and tag are Python over spaCy tokens and pandas rows; bare spaCy "
           f"with the same components is not the bottleneck."]
    runs = sorted(figures["runs"], key=lambda r: r["articles"])
    pairs = [(r["articles"], r["contradictions"]) for r in runs if r["contradictions"]]
    if len(pairs) >= 2 and pairs[-1][0] > pairs[0][0]:
        (n0, c0), (n1, c1) = pairs[-2] if pairs[-2][0] < pairs[-1][0] else pairs[0], pairs[-1]
        out.append(f"- Contradictions: {c0:,} at {n0:,} articles, {c1:,} at {n1:,} ({c1 / c0:,.1f}x for "
                   f"{n1 / n0:,.0f}x the articles). Pairs of repeated identical claims collapse into one "
                   f"row (family level), but every claim can pair with every opposite claim on its "
                   f"treatment in every other article, so growth can be quadratic; the synthetic corpus "
                   f"keeps contradicting statements rare (about one article in ten).")
    out.append("- Peak memory is the main process holding all claims and contradictions after the "
               "workers have ended (the articles themselves stream in batches of "
               f"{config.AUDIT_BATCH_ARTICLES}; each worker stays near {big['peak_worker_mb']:.0f} MB "
               "while it runs); the large tables are written straight into their files, never held "
               "as text.")
    return out


def markdown(figures: dict) -> str:
    """BENCHMARKS.md: machine, table, targets."""
    m = figures["machine"]
    check = figures["check_seconds"]
    return "\n".join([
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m pipeline bench`, pipeline/dev/bench.py). Synthetic corpus:",
        f"seeded ({SEED}), articles of {TARGET_WORDS[0]}-{TARGET_WORDS[1]} words assembled from sentence",
        "templates over every treatment in rules/treatments.jsonl. Each audit runs in a fresh",
        "process with validation on, the report and the review workbook off (they are timed on the",
        "seed articles in README); stage seconds are summed over workers.",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"spaCy {m['spacy']}, {m['platform']}; load average at the end {m['load_1min']} "
        "(other jobs shared the machine).",
        "",
        table(figures),
        "",
        "## Targets",
        "",
        *verdicts(figures),
        f"- {'met' if check < config.BENCH_TARGETS['check_s'] else '**NOT met**'}: `check` on a one-page "
        f"draft answers in {check:.2f} s (median of 5 fresh processes, imports included, the rule set "
        f"read from its cache); target < {config.BENCH_TARGETS['check_s']} s"
        + (f". The first run after the rules or the code change, which validates the rule files and "
           f"stores them in the cache, takes {figures['check_first_seconds']:.2f} s"
           if figures.get("check_first_seconds") else "")
        + (f". A process that only imports pandas, spaCy, typer and rich and makes spacy.blank('en') takes "
           f"{figures['import_floor_seconds']:.2f} s here (median of 5, with check's collection policy and its "
           "command line's imports): the floor under any check"
           if figures.get("import_floor_seconds") else ""),
        "",
        "## Notes",
        "",
        *notes(figures),
        "",
        *dask_markdown(figures),
    ])


def rewrite(echo=print) -> None:
    """Write BENCHMARKS.md again from the figures of the last run (bench/figures.json)."""
    figures = json.loads((config.ROOT / "bench" / "figures.json").read_text(encoding="utf-8"))
    io.write_text(config.ROOT / "BENCHMARKS.md", markdown(figures))
    echo(markdown(figures))


def main(echo=print, large: bool = False) -> dict:
    """Run the bench, print the table and write BENCHMARKS.md (``large``: also the 50,000-article
    Dask run, about 45 minutes more)."""
    figures = run_bench(echo=echo)
    figures["dask"] = run_dask_bench(echo=echo, runs=DASK_RUNS if large else DASK_RUNS[:-1])
    io.write_json(config.ROOT / "bench" / "figures.json", figures)
    text = markdown(figures)
    io.write_text(config.ROOT / "BENCHMARKS.md", text)
    echo(text)
    return figures


# --- the Dask engine (issue 14): its own runs, its own section of BENCHMARKS.md ------------------

# (articles, engine), 2 workers: two rounds of the engines at 10,000 articles, alternating (one
# run of each moved the ratio by 0.2 between benches: the machine's speed drifts between runs)
DASK_RUNS = ((10000, "local"), (10000, "dask"), (10000, "local"), (10000, "dask"), (50000, "dask"))
DASK_WORKERS = 2
DASK_SECTION = "## Dask engine"


def run_one_dask(raw: Path, out: Path, workers: int, engine: str) -> dict:
    """Audit one corpus with one engine (validation on, report and workbook off) in this
    process: wall, timings, peak memory of this process, of the client during the distributed
    phase and of each worker, and the shuffle volume per article."""
    from ..audit import run_audit

    t0 = time.perf_counter()
    result = run_audit(raw, out, validate=True, report=False, workbook=False, workers=workers,
                       engine=engine)
    wall = time.perf_counter() - t0
    own, kids = _peak_mb()
    t = result.timings
    r = {"wall": wall, "timings": t, "claims": result.claim_count,
         "contradictions": result.contradiction_count, "peak_main_mb": own,
         "peak_worker_mb": t.get("dask_worker_peak_mb", kids),
         "client_distributed_mb": t.get("dask_client_peak_mb", 0.0)}
    if engine == "dask":
        r.update(shuffle_volume(out / config.DATASET_DIR))
    return r


def shuffle_volume(dataset: Path, sample: int = 10) -> dict:
    """Bytes per article the two shuffles move (the family rows and the keyed assertion rows,
    as Arrow data), measured on ``sample`` parts of a dataset the Dask engine wrote."""
    import pyarrow as pa

    from ..dask_engine import asserted_task, family_rows

    parts = sorted((Path(dataset) / "claims").glob("part-*.parquet"))
    step = max(1, len(parts) // sample)
    chosen = [int(p.stem.split("-")[1]) for p in parts[::step]]
    rows = nbytes = articles = 0
    for part in chosen:
        claims = io.read_parquet(dataset / "claims" / f"part-{part:05d}.parquet")
        articles += claims["source_id"].nunique()
        keyed = asserted_task(part, str(dataset), {}, str(config.RULES_DIR))
        for df in (family_rows(claims), keyed):
            rows += len(df)
            nbytes += pa.Table.from_pandas(df, preserve_index=False).nbytes
    return {"shuffle_rows_per_article": rows / max(articles, 1),
            "shuffle_bytes_per_article": nbytes / max(articles, 1), "parts": len(parts)}


def run_isolated_dask(raw: Path, out: Path, workers: int, engine: str) -> dict:
    """run_one_dask in a fresh Python process (its own memory figures)."""
    code = ("import json,sys; from pathlib import Path; from pipeline.dev.bench import run_one_dask; "
            "print(json.dumps(run_one_dask(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))")
    proc = subprocess.run([sys.executable, "-c", code, str(raw), str(out), str(workers), engine],
                          capture_output=True, text=True, cwd=config.ROOT, check=False)
    if proc.returncode:
        raise RuntimeError(f"bench run failed on {raw} ({engine}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_dask_bench(folder: Path = config.ROOT / "bench", runs=DASK_RUNS, echo=print) -> dict:
    """The local engine and the Dask engine (a LocalCluster), both on DASK_WORKERS processes."""
    folder = Path(folder)
    corpora = {n: build_corpus(folder / f"c{n}", n) for n in sorted({n for n, _ in runs})}
    results = []
    for n, engine in runs:
        echo(f"auditing {n} articles, engine {engine}, {DASK_WORKERS} workers ...")
        load = os.getloadavg()[0]
        r = run_isolated_dask(folder / f"c{n}", folder / f"out{n}_{engine}", DASK_WORKERS, engine)
        r.update(articles=n, engine=engine, workers=DASK_WORKERS, words=corpora[n]["words"],
                 load=round(load, 1))
        results.append(r)
        echo(f"  {r['wall']:.1f} s")
    return {"machine": machine(), "runs": results, "identical": same_tables(folder)}


SAME_TABLES = (config.CLAIMS_CSV, config.CONTRADICTIONS_CSV, config.CONTRADICTION_GROUPS_CSV,
               config.PROBLEMS_CSV, config.FLAGS_CSV, config.ASSERTIONS_CSV, config.ARTICLES_CSV)


def same_tables(folder: Path, n: int = 10000) -> dict[str, bool]:
    """Whether each table of the n-article runs is byte-identical between the two engines."""
    local, dask = Path(folder) / f"out{n}_local", Path(folder) / f"out{n}_dask"
    return {name: (local / name).is_file() and (dask / name).is_file()
            and (local / name).read_bytes() == (dask / name).read_bytes() for name in SAME_TABLES}


def _per_article_seconds(r: dict) -> float:
    """CPU seconds per article of the per-article stages, summed over processes."""
    return sum(r["timings"].get(s, 0.0) for s in PER_ARTICLE_STAGES) / r["articles"]


def dask_markdown(figures: dict) -> list[str]:
    """The Dask engine's section of BENCHMARKS.md: table, targets and the scale model."""
    d = figures.get("dask")
    if not d:
        return []
    runs = {key: _typical(d["runs"], *key) for key in dict.fromkeys((r["articles"], r["engine"]) for r in d["runs"])}
    lines = [DASK_SECTION, "",
             f"`audit --engine dask` on a LocalCluster of {DASK_WORKERS} worker processes against the "
             f"local engine with `--workers {DASK_WORKERS}` (validation on, report and workbook off; "
             "each run in a fresh process). Peak memory: the client process (which also hosts the "
             "LocalCluster's scheduler) during the distributed phase (until the contradiction groups "
             "are made, on a worker) and over the whole run (the finish reads the claims and the groups "
             "back from the dataset a chunk at a time, and merges the contradictions from the sorted "
             "runs the workers wrote: review, validation and writing hold one chunk, not every claim, "
             "group or contradiction), each worker process, and the Dask engine's validator process "
             "(the finish's chunks are validated there while the client writes the next).", "",
             "| articles | engine | wall s | articles/s | screen s | families s | contradict s | merge s | "
             "validate s | write s | client MB (distributed phase) | client MB (whole run) | "
             "per worker MB | validator MB | claims | contradictions | load at start |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["runs"]:
        t = r["timings"]
        dist = f"{r['client_distributed_mb']:.0f}" if r["engine"] == "dask" else "-"
        apart = f"{t['validator_peak_mb']:.0f}" if t.get("validator_peak_mb") else "-"
        lines.append(
            f"| {r['articles']:,} | {r['engine']} | {r['wall']:.1f} | {r['articles'] / r['wall']:.1f} | "
            f"{t.get('dask_screen', 0):.1f} | {t.get('families', 0):.1f} | {t.get('contradict', 0):.1f} | "
            f"{t.get('merge', 0):.1f} | {t.get('validate', 0):.1f} | {t.get('write', 0):.1f} | {dist} | "
            f"{r['peak_main_mb']:.0f} | {r['peak_worker_mb']:.0f} | {apart} | {r['claims']:,} | "
            f"{r['contradictions']:,} | {r.get('load', '')} |")
    for r in runs.values():
        t = r["timings"]
        if "dask_worker_peak_mb_analyse" in t:
            lines.append(f"\nWorker peak memory by phase, {r['articles']:,} articles: "
                         f"{t['dask_worker_peak_mb_analyse']:.0f} MB after the per-article stages, "
                         f"{t['dask_worker_peak_mb_families']:.0f} MB after the families shuffle, "
                         f"{r['peak_worker_mb']:.0f} MB after the contradiction shuffle.")
    same = d.get("identical") or {}
    if same:
        lines.append(f"\nSame answer at 10,000 articles (50 partitions): "
                     + ", ".join(f"{n} {'identical' if ok else '**differs**'}" for n, ok in same.items())
                     + " (byte for byte, local engine vs Dask engine).")
    lines += ["", "### Targets", ""]
    local, dask = runs.get((10000, "local")), runs.get((10000, "dask"))
    if local and dask:
        ratio = dask["wall"] / local["wall"]
        each = [f"{r['wall']:.0f}" for r in d["runs"] if r["articles"] == 10000]
        lines.append(f"- {'met' if ratio <= 1.3 else '**NOT met**'}: Dask engine on 10,000 articles "
                     f"{dask['wall']:.0f} s vs local engine {local['wall']:.0f} s = {ratio:.2f}x (each engine's "
                     f"middle run by wall time{', the faster of two' if len(each) == 4 else ''}; the runs: "
                     f"{', '.join(each)} s); target <= 1.3x")
    big = runs.get((50000, "dask"))
    if dask and big:
        flat = config.BENCH_TARGETS["flat_mb"]
        for what, key in (("during the distributed phase", "client_distributed_mb"),
                          ("over the whole run (the finish included)", "peak_main_mb")):
            grow = big[key] - dask[key]
            lines.append(f"- {'met' if grow <= flat else '**NOT met**'}: client memory {what} "
                         f"{dask[key]:.0f} MB at 10,000 articles, {big[key]:.0f} MB at 50,000: {grow:+.0f} MB "
                         f"({grow * 1024 / 40000:.1f} KB per article more); target flat (at most {flat} MB "
                         f"more, a peak's run-to-run spread: a ratio of the two peaks would hide growth "
                         f"under any constant the client holds)")
    if big or dask:
        lines += ["", *scale_model(big or dask, dask if big else None)]
    return lines


def _typical(runs: list[dict], articles: int, engine: str) -> dict:
    """The run of median wall time among the runs of one size and engine (the lower middle of an
    even count): its figures stand for them in the targets and the scale model."""
    same = sorted((r for r in runs if r["articles"] == articles and r["engine"] == engine),
                  key=lambda r: r["wall"])
    return same[(len(same) - 1) // 2]


def article_id(i: int) -> str:
    """The source id (file stem) of the i-th synthetic article."""
    return f"art{i:05d}"


def scale_model(r: dict, small: dict | None = None, workers=(2, 16, 64, 256),
                articles: int = 1_000_000) -> list[str]:
    """Partitions, shuffle volume and expected wall time per million articles, from one measured
    Dask run: per-article CPU seconds divide by the workers; the screening, families and
    contradiction phases are taken as linear in the articles and divided likewise."""
    per = _per_article_seconds(r)
    t = r["timings"]
    phases = (t.get("dask_screen", 0) + t.get("families", 0) + t.get("contradict", 0)) / r["articles"]
    finish = (t.get("merge", 0) + t.get("validate", 0) + t.get("write", 0)) / r["articles"]
    parts = -(-articles // config.AUDIT_BATCH_ARTICLES)
    gb = r.get("shuffle_bytes_per_article", 0) * articles / 1e9
    claims_per_article = r["claims"] / r["articles"]
    # the client keeps each article's source id as Arrow text: its bytes and a 4-byte offset
    held_mb = (len(article_id(articles - 1)) + 4) * articles / 2**20
    rows = "; ".join(f"{n} workers: {_duration(articles * (per + phases) / n + 60)}" for n in workers)
    return [
        "### Scale model (per million articles)", "",
        f"From the {r['articles']:,}-article Dask run: {per * 1000:.1f} ms of per-article stages per "
        f"article (CPU, summed over workers), {phases * 1000:.2f} ms of screening, family and "
        f"contradiction phases per article (wall on {r['workers']} workers, counted as CPU here), "
        f"{claims_per_article:.0f} claims per article.", "",
        f"- Partitions: {parts:,} of {config.AUDIT_BATCH_ARTICLES} articles (the local engine's "
        f"batches, so the answer is the same); each is one task and one Parquet part per table.",
        f"- Shuffle volume: {r.get('shuffle_rows_per_article', 0):.0f} rows and "
        f"{r.get('shuffle_bytes_per_article', 0) / 1024:.1f} KB per article (family rows on "
        f"treatment, keyed assertion rows on their block), about {gb:.1f} GB per million articles.",
        f"- Expected wall time of the distributed phase, (per-article + phases) x articles / workers "
        f"+ 1 min start-up: {rows}; a lower bound, see blocks below.",
        *block_growth(r, small, articles),
        f"- The finish (review and writing in the client, validation in the validator process, a chunk of "
        f"{config.FINISH_CHUNK_CLAIMS:,} claims, {config.FINISH_CHUNK_CONTRADICTIONS:,} "
        f"contradictions or {config.FINISH_CHUNK_GROUPS:,} groups at a time; "
        f"{finish * 1000:.2f} ms per article here) is not distributed: "
        f"about {finish * articles / 3600:.1f} h per million articles, in memory set mostly by the "
        f"chunk" + (
            f": the client's peak over the whole run is {small['peak_main_mb']:.0f} MB at "
            f"{small['articles']:,} articles and {r['peak_main_mb']:.0f} MB at {r['articles']:,} "
            f"(the finish's, above the distributed phase's; {r['peak_main_mb'] - small['peak_main_mb']:+.0f} MB). "
            f"What it holds that grows is each article's source id (which part holds it), as "
            f"Arrow text: about {held_mb:,.0f} MB per million articles of ids like these." if small else "."),
    ]


def _duration(seconds: float) -> str:
    """'3.5 h', or '7 min' under an hour."""
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def block_growth(big: dict, small: dict | None, articles: int) -> list[str]:
    """How the contradiction blocks grow: one block holds every claim of one (treatment, aspect)
    in the corpus (a universal or ranking aspect: of the aspect), so its memory and pairing time
    grow with the corpus, not with the workers."""
    if not small:
        return []
    n = big["articles"] / small["articles"]
    t0, t1 = small["timings"].get("contradict", 0.0), big["timings"].get("contradict", 0.0)
    m0, m1 = small["peak_worker_mb"], big["peak_worker_mb"]
    per = (m1 - m0) / (big["articles"] - small["articles"])
    return [
        f"- Blocks grow with the corpus: a block holds every claim of one (treatment, aspect) in "
        f"the corpus (a universal or ranking aspect is one block), so the largest block sets the "
        f"worker memory and the contradiction phase: {m0:.0f} MB -> {m1:.0f} MB per worker and "
        f"{t0:.0f} s -> {t1:.0f} s for {n:.0f}x the articles. Linearly, the largest block of a "
        f"million articles needs about {(m1 + per * (articles - big['articles'])) / 1024:.0f} GB "
        f"on one worker, whatever the worker count. Splitting it needs each family's occurrences "
        f"counted per source before the shuffle (one row per family and source, not per claim); "
        f"not built.",
    ]
