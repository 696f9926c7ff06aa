"""The Dask engine gives the local engine's answer: byte-identical tables on the seed articles,
the test articles and the shared corpus, on bad input, across partitions (families unified,
contradictions per block), when a worker dies mid-run, and a failed run changes no output.

One 2-worker LocalCluster (processes) serves the whole module. The audits use batches of two
articles, so every folder is several partitions and every cross-partition step is exercised.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline import config, dask_engine, io, tables
from pipeline.audit import run_audit
from pipeline.cli import app
from pipeline.stages.contradict import SORT, sort_contradictions
from pipeline.stages.families import unify_families
from test_robust import EXPECTED_PROBLEMS, hostile_folder

distributed = pytest.importorskip("distributed")

COMPARED = (config.CLAIMS_CSV, config.CONTRADICTIONS_CSV, config.PROBLEMS_CSV, config.FLAGS_CSV,
            config.ASSERTIONS_CSV, config.CONTRADICTION_GROUPS_CSV, config.ARTICLES_CSV)
SHARED_PAGES = config.ROOT.parent / "shared" / "corpus" / "pages"
BATCH = 2


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as c:
        yield c


def audit_both(raw: Path, out: Path, cluster, **kwargs) -> tuple[Path, Path]:
    """The same folder through both engines (tables only), into out/local and out/dask."""
    opts = dict(validate=False, report=False, workbook=False, decisions=None, batch_size=BATCH)
    opts.update(kwargs)
    run_audit(raw, out / "local", **opts)
    run_audit(raw, out / "dask", engine="dask", scheduler=cluster.scheduler_address, **opts)
    return out / "local", out / "dask"


def assert_same(local: Path, dask: Path) -> None:
    for name in COMPARED:
        assert (dask / name).read_bytes() == (local / name).read_bytes(), name


@pytest.mark.parametrize("folder", [config.RAW_DIR, config.TEST_ARTICLES_DIR, SHARED_PAGES],
                         ids=["data-raw", "tests-articles", "shared-corpus-pages"])
def test_same_tables_as_the_local_engine(folder, cluster, tmp_path):
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (the shared corpus sits beside the repository)")
    local, dask = audit_both(folder, tmp_path, cluster)
    assert_same(local, dask)
    claims = pd.read_csv(dask / config.CLAIMS_CSV)
    assert len(claims) > 0
    # the claims are also a Parquet dataset, one part per batch, with the same rows
    n = len(io.list_articles(folder))
    parts = sorted((dask / config.DATASET_DIR / "claims").glob("part-*.parquet"))
    assert len(parts) == -(-n // BATCH)
    dataset = pd.concat([io.read_parquet(p) for p in parts], ignore_index=True)
    assert sorted(dataset["claim_id"]) == sorted(claims["claim_id"])
    families = dict(zip(claims["claim_id"], claims["family_id"]))
    assert all(families[c] == f for c, f in zip(dataset["claim_id"], dataset["family_id"]))


def test_bad_articles_are_the_same_problem_rows(cluster, tmp_path):
    raw = hostile_folder(tmp_path)
    local, dask = audit_both(raw, tmp_path / "out", cluster)
    assert_same(local, dask)
    problems = pd.read_csv(dask / config.PROBLEMS_CSV)
    for name, text in EXPECTED_PROBLEMS.items():
        assert any(f == name and text in p for f, p in zip(problems["file"], problems["problem"])), name


def test_the_workers_screen_the_folder_into_one_files_part_per_partition(cluster, tmp_path):
    """The client lists and screens nothing: the workers write the screened files (duplicates
    and unreadable files marked, the skipped subfolder last), a part per partition of BATCH
    files, as the local engine screens and batches them; each part's articles come back from
    the dataset too."""
    import pyarrow.parquet as pq

    from pipeline.sources import screen_raw

    raw = hostile_folder(tmp_path)
    (raw / "sub").mkdir(exist_ok=True)
    (raw / "sub" / "inner.txt").write_text("Microneedling\n\nMicroneedling is safe.\n", encoding="utf-8")
    _, dask = audit_both(raw, tmp_path / "out", cluster)
    dataset = dask / config.DATASET_DIR
    local = [(f.source_id, f.path.relative_to(raw).as_posix(), f.problem, f.name)
             for f in screen_raw(io.iter_articles(raw))]
    parts = sorted((dataset / config.DATASET_FILES).glob("part-*.parquet"))
    assert [len(io.read_parquet(p)) for p in parts] == [len(local[i:i + BATCH]) for i in range(0, len(local), BATCH)]
    files = [tuple(row.values()) for p in parts for row in pq.read_table(p).to_pylist()]
    assert files == local
    assert any("duplicate of" in (p or "") for _, _, p, _ in local) and local[-1][0] == "sub/"
    articles = pd.concat([io.read_parquet(p) for p in sorted((dataset / config.DATASET_ARTICLES).glob("*.parquet"))])
    assert list(articles["source_id"]) == list(pd.read_csv(dask / config.ARTICLES_CSV)["source_id"])


def test_a_batch_of_only_bad_files_is_problem_rows(rules):
    """A partition can hold no readable article (a folder, an empty file): problems, no claims."""
    from pipeline.analyse import analyse_articles

    raw = pd.DataFrame([{"source_id": "x", "file": "x.txt", "data": None, "problem": "is a folder"},
                        {"source_id": "e", "file": "e.txt", "data": b"", "problem": None}])
    t = analyse_articles(raw, rules)
    assert list(t.problems["file"]) == ["x.txt", "e.txt"] and t.claims.empty


NEAR = "Microneedling has virtually no side effects for most people with oily skin."
NEARER = "Microneedling has virtually no side effects for most people with oily skin types."
PAINFUL = "Microneedling can be painful and may cause redness for a few days.\n"


# a.txt groups two near-duplicates in one family under the first one's id; b.txt (the next
# partition of two) holds only the second, so its own family id differs until unified
SPLIT_FAMILY = {
    "a.txt": f"Microneedling\n\n{NEAR} {NEARER} {PAINFUL}",
    "a2.txt": "Chemical peels\n\nA chemical peel improves the texture of the skin.\n",
    "b.txt": f"Microneedling facts\n\n{NEARER} {PAINFUL}",
}


def test_families_are_unified_across_partitions(cluster, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in SPLIT_FAMILY.items():
        (raw / name).write_text(text, encoding="utf-8")
    local, dask = audit_both(raw, tmp_path / "out", cluster)
    assert_same(local, dask)
    claims = pd.read_csv(dask / config.CLAIMS_CSV, keep_default_na=False)
    ids = claims.loc[claims["text"].isin([NEAR, NEARER]), "family_id"]
    assert len(ids) == 3 and ids.nunique() == 1
    contra = pd.read_csv(dask / config.CONTRADICTIONS_CSV)
    assert {"a", "b"} <= set(contra["source_a"]) | set(contra["source_b"])


def test_subfolders_give_the_same_tables(cluster, tmp_path):
    """--recursive: articles in subfolders (source id: the path inside the folder); without it
    the skipped subfolder is a problem row, in both engines alike."""
    raw = tmp_path / "raw"
    (raw / "2024").mkdir(parents=True)
    for i, (name, text) in enumerate(SPLIT_FAMILY.items()):
        (raw / ("2024" if i % 2 else ".") / name).write_text(text, encoding="utf-8")
    for recursive in (True, False):
        local, dask = audit_both(raw, tmp_path / f"out{recursive}", cluster, recursive=recursive)
        assert_same(local, dask)
    assert "2024/a2" in set(pd.read_csv(tmp_path / "outTrue" / "dask" / config.CLAIMS_CSV)["source_id"])
    assert "2024/" in set(pd.read_csv(tmp_path / "outFalse" / "dask" / config.PROBLEMS_CSV)["file"])


def decisions_of_every_status(out: Path) -> pd.DataFrame:
    """A decisions log against an audit's outputs: a claim, a flag and a group decided as they
    are, a claim decided twice, an edited claim (stale, in its source's pool and, without a
    source, in its kind's), and one whose claim is gone."""
    claims = io.read_csv(out / config.CLAIMS_CSV)
    flags = io.read_csv(out / config.FLAGS_CSV)
    groups = io.read_csv(out / config.CONTRADICTION_GROUPS_CSV)
    c = claims.iloc[[0, 1, 2, len(claims) - 1]].reset_index(drop=True)
    rows = [
        dict(kind="claim", claim_id=c.claim_id[0], source_id=c.source_id[0], claim_text=c.text[0], decision="approved"),
        dict(kind="claim", claim_id=c.claim_id[1], source_id=c.source_id[1], claim_text=c.text[1], decision="approved"),
        dict(kind="claim", claim_id=c.claim_id[1], source_id=c.source_id[1], claim_text=c.text[1], decision="rejected"),
        dict(kind="claim", claim_id="c000000000001", source_id=c.source_id[2], claim_text=c.text[2] + " Truly.",
             decision="needs_evidence"),
        dict(kind="claim", claim_id="c000000000002", source_id="", claim_text=c.text[3] + " Truly.", decision="rejected"),
        dict(kind="claim", claim_id="c000000000003", source_id="gone", claim_text="Nothing like it.", decision="approved"),
        dict(kind="flag", claim_id=flags.claim_id[0], fingerprint=flags.fingerprint[0], rule_id=flags.rule_id[0],
             claim_text=flags.text[0], decision="confirmed"),
        dict(kind="group", claim_id=groups.claim_id[0], group_id=groups.group_id[0], claim_text=groups.text[0],
             decision="dismissed", note="not the same procedure"),
    ]
    return pd.DataFrame([{"reviewer": "ann", "date": "2026-11-30", **r} for r in rows])


def test_the_finish_in_small_chunks_writes_every_output_as_the_local_engine(cluster, tmp_path, monkeypatch):
    """The Dask finish reads the claims, contradictions and groups back a few at a time (chunks
    of 5 and 2, sorted runs merged two at a time): with file names that sort unlike their source ids
    (a-b.txt, a.b.txt, a.txt: source ids a, a-b, a.b), a decisions log of every status,
    validation and the workbook on, every output is the local engine's, byte for byte;
    claims.parquet has the same rows (a row group per chunk)."""
    import shutil

    raw = tmp_path / "raw"
    raw.mkdir()
    seeds = sorted(p for p in config.RAW_DIR.iterdir() if p.suffix == ".txt")
    for name, seed in zip(["a-b.txt", "a.b.txt", "a.txt", "b-c.txt", "b.txt"], seeds):
        shutil.copy(seed, raw / name)
    shutil.copy(config.RAW_DIR / config.EVIDENCE_CSV, raw / config.EVIDENCE_CSV)
    opts = dict(validate=True, report=False, workbook=True, batch_size=BATCH)
    run_audit(raw, tmp_path / "first", decisions=None, **opts)
    log = tmp_path / "decisions.csv"
    decisions_of_every_status(tmp_path / "first").to_csv(log, index=False)
    monkeypatch.setattr(config, "FINISH_CHUNK_CLAIMS", 5)
    monkeypatch.setattr(config, "FINISH_CHUNK_CONTRADICTIONS", 5)
    monkeypatch.setattr(config, "FINISH_CHUNK_GROUPS", 2)
    monkeypatch.setattr(config, "MERGE_FANIN", 2)
    local, dask = audit_both(raw, tmp_path / "out", cluster, decisions=log, **opts)
    assert_same(local, dask)
    for name in (config.REVIEW_STATUS_CSV, config.VALIDATION_JSON, config.CLAIMS_REVIEW_XLSX):
        assert (dask / name).read_bytes() == (local / name).read_bytes(), name
    pd.testing.assert_frame_equal(io.read_parquet(dask / config.CLAIMS_PARQUET),
                                  io.read_parquet(local / config.CLAIMS_PARQUET))
    status = io.read_csv(dask / config.REVIEW_STATUS_CSV)
    assert set(status["status"]) == {"unchanged", "superseded", "stale", "orphaned"}
    assert list(pd.read_csv(dask / config.CLAIMS_CSV)["source_id"].drop_duplicates())[:3] == ["a", "a-b", "a.b"]


# a claim about the injectables family pairs with one of its article in the family's block and
# again in each member's block that other articles fill: one pair, found in several runs
FAMILY_PAIR = {
    "a.txt": "Injectables\n\nInjections are a non-invasive treatment with no downtime. "
             "Avoid direct sun for a week after injectables.\n",
    "b.txt": "Botox\n\nBotox has no downtime at all.\n",
    "c.txt": "Fillers\n\nDermal fillers have no downtime.\n",
    "d.txt": "PRP\n\nPRP therapy has no downtime.\n",
}


def test_a_pair_found_in_several_blocks_is_written_once(cluster, tmp_path):
    """Each shuffle partition writes its contradictions as a sorted run; a pair that two runs
    hold (a family claim joins its members' blocks) is in contradictions.csv once, and every
    table is the local engine's."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in FAMILY_PAIR.items():
        (raw / name).write_text(text, encoding="utf-8")
    local, dask = audit_both(raw, tmp_path / "out", cluster, batch_size=1)
    assert_same(local, dask)
    runs = [io.read_parquet(f) for f in sorted((dask / config.DATASET_DIR / "contradictions").glob("part-*.parquet"))]
    held = pd.concat(runs, ignore_index=True)["contradiction_id"]
    assert held.duplicated().any()   # the case this test is about
    written = pd.read_csv(dask / config.CONTRADICTIONS_CSV)["contradiction_id"]
    assert sorted(written) == sorted(set(held))
    for run in runs:   # every run is sorted as the table is
        assert list(run["contradiction_id"]) == list(sort_contradictions(run)["contradiction_id"])


def test_the_client_holds_no_pair_and_no_claim_id_hash(cluster, tmp_path, monkeypatch):
    """The contradiction groups are made on a worker (and kept in the dataset) and the claim ids'
    and the groups' ids' repeats counted there: the finish (this process, here with chunks of
    5 claims, 3 groups and 2 articles) never reads the pairs, holds more than a chunk of groups
    or articles nor hashes a claim id, gives each chunk's memory back once it is written, and
    every table, the validation summary included, is the local engine's."""
    from pipeline import lifecycle, tables
    from pipeline.outputs import validate

    hashed = validate.hashes

    def no_claim_ids(values):
        assert values.name != "claim_id", "the client hashed the claim ids"
        return hashed(values)

    def refused(*args, **kwargs):
        raise AssertionError("the client read the pairs")

    opts = dict(validate=True, report=False, workbook=False, decisions=None, batch_size=BATCH)
    local, dask = tmp_path / "local", tmp_path / "dask"
    run_audit(config.RAW_DIR, local, **opts)
    monkeypatch.setattr(config, "FINISH_CHUNK_CLAIMS", 5)
    monkeypatch.setattr(config, "FINISH_CHUNK_CONTRADICTIONS", 10)
    monkeypatch.setattr(config, "FINISH_CHUNK_GROUPS", 3)
    monkeypatch.setattr(config, "FINISH_CHUNK_ARTICLES", 2)
    shown_groups, titled = [], []

    def with_source_titles(articles, sources):
        titled.append(len(articles))
        return titles(articles, sources)

    titles = dask_engine.with_source_titles
    monkeypatch.setattr(dask_engine, "with_source_titles", with_source_titles)

    def groups_for_people(groups):
        shown_groups.append(len(groups))
        return for_people(groups)

    for_people = tables.groups_for_people
    monkeypatch.setattr(tables, "groups_for_people", groups_for_people)
    released = []
    monkeypatch.setattr(lifecycle, "release_memory", lambda: released.append(1))
    for name in ("read_pairs", "group_claims", "contradiction_groups"):
        monkeypatch.setattr(dask_engine, name, refused)
    monkeypatch.setattr(validate, "hashes", no_claim_ids)
    result = run_audit(config.RAW_DIR, dask, engine="dask", scheduler=cluster.scheduler_address, **opts)
    assert_same(local, dask)
    assert (dask / config.VALIDATION_JSON).read_bytes() == (local / config.VALIDATION_JSON).read_bytes()
    assert result.timings["validator_peak_mb"] > 0   # the chunks were validated in a process apart
    # every chunk's memory went back to the system once it was written (a full chunk of
    # claims, each chunk of contradictions), however often the finish read them
    assert len(released) > len(pd.read_csv(dask / config.CONTRADICTIONS_CSV)) // 10 > 0
    groups = pd.read_csv(dask / config.CONTRADICTION_GROUPS_CSV)
    assert len(groups) > 3 and max(shown_groups) == 3 and sum(shown_groups) == len(groups)
    # the articles too: read back and written two at a time, none kept
    assert max(titled) == 2 and sum(titled) == len(pd.read_csv(dask / config.ARTICLES_CSV)) > 2
    kept = io.read_parquet(dask / config.DATASET_DIR / config.DATASET_GROUPS / "part-00000.parquet")
    assert list(kept["group_id"]) == list(groups["group_id"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.one_of(st.sampled_from(["", "a", "b c", "a\x1fb", "é"]),
                                                     st.text(max_size=3)), max_size=4)), max_size=12),
       st.integers(0, 3))
def test_list_columns_read_back_as_the_tuples_written(lists, offset):
    """A dataset's list column read back: each row the tuple of its items, () for an empty or
    missing list, whatever the items (the separator that joins them, empty ones), also for a
    slice of an array (offsets not starting at 0); equal lists share one tuple."""
    import pyarrow as pa

    values = pa.array([None] * offset + lists, type=pa.list_(pa.string())).slice(offset)
    got = dask_engine._tuples(values)
    assert got == [tuple(v) if v else () for v in lists]
    assert dask_engine._tuples(values.cast(pa.list_(pa.large_string()))) == got
    if not any(lists):   # lists of no text at all, as a part of only empty lists may be typed
        assert dask_engine._tuples(pa.array([[] if v is not None else None for v in lists],
                                            type=pa.list_(pa.null()))) == got
    assert len({id(t) for t in got}) == len(set(got)) or any("\x1f" in i for v in lists if v for i in v)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(alphabet="ab.-_\u00e9z", min_size=1, max_size=4), max_size=6), max_size=5))
def test_runs_take_the_articles_of_the_parts_in_source_id_order(parts):
    """The finish's runs: (part, first, last source id) of each stretch of consecutive source
    ids (in sorted order, as str sorts them: by code point) held by one part; every id of
    every part once. Source ids are unique, so each is put in one part here."""
    seen, unique = set(), []
    for ids in parts:
        unique.append([i for i in ids if not (i in seen or seen.add(i))])
    runs = dask_engine.DatasetTables(Path("unused"), unique).runs()
    owner = sorted((sid, p) for p, ids in enumerate(unique) for sid in ids)
    expected: list[list] = []
    for sid, p in owner:
        if expected and expected[-1][0] == p:
            expected[-1][2] = sid
        else:
            expected.append([p, sid, sid])
    assert runs == [tuple(r) for r in expected]


def test_a_chunk_of_claims_ends_at_the_article_that_reaches_its_size(tmp_path):
    """The finish's chunks hold ``size`` claims and less than one article more, wherever the
    parts and their runs end (a run of several articles is cut between two of them): every
    claim once, in claims order, each with its own assertions."""
    counts = {"a": 3, "b": 2, "c": 4, "d": 5, "e": 1, "f": 6}
    parts = [["a", "c"], ["b", "d", "e"], ["f"]]
    for name in ("claims", "assertions"):
        (tmp_path / name).mkdir()
    for p, sids in enumerate(parts):
        ids = [f"{s}{i}" for s in sids for i in range(counts[s])]
        pd.DataFrame({"claim_id": ids, "source_id": [i[0] for i in ids]}).to_parquet(
            dask_engine.part_path(tmp_path, "claims", p))
        pd.DataFrame({"claim_id": [i for i in reversed(ids) for _ in range(2)]}).to_parquet(
            dask_engine.part_path(tmp_path, "assertions", p))
    chunks = list(dask_engine.DatasetTables(tmp_path, parts).claim_chunks(4))
    for claims, _ in chunks[:-1]:
        last = claims["source_id"].iloc[-1]
        assert len(claims[claims["source_id"] != last]) < 4 <= len(claims)
    assert [list(c["source_id"].drop_duplicates()) for c, _ in chunks] == [["a", "b"], ["c"], ["d"], ["e", "f"]]
    every = pd.concat([c for c, _ in chunks])["claim_id"].tolist()
    assert every == [f"{s}{i}" for s in sorted(counts) for i in range(counts[s])]
    for claims, assertions in chunks:
        assert sorted(assertions["claim_id"]) == sorted(claims["claim_id"].tolist() * 2)


def test_claim_ids_repeated_across_parts_are_counted_as_on_the_whole_column(tmp_path):
    """Counted on a worker from the parts' id hashes, the repeats are those of the whole
    column: every row of a repeated id (one thrice across three parts is three rows)."""
    import numpy as np

    from pipeline.outputs.validate import hashes, repeated_hashes

    parts = [["c1", "c2", "c3"], ["c4", "c2"], ["c2", "c5", "c5"], []]
    (tmp_path / "claims").mkdir()
    for p, ids in enumerate(parts):
        pd.DataFrame({"claim_id": pd.Series(ids, dtype=str)}).to_parquet(dask_engine.part_path(tmp_path, "claims", p))
    count, twice = dask_engine.claim_id_repeats_task(str(tmp_path), len(parts))
    whole = pd.Series([c for ids in parts for c in ids])
    assert (count, twice) == repeated_hashes([hashes(whole)]) == (5, set(hashes(pd.Series(["c2", "c5"])).tolist()))
    assert isinstance(next(iter(twice)), int) and not isinstance(next(iter(twice)), np.integer)


def test_a_partition_of_several_blocks_pairs_as_its_blocks_one_by_one(rules, tmp_path):
    """A shuffle partition runs ``contradictions_in`` once on all its blocks' rows: the pairs
    of its blocks one by one (a family claim's copies in several of them count once), and with
    every block in one partition, the local engine's contradictions."""
    from conftest import raw_frame
    from pipeline.analyse import analyse_articles
    from pipeline.sources import read_raw
    from pipeline.stages.contradict import find_contradictions

    raw = pd.concat([read_raw(config.RAW_DIR), raw_frame(FAMILY_PAIR)], ignore_index=True)
    analysed = analyse_articles(raw, rules)
    dataset = tmp_path / "dataset"
    dask_engine.write_part(dataset, 0, analysed)
    rows = dask_engine.asserted_task(0, str(dataset), {}, str(rules.folder))
    assert rows.duplicated(["claim_id", "ordinal"]).any()   # a family claim in several blocks

    def pairs(found: pd.DataFrame, ordered: bool = False) -> list[dict]:
        rows = found if ordered else sort_contradictions(found.drop_duplicates("contradiction_id"))
        return rows[tables.CONTRADICTIONS].astype({"repeats": int}).to_dict("records")

    folder = str(rules.folder)
    whole = dask_engine.block_contradictions(rows, folder)
    one_by_one = pd.concat([dask_engine.block_contradictions(g, folder) for _, g in rows.groupby("block")],
                           ignore_index=True)
    assert pairs(whole) == pairs(one_by_one)
    local = pairs(find_contradictions(analysed.claims, analysed.assertions, rules), ordered=True)
    assert len(local) > 10
    assert pairs(whole) == local
    blocks = sorted(set(rows["block"]))
    thirds = [rows[rows["block"].isin(blocks[k::3])] for k in range(3)]
    found = pd.concat([dask_engine.block_contradictions(t, folder) for t in thirds], ignore_index=True)
    assert pairs(found) == local


def test_a_part_rewritten_with_unified_families_is_the_part_written_with_them(tmp_path):
    """The families step maps a part's family ids in its Parquet file (as Arrow data): the same
    bytes as writing the mapped claims, list columns included; no mapped id: no rewrite."""
    claims = pd.DataFrame({c: [f"{c}-1", f"{c}-2", f"{c}-3"] for c in tables.CLAIMS}).assign(
        start=[0, 5, 9], end=[4, 8, 12], negated=[False, True, False], family_id=["f1", "f2", "f1"],
        treatments=[("botox",), (), ("botox", "prp")], subjects=[(), (), ("prp",)], cues=[("no",), (), ()],
        evidence_ids=[(), ("E1",), ()], flags=[(), (), ("R1", "R2")])
    schema = dask_engine._schema("claims")
    mapped, expected = tmp_path / "mapped.parquet", tmp_path / "expected.parquet"
    io.write_parquet(mapped, claims, schema)
    io.write_parquet(expected, claims.assign(family_id=["u1", "f2", "u1"]), schema)
    before = mapped.read_bytes()
    assert not io.map_parquet_column(mapped, "family_id", {"f9": "u9"}, schema)
    assert mapped.read_bytes() == before
    assert io.map_parquet_column(mapped, "family_id", {"f1": "u1", "f9": "u9"}, schema)
    assert mapped.read_bytes() == expected.read_bytes()


def test_the_local_cluster_runs_without_the_profiler_or_a_pinned_malloc_threshold(monkeypatch):
    """The engine's LocalCluster: workers without Dask's statistical profiler and without the
    nanny's MALLOC_TRIM_THRESHOLD_ (both cost the stages time; docs/dask.md)."""
    import dask

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)   # an earlier cluster's nanny sets it here

    def worker_side() -> tuple:
        return os.environ.get("MALLOC_TRIM_THRESHOLD_"), dask.config.get("distributed.worker.profile.enabled")

    with dask_engine.connect(None, 1) as client:
        assert list(client.run(worker_side).values()) == [(None, False)]
    assert dask.config.get("distributed.worker.profile.enabled") is True   # this process's settings are back


def run_file(folder: Path, run: int, rows: list[tuple]) -> tuple[int, Path]:
    """A sorted run of contradiction rows (treatment, aspect, source_a, start_a, source_b,
    start_b, contradiction_id) with the other columns filled in."""
    df = pd.DataFrame(rows, columns=["treatment", "aspect", "source_a", "start_a", "source_b", "start_b",
                                     "contradiction_id"])
    df = df.assign(**{c: f"{c}-" + df["contradiction_id"] for c in dask_engine.SORTED_CONTRADICTIONS
                      if c not in df}).assign(repeats=1)[dask_engine.SORTED_CONTRADICTIONS]
    path = folder / f"part-{run:05d}.parquet"
    io.write_parquet(path, df.sort_values(SORT, kind="stable"), dask_engine._schema(config.DATASET_CONTRADICTIONS))
    return run, path


@pytest.mark.parametrize("fanin", [64, 2], ids=["one-pass", "in-passes"])
def test_sorted_runs_merge_into_the_sorted_table_in_chunks(tmp_path, monkeypatch, fanin):
    """The finish merges the runs a chunk at a time: the rows of all runs in the table's order,
    the repeats named by (run, row) left out, whatever the chunk size; with more runs than it
    opens at once (MERGE_FANIN) it merges them in passes through a temporary folder, removed."""
    monkeypatch.setattr(config, "MERGE_FANIN", fanin)
    work = tmp_path / "work"
    work.mkdir()
    runs = [run_file(tmp_path, 0, [("botox", "pain", "s1", 5, "s2", 0, "x1"), ("botox", "pain", "s2", 9, "s3", 0, "x2"),
                                   ("peel", "cost", "s1", 0, "s1", 40, "x3")]),
            run_file(tmp_path, 1, [("botox", "pain", "s1", 5, "s2", 0, "x1"), ("botox", "pain", "s10", 1, "s2", 0, "x4"),
                                   ("laser", "downtime", "s4", 3, "s5", 0, "x5")]),
            run_file(tmp_path, 2, [])]
    skip = {(1, 0)}   # run 1's copy of x1
    whole = pd.concat([io.read_parquet(p) for _, p in runs], ignore_index=True).drop_duplicates("contradiction_id")
    expected = sort_contradictions(whole)
    for size in (1, 2, 4, 100):
        chunks = list(dask_engine.merged_runs(runs, skip, size, workdir=work))
        assert [len(c) for c in chunks[:-1]] == [size] * (len(chunks) - 1)
        merged = pd.concat(chunks, ignore_index=True)
        assert list(merged.columns) == tables.CONTRADICTIONS
        assert list(merged["contradiction_id"]) == list(expected["contradiction_id"]) == ["x1", "x4", "x2", "x5", "x3"]
    assert list(work.iterdir()) == []
    empty = list(dask_engine.merged_runs([runs[2]] * 3, set(), 10, workdir=work))
    assert len(empty) == 1 and empty[0].empty and list(empty[0].columns) == tables.CONTRADICTIONS


def test_family_unification_per_treatment_equals_all_at_once(rules):
    """The families step may run on any set of whole treatments: the same ids as on all claims."""
    from conftest import raw_frame
    from pipeline.analyse import analyse_articles, merge
    from pipeline.sources import read_raw

    raw = pd.concat([read_raw(config.RAW_DIR), raw_frame(SPLIT_FAMILY)], ignore_index=True)
    parts = [analyse_articles(raw.iloc[i:i + 2], rules) for i in range(0, len(raw), 2)]
    claims = pd.concat([p.claims for p in parts], ignore_index=True)
    whole = unify_families(claims)
    moved = pd.concat([dask_engine.changed_families(dask_engine.family_rows(g))
                       for _, g in claims.groupby("treatment")], ignore_index=True)
    assert len(moved) > 0   # the split family of a.txt and b.txt
    mapping = dict(zip(moved["family_id"], moved["unified"]))
    assert list(claims["family_id"].map(lambda f: mapping.get(f, f))) == list(whole)
    merged = merge(parts).claims.set_index("claim_id")
    assert list(merged.loc[claims["claim_id"], "family_id"]) == list(whole)


def test_blocks_keep_every_pair_that_can_clash_together(rules):
    """A universal aspect (general claims meet every treatment) and a ranking aspect are one
    block each; a claim about a whole family is in its own block and each member's; a general
    claim on another aspect pairs with nothing and is left out; the rest by aspect and treatment."""
    universal = sorted(rules.aspects.universal())[0]
    ranking = next(a for a in rules.aspects.decl if rules.aspects.by_qualifier(a))
    plain = next(a for a in rules.aspects.decl
                 if a not in rules.aspects.universal() and not rules.aspects.by_qualifier(a))
    family = sorted(rules._family_ids)[0]
    members = rules.members(family)
    rows = pd.DataFrame({
        "claim_id": ["g1", "m1", "g2", "m2", "m3", "p3", "f4"],
        "treatment": ["none", members[0], "none", members[0], members[0], "chemical_peel", family],
        "aspect": [universal, universal, plain, plain, ranking, ranking, plain]})
    keyed = dask_engine.block_keys(rows, rules)
    block = {c: set(g) for c, g in keyed.groupby("claim_id")["block"]}
    assert block["g1"] == block["m1"] == {f"{universal}\x1f*"}
    assert "g2" not in block
    assert block["m2"] == {f"{plain}\x1f{members[0]}"}
    assert block["m3"] == block["p3"] == {f"{ranking}\x1f*"}
    assert block["f4"] == {f"{plain}\x1f{t}" for t in (family, *members)}


def test_a_block_of_only_general_claims_pairs_nothing(rules):
    """A universal aspect's block may hold only claims about pores in general (no treatment):
    no pair, and no error (a boolean mask of an empty column read as column labels)."""
    from pipeline.stages.contradict import find_contradictions

    claims = pd.DataFrame({"claim_id": ["c1"], "source_id": ["s"], "start": [0], "treatment": ["none"],
                           "text": ["Nothing can permanently shrink pores."], "family_id": ["f1"],
                           "certainty": ["absolute"], "treatments": [()], "claim_type": ["efficacy"]})
    assertions = pd.DataFrame({"claim_id": ["c1"], "aspect": [sorted(rules.aspects.universal())[0]],
                               "value": ["permanent"], "qualifier": [""], "words": ["permanently"],
                               "absolute": [False]})
    assert find_contradictions(claims, assertions, rules).empty


def test_a_failed_run_leaves_the_previous_outputs(cluster, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_audit(config.RAW_DIR, out, validate=False, report=False, workbook=False, decisions=None,
              batch_size=BATCH, engine="dask", scheduler=cluster.scheduler_address)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("lost the cluster")

    monkeypatch.setattr(dask_engine, "contradictions", broken)
    with pytest.raises(RuntimeError, match="lost the cluster"):
        run_audit(config.TEST_ARTICLES_DIR, out, validate=False, report=False, workbook=False,
                  decisions=None, batch_size=BATCH, engine="dask", scheduler=cluster.scheduler_address)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != config.OUT_LOCK_FILE] == []


def test_a_run_that_fails_validation_leaves_the_previous_dataset(cluster, tmp_path, stub_validator):
    """The dataset is one of the outputs: a run stopped by validation (after the cluster has
    finished) replaces neither the tables nor the dataset, so the two never disagree."""
    import pipeline.outputs.validate as validate

    out = tmp_path / "out"
    opts = dict(report=False, workbook=False, decisions=None, batch_size=BATCH, engine="dask",
                scheduler=cluster.scheduler_address)
    run_audit(config.RAW_DIR, out, validate=False, **opts)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(p.suffix == ".parquet" for p in (out / config.DATASET_DIR).rglob("*"))
    stub_validator(fail=True)
    with pytest.raises(validate.ValidationFailed, match="tables not written"):
        run_audit(config.TEST_ARTICLES_DIR, out, validate=True, **opts)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_local_run_removes_the_dataset_of_an_earlier_dask_run(cluster, tmp_path):
    """A dataset left by an earlier Dask run would disagree with the new tables: the local
    engine's output set removes it when it commits."""
    out = tmp_path / "out"
    opts = dict(validate=False, report=False, workbook=False, decisions=None, batch_size=BATCH)
    run_audit(config.RAW_DIR, out, engine="dask", scheduler=cluster.scheduler_address, **opts)
    assert (out / config.DATASET_DIR).is_dir()
    run_audit(config.TEST_ARTICLES_DIR, out, **opts)
    assert not (out / config.DATASET_DIR).exists()
    assert (out / config.CLAIMS_CSV).is_file()


def test_cli_refuses_a_scheduler_without_the_dask_engine(tmp_path):
    result = CliRunner().invoke(app, ["audit", "--raw", str(config.RAW_DIR), "--out", str(tmp_path),
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "--engine dask" in result.output
    result = CliRunner().invoke(app, ["audit", "--out", str(tmp_path), "--engine", "spark"])
    assert result.exit_code == 2
    assert not any(tmp_path.iterdir())


def test_a_worker_that_cannot_see_a_path_is_a_clear_error(cluster, tmp_path):
    with distributed.Client(cluster) as client:
        dask_engine.check_cluster(client, [config.RAW_DIR, tmp_path])
        with pytest.raises(dask_engine.EngineError, match=r"worker tcp://\S+ cannot see .*nowhere.*shared storage"):
            dask_engine.check_cluster(client, [config.RAW_DIR, tmp_path / "nowhere"])


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import socket

    import dask

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(app, ["audit", "--raw", str(config.RAW_DIR), "--out", str(tmp_path / "out"),
                                          "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in " ".join(result.output.split())


class KillOnce(distributed.WorkerPlugin):
    """Kills the worker process the first time it starts analysing a partition (a marker
    file makes it once per test, across the restarted worker processes)."""

    name = "kill-once"

    def __init__(self, marker: str):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "analyse_task" in str(key):
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            os._exit(1)


def test_a_worker_killed_mid_run_is_retried_and_the_tables_are_identical(cluster, tmp_path):
    """Last in the module: the cluster loses a worker process (the nanny starts a new one)."""
    marker = tmp_path / "killed"
    with distributed.Client(cluster) as client:
        client.register_plugin(KillOnce(str(marker)))
        try:
            local, dask = audit_both(config.TEST_ARTICLES_DIR, tmp_path / "out", cluster)
        finally:
            client.unregister_worker_plugin(KillOnce.name)
        client.wait_for_workers(2, timeout=60)
    assert marker.exists()   # a worker did die
    assert_same(local, dask)
