"""The wiring's own helpers (pipeline.analyse), on tiny literal tables."""
from __future__ import annotations

import pandas as pd

from pipeline.analyse import claim_rows


def test_claim_rows_name_each_keys_row_and_put_unknown_keys_last():
    claims = pd.Series(["c2", "c0", "c1"])
    keys = pd.Series(["c1", "c9", "c2", "c1"])
    assert claim_rows(claims)(keys).tolist() == [2, 3, 0, 2]


def test_a_repeated_claim_id_names_its_last_row():
    claims = pd.Series(["c0", "c1", "c0"])
    assert claim_rows(claims)(pd.Series(["c0", "c1", "cx"])).tolist() == [2, 1, 3]
