"""The rendered report (papermill + nbconvert) of a tiny audit, parsed as a browser would read it."""
from __future__ import annotations

import pandas as pd
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from pipeline import config
from pipeline.audit import run_audit

ARTICLES = {
    "a.txt": "Microneedling has no side effects at all.\n\nMicroneedling is completely painless for everyone.\n",
    "b.html": "<html><head><title>Microneedling: what to expect</title></head><body>"
              "<p>Microneedling causes redness and swelling for two days.</p>"
              "<p>Microneedling is painful without a numbing cream.</p></body></html>",
    "c.md": "# Peels explained\n\nA chemical peel can brighten dull skin over a few weeks.\n",
    "d.txt": "Laser treatment reduces fine lines and improves skin tone.\n",
}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("people")
    raw, out = root / "raw", root / "out"
    raw.mkdir()
    for name, text in ARTICLES.items():
        (raw / name).write_text(text, encoding="utf-8")
    pd.DataFrame([{"source_id": "a", "file": "a.txt", "title": "Clinic A on microneedling", "author": "",
                   "date": "", "main_treatment": ""}]).to_csv(raw / config.SOURCES_FILE, index=False)
    run_audit(raw, out, decisions=None)
    return root, out, (out / config.REPORT_HTML).read_text(encoding="utf-8")


def test_articles_table_titles_each_article(page):
    _, out, _ = page
    titles = dict(pd.read_csv(out / config.ARTICLES_CSV)[["source_id", "title"]].values)
    assert titles == {"a": "Clinic A on microneedling", "b": "Microneedling: what to expect",
                      "c": "Peels explained", "d": "d.txt"}


def test_start_here_comes_first_and_names_the_article(page):
    _, _, html = page
    tree = HTMLParser(html)
    sections = [s.attributes["id"] for s in tree.css("section.audit")]
    assert sections[:2] == ["start-here", "summary"]
    assert sections.index("groups") < sections.index("contradictions")   # groups before the pairs
    first = tree.css_first("#start-here-list > li")
    assert first.css_first("b").text() == "Clinic A on microneedling"
    assert "Contradicted by" in first.text()
    assert tree.css("tr[data-group]")


def test_page_has_no_local_paths_and_no_network(page):
    root, _, html = page
    assert str(root) not in html and str(config.ROOT) not in html
    tree = HTMLParser(html)
    for script in tree.css("script"):
        assert "src" not in script.attributes and "http" not in script.text()
    assert not [l for l in tree.css("link") if "http" in l.attributes.get("href", "")]
    imgs = tree.css("img")
    assert imgs and all(i.attributes.get("alt") and i.attributes["src"].startswith("data:image/png") for i in imgs)
    listed = [c.text() for c in tree.css("#outputs li code")]
    assert config.CONTRADICTION_GROUPS_CSV in listed and all("/" not in n for n in listed)


def test_the_claims_table_lists_the_riskiest_rows_when_there_are_too_many(monkeypatch):
    import pandas as pd
    from pipeline import config
    from pipeline.outputs.report import claims_table_html

    monkeypatch.setattr(config, "REPORT_MAX_ROWS", 2)
    claims = pd.DataFrame({"claim_id": ["c1", "c2", "c3"], "source_id": ["a", "a", "a"],
                           "text": ["Low one.", "High one.", "None one."], "risk": ["low", "high", "none"]})
    page = claims_table_html(claims)
    assert "High one." in page and "Low one." in page and "None one." not in page
    assert "The 2 riskiest of 3 claims are listed here" in page
