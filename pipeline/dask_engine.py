"""The audit on a Dask cluster (``audit --engine dask [--scheduler ADDRESS]``).

Same stages, same answer as the local engine (``pipeline.audit.audit_folder``), spread over the
processes of a Dask cluster so that no process holds every claim while the stages run:

1. **Screen.** Workers list the folder and read and hash the article files; one task marks
   duplicates with ``sources.screen_raw``, as locally, and writes the screened files as
   ``<out>/dataset/files/part-NNNNN.parquet``, one part per partition. This process gets the
   number of files, never a row per file.
2. **Analyse.** A task per files part: the partitions are the local engine's batches
   (``batch_size`` files in name order: near-duplicate claim families are grouped within a
   batch, so equal batches give equal families). Each runs ``analyse.analyse_articles`` with
   the rule set and spaCy pipeline built once per worker process, and writes its claims,
   assertions, findings and articles as one part of the Parquet dataset
   ``<out>/dataset/{claims,assertions,findings,articles}/part-NNNNN.parquet``. Only the
   problems and timings come back.
3. **Families.** Claim families are made consistent across partitions by a shuffle of the
   distinct (treatment, family_id, text) rows on treatment: ``families.unify_families`` on whole
   treatments gives the same ids as on all claims (a family never spans two treatments). The
   ids that change stay on the cluster (a future), and the parts are rewritten with them.
4. **Contradictions.** The rows pairing reads (``contradict.assertions_of``, with the
   sub-types each article names per treatment) are shuffled on their block (aspect and
   treatment; a family claim also in each member's block; a universal or ranking aspect whole),
   and ``contradict.contradictions_in`` runs on each block alone: pairs never leave a block, so
   the blocks' rows, deduplicated and sorted by ``contradict.sort_contradictions``, are
   ``find_contradictions``'s answer on all claims. Each shuffle partition writes its rows as a
   sorted run, ``<out>/dataset/contradictions/part-NNNNN.parquet``; only its row count comes
   back. One task then makes the contradiction groups from the runs' pairs and the claims in
   them and writes them as ``<out>/dataset/groups/part-00000.parquet`` (``groups_task``), and
   another counts the claim ids' repeats for validation (``claim_id_repeats_task``).
5. **Finish.** This process reads back and keeps the small tables (articles, problems and
   groups), and never all claims or contradictions: ``pipeline.audit`` reviews, validates and writes
   the claim tables from ``DatasetTables.claim_chunks``, the parts read back a chunk of whole
   articles at a time in the local engine's order, and contradictions.csv from
   ``DatasetTables.contradiction_chunks``, the sorted runs merged. The report and the workbook are made from the written
   outputs, as for the local engine (the workbook holds every claim: Excel's sheets do).

Without a scheduler address a ``LocalCluster`` of worker processes starts on this machine.
The workers of an existing cluster need the same virtual environment and must see the rules,
the articles and the output folder at the same paths (shared storage); see docs/dask.md.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import config, io, lifecycle, tables
from .analyse import analyse_articles, merge, timed
from .sources import main_treatments, raw_frame, screen_raw, with_source_titles
from .nlp import RuleSet, build_nlp
from .stages.contradict import (ASSERTED_COLUMNS, SORT, about_no_treatment, assertions_of,
                                contradictions_in, sort_contradictions, source_subtypes)
from .stages.evidence import Evidence, normalise_evidence
from .stages.families import unify_families
from .stages.groups import FamilyCounts, claim_families, contradiction_groups

# the rows contradiction pairing reads (``assertions_of``), their order in the article, the
# sub-types their article names per treatment (JSON), and their block
ASSERTED = ASSERTED_COLUMNS + ["ordinal", "subtypes", "block"]
SORTED_CONTRADICTIONS = tables.CONTRADICTIONS + ["start_a", "start_b"]
# what the contradiction groups read of a pair (``groups.contradiction_groups``)
PAIR_COLUMNS = ["contradiction_id", "claim_a", "claim_b", "aspect"]
FAMILY_MAP = ["family_id", "unified"]
# a screened article file (dataset/files/): its source id, path inside the folder, problem (a
# duplicate, an unreadable file, a skipped folder) and name as tables show it
FILE_COLUMNS = ["source_id", "path", "problem", "file"]
# what contradiction pairing reads of the claims (``assertions_of``)
PAIRED_CLAIM_COLUMNS = ["claim_id", "source_id", "start", "treatment", "treatments", "subjects", "text",
                        "family_id", "certainty", "claim_type"]


# --- one rule set and spaCy pipeline per worker process ----------------------------------------

_PIPELINES: dict[str, tuple[RuleSet, object]] = {}


def pipeline_for(rules_folder: str) -> tuple[RuleSet, object]:
    """The rule set and spaCy pipeline of a rules folder, built once per process."""
    if rules_folder not in _PIPELINES:
        rules = RuleSet.load(rules_folder)
        _PIPELINES[rules_folder] = (rules, build_nlp(rules))
    return _PIPELINES[rules_folder]


def worker_plugin(rules_folder: str):
    """A Dask worker plugin that builds the rules and spaCy pipeline when a worker starts
    (also on workers that join or restart later), so the first task does not pay for it."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class AuditPipeline(WorkerPlugin):
        name = "claims-audit-pipeline"

        def setup(self, worker) -> None:
            pipeline_for(rules_folder)
            lifecycle.freeze_survivors()   # the pipeline lives as long as the worker

    return AuditPipeline()


# --- the Parquet dataset -----------------------------------------------------------------------

def _schema(name: str):
    """The Arrow schema of a dataset part, so every part has the same column types (a part
    whose lists are all empty would otherwise be typed list<null>)."""
    import pyarrow as pa

    columns = {"claims": tables.CLAIMS, "assertions": tables.ASSERTIONS, "findings": tables.FINDINGS,
               config.DATASET_CONTRADICTIONS: SORTED_CONTRADICTIONS, config.DATASET_FILES: FILE_COLUMNS,
               config.DATASET_ARTICLES: tables.ARTICLES, config.DATASET_GROUPS: tables.GROUPS}[name]
    types = {"start": pa.int64(), "end": pa.int64(), "negated": pa.bool_(), "absolute": pa.bool_(),
             "repeats": pa.int64(), "start_a": pa.int64(), "start_b": pa.int64(),
             "contradicting_claims": pa.int64(), "contradicting_sources": pa.int64()}
    types.update({c: pa.list_(pa.string()) for c in (*tables.LIST_SEPARATORS, *tables.GROUP_LIST_COLUMNS)})
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])


def part_path(dataset: Path, name: str, part: int) -> Path:
    """dataset/<table>/part-NNNNN.parquet"""
    return Path(dataset) / name / f"part-{part:05d}.parquet"


def write_part(dataset: Path, part: int, t: tables.Tables) -> None:
    """Write one partition's claims, assertions, findings and articles (each file atomically; a
    retried task writes the same bytes again)."""
    for name in (*config.DATASET_TABLES, config.DATASET_ARTICLES):
        write_table(dataset, name, part, getattr(t, name))


def write_table(dataset: Path, name: str, part: int, df: pd.DataFrame,
                row_group_size: int | None = None) -> None:
    """Write one part of one dataset table (atomically), typed by its schema (``row_group_size``:
    rows per row group, for a table read back a chunk at a time)."""
    columns = list(_schema(name).names)
    if df.empty:  # an empty table's columns may be typed float64, which no list type takes
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    io.write_parquet(part_path(dataset, name, part), df[columns], _schema(name), row_group_size)


def read_part_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One table of a part as the stages made it (lists as tuples); ``columns``: only these."""
    import pyarrow.parquet as pq

    return _frame(pq.read_table(path, columns=columns))


def read_part_chunks(path: Path, size: int):
    """The rows of one part's table in chunks of ``size`` rows (``read_part_table``'s types),
    decoding a row group at a time; a table of no row is one empty chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        empty = True
        for batch in parquet.iter_batches(batch_size=size):
            empty = False
            yield _frame(pa.Table.from_batches([batch]))
        if empty:
            yield _frame(parquet.schema_arrow.empty_table())


def _frame(table) -> pd.DataFrame:
    """An Arrow table of a dataset part as pandas: text as pandas' text, lists as tuples."""
    import pyarrow as pa

    lists = [f.name for f in table.schema if pa.types.is_list(f.type)]
    df = table.drop_columns(lists).to_pandas()
    for col in lists:
        df[col] = _tuples(table.column(col).combine_chunks())
    return df[table.schema.names]


_JOIN = "\x1f"   # joins a list's items to encode it (an item holding it takes the slow path)


def _tuples(values) -> list[tuple]:
    """An Arrow list array as a list of tuples, equal lists as one tuple object. Each list is
    joined and the joined texts dictionary-encoded in Arrow, so a tuple is made once per
    distinct list (a column of 600,000 claims' cues holds a few thousand): the Python work is
    one lookup per row, and the rows share their tuples. Empty and missing lists are ()."""
    import pyarrow as pa
    import pyarrow.compute as pc

    items = values.flatten()
    if not (pa.types.is_string(items.type) or pa.types.is_large_string(items.type)) or items.null_count \
            or (len(items) and pc.any(pc.match_substring(items, _JOIN)).as_py()):
        return _tuples_by_offsets(values)
    keys = pc.if_else(pc.greater(pc.fill_null(pc.list_value_length(values), 0), 0),
                      pc.binary_join(values, pa.scalar(_JOIN, items.type)), pa.scalar(None, items.type))
    encoded = keys.dictionary_encode()
    distinct = [tuple(k.split(_JOIN)) for k in encoded.dictionary.to_pylist()] + [()]
    return [distinct[i] for i in pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).tolist()]


def _tuples_by_offsets(values) -> list[tuple]:
    """``_tuples`` list by list, cut from the flat items by the offsets (any items)."""
    flat = values.flatten().to_numpy(zero_copy_only=False).tolist()
    offsets = (values.offsets.to_numpy() - values.offsets[0].as_py()).tolist()
    return [tuple(flat[a:b]) for a, b in zip(offsets, offsets[1:])]


def _read_back(what: str, chunks: str) -> property:
    """A table of ``DatasetTables`` whose rows stay in the dataset: read whole when asked for
    (the workbook's sheet), while the finish reads it a chunk at a time (the method ``chunks``);
    setting it to rows is an error (the dataclass sets the empty default)."""
    def whole(self) -> pd.DataFrame:
        return _joined(list(getattr(self, chunks)()))

    def refuse(self, value: pd.DataFrame) -> None:
        if len(value):
            raise ValueError(f"the Dask engine's {what} are read from its dataset")

    return property(whole, refuse, doc=f"Every row of the {what} at once (the workbook's sheet).")


class DatasetTables(tables.Tables):
    """The Dask engine's answer: the small tables in memory, the claims and assertions in the
    dataset, read back a chunk of whole articles at a time (``claim_chunks``) in the order the
    local engine gives them, so that the finish never holds every claim."""

    streamed = True

    def __init__(self, dataset: Path, part_sources: list[list[str]], skip: set | None = None,
                 id_repeats: dict[str, dict] | None = None, sources: pd.DataFrame | None = None, **small):
        super().__init__(**small)
        import pyarrow as pa

        self.dataset = Path(dataset)
        # per part: the source ids of its articles, as Arrow text (a quarter of Python strings)
        self.part_sources = [s if isinstance(s, pa.Array) else pa.array(s, pa.string()) for s in part_sources]
        self.skip = skip or set()          # (run, row) of the contradiction rows another run holds too
        self.id_repeats = id_repeats or {}   # counted on the cluster (``claim_id_repeats_task``, ``groups_task``)
        self.sources = sources             # sources.csv, whose titles outrank the pages' own

    groups = _read_back("contradiction groups", "group_chunks")
    contradictions = _read_back("contradictions", "contradiction_chunks")
    articles = _read_back("articles", "article_chunks")

    def group_chunks(self, size: int | None = None):
        """The contradiction groups in chunks of ``size`` rows, in the table's order (the one
        part ``groups_task`` wrote); once a chunk is written, its memory goes back to the system."""
        for chunk in read_part_chunks(part_path(self.dataset, config.DATASET_GROUPS, 0),
                                      size or config.FINISH_CHUNK_GROUPS):
            yield chunk
            lifecycle.release_memory()

    def contradiction_chunks(self, size: int | None = None):
        """The contradictions in chunks of ``size`` rows, in the table's order: the sorted runs
        of the dataset merged (``merged_runs``), a run's repeat of a pair left out."""
        return merged_runs(sorted_runs(self.dataset), self.skip, size or config.FINISH_CHUNK_CONTRADICTIONS, workdir=self.dataset.parent)

    def runs(self) -> list[tuple[int, str, str]]:
        """(part, first source id, last source id) in claims order: the local engine sorts its
        claims by source id (unique), so the articles of every part are taken in that order,
        a run of consecutive ones of one part at a time. Sorted in Arrow: the client makes no
        Python object per article."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        sizes = [len(s) for s in self.part_sources]
        if not sum(sizes):
            return []
        ids = pa.concat_arrays(self.part_sources)
        part = np.repeat(np.arange(len(sizes)), sizes)
        order = pc.sort_indices(pa.table({"sid": ids, "part": part}),
                                sort_keys=[("sid", "ascending"), ("part", "ascending")]).to_numpy()
        parts = part[order]
        first = np.flatnonzero(np.r_[True, parts[1:] != parts[:-1]])
        final = np.r_[first[1:], len(parts)] - 1
        return list(zip(parts[first].tolist(), ids.take(order[first]).to_pylist(),
                        ids.take(order[final]).to_pylist()))

    def _in_runs(self, load: Callable[[int], object]):
        """(``load(part)``, first source id, last source id) for each run of ``runs``, in claims
        order. A part is loaded when its first run comes and dropped after its last: one or
        two parts at a time when file names sort as their source ids."""
        runs = self.runs()
        last = {p: i for i, (p, _, _) in enumerate(runs)}
        loaded: dict[int, object] = {}
        for i, (p, first, final) in enumerate(runs):
            if p not in loaded:
                loaded[p] = load(p)
            yield loaded[p], first, final
            if last[p] == i:
                del loaded[p]

    def claim_chunks(self, size: int | None = None):
        """The claims and assertions of the dataset in chunks of ``size`` claims, in claims
        order (``_in_runs``). A chunk ends at the end of the article that reaches ``size``, so
        every chunk but the last holds ``size`` claims and less than one article more, however
        the parts fall: the finish's memory is one chunk's, whichever chunk. Once a chunk is
        written (the caller asks for the next), its memory goes back to the system
        (``lifecycle.release_memory``)."""
        size = size or config.FINISH_CHUNK_CLAIMS
        claims: list[pd.DataFrame] = []
        assertions: list[pd.DataFrame] = []
        held = 0
        for (c, a, a_row), first, final in self._in_runs(self._part):
            lo, hi = _source_range(c, first, final)
            while lo < hi:
                cut = hi if held + hi - lo < size else _article_end(c, lo + size - held - 1)
                claims.append(c.iloc[lo:cut])
                assertions.append(a.iloc[a_row.searchsorted(lo, side="left"):a_row.searchsorted(cut, side="left")])
                held += cut - lo
                lo = cut
                if held >= size:
                    yield _joined(claims), _joined(assertions)
                    claims, assertions, held = [], [], 0
                    lifecycle.release_memory()   # the chunk is written: its memory back to the system
        if claims or not any(len(s) for s in self.part_sources):
            yield (_joined(claims) if claims else read_part_table_empty("claims"),
                   _joined(assertions) if assertions else read_part_table_empty("assertions"))

    def article_chunks(self, size: int | None = None):
        """The articles in chunks of ``size``, in source id order (the local engine's), titled
        from sources.csv: the client keeps no row per article for articles.csv."""
        size = size or config.FINISH_CHUNK_ARTICLES
        held: list[pd.DataFrame] = []
        count = 0
        for a, first, final in self._in_runs(self._articles):
            rows = a.iloc[slice(*_source_range(a, first, final))]
            held.append(rows)
            count += len(rows)
            if count >= size:
                yield with_source_titles(_joined(held), self.sources)
                held, count = [], 0
        if held or not any(len(s) for s in self.part_sources):
            yield with_source_titles(_joined(held) if held else read_part_table_empty(config.DATASET_ARTICLES),
                                     self.sources)

    def _articles(self, part: int) -> pd.DataFrame:
        """One part's articles, sorted by source id."""
        a = io.read_parquet(part_path(self.dataset, config.DATASET_ARTICLES, part))
        return a.sort_values("source_id", kind="stable").reset_index(drop=True)

    def _part(self, part: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        """One part's claims (sorted as the stages sort them) and assertions in claims order,
        with each assertion's claim row (to cut both at the same articles)."""
        c = read_part_table(part_path(self.dataset, "claims", part))
        a = read_part_table(part_path(self.dataset, "assertions", part))
        row = a["claim_id"].map(dict(zip(c["claim_id"].tolist(), range(len(c)))))   # tolist: not one Arrow scalar a claim
        order = row.sort_values(kind="stable").index
        return c, a.loc[order].reset_index(drop=True), row.loc[order].reset_index(drop=True)


def _article_end(df: pd.DataFrame, row: int) -> int:
    """The row after the last one of the article of ``row``, in a table sorted by source id."""
    ids = df["source_id"]
    return int(ids.searchsorted(ids.iat[row], side="right"))


def _source_range(df: pd.DataFrame, first: str, final: str) -> tuple[int, int]:
    """The rows [lo, hi) of a table sorted by source id whose source ids are first..final."""
    ids = df["source_id"]
    return int(ids.searchsorted(first, side="left")), int(ids.searchsorted(final, side="right"))


def sorted_runs(dataset: Path) -> list[tuple[int, Path]]:
    """(run number, file) of the dataset's sorted contradiction runs, in run order."""
    folder = Path(dataset) / config.DATASET_CONTRADICTIONS
    return sorted((int(f.stem.split("-")[1]), f) for f in folder.glob("part-*.parquet"))


def merged_runs(runs: list[tuple[int, Path]], skip: set, size: int, workdir: Path | None = None):
    """Sorted runs (Parquet files sorted by ``contradict.SORT``) merged into one sorted table,
    yielded in chunks of ``size`` rows (at least one chunk, maybe empty; the columns of
    ``tables.CONTRADICTIONS``), leaving out the (run, row)s of ``skip``. At most
    ``config.MERGE_FANIN`` runs are open at once: more are first merged a group at a time into
    longer runs in a temporary folder under ``workdir`` (an external merge sort), so memory is
    a chunk and a batch per open run, and open files stay few, however many runs there are;
    each chunk's memory goes back to the system once it is used (``lifecycle.release_memory``)."""
    import tempfile

    fanin = max(2, config.MERGE_FANIN)
    with contextlib.ExitStack() as stack:
        level = 0
        while len(runs) > fanin:
            if level == 0:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=workdir, prefix=".merge-")))
            runs = [(n, _write_run(tmp / f"{level}-{n:05d}.parquet", _merge(runs[g:g + fanin], skip, size)))
                    for n, g in enumerate(range(0, len(runs), fanin))]
            skip, level = set(), level + 1
        for chunk in _merge(runs, skip, size):
            yield chunk[tables.CONTRADICTIONS]
            lifecycle.release_memory()


def _write_run(path: Path, chunks) -> Path:
    """Write merged chunks (with their sort keys) as one sorted run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(config.DATASET_CONTRADICTIONS)
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in chunks:
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
    return path


def _merge(runs: list[tuple[int, Path]], skip: set, size: int):
    """``merged_runs`` on few enough runs to open at once: chunks with the sort keys."""
    import heapq

    import pyarrow.parquet as pq

    batch = max(100, size // max(1, len(runs)))

    def rows(run: int, path: Path):
        start = 0
        for b in pq.ParquetFile(path).iter_batches(batch_size=batch):
            df = local_dtypes(b.to_pandas())
            for i, key in enumerate(zip(*(df[c].tolist() for c in SORT))):
                if (run, start + i) not in skip:
                    yield key, run, i, df
            start += len(df)

    picked: list[tuple[pd.DataFrame, int]] = []
    given = False
    for _, _, i, df in heapq.merge(*(rows(run, path) for run, path in runs)):
        picked.append((df, i))
        if len(picked) >= size:
            yield _taken(picked)
            picked, given = [], True
    if picked or not given:
        yield _taken(picked)


def _taken(picked: list[tuple[pd.DataFrame, int]]) -> pd.DataFrame:
    """The rows (batch, row) in that order as one table: the batches they come from joined
    once, then the rows taken by position. (Cutting a slice per run of consecutive rows made a
    DataFrame per slice: merging many runs, most slices are a row or two, and their objects
    outweighed the rows; the more runs, the more slices.)"""
    if not picked:
        return tables.empty(SORTED_CONTRADICTIONS)
    start: dict[int, int] = {}   # id of a batch -> its first row in the joined batches
    batches: list[pd.DataFrame] = []
    rows = 0
    positions = []
    for df, i in picked:
        first = start.get(id(df))
        if first is None:
            first = start[id(df)] = rows
            batches.append(df)
            rows += len(df)
        positions.append(first + i)
    return _joined(batches).take(positions).reset_index(drop=True)


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def read_part_table_empty(name: str) -> pd.DataFrame:
    """An empty table with a dataset table's columns."""
    return tables.empty(list(_schema(name).names))


# --- tasks (run on the workers) ----------------------------------------------------------------

def list_task(raw_dir: str, recursive: bool) -> list[str]:
    """The article files of raw_dir in name order, as paths inside it (``io.list_articles``)."""
    raw = Path(raw_dir)
    return [p.relative_to(raw).as_posix() for p in io.list_articles(raw, recursive)]


def screen_task(names: list[str], start: int, stop: int, raw_dir: str) -> list[tuple]:
    """(source_id, path inside raw_dir, content digest, problem, file as shown) for the files
    names[start:stop]: what ``screen_raw`` needs to find duplicates, without their bytes."""
    import hashlib

    out = []
    for name in names[start:stop]:
        f = io.read_article(Path(raw_dir) / name, Path(raw_dir))
        digest = hashlib.sha1(f.data).digest() if f.problem is None else None
        out.append((f.source_id, name, digest, f.problem, f.file))
    return out


def files_task(dataset: str, raw_dir: str, recursive: bool, batch_size: int, *screened: list[tuple]) -> int:
    """The screened files in name order, duplicates marked (``screen_raw``), then the folders a
    run skips, as the local engine takes them; written as dataset/files/part-NNNNN.parquet, one
    part per partition of ``batch_size`` files (the analyse tasks read their part). Returns
    how many files."""
    raw = Path(raw_dir)
    found = [io.RawFile(sid, raw / name, digest, problem, file=shown)
             for rows in screened for sid, name, digest, problem, shown in rows]
    found += io.skipped_files(raw, recursive)
    rows = [(f.source_id, f.path.relative_to(raw).as_posix(), f.problem, f.name) for f in screen_raw(found)]
    for part, start in enumerate(range(0, len(rows), batch_size)):
        write_table(Path(dataset), config.DATASET_FILES, part,
                    pd.DataFrame(rows[start:start + batch_size], columns=FILE_COLUMNS))
    return len(rows)


def analyse_task(part: int, raw_dir: str, rules_folder: str, evidence: Evidence, main: dict[str, str],
                 dataset: str) -> dict:
    """One partition (its screened files, dataset/files/part-NNNNN.parquet) through
    ``analyse_articles``; writes its dataset part and its articles, and returns its problems
    and timings."""
    import pyarrow.parquet as pq

    rules, nlp = pipeline_for(rules_folder)
    raw = Path(raw_dir)
    items = pq.read_table(part_path(Path(dataset), config.DATASET_FILES, part)).to_pylist()
    files = [io.RawFile(f["source_id"], raw / f["path"], None, f["problem"], file=f["file"]) if f["problem"]
             else io.read_article(raw / f["path"], raw) for f in items]
    timings: dict[str, float] = {}
    sub = {f["source_id"]: main[f["source_id"]] for f in items if f["source_id"] in main}
    t = analyse_articles(raw_frame(files), rules, evidence, sub, nlp, timings)
    write_part(Path(dataset), part, t)
    return {"part": part, "files": len(items), "problems": t.problems, "timings": timings}


def _value(value):
    """The value itself: a task that holds a value the other tasks read by key."""
    return value


def family_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The distinct (treatment, family_id, text) rows of some claims: all family unification reads."""
    return df[["treatment", "family_id", "text"]].drop_duplicates().reset_index(drop=True)


def changed_families(df: pd.DataFrame) -> pd.DataFrame:
    """family_id -> unified id, for the families of whole treatments whose id changes."""
    df = local_dtypes(df).reset_index(drop=True)
    if df.empty:
        return pd.DataFrame(columns=FAMILY_MAP)
    unified = unify_families(df)
    moved = df["family_id"] != unified
    out = pd.DataFrame({"family_id": df.loc[moved, "family_id"], "unified": unified[moved]})
    return out.drop_duplicates().reset_index(drop=True)


def block_keys(asserted: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """The rows with their block (a row in several blocks is repeated), so that every block
    holds what ``contradictions_in`` needs to pair its claims as it pairs them on all claims:

    - a plain claim: its (aspect, treatment);
    - a claim about a whole family ("lasers ..."): its own block and each member's, which it
      joins when the member's claims are there (``contradict._blocks_joined``);
    - a universal aspect (general claims join every treatment on it) and a ranking aspect
      (treatments meet across outcomes through joined family claims): one block per aspect;
    - a general claim (no treatment) on any other aspect pairs with nothing and is left out.
    """
    universal = rules.aspects.universal()
    general = about_no_treatment(asserted["treatment"])
    keys, keep = [], []
    for i, (aspect, treatment, gen) in enumerate(zip(asserted["aspect"].tolist(), asserted["treatment"].tolist(),
                                                     general.tolist())):
        if aspect in universal or rules.aspects.by_qualifier(aspect):
            keys.append([f"{aspect}\x1f*"])
        elif gen:
            continue
        elif rules.is_family(treatment):
            keys.append([f"{aspect}\x1f{t}" for t in dict.fromkeys((treatment, *rules.members(treatment)))])
        else:
            keys.append([f"{aspect}\x1f{treatment}"])
        keep.append(i)
    rows = asserted.iloc[keep].copy()
    rows["block"] = keys
    return rows.explode("block", ignore_index=True)


def _subtypes_text(inherited: dict[tuple, frozenset]) -> dict[str, str]:
    """source_id -> the sub-types its article names per treatment, as JSON (a shuffle carries text)."""
    import json

    per_source: dict[str, dict] = {}
    for (sid, treatment), names in inherited.items():
        per_source.setdefault(sid, {})[treatment] = sorted(names)
    return {sid: json.dumps(v, sort_keys=True) for sid, v in per_source.items()}


def _subtypes_of(rows: pd.DataFrame) -> dict[tuple, frozenset]:
    """The (source, treatment) -> sub-types mapping back from the rows' JSON."""
    import json

    out = {}
    for sid, text in set(zip(rows["source_id"].tolist(), rows["subtypes"].tolist())):
        for treatment, names in json.loads(text or "{}").items():
            out[(sid, treatment)] = frozenset(names)
    return out


def asserted_task(part: int, dataset: str, mapping: dict[str, str], rules_folder: str) -> pd.DataFrame:
    """One part's claims with the unified family ids (the part rewritten when any changed), and
    the rows pairing reads (``assertions_of``) with their order, sub-types and block."""
    rules, _ = pipeline_for(rules_folder)
    claims_file = part_path(Path(dataset), "claims", part)
    claims = read_part_table(claims_file, PAIRED_CLAIM_COLUMNS)
    moved = claims["family_id"].isin(list(mapping))
    if moved.any():
        claims.loc[moved, "family_id"] = claims.loc[moved, "family_id"].map(mapping)
        io.map_parquet_column(claims_file, "family_id", mapping, _schema("claims"))
    assertions = io.read_parquet(part_path(Path(dataset), "assertions", part))
    asserted = assertions_of(claims, assertions, rules.aspects, keep_no_treatment=True)
    text = _subtypes_text(source_subtypes(asserted, rules.aspects))
    asserted = asserted.assign(ordinal=range(len(asserted)),
                               subtypes=[text.get(sid, "") for sid in asserted["source_id"]])
    return block_keys(asserted, rules).reindex(columns=ASSERTED)


def local_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns back in pandas' default string dtype: a shuffle hands them back as
    string[pyarrow], whose missing value and ``map`` results differ from what the stages expect."""
    text = [c for c in df.columns if isinstance(df[c].dtype, pd.StringDtype) and df[c].dtype != "str"]
    return df.astype({c: "str" for c in text}) if text else df


def block_contradictions(rows: pd.DataFrame, rules_folder: str) -> pd.DataFrame:
    """``contradictions_in`` on the whole blocks of a shuffled partition at once, its rows put
    back in the order the local engine gives them.

    One call on all the partition's rows, each row once (a family claim is in several blocks,
    maybe several of this partition), gives every pair of its blocks: ``contradictions_in``
    pairs only rows of one (treatment, aspect) group after joining, and each group it forms
    here is the whole group it forms on all claims (a member's rows come with their block;
    every claim about the family is in each of the family's blocks; a universal or ranking
    aspect is one block). Per block, the fixed cost of a call was most of the phase."""
    rules, _ = pipeline_for(rules_folder)
    rows = local_dtypes(rows).drop_duplicates(["claim_id", "ordinal"])
    rows = rows.sort_values(["source_id", "start", "claim_id", "ordinal"], kind="stable")
    found = contradictions_in(rows[ASSERTED_COLUMNS].reset_index(drop=True), rules, _subtypes_of(rows))
    if not len(found):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SORTED_CONTRADICTIONS})
    return found.reset_index(drop=True)[SORTED_CONTRADICTIONS]


def contradiction_run(rows: pd.DataFrame, rules_folder: str, dataset: str,
                      partition_info: dict | None = None) -> pd.DataFrame:
    """The contradictions of one shuffled partition written as a sorted run,
    dataset/contradictions/part-NNNNN.parquet (``sort_contradictions`` on the partition, its
    sort keys kept), for the finish to merge; only its number of rows comes back."""
    part = (partition_info or {}).get("number", 0)
    found = block_contradictions(rows, rules_folder)
    run = sort_contradictions(found, keys=True).astype({c: "int64" for c in ("repeats", "start_a", "start_b")})
    write_table(Path(dataset), config.DATASET_CONTRADICTIONS, part, run)
    return pd.DataFrame({"run": [part], "rows": [len(run)]})


# --- the client side ---------------------------------------------------------------------------

class EngineError(RuntimeError):
    """The cluster cannot run the audit (unreachable, no workers, a worker without the package
    or the paths); the message says which and what to do."""


WORKERS_WAIT_SECONDS = 60
SETUP_HINT = ("start the scheduler and the workers with the same virtual environment and "
              "PYTHONPATH=<the checkout>, with the articles, rules and --out on shared storage "
              "(docs/dask.md)")


def local_settings() -> dict:
    """The Dask settings of the LocalCluster the engine starts (``config.DASK_SETTINGS``, and
    the nanny's pre-spawn environment without ``config.DASK_UNSET_WORKER_ENVIRON``): the
    profiler cost the workers' stages about 5% and the pinned mmap threshold about a fifth of
    the claim families' time."""
    import dask

    environ = dask.config.get("distributed.nanny.pre-spawn-environ")
    kept = {k: v for k, v in environ.items() if k not in config.DASK_UNSET_WORKER_ENVIRON}
    return {**config.DASK_SETTINGS, "distributed.nanny.pre-spawn-environ": kept}


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int):
    """A Dask client: to the scheduler at ``scheduler``, or to a new LocalCluster of ``workers``
    single-threaded worker processes on this machine (closed on exit)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler)
        except OSError as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=WORKERS_WAIT_SECONDS)
            except TimeoutError:
                raise EngineError(f"no Dask worker joined the scheduler at {scheduler} within "
                                  f"{WORKERS_WAIT_SECONDS} s; {SETUP_HINT}") from None
            yield client
        return
    with dask.config.set(local_settings()), \
            LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


@dataclass
class Distributed:
    """What the distributed phase leaves besides the dataset: its part count, the problems of
    each part, the peak memory per process, the pairs the finish skips and the repeats of the
    claim ids and of the groups' ids. The articles and the groups stay in the dataset until
    the finish reads them a chunk at a time (``DatasetTables.article_chunks``,
    ``DatasetTables.group_chunks``); the pairs never leave the cluster."""

    parts: int
    problems: list[pd.DataFrame] = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    skip: set = field(default_factory=set)   # (run, row) of the pairs another run holds too
    # table -> {id column -> repeats}: the claim ids' (``claim_id_repeats_task``) and the groups'
    # ids' (``groups_task``), as ``Tables.id_repeats``
    id_repeats: dict = field(default_factory=dict)


def screen(client, raw_dir: Path, dataset: Path, batch_size: int, recursive: bool = False) -> int:
    """List and screen the folder on the workers: every article file in name order, then the
    folders a run skips, duplicates marked, as ``io.iter_articles`` and ``screen_raw`` give
    them, written as one dataset/files part per partition (``files_task``). Returns how many
    files: this process holds no row per file (at a million articles the names alone are
    hundreds of MB as Python objects, and the graph would hold them again)."""
    names = client.submit(list_task, str(raw_dir), recursive, pure=False)
    count = client.submit(len, names, pure=False).result()
    chunks = [client.submit(screen_task, names, start, start + config.SCREEN_CHUNK_ARTICLES, str(raw_dir),
                            pure=False) for start in range(0, count, config.SCREEN_CHUNK_ARTICLES)]
    total = client.submit(files_task, str(dataset), str(raw_dir), recursive, batch_size, *chunks, pure=False)
    return total.result()


def analyse(client, count: int, raw_dir: Path, rules: RuleSet, evidence: Evidence,
            main: dict[str, str], dataset: Path, batch_size: int,
            progress: Callable[[int, int], None] | None, timings: dict,
            meanwhile: Callable[[], object] | None = None) -> Distributed:
    """Run the per-article stages on every partition (a task per dataset/files part of
    ``batch_size`` of the ``count`` screened files); returns problems in partition order. ``meanwhile``: what the client
    does once the partitions are submitted (as the local engine does while its workers run:
    ``audit._run_batches``)."""
    from distributed import as_completed

    parts = -(-count // batch_size)
    # sent once and read by key; tasks, not scattered data, so a lost worker's copy is made again
    ev, mn = (client.submit(_value, v, pure=False) for v in (evidence, main))
    futures = [client.submit(analyse_task, part, str(raw_dir), str(rules.folder), ev, mn, str(dataset),
                             pure=False) for part in range(parts)]
    if meanwhile:
        meanwhile()
    by_part: dict[int, pd.DataFrame] = {}
    done = 0
    for future in as_completed(futures):
        summary = future.result()
        by_part[summary["part"]] = summary["problems"]
        for k, v in summary["timings"].items():
            timings[k] = timings.get(k, 0.0) + v
        done += summary["files"]
        if progress:
            progress(done, count)
        future.release()
    for f in (ev, mn):
        f.release()
    return Distributed(parts=parts, problems=[by_part[p] for p in range(parts)])


def family_map(moved: pd.DataFrame) -> dict[str, str]:
    """family_id -> unified id, from the rows of ``changed_families``."""
    return dict(zip(moved["family_id"], moved["unified"]))


def unify(client, dataset: Path):
    """A future of family_id -> unified id for the families that span partitions under
    different ids (a shuffle of the distinct family rows on treatment). The mapping stays on
    the cluster: this process never holds it, and the tasks that read it get it by its key,
    once per worker, where a dict in their arguments was sent again with each task (it grows
    with the corpus: 8,800 ids at 4,000 articles)."""
    import dask.dataframe as dd
    from distributed import wait

    rows = dd.read_parquet(str(Path(dataset) / "claims"), columns=["treatment", "family_id", "text"])
    meta = pd.DataFrame({c: pd.Series(dtype=str) for c in FAMILY_MAP})
    moved = rows.map_partitions(family_rows).shuffle(on="treatment").map_partitions(changed_families, meta=meta)
    mapping = client.submit(family_map, client.compute(moved))
    wait(mapping)
    return mapping


def contradictions(parts: int, dataset: Path, mapping, rules: RuleSet) -> None:
    """Contradictions of all claims, computed block by block after a shuffle on the block key
    and written as sorted runs into the dataset (``contradiction_run``; the finish reads them:
    ``read_pairs``, ``DatasetTables.contradiction_chunks``). ``mapping``: ``unify``'s future."""
    import dask.dataframe as dd

    folder = str(rules.folder)
    meta = pd.DataFrame({c: pd.Series(dtype=str) for c in ASSERTED}).astype(
        {"start": "int64", "absolute": bool, "named": bool, "ordinal": "int64"})
    rows = dd.from_map(asserted_task, list(range(parts)), args=(str(dataset), mapping, folder),
                       meta=meta, enforce_metadata=False)
    out_meta = pd.DataFrame({"run": pd.Series(dtype="int64"), "rows": pd.Series(dtype="int64")})
    rows.shuffle(on="block").map_partitions(contradiction_run, folder, str(dataset), meta=out_meta).compute()


def read_pairs(dataset: Path) -> pd.DataFrame:
    """The pair columns the groups read (``PAIR_COLUMNS``) of every sorted run's rows, in run
    order, with the run and row that hold them. A pair found in two blocks (a family claim
    joins its members' blocks) counts from its first run, as the local engine keeps the first
    of its blocks' rows. The ids stay Arrow strings (about a quarter of the memory of Python
    strings; the groups read them a slice at a time)."""
    frames = [pd.read_parquet(f, columns=PAIR_COLUMNS, dtype_backend="pyarrow").assign(
        run=run, row=lambda d: np.arange(len(d), dtype="int64")) for run, f in sorted_runs(dataset)]
    if not frames:
        return tables.empty(PAIR_COLUMNS + ["run", "row"])
    return pd.concat(frames, ignore_index=True)


def groups_task(dataset: str, parts: int, evidence: pd.DataFrame | None) -> tuple[dict, set]:
    """The contradiction groups (``contradiction_groups``, as ``analyse.cross_check`` makes them)
    from the sorted runs' pairs and the claims in them (``group_claims``), written as
    dataset/groups/part-00000.parquet in row groups of config.FINISH_CHUNK_GROUPS rows, the
    chunk the finish reads at a time (``DatasetTables.group_chunks``). Returns the repeats of
    the groups' unique columns (group_id, claim_id: ``repeated_hashes``, for validation) and
    the (run, row) of every pair a run repeats (``DatasetTables.skip``). One task on a worker,
    so the client never holds the pairs, the groups' working sets or the groups (one row per
    claim under attack: they grow with the corpus). ``evidence``: the evidence table, for the
    aspects of the evidence rows."""
    from .outputs.validate import hashes, repeated_hashes

    pairs = read_pairs(Path(dataset))
    repeat = pairs.duplicated("contradiction_id")
    skip = set(zip(pairs["run"][repeat].tolist(), pairs["row"][repeat].tolist()))
    pairs = pairs[~repeat].reset_index(drop=True)
    claims, families = group_claims(Path(dataset), parts, pairs)
    groups = contradiction_groups(claims, pairs, evidence, families)
    write_table(Path(dataset), config.DATASET_GROUPS, 0, groups, row_group_size=config.FINISH_CHUNK_GROUPS)
    repeats = {c: repeated_hashes([hashes(groups[c])]) for c in tables.GROUP_IDS}
    return repeats, skip


def claim_id_repeats_task(dataset: str, parts: int) -> tuple[int, set[int]]:
    """How many claims have an id another claim has too, and those ids' hashes, as validation
    counts them on the whole claims table (``outputs.validate.repeated_hashes``), from the
    parts' claim ids. One task on a worker (8 bytes a claim there): the client, which
    validates the claims a chunk at a time, holds no hash per claim."""
    from .outputs.validate import hashes, repeated_hashes

    return repeated_hashes([hashes(io.read_parquet(part_path(Path(dataset), "claims", p), columns=["claim_id"])["claim_id"])
                            for p in range(parts)])


def part_sources(dataset: Path, parts: int) -> list:
    """The source ids of each part's articles, in part order (``DatasetTables.runs``), as
    Arrow text arrays."""
    import pyarrow.parquet as pq

    return [pq.read_table(part_path(dataset, config.DATASET_ARTICLES, p), columns=["source_id"]).column(0).combine_chunks()
            for p in range(parts)]


def worker_memory(client) -> dict:
    """Peak resident MB of this process (the client, and the scheduler of a LocalCluster) and of
    every worker process."""
    workers = client.run(lifecycle.peak_mb)
    return {"client_mb": lifecycle.peak_mb(), "workers_mb": sorted(workers.values(), reverse=True)}


def check_cluster(client, paths: list[Path]) -> None:
    """Raise EngineError naming the process and the problem when the scheduler or a worker
    cannot import this package, or a worker cannot see one of ``paths`` (shared storage)."""
    import importlib
    import os

    def probe(paths=tuple(str(p) for p in paths)) -> str:  # nested: sent by value, not by import
        try:
            importlib.import_module("pipeline.dask_engine")
        except ImportError as exc:
            return f"cannot import the pipeline package ({exc})"
        missing = [p for p in paths if not os.path.exists(p)]
        return f"cannot see {', '.join(missing)}" if missing else ""

    answers = {"scheduler": client.run_on_scheduler(probe, paths=())}
    answers.update({f"worker {w}": a for w, a in sorted(client.run(probe).items())})
    bad = [f"{who} {problem}" for who, problem in answers.items() if problem]
    if bad:
        raise EngineError(f"{bad[0]}{f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''}; {SETUP_HINT}")


def distribute(client, raw_dir: Path, rules: RuleSet, evidence: Evidence, main: dict[str, str],
               dataset: Path, batch_size: int, progress, timings: dict,
               recursive: bool = False, meanwhile: Callable[[], object] | None = None,
               groups_evidence: pd.DataFrame | None = None) -> Distributed:
    """Steps 1-4 on the cluster: screen, analyse into the dataset, unify families,
    contradictions and their groups (``groups_evidence``: the evidence table the groups read),
    and the claim ids' repeats for validation."""
    from distributed import wait

    check_cluster(client, [raw_dir, Path(rules.folder), dataset])
    client.register_plugin(worker_plugin(str(rules.folder)))
    with timed(timings, "dask_screen"):
        count = screen(client, raw_dir, dataset, batch_size, recursive)
    if not count:
        return Distributed(parts=0)
    with timed(timings, "dask_analyse"):
        result = analyse(client, count, raw_dir, rules, evidence, main, dataset, batch_size, progress,
                         timings, meanwhile)
    phases = {"analyse": worker_memory(client)}
    with timed(timings, "families"):
        mapping = unify(client, dataset)
    phases["families"] = worker_memory(client)
    with timed(timings, "contradict"), timed(timings, "dask_contradict"):
        contradictions(result.parts, dataset, mapping, rules)
    mapping.release()
    with timed(timings, "contradict"):   # as analyse.cross_check: the pairs, then their groups
        grouped = client.submit(groups_task, str(dataset), result.parts, groups_evidence, pure=False)
        repeats = client.submit(claim_id_repeats_task, str(dataset), result.parts, pure=False)
        wait([grouped, repeats])
        result.memory = worker_memory(client)   # the phase's peaks
        (group_ids, result.skip), claim_ids = grouped.result(), repeats.result()
        result.id_repeats = {"claims": {"claim_id": claim_ids}, "contradiction_groups": group_ids}
    for phase, memory in phases.items():  # peaks so far, to tell which phase set them
        timings[f"dask_worker_peak_mb_{phase}"] = max(memory["workers_mb"] or [0.0])
    return result


def audit_folder_dask(raw_dir: Path, rules: RuleSet, *, dataset: Path, workers: int = 1,
                      batch_size: int = config.AUDIT_BATCH_ARTICLES,
                      progress: Callable[[int, int], None] | None = None,
                      timings: dict | None = None, evidence: pd.DataFrame | None = None,
                      scheduler: str | None = None, recursive: bool = False,
                      sources: pd.DataFrame | None = None,
                      meanwhile: Callable[[], object] | None = None) -> tables.Tables:
    """``audit.audit_folder`` on a Dask cluster: the same tables, with the claims, assertions and
    findings also written as a partitioned Parquet dataset into the empty folder ``dataset``
    (the audit stages it with the other outputs: ``io.OutputSet.add_folder``)."""
    timings = {} if timings is None else timings
    raw_dir = Path(raw_dir).resolve()
    io.list_articles(raw_dir, recursive)  # a missing folder: a clear error before any cluster starts
    dataset = Path(dataset).resolve()
    ev = normalise_evidence(evidence, rules, where=str(raw_dir / config.EVIDENCE_CSV))
    sources = io.read_sources(raw_dir) if sources is None else sources
    main = main_treatments(sources)
    for name in config.DATASET_FOLDERS:
        (dataset / name).mkdir(parents=True)
    started = time.perf_counter()
    with connect(scheduler, workers) as client:
        timings["dask_start"] = time.perf_counter() - started
        result = distribute(client, raw_dir, rules, ev, main, dataset, max(1, batch_size),
                            progress, timings, recursive, meanwhile, evidence)
        closing = time.perf_counter()
    timings["dask_close"] = time.perf_counter() - closing
    timings["dask_client_peak_mb"] = result.memory.get("client_mb", lifecycle.peak_mb())
    timings["dask_worker_peak_mb"] = max(result.memory.get("workers_mb") or [0.0])
    with timed(timings, "merge"):   # the problems as the local engine merges them
        small = merge([tables.Tables(problems=p) for p in result.problems])
        out = DatasetTables(dataset, part_sources(dataset, result.parts), skip=result.skip,
                            id_repeats=result.id_repeats, sources=sources, problems=small.problems)
    lifecycle.release_memory()   # what the client read for the distributed phase, before the finish
    return out


GROUP_COLUMNS = ["claim_id", "source_id", "start", "end", "text", "treatment", "certainty",
                 "family_id", "evidence_status", "evidence_ids"]


def group_claims(dataset: Path, parts: int, pairs: pd.DataFrame) -> tuple[pd.DataFrame, FamilyCounts]:
    """What ``contradiction_groups`` reads of the claims: the claims in a contradiction or
    contradicted by the evidence (in claims order), and the size and sources of their
    families (``FamilyCounts``, counted part by part). Two passes over a few columns of the
    dataset, holding only these."""
    wanted = set(pairs["claim_a"].tolist()) | set(pairs["claim_b"].tolist())
    files = [part_path(dataset, "claims", p) for p in range(parts)]
    families: set[str] = set()
    for f in files:
        c = io.read_parquet(f, columns=["claim_id", "family_id", "evidence_status"])
        mine = pd.Series(tables.within(c["claim_id"], wanted), index=c.index) | (c["evidence_status"] == "contradicted")
        wanted.update(c.loc[mine, "claim_id"].tolist())
        families.update(claim_families(c)[mine].tolist())
    kept, counts = [], FamilyCounts()
    for f in files:
        c = io.read_parquet(f, columns=GROUP_COLUMNS)
        counts.add(FamilyCounts.of(c, families))
        c = c[tables.within(c["claim_id"], wanted)]
        if len(c):
            kept.append(c.assign(evidence_ids=[tuple(v) for v in c["evidence_ids"]]))
    if not kept:
        return tables.empty(GROUP_COLUMNS), counts
    out = pd.concat(kept, ignore_index=True)
    return out.sort_values(["source_id", "start", "end"], kind="stable").reset_index(drop=True), counts
