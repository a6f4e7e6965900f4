"""Reading a truth file of known cases (planted by a generator, or an analyst's confirmed frauds)
for `fraudnet evaluate`: a UTF-8 CSV with a header naming `pattern`, `entity_type`, `entity_id`
and optionally `group_id` (README, "Evaluating a run"; the format the generators write).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa

from contract.vocab import ENTITY_TYPES

TRUTH_COLUMNS = ("pattern", "group_id", "entity_type", "entity_id")


def read_truth(path: str | Path, patterns: tuple[str, ...]) -> pa.Table:
    """The truth file at `path` as a table of strings: pattern, [group_id,] entity_type,
    entity_id, one row a known entity, in file order.

    Raises ValueError naming the file (and its line, column and value where one is at fault) for:
    a file that is not UTF-8 text, is empty, or lacks a required column; a line with more or fewer
    fields than the header; a field holding a NUL character (which Python's csv module reads as
    text since 3.11: an id holding one would match no alert, silently); an empty required field; a pattern not in `patterns` (the detectors'
    names, `graph.detect.DETECTORS`) or an entity type not in `contract.vocab.ENTITY_TYPES`,
    listing the known ones; and a file with no case (header only), which has nothing to score.
    Every problem of the file is listed (up to 10, then counted) before raising.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                         "save the truth file as UTF-8") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        return _read_rows(path, rows, patterns)
    except csv.Error as e:       # a field beyond the csv module's limit, a NUL byte…
        raise ValueError(f"{path}: line {rows.line_num}: not a CSV line a truth file can hold ({e})") from None


def _read_rows(path: Path, rows, patterns) -> pa.Table:
    """`read_truth`'s work on the file's CSV reader `rows`."""
    header = next(rows, None)
    if not header or header == [""]:
        raise ValueError(f"{path}: empty file; a truth file starts with a header line: "
                         "pattern,group_id,entity_type,entity_id (group_id optional)")
    missing = [c for c in ("pattern", "entity_type", "entity_id") if c not in header]
    if missing:
        raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                         f"(the header names {', '.join(header)})")
    kept = [c for c in TRUTH_COLUMNS if c in header]
    where = {c: header.index(c) for c in kept}
    columns: dict[str, list] = {c: [] for c in kept}
    problems: list[str] = []
    for row in rows:
        line = rows.line_num
        if not row:
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: {len(row)} field(s), the header has {len(header)}")
            continue
        values = {c: row[i] for c, i in where.items()}
        bad = [f"column {header[i]}: holds a NUL character (byte 0x00) in {v!r}: no alert's id or name holds one "
               "(a file written by a C program or a database dump?); remove it" for i, v in enumerate(row) if "\0" in v]
        if bad:
            problems += [f"line {line}: {b}" for b in bad]
            continue
        bad = [f"column {c}: empty" for c in ("pattern", "entity_type", "entity_id") if not values[c]]
        if values["pattern"] and values["pattern"] not in patterns:
            bad.append(f"column pattern: unknown pattern {values['pattern']!r} (known: {', '.join(patterns)})")
        if values["entity_type"] and values["entity_type"] not in ENTITY_TYPES:
            bad.append(f"column entity_type: unknown entity type {values['entity_type']!r} "
                       f"(known: {', '.join(ENTITY_TYPES)})")
        problems += [f"line {line}: {b}" for b in bad]
        for c in kept:
            columns[c].append(values[c])
    if problems:
        more = f"; and {len(problems) - 10} more problem(s)" if len(problems) > 10 else ""
        raise ValueError(f"{path}: " + "; ".join(problems[:10]) + more)
    if not columns["pattern"]:
        raise ValueError(f"{path}: no case, only a header: a truth file with no known case has nothing to score")
    return pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})
