"""Segmentation stays linear on one article with a huge list (issue 15, item 3: 100,000 items
in one article): each heading or list-item hint is looked at a bounded number of times."""
from __future__ import annotations

from pipeline.stages.ingest import mask_markdown
from pipeline.stages.segment import blocks_of


class CountingList(list):
    """A list that counts the items handed out by iteration."""

    seen = 0

    def __iter__(self):
        for item in super().__iter__():
            CountingList.seen += 1
            yield item


def test_20000_list_items_look_at_each_hint_a_bounded_number_of_times():
    n = 20_000
    text = "# Microneedling FAQ\n\n" + "".join(f"- Microneedling reduces lines in {i} weeks.\n" for i in range(n))
    shown, hints, _ = mask_markdown(text)
    counted = CountingList(hints)
    CountingList.seen = 0
    blocks = blocks_of("list", shown, shown, counted)
    assert CountingList.seen <= 4 * len(hints), f"{CountingList.seen} hint visits for {len(hints)} hints"
    assert sum(b["kind"] == "list_item" for b in blocks) == n
    assert blocks[0]["kind"] == "heading"


def test_nested_and_unordered_hints_give_the_first_covering_hint():
    """Hints may overlap (an HTML list inside a section) or come out of order (a setext
    heading is known one line late): the first hint, in the given order, covering a line wins."""
    from pipeline.stages.segment import _HintScan

    hints = [(10, 40, "list_item"), (0, 100, "heading"), (50, 60, "list_item")]
    scan = _HintScan(hints)
    assert [scan.kind(s, e) for s, e in [(0, 5), (12, 30), (45, 48), (52, 58), (70, 101), (120, 130)]] == \
        ["heading", "list_item", "heading", "heading", "heading", None]
