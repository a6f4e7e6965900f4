"""Any claims or provider extract → contract tables, described by a mapping file instead of code.

A mapping is a TOML file (`fraudnet convert mapped MAPPING SOURCE OUT`). `[source]` says how the
file is written; one section per contract table says where each contract column comes from:

    [source]
    delimiter = ";"              # default ","; tab is "\\t"
    decimal = ","                # default "."; the other of "," and "." is then a thousands separator
    encoding = "cp1252"          # default "utf-8" (any Python codec name)
    null = ["NA", "-"]           # cells meaning "no value" (default: loaders.dataset.NULL_TOKENS)
    date_format = "%d/%m/%Y"     # default "%Y-%m-%d" (strptime codes: %d day, %m month, %Y year)

    [claims]                     # one claim per source row, in order
    claim_id = "N° ligne"        # a source column (names are matched without regard to case)
    amount = "Montant remboursé"
    service_date = { column = "Date des soins", format = "%d/%m/%y" }   # a format for this column
    service_code = { column = ["Code acte", "Code NGAP"] }              # the first of these with a value
    quantity = { column = "Quantité", default = "1" }                   # a value where the column has none
    patient_id = { column = "Bénéficiaire", prefix = "FR:" }           # text put in front (e.g. per extract)

    [[providers]]                # one row per distinct value of the key column (provider_id here)
    provider_id = "N° PS"
    kind = { column = "Profession", values = { "Médecin" = "physician", "Infirmier" = "nurse" } }
    [[providers]]                # several sets of one table are merged on the key
    provider_id = "N° prescripteur"
    kind = { value = "physician" }                                      # a constant

`claims` (and any table without a key: affiliations, officers, identifiers) has one row per
source row: nothing is dropped. A keyed entity table (providers, centres, legal_entities,
patients, services) gets one row per distinct key value; source rows without a key value are
counted, and a key given different values by several rows keeps the first row's and is counted.
Dates are rewritten `YYYY-MM-DD`, amounts and quantities with a `.` decimal point and no
thousands separator; a value meaning none (a `null` cell of the mapping's or a null token of the
contract loader's, from the source, a `default`, a translation or a constant) is written empty and
counted (`written_empty`), never as its text. Values that cannot be converted (a date not in its
format), and amounts, quantities and birth years the contract refuses once rewritten (in the
contract loader's words, quoting the source's text, not the rewritten one), are problems naming
the source file, line (row for Parquet), column and value — never the value of a column mapped
to a patient column. Every other check is the contract loader's, when the output is validated or
scanned. A Parquet column stored as numbers and mapped to an identifier is warned of, as the
contract loader warns of it (leading zeros lost). Source columns the mapping does not read are
ignored, bytes not in the file's encoding in them too (counted: `ignored_bytes`).
"""
from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from contract.errors import DatasetError, FraudnetError, Problem
from contract.tables import AMOUNT, DATE, ID, QUANTITY, TABLES, YEAR, sensitive_columns
from engine import query

from .conversion import Conversion
from .dataset import LINE, NULL_TOKENS, _Collector, _column_rules, _invalid_cells, read_raw, shown

SOURCE_KEYS = {"delimiter", "decimal", "encoding", "null", "date_format"}
SPEC_KEYS = {"column", "value", "format", "prefix", "values", "default"}
ENTITY_TABLES = ("providers", "centres", "legal_entities", "patients", "services")
LISTED = 20


class MappingError(FraudnetError):
    """The mapping file itself is wrong; `messages` lists every fault found."""

    def __init__(self, mapping: str, messages: list[str]):
        self.mapping, self.messages = mapping, messages
        super().__init__(f"{len(messages)} problem(s) in the mapping {mapping}:\n" +
                         "\n".join(f"  - {m}" for m in messages))


def _spec(raw) -> dict:
    return {"column": raw} if isinstance(raw, str) else dict(raw) if isinstance(raw, dict) else {"bad": raw}


def load_mapping(path: str | Path) -> dict:
    """The mapping file, checked against the contract: every fault at once as a `MappingError`."""
    m, faults = _checked(path)
    if faults:
        raise MappingError(str(path), faults)
    return m


def _checked(path: str | Path) -> tuple[dict, list[str]]:
    """The mapping file ({source, tables}: its well-formed parts) and every fault it has against
    the contract. Raises `MappingError` only when it is not TOML at all."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise MappingError(str(path), [f"is not valid TOML: {e}"]) from None
    faults = []
    source = doc.get("source", {})
    if not isinstance(source, dict):
        faults.append("[source] must be a table of settings")
        source = {}
    for k in set(source) - SOURCE_KEYS:
        faults.append(f"[source] has an unknown setting {k!r} (known: {', '.join(sorted(SOURCE_KEYS))})")
    wrong = [k for k in ("delimiter", "decimal", "encoding", "date_format")
             if k in source and not isinstance(source[k], str)]
    if "null" in source and not (isinstance(source["null"], list) and all(isinstance(x, str) for x in source["null"])):
        wrong.append("null")
    for k in wrong:
        faults.append(f"[source] {k} must be " + ("a list of texts" if k == "null" else "a text") +
                      f" (got {source[k]!r})")
        source = {x: v for x, v in source.items() if x != k}
    if source.get("decimal", ".") not in (".", ","):
        faults.append("[source] decimal must be \".\" or \",\"")
    if len(source.get("delimiter", ",")) != 1:
        faults.append("[source] delimiter must be one character")
    try:
        "".encode(source.get("encoding", "utf-8"))
    except LookupError:
        faults.append(f"[source] encoding {source.get('encoding')!r} is not an encoding Python knows")
    tables = {}
    for name, sets in doc.items():
        if name == "source":
            continue
        if name not in TABLES:
            faults.append(f"[{name}] is not a contract table (tables: {', '.join(TABLES)})")
            continue
        sets = sets if isinstance(sets, list) else [sets]
        spec = TABLES[name]
        for i, columns in enumerate(sets, start=1):
            where = f"[{name}]" if len(sets) == 1 else f"[[{name}]] #{i}"
            if not isinstance(columns, dict):
                faults.append(f"{where} must map contract columns to source columns")
                continue
            for col, raw in columns.items():
                if col not in {c.name for c in spec.columns}:
                    faults.append(f"{where} {col}: not a column of {name} "
                                  f"({', '.join(c.name for c in spec.columns)})")
                    continue
                s = _spec(raw)
                unknown = set(s) - SPEC_KEYS
                if unknown or ("column" in s) == ("value" in s):
                    faults.append(f"{where} {col}: give a source column name, or a table with either `column` or "
                                  f"`value` (and optionally {', '.join(sorted(SPEC_KEYS - {'column', 'value'}))})")
                    continue
                faults += [f"{where} {col}: {problem}" for problem in _spec_types(s)]
            for c in spec.columns:
                if c.in_header and c.name not in columns:
                    faults.append(f"{where}: the contract column {c.name} is required (map it to a source column "
                                  f"or give it a value)")
            if spec.key and name != "claims" and spec.key in columns and "value" in _spec(columns[spec.key]):
                faults.append(f"{where} {spec.key}: a key cannot be a constant")
        tables[name] = [columns for columns in sets if isinstance(columns, dict)]
    if not tables:
        faults.append("names no contract table ([claims], [[providers]], …)")
    return {"source": source, "tables": tables}, faults


def _spec_types(s: dict) -> list[str]:
    """What is of the wrong type in one column's spec (README: `column` a name or a non-empty list
    of names; `format`, `prefix`, `default`, `value` texts; `values` a table of texts)."""
    out = []
    col = s.get("column")
    if "column" in s and not (isinstance(col, str) or (isinstance(col, list) and col
                                                       and all(isinstance(c, str) for c in col))):
        out.append(f"column must be a source column name or a non-empty list of names (got {col!r})")
    for k in ("format", "prefix", "default", "value"):
        if k in s and not isinstance(s[k], str):
            out.append(f"{k} must be a text (got {s[k]!r})")
    if "values" in s and not (isinstance(s["values"], dict) and all(isinstance(v, str) for v in s["values"].values())):
        out.append(f"values must be a table of source value = contract value texts (got {s['values']!r})")
    return out


def _columns_of(spec: dict) -> list[str]:
    col = spec.get("column")
    cols = [col] if isinstance(col, str) else col if isinstance(col, list) else []
    return [c for c in cols if isinstance(c, str)]


def convert_mapped(mapping: str | Path, source: str | Path, max_problems: int = 50) -> Conversion:
    """Contract tables (text columns) from `source` as the mapping file describes, and the
    conversion report. Raises `MappingError` for a wrong mapping (or one naming a column the
    source lacks), `DatasetError` for a source that cannot be read or values that cannot be
    converted (file, line — a Parquet file's row —, column, value). The mapping's faults and the
    source columns it names that the source lacks are reported together, in one `MappingError`.
    The report's `warnings` name the Parquet columns stored as numbers that are mapped to contract
    identifiers (the contract loader's warning, which the converted text can no longer raise);
    its `separator` and `encoding` are a CSV source's only."""
    m, faults = _checked(mapping)
    source = Path(source)
    settings = m["source"]
    unreadable = ("[source] must", "[source] delimiter", "[source] encoding", "[source] null")
    if any(f.startswith(unreadable) for f in faults):     # reading the source needs these: the faults so far
        raise MappingError(str(mapping), faults)
    out = _Collector(max_problems)
    sensitive = {c.lower() for name, sets in m["tables"].items() for cols in sets for col, raw in cols.items()
                 if col in sensitive_columns(name) for c in _columns_of(_spec(raw))}
    used = {c.lower() for sets in m["tables"].values() for cols in sets for r in cols.values()
            for c in _columns_of(_spec(r))}
    raw = read_raw(source, out, delimiter=settings.get("delimiter", ","), encoding=settings.get("encoding", "utf-8"),
                   null_tokens=tuple(settings.get("null", NULL_TOKENS)), sensitive=frozenset(sensitive),
                   used=frozenset(used))
    if raw is None:
        if faults:
            raise MappingError(str(mapping), faults)
        raise DatasetError(str(source), out.problems, out.total)
    table = raw.table
    missing = sorted({c for sets in m["tables"].values() for cols in sets for r in cols.values()
                      for c in _columns_of(_spec(r)) if c.lower() not in table.column_names})
    faults += [f"names the column {c!r}, which {source.name} does not have (its columns: "
               f"{', '.join(table.column_names[:-1])})" for c in missing]
    if faults:
        raise MappingError(str(mapping), faults)
    tables, report_tables, emptied = {}, {}, {}
    for name, sets in m["tables"].items():
        parts = [_project(TABLES[name], cols, table, settings, source.name, out, sensitive, raw.unit, emptied)
                 for cols in sets]
        tables[name], report_tables[name] = _combine(name, parts, sets)
    if out.total:
        raise DatasetError(str(source), out.problems, out.total)
    text = raw.unit == "line"               # a CSV file; Parquet has no separator nor encoding
    report = {"format": "mapped", "mapping": str(mapping), "source": str(source),
              "source_rows": table.num_rows, **({"separator": raw.delimiter} if text else {}),
              "decimal": settings.get("decimal", "."),
              **({"encoding": settings.get("encoding", "utf-8")} if text else {}),
              "missing_values": {raw.header.get(c, c): n for c, n in raw.nulls.items() if c in used},
              "warnings": _stored_as_numbers(m["tables"], raw, source.name),
              "ignored_bytes": {raw.header.get(c, c): n for c, n in raw.ignored_bytes.items()},
              "written_empty": {c: t for c, t in emptied.items() if t},
              "tables": report_tables}
    return Conversion(tables, report)


def _stored_as_numbers(mapped: dict, raw, fname: str) -> list[dict]:
    """The warning the contract loader gives for a Parquet id column stored as numbers, once per
    source column mapped to contract identifiers: the converted CSV holds its digits as text, so
    the loader can no longer tell that leading zeros may have been lost."""
    targets: dict[str, list[str]] = {}
    for name, sets in mapped.items():
        for cols in sets:
            for col, spec in cols.items():
                if TABLES[name].column(col).type == ID:
                    for source in _columns_of(_spec(spec)):
                        if raw.stored_as.get(source.lower()) in ("integer", "floating point") and \
                                f"{name}.{col}" not in targets.setdefault(source.lower(), []):
                            targets[source.lower()].append(f"{name}.{col}")
    return [{"severity": "warning", "source_column": raw.header.get(c, c), "columns": cols,
             "message": f"{fname} stores {raw.header.get(c, c)} (mapped to {', '.join(cols)}) as {raw.stored_as[c]} "
                        f"numbers: identifiers are text, and a number loses leading zeros (010000024 becomes "
                        f"10000024); store the column as strings"}
            for c, cols in targets.items()]


def _project(spec, columns: dict, table: pa.Table, settings: dict, fname: str, out: _Collector,
             sensitive: set[str], unit: str = "line", emptied: dict | None = None) -> pa.Table:
    """One set of a table: each contract column computed column-wise from the source. A value that
    means "no value" — one of the mapping's `null` cells or of the contract loader's null tokens
    (`NULL_TOKENS`), spaces around it or not, or spaces only — is written empty, counted in
    `emptied` (contract column → token → cells): a `default`, translated value or source cell `NA`
    would otherwise reach the output as the text `NA`, which the loader reads as missing (a
    provider's id) or refuses."""
    n = table.num_rows
    emptied = {} if emptied is None else emptied
    tokens = pa.array(sorted(set(settings.get("null", NULL_TOKENS)) | set(NULL_TOKENS)), pa.string())
    cols = {}
    for col in spec.columns:
        s = _spec(columns[col.name]) if col.name in columns else {"value": None}
        names = _columns_of(s)
        if names:
            values = table[names[0].lower()]
            for other in names[1:]:
                values = pc.coalesce(values, table[other.lower()])
        else:
            values = pa.nulls(n, pa.string()) if s["value"] is None else pa.array([str(s["value"])] * n, pa.string())
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        from_source = pc.is_valid(values)       # (a default, below, is the mapping's value)
        for before, after in (s.get("values") or {}).items():
            values = pc.if_else(pc.fill_null(pc.equal(values, before), False), pa.scalar(str(after)), values)
        if s.get("default") is not None:
            values = pc.fill_null(values, str(s["default"]))
        values = _emptied(values, tokens, emptied.setdefault(f"{spec.name}.{col.name}", {}))
        if s.get("prefix"):     # after: a source `NA` is no value, not the id `P:NA`
            values = pc.binary_join_element_wise(pa.scalar(str(s["prefix"])), values, "")
        if col.type == DATE and names:
            values = _dates(values, s.get("format", settings.get("date_format", "%Y-%m-%d")),
                            table["_line"].combine_chunks(),
                            fname, names[0], out, hide=names[0].lower() in sensitive, unit=unit)
        elif col.type in (AMOUNT, QUANTITY, YEAR) and names:
            written = values
            values = _decimal_point(values, settings.get("decimal", "."), table, names, fname, out, sensitive, unit)
            _numbers(col, values, written, from_source, table, names, fname, out, sensitive, unit)
        cols[col.name] = values
    return pa.table(cols).append_column("_line", table["_line"])


def _emptied(values: pa.Array, tokens: pa.Array, counts: dict[str, int]) -> pa.Array:
    """`values` with each cell that is one of `tokens` (spaces around it or not) or of spaces only
    made missing, counted in `counts` by the cell's text."""
    mask = pc.fill_null(pc.or_(pc.is_in(pc.utf8_trim_whitespace(values), value_set=tokens),
                               pc.equal(pc.utf8_trim_whitespace(values), "")), False)
    if not pc.any(mask).as_py():
        return values
    for v in pc.value_counts(values.filter(mask)).to_pylist():
        counts[v["values"]] = counts.get(v["values"], 0) + v["counts"]
    return pc.if_else(mask, pa.scalar(None, pa.string()), values)


def _numbers(col, values: pa.Array, written: pa.Array, from_source: pa.Array, table: pa.Table, names: list[str],
             fname: str, out: _Collector, sensitive: set[str], unit: str = "line"):
    """The cells of an amount, quantity or year column (`values`, rewritten with a `.` decimal
    point) that the contract refuses (`loaders.dataset._column_rules`: not a number, beyond its
    bounds), reported in `out` with the contract loader's words, their source line and column
    and the text as the source writes it (`written`: `1 000 000 000`, not the `1000000000` that
    claims.csv would hold and the loader would quote). A value filled in by the mapping's
    `default` (not `from_source`) is the mapping's, not the source's: it is left to the loader."""
    lines = table[LINE].combine_chunks()
    checked = pc.and_(from_source, pc.is_valid(values))      # a value made missing: the loader's to word
    con = duckdb.connect()
    try:
        con.register("raw", pa.table({LINE: lines.filter(checked), col.name: values.filter(checked)}))
        found = _invalid_cells(con, col, out.room or 1)
    finally:
        con.close()
    rules = _column_rules(col, None)[1]
    for rule, total, first, *_ in found:
        at = pa.array([cell["l"] for cell in first[:out.room or 1]], pa.int64())
        keep = pc.is_in(lines, value_set=at)
        rows = pa.table({"line": lines, "text": written}).filter(keep)
        source = [_source_column(table, names, row) for row in pc.indices_nonzero(keep).to_pylist()]
        for (line, text), column in zip(zip(rows["line"].to_pylist(), rows["text"].to_pylist()), source):
            out.add(Problem(fname, rules[rule][1], line=line, column=column,
                            value=shown(text, column.lower() in sensitive), unit=unit))
        if total > len(at):
            out.add(Problem(fname, rules[rule][1]), count=total - len(at))


def _source_column(table: pa.Table, names: list[str], row: int) -> str:
    """The source column (as the mapping names it) that gives row `row` its value: the first of `names` with one."""
    return next((n for n in names if table[n.lower()][row].is_valid), names[0])


def _dates(values: pa.Array, fmt: str, lines, fname: str, column: str, out: _Collector, hide: bool,
           unit: str = "line") -> pa.Array:
    """`values` (text) read with the strptime format `fmt` as `YYYY-MM-DD` text; a value that is
    not a date in `fmt` — a day the month does not have (`31/02/2025`) too — reported in `out`
    (its line and `column`, its value unless `hide`) and made missing."""
    parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    bad = pc.or_(pc.and_(pc.is_valid(values), pc.is_null(parsed)), _moved(values, parsed, fmt))
    parsed = pc.if_else(bad, pa.scalar(None, parsed.type), parsed)
    if pc.any(bad).as_py():
        rows = pa.table({"line": lines, "value": values}).filter(bad)
        for line, value in zip(rows["line"].to_pylist()[:out.room or 1], rows["value"].to_pylist()):
            out.add(Problem(fname, f"is not a date in the format {fmt!r} the mapping gives", line=line, column=column,
                            value=shown(value, hide), unit=unit))
        if rows.num_rows > (out.room or 1):
            out.add(Problem(fname, f"is not a date in the format {fmt!r}"), count=rows.num_rows - (out.room or 1))
    return pc.strftime(parsed, format="%Y-%m-%d")


def _unpadded(text: pa.Array) -> pa.Array:
    """Dates as text compared without case, surrounding spaces or zeros leading a number."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    return pc.replace_substring_regex(text, pattern="(^|[^0-9])0+([0-9])", replacement="\\1\\2")


def _moved(values: pa.Array, parsed: pa.Array, fmt: str) -> pa.Array:
    """Which `values` Arrow's `strptime` read as another day than they say: it takes any day up
    to 31 and carries the days past the month's end into the next (`31/02/2025` → 3 March,
    `2025-02-30` → 2 March). A parsed date written back in `fmt` gives the value again (leading
    zeros, case and spaces aside); a value that does not is read by Python's `datetime.strptime`
    (which checks the calendar), and is moved unless that gives the same date."""
    differs = pc.fill_null(pc.not_equal(_unpadded(pc.strftime(parsed, format=fmt)), _unpadded(values)), False)
    if not pc.any(differs).as_py():
        return differs
    same = set()
    for value, when in dict(zip(values.filter(differs).to_pylist(), parsed.filter(differs).to_pylist())).items():
        try:
            if datetime.strptime(value.strip(), fmt) == when:
                same.add(value)
        except ValueError:
            pass
    return pc.and_(differs, pc.invert(pc.is_in(values, value_set=pa.array(sorted(same), pa.string()))))


# a number whose thousands are separated (by the other of "," and ".", or by spaces) in groups of
# three digits, per decimal separator; RE2 (Arrow) has no back-references, hence two alternatives
_SPACES = "[ \u00a0\u202f]"
_GROUPED = {".": rf"^[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\.[0-9]+)?$|^[+-]?[0-9]{{1,3}}({_SPACES}[0-9]{{3}})+(\.[0-9]+)?$",
            ",": rf"^[+-]?[0-9]{{1,3}}(\.[0-9]{{3}})+(,[0-9]+)?$|^[+-]?[0-9]{{1,3}}({_SPACES}[0-9]{{3}})+(,[0-9]+)?$"}


def _decimal_point(values: pa.Array, decimal: str, table: pa.Table, names: list[str], fname: str, out: _Collector,
                   sensitive: set[str], unit: str = "line") -> pa.Array:
    """`1 234,50` (decimal ",") or `1,234.50` (decimal ".") → `1234.50`. A thousands separator
    (the other of "," and ".", or spaces) is one only between groups of three digits: a cell
    holding one elsewhere (`3,15` or `12 5` read with decimal ".", `12.50` with decimal ",") is not
    read as a number by dropping it (`3,15` → 315, a hundred times the amount) but reported in
    `out` (its line, source column and text, unless sensitive) and made missing — most often the
    mapping's `decimal` is not the file's."""
    values = pc.utf8_trim_whitespace(values)
    other = "." if decimal == "," else ","
    separated = pc.fill_null(pc.match_substring_regex(values, pattern=f"[{re.escape(other)}]|{_SPACES}"), False)
    bad = pc.and_(separated, pc.invert(pc.fill_null(pc.match_substring_regex(values, pattern=_GROUPED[decimal]), False)))
    if pc.any(bad).as_py():
        lines = table[LINE].combine_chunks()
        rows = pc.indices_nonzero(bad).to_pylist()
        for row in rows[:out.room or 1]:
            column = _source_column(table, names, row)
            out.add(Problem(fname, f"is not a number as the mapping reads it (decimal {decimal!r}): {other!r} and "
                                   f"spaces separate thousands only in groups of three digits (as in "
                                   f"{'1 234,50' if decimal == ',' else '1,234.50'}); is the file's decimal "
                                   f"{other!r}?", line=lines[row].as_py(), column=column,
                            value=shown(values[row].as_py(), column.lower() in sensitive), unit=unit))
        if len(rows) > (out.room or 1):
            out.add(Problem(fname, "is not a number as the mapping reads it (a thousands separator out of place)"),
                    count=len(rows) - (out.room or 1))
        values = pc.if_else(bad, pa.scalar(None, pa.string()), values)
    values = pc.replace_substring_regex(values, pattern=_SPACES, replacement="")
    if decimal == ",":
        return pc.replace_substring(pc.replace_substring(values, ".", ""), ",", ".")
    return pc.replace_substring(values, ",", "")


def _combine(name: str, parts: list[pa.Table], sets: list[dict]) -> tuple[pa.Table, dict]:
    """The table from its sets, and what the report says of it."""
    spec = TABLES[name]
    contract = [c.name for c in spec.columns]
    if name not in ENTITY_TABLES:
        t = pa.concat_tables(parts)
        return t.select(contract), {"rows": t.num_rows, "from": "one row per source row"}
    key = spec.key
    described = []
    for cols, part in zip(sets, parts):
        key_columns = _columns_of(_spec(cols[key]))
        described.append({"key_from": key_columns[0] if len(key_columns) == 1 else key_columns,
                          "rows_without_key": part[key].null_count})
    others = [c for c in contract if c != key]
    merged = query(f"""
        WITH t AS (SELECT *, row_number() OVER () AS _i FROM t WHERE "{key}" IS NOT NULL)
        SELECT "{key}", {', '.join(f'arg_min("{c}", _i) FILTER (WHERE "{c}" IS NOT NULL) AS "{c}"' for c in others)},
               count(*) > 1 AND ({' OR '.join(f'count(DISTINCT "{c}") > 1' for c in others) or 'false'}) AS differs
        FROM t GROUP BY "{key}" ORDER BY min(_i)""", t=pa.concat_tables(parts))
    differing = merged.filter(merged["differs"])
    sensitive = key in sensitive_columns(name)
    return merged.select(contract), {
        "rows": merged.num_rows, "from": "one row per distinct key", "sets": described, "key": key,
        "keys_with_differing_rows": differing.num_rows,
        "examples": [e for e in differing[key].to_pylist()[:LISTED] if shown(e, sensitive) is not None]}


def report_lines(report: dict) -> list[str]:
    """The conversion report in a few human lines."""
    how = ([f"separator {report['separator']!r}"] if "separator" in report else []) + \
        [f"decimal {report['decimal']!r}"] + ([report["encoding"]] if "encoding" in report else [])
    lines = [f"{Path(report['source']).name}: {report['source_rows']:,} rows ({', '.join(how)})"]
    for w in report.get("warnings", []):
        lines.append(f"  warning: {w['message']}")
    if report.get("ignored_bytes"):
        counted = "; ".join(f"{c} × {n:,}" for c, n in report["ignored_bytes"].items())
        lines.append(f"  {sum(report['ignored_bytes'].values()):,} cell(s) of columns the mapping does not read hold "
                     f"bytes not in the file's encoding ({counted}): ignored, as those columns are")
    for column, tokens in report["missing_values"].items():
        shown = ", ".join(f"{t!r} × {n:,}" for t, n in tokens.items())
        lines.append(f"  {column}: {sum(tokens.values()):,} cells read as missing ({shown})")
    for column, tokens in report.get("written_empty", {}).items():
        shown = ", ".join(f"{t!r} × {n:,}" for t, n in tokens.items())
        lines.append(f"  {column}: {sum(tokens.values()):,} cells written empty, values meaning none ({shown})")
    for name, t in report["tables"].items():
        line = f"  {name}: {t['rows']:,} rows, {t['from']}"
        for s in t.get("sets", []):
            if s["rows_without_key"]:
                line += f"; {s['rows_without_key']:,} source rows have no {s['key_from']}"
        if t.get("keys_with_differing_rows"):
            listed = f": e.g. {', '.join(repr(e) for e in t['examples'])}" if t.get("examples") else ""
            line += (f"; {t['keys_with_differing_rows']:,} {t.get('key', 'key')} value(s) given different values by "
                     f"several rows (the first row's kept{listed})")
        lines.append(line)
    return lines
