"""The bench's scale model: what it says of the Dask client's memory follows the figures."""
from pipeline.dev import bench


def _run(articles: int, client_mb: float) -> dict:
    timings = {"extract": 0.01 * articles, "dask_screen": 1.0, "families": 2.0, "contradict": 10.0,
               "merge": 0.1, "validate": 1.0, "write": 6.0}
    return {"articles": articles, "workers": 2, "claims": 63 * articles, "peak_main_mb": client_mb,
            "peak_worker_mb": 500.0 * articles / 10_000, "timings": timings,
            "shuffle_bytes_per_article": 13_000.0}


def test_the_client_line_gives_the_measured_difference_and_the_held_ids():
    """A smaller peak at the larger corpus is a difference of the two runs, not a negative
    growth per million articles; what grows is the source ids as Arrow text (bytes + offset)."""
    lines = bench.scale_model(_run(50_000, 519.0), _run(10_000, 523.0))
    client = next(line for line in lines if line.startswith("- The finish"))
    assert "523 MB at 10,000 articles and 519 MB at 50,000" in client and "-4 MB" in client
    held = (len(bench.article_id(999_999)) + 4) * 1_000_000 / 2**20
    assert f"about {held:,.0f} MB per million articles" in client and "-" not in client.split("-4 MB")[1]


def test_synthetic_articles_are_named_by_their_ids(tmp_path):
    """The corpus's file stems are the ids the scale model counts the bytes of."""
    bench.build_corpus(tmp_path, 3)
    assert sorted(p.stem for p in tmp_path.glob("*.txt")) == [bench.article_id(i) for i in range(3)]
