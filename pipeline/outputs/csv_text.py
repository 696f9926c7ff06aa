"""CSV text of a table: byte for byte what ``DataFrame.to_csv(index=False, lineterminator="\\n")``
writes, formatted by Arrow's compute kernels a block of rows at a time.

pandas hands every cell to Python's C csv writer as a Python object: 4 s of the 10 s an audit
of 10,000 articles spends writing (its 628,301 claims). Here each column of a block becomes its
CSV fields at once: text quoted where Python's csv writer quotes it (the characters are asked of
that writer, so the answer follows the Python version), numbers as ``str`` writes them,
booleans as ``True``/``False``, missing values empty. The fields are joined into lines and the
block is written as it lies in Arrow's buffer. A table with a column of another type (floats,
dates, mixed objects) or of one column (an empty cell is then quoted) is written by pandas.
"""
from __future__ import annotations

import csv
import functools
from io import StringIO
from typing import BinaryIO

import numpy as np
import pandas as pd

BLOCK_ROWS = 10_000   # rows formatted at once: about 20 MB at most for the claims table (50,000: 85 MB, no faster)


def write(df: pd.DataFrame, fh: BinaryIO, header: bool = True) -> None:
    """Write ``df`` as UTF-8 CSV into a binary handle, as ``to_csv(fh, index=False,
    header=header, lineterminator="\\n", encoding="utf-8")`` would."""
    columns = _arrow_columns(df) if len(df.columns) > 1 else None
    if columns is None:
        df.to_csv(fh, index=False, header=header, lineterminator="\n", encoding="utf-8")
        return
    if header:
        fh.write(_line([str(c) for c in df.columns]).encode("utf-8"))
    for start in range(0, len(df), BLOCK_ROWS):
        _write_block([c.slice(start, BLOCK_ROWS) for c in columns], fh)


def _line(cells: list[str]) -> str:
    """One row as Python's csv writer writes it."""
    buf = StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


@functools.cache
def _quoted_chars() -> tuple[str, ...]:
    """The characters that make Python's csv writer quote a field (with ``lineterminator=
    "\\n"``: the comma, the double quote and the line feed in Python 3.11)."""
    probes = [chr(c) for c in range(128)] + ["\x85", "\u2028", "\u2029"]
    return tuple(c for c in probes if _line(["a" + c, "b"]).startswith('"'))


@functools.cache
def _quote_pattern() -> str:
    """An RE2 class of ``_quoted_chars``."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _quoted_chars()) + "]"


def _arrow_columns(df: pd.DataFrame) -> list | None:
    """Each column as an Arrow array of the kind this module formats (text, whole numbers,
    booleans), or None when one is not."""
    import pyarrow as pa

    out = []
    for i in range(len(df.columns)):
        col = df.iloc[:, i]
        kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else ""
        if kind in "iub" and kind:
            out.append(pa.array(col.to_numpy()))
        elif isinstance(col.dtype, pd.StringDtype) or kind == "O":
            try:
                out.append(_text_array(col))
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                return None
        else:
            return None
    return out


def _text_array(column: pd.Series):
    """A text column as one Arrow large-string array (no copy for pandas' Arrow-backed text;
    ArrowTypeError when a cell is not text)."""
    import pyarrow as pa

    values = pa.array(column, type=pa.large_string(), from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _field(values) -> object:
    """The CSV fields of one column's block, as large strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, pa.scalar("True", text), pa.scalar("False", text))
    if not pa.types.is_large_string(values.type):   # whole numbers: no quote, never missing
        return pc.cast(values, text)
    values = pc.fill_null(values, pa.scalar("", text))
    if not _may_need_quotes(values):
        return values
    needs = pc.match_substring_regex(values, _quote_pattern())
    if not pc.any(needs).as_py():
        return values
    mark = pa.scalar('"', text)
    chosen = pc.filter(values, needs)
    quoted = pc.binary_join_element_wise(mark, pc.replace_substring(chosen, '"', '""'), mark,
                                         pa.scalar("", text))
    return pc.replace_with_mask(values, needs, quoted)


def _may_need_quotes(values) -> bool:
    """Whether a character that is quoted occurs anywhere in the column's text (one scan of
    its bytes; most columns, ids and labels, hold none and skip the per-value test)."""
    offsets, data = _buffers(values)
    text = data[offsets[0]:offsets[-1]].tobytes()
    return any(text.find(c) >= 0 for c in _quoted_bytes())


def _buffers(values) -> tuple[np.ndarray, np.ndarray]:
    """The value offsets and the bytes of an Arrow large-string array, as numpy views."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64, count=len(values) + 1,
                            offset=values.offset * 8)
    data = values.buffers()[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def may_start_with(column: pd.Series, first: bytes) -> bool:
    """Whether a cell of a text column may start with one of the ASCII characters ``first``:
    one look at each cell's first byte, for a test (a regex) that only such cells can pass."""
    offsets, data = _buffers(_text_array(column))
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]
    return bool(np.isin(data[starts], np.frombuffer(first, dtype=np.uint8)).any())


@functools.cache
def _quoted_bytes() -> tuple[bytes, ...]:
    """The UTF-8 bytes of each character that makes Python's csv writer quote a field."""
    return tuple(c.encode("utf-8") for c in _quoted_chars())


def _write_block(columns: list, fh: BinaryIO) -> None:
    """Format one block of rows and write its bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    fields = [_field(c) for c in columns]
    fields[-1] = pc.binary_join_element_wise(fields[-1], pa.scalar("\n", text), pa.scalar("", text))
    lines = pc.binary_join_element_wise(*fields, pa.scalar(",", text))
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if not len(lines):
        return
    offsets, data = _buffers(lines)
    fh.write(memoryview(data[offsets[0]:offsets[-1]]))
