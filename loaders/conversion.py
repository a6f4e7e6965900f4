"""What a converter hands back: contract tables, and the report that travels with them.

`fraudnet convert` prints the report and writes it beside the tables as `conversion_report.json`,
so the counts of what was read, kept, left out and why stay with the data they describe.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa

from contract.errors import Refused

from .dataset import CONVERSION_REPORT
from .fhir import write_tables

REPORT_FILE = CONVERSION_REPORT      # a scan does not read it (`loaders.dataset._unread`)


@dataclass
class Conversion:
    """Contract tables (text or typed columns) and the conversion report (JSON-ready)."""
    tables: dict[str, pa.Table]
    report: dict

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]


def check_out(out: str | Path):
    """Refuse an output folder that exists and holds anything: the tables of an earlier
    conversion left there (an old `affiliations.csv`) would be validated and scanned with the new
    ones. Every `convert` writes to a new or empty folder. Raises `Refused`."""
    out = Path(out)
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held:
        more = f" and {len(held) - 1} other file(s)" if len(held) > 1 else ""
        raise Refused(f"{out} is not empty (it holds {held[0]}{more}): files left there would be read with "
                      "the new tables; convert into a new or empty folder")


def write_conversion(conversion: Conversion, out: str | Path) -> list[Path]:
    """Write the tables as `<table>.csv` and the report as `conversion_report.json` in `out`, a
    new or empty folder (else `Refused`, before writing anything: `check_out`)."""
    check_out(out)
    report = json.dumps(conversion.report, indent=2, ensure_ascii=False) + "\n"
    written = write_tables(conversion.tables, out)
    path = Path(out) / REPORT_FILE
    path.write_text(report, encoding="utf-8")
    return written + [path]


Query = Callable[..., pa.Table]
