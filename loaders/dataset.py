"""Read and validate a contract dataset folder into typed Arrow tables.

Every cell is first read as text with its line number (pyarrow, multi-threaded); each rule of the
contract is then checked column-wise in DuckDB, never row by row in Python. All problems are
collected (up to `max_problems`) and raised together as a `DatasetError`; nothing is built from a
dataset with errors. Warnings (references to entities absent from an optional table) are counted
in the `LoadReport` and the rows kept.
"""
from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from contract.tables import (AMOUNT, BOOL, DATE, ENUM, QUANTITY, REFERENCES, SENSITIVE_COLUMNS, TABLES,
                       YEAR, Table, empty_table)
from contract.errors import DatasetError, Problem

EXTENSIONS = (".csv", ".csv.gz", ".parquet")
LINE = "_line"
FILE = "_file"
TRUE_WORDS = ("true", "1", "yes", "t", "y")
BOOL_WORDS = TRUE_WORDS + ("false", "0", "no", "f", "n")


@dataclass
class LoadReport:
    source: str
    tables: dict[str, dict] = field(default_factory=dict)   # name -> {file, rows}
    warnings: list[dict] = field(default_factory=list)     # {table, column, target, rows, values, message}

    def to_dict(self) -> dict:
        return {"source": self.source, "tables": self.tables, "warnings": self.warnings}


@dataclass
class Dataset:
    """The typed tables of one dataset: every contract table is present (empty if not given)."""
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


def _open_text(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _read_header(path: Path, out: _Collector) -> list[str] | None:
    try:
        with _open_text(path) as f:
            first = f.readline().split(b"\r")[0].rstrip(b"\n")
        row = next(csv.reader([first.decode("utf-8-sig")]), None)
    except UnicodeDecodeError:
        out.add(Problem(path.name, "the header is not valid UTF-8 (save the file as UTF-8)", line=1))
        return None
    except csv.Error as e:
        out.add(Problem(path.name, f"the header cannot be read as CSV: {e}", line=1))
        return None
    if not row or not any(c.strip() for c in row):
        out.add(Problem(path.name, "the file is empty: expected a header row naming the columns"))
        return None
    names = [n.strip().lower() for n in row]
    seen = set()
    for n in names:
        if n in seen:
            out.add(Problem(path.name, "column named twice in the header", line=1, column=n))
        seen.add(n)
    return names if len(seen) == len(names) else None


def _scan_csv_rows(path: Path, width: int, out: _Collector, limit: int):
    """Error path only: find rows whose field count or encoding is wrong, with their line."""
    with _open_text(path) as f:
        raw = f.read()
    lines = raw.split(b"\n")
    found = 0
    for number, line in enumerate(lines[1:], start=2):
        if found >= limit:
            break
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            fields = next(csv.reader([line.decode("utf-8", "replace")]), [])
            col = next((i for i, v in enumerate(fields) if "\ufffd" in v), None)
            out.add(Problem(path.name, "is not valid UTF-8 (save the file as UTF-8)", line=number,
                            column=None if col is None else f"#{col + 1}",
                            value=None if col is None else fields[col]))
            found += 1
    if found:
        return
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig", "replace"), newline=""))
    try:
        next(reader, None)
        for row in reader:
            if found >= limit:
                break
            if row and len(row) != width:
                out.add(Problem(path.name, f"has {len(row)} fields, the header has {width}",
                                line=reader.line_num))
                found += 1
    except csv.Error as e:
        out.add(Problem(path.name, f"cannot be read as CSV: {e}", line=reader.line_num))


def _physical_lines(path: Path) -> list[int]:
    """Line on which each record starts, for files with line breaks inside quoted cells."""
    with _open_text(path) as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))
        next(reader, None)
        starts, previous = [], 1
        for _ in reader:
            starts.append(previous + 1)
            previous = reader.line_num
    return starts


def _line_numbers(path: Path, rows: int, multiline: bool) -> list[int] | range:
    if multiline:
        try:
            starts = _physical_lines(path)
            if len(starts) == rows:
                return starts
        except csv.Error:
            pass
    return range(2, rows + 2)


def read_raw(path: Path, out: _Collector) -> pa.Table | None:
    """Every column as text plus `_line`, or None when the file itself cannot be read."""
    if path.name.endswith(".parquet"):
        try:
            table = pq.read_table(path)
        except Exception as e:  # pyarrow raises several types for a broken file
            out.add(Problem(path.name, f"cannot be read as Parquet: {e}"))
            return None
        names = [n.strip().lower() for n in table.column_names]
        if len(set(names)) != len(names):
            out.add(Problem(path.name, "a column is named twice"))
            return None
        cols = [pc.cast(c, pa.string()) if c.type != pa.string() else c for c in table.columns]
        table = pa.table(dict(zip(names, cols)))
        return table.append_column(LINE, pa.array(range(1, table.num_rows + 1), pa.int64()))

    names = _read_header(path, out)
    if names is None:
        return None
    bad_rows = []
    try:
        with pa.input_stream(str(path), compression="gzip" if path.name.endswith(".gz") else None) as stream:
            table = pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                                 invalid_row_handler=lambda r: bad_rows.append(r) or "skip"),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                    null_values=[""], quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError) as e:
        before = out.total
        _scan_csv_rows(path, len(names), out, out.room or 1)
        if out.total == before:
            out.add(Problem(path.name, f"cannot be read as CSV: {e}"))
        return None
    if bad_rows:
        before = out.total
        _scan_csv_rows(path, len(names), out, out.room or 1)
        if out.total == before:
            out.add(Problem(path.name, f"{len(bad_rows)} row(s) have the wrong number of fields"))
        return None
    multiline = any(pc.any(pc.match_substring(c, "\n")).as_py() for c in table.columns)
    lines = _line_numbers(path, table.num_rows, multiline)
    return table.append_column(LINE, pa.array(lines, pa.int64()))


def _rows(con, sql: str, limit: int, params=None) -> tuple[int, list[tuple]]:
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
    rows = con.execute(f"{sql} ORDER BY {LINE} LIMIT {int(limit)}", params).fetchall() if total else []
    return total, rows


def _check_columns(con, spec: Table, fname: str, unit: str, out: _Collector):
    """Type, null and enum rules, each a query over the whole column."""
    for col in spec.columns:
        c = f'"{col.name}"'
        rules = []
        if col.not_null:
            rules.append((f"{c} IS NULL", "missing value: this column is required"))
        if col.type == DATE:
            rules.append((f"{c} IS NOT NULL AND NOT (regexp_full_match({c}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') "
                          f"AND try_cast({c} AS DATE) IS NOT NULL)", "is not a date (expected YYYY-MM-DD)"))
        elif col.type == AMOUNT:
            num = f"try_cast({c} AS DOUBLE)"
            rules.append((f"{c} IS NOT NULL AND ({num} IS NULL OR NOT isfinite({num}))", "is not a number"))
            rules.append((f"{c} IS NOT NULL AND {num} < 0", "is negative: amounts are ≥ 0"))
        elif col.type == QUANTITY:
            rules.append((f"{c} IS NOT NULL AND NOT (regexp_full_match({c}, '\\d{{1,9}}') "
                          f"AND try_cast({c} AS INTEGER) >= 1)", "is not a whole number ≥ 1"))
        elif col.type == YEAR:
            rules.append((f"{c} IS NOT NULL AND NOT (regexp_full_match({c}, '\\d{{4}}') "
                          f"AND try_cast({c} AS INTEGER) BETWEEN 1880 AND 2100)", "is not a year (1880-2100)"))
        elif col.type == BOOL:
            rules.append((f"{c} IS NOT NULL AND lower({c}) NOT IN {BOOL_WORDS}", "is not true or false"))
        elif col.type == ENUM:
            rules.append((f"{c} IS NOT NULL AND {c} NOT IN {tuple(col.values) + ('',)}",
                          f"is not one of: {', '.join(col.values)}"))
        sensitive = (spec.name, col.name) in SENSITIVE_COLUMNS
        for where, message in rules:
            total, rows = _rows(con, f"SELECT {LINE}, {c} FROM raw WHERE {where}", out.room)
            for i, (line, value) in enumerate(rows):
                out.add(Problem(fname, message, line=line, column=col.name, unit=unit,
                                value=None if sensitive or value is None else value))
            if total > len(rows):
                out.add(Problem(fname, message), count=total - len(rows))


def _check_key(con, spec: Table, fname: str, unit: str, out: _Collector):
    k = f'"{spec.key}"'
    sql = (f"SELECT {LINE}, {k}, first FROM (SELECT {LINE}, {k}, min({LINE}) OVER (PARTITION BY {k}) "
           f"AS first FROM raw WHERE {k} IS NOT NULL) WHERE {LINE} > first")
    total, rows = _rows(con, sql, out.room)
    sensitive = (spec.name, spec.key) in SENSITIVE_COLUMNS
    for line, value, first in rows:
        out.add(Problem(fname, f"duplicate {spec.key} (first on {unit} {first})", line=line,
                        column=spec.key, value=None if sensitive else value, unit=unit))
    if total > len(rows):
        out.add(Problem(fname, f"duplicate {spec.key}"), count=total - len(rows))


def _typed(con, spec: Table) -> pa.Table:
    exprs = []
    for col in spec.columns:
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
        if col.default is not None:
            e = f"coalesce({e}, {col.default!r})" if col.type != BOOL else f"coalesce({e}, false)"
        exprs.append(f"{e} AS {c}")
    return con.sql(f"SELECT {', '.join(exprs)} FROM raw ORDER BY {LINE}").to_arrow_table().cast(spec.schema)


def _load_table(con, spec: Table, path: Path, out: _Collector) -> tuple[pa.Table | None, pa.Table | None]:
    """Returns (raw text table, typed table); either may be None when there were problems."""
    before = out.total
    raw = read_raw(path, out)
    if raw is None:
        return None, None
    unit = "row" if path.name.endswith(".parquet") else "line"
    missing = [c.name for c in spec.columns if c.in_header and c.name not in raw.column_names]
    for name in missing:
        out.add(Problem(path.name, f"missing required column (the header has: {', '.join(raw.column_names[:-1])})",
                        line=1 if unit == "line" else None, column=name))
    if missing:
        return None, None
    for col in spec.columns:   # optional columns left out of the header are all missing values
        if col.name not in raw.column_names:
            raw = raw.append_column(col.name, pa.nulls(raw.num_rows, pa.string()))
    if spec.required and raw.num_rows == 0:
        out.add(Problem(path.name, f"has a header but no rows: {spec.name} cannot be empty"))
        return None, None
    con.register("raw", raw)
    _check_columns(con, spec, path.name, unit, out)
    if spec.key:
        _check_key(con, spec, path.name, unit, out)
    typed = _typed(con, spec) if out.total == before else None
    con.unregister("raw")
    return raw, typed


def _check_references(con, raws: dict, files: dict, out: _Collector, report: LoadReport, full_paths=False):
    for ref in REFERENCES:
        if ref.table not in raws or raws[ref.table] is None:
            continue
        if (ref.target in files and raws.get(ref.target) is None) or \
                (ref.target not in files and TABLES[ref.target].required):
            continue   # the target could not be read, or is missing: that is reported already
        target = raws.get(ref.target)
        if target is None and ref.severity == "warning":
            continue   # the optional target table is not given: nothing to check against
        con.register("src", raws[ref.table])
        if target is not None:
            con.register("dst", target.select([ref.target_column]))
        else:
            con.register("dst", pa.table({ref.target_column: pa.array([], pa.string())}))
        c = f'"{ref.column}"'
        cond = f"s.{c} IS NOT NULL AND s.{c} NOT IN (SELECT \"{ref.target_column}\" FROM dst WHERE \"{ref.target_column}\" IS NOT NULL)"
        params = None
        if ref.when:
            cond += f' AND s."{ref.when[0]}" = $when'
            params = {"when": ref.when[1]}
        sql = f"SELECT s.{LINE} AS {LINE}, s.{c}, s.{FILE} AS {FILE} FROM src s WHERE {cond}"
        sensitive = (ref.table, ref.column) in SENSITIVE_COLUMNS
        show = str if full_paths else (lambda p: p.name)
        fname = " + ".join(show(p) for p in files[ref.table])
        target_name = " + ".join(show(p) for p in files[ref.target]) if ref.target in files \
            else f"{ref.target} (not given)"
        message = f"{ref.column} not found in {target_name}"
        if ref.severity == "error":   # one problem per missing value and file, at its first line
            grouped = (f"SELECT min({LINE}) AS {LINE}, \"{ref.column}\", count(*) AS n, {FILE} FROM ({sql}) "
                       f"GROUP BY \"{ref.column}\", {FILE}")
            total, rows = _rows(con, f"SELECT * FROM ({grouped})", out.room, params)
            for line, value, n, file in rows:
                unit = "row" if file.endswith(".parquet") else "line"
                more = f" ({n} {unit}s, the first here)" if n > 1 else ""
                out.add(Problem(file, message + more, line=line, column=ref.column, unit=unit,
                                value=None if sensitive else value))
            if total > len(rows):
                out.add(Problem(fname, message), count=total - len(rows))
        else:
            n_rows, n_values = con.execute(f"SELECT count(*), count(DISTINCT {ref.column}) FROM ({sql})",
                                           params).fetchall()[0]
            if n_rows:
                examples = [] if sensitive else [v for (v,) in con.execute(
                    f"SELECT DISTINCT {ref.column} FROM ({sql}) ORDER BY 1 LIMIT 5", params).fetchall()]
                report.warnings.append({
                    "table": ref.table, "column": ref.column, "target": ref.target,
                    "rows": n_rows, "values": n_values, "examples": examples,
                    "message": f"{n_rows} row(s) of {fname} name {n_values} {ref.column} value(s) "
                               f"absent from {target_name}; kept as entities of unknown kind"})
        con.unregister("src")
        con.unregister("dst")


def load_dataset(folder: str | Path | list, max_problems: int = 50) -> Dataset:
    """Read, validate and type every contract table of `folder` — or of several folders merged.

    With several folders (a registry's conversion and a claims extract, say), each file is
    checked on its own; then the tables are merged, the first folder given winning a key found
    in several (each such conflict counted in the load report), and references are checked
    across the merged tables. Raises `DatasetError` listing every problem (up to `max_problems`,
    all counted).
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
            out.add(Problem(f"{name}.csv", f"required table is missing from {source} "
                                           f"(looked for {', '.join(name + e for e in EXTENSIONS)})"))
    con = duckdb.connect()
    raws, typed = {}, {}
    for name, paths in files.items():
        parts = []
        for path in paths:
            raw, t = _load_table(con, TABLES[name], path, out)
            if raw is not None and t is not None:
                keep = [c.name for c in TABLES[name].columns] + [LINE]
                label = path.name if len(folders) == 1 else str(path)
                parts.append((raw.select(keep).append_column(FILE, pa.array([label] * raw.num_rows, pa.string())), t))
        if len(parts) == len(paths):
            raws[name], typed[name] = _merge(con, TABLES[name], parts, report)
            report.tables[name] = {"file": " + ".join(p.name if len(folders) == 1 else str(p) for p in paths),
                                   "rows": typed[name].num_rows}
        else:
            raws[name] = typed[name] = None
    _check_references(con, raws, files, out, report, full_paths=len(folders) > 1)
    con.close()
    if out.total:
        raise DatasetError(source, out.problems, out.total)
    tables = {name: typed.get(name) if typed.get(name) is not None else empty_table(name) for name in TABLES}
    return Dataset(tables, report)


def _merge(con, spec: Table, parts: list[tuple[pa.Table, pa.Table]], report: LoadReport) -> tuple[pa.Table, pa.Table]:
    """One table from several files: the first file wins a key found again in a later one."""
    if len(parts) == 1:
        return parts[0]
    raw = pa.concat_tables([r for r, _ in parts])
    typed = pa.concat_tables([t for _, t in parts])
    if not spec.key:
        return raw, typed
    con.register("t", typed.append_column("_i", pa.array(range(typed.num_rows), pa.int64())))
    keep, conflicts, repeats = con.execute(f"""
        WITH r AS (SELECT *, row_number() OVER (PARTITION BY "{spec.key}" ORDER BY _i) AS k,
                          count(*) OVER (PARTITION BY "{spec.key}") AS n FROM t),
        firsts AS (SELECT * EXCLUDE (k, n, _i) FROM r WHERE k = 1 AND n > 1)
        SELECT (SELECT list(_i ORDER BY _i) FROM r WHERE k = 1),
               (SELECT count(*) FROM (SELECT * EXCLUDE (k, n, _i) FROM r WHERE k > 1 EXCEPT ALL SELECT * FROM firsts)),
               (SELECT count(*) FROM r WHERE k > 1)""").fetchall()[0]
    con.unregister("t")
    if repeats:
        report.warnings.append({
            "table": spec.name, "column": spec.key, "target": None, "rows": repeats, "values": conflicts,
            "examples": [],
            "message": f"{repeats} {spec.name} row(s) repeat a {spec.key} of an earlier source ({conflicts} with "
                       f"different values: conflicts); the first source's row is kept"})
    idx = pa.array(keep, pa.int64())
    return raw.take(idx), typed.take(idx)
