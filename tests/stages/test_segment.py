from pipeline.stages.ingest import ingest_one
from pipeline.stages.segment import blocks_of


def blocks(text: str, name: str = "a.txt"):
    d = ingest_one("a", name, text.encode())
    return [(d["text"][b["start"]:b["end"]], b["kind"], b["section"])
            for b in blocks_of("a", d["visible"], d["shown"], d["hints"])]


def test_headings_list_items_and_sections():
    text = ("Preparing for a Peel\n"
            "Avoid retinol: Stop using retinol a week before the peel.\n"
            "Peels are done by a dermatologist. They take an hour.\n"
            "Does it hurt?\n"
            "Most patients feel a mild sting.\n")
    assert blocks(text) == [
        ("Preparing for a Peel", "heading", ""),
        ("Avoid retinol: Stop using retinol a week before the peel.", "list_item", "Preparing for a Peel"),
        ("Peels are done by a dermatologist. They take an hour.", "paragraph", "Preparing for a Peel"),
        ("Does it hurt?", "heading", ""),
        ("Most patients feel a mild sting.", "paragraph", "Does it hurt?"),
    ]


def test_bullets_are_list_items_without_the_bullet():
    assert blocks("Tips for after care\n\u2022 wear sunscreen every day\n- skip makeup for two days\n")[1:] == [
        ("wear sunscreen every day", "list_item", "Tips for after care"),
        ("skip makeup for two days", "list_item", "Tips for after care"),
    ]


def test_hard_wrapped_paragraph_is_one_block():
    text = "Chemical peels remove the top layer of the skin and\nmay cause redness for a few days.\n"
    assert blocks(text) == [(text.strip(), "paragraph", "")]


def test_markdown_and_html_hints_decide_kind():
    md = "# Why pores look bigger\n\nSebum stretches the pore.\n\n- Use a gentle cleanser daily.\n"
    assert [(t, k) for t, k, _ in blocks(md, "a.md")] == [
        ("Why pores look bigger", "heading"), ("Sebum stretches the pore.", "paragraph"),
        ("Use a gentle cleanser daily.", "list_item")]
