"""The contract's CSV files of a run (`alerts.csv`, `alert_entities.csv`, `entity_risk.csv`,
`communities.csv`), written by DuckDB from the run's results (`runs.results.EXPORTS`).

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) are prefixed with `'` in text columns (OWASP, "CSV Injection"); numbers are
written as numbers.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from runs.results import EXPORTS, export_relation
from runs.store import Store

_FORMULA = "left({c}, 1) IN ('=', '+', '-', '@', chr(9), chr(13))"


def _defused(cur, name: str):
    rel = export_relation(cur, name)
    cols = []
    for col, typ in zip(rel.columns, rel.types):
        if str(typ) == "VARCHAR":
            c = f'"{col}"'
            cols.append(f"CASE WHEN {_FORMULA.format(c=c)} THEN '''' || {c} ELSE {c} END AS {c}")
        else:
            cols.append(f'"{col}"')
    return rel.project(", ".join(cols))


def write_csv(cur, name: str, path: Path):
    """One contract file of the results `cur` reads, written to `path` (quoted only where needed)."""
    _defused(cur, name).to_csv(str(path))


def csv_bytes(cur, name: str) -> bytes:
    """One contract file as bytes (for a download)."""
    with tempfile.TemporaryDirectory() as tmp:
        write_csv(cur, name, Path(tmp) / name)
        return (Path(tmp) / name).read_bytes()


def export(store: Store, directory: str | Path, run_id: str | None = None) -> list[Path]:
    """Write the contract's CSV files of a run (the published one by default) into `directory`,
    readable by their owner only (0600: they name patients), each appearing whole (written in a
    private temporary folder inside `directory`, then renamed). Raises `NoPublishedRun`,
    `NotFound` or `NotReady` for a run without results (`Unreadable`: its results file cannot be read)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with store.reading(run_id) as (_, con), \
            tempfile.TemporaryDirectory(dir=directory, prefix=".export-") as tmp:      # 0700
        for name in EXPORTS:
            write_csv(con, name, Path(tmp) / name)
            os.chmod(Path(tmp) / name, 0o600)
        for name in EXPORTS:
            os.replace(Path(tmp) / name, directory / name)
    return [directory / name for name in EXPORTS]
