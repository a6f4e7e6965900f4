"""Spreadsheet-friendly CSV of case lists, indicators and evidence: UTF-8 with a byte order mark
(so Excel reads accents right), comma-separated, or `;`-separated with decimal commas (what a
French or Belgian Excel expects). Cells a spreadsheet would run as a formula (starting with `=`,
`+`, `-`, `@`, a tab or a carriage return) are prefixed with `'` (OWASP, "CSV Injection");
numbers are written as numbers.
"""
from __future__ import annotations

import csv
import io
import json

SEPARATORS = (",", ";")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value, decimal: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value).replace(".", decimal)
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else " ".join(map(str, value))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_bytes(columns: tuple | list, rows: list[dict], sep: str = ",") -> bytes:
    """`rows` (dicts) as CSV bytes with the given columns, in that order (see the module
    docstring). Raises ValueError for a separator other than `,` and `;`."""
    if sep not in SEPARATORS:
        raise ValueError(f"separator {sep!r}: use , or ;")
    decimal = "," if sep == ";" else "."
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(r.get(c), decimal) for c in columns])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
