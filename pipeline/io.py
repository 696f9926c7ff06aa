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

from . import config


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


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV the pipeline wrote (all columns as written, empty strings kept)."""
    return pd.read_csv(path, keep_default_na=False)


def read_jsonl(path: Path) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines of a JSONL file with their 1-based line numbers."""
    lines = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append((n, line))
    return lines
