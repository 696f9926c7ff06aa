import re

import pytest

from pipeline.stages.ingest import IngestError, decode, ingest_one, mask_html, mask_markdown
from pipeline.text import normalise


def test_utf8_with_and_without_bom():
    assert decode("caf\u00e9".encode()) == ("caf\u00e9", "utf-8")
    text, enc = decode(b"\xef\xbb\xbfcaf\xc3\xa9")
    assert (text, enc) == ("caf\u00e9", "utf-8-sig")


def test_cp1252_curly_quotes_fall_back_to_detected_encoding():
    data = "\u201cMicroneedling is safe,\u201d the clinic says. It\u2019s painless.".encode("cp1252")
    text, enc = decode(data)
    assert "\u201cMicroneedling" in text and "It\u2019s" in text
    assert enc.lower().replace("-", "").startswith(("cp125", "windows125"))


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"  \n", "empty"),
                                           (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary")])
def test_bad_bytes_are_named(data, message):
    with pytest.raises(IngestError, match=message):
        decode(data)


def test_normalise_keeps_length_and_straightens_typography():
    s = "It\u2019s\u00a0\u201cgood\u201d\r\nnext"
    n = normalise(s)
    assert len(n) == len(s)
    assert n == 'It\'s "good" \nnext'


def test_html_markup_is_blanked_in_place():
    page = ("<html><head><title>Peels</title><style>p{color:red}</style></head><body>"
            "<h1>Chemical peels</h1><p>Peels <b>reduce</b> pores &amp; lines.</p>"
            "<script>var x = 'no side effects';</script><ul><li>No downtime</li></ul></body></html>")
    masked, hints, title = mask_html(page)
    assert len(masked) == len(page) and title == "Peels"
    assert "no side effects" not in masked and "color" not in masked
    i = page.index("Peels <b>")
    assert masked[i:i + 5] == "Peels"
    assert re.search(r"pores &\s+lines\.", masked)
    kinds = {page[s:e]: k for s, e, k in hints}
    assert kinds == {"Chemical peels": "heading", "No downtime": "list_item"}


def test_markdown_syntax_is_blanked_and_structure_hinted():
    md = "# Retinoids\n\nRetinol is *clinically proven* to [help](http://x.y) pores.\n\n- No downtime\n"
    masked, hints, title = mask_markdown(md)
    assert len(masked) == len(md) and title == "Retinoids"
    assert "*" not in masked and "http" not in masked and "[" not in masked
    assert [(md[s:e], k) for s, e, k in hints] == [("Retinoids", "heading"), ("No downtime", "list_item")]


def test_file_without_words_is_refused():
    with pytest.raises(IngestError, match="no words"):
        ingest_one("x", "x.html", b"<html><script>1</script></html>")


def test_web_addresses_keep_their_dots_while_glued_list_items_split():
    """A list copied without its separators ("redness.rash.pain") reads as words; a host name
    or file name anywhere in a page ("www.fda.gov", "pubmed.ncbi.nlm.nih.gov", "index.json",
    "https://example.org/a.b") keeps every dot."""
    assert normalise("increased inflammation.redness.rash.pain") == "increased inflammation redness rash pain"
    for kept in ("see www.fda.gov today", "pubmed.ncbi.nlm.nih.gov/1234", "the index.json file",
                 "https://example.org/skin.care/pores.html", "mail info@clinic.spa.com"):
        assert normalise(kept) == kept, kept
