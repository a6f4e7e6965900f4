"""Read and validate a contract dataset folder (or several, merged) into typed Arrow tables.

Every cell of a CSV file is first read as text with its line number (pyarrow, multi-threaded); a
Parquet file's columns already of the contract's type are kept typed. Each rule of the contract is
then checked column-wise, never row by row in Python: first by a cheap test straight on the Arrow
buffers or the typed values (see "Checks without SQL"), which proves most columns, keys and
references clean; whatever it cannot clear is checked in DuckDB, whose queries word every problem.
All problems are collected (up to `max_problems`) and raised together as a `DatasetError`; nothing
is built from a dataset with errors. What is accepted but worth knowing (null tokens read as missing values, ids
that look cut by a spreadsheet, references to entities absent from an optional table, how much a
registry links) is counted in the `LoadReport`, and the rows are kept.

Values of patient columns (`contract.tables.SENSITIVE_COLUMNS`) never appear in a problem, a
warning or an example list: a problem on them names the file, line and column only.
"""
from __future__ import annotations

import codecs
import csv
import functools
import gzip
import io
import os
import re
import shutil
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from contract.errors import DatasetError, Problem
from contract.tables import (AMOUNT, ARROW_TYPES, BOOL, DATE, ENUM, ID, QUANTITY, REFERENCES, TABLES, TEXT, YEAR,
                             MAX_AMOUNT, MAX_QUANTITY, Column, Table, empty_table, sensitive_columns)
from engine import parquet

EXTENSIONS = (".csv", ".csv.gz", ".parquet")
CONVERSION_REPORT = "conversion_report.json"     # written by `fraudnet convert` beside the tables it makes
LINE, FILE, SRC = "_line", "_file", "_src"
TRUE_WORDS = ("true", "1", "yes", "t", "y")
BOOL_WORDS = TRUE_WORDS + ("false", "0", "no", "f", "n")

# Cells holding one of these are missing values, as an empty cell is: the tokens that R, pandas,
# SAS, SPSS, SQL exports and spreadsheets write for "no value". The first ones are pandas'
# defaults (`na_values` of `pandas.read_csv`, pandas 2.x documentation: `NA` of R and of the CMS
# claims files, `#N/A` of Excel, `NULL` of database dumps, `None`, `NaN`, `<NA>` of pandas) less
# `1.#IND` and `1.#QNAN` and their negatives (a C runtime's printout of a failed float, no id);
# then `.` (a missing value as SAS, SPSS and Stata write it), `-` (of reports), `#NULL!` (a
# spreadsheet's error cell, also SPSS's), and `NONE`, `none`, `Null` (exports that change case).
# Matched exactly (`Na`, `NA.` are values). Each is counted per file, column and token in the load
# report, with its first lines.
NULL_TOKENS = ("#N/A", "#N/A N/A", "#NA", "-NaN", "-nan", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
               "null", ".", "-", "#NULL!", "NONE", "none", "Null")
NULL_LINES = 3       # the first lines of each token named in the load report
BLANK = "(blank)"            # how cells of spaces only are named in the counts
DELIMITERS = (",", ";", "\t", "|")
# pyarrow reads CSV in blocks of this size, one column chunk a block: large blocks leave few
# chunks for the checks below to go through, small enough ones keep both cores busy reading.
BLOCK_BYTES = 16 << 20

# Fixed-length identifier formats a spreadsheet breaks by reading them as numbers: a French
# postcode (5 digits: 01000 for Bourg-en-Bresse), a FINESS number (9 characters; FINESS of the
# départements 01–09 start with 0) or a SIREN (9 digits), a SIRET (14 digits). A column whose
# values mostly have one of these lengths, and some one digit less, has lost leading zeros.
FIXED_LENGTHS = {5: "a postcode", 9: "a FINESS or SIREN number", 14: "a SIRET number"}
FIXED_FORMAT_COLUMNS = {("providers", "postcode"), ("centres", "postcode"), ("patients", "postcode"),
                        ("claims", "centre_id"), ("centres", "centre_id"), ("affiliations", "centre_id"),
                        ("providers", "legal_entity_id"), ("centres", "legal_entity_id"),
                        ("legal_entities", "legal_entity_id"), ("officers", "legal_entity_id")}
DOMINANT_SHARE = 0.8

# When two sources give the same key, these columns say *what* the row is: a different value is
# an error (two different things under one key), not a detail to choose from. Every column of a
# claim is such a column. The value after the column is the one meaning "not known precisely",
# which yields to a precise one (a registry's `pharmacy` over a converter's `other`).
IDENTITY = {"providers": {"kind": "other"}, "centres": {"kind": "other"}, "legal_entities": {"kind": "other"},
            "patients": {"birth_year": None, "sex": "U"}, "services": {"kind": None}}

# A registry linking fewer than this share of the claims' entities of its kinds is reported as
# a critical warning (see `link_report`).
LINK_MIN_SHARE = 0.1
SINGULAR = {"claims": "claim", "providers": "provider", "centres": "centre", "legal_entities": "legal entity",
            "patients": "patient", "services": "service"}


@dataclass
class LoadReport:
    """What loading found besides errors: tables read, warnings, and how registries link.

    `warnings` are dicts with at least `severity` (`info`: counted, nothing wrong; `warning`:
    likely a data problem, rows kept; `critical`: the scan will run but its result is probably
    not what the user wants, e.g. a registry that links nothing) and `message`; most also carry
    `table`, `column`, `rows` and `examples` (never values of patient columns). `links` has one
    entry per registry (see `link_report`).
    """
    source: str
    tables: dict[str, dict] = field(default_factory=dict)   # name -> {file, rows}
    warnings: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)

    def warn(self, message: str, severity: str = "warning", **facts):
        self.warnings.append({**facts, "severity": severity, "message": message})

    def to_dict(self) -> dict:
        return {"source": self.source, "tables": self.tables, "warnings": self.warnings, "links": self.links}


@dataclass
class Dataset:
    """The typed tables of one dataset: every contract table is present (empty if not given);
    the claims may be a table held by the scan's engine (`load_dataset(..., claims_to=…)`)."""
    tables: dict[str, pa.Table]
    report: LoadReport

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]

    def given(self, name: str) -> bool:
        return name in self.report.tables


class _Collector:
    """Collects problems up to a cap while counting them all."""

    def __init__(self, cap: int):
        self.cap, self.problems, self.total = cap, [], 0
        # for a file that has problems: its reference columns without any (text, with `_line`), so
        # that its references are checked too and every problem is reported at once
        self.partial: dict[Path, pa.Table] = {}
        # files read without their lines of the wrong number of fields (reported): an id missing
        # from them may be on such a line, so references into them are not checked
        self.incomplete: set[Path] = set()

    def add(self, problem: Problem, count: int = 1):
        self.total += count
        if len(self.problems) < self.cap:
            self.problems.append(problem)

    @property
    def room(self) -> int:
        return max(self.cap - len(self.problems), 0)


def find_table_file(folder: Path, table: str) -> Path | None:
    found = [folder / f"{table}{ext}" for ext in EXTENSIONS if (folder / f"{table}{ext}").is_file()]
    if len(found) > 1:
        raise DatasetError(str(folder), [Problem(
            found[1].name, f"{table} is given twice ({', '.join(p.name for p in found)}): keep one")])
    return found[0] if found else None


def _unread(folder: Path) -> list[Path]:
    """The files of `folder` that no table is read from (a table's file is named exactly
    `<table><extension>`: `claims_2024.csv` or `Claims.CSV` are not read), hidden files aside
    (a name starting with '.') and a converter's report aside (`conversion_report.json`, written beside
    the tables it made), sorted by name. Sub-folders are not files: not listed."""
    known = {t + e for t in TABLES for e in EXTENSIONS} | {CONVERSION_REPORT}
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.name not in known),
                  key=lambda p: p.name)


def shown(value: str | None, sensitive: bool = False) -> str | None:
    """A cell's value as a problem or a warning may print it: never a patient column's, and never
    a value spanning lines — the sign of a quote left open, which makes one cell of the next ones
    (a patient id among them). A row whose quotes merge cells on one line has too few fields, and
    is refused without printing any of its values."""
    if value is None or sensitive or "\n" in value or "\r" in value:
        return None
    return value


# --- reading -------------------------------------------------------------------------------------

@dataclass
class RawFile:
    """A file read as text: every column a string column, plus `_line`."""
    table: pa.Table
    unit: str                                   # "line" (CSV) or "row" (Parquet)
    delimiter: str | None = None                # CSV only
    nulls: dict[str, dict[str, int]] = field(default_factory=dict)   # column -> token -> cells
    null_lines: dict[str, dict[str, list[int]]] = field(default_factory=dict)   # column -> token -> first lines
    stored_as: dict[str, str] = field(default_factory=dict)         # Parquet column -> non-text type read
    header: dict[str, str] = field(default_factory=dict)            # column -> its name as the file writes it
    typed: frozenset[str] = frozenset()      # Parquet columns kept as the contract's type (see `read_raw`)
    ignored_bytes: dict[str, int] = field(default_factory=dict)   # unread column -> cells not in the encoding


def _open_text(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def sniff_delimiter(header: str) -> str:
    """The most frequent of `,` `;` tab `|` in a header line (`,` when none is there)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _named(delimiter: str) -> str:
    return {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[delimiter]


def _read_header(path: Path, out: _Collector, delimiter: str | None,
                 encoding: str) -> tuple[list[str], str, list[str]] | None:
    """(lower-cased column names, delimiter, names as written), or None after reporting why the
    header is unusable."""
    try:
        with _open_text(path) as f:
            first = f.readline()
    except (OSError, EOFError) as e:
        out.add(Problem(path.name, f"cannot be read: {type(e).__name__}"))
        return None
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        out.add(Problem(path.name, "the file is UTF-16 (a spreadsheet's 'Unicode text'): save it as CSV UTF-8", line=1))
        return None
    try:
        text = first.split(b"\r")[0].rstrip(b"\n").decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except (UnicodeDecodeError, LookupError):
        out.add(Problem(path.name, f"the header is not valid {_shown(encoding)}: {_encoding_hint(first, encoding)}",
                        line=1))
        return None
    sniffed = sniff_delimiter(text)
    if delimiter is None:
        delimiter = sniffed
    try:
        row = next(csv.reader([text], delimiter=delimiter), None)
    except csv.Error as e:
        out.add(Problem(path.name, f"the header cannot be read as CSV: {e}", line=1))
        return None
    if not row or not any(c.strip() for c in row):
        out.add(Problem(path.name, "the file is empty: expected a header row naming the columns"))
        return None
    if len(row) == 1 and sniffed != delimiter:
        out.add(Problem(path.name, f"the header has a single column: this file seems to use {_named(sniffed)} as its "
                                   f"separator, and this reader expects {_named(delimiter)} (export it comma-separated, "
                                   f"or convert it with a mapping: delimiter = \"{sniffed}\")", line=1))
        return None
    names = [n.strip().lower() for n in row]
    seen = set()
    for n in names:
        if n in seen:
            out.add(Problem(path.name, "column named twice in the header", line=1, column=n))
        seen.add(n)
    return (names, delimiter, [n.strip() for n in row]) if len(seen) == len(names) else None


def _shown(encoding: str) -> str:
    return "UTF-8" if encoding.lower() in ("utf-8", "utf8") else encoding


def _encoding_hint(raw: bytes, encoding: str) -> str:
    if encoding.lower() in ("utf-8", "utf8"):
        try:
            raw.decode("cp1252")
            return ("it looks like Latin-1 or Windows-1252 (a spreadsheet's or SAS's default, é written as one "
                    "byte): save the file as UTF-8, or name its encoding when converting (a mapping's "
                    "encoding = \"cp1252\", convert snds --encoding cp1252)")
        except UnicodeDecodeError:
            return "save the file as UTF-8"
    return "check the encoding named (a mapping's encoding = \"…\", convert snds --encoding)"


UTF8_SAMPLE_BYTES = 4 << 20      # how much of a file `_utf8_misread` looks at


def _utf8_misread(path: Path, encoding: str, header: tuple[list[str], str, list[str]] | None = None,
                  sensitive: frozenset[str] = frozenset(), used: frozenset[str] | None = None) -> Problem | None:
    """A problem when a file named as a one-byte encoding (cp1252, latin-1…) is in fact UTF-8:
    its first `UTF8_SAMPLE_BYTES` hold non-ASCII bytes that all form UTF-8 sequences, which a
    one-byte encoding would read as two or three wrong characters each ('é' as 'Ã©'), silently.
    Real cp1252 or latin-1 text with accents is almost never valid UTF-8 (an accented letter is one
    byte ≥ 0x80 followed by ASCII, never a UTF-8 sequence), so the file is refused rather than
    misread. None for a multi-byte encoding, an ASCII sample, or a sample that is not UTF-8.
    With the file's `header` (`_read_header`'s), the problem names the column of that first
    character; one of the `sensitive` columns (or one that cannot be told: a line that has not
    the header's count of fields, part of a cell spanning lines) is named without the character.
    Non-ASCII characters in columns not among `used` (columns the caller does not read; None: all)
    are passed over: misread, they are ignored, as those columns are; a sample whose only ones are
    there is no problem."""
    try:
        if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") or len("é".encode(encoding)) != 1:
            return None
    except (LookupError, UnicodeEncodeError):
        return None
    with _open_text(path) as f:
        sample = f.read(UTF8_SAMPLE_BYTES)
    first = next((i for i, b in enumerate(sample) if b >= 0x80), None) if not sample.isascii() else None
    if first is None:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)    # a sequence cut at the end is fine
    except UnicodeDecodeError:
        return None
    at = len(sample[:first].decode("ascii"))
    line = sample[:first].count(b"\n") + 1
    column, hide = None, line > 1
    if header is not None and line > 1:
        names, delimiter, written = header
        found = _first_read_non_ascii(text, at, line, names, delimiter, used)
        if found is None:       # only columns the caller does not read: misread, they are ignored
            return None
        at, line, col = found
        if col is not None:
            column, hide = written[col], names[col] in sensitive
    char = text[at]
    why = "a patient column" if column else "its column not told"
    what = (f"a character of this line (not shown: {why}) is "
            f"written as UTF-8, which {encoding} would read as two or three other characters" if hide else
            f"{char!r} on this line, written as UTF-8, {encoding} would read as "
            f"{char.encode('utf-8').decode(encoding, 'replace')!r}")
    return Problem(path.name, f"the file is UTF-8, not {encoding}: {what}; convert it without naming an encoding "
                              f"(UTF-8 is the default)", line=line, column=column)


_BAD_BYTE = re.compile("[\udc80-\udcff]")     # a byte not in the encoding, decoded with "surrogateescape"


_NON_ASCII = re.compile("[^\x00-\x7f]")


def _first_read_non_ascii(text: str, at: int, line: int, names: list[str], delimiter: str,
                          used: frozenset[str] | None) -> tuple[int, int, int | None] | None:
    """From the first non-ASCII character of `text` (at index `at`, on `line`), the first one
    in a column among `used` (any, if None): (its index, its line, its column's index or None
    when its line cannot be told apart into the header's fields — part of a cell spanning lines),
    or None when every one is in a column not used."""
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        fields = next(csv.reader([text[start:None if end < 0 else end]], delimiter=delimiter), [])
        if len(fields) != len(names):
            return at, line, None
        cols = [i for i, v in enumerate(fields) if not v.isascii()]
        read = [i for i in cols if used is None or names[i] in used]
        if read or not cols:
            col = read[0] if read else None
            if col is not None:
                first = text.find(next(ch for ch in fields[col] if not ch.isascii()), start)
                at = first if first >= 0 else at
            return at, line, col
        if end < 0:
            return None
        line += 1
        nxt = _NON_ASCII.search(text, end + 1)
        if nxt is None:
            return None
        line += text.count("\n", end + 1, nxt.start())
        at = nxt.start()
    return None


def _scan_csv_rows(path: Path, names: list[str], out: _Collector, limit: int, delimiter: str, encoding: str,
                   sensitive: frozenset[str], used: frozenset[str] | None = None,
                   ignored: dict[str, int] | None = None):
    """Error path only: find rows whose encoding or field count is wrong, with their line. Returns
    the number of lines not in `encoding` (then the field counts are not looked at), else 0. A
    line whose bytes not in `encoding` all lie in columns not among `used` (columns the caller
    does not read; None: every column is read) is no problem: its cells are counted per column
    in `ignored`, never shown, and the line is counted in the result (it is read on, its bad bytes
    replaced)."""
    with _open_text(path) as f:
        raw = f.read()
    lines = raw.split(b"\n")
    found = 0
    for number, line in enumerate(lines[1:], start=2):      # every such line counted (`out` caps the list)
        try:
            line.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            try:     # each byte that is not in the encoding kept as a surrogate, to be found in its cell
                fields = next(csv.reader([line.decode(encoding, "surrogateescape")], delimiter=delimiter), [])
            except LookupError:
                fields = []
            bad_cols = [i for i, v in enumerate(fields) if _BAD_BYTE.search(v)]
            if used is not None and len(fields) == len(names) and bad_cols and \
                    all(names[i] not in used for i in bad_cols):
                for i in bad_cols:
                    if ignored is not None:
                        ignored[names[i]] = ignored.get(names[i], 0) + 1
                found += 1
                continue
            col = next((i for i in bad_cols if used is None or i >= len(names) or names[i] in used),
                       bad_cols[0] if bad_cols else None)
            name = names[col] if col is not None and col < len(names) else None
            said = ""
            if col is not None and name in sensitive:
                said = " (its bytes not shown: a patient column)"
            elif col is not None:
                bad = [f"0x{ord(c) - 0xDC00:02X}" for c in _BAD_BYTE.findall(fields[col])]
                said = f" (byte{'s' if len(bad) > 1 else ''} {' '.join(bad[:8])}{' …' if len(bad) > 8 else ''})"
            cell = None if col is None else \
                fields[col].encode(encoding, "surrogateescape").decode(encoding, "replace")
            out.add(Problem(path.name, f"is not valid {_shown(encoding)}{said}: {_encoding_hint(line, encoding)}",
                            line=number, column=name or (None if col is None else f"#{col + 1}"),
                            value=None if col is None else shown(cell, name in sensitive)))
            found += 1
    if found:
        return found
    reader = csv.reader(io.StringIO(raw.decode(encoding, "replace").lstrip("\ufeff"), newline=""), delimiter=delimiter)
    try:
        next(reader, None)
        for row in reader:
            if found >= limit:
                break
            if row and len(row) != len(names):
                out.add(Problem(path.name, _fields_message(len(names), len(row), delimiter), line=reader.line_num))
                found += 1
    except csv.Error as e:
        out.add(Problem(path.name, f"cannot be read as CSV: {e}", line=reader.line_num))
    return 0


def _fields_message(expected: int, found: int, delimiter: str) -> str:
    hint = (f"a {_named(delimiter)} too many: one inside a value must be quoted" if found > expected
            else f"a {_named(delimiter)} too few, or the line cut short")
    return f"expected {expected} fields (as the header), found {found} ({hint})"


def _field_counts(path: Path, names: list[str], out: _Collector, delimiter: str, encoding: str) -> list[int] | None:
    """Error path only (a file some of whose records have a number of fields other than the
    header's): report each such record (all counted, the first ones listed; no value printed) and
    return the line on which each of the others starts, so that they are checked too; None after
    reporting a file the csv module cannot read either."""
    starts = []
    with _open_text(path) as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig" if encoding.lower() in ("utf-8", "utf8")
                                             else encoding, errors="replace", newline=""), delimiter=delimiter)
        try:
            next(reader, None)
            previous = reader.line_num
            for row in reader:
                start, previous = previous + 1, reader.line_num
                if not row:
                    continue          # a blank line, skipped by the reader too
                if len(row) == len(names):
                    starts.append(start)
                    continue
                out.add(Problem(path.name, _fields_message(len(names), len(row), delimiter), line=start))
        except csv.Error as e:
            out.add(Problem(path.name, f"cannot be read as CSV: {e}", line=reader.line_num))
            return None
    return starts


def _physical_lines(path: Path, delimiter: str, encoding: str) -> list[int]:
    """Line on which each record starts, for files with line breaks inside quoted cells or empty
    lines (which hold no record: skipped, as pyarrow skips them, and counted in the lines)."""
    with _open_text(path) as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=""),
                            delimiter=delimiter)
        next(reader, None)
        starts, previous = [], 1
        for row in reader:
            if row:
                starts.append(previous + 1)
            previous = reader.line_num
    return starts


def _has_empty_line(path: Path) -> bool:
    """Does the file hold an empty line before its last record? pyarrow's reader skips empty
    lines, so the lines of the records after it are counted by `_physical_lines`; empty lines at
    the end of the file move no record."""
    pending, carry = False, b""
    with _open_text(path) as f:
        while chunk := f.read(1 << 24):
            if pending and chunk.strip(b"\r\n"):
                return True
            data = carry + chunk
            for sep in (b"\n\n", b"\n\r\n"):
                k = data.find(sep)
                if k >= 0:
                    if data[k + len(sep):].strip(b"\r\n"):
                        return True
                    pending = True
            carry = data[-2:]
    return False


def _line_numbers(path: Path, rows: int, multiline: bool, delimiter: str, encoding: str) -> pa.Array:
    if multiline:
        try:
            starts = _physical_lines(path, delimiter, encoding)
            if len(starts) == rows:
                return pa.array(starts, pa.int64())
        except (csv.Error, UnicodeDecodeError):
            pass
    return pa.array(np.arange(2, rows + 2, dtype=np.int64))


def _parse_error(e: Exception) -> str:
    """pyarrow's parse message without the row text it quotes (which may hold a patient id)."""
    m = re.search(r"Expected \d+ columns, got \d+", str(e))
    return f"cannot be read as CSV ({m.group(0)})" if m else "cannot be read as CSV (a quote left open, or not a text file)"


def _parquet_as_text(table: pa.Table, stored_as: dict[str, str], used: frozenset[str] | None = None,
                     ignored: dict[str, int] | None = None) -> list[pa.Array]:
    """Every column as text. Timestamps at midnight become dates (value by value); integer and floating-point
    columns their digits (recorded in `stored_as`, since ids stored as numbers lose leading zeros).
    A binary column holding bytes that are not UTF-8 raises `_NotText`, unless it is not among
    `used` (a column the caller does not read): then those bytes are replaced, and its cells that
    hold some counted in `ignored`."""
    cols = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = col.type
        if pa.types.is_string(t):
            pass
        elif pa.types.is_large_string(t):
            col = col.cast(pa.string())
        elif pa.types.is_timestamp(t):
            # each value at midnight is its date; only a value with a time of day keeps it (and is
            # reported as such in a date column), not every row of a column holding one
            at_midnight = pc.equal(pc.floor_temporal(col, unit="day"), col)
            text = pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
            col = pc.if_else(at_midnight, pc.utf8_slice_codeunits(text, 0, 10), pc.utf8_slice_codeunits(text, 0, 19))
            midnight = pc.all(at_midnight).as_py() in (True, None)
            stored_as[name] = "timestamp at midnight" if midnight else "timestamp"
        elif pa.types.is_date(t):
            col = col.cast(pa.date32()).cast(pa.string())
        elif pa.types.is_integer(t):
            col = col.cast(pa.string())
            stored_as[name] = "integer"
        elif pa.types.is_floating(t):
            # each whole value is its digits (12345678901.0 is '12345678901', not '1.2345678901e+10',
            # which a quantity's message would quote as "not a whole number"); others as Arrow writes them
            whole = pc.fill_null(pc.and_(pc.less(pc.abs(col), 2.0 ** 63), pc.equal(col, pc.floor(col))), False)
            digits = pc.if_else(whole, col, pa.scalar(0.0, t)).cast(pa.int64()).cast(pa.string())
            # -0.0 keeps its sign ('-0', as a CSV would write it), which an amount's check refuses
            signed = pc.fill_null(pc.less(pc.divide(pa.scalar(1.0, t), col), pa.scalar(0.0, t)), False)
            digits = pc.if_else(pc.and_(whole, pc.and_(signed, pc.equal(col, pa.scalar(0.0, t)))), "-0", digits)
            col = pc.if_else(whole, digits, col.cast(pa.string()))
            stored_as[name] = "floating point"
        else:
            try:
                col = col.cast(pa.string())
            except pa.ArrowInvalid:      # binary holding bytes that are not UTF-8
                if used is None or name in used:
                    raise _NotText(name, _first_not_utf8(col)) from None
                values = col.to_pylist()
                if ignored is not None:
                    ignored[name] = sum(1 for v in values if v is not None and not _is_utf8(v))
                col = pa.array([None if v is None else v.decode("utf-8", "replace") for v in values], pa.string())
        cols.append(col)
    return cols


class _NotText(Exception):
    """`_parquet_as_text`: a binary column whose value at `row` (counted from 0) is not UTF-8."""

    def __init__(self, column: str, row: int):
        super().__init__(column, row)
        self.column, self.row = column, row


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _first_not_utf8(col: pa.ChunkedArray) -> int:
    """The index of the first value of a binary column that is not UTF-8 text."""
    for i, v in enumerate(col.to_pylist()):
        if isinstance(v, bytes):
            try:
                v.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return 0


def _null_tokens(table: pa.Table, tokens: tuple[str, ...], lines: pa.Array | None = None) \
        -> tuple[pa.Table, dict[str, dict[str, int]], dict[str, dict[str, list[int]]]]:
    """Cells equal to a token, with or without spaces around it (` NA `, as a fixed-width export
    pads it: spaces around a token mean no more than a cell of spaces only), or of spaces only,
    become missing values. Returns the table, the cells per column and token as the file writes it
    (`' NA '` apart from `'NA'`; spaces only: `BLANK`), and per column and token the first
    `NULL_LINES` of `lines` (the rows' line numbers; empty lists without them) holding it."""
    counts: dict[str, dict[str, int]] = {}
    firsts: dict[str, dict[str, list[int]]] = {}
    value_set = pa.array(list(tokens), pa.string())
    cols = []
    for name, col in zip(table.column_names, table.columns):
        if FAST_CHECKS and not _has_missing(col, tokens):
            cols.append(col)
            continue
        blank = pc.utf8_is_space(col)
        mask = pc.or_(pc.is_in(pc.utf8_trim_whitespace(col), value_set=value_set), blank) if tokens else blank
        mask = pc.fill_null(mask, False)
        n = pc.sum(mask).as_py() or 0
        if n:
            found = pc.if_else(blank.fill_null(False), pa.scalar(BLANK), col).filter(mask)
            counts[name] = {v["values"]: v["counts"] for v in pc.value_counts(found).to_pylist()}
            at = lines.filter(mask) if lines is not None else None
            firsts[name] = {t: [] if at is None else at.filter(pc.equal(found, t)).slice(0, NULL_LINES).to_pylist()
                            for t in counts[name]}
            col = pc.if_else(mask, pa.scalar(None, pa.string()), col)
        cols.append(col)
    return pa.table(dict(zip(table.column_names, cols))), counts, firsts


def _nulls_message(label: str, column: str, tokens: dict[str, int], firsts: dict[str, list[int]], unit: str) -> str:
    """The load report's note on the cells of one column read as missing values: each token (or
    blank cells) with its count and first lines (rows, for Parquet)."""
    def one(token: str, n: int) -> str:
        at = firsts.get(token, [])
        where = (f": {unit}{'s' if len(at) > 1 else ''} {', '.join(map(str, at))}{', …' if n > len(at) else ''}"
                 if at else "")
        return f"{token!r} × {n}{where}" if token != BLANK else f"blank × {n}{where}"
    return (f"{label}: {sum(tokens.values())} {column} cell(s) read as missing values "
            f"({'; '.join(one(t, n) for t, n in tokens.items())})")


def read_raw(path: Path, out: _Collector, *, delimiter: str | None = ",", encoding: str = "utf-8",
             null_tokens: tuple[str, ...] = NULL_TOKENS, sensitive: frozenset[str] = frozenset(),
             typed: dict[str, Column] | None = None, used: frozenset[str] | None = None) -> RawFile | None:
    """Every column of a CSV (`.csv`, `.csv.gz`) or Parquet file as text plus `_line`, or None
    after reporting (in `out`) why the file cannot be read.

    Column names are lower-cased and stripped. `delimiter=None` detects `,` `;` tab or `|` from
    the header; with a given delimiter, a header that seems to use another one is reported as
    such. Cells that are empty, of spaces only, or one of `null_tokens` are missing values
    (counted in `RawFile.nulls`). Values of the `sensitive` columns never appear in a problem.
    `typed` (Parquet only): contract columns by name; a Parquet column of one of them that is
    stored as the contract's type, with values the contract accepts, is kept as that type
    (named in `RawFile.typed`) rather than turned into text (`_typed_parquet`). `used`: the
    columns (lower-case names) the caller reads, None for all: bytes not in the encoding (a CSV
    file) or not UTF-8 (a Parquet binary column) in any other column are no problem and never
    shown — those cells are read with the bytes replaced and counted per column in
    `RawFile.ignored_bytes`.
    """
    if path.name.endswith(".parquet"):
        try:
            table = pq.read_table(path)
        except Exception as e:  # pyarrow raises several types for a broken file
            out.add(Problem(path.name, f"cannot be read as Parquet ({type(e).__name__})"))
            return None
        names = [n.strip().lower() for n in table.column_names]
        if len(set(names)) != len(names):
            out.add(Problem(path.name, "a column is named twice"))
            return None
        header = dict(zip(names, table.column_names))
        table = table.rename_columns(names)
        kept = {}
        for name in names if FAST_CHECKS and typed else ():
            if name in typed and (values := _typed_parquet(typed[name], table[name])) is not None:
                kept[name] = values
        rest = table.drop_columns(list(kept))
        stored_as: dict[str, str] = {}
        rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
        ignored: dict[str, int] = {}
        try:
            as_text = _parquet_as_text(rest, stored_as, used, ignored)
        except _NotText as e:
            column = header.get(e.column, e.column)
            out.add(Problem(path.name, "is not UTF-8 text (a binary column; bytes not shown)" if e.column in sensitive
                            else "is not UTF-8 text (a binary column): store text as UTF-8 strings",
                            line=e.row + 1, column=column, unit="row"))
            return None
        text, nulls, firsts = _null_tokens(pa.table(dict(zip(rest.column_names, as_text))), null_tokens, rows)
        columns = {n: kept[n] if n in kept else text[n] for n in names}
        columns[LINE] = rows
        return RawFile(pa.table(columns), "row", None, nulls, firsts, stored_as, header, frozenset(kept), ignored)

    header = _read_header(path, out, delimiter, encoding)
    if header is None:
        return None
    if misread := _utf8_misread(path, encoding, header, sensitive, used):
        out.add(misread)
        return None
    names, delimiter, written = header
    bad_rows = []

    def parse(stream, encoding: str) -> pa.Table:
        return pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=lambda r: bad_rows.append(r) or "skip"),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True))
    undecoded, reported, ignored = 0, False, {}
    try:
        with pa.input_stream(str(path), compression="gzip" if path.name.endswith(".gz") else None) as stream:
            table = parse(stream, encoding)
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError, LookupError) as e:
        before = out.total
        undecoded = _scan_csv_rows(path, names, out, out.room or 1, delimiter, encoding, sensitive, used, ignored)
        reported = out.total > before
        if not reported and not ignored:
            out.add(Problem(path.name, _parse_error(e)))
        if not undecoded:
            return None
        # lines not in the file's encoding are reported; the others are read on, so that their
        # problems are reported too (the bad bytes replaced, those lines then left out)
        bad_rows.clear()
        with _open_text(path) as f:
            text = f.read().decode(encoding, "replace")
        try:
            table = parse(pa.BufferReader(text.encode("utf-8")), "utf8")
        except (pa.ArrowInvalid, OSError) as again:
            out.add(Problem(path.name, _parse_error(again)))
            return None
    if bad_rows:       # reported, and the other lines read on, so that their problems are reported too
        before = out.total
        starts = _field_counts(path, names, out, delimiter, encoding)
        if out.total == before:
            out.add(Problem(path.name, f"{len(bad_rows)} line(s) have a number of fields other than the header's"),
                    count=len(bad_rows))
        if starts is None or len(starts) != table.num_rows:
            return None
        out.incomplete.add(path)
        lines = pa.array(starts, pa.int64())
    else:
        multiline = any(_has_byte(c, ord("\n")) for c in table.columns) or _has_empty_line(path)
        lines = _line_numbers(path, table.num_rows, multiline, delimiter, encoding)
    if reported:       # the lines reported as not in the file's encoding: left out of the checks
        replaced = [pc.fill_null(pc.match_substring(c, "\ufffd"), False) for n, c in zip(table.column_names,
                                                                                         table.columns)
                    if used is None or n in used]
        keep = pc.invert(functools.reduce(pc.or_, replaced)) if replaced else pa.array([True] * table.num_rows)
        table, lines = table.filter(keep), lines.filter(keep)
        out.incomplete.add(path)
    table, nulls, firsts = _null_tokens(table, null_tokens, lines)
    return RawFile(table.append_column(LINE, lines), "line", delimiter, nulls, firsts, {}, dict(zip(names, written)),
                   ignored_bytes=ignored)


# --- checks without SQL --------------------------------------------------------------------------
# The SQL checks below (`_column_rules`, `_check_key`, `_check_references`) say what the contract
# accepts, and word every problem. Most datasets have none, and reading 5 million claims' cells
# again in SQL would cost several times their reading. So each column, key and reference first
# takes a cheap test, straight on the Arrow buffers (numpy) or on typed values, that can only say
# "nothing to report" when the SQL would report nothing, and that types the column the way the SQL
# would: the SQL then runs only on what the test cannot clear. `tests/test_loaders_fast.py` runs
# both on the same random files and requires the same tables, problems and warnings.

FAST_CHECKS = True      # False: every check in SQL, as the reference the tests compare with

# The first byte of every character pyarrow's `utf8_is_space` holds for a space (ASCII 9-13 and
# 28-32, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000; the test
# checks this against pyarrow on every code point), widened to every ASCII control character.
_SPACE_FIRST = np.zeros(256, bool)
_SPACE_FIRST[:0x21] = True
_SPACE_FIRST[[0xC2, 0xE1, 0xE2, 0xE3]] = True


def _cells(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a non-empty string array as numpy views of its buffers: cell i is
    bytes[offsets[i]:offsets[i + 1]] (a null cell too, usually empty)."""
    _, offsets, data = chunk.buffers()
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    off = np.frombuffer(offsets, width)[chunk.offset: chunk.offset + len(chunk) + 1]
    return off, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


def _chunks(values: pa.ChunkedArray):
    """The non-empty chunks of a string column as (offsets, bytes, cell lengths)."""
    for chunk in values.chunks:
        if len(chunk):
            off, data = _cells(chunk)
            yield off, data, np.diff(off)


def _has_byte(values: pa.ChunkedArray, byte: int) -> bool:
    """Whether any cell of a string column holds `byte` (one chunk's bytes at a time, searched by
    `bytes.find`, i.e. memchr: several times faster than a numpy comparison, and no mask)."""
    wanted = bytes([byte])
    for chunk in values.chunks:
        if len(chunk):
            off, data = _cells(chunk)
            if data[off[0]:off[-1]].tobytes().find(wanted) >= 0:
                return True
    return False


def _has_missing(values: pa.ChunkedArray, tokens: tuple[str, ...]) -> bool:
    """Whether some cell of a string column is one of `tokens` (spaces around it allowed) or of
    spaces only (what `_null_tokens` reads as missing). Only the cells that could be (they start
    with a byte that starts a space, or end with one that may end a space — any byte that is not
    ASCII, or an ASCII space or control character — or start like a token and are no longer than
    the longest token) are looked at: most columns have none."""
    longest = np.zeros(256, np.uint32)      # by first byte, the longest cell (less 1) that could be
    for t in (t.encode() for t in tokens if t):
        longest[t[0]] = max(longest[t[0]], len(t))
    longest[_SPACE_FIRST] = np.iinfo(np.uint32).max
    masks = []
    for chunk in values.chunks:
        off, data = _cells(chunk) if len(chunk) else (None, ())
        if len(data) == 0 or off[-1] == off[0]:       # no cell holds a byte
            masks.append(np.zeros(len(chunk), bool))
            continue
        lengths = np.diff(off)
        first = np.take(data, off[:-1], mode="clip")
        last = np.take(data, off[1:] - 1, mode="clip")
        masks.append(((lengths - 1).view(np.uint32) < longest[first])            # an empty cell: never
                     | ((lengths > 0) & ((last <= 0x20) | (last >= 0x7F))))
    if not any(m.any() for m in masks):
        return False
    cells = values.filter(pa.chunked_array([pa.array(m) for m in masks], pa.bool_()))
    return pc.any(pc.or_(pc.is_in(pc.utf8_trim_whitespace(cells), value_set=pa.array(list(tokens), pa.string())),
                         pc.utf8_is_space(cells))).as_py() or False


def _digits(text: np.ndarray) -> np.ndarray:
    """Which bytes are ASCII digits (arithmetic on uint8, which numpy vectorises)."""
    return (text - np.uint8(ord("0"))) < 10


def _shaped(values: pa.ChunkedArray, kind: str) -> bool:
    """Whether every cell of a string column has the plain shape the contract writes for `kind`:
    DATE `[0-9]{4}-[0-9]{2}-[0-9]{2}`; AMOUNT digits and dots (no sign, exponent or space: the
    cast that follows refuses two dots, or a dot alone); QUANTITY 1 to 9 digits; YEAR 4 digits.
    (A null cell is empty; an empty text cell passes here, and fails the cast.)"""
    for off, data, lengths in _chunks(values):
        text = data[off[0]:off[-1]]
        if kind == DATE:
            if lengths.max() > 10 or np.count_nonzero(lengths == 10) + np.count_nonzero(lengths == 0) < len(lengths):
                return False
            grid = text.reshape(-1, 10)      # 8 digits a row, and '-' at 4 and 7
            if not ((grid[:, 4] == ord("-")).all() and (grid[:, 7] == ord("-")).all()
                    and np.count_nonzero(_digits(text)) == 8 * len(grid)):
                return False
        elif kind == AMOUNT:      # two dots, or none but digits, are left to the cast to refuse
            if np.count_nonzero(_digits(text) | (text == ord("."))) < len(text):
                return False
        else:
            wrong = (lengths != 4) if kind == YEAR else (lengths > 9)
            if np.count_nonzero(_digits(text)) < len(text) or (wrong & (lengths > 0)).any():
                return False
    return True


def _fast_column(col: Column, values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A text column typed as the SQL types it (`_typed`), when a check without SQL proves that no
    cell breaks a rule of `col` (`_column_rules`); None when it cannot say (the SQL then checks
    and types the column)."""
    if col.not_null and values.null_count:
        return None
    if values.null_count == len(values):
        typed = pa.chunked_array([pa.nulls(len(values), ARROW_TYPES[col.type])])
    elif col.type == TEXT:
        return values
    elif col.type == ID:
        return None if _has_byte(values, ord("+")) else values
    elif col.type == ENUM:
        return values if set(pc.unique(values).drop_null().to_pylist()) <= set(col.values) else None
    elif col.type == BOOL:
        words = pc.unique(values).drop_null().to_pylist()
        if not all(w.isascii() and w.lower() in BOOL_WORDS for w in words):
            return None
        typed = pc.is_in(values, value_set=pa.array([w for w in words if w.lower() in TRUE_WORDS], pa.string()))
    else:
        if not _shaped(values, col.type):
            return None
        try:
            typed = pc.cast(values, ARROW_TYPES[col.type])
        except pa.ArrowInvalid:        # an empty cell, a day that does not exist
            return None
        low, high = pc.min_max(typed).values()
        if col.type == DATE and pc.less(low, pa.scalar(_FIRST_DAY)).as_py():       # year 0000
            return None
        if col.type == AMOUNT and not (pc.all(pc.is_finite(typed)).as_py() and high.as_py() <= MAX_AMOUNT):
            return None
        if (col.type == QUANTITY and low.as_py() < 1) or (col.type == YEAR and not 1880 <= low.as_py() <= high.as_py() <= 2100):
            return None
    return pc.fill_null(typed, col.default) if col.default is not None else typed


_FIRST_DAY, _LAST_DAY = date(1, 1, 1), date(9999, 12, 31)


def _typed_parquet(col: Column, values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A Parquet column taken as it is: when it is stored as the contract's type of `col` (or one
    holding it exactly: naive timestamps all at midnight for a date, any integer for a quantity or
    a year) and every value is one the contract accepts, the column as the contract's type; else
    None, and the column is read through its text (`_parquet_as_text`) like any other."""
    t = values.type
    if values.null_count == len(values) or (col.not_null and values.null_count):
        return None
    if col.type == DATE:
        if pa.types.is_timestamp(t) and t.tz is None:
            if not pc.all(pc.equal(pc.floor_temporal(values, unit="day"), values)).as_py():
                return None
            values = values.cast(pa.date32())
        elif not pa.types.is_date32(t):
            return None
        low, high = pc.min_max(values).values()
        inside = pc.and_(pc.greater_equal(low, pa.scalar(_FIRST_DAY)), pc.less_equal(high, pa.scalar(_LAST_DAY)))
        return values if inside.as_py() else None
    if col.type == AMOUNT and pa.types.is_float64(t):
        low = pc.min(values).as_py()
        negative_zero = any(np.signbit(np.frombuffer(c.buffers()[1], np.float64)[c.offset: c.offset + len(c)]).any()
                            for c in values.chunks if len(c))
        inside = pc.all(pc.is_finite(values)).as_py() and low >= 0 and pc.max(values).as_py() <= MAX_AMOUNT
        return values if inside and not negative_zero else None
    if col.type in (QUANTITY, YEAR) and pa.types.is_integer(t):
        low, high = (v.as_py() for v in pc.min_max(values).values())
        bounds = (1, MAX_QUANTITY) if col.type == QUANTITY else (1880, 2100)
        if not (bounds[0] <= low and high <= bounds[1]):
            return None
        values = values.cast(pa.int32())
        return pc.fill_null(values, col.default) if col.default is not None else values
    if col.type == BOOL and pa.types.is_boolean(t):
        return pc.fill_null(values, False)
    return None


def _unique(con, column: str) -> bool:
    """Whether the non-null values of `raw.column` are unique: one hash aggregate in DuckDB
    (`GROUP BY` the value, stopped at the first one counted twice), which spills to the
    connection's `temp_directory` past its `memory_limit` rather than holding the keys in Python
    (see `load_dataset`); a repeated value leaves it to `_check_key`, which words it.
    Source: DuckDB's "Larger-Than-Memory Workloads (Out-of-Core Processing)"
    (https://duckdb.org/docs/guides/performance/how_to_tune_workloads)."""
    c = f'"{column}"'
    return not con.execute(f"SELECT count(*) FROM (SELECT {c} FROM raw WHERE {c} IS NOT NULL GROUP BY {c} "
                           f"HAVING count(*) > 1 LIMIT 1)").fetchall()[0][0]


def _all_found(values: pa.ChunkedArray, targets: pa.ChunkedArray | None) -> bool:
    """Whether every non-null value of `values` is among `targets` (one hash lookup a cell)."""
    wanted = len(values) - values.null_count
    if not wanted:
        return True
    if targets is None:
        return False
    found = pc.sum(pc.is_in(values, value_set=targets.drop_null().combine_chunks())).as_py() or 0
    return found == wanted


# --- checks of one file --------------------------------------------------------------------------

def _rows(con, sql: str, limit: int, params=None) -> tuple[int, list[tuple]]:
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
    rows = con.execute(f"{sql} ORDER BY {LINE} LIMIT {int(limit)}", params).fetchall() if total else []
    return total, rows


def _missing_note(nulls: dict[str, int] | None) -> str:
    if not nulls:
        return ""
    return f" (the file has {', '.join(repr(t) if t != BLANK else 'blank cells' for t in nulls)} in this column, " \
           f"read as missing)"


def _required_hint(col: Column) -> str:
    """How a user gets past missing values of a required column (said once, at its first cell).
    No default is offered: a made-up provider, act, date or amount would be a wrong claim."""
    return " (to scan such an extract, leave these lines out of it)"


ISO_DATE = "'\\d{4}-\\d{2}-\\d{2}'"
WITH_TIME = "'\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}.*'"
DAY_MONTH = "'\\d{1,2}[/.-]\\d{1,2}[/.-]\\d{2,4}'"
SCIENTIFIC = "'[0-9](\\.[0-9]+)?[eE]\\+?[0-9]+'"
DECIMAL_COMMA = "'-?[0-9][0-9 .]*,[0-9]+'"


def _column_rules(col, nulls: dict | None) -> tuple[str, list[tuple[str, str]]]:
    """(what a valid cell of `col` satisfies, [(condition, message)] saying what a cell that is
    not valid looks like, the first that holds naming it). SQL over the column `"name"`."""
    c = f'"{col.name}"'
    valid, rules = [], []
    if col.not_null:
        valid.append(f"{c} IS NOT NULL")
        rules.append((f"{c} IS NULL", f"missing value{_missing_note(nulls)}: this column is required"))
    if col.type == ID:
        valid.append(f"({c} IS NULL OR strpos({c}, '+') = 0 OR NOT regexp_full_match({c}, {SCIENTIFIC}))")
        rules.append(("true", "is a number rewritten by a spreadsheet in scientific notation: the identifier's digits "
                              "are lost (format the column as text before exporting)"))
    elif col.type == DATE:
        valid.append(f"({c} IS NULL OR (regexp_full_match({c}, {ISO_DATE}) AND try_cast({c} AS DATE) IS NOT NULL))")
        rules += [(f"regexp_full_match({c}, {WITH_TIME})", "has a time of day: expected a date (YYYY-MM-DD)"),
                  (f"regexp_full_match({c}, {DAY_MONTH})", "is not a date (expected YYYY-MM-DD; this looks like "
                   "DD/MM/YYYY or MM/DD/YYYY: convert the file with a mapping that names the format)"),
                  ("true", "is not a date (expected YYYY-MM-DD)")]
    elif col.type == AMOUNT:
        num = f"try_cast({c} AS DOUBLE)"
        # DuckDB's cast, like Python's float(), reads `1_000` as 1000 and `-0` as a zero: a digit
        # separator no claim file writes (a typo, or a number another program wrote for itself) and
        # a sign on a zero are refused, not read as an amount
        valid.append(f"({c} IS NULL OR ({num} IS NOT NULL AND isfinite({num}) AND {num} BETWEEN 0 AND {MAX_AMOUNT} "
                     f"AND strpos({c}, '_') = 0 AND NOT regexp_matches({c}, '^\\s*-')))")     # a tab or line break first too
        rules += [(f"regexp_full_match({c}, {DECIMAL_COMMA})", "is not a number: it has a decimal comma (amounts use "
                   "'.', as in 12.50; convert the file with a mapping: decimal = \",\")"),
                  (f"strpos({c}, '_') > 0", "is not a number: it holds '_' (amounts are written with digits and "
                   "one '.', without separators, as in 1000.50)"),
                  (f"{num} IS NULL OR NOT isfinite({num})", "is not a number"),
                  (f"{num} > {MAX_AMOUNT}", f"is more than {MAX_AMOUNT:,.0f} euros (10¹²): not a claim's amount"),
                  (f"{num} = 0", "is a zero with a minus sign: amounts are ≥ 0, written without a sign"),
                  ("true", "is negative: amounts are ≥ 0 (a cancellation line? net it with the line it corrects)")]
    elif col.type == QUANTITY:
        valid.append(f"({c} IS NULL OR (regexp_full_match({c}, '\\d{{1,9}}') AND try_cast({c} AS INTEGER) >= 1))")
        rules += [(f"regexp_full_match({c}, '0*[1-9][0-9]{{9,}}')",
                   f"is too large: a quantity is a whole number from 1 to {MAX_QUANTITY:,}"),
                  ("true", "is not a whole number ≥ 1")]
    elif col.type == YEAR:
        valid.append(f"({c} IS NULL OR (regexp_full_match({c}, '\\d{{4}}') "
                     f"AND try_cast({c} AS INTEGER) BETWEEN 1880 AND 2100))")
        rules.append(("true", "is not a year (1880-2100)"))
    elif col.type == BOOL:
        valid.append(f"({c} IS NULL OR lower({c}) IN {BOOL_WORDS})")
        rules.append(("true", "is not true or false"))
    elif col.type == ENUM:
        valid.append(f"({c} IS NULL OR {c} IN {tuple(col.values) + ('',)})")
        rules.append(("true", f"is not one of: {', '.join(col.values)}"))
    return " AND ".join(valid) or "true", rules


SAME = 5     # more lines than this with one problem worded the same (a column of 'NA'): one problem, a count


def _check_columns(con, spec: Table, fname: str, unit: str, out: _Collector, nulls: dict,
                   cleared: frozenset[str] = frozenset()):
    """Type, null and enum rules: one pass over each column checks that its cells are valid (the
    cheap test every cell takes); only the cells that are not are told apart by rule. Columns in
    `cleared` (by `_fast_column`) are not read again. More than `SAME` cells of one column failing
    one rule with the same value (or a patient column's, never shown) are one problem: the
    count of lines and the first `SAME` of them."""
    for col in spec.columns:
        if col.name not in cleared:
            _report_column(spec, col, _invalid_cells(con, col, max(out.room, SAME)), fname, unit, out, nulls)


def _invalid_cells(con, col: Column, first: int) -> list[tuple]:
    """The cells of column `col` of the registered `raw` that break a rule of `_column_rules`, by
    rule: [(rule, count, the first `first` cells as {l: line, v: value} in line order, distinct
    values, the least value)], a NULL counted as chr(0)."""
    valid, rules = _column_rules(col, None)
    if not rules:
        return []
    c = f'"{col.name}"'
    which = " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _) in enumerate(rules))
    return con.execute(f"""
        SELECT rule, count(*), list(struct_pack(l := {LINE}, v := {c}) ORDER BY {LINE})[1:{int(first)}],
               count(DISTINCT coalesce({c}, chr(0))), min(coalesce({c}, chr(0)))
        FROM (SELECT {LINE}, {c}, CASE {which} ELSE {len(rules) - 1} END AS rule FROM raw
              WHERE NOT coalesce({valid}, false))
        GROUP BY rule ORDER BY rule""").fetchall()


def _report_column(spec: Table, col: Column, found: list[tuple], fname: str, unit: str, out: _Collector,
                   nulls: dict):
    """Add the problems of `col`'s invalid cells (`_invalid_cells`, or their sum over batches)."""
    sensitive = sensitive_columns(spec.name)
    rules = _column_rules(col, nulls.get(col.name))[1]
    for rule, total, first, values, _ in found:
        message = rules[rule][1]
        hint = _required_hint(col) if col.not_null and rule == 0 else ""
        if total > SAME and out.room and (values == 1 or col.name in sensitive):   # the same message each line
            lines = ", ".join(str(cell["l"]) for cell in first[:SAME])
            out.add(Problem(fname, f"{message}{hint} — on {total:,} {unit}s: {lines} and {total - SAME:,} more",
                            column=col.name, unit=unit, value=shown(first[0]["v"], col.name in sensitive)))
            continue
        listed = first[:out.room]
        for i, cell in enumerate(listed):
            out.add(Problem(fname, message + (hint if i == 0 else ""), line=cell["l"], column=col.name,
                            unit=unit, value=shown(cell["v"], col.name in sensitive)))
        if total > len(listed):
            out.add(Problem(fname, message), count=total - len(listed))


def _check_key(con, spec: Table, fname: str, unit: str, out: _Collector):
    """Each repeat of `spec.key` in the registered `raw`, at its line, with the line of the key's
    first row. The keys seen more than once are found by a hash aggregate, then joined back: only
    those keys' rows are held (DuckDB spills both past its memory limit; no window over every row)."""
    k = f'"{spec.key}"'
    sql = (f"SELECT r.{LINE}, r.{k}, d.first FROM raw r JOIN (SELECT {k}, min({LINE}) AS first FROM raw "
           f"WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) > 1) d ON r.{k} = d.{k} WHERE r.{LINE} > d.first")
    total, rows = _rows(con, sql, out.room)
    sensitive = spec.key in sensitive_columns(spec.name)
    for line, value, first in rows:
        out.add(Problem(fname, f"duplicate {spec.key} (first on {unit} {first})", line=line,
                        column=spec.key, value=shown(value, sensitive), unit=unit))
    if total > len(rows):
        out.add(Problem(fname, f"duplicate {spec.key}"), count=total - len(rows))


EARLIEST_SERVICE = date(1900, 1, 1)     # before it, a service date is a sentinel or a typo, not care


def _check_service_dates(con, typed: pa.ChunkedArray | None, fname: str, unit: str, out: _Collector,
                         today: date | None = None):
    """Claims whose `service_date` is a valid date that cannot be a service's: after `today` (UTC;
    care not delivered yet: a typo, a year written 2205, or a planned act billed ahead) or before
    `EARLIEST_SERVICE` (0001-01-01, a missing date filled by an export). A scan would otherwise take
    them silently, and a window ending at the last claim's date would keep almost nothing. The
    typed column (`_fast_column`), when there is one, clears the file by its min and max alone."""
    today = today or datetime.now(timezone.utc).date()
    _report_service_dates(_service_dates(con, typed, out.room, today), fname, unit, out, today)


def _service_dates(con, typed: pa.ChunkedArray | None, first: int, today: date) -> tuple[int, list[tuple]]:
    """(count, the first `first` (line, date as text, whether after `today`) in line order) of the
    registered `raw`'s service dates after `today` or before `EARLIEST_SERVICE`."""
    if typed is not None and len(typed) and typed.null_count < len(typed):
        low, high = (v.as_py() for v in pc.min_max(typed).values())
        if EARLIEST_SERVICE <= low and high <= today:
            return 0, []
    d = 'try_cast("service_date" AS DATE)'
    return _rows(con, f"SELECT {LINE}, CAST(service_date AS VARCHAR), {d} > $today FROM raw WHERE {d} > $today OR {d} < $earliest",
                 first, {"today": today, "earliest": EARLIEST_SERVICE})


def _report_service_dates(found: tuple[int, list[tuple]], fname: str, unit: str, out: _Collector, today: date):
    total, rows = found
    rows = rows[:out.room]
    for line, value, later in rows:
        out.add(Problem(fname, f"is after today ({today}): a service cannot be billed before it is delivered"
                        if later else f"is before {EARLIEST_SERVICE}: not a service's date (a missing date filled "
                        f"in by an export?)", line=line, column="service_date", value=value, unit=unit))
    if total > len(rows):
        out.add(Problem(fname, "more service dates after today or before 1900", column="service_date"),
                count=total - len(rows))


def _check_fixed_formats(con, spec: Table, fname: str, report: LoadReport):
    """Warn about ids of a fixed-length format that look cut by a spreadsheet (leading zeros lost)."""
    for col in spec.columns:
        if (spec.name, col.name) in FIXED_FORMAT_COLUMNS:
            _report_fixed_format(spec, col, _id_lengths(con, col), fname, report)


# The tables whose rows have a place, and what a row with none leaves out of the detectors that judge
# where care happens (pharmacy_collusion, dense_block: see `_check_postcodes`)
POSTCODE_LEFT_OUT = {
    "providers": ("provider", "where they practise is unknown; pharmacy_collusion leaves their flows out of its "
                              "tests of where patients live, are prescribed and fill"),
    "centres": ("centre", "where they are is unknown; pharmacy_collusion leaves the flows of their prescribers "
                          "out of its tests of where patients are prescribed and fill"),
    "patients": ("patient", "their homes are unknown; pharmacy_collusion and dense_block leave them out of their "
                            "tests of where patients live (neither local nor from elsewhere)"),
}


def _check_postcodes(con, spec: Table, fname: str, report: LoadReport):
    """Warn when some, not all, rows of a table with places (`POSTCODE_LEFT_OUT`) have no postcode
    (an empty or blank cell): an unknown place is neither near nor far, and the detectors that
    judge distance leave such rows out of it — counted here, as nothing is dropped unseen (and in
    pharmacy_collusion's evidence). A column empty throughout is a source that gives no places (an
    optional column not given), not a hole in one. Names the file, the column and how many rows,
    never a value."""
    if spec.name not in POSTCODE_LEFT_OUT:
        return
    blank, total = con.execute("SELECT count(*) FILTER (WHERE postcode IS NULL OR trim(CAST(postcode AS VARCHAR)) "
                               "= ''), count(*) FROM raw").fetchall()[0]
    if not blank or blank == total:
        return
    noun, left_out = POSTCODE_LEFT_OUT[spec.name]
    report.warn(f"{fname}: {blank:,} of {total:,} {noun}(s) have no postcode (column postcode): {left_out}",
                table=spec.name, column="postcode", rows=blank)


def _check_no_places(providers: pa.Table | None, patients: pa.Table | None, report: LoadReport):
    """Warn once when the providers (every source merged) have rows but no postcode at all, where
    places would be judged — a pharmacy among them (pharmacy_collusion), or patients' homes known
    (dense_block's local areas) — as in an SNDS extract's conversion or a claims export without a
    registry: the detectors that judge where care happens then judge nothing of it
    (pharmacy_collusion: no traveller, no pharmacy near a practice; dense_block: no provider's
    postcode among its local areas). A registry with places (FINESS, the Annuaire Santé) gives
    them (`load_dataset` of several folders)."""
    if providers is None or isinstance(providers, OnDisk) or providers.num_rows == 0 \
            or providers["postcode"].null_count < providers.num_rows:
        return
    pharmacy = pc.any(pc.equal(providers["kind"], "pharmacy")).as_py()
    homes = patients is not None and not isinstance(patients, OnDisk) and patients.num_rows > 0 \
        and patients["postcode"].null_count < patients.num_rows
    if not (pharmacy or homes):
        return
    report.warn(f"no provider has a postcode ({providers.num_rows:,} provider(s), column postcode): where care happens "
                "is unknown, so pharmacy_collusion judges no traveller and no pharmacy near a practice, and "
                "dense_block takes no provider's postcode for a local area; a registry with places (FINESS, the "
                "Annuaire Santé) scanned beside the claims gives them", table="providers", column="postcode",
                rows=providers.num_rows)


def _id_lengths(con, col: Column) -> tuple[dict[int, int], int, dict[int, list[str]]]:
    """Of column `col` of the registered `raw`: (how many all-digit values have each length, how
    many values it has, for each length one less than a `FIXED_LENGTHS` one, its first 5 distinct
    all-digit values of that length in order)."""
    c = f'"{col.name}"'
    lengths = dict(con.execute(f"SELECT length({c}), count(*) FROM raw WHERE {c} IS NOT NULL "
                               f"AND regexp_full_match({c}, '[0-9]+') GROUP BY 1").fetchall())
    total = con.execute(f"SELECT count({c}) FROM raw").fetchall()[0][0]
    examples = {n - 1: [v for (v,) in con.execute(
        f"SELECT DISTINCT {c} FROM raw WHERE regexp_full_match({c}, '[0-9]{{{n - 1}}}') ORDER BY 1 LIMIT 5"
    ).fetchall()] for n in FIXED_LENGTHS if lengths.get(n - 1)}
    return lengths, total, examples


def _report_fixed_format(spec: Table, col: Column, found: tuple, fname: str, report: LoadReport):
    lengths, total, examples = found
    dominant = max(lengths, key=lengths.get) if lengths else None
    if dominant not in FIXED_LENGTHS or lengths[dominant] < DOMINANT_SHARE * total or not lengths.get(dominant - 1):
        return
    rows = lengths[dominant - 1]
    examples = [] if col.name in sensitive_columns(spec.name) else examples[dominant - 1]
    listed = f" (e.g. {', '.join(repr(e) for e in examples[:3])})" if examples else ""
    report.warn(f"{fname}: {rows} {col.name} value(s) have {dominant - 1} digits{listed} where the others have "
                f"{dominant}, as {FIXED_LENGTHS[dominant]} has: a spreadsheet may have dropped a leading zero "
                f"(format the column as text before exporting)",
                table=spec.name, column=col.name, rows=rows, examples=examples)


def _typed(con, spec: Table, raw: pa.Table, fast: dict[str, pa.ChunkedArray | None],
           invalid: frozenset[str] = frozenset()) -> pa.Table:
    """The typed table (the contract's columns and `_line`, in file order): the columns typed by
    `_fast_column` as they are, the others cast in SQL. Columns in `invalid` (known to hold cells
    that break a rule: the batch path only) have those cells made missing (`_cast`)."""
    slow = [col for col in spec.columns if fast.get(col.name) is None]
    cast = _cast(con, spec, slow, invalid) if slow else None
    columns = [fast[c.name] if fast.get(c.name) is not None else cast[c.name] for c in spec.columns]
    return pa.table(columns + [raw[LINE]], names=[c.name for c in spec.columns] + [LINE])


def _cast(con, spec: Table, columns: list[Column], invalid: frozenset[str] = frozenset()) -> pa.Table:
    exprs = []
    for col in columns:
        c = f'"{col.name}"'
        if col.type == DATE:
            e = f"CAST({c} AS DATE)"
        elif col.type == AMOUNT:
            e = f"CAST({c} AS DOUBLE)"
        elif col.type in (QUANTITY, YEAR):
            e = f"CAST({c} AS INTEGER)"
        elif col.type == BOOL:
            e = f"lower({c}) IN {TRUE_WORDS}"
        else:
            e = c
        if col.name in invalid:      # as `_reference_columns` reads them: a cell breaking a rule refers to nothing
            e = f"CASE WHEN {_column_rules(col, None)[0]} THEN {e} END"
        if col.default is not None:
            e = f"coalesce({e}, {col.default!r})" if col.type != BOOL else f"coalesce({e}, false)"
        exprs.append(f"{e} AS {c}")
    return con.sql(f"SELECT {', '.join(exprs)} FROM raw ORDER BY {LINE}").to_arrow_table()


def _load_table(con, spec: Table, path: Path, out: _Collector, report: LoadReport,
                label: str | None = None, to: Path | None = None) -> pa.Table | OnDisk | None:
    """The typed table with its `_line` column, or None when there were problems. Problems and
    warnings name the file `label` (its path when several folders are read), else its name.
    With `to` (the claims of a scan), the typed rows are written there as Parquet and returned as
    an `OnDisk`; a CSV or Parquet file is read batch by batch (`_load_batches`), so that no more than a few
    batches of it are ever in memory; so is `out.partial`'s entry for the file."""
    first = len(out.problems)
    typed = _load_batches(con, spec, path, out, report, label or path.name, to) if to is not None else FALLBACK
    if typed is FALLBACK:
        typed = _load_file(con, spec, path, out, report, label or path.name)
        if to is not None and typed is not None:
            pq.write_table(typed, str(to))
            typed = OnDisk.written(to, typed.column_names)
        elif to is not None and out.partial.get(path) is not None:
            pq.write_table(out.partial[path], str(to))
            out.partial[path] = OnDisk.written(to, out.partial[path].column_names)
    out.problems[first:] = [replace(p, file=label) if label and p.file == path.name else p
                            for p in out.problems[first:]]
    return typed


def _load_file(con, spec: Table, path: Path, out: _Collector, report: LoadReport, label: str) -> pa.Table | None:
    before = out.total
    sensitive = sensitive_columns(spec.name)
    raw = read_raw(path, out, sensitive=sensitive, typed={c.name: c for c in spec.columns},
                   used=frozenset(c.name for c in spec.columns))
    if raw is None:
        return None
    table, unit = raw.table, raw.unit
    missing = [c.name for c in spec.columns if c.in_header and c.name not in table.column_names]
    for name in missing:
        out.add(Problem(path.name, f"missing required column (the header has: {', '.join(table.column_names[:-1])})",
                        line=1 if unit == "line" else None, column=name))
    if missing:
        return None
    for col in spec.columns:   # optional columns left out of the header are all missing values
        if col.name not in table.column_names:
            table = table.append_column(col.name, pa.nulls(table.num_rows, pa.string()))
    if spec.required and table.num_rows == 0:
        if path not in out.incomplete:      # else its lines were left out, each reported with why
            out.add(Problem(path.name, f"has a header but no rows: {spec.name} cannot be empty"))
        return None
    contract = {c.name for c in spec.columns}
    if raw.ignored_bytes:
        counted = "; ".join(f"{raw.header.get(n, n)} × {k}" for n, k in raw.ignored_bytes.items())
        report.warn(f"{label}: {sum(raw.ignored_bytes.values())} cell(s) of column(s) fraudnet does not read hold "
                    f"bytes that are not UTF-8 ({counted}): ignored, as those columns are", severity="info",
                    table=spec.name, columns=dict(raw.ignored_bytes), rows=sum(raw.ignored_bytes.values()))
    for name, tokens in raw.nulls.items():
        if name in contract:
            report.warn(_nulls_message(label, name, tokens, raw.null_lines.get(name, {}), unit), severity="info",
                        table=spec.name, column=name, rows=sum(tokens.values()), tokens=tokens,
                        first_lines=raw.null_lines.get(name, {}))
    for name, stored in raw.stored_as.items():
        if name in contract and spec.column(name).type == ID and stored != "timestamp at midnight":
            report.warn(f"{label} stores {name} as {stored} numbers: identifiers are text, and a number loses "
                        f"leading zeros (010000024 becomes 10000024); store the column as strings",
                        table=spec.name, column=name, rows=table.num_rows)
    con.register("raw", table)
    fast = {c.name: table[c.name] if c.name in raw.typed else _fast_column(c, table[c.name]) if FAST_CHECKS else None
            for c in spec.columns}
    _check_columns(con, spec, path.name, unit, out, raw.nulls,
                   cleared=frozenset(n for n, v in fast.items() if v is not None))
    if spec.key and not (FAST_CHECKS and _unique(con, spec.key)):
        _check_key(con, spec, path.name, unit, out)
    if spec.name == "claims":
        _check_service_dates(con, fast.get("service_date"), path.name, unit, out)
    _check_fixed_formats(con, spec, label, report)
    _check_postcodes(con, spec, label, report)
    typed = _typed(con, spec, table, fast).cast(pa.schema(list(spec.schema) + [pa.field(LINE, pa.int64())])) \
        if out.total == before else None
    if typed is None and out.room:
        out.partial[path] = _reference_columns(con, spec, raw.nulls)
    con.unregister("raw")
    return typed


def _reference_columns(con, spec: Table, nulls: dict) -> pa.Table:
    """The columns of the registered `raw` file that references read (as source, target or
    `when`), each cell that is not valid made missing (it is reported already, and a missing
    value refers to nothing), with `_line`: the text of a valid id cell is its typed value."""
    used = {r.column for r in REFERENCES if r.table == spec.name} \
        | {r.when[0] for r in REFERENCES if r.table == spec.name and r.when} \
        | {r.target_column for r in REFERENCES if r.target == spec.name}
    cols = [c for c in spec.columns if c.name in used and c.type in (ID, TEXT, ENUM)]
    exprs = [f'CASE WHEN {_column_rules(c, nulls.get(c.name))[0]} THEN "{c.name}" END AS "{c.name}"' for c in cols]
    return con.sql(f"SELECT {', '.join(exprs + [LINE])} FROM raw").to_arrow_table()


# --- the claims, batch by batch ------------------------------------------------------------------
# With `load_dataset(..., claims_to=…)` (a scan's load stage), a CSV claims file is read by
# pyarrow's streaming reader (`pyarrow.csv.open_csv`) one block of `CLAIMS_BATCH_BYTES` at a time,
# and a Parquet claims file row group by row group (`ParquetFile.iter_batches`, `CLAIMS_BATCH_ROWS`
# rows at most a batch, each column kept typed or read as text as `read_raw` does; its rows are
# numbered from 1, as the whole-file read numbers them). Each batch takes the per-value checks of `_load_file` (missing-value tokens, the column rules, service dates, the
# lengths of fixed-format ids), whose findings are summed over the batches (`_Found`), and its
# typed rows (with `_line`) are appended to a Parquet file. The checks across rows (the key's
# uniqueness, duplicates across sources, references, the link report) then run in DuckDB on that
# file. The problems are worded, counted and listed as the whole-file path does: each batch keeps
# its first `max(max_problems, SAME)` invalid cells of each column and rule, enough for whatever
# room the report has left when the file's problems are told. A file that is not well-formed CSV
# (a header to mend, lines of another number of fields, bytes not in UTF-8, no rows), or a Parquet
# file that cannot be read or names a column twice, is read whole by `_load_file`: that is the
# error path, and it finds and words those problems.
#
# Line numbers: the record at index i of the file (counted from 0 after the header) starts on
# line 2 + i + the line breaks inside the cells of the records before it, as `_physical_lines`
# counts them (a quoted cell spanning lines: its `\n`s, a `\r\n` counting one). Each batch counts
# the `\n`s of its own cells and carries the sum to the next, so a record spanning a block's
# border (pyarrow's reader never splits a record) is numbered as in the whole file.

# pyarrow's streaming reader parses some tens of blocks ahead of the one read (measured: about
# 150 MB of them at 4 MB, 500 MB at 16 MB), so its block is small: 4 MB, about 55,000 claims.
CLAIMS_BATCH_BYTES = 4 << 20
# A Parquet claims file is read row group by row group, in batches of at most this many rows
# (about a CSV batch's claims).
CLAIMS_BATCH_ROWS = 65_536
FALLBACK = object()                # `_load_batches`: read this file whole


@dataclass(frozen=True)
class OnDisk:
    """A table of the load kept in Parquet files rather than in memory (the claims, with
    `claims_to`): `pieces` are (path, {column: constant}) whose union is the table, e.g. each
    source's file with its `_file` and `_src`; `column_names` the columns it is read with."""
    pieces: tuple[tuple[Path, tuple[tuple[str, object], ...]], ...]
    column_names: tuple[str, ...]
    num_rows: int

    @classmethod
    def written(cls, path: Path, columns) -> "OnDisk":
        return cls(((Path(path).resolve(), ()),), tuple(columns), pq.ParquetFile(str(path)).metadata.num_rows)

    def tagged(self, **constants) -> "OnDisk":
        """The table with constant columns added (`_file`, `_src`)."""
        return OnDisk(tuple((p, c + tuple(constants.items())) for p, c in self.pieces),
                      self.column_names + tuple(constants), self.num_rows)

    def select(self, columns) -> "OnDisk":
        return OnDisk(self.pieces, tuple(columns), self.num_rows)

    def sql(self, columns=None) -> str:
        """A query of the table's `columns` (all by default), for DuckDB."""
        wanted = list(columns or self.column_names)
        parts = []
        for path, constants in self.pieces:
            const = dict(constants)
            cols = [f"{_literal(const[c])} AS \"{c}\"" if c in const else f'"{c}"' for c in wanted]
            parts.append(f"SELECT {', '.join(cols)} FROM read_parquet({_literal(str(path))})")
        return " UNION ALL ".join(parts)

    def view(self, con, name: str, columns=None):
        con.execute(f'CREATE OR REPLACE TEMPORARY VIEW "{name}" AS {self.sql(columns)}').fetchall()


def _literal(value) -> str:
    """A path, a file's label or a source's index as a SQL literal (a view's text takes no
    parameter)."""
    return str(int(value)) if isinstance(value, (int, np.integer)) else "'" + str(value).replace("'", "''") + "'"


def _register(con, name: str, table):
    """`table` (Arrow or `OnDisk`) seen by the connection as `name`; undone by `_unregister`."""
    if isinstance(table, OnDisk):
        table.view(con, name)
    else:
        con.register(name, table)


def _unregister(con, name: str, table):
    if isinstance(table, OnDisk):
        con.execute(f'DROP VIEW IF EXISTS "{name}"').fetchall()
    else:
        con.unregister(name)


@dataclass
class _Found:
    """What the per-value checks of a file's batches found, summed (see `_load_batches`)."""
    first: int                                   # invalid cells kept per column and rule
    nulls: dict[str, dict[str, int]] = field(default_factory=dict)
    null_lines: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    cells: dict[str, dict[int, list]] = field(default_factory=dict)    # column -> rule -> [n, first, values, least]
    dates: list = field(default_factory=lambda: [0, []])
    lengths: dict[str, list] = field(default_factory=dict)             # column -> [lengths, total, examples]
    names: list[str] = field(default_factory=list)                     # the file's columns, lower-cased
    stored_as: dict[str, str] = field(default_factory=dict)            # Parquet column -> non-text type read

    def add_nulls(self, nulls: dict[str, dict[str, int]], firsts: dict[str, dict[str, list[int]]]):
        """A batch's (batches come in line order)."""
        for column, tokens in nulls.items():
            mine, lines = self.nulls.setdefault(column, {}), self.null_lines.setdefault(column, {})
            for token, n in tokens.items():
                mine[token] = mine.get(token, 0) + n
                lines[token] = (lines.get(token, []) + firsts[column][token])[:NULL_LINES]

    def add_cells(self, column: str, found: list[tuple]):
        for rule, n, first, values, least in found:
            mine = self.cells.setdefault(column, {}).get(rule)
            if mine is None:
                self.cells[column][rule] = [n, list(first), values, least]
                continue
            mine[0] += n
            mine[1] = (mine[1] + list(first))[:self.first]
            mine[2] = 2 if mine[2] > 1 or values > 1 or least != mine[3] else 1   # one value, or more

    def rows(self, column: str) -> list[tuple]:
        """As `_invalid_cells` returns them for the whole file."""
        return [(rule, n, first, values, least) for rule, (n, first, values, least)
                in sorted(self.cells.get(column, {}).items())]

    def add_lengths(self, column: str, found: tuple):
        lengths, total, examples = found
        mine = self.lengths.setdefault(column, [{}, 0, {}])
        for n, count in lengths.items():
            mine[0][n] = mine[0].get(n, 0) + count
        mine[1] += total
        for n, values in examples.items():
            mine[2][n] = sorted(set(mine[2].get(n, [])) | set(values))[:5]


class _Whole(Exception):
    """Raised by a batch reader: the file is to be read whole (`FALLBACK`)."""


def _csv_batches(spec: Table, path: Path, found: "_Found"):
    """The batches of a CSV claims file (see above) as (text table with `_line`, columns kept
    typed: none), their missing-value tokens made missing and counted in `found`, each record
    numbered by its physical line. Raises `_Whole` for a file that is not well-formed CSV."""
    if _has_empty_line(path):     # empty lines: numbered by `_physical_lines`
        raise _Whole
    header = _read_header(path, _Collector(1), ",", "utf-8")     # its problems told by `_load_file`
    if header is None or _utf8_misread(path, "utf-8") is not None:
        raise _Whole
    names, delimiter, _ = header
    if any(c.in_header and c.name not in names for c in spec.columns):
        raise _Whole
    found.names = names
    bad_rows = []
    options = dict(
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=CLAIMS_BATCH_BYTES, use_threads=False),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         invalid_row_handler=lambda r: bad_rows.append(r) or "skip"),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                                             null_values=[""], quoted_strings_can_be_null=True))
    rows = breaks = 0      # records read, and line breaks inside their cells
    try:
        with pa.input_stream(str(path), compression="gzip" if path.name.endswith(".gz") else None) as stream, \
                pacsv.open_csv(stream, **options) as reader:
            for batch in reader:
                if bad_rows:
                    raise _Whole
                if not batch.num_rows:
                    continue
                table = pa.Table.from_batches([batch])
                inside = [pc.fill_null(pc.count_substring(c, "\n"), 0) for c in table.columns if _has_byte(c, ord("\n"))]
                if inside:     # line breaks inside cells: each record's line is moved down by those before it
                    per_row = functools.reduce(pc.add, inside).to_numpy().astype(np.int64)
                    before = np.concatenate([[0], np.cumsum(per_row)[:-1]])
                else:
                    per_row, before = None, 0
                lines = np.arange(rows + 2, rows + 2 + table.num_rows, dtype=np.int64) + breaks + before
                rows += table.num_rows
                breaks += int(per_row.sum()) if per_row is not None else 0
                lines = pa.array(lines)
                table, nulls, firsts = _null_tokens(table, NULL_TOKENS, lines)
                found.add_nulls(nulls, firsts)
                yield table.append_column(LINE, lines), frozenset()
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError, LookupError):
        raise _Whole from None
    if bad_rows:
        raise _Whole


def _parquet_batches(spec: Table, path: Path, found: "_Found"):
    """The batches of a Parquet claims file, row group by row group (`CLAIMS_BATCH_ROWS` rows at
    most a batch), as `read_raw` reads the whole file: (table with `_line`, the row's number from
    1; the columns stored as the contract's type with values it accepts, kept typed), the other
    columns as text, their missing-value tokens counted in `found` and how they were stored in
    `found.stored_as`. Raises `_Whole` for a file that cannot be read so (it is read whole, and its
    problems told by `_load_file`). Source: Apache Arrow's `pyarrow.parquet.ParquetFile.iter_batches`."""
    try:
        reader = pq.ParquetFile(str(path))
    except Exception:  # pyarrow raises several types for a broken file; `read_raw` words it
        raise _Whole from None
    names = [n.strip().lower() for n in reader.schema_arrow.names]
    if len(set(names)) != len(names) or any(c.in_header and c.name not in names for c in spec.columns):
        raise _Whole
    found.names = names
    contract = {c.name: c for c in spec.columns}
    rows = 0
    batches = reader.iter_batches(batch_size=CLAIMS_BATCH_ROWS, use_threads=False)
    while True:
        try:
            batch = next(batches, None)
        except Exception:  # a broken row group: read whole, and worded there
            raise _Whole from None
        if batch is None:
            break
        if not batch.num_rows:
            continue
        table = pa.Table.from_batches([batch]).rename_columns(names)
        kept = {}
        for name in names if FAST_CHECKS else ():
            if name in contract and (values := _typed_parquet(contract[name], table[name])) is not None:
                kept[name] = values
        rest = table.drop_columns(list(kept))
        stored: dict[str, str] = {}
        lines = pa.array(np.arange(rows + 1, rows + 1 + table.num_rows, dtype=np.int64))
        try:
            as_text = _parquet_as_text(rest, stored)
        except _NotText:      # read whole, and worded there
            raise _Whole from None
        text, nulls, firsts = _null_tokens(pa.table(dict(zip(rest.column_names, as_text))), NULL_TOKENS, lines)
        found.add_nulls(nulls, firsts)
        for name, how in stored.items():      # "timestamp" once any batch has a time of day
            if found.stored_as.get(name) != "timestamp":
                found.stored_as[name] = how
        columns = {n: kept[n] if n in kept else text[n] for n in names}
        columns[LINE] = lines
        rows += table.num_rows
        yield pa.table(columns), frozenset(kept)


def _load_batches(con, spec: Table, path: Path, out: _Collector, report: LoadReport, label: str, to: Path):
    """`_load_file` for a CSV file read batch by batch, or a Parquet file row group by row group
    (see above), the typed rows written to `to`: an `OnDisk` of them (the contract's columns and
    `_line`), or None when the file has problems (reported in `out`; `out.partial[path]`, an
    `OnDisk` of the reference columns, its invalid cells missing); `FALLBACK` when the file is to
    be read whole instead (not well-formed CSV, a Parquet file that cannot be read, no rows:
    nothing reported then). Raises nothing of its own."""
    parquet_file = path.name.endswith(".parquet")
    found = _Found(max(out.cap, SAME))
    today = datetime.now(timezone.utc).date()
    schema = pa.schema(list(spec.schema) + [pa.field(LINE, pa.int64())])
    rows = 0
    try:
        with pq.ParquetWriter(str(to), schema) as writer:
            for table, kept in (_parquet_batches if parquet_file else _csv_batches)(spec, path, found):
                rows += table.num_rows
                for col in spec.columns:
                    if col.name not in table.column_names:
                        table = table.add_column(table.num_columns - 1, col.name, pa.nulls(table.num_rows, pa.string()))
                con.register("raw", table)
                try:
                    fast = {c.name: table[c.name] if c.name in kept else
                            _fast_column(c, table[c.name]) if FAST_CHECKS else None for c in spec.columns}
                    invalid = set()
                    for col in spec.columns:
                        if fast[col.name] is None and (cells := _invalid_cells(con, col, found.first)):
                            found.add_cells(col.name, cells)
                            invalid.add(col.name)
                    if spec.name == "claims":
                        total, first = _service_dates(con, fast.get("service_date"), found.first, today)
                        found.dates = [found.dates[0] + total, (found.dates[1] + first)[:found.first]]
                    for col in spec.columns:
                        if (spec.name, col.name) in FIXED_FORMAT_COLUMNS:
                            found.add_lengths(col.name, _id_lengths(con, col))
                    typed = _typed(con, spec, table, fast, frozenset(invalid - {spec.key}))
                finally:
                    con.unregister("raw")
                writer.write_table(typed.cast(schema))
    except _Whole:
        return FALLBACK
    if spec.required and rows == 0:
        return FALLBACK
    names = found.names
    # the problems, warnings and checks across rows, in `_load_file`'s order and words
    before, unit = out.total, "row" if parquet_file else "line"
    contract = {c.name for c in spec.columns}
    for name in names:
        if name in contract and (tokens := found.nulls.get(name)):
            report.warn(_nulls_message(label, name, tokens, found.null_lines[name], unit), severity="info",
                        table=spec.name, column=name, rows=sum(tokens.values()), tokens=tokens,
                        first_lines=found.null_lines[name])
    for name in names:
        stored = found.stored_as.get(name)
        if stored and name in contract and spec.column(name).type == ID and stored != "timestamp at midnight":
            report.warn(f"{label} stores {name} as {stored} numbers: identifiers are text, and a number loses "
                        f"leading zeros (010000024 becomes 10000024); store the column as strings",
                        table=spec.name, column=name, rows=rows)
    nulls = {n: found.nulls[n] for n in names if n in found.nulls}
    for col in spec.columns:
        _report_column(spec, col, found.rows(col.name), path.name, unit, out, nulls)
    written = OnDisk.written(to, schema.names)
    if spec.key:
        written.view(con, "raw", [spec.key, LINE])
        if not (FAST_CHECKS and _unique(con, spec.key)):
            _check_key(con, spec, path.name, unit, out)
        con.execute("DROP VIEW raw").fetchall()
    if spec.name == "claims":
        _report_service_dates(tuple(found.dates), path.name, unit, out, today)
    for col in spec.columns:
        if col.name in found.lengths:
            _report_fixed_format(spec, col, tuple(found.lengths[col.name]), label, report)
    if out.total == before:
        return written
    if out.room:
        used = {r.column for r in REFERENCES if r.table == spec.name} \
            | {r.when[0] for r in REFERENCES if r.table == spec.name and r.when} \
            | {r.target_column for r in REFERENCES if r.target == spec.name}
        out.partial[path] = written.select([c.name for c in spec.columns if c.name in used
                                            and c.type in (ID, TEXT, ENUM)] + [LINE])
    return None


# --- several sources -----------------------------------------------------------------------------

def _without_repeats(con, spec: Table, table: pa.Table, report: LoadReport) -> pa.Table:
    """A table without a key (affiliations, officers, identifiers: links) with each row repeated
    exactly — every contract column equal, in one file or across sources (overlapping extracts) —
    kept once, at its first line; the repeats counted (`info`, as the keyed tables' repeats). A
    link said twice is one link: kept twice, a hospital affiliation would double every euro
    billed beside it."""
    columns = ", ".join(f'"{c.name}"' for c in spec.columns)
    con.register("links", table.append_column("_i", pa.array(np.arange(table.num_rows, dtype=np.int64))))
    try:
        kept = con.sql(f"""
            SELECT * EXCLUDE (_i, _r) FROM (SELECT *, row_number() OVER (PARTITION BY {columns} ORDER BY _i) AS _r
                                            FROM links) WHERE _r = 1 ORDER BY _i""").to_arrow_table()
    finally:
        con.unregister("links")
    repeats = table.num_rows - kept.num_rows
    if not repeats:
        return table
    report.warn(f"{repeats} {spec.name} row(s) repeat an earlier row exactly (the same "
                f"{', '.join(c.name for c in spec.columns)}): each link kept once", severity="info", table=spec.name,
                rows=repeats)
    return kept.cast(table.schema)


def _merge(con, spec: Table, parts: list[pa.Table | OnDisk], out: _Collector, report: LoadReport,
           to: Path | None = None) -> pa.Table | OnDisk:
    """One table from the files of several sources (each with `_line`, `_file`, `_src`).

    A key found in several sources is one row: identity columns (every column of a claim; an
    entity's `kind`, a patient's birth year and sex) must agree — else each such key is a
    problem naming both files, lines and the key; a value saying "not known precisely" (`other`,
    `U`) yields to a precise one. Other columns take the first source's value, or the next
    source's when the first has none; disagreements there are counted as a warning.

    Parts that are `OnDisk` (the claims, with `to`) are merged in DuckDB from their files, the
    merged table written to `to` (an `OnDisk` of it); `_i`, the row's place in the parts in
    order, is then the part's index × 2⁴⁰ + its `_line` (lines grow through a file). Its
    statements are hash aggregates, windows partitioned by the key, hash joins and the sort that
    writes the rows in the parts' order: operators DuckDB spills to the connection's
    `temp_directory` past its `memory_limit` (see `load_dataset`), so the merge's memory is that
    limit plus the problems listed (at most `out.room`), not the claims' (measured with
    `benchmarks/load.py --merge`). The rows kept are every row but the later ones of a repeated key
    (an anti-join), not a `row_number()` over every row: the same rows, in a third of the time.
    """
    if isinstance(parts[0], OnDisk):
        if len(parts) == 1:
            return parts[0]
        views = " UNION ALL ".join(f"SELECT *, {k << 40} + {LINE} AS _i FROM ({p.sql()})" for k, p in enumerate(parts))
        con.execute(f"CREATE OR REPLACE TEMPORARY VIEW t AS {views}").fetchall()
        table = None
    else:
        table = pa.concat_tables(parts)
        if not spec.key:
            return _without_repeats(con, spec, table, report)
        if len(parts) == 1:
            return table
        table = table.append_column("_i", pa.array(range(table.num_rows), pa.int64()))
        con.register("t", table)
    key = f'"{spec.key}"'
    sensitive = spec.key in sensitive_columns(spec.name)
    columns = [c.name for c in spec.columns if c.name != spec.key]
    identity = columns if spec.name == "claims" else list(IDENTITY.get(spec.name, {}))
    unknown = IDENTITY.get(spec.name, {})

    def counted(c):   # the value compared, NULL when it says nothing
        if spec.name == "claims":
            return f"coalesce(CAST(\"{c}\" AS VARCHAR), chr(0))"
        vague = f" OR \"{c}\" = '{unknown[c]}'" if unknown.get(c) else ""
        return f"CASE WHEN \"{c}\" IS NULL{vague} THEN NULL ELSE CAST(\"{c}\" AS VARCHAR) END"

    # every statement below over all the rows is a hash aggregate, a window, a hash join or a sort:
    # operators DuckDB spills past the connection's memory limit (see the docstring)
    repeats, keys = con.execute(f"SELECT coalesce(sum(n), 0) - count(k), count(k) FILTER (WHERE n > 1) FROM "
                                f"(SELECT {key} AS k, count(*) AS n FROM t GROUP BY {key})").fetchall()[0]
    if not repeats and table is None:
        con.execute(f"COPY (SELECT * EXCLUDE (_i) FROM t ORDER BY _i) TO {_literal(to)} (FORMAT parquet)").fetchall()
        con.execute("DROP VIEW t").fetchall()
        return OnDisk.written(to, parts[0].column_names)
    if not repeats:
        con.unregister("t")
        return table.drop_columns(["_i"])
    v = ", ".join(f"{counted(c)} AS \"v_{c}\"" for c in identity)
    firsts = ", ".join(f"arg_min(\"v_{c}\", _i) FILTER (WHERE \"v_{c}\" IS NOT NULL) AS \"f_{c}\"" for c in identity)
    differs = " OR ".join(f"(\"v_{c}\" IS NOT NULL AND \"v_{c}\" <> \"f_{c}\")" for c in identity) or "false"
    which = ", ".join(f"bool_or(\"v_{c}\" IS NOT NULL AND \"v_{c}\" <> \"f_{c}\")" for c in identity)
    conflicts = con.execute(f"""
        WITH v AS (SELECT {key} AS k, _i, {FILE}, {LINE}{', ' + v if v else ''}, count(*) OVER (PARTITION BY {key}) AS n
                   FROM t),
        g AS (SELECT k{', ' + firsts if firsts else ''}, arg_min({FILE}, _i) AS file1, arg_min({LINE}, _i) AS line1
              FROM v WHERE n > 1 GROUP BY k)
        SELECT k, file1, line1, arg_min({FILE}, _i), arg_min({LINE}, _i), {'list_value(' + which + ')' if which else '[]'},
               count(*) OVER () AS total
        FROM v JOIN g USING (k) WHERE {differs} GROUP BY k, file1, line1 ORDER BY min(_i) LIMIT {int(out.room) or 1}
    """).fetchall() if identity else []
    for k, file1, line1, file2, line2, flags, total in conflicts:
        names = [c for c, f in zip(identity, flags) if f]
        unit2 = "row" if file2.endswith(".parquet") else "line"
        unit1 = "row" if file1.endswith(".parquet") else "line"
        out.add(Problem(file2, f"{spec.key} repeated from {file1}, {unit1} {line1}, with different "
                               f"{', '.join(names)}: one key must name one {SINGULAR[spec.name]} across sources"
                               + (" (claim ids that restart in each extract: make them unique per extract, e.g. "
                                  "with a mapping prefix)" if spec.name == "claims" else ""),
                        line=line2, column=spec.key, value=shown(k, sensitive), unit=unit2))
    if conflicts and conflicts[0][-1] > len(conflicts):
        out.add(Problem(report.source, f"{spec.key} repeated across sources with different values"),
                count=conflicts[0][-1] - len(conflicts))
    described = [c for c in columns if c not in identity]
    firsts = [f"arg_min(\"{c}\", _i) FILTER (WHERE \"{c}\" IS NOT NULL)" for c in described]
    for c, vague in unknown.items():
        if vague:
            firsts_c = f"coalesce(arg_min(\"{c}\", _i) FILTER (WHERE \"{c}\" <> '{vague}'), arg_min(\"{c}\", _i))"
        else:
            firsts_c = f"arg_min(\"{c}\", _i) FILTER (WHERE \"{c}\" IS NOT NULL)"
        firsts.append(firsts_c)
    merged_cols = described + list(unknown)
    if spec.name == "claims":
        # each key's first row: every row but the later ones of a repeated key, in the parts' order
        first = (f"WITH d AS (SELECT {key} AS k, min(_i) AS i1 FROM t GROUP BY {key} HAVING count(*) > 1), "
                 f"later AS (SELECT t._i FROM t JOIN d ON t.{key} = d.k WHERE t._i > d.i1) "
                 f"SELECT t.* EXCLUDE (_i) FROM t ANTI JOIN later ON t._i = later._i ORDER BY t._i")
        if table is None:
            con.execute(f"COPY ({first}) TO {_literal(to)} (FORMAT parquet)").fetchall()
            merged = OnDisk.written(to, parts[0].column_names)
        else:
            merged = con.sql(first).to_arrow_table()
    else:
        select = ", ".join(f"{e} AS \"{c}\"" for e, c in zip(firsts, merged_cols))
        merged = con.sql(f"SELECT {key}, {select}, arg_min({LINE}, _i) AS {LINE}, arg_min({FILE}, _i) AS {FILE}, "
                             f"arg_min({SRC}, _i) AS {SRC} FROM t GROUP BY {key} ORDER BY min(_i)").to_arrow_table()
        merged = merged.select([c.name for c in spec.columns] + [LINE, FILE, SRC])
        if described:
            quoted = [f'"{c}"' for c in described]
            flags = ", ".join(f"count(DISTINCT {q}) > 1 AS {q}" for q in quoted)
            anyone = ", ".join(f"bool_or({q})" for q in quoted)
            row = con.execute(f"SELECT count(*), list({key} ORDER BY {key})[1:5], {anyone} FROM "
                              f"(SELECT {key}, {flags} FROM t GROUP BY {key}) WHERE {' OR '.join(quoted)}").fetchall()[0]
            n, examples, differing = row[0], row[1], [c for c, f in zip(described, row[2:]) if f]
            if n:
                report.warn(f"{n} {spec.name} described differently by two sources ({', '.join(differing)}): the "
                            f"first source's values are kept, missing ones taken from the next",
                            table=spec.name, column=spec.key, rows=n,
                            examples=[e for e in examples if shown(e, sensitive) is not None])
    if table is None:
        con.execute("DROP VIEW t").fetchall()
    else:
        con.unregister("t")
    report.warn(f"{repeats} {spec.name} row(s) repeat a {spec.key} of an earlier source ({keys} key(s)): merged into "
                f"one row each", severity="info", table=spec.name, column=spec.key, rows=repeats)
    return merged if table is None else merged.cast(pa.schema([table.schema.field(n) for n in merged.column_names]))


def _check_references(con, tables: dict, files: dict, out: _Collector, report: LoadReport, full_paths=False):
    incomplete = {name for name, paths in files.items() if any(p in out.incomplete for p in paths)}
    for ref in REFERENCES:
        if ref.target in incomplete:
            continue   # the target was read without some of its lines (reported): the id may be on one
        if tables.get(ref.table) is None or ref.column not in tables[ref.table].column_names or \
                (ref.when and ref.when[0] not in tables[ref.table].column_names):
            continue   # not read, or (a file with problems) the column itself has some
        if tables.get(ref.target) is not None and ref.target_column not in tables[ref.target].column_names:
            continue
        if (ref.target in files and tables.get(ref.target) is None) or \
                (ref.target not in files and TABLES[ref.target].required):
            continue   # the target could not be read, or is missing: that is reported already
        target = tables.get(ref.target)
        if target is None and ref.severity == "warning":
            continue   # the optional target table is not given: nothing to check against
        if isinstance(tables[ref.table], OnDisk):
            if _none_missing(con, tables[ref.table], ref, target):
                continue
        elif FAST_CHECKS:
            values = tables[ref.table][ref.column]
            if ref.when:
                values = values.filter(pc.equal(tables[ref.table][ref.when[0]], ref.when[1]))
            if _all_found(values, target[ref.target_column] if target is not None else None):
                continue
        _register(con, "src", tables[ref.table].select([ref.column, LINE, FILE] + ([ref.when[0]] if ref.when else [])))
        con.register("dst", target.select([ref.target_column]) if target is not None else
                     pa.table({ref.target_column: pa.array([], pa.string())}))
        c = f'"{ref.column}"'
        tc = f'"{ref.target_column}"'
        cond = f"s.{c} IS NOT NULL AND s.{c} NOT IN (SELECT {tc} FROM dst WHERE {tc} IS NOT NULL)"
        params = None
        if ref.when:
            cond += f' AND s."{ref.when[0]}" = $when'
            params = {"when": ref.when[1]}
        # an id found once its leading zeros are put back (or taken away): a spreadsheet's doing
        padded = (f"(SELECT min({tc}) FROM dst WHERE ltrim({tc}, '0') = ltrim(s.{c}, '0') AND {tc} <> s.{c})")
        # an id found once the spaces around either are taken away: an export's padding
        trimmed = (f"(SELECT min({tc}) FROM dst WHERE trim({tc}, '{ID_SPACES}') = trim(s.{c}, '{ID_SPACES}') "
                   f"AND {tc} <> s.{c})")
        sql = (f"SELECT s.{LINE} AS {LINE}, s.{c}, s.{FILE} AS {FILE}, {padded} AS padded, {trimmed} AS trimmed "
               f"FROM src s WHERE {cond}")
        sensitive = ref.column in sensitive_columns(ref.table)
        show = str if full_paths else (lambda p: p.name)
        fname = " + ".join(show(p) for p in files[ref.table])
        target_name = " + ".join(show(p) for p in files[ref.target]) if ref.target in files \
            else f"{ref.target} (not given)"
        message = f"{ref.column} not found in {target_name}"
        if ref.severity == "error":   # one problem per missing value and file, at its first line
            grouped = (f"SELECT min({LINE}) AS {LINE}, \"{ref.column}\", count(*) AS n, {FILE}, min(padded), "
                       f"min(trimmed) FROM ({sql}) GROUP BY \"{ref.column}\", {FILE}")
            total, rows = _rows(con, f"SELECT * FROM ({grouped})", out.room, params)
            for line, value, n, file, pad, trim in rows:
                unit = "row" if file.endswith(".parquet") else "line"
                more = f" ({n} {unit}s, the first here)" if n > 1 else ""
                hint = (f"; {pad!r} is there: a spreadsheet may have dropped or added leading zeros"
                        if shown(pad, sensitive) is not None else "")
                hint += _spaces_hint(value, trim, sensitive)
                out.add(Problem(file, message + more + hint, line=line, column=ref.column, unit=unit,
                                value=shown(value, sensitive)))
            if total > len(rows):
                out.add(Problem(fname, message), count=total - len(rows))
        else:
            n_rows, n_values, n_padded, n_spaced, n_trimmed = con.execute(
                f"SELECT count(*), count(DISTINCT {ref.column}), count(DISTINCT {ref.column}) FILTER "
                f"(WHERE padded IS NOT NULL), count(DISTINCT {ref.column}) FILTER (WHERE regexp_matches({ref.column}, "
                f"'[{ID_SPACES}]')), count(DISTINCT {ref.column}) FILTER (WHERE trimmed IS NOT NULL) FROM ({sql})",
                params).fetchall()[0]
            if n_rows:
                examples = [] if sensitive else [v for (v,) in con.execute(
                    f"SELECT DISTINCT {ref.column} FROM ({sql}) ORDER BY 1 LIMIT 5", params).fetchall()
                    if shown(v) is not None]
                hint = (f"; {n_padded} of them match an id there once leading zeros are added or removed (a "
                        f"spreadsheet's doing?)" if n_padded else "")
                if n_spaced:
                    hint += f"; {n_spaced} of them have spaces, which are part of an id"
                if n_trimmed:
                    hint += (f"; {n_trimmed} of them are found there once the spaces around ids are taken away (trim "
                             f"the extract's cells)")
                report.warn(f"{n_rows} row(s) of {fname} name {n_values} {ref.column} value(s) absent from "
                            f"{target_name}; kept as entities of unknown kind{hint}",
                            table=ref.table, column=ref.column, target=ref.target, rows=n_rows, values=n_values,
                            examples=examples)
        _unregister(con, "src", tables[ref.table])
        con.unregister("dst")


ID_SPACES = " \t\u00a0"      # the spaces an export pads a cell with: space, tab, no-break space


def _spaces_hint(value: str | None, trimmed: str | None, sensitive: bool) -> str:
    """What a reference error adds about spaces in the id `value` that is not found: where they
    are (at its start, at its end, inside), and `trimmed`, the id of the target found once the
    spaces around either are taken away (not shown for a patient column). Spaces are part of an
    id: `'D2 '` is not `'D2'`."""
    if value is None:
        return ""
    if not any(ch in ID_SPACES for ch in value):
        return "" if trimmed is None else (
            f"; {trimmed!r} is there, with spaces around it, which are part of an id (trim the extract's cells)"
            if not sensitive else "; an id there matches it once its spaces are taken away (trim the extract's cells)")
    where = [w for w, yes in (("at its start", value[0] in ID_SPACES), ("at its end", value[-1] in ID_SPACES),
                              ("inside", any(ch in ID_SPACES for ch in value.strip(ID_SPACES))))
             if yes]
    said = f"; the value has spaces ({', '.join(where)}), which are part of an id"
    if trimmed is None:
        return said
    return said + (f": {trimmed!r} is there, without them" if not sensitive else ": an id there matches it without "
                   "them") + " (trim the extract's cells)"


def _none_missing(con, table: OnDisk, ref, target: pa.Table | None) -> bool:
    """Whether every non-null `ref.column` value of `table` (kept on disk) is found in `target`:
    one anti-join in DuckDB, read from the files (the check `_all_found` makes in Arrow)."""
    table.view(con, "src", [ref.column] + ([ref.when[0]] if ref.when else []))
    con.register("dst", target.select([ref.target_column]) if target is not None else
                 pa.table({ref.target_column: pa.array([], pa.string())}))
    c, tc = f'"{ref.column}"', f'"{ref.target_column}"'
    when = f' AND "{ref.when[0]}" = $when' if ref.when else ""
    try:
        return not con.execute(f"SELECT count(*) FROM src WHERE {c} IS NOT NULL{when} AND {c} NOT IN "
                               f"(SELECT {tc} FROM dst WHERE {tc} IS NOT NULL)",
                               {"when": ref.when[1]} if ref.when else None).fetchall()[0][0]
    finally:
        con.execute("DROP VIEW src").fetchall()
        con.unregister("dst")


def link_report(con, sources: list[str], parts: dict[str, list[pa.Table]], claims: pa.Table,
                providers: pa.Table | None) -> list[dict]:
    """How much each registry (a source without claims) links to the claims of the others.

    For a registry: the distinct claim providers (`claims.provider_id`), prescribers and centres
    of the merged claims that it lists. `of` counts those it could list — providers and
    prescribers whose kind (from the merged `providers`) is one of the kinds the registry lists,
    every claim centre if it lists centres — and `all` every distinct one. A registry that lists
    none of them gets `severity` `critical`; one that lists fewer than `LINK_MIN_SHARE` of those
    it could list, too.
    """
    links = []
    _register(con, "c", claims.select(["provider_id", "prescriber_id", "centre_id"]))
    con.register("p", providers.select(["provider_id", "kind"]) if providers is not None
                 else pa.table({"provider_id": pa.array([], pa.string()), "kind": pa.array([], pa.string())}))
    claim_sources = {int(s) for (s,) in con.execute(f"SELECT DISTINCT {SRC} FROM ({claims.sql([SRC])})").fetchall()} \
        if isinstance(claims, OnDisk) else {int(s) for s in pc.unique(claims[SRC]).to_pylist()}
    for s, label in enumerate(sources):
        if s in claim_sources:
            continue
        mine = {name: [t.filter(pc.equal(t[SRC], s)) for t in tabs] for name, tabs in parts.items()
                if name in ("providers", "centres")}
        reg_p = pa.concat_tables(mine["providers"]).select(["provider_id", "kind"]) if mine.get("providers") else None
        reg_c = pa.concat_tables(mine["centres"]).select(["centre_id"]) if mine.get("centres") else None
        if (reg_p is None or reg_p.num_rows == 0) and (reg_c is None or reg_c.num_rows == 0):
            continue
        con.register("rp", reg_p if reg_p is not None else
                     pa.table({"provider_id": pa.array([], pa.string()), "kind": pa.array([], pa.string())}))
        con.register("rc", reg_c if reg_c is not None else pa.table({"centre_id": pa.array([], pa.string())}))
        entry = {"source": label, "providers_listed": reg_p.num_rows if reg_p is not None else 0,
                 "centres_listed": reg_c.num_rows if reg_c is not None else 0}
        for what, col, listed in (("providers", "provider_id", "rp"), ("prescribers", "prescriber_id", "rp"),
                                  ("centres", "centre_id", "rc")):
            if what == "centres":
                of = "(SELECT count(DISTINCT centre_id) FROM c) * (SELECT count(*) > 0 FROM rc)::INT"
            else:
                of = (f"(SELECT count(DISTINCT c.{col}) FROM c JOIN p ON p.provider_id = c.{col} "
                      f"WHERE p.kind IN (SELECT kind FROM rp))")
            target = "centre_id" if what == "centres" else "provider_id"
            found, n_of, n_all = con.execute(
                f"SELECT (SELECT count(DISTINCT {col}) FROM c WHERE {col} IN (SELECT {target} FROM {listed})), {of}, "
                f"(SELECT count(DISTINCT {col}) FROM c)").fetchall()[0]
            entry[what] = {"found": found, "of": n_of, "all": n_all}
        found = sum(entry[w]["found"] for w in ("providers", "prescribers", "centres"))
        could = sum(entry[w]["of"] for w in ("providers", "prescribers", "centres"))
        entry["share"] = round(found / could, 4) if could else None
        figures = (f"{entry['providers']['found']} of {entry['providers']['of']} claim providers of its kinds, "
                   f"{entry['prescribers']['found']} of {entry['prescribers']['of']} prescribers, "
                   f"{entry['centres']['found']} of {entry['centres']['of']} centres")
        if found == 0 or (could and found / could < LINK_MIN_SHARE):
            entry["severity"] = "critical"
            hint = _id_shape_hint(con)
            entry["message"] = (f"registry {label} links {'none' if found == 0 else 'almost none'} of the claims' "
                                f"entities ({figures}): the graph falls apart into claims on one side and the registry "
                                f"on the other. Check that both write identifiers the same way{hint}.")
        else:
            entry["severity"] = "info"
            entry["message"] = f"registry {label} links {figures}"
        links.append(entry)
        con.unregister("rp")
        con.unregister("rc")
    _unregister(con, "c", claims)
    con.unregister("p")
    return links


def _id_shape_hint(con) -> str:
    """Why ids might not match: their usual lengths differ between the claims and the registry."""
    hints = []
    for what, claims_col, reg, reg_col in (("provider", "provider_id", "rp", "provider_id"),
                                           ("centre", "centre_id", "rc", "centre_id")):
        a = con.execute(f"SELECT mode(length({claims_col})) FROM c").fetchall()[0][0]
        b = con.execute(f"SELECT mode(length({reg_col})) FROM {reg}").fetchall()[0][0]
        if a and b and a != b:
            hints.append(f"{what} ids have {a} characters in the claims and {b} in the registry")
    return (" (" + "; ".join(hints) + ": a type digit, a check digit or leading zeros?)") if hints else \
        " (type digits, check digits, leading zeros)"


def _partial(paths: list[Path], typed: dict[Path, pa.Table], partial: dict[Path, pa.Table], label) -> pa.Table | None:
    """The reference columns of a table some of whose files had problems: the columns every file
    has without a problem (the typed files' as they are, the others' from `partial`), with `_line`
    and `_file`; None when a file could not be read at all."""
    tables = [(path, partial.get(path, typed.get(path))) for path in paths]
    if any(t is None for _, t in tables):
        return None
    keep = [n for n in tables[0][1].column_names if n not in (FILE, SRC)
            and all(n in t.column_names for _, t in tables)]
    if all(isinstance(t, OnDisk) for _, t in tables):     # each a Parquet file (see `_load_table`)
        tagged = [t.tagged(**{FILE: label(path)}) for path, t in tables]
        return OnDisk(sum((t.pieces for t in tagged), ()), tuple(keep) + (FILE,), sum(t.num_rows for t in tagged))
    out = []
    for path, t in tables:
        file = pa.DictionaryArray.from_arrays(pa.array(np.zeros(t.num_rows, np.int32)), [label(path)])
        out.append(t.select(keep).cast(pa.schema([(n, pa.int64() if n == LINE else pa.string()) for n in keep]))
                   .append_column(FILE, file))
    return pa.concat_tables(out)


# The load's own DuckDB connection, with `claims_to` (a scan's load stage): past this memory limit
# its claims-scale statements (the key's uniqueness, the merge of several claims sources, the
# references read from the Parquet file) spill to a folder beside `claims_to`, so the claims' keys
# are never all held in memory; a scan's `duckdb_conf` (its `memory_limit`, `temp_directory`)
# replaces these. Source: DuckDB's "Larger-Than-Memory Workloads (Out-of-Core Processing)"
# (https://duckdb.org/docs/guides/performance/how_to_tune_workloads) and configuration pages.
LOAD_MEMORY_LIMIT = "256MB"


def load_dataset(folder: str | Path | list, max_problems: int = 50, claims_to: str | Path | None = None,
                 duckdb_conf: dict[str, str] | None = None) -> Dataset:
    """Read, validate and type every contract table of `folder` — or of several folders merged.

    With `claims_to` (a file path, e.g. in a scan's work folder), each CSV or Parquet claims file is validated
    batch by batch (see "the claims, batch by batch" below: the same problems, warnings and rows,
    in bounded memory), the typed claims are written there as Parquet (the contract's columns and
    each claim's `_line`; parts `claims_to.0`, `.1`… beside it while loading) and
    `tables["claims"]` is that file's contract columns as a table of the current engine
    (`engine.parquet`: on a scan's engine a `Kept` that every statement reads from the file, so no
    stage holds the claims in Python; on the default engine, Arrow read back from it).

    With several folders (a registry's conversion and a claims extract, say), each file is
    checked on its own; then the tables are merged (see `_merge`: a key repeated with different
    identity values is a problem naming both files and lines), references are checked across
    the merged tables, and each folder without claims gets a link report entry (`link_report`).
    Raises `DatasetError` listing every problem (up to `max_problems`, all counted).

    With `claims_to`, the load's DuckDB connection has a `memory_limit` (`LOAD_MEMORY_LIMIT`, or
    `duckdb_conf`'s) and spills past it to `temp_directory` (`duckdb_conf`'s, else the folder
    `claims_to` + `.spill`, removed when the load ends): the checks across the claims' rows (the
    key's uniqueness, `_merge`, references) are bounded by it, not by the number of claims.
    `duckdb_conf` holds DuckDB settings as its configuration page names them; a setting DuckDB
    refuses raises `DatasetError`.
    """
    folders = [Path(f) for f in (folder if isinstance(folder, (list, tuple)) else [folder])]
    source = " + ".join(str(f) for f in folders)
    for f in folders:
        if not f.is_dir():
            raise DatasetError(str(f), [Problem(str(f), "is not a folder")])
    out = _Collector(max_problems)
    report = LoadReport(source)
    files: dict[str, list[Path]] = {}
    for name, spec in TABLES.items():
        for f in folders:
            path = find_table_file(f, name)
            if path is not None:
                files.setdefault(name, []).append(path)
        if name not in files and spec.required:
            near = [p.name for f in folders for p in _unread(f) if p.name.lower().startswith(name)]
            out.add(Problem(f"{name}.csv", f"required table is missing from {source} "
                                           f"(looked for {', '.join(name + e for e in EXTENSIONS)}"
                                           + (f"; the folder holds {', '.join(near[:5])}: names are exact, "
                                              f"lower case" if near else "") + ")"))
    for f in folders:
        if unread := _unread(f):
            names = [p.name for p in unread]
            report.warn(f"{f if len(folders) > 1 else f.name}: {len(names)} file(s) not read, no table's name: "
                        f"{', '.join(names[:10])}{' and more' if len(names) > 10 else ''} (a table is read from "
                        f"TABLE.csv, TABLE.csv.gz or TABLE.parquet, the table's name exactly: "
                        f"{', '.join(TABLES)})", files=names[:100], rows=len(names))
    spill = None
    if claims_to is not None:
        conf = {"memory_limit": LOAD_MEMORY_LIMIT, **(duckdb_conf or {})}
        if "temp_directory" not in conf:
            spill = Path(f"{claims_to}.spill")
            conf["temp_directory"] = str(spill)
        try:
            con = duckdb.connect(config=conf)
        except duckdb.Error as e:
            raise DatasetError(source, [Problem(source, f"DuckDB refused the load's settings {sorted(conf)}: {e}")]) from e
    else:
        con = duckdb.connect()
    try:
        return _load(con, folders, source, files, out, report, claims_to)
    finally:
        con.close()
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


def _load(con, folders: list[Path], source: str, files: dict[str, list[Path]], out: _Collector, report: LoadReport,
          claims_to) -> Dataset:
    """`load_dataset`'s work on its connection `con`."""
    label = (lambda p: p.name) if len(folders) == 1 else str
    merged: dict[str, pa.Table | None] = {}
    partial: dict[str, pa.Table | OnDisk | None] = {}
    typed: dict[Path, pa.Table | OnDisk] = {}
    parts: dict[str, list[pa.Table | OnDisk]] = {}
    for name, paths in files.items():
        parts[name] = []
        for k, path in enumerate(paths):
            to = Path(f"{claims_to}.{k}") if claims_to is not None and name == "claims" else None
            t = _load_table(con, TABLES[name], path, out, report, label(path), to)
            if t is not None:
                typed[path] = t
                src = next(i for i, f in enumerate(folders) if path.parent == f)
                if isinstance(t, OnDisk):
                    parts[name].append(t.tagged(**{FILE: label(path), SRC: src}))
                    continue
                file = pa.DictionaryArray.from_arrays(pa.array(np.zeros(t.num_rows, np.int32)), [label(path)])
                parts[name].append(t.append_column(FILE, file)
                                   .append_column(SRC, pa.array(np.full(t.num_rows, src, np.int32))))
        if len(parts[name]) == len(paths):
            merged[name] = _merge(con, TABLES[name], parts[name], out, report,
                                  Path(claims_to) if claims_to is not None and name == "claims" else None)
            report.tables[name] = {"file": " + ".join(label(p) for p in paths), "rows": merged[name].num_rows}
        else:
            merged[name] = None
            partial[name] = _partial(paths, typed, out.partial, label)
    # a table with problems still has its references checked, on its columns without any, so that
    # one reading reports every problem (not a reference only once a date is mended)
    _check_references(con, {**merged, **{n: t for n, t in partial.items() if t is not None}}, files, out, report,
                      full_paths=len(folders) > 1)
    if len(folders) > 1 and merged.get("claims") is not None and not out.total:
        report.links = link_report(con, [str(f) for f in folders], parts, merged["claims"], merged.get("providers"))
        for entry in report.links:
            if entry["severity"] == "critical":
                report.warn(entry["message"], severity="critical", table="claims", source=entry["source"])
    if not out.total:
        _check_no_places(merged.get("providers"), merged.get("patients"), report)
    claims = merged.get("claims")
    if isinstance(claims, OnDisk) and not out.total:   # one file (one source's, or `_merge`'s) becomes `claims_to`
        os.replace(claims.pieces[0][0], claims_to)
        for k, _ in enumerate(files["claims"]):          # the sources' parts, once merged
            Path(f"{claims_to}.{k}").unlink(missing_ok=True)
    if out.total:
        raise DatasetError(source, out.problems, out.total)
    tables = {name: empty_table(name) if merged.get(name) is None or isinstance(merged[name], OnDisk) else
              merged[name].select([c.name for c in TABLES[name].columns]).cast(TABLES[name].schema) for name in TABLES}
    if isinstance(claims, OnDisk):
        tables["claims"] = parquet(claims_to, columns=[c.name for c in TABLES["claims"].columns])
        if isinstance(tables["claims"], pa.Table):     # the default engine's Arrow, as the whole-file path types it
            tables["claims"] = tables["claims"].cast(TABLES["claims"].schema)
    return Dataset(tables, report)
