"""Reading and writing: the only module that touches the file system.

Every output is written atomically (a temporary file in the same folder, then os.replace),
so a crash or a failed validation never leaves a half-written table behind and the previous
outputs stay intact. An audit's outputs are one set (``output_set``): the out folder is locked
for the run, every file is staged complete in a private folder inside it, and only then are
they renamed over the previous ones; what a killed run left behind is removed by the next.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import pickle
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from io import BytesIO, StringIO
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

import pandas as pd

from . import config, tables
from .outputs import csv_text


@dataclass(frozen=True)
class RawFile:
    """One article file as found on disk: its id, path and bytes (or why it could not be read)."""

    source_id: str
    path: Path
    data: bytes | None
    problem: str | None = None
    file: str = ""   # as shown in tables: the path inside the articles folder ('sub/a.txt')

    @property
    def name(self) -> str:
        """The file as tables and messages name it."""
        return self.file or self.path.name


def _is_article(name: str) -> bool:
    return Path(name).suffix.lower() in config.ARTICLE_SUFFIXES


def list_articles(raw_dir: Path, recursive: bool = False) -> list[Path]:
    """Article files in raw_dir (and its subfolders when ``recursive``), sorted by their path
    inside raw_dir so the order never depends on the file system. Links to folders are not
    followed (they could loop or leave the folder)."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"{raw_dir}: not a folder of articles")
    if not recursive:
        try:
            return sorted((p for p in raw_dir.iterdir() if _is_article(p.name)), key=lambda p: p.name)
        except OSError as exc:
            raise InputError(f"{raw_dir}: the folder cannot be read ({exc.strerror or exc})") from None
    found = []
    for folder, dirs, files in os.walk(raw_dir):
        found += [Path(folder) / f for f in files if _is_article(f)]
        found += [Path(folder) / d for d in dirs if _is_article(d) and (Path(folder) / d).is_symlink()]
    return sorted(found, key=lambda p: p.relative_to(raw_dir).as_posix())


def skipped_folders(raw_dir: Path, recursive: bool = False) -> list[tuple[str, str]]:
    """(folder, problem) for what a run would skip without a word: subfolders holding articles
    when not ``recursive``; links to folders when ``recursive`` (never followed)."""
    raw_dir = Path(raw_dir)
    out = []
    if not recursive:
        for sub in sorted((p for p in raw_dir.iterdir() if p.is_dir() and not _is_article(p.name)
                           and not p.is_symlink()), key=lambda p: p.name):
            n = sum(_is_article(f) for _, _, files in os.walk(sub) for f in files)
            if n:
                out.append((sub.name + "/", f"subfolder with {n} article file(s); not audited "
                                            f"(audit them with --recursive)"))
        return out

    def unreadable(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(raw_dir).as_posix()
        out.append((rel + "/", f"folder cannot be read ({exc.strerror}); not audited"))

    for folder, dirs, _ in os.walk(raw_dir, onerror=unreadable):
        for d in dirs:
            p = Path(folder) / d
            if p.is_symlink() and not _is_article(d):
                out.append((p.relative_to(raw_dir).as_posix() + "/",
                            "link to a folder; not followed (it could loop or leave the folder)"))
    return sorted(out)


def source_id_of(path: Path, raw_dir: Path | None = None) -> str:
    """An article's source id: its path inside raw_dir without the suffix ('a', 'sub/a')."""
    rel = Path(path).relative_to(raw_dir) if raw_dir is not None else Path(Path(path).name)
    return rel.with_suffix("").as_posix() if rel.suffix else rel.as_posix()


def read_article(path: Path, raw_dir: Path | None = None) -> RawFile:
    """Read one article's bytes; a file that cannot be read becomes a RawFile with a problem.

    Never blocks: a FIFO, socket or device named like an article is refused without opening it.
    """
    path = Path(path)
    sid = source_id_of(path, raw_dir)
    shown = path.relative_to(raw_dir).as_posix() if raw_dir is not None else path.name

    def refused(problem: str) -> RawFile:
        return RawFile(sid, path, None, problem, file=shown)

    try:
        if path.is_symlink():
            target = path.resolve()
            if raw_dir is not None and Path(raw_dir).resolve() not in target.parents:
                return refused(f"symlink points outside the folder ({target}); not read")
            if not target.exists():
                return refused(f"broken symlink (target {target} does not exist)")
        if path.is_dir():
            return refused("is a folder, not a file")
        if not path.is_file():
            return refused("not a regular file (FIFO, socket or device); not read")
        size = path.stat().st_size
        if size > config.MAX_ARTICLE_BYTES:
            return refused(f"file too large ({size / 2**20:.1f} MB, limit "
                           f"{config.MAX_ARTICLE_BYTES / 2**20:.1f} MB): not audited; raise "
                           f"MAX_ARTICLE_BYTES in pipeline/config.py to audit it")
        return RawFile(sid, path, path.read_bytes(), file=shown)
    except OSError as exc:
        return refused(f"cannot be read: {exc.strerror or exc}")


def iter_articles(raw_dir: Path, recursive: bool = False) -> Iterator[RawFile]:
    """Yield the articles of raw_dir one at a time (streaming: never all bytes at once), then
    a RawFile with a problem for each folder the run skips (``skipped_folders``)."""
    for path in list_articles(raw_dir, recursive):
        yield read_article(path, raw_dir)
    yield from skipped_files(raw_dir, recursive)


def skipped_files(raw_dir: Path, recursive: bool = False) -> Iterator[RawFile]:
    """A RawFile with a problem for each folder a run skips (``skipped_folders``), as the
    tables show it."""
    for name, problem in skipped_folders(raw_dir, recursive):
        yield RawFile(name, Path(raw_dir) / name, None, problem, file=name)


SOURCES_COLUMNS = ["source_id", "file", "title", "author", "date", "main_treatment"]


class InputError(ValueError):
    """An input file that cannot be used; the message names the file and the problem."""


def read_text_table(path: Path) -> pd.DataFrame:
    """A hand-made CSV (sources.csv, evidence.csv) as text columns, every cell kept as written.

    Anything that would make the table wrong is an InputError naming the file, the line and
    the problem (``FILE:LINE: problem``): not UTF-8, a quote left open, a row with more or
    fewer fields than the header, an empty file, a repeated column. Blank lines are skipped.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         f"save the file as UTF-8") from None
    reader = csv.reader(StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    done = 0   # the last line read without an error
    try:
        for row in reader:
            if row:
                rows.append((reader.line_num, row))
            done = reader.line_num
    except csv.Error as exc:
        start = done + 1     # where the broken row begins
        hint = "; a quote opened here is never closed" if "end of data" in str(exc) else ""
        raise InputError(f"{path}:{start}: not valid CSV ({exc}){hint}") from None
    if not rows:
        raise InputError(f"{path}: empty file; expected a header row")
    header = rows[0][1]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{path}:{rows[0][0]}: column {repeated[0]!r} appears twice in the header")
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise InputError(f"{path}:{line}: {len(row)} field(s), the header has {len(header)} "
                             f"({', '.join(header)}); quote cells that contain a comma")
    return pd.DataFrame([r for _, r in rows[1:]], columns=header, dtype=str)


def read_sources(raw_dir: Path) -> pd.DataFrame:
    """The optional sources.csv beside the articles (source_id, title, author, date, main_treatment)."""
    path = Path(raw_dir) / config.SOURCES_FILE
    if not path.exists():
        return pd.DataFrame(columns=SOURCES_COLUMNS)
    return read_text_table(path)


def read_evidence(raw_dir: Path) -> pd.DataFrame:
    """The optional curated evidence table (evidence.csv beside the articles, all text).

    Missing file: an empty table (every claim gets no_evidence). A file that cannot be parsed
    or misses columns: an InputError naming the file (and the line)."""
    path = Path(raw_dir) / config.EVIDENCE_CSV
    if not path.exists():
        return pd.DataFrame(columns=tables.EVIDENCE)
    return read_evidence_file(path)


def read_evidence_file(path: Path) -> pd.DataFrame:
    """A curated evidence table (all text); a file that cannot be parsed or misses columns: an
    InputError naming the file (and the line)."""
    path = Path(path)
    df = read_text_table(path)
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


def read_cache(path: Path):
    """The object ``write_cache`` stored at ``path``, or None when there is none or it cannot be
    read: a cache is a shortcut, never an error, so a damaged or foreign file is a miss."""
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:   # noqa: BLE001 - any failure to read a cache entry means: compute it
        return None


def write_cache(path: Path, obj, keep: int = config.CACHE_KEEP) -> None:
    """Store ``obj`` at ``path`` (atomically, so a reader never meets half a file) and keep the
    ``keep`` newest entries of its kind (the name's part before the first '-'). A folder that
    cannot be written (read-only home, full disk) means no cache, not a failed run."""
    try:
        with _atomic(path) as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        kind = path.name.split("-", 1)[0]
        entries = sorted(path.parent.glob(f"{kind}-*{path.suffix}"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-keep] if keep else entries:
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The exact CSV bytes written for a table: UTF-8, '\\n' line ends, no index (``csv_writer``)."""
    return content_bytes(csv_writer(df))


# A file's content for ``OutputSet.add``: its bytes, or a function that writes them to a binary
# handle (large tables are formatted straight into the staged file, never held whole in memory).
Writer = Callable[[BinaryIO], None]
Content = Union[bytes, Writer]


def csv_writer(df: pd.DataFrame) -> Writer:
    """A writer of ``csv_bytes(df)``, formatted in chunks into the handle it is given."""
    return lambda fh: csv_text.write(df, fh)


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


def parquet_writer(df: pd.DataFrame, schema=None, row_group_size: int | None = None) -> Writer:
    """A writer of a table as Parquet (pyarrow, zstd, no index); ``schema`` (a pyarrow schema)
    fixes the column types, e.g. so every part of a dataset has the same; ``row_group_size``:
    rows per row group (the unit a reader decodes at once; default pyarrow's)."""
    def write(fh: BinaryIO) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        pq.write_table(table, fh, compression="zstd", row_group_size=row_group_size)
    return write


def content_bytes(content: Content) -> bytes:
    """The bytes of a file's content (a writer is run into memory)."""
    if isinstance(content, bytes):
        return content
    buf = BytesIO()
    content(buf)
    return buf.getvalue()


def parquet_bytes(df: pd.DataFrame, schema=None, row_group_size: int | None = None) -> bytes:
    """The exact Parquet bytes written for a table (see ``parquet_writer``)."""
    return content_bytes(parquet_writer(df, schema, row_group_size))


def write_parquet(path: Path, df: pd.DataFrame, schema=None, row_group_size: int | None = None) -> None:
    """Write a table as Parquet atomically (pyarrow, no index, deterministic metadata)."""
    write_bytes(path, parquet_bytes(df, schema, row_group_size))


def map_parquet_column(path: Path, column: str, mapping: dict, schema=None) -> bool:
    """Rewrite a Parquet file the pipeline wrote with the values of ``column`` found in
    ``mapping`` replaced by theirs, atomically; the other columns go through as Arrow data
    (never through pandas, whose round trip of the list columns cost most of the rewrite).
    ``schema``: the schema it was written with (``write_parquet``), so the bytes are what
    writing the mapped table would give (Parquet reads a list's items back as "element").
    Returns whether any value changed (the file is left alone when none did)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    values = table.column(column)
    keys = pa.array(list(mapping), type=values.type)
    found = pc.is_in(values, value_set=keys)
    if not pc.any(found).as_py():
        return False
    mapped = pc.take(pa.array(list(mapping.values()), type=values.type), pc.index_in(values, value_set=keys))
    table = table.set_column(table.schema.get_field_index(column), column, pc.if_else(found, mapped, values))
    if schema is not None:
        table = table.cast(schema.with_metadata(table.schema.metadata))
    write_bytes(path, content_bytes(lambda fh: pq.write_table(table, fh, compression="zstd")))
    return True


def read_parquet(path: Path, columns: list[str] | None = None,
                 where: tuple[str, list] | None = None) -> pd.DataFrame:
    """A Parquet file (or a folder of parts) the pipeline wrote; ``where`` (column, values):
    only the rows whose column holds one of the values, filtered as the file is read."""
    if where is not None and not where[1]:   # no value wanted: the columns, typed, from the footer
        import pyarrow.parquet as pq

        empty = pq.read_schema(path).empty_table()
        return (empty.select(columns) if columns is not None else empty).to_pandas()
    filters = [(where[0], "in", list(where[1]))] if where is not None else None
    return pd.read_parquet(path, columns=columns, filters=filters)


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet file, read from its footer (no rows)."""
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


# --- CSV for people: no live formulas ------------------------------------------------------

# A cell starting with one of these is a formula in a spreadsheet (OWASP, CSV injection);
# leading quotes are part of the pattern so that neutralising can be undone exactly.
_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
_FORMULA_FIRST = b"'=+-@\t\r"   # the first characters _FORMULA_START can match
_NEUTRALISED = re.compile(r"^'('*[=+\-@\t\r])")


def neutralise(value):
    """A text cell a spreadsheet would run as a formula, prefixed with a single quote (OWASP's
    advice); any other value unchanged. ``unneutralise`` undoes it exactly.

    >>> neutralise("=SUM(A1)"), neutralise("@x"), neutralise("Safe."), neutralise(-1)
    ("'=SUM(A1)", "'@x", 'Safe.', -1)
    """
    return "'" + value if isinstance(value, str) and _FORMULA_START.match(value) else value


def unneutralise(value):
    """The text a neutralised cell held (one leading quote removed before a formula start)."""
    return _NEUTRALISED.sub(r"\1", value) if isinstance(value, str) else value


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns
            if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])]


def _neutral(df: pd.DataFrame) -> pd.DataFrame:
    """The table with ``neutralise`` applied to every text cell. Only columns holding a cell
    that changes are replaced, so a large table is neither copied nor walked cell by cell
    through pandas."""
    changed = {}
    for c in _text_columns(df):
        col = df[c]
        if isinstance(col.dtype, pd.StringDtype):   # pandas' text dtype: vectorised tests
            if not csv_text.may_start_with(col, _FORMULA_FIRST) or \
                    not col.str.match(_FORMULA_START.pattern, na=False).any():
                continue
        elif not any(isinstance(v, str) and _FORMULA_START.match(v) for v in col.tolist()):
            continue
        changed[c] = pd.Series([neutralise(v) for v in col.tolist()], index=df.index, dtype=object)
    return df.assign(**changed) if changed else df


def people_csv(df: pd.DataFrame) -> Writer:
    """A writer of the CSV of a table people open in a spreadsheet: text cells that would start
    a formula (=, +, -, @, tab, carriage return) neutralised; numbers and every other cell as
    written. Parquet copies keep the raw text; ``read_csv`` gives the raw text back."""
    return lambda fh: csv_writer(_neutral(df))(fh)


def people_csv_bytes(df: pd.DataFrame) -> bytes:
    """The bytes ``people_csv`` writes."""
    return content_bytes(people_csv(df))


# --- the output set of one run -------------------------------------------------------------

class OutputError(Exception):
    """The out folder cannot be used or one of its files cannot be written: one line naming
    the path and the reason (a usage or input error for the CLI, exit code 2)."""


class OutputBusy(OutputError):
    """Another run holds the out folder's lock."""


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_out_folder(out_dir: Path) -> Path:
    """The out folder, created with its parents when missing; OutputError when it is a file,
    cannot be created or is not writable. Called before any analysis runs."""
    out = Path(out_dir)
    try:
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out}: not a folder (a file of that name is in the way); "
                              f"choose another --out")
        out.mkdir(parents=True, exist_ok=True)
    except OutputError:
        raise
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"{out}: the folder cannot be created (part of the path is a file)") from None
    except OSError as exc:
        raise OutputError(f"{out}: the folder cannot be created ({_why(exc)})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: the folder is not writable (permission denied)")
    return out


def check_out_apart(out_dir: Path, raw_dir: Path) -> None:
    """OutputError when the out folder is the articles folder or inside it: the outputs
    (report.html among them) would be read as articles by the next run, and evidence.csv
    would overwrite the curated one."""
    out, raw = Path(out_dir).resolve(), Path(raw_dir).resolve()
    if out == raw or raw in out.parents:
        raise OutputError(f"{out_dir}: the out folder is inside the articles folder {raw_dir}; "
                          f"choose another --out (its files would be read as articles next time)")


def remove_stale(out_dir: Path) -> list[Path]:
    """Remove what killed runs left in an out folder (only while holding its lock): staging
    folders and the temporary files of atomic writes. Returns what was removed."""
    removed = []
    for p in Path(out_dir).iterdir():
        if p.name.startswith(config.OUT_STAGING_PREFIX) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
        elif _TEMP_FILE.match(p.name) and (p.is_file() or p.is_symlink()):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
            removed.append(p)
    return removed


_TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")


@dataclass
class OutputSet:
    """The files (and output folders, such as the Dask engine's dataset) of one run, staged
    complete in a private folder inside the out folder, then renamed over the previous ones
    together by ``commit``."""

    folder: Path
    staging: Path
    names: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    def path(self, name: str) -> Path:
        """Where a staged file is (the report reads the staged tables from here)."""
        return self.staging / name

    def add(self, name: str, data: Content) -> Path:
        """Stage one file (its bytes, or a writer run into the staged file), complete and
        flushed to disk; OutputError naming the final path."""
        try:
            with open(self.staging / name, "wb") as fh:
                if isinstance(data, bytes):
                    fh.write(data)
                else:
                    data(fh)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise OutputError(f"{self.folder / name}: cannot be written ({_why(exc)}); "
                              f"the previous outputs are unchanged") from None
        if name not in self.names:
            self.names.append(name)
        return self.staging / name

    @contextlib.contextmanager
    def table(self, name: str) -> Iterator["ChunkedTable"]:
        """Stage one table written a chunk at a time (``ChunkedTable``; its format from the
        name's suffix), flushed to disk and added to the set when the block ends without error."""
        try:
            fh = open(self.staging / name, "wb")
        except OSError as exc:
            raise OutputError(f"{self.folder / name}: cannot be written ({_why(exc)}); "
                              f"the previous outputs are unchanged") from None
        if name not in self.names:   # listed in the order opened; committed only when complete
            self.names.append(name)
        with fh:
            staged = ChunkedTable(self.folder / name, fh)
            yield staged
            staged.close()

    def add_folder(self, name: str) -> Path:
        """A new empty output folder to fill (the Dask engine's dataset), staged like a file:
        it replaces the previous folder of that name only when the whole set commits."""
        try:
            (self.staging / name).mkdir()
        except OSError as exc:
            raise OutputError(f"{self.folder / name}: cannot be written ({_why(exc)}); "
                              f"the previous outputs are unchanged") from None
        os.chmod(self.staging / name, 0o777 & ~_UMASK)
        self.folders.append(name)
        return self.staging / name

    def remove_on_commit(self, name: str) -> None:
        """An output folder of an earlier run that this run does not make (a local run after a
        Dask run's dataset): removed when the set commits, so no output disagrees with the rest."""
        if name not in self.folders and name not in self.stale:
            self.stale.append(name)

    def commit(self) -> list[Path]:
        """Rename every staged file and folder over its final path (all were complete before
        the first rename; a replaced or stale folder is moved aside into the staging folder,
        which is deleted after); returns the final paths."""
        for name in self.names:
            if (self.folder / name).is_dir():
                raise OutputError(f"{self.folder / name}: is a folder; remove it or choose another "
                                  f"--out (the previous outputs are unchanged)")
        for name in self.folders:
            final = self.folder / name
            if final.exists() and (final.is_symlink() or not final.is_dir()):
                raise OutputError(f"{final}: is not a folder; remove it or choose another "
                                  f"--out (the previous outputs are unchanged)")
        for name in self.names:
            try:
                os.replace(self.staging / name, self.folder / name)
            except OSError as exc:
                raise OutputError(f"{self.folder / name}: cannot be replaced ({_why(exc)})") from None
        for name in [*self.folders, *self.stale]:
            final = self.folder / name
            try:
                if final.is_dir() and not final.is_symlink():
                    os.replace(final, self.staging / f".previous-{name}")
                if name in self.folders:
                    os.replace(self.staging / name, final)
            except OSError as exc:
                raise OutputError(f"{final}: cannot be replaced ({_why(exc)})") from None
        with contextlib.suppress(OSError):   # make the renames durable where the OS allows it
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return [self.folder / n for n in [*self.names, *self.folders]]


class ChunkedTable:
    """A table written into one file a chunk at a time, so that no process holds it whole (the
    Dask engine's claims): CSV for people (``people_csv``, the header once) or Parquet (one row
    group per chunk, the first chunk's schema). One chunk gives the bytes ``people_csv`` or
    ``parquet_writer`` write; more give the same rows (and, for CSV, the same bytes)."""

    def __init__(self, final: Path, fh: BinaryIO):
        self.final, self.fh = Path(final), fh
        self.parquet = self.final.suffix == ".parquet"
        self.rows, self.chunks = 0, 0
        self._writer = None

    def write(self, df: pd.DataFrame) -> None:
        """Append the rows of one chunk (its columns and types as the first chunk's)."""
        try:
            if self.parquet:
                self._write_parquet(df)
            else:
                csv_text.write(_neutral(df), self.fh, header=self.chunks == 0)
        except OSError as exc:
            raise OutputError(f"{self.final}: cannot be written ({_why(exc)}); "
                              f"the previous outputs are unchanged") from None
        self.rows += len(df)
        self.chunks += 1

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            self._writer = pq.ParquetWriter(self.fh, table.schema, compression="zstd")
        else:
            table = pa.Table.from_pandas(df, schema=self._writer.schema, preserve_index=False)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file (a table of no chunk is an empty CSV file) and flush it to disk."""
        try:
            if self._writer is not None:
                self._writer.close()
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            raise OutputError(f"{self.final}: cannot be written ({_why(exc)}); "
                              f"the previous outputs are unchanged") from None


@contextlib.contextmanager
def output_set(out_dir: Path) -> Iterator[OutputSet]:
    """Take the out folder for one run: check it (``check_out_folder``), lock it (a second run
    on it stops at once with OutputBusy), remove what killed runs left, and yield an OutputSet
    whose staging folder is removed on every exit (the lock is released by the OS even on
    SIGKILL)."""
    from filelock import FileLock, Timeout

    out = check_out_folder(out_dir)
    lock_path = out / config.OUT_LOCK_FILE
    lock = FileLock(lock_path, preserve_lock_file=True, fallback_to_soft=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputBusy(f"{out}: another audit is writing to this folder (it holds {lock_path}); "
                         f"wait for it to finish or choose another --out") from None
    except OSError as exc:
        raise OutputError(f"{out}: cannot lock the folder ({_why(exc)})") from None
    try:
        remove_stale(out)
        try:
            staging = Path(tempfile.mkdtemp(prefix=config.OUT_STAGING_PREFIX, dir=out))
        except OSError as exc:
            raise OutputError(f"{out}: cannot write in the folder ({_why(exc)})") from None
        try:
            yield OutputSet(out, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()


def json_bytes(obj) -> bytes:
    """JSON as written: keys sorted, indented, UTF-8, so reruns give identical bytes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def write_json(path: Path, obj) -> None:
    """Write JSON atomically, keys sorted, so reruns give identical bytes."""
    write_bytes(path, json_bytes(obj))


def read_csv(path: Path, text: bool = False) -> pd.DataFrame:
    """Read a CSV the pipeline wrote (all columns as written, empty strings kept, cells
    neutralised against spreadsheet formulas given back as their raw text); ``text``: every
    column as text (hand-made gold, where "01" is a name, not a number)."""
    df = pd.read_csv(path, keep_default_na=False, dtype=str if text else None)
    for c in _text_columns(df):
        col = df[c]
        # a neutralised cell starts with a quote: a text column without one is read as it is
        # (one vectorised test instead of a call a cell: 1.8 s on a 300,000-row table)
        if isinstance(col.dtype, pd.StringDtype) and not col.str.startswith("'", na=False).any():
            continue
        df[c] = col.map(unneutralise)
    return df


def read_csv_header(path: Path) -> list[str]:
    """The column names of a CSV (its first row), without reading the rows."""
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


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


@contextlib.contextmanager
def decisions_lock(path: Path):
    """Hold the decisions log's lock (a ``.lock`` file beside it) for every read and write, so
    two imports never interleave and an audit never reads half an append. Reentrant in one
    process; raises ValueError naming the file when another process holds it too long."""
    from filelock import FileLock, Timeout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock", timeout=config.DECISIONS_LOCK_TIMEOUT, is_singleton=True)
    try:
        lock.acquire()
    except Timeout:
        raise ValueError(f"{path}: locked by another import or audit for {config.DECISIONS_LOCK_TIMEOUT} s "
                         f"({path}.lock); nothing written, try again") from None
    try:
        yield
    finally:
        lock.release()


def _csv_header(path: Path) -> list[str] | None:
    """The header row of a CSV file, or None when the file is missing or empty."""
    import csv

    if not path.exists():
        return None
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), None) or None


def read_decisions(path: Path) -> pd.DataFrame | None:
    """The reviewers' decisions log as text columns, read under its lock; None when there is
    none yet (no file, or an empty one). A folder where no lock can be made (read-only) is
    read without one: nobody can be appending there."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):   # e.g. PermissionError: no lock file can be made there
            stack.enter_context(decisions_lock(path))
        try:
            # utf-8-sig: a spreadsheet program saving "CSV UTF-8" puts a BOM before the header
            log = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            return log.apply(lambda col: col.map(unneutralise))   # notes kept safe on disk, raw here
        except pd.errors.EmptyDataError:
            return None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot be read as a CSV file ({exc})") from None


def append_decisions(path: Path, new: pd.DataFrame, current: pd.DataFrame | None = None) -> None:
    """Append decision events to the log, under its lock, never touching the rows there.

    The rows are appended to the file in one write when its header already has every column
    of the log (tables.DECISION_LOG, in any order, extra columns kept). An older or hand-made
    file missing some column is rewritten once, atomically and still under the lock, as
    ``current`` (the log as the caller read it under the same lock, with ids given) + ``new``.
    """
    path = Path(path)
    new = _neutral(new)   # a reviewer opens the log in a spreadsheet: no live formulas in it
    with decisions_lock(path):
        header = _csv_header(path)
        if header is None:
            write_bytes(path, csv_bytes(new.reindex(columns=tables.DECISION_LOG).fillna("")))
            return
        if set(tables.DECISION_LOG) <= set(header):
            rows = new.reindex(columns=header).fillna("")
            body = csv_bytes(rows)[len(csv_bytes(rows.iloc[:0])):]
            with open(path, "rb+") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    body = (b"" if fh.read(1) == b"\n" else b"\n") + body
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            return
        if current is None:
            raise ValueError(f"{path}: an older decisions file must be rewritten with ids; "
                             "pass the log as read")
        cols = tables.DECISION_LOG + [c for c in header if c not in tables.DECISION_LOG]
        write_csv(path, pd.concat([_neutral(current), new], ignore_index=True).reindex(columns=cols).fillna(""))


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
    """An openpyxl workbook as .xlsx bytes with fixed timestamps and zip entry dates
    (OutputError naming the temporary folder when openpyxl cannot write its sheets there)."""
    import datetime as dt
    import io as _io
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    buf = _io.BytesIO()
    stamp = dt.datetime(*config.FIXED_TIMESTAMP)
    workbook.properties.created = workbook.properties.modified = stamp
    failed = None
    try:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:   # compressed once, below
            ExcelWriter(workbook, archive).write_data()
    except OSError as exc:   # openpyxl stages each sheet in a temporary file
        failed = _why(exc)
    if failed:
        _collect_quietly()   # openpyxl's half-run sheet writers would print tracebacks when collected
        raise OutputError(f"{tempfile.gettempdir()}: cannot write the workbook's temporary files "
                          f"({failed}); the previous outputs are unchanged")
    return _stable_zip(buf.getvalue())


def _collect_quietly() -> None:
    """Collect garbage with the 'Exception ignored in ...' reports of finalisers silenced."""
    import gc
    import sys

    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


@dataclass(frozen=True)
class Formula:
    """A formula found in a workbook cell: where it is and its text (never evaluated)."""

    coordinate: str
    text: str


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def check_workbook_file(path: Path) -> None:
    """Refuse, before any parser opens it, a workbook that is too large on disk, expands to too
    much once unzipped, or holds an entry that expands like a zip bomb. zipfile never inflates
    an entry past its declared size, so the declared sizes bound what openpyxl can read."""
    import zipfile

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such workbook")
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    size = path.stat().st_size
    if size > config.MAX_WORKBOOK_BYTES:
        raise ValueError(f"{path}: workbook too large ({_mb(size)}; limit {_mb(config.MAX_WORKBOOK_BYTES)}, "
                         "MAX_WORKBOOK_BYTES in pipeline/config.py)")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    total = sum(e.file_size for e in entries)
    if total > config.MAX_WORKBOOK_UNCOMPRESSED_BYTES:
        raise ValueError(f"{path}: {_mb(total)} uncompressed (limit {_mb(config.MAX_WORKBOOK_UNCOMPRESSED_BYTES)}, "
                         "MAX_WORKBOOK_UNCOMPRESSED_BYTES in pipeline/config.py); not read")
    for e in entries:
        if e.file_size > 2**20 and e.file_size > config.MAX_WORKBOOK_EXPANSION * max(e.compress_size, 1):
            raise ValueError(f"{path}: {e.filename} expands from {e.compress_size:,} bytes to {_mb(e.file_size)} "
                             f"uncompressed (over {config.MAX_WORKBOOK_EXPANSION} times: a zip bomb?); not read")


def _cell_value(path: Path, sheet: str, cell):
    """A read-only cell's value: a Formula for a formula, else the value; too long a text raises."""
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    value = cell.value
    if cell.data_type == "f" or isinstance(value, (ArrayFormula, DataTableFormula)):
        value = Formula(cell.coordinate, str(getattr(value, "text", value)))
    text = value.text if isinstance(value, Formula) else value
    if isinstance(text, str) and len(text) > config.MAX_CELL_CHARS:
        raise ValueError(f"{path}: sheet {sheet}, cell {cell.coordinate}: {len(text):,} characters "
                         f"(limit {config.MAX_CELL_CHARS:,}); not read")
    return value


def _sheet_rows(path: Path, ws, columns: set[str] | None = None) -> list[tuple[int, dict]]:
    """(row number, {header: value}) for every non-empty row under the header (row 1), keeping
    only ``columns`` when given (a sheet of a million rows then holds only what is read).

    The sheet's <dimension> tag is not trusted (a wrong one hid rows from read-only mode):
    reset_dimensions() makes openpyxl read every row the sheet holds."""
    ws.reset_dimensions()
    rows = ws.iter_rows()
    header = [str(_cell_value(path, ws.title, c) or "").strip() for c in next(rows, ())]
    named = [h for h in header if h]
    dupes = sorted({h for h in named if named.count(h) > 1})
    if dupes:
        raise ValueError(f"{path}: sheet {ws.title}: column(s) {', '.join(dupes)} appear more than once")
    out = []
    for cells in rows:
        values = [(c, _cell_value(path, ws.title, c)) for c in cells]
        filled = [c for c, v in values if v not in (None, "")]
        if filled:
            out.append((filled[0].row, {h: values[i][1] if i < len(values) else None
                                        for i, h in enumerate(header) if h and (columns is None or h in columns)}))
    return out


def read_xlsx_rows(path: Path, sheets: list[str], columns: set[str] | None = None) -> dict[str, list[tuple[int, dict]]]:
    """Rows of the named sheets that the workbook has, as {sheet: [(spreadsheet row number,
    {header: value})]}; header = row 1. Formulas come back as Formula (read with
    data_only=False, so they are seen, never replaced by a cached result); only ``columns``
    are kept when given. The file is checked by check_workbook_file first; a cell longer than
    MAX_CELL_CHARS (in any column) raises ValueError."""
    from openpyxl import load_workbook

    path = Path(path)
    check_workbook_file(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException variants
        raise ValueError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        return {name: _sheet_rows(path, wb[name], columns) for name in sheets
                if name in wb.sheetnames and hasattr(wb[name], "reset_dimensions")}
    finally:
        wb.close()


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
