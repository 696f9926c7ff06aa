"""Reading and writing: the only module that touches the file system.

Every output is written atomically (a temporary file in the same folder, then os.replace),
so a crash or a failed validation never leaves a half-written table behind and the previous
outputs stay intact.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from . import config, tables


@dataclass(frozen=True)
class RawFile:
    """One article file as found on disk: its id, path and bytes (or why it could not be read)."""

    source_id: str
    path: Path
    data: bytes | None
    problem: str | None = None


def list_articles(raw_dir: Path) -> list[Path]:
    """Article files in raw_dir, sorted by name so the order never depends on the file system."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"{raw_dir}: not a folder of articles")
    return sorted(
        (p for p in raw_dir.iterdir() if p.suffix.lower() in config.ARTICLE_SUFFIXES),
        key=lambda p: p.name,
    )


def read_article(path: Path, raw_dir: Path | None = None) -> RawFile:
    """Read one article's bytes; a file that cannot be read becomes a RawFile with a problem.

    Never blocks: a FIFO, socket or device named like an article is refused without opening it.
    """
    sid = path.stem
    try:
        if path.is_symlink():
            target = path.resolve()
            if raw_dir is not None and Path(raw_dir).resolve() not in target.parents:
                return RawFile(sid, path, None, f"symlink points outside the folder ({target}); not read")
            if not target.exists():
                return RawFile(sid, path, None, f"broken symlink (target {target} does not exist)")
        if path.is_dir():
            return RawFile(sid, path, None, "is a folder, not a file")
        if not path.is_file():
            return RawFile(sid, path, None, "not a regular file (FIFO, socket or device); not read")
        size = path.stat().st_size
        if size > config.MAX_ARTICLE_BYTES:
            return RawFile(sid, path, None, f"file too large ({size / 2**20:.1f} MB, limit "
                                            f"{config.MAX_ARTICLE_BYTES / 2**20:.1f} MB): not audited; raise "
                                            f"MAX_ARTICLE_BYTES in pipeline/config.py to audit it")
        return RawFile(sid, path, path.read_bytes())
    except OSError as exc:
        return RawFile(sid, path, None, f"cannot be read: {exc.strerror or exc}")


def iter_articles(raw_dir: Path) -> Iterator[RawFile]:
    """Yield the articles of raw_dir one at a time (streaming: never all bytes at once)."""
    for path in list_articles(raw_dir):
        yield read_article(path, raw_dir)


def read_sources(raw_dir: Path) -> pd.DataFrame:
    """The optional sources.csv beside the articles (source_id, title, author, date, main_treatment)."""
    path = Path(raw_dir) / config.SOURCES_FILE
    if not path.exists():
        return pd.DataFrame(columns=["source_id", "file", "title", "author", "date", "main_treatment"])
    return pd.read_csv(path, dtype=str, keep_default_na=False)


class InputError(ValueError):
    """An input file that cannot be used; the message names the file and the problem."""


def read_evidence(raw_dir: Path) -> pd.DataFrame:
    """The optional curated evidence table (evidence.csv beside the articles, all text).

    Missing file: an empty table (every claim gets no_evidence). Missing columns: a clear
    error naming the file and the columns."""
    path = Path(raw_dir) / config.EVIDENCE_CSV
    if not path.exists():
        return pd.DataFrame(columns=tables.EVIDENCE)
    return read_evidence_file(path)


def read_evidence_file(path: Path) -> pd.DataFrame:
    """A curated evidence table (all text); missing columns: an error naming the file and them."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc})") from None
    missing = [c for c in tables.EVIDENCE if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing} (expected {tables.EVIDENCE})")
    return df[tables.EVIDENCE]


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def _atomic(path: Path, mode: str = "wb"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The exact CSV bytes written for a table: UTF-8, '\\n' line ends, no index."""
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes atomically."""
    with _atomic(path) as fh:
        fh.write(data)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, df: pd.DataFrame) -> None:
    """Write a table as CSV atomically."""
    write_bytes(path, csv_bytes(df))


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """The exact Parquet bytes written for a table (pyarrow, zstd, no index)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write a table as Parquet atomically (pyarrow, no index, deterministic metadata)."""
    write_bytes(path, parquet_bytes(df))


def write_all(files: dict[Path, bytes]) -> None:
    """Write several files as one step: every temporary file is complete before the first rename.

    A failure while preparing any of them leaves every previous output untouched and no
    temporary file behind, so the outputs of one audit never mix with those of another.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            os.chmod(tmp, 0o666 & ~_UMASK)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def write_json(path: Path, obj) -> None:
    """Write JSON atomically, keys sorted, so reruns give identical bytes."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def read_csv(path: Path, text: bool = False) -> pd.DataFrame:
    """Read a CSV the pipeline wrote (all columns as written, empty strings kept); ``text``:
    every column as text (hand-made gold, where "01" is a name, not a number)."""
    return pd.read_csv(path, keep_default_na=False, dtype=str if text else None)


def read_json(path: Path):
    """A JSON file (e.g. an expectation suite)."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_jsonl(path: Path) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines of a JSONL file with their 1-based line numbers."""
    lines = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append((n, line))
    return lines


# --- review decisions and the reviewer's workbook (issue 6) ---------------------------------

def read_optional_csv(path: Path) -> pd.DataFrame | None:
    """A CSV the pipeline wrote (or the curated evidence table), or None when it is absent."""
    path = Path(path)
    return read_csv(path) if path.is_file() else None


def read_output_tables(folder: Path) -> dict[str, pd.DataFrame | None]:
    """Every table of an audit's output folder; optional ones are None when absent."""
    d = Path(folder)
    problems = read_optional_csv(d / config.PROBLEMS_CSV)
    return {
        "claims": pd.read_parquet(d / config.CLAIMS_PARQUET),
        "contradictions": read_csv(d / config.CONTRADICTIONS_CSV),
        "groups": read_optional_csv(d / config.CONTRADICTION_GROUPS_CSV),
        "articles": read_optional_csv(d / config.ARTICLES_CSV),
        "problems": problems if problems is not None else pd.DataFrame(columns=tables.PROBLEMS),
        "evidence": read_optional_csv(d / config.EVIDENCE_CSV),
        "flags": read_optional_csv(d / config.FLAGS_CSV),
        "review_status": read_optional_csv(d / config.REVIEW_STATUS_CSV),
    }


def read_decisions(path: Path) -> pd.DataFrame | None:
    """The reviewers' decisions.csv as text columns, or None when there is none yet."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read as a CSV file ({exc})") from None


def append_decisions(path: Path, new: pd.DataFrame) -> None:
    """Append decision rows to decisions.csv atomically, never touching the rows already there.

    When the file's header differs from the new rows' columns (e.g. a hand-made file without the
    context columns), the file is rewritten with the union of columns, every value kept.
    """
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    header = csv_bytes(new.iloc[:0])
    if not old or old.splitlines()[0] + b"\n" == header:
        body = csv_bytes(new)[len(header):]
        old = old or header
        write_bytes(path, old + (b"" if old.endswith(b"\n") else b"\n") + body)
        return
    current = read_decisions(path)
    cols = list(dict.fromkeys(list(current.columns) + list(new.columns)))
    write_csv(path, pd.concat([current, new], ignore_index=True).reindex(columns=cols).fillna(""))


def _stable_zip(data: bytes) -> bytes:
    """The same zip with every entry dated FIXED_TIMESTAMP, so equal content gives equal bytes."""
    import io as _io
    import zipfile

    src, dst = zipfile.ZipFile(_io.BytesIO(data)), _io.BytesIO()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=config.FIXED_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            out.writestr(entry, src.read(info.filename))
    return dst.getvalue()


def write_xlsx(path: Path, workbook) -> None:
    """Save an openpyxl workbook atomically with fixed timestamps (byte-identical reruns)."""
    write_bytes(path, xlsx_bytes(workbook))


def xlsx_bytes(workbook) -> bytes:
    """An openpyxl workbook as .xlsx bytes with fixed timestamps and zip entry dates."""
    import datetime as dt
    import io as _io
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    buf = _io.BytesIO()
    stamp = dt.datetime(*config.FIXED_TIMESTAMP)
    workbook.properties.created = workbook.properties.modified = stamp
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    return _stable_zip(buf.getvalue())


def read_xlsx_rows(path: Path, sheet: str) -> list[tuple[int, dict]]:
    """Rows of one sheet as (spreadsheet row number, {header: value}); header = row 1."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such workbook") from None
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException variants
        raise ValueError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    if sheet not in wb.sheetnames:
        raise ValueError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
    rows = wb[sheet].iter_rows(values_only=True)
    header = [str(h) if h is not None else "" for h in next(rows, ())]
    out = [(n, dict(zip(header, values))) for n, values in enumerate(rows, start=2)
           if any(v not in (None, "") for v in values)]
    wb.close()
    return out


def read_csv_folder(folder: Path) -> pd.DataFrame:
    """Every *.csv in a folder, in name order, concatenated; all cells as strings ('' kept).

    Used for hand-labelled gold files (one CSV per article). A missing folder or one without
    CSVs is an error naming the folder, so an evaluation never silently scores nothing.
    """
    folder = Path(folder)
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not paths:
        raise FileNotFoundError(f"{folder}: no CSV files found")
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths],
                     ignore_index=True)


def read_input(name: str) -> RawFile:
    """One file named on the command line, or standard input for '-' (source id 'stdin').
    A missing or unreadable file becomes a RawFile with the problem, never an exception."""
    import sys

    if name == "-":
        return RawFile("stdin", Path("stdin.txt"), sys.stdin.buffer.read())
    path = Path(name)
    if not path.exists():
        return RawFile(path.stem, path, None, "no such file")
    if path.is_dir():
        return RawFile(path.stem, path, None, "is a folder, not a file")
    return read_article(path)


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines of a text file with line numbers; [] when it does not exist
    (the optional review files: approved claims, ignored findings)."""
    path = Path(path)
    return read_jsonl(path) if path.exists() else []


def read_text(path: Path) -> str:
    """A UTF-8 text file (e.g. an earlier JSON report)."""
    return Path(path).read_text(encoding="utf-8")
