"""csv_text.write gives the bytes pandas' to_csv gives, on any table of the types it formats,
and hands any other table to pandas."""
from io import BytesIO

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.outputs import csv_text


def pandas_bytes(df: pd.DataFrame, header: bool = True) -> bytes:
    buf = BytesIO()
    df.to_csv(buf, index=False, header=header, lineterminator="\n", encoding="utf-8")
    return buf.getvalue()


def our_bytes(df: pd.DataFrame, header: bool = True) -> bytes:
    buf = BytesIO()
    csv_text.write(df, buf, header=header)
    return buf.getvalue()


# every character the csv writer treats apart, typography, and text of other scripts
CELL = st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    list(',"\n\r\t ;=+-@\x00\x85\u2028é—“”') + ["a", "B", "1", "微", "😀"]), max_size=12))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(CELL, CELL, st.integers(-10**12, 10**12), st.booleans()), max_size=30),
       text_dtype=st.sampled_from(["str", "object"]), header=st.booleans())
def test_same_bytes_as_pandas(rows, text_dtype, header):
    df = pd.DataFrame(rows, columns=["a", "b", "n", "flag"]).astype(
        {"a": text_dtype, "b": text_dtype, "n": "int64", "flag": bool})
    assert our_bytes(df, header) == pandas_bytes(df, header)


def test_blocks_join_into_the_same_file(monkeypatch):
    monkeypatch.setattr(csv_text, "BLOCK_ROWS", 3)
    df = pd.DataFrame({"text": [f'claim, "{i}"\nline' if i % 2 else f"claim {i}" for i in range(10)],
                       "start": np.arange(10)})
    assert our_bytes(df) == pandas_bytes(df)


def test_quotes_only_what_the_csv_writer_quotes():
    df = pd.DataFrame({"text": ["plain", "a, b", 'say "no"', "two\nlines", "cr\ronly", ""],
                       "n": [1, 2, 3, 4, 5, 6]})
    assert our_bytes(df) == pandas_bytes(df)
    assert our_bytes(df).splitlines()[1] == b"plain,1"


@pytest.mark.parametrize("df", [
    pd.DataFrame({"x": [1.5, 2.0], "t": ["a", "b"]}),               # floats: pandas' repr
    pd.DataFrame({"t": ["a", ("tuple",)], "u": ["c", "d"]}),        # a cell that is not text
    pd.DataFrame({"only": ["", "a"]}),                              # one column: "" is quoted
    pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "t": ["a", "b"]}),
    pd.DataFrame({"t": pd.Series(["a", "b"], dtype="category"), "u": ["c", "d"]}),
    pd.DataFrame(columns=["a", "b"]),
])
def test_other_tables_are_written_by_pandas(df):
    assert our_bytes(df) == pandas_bytes(df)


@given(st.lists(CELL, max_size=20), st.integers(0, 5))
def test_may_start_with_is_never_wrong_when_it_says_no(cells, cut):
    """Only a cell whose first character is one of the given may start with it; the test
    answers from first bytes, also on a slice of a column."""
    column = pd.Series(cells, dtype="str").iloc[min(cut, len(cells)):]
    expected = any(isinstance(v, str) and v[:1] in ("=", "+", "\t") for v in column.tolist())
    assert csv_text.may_start_with(column, b"=+\t") == expected


def test_may_start_with_reads_first_characters_only():
    assert csv_text.may_start_with(pd.Series(["safe", "=SUM(A1)"], dtype="str"), b"=")
    assert not csv_text.may_start_with(pd.Series(["a=b", "", None, "é="], dtype="str"), b"=")
    assert not csv_text.may_start_with(pd.Series([], dtype="str"), b"=")
