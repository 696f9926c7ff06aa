"""The table helpers every stage shares (pipeline/tables.py)."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline import tables


def test_records_gives_the_rows_itertuples_gives():
    """Same values, types and field names as ``itertuples(index=False)``, for pandas' text
    dtype, tuples, numbers, booleans, missing text and a column name that is no identifier."""
    df = pd.DataFrame({
        "claim_id": pd.Series(["c1", "c2", None], dtype="str"),
        "flags": [("hype.miracle",), (), ("a", "b")],
        "start": [0, 17, 40],
        "negated": [True, False, True],
        "not an identifier": ["x", "y", "z"],
    })
    mine, theirs = list(tables.records(df)), list(df.itertuples(index=False))
    assert [tuple(r) for r in mine][:2] == [tuple(r) for r in theirs][:2]
    assert mine[0]._fields == theirs[0]._fields
    assert mine[1].start == 17 and type(mine[1].start) is int and mine[0].negated is True
    assert pd.isna(mine[2].claim_id) and pd.isna(theirs[2].claim_id)
    assert list(tables.records(df.iloc[:0])) == []


def test_records_share_one_object_per_value_of_a_repeated_column():
    """A contradiction block keeps every row: a repeated column's equal values are one string
    object (``tolist`` gives one per cell), and the rows are the same values as without."""
    df = pd.DataFrame({"claim_id": pd.Series(["c1", "c2", "c3"], dtype="str"),
                       "treatment": pd.Series(["botox", "botox", "peel"], dtype="str")})
    plain, kept = list(tables.records(df)), list(tables.records(df, repeated=("treatment",)))
    assert [tuple(r) for r in kept] == [tuple(r) for r in plain]
    assert kept[0].treatment is kept[1].treatment
    assert plain[0].treatment is not plain[1].treatment   # what sharing saves


@pytest.mark.parametrize("dtype", ["str", object])
def test_shared_gives_the_values_with_equal_ones_one_object(dtype):
    values = pd.Series(["laser", None, "laser", "peel"], dtype=dtype)
    out = tables.shared(values)
    assert [v if isinstance(v, str) else None for v in out] == ["laser", None, "laser", "peel"]
    assert out[0] is out[2]
    assert pd.isna(out[1]) and pd.isna(values.tolist()[1])   # missing stays missing, as tolist gives it


def test_shared_keeps_tuples_and_none_as_they_are():
    out = tables.shared(pd.Series([("a", "b"), None, ("a", "b"), ()], dtype=object))
    assert out == [("a", "b"), None, ("a", "b"), ()]
    assert out[0] is out[2]
