"""A contract dataset as Parquet: `fraudnet convert parquet DATA OUT`.

The dataset folder is loaded as a scan loads it (`loaders.dataset.load_dataset`: every check,
every problem at once), and its tables are written as `<table>.parquet` with the contract's types
(identifiers as text, dates as dates, amounts as float64, quantities and birth years as int32,
`watch` as a boolean). Reading them back is the loader's fast path: columns of the contract's
types are taken as they are, with no text to parse (see `read_raw`).
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from .conversion import REPORT_FILE, Conversion, check_out
from .dataset import _Collector, _read_header, find_table_file, load_dataset


def convert_parquet(folder: str | Path, max_problems: int = 50) -> Conversion:
    """The tables of the contract dataset `folder` (CSV, `.csv.gz` or Parquet files), validated
    and typed as the contract says, for `write_parquet`; the report names each table's file and
    rows, the columns left out (not in the contract) and the load report's warnings. Raises
    `DatasetError` with every problem, as `load_dataset` does."""
    folder = Path(folder)
    ds = load_dataset(folder, max_problems)
    tables, report = {}, {"format": "contract dataset to Parquet", "source": str(folder), "tables": {},
                          "warnings": ds.report.warnings}
    for name, given in ds.report.tables.items():
        tables[name] = ds[name]
        left_out = [c for c in _columns(find_table_file(folder, name)) if c not in ds[name].column_names]
        report["tables"][name] = {"read": given["file"], "rows": given["rows"], "written": f"{name}.parquet",
                                  "left_out": left_out}
    return Conversion(tables, report)


def _columns(path: Path) -> list[str]:
    """The column names of a table file, as the loader reads them (lower-cased, stripped)."""
    if path.name.endswith(".parquet"):
        return [n.strip().lower() for n in pq.read_schema(path).names]
    header = _read_header(path, _Collector(1), ",", "utf-8")
    return header[0] if header else []


def write_parquet(conversion: Conversion, out: str | Path) -> list[Path]:
    """Write each table as `OUT/<table>.parquet` and the report as `OUT/conversion_report.json`.
    Raises `Refused` (before writing anything) when OUT is a folder that is not empty
    (`loaders.conversion.check_out`)."""
    out = Path(out)
    check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in conversion.tables.items():
        pq.write_table(table, out / f"{name}.parquet")
        written.append(out / f"{name}.parquet")
    (out / REPORT_FILE).write_text(json.dumps(conversion.report, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return written + [out / REPORT_FILE]


def report_lines(report: dict) -> list[str]:
    """The conversion report, one line a table and one a warning, as `fraudnet convert` prints it."""
    lines = []
    for name, t in report["tables"].items():
        left = f"; left out (not contract columns): {', '.join(t['left_out'])}" if t["left_out"] else ""
        lines.append(f"{t['read']}: {t['rows']:,} rows → {t['written']}{left}")
    said = {"info": "note", "warning": "warning", "critical": "CRITICAL WARNING"}
    return lines + [f"{said.get(w['severity'], 'warning')}: {w['message']}" for w in report["warnings"]]
