"""What a converter hands back: contract tables, and the report that travels with them.

`fraudnet convert` prints the report and writes it beside the tables as `conversion_report.json`,
so the counts of what was read, kept, left out and why stay with the data they describe.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pyarrow as pa

from engine import ComputeError

from .fhir import write_tables

REPORT_FILE = "conversion_report.json"


@dataclass
class Conversion:
    """Contract tables (text or typed columns) and the conversion report (JSON-ready)."""
    tables: dict[str, pa.Table]
    report: dict

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]


def write_conversion(conversion: Conversion, out: str | Path) -> list[Path]:
    """Write the tables as `<table>.csv` and the report as `conversion_report.json` in `out`."""
    report = json.dumps(conversion.report, indent=2, ensure_ascii=False) + "\n"
    written = write_tables(conversion.tables, out)
    path = Path(out) / REPORT_FILE
    path.write_text(report, encoding="utf-8")
    return written + [path]


Query = Callable[..., pa.Table]


@contextmanager
def sql_session() -> Iterator[Query]:
    """`query(sql, **arrow_tables)` as `engine.query` runs it, on one in-memory connection kept
    for the whole conversion (a conversion runs some twenty statements; a connection costs
    tens of milliseconds to open)."""
    con = duckdb.connect()

    def query(sql: str, **tables: pa.Table) -> pa.Table:
        for name, table in tables.items():
            con.register(name, table)
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as e:
            raise ComputeError(f"{e}\n--- while running ---\n{sql}") from e
        finally:
            for name in tables:
                con.unregister(name)
    try:
        yield query
    finally:
        con.close()
